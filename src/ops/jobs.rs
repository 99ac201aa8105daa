//! The job lifecycle for every front door (workflows.md §6, §7.2–§7.5): claim (J8), a job reading
//! itself (J9), release (J10), ping (J7), a user reading (U31) or cancelling (U32) a job.

use serde_json::Value;

use crate::app::App;
use crate::auth::keys;
use crate::auth::rights::{can_read, can_write, Principal};
use crate::db;
use crate::db::claims::{Claim, Claimant, Release};
use crate::db::jobs::{Acquire, PushStatus};
use crate::model::failure::{Failure, Outcome};
use crate::model::time::{now_micros, Micros};
use crate::model::views::Job;
use crate::model::workflow::Workflow;
use crate::ops::auth::{JobAuth, RunnerCredential};

pub use crate::db::jobs::NewStatus;

/// Remove the stored objects of discarded output after its transaction committed; a failure is
/// logged (the start-up cleanup removes objects without a record).
pub async fn remove_objects(app: &App, keys: &[String]) {
    for key in keys {
        if let Err(e) = app.files.remove(key).await {
            tracing::error!(key, error = %e, "could not remove a discarded object");
        }
    }
}

/// A job's key was revoked (release, requeue): this instance forgets the keys it checked; other
/// instances see it within `--auth-cache-ms`.
pub fn forget_job_keys(app: &App) {
    app.job_key_cache.clear();
}

async fn full_job(app: &App, job_id: &str) -> Outcome<Job> {
    db::jobs::get(&app.db, job_id)
        .await?
        .ok_or_else(Failure::not_found)
}

/// What a claim (J8) came to.
pub enum Claimed {
    /// The full job with its new key.
    Job(Box<Job>),
    /// No claimable job (204).
    Nothing,
    /// The credential is no unrevoked runner's (401).
    Refused,
}

/// J8: the oldest claimable job of `workflows` for the runner whose credential is presented,
/// checked by the claim itself.
pub async fn claim(
    app: &App,
    runner: &RunnerCredential,
    workflows: &[Workflow],
) -> Outcome<Claimed> {
    let key = keys::new_key();
    let claimant = Claimant {
        id: &runner.id,
        key_digest: &runner.key_digest,
    };
    let claim = db::claims::claim(&app.db, workflows, &claimant, &keys::digest(&key)).await?;
    Ok(match claim {
        Claim::Claimed(mut job) => {
            job.key = Some(key);
            Claimed::Job(job)
        }
        Claim::Nothing => Claimed::Nothing,
        Claim::Refused => Claimed::Refused,
    })
}

/// J1: acquire a waiting job (no credential); the full job with its new key. 404 → 400 `Job
/// already acquired` → 409 `Job is finished` (cancelled while waiting).
pub async fn acquire(app: &App, job_id: &str) -> Outcome<Job> {
    let key = keys::new_key();
    match db::jobs::acquire(&app.db, job_id, &keys::digest(&key), now_micros()).await? {
        Acquire::NotFound => Err(Failure::not_found()),
        Acquire::AlreadyAcquired => Err(Failure::bad_request("Job already acquired")),
        Acquire::Finished => Err(Failure::conflict("Job is finished")),
        Acquire::Acquired => {
            let mut job = full_job(app, job_id).await?;
            job.key = Some(key);
            Ok(job)
        }
    }
}

/// J2 after the front door's checks: append the status entry; 409 `Job is finished`. An entry
/// that ends the job unsuccessfully discards its partial output (§1.3), whose stored objects go
/// once it is recorded.
pub async fn push_status(app: &App, job_id: &str, status: &NewStatus<'_>) -> Outcome<()> {
    match db::jobs::push_status(&app.db, job_id, status).await? {
        PushStatus::Finished => Err(Failure::conflict("Job is finished")),
        PushStatus::Pushed(keys) => {
            remove_objects(app, &keys).await;
            Ok(())
        }
    }
}

