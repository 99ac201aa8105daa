//! Bytes made from an analysis kept for its `updated_at`: rendered exports (U8,
//! `--export-cache-bytes`) and the results of U2 as encoded for the wire (`--results-cache-bytes`).
//! A second request for an unchanged analysis is the kept bytes. Every change of an analysis (its
//! results, a BLAST record) bumps `updated_at`, which is read from the database on each request,
//! so a stale entry is never served, on any instance. The oldest entries go first.

use std::collections::HashMap;
use std::sync::Mutex;

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

struct Entry<V> {
    updated_at: Micros,
    value: V,
    /// Insertion order, for eviction.
    seq: u64,
}

struct Entries<V> {
    map: HashMap<(String, &'static str), Entry<V>>,
    bytes: usize,
    seq: u64,
}

/// Values per (analysis, kind), each valid for one `updated_at`, within a byte budget.
pub struct VersionedCache<V> {
    budget: usize,
    entries: Mutex<Entries<V>>,
}

/// Rendered exports by extension.
pub type ExportCache = VersionedCache<Bytes>;

impl<V: Weighed> VersionedCache<V> {
    /// A cache holding at most `budget` bytes (0: nothing is kept).
    pub fn new(budget: usize) -> VersionedCache<V> {
        VersionedCache {
            budget,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                bytes: 0,
                seq: 0,
            }),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of kind `kind` of `analysis_id` as made for `updated_at`.
    pub fn get(&self, analysis_id: &str, kind: &'static str, updated_at: Micros) -> Option<V> {
        let entries = self.entries();
        let entry = entries.map.get(&(analysis_id.to_owned(), kind))?;
        (entry.updated_at == updated_at).then(|| entry.value.clone())
    }

    /// Keep `value` (unless larger than a quarter of the budget), evicting the oldest entries.
    pub fn put(&self, analysis_id: &str, kind: &'static str, updated_at: Micros, value: V) {
        if value.weight() > self.budget / 4 {
            return;
        }
        let mut entries = self.entries();
        entries.seq += 1;
        let entry = Entry {
            updated_at,
            seq: entries.seq,
            value,
        };
        entries.bytes += entry.value.weight();
        if let Some(old) = entries.map.insert((analysis_id.to_owned(), kind), entry) {
            entries.bytes -= old.value.weight();
        }
        while entries.bytes > self.budget {
            let Some(oldest) = entries
                .map
                .iter()
                .min_by_key(|(_, e)| e.seq)
                .map(|(k, _)| k.clone())
            else {
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
    fn entries_match_their_updated_at_and_the_budget_holds() {
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
        assert!(cache.entries().bytes <= 400);
    }
}
