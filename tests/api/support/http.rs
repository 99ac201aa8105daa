//! Requests and replies: Basic credentials, a reply read whole, and an HTTP client bound to one
//! server (shared by `TestApp` and `Instance`).

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Basic credentials (`handle:key` or `job-<id>:key`).
#[derive(Debug, Clone)]
pub struct Creds {
    pub login: String,
    pub key: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): status {} body {}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_owned())
    }

    /// Assert the status and the error body `{"id", "message"}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, id: &str, message: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        let body = self.json();
        assert_eq!(body["id"], id, "body: {body}");
        assert_eq!(body["message"], message, "body: {body}");
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/json; charset=utf-8")
        );
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        self
    }
}

/// Send a request and read the whole reply.
pub async fn fetch(request: reqwest::RequestBuilder) -> Reply {
    try_fetch(request).await.expect("request")
}

/// Send a request and read the whole reply; the error when the connection failed (a server
/// killed meanwhile).
pub async fn try_fetch(request: reqwest::RequestBuilder) -> reqwest::Result<Reply> {
    let response = request.send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await?.to_vec();
    Ok(Reply {
        status,
        headers,
        bytes,
    })
}

/// Add Basic credentials when given.
pub fn with_creds(
    builder: reqwest::RequestBuilder,
    creds: Option<&Creds>,
) -> reqwest::RequestBuilder {
    match creds {
        Some(c) => builder.basic_auth(&c.login, Some(&c.key)),
        None => builder,
    }
}

/// An HTTP client bound to one server: the request helpers shared by `TestApp` and `Instance`.
#[derive(Clone)]
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

impl Http {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        fetch(request).await
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        creds: Option<&Creds>,
    ) -> reqwest::RequestBuilder {
        with_creds(self.client.request(method, self.url(path)), creds)
    }

    pub async fn get(&self, path: &str, creds: &Creds) -> Reply {
        self.send(self.request(Method::GET, path, Some(creds)))
            .await
    }

    pub async fn delete(&self, path: &str, creds: &Creds) -> Reply {
        self.send(self.request(Method::DELETE, path, Some(creds)))
            .await
    }

    pub async fn json(
        &self,
        method: Method,
        path: &str,
        creds: Option<&Creds>,
        body: &Value,
    ) -> Reply {
        let request = self
            .request(method, path, creds)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(request).await
    }

    pub async fn post(&self, path: &str, creds: &Creds, body: &Value) -> Reply {
        self.json(Method::POST, path, Some(creds), body).await
    }

    pub async fn patch(&self, path: &str, creds: &Creds, body: &Value) -> Reply {
        self.json(Method::PATCH, path, Some(creds), body).await
    }

    /// A multipart request with `bytes` in the part named `file`.
    pub async fn multipart(
        &self,
        method: Method,
        path: &str,
        creds: &Creds,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Reply {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        let form = reqwest::multipart::Form::new().part("file", part);
        self.send(self.request(method, path, Some(creds)).multipart(form))
            .await
    }

    /// Acquire a job; returns the job's credentials.
    pub async fn acquire(&self, job_id: &str) -> Creds {
        let reply = self
            .json(
                Method::PATCH,
                &format!("/jobs-api/jobs/{job_id}"),
                None,
                &serde_json::json!({"acquired": true}),
            )
            .await;
        reply.assert_status(200);
        Creds {
            login: format!("job-{job_id}"),
            key: reply.json()["key"].as_str().unwrap().to_owned(),
        }
    }
}
