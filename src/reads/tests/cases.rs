//! Every §3.3 message, its rank, the line rules and the pair rules, on small inputs.

use super::*;
use crate::reads::{names_pair, Gc, MAX_READ_LENGTH};

/// `n` records `@r<i>` of `sequence` with quality `I` throughout.
fn records(n: usize, sequence: &str) -> String {
    (1..=n)
        .map(|i| format!("@r{i}\n{sequence}\n+\n{}\n", "I".repeat(sequence.len())))
        .collect()
}

fn invalid(data: &str) -> String {
    message(check("x.fq", data.as_bytes()))
}

#[test]
fn one_message_per_problem() {
    let ok = "@r1\nACGT\n+\nIIII\n";
    let cases = [
        ("", "x.fq: no reads"),
        ("\n\n", "x.fq: no reads"),
        (
            "r1\nA\n+\nI\n",
            r#"x.fq: record 1 (line 1): the header does not start with "@""#,
        ),
        (
            "@\nA\n+\nI\n",
            "x.fq: record 1 (line 1): the read name is empty",
        ),
        (
            "@ r1\nA\n+\nI\n",
            "x.fq: record 1 (line 1): the read name is empty",
        ),
        (
            "@\tr1\nA\n+\nI\n",
            "x.fq: record 1 (line 1): the read name is empty",
        ),
        (
            "@r1\n\n+\n\n",
            "x.fq: record 1 (line 2): the sequence is empty",
        ),
        (
            "@r1\nAC*T\n+\nIIII\n",
            r#"x.fq: record 1 (line 2): the sequence has the character "*""#,
        ),
        (
            "@r1\nAC\tT\n+\nIIII\n",
            r#"x.fq: record 1 (line 2): the sequence has the character "\x09""#,
        ),
        (
            "@r1\nAC T\n+\nIIII\n",
            r#"x.fq: record 1 (line 2): the sequence has the character " ""#,
        ),
        (
            "@r1\nACé\n+\nIIII\n",
            r#"x.fq: record 1 (line 2): the sequence has the character "\xC3""#,
        ),
        (
            "@r1\nACGT\n-\nIIII\n",
            r#"x.fq: record 1 (line 3): the separator line does not start with "+""#,
        ),
        (
            "@r1\nACGT\n\nIIII\n",
            r#"x.fq: record 1 (line 3): the separator line does not start with "+""#,
        ),
        (
            "@r1\nACGT\n+\nIII\n",
            "x.fq: record 1 (line 4): the quality has 3 characters, the sequence 4",
        ),
        (
            "@r1\nACGT\n+\nIIIII\n",
            "x.fq: record 1 (line 4): the quality has 5 characters, the sequence 4",
        ),
        (
            "@r1\nACGT\n+\nII I\n",
            r#"x.fq: record 1 (line 4): the quality has the character " ""#,
        ),
        (
            "@r1\nACGT\n+\nII\x7fI\n",
            r#"x.fq: record 1 (line 4): the quality has the character "\x7F""#,
        ),
        ("@r1\n", "x.fq: record 1 is incomplete"),
        ("@r1\nACGT", "x.fq: record 1 is incomplete"),
        ("@r1\nACGT\n+\n", "x.fq: record 1 is incomplete"),
        (
            &format!("{ok}@r2\nA\n+\nI\n@r3\nA\n"),
            "x.fq: record 3 is incomplete",
        ),
        // A blank line where a header is due is fine only if nothing but blank lines follows.
        (
            &format!("{ok}\n\n@r2\nA\n+\nI\n"),
            r#"x.fq: record 2 (line 5): the header does not start with "@""#,
        ),
        (
            &format!("{ok}\nx"),
            r#"x.fq: record 2 (line 5): the header does not start with "@""#,
        ),
    ];
    for (data, want) in cases {
        assert_eq!(invalid(data), want, "{data:?}");
    }
}

#[test]
fn problems_rank_in_line_order() {
    // Within a record: the header before the sequence, and so on; the first record first.
    assert_eq!(
        invalid("r1\n*\n-\n\x01\n"),
        r#"x.fq: record 1 (line 1): the header does not start with "@""#
    );
    assert_eq!(
        invalid("@r1\n*\n-\n\x01\n"),
        r#"x.fq: record 1 (line 2): the sequence has the character "*""#
    );
    assert_eq!(
        invalid("@r1\nA\n-\n\x01\x01\n"),
        r#"x.fq: record 1 (line 3): the separator line does not start with "+""#
    );
    // Length before characters in the quality.
    assert_eq!(
        invalid("@r1\nA\n+\n\x01\x01\n"),
        "x.fq: record 1 (line 4): the quality has 2 characters, the sequence 1"
    );
    let two = format!("{}@r2\nA*\n+\nII\n@r3\n", records(1, "A"));
    assert_eq!(
        invalid(&two),
        r#"x.fq: record 2 (line 6): the sequence has the character "*""#
    );
}

