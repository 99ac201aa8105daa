//! The test harness: a real `vira` server on an ephemeral port with a fresh database per test.
//!
//! Every test runs twice through the `both!` macro: on SQLite and on PostgreSQL. The PostgreSQL run
//! creates a uniquely named database on the server at `VIRA_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and drops it afterwards; it is skipped, with a printed
//! reason, only when no server answers there.

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

use vira::app::{App, AppState};
use vira::config::{ServeConfig, StorageOptions};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Run a test body once per backend: `both!(name, |app| async move { … });`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite)
                    .await
                    .expect("start vira on SQLite");
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) =
                    $crate::support::TestApp::spawn($crate::support::Backend::Postgres).await
                else {
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}

pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures")).join(path)
}

pub fn fixture_bytes(path: &str) -> Vec<u8> {
    std::fs::read(fixture(path)).unwrap_or_else(|e| panic!("read fixture {path}: {e}"))
}

/// A PostgreSQL database that exists for one test.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async context guarantees: use a private runtime on a plain thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
                }
            });
        })
        .join();
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("VIRA_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// Create a fresh PostgreSQL database; `None` (with the reason printed) when no server answers.
async fn create_pg_database() -> Option<(String, PgDatabase)> {
    use sqlx::Connection;
    let admin_url = pg_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(e) => {
            eprintln!("SKIPPED PostgreSQL run: no server answers at {admin_url}: {e}");
            return None;
        }
    };
    let name = format!("vira_test_{}", vira::model::ids::new_id());
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .unwrap_or(admin_url.clone());
    let url = format!("{base}/{name}");
    Some((url, PgDatabase { admin_url, name }))
}

pub struct TestApp {
    pub base: String,
    pub app: AppState,
    pub client: reqwest::Client,
    pub admin: Creds,
    pub backend: Backend,
    pub data: Arc<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _pg: Option<PgDatabase>,
}

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

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Start vira with a configuration adjusted by `configure`.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> Option<TestApp> {
        let data = Arc::new(TempDir::new().expect("tempdir"));
        let (database_url, pg) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let (url, db) = create_pg_database().await?;
                (Some(url), Some(db))
            }
        };
        let mut config = ServeConfig::with_storage(StorageOptions {
            data_path: data.path().to_path_buf(),
            database_url,
        });
        configure(&mut config);
        let app = App::build(config).await.expect("build app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn({
            let app = app.clone();
            async move {
                vira::server::run(app, listener, None, async {
                    let _ = stopped.await;
                })
                .await
                .expect("server");
            }
        });
        let admin = vira::api::users::create_user(&app, "admin", true, &[])
            .await
            .expect("create admin");
        Some(TestApp {
            base,
            app,
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            admin: Creds {
                login: "admin".into(),
                key: admin.key.unwrap(),
            },
            backend,
            data,
            stop: Some(stop),
            server: Some(server),
            _pg: pg,
        })
    }

    /// Stop the server, waiting for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body").to_vec();
        Reply {
            status,
            headers,
            bytes,
        }
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        creds: Option<&Creds>,
    ) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match creds {
            Some(c) => builder.basic_auth(&c.login, Some(&c.key)),
            None => builder,
        }
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

    // ---- one helper per resource, used to set up the state a test needs ----

    /// Create a user through the API; returns its credentials and id.
    pub async fn user(&self, handle: &str, groups: &[&str]) -> (Creds, String) {
        let reply = self
            .post(
                "/api/users",
                &self.admin,
                &serde_json::json!({"handle": handle, "groups": groups}),
            )
            .await;
        reply.assert_status(201);
        let body = reply.json();
        (
            Creds {
                login: handle.to_owned(),
                key: body["key"].as_str().unwrap().to_owned(),
            },
            body["id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn group(&self, name: &str) -> String {
        let reply = self
            .post(
                "/api/groups",
                &self.admin,
                &serde_json::json!({ "name": name }),
            )
            .await;
        reply.assert_status(201);
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    pub async fn sample(&self, creds: &Creds, body: Value) -> String {
        let reply = self.post("/api/samples", creds, &body).await;
        reply.assert_status(201);
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// Import a reference fixture and build its first index; returns `(ref_id, index_id)`.
    pub async fn reference(&self, fixture_path: &str) -> (String, String) {
        let reply = self
            .multipart(
                Method::POST,
                "/api/refs/import",
                &self.admin,
                "ref.json.gz",
                fixture_bytes(fixture_path),
            )
            .await;
        reply.assert_status(201);
        let ref_id = reply.json()["id"].as_str().unwrap().to_owned();
        let reply = self
            .post(
                &format!("/api/refs/{ref_id}/indexes"),
                &self.admin,
                &Value::Null,
            )
            .await;
        reply.assert_status(201);
        (ref_id, reply.json()["id"].as_str().unwrap().to_owned())
    }

    /// A small reference (20 OTUs) with an index, for tests that only need one to exist.
    pub async fn small_reference(&self) -> String {
        self.reference("reference/reference.json.gz").await.0
    }

    /// Create an analysis; returns the full response body.
    pub async fn analysis(
        &self,
        creds: &Creds,
        sample_id: &str,
        ref_id: &str,
        workflow: &str,
    ) -> Value {
        let reply = self
            .post(
                &format!("/api/samples/{sample_id}/analyses"),
                creds,
                &serde_json::json!({"ref_id": ref_id, "workflow": workflow}),
            )
            .await;
        reply.assert_status(201);
        reply.json()
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

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
