//! Expected values computed straight from the fixture files, without vira's formatting code.
//!
//! Number texts come from the fixtures themselves: they were written by Python's `json.dumps`,
//! which prints floats with `repr`, the form the CSV export must use (contract §10.1).

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::support::fixture_bytes;

/// The OTUs of `reference/otus.json.gz`, by `_id`.
pub fn index_otus() -> &'static HashMap<String, Value> {
    static OTUS: OnceLock<HashMap<String, Value>> = OnceLock::new();
    OTUS.get_or_init(|| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&fixture_bytes("reference/otus.json.gz")[..])
            .read_to_string(&mut text)
            .unwrap();
        let list: Vec<Value> = serde_json::from_str(&text).unwrap();
        list.into_iter()
            .map(|otu| (otu["_id"].as_str().unwrap().to_owned(), otu))
            .collect()
    })
}

#[derive(Deserialize)]
pub struct RawHit {
    pub id: String,
    pub otu: OtuRef,
    pub align: Vec<u64>,
    pub coverage: Box<RawValue>,
    #[serde(rename = "final")]
    pub fin: Final,
}

#[derive(Deserialize)]
pub struct OtuRef {
    pub id: String,
}

#[derive(Deserialize)]
pub struct Final {
    pub pi: Box<RawValue>,
    pub best: Box<RawValue>,
    pub reads: i64,
}

#[derive(Deserialize)]
struct RawResults {
    hits: Vec<RawHit>,
}

/// The hits of the fitted Pathoscope fixture, numbers kept as their text.
pub fn pathoscope_hits() -> Vec<RawHit> {
    let bytes = fixture_bytes("pathoscope/results.fitted.derived.json");
    let text = String::from_utf8(bytes).unwrap();
    serde_json::from_str::<RawResults>(&text).unwrap().hits
}

fn num(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap()
}

/// `source_type` capitalized like Python's `str.capitalize`, then `source_name` (contract §10.2).
pub fn isolate_name(isolate: &Value) -> String {
    let kind = isolate["source_type"].as_str().unwrap_or("");
    let name = isolate["source_name"].as_str().unwrap_or("");
    if kind.is_empty() || name.is_empty() {
        return "Unnamed Isolate".to_owned();
    }
    let mut chars = kind.chars();
    let first = chars.next().unwrap().to_uppercase().collect::<String>();
    format!("{first}{} {name}", chars.as_str().to_lowercase())
}

/// The median of §10.2 as CSV text: an integer for odd counts, a float for even ones.
pub fn median_text(depth: &[u64]) -> String {
    let mut sorted = depth.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n == 0 {
        return "0".to_owned();
    }
    if n % 2 == 1 {
        return sorted[n / 2].to_string();
    }
    let sum = sorted[n / 2 - 1] + sorted[n / 2];
    format!(
        "{}.{}",
        sum / 2,
        if sum.is_multiple_of(2) { "0" } else { "5" }
    )
}

/// Expected Pathoscope output (§9.1) with `align` left as `null`, and the CSV data rows (§10.2).
pub struct Pathoscope {
    pub otus: Vec<Value>,
    /// Raw depth arrays by sequence id.
    pub depth: HashMap<String, Vec<u64>>,
    pub csv_rows: Vec<String>,
    /// `(otu, isolate, accession, length, pi, median, coverage)` for the XLSX comparison.
    pub cells: Vec<(String, String, String, f64, f64, f64, f64)>,
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn pathoscope() -> Pathoscope {
    let hits = pathoscope_hits();
    let index = index_otus();
    let mut order: Vec<&str> = Vec::new();
    for hit in &hits {
        if !order.contains(&hit.otu.id.as_str()) {
            order.push(&hit.otu.id);
        }
    }
    let by_id: HashMap<&str, &RawHit> = hits.iter().map(|h| (h.id.as_str(), h)).collect();
    let (mut otus, mut csv_rows, mut cells) = (Vec::new(), Vec::new(), Vec::new());
    for otu_id in order {
        let otu = &index[otu_id];
        let mut length = 0;
        let mut isolates = Vec::new();
        for isolate in otu["isolates"].as_array().unwrap() {
            let mut sequences = Vec::new();
            for seq in isolate["sequences"].as_array().unwrap() {
                let len = seq["sequence"].as_str().unwrap().chars().count();
                length = length.max(len);
                let Some(hit) = by_id.get(seq["_id"].as_str().unwrap()) else {
                    continue;
                };
                sequences.push(json!({
                    "id": seq["_id"], "accession": seq["accession"],
                    "definition": seq["definition"], "length": len, "align": null,
                    "best": num(&hit.fin.best), "coverage": num(&hit.coverage),
                    "pi": num(&hit.fin.pi), "reads": hit.fin.reads,
                }));
                let median = median_text(&hit.align);
                csv_rows.push(format!(
                    "{},{},{},{len},{},{median},{}",
                    quoted(otu["name"].as_str().unwrap()),
                    quoted(&isolate_name(isolate)),
                    quoted(seq["accession"].as_str().unwrap()),
                    hit.fin.pi.get(),
                    hit.coverage.get(),
                ));
                cells.push((
                    otu["name"].as_str().unwrap().to_owned(),
                    isolate_name(isolate),
                    seq["accession"].as_str().unwrap().to_owned(),
                    len as f64,
                    hit.fin.pi.get().parse().unwrap(),
                    median.parse().unwrap(),
                    hit.coverage.get().parse().unwrap(),
                ));
            }
            if !sequences.is_empty() {
                isolates.push(json!({
                    "id": isolate["id"], "default": isolate["default"],
                    "source_type": isolate["source_type"], "source_name": isolate["source_name"],
                    "sequences": sequences,
                }));
            }
        }
        otus.push(json!({
            "id": otu_id, "name": otu["name"], "abbreviation": otu["abbreviation"],
            "version": otu["version"], "length": length, "isolates": isolates,
        }));
    }
    let depth = hits.into_iter().map(|h| (h.id, h.align)).collect();
    Pathoscope {
        otus,
        depth,
        csv_rows,
        cells,
    }
}

/// Step A of §9.1 (run-length compaction), written out from the contract's definition.
pub fn run_length_points(c: &[u64]) -> Vec<(usize, u64)> {
    let l = c.len();
    if l == 0 {
        return Vec::new();
    }
    let mut points = vec![(0, c[0])];
    for x in 1..l.saturating_sub(1) {
        if c[x] != c[x - 1] || c[x] != c[x + 1] {
            points.push((x, c[x]));
        }
    }
    if l > 1 {
        points.push((l - 1, c[l - 1]));
    }
    points
}

/// Checks a formatted `align` against the raw depth array: every point lies on the coverage,
/// x ascends, the ends are kept, and the point count is the contract's.
#[track_caller]
pub fn check_align(align: &Value, depth: &[u64]) {
    let points: Vec<(usize, u64)> = align
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = p.as_array().unwrap();
            assert_eq!(p.len(), 2);
            (p[0].as_u64().unwrap() as usize, p[1].as_u64().unwrap())
        })
        .collect();
    let step_a = run_length_points(depth);
    if step_a.len() <= 100 {
        assert_eq!(points, step_a);
        return;
    }
    assert_eq!(points.len(), 2 * step_a.len() / 5);
    assert_eq!(points.first(), step_a.first());
    assert_eq!(points.last(), step_a.last());
    for pair in points.windows(2) {
        assert!(pair[0].0 < pair[1].0, "x must ascend: {pair:?}");
    }
    for &(x, y) in &points {
        assert_eq!(y, depth[x], "point ({x}, {y}) is off the coverage");
    }
}

