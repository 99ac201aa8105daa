//! Step 4, `eliminate_subtraction` (workflows.md §10.4.5), one pass per subtraction: the reads'
//! scores against the host, the per-alignment removal rule, the reads that lost every
//! alignment, and `current.fq` rewritten without them.

use std::io::{self, BufRead, Write};

use super::alignments::Alignments;
use super::sam::{parse_line, LineSink};
use super::PathoscopeError;

/// The subtraction score of each read of the isolate alignments: the p-score of its **last**
/// usable line in bowtie2's output against the subtraction (Virtool's rule). Reads that are not
/// among the isolate alignments cannot lose anything and are not kept.
#[derive(Debug)]
pub struct SubtractionScores<'a> {
    alignments: &'a Alignments,
    /// NaN for a read without a usable line against the subtraction.
    scores: Vec<f64>,
}

/// [`SubtractionScores`] once the output is read, by read index.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadScores(Vec<f64>);

/// The reads one pass subtracted: those that had at least one isolate alignment before it and
/// have none after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subtracted {
    reads: Vec<bool>,
    count: u64,
}

impl<'a> SubtractionScores<'a> {
    pub fn new(alignments: &'a Alignments) -> SubtractionScores<'a> {
        SubtractionScores {
            alignments,
            scores: vec![f64::NAN; alignments.read_total()],
        }
    }

    pub fn finish(self) -> ReadScores {
        ReadScores(self.scores)
    }
}

impl LineSink for SubtractionScores<'_> {
    fn push_line(&mut self, line: &[u8]) -> Result<(), PathoscopeError> {
        if let Some(line) = parse_line(line)? {
            if let Some(read) = self.alignments.read_index(line.read) {
                self.scores[read as usize] = line.p_score;
            }
        }
        Ok(())
    }
}

impl Alignments {
    /// Removes every alignment whose read's subtraction score is **≥** the line's own p-score
    /// (so lines of a read that scored higher than the host stay) and returns the reads that
    /// lost all their alignments.
    pub fn eliminate(&mut self, scores: &ReadScores) -> io::Result<Subtracted> {
        let mut had = vec![false; self.read_total()];
        let mut kept = vec![false; self.read_total()];
        self.retain(|line| {
            let read = line.read as usize;
            had[read] = true;
            // NaN (no host line) is never ≥.
            let removed = scores.0[read] >= line.p_score;
            kept[read] |= !removed;
            !removed
        })?;
        let reads: Vec<bool> = (had.iter().zip(&kept))
            .map(|(&had, &kept)| had && !kept)
            .collect();
        let count = reads.iter().filter(|&&gone| gone).count() as u64;
        Ok(Subtracted { reads, count })
    }
}

impl Subtracted {
    /// This pass's addition to `subtracted_count`.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn contains(&self, read: Option<u32>) -> bool {
        read.is_some_and(|r| self.reads.get(r as usize).copied().unwrap_or(false))
    }
}

/// Records written and dropped by [`rewrite_fastq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastqRewrite {
    pub kept: u64,
    pub removed: u64,
}

/// Copies the FASTQ records of `input` to `output` byte for byte, except those of the reads the
/// pass subtracted. A record is four lines; its read name is the header after `@` up to the first
/// whitespace (so both mates of a Casava pair share it). A last record cut short is copied as is.
pub fn rewrite_fastq<R: BufRead, W: Write>(
    mut input: R,
    mut output: W,
    alignments: &Alignments,
    subtracted: &Subtracted,
) -> io::Result<FastqRewrite> {
    let mut record = Vec::with_capacity(1024);
    let mut counts = FastqRewrite {
        kept: 0,
        removed: 0,
    };
    loop {
        record.clear();
        let mut header_end = 0;
        for line in 0..4 {
            let read = input.read_until(b'\n', &mut record)?;
            if read == 0 {
                break;
            }
            if line == 0 {
                header_end = record.len();
            }
        }
        if record.is_empty() {
            break;
        }
        let header = &record[..header_end];
        let after_at = header.strip_prefix(b"@").unwrap_or(header);
        let name_end = (after_at.iter())
            .position(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
            .unwrap_or(after_at.len());
        if subtracted.contains(alignments.read_index(&after_at[..name_end])) {
            counts.removed += 1;
        } else {
            output.write_all(&record)?;
            counts.kept += 1;
        }
    }
    output.flush()?;
    Ok(counts)
}
