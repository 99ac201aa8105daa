//! Jobs run by an embedded worker (`vira serve --workers 1`): creating them through the user API,
//! waiting for them (U31), their wall time from their status entries, and the tool command lines
//! the worker logged, re-run alone as the floor.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::DateTime;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::load::Api;
use super::reads_transfer::send_file;

/// The longest any job may take before the run gives up.
const JOB_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
const POLL: Duration = Duration::from_millis(200);

impl Api {
    /// POST JSON as the administrator, expecting 201; the created object.
    pub async fn created(&self, path: &str, body: &Value) -> Result<Value> {
        let request = self
            .request(Method::POST, path, Some(&self.admin))
            .header("content-type", "application/json")
            .body(body.to_string());
        Ok(serde_json::from_slice(
            &self.expect(request, StatusCode::CREATED).await?,
        )?)
    }

    /// U21, streamed from disk; the upload id.
    pub async fn upload(&self, file: &Path, name: &str, kind: &str) -> Result<u64> {
        let path = format!("/api/uploads?name={name}&type={kind}");
        let (_, upload) = send_file(self, Method::POST, &path, &self.admin, file).await?;
        upload["id"].as_u64().context("no upload id")
    }

    /// U31 until the job is complete; the job. A job that ended otherwise fails the run.
    pub async fn wait_for_job(&self, job_id: &str) -> Result<Value> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        while Instant::now() < deadline {
            let request = self.request(
                Method::GET,
                &format!("/api/jobs/{job_id}"),
                Some(&self.admin),
            );
            let job: Value = serde_json::from_slice(&self.expect(request, StatusCode::OK).await?)?;
            match job["state"].as_str() {
                Some("complete") => return Ok(job),
                Some("error" | "cancelled" | "terminated" | "timeout") => {
                    let last = job["status"].as_array().and_then(|s| s.last()).cloned();
                    bail!(
                        "{} job {job_id} ended {}: {}",
                        job["workflow"],
                        job["state"],
                        last.map_or(Value::Null, |s| s["error"].clone())
                    );
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
        bail!("job {job_id} did not finish within {JOB_TIMEOUT:?}")
    }
}

/// The id of the job summary in an object's `job`.
pub fn job_id(object: &Value) -> Result<String> {
    object["job"]["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "no job in {}",
                object.to_string().chars().take(300).collect::<String>()
            )
        })
}

fn timestamp(entry: &Value) -> Result<DateTime<chrono::FixedOffset>> {
    let text = entry["timestamp"]
        .as_str()
        .context("a status entry without timestamp")?;
    Ok(DateTime::parse_from_rfc3339(text)?)
}

fn between(from: &Value, to: &Value) -> Result<Duration> {
    Ok((timestamp(to)? - timestamp(from)?)
        .to_std()
        .unwrap_or_default())
}

/// A finished job's wall time: its first `preparing` or `running` entry to its `complete` one.
pub fn wall(job: &Value) -> Result<Duration> {
    let status = job["status"].as_array().context("no status list")?;
    let start = status
        .iter()
        .find(|s| matches!(s["state"].as_str(), Some("preparing" | "running")))
        .context("no preparing entry")?;
    let end = status
        .iter()
        .rfind(|s| s["state"] == "complete")
        .context("no complete entry")?;
    between(start, end)
}

/// Each stage's time (from its entry to the next), `preparing` included: `name 1.2 s, …`.
pub fn stages(job: &Value) -> String {
    let status = job["status"].as_array().cloned().unwrap_or_default();
    let mut parts = Vec::new();
    for pair in status.windows(2) {
        let name = match pair[0]["state"].as_str() {
            Some("running") => pair[0]["stage"].as_str().unwrap_or("?").to_owned(),
            Some("preparing") => "preparing".to_owned(),
            _ => continue,
        };
        if let Ok(d) = between(&pair[0], &pair[1]) {
            parts.push(format!("{name} {:.2} s", d.as_secs_f64()));
        }
    }
    parts.join(", ")
}

/// One tool run the worker logged (`tool started`, `--log-format json`).
#[derive(Debug, Clone)]
pub struct ToolRun {
    pub argv: Vec<String>,
    pub dir: PathBuf,
}

/// The tool runs of job `job_id` (its work directory is `<work dir>/<job id>`), in order.
pub fn tool_runs(log: &Path, job_id: &str) -> Result<Vec<ToolRun>> {
    let text = std::fs::read_to_string(log).with_context(|| format!("read {}", log.display()))?;
    let mut runs = Vec::new();
    for line in text.lines().filter(|l| l.contains("tool started")) {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let fields = &entry["fields"];
        let dir = PathBuf::from(fields["dir"].as_str().unwrap_or_default());
        if dir.file_name().and_then(|n| n.to_str()) != Some(job_id) {
            continue;
        }
        let argv: Vec<String> = serde_json::from_str(fields["argv"].as_str().unwrap_or("[]"))?;
        if argv.is_empty() {
            bail!("a tool run without argv: {line}");
        }
        runs.push(ToolRun { argv, dir });
    }
    Ok(runs)
}

/// Run `runs` one after the other, alone, output discarded; their time in all. `isolate_mapped.fq`
/// is copied to `current.fq` first (untimed): the subtraction pass read that copy, which step 4
/// then rewrote in the kept directory.
pub fn run_alone(runs: &[ToolRun]) -> Result<Duration> {
    let mut total = Duration::ZERO;
    for run in runs {
        if run.argv.iter().any(|a| a.ends_with("current.fq")) {
            std::fs::copy(
                run.dir.join("isolate_mapped.fq"),
                run.dir.join("current.fq"),
            )
            .context("restore current.fq")?;
        }
        let start = Instant::now();
        let output = Command::new(&run.argv[0])
            .args(&run.argv[1..])
            .current_dir(&run.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("run {}", run.argv[0]))?;
        total += start.elapsed();
        if !output.status.success() {
            bail!(
                "{} failed alone: {}",
                run.argv.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    Ok(total)
}

/// The names of the programs of `runs`: `bowtie2 ×3, bowtie2-build ×1`.
pub fn programs(runs: &[ToolRun]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for run in runs {
        let name = Path::new(&run.argv[0])
            .file_name()
            .map_or_else(|| run.argv[0].clone(), |n| n.to_string_lossy().into_owned());
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    counts
        .iter()
        .map(|(n, c)| format!("{n} x{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// U11 with one reads upload; the sample's id and its `create_sample` job's id.
pub async fn create_sample(api: &Api, name: &str, upload: u64) -> Result<(String, String)> {
    let sample = api
        .created("/api/samples", &json!({"name": name, "files": [upload]}))
        .await?;
    let id = sample["id"].as_str().context("no sample id")?.to_owned();
    Ok((id, job_id(&sample)?))
}
