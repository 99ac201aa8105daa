//! Request bodies: size limits (413) and JSON parsing (400 `Malformed JSON`, empty = `{}`, 422 for
//! anything but an object).

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, Request};
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

/// Whether the client waits for `100 Continue` before it sends the body.
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
}

/// The 413 for a body whose declared length is over the limit. A client that waits for
/// `100 Continue` gets the 413 at once: reading would make hyper send the 100 and invite the
/// body. Any other client is still sending, so a bounded part is read first (see [`linger`]).
pub async fn refuse_declared<S, E>(headers: &HeaderMap, stream: &mut S) -> ApiError
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
{
    if !expects_continue(headers) {
        linger(stream, LINGER_BYTES).await;
    }
    ApiError::payload_too_large()
}

/// Read the whole body, failing with 413 as soon as it grows past `limit`.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: u64) -> ApiResult<Bytes> {
    let mut stream = body.into_data_stream();
    if check_content_length(headers, limit).is_err() {
        return Err(refuse_declared(headers, &mut stream).await);
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

/// Whether a `Content-Type` names JSON (`application/json`, `application/…+json`).
pub fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

/// A JSON body that a browser could have sent from another site with the victim's session: the
/// session cookie and no `Authorization` header (so the cookie authenticates it), and a content
/// type other than JSON — the types an HTML form can send without asking first (`text/plain`,
/// form encodings), or none. Basic credentials are never sent cross-site by a browser, and a
/// request without either carries nobody's rights, so those keep contract §1.3 (JSON whatever the
/// content type).
pub fn refuse_cross_site_json(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<()> {
    if headers.contains_key(header::AUTHORIZATION)
        || !super::has_session_cookie(headers)
        || bytes.iter().all(u8::is_ascii_whitespace)
        || is_json_content_type(headers)
    {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "A JSON body needs Content-Type: application/json when signed in with a cookie",
    ))
}

/// Parse a JSON body whatever its content type; an empty body counts as `{}`.
pub fn parse_json(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(bytes).map_err(|_| ApiError::malformed_json())
}

/// The limits of JSON bodies, taken from the application state.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimits {
    /// `--max-json-bytes`
    pub bytes: u64,
    /// `--max-list-items`
    pub list_items: usize,
}

/// A JSON object body (every JSON body of the API except finalize's), read under
/// `--max-json-bytes`: empty counts as `{}`, invalid JSON is 400, any other JSON value 422.
pub struct JsonObject {
    pub map: Map<String, Value>,
    max_list_items: usize,
}

impl JsonObject {
    /// A body already read: empty is `{}`, invalid JSON 400, any other JSON value 422.
    pub fn parse(bytes: &[u8], max_list_items: usize) -> ApiResult<JsonObject> {
        match parse_json(bytes)? {
            Value::Object(map) => Ok(JsonObject {
                map,
                max_list_items,
            }),
            _ => Err(ApiError::invalid_field("body", "must be of dict type")),
        }
    }

    /// The field checker over this body.
    pub fn fields(&self) -> super::validate::Fields<'_> {
        super::validate::Fields::new(&self.map, self.max_list_items)
    }
}

impl<S> FromRequest<S> for JsonObject
where
    S: Send + Sync,
    JsonLimits: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let limits = JsonLimits::from_ref(state);
        let (parts, body) = request.into_parts();
        let bytes = read_limited(&parts.headers, body, limits.bytes).await?;
        refuse_cross_site_json(&parts.headers, &bytes)?;
        JsonObject::parse(&bytes, limits.list_items)
    }
}
