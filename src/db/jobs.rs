//! Jobs and their status history (contract §8.2).

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{get_flag, Db, DbError, DbResult, Tx};
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{IdName, Job, StatusEntry, UserRef};
use crate::model::workflow::Workflow;

/// A status entry to append.
pub struct NewStatus<'a> {
    pub state: &'a str,
    pub stage: Option<&'a str>,
    pub step_name: Option<&'a str>,
    pub step_description: Option<&'a str>,
    pub error: Option<&'a serde_json::Value>,
    pub progress: i64,
    pub timestamp: Micros,
}

impl NewStatus<'_> {
    /// The entry as it is read back.
    pub fn entry(&self) -> StatusEntry {
        StatusEntry {
            state: self.state.to_owned(),
            stage: self.stage.map(str::to_owned),
            step_name: self.step_name.map(str::to_owned),
            step_description: self.step_description.map(str::to_owned),
            error: self.error.cloned(),
            progress: self.progress,
            timestamp: rfc3339(self.timestamp),
        }
    }
}

/// States after which a job takes no more status entries.
pub const FINISHED_STATES: &[&str] = &["complete", "cancelled", "error", "terminated", "timeout"];

/// Create a waiting job (inside the analysis-creation transaction).
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    workflow: Workflow,
    args: &serde_json::Value,
    user_id: &str,
    now: Micros,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO jobs (id, workflow, args, acquired, key_digest, user_id, pinged_at, state, stage, progress, created_at) \
         VALUES ($1, $2, $3, 0, NULL, $4, NULL, 'waiting', NULL, 0, $5)",
    )
    .bind(id)
    .bind(workflow.as_str())
    .bind(args.to_string())
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    append(
        tx,
        id,
        &NewStatus {
            state: "waiting",
            stage: None,
            step_name: None,
            step_description: None,
            error: None,
            progress: 0,
            timestamp: now,
        },
    )
    .await
}

/// Append a status entry, make it the job's current state, and bump the linked analysis.
pub(super) async fn append(tx: &mut Tx, job_id: &str, status: &NewStatus<'_>) -> DbResult<()> {
    let position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM job_status WHERE job_id = $1",
    )
    .bind(job_id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO job_status (job_id, position, state, stage, step_name, step_description, error, progress, timestamp) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(job_id)
    .bind(position)
    .bind(status.state)
    .bind(status.stage)
    .bind(status.step_name)
    .bind(status.step_description)
    .bind(status.error.map(|e| e.to_string()))
    .bind(status.progress)
    .bind(status.timestamp)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE jobs SET state = $1, stage = $2, progress = $3 WHERE id = $4")
        .bind(status.state)
        .bind(status.stage)
        .bind(status.progress)
        .bind(job_id)
        .execute(&mut **tx)
        .await?;
    super::analyses::touch_for_job(tx, job_id, status.timestamp).await
}

