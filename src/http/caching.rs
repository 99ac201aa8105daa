//! `Last-Modified` / `If-Modified-Since` for U2 and J3 (contract §11).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::model::time::{http_date, not_modified_since, Micros};

/// The 304 answer when the client's copy is current, else `None`.
pub fn not_modified(headers: &HeaderMap, updated_at: Micros) -> Option<Response> {
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok());
    if !not_modified_since(updated_at, since) {
        return None;
    }
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    add_headers(response.headers_mut(), updated_at);
    Some(response)
}

/// `Cache-Control: no-cache` and `Last-Modified`.
pub fn add_headers(headers: &mut HeaderMap, updated_at: Micros) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&http_date(updated_at)) {
        headers.insert(header::LAST_MODIFIED, value);
    }
}

/// The content codings a reply may use, as the client's `Accept-Encoding` allows them
/// (RFC 9110 §12.5.3: listed with a non-zero quality, or covered by `*`), and which it prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Codings {
    pub br: bool,
    pub gzip: bool,
    /// The client ranks gzip above br (br is taken otherwise: it is the smaller).
    pub gzip_first: bool,
}

/// What `Accept-Encoding` allows; a coding's own entry wins over `*`.
pub fn accepted_codings(headers: &HeaderMap) -> Codings {
    let (mut br, mut gzip, mut star) = (None, None, None);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let slot =
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    &mut gzip
                } else if coding.eq_ignore_ascii_case("br") {
                    &mut br
                } else if coding == "*" {
                    &mut star
                } else {
                    continue;
                };
            slot.get_or_insert(quality.max(0.0));
        }
    }
    let (br, gzip) = (br.or(star).unwrap_or(0.0), gzip.or(star).unwrap_or(0.0));
    Codings {
        br: br > 0.0,
        gzip: gzip > 0.0,
        gzip_first: gzip > br,
    }
}

/// `Vary: Accept-Encoding` on a reply whose body depends on it.
pub fn vary_on_encoding(headers: &mut HeaderMap) {
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codings(value: &str) -> Codings {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        accepted_codings(&headers)
    }

    #[test]
    fn codings_are_accepted_when_listed_with_a_non_zero_quality() {
        assert_eq!(accepted_codings(&HeaderMap::new()), Codings::default());
        for (value, br, gzip) in [
            ("gzip", false, true),
            ("GZIP", false, true),
            ("br, gzip;q=0.5", true, true),
            ("deflate, x-gzip", false, true),
            ("*", true, true),
            ("br;q=1, *;q=0.1", true, true),
            ("identity", false, false),
            ("br, deflate", true, false),
            ("gzip;q=0", false, false),
            ("gzip; q=0.0, *", true, false),
            ("*;q=0", false, false),
            ("br;q=0, *", false, true),
            ("BR", true, false),
            ("", false, false),
        ] {
            let got = codings(value);
            assert_eq!((got.br, got.gzip), (br, gzip), "{value}");
        }
        assert!(codings("gzip;q=1, br;q=0.5").gzip_first);
        assert!(codings("gzip, *;q=0.5").gzip_first);
        for value in ["gzip, br", "br;q=0.5, gzip;q=0.5", "br", "*"] {
            assert!(!codings(value).gzip_first, "{value}");
        }
    }
}
