//! The routers of the listeners: `/api` and `/jobs-api` on the main one, the jobs API alone on
//! `--jobs-listen`; both through the one layer stack of `http::layers`.

use axum::Router;

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::layers::with_layers;

/// The whole application: `/api` and `/jobs-api` on one router.
pub fn router(state: AppState) -> Router {
    with_layers(
        Router::new()
            .nest("/api", crate::api::routes())
            .nest("/jobs-api", crate::jobs_api::routes())
            .fallback(|| async { ApiError::not_found() })
            .with_state(state),
    )
}

/// Only the jobs API (for `--jobs-listen`), with the same layers.
pub fn jobs_router(state: AppState) -> Router {
    with_layers(
        Router::new()
            .nest("/jobs-api", crate::jobs_api::routes())
            .fallback(|| async { ApiError::not_found() })
            .with_state(state),
    )
}
