//! API and job keys: 64 hex characters (256 random bits), stored only as SHA-256 hex digests.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Compare a presented key with a stored digest without leaking where they differ.
pub fn matches(key: &str, stored_digest: &str) -> bool {
    digest(key)
        .as_bytes()
        .ct_eq(stored_digest.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_hex_and_verify() {
        let key = new_key();
        assert_eq!(key.len(), 64);
        assert!(key
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let d = digest(&key);
        assert!(matches(&key, &d));
        assert!(!matches(&new_key(), &d));
    }
}
