//! Fixed-size records held in memory up to a budget and in an unlinked file past it: what keeps
//! the worker's memory flat in the number of reads. A 2-million-read sample gives tens of millions
//! of isolate alignment lines; they are read back sequentially, a chunk at a time, from the
//! page cache.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A record of a [`SpillVec`]: `SIZE` bytes each way.
pub(super) trait Record: Copy {
    const SIZE: usize;
    fn encode(&self, out: &mut [u8]);
    fn decode(bytes: &[u8]) -> Self;
}

/// Where records go past the memory budget, and the budget of each store in bytes.
#[derive(Debug, Clone)]
pub struct Spill {
    dir: PathBuf,
    memory: usize,
}

impl Default for Spill {
    /// The system's temporary directory and 16 MiB per store.
    fn default() -> Spill {
        Spill::new(std::env::temp_dir(), 16 << 20)
    }
}

impl Spill {
    /// Files in `dir` (the worker gives its job directory), `memory` bytes per store in memory.
    pub fn new(dir: impl Into<PathBuf>, memory: usize) -> Spill {
        Spill {
            dir: dir.into(),
            memory,
        }
    }

    fn records<R: Record>(&self) -> usize {
        (self.memory / R::SIZE).max(1)
    }
}

/// An append-only sequence of records, read back in order.
#[derive(Debug)]
pub(super) struct SpillVec<R> {
    spill: Spill,
    file: Option<File>,
    /// Records in `file`, all before those of `buffer`.
    on_disk: u64,
    buffer: Vec<R>,
}

/// Bytes read from a spill file at once.
const READ_CHUNK: usize = 1 << 20;

impl<R: Record> SpillVec<R> {
    pub fn new(spill: Spill) -> SpillVec<R> {
        SpillVec {
            spill,
            file: None,
            on_disk: 0,
            buffer: Vec::new(),
        }
    }

    pub fn spill(&self) -> &Spill {
        &self.spill
    }

