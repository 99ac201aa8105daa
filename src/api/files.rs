//! Analysis files: upload (U6, shared with J6) and ranged download (U7). Rules in contract §13.

use crate::http::error::ErrorBody;
use crate::model::views::AnalysisFile;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::db;
use crate::files::{analysis_file_key, names};
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::QueryPairs;
use crate::http::Ids;
use crate::ops::analyses::{access, Right};
use crate::ops::auth::AuthUser;
use crate::ops::uploads::{receive_upload, upload_params};

#[utoipa::path(post, path = "/api/analyses/{analysis_id}/files", operation_id = "upload_analysis_file", tag = "analyses",
    params(("analysis_id" = String, Path, description = "Analysis id"), ("name" = String, Query, min_length = 1, description = "The original file name (sanitized; at most 255 characters)"),
        ("format" = Option<crate::model::views::FileFormat>, Query, description = "The file's format; empty counts as absent")),
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The file record", body = AnalysisFile,
            headers(("Location" = String, description = "`/api/analyses/{analysis_id}/files/{id}`")),
            links(("DownloadFile" = (operation_id = "download_analysis_file", parameters(("analysis_id" = "$response.body#/analysis"), ("file_id" = "$response.body#/id")))))),
        (status = 400, description = "`Unsupported analysis file format`, `Parent sample does not exist` or a malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`insufficient_rights` or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such analysis", body = ErrorBody),
        (status = 409, description = "`File is already associated with analysis`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_query` (bad `name`) or `invalid_input` (no `file` part)", body = ErrorBody),
        (status = 507, description = "`insufficient_storage`: the disk is full", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/analyses/{analysis_id}/files — U6.
pub async fn upload(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
    query: QueryPairs,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let params = upload_params(&query)?;
    access(
        &app,
        &user.principal,
        &analysis_id,
        Right::Write,
        "Not found",
    )
    .await?;
    receive_upload(&app, &analysis_id, params, &headers, body).await
}

/// A single byte range, resolved against the file size.
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable `Range`: send everything.
    Whole,
    /// Inclusive `start..=end`.
    Part(u64, u64),
    Unsatisfiable,
}

/// Parse `bytes=a-b`, `bytes=a-` or `bytes=-n`. Several ranges, or a header that is not a byte
/// range, are answered with the whole file.
pub fn parse_range(value: Option<&str>, size: u64) -> ByteRange {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return ByteRange::Whole;
    };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return ByteRange::Whole;
    };
    let parse = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => match parse(last) {
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if size == 0 => ByteRange::Unsatisfiable,
            Some(n) => ByteRange::Part(size.saturating_sub(n), size - 1),
            None => ByteRange::Whole,
        },
        (false, true) => match parse(first) {
            Some(a) if a >= size => ByteRange::Unsatisfiable,
            Some(a) => ByteRange::Part(a, size - 1),
            None => ByteRange::Whole,
        },
        (false, false) => match (parse(first), parse(last)) {
            (Some(a), Some(b)) if a > b => ByteRange::Whole,
            (Some(a), Some(_)) if a >= size => ByteRange::Unsatisfiable,
            (Some(a), Some(b)) => ByteRange::Part(a, b.min(size - 1)),
            _ => ByteRange::Whole,
        },
        (true, true) => ByteRange::Whole,
    }
}

#[utoipa::path(get, path = "/api/analyses/{analysis_id}/files/{file_id}", operation_id = "download_analysis_file", tag = "analyses",
    description = "The stored bytes; one `Range` (`bytes=a-b`, `a-`, `-n`) gives 206.",
    params(("analysis_id" = String, Path, description = "Analysis id"), ("file_id" = String, Path, description = "File id (an integer; anything else matches nothing)")),
    responses(
        (status = 200, description = "The whole file, as an attachment", content(("application/octet-stream"), ("application/gzip"), ("text/x-fasta"), ("text/x-fastq"),
            ("text/x-sam"), ("text/csv"), ("text/tab-separated-values"), ("application/json"))),
        (status = 206, description = "The requested range", content(("application/octet-stream"), ("application/gzip"), ("text/x-fasta"), ("text/x-fastq"),
            ("text/x-sam"), ("text/csv"), ("text/tab-separated-values"), ("application/json"))),
        (status = 400, description = "`Parent sample does not exist`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "No read right", body = ErrorBody),
        (status = 404, description = "No such analysis or file, or the stored object is gone", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */<size>`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/analyses/{analysis_id}/files/{file_id} — U7.
pub async fn download(
    user: AuthUser,
    State(app): State<AppState>,
    Ids((analysis_id, file_id)): Ids<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    access(
        &app,
        &user.principal,
        &analysis_id,
        Right::Read,
        "Not found",
    )
    .await?;
    let file_id: i64 = file_id.parse().map_err(|_| ApiError::not_found())?;
    let file = db::files::get(&app.db, &analysis_id, file_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let key = analysis_file_key(&analysis_id, &file.name_on_disk);
    let missing = || ApiError::not_found_msg("Uploaded file not found at expected location");
    let stored = app.files.open_object(&key).await?.ok_or_else(missing)?;
    let size = stored.size;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, length) = match parse_range(range, size) {
        ByteRange::Whole => (StatusCode::OK, 0, size),
        ByteRange::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        ByteRange::Unsatisfiable => return Err(ApiError::range_not_satisfiable(size)),
    };
    // Removed between the look-up and the read: the same 404.
    let stream = stored
        .stream(start, length)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => missing(),
            _ => e.into(),
        })?;
    let mut response = (status, Body::from_stream(stream)).into_response();
    let h = response.headers_mut();
    let content_type = names::content_type(&file.name, file.format.as_deref());
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&names::content_disposition(&file.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {start}-{}/{size}", start + length - 1);
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use ByteRange::*;
        assert_eq!(parse_range(None, 10), Whole);
        assert_eq!(parse_range(Some("bytes=0-4"), 10), Part(0, 4));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Part(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Part(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), Part(0, 9));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), Part(8, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 10), Whole);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
    }
}
