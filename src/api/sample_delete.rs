//! U26: delete a sample with its analyses and reads (workflows.md §3 U26).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::Ids;
use crate::ops;
use crate::ops::auth::AuthUser;

#[utoipa::path(delete, path = "/api/samples/{sample_id}", operation_id = "delete_sample", tag = "samples",
    description = "Delete a sample, its reads and its analyses; its unfinished jobs are cancelled (and kept), its uploads become usable again.",
    params(("sample_id" = String, Path, description = "Sample id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`insufficient_rights`; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// DELETE /api/samples/{sample_id} — U26.
pub async fn delete(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
) -> ApiResult<Response> {
    ops::sample_delete::delete_for_user(&app, &user.principal, &sample_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
