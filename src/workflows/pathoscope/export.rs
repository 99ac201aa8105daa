//! The Pathoscope export table (contract §10.2), from the rows prepared at finalize.

use super::format::{ExportRow, Median};
use crate::export::{Cell, Table};

pub const HEADER: &[&str] = &[
    "OTU",
    "Isolate",
    "Sequence",
    "Length",
    "Weight",
    "Median Depth",
    "Coverage",
];

pub fn table(sample_id: &str, rows: Vec<ExportRow>) -> Table {
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
                    Median::Int(n) => Cell::Int(n as i64),
                    Median::Float(f) => Cell::Float(f),
                },
                Cell::Number(row.coverage),
            ]
        })
        .collect();
    Table {
        title: format!("Pathoscope for {sample_id}"),
        header: HEADER,
        rows,
    }
}
