//! The job lifecycle vira drives itself (workflows.md §1.2, §6.3, §7.2–§7.5): claim (J8), release
//! (J10), cancel (U32) and the stall sweep. Every change is conditional on the state it starts
//! from, so concurrent instances act once; partial output goes in the same transaction.

use super::jobs::{append, NewStatus, FINISHED_STATES};
use super::{Db, DbResult, Dialect, Tx};
use crate::model::time::Micros;
use crate::model::workflow::Workflow;

/// Whether waiting job `j` is claimable (§1.4), per dialect: its target exists, and for analyses
/// the sample is ready, the index has files, every subtraction with a genome is ready (and, for
/// `nuvs`, HMM profiles are imported).
const CLAIMABLE_SQLITE: &str = "CASE j.workflow \
    WHEN 'create_sample' THEN EXISTS (SELECT 1 FROM samples s WHERE s.id = json_extract(j.args, '$.sample_id')) \
    WHEN 'create_subtraction' THEN EXISTS (SELECT 1 FROM subtractions t WHERE t.id = json_extract(j.args, '$.subtraction_id')) \
    WHEN 'build_index' THEN EXISTS (SELECT 1 FROM indexes i WHERE i.id = json_extract(j.args, '$.index_id')) \
    ELSE (j.workflow <> 'nuvs' OR EXISTS (SELECT 1 FROM hmm_profiles)) AND EXISTS ( \
        SELECT 1 FROM analyses a JOIN samples s ON s.id = a.sample_id JOIN indexes i ON i.id = a.index_id \
        WHERE a.id = json_extract(j.args, '$.analysis_id') AND s.ready = 1 AND i.has_files = 1 \
        AND NOT EXISTS (SELECT 1 FROM subtractions t WHERE t.upload_id IS NOT NULL AND t.ready = 0 \
            AND t.id IN (SELECT value FROM json_each(a.subtractions)))) END";

const CLAIMABLE_POSTGRES: &str = "CASE j.workflow \
    WHEN 'create_sample' THEN EXISTS (SELECT 1 FROM samples s WHERE s.id = (j.args::json ->> 'sample_id')) \
    WHEN 'create_subtraction' THEN EXISTS (SELECT 1 FROM subtractions t WHERE t.id = (j.args::json ->> 'subtraction_id')) \
    WHEN 'build_index' THEN EXISTS (SELECT 1 FROM indexes i WHERE i.id = (j.args::json ->> 'index_id')) \
    ELSE (j.workflow <> 'nuvs' OR EXISTS (SELECT 1 FROM hmm_profiles)) AND EXISTS ( \
        SELECT 1 FROM analyses a JOIN samples s ON s.id = a.sample_id JOIN indexes i ON i.id = a.index_id \
        WHERE a.id = (j.args::json ->> 'analysis_id') AND s.ready = 1 AND i.has_files = 1 \
        AND NOT EXISTS (SELECT 1 FROM subtractions t WHERE t.upload_id IS NOT NULL AND t.ready = 0 \
            AND t.id IN (SELECT json_array_elements_text(a.subtractions::json)))) END";

