//! Users: creation with a new API key, shared by U14 and `vira user create`.

use crate::app::App;
use crate::auth::{keys, valid_handle};
use crate::db::users::{self as db_users, NewUser, UserWriteError};
use crate::db::IdTable;
use crate::http::error::{ApiError, ApiResult};
use crate::model::time::now_micros;
use crate::model::views::User;

pub fn write_error(error: UserWriteError) -> ApiError {
    match error {
        UserWriteError::HandleTaken => ApiError::bad_request("User already exists"),
        UserWriteError::GroupMissing => ApiError::bad_request("Group does not exist"),
        UserWriteError::NotFound => ApiError::not_found(),
        UserWriteError::Db(e) => e.into(),
    }
}

/// Create a user with a new API key (shared by U14 and `vira user create`).
pub async fn create_user(
    app: &App,
    handle: &str,
    administrator: bool,
    groups: &[String],
) -> ApiResult<User> {
    if !valid_handle(handle) {
        return Err(ApiError::invalid_field("handle", "invalid handle"));
    }
    let key = keys::new_key();
    let id = crate::db::fresh_id(&app.db, IdTable::Users).await?;
    let now = now_micros();
    db_users::insert(
        &app.db,
        NewUser {
            id: &id,
            handle,
            administrator,
            key_digest: &keys::digest(&key),
            groups,
            created_at: now,
        },
    )
    .await
    .map_err(write_error)?;
    let mut user = db_users::get(&app.db, &id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("user vanished after insert")))?;
    user.key = Some(key);
    Ok(user)
}

/// Change a user's administrator flag and groups (U15). Keys checked before the change are
/// forgotten by this instance at once (other instances forget them within `--auth-cache-ms`).
pub async fn update_user(
    app: &App,
    user_id: &str,
    administrator: Option<bool>,
    groups: Option<&[String]>,
) -> ApiResult<()> {
    let result = db_users::update(&app.db, user_id, administrator, groups).await;
    app.auth_cache.clear();
    result.map_err(write_error)
}
