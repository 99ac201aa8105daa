//! Random record ids: 8 characters from `[a-z0-9]`, the shape Virtool uses for its ids.

use rand::Rng;

const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a generated id.
pub const ID_LENGTH: usize = 8;

/// A new random id of [`ID_LENGTH`] characters, each uniform over `[a-z0-9]`.
///
/// `gen_range` rejects biased samples, so every character is equally likely; callers that need
/// uniqueness within a scope check for collisions themselves.
pub fn new_id() -> String {
    let mut rng = rand::thread_rng();
    (0..ID_LENGTH)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_have_the_virtool_shape() {
        for _ in 0..1000 {
            let id = new_id();
            assert_eq!(id.len(), ID_LENGTH);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        }
    }

    #[test]
    fn ids_are_spread_over_the_alphabet() {
        let seen: HashSet<char> = (0..2000)
            .flat_map(|_| new_id().chars().collect::<Vec<_>>())
            .collect();
        assert_eq!(seen.len(), ALPHABET.len());
    }
}
