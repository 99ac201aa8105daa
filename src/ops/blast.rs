//! Submitting and following BLAST records: inside the PUT, and in the background worker.

use std::time::Duration;

use futures_util::future::join_all;

use crate::app::{App, AppState};
use crate::blast::ncbi::{Checked, Ncbi};
use crate::blast::{Backend, Failure};
use crate::db::blast::{self as db_blast, BlastRecord, Change};
use crate::db::DbResult;
use crate::model::time::{now_micros, Micros};

/// Records claimed per step.
const BATCH: i64 = 16;

/// U4 effect 3: submit inside the request, waiting at most `--blast-submit-timeout`. The record
/// was created leased to this instance, so the worker leaves it alone meanwhile. Only a finished
/// outcome is stored (an NCBI RID, or a local result or error); anything else leaves the record
/// queued for the worker. Returns the record as it stands afterwards.
pub async fn submit_in_request(app: &AppState, record: BlastRecord) -> DbResult<BlastRecord> {
    let blast = &app.blast;
    let deadline = Duration::from_secs(blast.submit_timeout_secs);
    match &blast.backend {
        Backend::Ncbi(ncbi) => {
            if let Ok(rid) = ncbi.submit(&record.sequence, deadline).await {
                let change = Change::Submitted { rid };
                db_blast::apply(
                    &app.db,
                    &record.analysis_id,
                    record.id,
                    None,
                    &change,
                    now_micros(),
                )
                .await?;
            }
            db_blast::release_lease(&app.db, record.id, &blast.instance_id).await?;
        }
        Backend::Local(local) => match local.try_slot() {
            Some(slot) => {
                // The search may outlive the request; it keeps renewing this instance's lease.
                let task = tokio::spawn({
                    let app = app.clone();
                    let record = record.clone();
                    async move {
                        let _slot = slot;
                        run_local(&app, &record).await
                    }
                });
                let _ = tokio::time::timeout(deadline, task).await;
            }
            None => db_blast::release_lease(&app.db, record.id, &blast.instance_id).await?,
        },
    }
    blast.wake.notify_one();
    Ok(db_blast::get_by_id(&app.db, record.id)
        .await?
        .unwrap_or(record))
}

/// One step of the worker: claim the records due at `now` and work each once. Returns how many
/// records were worked. Tests call this directly with a chosen `now`.
pub async fn poll_due_once(app: &AppState, now: Micros) -> DbResult<usize> {
    let limit = match &app.blast.backend {
        Backend::Ncbi(_) => BATCH,
        Backend::Local(local) => local.free_slots() as i64,
    };
    if limit == 0 {
        return Ok(0);
    }
    let claimed = db_blast::claim_due(
        &app.db,
        &app.blast.instance_id,
        now,
        now + app.blast.lease,
        limit,
    )
    .await?;
    let count = claimed.len();
    let results = join_all(claimed.into_iter().map(|record| work(app, record, now))).await;
    for result in results {
        if let Err(e) = result {
            tracing::warn!(error = %e, "BLAST worker step failed");
        }
    }
    Ok(count)
}

/// Work one claimed record once.
async fn work(app: &AppState, record: BlastRecord, now: Micros) -> DbResult<()> {
    let blast = &app.blast;
    if now >= record.deadline_at {
        let change = Change::Failed {
            error: blast.timed_out(),
        };
        db_blast::apply(&app.db, &record.analysis_id, record.id, None, &change, now).await?;
        return Ok(());
    }
    let next = blast.next_interval(record.interval);
    let (change, expected_rid) = match &blast.backend {
        // The request may outlast the lease (slow NCBI, waiting for a courtesy slot): keep it.
        Backend::Ncbi(ncbi) => tokio::select! {
            worked = work_ncbi(ncbi, &record, next) => worked,
            _ = keep_lease(app, record.id) => return Ok(()),
        },
        Backend::Local(local) => {
            let Some(_slot) = local.try_slot() else {
                return db_blast::release_lease(&app.db, record.id, &blast.instance_id).await;
            };
            return run_local(app, &record).await;
        }
    };
    db_blast::apply(
        &app.db,
        &record.analysis_id,
        record.id,
        expected_rid.as_deref(),
        &change,
        now,
    )
    .await?;
    Ok(())
}

/// One NCBI submission or check of `record`: the change to store and the RID it is guarded by.
async fn work_ncbi(ncbi: &Ncbi, record: &BlastRecord, next: i64) -> (Change, Option<String>) {
    match &record.rid {
        None => {
            let outcome = ncbi.submit(&record.sequence, Duration::from_secs(30)).await;
            let change = match outcome {
                Ok(rid) => Change::Checked {
                    rid: Some(rid),
                    interval: next,
                },
                Err(Failure::Transient(reason)) => {
                    tracing::info!(id = record.id, reason, "BLAST submission will be retried");
                    Change::Checked {
                        rid: None,
                        interval: next,
                    }
                }
                Err(Failure::Permanent(error)) => Change::Failed { error },
            };
            (change, None)
        }
        Some(rid) => {
            let change = match ncbi.check(rid).await {
                Ok(Checked::Done(result)) => Change::Done { result },
                Ok(Checked::Waiting) | Err(Failure::Transient(_)) => Change::Checked {
                    rid: None,
                    interval: next,
                },
                Err(Failure::Permanent(error)) => Change::Failed { error },
            };
            (change, Some(rid.clone()))
        }
    }
}

/// Renew this instance's lease on record `id` at a third of the lease, so a slow database round
/// trip cannot let it lapse; returns once the record is gone, finished or no longer ours.
async fn keep_lease(app: &App, id: i64) {
    let renew_every = Duration::from_micros((app.blast.lease / 3).max(1) as u64);
    loop {
        tokio::time::sleep(renew_every).await;
        let until = now_micros() + app.blast.lease;
        match db_blast::renew_lease(&app.db, id, &app.blast.instance_id, until).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %e, "could not renew a BLAST lease"),
        }
    }
}

/// Run a local search to its end, its deadline, or until its record disappears; store the outcome.
async fn run_local(app: &App, record: &BlastRecord) -> DbResult<()> {
    let Backend::Local(local) = &app.blast.backend else {
        return Ok(());
    };
    let remaining = (record.deadline_at - now_micros()).max(0) as u64;
    let search = local.run(record.sequence_index, &record.sequence);
    // Gone (replaced or deleted) or finished elsewhere: stop and kill the process.
    let watch = keep_lease(app, record.id);
    let change = tokio::select! {
        outcome = tokio::time::timeout(Duration::from_micros(remaining), search) => match outcome {
            Ok(Ok(result)) => Change::Done { result },
            Ok(Err(error)) => Change::Failed { error },
            Err(_) => Change::Failed { error: app.blast.timed_out() },
        },
        _ = watch => return Ok(()),
    };
    db_blast::apply(
        &app.db,
        &record.analysis_id,
        record.id,
        None,
        &change,
        now_micros(),
    )
    .await?;
    Ok(())
}

/// The background worker of `vira serve`: look for due records at least once a second (sooner
/// when a PUT leaves work) until `stop` turns true; then hand this instance's leases back.
pub async fn run(app: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = poll_due_once(&app, now_micros()).await {
            tracing::warn!(error = %e, "BLAST worker could not poll");
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = app.blast.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    if let Err(e) = db_blast::release_leases(&app.db, &app.blast.instance_id).await {
        tracing::warn!(error = %e, "could not release BLAST leases");
    }
}
