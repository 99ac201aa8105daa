//! `align`, `coverage` and `depth` of the reported references (workflows.md §10.4.8): Virtool
//! Python's `calculate_coverage`, where a line covers `len(SEQ)` positions from POS whatever its
//! CIGAR says, and every reassigned line counts (duplicates of a non-unique read twice).

use super::alignments::Alignment;
use crate::model::round::round_half_even;

/// The depth per position of each of `references` (alignment reference index, sequence length),
/// from `lines`: each line adds 1 at positions `POS−1 … POS−1+len−1` (0-based) that fall within
/// the sequence. Lines of other references are skipped.
pub fn depth_arrays(
    references: &[(u32, usize)],
    reference_total: usize,
    lines: impl IntoIterator<Item = Alignment>,
) -> Vec<Vec<u32>> {
    let mut depths = Depths::new(references, reference_total);
    for line in lines {
        depths.add(&line);
    }
    depths.finish()
}

/// [`depth_arrays`] fed one line at a time.
pub struct Depths {
    slot: Vec<usize>,
    /// Differences: +1 where a span starts, −1 after it ends (mod 2^32, exact once summed, as no
    /// depth reaches 2^32 with fewer than 2^32 lines).
    arrays: Vec<Vec<u32>>,
}

impl Depths {
    pub fn new(references: &[(u32, usize)], reference_total: usize) -> Depths {
        let mut slot = vec![usize::MAX; reference_total];
        for (i, &(reference, _)) in references.iter().enumerate() {
            slot[reference as usize] = i;
        }
        let arrays = (references.iter())
            .map(|&(_, length)| vec![0u32; length + 1])
            .collect();
        Depths { slot, arrays }
    }

    pub fn add(&mut self, line: &Alignment) {
        let Some(array) =
            (self.slot.get(line.reference as usize)).and_then(|&i| self.arrays.get_mut(i))
        else {
            return;
        };
        let length = array.len() - 1;
        // POS 0 (never on a usable bowtie2 line) would start before the sequence: those
        // positions are ignored like those past its end.
        let start = (line.pos as usize).saturating_sub(1).min(length);
        let end = (line.pos as usize + line.length as usize)
            .saturating_sub(1)
            .min(length);
        if start < end {
            array[start] = array[start].wrapping_add(1);
            array[end] = array[end].wrapping_sub(1);
        }
    }

    pub fn finish(mut self) -> Vec<Vec<u32>> {
        for array in &mut self.arrays {
            let mut depth = 0u32;
            for value in array.iter_mut() {
                depth = depth.wrapping_add(*value);
                *value = depth;
            }
            array.pop();
        }
        self.arrays
    }
}

/// `round(1 - zeros / length, 3)`: the share of covered positions.
pub fn coverage(align: &[u32]) -> f64 {
    if align.is_empty() {
        return 0.0;
    }
    let zeros = align.iter().filter(|&&d| d == 0).count();
    round_half_even(1.0 - zeros as f64 / align.len() as f64, 3)
}

/// `round(sum / length)`: the mean depth as an integer.
pub fn depth(align: &[u32]) -> i64 {
    if align.is_empty() {
        return 0;
    }
    let sum: u64 = align.iter().map(|&d| u64::from(d)).sum();
    // Both counts are far below 2^53: the quotient is Python's correctly rounded one.
    (sum as f64 / align.len() as f64).round_ties_even() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(reference: u32, pos: u32, length: u32) -> Alignment {
        Alignment {
            read: 0,
            reference,
            pos,
            length,
            p_score: 1.0,
        }
    }

    #[test]
    fn spans_are_clipped_at_the_ends() {
        let lines = [
            line(1, 1, 3),
            line(1, 4, 10),
            line(1, 3, 2),
            line(0, 1, 5),
            line(1, 0, 2),
        ];
        let arrays = depth_arrays(&[(1, 6), (2, 2)], 3, lines);
        assert_eq!(arrays, [vec![2, 1, 2, 2, 1, 1], vec![0, 0]]);
        assert_eq!(coverage(&arrays[0]), 1.0);
        assert_eq!(depth(&arrays[0]), 2);
        assert_eq!((coverage(&arrays[1]), depth(&arrays[1])), (0.0, 0));
    }

    #[test]
    fn depth_rounds_half_to_even() {
        assert_eq!(depth(&[1, 2]), 2);
        assert_eq!(depth(&[1, 0]), 0);
        assert_eq!(depth(&[3, 2, 2, 2]), 2);
        assert_eq!(depth(&[5, 2]), 4);
        assert_eq!(coverage(&[0, 1, 1, 1, 1, 1, 1, 1]), 0.875);
        assert_eq!(coverage(&[0, 1, 1]), 0.667);
    }
}
