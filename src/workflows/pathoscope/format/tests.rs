//! Tests of Pathoscope checks, formatting and export rows (contract §9.1, §9.3, §10.2): the real
//! fixtures here, the §9.3 table in [`checks`], random documents in [`property`]. Expected values
//! are computed in the tests independently from the fixture files.

mod checks;
mod property;

use super::check::median;
use super::write::isolate_name;
use super::*;
use crate::model::otu::{IsolateSummary, SequenceSummary};
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");
const INDEX: &str = "qldihken";

fn read_fixture(name: &str) -> Vec<u8> {
    let path = Path::new(FIXTURES).join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    }
}

/// Test-only converter from an index export (a bare list of joined OTU documents) to summaries.
fn load_otus(name: &str) -> HashMap<String, OtuSummary> {
    let docs: Vec<Value> = serde_json::from_slice(&read_fixture(name)).unwrap();
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let isolate = |iso: &Value| IsolateSummary {
        id: text(iso, "id"),
        default: iso["default"].as_bool().unwrap_or(false),
        source_type: text(iso, "source_type"),
        source_name: text(iso, "source_name"),
        sequences: (iso["sequences"].as_array().unwrap().iter())
            .map(|s| SequenceSummary {
                id: text(s, "_id"),
                accession: text(s, "accession"),
                definition: text(s, "definition"),
                length: s["sequence"].as_str().unwrap().chars().count() as u64,
            })
            .collect(),
    };
    docs.iter()
        .map(|otu| {
            let summary = OtuSummary {
                id: text(otu, "_id"),
                name: text(otu, "name"),
                abbreviation: text(otu, "abbreviation"),
                version: otu["version"].as_i64().unwrap_or(0),
                isolates: otu["isolates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(isolate)
                    .collect(),
            };
            (summary.id.clone(), summary)
        })
        .collect()
}

fn real_otus() -> &'static HashMap<String, OtuSummary> {
    static OTUS: OnceLock<HashMap<String, OtuSummary>> = OnceLock::new();
    OTUS.get_or_init(|| load_otus("reference/otus.json.gz"))
}

fn fitted_raw() -> Vec<u8> {
    read_fixture("pathoscope/results.fitted.derived.json")
}

fn fitted() -> PreparedPathoscope {
    prepare(&fitted_raw(), INDEX, real_otus()).expect("the fitted fixture is valid")
}

pub(super) fn num(text: &str) -> Number {
    serde_json::from_str(text).unwrap()
}

/// Median computed the obvious way, by sorting a copy.
fn sorted_median(values: &[Value]) -> Median {
    let mut v: Vec<u64> = values.iter().map(|x| x.as_u64().unwrap()).collect();
    v.sort_unstable();
    match v.len() {
        0 => Median::Int(0),
        n if n % 2 == 1 => Median::Int(v[n / 2]),
        n => Median::Float((v[n / 2 - 1] + v[n / 2]) as f64 / 2.0),
    }
}

