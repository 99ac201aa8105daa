//! The parts of an HMM annotation that NuVs formatting attaches to ORF hits (contract §9.2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationSummary {
    pub cluster: i64,
    /// Family name → count, in the annotation's key order (a literal `"None"` key may occur).
    pub families: Map<String, Value>,
    pub names: Vec<String>,
}

/// A stored annotation as J27 sends it (workflows §7.6): the stored object with the keys
/// Virtool's `HMM` model requires set — `id` (the annotation id), and `count`, `entries`,
/// `genera`, `length`, `mean_entropy`, `total_entropy` filled where absent (or null); each entry's
/// missing `accession`, `gi`, `name`, `organism` become `""`.
pub fn runner_annotation(id: &str, mut document: Map<String, Value>) -> Map<String, Value> {
    let absent = |d: &Map<String, Value>, key: &str| d.get(key).is_none_or(Value::is_null);
    document.insert("id".to_owned(), Value::from(id));
    if absent(&document, "entries") {
        document.insert("entries".to_owned(), Value::Array(Vec::new()));
    }
    if let Some(Value::Array(entries)) = document.get_mut("entries") {
        for entry in entries.iter_mut() {
            if let Value::Object(entry) = entry {
                for key in ["accession", "gi", "name", "organism"] {
                    if absent(entry, key) {
                        entry.insert(key.to_owned(), Value::from(""));
                    }
                }
            }
        }
    }
    if absent(&document, "count") {
        let count = document["entries"].as_array().map_or(0, Vec::len);
        document.insert("count".to_owned(), Value::from(count));
    }
    let defaults = [
        ("genera", Value::Object(Map::new())),
        ("length", Value::from(0)),
        ("mean_entropy", Value::from(0.0)),
        ("total_entropy", Value::from(0.0)),
    ];
    for (key, value) in defaults {
        if absent(&document, key) {
            document.insert(key.to_owned(), value);
        }
    }
    document
}

#[cfg(test)]
mod runner_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_what_is_missing() {
        let Value::Object(stored) = json!({"_id": "x", "cluster": 3, "families": {}, "names": [],
            "entries": [{"accession": "A1"}], "length": null})
        else {
            unreachable!()
        };
        let filled = runner_annotation("x", stored);
        assert_eq!(
            Value::Object(filled),
            json!({"_id": "x", "cluster": 3, "families": {}, "names": [],
                   "entries": [{"accession": "A1", "gi": "", "name": "", "organism": ""}],
                   "length": 0, "id": "x", "count": 1, "genera": {}, "mean_entropy": 0.0,
                   "total_entropy": 0.0})
        );
    }
}
