//! The NuVs export table (contract §10.3): the rows prepared at finalize with the current BLAST
//! top hits.

use std::collections::BTreeMap;

use super::format::ExportRow;
use crate::export::{Cell, Table};

pub const HEADER: &[&str] = &[
    "Index",
    "Length",
    "E-value",
    "Families",
    "ORF Count",
    "BLAST Top Hit",
    "BLAST Accession",
];

/// `top_hits` maps a contig index to its BLAST top hit `(name, accession)`.
pub fn table(
    sample_id: &str,
    rows: Vec<ExportRow>,
    top_hits: &BTreeMap<i64, (String, String)>,
) -> Table {
    let rows = rows
        .into_iter()
        .map(|row| {
            let (name, accession) = match top_hits.get(&row.index) {
                Some((name, accession)) => (Cell::Str(name.clone()), Cell::Str(accession.clone())),
                None => (Cell::Empty, Cell::Empty),
            };
            vec![
                Cell::Int(row.index),
                Cell::Int(row.length as i64),
                row.e_value.map(Cell::Number).unwrap_or(Cell::Empty),
                Cell::Str(row.families),
                Cell::Int(row.orf_count as i64),
                name,
                accession,
            ]
        })
        .collect();
    Table {
        title: format!("NuVs for {sample_id}"),
        header: HEADER,
        rows,
    }
}
