//! The finalize checks of contract §9.3 (Pathoscope table), row by row, plus exact output on a
//! small hand-made index.

use super::{num, small_otus};
use crate::model::field_errors::FieldErrors;
use crate::workflows::pathoscope::format::*;
use serde_json::{json, Value};

fn hit(id: &str, otu: &str, align: Value) -> Value {
    json!({"id": id, "otu": {"id": otu, "version": 1}, "align": align})
}

fn run(results: Value) -> Result<PreparedPathoscope, FieldErrors> {
    prepare(results.to_string().as_bytes(), "idx1", &small_otus())
}

fn errors(results: Value) -> Value {
    let errors = run(results).expect_err("should be rejected");
    serde_json::to_value(errors).unwrap()
}

#[test]
fn small_document_is_written_exactly() {
    let raw = br#"{"x": [1, {"a" : "b\u00e9"}], "hits": [
        {"id": "s2", "otu": {"id": "o1", "version": 1}, "align": [0, 2, 2, 2], "coverage": 0.75,
         "final": {"pi": 1e-05, "best": 0.5, "reads": 12, "high": 0.5}, "depth": 2, "initial": {}},
        {"id": "s4", "otu": {"id": "o2", "version": 0}, "align": []},
        {"id": "s1", "otu": {"id": "o1", "version": 1}, "align": [3], "final": {"pi": 0.0}}
    ], "read_count": 12, "subtracted_count": 0, "z": null}"#;
    let prepared = prepare(raw, "idx1", &small_otus()).unwrap();
    let expected = concat!(
        r#"{"x":[1,{"a":"bé"}],"hits":["#,
        r#"{"id":"o1","name":"Virus one","abbreviation":"V1","version":3,"length":9,"isolates":["#,
        r#"{"id":"i1","default":true,"source_type":"isolate","source_name":"I1","sequences":["#,
        r#"{"id":"s1","accession":"AC_s1","definition":"def \"s1\"","length":4,"align":[[0,3]],"#,
        r#""best":0,"coverage":0,"pi":0.0,"reads":0},"#,
        r#"{"id":"s2","accession":"AC_s2","definition":"def \"s2\"","length":6,"#,
        r#""align":[[0,0],[1,2],[3,2]],"best":0.5,"coverage":0.75,"pi":PI,"reads":12}]}]},"#,
        r#"{"id":"o2","name":"Virus two","abbreviation":"","version":0,"length":3,"isolates":["#,
        r#"{"id":"i3","default":false,"source_type":"isolate","source_name":"I3","sequences":["#,
        r#"{"id":"s4","accession":"AC_s4","definition":"def \"s4\"","length":3,"align":[],"#,
        r#""best":0,"coverage":0,"pi":0,"reads":0}]}]}],"#,
        r#""read_count":12,"subtracted_count":0,"z":null}"#
    );
    // Float spelling is serde_json's (`1e-5` or `0.00001`); the value is what matters.
    let expected = expected.replace("PI", &serde_json::to_string(&1e-5).unwrap());
    assert_eq!(String::from_utf8(prepared.results_json).unwrap(), expected);
    assert_eq!(prepared.read_count, Some(12));
    let medians: Vec<_> = prepared
        .rows
        .iter()
        .map(|r| r.median_depth.clone())
        .collect();
    assert_eq!(
        medians,
        [Median::Int(3), Median::Float(2.0), Median::Int(0)]
    );
    let isolates: Vec<_> = prepared.rows.iter().map(|r| r.isolate.as_str()).collect();
    assert_eq!(isolates, ["Isolate I1", "Isolate I1", "Isolate I3"]);
}

#[test]
fn repeated_top_level_key_keeps_first_position_and_last_value() {
    let raw = br#"{"read_count": 1, "hits": [], "read_count": 5, "a": 1, "a": [2]}"#;
    let prepared = prepare(raw, "idx1", &small_otus()).unwrap();
    assert_eq!(
        prepared.results_json,
        br#"{"read_count":5,"hits":[],"a":[2]}"#
    );
    assert_eq!(prepared.read_count, Some(5));
    let raw = br#"{"hits": 3, "hits": []}"#;
    assert!(prepare(raw, "idx1", &small_otus()).is_ok());
}

#[test]
fn read_count_absent_or_too_large_for_i64_is_none() {
    assert_eq!(run(json!({"hits": []})).unwrap().read_count, None);
    let raw = br#"{"hits": [], "read_count": 18446744073709551615}"#;
    let prepared = prepare(raw, "idx1", &small_otus()).unwrap();
    assert_eq!(prepared.read_count, None);
    assert_eq!(
        prepared.results_json,
        br#"{"hits":[],"read_count":18446744073709551615}"#
    );
}

#[test]
fn rejects_missing_or_wrong_hits() {
    assert_eq!(
        errors(json!({"read_count": 1})),
        json!({"results.hits": ["required field"]})
    );
    assert_eq!(
        errors(json!({"hits": {}})),
        json!({"results.hits": ["must be of list type"]})
    );
    assert_eq!(
        errors(json!({"hits": "x"})),
        json!({"results.hits": ["must be of list type"]})
    );
    assert_eq!(
        errors(json!({"hits": null})),
        json!({"results.hits": ["null value not allowed"]})
    );
    let e = errors(json!({"hits": [1, [], "x", null]}));
    assert_eq!(
        e,
        json!({"results.hits.0": ["must be of dict type"], "results.hits.1": ["must be of dict type"],
               "results.hits.2": ["must be of dict type"], "results.hits.3": ["null value not allowed"]})
    );
    // `results` itself not an object (the caller normally rejects this first).
    let e = prepare(b"[1]", "idx1", &small_otus()).unwrap_err();
    assert_eq!(
        serde_json::to_value(e).unwrap(),
        json!({"results": ["must be of dict type"]})
    );
}

