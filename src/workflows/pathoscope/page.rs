//! What the Pathoscope page shows, built from the prepared results (the same bytes `GET
//! /api/analyses/{id}` serves) and the export rows stored at finalize (exact median depths): the
//! read counts, one row per OTU with a sparkline, and per OTU the charts of its sequences.

use super::format::{ExportRow, Median};
use super::model::{Isolate, Results, Sequence};
use crate::charts::coverage::{area_path, column_maxima, ticks, Track};

/// Width and height of the sparkline of an OTU row, pixels (one point a column at most).
pub const SPARK_WIDTH: usize = 120;
pub const SPARK_HEIGHT: u32 = 24;
/// Width and height of a sequence's chart when an OTU is expanded.
pub const CHART_WIDTH: usize = 720;
pub const CHART_HEIGHT: u32 = 120;

/// The whole page's data.
pub struct PathoscopeView {
    pub read_count: Option<i64>,
    pub subtracted_count: Option<i64>,
    /// Reads assigned to the OTUs shown (the sum of their sequences' reads).
    pub mapped_reads: i64,
    pub otus: Vec<OtuRow>,
}

impl PathoscopeView {
    /// Mapped and subtracted reads as percentages of the read count (for the bar), when known.
    pub fn shares(&self) -> Option<(f64, f64)> {
        let total = self.read_count.filter(|n| *n > 0)? as f64;
        let mapped = (self.mapped_reads as f64 / total * 100.0).clamp(0.0, 100.0);
        let subtracted =
            (self.subtracted_count.unwrap_or(0) as f64 / total * 100.0).clamp(0.0, 100.0 - mapped);
        Some((mapped, subtracted))
    }
}

/// One row of the OTU table.
pub struct OtuRow {
    pub id: String,
    pub name: String,
    pub abbreviation: String,
    /// Sum of its sequences' weights (`pi`).
    pub weight: f64,
    /// Mean of its sequences' median depths, weighted by length.
    pub depth: f64,
    /// Mean of its sequences' coverages, weighted by length.
    pub coverage: f64,
    pub reads: i64,
    pub sequence_count: usize,
    /// The sparkline of the best isolate's sequences, laid end to end.
    pub spark: String,
    pub spark_max: u64,
}

/// An expanded OTU: each isolate with a chart per sequence.
pub struct OtuDetail {
    pub name: String,
    pub isolates: Vec<IsolateDetail>,
}

pub struct IsolateDetail {
    pub name: String,
    pub sequences: Vec<SequenceChart>,
}

pub struct SequenceChart {
    pub accession: String,
    pub definition: String,
    pub length: u64,
    pub weight: f64,
    pub reads: i64,
    pub median_depth: f64,
    pub coverage: f64,
    pub path: String,
    pub max_depth: u64,
    /// `(x pixel, position)` and `(y pixel, depth)` ticks.
    pub x_ticks: Vec<(u32, u64)>,
    pub y_ticks: Vec<(u32, u64)>,
}

fn as_count(value: &Option<serde_json::Value>) -> Option<i64> {
    value.as_ref().and_then(serde_json::Value::as_i64)
}

fn median(value: &Median) -> f64 {
    match value {
        Median::Int(n) => *n as f64,
        Median::Float(f) => *f,
    }
}

/// `Isolate <name>` as the export names it (contract §10.2).
fn isolate_name(isolate: &Isolate) -> String {
    crate::workflows::pathoscope::format::isolate_name(
        isolate.source_type.as_deref().unwrap_or(""),
        isolate.source_name.as_deref().unwrap_or(""),
    )
}

