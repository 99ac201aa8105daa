//! The read × reference matrix of step 5 (workflows.md §10.4.6, **Matrix**): which lines count,
//! the first-appearance indices, unique and non-unique reads, and the scaled scores. Nothing of
//! it is held per line: unique reads are summed per reference as they are met, non-unique reads
//! go to a [`SpillVec`] that each EM iteration reads back in read order.

use std::io;

use super::alignments::{Alignment, Alignments};
use super::spill::{Record, SpillVec};

/// A considered line (p-score > cutoff) with its matrix numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct GroupLine {
    /// Index into the alignment lines.
    pub line: u32,
    /// Matrix read (first appearance among considered lines).
    pub read: u32,
    /// Matrix reference (first appearance among considered lines).
    pub reference: u32,
    pub p_score: f64,
}

impl Record for GroupLine {
    const SIZE: usize = 20;

    fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.line.to_le_bytes());
        out[4..8].copy_from_slice(&self.read.to_le_bytes());
        out[8..12].copy_from_slice(&self.reference.to_le_bytes());
        out[12..20].copy_from_slice(&self.p_score.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> GroupLine {
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        GroupLine {
            line: word(0),
            read: word(4),
            reference: word(8),
            p_score: f64::from_le_bytes(bytes[12..20].try_into().unwrap()),
        }
    }
}

/// One reference of a non-unique read: the matrix reference and the scaled score; the first of
/// each read carries [`FIRST_OF_READ`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct MultiEntry {
    reference: u32,
    scaled: f64,
}

const FIRST_OF_READ: u32 = 1 << 31;

impl Record for MultiEntry {
    const SIZE: usize = 12;

    fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.reference.to_le_bytes());
        out[4..12].copy_from_slice(&self.scaled.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> MultiEntry {
        MultiEntry {
            reference: u32::from_le_bytes(bytes[0..4].try_into().unwrap()),
            scaled: f64::from_le_bytes(bytes[4..12].try_into().unwrap()),
        }
    }
}

/// How the considered lines are read read by read.
#[derive(Debug)]
enum Groups {
    /// Each read's lines are consecutive in the alignments (bowtie2 `--reorder` on unique names).
    InPlace,
    /// A name met again later (the two files of a pair): the lines sorted by read, stably.
    Sorted(SpillVec<GroupLine>),
}

/// The matrix. Reads are numbered by first appearance; every sum over them runs in that order.
#[derive(Debug)]
pub(super) struct Matrix {
    cutoff: f64,
    /// Alignment reference index of each matrix reference.
    pub refs: Vec<u32>,
    ref_number: Vec<u32>,
    read_number: Vec<u32>,
    pub read_count: usize,
    scale: Scale,
    /// Per matrix reference: its unique reads, and the sum of their weights in read order.
    pub unique_counts: Vec<f64>,
    pub unique_sums: Vec<f64>,
    /// The weights of all unique reads, summed in read order.
    pub unique_total: f64,
    multi: SpillVec<MultiEntry>,
    pub multi_count: usize,
    /// The weights (largest scaled score) of the non-unique reads, summed in read order.
    pub multi_total: f64,
    groups: Groups,
}

impl Matrix {
    /// Builds the matrix from the lines with p-score **>** `cutoff`.
    pub fn new(alignments: &Alignments, cutoff: f64) -> io::Result<Matrix> {
        let mut read_number = vec![u32::MAX; alignments.read_total()];
        let mut ref_number = vec![u32::MAX; alignments.references().len()];
        let (mut read_count, mut refs) = (0u32, Vec::new());
        // min starts at 0: with bowtie2's positive p-scores it stays 0 and scores are not moved.
        let (mut max, mut min) = (0.0f64, 0.0f64);
        let mut last_read = u32::MAX;
        let mut in_place = true;
        alignments.for_each(|alignment| {
            let score = alignment.p_score;
            if score <= cutoff {
                return Ok::<_, io::Error>(());
            }
            min = if score < min { score } else { min };
            max = if score > max { score } else { max };
            let slot = &mut read_number[alignment.read as usize];
            if *slot == u32::MAX {
                *slot = read_count;
                read_count += 1;
            } else if *slot != last_read {
                in_place = false;
            }
            last_read = *slot;
            let slot = &mut ref_number[alignment.reference as usize];
            if *slot == u32::MAX {
                *slot = refs.len() as u32;
                refs.push(alignment.reference);
            }
            Ok(())
        })?;
        let spill = alignments.spill().clone();
        let mut matrix = Matrix {
            cutoff,
            unique_counts: vec![0.0; refs.len()],
            unique_sums: vec![0.0; refs.len()],
            refs,
            ref_number,
            read_number,
            read_count: read_count as usize,
            scale: Scale::new(min, max),
            unique_total: 0.0,
            multi: SpillVec::new(spill.clone()),
            multi_count: 0,
            multi_total: 0.0,
            groups: Groups::InPlace,
        };
        if !in_place {
            let mut lines = SpillVec::new(spill);
            matrix.considered(alignments, |line| lines.push(line))?;
            matrix.groups = Groups::Sorted(lines.sorted_by_key(|line| line.read)?);
        }
        matrix.fill(alignments)?;
        Ok(matrix)
    }

