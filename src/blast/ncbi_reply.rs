//! Reading NCBI's BLAST URL API answers (spec/blast.md §2.1): the Put page, the SearchInfo page and
//! the JSON2 Alignment zip. Pure functions over bodies; the HTTP side lives with the caller.
//!
//! The spec phrases the page rules as regular expressions. They are matched by hand here, with the
//! same leftmost-first semantics, so the crate needs no regex engine for three tiny patterns.

use std::io::{Cursor, Read};

use serde_json::Value;

/// Largest `<RID>_1.json` member read. NCBI reports for `HITLIST_SIZE=5` are well under 1 MiB
/// (the 34-hit fixture is 80 KiB); the bound only stops a hostile or broken zip from inflating
/// into memory without limit.
pub const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// The RID and, when present, the estimated time to completion (RTOE, seconds) from a `CMD=Put`
/// page. `None` when the page has no QBlastInfo block or no RID in it.
///
/// The QBlastInfo block is the text between the first `QBlastInfoBegin` and the following
/// `QBlastInfoEnd`; the RID is the first match of `RID\s*=\s*(\S+)` in it and the RTOE the first
/// match of `RTOE\s*=\s*(\d+)`. An RTOE that does not fit a `u32` counts as absent: it is only
/// logged.
pub fn parse_put_reply(html: &str) -> Option<(String, Option<u32>)> {
    let block = qblast_info(html)?;
    let rid = first_assignment(block, "RID", |c| !c.is_whitespace())?;
    let rtoe = first_assignment(block, "RTOE", |c| c.is_ascii_digit()).and_then(|s| s.parse().ok());
    Some((rid.to_owned(), rtoe))
}

/// What a `FORMAT_OBJECT=SearchInfo` page says about a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchStatus {
    /// `Status=WAITING`: still running; check again later.
    Waiting,
    /// `Status=READY`: finished, with or without hits; fetch the result.
    Ready,
    /// `Status=FAILED`: NCBI gave up on the search (permanent).
    Failed,
    /// `Status=UNKNOWN`: the RID is unknown or expired (permanent).
    Unknown,
    /// No `Status=` word, or a word vira does not know: treated as transient.
    Unreadable,
}

/// Classifies a SearchInfo page by the first match of `Status=([A-Z]+)` anywhere in it.
///
/// The `ThereAreHits` line is deliberately ignored: a READY search is fetched either way.
pub fn parse_search_info(html: &str) -> SearchStatus {
    const KEY: &str = "Status=";
    let word = html.match_indices(KEY).find_map(|(at, _)| {
        let rest = &html[at + KEY.len()..];
        let word = take_while(rest, |c| c.is_ascii_uppercase());
        (!word.is_empty()).then_some(word)
    });
    match word {
        Some("WAITING") => SearchStatus::Waiting,
        Some("READY") => SearchStatus::Ready,
        Some("FAILED") => SearchStatus::Failed,
        Some("UNKNOWN") => SearchStatus::Unknown,
        _ => SearchStatus::Unreadable,
    }
}

/// Reads the member named exactly `<rid>_1.json` from an Alignment zip and parses it as JSON.
///
/// The error is a short reason for the logs; every error means "Unable to interpret NCBI result".
/// The index member `<rid>.json` is not consulted: the report's name is fixed by the RID.
pub fn read_result_zip(body: &[u8], rid: &str) -> Result<Value, String> {
    read_zip_member(body, rid, MAX_REPORT_BYTES)
}

/// [`read_result_zip`] with the size bound as a parameter, so tests need no 64 MiB archive.
fn read_zip_member(body: &[u8], rid: &str, max_bytes: u64) -> Result<Value, String> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(body)).map_err(|e| format!("not a zip archive: {e}"))?;
    let name = format!("{rid}_1.json");
    let member = archive
        .by_name(&name)
        .map_err(|e| format!("no usable zip member {name}: {e}"))?;
    // The declared size can lie, so the read itself is bounded; one byte past the limit tells
    // "exactly at the limit" from "too large".
    let mut bytes = Vec::new();
    member
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read zip member {name}: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!(
            "zip member {name} is larger than {max_bytes} bytes"
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("zip member {name} is not JSON: {e}"))
}

