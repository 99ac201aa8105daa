//! Subtraction routes for the `create_subtraction` job and analysis jobs (J22–J26, workflows §7.6):
//! every check is 404 for the subtraction, then 403 outside the job's scope (§7.4).

use crate::http::error::ErrorBody;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::app::AppState;
use crate::files::subtraction_file_key;
use crate::http::body::JsonObject;
use crate::http::download;
use crate::http::error::ApiResult;
use crate::http::{created, json_response, Ids};
use crate::model::failure::Failure;
use crate::model::stores::{Gc, RunnerSubtraction, RunnerSubtractionFile, StoredFile};
use crate::ops;
use crate::ops::auth::JobAuth;
use crate::ops::uploads::store_and_record;

#[utoipa::path(get, path = "/jobs-api/subtractions/{subtraction_id}", operation_id = "job_get_subtraction", tag = "jobs",
    params(("subtraction_id" = String, Path, description = "Subtraction id")),
    responses(
        (status = 200, description = "The runner subtraction (workflows §8.3)", body = RunnerSubtraction),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such subtraction", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/subtractions/{subtraction_id} — J22.
pub async fn get_one(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
) -> ApiResult<Response> {
    let body = ops::subtractions::runner_get(&app, &job, &id).await?;
    Ok(json_response(StatusCode::OK, &body))
}

#[utoipa::path(get, path = "/jobs-api/subtractions/{subtraction_id}/files/{filename}", operation_id = "job_download_subtraction_file", tag = "jobs",
    description = "The stored bytes; one `Range` (`bytes=a-b`, `a-`, `-n`) gives 206.",
    params(("subtraction_id" = String, Path, description = "Subtraction id"), ("filename" = String, Path, description = "`subtraction.fa.gz` or `subtraction.{1,2,3,4,rev.1,rev.2}.bt2`")),
    responses(
        (status = 200, description = "The whole file", content(("application/octet-stream"))),
        (status = 206, description = "The requested range", content(("application/octet-stream"))),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such subtraction, file name or stored file", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */<size>`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/subtractions/{subtraction_id}/files/{filename} — J23.
pub async fn download(
    job: JobAuth,
    State(app): State<AppState>,
    Ids((id, name)): Ids<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let stored = ops::subtractions::open_file(&app, &job, &id, &name).await?;
    let missing = || Failure::not_found().into();
    download::send(stored, &headers, "application/octet-stream", &name, missing).await
}

#[utoipa::path(put, path = "/jobs-api/subtractions/{subtraction_id}/files/{filename}", operation_id = "job_upload_subtraction_file", tag = "jobs",
    description = "Store a file of the subtraction being built; the `name` and `format` query parameters are ignored.",
    params(("subtraction_id" = String, Path, description = "Subtraction id"), ("filename" = String, Path, description = "`subtraction.fa.gz` or `subtraction.{1,2,3,4,rev.1,rev.2}.bt2`")),
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The file record", body = RunnerSubtractionFile,
            headers(("Location" = String, description = "`/jobs-api/subtractions/{subtraction_id}/files/{filename}`"))),
        (status = 400, description = "A malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such subtraction; `Unsupported subtraction file name`", body = ErrorBody),
        (status = 409, description = "`Subtraction has already been finalized` or `File name already exists`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input`: no `file` part", body = ErrorBody),
        (status = 507, description = "`insufficient_storage`: the disk is full", body = ErrorBody),
    ),
    security(("job" = [])))]
/// PUT /jobs-api/subtractions/{subtraction_id}/files/{filename} — J24.
pub async fn upload(
    job: JobAuth,
    State(app): State<AppState>,
    Ids((id, name)): Ids<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (kind, file_id) = ops::subtractions::check_upload(&app, &job, &id, &name).await?;
    let key = subtraction_file_key(&id, &name);
    let file = store_and_record(&app, &key, &headers, body, |size| {
        let file = StoredFile {
            id: file_id,
            name: name.clone(),
            size,
            kind: kind.to_owned(),
        };
        ops::subtractions::record_upload(&app, &job, &id, file)
    })
    .await?;
    let location = format!("/jobs-api/subtractions/{id}/files/{name}");
    Ok(created(&location, &file))
}

