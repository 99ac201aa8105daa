//! `vira worker` (workflows §9): a client of the jobs API only — it claims jobs (J8), runs their
//! workflows in a directory of its own with the tools of the machine, reports their steps and
//! outcome, and gives its jobs back (J10) when it is stopped. It needs no database and no file
//! store, so it runs anywhere the jobs API can be reached; `vira serve --workers N` runs the same
//! loop in the server process.

pub mod client;
pub mod job;
pub mod pipe;
pub mod settings;
pub mod tools;
mod workflows;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::model::workflow::Workflow;
use client::{ClaimedJob, Credential, JobsApi};
use job::{JobContext, JobFailure};
use settings::WorkerSettings;

/// Seconds to wait for the jobs API to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a worker stopped on its own with a failure (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("the runner credential is not of the form runner-<id>:<key>")]
    MalformedCredential,
    #[error("{tool} is not usable ({reason}); it is needed by {workflow}")]
    ToolMissing {
        tool: String,
        reason: String,
        workflow: Workflow,
    },
    #[error("the runner credential was refused")]
    CredentialRefused,
    #[error("{0}: this worker does not run it yet")]
    NotImplemented(Workflow),
    #[error("the work directory {path}: {source}")]
    WorkDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The tools a workflow runs, by the option that names them.
fn tools_of(workflow: Workflow, settings: &WorkerSettings) -> Vec<PathBuf> {
    let tools = &settings.tools;
    match workflow {
        Workflow::CreateSample => vec![],
        Workflow::CreateSubtraction | Workflow::BuildIndex => vec![tools.bowtie2_build.clone()],
        Workflow::PathoscopeBowtie => vec![tools.bowtie2.clone(), tools.bowtie2_build.clone()],
        Workflow::Nuvs => vec![
            tools.skewer.clone(),
            tools.spades.clone(),
            tools.hmmscan.clone(),
            tools.hmmpress.clone(),
            tools.bowtie2.clone(),
            tools.bowtie2_build.clone(),
        ],
    }
}

/// The start-up check (§9.1): every tool of every listed workflow answers `--version`.
pub async fn check_tools(settings: &WorkerSettings) -> Result<(), WorkerError> {
    let mut checked: HashMap<PathBuf, String> = HashMap::new();
    for &workflow in &settings.workflows {
        if !workflows::implemented(workflow) {
            return Err(WorkerError::NotImplemented(workflow));
        }
        for tool in tools_of(workflow, settings) {
            if checked.contains_key(&tool) {
                continue;
            }
            match tools::version(&tool).await {
                Ok(version) => {
                    tracing::info!(tool = %tool.display(), %version, "tool found");
                    checked.insert(tool, version);
                }
                Err(reason) => {
                    return Err(WorkerError::ToolMissing {
                        tool: tool.display().to_string(),
                        reason,
                        workflow,
                    })
                }
            }
        }
    }
    Ok(())
}

