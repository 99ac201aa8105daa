//! Measurements over real HTTP: latency at one connection, throughput at many, file transfers,
//! and the `cat` reference.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::{Client, Method, StatusCode};

use super::load::{client, Api, Creds};

/// How long and how often to measure (`--quick` shrinks every figure).
#[derive(Debug, Clone)]
pub struct Plan {
    pub warmup: usize,
    pub warmup_budget: Duration,
    pub min_samples: usize,
    pub max_samples: usize,
    pub sample_budget: Duration,
    pub connections: usize,
    pub throughput_for: Duration,
}

impl Plan {
    pub fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                warmup: 1,
                warmup_budget: Duration::from_millis(200),
                min_samples: 2,
                max_samples: 10,
                sample_budget: Duration::from_millis(300),
                connections: 16,
                throughput_for: Duration::from_millis(500),
            }
        } else {
            Plan {
                warmup: 5,
                warmup_budget: Duration::from_secs(2),
                min_samples: 5,
                max_samples: 500,
                sample_budget: Duration::from_secs(5),
                connections: 16,
                throughput_for: Duration::from_secs(5),
            }
        }
    }
}

/// How a measured request authenticates.
#[derive(Clone)]
pub enum Auth {
    Key(Creds),
    /// A session cookie (`name=value`), as the pages are requested.
    Cookie(String),
    Anonymous,
}

/// One GET measured end to end: status line, headers and the whole body.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub auth: Auth,
    /// The status every reply must have.
    pub status: StatusCode,
    /// Extra request headers (e.g. `Accept-Encoding`).
    pub headers: Vec<(&'static str, String)>,
}

impl Target {
    /// An API GET as the administrator, answered 200.
    pub fn new(api: &Api, path: &str) -> Target {
        Target {
            url: format!("{}{path}", api.base),
            auth: Auth::Key(api.admin.clone()),
            status: StatusCode::OK,
            headers: Vec::new(),
        }
    }

    /// A page, with the session cookie.
    pub fn page(api: &Api, cookie: &str, path: &str) -> Target {
        Target {
            auth: Auth::Cookie(cookie.to_owned()),
            ..Target::new(api, path)
        }
    }

    /// No credentials, answered `status` (the floor: an unauthenticated 404).
    pub fn anonymous(api: &Api, path: &str, status: StatusCode) -> Target {
        Target {
            auth: Auth::Anonymous,
            status,
            ..Target::new(api, path)
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Target {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// Fetch once, discarding the body as it arrives; the body size.
    pub async fn fetch(&self, client: &Client) -> Result<u64> {
        let mut request = client.get(&self.url);
        match &self.auth {
            Auth::Key(creds) => request = request.basic_auth(&creds.login, Some(&creds.key)),
            Auth::Cookie(cookie) => request = request.header("cookie", cookie),
            Auth::Anonymous => {}
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let mut response = request.send().await?;
        if response.status() != self.status {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            bail!("GET {}: {status}: {body}", self.url);
        }
        let mut size = 0u64;
        while let Some(chunk) = response.chunk().await? {
            size += chunk.len() as u64;
        }
        Ok(size)
    }
}

/// Latency percentiles of sequential requests on one connection.
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub samples: usize,
    pub body_bytes: u64,
}

/// Warm up, then sample until `max_samples` or the time budget (at least `min_samples`).
pub async fn latency(target: &Target, plan: &Plan) -> Result<Latency> {
    let client = client()?;
    let start = Instant::now();
    for i in 0..plan.warmup.max(1) {
        target.fetch(&client).await?;
        if i > 0 && start.elapsed() > plan.warmup_budget {
            break;
        }
    }
    let mut times = Vec::new();
    let mut body_bytes = 0;
    let start = Instant::now();
    while times.len() < plan.max_samples
        && (times.len() < plan.min_samples || start.elapsed() < plan.sample_budget)
    {
        let t = Instant::now();
        body_bytes = target.fetch(&client).await?;
        times.push(t.elapsed());
    }
    times.sort_unstable();
    Ok(Latency {
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
        samples: times.len(),
        body_bytes,
    })
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Completed requests per second of `connections` tasks, each with its own client (and so its
/// own connection), requesting back to back for `plan.throughput_for`. Requests in flight at the
/// deadline are completed and counted; the rate divides by the time until the last one ends.
pub async fn throughput(target: &Target, plan: &Plan) -> Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..plan.connections {
        clients.push(client()?);
    }
    let start = Instant::now();
    let deadline = start + plan.throughput_for;
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        let (target, done) = (target.clone(), done.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                target.fetch(&client).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// Write `size` deterministic pseudo-random bytes (xorshift64) in 1 MiB chunks.
pub fn generate_file(path: &Path, size: u64) -> Result<()> {
    const CHUNK: usize = 1 << 20;
    let mut file = std::io::BufWriter::with_capacity(
        CHUNK,
        std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?,
    );
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; CHUNK];
    let mut left = size;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(CHUNK as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(())
}

/// `cat FILE > /dev/null`; the time it took.
pub fn cat(path: &Path) -> Result<Duration> {
    let start = Instant::now();
    let status = Command::new("cat")
        .arg(path)
        .stdout(std::fs::File::create("/dev/null")?)
        .stderr(Stdio::null())
        .status()
        .context("run cat")?;
    let elapsed = start.elapsed();
    if !status.success() {
        bail!("cat {} failed: {status}", path.display());
    }
    Ok(elapsed)
}

/// U6: stream `path` as the multipart `file` part (known length, never held in memory); the
/// time until the 201 and the new file's id.
pub async fn upload(
    api: &Api,
    analysis_id: &str,
    path: &Path,
    name: &str,
) -> Result<(Duration, u64)> {
    let size = std::fs::metadata(path)?.len();
    let file = tokio::fs::File::open(path).await?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), size)
            .file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let request = api
        .request(
            Method::POST,
            &format!("/api/analyses/{analysis_id}/files?name={name}"),
            Some(&api.admin),
        )
        .multipart(form);
    let start = Instant::now();
    let body = api.expect(request, StatusCode::CREATED).await?;
    let elapsed = start.elapsed();
    let record: serde_json::Value = serde_json::from_slice(&body)?;
    let id = record
        .get("id")
        .and_then(serde_json::Value::as_u64)
        .context("no file id in the upload reply")?;
    Ok((elapsed, id))
}

/// U7: read and discard the file, counting bytes; the time and the byte count.
pub async fn download(api: &Api, analysis_id: &str, file_id: u64) -> Result<(Duration, u64)> {
    let target = Target::new(api, &format!("/api/analyses/{analysis_id}/files/{file_id}"));
    let client = client()?;
    let start = Instant::now();
    let size = target.fetch(&client).await?;
    Ok((start.elapsed(), size))
}
