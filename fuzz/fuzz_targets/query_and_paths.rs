//! Query strings and path ids: `QueryPairs::parse`, `page_request`, `upload_params` (U6/J6) and
//! the file-name helpers its `name` feeds (`sanitize`, `safe_name`, `content_disposition`), plus
//! the `Ids` path extractor behind every `{id}` route, through a real axum router.
//!
//! Input: `<path segments>?<query>`; the part before `?` is appended to `/api/analyses/`.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use axum::routing::get;
use axum::Router;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use vira::api::files::upload_params;
use vira::files::names::{content_disposition, safe_name, sanitize, FORMATS};
use vira::http::query::{page_request, QueryPairs};
use vira::http::Ids;

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        Router::new()
            .route(
                "/api/analyses/{analysis_id}",
                get(|Ids(id): Ids<String>| async move { id }),
            )
            .route(
                "/api/analyses/{analysis_id}/files/{file_id}",
                get(|Ids((a, f)): Ids<(String, String)>| async move {
                    // U7 turns the file id into a number; anything else is a 404.
                    let _ = f.parse::<i64>();
                    format!("{a}\n{f}")
                }),
            )
    })
}

fn check_name(raw: &str) {
    let name = sanitize(raw);
    assert!(
        !name
            .chars()
            .any(|c| matches!(c, '/' | '\\') || matches!(c as u32, 0..=0x1f | 0x7f)),
        "sanitize({raw:?}) = {name:?}"
    );
    let safe = safe_name(&name);
    assert!(
        safe.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')),
        "safe_name({name:?}) = {safe:?}"
    );
    assert!(!safe.starts_with('.'), "safe_name({name:?}) = {safe:?}");
    assert_eq!(safe.chars().count(), name.chars().count());
    let disposition = content_disposition(&name);
    assert!(disposition.starts_with("attachment; filename="));
    HeaderValue::from_str(&disposition).unwrap_or_else(|_| {
        panic!("content_disposition({name:?}) = {disposition:?} is not a header value")
    });
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (path, query) = match text.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (text.as_ref(), None),
    };

    let pairs = QueryPairs::parse(query);
    match page_request(&pairs, 100) {
        Ok(page) => {
            assert!(page.page >= 1 && (1..=100).contains(&page.per_page));
            assert!(page.offset() >= 0);
        }
        Err(e) => assert_eq!(e.status.as_u16(), 422),
    }
    match upload_params(&pairs) {
        Ok(params) => {
            assert!(!params.name.is_empty() && params.name.chars().count() <= 255);
            assert_eq!(
                params.name,
                sanitize(&params.name),
                "sanitize is idempotent"
            );
            if let Some(format) = &params.format {
                assert!(FORMATS.contains(&format.as_str()));
            }
        }
        Err(e) => assert!(matches!(e.status.as_u16(), 400 | 422)),
    }
    for (key, value) in &pairs.0 {
        check_name(key);
        check_name(value);
    }
    check_name(&text);

    let Ok(request) = Request::get(format!("/api/analyses/{path}")).body(Body::empty()) else {
        return;
    };
    let response = common::runtime()
        .block_on(router().clone().oneshot(request))
        .expect("infallible router");
    let status = response.status().as_u16();
    assert!(
        matches!(status, 200 | 404 | 405),
        "status {status} for {path:?}"
    );
});
