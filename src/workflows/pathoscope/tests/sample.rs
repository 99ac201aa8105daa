//! Virtool's own sample (`fixtures/pathoscope/`): `test.vta` through step 5 gives
//! `report_input.json` bit for bit, `updated.vta` row for row, `report.tsv` byte for byte, the
//! 25 hits of `results.json` and the 35 depth arrays of `coverage.json`.

use std::sync::OnceLock;

use super::*;

struct Sample {
    alignments: Alignments,
    em: Reassignment,
    report: Report,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let alignments = vta_alignments(&fixture("pathoscope/test.vta"));
        let em = reassign(&alignments, P_SCORE_CUTOFF).unwrap();
        let report = Report::new(&em, alignments.references());
        Sample {
            alignments,
            em,
            report,
        }
    })
}

/// `{sequence id: length}` of the index of the time.
fn ref_lengths() -> Vec<(String, usize)> {
    let lengths = json_fixture("pathoscope/ref_lengths.json");
    (lengths.as_object().unwrap().iter())
        .map(|(id, length)| (id.clone(), length.as_u64().unwrap() as usize))
        .collect()
}

#[test]
fn em_arrays_equal_report_input() {
    let Sample { alignments, em, .. } = sample();
    assert_eq!(alignments.len(), 30_593);
    assert_em(
        em,
        alignments,
        &json_fixture("pathoscope/report_input.json"),
    );
}

#[test]
fn rewrite_equals_updated_vta() {
    let Sample { alignments, em, .. } = sample();
    let rows = vta_rows(alignments, rewritten(alignments, em).unwrap());
    let expected = String::from_utf8(fixture("pathoscope/updated.vta")).unwrap();
    let expected: Vec<&str> = expected.lines().collect();
    assert_eq!(rows.len(), 26_536);
    assert_eq!(rows, expected);
}

#[test]
fn report_tsv_byte_for_byte() {
    let tsv = sample().report.tsv();
    assert_eq!(tsv.as_bytes(), &fixture("pathoscope/report.tsv")[..]);
    assert_eq!(sample().report.rows.len(), 25);
    assert_eq!(sample().report.genome_count, 40);
}

#[test]
fn hits_equal_results_json() {
    let Sample {
        alignments,
        em,
        report,
    } = sample();
    let expected = json_fixture("pathoscope/results.json");
    let expected = expected.as_array().unwrap();
    // The OTUs of results.json are placeholders; give each sequence the one its hit names.
    let otu_of = |id: &str| {
        (expected.iter())
            .find(|hit| hit["id"] == id)
            .map(|hit| {
                let otu = &hit["otu"];
                (
                    otu["id"].as_str().unwrap().to_owned(),
                    otu["version"].as_i64().unwrap(),
                )
            })
            .unwrap_or_else(|| ("none".to_owned(), 0))
    };
    let index = IsolateIndex::new(
        (ref_lengths().into_iter())
            .map(|(id, length)| {
                let (otu_id, otu_version) = otu_of(&id);
                IsolateSequence {
                    id,
                    length,
                    otu_id,
                    otu_version,
                }
            })
            .collect(),
    );
    let body = ResultsBody::new(alignments, em, report, &index, 0).unwrap();
    assert_eq!(body.read_count, 20_276);
    assert_eq!(body.hits.len(), expected.len());
    for (hit, e) in body.hits.iter().zip(expected) {
        assert_eq!(hit.id, e["id"].as_str().unwrap());
        assert_guesses(hit, e);
        assert_eq!(serde_json::to_value(&hit.otu).unwrap(), e["otu"]);
        assert_eq!(
            Value::from(hit.align.clone()),
            e["align"],
            "{} align",
            hit.id
        );
        assert_bits(
            &hit.id,
            &[hit.coverage],
            &Value::from(vec![e["coverage"].clone()]),
        );
        assert_eq!(Value::from(hit.depth), e["depth"], "{} depth", hit.id);
    }
}

#[test]
fn depth_arrays_equal_coverage_json() {
    let Sample { alignments, em, .. } = sample();
    let expected = json_fixture("pathoscope/coverage.json");
    let expected = expected.as_object().unwrap();
    let lengths = ref_lengths();
    let wanted: Vec<(u32, usize)> = (expected.keys())
        .map(|id| {
            let reference = (alignments.references().iter())
                .position(|r| r == id)
                .unwrap() as u32;
            let length = lengths.iter().find(|(i, _)| i == id).unwrap().1;
            (reference, length)
        })
        .collect();
    let arrays = depth_arrays(
        &wanted,
        alignments.references().len(),
        rewritten(alignments, em).unwrap(),
    );
    assert_eq!(arrays.len(), 35);
    for ((id, e), got) in expected.iter().zip(arrays) {
        assert_eq!(Value::from(got), *e, "{id}");
    }
}

/// The 50 SAM lines of the same run parse to rows of `test.vta`.
#[test]
fn sam_lines_parse_to_vta_rows() {
    let sam = fixture("pathoscope/sam_50.sam");
    let mut alignments = Alignments::new(P_SCORE_CUTOFF);
    feed(&sam[..], &mut alignments).unwrap();
    let vta = String::from_utf8(fixture("pathoscope/test.vta")).unwrap();
    let vta: std::collections::HashSet<&str> = vta.lines().collect();
    let rows = vta_rows(&alignments, alignments.to_vec().unwrap());
    assert_eq!(rows.len(), 50);
    for row in rows {
        assert!(vta.contains(row.as_str()), "{row}");
    }
}

/// `to_subtraction.json`'s scores against `test.vta`: 4 reads lose every line (and no read loses
/// only some), and `read_count` drops by exactly `subtracted_count`.
#[test]
fn subtraction_scores_of_the_sample() {
    let mut alignments = vta_alignments(&fixture("pathoscope/test.vta"));
    let scores = json_fixture("pathoscope/to_subtraction.json");
    let mut sam = Vec::new();
    for (read, score) in scores.as_object().unwrap() {
        // One base of SEQ: AS:i is the score less 1.
        let alignment_score = score.as_f64().unwrap() as i64 - 1;
        let line =
            format!("{read}\t0\tchrom_1\t1\t255\t1M\t*\t0\t0\tA\tI\tAS:i:{alignment_score}\n");
        sam.extend_from_slice(line.as_bytes());
    }
    let mut pass = SubtractionScores::new(&alignments);
    feed(&sam[..], &mut pass).unwrap();
    let scores = pass.finish();
    let before = reassign(&alignments, P_SCORE_CUTOFF).unwrap().read_count();
    let subtracted = alignments.eliminate(&scores).unwrap();
    let after = reassign(&alignments, P_SCORE_CUTOFF).unwrap().read_count();
    assert_eq!(subtracted.count(), 4);
    assert_eq!(alignments.len(), 30_589);
    assert_eq!((before, after), (20_276, 20_272));
}