    pub fn len(&self) -> usize {
        self.on_disk as usize + self.buffer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push(&mut self, record: R) -> io::Result<()> {
        self.buffer.push(record);
        if self.buffer.len() >= self.spill.records::<R>() {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn write_buffer(&mut self) -> io::Result<()> {
        let file = match &mut self.file {
            Some(file) => file,
            none => none.insert(unlinked_file(&self.spill.dir)?),
        };
        let mut bytes = vec![0u8; self.buffer.len() * R::SIZE];
        for (record, out) in self.buffer.iter().zip(bytes.chunks_exact_mut(R::SIZE)) {
            record.encode(out);
        }
        file.write_all_at(&bytes, self.on_disk * R::SIZE as u64)?;
        self.on_disk += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Calls `f` with each record in order; stops at the first error.
    pub fn for_each<E: From<io::Error>>(
        &self,
        mut f: impl FnMut(R) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(file) = &self.file {
            let mut chunk = vec![0u8; (READ_CHUNK / R::SIZE) * R::SIZE];
            let total = self.on_disk * R::SIZE as u64;
            let mut offset = 0u64;
            while offset < total {
                let len = chunk.len().min((total - offset) as usize);
                file.read_exact_at(&mut chunk[..len], offset)?;
                for bytes in chunk[..len].chunks_exact(R::SIZE) {
                    f(R::decode(bytes))?;
                }
                offset += len as u64;
            }
        }
        for &record in &self.buffer {
            f(record)?;
        }
        Ok(())
    }

    /// Keeps the records for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&R) -> bool) -> io::Result<()> {
        let mut kept = SpillVec::new(self.spill.clone());
        self.for_each(|record| {
            if keep(&record) {
                kept.push(record)?;
            }
            Ok::<_, io::Error>(())
        })?;
        *self = kept;
        Ok(())
    }

    /// The records sorted by `key` (stable): sorted runs of the memory budget, then merged.
    pub fn sorted_by_key<K: Ord>(&self, key: impl Fn(&R) -> K) -> io::Result<SpillVec<R>> {
        let run_length = self.spill.records::<R>();
        let mut runs = SpillVec::<R>::new(Spill::new(self.spill.dir.clone(), 0));
        let mut bounds = Vec::new();
        let mut chunk = Vec::with_capacity(run_length.min(self.len()));
        let mut write_run = |chunk: &mut Vec<R>, runs: &mut SpillVec<R>| -> io::Result<()> {
            chunk.sort_by_key(&key);
            let start = runs.len();
            for &record in chunk.iter() {
                runs.buffer.push(record);
            }
            runs.write_buffer()?;
            bounds.push((start, runs.len()));
            chunk.clear();
            Ok(())
        };
        self.for_each(|record| {
            chunk.push(record);
            if chunk.len() == run_length {
                write_run(&mut chunk, &mut runs)?;
            }
            Ok::<_, io::Error>(())
        })?;
        if !chunk.is_empty() {
            write_run(&mut chunk, &mut runs)?;
        }
        let mut sorted = SpillVec::new(self.spill.clone());
        let Some(file) = &runs.file else {
            return Ok(sorted);
        };
        let mut cursors: Vec<RunCursor<R>> = (bounds.into_iter())
            .map(|(start, end)| RunCursor::new(start, end))
            .collect();
        // Ties go to the earlier run, which holds the earlier records: the merge is stable.
        let mut heap = BinaryHeap::new();
        for (run, cursor) in cursors.iter_mut().enumerate() {
            if let Some(record) = cursor.next(file)? {
                heap.push(Reverse((key(&record), run, Slot(record))));
            }
        }
        while let Some(Reverse((_, run, Slot(record)))) = heap.pop() {
            sorted.push(record)?;
            if let Some(next) = cursors[run].next(file)? {
                heap.push(Reverse((key(&next), run, Slot(next))));
            }
        }
        Ok(sorted)
    }
}

/// A record carried through the merge heap without taking part in the order.
struct Slot<R>(R);

impl<R> PartialEq for Slot<R> {
    fn eq(&self, _: &Slot<R>) -> bool {
        true
    }
}
impl<R> Eq for Slot<R> {}
impl<R> PartialOrd for Slot<R> {
    fn partial_cmp(&self, other: &Slot<R>) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<R> Ord for Slot<R> {
    fn cmp(&self, _: &Slot<R>) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// Reads one sorted run back, a block at a time.
struct RunCursor<R> {
    next: usize,
    end: usize,
    block: Vec<R>,
    taken: usize,
}

/// Records read from a run at once (each run of a merge holds one block in memory).
const RUN_BLOCK: usize = 64 << 10;

impl<R: Record> RunCursor<R> {
    fn new(start: usize, end: usize) -> RunCursor<R> {
        RunCursor {
            next: start,
            end,
            block: Vec::new(),
            taken: 0,
        }
    }

    fn next(&mut self, file: &File) -> io::Result<Option<R>> {
        if self.taken == self.block.len() {
            let count = (RUN_BLOCK / R::SIZE).max(1).min(self.end - self.next);
            if count == 0 {
                return Ok(None);
            }
            let mut bytes = vec![0u8; count * R::SIZE];
            file.read_exact_at(&mut bytes, (self.next * R::SIZE) as u64)?;
            self.block.clear();
            self.block
                .extend(bytes.chunks_exact(R::SIZE).map(R::decode));
            self.next += count;
            self.taken = 0;
        }
        self.taken += 1;
        Ok(Some(self.block[self.taken - 1]))
    }
}

/// A new file in `dir`, removed from the directory at once: it lives as long as its handle.
fn unlinked_file(dir: &Path) -> io::Result<File> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        let name = format!(
            ".pathoscope-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        match (OpenOptions::new().read(true).write(true).create_new(true)).open(&path) {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Record for (u32, u32) {
        const SIZE: usize = 8;
        fn encode(&self, out: &mut [u8]) {
            out[..4].copy_from_slice(&self.0.to_le_bytes());
            out[4..].copy_from_slice(&self.1.to_le_bytes());
        }
        fn decode(bytes: &[u8]) -> (u32, u32) {
            let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
            (word(0), word(4))
        }
    }

    fn collect(records: &SpillVec<(u32, u32)>) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        records
            .for_each(|r| {
                out.push(r);
                Ok::<_, io::Error>(())
            })
            .unwrap();
        out
    }

    #[test]
    fn records_past_the_budget_come_back_in_order_sorted_and_retained() {
        // 3 records in memory: most of these go to the file, in several runs.
        let spill = Spill::new(std::env::temp_dir(), 24);
        let mut records = SpillVec::new(spill);
        let input: Vec<(u32, u32)> = (0..1000u32).map(|i| ((i * 7919) % 13, i)).collect();
        for &r in &input {
            records.push(r).unwrap();
        }
        assert_eq!(records.len(), 1000);
        assert_eq!(collect(&records), input);
        let sorted = records.sorted_by_key(|r| r.0).unwrap();
        let mut expected = input.clone();
        expected.sort_by_key(|r| r.0);
        assert_eq!(collect(&sorted), expected);
        records.retain(|r| r.1 % 3 == 0).unwrap();
        let kept: Vec<_> = input.into_iter().filter(|r| r.1 % 3 == 0).collect();
        assert_eq!(collect(&records), kept);
    }
}
