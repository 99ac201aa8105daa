//! Annotation lookup, formatting and export rows (contract §9.2, §9.3 last row, §10.3).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Number, Value};

use super::{hit_id, hits_of, orfs_of, CheckedNuvs, ExportRow, PreparedNuvs};
use crate::model::field_errors::FieldErrors;
use crate::model::hmm::AnnotationSummary;

/// The keys the annotation adds to every ORF hit, in output order.
const ANNOTATION_KEYS: [&str; 3] = ["cluster", "families", "names"];

impl CheckedNuvs {
    /// Attach the annotations (`annotations` maps annotation id → summary; it needs to hold at
    /// least the ids of [`CheckedNuvs::hit_ids`]) and produce what is stored at finalize.
    /// A hit naming no annotation gets
    /// `results.hits.N.orfs.M.hits.K.hit: ["unknown HMM annotation <hit>"]`.
    pub fn prepare(
        self,
        annotations: &HashMap<String, AnnotationSummary>,
    ) -> Result<PreparedNuvs, FieldErrors> {
        self.unknown_hits(annotations).into_result()?;

        // Annotation additions are ~100 bytes per hit; the raw length already covers the rest
        // (the input is usually less compact than the output).
        let mut results_json = Vec::with_capacity(self.raw_len + 64);
        let mut contig_ends = Vec::with_capacity(self.contigs.len());
        let mut rows = Vec::with_capacity(self.contigs.len());
        results_json.extend_from_slice(b"{\"hits\":[");
        for (n, (mut contig, index)) in self.contigs.into_iter().zip(self.indexes).enumerate() {
            // `attach_blast` appends the current record; a stored `blast` member would become a
            // duplicate key (and stale data), so it is not kept.
            contig.shift_remove("blast");
            rows.push(annotate_contig(&mut contig, index, annotations));
            if n > 0 {
                results_json.push(b',');
            }
            // Writing a Value into a Vec cannot fail: keys are strings and the writer is
            // infallible.
            serde_json::to_writer(&mut results_json, &contig)
                .expect("serializing a JSON value into memory cannot fail");
            contig_ends.push((index, results_json.len() - 1));
        }
        results_json.extend_from_slice(b"]}");
        Ok(PreparedNuvs {
            results_json,
            contig_ends,
            rows,
        })
    }

    /// The §9.3 annotation row: every hit must name a stored annotation.
    fn unknown_hits(&self, annotations: &HashMap<String, AnnotationSummary>) -> FieldErrors {
        let mut errors = FieldErrors::new();
        for (n, contig) in self.contigs.iter().enumerate() {
            for (m, orf) in orfs_of(contig).iter().enumerate() {
                for (k, hit) in hits_of(orf).iter().enumerate() {
                    if errors.is_full() {
                        return errors;
                    }
                    // `check` guaranteed a string or integer `hit`.
                    let Some(id) = hit.get("hit").and_then(hit_id) else {
                        continue;
                    };
                    if !annotations.contains_key(&id) {
                        errors.add(
                            format!("results.hits.{n}.orfs.{m}.hits.{k}.hit"),
                            format!("unknown HMM annotation {id}"),
                        );
                    }
                }
            }
        }
        errors
    }
}

/// Add the annotation fields to every ORF hit of `contig` and compute its export row.
fn annotate_contig(
    contig: &mut Map<String, Value>,
    index: i64,
    annotations: &HashMap<String, AnnotationSummary>,
) -> ExportRow {
    let length = match contig.get("sequence") {
        Some(Value::String(s)) => s.chars().count() as u64,
        _ => 0,
    };
    let mut orf_count = 0;
    // The smallest full_e as (value for comparing, number as given for the export).
    let mut best: Option<(f64, Number)> = None;
    let mut families = BTreeSet::new();
    if let Some(Value::Array(orfs)) = contig.get_mut("orfs") {
        orf_count = orfs.len() as u64;
        for orf in orfs {
            let Some(Value::Array(hits)) = orf.get_mut("hits") else {
                continue;
            };
            for hit in hits.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(Value::Number(e)) = hit.get("full_e") {
                    let value = e.as_f64().unwrap_or(f64::INFINITY);
                    // Strictly smaller: on ties the first hit's textual form is kept.
                    if best.as_ref().is_none_or(|(min, _)| value < *min) {
                        best = Some((value, e.clone()));
                    }
                }
                let Some(annotation) = hit
                    .get("hit")
                    .and_then(hit_id)
                    .and_then(|id| annotations.get(&id))
                else {
                    continue;
                };
                // Stored keys of the same names would otherwise keep their old position (and a
                // map cannot hold them twice): the annotation's values win and go last.
                for key in ANNOTATION_KEYS {
                    hit.shift_remove(key);
                }
                hit.insert("cluster".into(), annotation.cluster.into());
                hit.insert(
                    "families".into(),
                    Value::Object(annotation.families.clone()),
                );
                hit.insert(
                    "names".into(),
                    annotation
                        .names
                        .iter()
                        .cloned()
                        .map(Value::String)
                        .collect(),
                );
                families.extend(
                    annotation
                        .families
                        .keys()
                        .map(String::as_str)
                        .filter(|name| *name != "None"),
                );
            }
        }
    }
    ExportRow {
        index,
        length,
        e_value: best.map(|(_, e)| e),
        // BTreeSet<&str> orders by bytes, which for UTF-8 is code point order.
        families: families.into_iter().collect::<Vec<_>>().join("; "),
        orf_count,
    }
}