/// 404 for an unknown job, then 403 unless it is the caller's own (J9, J10; contract §2.3).
async fn own(app: &App, job: &JobAuth, job_id: &str) -> Outcome<()> {
    if !db::jobs::exists(&app.db, job_id).await? {
        return Err(Failure::not_found());
    }
    if job.job_id != job_id {
        return Err(Failure::InsufficientRights);
    }
    Ok(())
}

/// J9: the caller's own job, without its key.
pub async fn get_own(app: &App, job: &JobAuth, job_id: &str) -> Outcome<Job> {
    own(app, job, job_id).await?;
    full_job(app, job_id).await
}

/// J10: give the job back to the queue; its key stops working.
pub async fn release(app: &App, job: &JobAuth, job_id: &str) -> Outcome<Job> {
    own(app, job, job_id).await?;
    match db::claims::release(&app.db, job_id, now_micros()).await? {
        Release::NotFound => Err(Failure::not_found()),
        Release::Finished => Err(Failure::conflict("Job is finished")),
        Release::Released(keys) => {
            forget_job_keys(app);
            remove_objects(app, &keys).await;
            full_job(app, job_id).await
        }
    }
}

/// J7: record the ping; whether the job was cancelled.
pub async fn ping(app: &App, job: &JobAuth, job_id: &str) -> Outcome<(Micros, bool)> {
    let now = now_micros();
    if !db::jobs::exists(&app.db, job_id).await? {
        return Err(Failure::not_found());
    }
    if job.job_id != job_id {
        return Err(Failure::InsufficientRights);
    }
    match db::jobs::ping(&app.db, job_id, now).await? {
        db::jobs::Ping::NotFound => Err(Failure::not_found()),
        db::jobs::Ping::Pinged { cancelled } => Ok((now, cancelled)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Write,
}

/// The rights of workflows.md §12 on a job: its sample's (`args.sample_id`) for analysis and
/// `create_sample` jobs; `build_index` and `create_subtraction` jobs: any user to read, an
/// administrator to cancel; a job whose sample is gone: administrators only.
async fn check_rights(app: &App, principal: &Principal, job: &Job, need: Need) -> Outcome<()> {
    if principal.administrator {
        return Ok(());
    }
    let allowed = match job.workflow {
        Workflow::BuildIndex | Workflow::CreateSubtraction => need == Need::Read,
        Workflow::CreateSample | Workflow::PathoscopeBowtie | Workflow::Nuvs => {
            let sample_id = job.args.get("sample_id").and_then(Value::as_str);
            let sample = match sample_id {
                Some(id) => db::samples::get(&app.db, id).await?,
                None => None,
            };
            sample.is_some_and(|sample| match need {
                Need::Read => can_read(principal, &sample.rights),
                Need::Write => can_write(principal, &sample.rights),
            })
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(Failure::InsufficientRights)
    }
}

/// U31: a job for a user who may read it.
pub async fn get_for_user(app: &App, principal: &Principal, job_id: &str) -> Outcome<Job> {
    let job = full_job(app, job_id).await?;
    check_rights(app, principal, &job, Need::Read).await?;
    Ok(job)
}

/// U32: cancel an unfinished job (§6.3), discarding its partial output.
pub async fn cancel(app: &App, principal: &Principal, job_id: &str) -> Outcome<Job> {
    let job = full_job(app, job_id).await?;
    check_rights(app, principal, &job, Need::Write).await?;
    let Some(keys) = db::claims::cancel(&app.db, job_id, now_micros()).await? else {
        return Err(Failure::conflict(
            "Job cannot be cancelled in its current state",
        ));
    };
    remove_objects(app, &keys).await;
    full_job(app, job_id).await
}

/// Whether job `job_id` is `waiting`, `preparing` or `running` (U3's check, §6.4); a missing job
/// counts as finished.
pub async fn is_unfinished(app: &App, job_id: &str) -> Outcome<bool> {
    Ok(db::jobs::get(&app.db, job_id)
        .await?
        .is_some_and(|job| !db::jobs::FINISHED_STATES.contains(&job.state.as_str())))
}
