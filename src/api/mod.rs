//! The user API, mounted at `/api`: the complete route table (contract route table U1–U20, and
//! `/api/account` for sessions).

pub mod account;
pub mod analyses;
pub mod blast;
pub mod export;
pub mod files;
pub mod health;
pub mod hmms;
pub mod indexes;
pub mod jobs;
pub mod refs;
pub mod runners;
pub mod sample_delete;
pub mod samples;
pub mod subtractions;
pub mod uploads;
pub mod users;

use axum::routing::{delete, get, patch, post, put};
use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/analyses", get(analyses::list))
        .route(
            "/analyses/{analysis_id}",
            get(analyses::get_one).delete(analyses::delete),
        )
        .route("/analyses/{analysis_id}/files", post(files::upload))
        .route(
            "/analyses/{analysis_id}/files/{file_id}",
            get(files::download),
        )
        .route(
            "/analyses/{analysis_id}/{sequence_index}/blast",
            get(blast::get_one).put(blast::put),
        )
        .route("/analyses/document/{file}", get(export::export))
        .route("/analyses/documents/{file}", get(export::export))
        .route("/samples", get(samples::list).post(samples::create))
        .route(
            "/samples/{sample_id}",
            get(samples::get_one).delete(sample_delete::delete),
        )
        .route("/samples/{sample_id}/rights", patch(samples::update_rights))
        .route(
            "/samples/{sample_id}/reads/{reads_file}",
            get(samples::download_reads),
        )
        .route("/uploads", get(uploads::list).post(uploads::upload))
        .route(
            "/uploads/{upload_id}",
            get(uploads::download).delete(uploads::delete),
        )
        .route(
            "/samples/{sample_id}/analyses",
            get(analyses::list_for_sample).post(analyses::create),
        )
        .route("/users", post(users::create))
        .route("/users/{user_id}", patch(users::update))
        .route("/users/{user_id}/keys", delete(users::delete_keys))
        .route("/login-blocks", delete(users::clear_login_blocks))
        .route("/groups", post(users::create_group))
        .route(
            "/subtractions",
            get(subtractions::list).post(subtractions::create),
        )
        .route("/subtractions/{subtraction_id}", get(subtractions::get_one))
        .route("/indexes/{index_id}", get(indexes::get_one))
        .route("/refs/import", post(refs::import))
        .route("/refs/{ref_id}/indexes", post(refs::create_index))
        .route("/hmms/annotations", post(hmms::import))
        .route("/jobs/{job_id}", get(jobs::get_one))
        .route("/jobs/{job_id}/cancel", put(jobs::cancel))
        .route("/runners", get(runners::list).post(runners::create))
        .route("/runners/{runner_id}", delete(runners::revoke))
        .route("/hmms/profiles", post(hmms::import_profiles))
        .route(
            "/account",
            get(account::get).patch(account::change_password),
        )
        .route(
            "/account/login",
            post(account::login).delete(account::logout),
        )
        .route(
            "/account/keys",
            get(account::list_keys)
                .post(account::create_key)
                .delete(account::delete_keys),
        )
        .route(
            "/account/keys/{key_id}",
            get(account::get_key).delete(account::delete_key),
        )
}
