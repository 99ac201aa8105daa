//! Sign-in sessions (stored as digests of their cookie token, so any instance accepts them and a
//! leaked table gives no usable cookie) and the back-off state of failed sign-ins.

use sqlx::Row;

use super::{get_flag, Db, DbResult, Tx};
use crate::model::time::Micros;

/// A live session with its user as they are now (rights changes apply at once).
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: String,
    pub handle: String,
    pub administrator: bool,
    pub groups: Vec<String>,
    pub csrf_token: String,
    pub created_at: Micros,
    pub expires_at: Micros,
}

pub struct NewSession<'a> {
    pub token_digest: &'a str,
    pub user_id: &'a str,
    pub csrf_token: &'a str,
    pub created_at: Micros,
    pub expires_at: Micros,
}

/// Store a new session; sessions that have expired are removed on the way.
pub async fn create(db: &Db, session: &NewSession<'_>) -> DbResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(session.created_at)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_digest, user_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(session.token_digest)
    .bind(session.user_id)
    .bind(session.csrf_token)
    .bind(session.created_at)
    .bind(session.expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The live session with this token digest at `now`.
pub async fn find(db: &Db, token_digest: &str, now: Micros) -> DbResult<Option<SessionUser>> {
    let row = sqlx::query(
        "SELECT s.user_id, s.csrf_token, s.created_at, s.expires_at, u.handle, u.administrator \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_digest = $1 AND s.expires_at > $2",
    )
    .bind(token_digest)
    .bind(now)
    .fetch_optional(db.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let user_id: String = row.try_get("user_id")?;
    Ok(Some(SessionUser {
        groups: super::users::groups_of(db, &user_id).await?,
        handle: row.try_get("handle")?,
        administrator: get_flag(&row, "administrator")?,
        csrf_token: row.try_get("csrf_token")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        user_id,
    }))
}

/// Sign out one session.
pub async fn revoke(db: &Db, token_digest: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
        .bind(token_digest)
        .execute(&mut *db.write().await?)
        .await?;
    Ok(())
}

/// Every session of a user (inside the transaction that changes the password).
pub async fn revoke_all(tx: &mut Tx, user_id: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Until when the latest of `subjects` (`handle:…`, `address:…`) is blocked (0 when none is).
pub async fn blocked_until(db: &Db, subjects: &[String]) -> DbResult<Micros> {
    let mut until = 0;
    for subject in subjects {
        let blocked: Option<Micros> =
            sqlx::query_scalar("SELECT blocked_until FROM login_failures WHERE subject = $1")
                .bind(subject)
                .fetch_optional(db.reader())
                .await?;
        until = until.max(blocked.unwrap_or(0));
    }
    Ok(until)
}

/// Count a failed sign-in of `subject` (starting again from 1 when the last failure is older
/// than `forget_before`) and block it until `now + delay(failures)`.
pub async fn record_failure(
    db: &Db,
    subject: &str,
    now: Micros,
    forget_before: Micros,
    delay: impl Fn(i64) -> Micros,
) -> DbResult<()> {
    let mut tx = db.begin().await?;
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO login_failures (subject, failures, last_failed_at, blocked_until) \
         VALUES ($1, 1, $2, 0) \
         ON CONFLICT (subject) DO UPDATE SET \
           failures = CASE WHEN login_failures.last_failed_at < $3 THEN 1 \
                           ELSE login_failures.failures + 1 END, \
           last_failed_at = $2 \
         RETURNING failures",
    )
    .bind(subject)
    .bind(now)
    .bind(forget_before)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE login_failures SET blocked_until = $1 WHERE subject = $2")
        .bind(now + delay(failures))
        .bind(subject)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Forget the failures of `subject` (after a successful sign-in).
pub async fn clear_failures(db: &Db, subject: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE subject = $1")
        .bind(subject)
        .execute(&mut *db.write().await?)
        .await?;
    Ok(())
}
