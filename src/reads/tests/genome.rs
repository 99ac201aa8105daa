//! Every §4.2 message and the `count`/`gc` rules on small genomes.

use super::*;
use crate::reads::{check_genome, Genome, GenomeGc, InvalidKind};

fn genome(data: &[u8]) -> Result<Genome, CheckError> {
    check_genome("g.fa", data, std::io::sink())
}

fn invalid(data: &str) -> String {
    match genome(data.as_bytes()) {
        Err(CheckError::Invalid(invalid)) => {
            assert_eq!(invalid.kind(), InvalidKind::Genome);
            invalid.message().to_owned()
        }
        other => panic!("{:?}: {other:?}", &data[..data.len().min(80)]),
    }
}

#[test]
fn one_message_per_problem() {
    let cases = [
        ("", "g.fa: no sequences"),
        ("\n\r\n\n", "g.fa: no sequences"),
        (
            "ACGT\n>chr1\nACGT\n",
            r#"g.fa: line 1: the file does not start with a ">" header"#,
        ),
        (
            "\n\nchr1\n",
            r#"g.fa: line 3: the file does not start with a ">" header"#,
        ),
        (
            ">\nACGT\n",
            "g.fa: record 1 (line 1): the record name is empty",
        ),
        (">", "g.fa: record 1 (line 1): the record name is empty"),
        (
            ">chr1\nAC\n>",
            "g.fa: record 2 (line 3): the record name is empty",
        ),
        (
            ">chr1\nAC\r",
            r#"g.fa: record 1 (line 2): the sequence has the character "\x0D""#,
        ),
        (
            ">chr1\nACGT\n> chr2\nAC\n",
            "g.fa: record 2 (line 3): the record name is empty",
        ),
        (">chr1\n", "g.fa: record 1 (line 1): the sequence is empty"),
        (
            ">chr1\n\n\n>chr2\nACGT\n",
            "g.fa: record 1 (line 1): the sequence is empty",
        ),
        (
            ">chr1\nAC\n>chr2\n\n",
            "g.fa: record 2 (line 3): the sequence is empty",
        ),
        (
            ">chr1\nACGT\nAC GT\n",
            r#"g.fa: record 1 (line 3): the sequence has the character " ""#,
        ),
        (
            ">chr1\nACGT\n>chr2\nAC1\n",
            r#"g.fa: record 2 (line 4): the sequence has the character "1""#,
        ),
        (
            ">chr1\nAC\x00\n",
            r#"g.fa: record 1 (line 2): the sequence has the character "\x00""#,
        ),
    ];
    for (data, want) in cases {
        assert_eq!(invalid(data), want, "{data:?}");
    }
    // An empty record before a bad header ranks first.
    assert_eq!(
        invalid(">chr1\n>\nAC\n"),
        "g.fa: record 1 (line 1): the sequence is empty"
    );
    let compressed = gzip(b">chr1\nACGT\n");
    assert_eq!(
        invalid_bytes(&compressed[..compressed.len() - 2]),
        "g.fa: gzip data is corrupt"
    );
}

fn invalid_bytes(data: &[u8]) -> String {
    match genome(data) {
        Err(CheckError::Invalid(invalid)) => invalid.message().to_owned(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn count_and_gc() {
    // a, t, g, c, n case-insensitively; other letters, `-`, `.` and `*` are ignored.
    let data = b">chr1 first\r\nAACCg\r\nt-.*\r\n\r\n>chr2\tx\nNnRY\nA";
    let measured = genome(data).unwrap();
    // a 3, c 2, g 1, t 1, n 2 of 9.
    let share = |n: f64| crate::reads::round_half_even(n / 9.0, 3);
    assert_eq!(
        measured,
        Genome {
            count: 2,
            gc: GenomeGc {
                a: share(3.0),
                c: share(2.0),
                g: share(1.0),
                t: share(1.0),
                n: share(2.0)
            }
        }
    );
    assert_eq!(
        serde_json::to_string(&measured).unwrap(),
        r#"{"count":2,"gc":{"a":0.333,"c":0.222,"g":0.111,"t":0.111,"n":0.222}}"#
    );
    // Gzip is found by its magic bytes; the decoded bytes are written as they are.
    let mut decoded = Vec::new();
    let from_gzip = check_genome("g.fa.gz", &gzip(data)[..], &mut decoded).unwrap();
    assert_eq!(from_gzip, measured);
    assert_eq!(decoded, data);
    // Blank lines before the first header are skipped; `-` is a sequence character.
    assert_eq!(genome(b"\n\n>chr1\n-\n").unwrap().count, 1);
    // No a, c, g, t or n at all: zeros rather than a division by zero.
    let zeros = genome(b">chr1\nRYKM\n").unwrap();
    assert_eq!(
        zeros.gc,
        GenomeGc {
            a: 0.0,
            c: 0.0,
            g: 0.0,
            t: 0.0,
            n: 0.0
        }
    );
}

/// A chromosome on one line, longer than the chunks the reader hands over.
#[test]
fn long_lines() {
    let chromosome = "ACGTN".repeat(250_000);
    let data = format!(">chr1\r\n{chromosome}\r\n>chr2\r\nAC\r\n");
    let measured = genome(data.as_bytes()).unwrap();
    assert_eq!(measured.count, 2);
    assert_eq!(measured.gc.n, 0.2);
    let bad = format!(">chr1\n{chromosome}\n>chr2\n{chromosome}1{chromosome}\n");
    assert_eq!(
        invalid(&bad),
        r#"g.fa: record 2 (line 4): the sequence has the character "1""#
    );
    let long_header = format!(">{chromosome}\n{chromosome}");
    assert_eq!(genome(long_header.as_bytes()).unwrap().count, 1);
}

#[test]
fn invalid_genome_error_object() {
    let Err(CheckError::Invalid(invalid)) = genome(b"") else {
        panic!()
    };
    assert_eq!(
        invalid.error_object(),
        serde_json::json!({"type": "InvalidGenome", "traceback": [], "details": ["g.fa: no sequences"]})
    );
}
