//! `otus.json.gz` (workflows §8.4): an index snapshot in the keys Virtool's runner and its
//! build-index workflow read. Deterministic: the same snapshot gives the same bytes.

use serde::Serialize;

use crate::import::reference::ParsedOtu;

#[derive(Serialize)]
struct Otu<'a> {
    _id: &'a str,
    name: &'a str,
    abbreviation: &'a str,
    version: i64,
    schema: [(); 0],
    isolates: Vec<Isolate<'a>>,
}

#[derive(Serialize)]
struct Isolate<'a> {
    id: &'a str,
    default: bool,
    source_type: &'a str,
    source_name: &'a str,
    sequences: Vec<Sequence<'a>>,
}

#[derive(Serialize)]
struct Sequence<'a> {
    _id: &'a str,
    accession: &'a str,
    definition: &'a str,
    host: Option<&'a str>,
    segment: Option<&'a str>,
    sequence: &'a str,
}

/// The gzip of the JSON list of `otus` (snapshot order kept; no timestamp in the gzip header).
pub fn otus_json_gz(otus: &[ParsedOtu]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let list: Vec<Otu> = otus.iter().map(otu).collect();
    let json = serde_json::to_vec(&list)?;
    let mut encoder = flate2::GzBuilder::new().mtime(0).write(
        Vec::with_capacity(json.len() / 3),
        flate2::Compression::default(),
    );
    encoder.write_all(&json)?;
    encoder.finish()
}

fn otu(otu: &ParsedOtu) -> Otu<'_> {
    Otu {
        _id: &otu.id,
        name: &otu.name,
        abbreviation: &otu.abbreviation,
        version: otu.version,
        schema: [],
        isolates: (otu.isolates.iter())
            .map(|i| Isolate {
                id: &i.id,
                default: i.default,
                source_type: &i.source_type,
                source_name: &i.source_name,
                sequences: (i.sequences.iter())
                    .map(|s| Sequence {
                        _id: &s.id,
                        accession: &s.accession,
                        definition: &s.definition,
                        host: s.host.as_deref(),
                        segment: s.segment.as_deref(),
                        sequence: &s.sequence,
                    })
                    .collect(),
            })
            .collect(),
    }
}