/// The text between the first `QBlastInfoBegin` and the next `QBlastInfoEnd`.
fn qblast_info(html: &str) -> Option<&str> {
    const BEGIN: &str = "QBlastInfoBegin";
    let start = html.find(BEGIN)? + BEGIN.len();
    let len = html[start..].find("QBlastInfoEnd")?;
    Some(&html[start..start + len])
}

/// The first match of `<key>\s*=\s*(<value>+)` in `text`, returning the capture.
///
/// `\s` is Unicode whitespace, as in the regex crate, so CR (from CRLF pages) is never part of a
/// value. Trying each occurrence of `key` in order gives the regex's leftmost-first match: the
/// greedy `\s*` cannot give back anything `value` would accept, so no backtracking is needed.
fn first_assignment<'a>(text: &'a str, key: &str, value: impl Fn(char) -> bool) -> Option<&'a str> {
    text.match_indices(key).find_map(|(at, _)| {
        let rest = text[at + key.len()..].trim_start();
        let rest = rest.strip_prefix('=')?.trim_start();
        let captured = take_while(rest, &value);
        (!captured.is_empty()).then_some(captured)
    })
}

/// The longest prefix of `text` whose characters all satisfy `pred`.
fn take_while(text: &str, pred: impl Fn(char) -> bool) -> &str {
    let end = text.find(|c: char| !pred(c)).unwrap_or(text.len());
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blast::transform::transform;
    use proptest::prelude::*;

    macro_rules! fixture_path {
        ($name:literal) => {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/fixtures/blast/",
                $name
            )
        };
    }
    const PUT_PAGE: &str = include_str!(fixture_path!("initialize_blast.html"));
    const CHECK_PAGE: &str = include_str!(fixture_path!("check_rid.html"));
    const NCBI_ZIP: &[u8] = include_bytes!(fixture_path!("blast.zip"));
    const LOCAL_ZIP: &[u8] = include_bytes!(fixture_path!("local_blastplus/outfmt13_as_ncbi.zip"));

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn put_page_gives_rid_and_rtoe() {
        let expected = Some(("YA40WNN5014".to_owned(), Some(19)));
        assert_eq!(parse_put_reply(PUT_PAGE), expected);
        // The replay server's substitution, and CRLF line ends.
        let swapped = PUT_PAGE.replace("YA40WNN5014", "YA6M9135015");
        assert_eq!(parse_put_reply(&swapped).unwrap().0, "YA6M9135015");
        assert_eq!(parse_put_reply(&PUT_PAGE.replace('\n', "\r\n")), expected);
    }

    #[test]
    fn put_page_edge_cases() {
        let page =
            |info: &str| format!("<p>RID = OUTSIDE</p><!--QBlastInfoBegin{info}QBlastInfoEnd-->");
        assert_eq!(
            parse_put_reply(&page("\n RID=AB12\r\n")),
            Some(("AB12".into(), None))
        );
        assert_eq!(
            parse_put_reply(&page(" RID =\n X \n RTOE = 7x ")),
            Some(("X".into(), Some(7)))
        );
        // `RIDX` is no match, so the next one counts; an overlong RTOE is dropped.
        let got = parse_put_reply(&page("RIDX RID = Y RTOE = 99999999999"));
        assert_eq!(got, Some(("Y".into(), None)));
        // As with the regex, `\s*` crosses lines, so an empty value takes the next word.
        assert_eq!(
            parse_put_reply(&page("RID =\n RTOE=3")).unwrap().0,
            "RTOE=3"
        );
        assert_eq!(parse_put_reply(&page("RTOE = 5")), None);
        assert_eq!(parse_put_reply("RID = X QBlastInfoEnd"), None);
        assert_eq!(parse_put_reply("QBlastInfoBegin RID = X"), None);
        // The check page is what a Put answer without RID looks like in the failure variant.
        assert_eq!(parse_put_reply(CHECK_PAGE), None);
        assert_eq!(parse_put_reply(""), None);
    }

    #[test]
    fn search_info_statuses() {
        assert_eq!(parse_search_info(CHECK_PAGE), SearchStatus::Ready);
        let with = |word: &str| parse_search_info(&CHECK_PAGE.replace("Status=READY", word));
        assert_eq!(with("Status=WAITING"), SearchStatus::Waiting);
        assert_eq!(with("Status=FAILED"), SearchStatus::Failed);
        assert_eq!(with("Status=UNKNOWN"), SearchStatus::Unknown);
        assert_eq!(with("Status=SOMETHING"), SearchStatus::Unreadable);
        assert_eq!(with("Status=ready"), SearchStatus::Unreadable);
        assert_eq!(with("no status here"), SearchStatus::Unreadable);
        // As with the regex: an empty word is no match, and the word ends at the first
        // non-capital.
        assert_eq!(
            parse_search_info("Status= x Status=READYish"),
            SearchStatus::Ready
        );
        assert_eq!(parse_search_info("Status=READYX"), SearchStatus::Unreadable);
        assert_eq!(
            parse_search_info("Status=\nStatus=WAITING"),
            SearchStatus::Waiting
        );
        assert_eq!(parse_search_info(PUT_PAGE), SearchStatus::Unreadable);
    }

    #[test]
    fn ncbi_zip_member_transforms_to_blast_json() {
        let report = read_result_zip(NCBI_ZIP, "YA6M9135015").unwrap();
        let expected = json(include_str!(fixture_path!("blast.json")));
        assert_eq!(transform(&report, None).unwrap(), expected);
    }

    #[test]
    fn local_outfmt13_zip_transforms_to_expected_hits() {
        let report = read_result_zip(LOCAL_ZIP, "LOCALRID01").unwrap();
        let expected = json(include_str!(fixture_path!(
            "local_blastplus/expected_formatted_hits.json"
        )));
        assert_eq!(transform(&report, Some("tinydb")).unwrap(), expected);
    }

    #[test]
    fn unusable_bodies_are_errors() {
        // The unmodified Put page's RID has no member in the result zip.
        assert!(read_result_zip(NCBI_ZIP, "YA40WNN5014").is_err());
        // The index member exists but only `<rid>_1.json` counts.
        assert!(read_result_zip(NCBI_ZIP, "YA6M9135015_1").is_err());
        assert!(read_result_zip(PUT_PAGE.as_bytes(), "YA6M9135015").is_err());
        assert!(read_result_zip(b"", "YA6M9135015").is_err());
        assert!(read_result_zip(&NCBI_ZIP[..NCBI_ZIP.len() / 2], "YA6M9135015").is_err());
    }

    /// A zip with one stored member.
    fn zip_with(name: &str, content: &[u8]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut buf);
        writer
            .start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut writer, content).unwrap();
        writer.finish().unwrap();
        buf.into_inner()
    }

    #[test]
    fn member_that_is_not_json_is_an_error() {
        let err = read_result_zip(&zip_with("R1_1.json", b"<html></html>"), "R1").unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn member_size_is_bounded() {
        let body = zip_with("R1_1.json", format!("[{}0]", "0,".repeat(500)).as_bytes());
        assert!(read_zip_member(&body, "R1", 1003).is_ok());
        let err = read_zip_member(&body, "R1", 1002).unwrap_err();
        assert!(err.contains("larger than 1002 bytes"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(text in ".{0,200}", key in "(RID|RTOE|Status)[ =A-Z0-9\r\n]{0,8}") {
            let framed = format!("QBlastInfoBegin {key}{text} QBlastInfoEnd {key}");
            let _ = parse_put_reply(&text);
            let _ = parse_put_reply(&framed);
            let _ = parse_search_info(&text);
            let _ = parse_search_info(&framed);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), rid in "[A-Z0-9]{0,12}") {
            let _ = read_result_zip(&bytes, &rid);
        }

        #[test]
        fn damaged_zips_never_panic(at in 0usize..8943, byte in any::<u8>()) {
            let mut damaged = NCBI_ZIP.to_vec();
            let at = at % damaged.len();
            damaged[at] = byte;
            let _ = read_result_zip(&damaged, "YA6M9135015");
        }
    }
}
