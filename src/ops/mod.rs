//! Operations shared by the front doors (the user API, the jobs API, the web pages, the command
//! line): each takes the application state and plain arguments, checks what the contract says in
//! its order, and calls the storage layer and the pure domain code. Front doors only parse the
//! request, call an operation and shape the response.

pub mod analyses;
pub mod analysis_create;
pub mod auth;
pub mod blast;
pub mod blast_requests;
pub mod finalize;
pub mod health;
pub mod hmm_profiles;
pub mod imports;
pub mod indexes;
pub mod job_scope;
pub mod job_sweep;
pub mod jobs;
pub mod metrics;
pub mod read_cache;
pub mod results;
pub mod runner_samples;
pub mod runners;
pub mod sample_delete;
pub mod samples;
pub mod sessions;
pub mod subtractions;
pub mod sweep;
pub mod uploads;
pub mod user_uploads;
pub mod users;

use crate::http::error::{ApiError, ApiResult};

/// Run CPU-bound formatting off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}