/// The page's data; `rows` are the export rows, one per sequence in the same order.
pub fn view(prepared: &[u8], rows: &[ExportRow]) -> serde_json::Result<PathoscopeView> {
    let results: Results = serde_json::from_slice(prepared)?;
    let mut medians = rows.iter().map(|row| median(&row.median_depth));
    let mut mapped_reads = 0;
    let otus: Vec<OtuRow> = results
        .hits
        .iter()
        .map(|otu| {
            let mut row = OtuRow {
                id: otu.id.clone(),
                name: otu.name.clone().unwrap_or_default(),
                abbreviation: otu.abbreviation.clone().unwrap_or_default(),
                weight: 0.0,
                depth: 0.0,
                coverage: 0.0,
                reads: 0,
                sequence_count: 0,
                spark: String::new(),
                spark_max: 0,
            };
            let mut total_length = 0.0;
            for sequence in otu.isolates.iter().flat_map(|i| &i.sequences) {
                let length = sequence.length as f64;
                row.weight += sequence.pi;
                row.reads += sequence.reads as i64;
                row.depth += medians.next().unwrap_or(0.0) * length;
                row.coverage += sequence.coverage * length;
                row.sequence_count += 1;
                total_length += length;
            }
            if total_length > 0.0 {
                row.depth /= total_length;
                row.coverage /= total_length;
            }
            mapped_reads += row.reads;
            // The isolate with the most weight stands for the OTU in its sparkline.
            if let Some(best) = otu.isolates.iter().max_by(|a, b| {
                let weight = |i: &Isolate| i.sequences.iter().map(|s| s.pi).sum::<f64>();
                weight(a).total_cmp(&weight(b))
            }) {
                let tracks: Vec<Track<'_>> = best
                    .sequences
                    .iter()
                    .map(|s| Track {
                        points: &s.align,
                        length: s.length,
                    })
                    .collect();
                let maxima = column_maxima(&tracks, SPARK_WIDTH);
                row.spark_max = maxima.iter().copied().max().unwrap_or(0);
                row.spark = area_path(&maxima, SPARK_HEIGHT, row.spark_max);
            }
            row
        })
        .collect();
    let mut otus = otus;
    // Heaviest first, as the table's weight column says.
    otus.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    Ok(PathoscopeView {
        read_count: as_count(&results.read_count),
        subtracted_count: as_count(&results.subtracted_count),
        mapped_reads,
        otus,
    })
}

/// The expanded view of one OTU, `None` when the analysis has no such OTU.
pub fn otu_detail(
    prepared: &[u8],
    rows: &[ExportRow],
    otu_id: &str,
) -> serde_json::Result<Option<OtuDetail>> {
    let results: Results = serde_json::from_slice(prepared)?;
    // Export rows follow the sequences in order: skip those of the OTUs before this one.
    let mut medians = rows.iter().map(|row| median(&row.median_depth));
    for otu in results.hits.iter().take_while(|o| o.id != otu_id) {
        let count = otu
            .isolates
            .iter()
            .map(|i| i.sequences.len())
            .sum::<usize>();
        medians.by_ref().take(count).for_each(drop);
    }
    let Some(otu) = results.hits.iter().find(|o| o.id == otu_id) else {
        return Ok(None);
    };
    let isolates = otu
        .isolates
        .iter()
        .map(|isolate| IsolateDetail {
            name: isolate_name(isolate),
            sequences: isolate
                .sequences
                .iter()
                .map(|s| chart(s, medians.next().unwrap_or(0.0)))
                .collect(),
        })
        .collect();
    Ok(Some(OtuDetail {
        name: otu.name.clone().unwrap_or_default(),
        isolates,
    }))
}

