//! The shared fixtures (workflows §13), compared exactly: floats bit for bit.

use std::fs::File;
use std::io::{BufRead, Read};

use serde_json::Value;

use super::*;
use crate::reads::{check_genome, round_half_even};

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}

fn open(path: &str) -> File {
    File::open(fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn check_file(path: &str) -> Result<Quality, CheckError> {
    check_reads_file(ReadsFile::new(base_name(path), open(path)))
}

fn check_pair_files(first: &str, second: &str) -> Result<[Quality; 3], CheckError> {
    check_reads_pair(
        ReadsFile::new(base_name(first), open(first)),
        ReadsFile::new(base_name(second), open(second)),
    )
}

#[test]
fn quality_goldens_exact() {
    for name in ["unbinned.fastq.gz", "variable.fastq", "all_n.fastq.gz"] {
        let quality = check_file(&format!("quality/{name}")).unwrap().to_json();
        assert_quality_keys(&quality);
        let stem = name.split('.').next().unwrap();
        let golden = fixture_json(&format!("quality/{stem}.json"));
        assert_same(&quality, &golden["quality"], stem, true);
    }
}

/// FastQC bins 150-nt reads into groups ("10-14"), and the golden repeats each group's row for
/// every cycle of the group (as Virtool stored it): that row is the mean of the per-cycle rows
/// (within 0.001 for `bases`, 0.06 for `composition`); the other fields are exact.
#[test]
fn binned_golden_is_the_mean_of_the_cycles() {
    let quality = check_file("quality/binned.fastq.gz").unwrap();
    let json = quality.to_json();
    let golden = fixture_json("quality/binned.json");
    let want = &golden["quality"];
    for key in ["count", "encoding", "gc", "length", "sequences"] {
        assert_same(&json[key], &want[key], key, true);
    }
    let groups = golden["baseGroups"].as_array().unwrap();
    let mut covered = 0;
    for group in groups {
        let (first, last) = match group.as_str().unwrap().split_once('-') {
            Some((a, b)) => (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()),
            None => {
                let cycle = group.as_str().unwrap().parse().unwrap();
                (cycle, cycle)
            }
        };
        covered = last;
        for (key, tolerance) in [("bases", 0.001), ("composition", 0.06)] {
            let rows = &json[key].as_array().unwrap()[first - 1..last];
            let want_rows = &want[key].as_array().unwrap()[first - 1..last];
            assert!(want_rows.iter().all(|row| row == &want_rows[0]));
            let want_row = want_rows[0].as_array().unwrap();
            for (column, want_value) in want_row.iter().enumerate() {
                let mean = rows
                    .iter()
                    .map(|row| row[column].as_f64().unwrap())
                    .sum::<f64>()
                    / rows.len() as f64;
                let want_value = want_value.as_f64().unwrap();
                // 1e-9: the tolerance is on decimals, the difference a double.
                assert!(
                    (mean - want_value).abs() <= tolerance + 1e-9,
                    "{key} group {group} column {column}: {mean} vs {want_value}"
                );
            }
        }
    }
    assert_eq!(covered, quality.bases.len());
}

#[test]
fn rounding_corpus() {
    let corpus = std::io::BufReader::new(File::open(fixture("quality/rounding.jsonl")).unwrap());
    let mut cases = 0;
    for line in corpus.lines() {
        let case: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let value = case["value"].as_f64().unwrap();
        let digits = case["digits"].as_u64().unwrap() as usize;
        let want = case["expected"].as_f64().unwrap();
        let got = round_half_even(value, digits);
        assert_eq!(got.to_bits(), want.to_bits(), "round({value:?}, {digits})");
        cases += 1;
    }
    assert_eq!(cases, 2058);
}

#[test]
fn real_reads_and_their_pairs() {
    for set in ["reads/rrsv", "reads/srna", "sim/sim1_paired"] {
        let [first, second] = ["1", "2"].map(|n| format!("{set}_{n}.fq.gz"));
        let [left, right, pair] = check_pair_files(&first, &second).unwrap();
        if set.starts_with("reads/") {
            for (quality, n) in [(&left, 1), (&right, 2)] {
                let want = fixture_json(&format!("{set}_{n}.quality.json"));
                assert_same(&quality.to_json(), &want, &format!("{set}_{n}"), false);
                assert_eq!(&check_file(&format!("{set}_{n}.fq.gz")).unwrap(), quality);
            }
        }
        let json = pair.to_json();
        assert_quality_keys(&json);
        let want = fixture_json(&format!("{set}.quality.json"));
        assert_same(&json, &want, set, false);
    }
}

#[test]
fn simulated_single_reads() {
    for set in ["sim/sim1_single", "sim/sim1_host"] {
        let quality = check_file(&format!("{set}.fq.gz")).unwrap().to_json();
        let want = fixture_json(&format!("{set}.quality.json"));
        assert_same(&quality, &want, set, false);
    }
}

#[test]
fn invalid_uploads() {
    let expected = fixture_json("reads/invalid/expected.json");
    let expected = expected.as_object().unwrap();
    assert_eq!(expected.len(), 5);
    for (files, want) in expected {
        let error = match files.split_once('+') {
            None => check_file(&format!("reads/invalid/{files}")).unwrap_err(),
            Some((first, second)) => check_pair_files(
                &format!("reads/invalid/{first}"),
                &format!("reads/invalid/{second}"),
            )
            .unwrap_err(),
        };
        let CheckError::Invalid(invalid) = error else {
            panic!("{files}: {error}")
        };
        assert_eq!(&invalid.error_object(), want, "{files}");
    }
}

#[test]
fn host_genome() {
    let mut decompressed = Vec::new();
    let genome = check_genome("host1.fa.gz", open("sim/host1.fa.gz"), &mut decompressed).unwrap();
    let json = serde_json::to_value(&genome).unwrap();
    assert_same(
        &json,
        &fixture_json("sim/host1.finalize.json"),
        "host1",
        false,
    );
    let gc_keys: Vec<&String> = json["gc"].as_object().unwrap().keys().collect();
    assert_eq!(gc_keys, ["a", "c", "g", "t", "n"]);
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(open("sim/host1.fa.gz"))
        .read_to_end(&mut plain)
        .unwrap();
    assert!(
        decompressed == plain,
        "the decoded genome is written as it is"
    );
}

/// `reads_<n>.fq.gz`: a gzip upload byte for byte, a plain one gzipped.
#[test]
fn stored_copies() {
    let upload = std::fs::read(fixture("reads/srna_1.fq.gz")).unwrap();
    let mut stored = Vec::new();
    let quality = check_reads_file(ReadsFile::storing("srna_1.fq.gz", &upload[..], &mut stored));
    assert_eq!(quality.unwrap().count, 25_000);
    assert!(stored == upload);

    // Both files of a pair, read side by side.
    let uploads =
        ["reads/rrsv_1.fq.gz", "reads/rrsv_2.fq.gz"].map(|p| std::fs::read(fixture(p)).unwrap());
    let (mut stored_1, mut stored_2) = (Vec::new(), Vec::new());
    check_reads_pair(
        ReadsFile::storing("rrsv_1.fq.gz", &uploads[0][..], &mut stored_1),
        ReadsFile::storing("rrsv_2.fq.gz", &uploads[1][..], &mut stored_2),
    )
    .unwrap();
    assert!(stored_1 == uploads[0] && stored_2 == uploads[1]);

    let plain = std::fs::read(fixture("quality/variable.fastq")).unwrap();
    let mut stored = Vec::new();
    let from_plain = check_reads_file(ReadsFile::storing(
        "variable.fastq",
        &plain[..],
        &mut stored,
    ))
    .unwrap();
    // Deflate, no flags (no name), mtime 0, no extra flags for level 6, OS unknown.
    assert_eq!(&stored[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut round_trip = Vec::new();
    flate2::read::GzDecoder::new(&stored[..])
        .read_to_end(&mut round_trip)
        .unwrap();
    assert!(round_trip == plain);
    // The stored copy checks the same.
    assert_eq!(check("reads_1.fq.gz", &stored).unwrap(), from_plain);
}
