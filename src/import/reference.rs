//! Reader of reference files (contract U18, data.md §1): a reference export or an index export.
//!
//! Files reach 26 MB, mostly nucleotide text, so they are read into typed structs that skip
//! ignored fields (`schema`, `remote`, …) instead of building a whole `serde_json::Value` tree.
//! Deserialization fails only on malformed JSON: a value of the wrong type is recorded (scalars as
//! a `Value`, containers as `Json::Wrong`), and validation then reports the first broken rule in
//! document order with its dotted path, which a serde type error could not name.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::ids::new_id;
use crate::model::otu::{IsolateSummary, OtuSummary, SequenceSummary};

/// Longest OTU, isolate or sequence id accepted (data.md §1.3).
const MAX_ID_LENGTH: usize = 128;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParsedReference {
    pub name: Option<String>,
    pub data_type: String,
    pub organism: String,
    pub otus: Vec<ParsedOtu>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParsedOtu {
    pub id: String,
    pub name: String,
    pub abbreviation: String,
    pub version: i64,
    pub isolates: Vec<ParsedIsolate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParsedIsolate {
    pub id: String,
    pub default: bool,
    pub source_type: String,
    pub source_name: String,
    pub sequences: Vec<ParsedSequence>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParsedSequence {
    pub id: String,
    pub accession: String,
    pub definition: String,
    pub host: Option<String>,
    pub segment: Option<String>,
    pub sequence: String,
}

impl ParsedReference {
    /// Numbers of OTUs, isolates and sequences, as the U18 response reports them.
    pub fn counts(&self) -> (usize, usize, usize) {
        let isolates = self.otus.iter().map(|o| o.isolates.len()).sum();
        let sequences = self
            .otus
            .iter()
            .flat_map(|o| &o.isolates)
            .map(|i| i.sequences.len());
        (self.otus.len(), isolates, sequences.sum())
    }
}

impl ParsedOtu {
    /// The OTU without nucleotide text; a sequence's length is its number of characters.
    pub fn summary(&self) -> OtuSummary {
        let isolates = self.isolates.iter().map(|i| IsolateSummary {
            id: i.id.clone(),
            default: i.default,
            source_type: i.source_type.clone(),
            source_name: i.source_name.clone(),
            sequences: (i.sequences.iter())
                .map(|s| SequenceSummary {
                    id: s.id.clone(),
                    accession: s.accession.clone(),
                    definition: s.definition.clone(),
                    length: s.sequence.chars().count() as u64,
                })
                .collect(),
        });
        OtuSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            abbreviation: self.abbreviation.clone(),
            version: self.version,
            isolates: isolates.collect(),
        }
    }
}

/// Parse and validate a reference file (already decompressed).
///
/// `Err` holds the reason that follows `Invalid reference file: `.
pub fn parse_reference(json: &[u8]) -> Result<ParsedReference, String> {
    let root: Json<RawExport, Json<RawOtu, IgnoredAny>> =
        serde_json::from_slice(json).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut reference = match root {
        Json::Dict(export) => ParsedReference {
            name: optional_string(export.name, "", "name")?,
            data_type: data_type(export.data_type)?,
            organism: optional_string(export.organism, "", "organism")?
                .unwrap_or_else(|| "virus".to_owned()),
            otus: otus(list(export.otus, "", "otus")?, "otus")?,
        },
        Json::List(items) => ParsedReference {
            name: None,
            data_type: "genome".to_owned(),
            organism: "virus".to_owned(),
            otus: otus(items, "")?,
        },
        _ => return Err("expected an object with an otus list, or a list of OTUs".into()),
    };
    fill_missing_ids(&mut reference.otus);
    Ok(reference)
}

/// Validate every OTU, checking id uniqueness as it goes; absent ids are left empty for now.
fn otus(items: Vec<Json<RawOtu, IgnoredAny>>, base: &str) -> Result<Vec<ParsedOtu>, String> {
    let mut otu_ids = HashSet::new();
    let mut sequence_ids = HashSet::new();
    let mut parsed = Vec::with_capacity(items.len());
    for (o, item) in items.into_iter().enumerate() {
        let path = join(base, &o.to_string());
        let raw = dict(item, &path)?;
        let id = unique_id(raw.under_id, raw.id, &path, &mut otu_ids, "OTU")?;
        let name = required_string(raw.name, &path, "name", true)?;
        let abbreviation = optional_string(raw.abbreviation, &path, "abbreviation")?;
        let version = version(raw.version, &path)?;
        let raw_isolates = list(raw.isolates, &path, "isolates")?;
        let mut isolate_ids = HashSet::new();
        let mut isolates = Vec::with_capacity(raw_isolates.len());
        for (i, item) in raw_isolates.into_iter().enumerate() {
            let path = format!("{path}.isolates.{i}");
            let raw = dict(item, &path)?;
            let id = unique_id(Field(None), raw.id, &path, &mut isolate_ids, "isolate")?;
            let default = match raw.default.0 {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => b,
                _ => return Err(problem(&path, "default", "must be of boolean type")),
            };
            let source_type = optional_string(raw.source_type, &path, "source_type")?;
            let source_name = optional_string(raw.source_name, &path, "source_name")?;
            let raw_sequences = list(raw.sequences, &path, "sequences")?;
            let mut sequences = Vec::with_capacity(raw_sequences.len());
            for (s, item) in raw_sequences.into_iter().enumerate() {
                let path = format!("{path}.sequences.{s}");
                let raw = dict(item, &path)?;
                sequences.push(ParsedSequence {
                    id: unique_id(raw.under_id, raw.id, &path, &mut sequence_ids, "sequence")?,
                    accession: required_string(raw.accession, &path, "accession", false)?,
                    definition: optional_string(raw.definition, &path, "definition")?
                        .unwrap_or_default(),
                    host: optional_string(raw.host, &path, "host")?,
                    segment: optional_string(raw.segment, &path, "segment")?,
                    sequence: required_string(raw.sequence, &path, "sequence", true)?,
                });
            }
            isolates.push(ParsedIsolate {
                id,
                default,
                source_type: source_type.unwrap_or_default(),
                source_name: source_name.unwrap_or_default(),
                sequences,
            });
        }
        parsed.push(ParsedOtu {
            id,
            name,
            abbreviation: abbreviation.unwrap_or_default(),
            version,
            isolates,
        });
    }
    Ok(parsed)
}

/// Give generated ids to the records that had none. This runs after every given id is known, so
/// a generated id can never collide with one that appears later in the file.
fn fill_missing_ids(otus: &mut [ParsedOtu]) {
    fn fill(id: &mut String, taken: &mut HashSet<String>) {
        if id.is_empty() {
            *id = std::iter::repeat_with(new_id)
                .find(|c| !taken.contains(c))
                .unwrap_or_default();
            taken.insert(id.clone());
        }
    }
    let mut otu_ids: HashSet<String> = otus.iter().map(|o| o.id.clone()).collect();
    let mut sequence_ids: HashSet<String> = (otus.iter().flat_map(|o| &o.isolates))
        .flat_map(|i| i.sequences.iter().map(|s| s.id.clone()))
        .collect();
    for otu in otus {
        fill(&mut otu.id, &mut otu_ids);
        let mut isolate_ids: HashSet<String> = otu.isolates.iter().map(|i| i.id.clone()).collect();
        for isolate in &mut otu.isolates {
            fill(&mut isolate.id, &mut isolate_ids);
            for sequence in &mut isolate.sequences {
                fill(&mut sequence.id, &mut sequence_ids);
            }
        }
    }
}

/// `base.field`, or `field` at the root of the file.
fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_owned()
    } else {
        format!("{base}.{field}")
    }
}

