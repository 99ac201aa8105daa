//! U18 reference import and U20 annotations import after the multipart step: `maybe_gunzip`
//! under a size limit, then `parse_reference` and `parse_annotations` on the result.
//!
//! Input: byte 0 picks the decompression limit; the rest is the uploaded file.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use vira::import::gzip::{maybe_gunzip, GzipError};
use vira::import::hmms::parse_annotations;
use vira::import::reference::parse_reference;

const LIMITS: [u64; 4] = [0, 100, 64 * 1024, 4 << 20];

fuzz_target!(|data: &[u8]| {
    let [limit, file @ ..] = data else {
        return;
    };
    let limit = LIMITS[usize::from(*limit) % LIMITS.len()];
    let gzipped = file.starts_with(&[0x1f, 0x8b]);
    let json = match maybe_gunzip(file.to_vec(), limit) {
        Ok(json) => {
            assert!(
                json.len() as u64 <= limit,
                "{} bytes over a {limit} limit",
                json.len()
            );
            if !gzipped {
                assert_eq!(json, file, "plain input must come back unchanged");
            }
            json
        }
        Err(GzipError::TooLarge) => {
            assert!(gzipped || file.len() as u64 > limit);
            return;
        }
        Err(GzipError::Corrupt(_)) => {
            assert!(gzipped);
            return;
        }
    };

    if let Ok(reference) = parse_reference(&json) {
        let (otus, isolates, sequences) = reference.counts();
        assert_eq!(otus, reference.otus.len());
        let mut otu_ids = HashSet::new();
        let mut sequence_ids = HashSet::new();
        let (mut i, mut s) = (0, 0);
        for otu in &reference.otus {
            assert!(!otu.id.is_empty(), "an OTU was left without an id");
            assert!(
                otu_ids.insert(otu.id.as_str()),
                "duplicate OTU id {}",
                otu.id
            );
            let summary = otu.summary();
            assert_eq!(summary.isolates.len(), otu.isolates.len());
            let mut isolate_ids = HashSet::new();
            for isolate in &otu.isolates {
                assert!(!isolate.id.is_empty(), "an isolate was left without an id");
                assert!(
                    isolate_ids.insert(isolate.id.as_str()),
                    "duplicate isolate id"
                );
                i += 1;
                for sequence in &isolate.sequences {
                    assert!(!sequence.id.is_empty(), "a sequence was left without an id");
                    assert!(
                        sequence_ids.insert(sequence.id.as_str()),
                        "duplicate sequence id"
                    );
                    s += 1;
                }
            }
            serde_json::to_string(&summary).expect("summary serializes");
        }
        assert_eq!((isolates, sequences), (i, s));
    }

    if let Ok(annotations) = parse_annotations(&json) {
        let mut ids = HashSet::new();
        for a in &annotations {
            assert!(
                ids.insert(a.id.as_str()),
                "duplicate annotation id {}",
                a.id
            );
            assert!(a.families.values().all(|v| v.is_i64() || v.is_u64()));
            serde_json::to_string(a).expect("annotation serializes");
        }
    }
});
