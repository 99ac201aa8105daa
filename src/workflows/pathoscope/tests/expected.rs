//! The expected sets of whole runs (`fixtures/pathoscope/expected/`), from their alignments
//! after subtraction (`alignments.vta.gz`, no bowtie2): `em.json`, `report.tsv` and the whole
//! `results.json` (every hit's `align` included), over an isolate index built from the set's
//! candidates and `reference/otus.json.gz`. `srna` has no candidate.

use std::sync::OnceLock;

use super::*;
use crate::import::reference::{parse_reference, ParsedOtu};

fn snapshot() -> &'static [ParsedOtu] {
    static SNAPSHOT: OnceLock<Vec<ParsedOtu>> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        parse_reference(&fixture("reference/otus.json.gz"))
            .unwrap()
            .otus
    })
}

/// The set's candidates as `candidates.json` lists them (both sorted), the OTUs as snapshot
/// indices.
fn candidates(set: &str) -> Candidates {
    let listed = json_fixture(&format!("pathoscope/expected/{set}/candidates.json"));
    let ids = |key: &str| -> Vec<String> {
        (listed[key].as_array().unwrap().iter())
            .map(|id| id.as_str().unwrap().to_owned())
            .collect()
    };
    let otu_ids = ids("otus");
    let otus = (snapshot().iter().enumerate())
        .filter(|(_, otu)| otu_ids.contains(&otu.id))
        .map(|(o, _)| o)
        .collect::<Vec<_>>();
    assert_eq!(
        otus.len(),
        otu_ids.len(),
        "{set}: candidate OTUs in the snapshot"
    );
    Candidates {
        sequences: ids("sequences"),
        otus,
    }
}

fn check_set(set: &str) {
    let dir = format!("pathoscope/expected/{set}");
    let candidates = candidates(set);
    let mut fasta = Vec::new();
    let index = write_isolate_fasta(snapshot(), &candidates, &mut fasta).unwrap();
    let order: Vec<&str> = index.sequences().iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        Value::from(order),
        json_fixture(&format!("{dir}/isolates.json"))
    );
    let headers = (fasta.split(|&b| b == b'\n').step_by(2))
        .filter(|line| !line.is_empty())
        .count();
    assert_eq!(
        headers,
        index.sequences().len(),
        "{set}: two lines per sequence"
    );

    let alignments = vta_alignments(&fixture(&format!("{dir}/alignments.vta.gz")));
    let em = reassign(&alignments, P_SCORE_CUTOFF).unwrap();
    assert_em(&em, &alignments, &json_fixture(&format!("{dir}/em.json")));

    let expected = json_fixture(&format!("{dir}/results.json"));
    let subtracted = expected["subtracted_count"].as_u64().unwrap();
    let output = reassign_and_report(&alignments, &index, subtracted).unwrap();
    assert_eq!(
        output.report_tsv.as_bytes(),
        &fixture(&format!("{dir}/report.tsv"))[..],
        "{set}: report.tsv"
    );
    let results = serde_json::to_value(&output.results).unwrap();
    let (hits, expected_hits) = (&results["hits"], &expected["hits"]);
    assert_eq!(
        hits.as_array().unwrap().len(),
        expected_hits.as_array().unwrap().len()
    );
    for (hit, e) in hits
        .as_array()
        .unwrap()
        .iter()
        .zip(expected_hits.as_array().unwrap())
    {
        assert_eq!(hit["align"], e["align"], "{set}: align of {}", e["id"]);
    }
    assert_eq!(results, expected, "{set}: results");
    let keys: Vec<&String> = results.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["subtracted_count", "read_count", "hits"]);
}

#[test]
fn sim1_single() {
    check_set("sim1_single");
}

#[test]
fn sim1_host() {
    check_set("sim1_host");
}

/// Holds a `pi` tie ordered by id.
#[test]
fn rrsv() {
    check_set("rrsv");
}

#[test]
fn srna_has_no_candidate() {
    let candidates = candidates("srna");
    assert!(candidates.is_empty());
    let output = PathoscopeOutput::empty(0);
    assert_eq!(
        output.report_tsv.as_bytes(),
        &fixture("pathoscope/expected/srna/report.tsv")[..]
    );
    assert_eq!(
        serde_json::to_value(&output.results).unwrap(),
        json_fixture("pathoscope/expected/srna/results.json")
    );
}
