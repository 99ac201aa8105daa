//! Writes the formatted results (§9.1) by hand, straight from the index snapshot and the per-hit
//! results, and collects the export rows (§10.2) on the way, in the same order.

use super::check::HitOut;
use super::{push_json, ExportRow, Out};
use crate::model::otu::{IsolateSummary, OtuSummary};
use std::collections::HashMap;

/// Writes the formatted results object and collects the export rows.
pub(super) fn write_results(
    outs: &[(String, Out)],
    otus: &HashMap<String, OtuSummary>,
) -> (Vec<u8>, Vec<ExportRow>) {
    let size: usize = outs
        .iter()
        .map(|(key, out)| {
            key.len()
                + match out {
                    Out::Raw(bytes) => bytes.len(),
                    Out::Num(_) => 24,
                    Out::Hits(hits) => hits.iter().map(|h| h.align_json.len() + 512).sum(),
                }
        })
        .sum();
    let mut json = Vec::with_capacity(size + 64);
    let mut rows = Vec::new();
    json.push(b'{');
    for (i, (key, out)) in outs.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        push_json(&mut json, key);
        json.push(b':');
        match out {
            Out::Raw(bytes) => json.extend_from_slice(bytes),
            Out::Num(n) => push_json(&mut json, n),
            Out::Hits(hits) => write_otus(&mut json, &mut rows, hits, otus),
        }
    }
    json.push(b'}');
    (json, rows)
}

/// The formatted OTU list (§9.1 steps 1–5): OTUs in order of first appearance in the hits,
/// isolates and sequences in snapshot order, only the hit ones.
fn write_otus(
    json: &mut Vec<u8>,
    rows: &mut Vec<ExportRow>,
    hits: &[HitOut],
    otus: &HashMap<String, OtuSummary>,
) {
    let mut groups: Vec<(&str, HashMap<&str, &HitOut>)> = Vec::new();
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    for hit in hits {
        let g = *group_of.entry(hit.otu_id.as_str()).or_insert_with(|| {
            groups.push((hit.otu_id.as_str(), HashMap::new()));
            groups.len() - 1
        });
        groups[g].1.insert(hit.id.as_str(), hit);
    }

    json.push(b'[');
    let mut first_otu = true;
    for (otu_id, by_sequence) in &groups {
        // Every hit was checked against the snapshot, so the lookup cannot miss.
        let Some(otu) = otus.get(*otu_id) else {
            continue;
        };
        if !first_otu {
            json.push(b',');
        }
        first_otu = false;
        json.extend_from_slice(b"{\"id\":");
        push_json(json, &otu.id);
        json.extend_from_slice(b",\"name\":");
        push_json(json, &otu.name);
        json.extend_from_slice(b",\"abbreviation\":");
        push_json(json, &otu.abbreviation);
        json.extend_from_slice(b",\"version\":");
        json.extend_from_slice(itoa::Buffer::new().format(otu.version).as_bytes());
        json.extend_from_slice(b",\"length\":");
        json.extend_from_slice(itoa::Buffer::new().format(otu.max_length()).as_bytes());
        json.extend_from_slice(b",\"isolates\":[");
        let mut first_isolate = true;
        for isolate in &otu.isolates {
            let hit_sequences: Vec<_> = isolate
                .sequences
                .iter()
                .filter_map(|s| by_sequence.get(s.id.as_str()).map(|hit| (s, *hit)))
                .collect();
            if hit_sequences.is_empty() {
                continue;
            }
            if !first_isolate {
                json.push(b',');
            }
            first_isolate = false;
            json.extend_from_slice(b"{\"id\":");
            push_json(json, &isolate.id);
            json.extend_from_slice(if isolate.default {
                b",\"default\":true,\"source_type\":"
            } else {
                b",\"default\":false,\"source_type\":"
            });
            push_json(json, &isolate.source_type);
            json.extend_from_slice(b",\"source_name\":");
            push_json(json, &isolate.source_name);
            json.extend_from_slice(b",\"sequences\":[");
            let isolate_name = isolate_name(isolate);
            for (j, (sequence, hit)) in hit_sequences.into_iter().enumerate() {
                if j > 0 {
                    json.push(b',');
                }
                json.extend_from_slice(b"{\"id\":");
                push_json(json, &sequence.id);
                json.extend_from_slice(b",\"accession\":");
                push_json(json, &sequence.accession);
                json.extend_from_slice(b",\"definition\":");
                push_json(json, &sequence.definition);
                json.extend_from_slice(b",\"length\":");
                json.extend_from_slice(itoa::Buffer::new().format(sequence.length).as_bytes());
                json.extend_from_slice(b",\"align\":");
                json.extend_from_slice(&hit.align_json);
                json.extend_from_slice(b",\"best\":");
                push_json(json, &hit.best);
                json.extend_from_slice(b",\"coverage\":");
                push_json(json, &hit.coverage);
                json.extend_from_slice(b",\"pi\":");
                push_json(json, &hit.pi);
                json.extend_from_slice(b",\"reads\":");
                push_json(json, &hit.reads);
                json.push(b'}');
                rows.push(ExportRow {
                    otu: otu.name.clone(),
                    isolate: isolate_name.clone(),
                    accession: sequence.accession.clone(),
                    length: sequence.length,
                    weight: hit.pi.clone(),
                    median_depth: hit.median.clone(),
                    coverage: hit.coverage.clone(),
                });
            }
            json.extend_from_slice(b"]}");
        }
        json.extend_from_slice(b"]}");
    }
    json.push(b']');
}

/// The export's isolate name (§10.2) of an isolate of the index.
pub(super) fn isolate_name(isolate: &IsolateSummary) -> String {
    super::isolate_name(&isolate.source_type, &isolate.source_name)
}