#[test]
fn rejects_bad_hit_id() {
    let e = errors(json!({"hits": [{"otu": {"id": "o1", "version": 1}, "align": []}]}));
    assert_eq!(e, json!({"results.hits.0.id": ["required field"]}));
    let e = errors(
        json!({"hits": [hit("s1", "o1", json!([])), {"id": 5, "otu": {"id": "o1", "version": 1}, "align": []}]}),
    );
    assert_eq!(e, json!({"results.hits.1.id": ["must be of string type"]}));
}

#[test]
fn rejects_unknown_otu_sequence_and_duplicates() {
    let e = errors(json!({"hits": [
        hit("s1", "o1", json!([1])),
        hit("s4", "nope", json!([1])),
        hit("s4", "o1", json!([1])),
        hit("s1", "o1", json!([1])),
        hit("s3", "o1", json!([1])),
    ]}));
    assert_eq!(
        e,
        json!({
            "results.hits.1.otu.id": ["unknown OTU nope in index idx1"],
            "results.hits.2.id": ["unknown sequence s4 in OTU o1"],
            "results.hits.3.id": ["duplicate hit for sequence s1"],
        })
    );
}

#[test]
fn rejects_bad_otu_reference() {
    let e = errors(json!({"hits": [
        {"id": "a0", "align": []},
        {"id": "a1", "otu": "o1", "align": []},
        {"id": "a2", "otu": {"version": 1}, "align": []},
        {"id": "a3", "otu": {"id": 1, "version": 1}, "align": []},
        {"id": "s1", "otu": {"id": "o1", "version": "1"}, "align": []},
        {"id": "s2", "otu": {"id": "o1", "version": 1.5}, "align": []},
        {"id": "s6", "otu": {"id": "o2"}, "align": []},
    ]}));
    assert_eq!(
        e,
        json!({
            "results.hits.0.otu": ["required field"],
            "results.hits.1.otu": ["must be of dict type"],
            "results.hits.2.otu.id": ["required field"],
            "results.hits.3.otu.id": ["must be of string type"],
            "results.hits.4.otu.version": ["must be of integer type"],
            "results.hits.5.otu.version": ["must be of integer type"],
            "results.hits.6.id": ["unknown sequence s6 in OTU o2"],
            "results.hits.6.otu.version": ["required field"],
        })
    );
}

#[test]
fn rejects_bad_align() {
    let e = errors(json!({"hits": [
        hit("s1", "o1", json!("0,1")),
        hit("s2", "o1", json!([1, -1, 2])),
        hit("s3", "o1", json!([1.5, "2", null, -3, [1], 4294967296u64, 1.0])),
        {"id": "s4", "otu": {"id": "o2", "version": 1}},
        hit("s5", "o2", json!(null)),
    ]}));
    assert_eq!(
        e,
        json!({
            "results.hits.0.align": ["must be of list type"],
            "results.hits.1.align": ["min value is 0"],
            "results.hits.2.align": ["must be of integer type", "min value is 0", "max value is 4294967295"],
            "results.hits.3.align": ["required field"],
            "results.hits.4.id": ["unknown sequence s5 in OTU o2"],
            "results.hits.4.align": ["null value not allowed"],
        })
    );
    assert!(run(json!({"hits": [hit("s1", "o1", json!([4294967295u64, 0]))]})).is_ok());
}

#[test]
fn rejects_bad_final_and_coverage() {
    let with = |extra: Value| {
        let mut h = hit("s1", "o1", json!([1]));
        h.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"hits": [h]})
    };
    assert_eq!(
        errors(with(json!({"final": [1]}))),
        json!({"results.hits.0.final": ["must be of dict type"]})
    );
    assert_eq!(
        errors(with(
            json!({"final": {"reads": 1.5, "best": "0.1", "pi": true}, "coverage": "1"})
        )),
        json!({
            "results.hits.0.final.pi": ["must be of number type"],
            "results.hits.0.final.best": ["must be of number type"],
            "results.hits.0.final.reads": ["must be of integer type"],
            "results.hits.0.coverage": ["must be of number type"],
        })
    );
    let ok = run(with(
        json!({"final": {"reads": -2, "best": 1, "pi": 2.5, "low": "x"}, "coverage": 1}),
    ));
    let ok = ok.unwrap();
    assert_eq!(ok.rows[0].weight, num("2.5"));
    assert_eq!(ok.rows[0].coverage, num("1"));
}

#[test]
fn rejects_bad_counts() {
    let e = errors(json!({"subtracted_count": 1.0, "read_count": -1, "hits": []}));
    assert_eq!(
        e,
        json!({"results.subtracted_count": ["must be of integer type"], "results.read_count": ["min value is 0"]})
    );
    let e = errors(json!({"hits": [], "read_count": "20276", "subtracted_count": null}));
    assert_eq!(
        e,
        json!({"results.read_count": ["must be of integer type"], "results.subtracted_count": ["null value not allowed"]})
    );
}

#[test]
fn error_keys_are_capped_at_one_hundred_in_document_order() {
    let hits: Vec<Value> = (0..150)
        .map(|i| hit(&format!("x{i}"), "o1", json!("bad")))
        .collect();
    let e = errors(json!({"hits": hits, "read_count": -1}));
    let e = e.as_object().unwrap();
    assert_eq!(e.len(), 100);
    let first: Vec<_> = e.keys().take(2).cloned().collect();
    assert_eq!(first, ["results.hits.0.id", "results.hits.0.align"]);
    assert_eq!(e.keys().next_back().unwrap(), "results.hits.49.align");
    assert!(!e.contains_key("results.read_count"));
}
