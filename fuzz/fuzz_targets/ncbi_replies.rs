//! NCBI BLAST URL API replies (spec/blast.md §2.1): the `CMD=Put` page (`parse_put_reply`), the
//! SearchInfo page (`parse_search_info`), the JSON2 Alignment zip (`read_result_zip`) and the
//! result transform (§3) on whatever JSON comes out. Every parser sees every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vira::blast::ncbi_reply::{parse_put_reply, parse_search_info, read_result_zip};
use vira::blast::transform::transform;

/// The transform must never panic, and what it stores is a plain object with a `hits` list.
fn check_transform(doc: &Value) {
    for target in [None, Some("tinydb")] {
        if let Ok(result) = transform(doc, target) {
            let object = result.as_object().expect("a result object");
            assert!(object["hits"].is_array(), "{result}");
            if let Some(db) = target {
                assert_eq!(result["target"], serde_json::json!({ "db": db }));
            }
            let record = serde_json::json!({"ready": true, "result": result});
            let _ = vira::workflows::nuvs::format::blast_top_hit(&record);
            serde_json::to_vec(&result).expect("result serializes");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let rid = match parse_put_reply(&html) {
        Some((rid, _rtoe)) => {
            assert!(
                !rid.is_empty() && !rid.chars().any(char::is_whitespace),
                "{rid:?}"
            );
            rid
        }
        None => "YA6M9135015".to_owned(),
    };
    let _ = parse_search_info(&html);
    for rid in [rid.as_str(), "LOCALRID01"] {
        if let Ok(doc) = read_result_zip(data, rid) {
            check_transform(&doc);
        }
    }
    if let Ok(doc) = serde_json::from_slice::<Value>(data) {
        check_transform(&doc);
    }
});
