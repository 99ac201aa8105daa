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
        $crate::test_matrix!(
            $name,
            $config,
            $body,
            (sqlite, Sqlite, Local),
            (postgres, Postgres, Local)
        );
    };
}

/// Run a file test on both databases and both storages: `every_store!(name, |app| async move { … })`
/// makes `sqlite`, `postgres`, `sqlite_s3` and `postgres_s3` (a real Garage bucket, `garage`).
#[macro_export]
macro_rules! every_store {
    ($name:ident, $body:expr) => {
        $crate::every_store!(
            $name,
            config = |_: &mut vira::config::ServeConfig| {},
            $body
        );
    };
    ($name:ident, config = $config:expr, $body:expr) => {
        $crate::test_matrix!(
            $name,
            $config,
            $body,
            (sqlite, Sqlite, Local),
            (postgres, Postgres, Local),
            (sqlite_s3, Sqlite, S3),
            (postgres_s3, Postgres, S3)
        );
    };
}

/// A module `name` with one test per `(test, backend, store)`, each running `body` on a `TestApp`
/// started with `config` (see [`run_on`]).
#[macro_export]
macro_rules! test_matrix {
    ($name:ident, $config:expr, $body:expr, $(($test:ident, $backend:ident, $store:ident)),+) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::support::run_on(
                        $crate::support::Backend::$backend,
                        $crate::support::Store::$store,
                        $config,
                        $body,
                    )
                    .await;
                }
            )+
        }
    };
}

/// Start vira on `backend` and `store` and run `body` on it; a PostgreSQL or S3 run that cannot
/// start here is skipped (as `TestApp::spawn_on` says), a local SQLite one never is.
pub async fn run_on<F, Fut>(
    backend: Backend,
    store: Store,
    configure: impl FnOnce(&mut ServeConfig),
    body: F,
) where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    match TestApp::spawn_on(backend, store, configure).await {
        Some(app) => body(app).await,
        None if backend == Backend::Sqlite && store == Store::Local => {
            panic!("vira did not start on SQLite")
        }
        None => {}
    }
}

/// Where a test's analysis files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// Under the data path.
    Local,
    /// A prefix of its own in the Garage bucket.
    S3,
}

/// The test's place in the bucket.
pub struct S3Place {
    pub prefix: String,
    pub client: object_store::aws::AmazonS3,
}

pub struct TestApp {
    pub http: Http,
    pub app: AppState,
    pub admin: Creds,
    pub backend: Backend,
    pub data: Arc<TempDir>,
    pub s3: Option<S3Place>,
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
        Self::spawn_on(backend, Store::Local, configure).await
    }

    /// Start vira on `store`; `None` when the database or the store cannot run here (not CI).
    pub async fn spawn_on(
        backend: Backend,
        store: Store,
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
        let s3 = match store {
            Store::Local => None,
            Store::S3 => {
                let garage = super::garage()?;
                let (url, prefix) = garage.new_prefix_url();
                garage.configure(&mut config, &url);
                Some(S3Place {
                    prefix,
                    client: garage.client(),
                })
            }
        };
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
            s3,
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
            .execute(&mut *self.app.db.write().await.unwrap())
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

    /// The names of the stored objects of an analysis, on either storage, sorted.
    pub async fn stored_names(&self, analysis_id: &str) -> Vec<String> {
        match &self.s3 {
            None => {
                let mut names: Vec<String> = super::files_under(&self.analysis_dir(analysis_id))
                    .iter()
                    .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
                    .collect();
                names.sort();
                names
            }
            Some(place) => {
                let folder = format!("analyses/{analysis_id}/");
                super::bucket_keys(&place.client, &place.prefix, &folder)
                    .await
                    .into_iter()
                    .map(|key| key[folder.len()..].to_owned())
                    .collect()
            }
        }
    }

    /// The bytes of a stored object of an analysis, read from the storage itself.
    pub async fn read_stored(&self, analysis_id: &str, name_on_disk: &str) -> Option<Vec<u8>> {
        match &self.s3 {
            None => std::fs::read(self.analysis_dir(analysis_id).join(name_on_disk)).ok(),
            Some(place) => {
                use object_store::ObjectStoreExt;
                let path = format!("{}/analyses/{analysis_id}/{name_on_disk}", place.prefix);
                let got = place.client.get(&path.into()).await.ok()?;
                Some(got.bytes().await.ok()?.to_vec())
            }
        }
    }

    /// Remove a stored object behind vira's back.
    pub async fn remove_stored(&self, analysis_id: &str, name_on_disk: &str) {
        match &self.s3 {
            None => std::fs::remove_file(self.analysis_dir(analysis_id).join(name_on_disk))
                .expect("remove the stored file"),
            Some(place) => {
                let key = format!("analyses/{analysis_id}/{name_on_disk}");
                super::delete_object(&place.client, &place.prefix, &key).await
            }
        }
    }

    /// Assert that no temporary object (or upload marker) is left once the uploads have been
    /// answered; markers are removed in the background, so this waits a little for them.
    pub async fn assert_no_temporary_objects(&self) {
        for _ in 0..100 {
            if self.temporary_objects().await.is_empty() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(self.temporary_objects().await, Vec::<String>::new());
    }

    /// What uploads in progress leave: local temporary objects, or upload markers and
    /// temporary objects in the bucket.
    pub async fn temporary_objects(&self) -> Vec<String> {
        let mut found: Vec<String> = super::files_under(&self.data.path().join("tmp"))
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        if let Some(place) = &self.s3 {
            for folder in ["markers/", "tmp/"] {
                found.extend(super::bucket_keys(&place.client, &place.prefix, folder).await);
            }
        }
        found
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
