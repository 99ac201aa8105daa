//! The job lifecycle vira drives itself (workflows.md §1.2, §6.3, §7.2–§7.5): claim (J8), release
//! (J10), cancel (U32) and the stall sweep. Every change is conditional on the state it starts
//! from, so concurrent instances act once; partial output goes in the same transaction.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sqlx::Row;

use super::changes::{Quiet, QuietMode, QUIET_SETTING};
use super::jobs::{append, NewStatus, FINISHED_STATES};
use super::{Db, DbError, DbResult, Dialect, Tx};
use crate::model::time::{now_micros, rfc3339, Micros};
use crate::model::views::{Job, StatusEntry};
use crate::model::workflow::Workflow;

/// Whether waiting job `j`, of one of `workflows`, is claimable (§1.4): its target exists, and
/// for analyses the sample is ready, the index has files, every subtraction with a genome is
/// ready (and, for `nuvs`, HMM profiles are imported). Only the branches of `workflows`: the
/// executor sets up every branch of the statement on every claim.
fn claimable(dialect: Dialect, workflows: &[Workflow]) -> String {
    let arg = |key: &str| match dialect {
        Dialect::Sqlite => format!("json_extract(j.args, '$.{key}')"),
        Dialect::Postgres => format!("(j.args::json ->> '{key}')"),
    };
    let subtractions = match dialect {
        Dialect::Sqlite => "SELECT value FROM json_each(a.subtractions)",
        Dialect::Postgres => "SELECT json_array_elements_text(a.subtractions::json)",
    };
    let analysis_ready = format!(
        "EXISTS (SELECT 1 FROM analyses a JOIN samples s ON s.id = a.sample_id \
         JOIN indexes i ON i.id = a.index_id \
         WHERE a.id = {} AND s.ready = 1 AND i.has_files = 1 \
         AND NOT EXISTS (SELECT 1 FROM subtractions t WHERE t.upload_id IS NOT NULL \
         AND t.ready = 0 AND t.id IN ({subtractions})))",
        arg("analysis_id")
    );
    let branches: Vec<String> = workflows
        .iter()
        .map(|workflow| {
            let condition = match workflow {
                Workflow::CreateSample => format!(
                    "EXISTS (SELECT 1 FROM samples s WHERE s.id = {})",
                    arg("sample_id")
                ),
                Workflow::CreateSubtraction => format!(
                    "EXISTS (SELECT 1 FROM subtractions t WHERE t.id = {})",
                    arg("subtraction_id")
                ),
                Workflow::BuildIndex => format!(
                    "EXISTS (SELECT 1 FROM indexes i WHERE i.id = {})",
                    arg("index_id")
                ),
                Workflow::PathoscopeBowtie => analysis_ready.clone(),
                Workflow::Nuvs => {
                    format!("EXISTS (SELECT 1 FROM hmm_profiles) AND {analysis_ready}")
                }
            };
            format!("WHEN '{}' THEN {condition}", workflow.as_str())
        })
        .collect();
    format!("CASE j.workflow {} ELSE false END", branches.join(" "))
}

/// The runner that claims, as its credential presents it: checked by the claim itself.
pub struct Claimant<'a> {
    pub id: &'a str,
    /// The digest of the presented key.
    pub key_digest: &'a str,
}

/// What a claim came to.
#[derive(Debug)]
pub enum Claim {
    /// No unrevoked runner has that id and key.
    Refused,
    /// No job is claimable.
    Nothing,
    /// The full job (without its key).
    Claimed(Box<Job>),
}

/// The `preparing` entry of a claim (J8, as J1).
fn preparing(now: Micros) -> NewStatus<'static> {
    NewStatus {
        state: "preparing",
        stage: None,
        step_name: None,
        step_description: None,
        error: None,
        progress: 3,
        timestamp: now,
    }
}

/// At most this many claims go in one statement.
const BATCH: usize = 16;

