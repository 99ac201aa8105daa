//! `build_index` (workflows §10.3): from the index's `otus.json.gz`, the default-isolate FASTA
//! bowtie2 indexes and the reference export that imports back through U18; then bowtie2-build.

pub mod steps;

use std::io::Write;

use serde_json::{json, Map, Value};

/// The index files a finished build uploads, in the order they are uploaded (J19).
pub const UPLOADS: [&str; 8] = [
    "reference.json.gz",
    "reference.fa.gz",
    "reference.1.bt2",
    "reference.2.bt2",
    "reference.3.bt2",
    "reference.4.bt2",
    "reference.rev.1.bt2",
    "reference.rev.2.bt2",
];

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("the index has no default isolate sequences")]
    Empty,
    #[error("otus.json.gz: {0}")]
    Malformed(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `reference.fa`: for each OTU in order, the first isolate with `default: true`, each of its
/// sequences as `>id\nsequence\n` (no wrapping, text as stored). The number of sequences written.
pub fn write_default_isolates(
    otus: &[Value],
    fasta: &mut impl Write,
) -> Result<usize, ProcessError> {
    let mut written = 0;
    for otu in otus {
        let isolates = otu["isolates"]
            .as_array()
            .ok_or_else(|| malformed("an OTU without isolates"))?;
        let Some(default) = isolates.iter().find(|i| i["default"] == Value::Bool(true)) else {
            continue;
        };
        for sequence in default["sequences"].as_array().into_iter().flatten() {
            let id = string(sequence, "_id")?;
            let text = string(sequence, "sequence")?;
            fasta.write_all(b">")?;
            fasta.write_all(id.as_bytes())?;
            fasta.write_all(b"\n")?;
            fasta.write_all(text.as_bytes())?;
            fasta.write_all(b"\n")?;
            written += 1;
        }
    }
    if written == 0 {
        return Err(ProcessError::Empty);
    }
    Ok(written)
}

/// The reference export (`reference.json.gz` before compression): every OTU with all isolates,
/// in the keys Virtool's reference import reads.
pub fn reference_export(otus: &[Value], data_type: &str) -> Result<Value, ProcessError> {
    let otus = otus
        .iter()
        .map(|otu| {
            let isolates = otu["isolates"]
                .as_array()
                .ok_or_else(|| malformed("an OTU without isolates"))?
                .iter()
                .map(export_isolate)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({
                "_id": otu["_id"], "name": otu["name"], "abbreviation": otu["abbreviation"],
                "schema": [], "isolates": isolates,
            }))
        })
        .collect::<Result<Vec<Value>, ProcessError>>()?;
    Ok(json!({"data_type": data_type, "organism": "", "otus": otus, "targets": null}))
}

fn export_isolate(isolate: &Value) -> Result<Value, ProcessError> {
    let sequences = isolate["sequences"]
        .as_array()
        .ok_or_else(|| malformed("an isolate without sequences"))?
        .iter()
        .map(|s| {
            let mut out = Map::new();
            for key in [
                "_id",
                "accession",
                "definition",
                "host",
                "sequence",
                "segment",
            ] {
                out.insert(key.to_owned(), s.get(key).cloned().unwrap_or(Value::Null));
            }
            out.insert("target".to_owned(), Value::Null);
            Value::Object(out)
        })
        .collect::<Vec<_>>();
    Ok(json!({
        "id": isolate["id"], "source_type": isolate["source_type"],
        "source_name": isolate["source_name"], "default": isolate["default"],
        "sequences": sequences,
    }))
}

fn string<'a>(value: &'a Value, key: &str) -> Result<&'a str, ProcessError> {
    value[key]
        .as_str()
        .ok_or_else(|| malformed(&format!("a sequence without a string {key}")))
}

fn malformed(what: &str) -> ProcessError {
    ProcessError::Malformed(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn otus() -> Vec<Value> {
        serde_json::from_value(json!([
            {"_id": "a", "name": "A virus", "abbreviation": "AV", "version": 0, "schema": [],
             "isolates": [
                {"id": "i1", "default": false, "source_type": "isolate", "source_name": "x",
                 "sequences": [{"_id": "s1", "accession": "X1", "definition": "d", "host": null,
                                "segment": "", "sequence": "ACGT"}]},
                {"id": "i2", "default": true, "source_type": "isolate", "source_name": "y",
                 "sequences": [{"_id": "s2", "accession": "X2", "definition": "d", "host": "h",
                                "segment": "RNA1", "sequence": "GGCC"},
                               {"_id": "s3", "accession": "X3", "definition": "d", "host": null,
                                "segment": "RNA2", "sequence": "TTAA"}]}]},
            {"_id": "b", "name": "B virus", "abbreviation": "", "version": 2, "schema": [],
             "isolates": [{"id": "i3", "default": false, "source_type": "isolate",
                           "source_name": "z", "sequences": []}]}
        ]))
        .unwrap()
    }

    #[test]
    fn the_fasta_holds_the_first_default_isolate_of_each_otu() {
        let mut fasta = Vec::new();
        assert_eq!(write_default_isolates(&otus(), &mut fasta).unwrap(), 2);
        assert_eq!(fasta, b">s2\nGGCC\n>s3\nTTAA\n");
    }

    #[test]
    fn no_default_sequence_is_an_empty_index() {
        let otus = vec![otus().remove(1)];
        assert!(matches!(
            write_default_isolates(&otus, &mut Vec::new()),
            Err(ProcessError::Empty)
        ));
    }

    #[test]
    fn the_export_keeps_every_isolate_in_the_import_shape() {
        let export = reference_export(&otus(), "genome").unwrap();
        assert_eq!(export["data_type"], "genome");
        assert_eq!(export["targets"], Value::Null);
        let first = &export["otus"][0];
        assert_eq!(
            first.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["_id", "name", "abbreviation", "schema", "isolates"]
        );
        assert_eq!(first["isolates"].as_array().unwrap().len(), 2);
        let sequence = &first["isolates"][1]["sequences"][0];
        assert_eq!(
            sequence.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "_id",
                "accession",
                "definition",
                "host",
                "sequence",
                "segment",
                "target"
            ]
        );
    }

    #[test]
    fn the_real_reference_exports_and_writes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/reference/otus.json.gz"
        );
        let otus: Vec<Value> = serde_json::from_reader(flate2::read::GzDecoder::new(
            std::fs::File::open(path).unwrap(),
        ))
        .unwrap();
        let mut fasta = Vec::new();
        let written = write_default_isolates(&otus, &mut fasta).unwrap();
        assert!(written >= otus.len() / 2, "{written} sequences");
        let export = reference_export(&otus, "genome").unwrap();
        assert_eq!(export["otus"].as_array().unwrap().len(), otus.len());
    }
}
