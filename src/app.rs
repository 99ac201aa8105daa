//! The application state shared by every handler: configuration, database, file store, BLAST,
//! and the slots for password hashing.

use std::sync::Arc;

use crate::auth::cache::{CredentialCache, Known};
use crate::blast::Blast;
use crate::config::ServeConfig;
use crate::db::Db;
use crate::files::FileStore;
use crate::model::health::Readiness;

pub struct App {
    pub config: ServeConfig,
    pub db: Db,
    pub files: FileStore,
    pub blast: Blast,
    /// Bounds the background brotli compressions at once (`--brotli-workers`).
    pub brotli_slot: tokio::sync::Semaphore,
    /// Bounds the password hashes computed at once (`--login-concurrency`).
    pub password_slots: tokio::sync::Semaphore,
    /// User keys checked within `--auth-cache-ms` (no database round trip for them).
    pub auth_cache: CredentialCache<Known>,
    /// Job keys checked within `--auth-cache-ms`, to the job's id.
    pub job_key_cache: CredentialCache<String>,
    /// Rendered exports of unchanged analyses (`--export-cache-bytes`).
    pub export_cache: crate::cache::ExportCache,
    /// Results of unchanged analyses as encoded for U2 (`--results-cache-bytes`).
    pub results_cache: crate::cache::VersionedCache<crate::format::gzip_splice::Encoded>,
    /// Reads kept while nothing has changed since, per change generation of `db::changes`
    /// (`--read-cache-bytes`; `ops::read_cache`).
    pub read_cache: crate::cache::ReadCache,
    /// The last readiness report and when it was made (`ops::health`).
    pub readiness: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Readiness>)>>,
}

pub type AppState = Arc<App>;

impl App {
    /// The limits of a multipart upload (`--max-upload-bytes`, `--max-part-header-bytes`).
    pub fn multipart_limits(&self) -> crate::http::multipart::MultipartLimits {
        crate::http::multipart::MultipartLimits {
            bytes: self.config.max_upload_bytes,
            part_header_bytes: self.config.max_part_header_bytes,
        }
    }

    /// Connect the database (migrating it) and open the file store.
    pub async fn build(config: ServeConfig) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.storage.data_path)?;
        let blast = Blast::from_config(&config)?;
        let pool = crate::db::PoolSettings {
            max_connections: config.db_connections,
            acquire_timeout: std::time::Duration::from_secs(config.db_acquire_timeout),
            ping_after_idle: std::time::Duration::from_millis(config.db_ping_after_idle_ms),
            sqlite_cache_kib: config.sqlite_cache_kib,
        };
        let db = Db::connect(&config.storage.database_url(), &pool).await?;
        let files =
            FileStore::open(&config.storage.data_path, &config.file_storage, &config.s3).await?;
        let password_slots = tokio::sync::Semaphore::new(config.login_concurrency as usize);
        let brotli_slot = tokio::sync::Semaphore::new(config.brotli_workers as usize);
        let auth_cache_ttl = std::time::Duration::from_millis(config.auth_cache_ms);
        let auth_cache_entries = config.auth_cache_entries;
        let export_cache_bytes = usize::try_from(config.export_cache_bytes).unwrap_or(usize::MAX);
        let results_cache_bytes = usize::try_from(config.results_cache_bytes).unwrap_or(usize::MAX);
        let read_cache_bytes = usize::try_from(config.read_cache_bytes).unwrap_or(usize::MAX);
        let app = Arc::new(App {
            config,
            db,
            files,
            blast,
            password_slots,
            brotli_slot,
            auth_cache: CredentialCache::new(auth_cache_ttl, auth_cache_entries),
            job_key_cache: CredentialCache::new(auth_cache_ttl, auth_cache_entries),
            export_cache: crate::cache::ExportCache::new(export_cache_bytes),
            results_cache: crate::cache::VersionedCache::new(results_cache_bytes),
            read_cache: crate::cache::ReadCache::new(read_cache_bytes),
            readiness: tokio::sync::Mutex::new(None),
        });
        Ok(app)
    }
}

impl axum::extract::FromRef<AppState> for crate::http::body::JsonLimits {
    fn from_ref(app: &AppState) -> Self {
        crate::http::body::JsonLimits {
            bytes: app.config.max_json_bytes,
            list_items: app.config.max_list_items,
        }
    }
}
