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

/// Run a test body once per backend: `both!(name, |app| async move { … });`, optionally with an
/// adjusted configuration: `both!(name, config = |c| c.max_json_bytes = 10, |app| …);`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        $crate::both!(
            $name,
            config = |_: &mut vira::config::ServeConfig| {},
            $body
        );
    };
    ($name:ident, config = $config:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app =
                    $crate::support::TestApp::spawn_with($crate::support::Backend::Sqlite, $config)
                        .await
                        .expect("start vira on SQLite");
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::support::TestApp::spawn_with(
                    $crate::support::Backend::Postgres,
                    $config,
                )
                .await
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
pub struct PgDatabase {
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

/// Create a fresh PostgreSQL database; `None` (with the reason printed) when no server answers,
/// except with `CI` set, where a missing server fails the test.
pub async fn create_pg_database() -> Option<(String, PgDatabase)> {
    use sqlx::Connection;
    let admin_url = pg_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI is set, so the PostgreSQL half must run, but no server answers at {admin_url}: {e}");
        }
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
    pub http: Http,
    pub app: AppState,
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

/// Send a request and read the whole reply.
pub async fn fetch(request: reqwest::RequestBuilder) -> Reply {
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

impl std::ops::Deref for TestApp {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl std::ops::Deref for Instance {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
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
        let admin = vira::ops::users::create_user(&app, "admin", true, &[])
            .await
            .expect("create admin");
        Some(TestApp {
            http: Http {
                base,
                client: reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .expect("client"),
            },
            app,
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
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// ===================================================================================================
// Scale-out helpers (used by `scaleout.rs`): the test's PostgreSQL database, `vira` processes on one
// database, and a TCP proxy that can cut vira off from PostgreSQL. Additive only.
// ===================================================================================================

/// Polls of a starting `vira serve` process, and the pause between them (bounded: about 30 s).
const INSTANCE_READY_POLLS: u32 = 1200;
const INSTANCE_READY_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

impl PgDatabase {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Terminate every server process connected to this database (as a PostgreSQL restart would,
    /// for this database only); the number of backends terminated.
    pub async fn terminate_backends(&self) -> i64 {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("connect to the PostgreSQL admin database");
        let terminated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
        )
        .bind(&self.name)
        .fetch_one(&mut conn)
        .await
        .expect("pg_terminate_backend");
        terminated
    }
}

impl TestApp {
    /// The test's PostgreSQL database (`None` on SQLite).
    pub fn pg_database(&self) -> Option<&PgDatabase> {
        self._pg.as_ref()
    }
}

/// `host:port` of a `postgres://` URL (port 5432 when absent).
pub fn pg_host_port(url: &str) -> String {
    let (_, hostport, _) = split_pg_url(url);
    if hostport.is_empty() {
        "127.0.0.1:5432".to_owned()
    } else if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'))
    {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    }
}

/// The same URL with its host and port replaced by `addr` (to go through a [`TcpProxy`]).
pub fn pg_url_via(url: &str, addr: std::net::SocketAddr) -> String {
    let (head, _, rest) = split_pg_url(url);
    format!("{head}{addr}{rest}")
}

/// `(scheme://userinfo@, host:port, /database?query)`.
fn split_pg_url(url: &str) -> (&str, &str, &str) {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let after = &url[scheme_end..];
    let authority_end = after.find(['/', '?']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    (
        &url[..scheme_end + host_start],
        &authority[host_start..],
        &after[authority_end..],
    )
}

/// A TCP proxy on 127.0.0.1 in front of PostgreSQL. [`TcpProxy::cut`] closes every proxied
/// connection and the listening socket (new connections are refused, as during a server restart);
/// [`TcpProxy::restore`] listens on the same address again.
pub struct TcpProxy {
    addr: std::net::SocketAddr,
    upstream: String,
    accept: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl TcpProxy {
    pub async fn start(upstream: String) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let proxy = TcpProxy {
            addr: listener.local_addr().unwrap(),
            upstream,
            accept: std::sync::Mutex::new(None),
            conns: Arc::new(std::sync::Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream.clone();
        let conns = self.conns.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut conns = conns.lock().unwrap();
                conns.retain(|c| !c.is_finished());
                conns.push(conn);
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }

    /// Stop listening and close every proxied connection; returns once all sockets are closed.
    pub async fn cut(&self) {
        let accept = self.accept.lock().unwrap().take();
        if let Some(task) = accept {
            task.abort();
            let _ = task.await;
        }
        let conns = std::mem::take(&mut *self.conns.lock().unwrap());
        for conn in conns {
            conn.abort();
            let _ = conn.await;
        }
    }

    /// Listen again on the same address.
    pub async fn restore(&self) {
        let mut last_error = None;
        for _ in 0..100 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => return self.serve(listener),
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("re-bind proxy on {}: {last_error:?}", self.addr);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(task) = self.accept.lock().unwrap().take() {
            task.abort();
        }
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }
}

/// `vira user create --handle <handle> --admin` as a process; the printed key as credentials.
pub async fn create_admin_process(data_path: &std::path::Path, database_url: &str) -> Creds {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vira"))
        .args([
            "user",
            "create",
            "--handle",
            "admin",
            "--admin",
            "--data-path",
        ])
        .arg(data_path)
        .args(["--database-url", database_url])
        .env("VIRA_LOG", "error")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run vira user create");
    assert!(
        output.status.success(),
        "vira user create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).expect("key is UTF-8");
    let key = key.trim();
    assert!(!key.is_empty(), "vira user create printed no key");
    Creds {
        login: "admin".into(),
        key: key.to_owned(),
    }
}

/// How a `vira serve` process is started.
#[derive(Debug, Default)]
pub struct Launch {
    pub open_files: Option<OpenFiles>,
    /// Where its standard error goes (inherited when `None`).
    pub stderr: Option<PathBuf>,
    /// Its `VIRA_LOG` filter (`error` when `None`).
    pub log: Option<&'static str>,
}

/// An open-file limit for a `vira serve` process.
#[derive(Debug, Clone, Copy)]
pub enum OpenFiles {
    /// Only the soft limit is lowered; the hard limit stays (vira should raise it back).
    Soft,
    /// Soft and hard limits both 64.
    Both,
}

impl OpenFiles {
    fn script(self) -> &'static str {
        match self {
            OpenFiles::Soft => "ulimit -S -n 256 && exec \"$@\"",
            OpenFiles::Both => "ulimit -n 64 && exec \"$@\"",
        }
    }
}

/// A `vira serve` process on 127.0.0.1; killed when dropped.
pub struct Instance {
    pub http: Http,
    child: tokio::process::Child,
    pub addr: std::net::SocketAddr,
}

impl Instance {
    /// Start `vira serve` on a free port with the given data path, database and extra options,
    /// and wait (bounded polling) until it answers HTTP.
    pub async fn start(
        data_path: &std::path::Path,
        database_url: &str,
        extra: &[&str],
    ) -> Instance {
        Self::start_with(data_path, database_url, extra, Launch::default()).await
    }

    /// `start`, under an open-file limit set by the shell before `exec vira serve`.
    pub async fn start_limited(
        data_path: &std::path::Path,
        database_url: &str,
        extra: &[&str],
        open_files: Option<OpenFiles>,
    ) -> Instance {
        let launch = Launch {
            open_files,
            ..Launch::default()
        };
        Self::start_with(data_path, database_url, extra, launch).await
    }

    /// `start` with the process set up as `launch` says.
    pub async fn start_with(
        data_path: &std::path::Path,
        database_url: &str,
        extra: &[&str],
        launch: Launch,
    ) -> Instance {
        let Launch {
            open_files,
            stderr,
            log,
        } = launch;
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        // A free port can be taken by someone else before vira binds it: then vira exits and we
        // try another one.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let listen = format!("127.0.0.1:{port}");
            let mut command = match open_files {
                None => tokio::process::Command::new(env!("CARGO_BIN_EXE_vira")),
                Some(limit) => {
                    let mut sh = tokio::process::Command::new("sh");
                    sh.args(["-c", limit.script(), "sh", env!("CARGO_BIN_EXE_vira")]);
                    sh
                }
            };
            let mut child = command
                .args(["serve", "--listen", &listen, "--data-path"])
                .arg(data_path)
                .args(["--database-url", database_url])
                .args(extra)
                .env("VIRA_LOG", log.unwrap_or("error"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(match &stderr {
                    Some(path) => std::fs::File::create(path).expect("stderr file").into(),
                    None => std::process::Stdio::inherit(),
                })
                .kill_on_drop(true)
                .spawn()
                .expect("spawn vira serve");
            let base = format!("http://{listen}");
            for _ in 0..INSTANCE_READY_POLLS {
                if child.try_wait().expect("poll child").is_some() {
                    break;
                }
                if client
                    .get(format!("{base}/api/analyses"))
                    .send()
                    .await
                    .is_ok()
                {
                    return Instance {
                        http: Http { base, client },
                        child,
                        addr: listen.parse().expect("listen address"),
                    };
                }
                tokio::time::sleep(INSTANCE_READY_PAUSE).await;
            }
            let _ = child.kill().await;
        }
        panic!("vira serve did not become ready");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running process")
    }

    /// `kill -9` and wait for the process to be gone.
    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("kill vira");
    }

    /// Wait for the process to exit by itself, at most `limit`; its exit status.
    pub async fn wait_exit(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()?
            .ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

// BLAST lease take-over across instances: see `scaleout_blast.rs` (its own fake NCBI server and
// `Cluster` of two instances; it needs nothing more from here).

/// Assert that a JSON object has exactly these keys, in this order (the contract's key order).
#[track_caller]
pub fn assert_keys(value: &Value, expected: &[&str]) {
    let keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, expected);
}

/// Wait (bounded: 10 s) until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Storage for process tests: a data path and a database URL of the given backend.
pub async fn process_storage(backend: Backend) -> Option<(TempDir, String, Option<PgDatabase>)> {
    let dir = TempDir::new().unwrap();
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}/vira.db", dir.path().display());
            Some((dir, url, None))
        }
        Backend::Postgres => {
            let (url, db) = create_pg_database().await?;
            Some((dir, url, Some(db)))
        }
    }
}
