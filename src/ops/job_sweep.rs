//! The stall sweep (workflows.md §7.5), on every instance every `--job-sweep-interval-seconds`: a
//! watched job in `preparing` or `running` without activity for `--job-stall-seconds` is requeued
//! while it has retries left (`--job-retries`) and its target exists, else it times out. Each job
//! is changed by one conditional transaction, so concurrent instances act once.

use std::time::Duration;

use crate::app::{App, AppState};
use crate::db;
use crate::db::claims::{Stall, Swept};
use crate::model::time::now_micros;

/// How many stalled jobs one pass requeued and timed out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stalled {
    pub requeued: usize,
    pub timed_out: usize,
}

/// One pass of the sweep.
pub async fn run(app: &App) -> anyhow::Result<Stalled> {
    let stall = Stall {
        seconds: app.config.job_stall_seconds,
        retries: i64::try_from(app.config.job_retries).unwrap_or(i64::MAX),
    };
    let now = now_micros();
    let window = i64::try_from(stall.seconds.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    let cutoff = now.saturating_sub(window);
    let mut done = Stalled::default();
    for job_id in db::claims::stalled(&app.db, cutoff).await? {
        match db::claims::sweep_one(&app.db, &job_id, &stall, cutoff, now).await? {
            None => {}
            Some(Swept::Requeued(keys)) => {
                done.requeued += 1;
                super::jobs::forget_job_keys(app);
                super::jobs::remove_objects(app, &keys).await;
                tracing::info!(job_id, "requeued a stalled job");
            }
            Some(Swept::TimedOut(keys)) => {
                done.timed_out += 1;
                super::jobs::remove_objects(app, &keys).await;
                tracing::info!(job_id, "a stalled job timed out");
            }
        }
    }
    Ok(done)
}

/// Sweep every interval until `stop`.
pub async fn every_interval(app: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = Duration::from_secs(app.config.job_sweep_interval_seconds.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        if let Err(e) = run(&app).await {
            tracing::warn!(error = %e, "the stall sweep failed");
        }
    }
}
