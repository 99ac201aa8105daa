//! Users, groups and their membership; API keys (any number per user, named) are stored as
//! SHA-256 digests.

use sqlx::Row;

use super::{flag, get_flag, Db, DbError, DbResult};
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{Group, User};

/// What authentication needs about a user.
pub struct Credentials {
    pub id: String,
    pub handle: String,
    pub administrator: bool,
    /// The Argon2id PHC string, when the user has a password.
    pub password_hash: Option<String>,
    pub groups: Vec<String>,
    /// The matching key's digest (from [`find_by_key`]; empty from [`find_credentials`]).
    pub key_digest: String,
}

async fn credentials(db: &Db, row: Option<sqlx::any::AnyRow>) -> DbResult<Option<Credentials>> {
    let Some(row) = row else { return Ok(None) };
    let id: String = row.try_get("id")?;
    let groups = groups_of(db, &id).await?;
    Ok(Some(Credentials {
        handle: row.try_get("handle")?,
        administrator: get_flag(&row, "administrator")?,
        password_hash: row.try_get("password_hash")?,
        key_digest: row.try_get("key_digest")?,
        groups,
        id,
    }))
}

/// An active user by handle (an inactive one is nobody: no sign-in, no password change).
pub async fn find_credentials(db: &Db, handle: &str) -> DbResult<Option<Credentials>> {
    let row = sqlx::query(
        "SELECT id, handle, administrator, '' AS key_digest, password_hash FROM users \
         WHERE handle = $1 AND active = 1",
    )
    .bind(handle)
    .fetch_optional(db.reader())
    .await?;
    credentials(db, row).await
}

/// The active user `handle` with the API key of this digest.
pub async fn find_by_key(db: &Db, handle: &str, key_digest: &str) -> DbResult<Option<Credentials>> {
    let row = sqlx::query(
        "SELECT u.id, u.handle, u.administrator, k.key_digest, u.password_hash \
         FROM api_keys k JOIN users u ON u.id = k.user_id \
         WHERE k.key_digest = $1 AND u.handle = $2 AND u.active = 1",
    )
    .bind(key_digest)
    .bind(handle)
    .fetch_optional(db.reader())
    .await?;
    credentials(db, row).await
}

/// An API key as its user sees it (never the key itself).
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub created_at: Micros,
}

