//! Jobs on the user API (workflows.md §6): read one (U31), cancel one (U32).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::{json_response, Ids};
use crate::model::views::Job;
use crate::ops;
use crate::ops::auth::AuthUser;

#[utoipa::path(get, path = "/api/jobs/{job_id}", operation_id = "get_user_job", tag = "jobs",
    description = "The full job (its status entries and error) without its key; read right on the job's sample.",
    params(("job_id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The full job", body = Job),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`insufficient_rights`", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/jobs/{job_id} — U31.
pub async fn get_one(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(job_id): Ids<String>,
) -> ApiResult<Response> {
    let job = ops::jobs::get_for_user(&app, &user.principal, &job_id).await?;
    Ok(json_response(StatusCode::OK, &job))
}

#[utoipa::path(put, path = "/api/jobs/{job_id}/cancel", operation_id = "cancel_job", tag = "jobs",
    description = "Cancel an unfinished job: a waiting one is never handed out, a running one learns it from its next ping; its partial output is discarded. The body is ignored.",
    params(("job_id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The full job", body = Job),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`insufficient_rights`; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "`Job cannot be cancelled in its current state`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// PUT /api/jobs/{job_id}/cancel — U32.
pub async fn cancel(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(job_id): Ids<String>,
) -> ApiResult<Response> {
    let job = ops::jobs::cancel(&app, &user.principal, &job_id).await?;
    Ok(json_response(StatusCode::OK, &job))
}
