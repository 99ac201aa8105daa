//! Users: creation with a new API key, shared by U14 and `vira user create`; changes (U15, with
//! deactivation); the account keys of a user.

use crate::app::App;
use crate::auth::{keys, valid_handle};
use crate::db::users::{self as db_users, KeyRow, NewUser, UserWriteError};
use crate::db::IdTable;
use crate::http::error::{ApiError, ApiResult};
use crate::model::failure::{Failure, Outcome};
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::{ApiKey, Group, User};

pub use crate::db::users::UserChange;

/// The name of the key a user is created with.
pub const FIRST_KEY_NAME: &str = "Created with the user";

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
    let first = KeyRow {
        id: crate::db::fresh_id(&app.db, IdTable::ApiKeys).await?,
        name: FIRST_KEY_NAME.to_owned(),
        created_at: now,
    };
    db_users::insert(
        &app.db,
        NewUser {
            id: &id,
            handle,
            administrator,
            key: &first,
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

/// A user without their key (404 when there is none by that id).
pub async fn get(app: &App, user_id: &str) -> Outcome<User> {
    db_users::get(&app.db, user_id)
        .await?
        .ok_or_else(Failure::not_found)
}

/// U16: a new group named `name`; 400 `Group already exists`.
pub async fn create_group(app: &App, name: String) -> Outcome<Group> {
    let group = Group {
        id: crate::db::fresh_id(&app.db, IdTable::Groups).await?,
        name,
    };
    if !db_users::insert_group(&app.db, &group).await? {
        return Err(Failure::bad_request("Group already exists"));
    }
    Ok(group)
}

/// Change a user's administrator flag, groups and active flag (U15). Keys checked before the
/// change are forgotten by this instance at once (other instances forget them within
/// `--auth-cache-ms`); deactivation ends the user's sessions at once everywhere.
pub async fn update_user(app: &App, user_id: &str, change: UserChange<'_>) -> ApiResult<()> {
    let result = db_users::update(&app.db, user_id, change).await;
    app.auth_cache.clear();
    result.map_err(write_error)
}

fn key_view(key: KeyRow, groups: &[String], secret: Option<String>) -> ApiKey {
    ApiKey {
        id: key.id,
        name: key.name,
        created_at: rfc3339(key.created_at),
        groups: groups.to_vec(),
        permissions: serde_json::Map::new(),
        key: secret,
    }
}

/// The keys of a user (never the keys themselves).
pub async fn keys(app: &App, user_id: &str, groups: &[String]) -> ApiResult<Vec<ApiKey>> {
    let rows = db_users::keys_of(&app.db, user_id).await?;
    Ok(rows
        .into_iter()
        .map(|k| key_view(k, groups, None))
        .collect())
}

/// One key of a user (404 when it is not theirs).
pub async fn key(app: &App, user_id: &str, groups: &[String], key_id: &str) -> ApiResult<ApiKey> {
    let row = db_users::key_of(&app.db, user_id, key_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(key_view(row, groups, None))
}

/// A new named key for a user, returned with the key itself (shown only here).
pub async fn create_key(
    app: &App,
    user_id: &str,
    groups: &[String],
    name: &str,
) -> ApiResult<ApiKey> {
    let key = keys::new_key();
    let row = KeyRow {
        id: crate::db::fresh_id(&app.db, IdTable::ApiKeys).await?,
        name: name.to_owned(),
        created_at: now_micros(),
    };
    let max = app.config.max_keys_per_user;
    if !db_users::insert_key(&app.db, user_id, &row, &keys::digest(&key), max).await? {
        return Err(ApiError::bad_request(format!(
            "A user may hold at most {max} keys; delete one first"
        )));
    }
    Ok(key_view(row, groups, Some(key)))
}

/// Delete one key of a user (404 when it is not theirs). This instance forgets checked keys at
/// once; other instances within `--auth-cache-ms`.
pub async fn delete_key(app: &App, user_id: &str, key_id: &str) -> ApiResult<()> {
    let deleted = db_users::delete_key(&app.db, user_id, key_id).await;
    app.auth_cache.clear();
    if !deleted? {
        return Err(ApiError::not_found());
    }
    Ok(())
}

/// An administrator deletes every key of user `user_id`: 404 when there is no such user.
pub async fn delete_keys_of_user(app: &App, user_id: &str) -> ApiResult<u64> {
    if !db_users::exists(&app.db, user_id).await? {
        return Err(ApiError::not_found());
    }
    delete_keys(app, user_id).await
}

/// Delete every key of a user; how many there were.
pub async fn delete_keys(app: &App, user_id: &str) -> ApiResult<u64> {
    let deleted = db_users::delete_keys(&app.db, user_id).await;
    app.auth_cache.clear();
    Ok(deleted?)
}
