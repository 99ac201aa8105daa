//! The jobs API for workflow runners, mounted at `/jobs-api` (contract §6, J1–J7).

pub mod analyses;
pub mod claim;
pub mod jobs;
pub mod sample_delete;
pub mod samples;

use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs/claim", post(claim::claim))
        .route("/jobs/{job_id}", get(claim::get_one).patch(jobs::acquire))
        .route("/jobs/{job_id}/release", post(claim::release))
        .route("/samples/{sample_id}", delete(sample_delete::delete))
        .route("/jobs/{job_id}/status", post(jobs::push_status))
        .route("/jobs/{job_id}/ping", put(jobs::ping))
        .route(
            "/analyses/{analysis_id}",
            get(analyses::get_one)
                .patch(analyses::finalize)
                .delete(analyses::delete),
        )
        .route(
            "/analyses/{analysis_id}/files",
            post(analyses::upload).put(analyses::upload),
        )
        .route(
            "/samples/{sample_id}",
            get(samples::get_one).patch(samples::finalize),
        )
        .route(
            "/samples/{sample_id}/reads/{reads_file}",
            get(samples::download_reads).put(samples::upload_reads),
        )
        .route("/uploads/{upload_id}", get(samples::download_upload))
}
