//! The NCBI BLAST URL API backend (spec/blast.md §2): Put, SearchInfo, JSON2 zip.

use std::time::Duration;

use tokio::sync::Semaphore;

use super::ncbi_reply::{parse_put_reply, parse_search_info, read_result_zip, SearchStatus};
use super::transform::transform;
use super::Failure;

/// What a status check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    Waiting,
    /// The transformed result, as JSON text.
    Done(String),
}

pub struct Ncbi {
    client: reqwest::Client,
    url: String,
    database: String,
    email: Option<String>,
    /// Courtesy limits per instance (§2.3): one submission, three status/result requests at a time.
    submissions: Semaphore,
    checks: Semaphore,
}

const BACKGROUND_TIMEOUT: Duration = Duration::from_secs(30);
const INTERPRET_ERROR: &str = "Unable to interpret NCBI result";

impl Ncbi {
    pub fn new(url: &str, database: &str, email: Option<&str>) -> anyhow::Result<Ncbi> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("vira/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Ncbi {
            client,
            url: url.to_owned(),
            database: database.to_owned(),
            email: email.map(str::to_owned),
            submissions: Semaphore::new(1),
            checks: Semaphore::new(3),
        })
    }

    fn put_url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("CMD", "Put")
            .append_pair("DATABASE", &self.database)
            .append_pair("PROGRAM", "blastn")
            .append_pair("MEGABLAST", "on")
            .append_pair("HITLIST_SIZE", "5")
            .append_pair("FILTER", "mL")
            .append_pair("FORMAT_TYPE", "JSON2")
            .append_pair("TOOL", "vira");
        if let Some(email) = &self.email {
            query.append_pair("EMAIL", email);
        }
        format!("{}?{}", self.url, query.finish())
    }

    /// Submit a query; the RID on success. `timeout` bounds the whole request.
    pub async fn submit(&self, sequence: &str, timeout: Duration) -> Result<String, Failure> {
        let _slot = self.submissions.acquire().await.map_err(transient)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("QUERY", sequence)
            .finish();
        let request = self
            .client
            .post(self.put_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .timeout(timeout);
        let response = send(request).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure::Permanent(format!(
                "NCBI rejected the BLAST request (HTTP {})",
                status.as_u16()
            )));
        }
        let page = response.text().await.map_err(transient)?;
        match parse_put_reply(&page) {
            Some((rid, rtoe)) => {
                tracing::info!(rid, rtoe, "NCBI accepted a BLAST search");
                Ok(rid)
            }
            None => Err(Failure::Permanent(
                "NCBI did not return a request ID".to_owned(),
            )),
        }
    }

    /// Check a RID; fetch and transform the result once NCBI says it is ready.
    pub async fn check(&self, rid: &str) -> Result<Checked, Failure> {
        let _slot = self.checks.acquire().await.map_err(transient)?;
        let url = format!(
            "{}?CMD=Get&RID={}&FORMAT_OBJECT=SearchInfo",
            self.url,
            encode(rid)
        );
        let response = self.get(&url).await?;
        if !response.status().is_success() {
            // SearchInfo 4xx is transient too (§2.2): the deadline ends it.
            return Err(Failure::Transient(format!("HTTP {}", response.status())));
        }
        let page = response.text().await.map_err(transient)?;
        match parse_search_info(&page) {
            SearchStatus::Waiting | SearchStatus::Unreadable => Ok(Checked::Waiting),
            SearchStatus::Failed => Err(Failure::Permanent(
                "NCBI reported the search as failed".to_owned(),
            )),
            SearchStatus::Unknown => Err(Failure::Permanent(
                "NCBI does not know this search (expired or invalid request ID)".to_owned(),
            )),
            SearchStatus::Ready => self.fetch(rid).await.map(Checked::Done),
        }
    }

    async fn fetch(&self, rid: &str) -> Result<String, Failure> {
        let url = format!(
            "{}?CMD=Get&RID={}&FORMAT_TYPE=JSON2&FORMAT_OBJECT=Alignment",
            self.url,
            encode(rid)
        );
        let response = self.get(&url).await?;
        if !response.status().is_success() {
            return Err(Failure::Permanent(INTERPRET_ERROR.to_owned()));
        }
        let body = response.bytes().await.map_err(transient)?;
        let rid = rid.to_owned();
        let result = tokio::task::spawn_blocking(move || {
            let doc = read_result_zip(&body, &rid)?;
            let result = transform(&doc, None).map_err(|e| e.to_string())?;
            serde_json::to_string(&result).map_err(|e| e.to_string())
        })
        .await
        .map_err(transient)?;
        result.map_err(|reason| {
            tracing::warn!(reason, "unusable NCBI result");
            Failure::Permanent(INTERPRET_ERROR.to_owned())
        })
    }

    /// A background GET.
    async fn get(&self, url: &str) -> Result<reqwest::Response, Failure> {
        send(self.client.get(url).timeout(BACKGROUND_TIMEOUT)).await
    }
}

/// Send a request: network errors, 5xx and 429 are transient (spec/blast.md §2.2).
async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, Failure> {
    let response = request.send().await.map_err(transient)?;
    let status = response.status();
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(Failure::Transient(format!("HTTP {status}")));
    }
    Ok(response)
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn transient(error: impl std::fmt::Display) -> Failure {
    Failure::Transient(error.to_string())
}
