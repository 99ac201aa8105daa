//! Tests of the reference reader with the real fixture files and every rule of data.md §1.3.

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
    let otu = json!({"name": "A", "abbreviation": null, "isolates": [{"sequences": [sequence]}]});
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
            assert!(id.len() == 8 && id.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9')));
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

    let export = json!({"otus": [], "name": "n", "data_type": "barcode", "organism": "bacteria"});
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
