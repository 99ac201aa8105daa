//! The HMM files of `nuvs` jobs (J27, J28, workflows §7.6): any other job gets 403.

use crate::http::error::ErrorBody;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::download;
use crate::http::error::{ApiError, ApiResult};
use crate::ops;
use crate::ops::auth::JobAuth;

#[utoipa::path(get, path = "/jobs-api/hmms/files/annotations.json.gz", operation_id = "job_hmm_annotations", tag = "jobs",
    description = "Every stored annotation, gzip-compressed JSON, ascending by cluster then id.",
    responses(
        (status = 200, description = "The annotations", content(("application/octet-stream"))),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Not a `nuvs` job", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/hmms/files/annotations.json.gz — J27.
pub async fn annotations(job: JobAuth, State(app): State<AppState>) -> ApiResult<Response> {
    let bytes = ops::hmm_profiles::annotations_gz(&app, &job).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=annotations.json.gz"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/jobs-api/hmms/files/profiles.hmm", operation_id = "job_hmm_profiles", tag = "jobs",
    description = "The imported profiles (U36); one `Range` (`bytes=a-b`, `a-`, `-n`) gives 206.",
    responses(
        (status = 200, description = "The whole file", content(("application/octet-stream"))),
        (status = 206, description = "The requested range", content(("application/octet-stream"))),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Not a `nuvs` job", body = ErrorBody),
        (status = 404, description = "`Profiles not found`: none imported", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */<size>`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/hmms/files/profiles.hmm — J28.
pub async fn profiles(
    job: JobAuth,
    State(app): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let stored = ops::hmm_profiles::open_profiles(&app, &job).await?;
    let missing = || ApiError::not_found_msg("Profiles not found");
    download::send(
        stored,
        &headers,
        "application/octet-stream",
        "profiles.hmm",
        missing,
    )
    .await
}
