//! Step 1, `map_default_isolates` (workflows.md §10.4.2): the candidate sequences are the RNAMEs
//! of usable lines with p-score ≥ the cutoff, and the candidate OTUs are theirs in the snapshot.

use std::collections::{BTreeSet, HashMap};

use super::sam::{parse_line, LineSink};
use super::PathoscopeError;
use crate::import::reference::ParsedOtu;

/// The first-pass output, read line by line; only the distinct RNAMEs are kept.
#[derive(Debug)]
pub struct CandidateScan {
    cutoff: f64,
    sequences: BTreeSet<Vec<u8>>,
}

/// The candidates of one sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidates {
    /// Candidate sequence ids, sorted by code point.
    pub sequences: Vec<String>,
    /// Indices into the snapshot of the candidate OTUs, in snapshot order.
    pub otus: Vec<usize>,
}

impl CandidateScan {
    /// The workflow's cutoff is [`P_SCORE_CUTOFF`](super::P_SCORE_CUTOFF).
    pub fn new(cutoff: f64) -> CandidateScan {
        CandidateScan {
            cutoff,
            sequences: BTreeSet::new(),
        }
    }

    /// The candidates, through the snapshot the index was built from. A sequence bowtie2
    /// reports that the snapshot does not hold means the index and snapshot disagree: an error.
    pub fn finish(self, snapshot: &[ParsedOtu]) -> Result<Candidates, PathoscopeError> {
        let otu_of: HashMap<&str, usize> = (snapshot.iter().enumerate())
            .flat_map(|(o, otu)| {
                (otu.isolates.iter())
                    .flat_map(|isolate| &isolate.sequences)
                    .map(move |sequence| (sequence.id.as_str(), o))
            })
            .collect();
        let mut otus = BTreeSet::new();
        let mut sequences = Vec::with_capacity(self.sequences.len());
        for id in self.sequences {
            let id = String::from_utf8(id).map_err(|e| {
                PathoscopeError::UnknownSequence(e.as_bytes().escape_ascii().to_string())
            })?;
            let &otu = otu_of
                .get(id.as_str())
                .ok_or_else(|| PathoscopeError::UnknownSequence(id.clone()))?;
            otus.insert(otu);
            sequences.push(id);
        }
        Ok(Candidates {
            sequences,
            otus: otus.into_iter().collect(),
        })
    }
}

impl LineSink for CandidateScan {
    fn push_line(&mut self, line: &[u8]) -> Result<(), PathoscopeError> {
        if let Some(line) = parse_line(line)? {
            if line.p_score >= self.cutoff && !self.sequences.contains(line.reference) {
                self.sequences.insert(line.reference.to_vec());
            }
        }
        Ok(())
    }
}

impl Candidates {
    /// No candidate: steps 2 to 5 run no tool and the result is empty (§10.4.9).
    pub fn is_empty(&self) -> bool {
        self.otus.is_empty()
    }
}
