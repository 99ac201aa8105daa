//! Property tests (arbitrary documents never panic) and, ignored by default, timings on an
//! L-sized synthetic document.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::tests::{fixture_annotations, fixture_results, keys, raw};
use super::*;
use crate::model::hmm::AnnotationSummary;

// ---- property: arbitrary small documents never panic ----------------------------------------

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..4).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e30f64..1e30).prop_map(Value::from),
        "[a-cÄ\"\\\\}{,]{0,4}".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "hits", "index", "sequence", "orfs", "hit", "full_e", "blast", "cluster", "families",
            "names",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,2}",
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An object with the given fields, each present with the given probability, plus noise fields.
fn shaped(fields: Vec<(&'static str, f64, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let fields: Vec<_> = fields
        .into_iter()
        .map(|(k, p, s)| prop::option::weighted(p, s).prop_map(move |v| (k, v)))
        .collect();
    (fields, prop::collection::vec((key(), any_json()), 0..2))
        .prop_map(|(fields, noise)| {
            let mut map: Map<String, Value> = noise.into_iter().collect();
            for (k, v) in fields.into_iter().filter_map(|(k, v)| Some((k, v?))) {
                map.insert(k.into(), v);
            }
            Value::Object(map)
        })
        .boxed()
}

/// Mostly `s`, sometimes any JSON at all (to reach the type checks).
fn or_noise(s: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![30 => s, 1 => any_json()].boxed()
}

fn list(s: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    or_noise(
        prop::collection::vec(s, 0..4)
            .prop_map(Value::Array)
            .boxed(),
    )
}

/// Documents shaped like NuVs results, most of them valid, with mistakes sprinkled in.
fn nuvs_doc() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        8 => prop::sample::select(vec!["a", "b", "5"]).prop_map(Value::from),
        4 => (0i64..7).prop_map(Value::from),
        1 => leaf(),
    ];
    let hit = or_noise(shaped(vec![
        ("hit", 0.97, id.boxed()),
        ("full_e", 0.9, leaf().boxed()),
    ]));
    let orf = or_noise(shaped(vec![("hits", 0.9, list(hit))]));
    let contig = or_noise(shaped(vec![
        (
            "index",
            0.97,
            prop_oneof![20 => (0i64..1000).prop_map(Value::from), 1 => leaf()].boxed(),
        ),
        (
            "sequence",
            0.97,
            prop_oneof![20 => "[ACÄ]{0,5}".prop_map(Value::from), 1 => leaf()].boxed(),
        ),
        ("orfs", 0.9, list(orf)),
    ]));
    or_noise(shaped(vec![("hits", 0.97, list(contig))]))
}

/// The whole flow on one generated document; only checked-out documents go past `check` and
/// `prepare`, and from there every step must succeed and agree with the others.
fn check_prepare_attach(doc: &Value, known: &[bool]) -> Result<(), TestCaseError> {
    let Ok(checked) = check(doc.to_string().as_bytes()) else {
        return Ok(());
    };
    let contigs = checked.len();
    let families = json!({"None": 1, "F": 2}).as_object().unwrap().clone();
    let annotations: HashMap<String, AnnotationSummary> = checked
        .hit_ids()
        .into_iter()
        .zip(known.iter().cycle())
        .filter(|(_, known)| **known)
        .map(|(id, _)| {
            let summary = AnnotationSummary {
                cluster: 1,
                families: families.clone(),
                names: vec!["n".into()],
            };
            (id, summary)
        })
        .collect();
    let Ok(prepared) = checked.prepare(&annotations) else {
        return Ok(());
    };
    prop_assert_eq!(prepared.rows.len(), contigs);
    prop_assert_eq!(prepared.contig_ends.len(), contigs);
    prop_assert_eq!(
        contig_ends(&prepared.results_json),
        Some(prepared.contig_ends.clone())
    );
    let blast: BTreeMap<_, _> = (prepared.contig_ends.iter().step_by(2))
        .map(|&(i, _)| (i, raw(&json!({"ready": true, "sequence_index": i}))))
        .collect();
    let out = attach_blast_at(&prepared.results_json, &prepared.contig_ends, &blast);
    prop_assert!(attach_blast(&prepared.results_json, &blast) == out);
    let mut out: Value = serde_json::from_slice(&out).unwrap();
    for (contig, &(index, _)) in
        (out["hits"].as_array_mut().unwrap().iter_mut()).zip(&prepared.contig_ends)
    {
        prop_assert_eq!(keys(contig).last().copied(), Some("blast"));
        prop_assert_eq!(&contig["index"], &json!(index));
        let record = contig
            .as_object_mut()
            .unwrap()
            .shift_remove("blast")
            .unwrap();
        prop_assert_eq!(record.is_null(), !blast.contains_key(&index));
    }
    // Nothing but the `blast` members was added.
    let stored: Value = serde_json::from_slice(&prepared.results_json).unwrap();
    prop_assert_eq!(out, stored);
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_documents_never_panic(
        doc in nuvs_doc(),
        known in prop::collection::vec(any::<bool>(), 8),
    ) {
        check_prepare_attach(&doc, &known)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        json in any_json(),
    ) {
        let _ = check(&bytes);
        let _ = check(json.to_string().as_bytes());
        let _ = contig_ends(&bytes);
        let _ = attach_blast(&bytes, &BTreeMap::new());
        let _ = attach_blast_at(&bytes, &[(0, 3), (1, 1)], &BTreeMap::new());
        let _ = blast_top_hit(&json);
    }
}

