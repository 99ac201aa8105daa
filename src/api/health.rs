//! `/api/health/live` and `/api/health/ready` for load balancers and orchestrators: no
//! authentication, nothing about the data (issue 14). Never cached by a proxy.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::json_response;
use crate::model::field_errors::FieldErrors;
use crate::ops;

/// GET /api/health/live — the process answers; touches nothing else.
pub async fn live() -> Response {
    no_store(json_response(StatusCode::OK, &json!({"status": "live"})))
}

/// GET /api/health/ready — 200 with every check, or 503 `not_ready` naming the failed ones.
pub async fn ready(State(app): State<AppState>) -> Response {
    let readiness = ops::health::readiness(&app).await;
    if readiness.is_ready() {
        let body = json!({"status": "ready", "checks": Value::Object(readiness.summary())});
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
