//! The storage layer: every SQL statement of vira lives under `db/`.
//!
//! One `Db` serves both databases through sqlx's `Any` driver: the SQL text is shared where the two
//! dialects agree (almost everywhere, since ids and timestamps are TEXT and BIGINT), and a function
//! branches on [`Dialect`] where they do not. Migrations are kept per dialect with the same numbers.
//! SQLite gets a separate single-connection pool for writes, so writers queue in vira instead of
//! failing with `SQLITE_BUSY`.

pub mod analyses;
pub mod analysis_whole;
pub mod blast;
pub mod changes;
pub mod claims;
pub mod files;
pub mod hmms;
mod ids;
pub mod indexes;
pub mod job_end;
pub mod jobs;
pub mod migrate;
pub mod refs;
pub mod runners;
pub mod sample_delete;
pub mod sample_reads;
pub mod samples;
pub mod sessions;
pub mod stored_objects;
pub mod subtractions;
pub mod uploads;
pub mod users;
pub mod workflow_files;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::model::workflow::{AnalysisWorkflow, Workflow};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};

use changes::Changes;

pub use ids::{fresh_id, IdTable};
pub use sqlx::Row;

/// A transaction on the write pool. Used as a connection (`&mut *tx`); when it is gone
/// (committed or not), this instance's read generation moves on ([`changes`]).
///
/// vira begins and ends its transactions itself (plain `BEGIN`/`COMMIT`) instead of through sqlx's
/// nesting bookkeeping, and never lets a connection whose transaction did not end cleanly back into
/// the pool: a failed `COMMIT` closes the connection, and a transaction dropped without `COMMIT` is
/// rolled back before its connection is pooled again, or closed when even that fails. (SQLite may
/// end a transaction by itself on a full disk or an I/O error; with sqlx's bookkeeping out of step,
/// the single write connection once stayed inside a transaction that never committed, and every
/// later write was acknowledged and lost.) Closing a connection rolls back whatever it held.
pub struct Tx {
    conn: Option<PoolConnection<Any>>,
    committed: bool,
    changes: Arc<Changes>,
}

impl Tx {
    async fn begin(mut conn: PoolConnection<Any>, changes: Arc<Changes>) -> DbResult<Tx> {
        if let Err(error) = conn.execute("BEGIN").await {
            conn.close_on_drop();
            return Err(error.into());
        }
        Ok(Tx {
            conn: Some(conn),
            committed: false,
            changes,
        })
    }

    pub async fn commit(mut self) -> DbResult<()> {
        let conn = self.connection();
        match conn.execute("COMMIT").await {
            Ok(_) => {
                self.committed = true;
                Ok(())
            }
            Err(error) => {
                // Whether the transaction is still open, rolled back or (on a lost PostgreSQL
                // connection) even committed is unknown: the connection is not used again.
                conn.close_on_drop();
                Err(error.into())
            }
        }
    }

    fn connection(&mut self) -> &mut PoolConnection<Any> {
        self.conn
            .as_mut()
            .expect("a transaction has its connection until it is dropped")
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        self.conn
            .as_ref()
            .expect("a transaction has its connection until it is dropped")
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.connection()
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        self.changes.wrote();
        let Some(conn) = self.conn.take() else {
            return;
        };
        if self.committed {
            return;
        }
        let mut unsettled = Unsettled(Some(conn));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(conn) = unsettled.0.as_mut() {
                    if conn.execute("ROLLBACK").await.is_ok() {
                        // Settled: back to the pool.
                        unsettled.0.take();
                    }
                }
            });
        }
    }
}

/// A connection whose transaction may still be open: closed, not pooled, unless it is taken out
/// once settled.
struct Unsettled(Option<PoolConnection<Any>>);

impl Drop for Unsettled {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_mut() {
            conn.close_on_drop();
        }
    }
}

/// A connection of the write pool for one statement (`&mut *db.write().await?`); when it is
/// released, this instance's read generation moves on, as after a [`Tx`].
pub struct Write {
    conn: PoolConnection<Any>,
    changes: Arc<Changes>,
}

