//! Readiness: the database answers within `--ready-db-timeout-ms`, every embedded migration is
//! applied, a write to the database commits and is seen by a read, the file store takes a write,
//! and the data path has `--ready-min-free-bytes` free. One set of checks runs at a time and its
//! result is reused for `--ready-cache-ms`, so polling cannot load the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::AppState;
use crate::model::health::Readiness;

pub async fn readiness(app: &AppState) -> Arc<Readiness> {
    let mut last = app.readiness.lock().await;
    let fresh = Duration::from_millis(app.config.ready_cache_ms);
    if let Some((at, readiness)) = last.as_ref() {
        if at.elapsed() < fresh {
            return readiness.clone();
        }
    }
    let readiness = Arc::new(check(app).await);
    if !readiness.is_ready() {
        tracing::warn!(failed = %readiness.failed(), "not ready");
    }
    *last = Some((Instant::now(), readiness.clone()));
    readiness
}

async fn check(app: &AppState) -> Readiness {
    let mut readiness = Readiness::default();
    let timeout = Duration::from_millis(app.config.ready_db_timeout_ms);
    let database = match tokio::time::timeout(timeout, app.db.ping()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database");
            Some("the database does not answer".to_owned())
        }
        Err(_) => Some(format!(
            "the database did not answer within {} ms",
            timeout.as_millis()
        )),
    };
    let reachable = database.is_none();
    readiness.record("database", database);
    let migrations = if reachable {
        match tokio::time::timeout(timeout, crate::db::migrate::unapplied(&app.db)).await {
            Ok(Ok(0)) => None,
            Ok(Ok(n)) => Some(format!("{n} migrations of this version are not applied")),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: migrations");
                Some("the applied migrations cannot be read".to_owned())
            }
            Err(_) => Some("the applied migrations were not read in time".to_owned()),
        }
    } else {
        Some("not checked: the database does not answer".to_owned())
    };
    readiness.record("migrations", migrations);
    let writable = if reachable {
        match tokio::time::timeout(timeout, app.db.probe_write()).await {
            Ok(Ok(true)) => None,
            Ok(Ok(false)) => Some("a write to the database was not seen by a read".to_owned()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: database write");
                Some("the database refuses writes".to_owned())
            }
            Err(_) => Some("a write to the database did not finish in time".to_owned()),
        }
    } else {
        Some("not checked: the database does not answer".to_owned())
    };
    readiness.record("database_writable", writable);
    readiness.record("storage_writable", write_probe(app).await);
    readiness.record("free_space", free_space(app).await);
    readiness
}

/// Write, sync and remove one temporary object, the way an upload does.
async fn write_probe(app: &AppState) -> Option<String> {
    let probe = app.files.probe_write();
    match tokio::time::timeout(Duration::from_millis(app.config.ready_db_timeout_ms), probe).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: file store");
            Some("the file store refuses writes".to_owned())
        }
        Err(_) => Some("a write to the file store did not finish in time".to_owned()),
    }
}

async fn free_space(app: &AppState) -> Option<String> {
    let minimum = app.config.ready_min_free_bytes;
    match app.files.free_bytes().await {
        Ok(free) if free >= minimum => None,
        Ok(free) => Some(format!("{free} bytes free, below the minimum of {minimum}")),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: free space");
            Some("the free space cannot be read".to_owned())
        }
    }
}