#[test]
fn fitted_fixture_formats_fifteen_otus_in_hit_order() {
    let raw: Value = serde_json::from_slice(&fitted_raw()).unwrap();
    let prepared = fitted();
    let out: Value = serde_json::from_slice(&prepared.results_json).unwrap();
    let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["hits", "read_count", "subtracted_count"]);
    assert_eq!(out["read_count"], json!(20276));
    assert_eq!(out["subtracted_count"], json!(0));
    assert_eq!(prepared.read_count, Some(20276));

    let mut otu_order: Vec<&str> = Vec::new();
    for hit in raw["hits"].as_array().unwrap() {
        let id = hit["otu"]["id"].as_str().unwrap();
        if !otu_order.contains(&id) {
            otu_order.push(id);
        }
    }
    let hits = out["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 15);
    let ids: Vec<_> = hits.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, otu_order);

    let raw_hits: HashMap<&str, &Value> = raw["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_str().unwrap(), h))
        .collect();
    let mut sequences = 0;
    for otu in hits {
        let keys: Vec<_> = otu.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "abbreviation",
                "version",
                "length",
                "isolates"
            ]
        );
        let snapshot = &real_otus()[otu["id"].as_str().unwrap()];
        assert_eq!(otu["name"], json!(snapshot.name));
        assert_eq!(otu["version"], json!(snapshot.version));
        let longest = snapshot
            .isolates
            .iter()
            .flat_map(|i| &i.sequences)
            .map(|s| s.length);
        assert_eq!(otu["length"], json!(longest.max().unwrap()));
        for isolate in otu["isolates"].as_array().unwrap() {
            let keys: Vec<_> = isolate.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                keys,
                ["id", "default", "source_type", "source_name", "sequences"]
            );
            assert!(!isolate["sequences"].as_array().unwrap().is_empty());
            for sequence in isolate["sequences"].as_array().unwrap() {
                sequences += 1;
                let keys: Vec<_> = sequence.as_object().unwrap().keys().cloned().collect();
                let expected = [
                    "id",
                    "accession",
                    "definition",
                    "length",
                    "align",
                    "best",
                    "coverage",
                    "pi",
                    "reads",
                ];
                assert_eq!(keys, expected);
                let hit = raw_hits[sequence["id"].as_str().unwrap()];
                assert_eq!(sequence["best"], hit["final"]["best"]);
                assert_eq!(sequence["pi"], hit["final"]["pi"]);
                assert_eq!(sequence["reads"], hit["final"]["reads"]);
                assert_eq!(sequence["coverage"], hit["coverage"]);
                let depths = hit["align"].as_array().unwrap();
                assert_eq!(sequence["length"], json!(depths.len()));
                let points = sequence["align"].as_array().unwrap();
                assert_eq!(points[0], json!([0, depths[0]]));
                assert_eq!(
                    points.last().unwrap(),
                    &json!([depths.len() - 1, depths.last().unwrap()])
                );
                for pair in points.windows(2) {
                    assert!(pair[0][0].as_u64() < pair[1][0].as_u64());
                }
                for point in points {
                    assert_eq!(point[1], depths[point[0].as_u64().unwrap() as usize]);
                }
            }
        }
    }
    assert_eq!(sequences, 18);
}

#[test]
fn fitted_fixture_simplifies_align_per_contract() {
    let out: Value = serde_json::from_slice(&fitted().results_json).unwrap();
    let mut by_id = HashMap::new();
    for otu in out["hits"].as_array().unwrap() {
        for isolate in otu["isolates"].as_array().unwrap() {
            for sequence in isolate["sequences"].as_array().unwrap() {
                by_id.insert(
                    sequence["id"].as_str().unwrap().to_owned(),
                    sequence.clone(),
                );
            }
        }
    }
    let align = by_id["agqp7kdv"]["align"].as_array().unwrap().clone();
    assert_eq!(align.len(), 2892);
    assert_eq!(align[0], json!([0, 0]));
    assert_eq!(align.last().unwrap(), &json!([18658, 3]));
    let align = by_id["d1qg8xzo"]["align"].as_array().unwrap().clone();
    assert_eq!(align.len(), 624);
    assert_eq!(align.last().unwrap(), &json!([3773, 0]));
}

