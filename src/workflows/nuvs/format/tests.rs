//! Tests of NuVs checking and formatting on the real fixtures, and of the BLAST splice. The
//! check rows and edge cases are in `check_tests`, properties and timings in `props`.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::*;
use crate::model::hmm::AnnotationSummary;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{FIXTURES}{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// `nuvs/results.json` wrapped as the contract asks, bytes otherwise untouched.
pub(super) fn fixture_results() -> Vec<u8> {
    [
        b"{\"hits\": ".as_slice(),
        &fixture("nuvs/results.json"),
        b"}",
    ]
    .concat()
}

/// The six annotations of the derived file, keyed by `legacy_id` as U20 would store them.
pub(super) fn fixture_annotations() -> HashMap<String, AnnotationSummary> {
    let file: Value =
        serde_json::from_slice(&fixture("hmm/nuvs_results_hmm_ids.derived.json")).unwrap();
    file["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let id = a["legacy_id"].as_str().unwrap().to_owned();
            (id, serde_json::from_value(a.clone()).unwrap())
        })
        .collect()
}

fn prepared_fixture() -> PreparedNuvs {
    check(&fixture_results())
        .unwrap()
        .prepare(&fixture_annotations())
        .unwrap()
}

pub(super) fn errors_of(doc: &Value) -> Value {
    let errors = check(doc.to_string().as_bytes()).unwrap_err();
    Value::Object(errors.into_map())
}

pub(super) fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

pub(super) fn raw(value: &Value) -> Box<RawValue> {
    RawValue::from_string(value.to_string()).unwrap()
}

#[test]
fn fixture_passes_the_checks() {
    let checked = check(&fixture_results()).unwrap();
    assert_eq!(checked.len(), 5);
    let orfs: usize = checked.contigs.iter().map(|c| orfs_of(c).len()).sum();
    assert_eq!(orfs, 58);
    let hits: usize = checked
        .contigs
        .iter()
        .flat_map(orfs_of)
        .map(|o| hits_of(o).len())
        .sum();
    assert_eq!(hits, 6);
    assert_eq!(
        checked.hit_ids(),
        ["duofttge", "rejiddnd", "sjzcfozl", "dxzlorzz", "wotaqhkz", "dltwctfw"]
    );
}

