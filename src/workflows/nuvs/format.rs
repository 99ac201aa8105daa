//! NuVs results: the finalize checks (contract §9.3), the formatted `{"hits": [...]}` document with
//! HMM annotations attached to ORF hits (§9.2), the BLAST records attached at read time (§9.4) and
//! the BLAST-independent part of the export rows (§10.3).
//!
//! Flow: [`check`] at J4 → [`CheckedNuvs::hit_ids`] to fetch the annotations →
//! [`CheckedNuvs::prepare`] → store [`PreparedNuvs`] → [`attach_blast`] on every GET. Formatting is
//! done once at finalize because annotations are add-only and the raw results immutable; only the
//! `blast` members change afterwards, and those are spliced into the stored bytes.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::field_errors::FieldErrors;

mod blast;
#[cfg(test)]
mod check_tests;
mod prepare;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub use blast::{
    attach_blast, attach_blast_at, blast_slots, blast_top_hit, contig_ends, fill_blast,
};

/// Results that passed the §9.3 NuVs checks (all but the annotation lookup, which needs the
/// store and is done by [`CheckedNuvs::prepare`]).
#[derive(Debug, Clone)]
pub struct CheckedNuvs {
    /// The contig objects of `hits`, in stored order. Checked: `index` is a unique `i64`,
    /// `sequence` a string, `orfs` (when present) a list of objects whose `hits` (when present)
    /// are lists of objects with a string or integer `hit`.
    contigs: Vec<Map<String, Value>>,
    /// `contigs[i]`'s `index`, kept so later passes need no fallible lookups.
    indexes: Vec<i64>,
    /// Size of the posted document: a good first guess for the formatted output buffer.
    raw_len: usize,
}

/// The formatted results of a finalized NuVs analysis, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedNuvs {
    /// `{"hits":[...]}` compact JSON: contigs, ORFs and ORF hits in order with all stored fields,
    /// each ORF hit plus `cluster`, `families` and `names`; no `blast` key yet (see
    /// [`attach_blast`]). Other top-level keys of the raw results are dropped (§9.2).
    pub results_json: Vec<u8>,
    /// `(contig index, offset of the contig's closing brace in results_json)`, in stored order.
    /// Stored next to `results_json`, it lets [`attach_blast_at`] splice records in without
    /// parsing; without it, [`attach_blast`] finds the contigs itself (about 10× slower).
    pub contig_ends: Vec<(i64, usize)>,
    /// Per contig, in stored order, the BLAST-independent part of the export row (§10.3).
    pub rows: Vec<ExportRow>,
}

/// One NuVs export row without its two BLAST columns (contract §10.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRow {
    /// Contig `index`.
    pub index: i64,
    /// Number of characters of `sequence`.
    pub length: u64,
    /// Smallest numeric `full_e` over the contig's ORF hits, as given; `None` when there is none.
    pub e_value: Option<serde_json::Number>,
    /// Family names of the hits' annotations, without `"None"`, de-duplicated, sorted by code
    /// point, joined with `"; "`.
    pub families: String,
    /// Number of ORFs.
    pub orf_count: u64,
}

const REQUIRED: &str = "required field";
const NOT_NULL: &str = "null value not allowed";
const NOT_LIST: &str = "must be of list type";
const NOT_DICT: &str = "must be of dict type";
const NOT_INTEGER: &str = "must be of integer type";
const NOT_STRING: &str = "must be of string type";

