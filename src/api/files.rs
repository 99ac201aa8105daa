//! Analysis files: upload (U6, shared with J6) and ranged download (U7). Rules in contract §13.

use crate::http::error::ErrorBody;
use crate::model::views::AnalysisFile;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::app::AppState;
use crate::files::{analysis_file_key, names};
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::QueryPairs;
use crate::http::{download, Ids};
use crate::ops::analyses::{access, Right};
use crate::ops::auth::AuthUser;
use crate::ops::uploads::{file_of, receive_upload, upload_params};

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
    let file = file_of(&app, &analysis_id, file_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let key = analysis_file_key(&analysis_id, &file.name_on_disk);
    let missing = || ApiError::not_found_msg("Uploaded file not found at expected location");
    let stored = app.files.open_object(&key).await?.ok_or_else(missing)?;
    let content_type = names::content_type(&file.name, file.format.as_deref());
    download::send(stored, &headers, content_type, &file.name, missing).await
}