#[test]
fn fixture_is_formatted_with_annotations_in_stored_order() {
    let prepared = prepared_fixture();
    // Expected document, built independently: the raw list with the annotation fields added
    // to each hit straight from the annotation file.
    let annotations: Value =
        serde_json::from_slice(&fixture("hmm/nuvs_results_hmm_ids.derived.json")).unwrap();
    let by_id: HashMap<&str, &Value> = annotations["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["legacy_id"].as_str().unwrap(), a))
        .collect();
    let mut contigs: Value = serde_json::from_slice(&fixture("nuvs/results.json")).unwrap();
    for contig in contigs.as_array_mut().unwrap() {
        for orf in contig["orfs"].as_array_mut().unwrap() {
            for hit in orf["hits"].as_array_mut().unwrap() {
                let a = by_id[hit["hit"].as_str().unwrap()];
                let hit = hit.as_object_mut().unwrap();
                for key in ["cluster", "families", "names"] {
                    hit.insert(key.into(), a[key].clone());
                }
            }
        }
    }
    let expected = json!({ "hits": contigs });
    // Byte comparison: Value equality ignores key order, the serialized form does not.
    assert_eq!(
        String::from_utf8(prepared.results_json.clone()).unwrap(),
        expected.to_string()
    );

    let doc: Value = serde_json::from_slice(&prepared.results_json).unwrap();
    assert_eq!(keys(&doc), ["hits"]);
    let contig1 = &doc["hits"][1];
    assert_eq!(keys(contig1), ["index", "sequence", "orfs"]);
    let orf = &contig1["orfs"][0];
    assert_eq!(
        keys(orf),
        ["pro", "frame", "strand", "pos", "index", "hits"]
    );
    let hit = &orf["hits"][0];
    assert_eq!(
        keys(hit),
        [
            "hit",
            "full_e",
            "full_score",
            "full_bias",
            "best_e",
            "best_bias",
            "best_score"
        ]
        .into_iter()
        .chain(["cluster", "families", "names"])
        .collect::<Vec<_>>()
    );
    assert_eq!(hit["hit"], "rejiddnd");
    assert_eq!(hit["cluster"], 5143);
    assert_eq!(hit["families"], json!({"Marseillevirus family": 2}));
    assert_eq!(
        hit["names"],
        json!(["DNA-directed RNA polymerase subunit alpha"])
    );
    // The swapped best_bias/best_score pass through as stored.
    assert_eq!(
        (hit["best_bias"].as_f64(), hit["best_score"].as_f64()),
        (Some(62.7), Some(0.0))
    );
    // A literal "None" family stays, in the annotation's key order.
    let wotaqhkz = &contig1["orfs"][1]["hits"][2];
    assert_eq!(keys(&wotaqhkz["families"]), ["None", "Mimiviridae"]);
    let text = String::from_utf8(prepared.results_json.clone()).unwrap();
    assert!(text.contains("\"full_e\":8.8e-22,"));
    assert!(!text.contains("\"blast\""));
    assert!(!text.contains(": ") && !text.contains(", "), "compact JSON");
}

#[test]
fn fixture_export_rows_match_the_contract() {
    let rows: Vec<_> = prepared_fixture()
        .rows
        .into_iter()
        .map(|r| {
            let e = r.e_value.map(|e| e.to_string());
            (r.index, r.length, e, r.families, r.orf_count)
        })
        .collect();
    let row = |i, l, e: Option<&str>, f: &str, n| (i, l, e.map(str::to_owned), f.to_owned(), n);
    assert_eq!(
        rows,
        [
            row(0, 19226, Some("0.69"), "Herpesviridae", 19),
            row(
                1,
                14199,
                Some("8.8e-22"),
                "Ascoviridae; Iridoviridae; Marseillevirus family; Mimiviridae",
                8
            ),
            row(2, 13808, None, "", 9),
            row(3, 13525, None, "", 11),
            row(4, 10841, Some("0.0099"), "Marseillevirus family", 11),
        ]
    );
}

#[test]
fn blast_records_are_attached_as_the_last_contig_key() {
    let prepared = prepared_fixture();
    let result: Value = serde_json::from_slice(&fixture("blast/blast.json")).unwrap();
    let record = json!({
        "id": 3, "analysis_id": "yzgqgbld", "sequence_index": 1,
        "created_at": "2018-02-06T19:48:33.500000Z", "updated_at": "2018-02-06T19:49:20.004211Z",
        "last_checked_at": "2018-02-06T19:49:20.004211Z", "interval": 13,
        "rid": "YA6M9135015", "ready": true, "error": null, "result": result
    });
    let blast = BTreeMap::from([(1, raw(&record)), (99, raw(&json!({"stray": true})))]);
    let out = attach_blast_at(&prepared.results_json, &prepared.contig_ends, &blast);
    // Without stored offsets: the same bytes.
    assert!(attach_blast(&prepared.results_json, &blast) == out);

    let mut expected: Value = serde_json::from_slice(&prepared.results_json).unwrap();
    for contig in expected["hits"].as_array_mut().unwrap() {
        let value = if contig["index"] == 1 {
            record.clone()
        } else {
            Value::Null
        };
        contig
            .as_object_mut()
            .unwrap()
            .insert("blast".into(), value);
    }
    let got: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(got, expected);
    for contig in got["hits"].as_array().unwrap() {
        assert_eq!(keys(contig).last(), Some(&"blast"));
    }
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        expected.to_string()
    );
    assert_eq!(
        blast_top_hit(&got["hits"][1]["blast"]),
        Some(("Actinidia virus A".into(), "JN427014".into()))
    );

    // Offsets that do not fit the document are recomputed, not trusted.
    assert_eq!(
        contig_ends(&prepared.results_json).unwrap(),
        prepared.contig_ends
    );
    let shifted: Vec<_> = prepared
        .contig_ends
        .iter()
        .map(|&(i, e)| (i, e - 1))
        .collect();
    let other = check(br#"{"hits":[{"index":1,"sequence":""}]}"#).unwrap();
    let other = other.prepare(&HashMap::new()).unwrap().contig_ends;
    let wrong_cases = [
        &[][..],
        &shifted,
        &prepared.contig_ends[..4],
        &[(0, usize::MAX)],
        &other,
    ];
    for wrong in wrong_cases {
        let got = attach_blast_at(&prepared.results_json, wrong, &blast);
        assert!(got == out, "{wrong:?}");
    }
    // No records: every contig gets null.
    let none = attach_blast_at(
        &prepared.results_json,
        &prepared.contig_ends,
        &BTreeMap::new(),
    );
    let none: Value = serde_json::from_slice(&none).unwrap();
    assert!(none["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["blast"].is_null()));
    // Something this module did not write comes back unchanged.
    assert_eq!(attach_blast(b"[1]", &blast), b"[1]");
    assert_eq!(attach_blast_at(b"[1]", &[], &blast), b"[1]");
}

#[test]
fn empty_hits_format_to_an_empty_document() {
    let prepared = check(br#"{"hits": [], "other": 1}"#)
        .unwrap()
        .prepare(&HashMap::new())
        .unwrap();
    assert_eq!(prepared.results_json, br#"{"hits":[]}"#);
    assert!(prepared.contig_ends.is_empty() && prepared.rows.is_empty());
    let out = attach_blast_at(&prepared.results_json, &[], &BTreeMap::new());
    assert_eq!(out, br#"{"hits":[]}"#);
    assert_eq!(attach_blast(&out, &BTreeMap::new()), out);
}

#[test]
fn blast_top_hit_needs_a_ready_record_with_hits() {
    let hits =
        json!({"hits": [{"name": "A", "accession": "X1"}, {"name": "B", "accession": "X2"}]});
    let cases = [
        (json!({"ready": true, "result": hits}), Some(("A", "X1"))),
        (json!({"ready": false, "result": hits}), None),
        (json!({"ready": true, "result": {"hits": []}}), None),
        (json!({"ready": true, "result": null}), None),
        (
            json!({"ready": false, "error": "timeout", "result": null}),
            None,
        ),
        (
            json!({"ready": true, "result": {"hits": [{"name": 5}]}}),
            Some(("", "")),
        ),
        (Value::Null, None),
    ];
    for (record, expected) in cases {
        let expected = expected.map(|(n, a)| (n.to_owned(), a.to_owned()));
        assert_eq!(blast_top_hit(&record), expected, "{record}");
    }
}

#[test]
fn records_attach_to_a_stored_document_without_a_second_blast_key() {
    let doc =
        br#"{"hits":[{"index":0,"sequence":"A","orfs":[]},{"index":1,"sequence":"C","orfs":[]}]}"#;
    let stored = attach_blast(doc, &BTreeMap::new());
    let mut blast = BTreeMap::new();
    blast.insert(
        1,
        serde_json::value::RawValue::from_string("{\"id\":3}".into()).unwrap(),
    );
    let served = super::fill_blast(&stored, &blast);
    let text = String::from_utf8(served).unwrap();
    assert_eq!(text.matches("\"blast\"").count(), 2, "{text}");
    assert!(
        text.contains(r#""index":1,"sequence":"C","orfs":[],"blast":{"id":3}}"#),
        "{text}"
    );
}

#[test]
fn written_results_read_back_as_the_results_model() {
    let prepared = prepared_fixture();
    let stored = attach_blast(&prepared.results_json, &BTreeMap::new());
    let results: crate::workflows::nuvs::model::Results = serde_json::from_slice(&stored).unwrap();
    assert!(!results.hits.is_empty());
    assert!(results
        .hits
        .iter()
        .all(|contig| !contig.sequence.is_empty()));
    let annotated = results
        .hits
        .iter()
        .flat_map(|c| &c.orfs)
        .flat_map(|o| &o.hits);
    assert!(annotated.clone().count() > 0);
    assert!(annotated.into_iter().all(|hit| hit.cluster.is_some()));
}