/// The key digest of an acquired job.
pub async fn key_digest(db: &Db, job_id: &str) -> DbResult<Option<String>> {
    let digest: Option<Option<String>> =
        sqlx::query_scalar("SELECT key_digest FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(db.reader())
            .await?;
    Ok(digest.flatten())
}

pub enum Acquire {
    Acquired,
    NotFound,
    AlreadyAcquired,
    /// Cancelled while it was waiting (workflows.md §15 item 12).
    Finished,
}

/// Mark the job acquired with the new key's digest; exactly one of racing callers wins.
pub async fn acquire(db: &Db, job_id: &str, key_digest: &str, now: Micros) -> DbResult<Acquire> {
    let mut tx = db.begin().await?;
    // The same conditional update as J8's claim: of J1 and J8 racing, exactly one wins.
    let updated = sqlx::query(
        "UPDATE jobs SET acquired = 1, key_digest = $1, activity_at = $2, runner_id = NULL, \
         runner_name = NULL WHERE id = $3 AND acquired = 0 AND state = 'waiting'",
    )
    .bind(key_digest)
    .bind(now)
    .bind(job_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT acquired, state FROM jobs WHERE id = $1")
                .bind(job_id)
                .fetch_optional(&mut *tx)
                .await?;
        return Ok(match row {
            None => Acquire::NotFound,
            Some((0, _)) => Acquire::Finished,
            Some(_) => Acquire::AlreadyAcquired,
        });
    }
    append(
        &mut tx,
        job_id,
        &NewStatus {
            state: "preparing",
            stage: None,
            step_name: None,
            step_description: None,
            error: None,
            progress: 3,
            timestamp: now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Acquire::Acquired)
}

pub enum PushStatus {
    /// Appended; the stored objects of the job's discarded partial output (workflows.md §1.3),
    /// to remove after the commit.
    Pushed(Vec<String>),
    Finished,
}

/// Append a runner's status entry unless the job is finished; an unsuccessful end discards the
/// job's partial output in the same transaction.
pub async fn push_status(db: &Db, job_id: &str, status: &NewStatus<'_>) -> DbResult<PushStatus> {
    let mut tx = db.begin().await?;
    // Conditional on the state read, so a concurrent end (cancel, sweep) is not overwritten.
    let state: Option<String> =
        sqlx::query_scalar("UPDATE jobs SET state = state WHERE id = $1 RETURNING state")
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
    if state.is_some_and(|s| FINISHED_STATES.contains(&s.as_str())) {
        return Ok(PushStatus::Finished);
    }
    append(&mut tx, job_id, status).await?;
    let keys = if super::job_end::UNSUCCESSFUL_STATES.contains(&status.state) {
        super::job_end::discard_partial_output(&mut tx, job_id, false).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(PushStatus::Pushed(keys))
}

/// What a ping answers besides its time.
pub enum Ping {
    NotFound,
    /// Whether the job's last state is `cancelled` (J7).
    Pinged {
        cancelled: bool,
    },
}

/// Record a heartbeat: the ping time and the activity time; a pinged job is watched by the stall
/// sweep (workflows.md §7.5).
pub async fn ping(db: &Db, job_id: &str, now: Micros) -> DbResult<Ping> {
    let state: Option<String> = sqlx::query_scalar(
        "UPDATE jobs SET pinged_at = $1, activity_at = $1, watched = 1 WHERE id = $2 RETURNING state",
    )
    .bind(now)
    .bind(job_id)
    .fetch_optional(&mut *db.write().await?)
    .await?;
    Ok(match state {
        None => Ping::NotFound,
        Some(state) => Ping::Pinged {
            cancelled: state == "cancelled",
        },
    })
}

pub async fn exists(db: &Db, job_id: &str) -> DbResult<bool> {
    let row: Option<i64> = sqlx::query_scalar("SELECT 1 FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.is_some())
}

/// The full job (J1 body without the key).
pub async fn get(db: &Db, job_id: &str) -> DbResult<Option<Job>> {
    let row = sqlx::query(&format!("{JOB_SELECT} WHERE j.id = $1"))
        .bind(job_id)
        .fetch_optional(db.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let status = entries(db, job_id).await?;
    job_from_row(&row, status).map(Some)
}

/// The jobs of `ids` (a JSON array), in no particular order, by their key's digest.
pub(super) async fn get_many(
    db: &Db,
    ids: &str,
) -> DbResult<std::collections::HashMap<String, Job>> {
    let (rows, entries) = match db.dialect() {
        super::Dialect::Sqlite => (
            format!("{JOB_SELECT_DIGEST} WHERE j.id IN (SELECT value FROM json_each($1))"),
            "SELECT job_id, state, stage, step_name, step_description, error, progress, \
             timestamp FROM job_status WHERE job_id IN (SELECT value FROM json_each($1)) \
             ORDER BY job_id, position",
        ),
        super::Dialect::Postgres => (
            format!(
                "{JOB_SELECT_DIGEST} WHERE j.id IN (SELECT json_array_elements_text($1::json))"
            ),
            "SELECT job_id, state, stage, step_name, step_description, error, progress, \
             timestamp FROM job_status WHERE job_id IN (SELECT json_array_elements_text($1::json)) \
             ORDER BY job_id, position",
        ),
    };
    let rows = sqlx::query(&rows).bind(ids).fetch_all(db.reader()).await?;
    let entries = sqlx::query(entries)
        .bind(ids)
        .fetch_all(db.reader())
        .await?;
    let mut status: std::collections::HashMap<String, Vec<StatusEntry>> =
        std::collections::HashMap::new();
    for e in &entries {
        status
            .entry(e.try_get("job_id")?)
            .or_default()
            .push(status_entry(e)?);
    }
    let mut jobs = std::collections::HashMap::new();
    for row in &rows {
        let id: String = row.try_get("id")?;
        let digest: Option<String> = row.try_get("key_digest")?;
        let job = job_from_row(row, status.remove(&id).unwrap_or_default())?;
        jobs.insert(digest.unwrap_or_default(), job);
    }
    Ok(jobs)
}

const JOB_SELECT_DIGEST: &str = "SELECT j.id, j.workflow, j.args, j.acquired, j.user_id, \
     u.handle, j.pinged_at, j.state, j.stage, j.progress, j.created_at, j.retries, j.runner_id, \
     j.runner_name, j.key_digest FROM jobs j LEFT JOIN users u ON u.id = j.user_id";

/// A status entry of a row with its columns.
fn status_entry(e: &AnyRow) -> Result<StatusEntry, sqlx::Error> {
    let error: Option<String> = e.try_get("error")?;
    Ok(StatusEntry {
        state: e.try_get("state")?,
        stage: e.try_get("stage")?,
        step_name: e.try_get("step_name")?,
        step_description: e.try_get("step_description")?,
        error: error.and_then(|text| serde_json::from_str(&text).ok()),
        progress: e.try_get("progress")?,
        timestamp: rfc3339(e.try_get("timestamp")?),
    })
}

/// The columns [`job_from_row`] reads, with the creator's handle.
const JOB_SELECT: &str = "SELECT j.id, j.workflow, j.args, j.acquired, j.user_id, u.handle, \
     j.pinged_at, j.state, j.stage, j.progress, j.created_at, j.retries, j.runner_id, \
     j.runner_name FROM jobs j LEFT JOIN users u ON u.id = j.user_id";

/// A job's status entries, oldest first.
pub(super) async fn entries(db: &Db, job_id: &str) -> DbResult<Vec<StatusEntry>> {
    let entries = sqlx::query(
        "SELECT state, stage, step_name, step_description, error, progress, timestamp \
         FROM job_status WHERE job_id = $1 ORDER BY position",
    )
    .bind(job_id)
    .fetch_all(db.reader())
    .await?;
    entries
        .iter()
        .map(status_entry)
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(DbError::from)
}

/// The job of a row with the columns of [`JOB_SELECT`] (`handle` may be missing: no user).
pub(super) fn job_from_row(row: &AnyRow, status: Vec<StatusEntry>) -> DbResult<Job> {
    let args: String = row.try_get("args")?;
    let pinged_at: Option<i64> = row.try_get("pinged_at")?;
    Ok(Job {
        id: row.try_get("id")?,
        acquired: get_flag(row, "acquired")?,
        archived: false,
        args: serde_json::from_str(&args).map_err(|e| DbError::Other(e.into()))?,
        created_at: rfc3339(row.try_get("created_at")?),
        key: None,
        ping: pinged_at.map(|t| serde_json::json!({ "pinged_at": rfc3339(t) })),
        progress: row.try_get("progress")?,
        retries: row.try_get("retries")?,
        runner: match (
            row.try_get::<Option<String>, _>("runner_id")?,
            row.try_get::<Option<String>, _>("runner_name")?,
        ) {
            (Some(id), Some(name)) => Some(IdName { id, name }),
            _ => None,
        },
        stage: row.try_get("stage")?,
        state: row.try_get("state")?,
        status,
        user: UserRef {
            id: row.try_get("user_id")?,
            handle: row
                .try_get::<Option<String>, _>("handle")?
                .unwrap_or_default(),
        },
        workflow: super::get_workflow(row, "workflow")?,
    })
}

/// A job's workflow name and `args`, for its credential's scope (workflows.md §7.4).
pub async fn workflow_and_args(db: &Db, job_id: &str) -> DbResult<Option<(String, Value)>> {
    let row = sqlx::query("SELECT workflow, args FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(db.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let args: String = row.try_get("args")?;
    let args = serde_json::from_str(&args).map_err(|e| DbError::Other(e.into()))?;
    Ok(Some((row.try_get("workflow")?, args)))
}
