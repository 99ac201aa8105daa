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

/// Whether the client accepts a gzip-encoded body (`Accept-Encoding: gzip`, `x-gzip` or `*`,
/// with a non-zero quality; RFC 9110 §12.5.3).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                return quality > 0.0;
            }
            if coding == "*" {
                star = Some(quality > 0.0);
            }
        }
    }
    star.unwrap_or(false)
}

/// `Vary: Accept-Encoding` on a reply whose body depends on it.
pub fn vary_on_encoding(headers: &mut HeaderMap) {
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_is_accepted_when_listed_with_a_non_zero_quality() {
        assert!(!accepts_gzip(&HeaderMap::new()));
        for yes in [
            "gzip",
            "GZIP",
            "br, gzip;q=0.5",
            "deflate, x-gzip",
            "*",
            "br;q=1, *;q=0.1",
        ] {
            assert!(accepts(yes), "{yes}");
        }
        for no in [
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip; q=0.0, *",
            "*;q=0",
            "",
        ] {
            assert!(!accepts(no), "{no}");
        }
    }
}
