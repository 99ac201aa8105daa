//! The §9.3 check rows, the error key cap and formatting edge cases (pass-through fields, export
//! row rules).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::tests::{errors_of, fixture_annotations, keys};
use super::*;
use crate::model::hmm::AnnotationSummary;

/// Every NuVs row of §9.3 (and the null/missing variants), one document each.
#[test]
fn every_check_row_is_reported() {
    let ok = |extra: Value| {
        let mut contig = json!({"index": 0, "sequence": "ACGT"});
        contig
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "hits": [contig] })
    };
    let orf_hits = |hits: Value| ok(json!({"orfs": [{"index": 0, "hits": hits}]}));
    let p = "results.hits.0";
    let h = "results.hits.0.orfs.0.hits.0";
    let cases: Vec<(Value, Value)> = vec![
        (json!({}), json!({"results.hits": ["required field"]})),
        (
            json!({"hits": null}),
            json!({"results.hits": ["null value not allowed"]}),
        ),
        (
            json!({"hits": {"0": {}}}),
            json!({"results.hits": ["must be of list type"]}),
        ),
        (
            json!({"hits": "file"}),
            json!({"results.hits": ["must be of list type"]}),
        ),
        (json!([]), json!({"results": ["must be of dict type"]})),
        (Value::Null, json!({"results": ["null value not allowed"]})),
        (
            json!({"hits": [1, [], null]}),
            json!({
            "results.hits.0": ["must be of dict type"], "results.hits.1": ["must be of dict type"],
            "results.hits.2": ["null value not allowed"]}),
        ),
        (
            json!({"hits": [{}]}),
            json!({
            format!("{p}.index"): ["required field"], format!("{p}.sequence"): ["required field"]}),
        ),
        (
            json!({"hits": [{"index": "0", "sequence": "A"}]}),
            json!({ format!("{p}.index"): ["must be of integer type"] }),
        ),
        (
            json!({"hits": [{"index": 1.0, "sequence": "A"}]}),
            json!({ format!("{p}.index"): ["must be of integer type"] }),
        ),
        (
            json!({"hits": [{"index": u64::MAX, "sequence": "A"}]}),
            json!({ format!("{p}.index"): ["must be of integer type"] }),
        ),
        (
            json!({"hits": [{"index": true, "sequence": "A"}]}),
            json!({ format!("{p}.index"): ["must be of integer type"] }),
        ),
        (
            json!({"hits": [{"index": null, "sequence": "A"}]}),
            json!({ format!("{p}.index"): ["null value not allowed"] }),
        ),
        (
            json!({"hits": [{"index": 3, "sequence": "A"}, {"index": 4, "sequence": "A"},
                         {"index": 3, "sequence": "A"}, {"index": 3, "sequence": "A"}]}),
            json!({"results.hits.2.index": ["duplicate contig index 3"],
                   "results.hits.3.index": ["duplicate contig index 3"]}),
        ),
        (
            json!({"hits": [{"index": -7, "sequence": "A"}, {"index": -7, "sequence": "A"}]}),
            json!({"results.hits.1.index": ["duplicate contig index -7"]}),
        ),
        (
            json!({"hits": [{"index": 0, "sequence": 12}]}),
            json!({ format!("{p}.sequence"): ["must be of string type"] }),
        ),
        (
            json!({"hits": [{"index": 0, "sequence": null}]}),
            json!({ format!("{p}.sequence"): ["null value not allowed"] }),
        ),
        (
            ok(json!({"orfs": {}})),
            json!({ format!("{p}.orfs"): ["must be of list type"] }),
        ),
        (
            ok(json!({"orfs": null})),
            json!({ format!("{p}.orfs"): ["null value not allowed"] }),
        ),
        (
            ok(json!({"orfs": [{}, 5, "x", null]})),
            json!({
            format!("{p}.orfs.1"): ["must be of dict type"],
            format!("{p}.orfs.2"): ["must be of dict type"],
            format!("{p}.orfs.3"): ["null value not allowed"]}),
        ),
        (
            orf_hits(json!("none")),
            json!({ format!("{p}.orfs.0.hits"): ["must be of list type"] }),
        ),
        (
            orf_hits(Value::Null),
            json!({ format!("{p}.orfs.0.hits"): ["null value not allowed"] }),
        ),
        (
            orf_hits(json!([[], null])),
            json!({ h: ["must be of dict type"],
                    "results.hits.0.orfs.0.hits.1": ["null value not allowed"] }),
        ),
        (
            orf_hits(json!([{"full_e": 1}])),
            json!({ format!("{h}.hit"): ["required field"] }),
        ),
        (
            orf_hits(json!([{"hit": null}])),
            json!({ format!("{h}.hit"): ["null value not allowed"] }),
        ),
        (
            orf_hits(json!([{"hit": 1.5}])),
            json!({ format!("{h}.hit"): ["must be of string type"] }),
        ),
        (
            orf_hits(json!([{"hit": ["a"]}])),
            json!({ format!("{h}.hit"): ["must be of string type"] }),
        ),
    ];
    for (doc, expected) in cases {
        assert_eq!(errors_of(&doc), expected, "{doc}");
    }
}

