//! Step 5 of `pathoscope_bowtie` on the fixtures' `pathoscope/test.vta` (30,593 alignments, 20,276
//! reads, 40 references): EM, rewrite, report, coverage and results, through
//! [`vira::workflows::pathoscope::reassign_and_report`], the call the worker makes.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use vira::workflows::pathoscope::{
    reassign_and_report, Alignments, IsolateIndex, IsolateSequence, SamLine, P_SCORE_CUTOFF,
};

/// The hits the fixture's reassignment gives (workflows §10.4: all 25 of `results.json`).
const HITS: usize = 25;

/// The alignments of `test.vta` (`read,reference,pos,length,p-score` per row), as the isolate
/// pass would have pushed them.
fn vta_alignments(text: &[u8]) -> Result<Alignments> {
    let mut alignments = Alignments::new(P_SCORE_CUTOFF);
    for row in text.split(|&b| b == b'\n').filter(|row| !row.is_empty()) {
        let fields: Vec<&[u8]> = row.split(|&b| b == b',').collect();
        let [read, reference, pos, length, p_score] = fields[..] else {
            bail!("not a VTA row: {}", row.escape_ascii());
        };
        let number = |field: &[u8]| String::from_utf8_lossy(field).into_owned();
        alignments.push(&SamLine {
            read,
            reference,
            pos: number(pos).parse()?,
            length: number(length).parse()?,
            p_score: number(p_score).parse()?,
        })?;
    }
    Ok(alignments)
}

/// The isolate index of `ref_lengths.json` (the OTUs do not matter to the timing).
fn isolate_index(lengths: &Value) -> Result<IsolateIndex> {
    let lengths = lengths
        .as_object()
        .context("ref_lengths.json is not an object")?;
    let sequences = lengths
        .iter()
        .map(|(id, length)| {
            Ok(IsolateSequence {
                id: id.clone(),
                length: length.as_u64().context("a length is not a number")? as usize,
                otu_id: "otu".to_owned(),
                otu_version: 0,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(IsolateIndex::new(sequences))
}

/// `runs` timings of the whole step, sorted.
pub fn time(fixtures: &Path, runs: usize) -> Result<Vec<Duration>> {
    let dir = fixtures.join("pathoscope");
    let vta = std::fs::read(dir.join("test.vta")).context("read test.vta")?;
    let lengths: Value = serde_json::from_slice(&std::fs::read(dir.join("ref_lengths.json"))?)?;
    let alignments = vta_alignments(&vta)?;
    let index = isolate_index(&lengths)?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let output = reassign_and_report(&alignments, &index, 0)?;
        times.push(start.elapsed());
        if output.results.hits.len() != HITS {
            bail!(
                "test.vta gave {} hits, not {HITS}",
                output.results.hits.len()
            );
        }
    }
    times.sort_unstable();
    Ok(times)
}