fn problem(base: &str, field: &str, problem: &str) -> String {
    format!("{}: {problem}", join(base, field))
}

/// The id under `_id`, else under `id` (null counts as absent), checked and recorded in `taken`.
/// An absent id is returned as `""`, which no valid id can be, to be generated later.
fn unique_id(
    under_id: Field,
    id: Field,
    base: &str,
    taken: &mut HashSet<String>,
    what: &str,
) -> Result<String, String> {
    let (value, key) = match under_id.0 {
        None | Some(Value::Null) => (id.0, "id"),
        given => (given, "_id"),
    };
    let id = match value {
        None | Some(Value::Null) => return Ok(String::new()),
        // Integer ids are accepted leniently; floats are not ids.
        Some(Value::Number(n)) if !n.is_f64() => n.to_string(),
        Some(Value::String(s)) if s.is_empty() => {
            return Err(problem(base, key, "empty values not allowed"))
        }
        Some(Value::String(s)) if s.chars().count() > MAX_ID_LENGTH => {
            let limit = format!("max length is {MAX_ID_LENGTH}");
            return Err(problem(base, key, &limit));
        }
        Some(Value::String(s)) => s,
        _ => return Err(problem(base, key, "must be of string type")),
    };
    if !taken.insert(id.clone()) {
        return Err(problem(base, key, &format!("duplicate {what} id {id}")));
    }
    Ok(id)
}

