//! Step 2, `build_isolate_index` (workflows.md §10.4.3): `isolates.fa` holds every sequence of
//! every isolate of each candidate OTU, in snapshot order. What later steps need of each
//! sequence (its length for `align`, its OTU for the hit) is remembered here.

use std::collections::HashMap;
use std::io::{self, Write};

use super::candidates::Candidates;
use crate::import::reference::ParsedOtu;

/// One sequence of the isolate index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolateSequence {
    pub id: String,
    /// Number of characters of the sequence text.
    pub length: usize,
    pub otu_id: String,
    pub otu_version: i64,
}

/// The sequences of `isolates.fa`, in file order, found by id.
#[derive(Debug, Clone, Default)]
pub struct IsolateIndex {
    sequences: Vec<IsolateSequence>,
    by_id: HashMap<String, usize>,
}

/// Writes `isolates.fa` (`>id\nsequence\n`, no wrapping, text as stored) for the candidate OTUs
/// and returns what was written. Callers wrap `out` in a `BufWriter` when it is a file.
pub fn write_isolate_fasta<W: Write>(
    snapshot: &[ParsedOtu],
    candidates: &Candidates,
    mut out: W,
) -> io::Result<IsolateIndex> {
    let mut sequences = Vec::new();
    // `candidates.otus` is in snapshot order already.
    for otu in candidates.otus.iter().map(|&o| &snapshot[o]) {
        for sequence in otu.isolates.iter().flat_map(|i| &i.sequences) {
            for part in [">", &sequence.id, "\n", &sequence.sequence, "\n"] {
                out.write_all(part.as_bytes())?;
            }
            sequences.push(IsolateSequence {
                id: sequence.id.clone(),
                length: sequence.sequence.chars().count(),
                otu_id: otu.id.clone(),
                otu_version: otu.version,
            });
        }
    }
    out.flush()?;
    Ok(IsolateIndex::new(sequences))
}

impl IsolateIndex {
    /// An index of the given sequences, in this order (sequence ids are unique in a snapshot).
    pub fn new(sequences: Vec<IsolateSequence>) -> IsolateIndex {
        let by_id = (sequences.iter().enumerate())
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        IsolateIndex { sequences, by_id }
    }

    /// The sequences in `isolates.fa` order.
    pub fn sequences(&self) -> &[IsolateSequence] {
        &self.sequences
    }

    pub fn get(&self, id: &str) -> Option<&IsolateSequence> {
        self.by_id.get(id).map(|&i| &self.sequences[i])
    }

    pub fn is_empty(&self) -> bool {
        self.sequences.is_empty()
    }
}