    /// Each considered line with its matrix numbers, in line order.
    fn considered(
        &self,
        alignments: &Alignments,
        mut f: impl FnMut(GroupLine) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut line = 0u32;
        alignments.for_each(|alignment: Alignment| {
            let index = line;
            line += 1;
            if alignment.p_score <= self.cutoff {
                return Ok(());
            }
            f(GroupLine {
                line: index,
                read: self.read_number[alignment.read as usize],
                reference: self.ref_number[alignment.reference as usize],
                p_score: alignment.p_score,
            })
        })
    }

    /// Calls `f` with each read's considered lines, in line order, the reads in read order.
    pub fn for_each_read(
        &self,
        alignments: &Alignments,
        mut f: impl FnMut(&[GroupLine]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut group: Vec<GroupLine> = Vec::new();
        let mut add = |line: GroupLine| -> io::Result<()> {
            if group.first().is_some_and(|first| first.read != line.read) {
                f(&group)?;
                group.clear();
            }
            group.push(line);
            Ok(())
        };
        match &self.groups {
            Groups::InPlace => self.considered(alignments, &mut add)?,
            Groups::Sorted(lines) => lines.for_each(&mut add)?,
        }
        if !group.is_empty() {
            f(&group)?;
        }
        Ok(())
    }

    /// The distinct references of a read's lines with the score of the first line of each, in
    /// that order; `position` (by matrix reference) is filled for them.
    pub fn distinct(
        &self,
        group: &[GroupLine],
        distinct: &mut Vec<(u32, f64)>,
        stamp: &mut Stamps,
    ) {
        distinct.clear();
        stamp.next();
        for line in group {
            if stamp.first_time(line.reference, distinct.len() as u32) {
                distinct.push((line.reference, self.scale.apply(line.p_score)));
            }
        }
    }

    /// Sorts each read into unique (one distinct reference) or non-unique.
    fn fill(&mut self, alignments: &Alignments) -> io::Result<()> {
        let mut stamps = Stamps::new(self.refs.len());
        let mut distinct = Vec::new();
        let mut multi = SpillVec::new(self.multi.spill().clone());
        let (mut unique_total, mut multi_total, mut multi_count) = (0.0, 0.0, 0);
        let (mut counts, mut sums) = (self.unique_counts.clone(), self.unique_sums.clone());
        self.for_each_read(alignments, |group| {
            self.distinct(group, &mut distinct, &mut stamps);
            if let [(reference, weight)] = distinct[..] {
                counts[reference as usize] += 1.0;
                sums[reference as usize] += weight;
                unique_total += weight;
                return Ok(());
            }
            for (i, &(reference, scaled)) in distinct.iter().enumerate() {
                let flag = if i == 0 { FIRST_OF_READ } else { 0 };
                multi.push(MultiEntry {
                    reference: reference | flag,
                    scaled,
                })?;
            }
            multi_total += weight(&distinct);
            multi_count += 1;
            Ok(())
        })?;
        self.unique_counts = counts;
        self.unique_sums = sums;
        self.unique_total = unique_total;
        self.multi = multi;
        self.multi_total = multi_total;
        self.multi_count = multi_count;
        Ok(())
    }

    /// Calls `f` with each non-unique read's references and scaled scores, in read order.
    pub fn for_each_multi(&self, mut f: impl FnMut(&[(u32, f64)])) -> io::Result<()> {
        let mut read: Vec<(u32, f64)> = Vec::new();
        self.multi.for_each(|entry| {
            if entry.reference & FIRST_OF_READ != 0 && !read.is_empty() {
                f(&read);
                read.clear();
            }
            read.push((entry.reference & !FIRST_OF_READ, entry.scaled));
            Ok::<_, io::Error>(())
        })?;
        if !read.is_empty() {
            f(&read);
        }
        Ok(())
    }
}

impl Matrix {
    /// The alignment read index of each matrix read.
    #[cfg(test)]
    pub fn reads_in_order(&self) -> Vec<u32> {
        let mut reads = vec![0; self.read_count];
        for (alignment_read, &read) in self.read_number.iter().enumerate() {
            if read != u32::MAX {
                reads[read as usize] = alignment_read as u32;
            }
        }
        reads
    }
}

/// A non-unique read's weight: its largest scaled score.
pub(super) fn weight(read: &[(u32, f64)]) -> f64 {
    let mut weight = 0.0f64;
    for &(_, scaled) in read {
        weight = if scaled > weight { scaled } else { weight };
    }
    weight
}

/// Per matrix reference: its position in the current read's list, valid when stamped with the
/// current read.
pub(super) struct Stamps {
    read: u32,
    stamp: Vec<u32>,
    position: Vec<u32>,
}

impl Stamps {
    pub fn new(references: usize) -> Stamps {
        Stamps {
            read: u32::MAX,
            stamp: vec![u32::MAX; references],
            position: vec![0; references],
        }
    }

    fn next(&mut self) {
        self.read = self.read.wrapping_add(1);
    }

    /// Stamps `reference` at `position` unless it is already stamped for this read.
    fn first_time(&mut self, reference: u32, position: u32) -> bool {
        let r = reference as usize;
        if self.stamp[r] == self.read {
            return false;
        }
        self.stamp[r] = self.read;
        self.position[r] = position;
        true
    }

    /// The position of `reference` in the current read's list.
    pub fn position(&self, reference: u32) -> usize {
        self.position[reference as usize] as usize
    }
}

/// `exp(s * 100 / max)`, or with a negative minimum `exp((s − min) * 100 / (max − min))`.
#[derive(Debug)]
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
