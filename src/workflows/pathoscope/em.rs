//! Step 5, `reassignment` (workflows.md §10.4.6): best hits, the EM, and the reassigned lines.
//! Every sum runs in read-index order and every loop over references in reference-index order:
//! that order is what reproduces Virtool's arrays bit for bit. x is never stored: each pass
//! computes a read's x from the scores and the pi and theta of its E step.

use std::io;

use super::alignments::Alignments;
use super::matrix::{weight, Matrix, Stamps};
use super::rewrite::LineSet;

/// At most this many EM iterations.
const MAX_ITERATIONS: usize = 50;
/// The EM stops once Σ|Δpi| is at most this.
const EPSILON: f64 = 1e-7;

/// The best-hit arrays for one x (per reference, in reference-index order).
#[derive(Debug, Clone, PartialEq)]
pub struct BestHits {
    /// `best_hit_*_reads`: reads, a non-unique read's 1 shared between its tied best references.
    pub reads: Vec<f64>,
    /// `best_hit_*`: `reads` over the number of reads.
    pub best: Vec<f64>,
    /// `level_1_*`: reads with x ≥ 0.5 on their best reference (unique reads included), over R.
    pub high: Vec<f64>,
    /// `level_2_*`: reads with 0.01 ≤ x < 0.5 on their best reference, over R.
    pub low: Vec<f64>,
}

/// What step 5 computes: the arrays of `report_input.json` and the reassigned alignments.
#[derive(Debug, Clone, PartialEq)]
pub struct Reassignment {
    /// `refs`: the alignment reference index of each EM reference, by first appearance.
    pub refs: Vec<u32>,
    /// *R*: reads with at least one considered line.
    pub read_count: usize,
    pub pi: Vec<f64>,
    /// pi after the first iteration.
    pub init_pi: Vec<f64>,
    /// With the initial x.
    pub initial: BestHits,
    /// With the x of the last E step.
    pub last: BestHits,
    /// The reassigned alignments, as line indices.
    pub rewritten: LineSet,
    /// The alignment read index of each read, by first appearance (the vectors name them).
    #[cfg(test)]
    pub reads: Vec<u32>,
}

/// Which x a pass computes: the initial one, or that of an E step with its pi and theta.
enum X<'a> {
    Initial,
    Step { pi: &'a [f64], theta: &'a [f64] },
}

impl X<'_> {
    /// The x of one non-unique read (its references and scaled scores) into `x`.
    fn of(&self, read: &[(u32, f64)], x: &mut Vec<f64>) {
        x.clear();
        let mut sum = 0.0;
        match self {
            X::Initial => {
                for &(_, scaled) in read {
                    sum += scaled;
                }
                x.extend(read.iter().map(|&(_, scaled)| scaled / sum));
            }
            X::Step { pi, theta } => {
                for &(r, s) in read {
                    let value = pi[r as usize] * theta[r as usize] * s;
                    sum += value;
                    x.push(value);
                }
                for value in x.iter_mut() {
                    *value = if sum == 0.0 { 0.0 } else { *value / sum };
                }
            }
        }
    }
}

/// Runs step 5 on the lines with p-score **>** `cutoff` (the workflow's is
/// [`P_SCORE_CUTOFF`](super::P_SCORE_CUTOFF)).
pub fn reassign(alignments: &Alignments, cutoff: f64) -> io::Result<Reassignment> {
    let matrix = Matrix::new(alignments, cutoff)?;
    let initial = best_hits(&matrix, &X::Initial)?;
    let (init_pi, pi, step) = if matrix.refs.is_empty() {
        (Vec::new(), Vec::new(), None)
    } else {
        let (init_pi, pi, step) = expectation_maximization(&matrix)?;
        (init_pi, pi, Some(step))
    };
    let last_x = match &step {
        Some((pi, theta)) => X::Step { pi, theta },
        None => X::Initial,
    };
    let last = best_hits(&matrix, &last_x)?;
    let rewritten = rewrite(alignments, &matrix, &last_x, cutoff)?;
    Ok(Reassignment {
        #[cfg(test)]
        reads: matrix.reads_in_order(),
        refs: matrix.refs,
        read_count: matrix.read_count,
        pi,
        init_pi,
        initial,
        last,
        rewritten,
    })
}

