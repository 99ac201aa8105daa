//! The one typed configuration of `vira serve` (contract §14.1); every option is also a `VIRA_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Options shared by every subcommand that opens the database.
#[derive(Debug, Clone, Args)]
pub struct StorageOptions {
    /// Local data directory (database file, uploaded files, temporary objects).
    #[arg(long, env = "VIRA_DATA_PATH", default_value = "./vira-data")]
    pub data_path: PathBuf,

    /// `sqlite://…` or `postgres://…`; default `sqlite://<data-path>/vira.db` (its value, which
    /// may hold a password, is never shown by `--help`).
    #[arg(long, env = "VIRA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl StorageOptions {
    /// The database URL, defaulting to the SQLite file under the data path.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/vira.db", self.data_path.display()),
        }
    }
}

/// Where analysis files are kept (`--storage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageTarget {
    /// Under the data path (`local:` with no path, the default).
    DataPath,
    /// `local:<path>`: a directory (shared by every instance, e.g. over NFS).
    Local(PathBuf),
    /// `s3://bucket/prefix`.
    S3(String),
}

impl StorageTarget {
    pub fn parse(value: &str) -> Result<StorageTarget, String> {
        if let Some(path) = value.strip_prefix("local:") {
            return Ok(if path.is_empty() {
                StorageTarget::DataPath
            } else {
                StorageTarget::Local(PathBuf::from(path))
            });
        }
        if value.starts_with("s3://") {
            parse_s3_url(value)?;
            return Ok(StorageTarget::S3(value.to_owned()));
        }
        Err(format!(
            "{value}: expected local:<path> or s3://bucket/prefix"
        ))
    }
}

/// `s3://bucket/prefix` split into the bucket and the key prefix.
pub fn parse_s3_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("{url}: expected s3://bucket/prefix"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("{url}: the bucket is missing"));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == "." || p == "..") {
        return Err(format!("{url}: the prefix may not hold . or .."));
    }
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_owned(), prefix))
}

/// The S3 client's settings; each one not given falls back to the standard `AWS_*` variable
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …).
#[derive(Clone, Args)]
pub struct S3Options {
    /// Endpoint of an S3-compatible store (`http://` is allowed for a store on a private network).
    #[arg(long, env = "VIRA_S3_ENDPOINT", hide_env_values = true)]
    pub s3_endpoint: Option<String>,

    /// Region of the bucket.
    #[arg(long, env = "VIRA_S3_REGION")]
    pub s3_region: Option<String>,

    /// Access key id.
    #[arg(long, env = "VIRA_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,

    /// Secret access key (prefer the variable to the option: options show in `ps`).
    #[arg(long, env = "VIRA_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,

    /// Bytes of one part of a multipart upload (and the most an upload buffers, twice: one part
    /// received while the previous is sent). Smaller files are one PUT.
    #[arg(long, env = "VIRA_S3_PART_BYTES", default_value_t = 8_388_608, value_parser = clap::value_parser!(u64).range(5_242_880..=5_368_709_120))]
    pub s3_part_bytes: u64,

    /// Seconds to connect to the store.
    #[arg(long, env = "VIRA_S3_CONNECT_TIMEOUT", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub s3_connect_timeout: u64,

    /// Seconds the store may stay silent in a request before it fails (longer than
    /// `--send-timeout`: a download reads from the store at its client's pace).
    #[arg(long, env = "VIRA_S3_READ_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub s3_read_timeout: u64,

    /// Seconds after which an upload whose writer stopped refreshing its marker is abandoned,
    /// and an object without a record is an orphan (on a store, the sweep goes by age).
    #[arg(long, env = "VIRA_STALE_UPLOAD_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(4..))]
    pub stale_upload_secs: u64,
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Options")
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "…"),
            )
            .field("s3_part_bytes", &self.s3_part_bytes)
            .finish_non_exhaustive()
    }
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlastBackendKind {
    Ncbi,
    Local,
}

