//! The read × reference matrix of step 5 (workflows.md §10.4.6, **Matrix**): which lines count,
//! the first-appearance indices, unique and non-unique reads, and the scaled scores.

use super::alignments::Alignments;

/// What the rewrite does with one considered line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Keep {
    /// The first line of a unique read.
    Always,
    /// A later line of a unique read (a duplicate of its only reference).
    Never,
    /// A line of a non-unique read: kept when the final x at this position of
    /// [`Matrix::x`] (the first position of the line's reference in the read's list) reaches
    /// the cutoff.
    IfX(u32),
}

/// The matrix. Reads are numbered by first appearance; unique reads and non-unique reads are
/// each stored in read-index order, which is the order of every sum over them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Matrix {
    /// Alignment reference index of each matrix reference.
    pub refs: Vec<u32>,
    /// Alignment read index of each matrix read.
    pub reads: Vec<u32>,
    /// The reference and the weight (scaled score) of each unique read.
    pub unique_refs: Vec<u32>,
    pub unique_weights: Vec<f64>,
    /// Non-unique read `k` owns positions `multi_starts[k]..multi_starts[k + 1]` of
    /// `multi_refs`, `multi_scores` (scaled) and `x`.
    pub multi_starts: Vec<usize>,
    pub multi_refs: Vec<u32>,
    pub multi_scores: Vec<f64>,
    /// The largest scaled score of each non-unique read.
    pub multi_weights: Vec<f64>,
    /// Initially each scaled score over the read's sum; the EM replaces it.
    pub x: Vec<f64>,
    /// Each considered line (index into `Alignments::lines`) with its fate, in line order.
    pub lines: Vec<(u32, Keep)>,
}

/// A line with p-score > cutoff, numbered.
struct Considered {
    line: u32,
    read: u32,
    reference: u32,
    score: f64,
}

impl Matrix {
    /// Builds the matrix from the lines with p-score **>** `cutoff`.
    pub fn new(alignments: &Alignments, cutoff: f64) -> Matrix {
        let mut read_number = vec![u32::MAX; alignments.read_total()];
        let mut ref_number = vec![u32::MAX; alignments.references().len()];
        let (mut reads, mut refs) = (Vec::new(), Vec::new());
        let mut considered = Vec::new();
        // min starts at 0: with bowtie2's positive p-scores it stays 0 and scores are not moved.
        let (mut max, mut min) = (0.0f64, 0.0f64);
        for (line, alignment) in alignments.lines().iter().enumerate() {
            let score = alignment.p_score;
            if score <= cutoff {
                continue;
            }
            min = if score < min { score } else { min };
            max = if score > max { score } else { max };
            let read = number(
                &mut read_number[alignment.read as usize],
                &mut reads,
                alignment.read,
            );
            let reference = number(
                &mut ref_number[alignment.reference as usize],
                &mut refs,
                alignment.reference,
            );
            considered.push(Considered {
                line: line as u32,
                read,
                reference,
                score,
            });
        }
        let scale = Scale::new(min, max);
        let mut matrix = Matrix {
            refs,
            reads,
            unique_refs: Vec::new(),
            unique_weights: Vec::new(),
            multi_starts: vec![0],
            multi_refs: Vec::new(),
            multi_scores: Vec::new(),
            multi_weights: Vec::new(),
            x: Vec::new(),
            lines: Vec::with_capacity(considered.len()),
        };
        let fates = matrix.fill(&considered, &scale);
        matrix.lines = (considered.iter().zip(fates))
            .map(|(c, fate)| (c.line, fate))
            .collect();
        matrix
    }

    /// Reads each read's lines in line order (a stable counting sort by read), keeps the first
    /// line of each of its references, and sorts the read into unique or non-unique. Returns
    /// the fate of each considered line.
    fn fill(&mut self, considered: &[Considered], scale: &Scale) -> Vec<Keep> {
        let read_count = self.reads.len();
        let mut starts = vec![0usize; read_count + 1];
        for c in considered {
            starts[c.read as usize + 1] += 1;
        }
        for i in 0..read_count {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut by_read = vec![0u32; considered.len()];
        for (i, c) in considered.iter().enumerate() {
            by_read[next[c.read as usize]] = i as u32;
            next[c.read as usize] += 1;
        }
        // The position of each reference in the current read's list, valid when its stamp is
        // the current read.
        let mut stamp = vec![u32::MAX; self.refs.len()];
        let mut position = vec![0u32; self.refs.len()];
        let mut fates = vec![Keep::Never; considered.len()];
        let mut distinct: Vec<(u32, f64)> = Vec::new();
        for read in 0..read_count {
            let group = &by_read[starts[read]..starts[read + 1]];
            distinct.clear();
            for &i in group {
                let c = &considered[i as usize];
                let r = c.reference as usize;
                if stamp[r] != read as u32 {
                    stamp[r] = read as u32;
                    position[r] = distinct.len() as u32;
                    distinct.push((c.reference, c.score));
                }
                fates[i as usize] = Keep::IfX(position[r]);
            }
            if let [(reference, score)] = distinct[..] {
                self.unique_refs.push(reference);
                self.unique_weights.push(scale.apply(score));
                for (n, &i) in group.iter().enumerate() {
                    fates[i as usize] = if n == 0 { Keep::Always } else { Keep::Never };
                }
                continue;
            }
            let base = self.multi_refs.len() as u32;
            for &i in group {
                if let Keep::IfX(p) = fates[i as usize] {
                    fates[i as usize] = Keep::IfX(base + p);
                }
            }
            self.push_multi(&distinct, scale);
        }
        fates
    }

    /// A non-unique read: its weight is its largest scaled score, its initial x each scaled
    /// score over their sum (summed in the read's reference order).
    fn push_multi(&mut self, distinct: &[(u32, f64)], scale: &Scale) {
        let start = self.multi_scores.len();
        let (mut weight, mut sum) = (0.0f64, 0.0f64);
        for &(reference, score) in distinct {
            let scaled = scale.apply(score);
            self.multi_refs.push(reference);
            self.multi_scores.push(scaled);
            weight = if scaled > weight { scaled } else { weight };
            sum += scaled;
        }
        for &scaled in &self.multi_scores[start..] {
            self.x.push(scaled / sum);
        }
        self.multi_weights.push(weight);
        self.multi_starts.push(self.multi_scores.len());
    }

    /// The positions of non-unique read `k` in `multi_refs`, `multi_scores` and `x`.
    pub fn multi(&self, k: usize) -> std::ops::Range<usize> {
        self.multi_starts[k]..self.multi_starts[k + 1]
    }

    pub fn multi_count(&self) -> usize {
        self.multi_weights.len()
    }
}

/// The number of `item` in first-appearance order, given the slot that remembers it.
fn number(slot: &mut u32, items: &mut Vec<u32>, item: u32) -> u32 {
    if *slot == u32::MAX {
        *slot = items.len() as u32;
        items.push(item);
    }
    *slot
}

/// `exp(s * 100 / max)`, or with a negative minimum `exp((s − min) * 100 / (max − min))`.
struct Scale {
    min: f64,
    factor: f64,
}

impl Scale {
    fn new(min: f64, max: f64) -> Scale {
        let factor = if min < 0.0 {
            100.0 / (max - min)
        } else if max != 0.0 {
            100.0 / max
        } else {
            0.0
        };
        Scale { min, factor }
    }

    fn apply(&self, score: f64) -> f64 {
        let shifted = if self.min < 0.0 {
            score - self.min
        } else {
            score
        };
        (shifted * self.factor).exp()
    }
}
