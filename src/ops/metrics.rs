//! The gauges read at scrape time (database pools, BLAST records, the process), so `/metrics`
//! is current without a background task. Counters and histograms are recorded where things
//! happen (the request log, the listeners, finalize, uploads, the storage layer).

use std::time::Duration;

use crate::app::AppState;
use crate::model::time::now_micros;

pub async fn refresh(app: &AppState) {
    for pool in app.db.pool_stats() {
        let in_use = f64::from(pool.size) - pool.idle as f64;
        metrics::gauge!("vira_db_pool_connections", "pool" => pool.name, "state" => "idle")
            .set(pool.idle as f64);
        metrics::gauge!("vira_db_pool_connections", "pool" => pool.name, "state" => "in_use")
            .set(in_use);
        metrics::gauge!("vira_db_pool_max_connections", "pool" => pool.name)
            .set(f64::from(pool.max));
    }
    let timeout = Duration::from_millis(app.config.ready_db_timeout_ms);
    // sqlx does not say how many wait for a connection; how long one takes to get says as much.
    for (pool, wait) in app.db.acquire_waits(timeout).await {
        let seconds = wait.unwrap_or(timeout).as_secs_f64();
        metrics::gauge!("vira_db_pool_acquire_wait_seconds", "pool" => pool).set(seconds);
    }
    match tokio::time::timeout(timeout, crate::db::blast::state_counts(&app.db)).await {
        Ok(Ok(counts)) => {
            for (state, n) in [
                ("pending", counts.pending),
                ("ready", counts.ready),
                ("failed", counts.failed),
            ] {
                metrics::gauge!("vira_blast_records", "state" => state).set(n as f64);
            }
            // How long the most overdue pending record has waited past its due time.
            let lag = counts
                .oldest_due
                .map_or(0, |due| (now_micros() - due).max(0));
            metrics::gauge!("vira_blast_worker_lag_seconds").set(lag as f64 / 1e6);
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: BLAST record counts"),
        Err(_) => tracing::warn!("metrics: BLAST record counts timed out"),
    }
    let coherent = app.db.changes().snapshot().is_some() && app.config.read_cache_bytes > 0;
    metrics::gauge!("vira_read_cache_coherent").set(if coherent { 1.0 } else { 0.0 });
    if let Some(resident) = resident_bytes() {
        metrics::gauge!("vira_process_resident_memory_bytes").set(resident as f64);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("vira_process_open_fds").set(fds.count() as f64);
    }
}

/// Resident set size from `/proc/self/statm` (pages × page size); `None` off Linux.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * rustix::param::page_size() as u64)
}
