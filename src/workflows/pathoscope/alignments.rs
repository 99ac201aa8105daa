//! The isolate alignments (workflows.md §10.4.4) as compact records, never as SAM text: per line
//! a read index, a reference index, POS, the read length and the p-score (24 bytes), spilled to
//! a file past a memory budget ([`Spill`]); read names are kept as 128-bit hashes, reference ids
//! once each. Step 4 removes records; step 5 reads them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io;

use super::sam::{parse_line, LineSink, SamLine};
use super::spill::{Record, Spill, SpillVec};
use super::PathoscopeError;

/// One kept alignment line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alignment {
    /// Index of the read name, in order of first appearance over all lines pushed.
    pub read: u32,
    /// Index of the reference id, in order of first appearance over all lines pushed.
    pub reference: u32,
    pub pos: u32,
    pub length: u32,
    pub p_score: f64,
}

impl Record for Alignment {
    const SIZE: usize = 24;

    fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.read.to_le_bytes());
        out[4..8].copy_from_slice(&self.reference.to_le_bytes());
        out[8..12].copy_from_slice(&self.pos.to_le_bytes());
        out[12..16].copy_from_slice(&self.length.to_le_bytes());
        out[16..24].copy_from_slice(&self.p_score.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Alignment {
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        Alignment {
            read: word(0),
            reference: word(4),
            pos: word(8),
            length: word(12),
            p_score: f64::from_le_bytes(bytes[16..24].try_into().unwrap()),
        }
    }
}

/// The alignment lines with p-score ≥ a cutoff, in output order.
#[derive(Debug)]
pub struct Alignments {
    cutoff: f64,
    reads: ReadNames,
    references: Vec<String>,
    reference_index: HashMap<String, u32>,
    lines: SpillVec<Alignment>,
}

impl Alignments {
    /// Keeps the usable lines with p-score ≥ `cutoff` (the isolate alignments use
    /// [`P_SCORE_CUTOFF`](super::P_SCORE_CUTOFF)), spilling to the system's temporary directory.
    pub fn new(cutoff: f64) -> Alignments {
        Alignments::spilling(cutoff, Spill::default())
    }

    /// As [`Alignments::new`], with the lines (and step 5's working sets) spilled as `spill` says.
    pub fn spilling(cutoff: f64, spill: Spill) -> Alignments {
        Alignments {
            cutoff,
            reads: ReadNames::default(),
            references: Vec::new(),
            reference_index: HashMap::new(),
            lines: SpillVec::new(spill),
        }
    }

    /// Adds one parsed line if its p-score reaches the cutoff.
    pub fn push(&mut self, line: &SamLine) -> io::Result<()> {
        if line.p_score < self.cutoff {
            return Ok(());
        }
        let read = self.reads.index(line.read);
        let reference = match std::str::from_utf8(line.reference) {
            Ok(id) => self.reference(id),
            // An index's ids are text; such a name then fails the index lookup by name.
            Err(_) => self.reference(&String::from_utf8_lossy(line.reference)),
        };
        self.lines.push(Alignment {
            read,
            reference,
            pos: line.pos,
            length: line.length,
            p_score: line.p_score,
        })
    }

    fn reference(&mut self, id: &str) -> u32 {
        if let Some(&index) = self.reference_index.get(id) {
            return index;
        }
        let index = self.references.len() as u32;
        self.references.push(id.to_owned());
        self.reference_index.insert(id.to_owned(), index);
        index
    }

    /// How many lines are kept.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Calls `f` with each kept line, in output order.
    pub fn for_each<E: From<io::Error>>(
        &self,
        f: impl FnMut(Alignment) -> Result<(), E>,
    ) -> Result<(), E> {
        self.lines.for_each(f)
    }

    /// The kept lines, in output order, in memory (tests and diagnostics).
    pub fn to_vec(&self) -> io::Result<Vec<Alignment>> {
        let mut lines = Vec::with_capacity(self.len());
        self.for_each(|line| {
            lines.push(line);
            Ok::<_, io::Error>(())
        })?;
        Ok(lines)
    }

    /// Every reference id seen, by index.
    pub fn references(&self) -> &[String] {
        &self.references
    }

