//! Credentials and rights as plain functions: random keys and their digests (`keys`), sample
//! rights (`rights`), and the rule for handles. The extractors that use them are `ops::auth`.

pub mod cache;
pub mod keys;
pub mod passwords;
pub mod rights;

/// Handles: 1–64 characters from `[A-Za-z0-9._-]`, not starting with `job-` or `runner-`
/// (contract §7.1, workflows.md §7.1).
pub fn valid_handle(handle: &str) -> bool {
    (1..=64).contains(&handle.len())
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !handle.starts_with("job-")
        && !handle.starts_with("runner-")
}

/// Runner names: 1–64 characters from `[A-Za-z0-9._:-]` (workflows.md §7.1).
pub fn valid_runner_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}
