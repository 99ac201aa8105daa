//! Keeps the benchmark harness from rotting: `vira-bench --size s --quick` against the debug
//! `vira` must succeed and print every row of the S, list and transfer scenarios. `cargo test` at
//! the workspace root builds `vira` (its own tests need it) before any test runs.

use std::process::Command;

/// The `vira` binary of the same build, next to `vira-bench`.
fn vira() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_vira-bench"))
        .with_file_name(format!("vira{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "no vira binary at {} (run `cargo test` at the workspace root, or `cargo build --bin vira`)",
        path.display()
    );
    path
}

/// The PostgreSQL server of the test suite (`VIRA_TEST_DATABASE_URL`).
fn postgres() -> String {
    std::env::var("VIRA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

#[test]
fn quick_s_run_prints_the_table() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_vira-bench"))
        .args(["--size", "s", "--quick", "--vira"])
        .arg(vira())
        .arg("--database-url")
        .arg(postgres())
        .arg("--tmp-dir")
        .arg(tmp.path())
        .output()
        .expect("run vira-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "vira-bench failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for row in [
        "Idle ",
        "Finalize S Pathoscope",
        "Finalize S NuVs",
        "GET S Pathoscope",
        "GET S NuVs",
        "CSV S",
        "XLSX S",
        "List 25/200",
        "Floor (unauthenticated 404)",
        "Page S Pathoscope",
        "Page S NuVs",
        "cat 16 MiB",
        "Upload 16 MiB",
        "Download 16 MiB",
    ] {
        assert!(
            stdout.lines().any(|line| line.starts_with(row)),
            "no row {row:?} in:\n{stdout}"
        );
    }
    let header = stdout.lines().next().unwrap_or_default();
    assert!(
        header.contains("SQLite") && header.contains("PostgreSQL"),
        "a column per database: {header}"
    );
    for metric in ["p50", "p99", "req/s @16", "peak RSS", "MB/s"] {
        assert!(stdout.contains(metric), "no {metric:?} in:\n{stdout}");
    }
    // --quick without --out writes no report, and the work directory is removed.
    assert!(!stdout.contains("written to"), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "work directory left behind: {left:?}");
}
