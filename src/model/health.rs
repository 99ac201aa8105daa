//! The readiness report: each check by name, passed or failed with a reason that names no path,
//! address or credential (the routes are unauthenticated).

use std::collections::BTreeMap;

/// The checks of `GET /api/health/ready`, in the order they run.
pub const CHECKS: [&str; 5] = [
    "database",
    "migrations",
    "database_writable",
    "storage_writable",
    "free_space",
];

#[derive(Debug, Clone, Default)]
pub struct Readiness {
    /// `(check, None)` when it passed, `(check, Some(reason))` when it failed.
    pub checks: Vec<(&'static str, Option<String>)>,
}

impl Readiness {
    pub fn record(&mut self, check: &'static str, failure: Option<String>) {
        self.checks.push((check, failure));
    }

    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|(_, failure)| failure.is_none())
    }

    /// The names of the failed checks, comma-separated.
    pub fn failed(&self) -> String {
        let names: Vec<&str> = self
            .checks
            .iter()
            .filter(|(_, failure)| failure.is_some())
            .map(|(name, _)| *name)
            .collect();
        names.join(", ")
    }

    /// `{"database": "ok", "free_space": "failed: ..."}`.
    pub fn summary(&self) -> BTreeMap<String, String> {
        self.checks
            .iter()
            .map(|(name, failure)| {
                let state = match failure {
                    None => "ok".to_owned(),
                    Some(reason) => format!("failed: {reason}"),
                };
                ((*name).to_owned(), state)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_check_passed() {
        let mut readiness = Readiness::default();
        readiness.record("database", None);
        assert!(readiness.is_ready());
        readiness.record("free_space", Some("below the minimum".into()));
        readiness.record("migrations", Some("1 not applied".into()));
        assert!(!readiness.is_ready());
        assert_eq!(readiness.failed(), "free_space, migrations");
        assert_eq!(readiness.summary()["database"], "ok");
        assert_eq!(
            readiness.summary()["free_space"],
            "failed: below the minimum"
        );
    }
}
