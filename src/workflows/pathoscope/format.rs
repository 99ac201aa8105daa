//! Pathoscope results: finalize checks (contract §9.3), formatting (§9.1) and export rows (§10.2),
//! all prepared once at finalize (§9.4).
//!
//! The raw results are read in one streaming pass ([`de`]). Each hit is checked as soon as it is
//! read ([`check`]), and its depth array is turned into coordinates and a median and then dropped,
//! so memory stays near the size of the output rather than that of a JSON tree of 20 M numbers.
//! The output JSON is then written by hand from the index snapshot and the per-hit results
//! ([`write`]).

mod check;
mod de;
mod transcode;
mod write;

use self::check::Checker;
use self::de::{Scalar, Shape, TopSeed, TopValue};
use crate::model::field_errors::FieldErrors;
use crate::model::otu::OtuSummary;
use serde::de::DeserializeSeed;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Number;
use std::collections::HashMap;

/// Everything prepared once at finalize (contract §9.4).
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedPathoscope {
    /// The formatted `results` object (§9.1) as compact JSON bytes: the raw top-level object with
    /// `hits` replaced by the formatted OTU list; every other top-level key kept unchanged and in
    /// its original position.
    pub results_json: Vec<u8>,
    /// `results.read_count` when it is a non-negative integer, else None (§5.0).
    pub read_count: Option<i64>,
    /// One row per formatted sequence, in output order (§10.2).
    pub rows: Vec<ExportRow>,
}

/// One CSV/XLSX row (contract §10.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRow {
    pub otu: String,
    pub isolate: String,
    pub accession: String,
    pub length: u64,
    pub weight: Number,
    pub median_depth: Median,
    pub coverage: Number,
}

/// A median depth: an odd count gives the middle value as an integer, an even count the mean of
/// the two middle values as a float even when it is whole (`11.0`), since exports print the kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Median {
    Int(u64),
    Float(f64),
}

/// A plain JSON number, so stored rows read naturally; the kind survives the round trip because
/// serde_json writes whole floats with a `.0`.
impl Serialize for Median {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Median::Int(v) => s.serialize_u64(v),
            Median::Float(v) => s.serialize_f64(v),
        }
    }
}

impl<'de> Deserialize<'de> for Median {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Number::deserialize(d)? {
            n if n.is_f64() => Ok(Median::Float(n.as_f64().unwrap_or_default())),
            n => n
                .as_u64()
                .map(Median::Int)
                .ok_or_else(|| serde::de::Error::custom("a median depth is never negative")),
        }
    }
}

/// Checks and formats the raw Pathoscope `results` (the bytes of the JSON object exactly as posted
/// in J4) against the analysis's index snapshot (`otus`, by OTU id).
///
/// Errors are keyed by dotted path (`results.hits.3.otu.id`), in document order, at most 100 keys.
pub fn prepare(
    raw: &[u8],
    index_id: &str,
    otus: &HashMap<String, OtuSummary>,
) -> Result<PreparedPathoscope, FieldErrors> {
    let mut reader = serde_json::Deserializer::from_slice(raw);
    let parsed = TopSeed(|| Checker::new(otus, index_id))
        .deserialize(&mut reader)
        .and_then(|top| reader.end().map(|()| top));
    let entries = match parsed {
        Ok(Shape::Ok(entries)) => entries,
        Ok(Shape::Wrong { null }) => {
            return Err(one_error("results", de::type_message(null, "dict")))
        }
        // The caller has already parsed `raw` as an object; should that not hold, the closest
        // contract message is the one for a `results` that is not an object.
        Err(_) => return Err(one_error("results", "must be of dict type".to_owned())),
    };

    let mut errors = FieldErrors::new();
    if !entries.iter().any(|(key, _)| key == "hits") {
        errors.add("results.hits", "required field");
    }
    let mut outs = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let out = match value {
            TopValue::Raw(bytes) => Out::Raw(bytes),
            TopValue::Hits(Shape::Wrong { null }, _) => {
                errors.add("results.hits", de::type_message(null, "list"));
                continue;
            }
            TopValue::Hits(Shape::Ok(()), checker) => {
                merge(&mut errors, checker.errors);
                Out::Hits(checker.hits)
            }
            TopValue::Count(scalar) => match count(scalar) {
                Ok(n) => Out::Num(n),
                Err(message) => {
                    errors.add(format!("results.{key}"), message);
                    continue;
                }
            },
        };
        outs.push((key, out));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let read_count = outs.iter().find_map(|(key, out)| match out {
        Out::Num(n) if key == "read_count" => n.as_i64(),
        _ => None,
    });
    let (results_json, rows) = write::write_results(&outs, otus);
    Ok(PreparedPathoscope {
        results_json,
        read_count,
        rows,
    })
}

/// A checked top-level entry, ready to be written.
enum Out {
    Raw(Vec<u8>),
    Num(Number),
    Hits(Vec<check::HitOut>),
}

/// `read_count` and `subtracted_count`: integers ≥ 0 when present.
fn count(value: Scalar) -> Result<Number, String> {
    let n = value.number(true)?;
    if n.as_i64().is_some_and(|v| v < 0) {
        return Err("min value is 0".to_owned());
    }
    Ok(n)
}

fn one_error(path: &str, message: String) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.add(path, message);
    errors
}

fn merge(into: &mut FieldErrors, from: FieldErrors) {
    for (path, messages) in from.into_map() {
        for message in messages.as_array().into_iter().flatten() {
            into.add(path.clone(), message.as_str().unwrap_or_default());
        }
    }
}

/// Appends `value` as JSON. Serializing strings, finite numbers and keys into a `Vec` cannot fail.
fn push_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("JSON into a Vec<u8> cannot fail");
}

/// The export's isolate name (§10.2): `Unnamed Isolate` unless both parts are set, else the
/// source type capitalized (first character upper, rest lower) and the source name as stored.
pub fn isolate_name(source_type: &str, source_name: &str) -> String {
    let mut chars = source_type.chars();
    match chars.next() {
        Some(first) if !source_name.is_empty() => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(&chars.as_str().to_lowercase());
            out.push(' ');
            out.push_str(source_name);
            out
        }
        _ => "Unnamed Isolate".to_owned(),
    }
}

#[cfg(test)]
mod tests;
