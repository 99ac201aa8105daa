//! The BLAST result transform (spec/blast.md §3): unwraps a raw BLAST JSON2 report and reduces it
//! to the stored `result`.
//!
//! Both backends feed it: the NCBI zip member `<RID>_1.json`, BLAST+ `-outfmt 13` (same shape) and
//! BLAST+ `-outfmt 15` (a one-element list envelope). Values are cloned as `serde_json::Value`s and
//! never converted, so integers such as `stat.eff_space` (> 2^50) stay exact and `evalue: 0` stays
//! the integer `0`.

use std::fmt;

use serde_json::{Map, Value};

/// Why a document is not a usable BLAST report. Every variant means the backend's "unable to
/// interpret" error; the detail is only for the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformError {
    /// The document is not an object whose only key is `BlastOutput2` (§3.1 rule 1).
    NoEnvelope,
    /// `BlastOutput2` is a list without exactly one element (more than one query, or none).
    QueryCount(usize),
    /// `BlastOutput2` (or its single element) is not an object whose only key is `report`.
    NoReport,
    /// A required field is missing or has the wrong JSON type; the path is relative to `report`.
    Missing(&'static str),
    /// The report is BLAST+ `-subject` (bl2seq) output, which vira never asks for.
    Bl2seq,
    /// Hit number `index` (0-based, in `search.hits`) lacks a field the stored hit needs.
    HitField { index: usize, field: &'static str },
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoEnvelope => f.write_str("not an object with the single key BlastOutput2"),
            Self::QueryCount(n) => write!(f, "BlastOutput2 holds {n} reports instead of one"),
            Self::NoReport => {
                f.write_str("BlastOutput2 entry is not an object with the single key report")
            }
            Self::Missing(path) => write!(f, "report.{path} is missing or malformed"),
            Self::Bl2seq => f.write_str("report has results.bl2seq (BLAST+ -subject output)"),
            Self::HitField { index, field } => write!(f, "hit {index} has no {field}"),
        }
    }
}

impl std::error::Error for TransformError {}

/// The HSP fields copied into each stored hit, in output order.
const HSP_FIELDS: [&str; 6] = [
    "identity",
    "evalue",
    "align_len",
    "score",
    "bit_score",
    "gaps",
];

/// Applies the unwrap rule (§3.1) and the reduce (§3.2) to one parsed BLAST JSON2 document.
///
/// `target_override = Some(db_name)` makes `target` `{"db": db_name}`: the local backend passes
/// the final path component of `--blast-db` so that no filesystem path reaches a client. The NCBI
/// backend passes `None` and `report.search_target` is kept.
pub fn transform(doc: &Value, target_override: Option<&str>) -> Result<Value, TransformError> {
    let report = unwrap_report(doc)?;

    let field = |key: &'static str| report.get(key).ok_or(TransformError::Missing(key));
    let program = field("program")?;
    let params = field("params")?;
    let version = field("version")?;
    let search_target = field("search_target")?;

    let results = report
        .get("results")
        .and_then(Value::as_object)
        .ok_or(TransformError::Missing("results"))?;
    // `-subject` mode reports `bl2seq` (a list of searches) instead of `search`; its hits are not
    // database hits, so such a report is refused even if it also carried a `search`.
    if results.contains_key("bl2seq") {
        return Err(TransformError::Bl2seq);
    }
    let search = results
        .get("search")
        .and_then(Value::as_object)
        .ok_or(TransformError::Missing("results.search"))?;
    let stat = search
        .get("stat")
        .ok_or(TransformError::Missing("results.search.stat"))?;
    // BLAST+ omits `hits` for an invalid query (all `N`), which is a search without hits. A
    // present `hits` that is not a list is a damaged report rather than an empty one.
    let hits = match search.get("hits") {
        None => &[][..],
        Some(Value::Array(hits)) => hits.as_slice(),
        Some(_) => return Err(TransformError::Missing("results.search.hits")),
    };

    let target = match target_override {
        Some(db) => {
            let mut target = Map::new();
            target.insert("db".to_owned(), Value::String(db.to_owned()));
            Value::Object(target)
        }
        None => search_target.clone(),
    };

    let mut reduced_hits = Vec::with_capacity(hits.len());
    for (index, hit) in hits.iter().enumerate() {
        if let Some(reduced) = reduce_hit(index, hit)? {
            reduced_hits.push(reduced);
        }
    }

    // Insertion order is output order (serde_json `preserve_order`); clients must not rely on it,
    // but a stable order keeps stored documents and logs readable.
    let mut out = Map::new();
    out.insert("program".to_owned(), program.clone());
    out.insert("params".to_owned(), params.clone());
    out.insert("version".to_owned(), version.clone());
    out.insert("target".to_owned(), target);
    out.insert("hits".to_owned(), Value::Array(reduced_hits));
    out.insert("stat".to_owned(), stat.clone());
    let masking = search.get("query_masking").cloned().unwrap_or(Value::Null);
    out.insert("masking".to_owned(), masking);
    Ok(Value::Object(out))
}

