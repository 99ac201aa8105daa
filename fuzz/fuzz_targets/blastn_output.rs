//! The local BLAST+ backend's view of a finished `blastn` (spec/blast.md §5.4):
//! `interpret_exit` on its stdout and stderr, and the query and database names it builds.
//!
//! Input: byte 0 picks the exit status; the rest is stdout, then, after the first `0xFF` byte
//! (never in UTF-8), stderr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vira::blast::local_reply::{db_name, fasta_query, interpret_exit, UNINTERPRETABLE};

fuzz_target!(|data: &[u8]| {
    let [status, rest @ ..] = data else {
        return;
    };
    let status = match status % 8 {
        0..=3 => Some(0),
        4 => Some(3),
        5 => Some(i32::MIN),
        6 => Some(-1),
        _ => None,
    };
    let (stdout, stderr) = match rest.iter().position(|&b| b == 0xff) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    match interpret_exit(status, stdout, stderr, "tinydb") {
        Ok(result) => {
            assert_eq!(status, Some(0));
            assert_eq!(result["target"], serde_json::json!({"db": "tinydb"}));
            assert!(result["hits"].is_array());
        }
        Err(message) => {
            if status == Some(0) {
                assert_eq!(message, UNINTERPRETABLE);
            } else {
                assert!(message.starts_with("BLAST+ "));
                assert!(!message.contains('\n'), "{message:?}");
                assert!(
                    message.chars().count() <= 600,
                    "{} chars",
                    message.chars().count()
                );
            }
        }
    }

    // The query written to stdin is one header line and one sequence line.
    let text = String::from_utf8_lossy(stdout);
    let fasta = fasta_query(i64::from(data[0]) - 128, &text);
    assert_eq!(fasta.matches('\n').count(), 2, "{fasta:?}");
    assert!(fasta.starts_with(">seq_"));
    // `--blast-db` is configuration, not client input: only totality is checked.
    let _ = db_name(&text);
});