/// The six annotations of `hmm/nuvs_results_hmm_ids.derived.json`, by legacy id.
pub fn nuvs_annotations() -> HashMap<String, Value> {
    let file: Value =
        serde_json::from_slice(&fixture_bytes("hmm/nuvs_results_hmm_ids.derived.json")).unwrap();
    file["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["legacy_id"].as_str().unwrap().to_owned(), a.clone()))
        .collect()
}

/// Expected NuVs `results.hits` (§9.2, no BLAST records yet) and CSV data rows (§10.3).
pub fn nuvs() -> (Vec<Value>, Vec<String>) {
    let annotations = nuvs_annotations();
    let text = String::from_utf8(fixture_bytes("nuvs/results.json")).unwrap();
    let raw: Vec<&RawValue> = serde_json::from_str(&text).unwrap();
    let mut contigs = Vec::new();
    let mut rows = Vec::new();
    for contig_raw in raw {
        let mut contig: Value = serde_json::from_str(contig_raw.get()).unwrap();
        let sequence_len = contig["sequence"].as_str().unwrap().chars().count();
        let mut families: Vec<String> = Vec::new();
        let mut best: Option<(f64, String)> = None;
        let orfs = contig["orfs"].as_array_mut().unwrap();
        let orf_count = orfs.len();
        for orf in orfs {
            for hit in orf["hits"].as_array_mut().unwrap() {
                let annotation = &annotations[hit["hit"].as_str().unwrap()];
                let object = hit.as_object_mut().unwrap();
                object.insert("cluster".into(), annotation["cluster"].clone());
                object.insert("families".into(), annotation["families"].clone());
                object.insert("names".into(), annotation["names"].clone());
                families.extend(
                    annotation["families"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .filter(|k| *k != "None")
                        .cloned(),
                );
                let e = object["full_e"].as_f64().unwrap();
                if best.as_ref().is_none_or(|(b, _)| e < *b) {
                    best = Some((e, repr_of(contig_raw.get(), &object["full_e"])));
                }
            }
        }
        families.sort();
        families.dedup();
        let e_value = best.map(|(_, text)| text).unwrap_or_else(|| "\"\"".into());
        rows.push(format!(
            "{},{sequence_len},{e_value},{},{orf_count},\"\",\"\"",
            contig["index"],
            quoted(&families.join("; "))
        ));
        contig
            .as_object_mut()
            .unwrap()
            .insert("blast".into(), Value::Null);
        contigs.push(contig);
    }
    (contigs, rows)
}

/// The text that the fixture uses for `value` (a `"full_e": <text>` member of `raw`).
fn repr_of(raw: &str, value: &Value) -> String {
    let wanted = value.as_f64().unwrap();
    raw.match_indices("\"full_e\": ")
        .map(|(at, key)| {
            let rest = &raw[at + key.len()..];
            let end = rest.find([',', '}']).unwrap();
            rest[..end].to_owned()
        })
        .find(|text| text.parse::<f64>().unwrap() == wanted)
        .unwrap()
}