/// `{"gc": {a, c, g, t, n}, "count"}` checked (J25 row 2): `n` may be omitted, other keys of
/// `gc` are ignored, each value a number from 0 to 1.
fn finalize_body(body: &JsonObject) -> ApiResult<(Gc, i64)> {
    let mut fields = body.fields();
    let count = fields.integer("count", true, 0, i64::MAX);
    let mut values = [0.0; 5];
    match fields.raw("gc") {
        None => fields.add("gc", "required field"),
        Some(Value::Null) => fields.add("gc", "null value not allowed"),
        Some(Value::Object(gc)) => {
            for (slot, key) in values.iter_mut().zip(["a", "c", "g", "t", "n"]) {
                let field = format!("gc.{key}");
                match gc.get(key) {
                    None if key == "n" => {}
                    None => fields.add(&field, "required field"),
                    Some(Value::Null) => fields.add(&field, "null value not allowed"),
                    Some(value) => match value.as_f64() {
                        None => fields.add(&field, "must be of number type"),
                        Some(v) if v < 0.0 => fields.add(&field, "min value is 0"),
                        Some(v) if v > 1.0 => fields.add(&field, "max value is 1"),
                        Some(v) => *slot = v,
                    },
                }
            }
        }
        Some(_) => fields.add("gc", "must be of dict type"),
    }
    fields.finish()?;
    let [a, c, g, t, n] = values;
    Ok((Gc { a, c, g, t, n }, count.unwrap_or_default()))
}

#[utoipa::path(patch, path = "/jobs-api/subtractions/{subtraction_id}", operation_id = "job_finalize_subtraction", tag = "jobs",
    description = "Store `count` and `gc`; the subtraction becomes ready and its upload removed.",
    params(("subtraction_id" = String, Path, description = "Subtraction id")),
    request_body(content = FinalizeSubtractionBody),
    responses(
        (status = 200, description = "The runner subtraction (workflows §8.3)", body = RunnerSubtraction),
        (status = 400, description = "`Malformed JSON`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such subtraction", body = ErrorBody),
        (status = 409, description = "`Subtraction has already been finalized` or `Subtraction files have not been uploaded: <names>`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field (`gc.a`, …)", body = ErrorBody),
    ),
    security(("job" = [])))]
/// PATCH /jobs-api/subtractions/{subtraction_id} — J25.
pub async fn finalize(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let (gc, count) = finalize_body(&body)?;
    let body = ops::subtractions::finalize(&app, &job, &id, &gc, count).await?;
    Ok(json_response(StatusCode::OK, &body))
}

/// The body of J25.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FinalizeSubtractionBody {
    /// `a`, `c`, `g`, `t` required, `n` optional (0.0); each from 0 to 1.
    gc: Gc,
    #[schema(minimum = 0)]
    count: i64,
}

#[utoipa::path(delete, path = "/jobs-api/subtractions/{subtraction_id}", operation_id = "job_delete_subtraction", tag = "jobs",
    description = "The failure hook: discard the stored files and unreserve the upload. The subtraction stays (not ready).",
    params(("subtraction_id" = String, Path, description = "Subtraction id")),
    responses(
        (status = 204, description = "Files discarded"),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope (workflows §7.4)", body = ErrorBody),
        (status = 404, description = "No such subtraction", body = ErrorBody),
        (status = 409, description = "`Only unfinalized subtractions can be deleted`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// DELETE /jobs-api/subtractions/{subtraction_id} — J26.
pub async fn delete(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
) -> ApiResult<Response> {
    ops::subtractions::discard(&app, &job, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
