//! vira: a Virtool-compatible analyses service. `main.rs` only calls [`cli::run`].

/// User API routes, mounted at `/api`.
pub mod api;
/// Application state: configuration, database, file store.
pub mod app;
/// Credentials (API keys, job keys), handles and sample rights, as plain functions.
pub mod auth;
/// BLAST support (NCBI and local BLAST+).
pub mod blast;
/// Values kept in memory for one version of what they were made from.
pub mod cache;
/// Charts of the web pages (coverage, ORF maps) as plain functions.
pub mod charts;
/// The command line.
pub mod cli;
/// Typed configuration.
pub mod config;
/// The storage layer (all SQL).
pub mod db;
/// CSV and XLSX exports.
pub mod export;
/// The file store.
pub mod files;
/// Results formatting (Pathoscope, NuVs, coverage simplification).
pub mod format;
/// HTTP plumbing: errors, bodies, queries, validation, caching, the layer stack.
pub mod http;
/// Readers of reference and HMM annotation files.
pub mod import;
/// Workflow-runner routes, mounted at `/jobs-api`.
pub mod jobs_api;
/// Domain and wire types.
pub mod model;
/// The OpenAPI 3.1 description of both APIs, generated from the handlers' annotations.
pub mod openapi;
/// Operations shared by the front doors (APIs, pages, CLI).
pub mod ops;
/// Uploaded reads and host genomes: checks, `quality`, `count` and `gc`, the stored copies.
pub mod reads;
/// The routers of the listeners.
pub mod routes;
/// The server loop.
pub mod server;
/// Logging.
pub mod telemetry;
/// The web pages for people (server-rendered, signed in with a session).
pub mod web;
/// `vira worker`: claims jobs through the jobs API and runs their workflows.
pub mod worker;
/// What is specific to each workflow: its computation (plain functions) and its worker steps.
pub mod workflows;
