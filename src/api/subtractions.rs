//! `POST /api/subtractions` (U17): subtractions are labels; vira stores no subtraction files.

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