impl std::ops::Deref for Write {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for Write {
    fn drop(&mut self) {
        self.changes.wrote();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached (PostgreSQL restarting, connection cut, pool exhausted): 503.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database cannot store what was asked: its disk is full, or (SQLite) writing the file
    /// failed. Nothing of the failed statement or transaction is kept: 507.
    #[error("database storage failure: {0}")]
    StorageFull(#[source] sqlx::Error),
    /// A unique constraint was violated; the name of the constraint when the driver reports it.
    #[error("unique violation {0:?}")]
    UniqueViolation(Option<String>),
    #[error(transparent)]
    Other(anyhow::Error),
}

impl From<sqlx::Error> for DbError {
    /// Every failed database operation passes here once: count it by kind (metrics).
    fn from(error: sqlx::Error) -> Self {
        let kind = match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => "unique_violation",
            sqlx::Error::PoolTimedOut => "pool_timeout",
            _ if is_unavailable(&error) => "unavailable",
            sqlx::Error::Database(db) if is_storage_failure(db.as_ref()) => "storage_full",
            _ => "other",
        };
        metrics::counter!("vira_db_errors_total", "kind" => kind).increment(1);
        match kind {
            "unique_violation" => {
                let constraint = match &error {
                    sqlx::Error::Database(db) => db.constraint().map(str::to_owned),
                    _ => None,
                };
                DbError::UniqueViolation(constraint)
            }
            "pool_timeout" | "unavailable" => DbError::Unavailable(error),
            "storage_full" => DbError::StorageFull(error),
            _ => DbError::Other(anyhow::Error::new(error)),
        }
    }
}

impl DbError {
    /// The same failure again, for each of several callers that shared one statement.
    pub fn duplicate(&self) -> DbError {
        let text = self.to_string();
        match self {
            DbError::Unavailable(_) => {
                DbError::Unavailable(sqlx::Error::Io(std::io::Error::other(text)))
            }
            DbError::StorageFull(_) => DbError::StorageFull(sqlx::Error::Protocol(text)),
            DbError::UniqueViolation(constraint) => DbError::UniqueViolation(constraint.clone()),
            DbError::Other(error) => DbError::Other(anyhow::anyhow!("{error:#}")),
        }
    }
}

impl From<anyhow::Error> for DbError {
    /// A `sqlx::Error` that reached here wrapped in `anyhow` keeps its classification.
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<sqlx::Error>() {
            Ok(sqlx_error) => sqlx_error.into(),
            Err(other) => DbError::Other(other),
        }
    }
}

impl From<DbError> for crate::model::failure::Failure {
    fn from(error: DbError) -> Self {
        use crate::model::failure::Failure;
        match error {
            DbError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Failure::Unavailable
            }
            DbError::StorageFull(e) => {
                tracing::error!(error = %e, "database storage full");
                Failure::StorageFull
            }
            other => Failure::Internal(other.into()),
        }
    }
}

/// Whether an error means "the database cannot be reached right now" (a 503, not a 500): the
/// socket failed or was closed (PostgreSQL restarting, a connection cut or terminated), TLS could
/// not be set up, no connection could be had within `--db-acquire-timeout` (connection refused is
/// retried by the pool until then), or the server reported a connection-level SQLSTATE.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_connection_loss(db.code().as_deref()),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs that mean "the server went away or cannot take us now": class 08
/// (connection exception), class 57P (57P01 admin shutdown — also what `pg_terminate_backend`
/// sends —, 57P02 crash shutdown, 57P03 cannot connect now) and 53300 (too many connections).
fn is_connection_loss(code: Option<&str>) -> bool {
    matches!(code, Some(c) if c.starts_with("08") || c.starts_with("57P") || c == "53300")
}

/// Whether the database refused a write for want of storage: SQLite's `SQLITE_FULL` (13) or any
/// `SQLITE_IOERR` (10, with its extended codes in the higher bits), PostgreSQL's `disk_full`
/// (53100).
fn is_storage_failure(error: &dyn sqlx::error::DatabaseError) -> bool {
    const SQLITE_IOERR: i64 = 10;
    const SQLITE_FULL: i64 = 13;
    let code = error.code();
    if error
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        let primary = code.and_then(|c| c.parse::<i64>().ok()).map(|c| c & 0xff);
        return matches!(primary, Some(SQLITE_IOERR | SQLITE_FULL));
    }
    code.as_deref() == Some("53100")
}

pub type DbResult<T> = Result<T, DbError>;

