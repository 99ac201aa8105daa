//! Passwords of people who sign in: Argon2id with a random salt, kept as a PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$…`). Hashing is CPU and memory heavy on purpose: callers run it
//! off the async runtime and bound how many run at once (`ops::sessions`).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// Shortest and longest password accepted (bytes); the upper bound keeps hashing cheap to refuse.
pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 1024;

/// Why a new password is refused, as a validation message.
pub fn check_new(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_LENGTH {
        Err(format!("min length is {MIN_LENGTH}"))
    } else if password.len() > MAX_LENGTH {
        Err(format!("max length is {MAX_LENGTH}"))
    } else {
        Ok(())
    }
}

/// A new PHC string for `password`.
pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hash a password: {e}"))
}

/// Whether `password` matches the stored PHC string (`false` for a malformed one).
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_LENGTH {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash no password matches, verified for unknown handles so that an unknown handle and a wrong
/// password cost the same time.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&crate::auth::keys::new_key()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let first = hash("correct horse").unwrap();
        assert!(first.starts_with("$argon2id$"));
        assert!(verify("correct horse", &first));
        assert!(!verify("correct horsf", &first));
        assert_ne!(
            hash("correct horse").unwrap(),
            first,
            "a new salt each time"
        );
        assert!(!verify("anything", "not a phc string"));
        assert!(!verify("correct horse", decoy()));
    }

    #[test]
    fn new_passwords_are_checked() {
        assert!(check_new("12345678").is_ok());
        assert_eq!(check_new("short").unwrap_err(), "min length is 8");
        assert!(check_new(&"x".repeat(MAX_LENGTH + 1)).is_err());
        assert!(check_new("éééééééé").is_ok(), "length counts characters");
    }
}
