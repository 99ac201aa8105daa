//! The report (workflows.md §10.4.7): references sorted as Python sorts the zipped tuples, the
//! drop rule, and `report.tsv` as Python's `csv` module writes it.

use std::cmp::Ordering;

use super::em::Reassignment;
use crate::export::pyfmt::{write_float, write_minimal_field};

/// The numbers of one reference for one x (initial or final).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guess {
    pub pi: f64,
    pub best: f64,
    pub reads: f64,
    pub high: f64,
    pub low: f64,
}

/// One reported reference.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// The reference (sequence) id.
    pub id: String,
    /// Its index among the EM's references.
    pub reference: usize,
    pub last: Guess,
    pub initial: Guess,
}

/// The kept references in report order, with the header's counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// *R*.
    pub read_count: usize,
    /// *G*: every reference of the EM, kept or not.
    pub genome_count: usize,
    pub rows: Vec<ReportRow>,
}

const HEADER: [&str; 11] = [
    "Genome",
    "Final Guess",
    "Final Best Hit",
    "Final Best Hit Read Numbers",
    "Final High Confidence Hits",
    "Final Low Confidence Hits",
    "Initial Guess",
    "Initial Best Hit",
    "Initial Best Hit Read Numbers",
    "Initial High Confidence Hits",
    "Initial Low Confidence Hits",
];

impl Report {
    /// `reference_ids` names the alignment references ([`Alignments::references`](
    /// super::Alignments::references)).
    pub fn new(em: &Reassignment, reference_ids: &[String]) -> Report {
        let mut rows: Vec<ReportRow> = (em.refs.iter().enumerate())
            .map(|(r, &alignment_ref)| {
                let guess = |pi: &[f64], hits: &super::BestHits| Guess {
                    pi: pi[r],
                    best: hits.best[r],
                    reads: hits.reads[r],
                    high: hits.high[r],
                    low: hits.low[r],
                };
                ReportRow {
                    id: reference_ids[alignment_ref as usize].clone(),
                    reference: r,
                    last: guess(&em.pi, &em.last),
                    initial: guess(&em.init_pi, &em.initial),
                }
            })
            .collect();
        // Descending, as `sorted(…, reverse=True)`.
        rows.sort_by(|a, b| python_order(b, a));
        let dropped = rows
            .iter()
            .position(|row| row.last.pi < 0.01 && row.last.high <= 0.0 && row.last.low <= 0.0);
        rows.truncate(dropped.unwrap_or(rows.len()));
        Report {
            read_count: em.read_count(),
            genome_count: em.refs.len(),
            rows,
        }
    }

    /// The report of no alignment at all: `report.tsv` is its two header lines with zeros.
    pub fn empty() -> Report {
        Report {
            read_count: 0,
            genome_count: 0,
            rows: Vec::new(),
        }
    }

    /// `report.tsv`: tab-separated, `\r\n` line ends, floats as Python's `repr`.
    pub fn tsv(&self) -> String {
        let mut out = String::with_capacity(400 + 200 * self.rows.len());
        out.push_str("Total Number of Aligned Reads:\t");
        out.push_str(&self.read_count.to_string());
        out.push_str("\tTotal Number of Mapped Genomes:\t");
        out.push_str(&self.genome_count.to_string());
        out.push_str("\r\n");
        out.push_str(&HEADER.join("\t"));
        out.push_str("\r\n");
        for row in &self.rows {
            write_minimal_field(&mut out, &row.id, '\t');
            let (l, i) = (&row.last, &row.initial);
            for value in [
                l.pi, l.best, l.reads, l.high, l.low, i.pi, i.best, i.reads, i.high, i.low,
            ] {
                out.push('\t');
                write_float(&mut out, value);
            }
            out.push_str("\r\n");
        }
        out
    }
}

/// Python's order of the tuples Virtool zipped, `(pi, ref_id, init_pi, best_hit_initial,
/// best_hit_initial_reads, best_hit_final, best_hit_final_reads, level_1_initial,
/// level_2_initial, level_1_final, level_2_final)`: element by element, floats as Python
/// compares them (`-0.0 == 0.0`), ids by code point (which is UTF-8 byte order).
fn python_order(a: &ReportRow, b: &ReportRow) -> Ordering {
    let float = |x: f64, y: f64| x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    let rest = |row: &ReportRow| {
        let (l, i) = (&row.last, &row.initial);
        [
            i.pi, i.best, i.reads, l.best, l.reads, i.high, i.low, l.high, l.low,
        ]
    };
    float(a.last.pi, b.last.pi)
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| {
            (rest(a).into_iter().zip(rest(b)))
                .map(|(x, y)| float(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
}