/// Parse `raw` (the bytes of the posted `results` object) and run the structural §9.3 NuVs
/// checks. Errors are keyed `results.hits...` in document order, at most 100 keys.
///
/// A null where a checked value (field or list item) must have a type gets `null value not
/// allowed`, the wording §3 and J4 use for null (and the Pathoscope checks too), rather than a
/// type message.
pub fn check(raw: &[u8]) -> Result<CheckedNuvs, FieldErrors> {
    let mut errors = FieldErrors::new();
    // J4 has already rejected bodies whose `results` is not an object; this only keeps the
    // function total for other callers.
    let mut root = match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(root)) => root,
        Ok(Value::Null) => return Err(single("results", NOT_NULL)),
        _ => return Err(single("results", NOT_DICT)),
    };
    let hits = match root.remove("hits") {
        None => return Err(single("results.hits", REQUIRED)),
        Some(Value::Null) => return Err(single("results.hits", NOT_NULL)),
        Some(Value::Array(hits)) => hits,
        Some(_) => return Err(single("results.hits", NOT_LIST)),
    };

    let mut contigs = Vec::with_capacity(hits.len());
    let mut indexes = Vec::with_capacity(hits.len());
    let mut seen = HashSet::with_capacity(hits.len());
    for (n, contig) in hits.into_iter().enumerate() {
        if errors.is_full() {
            break;
        }
        let path = format!("results.hits.{n}");
        let contig = match contig {
            Value::Object(contig) => contig,
            Value::Null => {
                errors.add(path, NOT_NULL);
                continue;
            }
            _ => {
                errors.add(path, NOT_DICT);
                continue;
            }
        };
        if let Some(index) = check_contig(&contig, &path, &mut seen, &mut errors) {
            indexes.push(index);
            contigs.push(contig);
        }
    }
    errors.into_result()?;
    Ok(CheckedNuvs {
        contigs,
        indexes,
        raw_len: raw.len(),
    })
}

/// Check one contig, visiting its keys in document order so errors come out in that order.
/// Returns the contig's index when it is usable (even if other errors were found, the index is
/// recorded in `seen` so later duplicates are still reported).
fn check_contig(
    contig: &Map<String, Value>,
    path: &str,
    seen: &mut HashSet<i64>,
    errors: &mut FieldErrors,
) -> Option<i64> {
    let mut index = None;
    let mut has_sequence = false;
    for (key, value) in contig {
        match key.as_str() {
            "index" => match value {
                Value::Null => errors.add(format!("{path}.index"), NOT_NULL),
                // Integers beyond i64 cannot be BLAST `sequence_index` values: they get the
                // type message like floats do.
                Value::Number(n) => match n.as_i64() {
                    Some(n) if seen.insert(n) => index = Some(n),
                    Some(n) => errors.add(
                        format!("{path}.index"),
                        format!("duplicate contig index {n}"),
                    ),
                    None => errors.add(format!("{path}.index"), NOT_INTEGER),
                },
                _ => errors.add(format!("{path}.index"), NOT_INTEGER),
            },
            "sequence" => {
                has_sequence = true;
                match value {
                    // Stored as text with its BLAST record (`model::text`).
                    Value::String(sequence) => {
                        if let Err(rule) = crate::model::text::check_name(sequence) {
                            errors.add(format!("{path}.sequence"), rule);
                        }
                    }
                    Value::Null => errors.add(format!("{path}.sequence"), NOT_NULL),
                    _ => errors.add(format!("{path}.sequence"), NOT_STRING),
                }
            }
            "orfs" => check_orfs(value, &format!("{path}.orfs"), errors),
            _ => {}
        }
    }
    if !contig.contains_key("index") {
        errors.add(format!("{path}.index"), REQUIRED);
    }
    if !has_sequence {
        errors.add(format!("{path}.sequence"), REQUIRED);
    }
    index
}

