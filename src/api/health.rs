//! `/api/health/live` and `/api/health/ready` for load balancers and orchestrators: no
//! authentication, nothing about the data (issue 14). Never cached by a proxy.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

use serde::Serialize;

use crate::app::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json_response;
use crate::model::field_errors::FieldErrors;
use crate::ops;

/// The body of a live instance.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Live {
    /// Always `live`.
    #[schema(example = "live")]
    status: &'static str,
}

/// The body of a ready instance.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// Always `ready`.
    #[schema(example = "ready")]
    status: &'static str,
    /// Each check (`database`, `migrations`, `storage_writable`, `free_space`) → `ok`.
    checks: BTreeMap<String, String>,
}

#[utoipa::path(get, path = "/api/health/live", operation_id = "health_live", tag = "health",
    description = "The process answers. Touches neither the database nor the disk; no credentials.",
    responses((status = 200, description = "Alive", body = Live)),
    security(()))]
/// GET /api/health/live — the process answers; touches nothing else.
pub async fn live() -> Response {
    no_store(json_response(StatusCode::OK, &Live { status: "live" }))
}

#[utoipa::path(get, path = "/api/health/ready", operation_id = "health_ready", tag = "health",
    description = "Ready for traffic: the database answers within `--ready-db-timeout-ms`, every migration is applied, the file store takes a write, and the data path has `--ready-min-free-bytes` free. No credentials; the result is reused for `--ready-cache-ms`.",
    responses(
        (status = 200, description = "Every check passed", body = Ready),
        (status = 503, description = "`not_ready`: `errors` names each failed check with its reason", body = ErrorBody),
    ),
    security(()))]
/// GET /api/health/ready — 200 with every check, or 503 `not_ready` naming the failed ones.
pub async fn ready(State(app): State<AppState>) -> Response {
    let readiness = ops::health::readiness(&app).await;
    if readiness.is_ready() {
        let body = Ready {
            status: "ready",
            checks: readiness.summary(),
        };
        return no_store(json_response(StatusCode::OK, &body));
    }
    let mut errors = FieldErrors::new();
    for (check, failure) in &readiness.checks {
        if let Some(reason) = failure {
            errors.add(*check, reason.as_str());
        }
    }
    let message = format!("Not ready: {}", readiness.failed());
    let error =
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message).with_errors(errors);
    no_store(error.into_response())
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
