//! `POST /api/subtractions` (U17): subtractions are labels; vira stores no subtraction files.

use crate::http::error::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::db;
use crate::db::IdTable;
use crate::http::body::JsonObject;
use crate::http::error::ApiResult;
use crate::http::json_response;
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::Subtraction;
use crate::ops::auth::AuthUser;

#[utoipa::path(post, path = "/api/subtractions", operation_id = "create_subtraction", tag = "references",
    request_body(content = NewSubtractionBody),
    responses(
        (status = 201, description = "The new subtraction", body = Subtraction),
 (status = 400, description = "`Malformed JSON`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/subtractions — U17.
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let name = fields.string("name", true, true);
    let nickname = fields.string("nickname", false, false);
    fields.finish()?;
    let now = now_micros();
    let subtraction = Subtraction {
        id: db::fresh_id(&app.db, IdTable::Subtractions).await?,
        name: name.unwrap_or_default(),
        nickname: nickname.unwrap_or_default(),
        ready: true,
        created_at: rfc3339(now),
        user: user.user_ref(),
    };
    db::samples::insert_subtraction(&app.db, &subtraction, now).await?;
    Ok(json_response(StatusCode::CREATED, &subtraction))
}

/// The body of U17.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewSubtractionBody {
    #[schema(min_length = 1)]
    name: String,
    /// Default `""`.
    #[schema(required = false)]
    nickname: String,
}
