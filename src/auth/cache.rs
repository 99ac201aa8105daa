//! Recently checked API keys (of users or of jobs): a request whose key was checked within the
//! last `ttl` skips the database. Entries expire by age, so a change made through another instance (a user's
//! administrator flag or groups) is seen within `ttl`; changes made through this instance clear
//! the cache at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::rights::Principal;

/// What a user's key stands for.
#[derive(Clone)]
pub struct Known {
    pub handle: String,
    pub principal: Principal,
}

/// Key digests checked for a login, with what they stand for (`T`).
pub struct CredentialCache<T> {
    ttl: Duration,
    /// Entries at most; when full the cache starts over (it only saves database round trips).
    capacity: usize,
    entries: Mutex<HashMap<String, Entry<T>>>,
}

struct Entry<T> {
    at: Instant,
    login: String,
    value: T,
}

impl<T: Clone> CredentialCache<T> {
    /// A cache of at most `capacity` entries that live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration, capacity: usize) -> CredentialCache<T> {
        CredentialCache {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<T>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the key with this digest stands for, when it was checked for `login` within the TTL.
    pub fn get(&self, key_digest: &str, login: &str) -> Option<T> {
        let entries = self.entries();
        let entry = entries.get(key_digest)?;
        (entry.at.elapsed() < self.ttl && entry.login == login).then(|| entry.value.clone())
    }

    pub fn put(&self, key_digest: String, login: &str, value: T) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            key_digest,
            Entry {
                at: Instant::now(),
                login: login.to_owned(),
                value,
            },
        );
    }

    /// Forget everything (a user, their groups or their rights changed; a job was deleted).
    pub fn clear(&self) {
        self.entries().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(handle: &str) -> Known {
        Known {
            handle: handle.into(),
            principal: Principal {
                id: "u1".into(),
                administrator: false,
                groups: vec![],
            },
        }
    }

    #[test]
    fn entries_expire_and_are_bound_to_their_handle() {
        let cache: CredentialCache<Known> = CredentialCache::new(Duration::from_millis(50), 2);
        cache.put("d".into(), "lab", known("lab"));
        assert!(cache.get("d", "lab").is_some());
        assert!(
            cache.get("d", "other").is_none(),
            "the handle must match too"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("d", "lab").is_none());
        cache.put("d".into(), "lab", known("lab"));
        cache.clear();
        assert!(cache.get("d", "lab").is_none());
        // At the capacity the cache starts over.
        cache.put("a".into(), "lab", known("lab"));
        cache.put("b".into(), "lab", known("lab"));
        cache.put("c".into(), "lab", known("lab"));
        assert!(cache.get("a", "lab").is_none() && cache.get("c", "lab").is_some());
        let off: CredentialCache<Known> = CredentialCache::new(Duration::ZERO, 2);
        off.put("d".into(), "lab", known("lab"));
        assert!(off.get("d", "lab").is_none());
    }
}
