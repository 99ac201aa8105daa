//! Request headers: `Range` (U7, `parse_range`), `If-Modified-Since` (§11,
//! `parse_if_modified_since`, `not_modified_since`, `http::caching::not_modified`) and Basic
//! credentials (§2, `auth::parse_basic`).
//!
//! Input: bytes 0–7 (little-endian) give the file size for `Range` and the `updated_at` time,
//! the rest is the header value, used for all three headers.
#![no_main]

use axum::http::{header, HeaderMap, HeaderValue};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use vira::http::download::{parse_range, ByteRange};
use vira::auth::{parse_basic, BasicError};
use vira::model::time::{http_date, not_modified_since, parse_if_modified_since, rfc3339};

fn check_range(value: &str, size: u64) {
    match parse_range(Some(value), size) {
        ByteRange::Whole => {}
        ByteRange::Unsatisfiable => {}
        ByteRange::Part(start, end) => {
            assert!(
                start <= end && end < size,
                "{value:?} on {size} bytes gave {start}-{end}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (number, value) = data.split_at(8);
    let number = u64::from_le_bytes(number.try_into().unwrap());
    let text = String::from_utf8_lossy(value);

    // Range: the fuzzed size, and the small sizes where off-by-ones live.
    for size in [number, number % 4, 0, 1, u64::MAX] {
        check_range(&text, size);
    }
    assert_eq!(parse_range(None, number), ByteRange::Whole);

    // If-Modified-Since.
    // Server timestamps (never client input) lie before the year 10000, where HTTP-dates end.
    let updated_at = (number % 253_402_300_799_000_000) as i64;
    let since = parse_if_modified_since(&text);
    let not_modified = not_modified_since(updated_at, Some(&text));
    match since {
        None => assert!(!not_modified),
        Some(s) => {
            assert_eq!(not_modified, updated_at.div_euclid(1_000_000) <= s);
            // Our own Last-Modified and timestamps parse back to the same second.
            if let Some(micros) = s.checked_mul(1_000_000) {
                if (0..253_402_300_800_000_000).contains(&micros) {
                    assert_eq!(parse_if_modified_since(&http_date(micros)), Some(s));
                    assert_eq!(parse_if_modified_since(&rfc3339(micros)), Some(s));
                }
            }
        }
    }

    // The same bytes as real header values.
    let Ok(header_value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::IF_MODIFIED_SINCE, header_value.clone());
    let response = vira::http::caching::not_modified(&headers, updated_at);
    if let Some(response) = response {
        assert_eq!(response.status().as_u16(), 304);
    }

    let mut headers = HeaderMap::new();
    assert_eq!(parse_basic(&headers), Err(BasicError::Missing));
    headers.insert(header::AUTHORIZATION, header_value);
    if let Ok((login, secret)) = parse_basic(&headers) {
        assert!(!login.contains(':'), "login {login:?} holds the separator");
        // Credentials we encode ourselves read back unchanged.
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{secret}"));
        let mut again = HeaderMap::new();
        again.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(parse_basic(&again), Ok((login, secret)));
    }
});
