//! Index routes for the `build_index` job and analysis jobs (J17–J21, workflows §7.6): every
//! check is 404 for the index, then 403 outside the job's scope (§7.4).

use crate::http::error::ErrorBody;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::files::index_file_key;
use crate::http::download;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{created, json_response, Ids};
use crate::model::stores::{RunnerIndex, RunnerIndexFile, StoredFile};
use crate::ops;
use crate::ops::auth::JobAuth;
use crate::ops::uploads::store_and_record;

#[utoipa::path(get, path = "/jobs-api/indexes/{index_id}", operation_id = "job_get_index", tag = "jobs",
    params(("index_id" = String, Path, description = "Index id")),
    responses(
        (status = 200, description = "The runner index (workflows §8.2)", body = RunnerIndex),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such index", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/indexes/{index_id} — J17.
pub async fn get_one(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
) -> ApiResult<Response> {
    let body = ops::indexes::runner_get(&app, &job, &id).await?;
    Ok(json_response(StatusCode::OK, &body))
}

#[utoipa::path(get, path = "/jobs-api/indexes/{index_id}/files/{filename}", operation_id = "job_download_index_file", tag = "jobs",
    description = "The stored bytes (`otus.json.gz` is generated from the snapshot); one `Range` (`bytes=a-b`, `a-`, `-n`) gives 206.",
    params(("index_id" = String, Path, description = "Index id"), ("filename" = String, Path, description = "One of the nine names of workflows §5.2")),
    responses(
        (status = 200, description = "The whole file", content(("application/octet-stream"))),
        (status = 206, description = "The requested range", content(("application/octet-stream"))),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such index or file name; `File not found`: not stored yet", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */<size>`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/indexes/{index_id}/files/{filename} — J18.
pub async fn download(
    job: JobAuth,
    State(app): State<AppState>,
    Ids((id, name)): Ids<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let stored = ops::indexes::open_file(&app, &job, &id, &name).await?;
    let missing = || ApiError::not_found_msg("File not found");
    download::send(stored, &headers, "application/octet-stream", &name, missing).await
}

#[utoipa::path(put, path = "/jobs-api/indexes/{index_id}/files/{filename}", operation_id = "job_upload_index_file", tag = "jobs",
    description = "Store a file of the index being built; the `name` and `format` query parameters are ignored.",
    params(("index_id" = String, Path, description = "Index id"), ("filename" = String, Path, description = "One of the eight names of workflows §5.2 other than `otus.json.gz`")),
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The file record", body = RunnerIndexFile,
            headers(("Location" = String, description = "`/jobs-api/indexes/{index_id}/files/{filename}`"))),
        (status = 400, description = "A malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such index; `Index file not found`", body = ErrorBody),
        (status = 409, description = "`Index files are already built` or `File name already exists`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input`: no `file` part", body = ErrorBody),
        (status = 507, description = "`insufficient_storage`: the disk is full", body = ErrorBody),
    ),
    security(("job" = [])))]
/// PUT /jobs-api/indexes/{index_id}/files/{filename} — J19.
pub async fn upload(
    job: JobAuth,
    State(app): State<AppState>,
    Ids((id, name)): Ids<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (kind, file_id) = ops::indexes::check_upload(&app, &job, &id, &name).await?;
    let key = index_file_key(&id, &name);
    let file = store_and_record(&app, &key, &headers, body, |size| {
        let file = StoredFile {
            id: file_id,
            name: name.clone(),
            size,
            kind: kind.to_owned(),
        };
        ops::indexes::record_upload(&app, &job, &id, file)
    })
    .await?;
    let location = format!("/jobs-api/indexes/{id}/files/{name}");
    Ok(created(&location, &file))
}

#[utoipa::path(patch, path = "/jobs-api/indexes/{index_id}", operation_id = "job_finalize_index", tag = "jobs",
    description = "Finalize the index files (`has_files: true`). The body is ignored.",
    params(("index_id" = String, Path, description = "Index id")),
    responses(
        (status = 200, description = "The runner index (workflows §8.2)", body = RunnerIndex),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such index", body = ErrorBody),
        (status = 409, description = "`Index files are already built`, `A FASTA file must be uploaded in order to finalize index` or `Reference requires that all Bowtie2 index files have been uploaded. Missing files: <names>`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// PATCH /jobs-api/indexes/{index_id} — J20.
pub async fn finalize(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
) -> ApiResult<Response> {
    let body = ops::indexes::finalize(&app, &job, &id).await?;
    Ok(json_response(StatusCode::OK, &body))
}

#[utoipa::path(delete, path = "/jobs-api/indexes/{index_id}", operation_id = "job_delete_index", tag = "jobs",
    description = "The failure hook: discard the uploaded files. The index itself is kept.",
    params(("index_id" = String, Path, description = "Index id")),
    responses(
        (status = 204, description = "Files discarded"),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such index", body = ErrorBody),
        (status = 409, description = "`Index files are already built`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// DELETE /jobs-api/indexes/{index_id} — J21.
pub async fn delete(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
) -> ApiResult<Response> {
    ops::indexes::discard(&app, &job, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
