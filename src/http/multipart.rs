//! Multipart uploads: stream the first part named `file` into a temporary object (contract §13).

use axum::body::Body;
use axum::http::{header, HeaderMap};
use futures_util::StreamExt;

use super::body::{check_content_length, linger, refuse_declared};
use super::error::{ApiError, ApiResult};
use crate::files::Sink;

fn file_required() -> ApiError {
    ApiError::invalid_field("file", "required field")
}

/// Write the `file` part of a `multipart/form-data` body to `temp`.
///
/// 413 when the declared or actual size passes `limit`; 422 `{"file": ["required field"]}` when the
/// body is not multipart or has no `file` part. Parts before `file` are skipped, parts after it ignored.
pub async fn receive_file(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    temp: &mut impl Sink,
) -> ApiResult<()> {
    if check_content_length(headers, limit).is_err() {
        return Err(refuse_declared(headers, &mut body.into_data_stream()).await);
    }
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(file_required)?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Err(file_required()),
            Err(e) => return Err(multipart_error(e, false)),
        };
        if field.name() != Some("file") {
            continue;
        }
        let mut field = field;
        loop {
            match field.next().await {
                None => return Ok(()),
                Some(Ok(chunk)) => {
                    if temp.size() + chunk.len() as u64 > limit {
                        return Err(ApiError::payload_too_large());
                    }
                    if let Err(e) = temp.write(&chunk).await {
                        // Read (and drop) a bounded rest of the body first, so the client, still
                        // sending, receives the error instead of a reset connection.
                        linger(&mut field, DRAIN_AFTER_FAILURE).await;
                        return Err(e.into());
                    }
                }
                Some(Err(e)) => return Err(multipart_error(e, true)),
            }
        }
    }
}

/// How much of a body is still read after a storage failure, so the error response arrives (more
/// than for a refused size: the client is typically well into a large upload).
const DRAIN_AFTER_FAILURE: u64 = 64 << 20;

fn multipart_error(error: multer::Error, in_file: bool) -> ApiError {
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::payload_too_large()
        }
        _ if in_file => ApiError::bad_request("Malformed multipart body"),
        _ => file_required(),
    }
}

/// A multipart body with the file in the part named `file` (U6, J6, U18, U20), for the OpenAPI
/// description.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}
