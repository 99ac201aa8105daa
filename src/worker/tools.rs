//! External tools (bowtie2, bowtie2-build, …) run in a process group of their own, so that a
//! cancelled job takes every process the tool started with it: SIGTERM to the group, SIGKILL after
//! the kill grace. The last lines of standard error are kept for the job's error.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// Lines of standard error kept for a failure report, and the longest line kept.
const STDERR_LINES: usize = 20;
const STDERR_LINE_BYTES: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{tool} could not be started: {source}")]
    NotStarted {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    /// Exited unsuccessfully: the details of the job's `ToolError`.
    #[error("{tool} exited with {status}")]
    Failed {
        tool: String,
        status: String,
        stderr: Vec<String>,
    },
    /// The job was cancelled and the tool killed.
    #[error("{tool} was stopped: the job was cancelled")]
    Cancelled { tool: String },
    /// What the caller did with the tool's output failed.
    #[error("{0}")]
    Output(String),
}

/// One invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub dir: PathBuf,
}

impl Invocation {
    pub fn new(program: &Path, dir: &Path) -> Invocation {
        Invocation {
            program: program.to_owned(),
            args: Vec::new(),
            dir: dir.to_owned(),
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Invocation {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Invocation {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The program's name for messages (`bowtie2`, not its path).
    pub fn name(&self) -> String {
        self.program.file_name().map_or_else(
            || self.program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        command
    }
}

/// Run to the end with standard output discarded.
pub async fn run(
    invocation: &Invocation,
    cancel: &CancellationToken,
    kill_grace: Duration,
) -> Result<(), ToolError> {
    run_with_lines(invocation, cancel, kill_grace, |_| Ok(())).await
}

/// Run to the end, handing each line of standard output (without its `\n`) to `on_line` as it
/// arrives: nothing of the output is kept beyond one line. The lines are read and handled on this
/// thread, taken out of the async runtime for the while (`block_in_place`: a multi-threaded
/// runtime is needed), so a tool's millions of lines never hold up other tasks; a cancellation
/// kills the tool's process group, which ends its output.
pub async fn run_with_lines(
    invocation: &Invocation,
    cancel: &CancellationToken,
    kill_grace: Duration,
    mut on_line: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), ToolError> {
    let tool = invocation.name();
    // The exact command line, as a JSON list, so a run can be repeated alone (`vira-bench
    // --workflows` re-runs a job's tools from its kept work directory to time the aligner).
    let argv: Vec<String> = std::iter::once(invocation.program.as_os_str())
        .chain(invocation.args.iter().map(OsString::as_os_str))
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    tracing::info!(
        tool = %tool,
        dir = %invocation.dir.display(),
        argv = %serde_json::Value::from(argv),
        "tool started"
    );
    let mut child = invocation
        .command()
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|source| ToolError::NotStarted {
            tool: tool.clone(),
            source,
        })?;
    let stderr = tokio::spawn(tail(child.stderr.take().expect("piped stderr")));
    let stdout = child
        .stdout
        .take()
        .expect("piped stdout")
        .into_owned_fd()
        .map_err(|e| ToolError::Output(format!("reading the output of {tool}: {e}")))?;
    let group = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32));
    let killer = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            if let Some(group) = group {
                kill_group(group, kill_grace).await;
            }
        })
    };
    let read = tokio::task::block_in_place(|| {
        read_lines(std::fs::File::from(stdout), &mut on_line, &tool)
    });
    // A bad line ends the run: stop the group while the tool is reaped (awaiting the group's end
    // first would wait out the whole grace: the unreaped tool still counts as a member).
    if read.is_err() {
        if let Some(group) = group {
            tokio::spawn(kill_group(group, kill_grace));
        }
    }
    let status = child.wait().await;
    killer.abort();
    if cancel.is_cancelled() {
        return Err(ToolError::Cancelled { tool });
    }
    read?;
    let stderr = stderr.await.unwrap_or_default();
    finished(tool, status, stderr)
}

fn read_lines(
    output: std::fs::File,
    on_line: &mut impl FnMut(&[u8]) -> Result<(), String>,
    tool: &str,
) -> Result<(), ToolError> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::with_capacity(256 << 10, output);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| ToolError::Output(format!("reading the output of {tool}: {e}")))?;
        if read == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        on_line(&line).map_err(ToolError::Output)?;
    }
}

/// SIGTERM to a process group, SIGKILL after `grace` if any of it is still there.
async fn kill_group(group: rustix::process::Pid, grace: Duration) {
    use rustix::process::{kill_process_group, test_kill_process_group, Signal};
    if kill_process_group(group, Signal::TERM).is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        if test_kill_process_group(group).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = kill_process_group(group, Signal::KILL);
}

fn finished(
    tool: String,
    status: std::io::Result<ExitStatus>,
    stderr: Vec<String>,
) -> Result<(), ToolError> {
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(ToolError::Failed {
            tool,
            status: match status.code() {
                Some(code) => format!("status {code}"),
                None => "a signal".to_owned(),
            },
            stderr,
        }),
        Err(source) => Err(ToolError::NotStarted { tool, source }),
    }
}

/// The last lines of a stream (each cut to a bounded length).
async fn tail(stream: impl AsyncRead + Unpin) -> Vec<String> {
    let mut reader = BufReader::new(stream);
    let mut lines = VecDeque::with_capacity(STDERR_LINES);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line[..line.len().min(STDERR_LINE_BYTES)]);
                let text = text.trim_end().to_owned();
                if lines.len() == STDERR_LINES {
                    lines.pop_front();
                }
                lines.push_back(text);
            }
        }
    }
    lines.into()
}

/// `<tool> --version` succeeds: its first line (the start-up check of workflows §9.1).
pub async fn version(program: &Path) -> Result<String, String> {
    let output = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("--version exited with {}", output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().next().unwrap_or("").trim().to_owned())
}
