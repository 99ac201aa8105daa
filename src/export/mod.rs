//! CSV and XLSX exports (contract §10): one table model, two writers.

pub mod pyfmt;
pub mod xlsx;

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
