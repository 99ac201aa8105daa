//! One claimed job as the workflow steps see it: its directory, its credential, the steps it
//! reports (J2), pings (J7) that stop it when the server says so, and how it ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::client::{CallError, ClaimedJob, JobsApi, Ping};
use super::pipe::{pipe, PipeWriter};
use super::settings::WorkerSettings;
use super::tools::{self, Invocation, ToolError};

/// Why a job did not complete.
#[derive(Debug)]
pub enum JobFailure {
    /// Report it: J2 `error` with `{"type": kind, "traceback": [], "details": details}`.
    Error { kind: String, details: Vec<String> },
    /// The job was stopped (cancelled by the server, or this worker is shutting down): nothing
    /// more is reported for it.
    Stopped,
}

impl JobFailure {
    pub fn error(kind: &str, details: Vec<String>) -> JobFailure {
        JobFailure::Error {
            kind: kind.to_owned(),
            details,
        }
    }
}

impl From<ToolError> for JobFailure {
    fn from(error: ToolError) -> JobFailure {
        match error {
            ToolError::Cancelled { .. } => JobFailure::Stopped,
            ToolError::Failed {
                tool,
                status,
                stderr,
            } => {
                let mut details = vec![format!("{tool} exited with {status}")];
                details.extend(stderr);
                JobFailure::error("ToolError", details)
            }
            other => JobFailure::error("ToolError", vec![other.to_string()]),
        }
    }
}

impl From<CallError> for JobFailure {
    fn from(error: CallError) -> JobFailure {
        JobFailure::error("JobsApiError", vec![error.to_string()])
    }
}

pub type StepResult<T> = Result<T, JobFailure>;

/// A failure of the job's own files (its directory, a full disk).
pub fn work_dir_failure(error: std::io::Error) -> JobFailure {
    JobFailure::error("WorkDirError", vec![error.to_string()])
}

/// Uploaded reads or a genome that break the rules are the lab's problem, reported with the
/// spec's error object (`InvalidReads`, `InvalidGenome`); a failed read or write is the machine's.
pub fn check_failure(error: crate::reads::CheckError) -> JobFailure {
    match error {
        crate::reads::CheckError::Invalid(invalid) => {
            let object = invalid.error_object();
            JobFailure::error(
                object["type"].as_str().unwrap_or("InvalidReads"),
                vec![invalid.message().to_owned()],
            )
        }
        crate::reads::CheckError::Io(e) => work_dir_failure(e),
    }
}

/// Run CPU- or file-bound work off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StepResult<T> + Send + 'static,
) -> StepResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| JobFailure::error("WorkerError", vec![e.to_string()]))?
}

/// An upload running beside the work that makes its content ([`JobContext::put_streamed`]).
pub struct StreamedUpload {
    task: AbortOnDropHandle<Result<Value, CallError>>,
    path: String,
    read_timeout: Duration,
}

impl StreamedUpload {
    /// The answer (201 body), once the content's pipe was finished; a silent server fails the
    /// upload after `--read-timeout`, as any request.
    pub async fn answer(self) -> StepResult<Value> {
        match tokio::time::timeout(self.read_timeout, self.task).await {
            Ok(Ok(answer)) => Ok(answer?),
            Ok(Err(join)) => Err(JobFailure::error("WorkerError", vec![join.to_string()])),
            Err(_) => Err(CallError::Silent {
                method: reqwest::Method::PUT,
                path: self.path,
                after: self.read_timeout,
            }
            .into()),
        }
    }
}

/// A string argument of the job (`args.index_id`, …).
pub fn arg<'a>(args: &'a serde_json::Value, key: &str) -> StepResult<&'a str> {
    args[key].as_str().ok_or_else(|| {
        JobFailure::error(
            "InvalidJob",
            vec![format!("the job's args lack a string {key}")],
        )
    })
}

/// The current step, for the entries that follow it (`error` repeats it).
#[derive(Debug, Clone, Default)]
struct CurrentStep {
    stage: String,
    name: Option<String>,
    description: Option<String>,
    progress: i64,
}

/// A running job: what the workflow steps use.
pub struct JobContext {
    pub api: JobsApi,
    pub job: ClaimedJob,
    pub dir: PathBuf,
    pub settings: Arc<WorkerSettings>,
    /// Cancelled when the job must stop: the server cancelled it, or this worker shuts down.
    pub stop: CancellationToken,
    /// Set when the stop is this worker's shutdown (the job is then released, not abandoned).
    releasing: AtomicBool,
    /// Set once the job's last request was made.
    done: AtomicBool,
    current: Mutex<CurrentStep>,
}

impl JobContext {
    pub fn new(
        api: JobsApi,
        job: ClaimedJob,
        dir: PathBuf,
        settings: Arc<WorkerSettings>,
    ) -> JobContext {
        JobContext {
            api,
            job,
            dir,
            settings,
            stop: CancellationToken::new(),
            releasing: AtomicBool::new(false),
            done: AtomicBool::new(false),
            current: Mutex::new(CurrentStep::default()),
        }
    }

