//! BLAST records with their scheduling state and lease (spec/blast.md §4).
//!
//! Every write by the worker is conditional on the record still existing with the same `id` (and,
//! for NCBI checks, the same `rid`) and still pending, so a replaced or deleted record is never
//! written back. Every change also bumps the analysis's `updated_at` (contract §11).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{get_flag, Db, DbResult};
use crate::model::time::{rfc3339, Micros};

/// A stored record, with the internal scheduling fields.
#[derive(Debug, Clone)]
pub struct BlastRecord {
    pub id: i64,
    pub analysis_id: String,
    pub sequence_index: i64,
    pub sequence: String,
    pub backend: String,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub last_checked_at: Micros,
    pub interval: i64,
    pub rid: Option<String>,
    pub ready: bool,
    pub error: Option<String>,
    /// The transformed result as JSON text.
    pub result: Option<String>,
    pub deadline_at: Micros,
}

impl BlastRecord {
    /// The public object (contract §8.5), as JSON text.
    pub fn to_json(&self) -> String {
        let result = self.result.as_deref().unwrap_or("null");
        format!(
            "{{\"id\":{},\"analysis_id\":{},\"sequence_index\":{},\"created_at\":\"{}\",\"updated_at\":\"{}\",\
             \"last_checked_at\":\"{}\",\"interval\":{},\"rid\":{},\"ready\":{},\"error\":{},\"result\":{}}}",
            self.id,
            serde_json::Value::from(self.analysis_id.as_str()),
            self.sequence_index,
            rfc3339(self.created_at),
            rfc3339(self.updated_at),
            rfc3339(self.last_checked_at),
            self.interval,
            serde_json::to_string(&self.rid).unwrap_or_else(|_| "null".into()),
            self.ready,
            serde_json::to_string(&self.error).unwrap_or_else(|_| "null".into()),
            result,
        )
    }

    /// When the record should be worked next: `last_checked_at + interval`, never after the deadline.
    pub fn due_at(&self) -> Micros {
        (self.last_checked_at + self.interval * 1_000_000).min(self.deadline_at)
    }
}

const COLUMNS: &str =
    "id, analysis_id, sequence_index, sequence, backend, created_at, updated_at, \
     last_checked_at, interval, rid, ready, error, result, deadline_at";

fn from_row(row: &AnyRow) -> DbResult<BlastRecord> {
    Ok(BlastRecord {
        id: row.try_get("id")?,
        analysis_id: row.try_get("analysis_id")?,
        sequence_index: row.try_get("sequence_index")?,
        sequence: row.try_get("sequence")?,
        backend: row.try_get("backend")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_checked_at: row.try_get("last_checked_at")?,
        interval: row.try_get("interval")?,
        rid: row.try_get("rid")?,
        ready: get_flag(row, "ready")?,
        error: row.try_get("error")?,
        result: row.try_get("result")?,
        deadline_at: row.try_get("deadline_at")?,
    })
}

pub struct NewRecord<'a> {
    pub analysis_id: &'a str,
    pub sequence_index: i64,
    pub sequence: &'a str,
    pub backend: &'a str,
    pub now: Micros,
    pub deadline_at: Micros,
    /// The instance that submits inside the PUT holds the record until then: `(owner, until)`.
    pub lease: (&'a str, Micros),
}

/// Replace the record of `(analysis, sequence_index)` with a new queued one (U4 effect 1–2, 4);
/// `None` when the analysis was deleted meanwhile.
pub async fn replace(db: &Db, new: &NewRecord<'_>) -> DbResult<Option<BlastRecord>> {
    let mut tx = db.begin().await?;
    if !super::analyses::touch(&mut tx, new.analysis_id, new.now).await? {
        return Ok(None);
    }
    sqlx::query("DELETE FROM blast_records WHERE analysis_id = $1 AND sequence_index = $2")
        .bind(new.analysis_id)
        .bind(new.sequence_index)
        .execute(&mut *tx)
        .await?;
    let id: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'blast_records' RETURNING value",
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO blast_records (id, analysis_id, sequence_index, sequence, backend, created_at, updated_at, \
         last_checked_at, interval, rid, ready, error, result, deadline_at, lease_owner, lease_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $6, 3, NULL, 0, NULL, NULL, $7, $8, $9)",
    )
    .bind(id)
    .bind(new.analysis_id)
    .bind(new.sequence_index)
    .bind(new.sequence)
    .bind(new.backend)
    .bind(new.now)
    .bind(new.deadline_at)
    .bind(new.lease.0)
    .bind(new.lease.1)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    get_by_id(db, id).await
}

pub async fn get_by_id(db: &Db, id: i64) -> DbResult<Option<BlastRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM blast_records WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(db: &Db, analysis_id: &str, sequence_index: i64) -> DbResult<Option<BlastRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM blast_records WHERE analysis_id = $1 AND sequence_index = $2"
    );
    let row = sqlx::query(&sql)
        .bind(analysis_id)
        .bind(sequence_index)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list_for_analysis(db: &Db, analysis_id: &str) -> DbResult<Vec<BlastRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM blast_records WHERE analysis_id = $1 ORDER BY sequence_index"
    );
    let rows = sqlx::query(&sql)
        .bind(analysis_id)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Claim up to `limit` pending records that are due at `now` and not leased by a live instance.
