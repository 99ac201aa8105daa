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
         WHERE s.token_digest = $1 AND s.expires_at > $2 AND u.active = 1",
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

/// What one row of the sign-in back-off counts: a handle from one address (`pair:`), an address
/// (`address:`), or a handle from everywhere (`handle:`). `handle` and `address` name the row for
/// [`clear_blocks`].
#[derive(Debug, Clone)]
pub struct Subject {
    pub key: String,
    pub handle: Option<String>,
    pub address: Option<String>,
}

/// A sign-in attempt counted in an open transaction: each subject's row is locked (PostgreSQL:
/// concurrent attempts on a subject wait here; SQLite: one writer), its failure count already
/// includes this attempt, and `blocked_until` is what it was before. [`Attempt::admit`] sets the
/// new blocks and commits; dropping it forgets the attempt (rolled back).
pub struct Attempt {
    tx: Tx,
    subjects: Vec<Subject>,
    /// Per subject: failures counting this attempt, and whether the count started afresh.
    pub failures: Vec<i64>,
    pub blocked_until: Vec<Micros>,
}

/// Count an attempt against every subject (a count whose last failure is older than
/// `forget_before` starts again at 1), holding their rows until the attempt is admitted or
/// dropped. Rows are taken in the order given, so concurrent attempts cannot deadlock.
pub async fn begin_attempt(
    db: &Db,
    subjects: &[Subject],
    now: Micros,
    forget_before: Micros,
) -> DbResult<Attempt> {
    let mut tx = db.begin().await?;
    let mut failures = Vec::with_capacity(subjects.len());
    let mut blocked_until = Vec::with_capacity(subjects.len());
    for subject in subjects {
        let row = sqlx::query(
            "INSERT INTO login_failures (subject, failures, last_failed_at, blocked_until, handle, address) \
             VALUES ($1, 1, $2, 0, $4, $5) \
             ON CONFLICT (subject) DO UPDATE SET \
               failures = CASE WHEN login_failures.last_failed_at < $3 THEN 1 \
                               ELSE login_failures.failures + 1 END, \
               last_failed_at = $2 \
             RETURNING failures, blocked_until",
        )
        .bind(&subject.key)
        .bind(now)
        .bind(forget_before)
        .bind(subject.handle.as_deref())
        .bind(subject.address.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        failures.push(row.try_get::<i64, _>("failures")?);
        blocked_until.push(row.try_get::<i64, _>("blocked_until")?);
    }
    Ok(Attempt {
        tx,
        subjects: subjects.to_vec(),
        failures,
        blocked_until,
    })
}

impl Attempt {
    /// Keep the attempt counted, each subject blocked until `until[i]`.
    pub async fn admit(mut self, until: &[Micros]) -> DbResult<()> {
        for (subject, until) in self.subjects.iter().zip(until) {
            sqlx::query("UPDATE login_failures SET blocked_until = $1 WHERE subject = $2")
                .bind(*until)
                .bind(&subject.key)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// Take back one counted attempt of each subject (it turned out not to be a failure); a count
/// back within `free[i]` is no longer blocked.
pub async fn refund(db: &Db, subjects: &[Subject], free: &[i64]) -> DbResult<()> {
    let mut tx = db.begin().await?;
    for (subject, free) in subjects.iter().zip(free) {
        sqlx::query(
            "UPDATE login_failures SET failures = failures - 1, \
               blocked_until = CASE WHEN failures - 1 <= $2 THEN 0 ELSE blocked_until END \
             WHERE subject = $1 AND failures > 0",
        )
        .bind(&subject.key)
        .bind(*free)
        .execute(&mut *tx)
        .await?;
    }
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

/// Forget every failure counted for a handle (from everywhere and from each address) or for an
/// address (itself and each handle from it); how many rows went.
pub async fn clear_blocks(db: &Db, handle: Option<&str>, address: Option<&str>) -> DbResult<u64> {
    let mut tx = db.begin().await?;
    let mut cleared = 0;
    if let Some(handle) = handle {
        cleared += sqlx::query("DELETE FROM login_failures WHERE handle = $1")
            .bind(handle)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    if let Some(address) = address {
        cleared += sqlx::query("DELETE FROM login_failures WHERE address = $1")
            .bind(address)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(cleared)
}
