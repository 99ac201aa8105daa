//! `/api/refs` (U18 import, U19 index): administrators only.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::app::AppState;
use crate::db;
use crate::db::IdTable;
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::QueryPairs;
use crate::http::{json_response, Ids};
use crate::import::reference::parse_reference;
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::Reference;
use crate::ops::auth::AuthUser;

/// POST /api/refs/import — U18.
pub async fn import(
    user: AuthUser,
    State(app): State<AppState>,
    query: QueryPairs,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    user.require_admin()?;
    let name = query.get("name").map(str::to_owned);
    if let Some(Err(rule)) = name.as_deref().map(crate::model::text::check_name) {
        let mut errors = crate::model::field_errors::FieldErrors::new();
        errors.add("name", rule);
        return Err(ApiError::invalid_query(errors));
    }
    let bytes = crate::ops::imports::receive_import(&app, &headers, body, "reference").await?;
    let parsed = tokio::task::spawn_blocking(move || parse_reference(&bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(|reason| ApiError::bad_request(format!("Invalid reference file: {reason}")))?;
    let (otu_count, isolate_count, sequence_count) = parsed.counts();
    let name = name
        .or_else(|| parsed.name.clone())
        .unwrap_or_else(|| "Imported reference".to_owned());
    let now = now_micros();
    let reference = Reference {
        id: db::fresh_id(&app.db, IdTable::Refs).await?,
        name,
        data_type: parsed.data_type.clone(),
        organism: parsed.organism.clone(),
        created_at: rfc3339(now),
        user: user.user_ref(),
        otu_count: otu_count as i64,
        isolate_count: isolate_count as i64,
        sequence_count: sequence_count as i64,
    };
    db::refs::insert_reference(&app.db, &reference, &parsed, now).await?;
    Ok(json_response(StatusCode::CREATED, &reference))
}

/// POST /api/refs/{ref_id}/indexes — U19.
pub async fn create_index(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(ref_id): Ids<String>,
) -> ApiResult<Response> {
    user.require_admin()?;
    let id = db::fresh_id(&app.db, IdTable::Indexes).await?;
    let creator = user.user_ref();
    let index = db::refs::create_index(&app.db, &id, &ref_id, &creator, now_micros())
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(json_response(StatusCode::CREATED, &index))
}