/// §3.1: finds `report` inside `{"BlastOutput2": {"report": …}}` or
/// `{"BlastOutput2": [{"report": …}]}`.
fn unwrap_report(doc: &Value) -> Result<&Map<String, Value>, TransformError> {
    let outer = single_key(doc, "BlastOutput2").ok_or(TransformError::NoEnvelope)?;
    let entry = match outer {
        // `-outfmt 15` has one entry per query; vira always sends exactly one query, so any other
        // count means the output is not the answer to vira's request.
        Value::Array(entries) if entries.len() == 1 => &entries[0],
        Value::Array(entries) => return Err(TransformError::QueryCount(entries.len())),
        other => other,
    };
    single_key(entry, "report")
        .and_then(Value::as_object)
        .ok_or(TransformError::NoReport)
}

/// The value under `key` when `value` is an object with that key and no other.
fn single_key<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(key),
        _ => None,
    }
}

/// §3.2 for one hit: `Ok(None)` when the hit has no description or no HSP (left out, as the spec
/// says); an error when an HSP number or the subject length is missing, because a hit without
/// them cannot be shown (identity / align_len) and means the report is damaged.
fn reduce_hit(index: usize, hit: &Value) -> Result<Option<Value>, TransformError> {
    let first = |key: &str| {
        hit.get(key)
            .and_then(Value::as_array)
            .and_then(|list| list.first())
    };
    let (Some(d), Some(h)) = (first("description"), first("hsps")) else {
        return Ok(None);
    };
    // `Value::get` answers `None` on a non-object, so a malformed description falls back to the
    // defaults like a description without those keys.
    let text_or = |key: &str, default: &str| {
        d.get(key)
            .cloned()
            .unwrap_or_else(|| Value::String(default.to_owned()))
    };

    let mut out = Map::new();
    out.insert("accession".to_owned(), text_or("accession", ""));
    out.insert("taxid".to_owned(), text_or("taxid", ""));
    out.insert("title".to_owned(), text_or("title", ""));
    for field in HSP_FIELDS {
        let value = h
            .get(field)
            .ok_or(TransformError::HitField { index, field })?;
        out.insert(field.to_owned(), value.clone());
    }
    out.insert("name".to_owned(), text_or("sciname", "No name"));
    let len = hit.get("len").ok_or(TransformError::HitField {
        index,
        field: "len",
    })?;
    out.insert("len".to_owned(), len.clone());
    Ok(Some(Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// A parsed file under `fixtures/blast/`, read at run time so cases can loop over names.
    fn fixture(name: &str) -> Value {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/blast/");
        let text = std::fs::read_to_string(format!("{dir}{name}")).expect(name);
        serde_json::from_str(&text).expect(name)
    }

    #[test]
    fn ncbi_report_reduces_to_blast_json() {
        let result = transform(&fixture("unformatted_blast.json"), None).unwrap();
        assert_eq!(result, fixture("blast.json"));
        assert_eq!(result["hits"].as_array().unwrap().len(), 34);
        // Exact integers, not doubles.
        assert_eq!(
            result["stat"]["eff_space"].as_u64(),
            Some(1_192_960_531_265_996)
        );
        assert!(result["hits"][0]["evalue"].is_u64());
    }

    #[test]
    fn output_keys_are_in_spec_order() {
        let result = transform(&fixture("unformatted_blast.json"), None).unwrap();
        let keys = |v: &Value| {
            let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            keys.join(" ")
        };
        let expected = "program params version target hits stat masking";
        assert_eq!(keys(&result), expected);
        let expected =
            "accession taxid title identity evalue align_len score bit_score gaps name len";
        assert_eq!(keys(&result["hits"][0]), expected);
    }

    #[test]
    fn local_outfmt15_reports_reduce_to_expected_files() {
        for case in ["hits", "masking", "nohits"] {
            let input = fixture(&format!("local_blastplus/outfmt15_{case}.json"));
            let expected = fixture(&format!("local_blastplus/expected_formatted_{case}.json"));
            assert_eq!(
                transform(&input, Some("tinydb")).unwrap(),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn outfmt13_object_envelope_needs_no_unwrapping() {
        let input = fixture("local_blastplus/LOCALRID01_1.json");
        let expected = fixture("local_blastplus/expected_formatted_hits.json");
        assert_eq!(transform(&input, Some("tinydb")).unwrap(), expected);
    }

    #[test]
    fn override_replaces_search_target() {
        let result = transform(&fixture("unformatted_blast.json"), Some("viruses")).unwrap();
        assert_eq!(result["target"], json!({"db": "viruses"}));
    }

    /// A minimal valid report, as a base for the rule tests.
    fn report() -> Value {
        json!({"program": "blastn", "params": {}, "version": "v", "search_target": {"db": "nr"},
               "results": {"search": {"stat": {"db_num": 1}}}})
    }

    #[test]
    fn missing_hits_count_as_none_and_fallbacks_apply() {
        let empty = transform(&json!({"BlastOutput2": {"report": report()}}), None).unwrap();
        assert_eq!(empty["hits"], json!([]));
        assert_eq!(empty["masking"], Value::Null);

        let mut doc = report();
        doc["results"]["search"]["hits"] = json!([
            {"description": [{}], "hsps": [{"identity": 1, "evalue": 0, "align_len": 2, "score": 3,
             "bit_score": 4.5, "gaps": 0}], "len": 9},
            {"description": [], "hsps": [{}], "len": 1},
            {"hsps": [{}], "len": 1},
            {"description": [{}], "hsps": [], "len": 1},
        ]);
        let result = transform(&json!({"BlastOutput2": [{"report": doc}]}), None).unwrap();
        let expected = json!([{"accession": "", "taxid": "", "title": "", "identity": 1, "evalue": 0,
            "align_len": 2, "score": 3, "bit_score": 4.5, "gaps": 0, "name": "No name", "len": 9}]);
        assert_eq!(result["hits"], expected);
    }

    /// `{"BlastOutput2": {"report": r}}` where `r` is [`report`] with `path` set to `value`, or
    /// removed when `value` is `None`.
    fn report_with(path: &[&str], value: Option<Value>) -> Value {
        let mut doc = report();
        let (last, parents) = path.split_last().unwrap();
        let parent = parents.iter().fold(&mut doc, |v, k| &mut v[*k]);
        match value {
            Some(value) => parent[*last] = value,
            None => _ = parent.as_object_mut().unwrap().remove(*last),
        }
        json!({"BlastOutput2": {"report": doc}})
    }

    #[test]
    fn broken_envelopes_are_rejected() {
        use TransformError::*;
        let ok = report();
        let cases = [
            (json!([]), NoEnvelope),
            (json!({}), NoEnvelope),
            (json!({"BlastOutput2": {"report": ok}, "x": 1}), NoEnvelope),
            (json!({"Other": {"report": ok}}), NoEnvelope),
            (json!({"BlastOutput2": []}), QueryCount(0)),
            (
                json!({"BlastOutput2": [{"report": ok}, {"report": ok}]}),
                QueryCount(2),
            ),
            (json!({"BlastOutput2": "report"}), NoReport),
            (json!({"BlastOutput2": {"report": ok, "x": 1}}), NoReport),
            (json!({"BlastOutput2": [{"report": []}]}), NoReport),
            (json!({"BlastOutput2": [{"Report": ok}]}), NoReport),
        ];
        for (doc, expected) in cases {
            assert_eq!(transform(&doc, None), Err(expected), "{doc}");
        }
    }

    #[test]
    fn broken_reports_are_rejected() {
        use TransformError::*;
        for key in ["program", "params", "version", "search_target", "results"] {
            assert_eq!(
                transform(&report_with(&[key], None), None),
                Err(Missing(key))
            );
        }
        let search = ["results", "search"];
        let stat = ["results", "search", "stat"];
        let hits = ["results", "search", "hits"];
        let bad_hit = json!([{"description": [{}], "hsps": [{}], "len": 1}]);
        let cases = [
            (report_with(&search, None), Missing("results.search")),
            (
                report_with(&search, Some(json!([]))),
                Missing("results.search"),
            ),
            (report_with(&stat, None), Missing("results.search.stat")),
            (
                report_with(&hits, Some(json!({}))),
                Missing("results.search.hits"),
            ),
            (report_with(&["results", "bl2seq"], Some(json!([]))), Bl2seq),
            (
                report_with(&hits, Some(bad_hit)),
                HitField {
                    index: 0,
                    field: "identity",
                },
            ),
        ];
        for (doc, expected) in cases {
            assert!(!expected.to_string().is_empty());
            assert_eq!(transform(&doc, None), Err(expected), "{doc}");
        }
        // bl2seq instead of search, in the list envelope, as BLAST+ -subject writes it.
        let mut bl2seq = report();
        bl2seq["results"] = json!({"bl2seq": [{"hits": []}]});
        let doc = json!({"BlastOutput2": [{"report": bl2seq}]});
        assert_eq!(transform(&doc, None), Err(Bl2seq));
    }

    /// Arbitrary JSON, biased towards the keys the transform looks at so deep paths get exercised.
    fn arb_json() -> impl Strategy<Value = Value> {
        let keys = "BlastOutput2 report program params version search_target results search stat \
                    hits description hsps len identity query_masking bl2seq";
        let keys: Vec<String> = keys.split_whitespace().map(str::to_owned).collect();
        let key = prop_oneof![prop::sample::select(keys), ".{0,4}"];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(8, 128, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..5)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(doc in arb_json(), db in proptest::option::of(".{0,8}")) {
            let _ = transform(&doc, db.as_deref());
            let _ = transform(&json!({"BlastOutput2": [{"report": doc}]}), None);
        }
    }
}
