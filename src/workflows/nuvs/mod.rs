//! What is specific to `nuvs` analyses: its results' checks, formatting and export rows
//! ([`format`]) and its page view ([`page`]). Its worker steps (workflows.md §10.5) are a later
//! issue.

pub mod export;
pub mod format;
pub mod model;
pub mod page;
