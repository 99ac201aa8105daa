//! The parts of a frozen index's OTUs that formatting needs (no nucleotide sequences).

use serde::{Deserialize, Serialize};

/// One OTU of an index snapshot, as Pathoscope formatting and export read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtuSummary {
    pub id: String,
    pub name: String,
    pub abbreviation: String,
    pub version: i64,
    pub isolates: Vec<IsolateSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolateSummary {
    pub id: String,
    pub default: bool,
    pub source_type: String,
    pub source_name: String,
    pub sequences: Vec<SequenceSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceSummary {
    pub id: String,
    pub accession: String,
    pub definition: String,
    /// Number of characters of the nucleotide sequence.
    pub length: u64,
}

impl OtuSummary {
    /// The longest sequence over all isolates (contract §9.1 step 3).
    pub fn max_length(&self) -> u64 {
        self.isolates
            .iter()
            .flat_map(|i| i.sequences.iter().map(|s| s.length))
            .max()
            .unwrap_or(0)
    }
}
