//! The jobs API for workflow runners, mounted at `/jobs-api` (contract §6, J1–J7).

pub mod analyses;
pub mod claim;
pub mod hmms;
pub mod indexes;
pub mod jobs;
pub mod sample_delete;
pub mod samples;
pub mod subtractions;

use axum::routing::{get, post, put};
use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs/claim", post(claim::claim))
        .route("/jobs/{job_id}", get(claim::get_one).patch(jobs::acquire))
        .route("/jobs/{job_id}/release", post(claim::release))
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
            get(samples::get_one)
                .patch(samples::finalize)
                .delete(sample_delete::delete),
        )
        .route(
            "/samples/{sample_id}/reads/{reads_file}",
            get(samples::download_reads).put(samples::upload_reads),
        )
        .route("/uploads/{upload_id}", get(samples::download_upload))
        .route(
            "/indexes/{index_id}",
            get(indexes::get_one)
                .patch(indexes::finalize)
                .delete(indexes::delete),
        )
        .route(
            "/indexes/{index_id}/files/{filename}",
            get(indexes::download).put(indexes::upload),
        )
        .route(
            "/subtractions/{subtraction_id}",
            get(subtractions::get_one)
                .patch(subtractions::finalize)
                .delete(subtractions::delete),
        )
        .route(
            "/subtractions/{subtraction_id}/files/{filename}",
            get(subtractions::download).put(subtractions::upload),
        )
        .route("/hmms/files/annotations.json.gz", get(hmms::annotations))
        .route("/hmms/files/profiles.hmm", get(hmms::profiles))
}
