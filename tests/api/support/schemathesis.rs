//! The Python tools of the OpenAPI tests: Schemathesis (`st`) and `openapi-spec-validator`, from
//! the virtual environment that `scripts/schemathesis-venv.sh` makes in `target/`. When it is
//! missing the tests make it themselves (PyPI is reachable here); if that fails they are skipped
//! with a printed reason — except with `CI` set, where they fail (`.ci/run` makes it first).

use std::path::PathBuf;

fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/schemathesis-venv/bin")
}

/// The path of `tool` in the virtual environment, made first when needed.
pub fn python_tool(tool: &str) -> Option<PathBuf> {
    static MADE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let path = venv().join(tool);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set, so the OpenAPI tests must run, but {} is missing (run scripts/schemathesis-venv.sh)",
            path.display()
        );
    }
    // Both databases' tests may ask at once: one of them runs the script.
    let _made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if !path.exists() {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/schemathesis-venv.sh");
        let status = std::process::Command::new(&script).status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "SKIPPED OpenAPI test: {} failed ({status:?}), so {tool} is missing",
                script.display()
            );
            return None;
        }
    }
    Some(path)
}
