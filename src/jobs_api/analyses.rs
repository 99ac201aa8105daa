//! Analysis routes for runners: read (J3), finalize (J4), delete (J5), upload (J6).

use crate::http::error::ErrorBody;
use crate::model::views::{Analysis, AnalysisFile};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::value::RawValue;

use crate::app::{App, AppState};
use crate::http::body::read_limited;
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::QueryPairs;
use crate::http::Ids;
use crate::ops;
use crate::ops::analyses::{
    delete_cascade, head, of_job, respond_to_job, written_body, AnalysisCore,
};
use crate::ops::auth::JobAuth;
use crate::ops::finalize::{already_finalized, no_such_analysis};
use crate::ops::uploads::{receive_upload, upload_params};

/// 404 (with `not_found` as message), then 403 unless the job is this analysis's job.
async fn job_access(
    app: &App,
    job: &JobAuth,
    analysis_id: &str,
    not_found: ApiError,
) -> ApiResult<AnalysisCore> {
    of_job(app, job, analysis_id).await?.ok_or(not_found)
}

#[utoipa::path(get, path = "/jobs-api/analyses/{analysis_id}", operation_id = "job_get_analysis", tag = "jobs",
    description = "The job's analysis, as U2 returns it. With `If-Modified-Since` not earlier than `updated_at`: 304.",
    params(("analysis_id" = String, Path, description = "The job's analysis")),
    responses(
        (status = 200, description = "The analysis, with `Last-Modified`", body = Analysis),
        (status = 304, description = "Not modified since `If-Modified-Since`"),
        (status = 400, description = "`Parent sample does not exist`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Not this job's analysis", body = ErrorBody),
        (status = 404, description = "No such analysis", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/analyses/{analysis_id} — J3.
pub async fn get_one(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let head = head(&app, &analysis_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if head.core.job_id != job.job_id {
        return Err(ApiError::insufficient_rights());
    }
    if head.core.sample.is_none() {
        return Err(ApiError::parent_sample_missing());
    }
    respond_to_job(&app, &head, &headers).await
}

/// The raw `results` of a finalize body (J4 rows 3–4), without parsing the results themselves.
pub fn results_of(body: &[u8]) -> ApiResult<&RawValue> {
    let mut errors = crate::model::field_errors::FieldErrors::new();
    let fields: Vec<(String, &RawValue)> = if body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        match serde_json::from_slice::<ObjectFields>(body) {
            Ok(ObjectFields(fields)) => fields,
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                // Valid JSON that is not an object: checked as if it had no fields.
                serde_json::from_slice::<serde::de::IgnoredAny>(body)
                    .map_err(|_| ApiError::malformed_json())?;
                Vec::new()
            }
            Err(_) => return Err(ApiError::malformed_json()),
        }
    };
    let results = fields.into_iter().rev().find(|(k, _)| k == "results");
    match results {
        None => errors.add("results", "required field"),
        Some((_, raw)) => match raw.get().as_bytes().first() {
            Some(b'{') => return Ok(raw),
            Some(b'n') => errors.add("results", "null value not allowed"),
            _ => errors.add("results", "must be of dict type"),
        },
    }
    Err(ApiError::invalid_input(errors))
}

/// A JSON object read as (key, raw value) pairs in one pass.
struct ObjectFields<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for ObjectFields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = ObjectFields<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    fields.push((key, value));
                }
                Ok(ObjectFields(fields))
            }
        }
        d.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

#[utoipa::path(patch, path = "/jobs-api/analyses/{analysis_id}", operation_id = "finalize_analysis", tag = "jobs",
    description = "Post the results: the analysis becomes ready.",
    params(("analysis_id" = String, Path, description = "The job's analysis")),
    request_body(content = FinalizeBody),
    responses(
        (status = 200, description = "The ready analysis with its formatted results", body = Analysis),
        (status = 400, description = "`Malformed JSON`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Not this job's analysis", body = ErrorBody),
        (status = 404, description = "`There is no analysis with id <id>`", body = ErrorBody),
        (status = 409, description = "`There is already a result for this analysis.`", body = ErrorBody),
        (status = 413, description = "Body over `--max-results-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input`: `results` missing or not an object, or results that fail the checks of contract §9.3 (dotted paths)", body = ErrorBody),
    ),
    security(("job" = [])))]
/// PATCH /jobs-api/analyses/{analysis_id} — J4 (finalize).
pub async fn finalize(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let body = read_limited(&headers, body, app.config.max_results_bytes).await?;
    let raw = body.slice_ref(results_of(&body)?.get().as_bytes());
    // Only the results are kept: the rest of the body is freed before they are stored.
    drop(body);
    let analysis = job_access(&app, &job, &analysis_id, no_such_analysis(&analysis_id)).await?;
    if analysis.ready {
        return Err(already_finalized());
    }
    let results = ops::finalize::finalize(&app, &analysis, raw).await?;
    Ok(written_body(&app, &analysis_id, Some(results))
        .await?
        .into_response(axum::http::StatusCode::OK))
}

#[utoipa::path(delete, path = "/jobs-api/analyses/{analysis_id}", operation_id = "job_delete_analysis", tag = "jobs",
    description = "Delete the job's analysis before it is finalized (a failed run).",
    params(("analysis_id" = String, Path, description = "The job's analysis")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Not this job's analysis", body = ErrorBody),
        (status = 404, description = "No such analysis", body = ErrorBody),
        (status = 409, description = "`Analysis is finalized`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// DELETE /jobs-api/analyses/{analysis_id} — J5 (only before finalize).
pub async fn delete(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
) -> ApiResult<Response> {
    let analysis = job_access(&app, &job, &analysis_id, ApiError::not_found()).await?;
    if analysis.ready {
        return Err(ApiError::conflict("Analysis is finalized"));
    }
    delete_cascade(&app, &analysis_id, false, "Analysis is finalized").await
}

#[utoipa::path(post, path = "/jobs-api/analyses/{analysis_id}/files", operation_id = "job_upload_file_post", tag = "jobs",
    description = "Upload a file of the job's analysis (POST and PUT alike).",
    params(("analysis_id" = String, Path, description = "The job's analysis"), ("name" = String, Query, min_length = 1, description = "The original file name (sanitized; at most 255 characters)"),
        ("format" = Option<crate::model::views::FileFormat>, Query, description = "The file's format; empty counts as absent")),
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The file record", body = AnalysisFile,
            headers(("Location" = String, description = "`/api/analyses/{analysis_id}/files/{id}`"))),
        (status = 400, description = "`Unsupported analysis file format` or a malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Not this job's analysis", body = ErrorBody),
        (status = 404, description = "No such analysis", body = ErrorBody),
        (status = 409, description = "`File is already associated with analysis`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_query` (bad `name`) or `invalid_input` (no `file` part)", body = ErrorBody),
        (status = 507, description = "`insufficient_storage`: the disk is full", body = ErrorBody),
    ),
    security(("job" = [])))]
/// POST or PUT /jobs-api/analyses/{analysis_id}/files — J6.
pub async fn upload(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
    query: QueryPairs,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let mut params = upload_params(&query)?;
    job_access(&app, &job, &analysis_id, ApiError::not_found()).await?;
    params.uploaded_by_job = Some(job.job_id.clone());
    receive_upload(&app, &analysis_id, params, &headers, body).await
}

/// The body of J4.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FinalizeBody {
    /// The workflow's raw results (contract §9; checked per §9.3).
    #[schema(value_type = Object)]
    results: serde_json::Value,
}
