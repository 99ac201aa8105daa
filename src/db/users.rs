//! Users, groups and their membership; API keys are stored as SHA-256 digests.

use sqlx::Row;

use super::{flag, get_flag, Db, DbError, DbResult};
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{Group, User};

/// What authentication needs about a user.
pub struct Credentials {
    pub id: String,
    pub handle: String,
    pub administrator: bool,
    pub key_digest: String,
    /// The Argon2id PHC string, when the user has a password.
    pub password_hash: Option<String>,
    pub groups: Vec<String>,
}

pub async fn find_credentials(db: &Db, handle: &str) -> DbResult<Option<Credentials>> {
    let row = sqlx::query(
        "SELECT id, handle, administrator, key_digest, password_hash FROM users WHERE handle = $1",
    )
    .bind(handle)
    .fetch_optional(db.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let id: String = row.try_get("id")?;
    let groups = groups_of(db, &id).await?;
    Ok(Some(Credentials {
        handle: row.try_get("handle")?,
        administrator: get_flag(&row, "administrator")?,
        key_digest: row.try_get("key_digest")?,
        password_hash: row.try_get("password_hash")?,
        groups,
        id,
    }))
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
    let row = sqlx::query("SELECT id, handle, administrator, created_at FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(User {
        id: row.try_get("id")?,
        handle: row.try_get("handle")?,
        administrator: get_flag(&row, "administrator")?,
        groups: groups_of(db, id).await?,
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
        "INSERT INTO users (id, handle, administrator, key_digest, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.id)
    .bind(user.handle)
    .bind(flag(user.administrator))
    .bind(user.key_digest)
    .bind(user.created_at)
    .execute(&mut *tx)
    .await
    .map_err(|e| match DbError::from(e) {
        DbError::UniqueViolation(_) => UserWriteError::HandleTaken,
        other => UserWriteError::Db(other),
    })?;
    set_groups(&mut tx, user.id, user.groups).await?;
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

pub async fn update(
    db: &Db,
    id: &str,
    administrator: Option<bool>,
    groups: Option<&[String]>,
) -> Result<(), UserWriteError> {
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
