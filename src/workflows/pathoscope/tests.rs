//! Tests of the Pathoscope computation against the shared fixtures, read in place: Virtool's
//! `test.vta` sample ([`sample`]), the pathoscope-core golden vectors ([`vectors`]), the expected
//! sets of whole runs ([`expected`]), edge cases and properties ([`edges`]), and a timing
//! ([`bench`], ignored).

mod bench;
mod edges;
mod expected;
mod sample;
mod vectors;

use std::io::Read;

use serde_json::Value;

use super::*;
use crate::export::pyfmt::write_float;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");

/// A fixture's bytes, gunzipped when its name ends in `.gz`.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}{name}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if !name.ends_with(".gz") {
        return bytes;
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// Alignments from VTA text (`read,reference,pos,length,p-score` per line, no header), the
/// isolate alignments' cutoff applied as to SAM lines.
fn vta_alignments(text: &[u8]) -> Alignments {
    let mut alignments = Alignments::spilling(P_SCORE_CUTOFF, small_spill());
    for row in text.split(|&b| b == b'\n').filter(|row| !row.is_empty()) {
        let fields: Vec<&[u8]> = row.split(|&b| b == b',').collect();
        let [read, reference, pos, length, p_score] = fields[..] else {
            panic!("not a VTA row: {}", row.escape_ascii());
        };
        let number = |field: &[u8]| std::str::from_utf8(field).unwrap().to_owned();
        alignments
            .push(&SamLine {
                read,
                reference,
                pos: number(pos).parse().unwrap(),
                length: number(length).parse().unwrap(),
                p_score: number(p_score).parse().unwrap(),
            })
            .unwrap();
    }
    alignments
}

/// A budget of 4 KiB a store: every store of a fixture spills, so the exact tests read back
/// what went through files.
fn small_spill() -> Spill {
    Spill::new(std::env::temp_dir(), 4 << 10)
}

/// Lines as VTA rows, the p-score as Python's `repr`.
fn vta_rows(alignments: &Alignments, lines: Vec<Alignment>) -> Vec<String> {
    let names = alignments.read_names();
    (lines.into_iter())
        .map(|line| {
            let mut row = format!(
                "{},{},{},{},",
                String::from_utf8_lossy(names[line.read as usize]),
                alignments.references()[line.reference as usize],
                line.pos,
                line.length
            );
            write_float(&mut row, line.p_score);
            row
        })
        .collect()
}

/// Alignments from SAM text with the cutoff given, and the `@SQ` lengths of its header.
fn sam_alignments(text: &[u8], cutoff: f64) -> (Alignments, Vec<(String, usize)>) {
    let mut alignments = Alignments::spilling(cutoff, small_spill());
    feed(text, &mut alignments).unwrap();
    let lengths = (text.split(|&b| b == b'\n'))
        .filter_map(|line| line.strip_prefix(b"@SQ\t"))
        .map(|line| {
            let line = std::str::from_utf8(line).unwrap();
            let tag = |name: &str| {
                (line.split('\t'))
                    .find_map(|t| t.strip_prefix(name))
                    .unwrap()
                    .to_owned()
            };
            (tag("SN:"), tag("LN:").parse().unwrap())
        })
        .collect();
    (alignments, lengths)
}

/// `got` and the JSON array `expected` hold the same doubles, bit for bit.
fn assert_bits(what: &str, got: &[f64], expected: &Value) {
    let expected: Vec<f64> = (expected.as_array())
        .unwrap_or_else(|| panic!("{what}: not an array"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g.to_bits(), e.to_bits(), "{what}[{i}]: {g} against {e}");
    }
}

/// Every array of a `report_input.json`-shaped value (also `em.json` and the vectors).
fn assert_em(em: &Reassignment, alignments: &Alignments, expected: &Value) {
    let refs: Vec<&str> = (em.refs.iter())
        .map(|&r| alignments.references()[r as usize].as_str())
        .collect();
    assert_eq!(Value::from(refs), expected["refs"], "refs");
    if let Some(count) = expected.get("read_count") {
        assert_eq!(
            em.read_count() as u64,
            count.as_u64().unwrap(),
            "read_count"
        );
    }
    for (key, got) in [
        ("pi", &em.pi),
        ("init_pi", &em.init_pi),
        ("best_hit_initial", &em.initial.best),
        ("best_hit_initial_reads", &em.initial.reads),
        ("level_1_initial", &em.initial.high),
        ("level_2_initial", &em.initial.low),
        ("best_hit_final", &em.last.best),
        ("best_hit_final_reads", &em.last.reads),
        ("level_1_final", &em.last.high),
        ("level_2_final", &em.last.low),
    ] {
        assert_bits(key, got, &expected[key]);
    }
}

/// A hit's `final`/`initial` equal the expected hit's, floats bit for bit.
fn assert_guesses(hit: &Hit, expected: &Value) {
    for (key, got) in [("final", &hit.last), ("initial", &hit.initial)] {
        let e = &expected[key];
        let what = format!("{} {key}", hit.id);
        assert_bits(
            &what,
            &[got.pi, got.best, got.high, got.low],
            &Value::from(vec![
                e["pi"].clone(),
                e["best"].clone(),
                e["high"].clone(),
                e["low"].clone(),
            ]),
        );
        assert_eq!(Value::from(got.reads), e["reads"], "{what} reads");
    }
}
