//! Edge cases of workflows.md §10.4 that the fixtures do not reach, and properties of random
//! alignments.

use proptest::prelude::*;

use super::*;

const EMPTY_TSV: &str = "Total Number of Aligned Reads:\t0\tTotal Number of Mapped Genomes:\t0\r\n\
    Genome\tFinal Guess\tFinal Best Hit\tFinal Best Hit Read Numbers\tFinal High Confidence Hits\t\
    Final Low Confidence Hits\tInitial Guess\tInitial Best Hit\tInitial Best Hit Read Numbers\t\
    Initial High Confidence Hits\tInitial Low Confidence Hits\r\n";

/// A SAM line as bowtie2 writes it, with `length` bases and `AS:i` = p-score − length.
fn sam(read: &str, reference: &str, pos: u32, p_score: i64) -> String {
    let length = 10;
    let seq = "A".repeat(length);
    let alignment_score = p_score - length as i64;
    format!(
        "{read}\t0\t{reference}\t{pos}\t255\t10M\t*\t0\t0\t{seq}\t{seq}\tAS:i:{alignment_score}\n"
    )
}

fn alignments_of(lines: &[String]) -> Alignments {
    let mut alignments = Alignments::spilling(P_SCORE_CUTOFF, small_spill());
    feed(lines.concat().as_bytes(), &mut alignments).unwrap();
    alignments
}

/// An isolate index of `(id, length)` sequences, each its own OTU `otu_<id>` at version 1.
fn index_of(sequences: &[(&str, usize)]) -> IsolateIndex {
    IsolateIndex::new(
        (sequences.iter())
            .map(|&(id, length)| IsolateSequence {
                id: id.to_owned(),
                length,
                otu_id: format!("otu_{id}"),
                otu_version: 1,
            })
            .collect(),
    )
}

#[test]
fn no_alignments_give_the_header_lines_and_no_hit() {
    let empty = PathoscopeOutput::empty(0);
    assert_eq!(empty.report_tsv, EMPTY_TSV);
    assert_eq!(
        serde_json::to_string(&empty.results).unwrap(),
        r#"{"subtracted_count":0,"read_count":0,"hits":[]}"#
    );
    let output = reassign_and_report(
        &Alignments::new(P_SCORE_CUTOFF),
        &IsolateIndex::default(),
        0,
    );
    assert_eq!(output.unwrap(), empty);
}

#[test]
fn everything_subtracted() {
    let mut alignments = alignments_of(&[
        sam("a", "r1", 1, 100),
        sam("b", "r1", 30, 90),
        sam("a", "r2", 5, 80),
    ]);
    let mut pass = SubtractionScores::new(&alignments);
    feed(
        format!("{}{}", sam("a", "chr1", 1, 100), sam("b", "chr1", 1, 95)).as_bytes(),
        &mut pass,
    )
    .unwrap();
    let subtracted = alignments.eliminate(&pass.finish()).unwrap();
    assert_eq!(subtracted.count(), 2);
    assert!(alignments.is_empty());
    let fastq = "@a\nAAAA\n+\nIIII\n@b extra\nCCCC\n+\nIIII\n@c\nGGGG\n+\nIIII\n";
    let mut rewritten = Vec::new();
    let counts = rewrite_fastq(fastq.as_bytes(), &mut rewritten, &alignments, &subtracted).unwrap();
    assert_eq!(rewritten, b"@c\nGGGG\n+\nIIII\n");
    assert_eq!((counts.kept, counts.removed), (1, 2));
    let output =
        reassign_and_report(&alignments, &index_of(&[("r1", 100), ("r2", 100)]), 2).unwrap();
    assert_eq!(output, PathoscopeOutput::empty(2));
}

/// Lines of a read that scored higher than the host stay; the read is then not subtracted.
#[test]
fn the_removal_rule_is_per_alignment() {
    let mut alignments = alignments_of(&[
        sam("a", "r1", 1, 100),
        sam("a", "r2", 1, 80),
        sam("b", "r1", 1, 70),
    ]);
    let mut pass = SubtractionScores::new(&alignments);
    // The last line of a read is its score: `a` scores 90, not 200; `b` 70 (a tie removes).
    let host = [
        sam("a", "chr1", 1, 200),
        sam("a", "chr2", 1, 90),
        sam("b", "chr1", 1, 70),
        sam("z", "chr1", 1, 999),
    ];
    feed(host.concat().as_bytes(), &mut pass).unwrap();
    let subtracted = alignments.eliminate(&pass.finish()).unwrap();
    assert_eq!(subtracted.count(), 1);
    let left: Vec<(u32, u32)> = (alignments.to_vec().unwrap().iter())
        .map(|l| (l.read, l.reference))
        .collect();
    assert_eq!(left, [(0, 0)]);
}

