//! The reassigned alignments (workflows.md §10.4.6, **Rewrite**): what `updated.vta` held in
//! Virtool, and what coverage is computed from. They are marked, one bit a line, and read back
//! from the alignments in line order.

use std::io;

use super::alignments::{Alignment, Alignments};
use super::em::Reassignment;

/// A set of line indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSet {
    bits: Vec<u64>,
}

impl LineSet {
    pub fn new(lines: usize) -> LineSet {
        LineSet {
            bits: vec![0; lines.div_ceil(64)],
        }
    }

    pub fn insert(&mut self, line: u32) {
        self.bits[line as usize / 64] |= 1 << (line % 64);
    }

    pub fn contains(&self, line: u32) -> bool {
        (self.bits.get(line as usize / 64)).is_some_and(|word| word & (1 << (line % 64)) != 0)
    }

    /// The indices, in order.
    pub fn to_vec(&self) -> Vec<u32> {
        let mut lines = Vec::new();
        for (w, &word) in self.bits.iter().enumerate() {
            for bit in 0..64 {
                if word & (1 << bit) != 0 {
                    lines.push((w * 64 + bit) as u32);
                }
            }
        }
        lines
    }
}

/// Calls `f` with each reassigned line, in line order.
pub fn for_each_rewritten(
    alignments: &Alignments,
    em: &Reassignment,
    mut f: impl FnMut(Alignment),
) -> io::Result<()> {
    let mut index = 0u32;
    alignments.for_each(|line| {
        if em.rewritten.contains(index) {
            f(line);
        }
        index += 1;
        Ok::<_, io::Error>(())
    })
}

/// The reassigned lines themselves, in line order, in memory (tests and diagnostics).
pub fn rewritten(alignments: &Alignments, em: &Reassignment) -> io::Result<Vec<Alignment>> {
    let mut lines = Vec::new();
    for_each_rewritten(alignments, em, |line| lines.push(line))?;
    Ok(lines)
}
