//! Rendered exports (U8) kept for their analysis's `updated_at`: a second download of an unchanged
//! analysis is the stored bytes. Every change of an analysis (its results, a BLAST record) bumps
//! `updated_at`, which is read from the database on each request, so a stale export is never
//! served, on any instance. Bounded by `--export-cache-bytes`; the oldest entries go first.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use crate::model::time::Micros;

struct Entry {
    updated_at: Micros,
    bytes: Bytes,
    /// Insertion order, for eviction.
    seq: u64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<(String, &'static str), Entry>,
    bytes: usize,
    seq: u64,
}

pub struct ExportCache {
    budget: usize,
    entries: Mutex<Entries>,
}

impl ExportCache {
    /// A cache holding at most `budget` bytes of exports (0: nothing is kept).
    pub fn new(budget: usize) -> ExportCache {
        ExportCache {
            budget,
            entries: Mutex::new(Entries::default()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The export `ext` of `analysis_id` as rendered for `updated_at`.
    pub fn get(&self, analysis_id: &str, ext: &'static str, updated_at: Micros) -> Option<Bytes> {
        let entries = self.entries();
        let entry = entries.map.get(&(analysis_id.to_owned(), ext))?;
        (entry.updated_at == updated_at).then(|| entry.bytes.clone())
    }

    /// Keep `bytes` (unless larger than a quarter of the budget), evicting the oldest entries.
    pub fn put(&self, analysis_id: &str, ext: &'static str, updated_at: Micros, bytes: Bytes) {
        if bytes.len() > self.budget / 4 {
            return;
        }
        let mut entries = self.entries();
        entries.seq += 1;
        let entry = Entry {
            updated_at,
            seq: entries.seq,
            bytes,
        };
        entries.bytes += entry.bytes.len();
        if let Some(old) = entries.map.insert((analysis_id.to_owned(), ext), entry) {
            entries.bytes -= old.bytes.len();
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
                entries.bytes -= gone.bytes.len();
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
