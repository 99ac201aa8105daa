//! What the NuVs page shows, from the prepared results (contigs, ORFs, HMM annotations) and the
//! export rows stored at finalize (each contig's best e-value and families, exactly as the export
//! reports them): the contig table and, per contig, its ORF map.

use std::collections::HashMap;

use super::format::ExportRow;
use super::model::Results;
use crate::charts::orfs::{layout, Orf, OrfMap};

/// Width of an ORF map, pixels.
pub const MAP_WIDTH: u32 = 720;

pub struct ContigView {
    pub index: i64,
    pub length: u64,
    pub orf_count: u64,
    /// The best e-value as the export writes it, empty when the contig has no ORF hit.
    pub e_value: String,
    /// For sorting: the best e-value, `+∞` when there is none.
    pub e_value_sort: f64,
    pub families: String,
    pub map: OrfMap,
    /// The annotated ORFs, for the list under the map.
    pub annotated: Vec<AnnotatedOrf>,
}

pub struct AnnotatedOrf {
    pub index: i64,
    pub strand: &'static str,
    pub frame: i64,
    pub span: String,
    pub name: String,
    pub families: String,
    pub e_value: String,
}

/// `8.8e-22`, `0.0099`: short and readable.
pub fn e_value(e: f64) -> String {
    if e == 0.0 {
        "0".to_owned()
    } else if (1e-3..1e3).contains(&e.abs()) {
        format!("{}", (e * 1e4).round() / 1e4)
    } else {
        format!("{e:.1e}")
    }
}

/// The page's data, one entry per contig in stored order.
pub fn view(prepared: &[u8], rows: &[ExportRow]) -> serde_json::Result<Vec<ContigView>> {
    let results: Results = serde_json::from_slice(prepared)?;
    let rows: HashMap<i64, &ExportRow> = rows.iter().map(|r| (r.index, r)).collect();
    Ok(results
        .hits
        .iter()
        .map(|contig| {
            let row = rows.get(&contig.index);
            let length = row.map_or(0, |r| r.length);
            let mut annotated = Vec::new();
            let orfs: Vec<Orf> = contig
                .orfs
                .iter()
                .map(|orf| {
                    let (start, end) = match orf.pos.as_slice() {
                        [a, b, ..] => (*a, *b),
                        _ => (0, 0),
                    };
                    let best = orf
                        .hits
                        .iter()
                        .filter(|h| h.full_e.is_some())
                        .min_by(|a, b| {
                            a.full_e
                                .unwrap_or(f64::MAX)
                                .total_cmp(&b.full_e.unwrap_or(f64::MAX))
                        })
                        .or(orf.hits.first());
                    let label = best.map(|hit| {
                        let name = hit.names.first().cloned().unwrap_or_else(|| {
                            format!("cluster {}", hit.cluster.unwrap_or_default())
                        });
                        let e = hit.full_e.map(e_value).unwrap_or_default();
                        annotated.push(AnnotatedOrf {
                            index: orf.index,
                            strand: if orf.strand >= 0 { "+" } else { "−" },
                            frame: orf.frame.rem_euclid(3) + 1,
                            span: format!("{}–{}", start.min(end), start.max(end)),
                            name: name.clone(),
                            families: hit
                                .families
                                .keys()
                                .filter(|f| *f != "None")
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", "),
                            e_value: e.clone(),
                        });
                        format!("{name} · {e}")
                    });
                    Orf {
                        index: orf.index,
                        start,
                        end,
                        strand: orf.strand,
                        frame: orf.frame,
                        label,
                    }
                })
                .collect();
            let e = row.and_then(|r| r.e_value.as_ref());
            ContigView {
                index: contig.index,
                length,
                orf_count: row.map_or(contig.orfs.len() as u64, |r| r.orf_count),
                e_value: e
                    .map(|n| e_value(n.as_f64().unwrap_or(0.0)))
                    .unwrap_or_default(),
                e_value_sort: e.and_then(|n| n.as_f64()).unwrap_or(f64::INFINITY),
                families: row.map(|r| r.families.clone()).unwrap_or_default(),
                map: layout(length, &orfs, MAP_WIDTH),
                annotated,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contigs_carry_their_export_values_and_annotated_orfs() {
        let prepared = json!({"hits": [
            {"index": 3, "sequence": "ACGTACGTAC", "blast": null, "orfs": [
                {"index": 0, "frame": 1, "strand": -1, "pos": [9, 2], "pro": "M", "hits": [
                    {"hit": "h", "full_e": 0.5, "cluster": 7, "families": {"None": 1}, "names": []},
                    {"hit": "g", "full_e": 8.8e-22, "cluster": 5143,
                     "families": {"Marseillevirus family": 2}, "names": ["RNA polymerase"]}]},
                {"index": 1, "frame": 0, "strand": 1, "pos": [0, 4], "pro": "M", "hits": []}]}
        ]})
        .to_string()
        .into_bytes();
        let rows = vec![ExportRow {
            index: 3,
            length: 10,
            e_value: Some(serde_json::Number::from_f64(8.8e-22).unwrap()),
            families: "Marseillevirus family".into(),
            orf_count: 2,
        }];
        let contigs = view(&prepared, &rows).unwrap();
        let contig = &contigs[0];
        assert_eq!((contig.index, contig.length, contig.orf_count), (3, 10, 2));
        assert_eq!(contig.e_value, "8.8e-22");
        assert_eq!(contig.map.arrows.len(), 2);
        assert_eq!(contig.annotated.len(), 1);
        let orf = &contig.annotated[0];
        assert_eq!(orf.name, "RNA polymerase");
        assert_eq!((orf.strand, orf.frame, orf.span.as_str()), ("−", 2, "2–9"));
        assert_eq!(orf.families, "Marseillevirus family");
        assert_eq!(
            contig.map.arrows[0].label.as_deref(),
            Some("RNA polymerase · 8.8e-22")
        );
    }

    #[test]
    fn e_values_read_well() {
        assert_eq!(e_value(8.8e-22), "8.8e-22");
        assert_eq!(e_value(0.0099), "0.0099");
        assert_eq!(e_value(0.69), "0.69");
        assert_eq!(e_value(0.0), "0");
    }
}
