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