/// Hand the oldest claimable waiting job of `workflows` to the runner (J8), if its credential
/// holds: acquired with the new key's digest `key_digest`, the `preparing` entry, the runner on
/// the job and its `last_claim_at`, the activity time, watched. Exactly one of racing claimants
/// (or a racing J1) gets a job: on PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED` (a job
/// another instance is claiming is skipped, never waited for), on SQLite the one write connection
/// orders the claims. A revoked runner is refused at once, on every instance: its row is read by
/// the claim.
///
/// Claims of one credential for the same workflows that arrive while one of theirs is being
/// written wait for it, then go together (up to [`BATCH`]): one statement and one commit for
/// them all, the oldest job to the claim that came first. A fleet of workers sharing a
/// credential claims as fast as the database commits, not one statement per claim.
pub async fn claim(
    db: &Db,
    workflows: &[Workflow],
    runner: &Claimant<'_>,
    key_digest: &str,
) -> DbResult<Claim> {
    let mut workflows = workflows.to_vec();
    workflows.sort_by_key(|w| w.as_str());
    let key = BatchKey {
        runner_id: runner.id.to_owned(),
        runner_digest: runner.key_digest.to_owned(),
        workflows,
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let waiter = Waiter {
        key_digest: key_digest.to_owned(),
        reply,
    };
    let lead = {
        let mut queues = db.claims.queues();
        match queues.get_mut(&key) {
            Some(queue) => {
                queue.push_back(waiter);
                false
            }
            None => {
                queues.insert(key.clone(), VecDeque::from([waiter]));
                true
            }
        }
    };
    if lead {
        // Its own task: the claims keep going when a client goes away meanwhile.
        tokio::spawn(drain(db.clone(), key));
    }
    answer.await.unwrap_or_else(|_| {
        Err(DbError::Other(anyhow::anyhow!(
            "the claims of this credential stopped"
        )))
    })
}

/// The claims waiting for a statement, per credential and workflows.
#[derive(Debug, Default)]
pub(super) struct Coalescer {
    queues: Mutex<HashMap<BatchKey, VecDeque<Waiter>>>,
}

impl Coalescer {
    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<BatchKey, VecDeque<Waiter>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BatchKey {
    runner_id: String,
    runner_digest: String,
    /// Sorted.
    workflows: Vec<Workflow>,
}

/// One claim waiting: the digest of its job's new key, and where its outcome goes.
#[derive(Debug)]
struct Waiter {
    key_digest: String,
    reply: tokio::sync::oneshot::Sender<DbResult<Claim>>,
}

/// What one statement came to.
enum Batch {
    Refused,
    /// The jobs claimed, by the digest of their new key.
    Claimed(HashMap<String, Job>),
}

/// Write the claims waiting under `key`, a batch at a time, until none is left.
async fn drain(db: Db, key: BatchKey) {
    // Should this task end early (a panic), its waiters are answered with an error.
    struct Forget<'a> {
        db: &'a Db,
        key: &'a BatchKey,
    }
    impl Drop for Forget<'_> {
        fn drop(&mut self) {
            self.db.claims.queues().remove(self.key);
        }
    }
    let _forget = Forget { db: &db, key: &key };
    loop {
        let batch: Vec<Waiter> = {
            let mut queues = db.claims.queues();
            let Some(queue) = queues.get_mut(&key) else {
                return;
            };
            // A claim whose request is gone is not made.
            queue.retain(|waiter| !waiter.reply.is_closed());
            if queue.is_empty() {
                queues.remove(&key);
                return;
            }
            let n = queue.len().min(BATCH);
            queue.drain(..n).collect()
        };
        let digests: Vec<&str> = batch.iter().map(|w| w.key_digest.as_str()).collect();
        tracing::debug!(claims = digests.len(), "claim batch");
        match claim_batch(&db, &key, &digests).await {
            Ok(Batch::Refused) => {
                for waiter in batch {
                    let _ = waiter.reply.send(Ok(Claim::Refused));
                }
            }
            Ok(Batch::Claimed(mut jobs)) => {
                for waiter in batch {
                    let claim = match jobs.remove(&waiter.key_digest) {
                        Some(job) => Claim::Claimed(Box::new(job)),
                        None => Claim::Nothing,
                    };
                    let _ = waiter.reply.send(Ok(claim));
                }
            }
            Err(error) => {
                for waiter in batch {
                    let _ = waiter.reply.send(Err(error.duplicate()));
                }
            }
        }
    }
}

