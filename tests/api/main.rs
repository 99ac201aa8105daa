//! The integration suite: one binary, one module per resource, each test on SQLite and PostgreSQL.

mod support;

mod analyses;
mod auth;
mod errors;
mod imports;
mod jobs;
mod samples;
mod users;

pub use support::*;