fn required_string(v: Field, base: &str, field: &str, non_empty: bool) -> Result<String, String> {
    match v.0 {
        None => Err(problem(base, field, "required field")),
        Some(Value::Null) => Err(problem(base, field, "null value not allowed")),
        Some(Value::String(s)) if non_empty && s.is_empty() => {
            Err(problem(base, field, "empty values not allowed"))
        }
        Some(Value::String(s)) => Ok(s),
        _ => Err(problem(base, field, "must be of string type")),
    }
}

/// A string that may be missing or null.
fn optional_string(v: Field, base: &str, field: &str) -> Result<Option<String>, String> {
    match v.0 {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        _ => Err(problem(base, field, "must be of string type")),
    }
}

fn version(v: Field, base: &str) -> Result<i64, String> {
    match v.0 {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
            Some(i) if i < 0 => Err(problem(base, "version", "min value is 0")),
            Some(i) => Ok(i),
            None => Err(problem(
                base,
                "version",
                &format!("max value is {}", i64::MAX),
            )),
        },
        _ => Err(problem(base, "version", "must be of integer type")),
    }
}

fn data_type(v: Field) -> Result<String, String> {
    match optional_string(v, "", "data_type")? {
        None => Ok("genome".to_owned()),
        Some(s) if s == "genome" || s == "barcode" => Ok(s),
        Some(s) => Err(problem("", "data_type", &format!("unallowed value {s}"))),
    }
}

fn list<T>(v: ListOf<T>, base: &str, field: &str) -> Result<Vec<Json<T, IgnoredAny>>, String> {
    match v {
        Json::List(items) => Ok(items),
        Json::Missing => Err(problem(base, field, "required field")),
        Json::Null => Err(problem(base, field, "null value not allowed")),
        _ => Err(problem(base, field, "must be of list type")),
    }
}

fn dict<T>(item: Json<T, IgnoredAny>, path: &str) -> Result<T, String> {
    match item {
        Json::Dict(t) => Ok(t),
        _ => Err(format!("{path}: must be of dict type")),
    }
}