    /// How many distinct read names were seen (including reads whose lines were removed since).
    pub fn read_total(&self) -> usize {
        self.reads.len()
    }

    /// The index of a read name, if it was seen.
    pub fn read_index(&self, name: &[u8]) -> Option<u32> {
        self.reads.get(name)
    }

    /// Read names by index (kept in tests only, where rows are printed with them).
    #[cfg(test)]
    pub fn read_names(&self) -> Vec<&[u8]> {
        self.reads.names.iter().map(|name| &name[..]).collect()
    }

    pub(super) fn spill(&self) -> &Spill {
        self.lines.spill()
    }

    /// Keeps the lines for which `keep` is true, in order.
    pub(super) fn retain(&mut self, keep: impl FnMut(&Alignment) -> bool) -> io::Result<()> {
        self.lines.retain(keep)
    }
}

/// Read name → index by first appearance. A name is kept as a 128-bit hash (SipHash of the
/// name, twice, with different leading bytes): 24 bytes a read whatever its length; two of a
/// sample's names sharing one is a chance below 10⁻²⁵. bowtie2 writes a read's lines together,
/// so a line of the same read as the line before needs no lookup.
#[derive(Debug, Default)]
struct ReadNames {
    by_hash: HashMap<NameHash, u32, BuildHasherDefault<FirstWord>>,
    last_name: Vec<u8>,
    last_index: Option<u32>,
    #[cfg(test)]
    names: Vec<Box<[u8]>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NameHash(u64, u64);

impl Hash for NameHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// The table's hasher: a name hash is already uniform.
#[derive(Default)]
struct FirstWord(u64);

impl Hasher for FirstWord {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl ReadNames {
    fn hash(name: &[u8]) -> NameHash {
        let hash = |lead: u8| {
            let mut hasher = std::hash::DefaultHasher::new();
            hasher.write_u8(lead);
            hasher.write(name);
            hasher.finish()
        };
        NameHash(hash(1), hash(2))
    }

    fn index(&mut self, name: &[u8]) -> u32 {
        if let Some(index) = self.last_index {
            if self.last_name == name {
                return index;
            }
        }
        let next = self.by_hash.len() as u32;
        let index = *self.by_hash.entry(ReadNames::hash(name)).or_insert(next);
        #[cfg(test)]
        if index == next {
            self.names.push(name.into());
        }
        self.last_name.clear();
        self.last_name.extend_from_slice(name);
        self.last_index = Some(index);
        index
    }

    fn get(&self, name: &[u8]) -> Option<u32> {
        self.by_hash.get(&ReadNames::hash(name)).copied()
    }

    fn len(&self) -> usize {
        self.by_hash.len()
    }
}

impl LineSink for Alignments {
    fn push_line(&mut self, line: &[u8]) -> Result<(), PathoscopeError> {
        if let Some(line) = parse_line(line)? {
            self.push(&line)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(read: &'a str, reference: &'a str, p_score: f64) -> SamLine<'a> {
        SamLine {
            read: read.as_bytes(),
            reference: reference.as_bytes(),
            pos: 1,
            length: 10,
            p_score,
        }
    }

    #[test]
    fn indices_follow_first_appearance_and_the_cutoff_is_inclusive() {
        let mut alignments = Alignments::new(0.01);
        for (read, reference, p_score) in [
            ("b", "r2", 5.0),
            ("a", "r1", 0.01),
            ("c", "r1", 0.009),
            ("b", "r1", 7.0),
        ] {
            alignments.push(&line(read, reference, p_score)).unwrap();
        }
        let pairs: Vec<(u32, u32)> = (alignments.to_vec().unwrap().iter())
            .map(|a| (a.read, a.reference))
            .collect();
        assert_eq!(pairs, [(0, 0), (1, 1), (0, 1)]);
        assert_eq!(alignments.references(), ["r2", "r1"]);
        assert_eq!(alignments.read_names(), [&b"b"[..], b"a"]);
        assert_eq!(alignments.read_index(b"a"), Some(1));
        assert_eq!(alignments.read_index(b"c"), None);
    }
}
