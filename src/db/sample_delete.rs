//! Deleting a sample (U26, J13; workflows.md §3 U26): in one transaction the sample, its reads
//! records, its analyses (cascaded as contract §12), a `cancelled` entry for its unfinished
//! `create_sample` job and every unfinished job of its analyses, and its uploads unreserved. Jobs
//! are kept; stored objects are the caller's to remove after the commit.

use super::claims::cancel_in;
use super::{Db, DbResult};
use crate::files::sample_reads_key;
use crate::model::time::Micros;

pub enum SampleDelete {
    Deleted {
        /// Storage keys of reads and discarded partial output.
        keys: Vec<String>,
        /// The deleted analyses, whose stored folders go too.
        analyses: Vec<String>,
    },
    NotFound,
    /// J13 only: the sample is ready.
    Finalized,
}

/// Delete sample `sample_id`. `caller` (J13) is the job that asks: it is not cancelled, and a
/// ready sample is refused.
pub async fn delete(
    db: &Db,
    sample_id: &str,
    caller: Option<&str>,
    now: Micros,
) -> DbResult<SampleDelete> {
    let mut tx = db.begin().await?;
    // The sample's row lock first: a concurrent finalize or reads upload waits for this one.
    let row: Option<(i64, Option<String>, String)> = sqlx::query_as(
        "UPDATE samples SET ready = ready WHERE id = $1 RETURNING ready, job_id, upload_ids",
    )
    .bind(sample_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((ready, job_id, upload_ids)) = row else {
        return Ok(SampleDelete::NotFound);
    };
    if caller.is_some() && ready != 0 {
        return Ok(SampleDelete::Finalized);
    }
    let mut keys = Vec::new();
    if let Some(job_id) = job_id.filter(|id| Some(id.as_str()) != caller) {
        keys.extend(cancel_in(&mut tx, &job_id, now).await?.unwrap_or_default());
    }
    let analyses: Vec<(String, String)> =
        sqlx::query_as("SELECT id, job_id FROM analyses WHERE sample_id = $1 ORDER BY id")
            .bind(sample_id)
            .fetch_all(&mut *tx)
            .await?;
    for (analysis_id, job_id) in &analyses {
        // The job's row before the analysis's, in the order of U32 and J2 (job, then its
        // analysis), so concurrent ones cannot deadlock with this.
        if Some(job_id.as_str()) != caller {
            keys.extend(cancel_in(&mut tx, job_id, now).await?.unwrap_or_default());
        }
        super::analyses::lock_row(&mut tx, analysis_id).await?;
        for sql in [
            "DELETE FROM analysis_files WHERE analysis_id = $1",
            "DELETE FROM analysis_results WHERE analysis_id = $1",
            "DELETE FROM blast_records WHERE analysis_id = $1",
            "DELETE FROM analyses WHERE id = $1",
        ] {
            sqlx::query(sql).bind(analysis_id).execute(&mut *tx).await?;
        }
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sample_reads WHERE sample_id = $1")
            .bind(sample_id)
            .fetch_all(&mut *tx)
            .await?;
    keys.extend(names.iter().map(|name| sample_reads_key(sample_id, name)));
    sqlx::query("DELETE FROM sample_reads WHERE sample_id = $1")
        .bind(sample_id)
        .execute(&mut *tx)
        .await?;
    let upload_ids: Vec<i64> = serde_json::from_str(&upload_ids).unwrap_or_default();
    for id in upload_ids {
        sqlx::query("UPDATE uploads SET reserved = 0 WHERE id = $1 AND removed = 0")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM samples WHERE id = $1")
        .bind(sample_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    keys.sort();
    keys.dedup();
    Ok(SampleDelete::Deleted {
        keys,
        analyses: analyses.into_iter().map(|(id, _)| id).collect(),
    })
}