// ---- Raw documents: what the file holds, with JSON types recorded instead of enforced. ----

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawExport {
    otus: ListOf<RawOtu>,
    name: Field,
    data_type: Field,
    organism: Field,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawOtu {
    #[serde(rename = "_id")]
    under_id: Field,
    id: Field,
    name: Field,
    abbreviation: Field,
    version: Field,
    isolates: ListOf<RawIsolate>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawIsolate {
    id: Field,
    default: Field,
    source_type: Field,
    source_name: Field,
    sequences: ListOf<RawSequence>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawSequence {
    #[serde(rename = "_id")]
    under_id: Field,
    id: Field,
    accession: Field,
    definition: Field,
    host: Field,
    segment: Field,
    sequence: Field,
}

/// A scalar field: `None` when the key is absent, else its value (so `null` stays visible).
#[derive(Default)]
struct Field(Option<Value>);

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(|v| Field(Some(v)))
    }
}

/// A JSON value that should be an object `M` or a list of `E`, with other kinds recorded rather
/// than rejected. Objects and lists in the wrong place are skipped with `IgnoredAny`.
#[derive(Default)]
enum Json<M, E> {
    #[default]
    Missing,
    Null,
    Wrong,
    Dict(M),
    List(Vec<E>),
}

/// A field that should hold a list of objects `T`.
type ListOf<T> = Json<IgnoredAny, Json<T, IgnoredAny>>;

impl<'de, M: Deserialize<'de>, E: Deserialize<'de>> Deserialize<'de> for Json<M, E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<M, E>(PhantomData<(M, E)>);
        impl<'de, M: Deserialize<'de>, E: Deserialize<'de>> Visitor<'de> for V<M, E> {
            type Value = Json<M, E>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<X: de::Error>(self) -> Result<Self::Value, X> {
                Ok(Json::Null)
            }
            fn visit_bool<X: de::Error>(self, _: bool) -> Result<Self::Value, X> {
                Ok(Json::Wrong)
            }
            fn visit_i64<X: de::Error>(self, _: i64) -> Result<Self::Value, X> {
                Ok(Json::Wrong)
            }
            fn visit_u64<X: de::Error>(self, _: u64) -> Result<Self::Value, X> {
                Ok(Json::Wrong)
            }
            fn visit_f64<X: de::Error>(self, _: f64) -> Result<Self::Value, X> {
                Ok(Json::Wrong)
            }
            fn visit_str<X: de::Error>(self, _: &str) -> Result<Self::Value, X> {
                Ok(Json::Wrong)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                M::deserialize(MapAccessDeserializer::new(map)).map(Json::Dict)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // Bounded so a hostile size hint cannot reserve much up front.
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::List(items))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::gzip::maybe_gunzip;
    use proptest::prelude::*;
    use serde_json::json;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/reference/");

    fn fixture(name: &str) -> ParsedReference {
        let bytes = std::fs::read(format!("{FIXTURES}{name}")).unwrap();
        parse_reference(&maybe_gunzip(bytes, 1 << 30).unwrap()).unwrap()
    }

    fn parse(value: &Value) -> Result<ParsedReference, String> {
        parse_reference(value.to_string().as_bytes())
    }

    /// Two OTUs of two isolates of two sequences each, every id given.
    fn valid() -> Value {
        let otu = |o: usize| {
            let isolate = |i: usize| {
                let sequence = |s: usize| {
                    json!({"_id": format!("s{o}{i}{s}"), "accession": "NC_1", "definition": "d",
                           "host": null, "segment": "RNA 1", "sequence": "ACGTN", "otu_id": "x"})
                };
                json!({"id": format!("i{i}"), "default": i == 0, "source_type": "isolate",
                       "source_name": "Q767", "sequences": [sequence(0), sequence(1)]})
            };
            json!({"_id": format!("o{o}"), "name": format!("Virus {o}"), "abbreviation": "V",
                   "version": 1, "schema": [], "isolates": [isolate(0), isolate(1)]})
        };
        json!({"created_at": "2022-09-27T21:02:03Z", "data_type": "genome", "name": "ref",
               "organism": "virus", "otus": [otu(0), otu(1)]})
    }

    /// `valid()` with the value at `pointer` replaced, or removed when `value` is `None`.
    fn mutated(pointer: &str, value: Option<Value>) -> Value {
        let mut doc = valid();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = doc.pointer_mut(parent).unwrap();
        match (parent, value) {
            (Value::Object(map), Some(v)) => drop(map.insert(key.to_owned(), v)),
            (Value::Object(map), None) => drop(map.shift_remove(key)),
            (Value::Array(list), Some(v)) => list[key.parse::<usize>().unwrap()] = v,
            _ => unreachable!(),
        }
        doc
    }

    #[test]
    fn plant_viruses_export() {
        let r = fixture("plant-viruses.json.gz");
        assert_eq!(r.counts(), (2084, 3648, 4783));
        assert_eq!(r.name.as_deref(), Some("ref-plant-viruses 9712edf9"));
        assert_eq!([&r.data_type, &r.organism], ["genome", "virus"]);
        let otu = &r.otus[0];
        assert_eq!([&otu.id, &otu.name], ["c93ec9a9", "Abaca bunchy top virus"]);
        assert_eq!(otu.isolates[0].id, "4e8amg20");
        assert_eq!(otu.isolates[0].sequences[0].id, "5w3oz9pl");
        assert!(r.otus.iter().all(|o| o.version == 0));
        let summary = otu.summary();
        assert_eq!(summary.isolates[0].sequences[0].length, 1_074);
        assert_eq!(summary.isolates[0].sequences[0].accession, "NC_010317");
    }

    #[test]
    fn index_export() {
        let r = fixture("otus.json.gz");
        assert_eq!(r.counts(), (1563, 2360, 3138));
        assert_eq!(r.name, None);
        assert_eq!([&r.data_type, &r.organism], ["genome", "virus"]);
        assert_eq!(r.otus.iter().filter(|o| o.version == 0).count(), 1511);
        assert_eq!(r.otus.iter().filter(|o| o.version == 1).count(), 52);
        assert_eq!(r.otus[0].id, "pffj4lst");
        let isolates = r.otus.iter().flat_map(|o| &o.isolates);
        let sequences = isolates.flat_map(|i| &i.sequences);
        assert_eq!(sequences.filter(|s| s.host.is_none()).count(), 734);
    }

    #[test]
    fn small_export_and_uuid_sample() {
        let r = fixture("reference.json.gz");
        assert_eq!((r.counts(), r.name.clone()), ((20, 22, 26), None));
        assert_eq!(r.otus[0].id, "0b9f16ba");

        let path = format!("{FIXTURES}otu_sample.json");
        let otu: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let r = parse(&json!({ "otus": [otu] })).unwrap();
        let otu = &r.otus[0];
        assert_eq!(otu.id, "00148a21-fbf0-400d-b314-7e0b62eb2d70");
        assert_eq!(otu.abbreviation, "");
        let sequence = &otu.isolates[0].sequences[0];
        assert_eq!(sequence.id, "4b0a21b6-ab70-4a55-ad98-4ed463843737-1");
        assert_eq!(sequence.segment.as_deref(), Some("Unnamed"));
    }

    #[test]
    fn defaults_and_generated_ids() {
        let sequence = json!({"accession": "X", "sequence": "AÇGT"});
        let otu =
            json!({"name": "A", "abbreviation": null, "isolates": [{"sequences": [sequence]}]});
        let r = parse(&json!([otu.clone(), otu, {"_id": 7, "name": "B", "isolates": []}])).unwrap();
        assert_eq!(r.otus[0].summary().isolates[0].sequences[0].length, 4);
        let mut got = serde_json::to_value(&r).unwrap();
        let mut ids = HashSet::new();
        for level in ["", "/isolates/0", "/isolates/0/sequences/0"] {
            for o in 0..2 {
                let id = got
                    .pointer_mut(&format!("/otus/{o}{level}/id"))
                    .unwrap()
                    .take();
                let id = id.as_str().unwrap().to_owned();
                assert!(
                    id.len() == 8 && id.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
                );
                ids.insert(id);
            }
        }
        // The two isolates may share an id (different OTUs); OTU and sequence ids may not.
        assert!(ids.len() >= 5);
        let isolate = json!({"id": null, "default": false, "source_type": "", "source_name": "",
            "sequences": [{"id": null, "accession": "X", "definition": "", "host": null,
                           "segment": null, "sequence": "AÇGT"}]});
        let otu = json!({"id": null, "name": "A", "abbreviation": "", "version": 0,
                         "isolates": [isolate]});
        let b = json!({"id": "7", "name": "B", "abbreviation": "", "version": 0, "isolates": []});
        let expected = json!({"name": null, "data_type": "genome", "organism": "virus",
                              "otus": [otu, otu, b]});
        assert_eq!(got, expected);

        let export =
            json!({"otus": [], "name": "n", "data_type": "barcode", "organism": "bacteria"});
        let r = parse(&export).unwrap();
        assert_eq!(
            [r.name.as_deref(), Some(&r.data_type)],
            [Some("n"), Some("barcode")]
        );
        assert_eq!((r.organism.as_str(), r.counts()), ("bacteria", (0, 0, 0)));
    }

    #[test]
    fn ids_are_kept_and_scoped() {
        let r = parse(&valid()).unwrap();
        assert_eq!(r.counts(), (2, 4, 8));
        // Isolate ids repeat across OTUs.
        assert_eq!(r.otus[1].isolates[1].id, "i1");
        assert_eq!(r.otus[1].isolates[1].sequences[0].id, "s110");
        let long = "x".repeat(MAX_ID_LENGTH);
        let r = parse(&mutated("/otus/0/_id", Some(json!(long)))).unwrap();
        assert_eq!(r.otus[0].id, long);
        let r = parse(&mutated("/otus/0/_id", None)).unwrap();
        assert_eq!(r.otus[0].id.len(), 8);
    }

    #[test]
    fn file_level_rules() {
        let shape = "expected an object with an otus list, or a list of OTUs";
        let otu = r#"{"_id": "a", "name": "A", "isolates": []}"#;
        let cases: [(&str, &str); 15] = [
            (
                "",
                "not valid JSON: EOF while parsing a value at line 1 column 0",
            ),
            (
                "[] x",
                "not valid JSON: trailing characters at line 1 column 4",
            ),
            (
                r#"[{"name": "a", "name": "b"}]"#,
                "not valid JSON: duplicate field `name` at line 1 column 21",
            ),
            ("5", shape),
            ("null", shape),
            ("{}", "otus: required field"),
            (r#"{"otus": null}"#, "otus: null value not allowed"),
            (r#"{"otus": {}}"#, "otus: must be of list type"),
            (r#"{"otus": [], "name": 5}"#, "name: must be of string type"),
            (
                r#"{"otus": [], "data_type": "rna"}"#,
                "data_type: unallowed value rna",
            ),
            (
                r#"{"otus": [], "data_type": 1}"#,
                "data_type: must be of string type",
            ),
            (
                r#"{"otus": [], "organism": []}"#,
                "organism: must be of string type",
            ),
            (&format!("[{otu}, 5]"), "1: must be of dict type"),
            (&format!("[{otu}, {otu}]"), "1._id: duplicate OTU id a"),
            (
                &format!(
                    r#"[{{"_id": 7, "name": "7", "isolates": []}}, {}]"#,
                    otu.replace(r#""_id": "a""#, r#""id": "7""#)
                ),
                "1.id: duplicate OTU id 7",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_reference(input.as_bytes()).unwrap_err(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn record_rules() {
        // (pointer into `valid()`, new value as JSON or "-" to remove it, problem); the error path
        // is the pointer written with dots. $O, $I, $S: the second OTU, isolate and sequence.
        let long_id = format!(r#""{}""#, "x".repeat(129));
        let cases = [
            ("$O", "[]", "must be of dict type"),
            ("$O/_id", r#""o0""#, "duplicate OTU id o0"),
            ("$O/_id", r#""""#, "empty values not allowed"),
            ("$O/_id", &long_id, "max length is 128"),
            ("$O/_id", "true", "must be of string type"),
            ("$O/_id", "1.5", "must be of string type"),
            ("$O/name", "-", "required field"),
            ("$O/name", "null", "null value not allowed"),
            ("$O/name", r#""""#, "empty values not allowed"),
            ("$O/name", "5", "must be of string type"),
            ("$O/abbreviation", "5", "must be of string type"),
            ("$O/version", "-1", "min value is 0"),
            ("$O/version", r#""1""#, "must be of integer type"),
            ("$O/version", "1.0", "must be of integer type"),
            (
                "$O/version",
                &u64::MAX.to_string(),
                "max value is 9223372036854775807",
            ),
            ("$O/isolates", "-", "required field"),
            ("$O/isolates", r#""x""#, "must be of list type"),
            ("$I/id", r#""i0""#, "duplicate isolate id i0"),
            ("$I/default", r#""yes""#, "must be of boolean type"),
            ("$I/source_type", "5", "must be of string type"),
            ("$I/source_name", "{}", "must be of string type"),
            ("$I/sequences", "-", "required field"),
            ("$I/sequences/0", r#""s""#, "must be of dict type"),
            ("$S/_id", r#""s000""#, "duplicate sequence id s000"),
            ("$S/accession", "-", "required field"),
            ("$S/accession", "5", "must be of string type"),
            ("$S/definition", "5", "must be of string type"),
            ("$S/host", "5", "must be of string type"),
            ("$S/segment", "[]", "must be of string type"),
            ("$S/sequence", "-", "required field"),
            ("$S/sequence", r#""""#, "empty values not allowed"),
        ];
        for (pointer, value, problem) in cases {
            let pointer = (pointer.replace("$S", "$I/sequences/1"))
                .replace("$I", "$O/isolates/1")
                .replace("$O", "/otus/1");
            let value = (value != "-").then(|| serde_json::from_str(value).unwrap());
            let path = pointer[1..].replace('/', ".");
            assert_eq!(
                parse(&mutated(&pointer, value)).unwrap_err(),
                format!("{path}: {problem}")
            );
        }
        let empty = Some(json!(""));
        assert!(parse(&mutated("/otus/1/isolates/1/sequences/1/accession", empty)).is_ok());
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_reference(&bytes);
        }

        #[test]
        fn mutations_are_reported_with_their_path(
            level in 0usize..3, o in 0usize..2, i in 0usize..2, s in 0usize..2, pick in 0usize..7,
            bad in prop::sample::select(vec![json!([1]), json!({"a": 1}), json!(1.5), json!("")]),
            bare_list in any::<bool>(),
        ) {
            let fields: &[&str] = match level {
                0 => &["_id", "name", "abbreviation", "version", "isolates"],
                1 => &["id", "default", "source_type", "source_name", "sequences"],
                _ => &["_id", "accession", "definition", "host", "segment", "sequence"],
            };
            let field = fields[pick % fields.len()];
            let base = ["", "/isolates/{i}", "/isolates/{i}/sequences/{s}"][level];
            let base = base.replace("{i}", &i.to_string()).replace("{s}", &s.to_string());
            let base = format!("/otus/{o}{base}");
            // "" is a valid value for optional strings and the accession; skip those pairs.
            let empty_ok = ["abbreviation", "source_type", "source_name", "accession"];
            let empty_ok = [&empty_ok[..], &["definition", "host", "segment"]].concat();
            prop_assume!(bad != json!("") || !empty_ok.contains(&field));
            let mut doc = mutated(&format!("{base}/{field}"), Some(bad));
            if bare_list {
                doc = doc["otus"].take();
            }
            let err = parse(&doc).unwrap_err();
            let path = base.trim_start_matches('/').replace('/', ".");
            let path = if bare_list { path.trim_start_matches("otus.").to_owned() } else { path };
            let prefix = format!("{path}.{field}");
            prop_assert!(err.starts_with(&prefix), "{} should start with {}", err, prefix);
        }
    }
}
