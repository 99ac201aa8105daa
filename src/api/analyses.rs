//! `/api/analyses` (U1, U2, U3) and a sample's analyses (U9, U10).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use crate::app::{App, AppState};
use crate::auth::rights::{can_read, can_write};
use crate::auth::AuthUser;
use crate::db;
use crate::db::analyses::{AnalysisCore, Delete, NewAnalysis};
use crate::db::IdTable;
use crate::http::body::JsonObject;
use crate::http::caching;
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::{page_request, PageRequest, QueryPairs};
use crate::http::{json_response, Ids};
use crate::model::time::{now_micros, Micros};
use crate::model::views::{AnalysisFile, AnalysisMinimal, Page};

pub const WORKFLOWS: &[&str] = &["pathoscope_bowtie", "nuvs"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Read,
    Write,
}

/// The user-API checks shared by U2–U8: 404 (with `not_found` as message), 400 parent sample missing,
/// then 403 for the right.
pub async fn access(
    app: &App,
    user: &AuthUser,
    analysis_id: &str,
    right: Right,
    not_found: &'static str,
) -> ApiResult<AnalysisCore> {
    let analysis = db::analyses::get_core(&app.db, analysis_id)
        .await?
        .ok_or_else(|| ApiError::not_found_msg(not_found))?;
    let sample = analysis
        .sample
        .as_ref()
        .ok_or_else(ApiError::parent_sample_missing)?;
    let principal = user.principal();
    let allowed = match right {
        Right::Read => can_read(&principal, sample),
        Right::Write => can_write(&principal, sample),
    };
    if !allowed {
        return Err(ApiError::insufficient_rights());
    }
    Ok(analysis)
}

fn page_body(
    documents: Vec<AnalysisMinimal>,
    found: i64,
    page: PageRequest,
) -> Page<AnalysisMinimal> {
    Page {
        documents,
        found_count: found,
        page: page.page,
        page_count: page.page_count(found),
        per_page: page.per_page,
        total_count: found,
    }
}

/// GET /api/analyses — U1.
pub async fn list(
    user: AuthUser,
    State(app): State<AppState>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let page = page_request(&query, app.config.max_per_page)?;
    let (documents, found) = db::analyses::list_readable(&app.db, &user.principal(), page).await?;
    Ok(json_response(
        StatusCode::OK,
        &page_body(documents, found, page),
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
        &page_body(documents, found, page),
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
    let principal = user.principal();
    if !can_read(&principal, &sample.rights) || !can_write(&principal, &sample.rights) {
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

#[derive(Serialize)]
struct AnalysisHead<'a> {
    #[serde(flatten)]
    minimal: &'a AnalysisMinimal,
    files: &'a [AnalysisFile],
}

/// The full Analysis body (§5.0) as parts (head, prepared results, tail), so the stored results
/// are sent without another copy; shared by U2, U10, J3 and J4.
pub struct AnalysisBody {
    parts: [Bytes; 3],
    pub updated_at: Micros,
}

impl AnalysisBody {
    /// A 200 (or `status`) JSON response with the caching headers of §11.
    pub fn into_response(self, status: StatusCode) -> Response {
        let length: usize = self.parts.iter().map(Bytes::len).sum();
        let chunks = self
            .parts
            .into_iter()
            .map(Ok::<_, std::convert::Infallible>);
        let mut response = (
            status,
            Body::from_stream(futures_util::stream::iter(chunks)),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::http::JSON_CONTENT_TYPE),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        caching::add_headers(headers, self.updated_at);
        response
    }
}

pub async fn full_body(app: &App, analysis_id: &str) -> ApiResult<AnalysisBody> {
    let minimal = db::analyses::get_minimal(&app.db, analysis_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let files = db::files::list(&app.db, analysis_id).await?;
    let results = if minimal.ready {
        crate::format::results_for(app, analysis_id, &minimal.workflow).await?
    } else {
        None
    };
    let mut head = serde_json::to_vec(&AnalysisHead {
        minimal: &minimal,
        files: &files,
    })
    .map_err(ApiError::internal)?;
    // Splice the prepared results in as the last key instead of re-serializing them.
    head.pop();
    head.extend_from_slice(b",\"results\":");
    let results = results
        .map(Bytes::from)
        .unwrap_or(Bytes::from_static(b"null"));
    Ok(AnalysisBody {
        parts: [Bytes::from(head), results, Bytes::from_static(b"}")],
        updated_at: minimal.updated_at_micros,
    })
}

/// A 200 with the caching headers of §11, or the 304.
pub async fn respond_with_analysis(
    app: &App,
    analysis: &AnalysisCore,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    if let Some(not_modified) = caching::not_modified(headers, analysis.updated_at) {
        return Ok(not_modified);
    }
    Ok(full_body(app, &analysis.id)
        .await?
        .into_response(StatusCode::OK))
}

/// GET /api/analyses/{analysis_id} — U2.
pub async fn get_one(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let analysis = access(&app, &user, &analysis_id, Right::Read, "Not found").await?;
    respond_with_analysis(&app, &analysis, &headers).await
}

/// Delete an analysis whose `ready` flag equals `required_ready`, then its stored files (§12).
pub async fn delete_cascade(
    app: &App,
    analysis_id: &str,
    required_ready: bool,
    wrong_state: &'static str,
) -> ApiResult<Response> {
    match db::analyses::delete(&app.db, analysis_id, required_ready).await? {
        Delete::NotFound => Err(ApiError::not_found()),
        Delete::WrongState => Err(ApiError::conflict(wrong_state)),
        Delete::Deleted => {
            if let Err(e) = app.files.remove_analysis(analysis_id).await {
                tracing::error!(analysis_id, error = %e, "could not remove the analysis's files");
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// DELETE /api/analyses/{analysis_id} — U3.
pub async fn delete(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
) -> ApiResult<Response> {
    let analysis = access(&app, &user, &analysis_id, Right::Write, "Not found").await?;
    if !analysis.ready {
        return Err(ApiError::conflict("Analysis is still running"));
    }
    delete_cascade(&app, &analysis_id, true, "Analysis is still running").await
}
