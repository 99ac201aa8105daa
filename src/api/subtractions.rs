//! `POST /api/subtractions` (U17): subtractions are labels; vira stores no subtraction files.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::db;
use crate::db::IdTable;
use crate::http::body::read_json;
use crate::http::error::ApiResult;
use crate::http::json_response;
use crate::http::validate::Fields;
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::{Subtraction, UserRef};

/// POST /api/subtractions — U17.
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    user.require_admin()?;
    let body = read_json(&headers, body, app.config.max_json_bytes).await?;
    let mut fields = Fields::new(&body);
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
        user: UserRef {
            id: user.id,
            handle: user.handle,
        },
    };
    db::samples::insert_subtraction(&app.db, &subtraction, now).await?;
    Ok(json_response(StatusCode::CREATED, &subtraction))
}