impl Reassignment {
    /// *R*: reads with at least one considered line.
    pub fn read_count(&self) -> usize {
        self.read_count
    }
}

fn best_hits(matrix: &Matrix, which: &X) -> io::Result<BestHits> {
    let g = matrix.refs.len();
    let (mut best, mut high, mut low) = (
        matrix.unique_counts.clone(),
        matrix.unique_counts.clone(),
        vec![0.0; g],
    );
    let mut x = Vec::new();
    matrix.for_each_multi(|read| {
        which.of(read, &mut x);
        let top = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let tied = x.iter().filter(|&&v| v == top).count().max(1);
        for (&v, &(r, _)) in x.iter().zip(read) {
            if v == top {
                best[r as usize] += 1.0 / tied as f64;
                if v >= 0.5 {
                    high[r as usize] += 1.0;
                } else if v >= 0.01 {
                    low[r as usize] += 1.0;
                }
            }
        }
    })?;
    let reads = matrix.read_count as f64;
    let over_reads = |values: &[f64]| values.iter().map(|v| v / reads).collect();
    Ok(BestHits {
        best: over_reads(&best),
        high: over_reads(&high),
        low: over_reads(&low),
        reads: best,
    })
}

/// The EM of PathoScope with its priors at 0 (they drop out). Returns `init_pi`, `pi`, and the
/// pi and theta of the last E step (what the last x is computed from).
#[allow(clippy::type_complexity)]
fn expectation_maximization(
    matrix: &Matrix,
) -> io::Result<(Vec<f64>, Vec<f64>, (Vec<f64>, Vec<f64>))> {
    let g = matrix.refs.len();
    let mut pi = vec![1.0 / g as f64; g];
    let mut theta = pi.clone();
    let mut init_pi = pi.clone();
    let (unique_total, multi_total) = (matrix.unique_total, matrix.multi_total);
    let theta_divisor = if multi_total != 0.0 { multi_total } else { 1.0 };
    let mut theta_sums = vec![0.0; g];
    let mut x = Vec::new();
    let mut step = (pi.clone(), theta.clone());
    for iteration in 0..MAX_ITERATIONS {
        theta_sums.fill(0.0);
        let e_step = X::Step {
            pi: &pi,
            theta: &theta,
        };
        matrix.for_each_multi(|read| {
            e_step.of(read, &mut x);
            let w = weight(read);
            for (&x, &(r, _)) in x.iter().zip(read) {
                theta_sums[r as usize] += x * w;
            }
        })?;
        step.0.clone_from(&pi);
        step.1.clone_from(&theta);
        for r in 0..g {
            pi[r] = (theta_sums[r] + matrix.unique_sums[r]) / (unique_total + multi_total);
            theta[r] = theta_sums[r] / theta_divisor;
        }
        if iteration == 0 {
            init_pi.clone_from(&pi);
        }
        let mut change = 0.0;
        for (previous, current) in step.0.iter().zip(&pi) {
            change += (previous - current).abs();
        }
        if change <= EPSILON || matrix.multi_count < 2 {
            break;
        }
    }
    Ok((init_pi, pi, step))
}

/// **Rewrite**: the first line of each unique read, and each line of a non-unique read whose
/// reference's final x (at its first position in the read's list) reaches the cutoff
/// (duplicates included).
fn rewrite(alignments: &Alignments, matrix: &Matrix, last: &X, cutoff: f64) -> io::Result<LineSet> {
    let mut kept = LineSet::new(alignments.len());
    let mut stamps = Stamps::new(matrix.refs.len());
    let (mut distinct, mut x) = (Vec::new(), Vec::new());
    matrix.for_each_read(alignments, |group| {
        matrix.distinct(group, &mut distinct, &mut stamps);
        if distinct.len() == 1 {
            kept.insert(group[0].line);
            return Ok(());
        }
        last.of(&distinct, &mut x);
        for line in group {
            if x[stamps.position(line.reference)] >= cutoff {
                kept.insert(line.line);
            }
        }
        Ok(())
    })?;
    Ok(kept)
}
