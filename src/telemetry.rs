//! Logging: `RUST_LOG`-style filtering (`VIRA_LOG`), to standard error, as text (coloured only on
//! a terminal) or as one JSON object per line (`--log-format json`).

use std::io::IsTerminal;

use crate::config::LogFormat;

/// Without `VIRA_LOG`: info, but not PostgreSQL's notices ("relation … already exists, skipping"
/// at every start-up from the migrator's `CREATE TABLE IF NOT EXISTS`).
const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIRA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// The version and the commit it was built from (`build.rs`), as `--version` prints them.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("VIRA_COMMIT"), ")");

/// Histogram buckets of every `*_seconds` metric: 100 µs (a cached GET) to a minute (finalize of
/// a large result on a slow disk).
const SECONDS_BUCKETS: [f64; 17] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 15.0, 60.0,
];

/// Install the Prometheus recorder (once per process: tests start many servers in one) and
/// describe the metrics. Until this runs, every metric macro is a no-op.
pub fn install_metrics() -> anyhow::Result<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
            &SECONDS_BUCKETS,
        )?
        .install_recorder()?;
    describe_metrics();
    metrics::gauge!(
        "vira_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "commit" => env!("VIRA_COMMIT")
    )
    .set(1.0);
    Ok(HANDLE.get_or_init(|| handle).clone())
}

fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "vira_http_requests_total",
        "Requests answered, by method, route pattern and status class."
    );
    describe_histogram!(
        "vira_http_request_duration_seconds",
        Unit::Seconds,
        "Time from the request's arrival to the end of its response body."
    );
    describe_counter!(
        "vira_http_request_body_bytes_total",
        Unit::Bytes,
        "Request body bytes received, by route pattern."
    );
    describe_counter!(
        "vira_http_response_body_bytes_total",
        Unit::Bytes,
        "Response body bytes sent, by route pattern."
    );
    describe_gauge!(
        "vira_http_open_connections",
        "Open client connections, by listener."
    );
    describe_gauge!(
        "vira_db_pool_connections",
        "Database connections of a pool, idle or in use."
    );
    describe_gauge!(
        "vira_db_pool_max_connections",
        "The connection cap of a pool."
    );
    describe_gauge!(
        "vira_db_pool_acquire_wait_seconds",
        Unit::Seconds,
        "How long the scrape waited for a connection of the pool (the check's timeout when none came): above zero, requests queue for connections."
    );
    describe_counter!(
        "vira_db_errors_total",
        "Failed database operations, by kind (pool_timeout: no connection within --db-acquire-timeout, unavailable, storage_full: disk full or I/O error, unique_violation, other)."
    );
    describe_gauge!("vira_blast_records", "BLAST records, by state.");
    describe_gauge!(
        "vira_blast_worker_lag_seconds",
        Unit::Seconds,
        "How long the most overdue pending BLAST record has waited past its due time."
    );
    describe_gauge!("vira_uploads_in_progress", "Uploads being received now.");
    describe_counter!(
        "vira_read_cache_lookups_total",
        "Reads asked of the read cache, by kind and outcome (hit; miss; bypass: not coherent now)."
    );
    describe_gauge!(
        "vira_read_cache_coherent",
        "1 while this instance may serve kept reads (on PostgreSQL: it holds its lease and listens)."
    );
    describe_histogram!(
        "vira_read_cache_publish_seconds",
        Unit::Seconds,
        "After a request that wrote: announcing it and waiting for the other instances' acknowledgements."
    );
    describe_counter!(
        "vira_brotli_copies_total",
        "Brotli copies of prepared results made in the background, by outcome (made, failed)."
    );
    describe_histogram!(
        "vira_finalize_duration_seconds",
        Unit::Seconds,
        "Finalize (J4) time, checking and storing the results, by workflow and outcome."
    );
    describe_gauge!(
        "vira_startup_duration_seconds",
        Unit::Seconds,
        "Time from the start of `vira serve` to its first accept (migrations, sweep)."
    );
    describe_gauge!(
        "vira_start_time_seconds",
        Unit::Seconds,
        "When this process started, Unix time."
    );
    describe_gauge!(
        "vira_build_info",
        "Version and commit of the running binary."
    );
    describe_gauge!(
        "vira_process_resident_memory_bytes",
        Unit::Bytes,
        "Resident set size of the process."
    );
    describe_gauge!(
        "vira_process_open_fds",
        "Open file descriptors of the process."
    );
}
