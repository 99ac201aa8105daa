//! Claim (J8), a job reading itself (J9) and release (J10): workflows.md §7.2, §7.3.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::query::QueryPairs;
use crate::http::{json_response, Ids};
use crate::model::field_errors::FieldErrors;
use crate::model::views::Job;
use crate::model::workflow::Workflow;
use crate::ops;
use crate::ops::auth::{JobAuth, RunnerCredential};
use crate::ops::jobs::Claimed;

/// Every `workflow` of the query; 422 `invalid_query` for none or an unknown one.
fn workflows(query: &QueryPairs) -> ApiResult<Vec<Workflow>> {
    let mut errors = FieldErrors::new();
    let mut found = Vec::new();
    for (key, value) in &query.0 {
        if key != "workflow" {
            continue;
        }
        match Workflow::parse(value) {
            Some(w) if !found.contains(&w) => found.push(w),
            Some(_) => {}
            None => errors.add("workflow", format!("unallowed value {value}")),
        }
    }
    if found.is_empty() && errors.is_empty() {
        errors.add("workflow", "required field");
    }
    errors.into_result().map_err(ApiError::invalid_query)?;
    Ok(found)
}

#[utoipa::path(post, path = "/jobs-api/jobs/claim", operation_id = "claim_job", tag = "jobs",
    description = "Hand the oldest claimable waiting job of the named workflows to the runner. The body is ignored.",
    params(("workflow" = Vec<Workflow>, Query, description = "One or more workflows", explode = true)),
    responses(
        (status = 200, description = "The full job with its `key` (the J1 body)", body = Job),
        (status = 204, description = "No claimable job"),
        (status = 401, description = "No, malformed or invalid runner credentials, or a revoked runner", body = ErrorBody),
        (status = 422, description = "`invalid_query`: no `workflow`, or an unknown one", body = ErrorBody),
    ),
    security(("runner" = [])))]
/// POST /jobs-api/jobs/claim — J8.
pub async fn claim(
    runner: RunnerCredential,
    State(app): State<AppState>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let workflows = match workflows(&query) {
        Ok(workflows) => workflows,
        Err(invalid) => {
            // The credential comes first (401, then 422).
            runner.check(&app).await?;
            return Err(invalid);
        }
    };
    match ops::jobs::claim(&app, &runner, &workflows).await? {
        Claimed::Job(job) => Ok(json_response(StatusCode::OK, &job)),
        Claimed::Nothing => Ok(StatusCode::NO_CONTENT.into_response()),
        Claimed::Refused => Err(RunnerCredential::refused()),
    }
}

#[utoipa::path(get, path = "/jobs-api/jobs/{job_id}", operation_id = "get_job", tag = "jobs",
    params(("job_id" = String, Path, description = "Job id: the authenticated job's own")),
    responses(
        (status = 200, description = "The full job without its key", body = Job),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Another job's id", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    ),
    security(("job" = [])))]
/// GET /jobs-api/jobs/{job_id} — J9.
pub async fn get_one(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(job_id): Ids<String>,
) -> ApiResult<Response> {
    let found = ops::jobs::get_own(&app, &job, &job_id).await?;
    Ok(json_response(StatusCode::OK, &found))
}

#[utoipa::path(post, path = "/jobs-api/jobs/{job_id}/release", operation_id = "release_job", tag = "jobs",
    description = "Give the job back to the queue without failing it: its key stops working and its partial output is discarded. The body is ignored.",
    params(("job_id" = String, Path, description = "Job id: the authenticated job's own")),
    responses(
        (status = 200, description = "The full job without its key", body = Job),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Another job's id", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "`Job is finished`", body = ErrorBody),
    ),
    security(("job" = [])))]
/// POST /jobs-api/jobs/{job_id}/release — J10.
pub async fn release(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(job_id): Ids<String>,
) -> ApiResult<Response> {
    let released = ops::jobs::release(&app, &job, &job_id).await?;
    Ok(json_response(StatusCode::OK, &released))
}