#[test]
fn export_rows_match_contract() {
    let rows = fitted().rows;
    assert_eq!(rows.len(), 18);
    let row =
        |otu: &str, isolate: &str, acc: &str, len: u64, w: &str, m: Median, c: &str| ExportRow {
            otu: otu.into(),
            isolate: isolate.into(),
            accession: acc.into(),
            length: len,
            weight: num(w),
            median_depth: m,
            coverage: num(c),
        };
    use Median::{Float, Int};
    let expected = [
        row(
            "Grapevine leafroll-associated virus 1",
            "Isolate 1050",
            "NC_016509",
            18659,
            "0.9817922033874211",
            Int(10),
            "0.999",
        ),
        row(
            "Grapevine rupestris stem pitting-associated virus",
            "Unknown unknown",
            "NC_001948",
            8744,
            "0.016829359686626827",
            Float(11.0),
            "0.996",
        ),
        row(
            "Grapevine leafroll-associated virus 3",
            "Strain NY1",
            "NC_004667",
            17919,
            "6.054707353153265e-05",
            Int(0),
            "0.034",
        ),
        row(
            "Grapevine fleck virus",
            "Isolate MT48",
            "NC_003347",
            7564,
            "5.6039729675898496e-05",
            Float(6.0),
            "0.844",
        ),
        row(
            "Grapevine fanleaf virus",
            "Strain F13",
            "NC_003623",
            3774,
            "8.64543396608676e-07",
            Float(26.0),
            "0.898",
        ),
        row(
            "Grapevine fanleaf virus",
            "Strain F13",
            "NC_003615",
            7342,
            "2.5868710213805918e-05",
            Float(22.0),
            "0.894",
        ),
    ];
    assert_eq!(rows[..6], expected);
    let hop = row(
        "Hop stunt viroid",
        "Unnamed Isolate",
        "JQ080272",
        305,
        "5.801601112325778e-08",
        Int(3),
        "0.777",
    );
    assert_eq!(rows.iter().filter(|r| **r == hop).count(), 1);

    // Every row against the raw hit it came from.
    let raw: Value = serde_json::from_slice(&fitted_raw()).unwrap();
    for row in &rows {
        let hit = raw["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| {
                let otu = &real_otus()[h["otu"]["id"].as_str().unwrap()];
                let mut seqs = otu.isolates.iter().flat_map(|i| &i.sequences);
                seqs.any(|s| s.id == h["id"] && s.accession == row.accession)
            })
            .unwrap();
        assert_eq!(Value::Number(row.weight.clone()), hit["final"]["pi"]);
        assert_eq!(Value::Number(row.coverage.clone()), hit["coverage"]);
        assert_eq!(
            row.median_depth,
            sorted_median(hit["align"].as_array().unwrap())
        );
        assert_eq!(row.length, hit["align"].as_array().unwrap().len() as u64);
    }
}

/// Weights are real 17-digit doubles; serde_json's default float parsing can be one ulp off
/// (`7.454404913017409e-08` read as `7.45440491301741e-08`), hence its `float_roundtrip` feature.
#[test]
fn floats_pass_through_exactly() {
    let text = "7.454404913017409e-08";
    let raw = format!(
        r#"{{"hits": [{{"id": "s1", "otu": {{"id": "o1", "version": 1}}, "align": [1],
            "coverage": {text}, "final": {{"pi": {text}}}}}]}}"#
    );
    let prepared = prepare(raw.as_bytes(), "idx1", &small_otus()).unwrap();
    let exact: f64 = text.parse().unwrap();
    assert_eq!(
        prepared.rows[0].weight.as_f64(),
        Some(exact),
        "needs serde_json/float_roundtrip"
    );
    let out: Value = serde_json::from_slice(&prepared.results_json).unwrap();
    let written = out["hits"][0]["isolates"][0]["sequences"][0]["pi"].to_string();
    assert_eq!(written.parse::<f64>().unwrap(), exact);
}

