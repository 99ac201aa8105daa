//! Shared by the targets (each includes it with `#[path]`): where the fixtures are, and a
//! tokio runtime created once per process.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

/// `$VIRA_FIXTURES`, else `../shared/fixtures` beside the repository (the layout CI gets).
pub fn fixtures() -> PathBuf {
    match std::env::var_os("VIRA_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures"
        )),
    }
}

/// A fixture's bytes, or `None` when the fixtures are not there (the target then fuzzes with
/// its synthetic data only).
pub fn fixture(relative: &str) -> Option<Vec<u8>> {
    std::fs::read(fixtures().join(relative)).ok()
}

/// One current-thread runtime for the whole fuzzing process.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// Asserts that `bytes` are one complete JSON document.
pub fn assert_json(bytes: &[u8], what: &str) -> serde_json::Value {
    match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        ),
    }
}
