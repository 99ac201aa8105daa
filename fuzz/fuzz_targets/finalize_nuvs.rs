//! J4 finalize of a NuVs analysis: `results_of`, the structural checks (`nuvs::check`), the
//! annotation join and formatting (`CheckedNuvs::prepare`), then what every later GET does with
//! the stored bytes (`attach_blast`, `attach_blast_at`, `contig_ends`) and U4's
//! `contig_sequence`.
#![no_main]

#[path = "common.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use vira::workflows::nuvs::format as nuvs;
use vira::model::field_errors::MAX_ERROR_KEYS;
use vira::model::hmm::AnnotationSummary;

/// The six real annotations `nuvs/results.json` names, by legacy id.
fn fixture_annotations() -> &'static HashMap<String, AnnotationSummary> {
    static ANNOTATIONS: OnceLock<HashMap<String, AnnotationSummary>> = OnceLock::new();
    ANNOTATIONS.get_or_init(|| {
        let mut map = HashMap::new();
        let Some(bytes) = common::fixture("hmm/nuvs_results_hmm_ids.derived.json") else {
            return map;
        };
        let doc: Value = serde_json::from_slice(&bytes).expect("fixture JSON");
        let list = serde_json::to_vec(&doc["annotations"]).expect("annotations");
        for a in vira::import::hmms::parse_annotations(&list).expect("fixture annotations") {
            let summary = AnnotationSummary {
                cluster: a.cluster,
                families: a.families,
                names: a.names,
            };
            map.insert(a.id, summary);
        }
        map
    })
}

fn record(index: i64) -> Box<RawValue> {
    let json = format!(
        r#"{{"id":{index},"ready":true,"result":{{"hits":[{{"name":"n{index}","accession":"A{index}"}}]}}}}"#
    );
    RawValue::from_string(json).expect("record JSON")
}

fuzz_target!(|data: &[u8]| {
    let raw = match vira::jobs_api::analyses::results_of(data) {
        Ok(raw) => raw.get().as_bytes(),
        Err(_) => data,
    };
    let checked = match nuvs::check(raw) {
        Ok(checked) => checked,
        Err(errors) => {
            assert!(!errors.is_empty() && errors.len() <= MAX_ERROR_KEYS);
            return;
        }
    };
    let contigs = checked.len();
    // Every id resolves except those ending in `7`, so both the join and its 422 are reached.
    let mut annotations = fixture_annotations().clone();
    for id in checked.hit_ids() {
        if !id.ends_with('7') && !annotations.contains_key(&id) {
            let mut families = Map::new();
            families.insert("None".into(), Value::from(1));
            families.insert(format!("F{id}"), Value::from(2));
            annotations.insert(
                id.clone(),
                AnnotationSummary {
                    cluster: id.len() as i64,
                    families,
                    names: vec![id.clone()],
                },
            );
        }
    }
    let prepared = match checked.prepare(&annotations) {
        Ok(prepared) => prepared,
        Err(errors) => {
            assert!(!errors.is_empty() && errors.len() <= MAX_ERROR_KEYS);
            return;
        }
    };
    assert_eq!(prepared.rows.len(), contigs);
    assert_eq!(prepared.contig_ends.len(), contigs);
    let doc = common::assert_json(&prepared.results_json, "results_json");
    assert_eq!(
        doc.as_object().map(Map::len),
        Some(1),
        "only `hits` is kept"
    );
    assert_eq!(
        nuvs::contig_ends(&prepared.results_json).as_deref(),
        Some(prepared.contig_ends.as_slice()),
        "recomputed contig ends differ from the stored ones"
    );
    serde_json::to_vec(&prepared.rows).expect("rows serialize");

    let blast: BTreeMap<i64, Box<RawValue>> = prepared
        .contig_ends
        .iter()
        .filter(|(index, _)| index % 2 == 0)
        .map(|&(index, _)| (index, record(index)))
        .collect();
    let attached = nuvs::attach_blast(&prepared.results_json, &blast);
    let fast = nuvs::attach_blast_at(&prepared.results_json, &prepared.contig_ends, &blast);
    assert_eq!(attached, fast, "attach_blast_at differs from attach_blast");
    let doc = common::assert_json(&attached, "results with BLAST");
    let hits = doc["hits"].as_array().expect("hits list");
    assert_eq!(hits.len(), contigs);
    for (contig, (row, &(index, _))) in hits
        .iter()
        .zip(prepared.rows.iter().zip(&prepared.contig_ends))
    {
        assert_eq!(contig["index"].as_i64(), Some(index));
        assert_eq!(row.index, index);
        let expected = blast
            .get(&index)
            .map(|r| serde_json::from_str::<Value>(r.get()).unwrap());
        assert_eq!(contig.get("blast"), Some(&expected.unwrap_or(Value::Null)));
        // U4 reads the sequence from the raw results.
        let sequence = nuvs::contig_sequence(raw, index);
        assert_eq!(
            sequence.as_deref(),
            contig["sequence"].as_str(),
            "contig {index}"
        );
        assert_eq!(
            row.length,
            contig["sequence"].as_str().unwrap().chars().count() as u64
        );
    }
    // Offsets of another document are never trusted.
    let _ = nuvs::attach_blast_at(b"{\"hits\":[{\"index\":1}]}", &prepared.contig_ends, &blast);
});