/// The runner that claims.
pub struct Claimant<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// Hand the oldest claimable waiting job of `workflows` to the runner (J8): acquired with the new
/// key's digest, the `preparing` entry, the runner on the job and its `last_claim_at`, the activity
/// time, watched. `None` when no job is claimable. Exactly one of racing claimants (or a racing
/// J1) gets a job: on PostgreSQL the row is picked `FOR UPDATE SKIP LOCKED` (a job another
/// instance is claiming is skipped, never waited for), on SQLite the one write connection orders
/// the claims.
pub async fn claim(
    db: &Db,
    workflows: &[Workflow],
    runner: &Claimant<'_>,
    key_digest: &str,
    now: Micros,
) -> DbResult<Option<String>> {
    let placeholders: Vec<String> = (0..workflows.len())
        .map(|i| format!("${}", i + 1))
        .collect();
    let list = placeholders.join(", ");
    let sql = match db.dialect() {
        Dialect::Sqlite => format!(
            "SELECT j.id FROM jobs j WHERE j.state = 'waiting' AND j.acquired = 0 \
             AND j.workflow IN ({list}) AND ({CLAIMABLE_SQLITE}) ORDER BY j.created_at, j.id LIMIT 1"
        ),
        Dialect::Postgres => format!(
            "SELECT j.id FROM jobs j WHERE j.state = 'waiting' AND j.acquired = 0 \
             AND j.workflow IN ({list}) AND ({CLAIMABLE_POSTGRES}) ORDER BY j.created_at, j.id \
             LIMIT 1 FOR UPDATE OF j SKIP LOCKED"
        ),
    };
    let mut tx = db.begin().await?;
    let mut query = sqlx::query_scalar::<_, String>(&sql);
    for workflow in workflows {
        query = query.bind(workflow.as_str());
    }
    let Some(job_id) = query.fetch_optional(&mut *tx).await? else {
        return Ok(None);
    };
    let updated = sqlx::query(
        "UPDATE jobs SET acquired = 1, key_digest = $1, runner_id = $2, runner_name = $3, \
         activity_at = $4, watched = 1 WHERE id = $5 AND state = 'waiting' AND acquired = 0",
    )
    .bind(key_digest)
    .bind(runner.id)
    .bind(runner.name)
    .bind(now)
    .bind(&job_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Ok(None);
    }
    append(
        &mut tx,
        &job_id,
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
    // A runner's claims must not queue behind each other's commits on its row: on PostgreSQL a
    // row another claim of the same runner holds is skipped (that claim sets it to its own now).
    let last_claim = match db.dialect() {
        Dialect::Sqlite => "UPDATE runners SET last_claim_at = $1 WHERE id = $2",
        Dialect::Postgres => {
            "UPDATE runners SET last_claim_at = GREATEST(COALESCE(last_claim_at, 0), $1) \
             WHERE id IN (SELECT id FROM runners WHERE id = $2 FOR UPDATE SKIP LOCKED)"
        }
    };
    sqlx::query(last_claim)
        .bind(now)
        .bind(runner.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(job_id))
}

/// The last status entry of a job, for the entries that repeat it (§6.3, §7.5).
struct Last {
    stage: Option<String>,
    step_name: Option<String>,
    step_description: Option<String>,
    progress: i64,
}

async fn last_entry(tx: &mut Tx, job_id: &str) -> DbResult<Last> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT stage, step_name, step_description, progress FROM job_status \
         WHERE job_id = $1 ORDER BY position DESC LIMIT 1",
    )
    .bind(job_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(Last {
            stage: None,
            step_name: None,
            step_description: None,
            progress: 0,
        });
    };
    Ok(Last {
        stage: row.try_get("stage")?,
        step_name: row.try_get("step_name")?,
        step_description: row.try_get("step_description")?,
        progress: row.try_get("progress")?,
    })
}

/// Give the job back to the queue (J10 release, stall requeue): the `waiting` entry with `stage`,
/// not acquired, the key revoked, no runner, not watched, partial output discarded (analysis
/// files included). `requeue` counts a retry. Runs only when the job's row still matches
/// `condition` (SQL on the `jobs` row, after `id = $1`); `None` when it did not.
async fn give_back(
    tx: &mut Tx,
    job_id: &str,
    stage: &str,
    requeue: bool,
    condition: &str,
    cutoff: Option<Micros>,
    now: Micros,
) -> DbResult<Option<Vec<String>>> {
    let retries = if requeue { "retries + 1" } else { "retries" };
    let sql = format!(
        "UPDATE jobs SET acquired = 0, key_digest = NULL, runner_id = NULL, runner_name = NULL, \
         watched = 0, retries = {retries} WHERE id = $1 AND {condition}"
    );
    let mut query = sqlx::query(&sql).bind(job_id);
    if let Some(cutoff) = cutoff {
        query = query.bind(cutoff);
    }
    if query.execute(&mut **tx).await?.rows_affected() != 1 {
        return Ok(None);
    }
    append(
        tx,
        job_id,
        &NewStatus {
            state: "waiting",
            stage: Some(stage),
            step_name: None,
            step_description: None,
            error: None,
            progress: 0,
            timestamp: now,
        },
    )
    .await?;
    Ok(Some(
        super::job_end::discard_partial_output(tx, job_id, true).await?,
    ))
}

fn unfinished() -> String {
    let list: Vec<String> = FINISHED_STATES.iter().map(|s| format!("'{s}'")).collect();
    format!("state NOT IN ({})", list.join(", "))
}

pub enum Release {
    /// Released; the stored objects to remove after the commit.
    Released(Vec<String>),
    NotFound,
    Finished,
}

/// J10: release an unfinished job.
pub async fn release(db: &Db, job_id: &str, now: Micros) -> DbResult<Release> {
    let mut tx = db.begin().await?;
    match give_back(&mut tx, job_id, "released", false, &unfinished(), None, now).await? {
        Some(keys) => {
            tx.commit().await?;
            Ok(Release::Released(keys))
        }
        None => Ok(if super::jobs::exists(db, job_id).await? {
            Release::Finished
        } else {
            Release::NotFound
        }),
    }
}

