//! CSV and XLSX exports (contract §10): one table model, two writers.

pub mod pyfmt;
pub mod xlsx;

use std::collections::BTreeMap;

use crate::format::{nuvs, pathoscope};

/// One cell of an export table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Str(String),
    Int(i64),
    Float(f64),
    Number(serde_json::Number),
    Empty,
}

/// A header row and data rows.
pub struct Table {
    pub title: String,
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

pub const PATHOSCOPE_HEADER: &[&str] = &[
    "OTU",
    "Isolate",
    "Sequence",
    "Length",
    "Weight",
    "Median Depth",
    "Coverage",
];

pub const NUVS_HEADER: &[&str] = &[
    "Index",
    "Length",
    "E-value",
    "Families",
    "ORF Count",
    "BLAST Top Hit",
    "BLAST Accession",
];

pub fn pathoscope_table(sample_id: &str, rows: Vec<pathoscope::ExportRow>) -> Table {
    let rows = rows
        .into_iter()
        .map(|row| {
            vec![
                Cell::Str(row.otu),
                Cell::Str(row.isolate),
                Cell::Str(row.accession),
                Cell::Int(row.length as i64),
                Cell::Number(row.weight),
                match row.median_depth {
                    pathoscope::Median::Int(n) => Cell::Int(n as i64),
                    pathoscope::Median::Float(f) => Cell::Float(f),
                },
                Cell::Number(row.coverage),
            ]
        })
        .collect();
    Table {
        title: format!("Pathoscope for {sample_id}"),
        header: PATHOSCOPE_HEADER,
        rows,
    }
}

/// `top_hits` maps a contig index to its BLAST top hit `(name, accession)`.
pub fn nuvs_table(
    sample_id: &str,
    rows: Vec<nuvs::ExportRow>,
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
        header: NUVS_HEADER,
        rows,
    }
}

/// The CSV text of a table (§10.1).
pub fn to_csv(table: &Table) -> Vec<u8> {
    let mut out = String::with_capacity(64 * (table.rows.len() + 1));
    let header: Vec<pyfmt::Cell> = table.header.iter().map(|h| pyfmt::Cell::Str(h)).collect();
    pyfmt::write_row(&mut out, &header);
    let mut cells = Vec::with_capacity(table.header.len());
    for row in &table.rows {
        cells.clear();
        cells.extend(row.iter().map(|cell| match cell {
            Cell::Str(s) => pyfmt::Cell::Str(s),
            Cell::Int(n) => pyfmt::Cell::Int(*n),
            Cell::Float(f) => pyfmt::Cell::Float(*f),
            Cell::Number(n) => pyfmt::Cell::Number(n),
            Cell::Empty => pyfmt::Cell::Empty,
        }));
        pyfmt::write_row(&mut out, &cells);
    }
    out.into_bytes()
}
