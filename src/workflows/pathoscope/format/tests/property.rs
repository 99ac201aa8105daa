//! Random small result documents: `prepare` never panics, and an `Ok` keeps every other key.

use super::*;
use proptest::prelude::*;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "[a-z0-9\"\\\\é]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn depth() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (0u64..40).prop_map(Value::from),
        1 => any_json(),
        1 => Just(json!(4294967296u64)),
    ]
}

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::sample::select(options).prop_map(Value::from),
        1 => any_json(),
    ]
}

fn hit_doc() -> impl Strategy<Value = Value> {
    let fields = (
        pick(&["s1", "s2", "s3", "s4", "zz"]),
        pick(&["o1", "o2", "nope"]),
        prop::collection::vec(depth(), 0..300),
        any_json(),
        any_json(),
        prop::sample::subsequence(
            vec!["id", "otu", "align", "final", "coverage", "junk"],
            0..=6,
        )
        .prop_shuffle(),
    );
    let doc = fields.prop_map(|(id, otu, align, fin, coverage, keys)| {
        let mut h = serde_json::Map::new();
        for key in keys {
            let value = match key {
                "id" => id.clone(),
                "otu" => json!({"id": otu, "version": 1}),
                "align" => Value::from(align.clone()),
                "final" => fin.clone(),
                "coverage" => coverage.clone(),
                _ => json!(1),
            };
            h.insert(key.to_owned(), value);
        }
        Value::Object(h)
    });
    prop_oneof![9 => doc, 1 => any_json()]
}

proptest! {
    #[test]
    fn random_documents_never_panic(
        hits in prop::collection::vec(hit_doc(), 0..6),
        read_count in any_json(),
        extra in any_json(),
        shape in 0..4u8,
    ) {
        let doc = match shape {
            0 => json!({"hits": hits, "read_count": read_count, "extra": extra}),
            1 => json!({"extra": extra, "hits": hits}),
            2 => json!({"hits": hits}),
            _ => json!({"hits": extra, "read_count": read_count}),
        };
        let raw = doc.to_string();
        let doc: Value = serde_json::from_str(&raw).unwrap();
        match prepare(raw.as_bytes(), "idx1", &small_otus()) {
            Ok(prepared) => {
                let out: Value = serde_json::from_slice(&prepared.results_json).unwrap();
                let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
                let raw_keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
                prop_assert_eq!(keys, raw_keys);
                let emitted = out["hits"].as_array().unwrap().iter()
                    .flat_map(|o| o["isolates"].as_array().unwrap())
                    .map(|i| i["sequences"].as_array().unwrap().len())
                    .sum::<usize>();
                prop_assert_eq!(emitted, prepared.rows.len());
                prop_assert_eq!(emitted, doc["hits"].as_array().unwrap().len());
                for (key, value) in doc.as_object().unwrap() {
                    if key != "hits" {
                        prop_assert_eq!(&out[key], value);
                    }
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.len() <= 100);
            }
        }
    }
}
