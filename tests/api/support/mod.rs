//! The test harness: real `vira` servers on ephemeral ports with a fresh database per test, and
//! the helpers to drive them.
//!
//! - `app`: an in-process server (`TestApp`) and the `both!` macro that runs a test on SQLite and
//!   on PostgreSQL; `process`: `vira serve` processes (`Instance`) for restarts, kills and several
//!   instances; `setup`: the helpers that create what a test needs, the same for both kinds of
//!   server; `http`: requests and replies; `postgres`: a database per test; `proxy`: a TCP proxy
//!   that can cut vira off from PostgreSQL; `schemathesis`: the Python tools of the OpenAPI tests;
//!   `lab` and `workflow_runs`: a lab's data through the API and the workflows run on it.
//!
//! The PostgreSQL run creates a uniquely named database on the server at `VIRA_TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`) and drops it afterwards; it is skipped, with
//! a printed reason, only when no server answers there — and fails instead when `CI` is set.

mod app;
mod browser;
mod fake_ncbi;
mod garage;
mod http;
mod lab;
mod pg_cluster;
mod postgres;
mod process;
mod proxy;
mod schemathesis;
mod setup;
mod tmpfs;
mod workflow_runs;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

pub use app::*;
pub use browser::*;
pub use fake_ncbi::*;
pub use garage::*;
pub use http::*;
pub use lab::*;
pub use pg_cluster::*;
pub use postgres::*;
pub use process::*;
pub use proxy::*;
pub use schemathesis::*;
pub use setup::*;
pub use tmpfs::*;
pub use workflow_runs::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures")).join(path)
}

pub fn fixture_bytes(path: &str) -> Vec<u8> {
    std::fs::read(fixture(path)).unwrap_or_else(|e| panic!("read fixture {path}: {e}"))
}

/// Assert that a JSON object has exactly these keys, in this order (the contract's key order).
#[track_caller]
pub fn assert_keys(value: &Value, expected: &[&str]) {
    let keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, expected);
}

/// Wait (bounded: 10 s) until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    wait_for(Duration::from_secs(10), what, || check().then_some(())).await
}

/// Poll `check` every 25 ms until it yields something, at most `limit`.
pub async fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Regular files under `dir`, recursively (none when it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for path in entries.map(|e| e.unwrap().path()) {
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}
