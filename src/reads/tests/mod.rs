//! Tests of the reads and genome checks: the shared fixtures exactly ([`fixtures`]), every message
//! and rule on small inputs ([`cases`], [`genome`]), and an ignored throughput benchmark
//! ([`throughput`]).

mod cases;
mod fixtures;
mod genome;
mod throughput;

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

use super::{check_reads_file, check_reads_pair, CheckError, Quality, ReadsFile};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");

fn fixture(path: &str) -> std::path::PathBuf {
    std::path::Path::new(FIXTURES).join(path)
}

fn fixture_json(path: &str) -> Value {
    let text = std::fs::read(fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&text).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(6));
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn check(name: &str, data: &[u8]) -> Result<Quality, CheckError> {
    check_reads_file(ReadsFile::new(name, data))
}

fn check_pair(first: &[u8], second: &[u8]) -> Result<[Quality; 3], CheckError> {
    check_reads_pair(
        ReadsFile::new("a.fq", first),
        ReadsFile::new("b.fq", second),
    )
}

/// The message of an invalid input (panics on success or an I/O error).
fn message<T: std::fmt::Debug>(result: Result<T, CheckError>) -> String {
    match result {
        Err(CheckError::Invalid(invalid)) => invalid.message().to_owned(),
        other => panic!("expected an invalid input, got {other:?}"),
    }
}

/// JSON equality with floats compared bit for bit. `loose_numbers` lets an integer equal a float of
/// the same value (the quality goldens write whole floats as integers: `38` for `38.0`).
fn assert_same(got: &Value, want: &Value, path: &str, loose_numbers: bool) {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            let same = if g.is_f64() || w.is_f64() {
                (loose_numbers || (g.is_f64() && w.is_f64()))
                    && g.as_f64().unwrap().to_bits() == w.as_f64().unwrap().to_bits()
            } else {
                g == w
            };
            assert!(same, "{path}: got {g}, want {w}");
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{path}: lengths");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_same(g, w, &format!("{path}[{i}]"), loose_numbers);
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            let (mut gk, mut wk) = (keys(g), keys(w));
            gk.sort();
            wk.sort();
            assert_eq!(gk, wk, "{path}: keys");
            for (key, value) in w {
                assert_same(&g[key], value, &format!("{path}.{key}"), loose_numbers);
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

/// The keys of a quality blob, in the order Virtool stores them.
const QUALITY_KEYS: [&str; 7] = [
    "bases",
    "composition",
    "count",
    "encoding",
    "gc",
    "length",
    "sequences",
];

fn assert_quality_keys(value: &Value) {
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, QUALITY_KEYS);
}
