//! `/api/users` (U14, U15) and `/api/groups` (U16): administrators only. Beyond the contract, U14
//! and U15 take an optional `password` (for signing in to the web pages).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::auth::valid_handle;
use crate::db::users::{self as db_users};
use crate::db::IdTable;
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{json_response, Ids};
use crate::model::views::Group;
use crate::ops;
use crate::ops::auth::AuthUser;

/// POST /api/users — U14.
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let handle = fields.string("handle", true, false);
    let administrator = fields.boolean("administrator", false).unwrap_or(false);
    let groups = fields.string_list("groups", false).unwrap_or_default();
    let password = fields.password("password", false);
    if let Some(handle) = &handle {
        if !valid_handle(handle) {
            fields.add("handle", "invalid handle");
        }
    }
    fields.finish()?;
    let handle = handle.unwrap_or_default();
    let created = ops::users::create_user(&app, &handle, administrator, &groups).await?;
    if let Some(password) = password {
        ops::sessions::set_password(&app, &created.id, &password).await?;
    }
    Ok(json_response(StatusCode::CREATED, &created))
}

/// PATCH /api/users/{user_id} — U15.
pub async fn update(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(user_id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let administrator = fields.boolean("administrator", false);
    let groups = fields.string_list("groups", false);
    let password = fields.password("password", false);
    fields.finish()?;
    ops::users::update_user(&app, &user_id, administrator, groups.as_deref()).await?;
    if let Some(password) = password {
        // Setting a password ends every session of the user.
        ops::sessions::set_password(&app, &user_id, &password).await?;
    }
    let updated = db_users::get(&app.db, &user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(json_response(StatusCode::OK, &updated))
}

/// POST /api/groups — U16.
pub async fn create_group(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let name = fields.string("name", true, true);
    fields.finish()?;
    let group = Group {
        id: crate::db::fresh_id(&app.db, IdTable::Groups).await?,
        name: name.unwrap_or_default(),
    };
    if !db_users::insert_group(&app.db, &group).await? {
        return Err(ApiError::bad_request("Group already exists"));
    }
    Ok(json_response(StatusCode::CREATED, &group))
}