#[test]
fn reads_longer_than_the_limit() {
    let longest = "A".repeat(MAX_READ_LENGTH);
    let quality = check("x.fq", records(2, &longest).as_bytes()).unwrap();
    assert_eq!(quality.length, [10_000, 10_000]);
    assert_eq!(quality.bases.len(), 10_000);

    let too_long = format!("A{longest}");
    assert_eq!(
        invalid(&records(1, &too_long)),
        "x.fq: record 1 (line 2): the read is longer than 10000 bases"
    );
    // Characters rank before the length; the length before the separator.
    let bad = format!("{too_long}*");
    assert_eq!(
        invalid(&records(1, &bad)),
        r#"x.fq: record 1 (line 2): the sequence has the character "*""#
    );
    assert_eq!(
        invalid(&format!("@r1\n{too_long}\n-\n")),
        "x.fq: record 1 (line 2): the read is longer than 10000 bases"
    );
}

#[test]
fn line_ends() {
    let lf = records(3, "ACGTN");
    let crlf = lf.replace('\n', "\r\n");
    let want = check("x.fq", lf.as_bytes()).unwrap();
    assert_eq!(want.count, 3);
    assert_eq!(check("x.fq", crlf.as_bytes()).unwrap(), want);
    // No final newline, with either line end.
    assert_eq!(check("x.fq", lf.trim_end().as_bytes()).unwrap(), want);
    assert_eq!(check("x.fq", crlf.trim_end().as_bytes()).unwrap(), want);
    // Trailing blank lines, with either line end.
    for tail in ["\n", "\n\n\n", "\r\n\r\n", "\n\r\n"] {
        assert_eq!(
            check("x.fq", format!("{lf}{tail}").as_bytes()).unwrap(),
            want
        );
    }
    // A `\r` counts as a character where no `\n` follows it.
    assert_eq!(
        invalid(&format!("{}\r", lf.trim_end())),
        "x.fq: record 3 (line 12): the quality has 6 characters, the sequence 5"
    );
    // A lone `\r` in a sequence is not a line end.
    assert_eq!(
        invalid("@r1\nAC\rGT\n+\nIIIII\n"),
        r#"x.fq: record 1 (line 2): the sequence has the character "\x0D""#
    );
}

#[test]
fn gzip_inputs() {
    let data = records(50, "ACGTACGT");
    let want = check("x.fq", data.as_bytes()).unwrap();
    assert_eq!(check("x.fq.gz", &gzip(data.as_bytes())).unwrap(), want);
    // Several members, split anywhere.
    let (head, tail) = data.as_bytes().split_at(1234);
    let mut members = gzip(head);
    members.extend_from_slice(&gzip(tail));
    assert_eq!(check("x.fq.gz", &members).unwrap(), want);
    // An empty member: no reads.
    assert_eq!(message(check("x.fq.gz", &gzip(b""))), "x.fq.gz: no reads");
    // Only the magic bytes decide: a `.gz` name on plain text is plain text.
    assert_eq!(check("x.fq.gz", data.as_bytes()).unwrap(), want);
}

#[test]
fn corrupt_gzip() {
    let data = records(2000, "ACGTACGTTTGACCA");
    let compressed = gzip(data.as_bytes());
    let corrupt = "x.fq.gz: gzip data is corrupt";
    // Truncated anywhere, including inside the header: the cut-off record is not "incomplete".
    for cut in [
        2,
        5,
        12,
        compressed.len() / 3,
        compressed.len() - 9,
        compressed.len() - 1,
    ] {
        assert_eq!(message(check("x.fq.gz", &compressed[..cut])), corrupt);
    }
    // A wrong CRC: every record is checked first, then the damage is reported.
    let mut bad_crc = compressed.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 0xff;
    assert_eq!(message(check("x.fq.gz", &bad_crc)), corrupt);
    // Garbage after the member.
    let mut garbage = compressed.clone();
    garbage.extend_from_slice(b"junk");
    assert_eq!(message(check("x.fq.gz", &garbage)), corrupt);
    // Zero padding after a member is accepted, as gzip(1) and Python do.
    let mut padded = compressed.clone();
    padded.extend_from_slice(&[0; 100]);
    assert_eq!(check("x.fq.gz", &padded).unwrap().count, 2000);

    // A problem in a complete record before the damage is reported first.
    let bad_early = data.replacen("@r3\n", "r3\n", 1);
    let compressed = gzip(bad_early.as_bytes());
    assert_eq!(
        message(check("x.fq.gz", &compressed[..compressed.len() / 2])),
        r#"x.fq.gz: record 3 (line 9): the header does not start with "@""#
    );
}

