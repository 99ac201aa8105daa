//! Rebuild when a migration is added or changed: `sqlx::migrate!` embeds `migrations/` at compile
//! time, and cargo does not watch a directory's new files by itself. Name the commit being built
//! (`VIRA_COMMIT`, for `--version` and the build-info metric): `unknown` outside a git checkout.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-env-changed=VIRA_COMMIT");
    let commit = std::env::var("VIRA_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=VIRA_COMMIT={commit}");
    // A new commit changes HEAD (detached) or the branch's ref (loose or packed).
    // (Refs live in the common directory, which differs from HEAD's in a linked worktree.)
    if let (Some(git_dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        println!("cargo:rerun-if-changed={common}/packed-refs");
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={common}/{reference}");
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
