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
            name: name_field(export.name, "", "name", false)?,
            data_type: data_type(export.data_type)?,
            organism: name_field(export.organism, "", "organism", false)?
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
        let name = name_field(raw.name, &path, "name", true)?.unwrap_or_default();
        let abbreviation = name_field(raw.abbreviation, &path, "abbreviation", false)?;
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
            let source_type = name_field(raw.source_type, &path, "source_type", false)?;
            let source_name = name_field(raw.source_name, &path, "source_name", false)?;
            let raw_sequences = list(raw.sequences, &path, "sequences")?;
            let mut sequences = Vec::with_capacity(raw_sequences.len());
            for (s, item) in raw_sequences.into_iter().enumerate() {
                let path = format!("{path}.sequences.{s}");
                let raw = dict(item, &path)?;
                sequences.push(ParsedSequence {
                    id: unique_id(raw.under_id, raw.id, &path, &mut sequence_ids, "sequence")?,
                    accession: required_string(raw.accession, &path, "accession", false)
                        .and_then(|a| stored_name(&a, &path, "accession").map(|()| a))?,
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
    stored_name(&id, base, key)?;
    if !taken.insert(id.clone()) {
        return Err(problem(base, key, &format!("duplicate {what} id {id}")));
    }
    Ok(id)
}

/// Names and ids are stored as they are: they must pass the storage rule of `model::text`.
fn stored_name(value: &str, base: &str, field: &str) -> Result<(), String> {
    crate::model::text::check_name(value).map_err(|rule| problem(base, field, rule))
}

/// A name field: a string that must pass [`stored_name`].
fn name_field(v: Field, base: &str, field: &str, required: bool) -> Result<Option<String>, String> {
    let value = if required {
        Some(required_string(v, base, field, true)?)
    } else {
        optional_string(v, base, field)?
    };
    if let Some(value) = &value {
        stored_name(value, base, field)?;
    }
    Ok(value)
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
mod tests;