#[test]
fn pair_messages_and_their_rank() {
    let four = records(4, "ACGT");
    let five = records(5, "ACGT");
    assert_eq!(
        message(check_pair(four.as_bytes(), five.as_bytes())),
        "the files hold different numbers of reads: 4 in a.fq, 5 in b.fq"
    );
    let renamed = four.replace("@r3\n", "@s3\n");
    assert_eq!(
        message(check_pair(four.as_bytes(), renamed.as_bytes())),
        r#"the reads of record 3 do not pair: "r3" in a.fq, "s3" in b.fq"#
    );
    // File 1's problem ranks before file 2's, file 2's before the count, the count before names.
    let broken_late = records(4, "ACGT").replace("@r4\n", "r4\n");
    let broken_early = records(5, "ACGT").replace("@r1\n", "r1\n");
    assert_eq!(
        message(check_pair(broken_late.as_bytes(), broken_early.as_bytes())),
        r#"a.fq: record 4 (line 13): the header does not start with "@""#
    );
    assert_eq!(
        message(check_pair(four.as_bytes(), broken_early.as_bytes())),
        r#"b.fq: record 1 (line 1): the header does not start with "@""#
    );
    let renamed_five = five.replace("@r1\n", "@s1\n");
    assert_eq!(
        message(check_pair(four.as_bytes(), renamed_five.as_bytes())),
        "the files hold different numbers of reads: 4 in a.fq, 5 in b.fq"
    );
    // The first mismatch is the one reported.
    let two_renamed = four.replace("@r2\n", "@s2\n").replace("@r4\n", "@s4\n");
    assert_eq!(
        message(check_pair(four.as_bytes(), two_renamed.as_bytes())),
        r#"the reads of record 2 do not pair: "r2" in a.fq, "s2" in b.fq"#
    );
    // A corrupt second file, after the first is fine.
    let compressed = gzip(four.as_bytes());
    assert_eq!(
        message(check_pair(
            four.as_bytes(),
            &compressed[..compressed.len() - 4]
        )),
        "b.fq: gzip data is corrupt"
    );
}

/// Many records per file, so the two files are compared across many chunks.
#[test]
fn large_pairs_compare_every_record() {
    let n = 120_000;
    let first: String = (1..=n)
        .map(|i| format!("@p{i}/1\nACGTACGTAC\n+\nIIIIIIIIII\n"))
        .collect();
    let second = first.replace("/1\n", "/2\n");
    let [left, right, both] = check_pair(first.as_bytes(), second.as_bytes()).unwrap();
    assert_eq!((left.count, right.count, both.count), (n, n, 2 * n));
    let mismatch = second.replace("@p99999/2\n", "@p99999/3\n");
    assert_eq!(
        message(check_pair(first.as_bytes(), mismatch.as_bytes())),
        r#"the reads of record 99999 do not pair: "p99999/1" in a.fq, "p99999/3" in b.fq"#
    );
}

#[test]
fn pair_name_rules() {
    for (a, b) in [
        ("x", "x"),
        ("x/1", "x/2"),
        ("x;1", "x;2"),
        ("x.1", "x.2"),
        ("x_1", "x_2"),
        ("x/1", "x/1"),
    ] {
        assert!(names_pair(a.as_bytes(), b.as_bytes()), "{a} {b}");
    }
    for (a, b) in [
        ("x:101", "x:102"),
        ("x/2", "x/1"),
        ("x1", "x2"),
        ("x/11", "x/12"),
        ("x/1", "y/2"),
        ("x/1", "x_2"),
        ("x", "x/2"),
        ("/1", "/2x"),
    ] {
        assert!(!names_pair(a.as_bytes(), b.as_bytes()), "{a} {b}");
    }
    assert!(names_pair(b"/1", b"/2"));
    // Casava headers: the name ends at the space, so the mates' names are equal.
    let casava_1 = "@M1:7:X:1:1101:1:2 1:N:0:ACGT\nACGT\n+\nIIII\n";
    let casava_2 = casava_1.replace(" 1:N", " 2:N");
    assert!(check_pair(casava_1.as_bytes(), casava_2.as_bytes()).is_ok());
    let slash_2 = "@r/2\tcomment\nA\n+\nI\n";
    assert!(check_pair(b"@r/1 c\nA\n+\nI\n", slash_2.as_bytes()).is_ok());
}