#[test]
fn export_rows_round_trip_as_json_with_median_kind() {
    let rows = fitted().rows;
    let text = serde_json::to_string(&rows).unwrap();
    assert!(text.contains(r#""median_depth":11.0"#), "{text}");
    assert!(text.contains(r#""median_depth":10,"#), "{text}");
    let back: Vec<ExportRow> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, rows);
    assert_eq!(
        serde_json::from_str::<Median>("2.5").unwrap(),
        Median::Float(2.5)
    );
    assert!(serde_json::from_str::<Median>("-1").is_err());
}

#[test]
fn median_by_selection() {
    let cases: [(&[u32], Median); 6] = [
        (&[], Median::Int(0)),
        (&[7], Median::Int(7)),
        (&[2, 1], Median::Float(1.5)),
        (&[12, 10], Median::Float(11.0)),
        (&[5, 1, 9], Median::Int(5)),
        (&[u32::MAX, u32::MAX], Median::Float(u32::MAX as f64)),
    ];
    for (input, expected) in cases {
        assert_eq!(median(&mut input.to_vec()), expected, "{input:?}");
    }
}

#[test]
fn isolate_names() {
    let iso = |t: &str, n: &str| IsolateSummary {
        id: "i".into(),
        default: true,
        source_type: t.into(),
        source_name: n.into(),
        sequences: vec![],
    };
    assert_eq!(isolate_name(&iso("isolate", "WA-MR")), "Isolate WA-MR");
    assert_eq!(isolate_name(&iso("unknown", "unknown")), "Unknown unknown");
    assert_eq!(isolate_name(&iso("STRAIN", "F13")), "Strain F13");
    assert_eq!(isolate_name(&iso("", "F13")), "Unnamed Isolate");
    assert_eq!(isolate_name(&iso("strain", "")), "Unnamed Isolate");
}

/// A small hand-made index: OTU `o1` (isolates `i1` = s1, s2 and `i2` = s3) and OTU `o2` (s4).
pub(super) fn small_otus() -> HashMap<String, OtuSummary> {
    let seq = |id: &str, len| SequenceSummary {
        id: id.into(),
        accession: format!("AC_{id}"),
        definition: format!("def \"{id}\""),
        length: len,
    };
    let iso = |id: &str, seqs| IsolateSummary {
        id: id.into(),
        default: id == "i1",
        source_type: "isolate".into(),
        source_name: id.to_uppercase(),
        sequences: seqs,
    };
    let o1 = OtuSummary {
        id: "o1".into(),
        name: "Virus one".into(),
        abbreviation: "V1".into(),
        version: 3,
        isolates: vec![
            iso("i1", vec![seq("s1", 4), seq("s2", 6)]),
            iso("i2", vec![seq("s3", 9)]),
        ],
    };
    let o2 = OtuSummary {
        id: "o2".into(),
        name: "Virus two".into(),
        abbreviation: "".into(),
        version: 0,
        isolates: vec![iso("i3", vec![seq("s4", 3)])],
    };
    [o1, o2].into_iter().map(|o| (o.id.clone(), o)).collect()
}

#[test]
fn legacy_bare_list_wrapped_is_rejected_for_unknown_otus() {
    let list: Value = serde_json::from_slice(&read_fixture("pathoscope/results.json")).unwrap();
    let n = list.as_array().unwrap().len();
    let raw = json!({"hits": list.clone(), "read_count": 1}).to_string();
    let e = prepare(raw.as_bytes(), INDEX, real_otus()).unwrap_err();
    let e = serde_json::to_value(e).unwrap();
    let e = e.as_object().unwrap();
    assert_eq!(e.len(), n);
    for (i, (path, messages)) in e.iter().enumerate() {
        assert_eq!(path, &format!("results.hits.{i}.otu.id"));
        let otu = list[i]["otu"]["id"].as_str().unwrap();
        assert_eq!(
            messages,
            &json!([format!("unknown OTU {otu} in index {INDEX}")])
        );
    }
    assert_eq!(
        e["results.hits.0.otu.id"],
        json!(["unknown OTU foobar in index qldihken"])
    );
}

/// `cargo test --release -- --ignored --nocapture bench`: timing on the benchmark sizes
/// (fixtures/README.md "Benchmark data").
#[test]
#[ignore]
fn bench_prepare_on_large_inputs() {
    for size in ["realistic", "nearlimit"] {
        let otus = load_otus(&format!("bench/{size}.otus.json.gz"));
        let raw = read_fixture(&format!("bench/{size}.results.json.gz"));
        let mut best = f64::INFINITY;
        let mut prepared = None;
        for _ in 0..3 {
            let start = std::time::Instant::now();
            prepared = Some(prepare(&raw, "bench", &otus).expect("bench data is valid"));
            best = best.min(start.elapsed().as_secs_f64());
        }
        let prepared = prepared.unwrap();
        println!(
            "{size}: prepare {:.3} s (best of 3) on {:.1} MB of results; {} rows, {:.1} MB out",
            best,
            raw.len() as f64 / 1e6,
            prepared.rows.len(),
            prepared.results_json.len() as f64 / 1e6
        );
    }
}

#[test]
fn written_results_read_back_as_the_results_model() {
    let prepared = fitted();
    let results: crate::workflows::pathoscope::model::Results =
        serde_json::from_slice(&prepared.results_json).unwrap();
    assert_eq!(results.hits.len(), 15);
    let sequence = &results.hits[0].isolates[0].sequences[0];
    assert!(sequence.length > 0 && !sequence.align.is_empty());
    assert!(results.hits.iter().all(|otu| otu.name.is_some()));
}
