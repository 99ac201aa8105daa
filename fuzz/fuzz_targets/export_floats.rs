//! CSV export numbers (contract §10.1): `pyfmt::write_float` must read back to the same double
//! (Python `repr`), `write_json_number` must keep integers and floats apart, and `write_row`
//! must quote like `csv.QUOTE_NONNUMERIC`.
//!
//! Input: the first 8 bytes are an `f64` (bits, little-endian); the whole input, as text, is
//! tried as a JSON number and as a string cell.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vira::export::pyfmt::{write_float, write_json_number, write_row, Cell};

fn check_float(f: f64) {
    let mut out = String::new();
    write_float(&mut out, f);
    if f.is_nan() {
        assert_eq!(out, "nan");
        return;
    }
    if f.is_infinite() {
        assert_eq!(out, if f > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let back: f64 = out
        .parse()
        .unwrap_or_else(|e| panic!("write_float({f:?}) = {out:?} does not parse: {e}"));
    assert_eq!(back.to_bits(), f.to_bits(), "write_float({f:?}) = {out:?}");
    assert!(
        out.contains('.') || out.contains('e'),
        "{out:?} reads as an integer"
    );
    // Rust's shortest round trip has as many significant digits.
    let digits = |s: &str| {
        let mantissa = s.split('e').next().unwrap();
        let d = mantissa.trim_start_matches('-').replace('.', "");
        let d = d.trim_start_matches('0').trim_end_matches('0').len();
        d.max(1)
    };
    assert_eq!(digits(&out), digits(&format!("{:e}", f)), "{f:?}: {out:?}");
}

fuzz_target!(|data: &[u8]| {
    if data.len() >= 8 {
        let f = f64::from_le_bytes(data[..8].try_into().unwrap());
        check_float(f);
        check_float(f32::from_le_bytes(data[..4].try_into().unwrap()).into());
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(serde_json::Value::Number(n)) = serde_json::from_str::<serde_json::Value>(&text) {
        let mut out = String::new();
        write_json_number(&mut out, &n);
        if n.is_f64() {
            let f = n.as_f64().unwrap();
            check_float(f);
            let mut direct = String::new();
            write_float(&mut direct, f);
            assert_eq!(out, direct);
        } else {
            assert_eq!(out, n.to_string());
        }
    }
    let mut row = String::new();
    write_row(&mut row, &[Cell::Str(&text), Cell::Empty, Cell::Int(-1)]);
    let quoted = row.strip_suffix(",\"\",-1\r\n").expect("row ending");
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .expect("a quoted string cell");
    assert_eq!(
        inner.replace("\"\"", "\""),
        text,
        "quoting does not read back"
    );
});
