//! Reads served from memory while nothing has changed since they were made (`--read-cache-bytes`):
//! analysis heads, U1 pages and samples. A kept read is valid for the change generation of
//! `db::changes` it was made in, so every write of this instance, and on PostgreSQL every write
//! of any instance (acknowledged before that write is answered), makes it stale.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::{App, AppState};
use crate::cache::Kept;
use crate::db;

/// The value of kind `kind` for `id`: kept, or made by `read` (which returns `None` for "no such
/// thing": that is never kept) and kept for the generation noted before it ran.
pub async fn read_through<T, R, E>(
    app: &App,
    kind: &'static str,
    id: &str,
    weight: impl FnOnce(&T) -> usize,
    read: R,
) -> Result<Option<Arc<T>>, E>
where
    T: Any + Send + Sync,
    R: Future<Output = Result<Option<T>, E>>,
{
    let generation = app.db.changes().snapshot();
    let kept = generation
        .and_then(|generation| app.read_cache.get(id, kind, generation))
        .and_then(Kept::get::<T>);
    let outcome = match (generation, &kept) {
        (None, _) => "bypass",
        (Some(_), Some(_)) => "hit",
        (Some(_), None) => "miss",
    };
    metrics::counter!("vira_read_cache_lookups_total", "kind" => kind, "outcome" => outcome)
        .increment(1);
    if let Some(value) = kept {
        return Ok(Some(value));
    }
    let Some(value) = read.await? else {
        return Ok(None);
    };
    let value = Arc::new(value);
    if let Some(generation) = generation {
        let weight = weight(&value) + id.len() + 64;
        app.read_cache
            .put(id, kind, generation, Kept::new(value.clone(), weight));
    }
    Ok(Some(value))
}

/// Around every request: one that wrote publishes its writes before it answers (on PostgreSQL,
/// every other caching instance acknowledges them first; `db::changes::publish`). A request that
/// failed on the server's side (5xx) acknowledges no write, so it owes no one the wait: during a
/// database outage its error is answered at once instead of after a second timeout.
pub async fn publish_writes(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let before = app.db.changes().local_writes();
    let response = next.run(request).await;
    if app.db.changes().local_writes() != before && !response.status().is_server_error() {
        let started = std::time::Instant::now();
        let published = db::changes::publish(&app.db).await;
        metrics::histogram!("vira_read_cache_publish_seconds")
            .record(started.elapsed().as_secs_f64());
        if let Err(error) = published {
            // The write's own notification still reaches every instance; only the wait for
            // their acknowledgements is lost.
            tracing::warn!(%error, "could not publish a write to the other instances");
        }
    }
    response
}

/// Keep this instance's cache coherent with the others' writes (PostgreSQL) until `stop`.
pub async fn keep_coherent(app: AppState, stop: tokio::sync::watch::Receiver<bool>) {
    let settings = db::changes::Coherence {
        lease: std::time::Duration::from_millis(app.config.read_cache_lease_ms),
        caching: app.config.read_cache_bytes > 0,
    };
    db::changes::listen(
        app.db.clone(),
        app.config.storage.database_url(),
        settings,
        stop,
    )
    .await;
}
