//! Runner credentials (workflows.md §7.1): records with the SHA-256 digest of their key.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{get_flag, Db, DbError, DbResult};
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{Runner, UserRef};

fn runner_from_row(row: &AnyRow) -> DbResult<Runner> {
    let user_id: String = row.try_get("user_id")?;
    let last_claim_at: Option<i64> = row.try_get("last_claim_at")?;
    Ok(Runner {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: rfc3339(row.try_get("created_at")?),
        // Runners made with `vira runner create` have no administrator behind them.
        user: (!user_id.is_empty()).then(|| UserRef {
            id: user_id,
            handle: row
                .try_get::<Option<String>, _>("handle")
                .ok()
                .flatten()
                .unwrap_or_default(),
        }),
        last_claim_at: last_claim_at.map(rfc3339),
        revoked: get_flag(row, "revoked")?,
        credential: None,
    })
}

const SELECT: &str = "SELECT r.id, r.name, r.created_at, r.user_id, u.handle, r.last_claim_at, \
     r.revoked FROM runners r LEFT JOIN users u ON u.id = r.user_id";

/// A free runner id (8 characters `[a-z0-9]`, collision-checked).
pub async fn fresh_id(db: &Db) -> DbResult<String> {
    loop {
        let id = crate::model::ids::new_id();
        let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM runners WHERE id = $1")
            .bind(&id)
            .fetch_optional(db.reader())
            .await?;
        if taken.is_none() {
            return Ok(id);
        }
    }
}

/// Insert a runner; `None` when an unrevoked runner already has the name.
pub async fn insert(
    db: &Db,
    id: &str,
    name: &str,
    key_digest: &str,
    user_id: &str,
    now: Micros,
) -> DbResult<Option<Runner>> {
    let inserted = sqlx::query(
        "INSERT INTO runners (id, name, key_digest, user_id, created_at, last_claim_at, revoked) \
         VALUES ($1, $2, $3, $4, $5, NULL, 0)",
    )
    .bind(id)
    .bind(name)
    .bind(key_digest)
    .bind(user_id)
    .bind(now)
    .execute(&mut *db.write().await?)
    .await;
    match inserted.map_err(DbError::from) {
        Ok(_) => {}
        Err(DbError::UniqueViolation(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    get(db, id).await
}

pub async fn get(db: &Db, id: &str) -> DbResult<Option<Runner>> {
    let sql = format!("{SELECT} WHERE r.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(runner_from_row).transpose()
}

/// Every runner, oldest first, revoked ones included.
pub async fn list(db: &Db) -> DbResult<Vec<Runner>> {
    let sql = format!("{SELECT} ORDER BY r.created_at, r.id");
    let rows = sqlx::query(&sql).fetch_all(db.reader()).await?;
    rows.iter().map(runner_from_row).collect()
}

/// Revoke an unrevoked runner; `false` when there is none by that id.
pub async fn revoke(db: &Db, id: &str) -> DbResult<bool> {
    let updated = sqlx::query("UPDATE runners SET revoked = 1 WHERE id = $1 AND revoked = 0")
        .bind(id)
        .execute(&mut *db.write().await?)
        .await?
        .rows_affected();
    Ok(updated == 1)
}

/// The name of the unrevoked runner `id` when `key_digest` is its key's.
pub async fn name_if_key(db: &Db, id: &str, key_digest: &str) -> DbResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM runners WHERE id = $1 AND revoked = 0 AND key_digest = $2",
    )
    .bind(id)
    .bind(key_digest)
    .fetch_optional(db.reader())
    .await?)
}
