//! Reader of HMM annotation files (contract U20, data.md §2): a JSON list of vFam annotations.
//!
//! Each annotation is kept whole (`document`) because everything beyond the checked fields is
//! stored as given; the checked fields are copied out for formatting NuVs results.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::text::check_name;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedAnnotation {
    pub id: String,
    pub cluster: i64,
    /// Family name → integer count, in the file's key order.
    pub families: Map<String, Value>,
    pub names: Vec<String>,
    /// Every field of the annotation as given, in the file's key order.
    pub document: Map<String, Value>,
}

/// The keys that may carry an annotation's id, in order of precedence (contract U20).
const ID_KEYS: [&str; 3] = ["id", "_id", "legacy_id"];

/// Parse and validate an annotations file (already decompressed).
///
/// `Err` holds the reason that follows `Invalid annotations file: `.
pub fn parse_annotations(json: &[u8]) -> Result<Vec<ParsedAnnotation>, String> {
    let root: Value = serde_json::from_slice(json).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Array(items) = root else {
        return Err("expected a list of annotations".to_owned());
    };
    let mut ids = HashSet::with_capacity(items.len());
    let mut annotations = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let Value::Object(document) = item else {
            return Err(format!("{index}: must be of dict type"));
        };
        let annotation = annotation(index, document)?;
        if !ids.insert(annotation.id.clone()) {
            return Err(format!("{index}: duplicate id {}", annotation.id));
        }
        annotations.push(annotation);
    }
    Ok(annotations)
}

fn annotation(index: usize, document: Map<String, Value>) -> Result<ParsedAnnotation, String> {
    let problem = |field: &str, problem: &str| format!("{index}.{field}: {problem}");
    let required = |field: &str| match document.get(field) {
        None => Err(problem(field, "required field")),
        Some(Value::Null) => Err(problem(field, "null value not allowed")),
        Some(value) => Ok(value),
    };

    let cluster = match required("cluster")? {
        Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Value::Number(n) if n.is_u64() => {
            return Err(problem("cluster", &format!("max value is {}", i64::MAX)))
        }
        _ => return Err(problem("cluster", "must be of integer type")),
    };

    let Value::Object(families) = required("families")? else {
        return Err(problem("families", "must be of dict type"));
    };
    if let Some((family, rule)) = families
        .keys()
        .find_map(|family| check_name(family).err().map(|rule| (family, rule)))
    {
        return Err(problem(&format!("families.{family:?}"), rule));
    }
    if let Some((family, _)) = families.iter().find(|(_, count)| !is_integer(count)) {
        return Err(problem(
            &format!("families.{family}"),
            "must be of integer type",
        ));
    }

    let Value::Array(name_values) = required("names")? else {
        return Err(problem("names", "must be of list type"));
    };
    let mut names = Vec::with_capacity(name_values.len());
    for (i, name) in name_values.iter().enumerate() {
        match name {
            Value::String(name) => match check_name(name) {
                Ok(()) => names.push(name.clone()),
                Err(rule) => return Err(problem(&format!("names.{i}"), rule)),
            },
            _ => return Err(problem(&format!("names.{i}"), "must be of string type")),
        }
    }

    // The first id key that is present and not null wins; the cluster number is the fallback.
    let given = ID_KEYS.iter().find_map(|key| {
        document
            .get(*key)
            .filter(|v| !v.is_null())
            .map(|v| (*key, v))
    });
    let id = match given {
        None => cluster.to_string(),
        Some((_, Value::Number(n))) if is_integer_number(n) => n.to_string(),
        Some((key, Value::String(s))) if s.is_empty() => {
            return Err(problem(key, "empty values not allowed"))
        }
        Some((key, Value::String(s))) => match check_name(s) {
            Ok(()) => s.clone(),
            Err(rule) => return Err(problem(key, rule)),
        },
        Some((key, _)) => return Err(problem(key, "must be of string type")),
    };

    Ok(ParsedAnnotation {
        id,
        cluster,
        families: families.clone(),
        names,
        document,
    })
}

fn is_integer(value: &Value) -> bool {
    matches!(value, Value::Number(n) if is_integer_number(n))
}