/// The database handle shared by the whole application.
#[derive(Clone, Debug)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    /// The generation of what this instance has read (the read cache's coherence).
    changes: Arc<Changes>,
    /// Claims waiting to be written together (`claims::claim`).
    claims: Arc<claims::Coalescer>,
}

/// How [`Db::connect`] pools its connections.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a PostgreSQL connection, so requests fail fast with 503
    /// while the server is unreachable. SQLite keeps a long wait, since there it only orders
    /// writers behind the single write connection.
    pub acquire_timeout: Duration,
    /// A pooled PostgreSQL connection idle for longer than this is checked with a round trip
    /// before it is used.
    pub ping_after_idle: Duration,
    /// SQLite's page cache per connection, in KiB (its default is about 2 MiB; the hot reads
    /// are served from vira's own caches, and the operating system caches the file).
    pub sqlite_cache_kib: u32,
}

impl Db {
    /// Connect (creating a SQLite file and its directory when needed) and apply migrations.
    pub async fn connect(url: &str, settings: &PoolSettings) -> anyhow::Result<Db> {
        let PoolSettings {
            max_connections,
            acquire_timeout,
            ping_after_idle,
            sqlite_cache_kib,
        } = *settings;
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            anyhow::bail!("unsupported database URL scheme (use sqlite:// or postgres://)");
        };
        let db = match dialect {
            Dialect::Sqlite => {
                let url = sqlite_url(url)?;
                let options = AnyConnectOptions::from_str(&url)?;
                let pragmas = format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -{sqlite_cache_kib};"
                );
                let pool = |n: u32| {
                    let pragmas = pragmas.clone();
                    AnyPoolOptions::new()
                        .max_connections(n)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(move |conn, _| {
                            let pragmas = pragmas.clone();
                            Box::pin(async move {
                                conn.execute(pragmas.as_str()).await?;
                                Ok(())
                            })
                        })
                        .connect_with(options.clone())
                };
                let write = pool(1).await?;
                let read = pool(max_connections.max(2)).await?;
                Db {
                    read,
                    write,
                    dialect,
                    changes: Arc::new(Changes::new(dialect)),
                    claims: Arc::default(),
                }
            }
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(2))
                    .acquire_timeout(acquire_timeout)
                    // A ping before every use would double the round trips of a request. A
                    // connection idle for a while (the server may have restarted meanwhile) is
                    // pinged, and replaced instead of failing the request when that fails; one
                    // in steady use that broke fails its request (503) and is dropped.
                    .test_before_acquire(false)
                    .after_release(shrink_buffers)
                    .before_acquire(move |conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > ping_after_idle {
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect(url)
                    .await?;
                Db {
                    read: pool.clone(),
                    write: pool,
                    dialect,
                    changes: Arc::new(Changes::new(dialect)),
                    claims: Arc::default(),
                }
            }
        };
        migrate::run(&db).await?;
        Ok(db)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The statement for this database, where the two dialects differ.
    pub fn pick(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }

    /// The pool for reads.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The write pool itself, for the migrator (before anything is served or cached).
    fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// A connection for one writing statement.
    pub async fn write(&self) -> DbResult<Write> {
        Ok(Write {
            conn: self.write.acquire().await?,
            changes: self.changes.clone(),
        })
    }

    /// Start a write transaction.
    pub async fn begin(&self) -> DbResult<Tx> {
        Tx::begin(self.write.acquire().await?, self.changes.clone()).await
    }

    /// The generation of what this instance reads ([`changes`]).
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Write a fresh token to this instance's row of `write_probes` and read it back through the
    /// read pool (readiness): `false` when the write was not seen. The probe does not move the
    /// read generation (it changes nothing that is read). Rows of instances gone for a day go.
    pub async fn probe_write(&self) -> DbResult<bool> {
        let token = hex::encode(rand::random::<[u8; 16]>());
        let now = crate::model::time::now_micros();
        let mut conn = self.write.acquire().await?;
        sqlx::query(
            "INSERT INTO write_probes (instance, token, written_at) VALUES ($1, $2, $3) \
             ON CONFLICT (instance) DO UPDATE SET token = $2, written_at = $3",
        )
        .bind(self.changes.instance())
        .bind(&token)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM write_probes WHERE written_at < $1")
            .bind(now - 86_400_000_000)
            .execute(&mut *conn)
            .await?;
        drop(conn);
        let seen: Option<String> =
            sqlx::query_scalar("SELECT token FROM write_probes WHERE instance = $1")
                .bind(self.changes.instance())
                .fetch_optional(&self.read)
                .await?;
        Ok(seen.as_deref() == Some(token.as_str()))
    }

    /// One round trip that proves the database answers (readiness).
    pub async fn ping(&self) -> DbResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// How long taking one connection of each pool takes right now, at most `limit` (metrics: a
    /// wait above zero means requests are queueing for connections). `None` past `limit`.
    pub async fn acquire_waits(&self, limit: Duration) -> Vec<(&'static str, Option<Duration>)> {
        let pools: Vec<(&'static str, &AnyPool)> = match self.dialect {
            Dialect::Sqlite => vec![("read", &self.read), ("write", &self.write)],
            Dialect::Postgres => vec![("main", &self.read)],
        };
        let mut waits = Vec::with_capacity(pools.len());
        for (name, pool) in pools {
            let started = std::time::Instant::now();
            let acquired = tokio::time::timeout(limit, pool.acquire()).await;
            waits.push((
                name,
                matches!(acquired, Ok(Ok(_))).then(|| started.elapsed()),
            ));
        }
        waits
    }

    /// How full each pool is (metrics). SQLite has a read and a write pool, PostgreSQL one.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        let stats = |name, pool: &AnyPool| PoolStats {
            name,
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        };
        match self.dialect {
            Dialect::Sqlite => vec![stats("read", &self.read), stats("write", &self.write)],
            Dialect::Postgres => vec![stats("main", &self.read)],
        }
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// One pool's connections: open (`size`), of which idle, and the cap.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub name: &'static str,
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

