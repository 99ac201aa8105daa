//! Values kept in memory for one version of what they were made from, within a byte budget:
//! rendered exports and U2's results per analysis `updated_at`, and the read cache per change
//! generation (`db::changes`). A value is served only for the version it was made for, so a
//! change is never hidden by a kept value; the oldest entries go first.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::model::time::Micros;

/// What an entry weighs against the budget.
pub trait Weighed: Clone {
    fn weight(&self) -> usize;
}

impl Weighed for Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// A value of any type, with its weight (the read cache keeps several kinds of values).
#[derive(Clone)]
pub struct Kept {
    value: Arc<dyn Any + Send + Sync>,
    weight: usize,
}

impl Kept {
    pub fn new<T: Any + Send + Sync>(value: Arc<T>, weight: usize) -> Kept {
        Kept { value, weight }
    }

    /// The value, when it is a `T`.
    pub fn get<T: Any + Send + Sync>(self) -> Option<Arc<T>> {
        self.value.downcast().ok()
    }
}

impl Weighed for Kept {
    fn weight(&self) -> usize {
        self.weight
    }
}

type Key = (String, &'static str);

struct Entry<V, T> {
    version: T,
    value: V,
    /// Insertion order, for eviction.
    seq: u64,
}

struct Entries<V, T> {
    map: HashMap<Key, Entry<V, T>>,
    /// Keys by insertion order.
    order: BTreeMap<u64, Key>,
    bytes: usize,
    seq: u64,
}

/// Values per (id, kind), each valid for one version `T`, within a byte budget.
pub struct VersionedCache<V, T = Micros> {
    budget: usize,
    entries: Mutex<Entries<V, T>>,
}

/// Rendered exports by extension, per analysis `updated_at`.
pub type ExportCache = VersionedCache<Bytes>;

/// Reads per change generation.
pub type ReadCache = VersionedCache<Kept, u64>;

impl<V: Weighed, T: Copy + PartialEq> VersionedCache<V, T> {
    /// A cache holding at most `budget` bytes (0: nothing is kept).
    pub fn new(budget: usize) -> VersionedCache<V, T> {
        VersionedCache {
            budget,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                order: BTreeMap::new(),
                bytes: 0,
                seq: 0,
            }),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries<V, T>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of kind `kind` of `id` as made for `version`.
    pub fn get(&self, id: &str, kind: &'static str, version: T) -> Option<V> {
        let entries = self.entries();
        let entry = entries.map.get(&(id.to_owned(), kind))?;
        (entry.version == version).then(|| entry.value.clone())
    }

    /// Keep `value` (unless larger than a quarter of the budget), evicting the oldest entries.
    pub fn put(&self, id: &str, kind: &'static str, version: T, value: V) {
        if value.weight() > self.budget / 4 {
            return;
        }
        let mut entries = self.entries();
        entries.seq += 1;
        let seq = entries.seq;
        let key = (id.to_owned(), kind);
        entries.bytes += value.weight();
        entries.order.insert(seq, key.clone());
        let entry = Entry {
            version,
            seq,
            value,
        };
        if let Some(old) = entries.map.insert(key, entry) {
            entries.bytes -= old.value.weight();
            entries.order.remove(&old.seq);
        }
        while entries.bytes > self.budget {
            let Some((_, oldest)) = entries.order.pop_first() else {
                break;
            };
            if let Some(gone) = entries.map.remove(&oldest) {
                entries.bytes -= gone.value.weight();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_their_version_and_the_budget_holds() {
        let cache = ExportCache::new(400);
        cache.put("a", "csv", 1, Bytes::from(vec![0; 100]));
        assert!(cache.get("a", "csv", 1).is_some());
        assert!(cache.get("a", "csv", 2).is_none(), "changed since");
        assert!(cache.get("a", "xlsx", 1).is_none());
        cache.put("b", "csv", 1, Bytes::from(vec![0; 100]));
        cache.put("c", "csv", 1, Bytes::from(vec![0; 100]));
        cache.put("d", "csv", 1, Bytes::from(vec![0; 100]));
        cache.put("e", "csv", 1, Bytes::from(vec![0; 100]));
        assert!(cache.get("a", "csv", 1).is_none(), "the oldest went first");
        assert!(cache.get("e", "csv", 1).is_some());
        cache.put("big", "csv", 1, Bytes::from(vec![0; 101]));
        assert!(cache.get("big", "csv", 1).is_none(), "over a quarter");
        let entries = cache.entries();
        assert!(entries.bytes <= 400);
        assert_eq!(entries.map.len(), entries.order.len());
    }

    #[test]
    fn a_replaced_entry_keeps_one_place_in_the_order() {
        let cache = ExportCache::new(400);
        cache.put("a", "csv", 1, Bytes::from(vec![0; 100]));
        cache.put("b", "csv", 1, Bytes::from(vec![0; 100]));
        cache.put("a", "csv", 2, Bytes::from(vec![0; 100]));
        cache.put("c", "csv", 1, Bytes::from(vec![0; 100]));
        cache.put("d", "csv", 1, Bytes::from(vec![0; 100]));
        cache.put("e", "csv", 1, Bytes::from(vec![0; 100]));
        assert!(cache.get("b", "csv", 1).is_none(), "b is now the oldest");
        assert!(cache.get("a", "csv", 2).is_some());
        assert_eq!(cache.entries().bytes, 400);
    }

    #[test]
    fn kept_values_come_back_as_their_type() {
        let cache = ReadCache::new(1000);
        cache.put("x", "head", 7, Kept::new(Arc::new(String::from("v")), 10));
        let kept = cache.get("x", "head", 7).expect("kept");
        assert!(kept.clone().get::<u32>().is_none());
        assert_eq!(
            kept.get::<String>().as_deref().map(String::as_str),
            Some("v")
        );
        assert!(cache.get("x", "head", 8).is_none());
    }
}