/// Each claim is one conditional update, so two instances never hold the same record.
pub async fn claim_due(
    db: &Db,
    owner: &str,
    now: Micros,
    lease_until: Micros,
    limit: i64,
) -> DbResult<Vec<BlastRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM blast_records WHERE ready = 0 AND error IS NULL \
         AND (lease_owner IS NULL OR lease_expires_at < $1) ORDER BY id LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(limit.saturating_mul(4))
        .fetch_all(db.reader())
        .await?;
    let mut claimed = Vec::new();
    for row in &rows {
        let record = from_row(row)?;
        if record.due_at() > now {
            continue;
        }
        let won = sqlx::query(
            "UPDATE blast_records SET lease_owner = $1, lease_expires_at = $2 \
             WHERE id = $3 AND ready = 0 AND error IS NULL AND (lease_owner IS NULL OR lease_expires_at < $4) \
             AND updated_at = $5",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(record.id)
        .bind(now)
        // Unchanged since it was read: another instance may have worked it in between.
        .bind(record.updated_at)
        .execute(&mut *db.write().await?)
        .await?
        .rows_affected();
        if won == 1 {
            claimed.push(record);
            if claimed.len() as i64 >= limit {
                break;
            }
        }
    }
    Ok(claimed)
}

/// Extend a lease while a long piece of work runs; `false` when the record is gone or finished.
pub async fn renew_lease(db: &Db, id: i64, owner: &str, until: Micros) -> DbResult<bool> {
    let n = sqlx::query(
        "UPDATE blast_records SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 \
         AND ready = 0 AND error IS NULL",
    )
    .bind(until)
    .bind(id)
    .bind(owner)
    .execute(&mut *db.write().await?)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The change a worker step makes to a pending record.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A submission got a RID (inside the PUT: schedule unchanged).
    Submitted { rid: String },
    /// A check or retry that did not finish the record: new `last_checked_at`, `interval`, maybe a RID.
    Checked { rid: Option<String>, interval: i64 },
    /// Done with a transformed result.
    Done { result: String },
    /// Failed for good.
    Failed { error: String },
}

/// Apply `change` to record `id` if it still exists, is pending and (when `expected_rid` is given)
/// has that RID, and give its lease back. Returns
/// whether anything was written.
pub async fn apply(
    db: &Db,
    analysis_id: &str,
    id: i64,
    expected_rid: Option<&str>,
    change: &Change,
    now: Micros,
) -> DbResult<bool> {
    // Every statement ends with the same guard: the record is still pending and, for a check,
    // still has the RID the check was made for (`$n IS NULL` when there is none to compare).
    let query = match change {
        Change::Submitted { rid } => sqlx::query(
            "UPDATE blast_records SET rid = $1, updated_at = $2, lease_owner = NULL, \
             lease_expires_at = NULL \
             WHERE id = $3 AND ready = 0 AND error IS NULL AND ($4 IS NULL OR rid = $4)",
        )
        .bind(rid)
        .bind(now),
        Change::Checked { rid, interval } => sqlx::query(
            "UPDATE blast_records SET rid = COALESCE($1, rid), last_checked_at = $2, \
             updated_at = $2, interval = $3, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $4 AND ready = 0 AND error IS NULL AND ($5 IS NULL OR rid = $5)",
        )
        .bind(rid)
        .bind(now)
        .bind(interval),
        Change::Done { result } => sqlx::query(
            "UPDATE blast_records SET ready = 1, result = $1, last_checked_at = $2, \
             updated_at = $2, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $3 AND ready = 0 AND error IS NULL AND ($4 IS NULL OR rid = $4)",
        )
        .bind(result)
        .bind(now),
        Change::Failed { error } => sqlx::query(
            "UPDATE blast_records SET error = $1, last_checked_at = $2, updated_at = $2, \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $3 AND ready = 0 AND error IS NULL AND ($4 IS NULL OR rid = $4)",
        )
        .bind(error)
        .bind(now),
    };
    let query = query.bind(id).bind(expected_rid);
    let mut tx = db.begin().await?;
    // The analysis first (the lock order of every analysis change), then the record.
    if !super::analyses::touch(&mut tx, analysis_id, now).await? {
        return Ok(false);
    }
    if query.execute(&mut *tx).await?.rows_affected() != 1 {
        // Replaced, deleted or already finished: nothing is written, not even the analysis.
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Give one record's lease back.
pub async fn release_lease(db: &Db, id: i64, owner: &str) -> DbResult<()> {
    sqlx::query(
        "UPDATE blast_records SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .execute(&mut *db.write().await?)
    .await?;
    Ok(())
}

/// Release every lease held by `owner` (a clean shutdown hands its records to the others at once).
pub async fn release_leases(db: &Db, owner: &str) -> DbResult<()> {
    sqlx::query("UPDATE blast_records SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1")
        .bind(owner)
        .execute(&mut *db.write().await?)
        .await?;
    Ok(())
}

/// Records by state, and when the most overdue pending record was due (metrics: the worker's lag).
#[derive(Debug, Clone, Copy, Default)]
pub struct StateCounts {
    pub pending: i64,
    pub ready: i64,
    pub failed: i64,
    pub oldest_due: Option<Micros>,
}

pub async fn state_counts(db: &Db) -> DbResult<StateCounts> {
    let row = sqlx::query(
        "SELECT \
           COALESCE(SUM(CASE WHEN ready = 0 AND error IS NULL THEN 1 ELSE 0 END), 0) AS pending, \
           COALESCE(SUM(CASE WHEN ready = 1 THEN 1 ELSE 0 END), 0) AS ready, \
           COALESCE(SUM(CASE WHEN ready = 0 AND error IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed, \
           MIN(CASE WHEN ready = 0 AND error IS NULL THEN \
                 CASE WHEN last_checked_at + interval * 1000000 < deadline_at \
                      THEN last_checked_at + interval * 1000000 ELSE deadline_at END END) AS oldest_due \
         FROM blast_records",
    )
    .fetch_one(db.reader())
    .await?;
    Ok(StateCounts {
        pending: row.try_get("pending")?,
        ready: row.try_get("ready")?,
        failed: row.try_get("failed")?,
        oldest_due: row.try_get("oldest_due")?,
    })
}