fn is_integer_number(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::gzip::maybe_gunzip;
    use proptest::prelude::*;
    use serde_json::json;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/hmm/");

    fn fixture(name: &str) -> Vec<u8> {
        let bytes = std::fs::read(format!("{FIXTURES}{name}")).unwrap();
        maybe_gunzip(bytes, 1 << 30).unwrap()
    }

    fn parse(value: Value) -> Result<Vec<ParsedAnnotation>, String> {
        parse_annotations(value.to_string().as_bytes())
    }

    fn valid() -> Value {
        json!({"cluster": 2578, "count": 5, "families": {"Marseillevirus family": 1, "None": 2},
               "genera": {"None": 1}, "names": ["hypothetical protein", "MAR_ORF085"],
               "entries": [{"gi": "284504117", "accession": "YP_003406832.1"}]})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut doc = valid();
        doc[field] = value;
        json!([valid(), doc])
    }

    fn without(field: &str) -> Value {
        let mut doc = valid();
        doc.as_object_mut().unwrap().remove(field);
        json!([doc])
    }

    #[test]
    fn example_annotations_get_cluster_ids() {
        let parsed = parse_annotations(&fixture("annotations.json")).unwrap();
        let ids: Vec<_> = parsed.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["10", "100", "1000"]);
        assert_eq!(parsed[0].cluster, 10);
        assert_eq!(
            parsed[0].families,
            *json!({"Papillomaviridae": 102}).as_object().unwrap()
        );
        assert_eq!(
            parsed[0].names,
            ["L1", "L1 protein", "major capsid protein"]
        );
        assert_eq!(parsed[0].document["length"], json!(505));
        assert!(parsed[0].document.contains_key("entries"));
    }

    #[test]
    fn virtool_hmm_test_annotations_keep_family_order() {
        let parsed = parse_annotations(&fixture("virtool-hmm.tests.annotations.json")).unwrap();
        let clusters: Vec<_> = parsed.iter().map(|a| a.cluster).collect();
        assert_eq!(clusters, [2, 3, 4, 5, 8, 9, 10]);
        let families: Vec<_> = parsed[3].families.keys().collect();
        assert_eq!(families, ["Poxviridae", "Geminiviridae", "None"]);
    }

    #[test]
    fn the_full_vfam_set_parses() {
        let parsed = parse_annotations(&fixture("vfam.annotations.derived.json.gz")).unwrap();
        assert_eq!(parsed.len(), 4717);
        assert!(parsed.iter().all(|a| a.id == a.cluster.to_string()));
        let families: Vec<_> = parsed[3].families.keys().collect();
        assert_eq!(families, ["Geminiviridae", "None", "Poxviridae"]);
    }

    #[test]
    fn legacy_ids_are_taken() {
        let file: Value =
            serde_json::from_slice(&fixture("nuvs_results_hmm_ids.derived.json")).unwrap();
        let parsed = parse(file["annotations"].clone()).unwrap();
        assert_eq!(parsed.len(), 6);
        let rejiddnd = parsed.iter().find(|a| a.id == "rejiddnd").unwrap();
        assert_eq!(rejiddnd.cluster, 5143);
        assert_eq!(rejiddnd.document["legacy_id"], json!("rejiddnd"));
    }

    #[test]
    fn id_precedence_and_integer_ids() {
        let mut doc = valid();
        doc["legacy_id"] = json!("legacy");
        assert_eq!(parse(json!([doc.clone()])).unwrap()[0].id, "legacy");
        doc["_id"] = json!(77);
        assert_eq!(parse(json!([doc.clone()])).unwrap()[0].id, "77");
        doc["id"] = json!("first");
        assert_eq!(parse(json!([doc.clone()])).unwrap()[0].id, "first");
        doc["id"] = Value::Null;
        assert_eq!(parse(json!([doc])).unwrap()[0].id, "77");
        assert_eq!(parse(json!([])).unwrap(), []);
    }

    #[test]
    fn field_errors_name_their_path() {
        let cases = [
            (parse_annotations(b"{]"), "not valid JSON: "),
            (parse_annotations(b""), "not valid JSON: "),
            (
                parse(json!({"annotations": []})),
                "expected a list of annotations",
            ),
            (parse(json!([valid(), 5])), "1: must be of dict type"),
            (parse(without("cluster")), "0.cluster: required field"),
            (
                parse(with("cluster", Value::Null)),
                "1.cluster: null value not allowed",
            ),
            (
                parse(with("cluster", json!("12"))),
                "1.cluster: must be of integer type",
            ),
            (
                parse(with("cluster", json!(1.5))),
                "1.cluster: must be of integer type",
            ),
            (
                parse(with("cluster", json!(u64::MAX))),
                "1.cluster: max value is ",
            ),
            (parse(without("families")), "0.families: required field"),
            (
                parse(with("families", json!([]))),
                "1.families: must be of dict type",
            ),
            (
                parse(with("families", json!({"A": 1, "B": "2"}))),
                "1.families.B: must be of integer type",
            ),
            (
                parse(with("families", json!({"A": 1.5}))),
                "1.families.A: must be of integer type",
            ),
            (parse(without("names")), "0.names: required field"),
            (
                parse(with("names", json!("L1"))),
                "1.names: must be of list type",
            ),
            (
                parse(with("names", json!(["L1", 2]))),
                "1.names.1: must be of string type",
            ),
            (
                parse(with("id", json!(""))),
                "1.id: empty values not allowed",
            ),
            (
                parse(with("_id", json!(true))),
                "1._id: must be of string type",
            ),
            (
                parse(with("legacy_id", json!(2.5))),
                "1.legacy_id: must be of string type",
            ),
            (parse(json!([valid(), valid()])), "1: duplicate id 2578"),
            (parse(with("id", json!("2578"))), "1: duplicate id 2578"),
        ];
        for (result, expected) in cases {
            let err = result.unwrap_err();
            assert!(
                err.starts_with(expected),
                "{err:?} should start with {expected:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_annotations(&bytes);
        }

        #[test]
        fn mutations_are_reported_with_their_path(
            field in prop::sample::select(vec!["cluster", "families", "names"]),
            bad in prop::sample::select(
                vec![json!("x"), json!(1.5), json!([{}]), json!(null), json!({"k": []})],
            ),
            position in 0usize..4,
        ) {
            // Every `bad` value breaks every field: a family count must be an integer, too.
            let mut docs = vec![valid(); 4];
            for (cluster, doc) in docs.iter_mut().enumerate() {
                doc["cluster"] = json!(cluster);
            }
            docs[position][field] = bad;
            let err = parse(Value::Array(docs)).unwrap_err();
            let prefix = format!("{position}.{field}");
            prop_assert!(err.starts_with(&prefix), "{} should start with {}", err, prefix);
        }
    }
}
