//! The worker's client of the jobs API: every request `vira worker` makes (workflows §7, contract
//! §6), with the runner credential for claims and the job's own credential for the rest.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::pipe::{PipeReader, PipeWriter};
use crate::model::workflow::Workflow;

/// Basic credentials: `runner-<id>:<key>` or `job-<id>:<key>`.
#[derive(Clone)]
pub struct Credential {
    pub login: String,
    pub key: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        write!(f, "Credential({})", self.login)
    }
}

impl Credential {
    /// `runner-<id>:<key>` as printed by `vira runner create`.
    pub fn parse_runner(text: &str) -> Option<Credential> {
        let (login, key) = text.trim().split_once(':')?;
        (login.starts_with("runner-") && login.len() > 7 && !key.is_empty()).then(|| Credential {
            login: login.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// A job handed out by a claim (J8): its id, credential, workflow and arguments.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub credential: Credential,
    pub workflow: Workflow,
    pub args: Value,
}

/// What a ping (J7) says about the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    Continue,
    /// Cancelled, or the key no longer works (released, requeued) or the job is gone: stop now.
    Stop,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server answered something else than the route's success.
    #[error("{method} {path} answered {status}: {message}")]
    Status {
        method: Method,
        path: String,
        status: u16,
        message: String,
    },
    /// No answer: connection refused or cut, a timeout.
    #[error("{method} {path}: {source}")]
    Connection {
        method: Method,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// An answer that is not what the route promises.
    #[error("{method} {path}: unexpected reply ({reason})")]
    Reply {
        method: Method,
        path: String,
        reason: String,
    },
    /// No answer within the read timeout after the content of a streamed upload was finished.
    #[error("{method} {path}: no answer within {} s", after.as_secs())]
    Silent {
        method: Method,
        path: String,
        after: Duration,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl CallError {
    /// Worth trying again later (the server is restarting, overloaded or unreachable).
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Connection { .. } | CallError::Silent { .. } => true,
            CallError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The jobs API at one base URL (`…/jobs-api`).
#[derive(Debug, Clone)]
pub struct JobsApi {
    http: reqwest::Client,
    /// For uploads whose content is made while they run: reqwest's read timeout counts from the
    /// start of the request to its answer, which the content's making may outlast (the caller
    /// times the answer from the content's end instead).
    streaming: reqwest::Client,
    base: String,
    /// The path part of `base` (`/jobs-api`), so errors name the path as the server sees it.
    base_path: String,
}

impl JobsApi {
    pub fn new(base: &str, connect_timeout: Duration, read_timeout: Duration) -> JobsApi {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(connect_timeout)
                .no_proxy()
        };
        let built = "an HTTP client without custom TLS builds";
        let http = builder().read_timeout(read_timeout).build().expect(built);
        let streaming = builder().build().expect(built);
        let base = base.trim_end_matches('/').to_owned();
        let base_path = reqwest::Url::parse(&base)
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        JobsApi {
            http,
            streaming,
            base,
            base_path,
        }
    }

    fn request(&self, method: Method, path: &str, who: &Credential) -> reqwest::RequestBuilder {
        Self::request_with(&self.http, &self.base, method, path, who)
    }

    fn request_with(
        http: &reqwest::Client,
        base: &str,
        method: Method,
        path: &str,
        who: &Credential,
    ) -> reqwest::RequestBuilder {
        http.request(method, format!("{base}{path}"))
            .basic_auth(&who.login, Some(&who.key))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, CallError> {
        request
            .send()
            .await
            .map_err(|source| CallError::Connection {
                method,
                path: self.full(path),
                source,
            })
    }

    /// `path` as the server sees it, for messages.
    pub(super) fn full(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }

    /// The status error for an unexpected answer, with the server's message when it sent one.
    async fn unexpected(
        &self,
        method: Method,
        path: &str,
        response: reqwest::Response,
    ) -> CallError {
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        CallError::Status {
            method,
            path: self.full(path),
            status,
            message,
        }
    }

    /// A request whose success is `expected`, answered with JSON.
    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        who: &Credential,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> Result<T, CallError> {
        let mut request = self.request(method.clone(), path, who);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = self.send(method.clone(), path, request).await?;
        if response.status() != expected {
            return Err(self.unexpected(method, path, response).await);
        }
        self.read_json(method, path, response).await
    }

    /// The JSON body of a reply.
    async fn read_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        response: reqwest::Response,
    ) -> Result<T, CallError> {
        let bytes = response
            .bytes()
            .await
            .map_err(|source| CallError::Connection {
                method: method.clone(),
                path: self.full(path),
                source,
            })?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::Reply {
            method,
            path: self.full(path),
            reason: e.to_string(),
        })
    }

    /// J8: the oldest claimable job of `workflows`, or `None`.
    pub async fn claim(
        &self,
        runner: &Credential,
        workflows: &[Workflow],
    ) -> Result<Option<ClaimedJob>, CallError> {
        let query: Vec<String> = workflows
            .iter()
            .map(|w| format!("workflow={}", w.as_str()))
            .collect();
        let path = format!("/jobs/claim?{}", query.join("&"));
        let request = self.request(Method::POST, &path, runner);
        let response = self.send(Method::POST, &path, request).await?;
        match response.status() {
            StatusCode::NO_CONTENT => Ok(None),
            StatusCode::OK => {
                let job: Value = self.read_json(Method::POST, &path, response).await?;
                parse_claimed(&job)
                    .ok_or_else(|| CallError::Reply {
                        method: Method::POST,
                        path: self.full(&path),
                        reason: "the job lacks id, key, workflow or args".to_owned(),
                    })
                    .map(Some)
            }
            _ => Err(self.unexpected(Method::POST, &path, response).await),
        }
    }

    /// J7.
    pub async fn ping(&self, job: &ClaimedJob) -> Result<Ping, CallError> {
        let path = format!("/jobs/{}/ping", job.id);
        let request = self.request(Method::PUT, &path, &job.credential);
        let response = self.send(Method::PUT, &path, request).await?;
        match response.status() {
            StatusCode::OK => {
                let body: Value = self
                    .read_json(Method::PUT, &path, response)
                    .await
                    .unwrap_or(Value::Null);
                Ok(if body["cancelled"] == Value::Bool(true) {
                    Ping::Stop
                } else {
                    Ping::Continue
                })
            }
            StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND => Ok(Ping::Stop),
            _ => Err(self.unexpected(Method::PUT, &path, response).await),
        }
    }

    /// J2: one status entry.
    pub async fn push_status(&self, job: &ClaimedJob, entry: &Value) -> Result<(), CallError> {
        let path = format!("/jobs/{}/status", job.id);
        self.json::<Value>(
            Method::POST,
            &path,
            &job.credential,
            Some(entry),
            StatusCode::CREATED,
        )
        .await
        .map(drop)
    }

    /// J10: give the job back.
    pub async fn release(&self, job: &ClaimedJob) -> Result<(), CallError> {
        let path = format!("/jobs/{}/release", job.id);
        self.json::<Value>(Method::POST, &path, &job.credential, None, StatusCode::OK)
            .await
            .map(drop)
    }

    /// A GET answered 200 with JSON (J3, J11, J17, J22).
    pub async fn get<T: DeserializeOwned>(
        &self,
        job: &ClaimedJob,
        path: &str,
    ) -> Result<T, CallError> {
        self.json(Method::GET, path, &job.credential, None, StatusCode::OK)
            .await
    }

    /// A PATCH with a JSON body answered 200 (J4, J12, J20, J25).
    pub async fn patch(
        &self,
        job: &ClaimedJob,
        path: &str,
        body: &Value,
    ) -> Result<Value, CallError> {
        self.json(
            Method::PATCH,
            path,
            &job.credential,
            Some(body),
            StatusCode::OK,
        )
        .await
    }

    /// Stream a download (J14, J16, J18, J23, J28) into `dest`; the bytes written.
    pub async fn download(
        &self,
        job: &ClaimedJob,
        path: &str,
        dest: &Path,
    ) -> Result<u64, CallError> {
        let mut download = self.open_download(job, path).await?;
        let file_error = |source| CallError::File {
            path: dest.display().to_string(),
            source,
        };
        let mut file = tokio::fs::File::create(dest).await.map_err(file_error)?;
        let mut written = 0u64;
        while let Some(chunk) = download.chunk().await? {
            file.write_all(&chunk).await.map_err(file_error)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(file_error)?;
        Ok(written)
    }

    /// A download (J14, J16, …) answered 200, its body still to be read.
    pub async fn open_download(&self, job: &ClaimedJob, path: &str) -> Result<Download, CallError> {
        let request = self.request(Method::GET, path, &job.credential);
        let response = self.send(Method::GET, path, request).await?;
        if response.status() != StatusCode::OK {
            return Err(self.unexpected(Method::GET, path, response).await);
        }
        Ok(Download {
            body: Box::pin(response.bytes_stream()),
            path: self.full(path),
        })
    }

    /// Stream `file` as the multipart part `file` named `name` (J6 with POST, J15, J19, J24 with
    /// PUT); the 201 body.
    pub async fn upload(
        &self,
        job: &ClaimedJob,
        method: Method,
        path: &str,
        file: &Path,
        name: &str,
    ) -> Result<Value, CallError> {
        let file_error = |source| CallError::File {
            path: file.display().to_string(),
            source,
        };
        let opened = tokio::fs::File::open(file).await.map_err(file_error)?;
        let length = opened.metadata().await.map_err(file_error)?.len();
        let stream = tokio_util::io::ReaderStream::with_capacity(opened, 256 << 10);
        let part = reqwest::multipart::Part::stream_with_length(
            reqwest::Body::wrap_stream(stream),
            length,
        );
        self.upload_part(&self.http, job, method, path, part, name)
            .await
    }

    /// Upload the content `content` yields as it is made (J15 while the reads are checked), as
    /// [`JobsApi::upload`] does a file. An error of `content` cuts the request off, so the server
    /// stores nothing. No read timeout: the caller times the answer from the content's end.
    pub async fn upload_streamed(
        &self,
        job: &ClaimedJob,
        method: Method,
        path: &str,
        content: PipeReader,
        name: &str,
    ) -> Result<Value, CallError> {
        let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(content));
        self.upload_part(&self.streaming, job, method, path, part, name)
            .await
    }

    async fn upload_part(
        &self,
        http: &reqwest::Client,
        job: &ClaimedJob,
        method: Method,
        path: &str,
        part: reqwest::multipart::Part,
        name: &str,
    ) -> Result<Value, CallError> {
        let part = part
            .file_name(name.to_owned())
            .mime_str("application/octet-stream")
            .expect("a valid MIME type");
        let form = reqwest::multipart::Form::new().part("file", part);
        let request = Self::request_with(http, &self.base, method.clone(), path, &job.credential)
            .multipart(form);
        let response = self.send(method.clone(), path, request).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.unexpected(method, path, response).await);
        }
        self.read_json(method, path, response).await
    }
}

/// The body of a download answered 200.
pub struct Download {
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    /// The path as the server sees it, for errors.
    path: String,
}

impl Download {
    /// The next chunk of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, CallError> {
        self.body
            .next()
            .await
            .transpose()
            .map_err(|source| CallError::Connection {
                method: Method::GET,
                path: self.path.clone(),
                source,
            })
    }

    /// The whole body into `pipe`, then its end; stops early, without an error, once the reading
    /// end is gone (it needs no more).
    pub async fn into_pipe(mut self, pipe: PipeWriter) -> Result<(), CallError> {
        while let Some(chunk) = self.chunk().await? {
            if pipe.send(chunk).await.is_err() {
                return Ok(());
            }
        }
        pipe.finish();
        Ok(())
    }
}

/// The claimed job of a J8 body (the full job plus `key`).
fn parse_claimed(job: &Value) -> Option<ClaimedJob> {
    let id = job["id"].as_str()?.to_owned();
    let key = job["key"].as_str()?.to_owned();
    Some(ClaimedJob {
        credential: Credential {
            login: format!("job-{id}"),
            key,
        },
        id,
        workflow: Workflow::parse(job["workflow"].as_str()?)?,
        args: job.get("args")?.clone(),
    })
}
