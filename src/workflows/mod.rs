//! What the worker's workflows compute (workflows.md §10), as plain functions over streams and
//! snapshots: no subprocess, no HTTP, no database. The worker runs the tools and talks to the jobs
//! API; these modules turn the tools' output into files and results.

pub mod pathoscope;
