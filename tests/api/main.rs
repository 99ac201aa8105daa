//! The integration suite: one binary, one module per resource, each test on SQLite and PostgreSQL.

mod expect;
mod support;

mod access;
mod account;
mod analyses;
mod arbitrary_strings;
mod auth;
mod blast;
mod browser;
mod caching;
mod cli;
mod compression;
mod downloads;
mod durability;
mod errors;
mod faults;
mod files;
mod full_disk;
mod head_limits;
mod health;
mod hmm_profiles;
mod hostile_input;
mod imports;
mod index_files;
mod jobs;
mod jobs_analyses;
mod keys;
mod metrics;
mod migrations;
mod nuvs;
mod object_store;
mod openapi;
mod page_security;
mod pages;
mod pathoscope;
mod read_cache;
mod samples;
mod scaleout;
mod scaleout_blast;
mod sign_in_abuse;
mod slow_clients;
mod subtraction_files;
mod users;

pub use support::*;