// ---- timings ----------------------------------------------------------------------------------

/// A deterministic L-sized document (contract data.md §5.2: ~2,500 contigs, ~3,500 ORFs, ~5 MB)
/// and its 200 annotations.
fn synthetic_l() -> (Vec<u8>, HashMap<String, AnnotationSummary>) {
    let mut state = 5143u64;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut contigs = Vec::new();
    for index in 0..2500 {
        let len = 600 + next(2000) as usize;
        let sequence: String = (0..len)
            .map(|_| b"ACGT"[next(4) as usize] as char)
            .collect();
        let orfs: Vec<Value> = (0..1 + next(2))
            .map(|o| {
                let pro: String = (0..100 + next(500)).map(|_| (b'A' + next(20) as u8) as char).collect();
                let hits: Vec<Value> = if next(10) == 0 {
                    (0..1 + next(3))
                        .map(|_| json!({"hit": next(200).to_string(), "full_e": 1.5e-9, "full_score": 33.7,
                            "full_bias": 0.6, "best_e": 4.8e-06, "best_bias": 22.8, "best_score": 0.0}))
                        .collect()
                } else {
                    vec![]
                };
                json!({"pro": pro, "frame": o % 3, "strand": 1, "pos": [-3, 438], "index": o, "hits": hits})
            })
            .collect();
        contigs.push(json!({"index": index, "sequence": sequence, "orfs": orfs}));
    }
    let annotations = (0..200)
        .map(|i| {
            let families = json!({"None": 1, format!("Family {}", i % 17): 2});
            (
                i.to_string(),
                AnnotationSummary {
                    cluster: i,
                    families: families.as_object().unwrap().clone(),
                    names: vec!["hypothetical protein".into(), "polymerase".into()],
                },
            )
        })
        .collect();
    (
        serde_json::to_vec_pretty(&json!({ "hits": contigs })).unwrap(),
        annotations,
    )
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (std::time::Duration, T) {
    let mut best = std::time::Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.unwrap())
}

#[test]
#[ignore = "timings; run with --release -- --ignored --nocapture"]
fn timings_on_a_synthetic_l_document() {
    // Size S first: the real 88 KB fixture.
    let (real, real_annotations) = (fixture_results(), fixture_annotations());
    let (t_real, real_prepared) = best_of(20, || {
        check(&real).unwrap().prepare(&real_annotations).unwrap()
    });
    let one = BTreeMap::from([(1, raw(&json!({"ready": false, "result": null})))]);
    let (t_real_attach, _) = best_of(20, || {
        attach_blast_at(
            &real_prepared.results_json,
            &real_prepared.contig_ends,
            &one,
        )
    });
    let (t_real_no_ends, _) = best_of(20, || attach_blast(&real_prepared.results_json, &one));
    println!(
        "real fixture: check+prepare {t_real:?}, attach_blast_at {t_real_attach:?}, \
         attach_blast {t_real_no_ends:?}"
    );

    let (raw_doc, annotations) = synthetic_l();
    let (t_prepare, prepared) = best_of(5, || {
        check(&raw_doc).unwrap().prepare(&annotations).unwrap()
    });
    let blast: BTreeMap<_, _> = (0..2500)
        .step_by(50)
        .map(|i| {
            (
                i,
                raw(&json!({"id": i, "ready": true, "result": {"hits": []}, "error": null})),
            )
        })
        .collect();
    let (t_attach, out) = best_of(20, || {
        attach_blast_at(&prepared.results_json, &prepared.contig_ends, &blast)
    });
    let (t_ends, _) = best_of(10, || contig_ends(&prepared.results_json).unwrap());
    let (t_no_ends, _) = best_of(10, || attach_blast(&prepared.results_json, &blast));
    // The alternative without stored offsets: a full Value round trip.
    let (t_value, _) = best_of(5, || {
        let mut doc: Value = serde_json::from_slice(&prepared.results_json).unwrap();
        for contig in doc["hits"].as_array_mut().unwrap() {
            let record = blast.get(&contig["index"].as_i64().unwrap());
            let value = record.map_or(Value::Null, |r| serde_json::from_str(r.get()).unwrap());
            contig
                .as_object_mut()
                .unwrap()
                .insert("blast".into(), value);
        }
        serde_json::to_vec(&doc).unwrap()
    });
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap()["hits"]
            .as_array()
            .unwrap()
            .len(),
        2500
    );
    println!(
        "synthetic L: raw {:.2} MB, formatted {:.2} MB, {} contigs\n\
         check+prepare {:?}\nattach_blast_at (stored offsets) {:?}\ncontig_ends {:?}\n\
         attach_blast (finding the contigs) {:?}\nValue round trip instead {:?}",
        raw_doc.len() as f64 / 1e6,
        prepared.results_json.len() as f64 / 1e6,
        prepared.rows.len(),
        t_prepare,
        t_attach,
        t_ends,
        t_no_ends,
        t_value
    );
}
