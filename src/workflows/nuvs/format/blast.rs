//! BLAST records in NuVs results: splicing them into the stored document on every read (contract
//! §9.2, §9.4) and the two BLAST columns of the export (§10.3).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Start of every document [`super::CheckedNuvs::prepare`] writes.
const HEAD: &[u8] = b"{\"hits\":[";

/// Add `"blast": <record or null>` as the last key of every contig of `results_json` (the stored
/// [`super::PreparedNuvs::results_json`]), the record being `blast[contig index]`; records are
/// complete, serialized §8.5 objects. A document this module did not write is returned unchanged.
///
/// Finds the contigs with [`contig_ends`] (two serde passes, no `Value` tree: ~4 ms for an L-sized
/// 6 MB document). When the offsets of [`super::PreparedNuvs::contig_ends`] are stored with the
/// document, [`attach_blast_at`] skips that and costs only the copy (~0.5 ms).
pub fn attach_blast(results_json: &[u8], blast: &BTreeMap<i64, Box<RawValue>>) -> Vec<u8> {
    match contig_ends(results_json) {
        Some(ends) => splice(results_json, &ends, blast),
        None => results_json.to_vec(),
    }
}

/// The stored document of a NuVs analysis (every contig ending in `"blast":null`, as finalize
/// stores it) with the given records in place of those `null`s: the document the GET serves.
/// A document without the `null`s gets the records added ([`attach_blast`]).
pub fn fill_blast(stored: &[u8], blast: &BTreeMap<i64, Box<RawValue>>) -> Vec<u8> {
    match blast_slots(stored) {
        Some(slots) => {
            let records: usize = blast.values().map(|record| record.get().len()).sum();
            let mut out = Vec::with_capacity(stored.len() + records);
            let mut from = 0;
            for (index, at) in slots {
                out.extend_from_slice(&stored[from..at]);
                match blast.get(&index) {
                    Some(record) => out.extend_from_slice(record.get().as_bytes()),
                    None => out.extend_from_slice(NULL),
                }
                from = at + NULL.len();
            }
            out.extend_from_slice(&stored[from..]);
            out
        }
        None => attach_blast(stored, blast),
    }
}

const NULL: &[u8] = b"null";

/// Where the `null` of each contig's final `"blast":null` starts, with the contig's index;
/// `None` when some contig does not end that way.
pub fn blast_slots(stored: &[u8]) -> Option<Vec<(i64, usize)>> {
    const KEY: &[u8] = b",\"blast\":null";
    contig_ends(stored)?
        .into_iter()
        .map(|(index, end)| {
            let start = end.checked_sub(KEY.len())?;
            (stored.get(start..end) == Some(KEY)).then_some((index, end - NULL.len()))
        })
        .collect()
}

/// [`attach_blast`] with the contig offsets stored at finalize
/// ([`super::PreparedNuvs::contig_ends`]): this runs on every GET of a NuVs analysis, so it splices
/// bytes instead of parsing. Offsets that visibly do not fit the document (say, those of another
/// analysis) are caught by a cheap check and recomputed instead of being trusted.
pub fn attach_blast_at(
    results_json: &[u8],
    contig_ends: &[(i64, usize)],
    blast: &BTreeMap<i64, Box<RawValue>>,
) -> Vec<u8> {
    if ends_fit(results_json, contig_ends) {
        splice(results_json, contig_ends, blast)
    } else {
        attach_blast(results_json, blast)
    }
}

/// Insert `,"blast":<record>` before each closing brace at `ends` (checked offsets).
fn splice(json: &[u8], ends: &[(i64, usize)], blast: &BTreeMap<i64, Box<RawValue>>) -> Vec<u8> {
    const KEY: &[u8] = b",\"blast\":";
    let records: usize = blast.values().map(|record| record.get().len()).sum();
    let mut out = Vec::with_capacity(json.len() + ends.len() * (KEY.len() + 4) + records);
    let mut from = 0;
    for &(index, end) in ends {
        // Contigs are never empty objects (they have `index`), so a comma always fits before
        // the closing brace.
        out.extend_from_slice(&json[from..end]);
        out.extend_from_slice(KEY);
        match blast.get(&index) {
            Some(record) => out.extend_from_slice(record.get().as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        from = end;
    }
    out.extend_from_slice(&json[from..]);
    out
}

/// Whether `ends` look like the contig ends of `json`: increasing offsets of `}` each followed by
/// the next contig (`,{`) or the end of the document (`]}`). This catches offsets of another
/// document and keeps every slice in bounds, at a cost independent of the document size; it
/// cannot notice a dropped middle entry or a wrong index (that would need the full scan the
/// offsets exist to avoid), so the offsets must be stored together with their document.
fn ends_fit(json: &[u8], ends: &[(i64, usize)]) -> bool {
    if ends.is_empty() {
        return json == b"{\"hits\":[]}";
    }
    if !json.starts_with(HEAD) {
        return false;
    }
    let mut start = HEAD.len();
    for (i, &(_, end)) in ends.iter().enumerate() {
        let last = i + 1 == ends.len();
        let fits = if last {
            json.get(end..) == Some(b"}]}".as_slice())
        } else {
            json.get(end..end.saturating_add(3)) == Some(b"},{".as_slice())
        };
        if end <= start || !fits {
            return false;
        }
        start = end + 2;
    }
    true
}

/// Recompute [`super::PreparedNuvs::contig_ends`] from a stored document, for callers that did
/// not keep them. `None` when `results_json` is not a `{"hits": [contig, ...]}` document whose
/// contigs all have an integer `index`. Costs two serde passes over the document.
pub fn contig_ends(results_json: &[u8]) -> Option<Vec<(i64, usize)>> {
    #[derive(Deserialize)]
    struct Document<'a> {
        #[serde(borrow)]
        hits: Vec<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct Contig {
        index: i64,
    }
    let document: Document = serde_json::from_slice(results_json).ok()?;
    let base = results_json.as_ptr() as usize;
    document
        .hits
        .into_iter()
        .map(|raw| {
            let text = raw.get();
            // A borrowed RawValue is a sub-slice of the input: its address gives its offset.
            let end = (text.as_ptr() as usize - base) + text.len().checked_sub(1)?;
            let contig: Contig = serde_json::from_str(text).ok()?;
            (results_json.get(end) == Some(&b'}')).then_some((contig.index, end))
        })
        .collect()
}

/// The export's `BLAST Top Hit` and `BLAST Accession` (§10.3): the first hit's `name` and
/// `accession` when the record is `ready` and its `result.hits` is not empty, else `None`.
/// A missing or non-string value gives `""` (the transform always writes strings there).
pub fn blast_top_hit(record: &Value) -> Option<(String, String)> {
    if record.get("ready") != Some(&Value::Bool(true)) {
        return None;
    }
    let top = record.get("result")?.get("hits")?.as_array()?.first()?;
    let text = |key: &str| {
        top.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Some((text("name"), text("accession")))
}