fn chart(sequence: &Sequence, median_depth: f64) -> SequenceChart {
    let track = Track {
        points: &sequence.align,
        length: sequence.length,
    };
    let maxima = column_maxima(&[track], CHART_WIDTH);
    let max_depth = maxima.iter().copied().max().unwrap_or(0);
    let x_scale = CHART_WIDTH as f64 / sequence.length.max(1) as f64;
    let y_top = ticks(max_depth, 3)
        .last()
        .copied()
        .unwrap_or(0)
        .max(max_depth)
        .max(1);
    let height = CHART_HEIGHT as f64;
    SequenceChart {
        accession: sequence.accession.clone().unwrap_or_default(),
        definition: sequence.definition.clone().unwrap_or_default(),
        length: sequence.length,
        weight: sequence.pi,
        reads: sequence.reads as i64,
        median_depth,
        coverage: sequence.coverage,
        path: area_path(&maxima, CHART_HEIGHT, y_top),
        max_depth,
        x_ticks: ticks(sequence.length.saturating_sub(1), 6)
            .into_iter()
            .map(|p| ((p as f64 * x_scale).round() as u32, p))
            .collect(),
        y_ticks: ticks(y_top, 3)
            .into_iter()
            .map(|d| {
                (
                    (height - d as f64 / y_top as f64 * height).round() as u32,
                    d,
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prepared() -> Vec<u8> {
        json!({
            "read_count": 1000, "subtracted_count": 100,
            "hits": [
                {"id": "o1", "name": "Virus one", "abbreviation": "V1", "version": 0, "length": 100,
                 "isolates": [{"id": "i1", "default": true, "source_type": "isolate", "source_name": "A",
                    "sequences": [
                      {"id": "s1", "accession": "NC_1", "definition": "one", "length": 100,
                       "align": [[0, 0], [50, 20], [99, 0]], "best": 0.5, "coverage": 0.5, "pi": 0.75, "reads": 300},
                      {"id": "s2", "accession": "NC_2", "definition": "two", "length": 300,
                       "align": [[0, 4], [299, 4]], "best": 0.5, "coverage": 1.0, "pi": 0.05, "reads": 100}]}]},
                {"id": "o2", "name": "Virus two", "abbreviation": "", "version": 0, "length": 10,
                 "isolates": [{"id": "i2", "default": true, "source_type": "", "source_name": "",
                    "sequences": [{"id": "s3", "accession": "NC_3", "definition": "three", "length": 10,
                       "align": [[0, 1], [9, 1]], "best": 0.1, "coverage": 0.2, "pi": 0.2, "reads": 50}]}]}
            ]
        })
        .to_string()
        .into_bytes()
    }

    fn rows() -> Vec<ExportRow> {
        [Median::Int(10), Median::Float(4.0), Median::Int(1)]
            .into_iter()
            .map(|median_depth| ExportRow {
                otu: String::new(),
                isolate: String::new(),
                accession: String::new(),
                length: 0,
                weight: serde_json::Number::from(0),
                median_depth,
                coverage: serde_json::Number::from(0),
            })
            .collect()
    }

    #[test]
    fn otu_rows_sum_and_weigh_their_sequences() {
        let view = view(&prepared(), &rows()).unwrap();
        assert_eq!(view.read_count, Some(1000));
        assert_eq!(view.mapped_reads, 450);
        assert_eq!(view.shares(), Some((45.0, 10.0)));
        let one = &view.otus[0];
        assert!((one.weight - 0.8).abs() < 1e-12);
        assert_eq!(one.reads, 400);
        assert_eq!(one.sequence_count, 2);
        // (10·100 + 4·300) / 400 and (0.5·100 + 1.0·300) / 400.
        assert!((one.depth - 5.5).abs() < 1e-12);
        assert!((one.coverage - 0.875).abs() < 1e-12);
        assert_eq!(one.spark_max, 20);
        assert!(one.spark.starts_with("M0 24V"));
        assert_eq!(view.otus[1].depth, 1.0);
    }

    #[test]
    fn an_expanded_otu_has_a_chart_per_sequence() {
        let detail = otu_detail(&prepared(), &rows(), "o2").unwrap().unwrap();
        assert_eq!(detail.name, "Virus two");
        assert_eq!(detail.isolates[0].name, "Unnamed Isolate");
        let chart = &detail.isolates[0].sequences[0];
        assert_eq!(chart.accession, "NC_3");
        assert_eq!(chart.median_depth, 1.0, "the third export row");
        assert_eq!(chart.x_ticks.first(), Some(&(0, 0)));
        let detail = otu_detail(&prepared(), &rows(), "o1").unwrap().unwrap();
        assert_eq!(detail.isolates[0].name, "Isolate A");
        assert_eq!(detail.isolates[0].sequences[1].median_depth, 4.0);
        assert!(otu_detail(&prepared(), &rows(), "nope").unwrap().is_none());
    }
}
