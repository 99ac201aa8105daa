//! Samples on the jobs API (workflows §7.6: J11, J12, J14, J15) and the uploads a job reads (J16).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::app::AppState;
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::{created, download, json_response, multipart, Ids};
use crate::model::failure::Failure;
use crate::model::quality_shape;
use crate::model::views::{RunnerReads, RunnerSample};
use crate::ops;
use crate::ops::auth::JobAuth;

#[utoipa::path(get, path = "/jobs-api/samples/{sample_id}", operation_id = "job_get_sample", tag = "jobs",
    params(("sample_id" = String, Path, description = "A sample in the job's scope")),
    responses(
        (status = 200, description = "The runner sample (workflows §8.1)", body = RunnerSample),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/samples/{sample_id} — J11.
pub async fn get_one(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
) -> ApiResult<Response> {
    let sample = ops::runner_samples::get(&app, &job, &sample_id).await?;
    Ok(json_response(StatusCode::OK, &sample))
}

#[utoipa::path(patch, path = "/jobs-api/samples/{sample_id}", operation_id = "job_finalize_sample", tag = "jobs",
    params(("sample_id" = String, Path, description = "The job's sample")),
    request_body(content = FinalizeSampleBody),
    responses(
        (status = 200, description = "The finalized runner sample", body = RunnerSample),
        (status = 400, description = "`Malformed JSON`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
        (status = 409, description = "`Sample already finalized` or `Reads have not been uploaded: …`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input`: the shape of `quality`, by dotted path", body = ErrorBody),
    ),
    security(("job" = [])))]
/// PATCH /jobs-api/samples/{sample_id} — J12.
pub async fn finalize(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let quality = body.map.get("quality");
    let errors = quality_shape::check(quality);
    if !errors.is_empty() {
        return Err(ApiError::invalid_input(errors));
    }
    let quality = serde_json::to_string(&quality).map_err(ApiError::internal)?;
    let sample = ops::runner_samples::finalize(&app, &job, &sample_id, &quality).await?;
    Ok(json_response(StatusCode::OK, &sample))
}

#[utoipa::path(get, path = "/jobs-api/samples/{sample_id}/reads/{reads_file}", operation_id = "job_download_reads", tag = "jobs",
    description = "A stored reads file; one `Range` (`bytes=a-b`, `a-`, `-n`) gives 206.",
    params(("sample_id" = String, Path, description = "A sample in the job's scope"), ("reads_file" = String, Path, description = "`reads_1.fq.gz` or `reads_2.fq.gz`")),
    responses(
        (status = 200, description = "The whole file, as an attachment", content(("application/gzip"))),
        (status = 206, description = "The requested range", content(("application/gzip"))),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope", body = ErrorBody),
        (status = 404, description = "No such sample or reads file", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */<size>`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/samples/{sample_id}/reads/{reads_file} — J14.
pub async fn download_reads(
    job: JobAuth,
    State(app): State<AppState>,
    Ids((sample_id, reads_file)): Ids<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let stored = ops::runner_samples::reads(&app, &job, &sample_id, &reads_file).await?;
    download::send(
        stored,
        &headers,
        "application/gzip",
        &reads_file,
        ApiError::not_found,
    )
    .await
}

#[utoipa::path(put, path = "/jobs-api/samples/{sample_id}/reads/{reads_file}", operation_id = "job_upload_reads", tag = "jobs",
    description = "Store a reads file of the job's sample: gzip only, streamed, kept only when complete. The `name` and `format` query parameters the runner sends are ignored.",
    params(("sample_id" = String, Path, description = "The job's sample"), ("reads_file" = String, Path, description = "`reads_1.fq.gz` or `reads_2.fq.gz`")),
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The stored reads file", body = RunnerReads,
            headers(("Location" = String, description = "`/jobs-api/samples/{sample_id}/reads/{reads_file}`"))),
        (status = 400, description = "`File name is not an accepted reads file`, `File is not compressed` or a malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
        (status = 409, description = "`Sample already finalized` or `Reads file name is already uploaded for this sample`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input`: no `file` part", body = ErrorBody),
        (status = 507, description = "`insufficient_storage`: the disk is full", body = ErrorBody),
    ),
    security(("job" = [])))]
/// PUT /jobs-api/samples/{sample_id}/reads/{reads_file} — J15.
pub async fn upload_reads(
    job: JobAuth,
    State(app): State<AppState>,
    Ids((sample_id, reads_file)): Ids<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let mut pending = ops::runner_samples::begin_reads(&app, &job, &sample_id, &reads_file).await?;
    multipart::receive_file(&headers, body, app.multipart_limits(), &mut pending.sink).await?;
    let reads = ops::runner_samples::finish_reads(&app, pending).await?;
    Ok(created(
        &format!("/jobs-api/samples/{sample_id}/reads/{reads_file}"),
        &reads,
    ))
}

#[utoipa::path(get, path = "/jobs-api/uploads/{upload_id}", operation_id = "job_download_upload", tag = "jobs",
    description = "An upload named in the job's `args.files`; one `Range` gives 206.",
    params(("upload_id" = String, Path, description = "Upload id")),
    responses(
        (status = 200, description = "The whole file, as an attachment", content(("application/octet-stream"))),
        (status = 206, description = "The requested range", content(("application/octet-stream"))),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Not in the job's `args.files`", body = ErrorBody),
        (status = 404, description = "No such upload, or it is removed", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */<size>`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/uploads/{upload_id} — J16.
pub async fn download_upload(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(upload_id): Ids<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (upload, stored) = ops::user_uploads::open_for_job(&app, &job, &upload_id).await?;
    download::send(
        stored,
        &headers,
        "application/octet-stream",
        &upload.name,
        || Failure::not_found().into(),
    )
    .await
}

/// The body of J12.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FinalizeSampleBody {
    /// The reads' quality (workflows §3.4), stored as given once its shape is checked.
    #[schema(value_type = Object)]
    quality: serde_json::Value,
}
