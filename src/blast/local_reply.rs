//! The pure side of the local BLAST+ backend (spec/blast.md §5.2–5.4): the `blastn` command line,
//! the FASTA query, and turning a finished process into a result or an error text.
//!
//! Spawning, feeding stdin, bounding stdout and killing at the deadline belong to the caller; this
//! module only decides what those bytes and exit codes mean, so the rules are unit-testable
//! without BLAST+ installed.

use std::path::{Component, Path};

use serde_json::Value;

use super::transform::transform;

/// The error text for an exit-0 run whose output is not a usable report (§5.4).
pub const UNINTERPRETABLE: &str = "Unable to interpret BLAST+ result";

/// Longest stderr excerpt kept in an error, in characters: enough for BLAST+'s one-line messages
/// (database errors quote the search path), short enough for the record and a client's screen.
const MAX_STDERR_CHARS: usize = 500;

/// The `blastn` arguments of §5.2, without the executable (`--blastn`).
///
/// The flags reproduce the NCBI request: `megablast` = `MEGABLAST=on`, `-dust yes -soft_masking
/// true` = `FILTER=mL`, `-max_target_seqs 5` = `HITLIST_SIZE=5`, `-evalue 10` = NCBI's default.
/// `-outfmt 15` is chosen over 13 because it streams the report to standard output.
pub fn blastn_args(db: &str, threads: u32) -> Vec<String> {
    [
        "-task",
        "megablast",
        "-db",
        db,
        "-outfmt",
        "15",
        "-max_target_seqs",
        "5",
        "-evalue",
        "10",
        "-dust",
        "yes",
        "-soft_masking",
        "true",
        "-num_threads",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain(std::iter::once(threads.to_string()))
    .collect()
}

/// The query written to `blastn`'s standard input: `>seq_<index>`, then the sequence on one line.
///
/// Whitespace inside `sequence` is removed. Stored contigs have none, but a line break followed by
/// `>` would start a second query, and the unwrap rule (§3.1) rejects a two-query report, so the
/// one-line guarantee is enforced here rather than trusted.
pub fn fasta_query(sequence_index: i64, sequence: &str) -> String {
    let mut fasta = format!(">seq_{sequence_index}\n");
    fasta.extend(sequence.chars().filter(|c| !c.is_whitespace()));
    fasta.push('\n');
    fasta
}

/// The database name shown as `target.db`: the final path component of `--blast-db`, so no
/// filesystem path reaches a client (`/srv/blastdb/viruses` → `viruses`, `viruses` → `viruses`).
///
/// Uses `std::path` parsing only (no filesystem access); a trailing separator is ignored. For a
/// value without a normal final component (`/`, `..`) that component itself is returned, and an
/// empty value gives an empty name.
pub fn db_name(blast_db: &str) -> String {
    match Path::new(blast_db).components().next_back() {
        Some(Component::Normal(name)) => name.to_string_lossy().into_owned(),
        Some(other) => other.as_os_str().to_string_lossy().into_owned(),
        None => String::new(),
    }
}

/// Interprets a finished `blastn` run (§5.4).
///
/// - `status_code == Some(0)`: stdout must be a JSON report the transform accepts; `Ok(result)`
///   with `target` set to `{"db": db_name}`, else `Err("Unable to interpret BLAST+ result")`.
/// - `Some(code)`: `Err("BLAST+ exited with status <code>: <first non-empty stderr line>")`, the
///   line trimmed and cut to 500 characters. Without any stderr text the `: …` part is left out
///   rather than ending the message in a dangling colon.
/// - `None` (no exit code: killed by a signal, e.g. the OOM killer):
///   `Err("BLAST+ was killed by a signal")`, with `: <first stderr line>` appended when there is
///   one. A kill by vira at the deadline is not reported through here; the caller uses
///   [`timed_out`].
///
/// Output of a failed run is ignored: BLAST+ exits 3 with truncated JSON on stdout.
pub fn interpret_exit(
    status_code: Option<i32>,
    stdout: &[u8],
    stderr: &[u8],
    db_name: &str,
) -> Result<Value, String> {
    let failure = |prefix: String| match first_stderr_line(stderr) {
        Some(line) => Err(format!("{prefix}: {line}")),
        None => Err(prefix),
    };
    match status_code {
        Some(0) => serde_json::from_slice::<Value>(stdout)
            .ok()
            .and_then(|doc| transform(&doc, Some(db_name)).ok())
            .ok_or_else(|| UNINTERPRETABLE.to_owned()),
        Some(code) => failure(format!("BLAST+ exited with status {code}")),
        None => failure("BLAST+ was killed by a signal".to_owned()),
    }
}

/// The error when the `blastn` process cannot be started (missing or not executable).
pub fn could_not_start(reason: &str) -> String {
    format!("BLAST+ could not be started: {reason}")
}

/// The timeout error, shared by both backends (§1, §2.2, §5.4).
pub fn timed_out(seconds: u64) -> String {
    format!("BLAST search timed out after {seconds} seconds")
}

/// The first line of `stderr` with non-whitespace text, trimmed, at most [`MAX_STDERR_CHARS`]
/// characters. Invalid UTF-8 is replaced rather than dropped so the message stays readable.
fn first_stderr_line(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    Some(line.chars().take(MAX_STDERR_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/fixtures/blast/local_blastplus/",
                $name
            ))
        };
    }

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn command_line_matches_the_spec() {
        let expected =
            "-task megablast -db /srv/db/tinydb -outfmt 15 -max_target_seqs 5 -evalue 10 \
                        -dust yes -soft_masking true -num_threads 4";
        assert_eq!(blastn_args("/srv/db/tinydb", 4).join(" "), expected);
        // A database path with spaces stays one argument.
        assert_eq!(blastn_args("my db", 1)[3], "my db");
    }

    #[test]
    fn fasta_query_is_one_record_on_one_line() {
        assert_eq!(fasta_query(3, "ACGT"), ">seq_3\nACGT\n");
        assert_eq!(fasta_query(0, ""), ">seq_0\n\n");
        assert_eq!(fasta_query(-1, "AC\r\nGT\n>x\nA"), ">seq_-1\nACGT>xA\n");
    }

    #[test]
    fn db_name_is_the_final_component() {
        assert_eq!(db_name("viruses"), "viruses");
        assert_eq!(db_name("/srv/blastdb/tinydb"), "tinydb");
        assert_eq!(db_name("../blastdb/tinydb/"), "tinydb");
        assert_eq!(db_name("tinydb.v5"), "tinydb.v5");
        assert_eq!(db_name("/"), "/");
        assert_eq!(db_name(""), "");
    }

    #[test]
    fn exit_zero_reports_transform_with_db_name() {
        let cases = [
            (
                fixture!("outfmt15_hits.json"),
                fixture!("expected_formatted_hits.json"),
            ),
            (
                fixture!("outfmt15_masking.json"),
                fixture!("expected_formatted_masking.json"),
            ),
            (
                fixture!("outfmt15_nohits.json"),
                fixture!("expected_formatted_nohits.json"),
            ),
        ];
        for (stdout, expected) in cases {
            let result = interpret_exit(Some(0), stdout.as_bytes(), b"Warning: x\n", "tinydb");
            assert_eq!(result, Ok(json(expected)));
        }
    }

    #[test]
    fn exit_zero_without_a_usable_report_is_uninterpretable() {
        let truncated = &fixture!("outfmt15_hits.json")[..1000];
        let mut doc = json(fixture!("outfmt15_nohits.json"));
        let entry = doc["BlastOutput2"][0].clone();
        doc["BlastOutput2"].as_array_mut().unwrap().push(entry);
        let two_queries = doc.to_string();
        for stdout in [
            b"".as_slice(),
            b"not json",
            truncated.as_bytes(),
            two_queries.as_bytes(),
        ] {
            let got = interpret_exit(Some(0), stdout, b"", "tinydb");
            assert_eq!(got, Err(UNINTERPRETABLE.to_owned()));
        }
    }

    #[test]
    fn non_zero_exit_quotes_the_first_stderr_line() {
        let stderr = b"\n  \r\nBLAST Database error: No alias or index file found for nucleotide \
                       database [nope] in search path [/tmp::]\r\nsecond line\n";
        let got = interpret_exit(Some(2), b"", stderr, "nope");
        let expected = "BLAST+ exited with status 2: BLAST Database error: No alias or index file \
                        found for nucleotide database [nope] in search path [/tmp::]";
        assert_eq!(got, Err(expected.to_owned()));

        // Exit 3 comes with truncated JSON on stdout, which is ignored.
        let stdout = &fixture!("outfmt15_hits.json")[..500];
        let got = interpret_exit(
            Some(3),
            stdout.as_bytes(),
            b"BLAST engine error: Empty query\n",
            "x",
        );
        assert_eq!(
            got,
            Err("BLAST+ exited with status 3: BLAST engine error: Empty query".to_owned())
        );

        // Even a valid report does not rescue a non-zero exit.
        let got = interpret_exit(Some(1), fixture!("outfmt15_hits.json").as_bytes(), b"", "x");
        assert_eq!(got, Err("BLAST+ exited with status 1".to_owned()));
        let got = interpret_exit(Some(-1), b"", b"\xff\xfeoops", "x");
        assert_eq!(
            got,
            Err("BLAST+ exited with status -1: \u{fffd}\u{fffd}oops".to_owned())
        );
    }

    #[test]
    fn long_stderr_lines_are_cut_to_500_characters() {
        let stderr = "é".repeat(600);
        let err = interpret_exit(Some(2), b"", stderr.as_bytes(), "x").unwrap_err();
        let prefix = "BLAST+ exited with status 2: ";
        assert_eq!(err, format!("{prefix}{}", "é".repeat(500)));
    }

    #[test]
    fn killed_by_signal() {
        assert_eq!(
            interpret_exit(None, b"", b"", "x"),
            Err("BLAST+ was killed by a signal".into())
        );
        let got = interpret_exit(None, b"", b"Killed\n", "x");
        assert_eq!(got, Err("BLAST+ was killed by a signal: Killed".into()));
    }

    #[test]
    fn fixed_messages() {
        let reason = "No such file or directory (os error 2)";
        assert_eq!(
            could_not_start(reason),
            "BLAST+ could not be started: No such file or directory (os error 2)"
        );
        assert_eq!(timed_out(3600), "BLAST search timed out after 3600 seconds");
        assert_eq!(timed_out(5), "BLAST search timed out after 5 seconds");
    }

    proptest! {
        #[test]
        fn arbitrary_process_output_never_panics(
            code in proptest::option::of(any::<i32>()),
            stdout in prop::collection::vec(any::<u8>(), 0..256),
            stderr in prop::collection::vec(any::<u8>(), 0..1024),
        ) {
            let got = interpret_exit(code, &stdout, &stderr, "db");
            if let Err(message) = got {
                prop_assert!(!message.contains('\n'));
                prop_assert!(message.chars().count() <= 40 + MAX_STDERR_CHARS);
            }
        }
    }
}
