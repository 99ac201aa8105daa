//! `/api/analyses` (U1, U2, U3) and a sample's analyses (U9, U10).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::query::{page_request, QueryPairs};
use crate::http::{json_response, Ids, JsonBytes};
use crate::model::page::Page;
use crate::model::views::Analysis;
use crate::model::workflow::AnalysisWorkflow;
use crate::ops::analyses::{
    access, delete_cascade, of_readable_sample, readable_head, readable_page,
    respond_with_analysis, written_body, Right,
};
use crate::ops::analysis_create::NewAnalysisRequest;
use crate::ops::auth::AuthUser;

#[utoipa::path(get, path = "/api/analyses", operation_id = "list_analyses", tag = "analyses",
    params(("page" = Option<i64>, Query, minimum = 1, description = "Page number, default 1"),
        ("per_page" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Items per page, default 25; at most `--max-per-page` (100)")),
    responses(
        (status = 200, description = "Analyses the user may read, newest first", body = AnalysisPage),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 422, description = "`invalid_query`: bad `page` or `per_page`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/analyses — U1.
pub async fn list(
    user: AuthUser,
    State(app): State<AppState>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let page = page_request(&query, app.config.max_per_page)?;
    let body = readable_page(&app, &user.principal, page).await?;
    Ok((StatusCode::OK, JsonBytes(body)).into_response())
}

#[utoipa::path(get, path = "/api/samples/{sample_id}/analyses", operation_id = "list_sample_analyses", tag = "analyses",
    params(("sample_id" = String, Path, description = "Sample id"), ("page" = Option<i64>, Query, minimum = 1, description = "Page number, default 1"),
        ("per_page" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Items per page, default 25; at most `--max-per-page` (100)")),
    responses(
        (status = 200, description = "The sample's analyses, newest first", body = AnalysisPage),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "No read right on the sample", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
        (status = 422, description = "`invalid_query`: bad `page` or `per_page`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/samples/{sample_id}/analyses — U9.
pub async fn list_for_sample(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let page = page_request(&query, app.config.max_per_page)?;
    let (_, documents, found) = of_readable_sample(&app, &user.principal, &sample_id, page).await?;
    Ok(json_response(
        StatusCode::OK,
        &Page::new(documents, found, page),
    ))
}

#[utoipa::path(post, path = "/api/samples/{sample_id}/analyses", operation_id = "create_analysis", tag = "analyses",
    params(("sample_id" = String, Path, description = "Sample id")),
    request_body(content = NewAnalysisBody, description = "Other keys are ignored; an empty body counts as `{}`"),
    responses(
        (status = 201, description = "The new analysis (not ready) and its waiting job", body = Analysis,
            headers(("Location" = String, description = "`/api/analyses/{id}`")),
            links(("GetAnalysis" = (operation_id = "get_analysis", parameters(("analysis_id" = "$response.body#/id")))),
                  ("GetSample" = (operation_id = "get_sample", parameters(("sample_id" = "$request.path.sample_id")))))),
 (status = 400, description = "`Malformed JSON`, or a problem named per route", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`insufficient_rights`, `forbidden` (administrators only) or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/samples/{sample_id}/analyses — U10.
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut fields = body.fields();
    let ref_id = fields.string("ref_id", true, false);
    let workflow = fields.parsed("workflow", true, AnalysisWorkflow::parse);
    let mut subtractions = fields
        .string_list("subtractions", false)
        .unwrap_or_default();
    fields.finish()?;
    let ref_id = ref_id.unwrap_or_default();
    // `finish` refused a missing or unknown workflow.
    let workflow = workflow.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no workflow")))?;
    let mut seen = std::collections::HashSet::new();
    subtractions.retain(|id| seen.insert(id.clone()));

    let new = NewAnalysisRequest {
        sample_id,
        ref_id,
        workflow,
        subtractions,
    };
    let id = crate::ops::analysis_create::create(&app, &user.principal, &new).await?;
    let mut response = written_body(&app, &id, None)
        .await?
        .into_response(StatusCode::CREATED);
    let location =
        HeaderValue::from_str(&format!("/api/analyses/{id}")).map_err(ApiError::internal)?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

#[utoipa::path(get, path = "/api/analyses/{analysis_id}", operation_id = "get_analysis", tag = "analyses",
    description = "The full analysis. With `If-Modified-Since` not earlier than `updated_at`: 304 without a body.",
    params(("analysis_id" = String, Path, description = "Analysis id")),
    responses(
        (status = 200, description = "The analysis, with `Last-Modified`", body = Analysis),
        (status = 304, description = "Not modified since `If-Modified-Since`"),
        (status = 400, description = "`Parent sample does not exist`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "No read right", body = ErrorBody),
        (status = 404, description = "No such analysis", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/analyses/{analysis_id} — U2.
pub async fn get_one(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(analysis_id): Ids<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let head = readable_head(&app, &user.principal, &analysis_id).await?;
    respond_with_analysis(&app, &head, &headers).await
}

#[utoipa::path(delete, path = "/api/analyses/{analysis_id}", operation_id = "delete_analysis", tag = "analyses",
    params(("analysis_id" = String, Path, description = "Analysis id")),
    responses(
        (status = 204, description = "Deleted, with its files and BLAST records"),
        (status = 400, description = "`Parent sample does not exist`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`insufficient_rights`, `forbidden` (administrators only) or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such analysis", body = ErrorBody),
        (status = 409, description = "`Analysis is still running`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
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
    // A not-ready analysis whose job is finished (failed, cancelled, …) goes like a ready one
    // (workflows.md §6.4).
    if !analysis.ready && crate::ops::jobs::is_unfinished(&app, &analysis.job_id).await? {
        return Err(ApiError::conflict("Analysis is still running"));
    }
    delete_cascade(
        &app,
        &analysis_id,
        analysis.ready,
        "Analysis is still running",
    )
    .await
}

/// The body of U10.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewAnalysisBody {
    /// A reference with at least one index.
    ref_id: String,
    #[schema(value_type = crate::model::workflow::AnalysisWorkflow)]
    workflow: String,
    /// Subtraction ids (default none); duplicates are dropped.
    #[schema(required = false)]
    subtractions: Vec<String>,
}

/// A page of analyses (contract §1.4).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AnalysisPage {
    documents: Vec<crate::model::views::AnalysisMinimal>,
    found_count: i64,
    page: i64,
    page_count: i64,
    per_page: i64,
    total_count: i64,
}
