//! An in-process `vira` (`TestApp`): the real server on an ephemeral port, a temporary data path
//! and a fresh database, plus direct looks at storage that the API cannot give.

use std::path::PathBuf;
use std::sync::Arc;

use tempfile::TempDir;
use tokio::sync::oneshot;

use super::{create_pg_database, Backend, Creds, Http, PgDatabase, Setup};
use vira::app::{App, AppState};
use vira::config::{ServeConfig, StorageOptions};

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

impl std::ops::Deref for TestApp {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Setup for TestApp {
    fn http(&self) -> &Http {
        &self.http
    }

    fn admin(&self) -> &Creds {
        &self.admin
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
                vira::server::run(app, vira::server::Listeners::main_only(listener), async {
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
                    // Pages answer with redirects; tests look at them rather than follow them.
                    .redirect(reqwest::redirect::Policy::none())
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
}

impl TestApp {
    /// The test's PostgreSQL database (`None` on SQLite).
    pub fn pg_database(&self) -> Option<&PgDatabase> {
        self._pg.as_ref()
    }

    /// Remove a sample row behind vira's back (contract §4: "Parent sample does not exist").
    pub async fn drop_sample(&self, sample_id: &str) {
        sqlx::query("DELETE FROM samples WHERE id = $1")
            .bind(sample_id)
            .execute(self.app.db.writer())
            .await
            .unwrap();
    }

    /// Rows of `table` whose `column` equals `id`.
    pub async fn rows(&self, table: &str, column: &str, id: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"))
            .bind(id)
            .fetch_one(self.app.db.reader())
            .await
            .unwrap()
    }

    /// Rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.app.db.reader())
            .await
            .unwrap()
    }

    /// `<data-path>/analyses/<id>`.
    pub fn analysis_dir(&self, analysis_id: &str) -> PathBuf {
        self.data.path().join("analyses").join(analysis_id)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
