//! J4 finalize of a Pathoscope analysis: the body splitter (`results_of`) and the streaming
//! check-and-format pass (`workflows::pathoscope::format::prepare`) against a real index snapshot
//! (`reference/otus.json.gz`) plus a tiny synthetic OTU that short inputs can reach.
#![no_main]

#[path = "common.rs"]
mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vira::workflows::pathoscope::format::{prepare, Median};
use vira::model::field_errors::MAX_ERROR_KEYS;
use vira::model::otu::{IsolateSummary, OtuSummary, SequenceSummary};

const INDEX_ID: &str = "fuzzidx";

fn otus() -> &'static HashMap<String, OtuSummary> {
    static OTUS: OnceLock<HashMap<String, OtuSummary>> = OnceLock::new();
    OTUS.get_or_init(|| {
        let mut otus = HashMap::new();
        if let Some(gz) = common::fixture("reference/otus.json.gz") {
            let json = vira::import::gzip::maybe_gunzip(gz, 1 << 30).expect("otus.json.gz");
            let parsed = vira::import::reference::parse_reference(&json).expect("otus.json.gz");
            for otu in &parsed.otus {
                otus.insert(otu.id.clone(), otu.summary());
            }
        }
        let sequence = |id: &str, length| SequenceSummary {
            id: id.into(),
            accession: format!("AC{id}"),
            definition: "synthetic".into(),
            length,
        };
        otus.insert(
            "o".into(),
            OtuSummary {
                id: "o".into(),
                name: "Fuzz virus".into(),
                abbreviation: "FV".into(),
                version: 1,
                isolates: vec![IsolateSummary {
                    id: "i".into(),
                    default: true,
                    source_type: "isolate".into(),
                    source_name: "A".into(),
                    sequences: vec![sequence("s", 10), sequence("t", 0)],
                }],
            },
        );
        otus
    })
}

fuzz_target!(|data: &[u8]| {
    let otus = otus();
    // The whole finalize body when it has an object `results`, else the bytes as the results.
    let raw = match vira::jobs_api::analyses::results_of(data) {
        Ok(raw) => {
            assert_eq!(raw.get().as_bytes().first(), Some(&b'{'));
            raw.get().as_bytes()
        }
        Err(e) => {
            assert!(matches!(e.status.as_u16(), 400 | 422), "{e:?}");
            data
        }
    };
    match prepare(raw, INDEX_ID, otus) {
        Ok(prepared) => {
            let value = common::assert_json(&prepared.results_json, "results_json");
            let object = value.as_object().expect("results_json is an object");
            let hits = object["hits"].as_array().expect("formatted hits is a list");
            let sequences: usize = hits
                .iter()
                .flat_map(|otu| otu["isolates"].as_array().expect("isolates"))
                .map(|isolate| isolate["sequences"].as_array().expect("sequences").len())
                .sum();
            assert_eq!(
                sequences,
                prepared.rows.len(),
                "one export row per sequence"
            );
            if let Some(n) = prepared.read_count {
                assert!(n >= 0);
            }
            for row in &prepared.rows {
                if let Median::Float(f) = row.median_depth {
                    assert!(f.is_finite() && f >= 0.0, "median {f}");
                }
            }
            serde_json::to_vec(&prepared.rows).expect("export rows serialize");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            assert!(errors.len() <= MAX_ERROR_KEYS);
            for (path, messages) in errors.clone().into_map() {
                assert!(path == "results" || path.starts_with("results."), "{path}");
                assert!(!messages.as_array().expect("message list").is_empty());
            }
        }
    }
});