#[test]
fn a_single_non_unique_read() {
    let alignments = alignments_of(&[
        sam("m", "r1", 1, 100),
        sam("m", "r2", 1, 90),
        sam("m", "r1", 50, 100),
    ]);
    let em = reassign(&alignments, P_SCORE_CUTOFF).unwrap();
    let (s1, s2) = (100f64.exp(), 90f64.exp());
    let x1 = s1 / (s1 + s2);
    let x2 = s2 / (s1 + s2);
    // One EM iteration (fewer than two non-unique reads): pi = x · w / w.
    assert_eq!(em.pi, [x1 * s1 / s1, x2 * s1 / s1]);
    assert_eq!(em.init_pi, em.pi);
    assert_eq!(em.initial, em.last);
    assert_eq!(em.last.reads, [1.0, 0.0]);
    assert_eq!(
        (em.last.high.clone(), em.last.low.clone()),
        (vec![1.0, 0.0], vec![0.0, 0.0])
    );
    // r1's two lines (duplicates of a non-unique read count) stay, r2's x < 0.01 does not.
    assert_eq!(em.rewritten.to_vec(), [0, 2]);
    let output =
        reassign_and_report(&alignments, &index_of(&[("r1", 100), ("r2", 100)]), 0).unwrap();
    let hits = &output.results.hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].id.as_str(), hits[0].last.reads, hits[0].depth),
        ("r1", 1, 0)
    );
    assert_eq!(hits[0].align[0..10], [1; 10]);
    assert_eq!(hits[0].align[49..59], [1; 10]);
    assert_eq!(hits[0].coverage, 0.2);
}

/// Equal x share the best hit; equal pi are ordered by id, descending like the tuples.
#[test]
fn ties_in_x_and_pi() {
    let alignments = alignments_of(&[sam("m", "a", 1, 50), sam("m", "b", 1, 50)]);
    let em = reassign(&alignments, P_SCORE_CUTOFF).unwrap();
    assert_eq!(em.pi, [0.5, 0.5]);
    assert_eq!(em.last.reads, [0.5, 0.5]);
    assert_eq!(em.last.high, [1.0, 1.0]);
    let output = reassign_and_report(&alignments, &index_of(&[("a", 20), ("b", 20)]), 0).unwrap();
    let ids: Vec<&str> = output.results.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["b", "a"]);
    assert_eq!(output.results.hits[0].last.reads, 0);
    let row = output.report_tsv.split("\r\n").nth(2).unwrap();
    assert_eq!(row, "b\t0.5\t0.5\t0.5\t1.0\t0.0\t0.5\t0.5\t0.5\t1.0\t0.0");
}

/// A unique read's duplicate lines count once and only its first line is reassigned.
#[test]
fn duplicates_of_a_unique_read() {
    let alignments = alignments_of(&[sam("u", "r1", 1, 100), sam("u", "r1", 40, 60)]);
    let em = reassign(&alignments, P_SCORE_CUTOFF).unwrap();
    assert_eq!((em.read_count(), em.rewritten.to_vec()), (1, vec![0]));
    assert_eq!(em.pi, [1.0]);
}

/// Casava mates share their name up to the whitespace: one read, both records removed. `/1`
/// and `/2` names stay two reads.
#[test]
fn casava_mate_names() {
    let lines = [
        sam("P:5", "r1", 1, 100),
        sam("Q/1", "r1", 1, 100),
        sam("Q/2", "r1", 1, 100),
        sam("P:5", "r1", 200, 100),
    ];
    let mut alignments = alignments_of(&lines);
    assert_eq!(
        reassign(&alignments, P_SCORE_CUTOFF).unwrap().read_count(),
        3
    );
    let mut pass = SubtractionScores::new(&alignments);
    feed(sam("P:5", "chr1", 1, 120).as_bytes(), &mut pass).unwrap();
    let subtracted = alignments.eliminate(&pass.finish()).unwrap();
    assert_eq!(subtracted.count(), 1);
    let fastq = "@P:5 1:N:0:1\nAAAA\n+\nIIII\n@Q/1\nCCCC\n+\nIIII\n@P:5\t2:N:0:1\nGGGG\n+\nIIII\n@Q/2\nTTTT\n+\nIIII";
    let mut rewritten = Vec::new();
    rewrite_fastq(fastq.as_bytes(), &mut rewritten, &alignments, &subtracted).unwrap();
    assert_eq!(rewritten, b"@Q/1\nCCCC\n+\nIIII\n@Q/2\nTTTT\n+\nIIII");
}

