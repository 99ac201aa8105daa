//! Virtool's pathoscope-core golden vectors (`fixtures/pathoscope-core/vectors.json`): the 9 EM
//! vectors (every array, the read order and the coverage), the 3 subtraction vectors (count and
//! SHA-256 of the rewritten FASTQ) and the 3 candidate vectors (bowtie2's first pass, run here).
//! The 2 `expect_failure` vectors fail in Virtool's htslib parser only and do not apply.

use std::process::Command;

use sha2::{Digest, Sha256};

use super::*;
use crate::import::reference::{ParsedIsolate, ParsedOtu, ParsedSequence};

fn vectors(subcommand: &str) -> Vec<Value> {
    let all = json_fixture("pathoscope-core/vectors.json");
    (all["vectors"].as_array().unwrap().iter())
        .filter(|v| v["subcommand"] == subcommand && v.get("expect_failure").is_none())
        .cloned()
        .collect()
}

fn core_fixture(name: &Value) -> Vec<u8> {
    fixture(&format!("pathoscope-core/{}", name.as_str().unwrap()))
}

#[test]
fn em_vectors() {
    let vectors = vectors("em");
    assert_eq!(vectors.len(), 9);
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let cutoff = vector["args"]["p_score_cutoff"].as_f64().unwrap();
        let (alignments, lengths) =
            sam_alignments(&core_fixture(&vector["args"]["alignment"]), cutoff);
        let em = reassign(&alignments, cutoff).unwrap();
        let expected = &vector["result"];
        assert_em(&em, &alignments, expected);
        let names = alignments.read_names();
        let reads: Vec<String> = (em.reads.iter())
            .map(|&r| String::from_utf8(names[r as usize].to_vec()).unwrap())
            .collect();
        assert_eq!(Value::from(reads), expected["reads"], "{name} reads");
        // Coverage of every reference with a reassigned line, by first appearance.
        let mut covered: Vec<u32> = Vec::new();
        for line in rewritten(&alignments, &em).unwrap() {
            if !covered.contains(&line.reference) {
                covered.push(line.reference);
            }
        }
        let wanted: Vec<(u32, usize)> = (covered.iter())
            .map(|&r| {
                let id = &alignments.references()[r as usize];
                (r, lengths.iter().find(|(sn, _)| sn == id).unwrap().1)
            })
            .collect();
        let arrays = depth_arrays(
            &wanted,
            alignments.references().len(),
            rewritten(&alignments, &em).unwrap(),
        );
        let mut coverage = serde_json::Map::new();
        for (&(r, length), array) in wanted.iter().zip(arrays) {
            let nonzero: serde_json::Map<String, Value> = (array.iter().enumerate())
                .filter(|(_, &d)| d != 0)
                .map(|(i, &d)| (i.to_string(), Value::from(d)))
                .collect();
            coverage.insert(
                alignments.references()[r as usize].clone(),
                serde_json::json!({"length": length, "nonzero": nonzero}),
            );
        }
        // Compared as maps: the file's keys are sorted, ours are by first appearance.
        let sorted = |v: &Value| -> std::collections::BTreeMap<String, Value> {
            (v.as_object().unwrap().iter())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert_eq!(
            sorted(&Value::Object(coverage)),
            sorted(&expected["coverage"]),
            "{name} coverage"
        );
    }
}

#[test]
fn subtraction_vectors() {
    let vectors = vectors("eliminate-subtraction");
    assert_eq!(vectors.len(), 3);
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let args = &vector["args"];
        let mut alignments = Alignments::new(P_SCORE_CUTOFF);
        feed(
            &core_fixture(&args["isolate_alignments"])[..],
            &mut alignments,
        )
        .unwrap();
        let mut pass = SubtractionScores::new(&alignments);
        feed(
            &core_fixture(&args["subtraction_alignments"])[..],
            &mut pass,
        )
        .unwrap();
        let scores = pass.finish();
        let subtracted = alignments.eliminate(&scores).unwrap();
        assert_eq!(
            Value::from(subtracted.count()),
            vector["result"]["subtracted"],
            "{name} count"
        );
        let input = core_fixture(&args["input_fastq"]);
        let mut output = Vec::new();
        let counts = rewrite_fastq(&input[..], &mut output, &alignments, &subtracted).unwrap();
        assert_eq!(counts.removed, subtracted.count(), "{name} records removed");
        assert_eq!(
            hex::encode(Sha256::digest(&output)),
            vector["output_fastq_sha256"].as_str().unwrap(),
            "{name} FASTQ"
        );
    }
}

/// A snapshot of one OTU per FASTA record (id = the record's name).
fn snapshot_of_fasta(fasta: &str) -> Vec<ParsedOtu> {
    (fasta.split('>').filter(|r| !r.is_empty()))
        .map(|record| {
            let (id, sequence) = record.split_once('\n').unwrap();
            ParsedOtu {
                id: format!("otu_{id}"),
                name: id.to_owned(),
                abbreviation: String::new(),
                version: 0,
                isolates: vec![ParsedIsolate {
                    id: "isolate".to_owned(),
                    default: true,
                    source_type: String::new(),
                    source_name: String::new(),
                    sequences: vec![ParsedSequence {
                        id: id.to_owned(),
                        accession: id.to_owned(),
                        definition: String::new(),
                        host: None,
                        segment: None,
                        sequence: sequence.replace('\n', ""),
                    }],
                }],
            }
        })
        .collect()
}

/// bowtie2's first pass (workflows.md §10.4.2) over the vectors' reads, as the worker runs it.
fn first_pass_sam(dir: &std::path::Path) -> Vec<u8> {
    let fixtures = format!("{FIXTURES}pathoscope-core/");
    let index = dir.join("reference");
    let built = Command::new("bowtie2-build")
        .args(["--threads", "1", "-q"])
        .arg(format!("{fixtures}candidates_reference.fa"))
        .arg(&index)
        .status()
        .expect(
            "bowtie2-build must be on PATH (Debian's bowtie2 package) for the candidate vectors",
        );
    assert!(built.success());
    let output = Command::new("bowtie2")
        .args([
            "-p",
            "1",
            "--reorder",
            "--local",
            "--no-unal",
            "--no-hd",
            "--no-sq",
        ])
        .args(["--score-min", "L,20,1.0", "-N", "0", "-L", "15", "-x"])
        .arg(&index)
        .arg("-U")
        .arg(format!("{fixtures}candidates_reads.fq"))
        .output()
        .expect("bowtie2 must be on PATH for the candidate vectors");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn candidate_vectors() {
    let vectors = vectors("candidates");
    assert_eq!(vectors.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let sam = first_pass_sam(dir.path());
    let fasta = String::from_utf8(fixture("pathoscope-core/candidates_reference.fa")).unwrap();
    let snapshot = snapshot_of_fasta(&fasta);
    for vector in vectors {
        let mut scan = CandidateScan::new(vector["args"]["p_score_cutoff"].as_f64().unwrap());
        feed(&sam[..], &mut scan).unwrap();
        let candidates = scan.finish(&snapshot).unwrap();
        assert_eq!(
            Value::from(candidates.sequences.clone()),
            vector["result"],
            "{}",
            vector["name"]
        );
        assert_eq!(candidates.is_empty(), candidates.sequences.is_empty());
    }
}
