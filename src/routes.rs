//! The routers of the listeners: the web pages, `/api` and `/jobs-api` on the main one, the jobs
//! API alone on `--jobs-listen`; both through the one layer stack of `http::layers`.

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::compression::CompressionLayer;

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::layers::with_layers;

/// The whole application: the pages under `/`, `/api` and `/jobs-api` on one router.
pub fn router(state: AppState) -> Router {
    with_layers(
        Router::new()
            .route(
                "/api/openapi.json",
                axum::routing::get(crate::openapi::openapi_json),
            )
            .nest("/api", crate::api::routes())
            .nest("/jobs-api", crate::jobs_api::routes())
            // Pages are compressed per request when the browser accepts gzip; the APIs serve
            // their bodies as they are.
            .merge(crate::web::routes().layer(CompressionLayer::new().gzip(true)))
            .fallback(unknown_path)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::ops::read_cache::publish_writes,
            ))
            .with_state(state),
    )
}

/// An unknown path: the contract's JSON 404, or a readable page for a browser outside the APIs.
async fn unknown_path(request: Request) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/") || path.starts_with("/jobs-api");
    if !api && crate::web::accepts_html(request.headers()) {
        return crate::web::unknown_page();
    }
    ApiError::not_found().into_response()
}

/// Prometheus `/metrics` alone (for `--metrics-listen`). Outside the layer stack: scrapes are
/// not requests of the service and do not appear in its request metrics.
pub fn metrics_router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move |State(app): State<AppState>| async move {
                crate::ops::metrics::refresh(&app).await;
                (
                    [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                    handle.render(),
                )
            }),
        )
        .fallback(|| async { ApiError::not_found() })
        .with_state(state)
}

/// Only the jobs API (for `--jobs-listen`), with the same layers.
pub fn jobs_router(state: AppState) -> Router {
    with_layers(
        Router::new()
            .nest("/jobs-api", crate::jobs_api::routes())
            .fallback(|| async { ApiError::not_found() })
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::ops::read_cache::publish_writes,
            ))
            .with_state(state),
    )
}