    /// Stop the job to give it back (SIGTERM/SIGINT of the worker).
    pub fn release(&self) {
        self.releasing.store(true, Ordering::SeqCst);
        self.stop.cancel();
    }

    pub fn is_releasing(&self) -> bool {
        self.releasing.load(Ordering::SeqCst)
    }

    pub(super) fn mark_done(&self) {
        self.done.store(true, Ordering::SeqCst);
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// A path in the job's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Step `index` (0-based) of `total` starts: J2 `running` with progress ⌊100/total⌋·index.
    pub async fn step(
        &self,
        index: usize,
        total: usize,
        stage: &str,
        name: &str,
        description: &str,
    ) -> StepResult<()> {
        self.stopped()?;
        let progress = (100 / total.max(1) * index) as i64;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = CurrentStep {
            stage: stage.to_owned(),
            name: Some(name.to_owned()),
            description: Some(description.to_owned()),
            progress,
        };
        let entry = json!({
            "state": "running", "stage": stage, "step_name": name,
            "step_description": description, "error": null, "progress": progress,
        });
        self.api.push_status(&self.job, &entry).await?;
        Ok(())
    }

    /// `Stopped` once the job must stop.
    pub fn stopped(&self) -> StepResult<()> {
        if self.stop.is_cancelled() {
            Err(JobFailure::Stopped)
        } else {
            Ok(())
        }
    }

    /// An invocation of `program` in the job's directory.
    pub fn tool(&self, program: &Path) -> Invocation {
        Invocation::new(program, &self.dir)
    }

    pub async fn run(&self, invocation: &Invocation) -> StepResult<()> {
        tools::run(invocation, &self.stop, self.settings.kill_grace).await?;
        Ok(())
    }

    pub async fn run_with_lines(
        &self,
        invocation: &Invocation,
        on_line: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> StepResult<()> {
        tools::run_with_lines(invocation, &self.stop, self.settings.kill_grace, on_line).await?;
        Ok(())
    }

    /// Gzip `<name>` of the job's directory into `<name>.gz` (workflows §10's gzip), off the runtime.
    pub async fn gzip(&self, name: &str) -> StepResult<()> {
        let source = self.path(name);
        let dest = self.path(&format!("{name}.gz"));
        blocking(move || crate::workflows::gzip_file(&source, &dest).map_err(work_dir_failure))
            .await
    }

    /// PUT each of `names` from the job's directory to `<folder>/<name>` (J15, J19, J24).
    pub async fn put_files(&self, folder: &str, names: &[&str]) -> StepResult<()> {
        for name in names {
            self.stopped()?;
            let path = format!("{folder}/{name}");
            self.api
                .upload(
                    &self.job,
                    reqwest::Method::PUT,
                    &path,
                    &self.path(name),
                    name,
                )
                .await?;
        }
        Ok(())
    }

    /// PUT `<path>` (J15, J19, J24) with the content written to the returned pipe as it is made.
    /// It is stored once the pipe is finished and the upload [answered](StreamedUpload::answer);
    /// a pipe dropped unfinished, or the upload dropped, cuts the request off and nothing is
    /// stored.
    pub fn put_streamed(&self, path: &str, name: &str) -> (PipeWriter, StreamedUpload) {
        let (content, body) = pipe();
        let api = self.api.clone();
        let job = self.job.clone();
        let (task_path, name) = (path.to_owned(), name.to_owned());
        let task = tokio::spawn(async move {
            api.upload_streamed(&job, reqwest::Method::PUT, &task_path, body, &name)
                .await
        });
        let upload = StreamedUpload {
            task: AbortOnDropHandle::new(task),
            path: self.api.full(path),
            read_timeout: self.settings.read_timeout,
        };
        (content, upload)
    }

    /// The last request of a successful job: J2 `complete`.
    pub async fn complete(&self) -> Result<(), CallError> {
        let entry = json!({
            "state": "complete", "stage": "", "step_name": null, "step_description": null,
            "error": null, "progress": 100,
        });
        self.api.push_status(&self.job, &entry).await
    }

    /// J2 `error` with the current step.
    pub async fn fail(&self, kind: &str, details: &[String]) -> Result<(), CallError> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let entry = json!({
            "state": "error", "stage": current.stage, "step_name": current.name,
            "step_description": current.description, "progress": current.progress,
            "error": {"type": kind, "traceback": Value::Array(Vec::new()), "details": details},
        });
        self.api.push_status(&self.job, &entry).await
    }

    /// Ping every `--ping-interval` until the job ends; a ping that says stop cancels the job.
    pub async fn keep_pinging(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.settings.ping_interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = self.stop.cancelled() => return,
            }
            match self.api.ping(&self.job).await {
                Ok(Ping::Continue) => {}
                Ok(Ping::Stop) => {
                    tracing::info!(job = %self.job.id, "the job was cancelled or taken back: stopping it");
                    self.stop.cancel();
                    return;
                }
                Err(error) => tracing::warn!(job = %self.job.id, %error, "ping failed"),
            }
        }
    }
}
