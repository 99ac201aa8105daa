//! HTTP plumbing below every front door: the error type, JSON responses, body and query helpers,
//! validation, caching headers, multipart streaming and the layer stack. The router is `routes`.

pub mod body;
pub mod caching;
pub mod download;
pub mod error;
pub mod layers;
pub mod multipart;
pub mod query;
pub mod validate;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use error::ApiError;

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The client's address as the connection (or, with `--trust-forwarded-for`, the proxy) says;
/// put in every request's extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The name of the session cookie (`ops::sessions` issues and resolves it).
pub const SESSION_COOKIE: &str = "vira_session";

/// Whether the request carries a session cookie (with any value).
pub fn has_session_cookie(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == SESSION_COOKIE && !value.trim().is_empty())
}

/// Whether a request was made by a page of this site: its `Origin` names this `Host`. A missing
/// `Origin`, `null` (sandboxed frames, privacy redirects) and other sites are all refused. Browsers
/// send `Origin` with every POST, so this holds only the sign-in routes to it, where a forged
/// request would sign the victim's browser into the forger's account (login CSRF).
pub fn same_site_origin(headers: &axum::http::HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https") && !host.is_empty() && authority.eq_ignore_ascii_case(host)
}

/// The 403 of a sign-in that [`same_site_origin`] refuses.
pub fn cross_site_sign_in() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "invalid_origin",
        "Sign in from vira's own sign-in page (the request's Origin is missing or another site's)",
    )
}

/// A compact JSON body with the contract's content type.
pub fn json_body<T: Serialize + ?Sized>(value: &T) -> JsonBytes {
    JsonBytes(bytes::Bytes::from(
        serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()),
    ))
}

/// A status plus a JSON body.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    (status, json_body(value)).into_response()
}

/// Bytes that are already JSON.
pub struct JsonBytes(pub bytes::Bytes);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.0));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
        response
    }
}

/// Path parameters; a segment that cannot be decoded is "no such object" (404), as contract §1.2 says.
pub struct Ids<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Ids<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        // No stored id contains a control character (`model::text`), so such a segment names
        // nothing and never reaches the database.
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        if raw
            .iter()
            .any(|(_, value)| crate::model::text::check_name(value).is_err())
        {
            return Err(ApiError::not_found());
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Ids(value))
            .map_err(|_| ApiError::not_found())
    }
}

/// 201 with a `Location` header and a JSON body.
pub fn created<T: Serialize + ?Sized>(location: &str, value: &T) -> Response {
    let mut response = json_response(StatusCode::CREATED, value);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
