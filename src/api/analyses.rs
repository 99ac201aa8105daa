//! `/api/analyses` (U1, U2, U3) and a sample's analyses (U9, U10).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::app::AppState;
use crate::auth::rights::{can_read, can_write};
use crate::db;
use crate::db::analyses::NewAnalysis;
use crate::db::IdTable;
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::{page_request, QueryPairs};
use crate::http::{json_response, Ids};
use crate::model::page::Page;
use crate::model::time::now_micros;
use crate::ops::analyses::{
    access, delete_cascade, full_body, readable_whole, respond_with_analysis, Right,
};
use crate::ops::auth::AuthUser;

pub const WORKFLOWS: &[&str] = &["pathoscope_bowtie", "nuvs"];

/// GET /api/analyses — U1.
pub async fn list(
    user: AuthUser,
    State(app): State<AppState>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let page = page_request(&query, app.config.max_per_page)?;
    let (documents, found) =
        db::analyses::list_readable(&app.db, &user.principal, &Default::default(), page).await?;
    Ok(json_response(
        StatusCode::OK,
        &Page::new(documents, found, page),
    ))
}

/// GET /api/samples/{sample_id}/analyses — U9.
pub async fn list_for_sample(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let page = page_request(&query, app.config.max_per_page)?;
    super::samples::readable_sample(&app, &user, &sample_id).await?;
    let (documents, found) = db::analyses::list_for_sample(&app.db, &sample_id, page).await?;
    Ok(json_response(
        StatusCode::OK,
        &Page::new(documents, found, page),
    ))
}

/// POST /api/samples/{sample_id}/analyses — U10.
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut fields = body.fields();
    let ref_id = fields.string("ref_id", true, false);
    let workflow = fields.choice("workflow", true, WORKFLOWS);
    let mut subtractions = fields
        .string_list("subtractions", false)
        .unwrap_or_default();
    fields.finish()?;
    let (ref_id, workflow) = (ref_id.unwrap_or_default(), workflow.unwrap_or_default());
    let mut seen = std::collections::HashSet::new();
    subtractions.retain(|id| seen.insert(id.clone()));

    let sample = db::samples::get(&app.db, &sample_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let principal = &user.principal;
    if !can_read(principal, &sample.rights) || !can_write(principal, &sample.rights) {
        return Err(ApiError::insufficient_rights());
    }
    if db::refs::get_summary(&app.db, &ref_id).await?.is_none() {
        return Err(ApiError::bad_request("Reference does not exist"));
    }
    let (index_id, _) = db::refs::latest_index(&app.db, &ref_id)
        .await?
        .ok_or_else(|| ApiError::bad_request("No ready index"))?;
    let known = db::samples::subtraction_names(&app.db, &subtractions).await?;
    let missing: Vec<&str> = subtractions
        .iter()
        .filter(|id| !known.iter().any(|(k, _)| k == *id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Subtractions do not exist: {}",
            missing.join(",")
        )));
    }

    let id = db::fresh_id(&app.db, IdTable::Analyses).await?;
    let job_id = db::fresh_id(&app.db, IdTable::Jobs).await?;
    db::analyses::insert(
        &app.db,
        &NewAnalysis {
            id: &id,
            job_id: &job_id,
            sample_id: &sample_id,
            sample_name: &sample.sample.name,
            user_id: &user.id,
            workflow: &workflow,
            ref_id: &ref_id,
            index_id: &index_id,
            subtractions: &subtractions,
            now: now_micros(),
        },
    )
    .await?;
    let mut response = full_body(&app, &id)
        .await?
        .into_response(StatusCode::CREATED);
    let location =
        HeaderValue::from_str(&format!("/api/analyses/{id}")).map_err(ApiError::internal)?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

/// GET /api/analyses/{analysis_id} — U2.
pub async fn get_one(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let whole = readable_whole(&app, &user.principal, &analysis_id, &headers).await?;
    respond_with_analysis(&app, whole, &headers).await
}

/// DELETE /api/analyses/{analysis_id} — U3.
pub async fn delete(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
) -> ApiResult<Response> {
    let analysis = access(
        &app,
        &user.principal,
        &analysis_id,
        Right::Write,
        "Not found",
    )
    .await?;
    if !analysis.ready {
        return Err(ApiError::conflict("Analysis is still running"));
    }
    delete_cascade(&app, &analysis_id, true, "Analysis is still running").await
}
