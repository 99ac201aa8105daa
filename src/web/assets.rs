//! The pages' assets, embedded in the binary (labs may be offline: no CDN, no web fonts).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::Ids;

const CSS: &str = include_str!("../../assets/vira.css");
const JS: &str = include_str!("../../assets/vira.js");
const FAVICON: &str = include_str!("../../assets/favicon.svg");

/// A short hash of all assets: pages link `…?v=<version>`, so a new build is fetched at once
/// while an unchanged one stays cached.
pub fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest([CSS, JS, FAVICON].concat());
        hex::encode(&digest[..6])
    })
}

/// GET /assets/{file}
pub async fn serve(Ids(file): Ids<String>) -> Response {
    let (content, content_type) = match file.as_str() {
        "vira.css" => (CSS, "text/css; charset=utf-8"),
        "vira.js" => (JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return super::unknown_page(),
    };
    let mut response = (StatusCode::OK, content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