#[test]
fn a_reported_sequence_must_be_in_the_index() {
    let alignments = alignments_of(&[sam("u", "r1", 1, 100)]);
    let error = reassign_and_report(&alignments, &index_of(&[("r2", 10)]), 0).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bowtie2 reported sequence r1, which the index does not hold"
    );
}

/// Lines with p-scores 1–300 over up to 6 references and 12 reads.
fn random_lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec((0..12u8, 0..6u8, 1..300i64, 1..50u32), 0..60).prop_map(|lines| {
        (lines.into_iter())
            .map(|(read, reference, p_score, pos)| {
                sam(&format!("q{read}"), &format!("r{reference}"), pos, p_score)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn em_properties(lines in random_lines()) {
        let alignments = alignments_of(&lines);
        let em = reassign(&alignments, P_SCORE_CUTOFF).unwrap();
        let distinct_reads = alignments.read_total();
        prop_assert_eq!(em.read_count(), distinct_reads);
        prop_assert_eq!(em.refs.len(), alignments.references().len());
        if !em.refs.is_empty() {
            prop_assert!((em.pi.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            prop_assert!((em.init_pi.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            for hits in [&em.initial, &em.last] {
                prop_assert!((hits.reads.iter().sum::<f64>() - distinct_reads as f64).abs() < 1e-9);
            }
        }
        // The rewrite keeps lines in order, at least one per read.
        let rewritten = em.rewritten.to_vec();
        prop_assert!(rewritten.windows(2).all(|w| w[0] < w[1]));
        let kept = alignments.to_vec().unwrap();
        let mut reads: Vec<u32> = rewritten.iter().map(|&l| kept[l as usize].read).collect();
        reads.sort_unstable();
        reads.dedup();
        prop_assert_eq!(reads.len(), distinct_reads);
        // The same lines in a fresh store (another hash seed) give the same bits.
        prop_assert_eq!(&reassign(&alignments_of(&lines), P_SCORE_CUTOFF).unwrap(), &em);
    }

    #[test]
    fn report_properties(lines in random_lines()) {
        let alignments = alignments_of(&lines);
        let em = reassign(&alignments, P_SCORE_CUTOFF).unwrap();
        let report = Report::new(&em, alignments.references());
        for pair in report.rows.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            prop_assert!(a.last.pi > b.last.pi || (a.last.pi == b.last.pi && a.id > b.id));
        }
        // Every kept reference passes the rule; every dropped one has pi < 0.01, and the
        // first one dropped (the next in order) fails the whole rule.
        let fails = |r: usize| em.pi[r] < 0.01 && em.last.high[r] <= 0.0 && em.last.low[r] <= 0.0;
        let kept: Vec<usize> = report.rows.iter().map(|r| r.reference).collect();
        prop_assert!(kept.iter().all(|&r| !fails(r)));
        let dropped: Vec<usize> = (0..em.refs.len()).filter(|r| !kept.contains(r)).collect();
        prop_assert!(dropped.iter().all(|&r| em.pi[r] < 0.01));
        if let Some(&first) = dropped.iter().max_by(|&&a, &&b| {
            em.pi[a].partial_cmp(&em.pi[b]).unwrap().then_with(|| {
                let ids = alignments.references();
                ids[em.refs[a] as usize].cmp(&ids[em.refs[b] as usize])
            })
        }) {
            prop_assert!(fails(first));
        }
        prop_assert_eq!(report.tsv().matches("\r\n").count(), 2 + report.rows.len());
    }

    #[test]
    fn subtraction_is_the_drop_in_read_count(lines in random_lines(), host in prop::collection::vec((0..12u8, 1..300i64), 0..12)) {
        let mut alignments = alignments_of(&lines);
        let before = reassign(&alignments, P_SCORE_CUTOFF).unwrap().read_count();
        let mut pass = SubtractionScores::new(&alignments);
        let host: String = host.iter().map(|&(read, p_score)| sam(&format!("q{read}"), "chr", 1, p_score)).collect();
        feed(host.as_bytes(), &mut pass).unwrap();
        let subtracted = alignments.eliminate(&pass.finish()).unwrap();
        let after = reassign(&alignments, P_SCORE_CUTOFF).unwrap().read_count();
        prop_assert_eq!(before as u64, after as u64 + subtracted.count());
    }
}
