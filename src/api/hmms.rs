//! `POST /api/hmms/annotations` (U20): add-only import of HMM annotations.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::app::AppState;
use crate::db;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json_response;
use crate::import::hmms::parse_annotations;
use crate::ops::auth::AuthUser;

/// POST /api/hmms/annotations — U20.
pub async fn import(
    user: AuthUser,
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    user.require_admin()?;
    let bytes = crate::ops::imports::receive_import(&app, &headers, body, "annotations").await?;
    let annotations = tokio::task::spawn_blocking(move || parse_annotations(&bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(|reason| ApiError::bad_request(format!("Invalid annotations file: {reason}")))?;
    let (imported, total) = db::hmms::insert_new(&app.db, &annotations).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "imported": imported,
            "skipped": annotations.len() as u64 - imported,
            "total": total,
        }),
    ))
}