#[test]
fn errors_come_in_document_order() {
    // Keys visited as they appear in each contig: `orfs` before `index` here.
    let doc = json!({"hits": [
        {"orfs": [{"hits": [{"hit": false}]}], "sequence": 1, "index": "x"},
        {"index": 0, "sequence": "A", "orfs": 4},
        {"sequence": "A"},
    ]});
    let errors = errors_of(&doc);
    assert_eq!(
        keys(&errors),
        [
            "results.hits.0.orfs.0.hits.0.hit",
            "results.hits.0.sequence",
            "results.hits.0.index",
            "results.hits.1.orfs",
            "results.hits.2.index",
        ]
    );
    // Raw output order equals the key order the FieldErrors map serializes with.
    assert!(
        serde_json::to_string(&check(doc.to_string().as_bytes()).unwrap_err())
            .unwrap()
            .starts_with(r#"{"results.hits.0.orfs.0.hits.0.hit":["must be of string type"]"#)
    );
}

#[test]
fn unknown_annotations_are_reported_by_prepare() {
    let doc = json!({"hits": [
        {"index": 0, "sequence": "A", "orfs": [
            {"hits": [{"hit": "rejiddnd"}, {"hit": "nope"}]},
            {"hits": [{"hit": 5143}, {"hit": 12}]}]},
    ]});
    let checked = check(doc.to_string().as_bytes()).unwrap();
    assert_eq!(checked.hit_ids(), ["rejiddnd", "nope", "5143", "12"]);
    let mut annotations = fixture_annotations();
    annotations.insert("5143".into(), annotations["rejiddnd"].clone());
    let errors = checked.prepare(&annotations).unwrap_err();
    assert_eq!(
        Value::Object(errors.into_map()),
        json!({"results.hits.0.orfs.0.hits.1.hit": ["unknown HMM annotation nope"],
               "results.hits.0.orfs.1.hits.1.hit": ["unknown HMM annotation 12"]})
    );
}

#[test]
fn at_most_one_hundred_error_keys() {
    let contigs: Vec<Value> = (0..250)
        .map(|i| json!({"index": i, "sequence": 0}))
        .collect();
    let errors = errors_of(&json!({ "hits": contigs }));
    let keys = keys(&errors);
    assert_eq!(keys.len(), 100);
    assert_eq!(
        (keys[0], keys[99]),
        ("results.hits.0.sequence", "results.hits.99.sequence")
    );

    let hits: Vec<Value> = (0..300)
        .map(|i| json!({ "hit": format!("x{i}") }))
        .collect();
    let doc = json!({"hits": [{"index": 0, "sequence": "", "orfs": [{"hits": hits}]}]});
    let checked = check(doc.to_string().as_bytes()).unwrap();
    assert_eq!(checked.hit_ids().len(), 300);
    let errors = checked.prepare(&HashMap::new()).unwrap_err();
    assert_eq!(errors.len(), 100);
}

#[test]
fn unchecked_fields_pass_through_and_quirks_are_accepted() {
    let doc = json!({"hits": [
        {"index": 9, "sequence": "ÄCGT", "note": {"a": [1, 2.5e-300]}, "orfs": [
            {"index": 0, "pos": [-3, 438], "frame": 7, "hits": [
                {"hit": "rejiddnd", "full_e": 1e-5, "best_bias": 62.7, "best_score": 0.0,
                 "cluster": "stale", "x": 18446744073709551615u64}]},
            {"index": 1},
            {"index": 2, "hits": []}],
         "blast": {"stale": true}},
        {"index": 2, "sequence": ""},
    ], "read_count": 5});
    let prepared = check(doc.to_string().as_bytes())
        .unwrap()
        .prepare(&fixture_annotations())
        .unwrap();
    let got: Value = serde_json::from_slice(&prepared.results_json).unwrap();
    assert_eq!(
        keys(&got),
        ["hits"],
        "other top-level keys are not returned"
    );
    let contig = &got["hits"][0];
    assert_eq!(
        keys(contig),
        ["index", "sequence", "note", "orfs"],
        "stored blast dropped"
    );
    assert_eq!(contig["note"], doc["hits"][0]["note"]);
    assert_eq!(contig["orfs"][0]["pos"], json!([-3, 438]));
    let hit = &contig["orfs"][0]["hits"][0];
    assert_eq!(
        keys(hit),
        [
            "hit",
            "full_e",
            "best_bias",
            "best_score",
            "x",
            "cluster",
            "families",
            "names"
        ]
    );
    assert_eq!(hit["cluster"], 5143);
    assert_eq!(hit["x"], json!(u64::MAX));
    assert_eq!(
        keys(&got["hits"][1]),
        ["index", "sequence"],
        "absent orfs stay absent"
    );
    // The number is kept (its textual form is serde_json's, contract §1.3).
    let e = prepared.rows[0]
        .e_value
        .as_ref()
        .and_then(serde_json::Number::as_f64);
    assert_eq!(e, Some(1e-5));
    assert_eq!(
        (prepared.rows[0].length, prepared.rows[0].orf_count),
        (4, 3)
    );
    assert_eq!(
        prepared.rows[1],
        ExportRow {
            index: 2,
            length: 0,
            e_value: None,
            families: String::new(),
            orf_count: 0
        }
    );
}

#[test]
fn export_row_e_value_and_families() {
    let family = |families: Value| AnnotationSummary {
        cluster: 1,
        families: families.as_object().unwrap().clone(),
        names: vec![],
    };
    let annotations = HashMap::from([
        (
            "a".to_owned(),
            family(json!({"None": 1, "beta": 2, "Éclair": 1})),
        ),
        ("b".to_owned(), family(json!({"Alpha": 1, "beta": 1}))),
        ("c".to_owned(), family(json!({"None": 4}))),
    ]);
    let doc = json!({"hits": [
        {"index": 0, "sequence": "A", "orfs": [
            {"hits": [{"hit": "a", "full_e": 0.001}, {"hit": "b", "full_e": "1e-9"}]},
            {"hits": [{"hit": "c", "full_e": 1e-5}, {"hit": "a", "full_e": 1.0e-5}]}]},
        {"index": 1, "sequence": "A", "orfs": [
            {"hits": [{"hit": "c", "full_e": 3}, {"hit": "c", "full_e": 0}, {"hit": "c"}]}]},
        {"index": 2, "sequence": "A", "orfs": [{"hits": [{"hit": "c", "full_e": null}]}]},
    ]});
    let rows = check(doc.to_string().as_bytes())
        .unwrap()
        .prepare(&annotations)
        .unwrap()
        .rows;
    let summary: Vec<_> = rows
        .iter()
        .map(|r| (r.e_value.clone(), r.families.as_str()))
        .collect();
    // Among equal values the first form wins; the integer 0 stays an integer.
    assert_eq!(
        summary,
        [
            (serde_json::Number::from_f64(1e-5), "Alpha; beta; Éclair"),
            (Some(0.into()), ""),
            (None, ""),
        ]
    );
    // Rows round-trip through their stored JSON form.
    let stored = serde_json::to_string(&rows).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<ExportRow>>(&stored).unwrap(),
        rows
    );
}
