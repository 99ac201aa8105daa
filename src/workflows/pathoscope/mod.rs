//! The Pathoscope computation of `pathoscope_bowtie` (workflows.md §10.4): everything but running
//! bowtie2 and talking to the jobs API. bowtie2's output is read line by line ([`LineSink`]); the
//! alignments are kept as compact records ([`Alignments`]), never as SAM text, and spilled to the
//! job's directory past a memory budget ([`Spill`]): the worker's memory does not grow with the
//! number of alignment lines.
//!
//! The worker's calls, step by step (`T` the snapshot of `otus.json.gz`, parsed with
//! [`parse_reference`](crate::import::reference::parse_reference)):
//!
//! 1. [`CandidateScan`] over the first pass, then [`CandidateScan::finish`] → [`Candidates`];
//!    when they are empty the output is [`PathoscopeOutput::empty`]`(0)`.
//! 2. [`write_isolate_fasta`] → `isolates.fa` and the [`IsolateIndex`].
//! 3. [`Alignments::new`]`(`[`P_SCORE_CUTOFF`]`)` over the isolate pass.
//! 4. Per subtraction: [`SubtractionScores`] over its pass, [`Alignments::eliminate`], then
//!    [`rewrite_fastq`] for the next pass's input; the [`Subtracted::count`]s add up.
//! 5. [`reassign_and_report`] → `report.tsv` and the J4 results.
//!
//! A blocking caller feeds a pass with [`feed`]`(BufReader::new(stdout), &mut sink)`; an async
//! one calls [`LineSink::push_line`] for each line it reads. Every [`PathoscopeError`] but `Io`
//! fails the job as `{"type": "ToolError", "details": [<its message>]}`.

mod alignments;
mod candidates;
mod coverage;
mod em;
pub mod export;
pub mod format;
mod isolates;
mod matrix;
pub mod model;
pub mod page;
mod report;
mod results;
mod rewrite;
mod sam;
mod spill;
pub mod steps;
mod subtraction;
#[cfg(test)]
mod tests;

pub use crate::model::round::round_half_even;
pub use alignments::{Alignment, Alignments};
pub use candidates::{CandidateScan, Candidates};
pub use coverage::{coverage, depth, depth_arrays, Depths};
pub use em::{reassign, BestHits, Reassignment};
pub use isolates::{write_isolate_fasta, IsolateIndex, IsolateSequence};
pub use report::{Guess, Report, ReportRow};
pub use results::{Hit, HitGuess, OtuVersion, ResultsBody};
pub use rewrite::{for_each_rewritten, rewritten, LineSet};
pub use sam::{feed, parse_line, LineSink, SamLine};
pub use spill::Spill;
pub use subtraction::{rewrite_fastq, FastqRewrite, ReadScores, Subtracted, SubtractionScores};

/// The p-score cutoff of every step (§10.4.1).
pub const P_SCORE_CUTOFF: f64 = 0.01;

/// Why the computation cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum PathoscopeError {
    /// A usable line without its alignment score (the spec's message).
    #[error("bowtie2 wrote a line without AS:i")]
    MissingAlignmentScore,
    /// Fewer than SAM's 11 mandatory fields, or a FLAG, POS or `AS:i` that is not a number.
    #[error("bowtie2 wrote a malformed SAM line")]
    MalformedLine,
    /// bowtie2 named a sequence the snapshot or the isolate index does not hold.
    #[error("bowtie2 reported sequence {0}, which the index does not hold")]
    UnknownSequence(String),
    /// Reading the tool's output or a file failed.
    #[error("reading failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What the worker uploads: `report.tsv` (J6) and the `results` of J4.
#[derive(Debug, Clone, PartialEq)]
pub struct PathoscopeOutput {
    pub report_tsv: String,
    pub results: ResultsBody,
}

impl PathoscopeOutput {
    /// No candidate (or nothing left): the two header lines with zeros and no hit.
    pub fn empty(subtracted_count: u64) -> PathoscopeOutput {
        PathoscopeOutput {
            report_tsv: Report::empty().tsv(),
            results: ResultsBody::empty(subtracted_count),
        }
    }
}

/// Step 5 and the report from the alignments left after step 4. With no alignment left (every
/// read subtracted) this is [`PathoscopeOutput::empty`] with the count.
pub fn reassign_and_report(
    alignments: &Alignments,
    index: &IsolateIndex,
    subtracted_count: u64,
) -> Result<PathoscopeOutput, PathoscopeError> {
    let em = reassign(alignments, P_SCORE_CUTOFF)?;
    let report = Report::new(&em, alignments.references());
    let results = ResultsBody::new(alignments, &em, &report, index, subtracted_count)?;
    Ok(PathoscopeOutput {
        report_tsv: report.tsv(),
        results,
    })
}