#[test]
fn quality_rules() {
    // Lower case and N count for nothing in the composition; a cycle of none is zeros.
    let data = "@r1\nGAnN\n+\nIIII\n@r2\nGCaN\n+\n5555\n";
    let quality = check("x.fq", data.as_bytes()).unwrap();
    assert_eq!(
        quality.composition,
        [
            [100.0, 0.0, 0.0, 0.0],
            [0.0, 50.0, 0.0, 50.0],
            [0.0; 4],
            [0.0; 4]
        ]
    );
    // gc: ⌊100·(G + C) / (A + C + G + T)⌋ over the whole file.
    assert_eq!(quality.gc, Gc::Whole(75));
    assert_eq!(quality.count, 2);
    assert_eq!(quality.length, [4, 4]);
    // Few bases per cycle: every column is the mean. At offset 33, I is 40 and 5 is 20.
    assert_eq!(quality.bases, vec![[30.0; 6]; 4]);
    assert_eq!(quality.encoding, "Sanger / Illumina 1.9");
    let mut sequences = [0; 50];
    sequences[40] = 1;
    sequences[20] = 1;
    assert_eq!(quality.sequences, sequences);

    // The lowest quality byte picks the encoding and the offset.
    for (lowest, encoding) in [
        ('?', "Sanger / Illumina 1.9"),
        ('@', "Illumina 1.5"),
        ('A', "Illumina 1.3"),
        ('B', "Illumina 1.5"),
    ] {
        let data = format!("@r\nAA\n+\n{lowest}h\n");
        let quality = check("x.fq", data.as_bytes()).unwrap();
        assert_eq!(quality.encoding, encoding, "{lowest}");
        let offset = if lowest == '?' { 33 } else { 64 };
        let scores = [lowest as u8 as f64 - offset as f64, 104.0 - offset as f64];
        assert_eq!(quality.bases[0][0], scores[0]);
        assert_eq!(quality.bases[1][0], scores[1]);
        // ⌊(lowest + 104) / 2⌋ − offset, when below 50.
        let mean = (lowest as usize + 104) / 2 - offset;
        assert_eq!(quality.sequences.iter().sum::<u64>(), u64::from(mean < 50));
    }
}

/// Percentiles need more than 100 bases at a cycle: the first score whose running count reaches
/// ⌊N·p/100⌋.
#[test]
fn percentiles_per_cycle() {
    // 101 reads: 10 of score 10 ('+'), 91 of score 30 ('?').
    let mut data = String::new();
    for i in 0..101 {
        let q = if i < 10 { '+' } else { '?' };
        data.push_str(&format!("@r{i}\nA\n+\n{q}\n"));
    }
    let quality = check("x.fq", data.as_bytes()).unwrap();
    // mean = (100 + 2730) / 101; p10: ⌊101·10/100⌋ = 10 → reached by score 10.
    let mean = crate::reads::round_half_even(2830.0 / 101.0, 3);
    assert_eq!(quality.bases, vec![[mean, 30.0, 30.0, 30.0, 10.0, 30.0]]);
}

#[test]
fn pair_composite() {
    let first = "@r/1\nGGGG\n+\nIIII\n";
    let second = "@r/2\nGGAA\n+\n5555\n@s/2\nA\n+\n5\n";
    let one_more = format!("{first}@s/1\nCCCCCC\n+\nIIIIII\n");
    let [left, right, both] = check_pair(one_more.as_bytes(), second.as_bytes()).unwrap();
    assert_eq!(left.gc, Gc::Whole(100));
    assert_eq!(right.gc, Gc::Whole(40));
    assert_eq!(both.gc, Gc::Mean(70.0));
    assert_eq!(both.length, [1, 6]);
    assert_eq!(both.count, 4);
    assert_eq!(both.bases.len(), 4, "as many rows as the shorter list");
    // Each file has its offset: only `I`s (73) make file 1 Illumina 1.5, score 9; `5` is 20.
    assert_eq!(both.bases[0], [14.5; 6]);
    assert_eq!(both.encoding, "Illumina 1.5");
    assert_eq!(both.composition[0], [50.0, 25.0, 0.0, 25.0]);
    assert_eq!(both.encoding, left.encoding);
    let json = both.to_json();
    assert_quality_keys(&json);
    assert_eq!(json["gc"], serde_json::json!(70));
    let half = Quality::pair(
        &left,
        &Quality {
            gc: Gc::Whole(41),
            ..right
        },
    );
    assert_eq!(half.to_json()["gc"], serde_json::json!(70.5));
}

#[test]
fn invalid_error_objects() {
    let error = check("x.fq", b"").unwrap_err();
    let CheckError::Invalid(invalid) = error else {
        panic!()
    };
    assert_eq!(
        invalid.error_object(),
        serde_json::json!({"type": "InvalidReads", "traceback": [], "details": ["x.fq: no reads"]})
    );
}

#[test]
fn io_errors_are_not_invalid_reads() {
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let result = check_reads_file(ReadsFile::new("x.fq", Broken));
    assert!(matches!(result, Err(CheckError::Io(_))), "{result:?}");

    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("no space"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let data = records(10, "ACGT");
    let result = check_reads_file(ReadsFile::storing("x.fq", data.as_bytes(), Full));
    assert!(matches!(result, Err(CheckError::Io(_))), "{result:?}");
}
