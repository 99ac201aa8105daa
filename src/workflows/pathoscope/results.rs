//! The J4 results body of `pathoscope_bowtie` (workflows.md §10.4.7, §10.4.9): one hit per
//! reported reference, in report order.

use serde::Serialize;

use super::alignments::Alignments;
use super::coverage::{coverage, depth, Depths};
use super::em::Reassignment;
use super::isolates::IsolateIndex;
use super::report::{Guess, Report};
use super::rewrite::for_each_rewritten;
use super::PathoscopeError;

/// `{"subtracted_count", "read_count", "hits"}`, keys in that order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultsBody {
    pub subtracted_count: u64,
    pub read_count: u64,
    pub hits: Vec<Hit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    #[serde(rename = "final")]
    pub last: HitGuess,
    pub initial: HitGuess,
    /// The sequence id.
    pub id: String,
    pub otu: OtuVersion,
    /// Depth per position of the sequence.
    pub align: Vec<u32>,
    pub coverage: f64,
    pub depth: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HitGuess {
    pub pi: f64,
    pub best: f64,
    pub high: f64,
    pub low: f64,
    /// Best-hit reads truncated toward zero (1606.5 → 1606).
    pub reads: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtuVersion {
    pub id: String,
    pub version: i64,
}

impl ResultsBody {
    /// No candidate, or every read subtracted: no hit (§10.4.9).
    pub fn empty(subtracted_count: u64) -> ResultsBody {
        ResultsBody {
            subtracted_count,
            read_count: 0,
            hits: Vec::new(),
        }
    }

    /// The hits of `report`, their OTUs and lengths from `index`. A reported sequence the
    /// isolate index does not hold is an error (bowtie2 and the index disagree).
    pub fn new(
        alignments: &Alignments,
        em: &Reassignment,
        report: &Report,
        index: &IsolateIndex,
        subtracted_count: u64,
    ) -> Result<ResultsBody, PathoscopeError> {
        let sequences = (report.rows.iter())
            .map(|row| {
                index
                    .get(&row.id)
                    .ok_or_else(|| PathoscopeError::UnknownSequence(row.id.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let wanted: Vec<(u32, usize)> = (report.rows.iter().zip(&sequences))
            .map(|(row, sequence)| (em.refs[row.reference], sequence.length))
            .collect();
        let mut depths = Depths::new(&wanted, alignments.references().len());
        for_each_rewritten(alignments, em, |line| depths.add(&line))?;
        let arrays = depths.finish();
        let hits = (report.rows.iter().zip(sequences).zip(arrays))
            .map(|((row, sequence), align)| Hit {
                last: guess(&row.last),
                initial: guess(&row.initial),
                id: row.id.clone(),
                otu: OtuVersion {
                    id: sequence.otu_id.clone(),
                    version: sequence.otu_version,
                },
                coverage: coverage(&align),
                depth: depth(&align),
                align,
            })
            .collect();
        Ok(ResultsBody {
            subtracted_count,
            read_count: report.read_count as u64,
            hits,
        })
    }
}

fn guess(g: &Guess) -> HitGuess {
    HitGuess {
        pi: g.pi,
        best: g.best,
        high: g.high,
        low: g.low,
        // `as` truncates toward zero, as Python's `int()`.
        reads: g.reads as i64,
    }
}
