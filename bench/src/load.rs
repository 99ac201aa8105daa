//! Loading the benchmark data through the public API: U18 import, U19 index, U20 annotations,
//! U11 sample, U10 create, J1 acquire, J4 finalize.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::Value;

use super::proc::PeakSampler;

/// Basic credentials: a user handle or `job-<id>`, and its key.
#[derive(Clone)]
pub struct Creds {
    pub login: String,
    pub key: String,
}

/// A client of one server, acting as the administrator unless told otherwise.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: Client,
    pub admin: Creds,
}

/// A finalized analysis and what finalizing it cost.
pub struct Finalized {
    pub analysis_id: String,
    pub body_bytes: usize,
    pub times: Vec<Duration>,
    pub peaks: Vec<u64>,
    /// Server RSS before the first finalize.
    pub rss_before: u64,
    /// After each finalize's reply, until its brotli copy (made in the background) was served.
    pub brotli_after: Vec<Duration>,
}

/// A client with one keep-alive connection (HTTP/1.1, no proxy, Nagle off).
pub fn client() -> Result<Client> {
    Ok(Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .build()?)
}

impl Api {
    pub fn request(&self, method: Method, path: &str, creds: Option<&Creds>) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.base));
        match creds {
            Some(c) => builder.basic_auth(&c.login, Some(&c.key)),
            None => builder,
        }
    }

    /// Send, read the whole body, and fail unless the status is `want`.
    pub async fn expect(&self, request: RequestBuilder, want: StatusCode) -> Result<Bytes> {
        let response = request.send().await?;
        let status = response.status();
        let url = response.url().path().to_owned();
        let body = response.bytes().await?;
        if status != want {
            let text = String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned();
            bail!("{url}: expected {want}, got {status}: {text}");
        }
        Ok(body)
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        creds: Option<&Creds>,
        body: impl Into<reqwest::Body>,
        want: StatusCode,
    ) -> Result<Value> {
        let request = self
            .request(method, path, creds)
            .header("content-type", "application/json")
            .body(body);
        Ok(serde_json::from_slice(&self.expect(request, want).await?)?)
    }

    async fn multipart(&self, path: &str, file_name: &str, bytes: Vec<u8>) -> Result<Value> {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        let form = reqwest::multipart::Form::new().part("file", part);
        let request = self
            .request(Method::POST, path, Some(&self.admin))
            .multipart(form);
        Ok(serde_json::from_slice(
            &self.expect(request, StatusCode::CREATED).await?,
        )?)
    }

    /// U18 then U19: a reference imported from `file` with one index; the reference id.
    pub async fn reference(&self, file: &Path, name: &str) -> Result<String> {
        let bytes = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
        let file_name = file.file_name().map_or_else(
            || "otus.json.gz".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let reference = self
            .multipart(&format!("/api/refs/import?name={name}"), &file_name, bytes)
            .await?;
        let ref_id = str_field(&reference, "id")?;
        let path = format!("/api/refs/{ref_id}/indexes");
        self.json(
            Method::POST,
            &path,
            Some(&self.admin),
            "{}",
            StatusCode::CREATED,
        )
        .await?;
        Ok(ref_id)
    }

    /// Sign in (`POST /api/account/login`); the session cookie `name=value` for the pages.
    pub async fn session(&self, handle: &str, password: &str) -> Result<String> {
        let body = serde_json::json!({ "handle": handle, "password": password }).to_string();
        let response = self
            .request(Method::POST, "/api/account/login", None)
            .header("origin", &self.base)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        if response.status() != StatusCode::CREATED {
            bail!("sign-in failed: {}", response.status());
        }
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .context("no session cookie")?;
        Ok(cookie.split(';').next().unwrap_or_default().to_owned())
    }

    /// U20 with a JSON list of annotations.
    pub async fn annotations(&self, list: &Value) -> Result<()> {
        let bytes = serde_json::to_vec(list)?;
        self.multipart("/api/hmms/annotations", "annotations.json", bytes)
            .await?;
        Ok(())
    }

    /// U11: a sample; its id.
    pub async fn sample(&self, name: &str) -> Result<String> {
        let body = serde_json::json!({ "name": name }).to_string();
        let sample = self
            .json(
                Method::POST,
                "/api/samples",
                Some(&self.admin),
                body,
                StatusCode::CREATED,
            )
            .await?;
        str_field(&sample, "id")
    }

    /// U10: an analysis; its id and its job's id.
    pub async fn analysis(
        &self,
        sample: &str,
        ref_id: &str,
        workflow: &str,
    ) -> Result<(String, String)> {
        let body = serde_json::json!({ "ref_id": ref_id, "workflow": workflow }).to_string();
        let path = format!("/api/samples/{sample}/analyses");
        let analysis = self
            .json(
                Method::POST,
                &path,
                Some(&self.admin),
                body,
                StatusCode::CREATED,
            )
            .await?;
        let job = analysis
            .get("job")
            .context("no job in the created analysis")?;
        Ok((str_field(&analysis, "id")?, str_field(job, "id")?))
    }

    /// J1: acquire a job; its credentials.
    pub async fn acquire(&self, job_id: &str) -> Result<Creds> {
        let path = format!("/jobs-api/jobs/{job_id}");
        let job = self
            .json(
                Method::PATCH,
                &path,
                None,
                r#"{"acquired": true}"#,
                StatusCode::OK,
            )
            .await?;
        Ok(Creds {
            login: format!("job-{job_id}"),
            key: str_field(&job, "key")?,
        })
    }

    /// U10 + J1 + J4 `repeats` times with the same finalize body, timing each J4 (request sent
    /// to full response read) and sampling the server's peak RSS during it. The first analysis
    /// is the one measured afterwards.
    pub async fn finalized(
        &self,
        pid: u32,
        sample: &str,
        ref_id: &str,
        workflow: &str,
        body: Bytes,
        repeats: usize,
    ) -> Result<Finalized> {
        let mut done = Finalized {
            analysis_id: String::new(),
            body_bytes: body.len(),
            times: Vec::new(),
            peaks: Vec::new(),
            rss_before: 0,
            brotli_after: Vec::new(),
        };
        for i in 0..repeats.max(1) {
            let (analysis_id, job_id) = self.analysis(sample, ref_id, workflow).await?;
            let creds = self.acquire(&job_id).await?;
            let request = self
                .request(
                    Method::PATCH,
                    &format!("/jobs-api/analyses/{analysis_id}"),
                    Some(&creds),
                )
                .header("content-type", "application/json")
                .body(body.clone());
            let sampler = PeakSampler::start(pid)?;
            if i == 0 {
                done.rss_before = sampler.before();
            }
            let start = Instant::now();
            self.expect(request, StatusCode::OK).await?;
            done.times.push(start.elapsed());
            done.peaks.push(sampler.finish());
            // The next step starts once the background compression is over, so that nothing
            // measured later shares the cores with it.
            let replied = Instant::now();
            self.wait_for_brotli(&analysis_id).await?;
            done.brotli_after.push(replied.elapsed());
            if i == 0 {
                done.analysis_id = analysis_id;
            }
        }
        Ok(done)
    }

    /// Until `GET /api/analyses/{analysis_id}` is answered in br (its brotli copy exists); at
    /// most ten minutes.
    pub async fn wait_for_brotli(&self, analysis_id: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(600);
        let path = format!("/api/analyses/{analysis_id}");
        while Instant::now() < deadline {
            let response = self
                .request(Method::GET, &path, Some(&self.admin))
                .header("accept-encoding", "br")
                .send()
                .await?;
            let br = response
                .headers()
                .get("content-encoding")
                .is_some_and(|v| v == "br");
            response.bytes().await?;
            if br {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("{path}: no brotli copy within ten minutes")
    }

    /// U1's `total_count` (every analysis, for the administrator).
    pub async fn analysis_count(&self) -> Result<u64> {
        let request = self.request(Method::GET, "/api/analyses?per_page=1", Some(&self.admin));
        let list: Value = serde_json::from_slice(&self.expect(request, StatusCode::OK).await?)?;
        list.get("total_count")
            .and_then(Value::as_u64)
            .context("no total_count in the list")
    }

    /// U10 `count` times, `concurrency` at a time.
    pub async fn many_analyses(
        &self,
        sample: &str,
        ref_id: &str,
        count: usize,
        concurrency: usize,
    ) -> Result<()> {
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (api, next) = (self.clone(), next.clone());
            let (sample, ref_id) = (sample.to_owned(), ref_id.to_owned());
            tasks.spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    api.analysis(&sample, &ref_id, "pathoscope_bowtie").await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(result) = tasks.join_next().await {
            result??;
        }
        Ok(())
    }
}

fn str_field(value: &Value, key: &str) -> Result<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no string {key:?} in {}", truncate(value)))
}

fn truncate(value: &Value) -> String {
    let text = value.to_string();
    text.chars().take(300).collect()
}

/// A file's bytes, gunzipped when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 8);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("gunzip {}", path.display()))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The J4 body `{"results": <results>}` around results bytes, without re-encoding them.
pub fn finalize_body(results: &[u8]) -> Bytes {
    let mut body = Vec::with_capacity(results.len() + 16);
    body.extend_from_slice(b"{\"results\": ");
    body.extend_from_slice(results);
    body.extend_from_slice(b"}");
    Bytes::from(body)
}

/// The legacy NuVs results file (a bare list of contigs) wrapped as `{"hits": [...]}`.
pub fn nuvs_results(path: &Path) -> Result<Vec<u8>> {
    let hits: Value = serde_json::from_slice(&read_maybe_gz(path)?)?;
    if !hits.is_array() {
        bail!("{} is not a JSON list", path.display());
    }
    Ok(serde_json::to_vec(&serde_json::json!({ "hits": hits }))?)
}

/// The `annotations` list of the derived HMM ids file.
pub fn hmm_annotations(path: &Path) -> Result<Value> {
    let file: Value = serde_json::from_slice(&read_maybe_gz(path)?)?;
    match file.get("annotations") {
        Some(list @ Value::Array(_)) => Ok(list.clone()),
        _ => bail!("no annotations list in {}", path.display()),
    }
}