/// Everything `vira serve` needs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Main address (user API and jobs API).
    #[arg(long, env = "VIRA_LISTEN", default_value = "127.0.0.1:9950")]
    pub listen: SocketAddr,

    /// Additional address that serves only the jobs API.
    #[arg(long, env = "VIRA_JOBS_LISTEN")]
    pub jobs_listen: Option<SocketAddr>,

    #[command(flatten)]
    pub storage: StorageOptions,

    /// Where analysis files are kept: `local:<path>`, or `s3://bucket/prefix` on an
    /// S3-compatible store (see the `--s3-*` options); by default the data path itself.
    #[arg(long = "storage", env = "VIRA_STORAGE", value_parser = StorageTarget::parse, default_value = "local:")]
    pub file_storage: StorageTarget,

    #[command(flatten)]
    pub s3: S3Options,

    /// Seconds between sweeps of leftover objects (abandoned uploads, files without a record);
    /// the first runs at start-up.
    #[arg(long, env = "VIRA_SWEEP_INTERVAL", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub sweep_interval: u64,

    /// A watched job (claimed through J8, or pinged) in `preparing` or `running` without activity
    /// this long is stalled: requeued or timed out (workflows.md §7.5).
    #[arg(long, env = "VIRA_JOB_STALL_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub job_stall_seconds: u64,

    /// Automatic requeues of a stalled job before it times out (workflows.md §7.5).
    #[arg(long, env = "VIRA_JOB_RETRIES", default_value_t = 1)]
    pub job_retries: u64,

    /// Seconds between stall sweeps on this instance.
    #[arg(long, env = "VIRA_JOB_SWEEP_INTERVAL_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub job_sweep_interval_seconds: u64,

    /// Limit of multipart uploads (files, reference and annotation imports), bytes.
    #[arg(long, env = "VIRA_MAX_UPLOAD_BYTES", default_value_t = 4_294_967_296)]
    pub max_upload_bytes: u64,

    /// Limit of the finalize (results) body, bytes.
    #[arg(long, env = "VIRA_MAX_RESULTS_BYTES", default_value_t = 268_435_456)]
    pub max_results_bytes: u64,

    /// Limit of every other JSON body, bytes.
    #[arg(long, env = "VIRA_MAX_JSON_BYTES", default_value_t = 1_048_576)]
    pub max_json_bytes: u64,

    /// Limit of an imported reference or annotations file after gzip decompression, bytes.
    #[arg(long, env = "VIRA_MAX_IMPORT_BYTES", default_value_t = 1_073_741_824)]
    pub max_import_bytes: u64,

    /// Largest `per_page` accepted by list routes.
    #[arg(long, env = "VIRA_MAX_PER_PAGE", default_value_t = 100)]
    pub max_per_page: u32,

    /// Database connections per instance.
    #[arg(long, env = "VIRA_DB_CONNECTIONS", default_value_t = 8)]
    pub db_connections: u32,

    /// Seconds a request waits for a PostgreSQL connection before it fails with 503 (during an
    /// outage requests fail this fast; vira reconnects by itself when the server is back).
    #[arg(long, env = "VIRA_DB_ACQUIRE_TIMEOUT", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_acquire_timeout: u64,

    /// Items at most in a list of a JSON body (subtractions, groups, error lines); 422 beyond.
    #[arg(long, env = "VIRA_MAX_LIST_ITEMS", default_value_t = 1000)]
    pub max_list_items: usize,

    /// Bytes of one line of a request head (the request line, or one header's name and value);
    /// longer is answered 414 (request line) or 431 (header), and the connection stays usable.
    #[arg(long, env = "VIRA_MAX_HEADER_LINE_BYTES", default_value_t = 8192, value_parser = clap::value_parser!(u64).range(256..))]
    pub max_header_line_bytes: u64,

    /// Bytes of a whole request head; past them the client gets 431 and the connection is
    /// closed (the head is not read further).
    #[arg(long, env = "VIRA_MAX_HEAD_BYTES", default_value_t = 32_768, value_parser = clap::value_parser!(u64).range(8192..))]
    pub max_head_bytes: u64,

    /// Bytes of the headers of one part of a multipart upload (413 beyond).
    #[arg(long, env = "VIRA_MAX_PART_HEADER_BYTES", default_value_t = 8192, value_parser = clap::value_parser!(u64).range(256..))]
    pub max_part_header_bytes: u64,

    /// Seconds a client has to send a whole request head, counted from its first byte.
    #[arg(long, env = "VIRA_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,

    /// Seconds a connection stays open with no request in flight (keep-alive idle timeout).
    #[arg(long, env = "VIRA_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,

    /// Seconds of waiting for the client that a request body may cost per `--body-min-bytes` it
    /// delivers; a body slower than that is answered 408 and its connection closed.
    #[arg(long, env = "VIRA_BODY_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,

    /// Bytes a request body must deliver per `--body-timeout` of waiting.
    #[arg(long, env = "VIRA_BODY_MIN_BYTES", default_value_t = 1024)]
    pub body_min_bytes: u64,

    /// Seconds a response may stay unread by its client before the connection is dropped.
    #[arg(long, env = "VIRA_SEND_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub send_timeout: u64,

    /// Open connections per listener. At the cap a new connection closes the longest-idle one
    /// (no request in flight); when every connection is busy, the new one is closed at once.
    #[arg(long, env = "VIRA_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,

    /// Seconds a sign-in session lasts (the browser forgets it when it closes).
    #[arg(long, env = "VIRA_SESSION_TTL", default_value_t = 43_200, value_parser = clap::value_parser!(u64).range(60..))]
    pub session_ttl: u64,

    /// Seconds a session lasts when "remember me" was ticked (the cookie outlives the browser).
    #[arg(long, env = "VIRA_SESSION_REMEMBER_TTL", default_value_t = 2_592_000, value_parser = clap::value_parser!(u64).range(60..))]
    pub session_remember_ttl: u64,

    /// Mark the session cookie `Secure` (set this when vira is served over TLS, e.g. behind a
    /// reverse proxy).
    #[arg(long, env = "VIRA_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Password hashes (Argon2id, ~19 MiB each) computed at the same time; more sign-ins wait.
    #[arg(long, env = "VIRA_LOGIN_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub login_concurrency: u64,

    /// Milliseconds an API key, once checked, is trusted without asking the database again. A
    /// change of a user (administrator flag, groups) made through this instance applies at once;
    /// through another instance, within this time. 0 turns the cache off.
    #[arg(long, env = "VIRA_AUTH_CACHE_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub auth_cache_ms: u64,

    /// Checked keys remembered at most (users and jobs each); a full cache starts over.
    #[arg(long, env = "VIRA_AUTH_CACHE_ENTRIES", default_value_t = 10_000)]
    pub auth_cache_entries: usize,

    /// Bytes of rendered exports (CSV, XLSX) kept for analyses that have not changed since; one
    /// export larger than a quarter of this is never kept. 0 turns the cache off.
    #[arg(long, env = "VIRA_EXPORT_CACHE_BYTES", default_value_t = 67_108_864)]
    pub export_cache_bytes: u64,

    /// Bytes of analysis results kept as sent by U2 (plain and compressed, BLAST records
    /// attached) for analyses that have not changed since: such a GET reads only the head from
    /// the database. One larger than a quarter of this is never kept; 0 turns the cache off.
    #[arg(long, env = "VIRA_RESULTS_CACHE_BYTES", default_value_t = 67_108_864)]
    pub results_cache_bytes: u64,

    /// Bytes of reads kept in memory while nothing they show has changed: analysis heads (U2, J3
    /// and the rights checks of U5–U8), U1 pages, samples. Any write moves them out; on
    /// PostgreSQL every instance that caches is told of every write before the write is answered
    /// (see --read-cache-lease-ms). 0 turns the cache off.
    #[arg(long, env = "VIRA_READ_CACHE_BYTES", default_value_t = 16_777_216)]
    pub read_cache_bytes: u64,

    /// Background compressions of finalized results with brotli (quality 11) at a time; `br`
    /// replies splice that copy. 0 makes no copies (gzip is sent to every client that asks).
    #[arg(long, env = "VIRA_BROTLI_WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=64))]
    pub brotli_workers: u64,

    /// PostgreSQL: the lease of an instance's read cache, renewed every quarter of it. A request
    /// that wrote waits for every other caching instance to acknowledge it, but never longer than
    /// that instance's lease (an instance that stopped answering stops trusting its cache first).
    #[arg(long, env = "VIRA_READ_CACHE_LEASE_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub read_cache_lease_ms: u64,

    /// PostgreSQL: a pooled connection idle for longer than this many milliseconds is checked
    /// with a round trip before a request uses it (one in steady use is not: a ping before every
    /// query would double the round trips).
    #[arg(long, env = "VIRA_DB_PING_AFTER_IDLE_MS", default_value_t = 1000)]
    pub db_ping_after_idle_ms: u64,

    /// SQLite: the page cache of each database connection, in KiB (SQLite's own default is
    /// about 2 MiB a connection; repeated reads are served from vira's caches, and the operating
    /// system caches the file).
    #[arg(long, env = "VIRA_SQLITE_CACHE_KIB", default_value_t = 512, value_parser = clap::value_parser!(u32).range(64..))]
    pub sqlite_cache_kib: u32,

    /// Failed sign-ins of one handle from one client address before each further one from
    /// there is delayed (the right password from another address is never held back by them).
    #[arg(long, env = "VIRA_LOGIN_FREE_ATTEMPTS", default_value_t = 5)]
    pub login_free_attempts: u64,

    /// Failed sign-ins from one client address, whatever the handles, before each further one
    /// from there is delayed (high enough for many people behind one NAT or proxy).
    #[arg(long, env = "VIRA_LOGIN_ADDRESS_FREE_ATTEMPTS", default_value_t = 100)]
    pub login_address_free_attempts: u64,

    /// Failed sign-ins of one handle from all addresses before the handle backs off — only for
    /// addresses that have failed on it themselves: an address with no failure of its own on the
    /// handle always gets its attempt.
    #[arg(long, env = "VIRA_LOGIN_HANDLE_FREE_ATTEMPTS", default_value_t = 20)]
    pub login_handle_free_attempts: u64,

    /// Seconds of quiet after which the failed sign-ins of a handle, an address or a pair are
    /// forgotten.
    #[arg(long, env = "VIRA_LOGIN_FORGET_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub login_forget_secs: u64,

    /// API keys one user may hold at most (`POST /api/account/keys` answers 400 beyond).
    #[arg(long, env = "VIRA_MAX_KEYS_PER_USER", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_keys_per_user: u64,

    /// Longest sign-in back-off, seconds (the delay doubles with each failure up to this).
    #[arg(long, env = "VIRA_LOGIN_MAX_BACKOFF", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub login_max_backoff: u64,

    /// Take the client address of sign-in back-off from the last `X-Forwarded-For` entry (only
    /// behind a proxy that sets it).
    #[arg(long, env = "VIRA_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// BLAST backend: `ncbi` or `local`.
    #[arg(long, env = "VIRA_BLAST_BACKEND", value_enum, default_value = "ncbi")]
    pub blast_backend: BlastBackendKind,

    /// NCBI BLAST URL API endpoint.
    #[arg(
        long,
        env = "VIRA_NCBI_BLAST_URL",
        default_value = "https://blast.ncbi.nlm.nih.gov/Blast.cgi"
    )]
    pub ncbi_blast_url: String,

    /// NCBI `DATABASE` parameter.
    #[arg(long, env = "VIRA_NCBI_DATABASE", default_value = "nr")]
    pub ncbi_database: String,

    /// Sent to NCBI as `EMAIL` when set.
    #[arg(long, env = "VIRA_NCBI_EMAIL")]
    pub ncbi_email: Option<String>,

    /// Local BLAST+ database name or path (required with `--blast-backend local`).
    #[arg(long, env = "VIRA_BLAST_DB")]
    pub blast_db: Option<String>,

    /// Local BLAST+ executable.
    #[arg(long, env = "VIRA_BLASTN", default_value = "blastn")]
    pub blastn: String,

    /// `-num_threads` of local searches.
    #[arg(long, env = "VIRA_BLAST_THREADS", default_value_t = 1)]
    pub blast_threads: u32,

    /// Local searches running at the same time per instance.
    #[arg(long, env = "VIRA_BLAST_LOCAL_CONCURRENCY", default_value_t = 2)]
    pub blast_local_concurrency: u32,

    /// Seconds a BLAST PUT waits for the submission.
    #[arg(long, env = "VIRA_BLAST_SUBMIT_TIMEOUT", default_value_t = 10)]
    pub blast_submit_timeout: u64,

    /// Seconds after a BLAST record's creation when it fails with a timeout.
    #[arg(long, env = "VIRA_BLAST_TIMEOUT", default_value_t = 3600)]
    pub blast_timeout: u64,

    /// Cap of the BLAST polling interval, seconds.
    #[arg(long, env = "VIRA_BLAST_MAX_INTERVAL", default_value_t = 60)]
    pub blast_max_interval: u64,

    /// Seconds a BLAST record stays claimed by one instance without renewal; another instance
    /// takes it over after that when its owner died.
    #[arg(long, env = "VIRA_BLAST_LEASE", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub blast_lease: u64,

    /// Seconds `vira serve` waits for in-flight requests after SIGTERM before it exits anyway.
    #[arg(long, env = "VIRA_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,

    /// Address of the Prometheus `/metrics` listener; off when not given (keep it off the
    /// public network: metrics are unauthenticated).
    #[arg(long, env = "VIRA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Milliseconds the readiness check waits for the database before it reports it failed.
    #[arg(long, env = "VIRA_READY_DB_TIMEOUT_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub ready_db_timeout_ms: u64,

    /// Free bytes the data path must have for the instance to report ready (1 GiB by default).
    #[arg(
        long,
        env = "VIRA_READY_MIN_FREE_BYTES",
        default_value_t = 1_073_741_824
    )]
    pub ready_min_free_bytes: u64,

    /// Milliseconds one readiness result is reused: load balancers polling many times a second
    /// (or a hostile client) cost one set of checks per interval.
    #[arg(long, env = "VIRA_READY_CACHE_MS", default_value_t = 500)]
    pub ready_cache_ms: u64,

    /// Do not run the BLAST worker in this process (split deployments; tests drive it by hand).
    #[arg(long, env = "VIRA_NO_BLAST_WORKER")]
    pub no_blast_worker: bool,
}