fn check_orfs(orfs: &Value, path: &str, errors: &mut FieldErrors) {
    let orfs = match orfs {
        Value::Array(orfs) => orfs,
        Value::Null => return errors.add(path, NOT_NULL),
        _ => return errors.add(path, NOT_LIST),
    };
    for (m, orf) in orfs.iter().enumerate() {
        if errors.is_full() {
            return;
        }
        let orf = match orf {
            Value::Object(orf) => orf,
            Value::Null => {
                errors.add(format!("{path}.{m}"), NOT_NULL);
                continue;
            }
            _ => {
                errors.add(format!("{path}.{m}"), NOT_DICT);
                continue;
            }
        };
        let hits = match orf.get("hits") {
            None => continue,
            Some(Value::Array(hits)) => hits,
            Some(Value::Null) => {
                errors.add(format!("{path}.{m}.hits"), NOT_NULL);
                continue;
            }
            Some(_) => {
                errors.add(format!("{path}.{m}.hits"), NOT_LIST);
                continue;
            }
        };
        for (k, hit) in hits.iter().enumerate() {
            let hit_path = format!("{path}.{m}.hits.{k}");
            match hit {
                Value::Object(hit) => match hit.get("hit") {
                    None => errors.add(format!("{hit_path}.hit"), REQUIRED),
                    Some(Value::Null) => errors.add(format!("{hit_path}.hit"), NOT_NULL),
                    Some(value) if hit_id(value).is_none() => {
                        errors.add(format!("{hit_path}.hit"), NOT_STRING)
                    }
                    Some(_) => {}
                },
                Value::Null => errors.add(hit_path, NOT_NULL),
                _ => errors.add(hit_path, NOT_DICT),
            }
        }
    }
}

/// The annotation id an ORF hit's `hit` value names: strings as they are, integers in decimal
/// (ids are compared as strings, data.md §4.2). Floats and other kinds name nothing.
fn hit_id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn single(path: &str, message: &str) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.add(path, message);
    errors
}

/// The ORF objects of a checked contig (absent `orfs` = none).
fn orfs_of(contig: &Map<String, Value>) -> &[Value] {
    match contig.get("orfs") {
        Some(Value::Array(orfs)) => orfs,
        _ => &[],
    }
}

/// The hit objects of a checked ORF (absent `hits` = none).
fn hits_of(orf: &Value) -> &[Value] {
    match orf.get("hits") {
        Some(Value::Array(hits)) => hits,
        _ => &[],
    }
}

impl CheckedNuvs {
    /// Every ORF hit's `hit` value as a string (integers in decimal), de-duplicated, in order of
    /// first appearance: the annotation ids to fetch before [`CheckedNuvs::prepare`]. Ids that
    /// no stored annotation can have (`model::text`) are left out: they are reported unknown.
    pub fn hit_ids(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for contig in &self.contigs {
            for orf in orfs_of(contig) {
                for hit in hits_of(orf) {
                    let id = hit.get("hit").and_then(hit_id);
                    if let Some(id) = id.filter(|id| crate::model::text::check_name(id).is_ok()) {
                        if seen.insert(id.clone()) {
                            ids.push(id);
                        }
                    }
                }
            }
        }
        ids
    }

    /// Number of contigs.
    pub fn len(&self) -> usize {
        self.contigs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.contigs.is_empty()
    }
}

/// The `sequence` of the contig whose `index` equals `index` (U4), read without building a tree.
pub fn contig_sequence(raw: &[u8], index: i64) -> Option<String> {
    // Members are read as unparsed slices into a map, so a duplicate key keeps its last value as
    // in `check` (whose `serde_json::Map` does the same); a derived struct would reject the
    // whole document with "duplicate field" and no contig would be found.
    type Members<'a> = std::collections::HashMap<String, &'a serde_json::value::RawValue>;
    let results: Members = serde_json::from_slice(raw).ok()?;
    let hits: Vec<Members> = serde_json::from_str(results.get("hits")?.get()).ok()?;
    let member = |contig: &Members, key: &str| -> Option<Value> {
        serde_json::from_str(contig.get(key)?.get()).ok()
    };
    hits.into_iter()
        .find(|c| member(c, "index").and_then(|v| v.as_i64()) == Some(index))
        .and_then(|c| match member(&c, "sequence")? {
            Value::String(sequence) => Some(sequence),
            _ => None,
        })
}
