//! Request bodies: size limits (413) and JSON parsing (400 `Malformed JSON`, empty = `{}`).

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

/// The declared `Content-Length`, if any.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Refuse a declared length above `limit` before reading anything.
pub fn check_content_length(headers: &HeaderMap, limit: u64) -> ApiResult<()> {
    match content_length(headers) {
        Some(length) if length > limit => Err(ApiError::payload_too_large()),
        _ => Ok(()),
    }
}

/// Read the whole body, failing with 413 as soon as it grows past `limit`.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: u64) -> ApiResult<Bytes> {
    check_content_length(headers, limit)?;
    let capacity = content_length(headers).unwrap_or(0).min(limit) as usize;
    let mut buffer = BytesMut::with_capacity(capacity);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("Request body could not be read"))?;
        if buffer.len() as u64 + chunk.len() as u64 > limit {
            return Err(ApiError::payload_too_large());
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// Parse a JSON body whatever its content type; an empty body counts as `{}`.
pub fn parse_json(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(bytes).map_err(|_| ApiError::malformed_json())
}

/// Read and parse a JSON body under the configured JSON limit.
pub async fn read_json(headers: &HeaderMap, body: Body, limit: u64) -> ApiResult<Value> {
    let bytes = read_limited(headers, body, limit).await?;
    parse_json(&bytes)
}
