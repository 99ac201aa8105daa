//! The isolate alignments (workflows.md §10.4.4) as compact records, never as SAM text: per line
//! a read index, a reference index, POS, the read length and the p-score (24 bytes), with read
//! names and reference ids kept once each. Step 4 removes records; step 5 reads them.

use std::collections::HashMap;

use super::sam::{parse_line, LineSink, SamLine};
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

/// The alignment lines with p-score ≥ a cutoff, in output order.
#[derive(Debug, Default)]
pub struct Alignments {
    cutoff: f64,
    /// Read name → index; looked up, never iterated for results.
    read_index: HashMap<Box<[u8]>, u32>,
    references: Vec<String>,
    reference_index: HashMap<String, u32>,
    lines: Vec<Alignment>,
}

impl Alignments {
    /// Keeps the usable lines with p-score ≥ `cutoff` (the isolate alignments use
    /// [`P_SCORE_CUTOFF`](super::P_SCORE_CUTOFF)).
    pub fn new(cutoff: f64) -> Alignments {
        Alignments {
            cutoff,
            ..Alignments::default()
        }
    }

    /// Adds one parsed line if its p-score reaches the cutoff.
    pub fn push(&mut self, line: &SamLine) {
        if line.p_score < self.cutoff {
            return;
        }
        let next_read = self.read_index.len() as u32;
        let read = *self.read_index.entry(line.read.into()).or_insert(next_read);
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
        });
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

    /// The kept lines, in output order.
    pub fn lines(&self) -> &[Alignment] {
        &self.lines
    }

    /// Every reference id seen, by index.
    pub fn references(&self) -> &[String] {
        &self.references
    }

    /// How many distinct read names were seen (including reads whose lines were removed since).
    pub fn read_total(&self) -> usize {
        self.read_index.len()
    }

    /// The index of a read name, if it was seen.
    pub fn read_index(&self, name: &[u8]) -> Option<u32> {
        self.read_index.get(name).copied()
    }

    /// Read names by index (built on demand: only tests and diagnostics need them).
    pub fn read_names(&self) -> Vec<&[u8]> {
        let mut names: Vec<&[u8]> = vec![&[]; self.read_index.len()];
        for (name, &index) in &self.read_index {
            names[index as usize] = name;
        }
        names
    }

    /// Keeps the lines for which `keep` is true, in order.
    pub(super) fn retain(&mut self, keep: impl FnMut(&Alignment) -> bool) {
        self.lines.retain(keep);
    }
}

impl LineSink for Alignments {
    fn push_line(&mut self, line: &[u8]) -> Result<(), PathoscopeError> {
        if let Some(line) = parse_line(line)? {
            self.push(&line);
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
        alignments.push(&line("b", "r2", 5.0));
        alignments.push(&line("a", "r1", 0.01));
        alignments.push(&line("c", "r1", 0.009));
        alignments.push(&line("b", "r1", 7.0));
        let pairs: Vec<(u32, u32)> = (alignments.lines().iter())
            .map(|a| (a.read, a.reference))
            .collect();
        assert_eq!(pairs, [(0, 0), (1, 1), (0, 1)]);
        assert_eq!(alignments.references(), ["r2", "r1"]);
        assert_eq!(alignments.read_names(), [&b"b"[..], b"a"]);
        assert_eq!(alignments.read_index(b"a"), Some(1));
        assert_eq!(alignments.read_index(b"c"), None);
    }
}
