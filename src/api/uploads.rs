//! `/api/uploads` (workflows §2, U21–U24): files a user uploads to make samples and subtractions.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::files::names;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::query::{page_request, QueryPairs};
use crate::http::{created, download, json_response, multipart, Ids};
use crate::model::views::Upload;
use crate::ops;
use crate::ops::auth::AuthUser;

#[utoipa::path(post, path = "/api/uploads", operation_id = "upload_file", tag = "uploads",
    params(("name" = String, Query, min_length = 1, description = "The original file name (sanitized; at most 255 characters)"),
        ("type" = crate::model::views::UploadType, Query, description = "What the file is for (not checked against its content)")),
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The upload", body = Upload,
            headers(("Location" = String, description = "`/api/uploads/{id}`")),
            links(("DownloadUpload" = (operation_id = "download_upload", parameters(("upload_id" = "$response.body#/id")))),
                  ("DeleteUpload" = (operation_id = "delete_upload", parameters(("upload_id" = "$response.body#/id")))))),
        (status = 400, description = "A malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "With the session cookie: `invalid_csrf_token`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_query` (bad `name` or `type`) or `invalid_input` (no `file` part)", body = ErrorBody),
        (status = 507, description = "`insufficient_storage`: the disk is full", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/uploads?name=&type= — U21.
pub async fn upload(
    user: AuthUser,
    State(app): State<AppState>,
    query: QueryPairs,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let query = ops::user_uploads::upload_query(query.get("name"), query.get("type"))?;
    let mut pending = ops::user_uploads::begin(&app, query).await?;
    multipart::receive_file(&headers, body, app.multipart_limits(), &mut pending.sink).await?;
    let upload = ops::user_uploads::finish(&app, user.user_ref(), pending).await?;
    Ok(created(&format!("/api/uploads/{}", upload.id), &upload))
}

#[utoipa::path(get, path = "/api/uploads", operation_id = "list_uploads", tag = "uploads",
    params(("page" = Option<i64>, Query, minimum = 1, description = "Page number, default 1"),
        ("per_page" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Items per page, default 25; at most `--max-per-page` (100)"),
        ("type" = Option<crate::model::views::UploadType>, Query, description = "Only uploads of this type")),
    responses(
        (status = 200, description = "The caller's usable uploads (an administrator's: everyone's), newest first", body = UploadPage),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 422, description = "`invalid_query`: bad `page`, `per_page` or `type`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/uploads — U22.
pub async fn list(
    user: AuthUser,
    State(app): State<AppState>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let page = page_request(&query, app.config.max_per_page)?;
    let body = ops::user_uploads::list(&app, &user.principal, query.get("type"), page).await?;
    Ok(json_response(StatusCode::OK, &body))
}

#[utoipa::path(get, path = "/api/uploads/{upload_id}", operation_id = "download_upload", tag = "uploads",
    description = "The uploaded bytes; one `Range` (`bytes=a-b`, `a-`, `-n`) gives 206.",
    params(("upload_id" = String, Path, description = "Upload id (an integer; anything else matches nothing)")),
    responses(
        (status = 200, description = "The whole file, as an attachment", content(("application/gzip"), ("application/octet-stream"))),
        (status = 206, description = "The requested range", content(("application/gzip"), ("application/octet-stream"))),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "Neither the uploader nor an administrator", body = ErrorBody),
        (status = 404, description = "No such upload, or it is removed", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */<size>`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/uploads/{upload_id} — U23.
pub async fn download(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(upload_id): Ids<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (upload, stored) =
        ops::user_uploads::open_for_user(&app, &user.principal, &upload_id).await?;
    let content_type = names::content_type(&upload.name, None);
    download::send(
        stored,
        &headers,
        content_type,
        &upload.name,
        ApiError::not_found,
    )
    .await
}

#[utoipa::path(delete, path = "/api/uploads/{upload_id}", operation_id = "delete_upload", tag = "uploads",
    params(("upload_id" = String, Path, description = "Upload id")),
    responses(
        (status = 204, description = "Removed (the record stays, marked `removed`)"),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "Neither the uploader nor an administrator, or with the session cookie `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such upload, or it is removed already", body = ErrorBody),
        (status = 409, description = "`Upload is in use`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// DELETE /api/uploads/{upload_id} — U24.
pub async fn delete(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(upload_id): Ids<String>,
) -> ApiResult<Response> {
    ops::user_uploads::delete(&app, &user.principal, &upload_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A page of uploads (U22).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadPage {
    documents: Vec<Upload>,
    found_count: i64,
    page: i64,
    page_count: i64,
    per_page: i64,
    total_count: i64,
}
