//! Runner credentials (U33–U35, administrators; workflows.md §7.1).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::auth::valid_runner_name;
use crate::http::body::JsonObject;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::{created, json_response, Ids};
use crate::model::views::Runner;
use crate::ops;
use crate::ops::auth::AuthUser;

#[utoipa::path(post, path = "/api/runners", operation_id = "create_runner", tag = "runners",
    request_body(content = NewRunnerBody),
    responses(
        (status = 201, description = "The new runner with its `credential` (shown only here)", body = Runner,
            headers(("Location" = String, description = "`/api/runners/<id>`"))),
        (status = 400, description = "`Malformed JSON` or `Runner already exists`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/runners — U33.
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let name = fields.text("name", true);
    if let Some(name) = &name {
        if !valid_runner_name(name) {
            fields.add("name", "invalid name");
        }
    }
    fields.finish()?;
    let runner = ops::runners::create(&app, &name.unwrap_or_default(), &user.id).await?;
    Ok(created(&format!("/api/runners/{}", runner.id), &runner))
}

#[utoipa::path(get, path = "/api/runners", operation_id = "list_runners", tag = "runners",
    responses(
        (status = 200, description = "Every runner, oldest first, revoked ones included (no keys)", body = RunnerList),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/runners — U34.
pub async fn list(user: AuthUser, State(app): State<AppState>) -> ApiResult<Response> {
    user.require_admin()?;
    let documents = ops::runners::list(&app).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "documents": documents }),
    ))
}

#[utoipa::path(delete, path = "/api/runners/{runner_id}", operation_id = "revoke_runner", tag = "runners",
    description = "Revoke a runner: its credential is refused from now on; the job keys it obtained keep working.",
    params(("runner_id" = String, Path, description = "Runner id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such runner, or already revoked", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// DELETE /api/runners/{runner_id} — U35.
pub async fn revoke(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(runner_id): Ids<String>,
) -> ApiResult<Response> {
    user.require_admin()?;
    ops::runners::revoke(&app, &runner_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of U33.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewRunnerBody {
    /// 1–64 characters from `[A-Za-z0-9._:-]`, unique among unrevoked runners.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    name: String,
}

/// The answer of U34.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RunnerList {
    documents: Vec<Runner>,
}
