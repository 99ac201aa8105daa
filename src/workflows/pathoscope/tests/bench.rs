//! Timing of step 5 and the outputs on `test.vta` (30,593 lines, 20,276 reads, 40 references):
//! EM, rewrite, report, coverage and results. Run in release:
//! `cargo test --release --lib workflows::pathoscope::tests::bench -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use super::*;

#[test]
#[ignore = "a timing, not a check: run it in release"]
fn em_rewrite_coverage_report_of_test_vta() {
    let alignments = vta_alignments(&fixture("pathoscope/test.vta"));
    let lengths = json_fixture("pathoscope/ref_lengths.json");
    let index = IsolateIndex::new(
        (lengths.as_object().unwrap().iter())
            .map(|(id, length)| IsolateSequence {
                id: id.clone(),
                length: length.as_u64().unwrap() as usize,
                otu_id: "otu".to_owned(),
                otu_version: 0,
            })
            .collect(),
    );
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let start = Instant::now();
            let output = reassign_and_report(&alignments, &index, 0).unwrap();
            let elapsed = start.elapsed();
            assert_eq!(output.results.hits.len(), 25);
            elapsed
        })
        .collect();
    times.sort();
    println!(
        "test.vta: EM + rewrite + report + coverage + results: min {:?}, median {:?}, max {:?} (30 runs)",
        times[0], times[15], times[29]
    );
}
