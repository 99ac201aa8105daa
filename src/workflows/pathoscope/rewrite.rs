//! The reassigned alignments (workflows.md §10.4.6, **Rewrite**): what `updated.vta` held in
//! Virtool, and what coverage is computed from.

use super::alignments::{Alignment, Alignments};
use super::em::Reassignment;
use super::matrix::{Keep, Matrix};

/// The first line of each unique read, and each line of a non-unique read whose reference's
/// final x reaches the cutoff (duplicates included), as line indices in line order.
pub(super) fn rewrite(matrix: &Matrix, cutoff: f64) -> Vec<u32> {
    (matrix.lines.iter())
        .filter(|(_, fate)| match *fate {
            Keep::Always => true,
            Keep::Never => false,
            Keep::IfX(position) => matrix.x[position as usize] >= cutoff,
        })
        .map(|&(line, _)| line)
        .collect()
}

/// The reassigned alignment lines themselves, in line order.
pub fn rewritten<'a>(
    alignments: &'a Alignments,
    em: &'a Reassignment,
) -> impl Iterator<Item = &'a Alignment> + 'a {
    em.rewritten
        .iter()
        .map(|&line| &alignments.lines()[line as usize])
}