fn key_row(row: &sqlx::any::AnyRow) -> DbResult<KeyRow> {
    Ok(KeyRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The keys of a user, oldest first.
pub async fn keys_of(db: &Db, user_id: &str) -> DbResult<Vec<KeyRow>> {
    let rows = sqlx::query(
        "SELECT id, name, created_at FROM api_keys WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(key_row).collect()
}

/// One key of a user.
pub async fn key_of(db: &Db, user_id: &str, key_id: &str) -> DbResult<Option<KeyRow>> {
    let row =
        sqlx::query("SELECT id, name, created_at FROM api_keys WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(key_id)
            .fetch_optional(db.reader())
            .await?;
    row.as_ref().map(key_row).transpose()
}

/// Add a key to a user unless they already hold `max_keys`; `Ok(false)` then.
pub async fn insert_key(
    db: &Db,
    user_id: &str,
    key: &KeyRow,
    key_digest: &str,
    max_keys: u64,
) -> DbResult<bool> {
    let mut tx = db.begin().await?;
    // The user's row is locked first (PostgreSQL; SQLite has one writer), so two concurrent
    // creations cannot both pass the count.
    let lock = db.pick(
        "SELECT 1 FROM users WHERE id = $1",
        "SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
    );
    let _: Option<i64> = sqlx::query_scalar(lock)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    if held as u64 >= max_keys {
        return Ok(false);
    }
    insert_key_tx(&mut tx, user_id, key, key_digest).await?;
    tx.commit().await?;
    Ok(true)
}

async fn insert_key_tx(
    tx: &mut super::Tx,
    user_id: &str,
    key: &KeyRow,
    key_digest: &str,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, key_digest, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&key.id)
    .bind(user_id)
    .bind(&key.name)
    .bind(key_digest)
    .bind(key.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Remove one key of a user; `false` when there is no such key.
pub async fn delete_key(db: &Db, user_id: &str, key_id: &str) -> DbResult<bool> {
    let deleted = sqlx::query("DELETE FROM api_keys WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(key_id)
        .execute(&mut *db.write().await?)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// Remove every key of a user; how many there were.
pub async fn delete_keys(db: &Db, user_id: &str) -> DbResult<u64> {
    Ok(sqlx::query("DELETE FROM api_keys WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *db.write().await?)
        .await?
        .rows_affected())
}

/// Whether a user exists.
pub async fn exists(db: &Db, user_id: &str) -> DbResult<bool> {
    let row: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.is_some())
}

/// Set a user's password and revoke every session of the user, in one transaction (a changed
/// password signs out everywhere). `false` when the user does not exist.
pub async fn set_password(db: &Db, user_id: &str, password_hash: &str) -> DbResult<bool> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    super::sessions::revoke_all(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(updated == 1)
}

pub(crate) async fn groups_of(db: &Db, user_id: &str) -> DbResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT group_id FROM user_groups WHERE user_id = $1 ORDER BY position")
            .bind(user_id)
            .fetch_all(db.reader())
            .await?,
    )
}

pub async fn get(db: &Db, id: &str) -> DbResult<Option<User>> {
    let row = sqlx::query(
        "SELECT id, handle, administrator, active, created_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(User {
        id: row.try_get("id")?,
        handle: row.try_get("handle")?,
        administrator: get_flag(&row, "administrator")?,
        groups: groups_of(db, id).await?,
        active: get_flag(&row, "active")?,
        created_at: rfc3339(row.try_get("created_at")?),
        key: None,
    }))
}

#[derive(Debug)]
pub enum UserWriteError {
    HandleTaken,
    GroupMissing,
    NotFound,
    Db(DbError),
}

impl From<DbError> for UserWriteError {
    fn from(e: DbError) -> Self {
        UserWriteError::Db(e)
    }
}

impl From<sqlx::Error> for UserWriteError {
    fn from(e: sqlx::Error) -> Self {
        UserWriteError::Db(e.into())
    }
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub handle: &'a str,
    pub administrator: bool,
    /// The user's first key (stored as one named key).
    pub key: &'a KeyRow,
    pub key_digest: &'a str,
    pub groups: &'a [String],
    pub created_at: Micros,
}

pub async fn insert(db: &Db, user: NewUser<'_>) -> Result<(), UserWriteError> {
    let mut tx = db.begin().await?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE handle = $1")
        .bind(user.handle)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(UserWriteError::HandleTaken);
    }
    sqlx::query(
        "INSERT INTO users (id, handle, administrator, key_digest, created_at) VALUES ($1, $2, $3, '', $4)",
    )
    .bind(user.id)
    .bind(user.handle)
    .bind(flag(user.administrator))
    .bind(user.created_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| match DbError::from(e) {
        DbError::UniqueViolation(_) => UserWriteError::HandleTaken,
        other => UserWriteError::Db(other),
    })?;
    set_groups(&mut tx, user.id, user.groups).await?;
    insert_key_tx(&mut tx, user.id, user.key, user.key_digest).await?;
    tx.commit().await?;
    Ok(())
}

async fn set_groups(
    tx: &mut super::Tx,
    user_id: &str,
    groups: &[String],
) -> Result<(), UserWriteError> {
    sqlx::query("DELETE FROM user_groups WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let mut seen = Vec::new();
    for group in groups {
        if seen.contains(group) {
            continue;
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM groups WHERE id = $1")
            .bind(group)
            .fetch_optional(&mut **tx)
            .await?;
        if exists.is_none() {
            return Err(UserWriteError::GroupMissing);
        }
        sqlx::query("INSERT INTO user_groups (user_id, group_id, position) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(group)
            .bind(seen.len() as i64)
            .execute(&mut **tx)
            .await?;
        seen.push(group.clone());
    }
    Ok(())
}

/// What U15 changes.
#[derive(Default)]
pub struct UserChange<'a> {
    pub administrator: Option<bool>,
    pub groups: Option<&'a [String]>,
    /// `false` deactivates: every session of the user ends in the same transaction (their keys
    /// stay, refused while the user is inactive).
    pub active: Option<bool>,
}

pub async fn update(db: &Db, id: &str, change: UserChange<'_>) -> Result<(), UserWriteError> {
    let UserChange {
        administrator,
        groups,
        active,
    } = change;
    let mut tx = db.begin().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(UserWriteError::NotFound);
    }
    if let Some(administrator) = administrator {
        sqlx::query("UPDATE users SET administrator = $1 WHERE id = $2")
            .bind(flag(administrator))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(groups) = groups {
        set_groups(&mut tx, id, groups).await?;
    }
    if let Some(active) = active {
        sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(flag(active))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if !active {
            super::sessions::revoke_all(&mut tx, id).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Insert a group; `Ok(false)` when the name is taken.
pub async fn insert_group(db: &Db, group: &Group) -> DbResult<bool> {
    let result = sqlx::query("INSERT INTO groups (id, name) VALUES ($1, $2)")
        .bind(&group.id)
        .bind(&group.name)
        .execute(&mut *db.write().await?)
        .await;
    match result.map_err(DbError::from) {
        Ok(_) => Ok(true),
        Err(DbError::UniqueViolation(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn group_exists(db: &Db, id: &str) -> DbResult<bool> {
    let row: Option<i64> = sqlx::query_scalar("SELECT 1 FROM groups WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.is_some())
}