impl ServeConfig {
    /// A configuration with every default, for the given storage (used by tests and tools).
    pub fn with_storage(storage: StorageOptions) -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: ServeConfig,
        }
        let mut config = Wrapper::parse_from(["vira"]).config;
        config.storage = storage;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_s3_url as parse_url, StorageTarget};

    #[test]
    fn urls() {
        assert_eq!(parse_url("s3://b"), Ok(("b".into(), "".into())));
        assert_eq!(parse_url("s3://b/"), Ok(("b".into(), "".into())));
        assert_eq!(parse_url("s3://b/p/q/"), Ok(("b".into(), "p/q/".into())));
        assert!(parse_url("s3:///p").is_err());
        assert!(parse_url("http://b/p").is_err());
        assert!(parse_url("s3://b/../p").is_err());
    }

    #[test]
    fn storage_targets() {
        assert_eq!(StorageTarget::parse("local:"), Ok(StorageTarget::DataPath));
        assert_eq!(
            StorageTarget::parse("local:/srv/vira"),
            Ok(StorageTarget::Local("/srv/vira".into()))
        );
        assert_eq!(
            StorageTarget::parse("s3://b/p"),
            Ok(StorageTarget::S3("s3://b/p".into()))
        );
        assert!(StorageTarget::parse("/srv/vira").is_err());
        assert!(StorageTarget::parse("s3://").is_err());
    }
}