async fn claim_batch(db: &Db, key: &BatchKey, digests: &[&str]) -> DbResult<Batch> {
    match db.dialect() {
        Dialect::Sqlite => claim_sqlite(db, key, digests).await,
        Dialect::Postgres => {
            // The announcement runs out only when this instance stalls for a second between
            // announcing and claiming: then announce again.
            for _ in 0..3 {
                if let Some(batch) = claim_postgres(db, key, digests).await? {
                    return Ok(batch);
                }
            }
            Err(DbError::Other(anyhow::anyhow!(
                "claims kept running past their announcement"
            )))
        }
    }
}

/// `$first, $first+1, …` for the workflows.
fn workflow_list(workflows: &[Workflow], first: usize) -> String {
    let placeholders: Vec<String> = (0..workflows.len())
        .map(|i| format!("${}", i + first))
        .collect();
    placeholders.join(", ")
}

/// SQLite: one write transaction on the one write connection, the credential read first, the
/// jobs read back after the commit.
async fn claim_sqlite(db: &Db, key: &BatchKey, digests: &[&str]) -> DbResult<Batch> {
    let Some(name) = super::runners::name_if_key(db, &key.runner_id, &key.runner_digest).await?
    else {
        return Ok(Batch::Refused);
    };
    let now = now_micros();
    let digests = serde_json::to_string(digests).map_err(|e| DbError::Other(e.into()))?;
    // The n-th oldest claimable job gets the n-th key.
    let sql = format!(
        "UPDATE jobs SET acquired = 1, \
         key_digest = (SELECT k.value FROM json_each($1) k WHERE k.key = p.n - 1), \
         runner_id = $2, runner_name = $3, activity_at = $4, watched = 1, \
         state = 'preparing', stage = NULL, progress = 3 \
         FROM (SELECT j.id, row_number() OVER (ORDER BY j.created_at, j.id) AS n FROM jobs j \
             WHERE j.state = 'waiting' AND j.acquired = 0 AND j.workflow IN ({}) AND ({}) \
             ORDER BY j.created_at, j.id LIMIT json_array_length($1)) AS p \
         WHERE jobs.id = p.id RETURNING id",
        workflow_list(&key.workflows, 5),
        claimable(Dialect::Sqlite, &key.workflows),
    );
    let mut tx = db.begin().await?;
    let mut query = sqlx::query_scalar::<_, String>(&sql)
        .bind(&digests)
        .bind(&key.runner_id)
        .bind(&name)
        .bind(now);
    for workflow in &key.workflows {
        query = query.bind(workflow.as_str());
    }
    // Stepped to its end (a statement left in progress would hold the commit back).
    let ids = query.fetch_all(&mut *tx).await?;
    if ids.is_empty() {
        return Ok(Batch::Claimed(HashMap::new()));
    }
    let ids = serde_json::to_string(&ids).map_err(|e| DbError::Other(e.into()))?;
    let entry = preparing(now);
    sqlx::query(
        "INSERT INTO job_status (job_id, position, state, stage, step_name, step_description, \
         error, progress, timestamp) \
         SELECT i.value, COALESCE((SELECT MAX(s.position) + 1 FROM job_status s \
             WHERE s.job_id = i.value), 0), $2, NULL, NULL, NULL, NULL, $3, $4 \
         FROM json_each($1) i",
    )
    .bind(&ids)
    .bind(entry.state)
    .bind(entry.progress)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE analyses SET updated_at = $2 WHERE job_id IN (SELECT value FROM json_each($1))",
    )
    .bind(&ids)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE runners SET last_claim_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&key.runner_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let jobs = super::jobs::get_many(db, &ids).await?;
    Ok(Batch::Claimed(jobs))
}

