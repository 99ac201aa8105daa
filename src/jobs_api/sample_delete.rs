//! J13: a `create_sample` job deletes its sample (Virtool's failure hook; workflows.md §7.6).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::Ids;
use crate::ops;
use crate::ops::auth::JobAuth;

#[utoipa::path(delete, path = "/jobs-api/samples/{sample_id}", operation_id = "delete_job_sample", tag = "jobs",
    description = "Delete the job's sample as U26 does, without cancelling the calling job.",
    params(("sample_id" = String, Path, description = "Sample id: the job's `args.sample_id`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Outside the job's scope", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
        (status = 409, description = "`Sample is finalized`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// DELETE /jobs-api/samples/{sample_id} — J13.
pub async fn delete(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
) -> ApiResult<Response> {
    ops::sample_delete::delete_for_job(&app, &job, &sample_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
