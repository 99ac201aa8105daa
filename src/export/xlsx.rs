//! XLSX writer: one worksheet, bold Calibri header in row 1, typed cells (contract §10.1).

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{Cell, Table};

/// Build the workbook in memory (call from a blocking thread; it is CPU-bound).
pub fn to_xlsx(table: &Table) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    // Sheet names are limited to 31 characters and a few forbidden characters.
    let title: String = table
        .title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    sheet.set_name(title)?;
    let bold = Format::new().set_bold().set_font_name("Calibri");
    for (col, name) in table.header.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold)?;
    }
    for (i, row) in table.rows.iter().enumerate() {
        let r = i as u32 + 1;
        for (col, cell) in row.iter().enumerate() {
            let c = col as u16;
            match cell {
                Cell::Str(s) if s.is_empty() => {}
                Cell::Str(s) => {
                    sheet.write_string(r, c, s)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(r, c, *n as f64)?;
                }
                Cell::Float(f) => {
                    sheet.write_number(r, c, *f)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c, n.as_f64().unwrap_or(0.0))?;
                }
                Cell::Empty => {}
            }
        }
    }
    workbook.save_to_buffer()
}