/// PostgreSQL: one statement, so one round trip and its commit. It checks the credential,
/// picks and updates the jobs, appends their entries, touches their analyses, sets the runner's
/// `last_claim_at` and answers the jobs with their earlier entries. A quiet write
/// (`db::changes::Quiet`); `None` when its announcement ran out first (nothing written).
async fn claim_postgres(db: &Db, key: &BatchKey, digests: &[&str]) -> DbResult<Option<Batch>> {
    let mut quiet = Quiet::begin(db).await?;
    let now = now_micros();
    let (quiet_setting, in_time) = match quiet.mode() {
        QuietMode::Alone { .. } => (
            format!(
                "set_config('{QUIET_SETTING}', CASE WHEN vira_alone($5) THEN 'on' ELSE '' END, true)"
            ),
            "true",
        ),
        QuietMode::Announced { .. } => (
            format!("set_config('{QUIET_SETTING}', 'on', true)"),
            "vira_clock_us() < $5",
        ),
    };
    // The n-th oldest claimable job gets the n-th key. The jobs and analyses are updated by an
    // `= ANY (array)` of their ids, which the planner takes for a few index lookups (a join with
    // the CTE, of unknown size, may become a scan of every job). The runner's row: a claim of
    // the same runner that holds it (committing) is not waited for, it sets `last_claim_at` to
    // its now.
    let sql = format!(
        "WITH quiet AS MATERIALIZED (SELECT {quiet_setting} AS setting), \
         in_time AS MATERIALIZED (SELECT {in_time} AS ok), \
         runner AS MATERIALIZED (SELECT r.id, r.name FROM runners r \
             WHERE r.id = $1 AND r.revoked = 0 AND r.key_digest = $2), \
         keys AS MATERIALIZED (SELECT k.value AS digest, k.ordinality AS n \
             FROM json_array_elements_text($3::json) WITH ORDINALITY k), \
         picked AS MATERIALIZED (SELECT j.id, j.created_at FROM jobs j \
             WHERE (SELECT ok FROM in_time) AND EXISTS (SELECT 1 FROM runner) \
             AND EXISTS (SELECT 1 FROM quiet) \
             AND j.state = 'waiting' AND j.acquired = 0 AND j.workflow IN ({list}) \
             AND ({claimable}) ORDER BY j.created_at, j.id \
             LIMIT (SELECT count(*) FROM keys) FOR UPDATE OF j SKIP LOCKED), \
         keyed AS MATERIALIZED (SELECT p.id, k.digest FROM (SELECT id, \
             row_number() OVER (ORDER BY created_at, id) AS n FROM picked) p \
             JOIN keys k ON k.n = p.n), \
         claimed AS (UPDATE jobs j SET acquired = 1, \
             key_digest = (SELECT k.digest FROM keyed k WHERE k.id = j.id), runner_id = r.id, \
             runner_name = r.name, activity_at = $4, watched = 1, state = 'preparing', \
             stage = NULL, progress = 3 \
             FROM runner r WHERE j.id = ANY ((SELECT array_agg(k.id) FROM keyed k)::text[]) \
             AND j.state = 'waiting' AND j.acquired = 0 \
             RETURNING j.id, j.workflow, j.args, j.acquired, j.user_id, j.pinged_at, j.state, \
             j.stage, j.progress, j.created_at, j.retries, j.runner_id, j.runner_name, \
             j.key_digest), \
         entry AS (INSERT INTO job_status (job_id, position, state, stage, step_name, \
             step_description, error, progress, timestamp) \
             SELECT c.id, COALESCE((SELECT MAX(s.position) + 1 FROM job_status s \
                 WHERE s.job_id = c.id), 0), 'preparing', NULL, NULL, NULL, NULL, 3, $4 \
             FROM claimed c), \
         touched AS (UPDATE analyses SET updated_at = $4 \
             WHERE job_id = ANY ((SELECT array_agg(c.id) FROM claimed c)::text[])), \
         last_claim AS (UPDATE runners SET last_claim_at = GREATEST(COALESCE(last_claim_at, 0), $4) \
             WHERE id IN (SELECT r.id FROM runners r \
                 WHERE r.id = $1 AND EXISTS (SELECT 1 FROM claimed) FOR UPDATE SKIP LOCKED)) \
         SELECT (SELECT ok FROM in_time) AS in_time, (SELECT setting FROM quiet) AS quiet, \
             c.id, c.workflow, c.args, c.acquired, \
             c.user_id, u.handle, c.pinged_at, c.state, c.stage, c.progress, c.created_at, \
             c.retries, c.runner_id, c.runner_name, c.key_digest, \
             (SELECT json_agg(json_build_array(s.state, s.stage, s.step_name, \
                 s.step_description, s.error, s.progress, s.timestamp) ORDER BY s.position) \
                 FROM job_status s WHERE s.job_id = c.id)::text AS entries \
         FROM runner LEFT JOIN claimed c ON true LEFT JOIN users u ON u.id = c.user_id",
        list = workflow_list(&key.workflows, 6),
        claimable = claimable(Dialect::Postgres, &key.workflows),
    );
    let digests = serde_json::to_string(digests).map_err(|e| DbError::Other(e.into()))?;
    let query = sqlx::query(&sql)
        .bind(&key.runner_id)
        .bind(&key.runner_digest)
        .bind(digests)
        .bind(now);
    let mut query = match quiet.mode() {
        QuietMode::Alone { instance } => query.bind(instance.clone()),
        QuietMode::Announced { until_us } => query.bind(*until_us),
    };
    for workflow in &key.workflows {
        query = query.bind(workflow.as_str());
    }
    let rows = query.fetch_all(&mut **quiet.connection()).await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => return Err(error.into()),
    };
    let first = rows.first();
    let claimed = match first {
        Some(row) => row.try_get::<Option<String>, _>("id")?.is_some(),
        None => false,
    };
    let quieted = match first {
        Some(row) => Some(row.try_get::<Option<String>, _>("quiet")?.as_deref() == Some("on")),
        None => None,
    };
    // Finished whatever the claims came to, so that no peer holds its cache off any longer.
    if let Err(error) = quiet.finish(db, quieted, claimed).await {
        // Claimed all the same: what the peers kept is stale at the latest when the announcement
        // runs out (or was notified, in the transaction).
        tracing::warn!(%error, "could not publish a claim to the other instances");
    }
    let Some(first) = first else {
        return Ok(Some(Batch::Refused));
    };
    if !first.try_get::<bool, _>("in_time")? {
        return Ok(None);
    }
    let mut jobs = HashMap::new();
    if !claimed {
        return Ok(Some(Batch::Claimed(jobs)));
    }
    for row in &rows {
        let mut status = earlier_entries(row.try_get("entries")?)?;
        status.push(preparing(now).entry());
        let digest: String = row.try_get("key_digest")?;
        jobs.insert(digest, super::jobs::job_from_row(row, status)?);
    }
    Ok(Some(Batch::Claimed(jobs)))
}

/// The entries of `json_agg(json_build_array(state, stage, step_name, step_description, error,
/// progress, timestamp))`, `error` being the stored JSON text.
fn earlier_entries(text: Option<String>) -> DbResult<Vec<StatusEntry>> {
    type Entry = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
        Micros,
    );
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let entries: Vec<Entry> = serde_json::from_str(&text).map_err(|e| DbError::Other(e.into()))?;
    Ok(entries
        .into_iter()
        .map(
            |(state, stage, step_name, step_description, error, progress, timestamp)| StatusEntry {
                state,
                stage,
                step_name,
                step_description,
                error: error.and_then(|text| serde_json::from_str(&text).ok()),
                progress,
                timestamp: rfc3339(timestamp),
            },
        )
        .collect())
}

/// The last status entry of a job, for the entries that repeat it (§6.3, §7.5).
struct Last {
    stage: Option<String>,
    step_name: Option<String>,
    step_description: Option<String>,
    progress: i64,
}

async fn last_entry(tx: &mut Tx, job_id: &str) -> DbResult<Last> {
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