/// Append the `cancelled` entry of §6.3 to an unfinished job and discard its partial output,
/// inside `tx`; `None` when the job is finished or gone.
pub async fn cancel_in(tx: &mut Tx, job_id: &str, now: Micros) -> DbResult<Option<Vec<String>>> {
    let sql = format!(
        "UPDATE jobs SET state = state WHERE id = $1 AND {}",
        unfinished()
    );
    if sqlx::query(&sql)
        .bind(job_id)
        .execute(&mut **tx)
        .await?
        .rows_affected()
        != 1
    {
        return Ok(None);
    }
    let last = last_entry(tx, job_id).await?;
    append(
        tx,
        job_id,
        &NewStatus {
            state: "cancelled",
            stage: last.stage.as_deref(),
            step_name: last.step_name.as_deref(),
            step_description: last.step_description.as_deref(),
            error: None,
            progress: last.progress,
            timestamp: now,
        },
    )
    .await?;
    Ok(Some(
        super::job_end::discard_partial_output(tx, job_id, false).await?,
    ))
}

/// U32: cancel an unfinished job; `None` when it is finished.
pub async fn cancel(db: &Db, job_id: &str, now: Micros) -> DbResult<Option<Vec<String>>> {
    let mut tx = db.begin().await?;
    let keys = cancel_in(&mut tx, job_id, now).await?;
    if keys.is_some() {
        tx.commit().await?;
    }
    Ok(keys)
}

/// The stall sweep's settings (workflows.md §7.5).
pub struct Stall {
    pub seconds: u64,
    pub retries: i64,
}

/// What the sweep did to one stalled job.
pub enum Swept {
    Requeued(Vec<String>),
    TimedOut(Vec<String>),
}

/// The watched jobs in `preparing` or `running` without activity since `cutoff`.
pub async fn stalled(db: &Db, cutoff: Micros) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM jobs WHERE watched = 1 AND state IN ('preparing', 'running') \
         AND activity_at < $1 ORDER BY activity_at LIMIT 1000",
    )
    .bind(cutoff)
    .fetch_all(db.reader())
    .await?)
}

/// Requeue or time out one stalled job, unless another instance (or a ping) got there first.
pub async fn sweep_one(
    db: &Db,
    job_id: &str,
    stall: &Stall,
    cutoff: Micros,
    now: Micros,
) -> DbResult<Option<Swept>> {
    const STALLED: &str = "watched = 1 AND state IN ('preparing', 'running') AND activity_at < $2";
    let mut tx = db.begin().await?;
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT retries, workflow, args FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((retries, workflow, args)) = row else {
        return Ok(None);
    };
    if retries < stall.retries && target_exists(&mut tx, &workflow, &args).await? {
        let condition = format!("{STALLED} AND retries = {retries}");
        let keys = give_back(
            &mut tx,
            job_id,
            "requeued",
            true,
            &condition,
            Some(cutoff),
            now,
        )
        .await?;
        return match keys {
            Some(keys) => {
                tx.commit().await?;
                Ok(Some(Swept::Requeued(keys)))
            }
            None => Ok(None),
        };
    }
    let sql = format!("UPDATE jobs SET watched = watched WHERE id = $1 AND {STALLED}");
    let taken = sqlx::query(&sql)
        .bind(job_id)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if taken != 1 {
        return Ok(None);
    }
    let last = last_entry(&mut tx, job_id).await?;
    let error = serde_json::json!({
        "type": "JobStalled",
        "traceback": [],
        "details": [format!("No ping from the runner for {} seconds", stall.seconds)],
    });
    append(
        &mut tx,
        job_id,
        &NewStatus {
            state: "timeout",
            stage: last.stage.as_deref(),
            step_name: last.step_name.as_deref(),
            step_description: last.step_description.as_deref(),
            error: Some(&error),
            progress: last.progress,
            timestamp: now,
        },
    )
    .await?;
    let keys = super::job_end::discard_partial_output(&mut tx, job_id, false).await?;
    tx.commit().await?;
    Ok(Some(Swept::TimedOut(keys)))
}

/// Whether the target of a job still exists (a requeue needs one).
async fn target_exists(tx: &mut Tx, workflow: &str, args: &str) -> DbResult<bool> {
    let args: serde_json::Value = serde_json::from_str(args).unwrap_or_default();
    let (table, key) = match Workflow::parse(workflow) {
        Some(Workflow::CreateSample) => ("samples", "sample_id"),
        Some(Workflow::CreateSubtraction) => ("subtractions", "subtraction_id"),
        Some(Workflow::BuildIndex) => ("indexes", "index_id"),
        Some(Workflow::PathoscopeBowtie | Workflow::Nuvs) => ("analyses", "analysis_id"),
        None => return Ok(false),
    };
    let id = args
        .get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let sql = format!("SELECT 1 FROM {table} WHERE id = $1");
    let found: Option<i64> = sqlx::query_scalar(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}
