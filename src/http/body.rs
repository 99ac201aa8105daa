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
    let mut stream = body.into_data_stream();
    if let Err(too_large) = check_content_length(headers, limit) {
        linger(&mut stream, LINGER_BYTES).await;
        return Err(too_large);
    }
    let capacity = content_length(headers).unwrap_or(0).min(limit) as usize;
    let mut buffer = BytesMut::with_capacity(capacity);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("Request body could not be read"))?;
        if buffer.len() as u64 + chunk.len() as u64 > limit {
            linger(&mut stream, LINGER_BYTES).await;
            return Err(ApiError::payload_too_large());
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// How much of a refused body is still read (and dropped), and for how long, before the error is
/// answered: a client that is still sending then receives the error instead of a reset
/// connection (a "lingering close"); a larger body is cut off.
pub const LINGER_BYTES: u64 = 1 << 20;
pub const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// Read and drop up to `max_bytes` of `stream` for at most [`LINGER_TIME`].
pub async fn linger<S, E>(stream: &mut S, max_bytes: u64)
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
{
    let drain = async {
        let mut drained = 0u64;
        while drained < max_bytes {
            match stream.next().await {
                Some(Ok(chunk)) => drained += chunk.len() as u64,
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
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