/// A PostgreSQL connection goes back to the pool without the buffers a large row grew (sqlx keeps
/// their capacity otherwise: megabytes per pooled connection after a finalize or a large GET); a
/// no-op for the usual small ones. (SQLite connections have no such buffers.)
fn shrink_buffers(
    conn: &mut AnyConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    conn.shrink_buffers();
    Box::pin(std::future::ready(Ok(true)))
}

/// Make sure the SQLite file can be created: create its directory and ask for `mode=rwc`.
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path != ":memory:" {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
    }
    Ok(match query {
        Some(q) if q.contains("mode=") => format!("sqlite://{path}?{q}"),
        Some(q) => format!("sqlite://{path}?{q}&mode=rwc"),
        None => format!("sqlite://{path}?mode=rwc"),
    })
}

/// Booleans are stored as 0/1 integers in both dialects (the `Any` driver's common ground).
pub fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// A 0/1 flag column read back as a boolean.
pub fn get_flag(row: &sqlx::any::AnyRow, column: &str) -> DbResult<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// An analysis's workflow column.
pub fn get_analysis_workflow(row: &sqlx::any::AnyRow, column: &str) -> DbResult<AnalysisWorkflow> {
    get_workflow(row, column)?
        .analysis()
        .ok_or_else(|| DbError::Other(anyhow::anyhow!("an analysis of a workflow without one")))
}

/// A workflow column: vira writes only the names of [`Workflow`], so another one is corruption.
pub fn get_workflow(row: &sqlx::any::AnyRow, column: &str) -> DbResult<Workflow> {
    let name: String = row.try_get(column)?;
    Workflow::parse(&name)
        .ok_or_else(|| DbError::Other(anyhow::anyhow!("unknown workflow {name:?} in {column}")))
}

/// Run a read whose one parameter `$1` is the list `ids` as a JSON array, so the statement's text
/// never grows with its input: `sqlite` reads it with `json_each($1)`, `postgres` with
/// `jsonb_array_elements_text($1::jsonb)`.
pub async fn fetch_for_ids(
    db: &Db,
    sqlite: &'static str,
    postgres: &'static str,
    ids: &[String],
) -> DbResult<Vec<sqlx::any::AnyRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = serde_json::to_string(ids).map_err(|e| DbError::Other(e.into()))?;
    Ok(sqlx::query(db.pick(sqlite, postgres))
        .bind(list)
        .fetch_all(db.reader())
        .await?)
}
