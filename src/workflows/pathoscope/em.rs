//! Step 5, `reassignment` (workflows.md §10.4.6): best hits, the EM, and the reassigned lines.
//! Every sum runs in read-index order and every loop over references in reference-index order:
//! that order is what reproduces Virtool's arrays bit for bit.

use super::alignments::Alignments;
use super::matrix::Matrix;
use super::rewrite::rewrite;

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
    /// The alignment read index of each read, by first appearance; `read_count` is its length.
    pub reads: Vec<u32>,
    pub pi: Vec<f64>,
    /// pi after the first iteration.
    pub init_pi: Vec<f64>,
    /// With the initial x.
    pub initial: BestHits,
    /// With the x of the last E step.
    pub last: BestHits,
    /// Indices into [`Alignments::lines`] of the reassigned alignments, in line order.
    pub rewritten: Vec<u32>,
}

/// Runs step 5 on the lines with p-score **>** `cutoff` (the workflow's is
/// [`P_SCORE_CUTOFF`](super::P_SCORE_CUTOFF)).
pub fn reassign(alignments: &Alignments, cutoff: f64) -> Reassignment {
    let mut matrix = Matrix::new(alignments, cutoff);
    let initial = best_hits(&matrix);
    let (init_pi, pi) = if matrix.refs.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        expectation_maximization(&mut matrix)
    };
    let last = best_hits(&matrix);
    let rewritten = rewrite(&matrix, cutoff);
    Reassignment {
        refs: matrix.refs,
        reads: matrix.reads,
        pi,
        init_pi,
        initial,
        last,
        rewritten,
    }
}

impl Reassignment {
    /// *R*: reads with at least one considered line.
    pub fn read_count(&self) -> usize {
        self.reads.len()
    }
}

fn best_hits(matrix: &Matrix) -> BestHits {
    let g = matrix.refs.len();
    let (mut best, mut high, mut low) = (vec![0.0; g], vec![0.0; g], vec![0.0; g]);
    for &r in &matrix.unique_refs {
        best[r as usize] += 1.0;
        high[r as usize] += 1.0;
    }
    for k in 0..matrix.multi_count() {
        let range = matrix.multi(k);
        let x = &matrix.x[range.clone()];
        let top = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let tied = x.iter().filter(|&&v| v == top).count().max(1);
        for (&v, &r) in x.iter().zip(&matrix.multi_refs[range]) {
            if v == top {
                best[r as usize] += 1.0 / tied as f64;
                if v >= 0.5 {
                    high[r as usize] += 1.0;
                } else if v >= 0.01 {
                    low[r as usize] += 1.0;
                }
            }
        }
    }
    let reads = matrix.reads.len() as f64;
    let over_reads = |values: &[f64]| values.iter().map(|v| v / reads).collect();
    BestHits {
        best: over_reads(&best),
        high: over_reads(&high),
        low: over_reads(&low),
        reads: best,
    }
}

/// The EM of PathoScope with its priors at 0 (they drop out). Returns `(init_pi, pi)`; the
/// matrix's x is left as the last E step made it.
fn expectation_maximization(matrix: &mut Matrix) -> (Vec<f64>, Vec<f64>) {
    let g = matrix.refs.len();
    let mut pi = vec![1.0 / g as f64; g];
    let mut theta = pi.clone();
    let mut init_pi = pi.clone();
    let mut unique_total = 0.0;
    for &w in &matrix.unique_weights {
        unique_total += w;
    }
    let mut unique_sums = vec![0.0; g];
    for (&r, &w) in matrix.unique_refs.iter().zip(&matrix.unique_weights) {
        unique_sums[r as usize] += w;
    }
    let mut multi_total = 0.0;
    for &w in &matrix.multi_weights {
        multi_total += w;
    }
    let theta_divisor = if multi_total != 0.0 { multi_total } else { 1.0 };
    let mut theta_sums = vec![0.0; g];
    for iteration in 0..MAX_ITERATIONS {
        let previous = pi.clone();
        theta_sums.fill(0.0);
        for k in 0..matrix.multi_count() {
            let range = matrix.multi(k);
            let refs = &matrix.multi_refs[range.clone()];
            let scores = &matrix.multi_scores[range.clone()];
            let x = &mut matrix.x[range];
            let mut sum = 0.0;
            for ((x, &r), &s) in x.iter_mut().zip(refs).zip(scores) {
                *x = pi[r as usize] * theta[r as usize] * s;
                sum += *x;
            }
            for x in x.iter_mut() {
                *x = if sum == 0.0 { 0.0 } else { *x / sum };
            }
            let w = matrix.multi_weights[k];
            for (&x, &r) in x.iter().zip(refs) {
                theta_sums[r as usize] += x * w;
            }
        }
        for r in 0..g {
            pi[r] = (theta_sums[r] + unique_sums[r]) / (unique_total + multi_total);
            theta[r] = theta_sums[r] / theta_divisor;
        }
        if iteration == 0 {
            init_pi.clone_from(&pi);
        }
        let mut change = 0.0;
        for r in 0..g {
            change += (previous[r] - pi[r]).abs();
        }
        if change <= EPSILON || matrix.multi_count() < 2 {
            break;
        }
    }
    (init_pi, pi)
}