/// Run the claim loop until `shutdown` is cancelled (then release running jobs within the
/// shutdown grace) or, with `--exit-when-idle`, until nothing was claimed for that long.
pub async fn run(settings: WorkerSettings, shutdown: CancellationToken) -> Result<(), WorkerError> {
    let runner =
        Credential::parse_runner(&settings.credential).ok_or(WorkerError::MalformedCredential)?;
    check_tools(&settings).await?;
    std::fs::create_dir_all(&settings.work_dir).map_err(|source| WorkerError::WorkDir {
        path: settings.work_dir.clone(),
        source,
    })?;
    let settings = Arc::new(settings);
    let api = JobsApi::new(
        &settings.jobs_api_url,
        CONNECT_TIMEOUT,
        settings.read_timeout,
    );
    let mut running: JoinSet<()> = JoinSet::new();
    let mut contexts: HashMap<String, Arc<JobContext>> = HashMap::new();
    let mut backoff = Duration::from_secs(1);
    let mut idle_since = Instant::now();
    while !shutdown.is_cancelled() {
        // Forget finished jobs.
        while let Some(done) = running.try_join_next() {
            let _ = done;
        }
        contexts.retain(|_, ctx| !ctx.is_done());
        if !running.is_empty() {
            idle_since = Instant::now();
        }
        if running.len() >= settings.concurrency {
            tokio::select! {
                _ = running.join_next() => {}
                _ = shutdown.cancelled() => {}
            }
            continue;
        }
        let wait = match api.claim(&runner, &settings.workflows).await {
            Ok(Some(job)) => {
                backoff = Duration::from_secs(1);
                idle_since = Instant::now();
                tracing::info!(job = %job.id, workflow = %job.workflow, "claimed");
                let ctx = start_job(&api, job, &settings, &mut running);
                contexts.insert(ctx.job.id.clone(), ctx);
                continue;
            }
            Ok(None) => {
                backoff = Duration::from_secs(1);
                if let Some(idle) = settings.exit_when_idle {
                    if running.is_empty() && idle_since.elapsed() >= idle {
                        tracing::info!(idle_secs = idle.as_secs(), "idle: exiting");
                        return Ok(());
                    }
                }
                settings.poll_interval
            }
            Err(error) if error.status() == Some(401) => {
                return Err(WorkerError::CredentialRefused);
            }
            Err(error) => {
                tracing::warn!(%error, retry_in_secs = backoff.as_secs(), "claim failed");
                let wait = backoff;
                backoff = (backoff * 2).min(settings.max_backoff);
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = running.join_next(), if !running.is_empty() => {}
            _ = shutdown.cancelled() => {}
        }
    }
    release_all(&settings, contexts, running).await;
    Ok(())
}

/// Stop every running job's tools, give the jobs back (J10), and wait for that at most the
/// shutdown grace.
async fn release_all(
    settings: &WorkerSettings,
    contexts: HashMap<String, Arc<JobContext>>,
    mut running: JoinSet<()>,
) {
    for ctx in contexts.values() {
        ctx.release();
    }
    let drained = tokio::time::timeout(settings.shutdown_grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("shutdown grace over: jobs left acquired are requeued by the stall sweep");
        running.abort_all();
    }
}

fn start_job(
    api: &JobsApi,
    job: ClaimedJob,
    settings: &Arc<WorkerSettings>,
    running: &mut JoinSet<()>,
) -> Arc<JobContext> {
    let dir = settings.work_dir.join(&job.id);
    let ctx = Arc::new(JobContext::new(api.clone(), job, dir, settings.clone()));
    running.spawn(run_job(ctx.clone()));
    ctx
}

/// One job from its claim to its last request.
async fn run_job(ctx: Arc<JobContext>) {
    let pinger = tokio::spawn(ctx.clone().keep_pinging());
    let outcome = match tokio::fs::create_dir_all(&ctx.dir).await {
        Ok(()) => workflows::run(&ctx).await,
        Err(e) => Err(JobFailure::error(
            "WorkDirError",
            vec![format!("{}: {e}", ctx.dir.display())],
        )),
    };
    pinger.abort();
    let id = ctx.job.id.clone();
    let reported = match outcome {
        Ok(()) if !ctx.stop.is_cancelled() => ctx.complete().await,
        // Stopped, or failed because it was being stopped: nothing is reported but a release.
        _ if ctx.is_releasing() => ctx.api.release(&ctx.job).await,
        _ if ctx.stop.is_cancelled() => Ok(()),
        Err(JobFailure::Error { kind, details }) => {
            tracing::warn!(job = %id, %kind, ?details, "job failed");
            ctx.fail(&kind, &details).await
        }
        Err(JobFailure::Stopped) | Ok(()) => Ok(()),
    };
    if let Err(error) = reported {
        tracing::warn!(job = %id, %error, "the job's outcome could not be reported");
    }
    if !ctx.settings.keep_work {
        if let Err(e) = tokio::fs::remove_dir_all(&ctx.dir).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(job = %id, error = %e, "could not remove the job directory");
            }
        }
    }
    ctx.mark_done();
    tracing::info!(job = %id, "job ended");
}
