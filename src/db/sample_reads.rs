//! What a `create_sample` job writes (workflows J12, J15): the stored reads files of a sample and
//! its finalization; plus what the runner sample shows besides the sample row (§8.1).

use sqlx::Row;

use super::{Db, DbResult};
use crate::model::time::Micros;

/// A sample's group `(id, name)`, if it exists.
pub async fn group(db: &Db, group_id: &str) -> DbResult<Option<(String, String)>> {
    let row = sqlx::query("SELECT id, name FROM groups WHERE id = $1")
        .bind(group_id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .transpose()
}

/// `(workflow, ready)` of each analysis of a sample.
pub async fn analysis_states(db: &Db, sample_id: &str) -> DbResult<Vec<(String, bool)>> {
    let rows = sqlx::query("SELECT workflow, ready FROM analyses WHERE sample_id = $1")
        .bind(sample_id)
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("workflow")?, super::get_flag(r, "ready")?)))
        .collect()
}

pub enum InsertReads {
    Inserted,
    /// The sample is gone.
    SampleGone,
    /// Finalized meanwhile.
    Finalized,
    /// Another upload of the same file won.
    Duplicate,
}

/// Record a committed reads file, unless the sample is gone or finalized, or the file is stored.
pub async fn insert(
    db: &Db,
    sample_id: &str,
    name: &str,
    size: i64,
    now: Micros,
    job_id: &str,
) -> DbResult<InsertReads> {
    let mut tx = db.begin().await?;
    let ready: Option<i64> = sqlx::query_scalar("SELECT ready FROM samples WHERE id = $1")
        .bind(sample_id)
        .fetch_optional(&mut *tx)
        .await?;
    match ready {
        None => return Ok(InsertReads::SampleGone),
        Some(r) if r != 0 => return Ok(InsertReads::Finalized),
        Some(_) => {}
    }
    let inserted = sqlx::query(
        "INSERT INTO sample_reads (sample_id, name, size, uploaded_at, uploaded_by_job) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sample_id, name) DO NOTHING",
    )
    .bind(sample_id)
    .bind(name)
    .bind(size)
    .bind(now)
    .bind(job_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(InsertReads::Duplicate);
    }
    tx.commit().await?;
    Ok(InsertReads::Inserted)
}

pub enum Finalize {
    /// Done; the `name_on_disk` of the uploads it consumed.
    Finalized(Vec<String>),
    SampleGone,
    AlreadyFinalized,
}

/// Store `quality` as given, set `ready`, and mark the sample's uploads removed — one transaction,
/// conditional on the sample not being ready (exactly one of racing finalizes wins).
pub async fn finalize(
    db: &Db,
    sample_id: &str,
    quality: &str,
    upload_ids: &[i64],
    now: Micros,
) -> DbResult<Finalize> {
    let mut tx = db.begin().await?;
    let updated =
        sqlx::query("UPDATE samples SET quality = $1, ready = 1 WHERE id = $2 AND ready = 0")
            .bind(quality)
            .bind(sample_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if updated == 0 {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM samples WHERE id = $1")
            .bind(sample_id)
            .fetch_optional(&mut *tx)
            .await?;
        return Ok(if exists.is_some() {
            Finalize::AlreadyFinalized
        } else {
            Finalize::SampleGone
        });
    }
    let consumed = super::uploads::consume(&mut tx, upload_ids, now).await?;
    tx.commit().await?;
    Ok(Finalize::Finalized(consumed))
}
