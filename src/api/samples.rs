//! `/api/samples` (U11, U12, U13). A sample's rights govern its analyses (contract §4).

use crate::http::error::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use axum::http::HeaderMap;
use serde_json::Value;

use crate::app::AppState;
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::{page_request, QueryPairs};
use crate::http::validate::Fields;
use crate::http::{created, download, json_response, Ids};
use crate::model::sample::LIBRARY_TYPES;
use crate::model::views::Sample;
use crate::ops;
use crate::ops::auth::AuthUser;
use crate::ops::samples::{NewSample, RightsChange};

/// Read `group`: a group id, `"none"` or null (both meaning no group). `Some(..)` when given.
fn group_field(fields: &mut Fields) -> Option<Option<String>> {
    match fields.nullable_string("group")? {
        Some(g) if g != "none" => Some(Some(g)),
        _ => Some(None),
    }
}

const FILES_RULE: &str = "must be a list of 1 or 2 distinct upload ids";

/// `files`: absent or null for a placeholder, else 1 or 2 distinct integers (workflows §3.2).
fn files_field(fields: &mut Fields) -> Option<Vec<i64>> {
    let list = match fields.raw("files") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(list)) => list,
        Some(_) => {
            fields.add("files", "must be of list type");
            return None;
        }
    };
    let ids: Vec<i64> = list.iter().filter_map(Value::as_i64).collect();
    let distinct = ids.len() != 2 || ids[0] != ids[1];
    if ids.len() != list.len() || ids.is_empty() || ids.len() > 2 || !distinct {
        fields.add("files", FILES_RULE);
        return None;
    }
    Some(ids)
}

/// `labels`: a list of integers (any of them is refused later: vira has no labels).
fn labels_field(fields: &mut Fields) -> Vec<i64> {
    match fields.raw("labels") {
        None => Vec::new(),
        Some(Value::Null) => {
            fields.add("labels", "null value not allowed");
            Vec::new()
        }
        Some(Value::Array(list)) => {
            let ids: Vec<i64> = list.iter().filter_map(Value::as_i64).collect();
            if ids.len() != list.len() {
                fields.add("labels", "must be of integer type");
            }
            ids
        }
        Some(_) => {
            fields.add("labels", "must be of list type");
            Vec::new()
        }
    }
}

/// A one-line field, trimmed (`host`, `isolate`, `locale`); default `""`.
fn trimmed(fields: &mut Fields, field: &str) -> String {
    fields
        .string(field, false, false)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

#[utoipa::path(post, path = "/api/samples", operation_id = "create_sample", tag = "samples",
    request_body(content = NewSampleBody, description = "An empty body counts as `{}`"),
    responses(
        (status = 201, description = "The new sample, owned by the caller; with `files`, its `create_sample` job", body = Sample,
            headers(("Location" = String, description = "`/api/samples/{id}`")),
            links(("GetSample" = (operation_id = "get_sample", parameters(("sample_id" = "$response.body#/id")))),
                  ("ListSampleAnalyses" = (operation_id = "list_sample_analyses", parameters(("sample_id" = "$response.body#/id")))),
                  ("CreateAnalysis" = (operation_id = "create_analysis", parameters(("sample_id" = "$response.body#/id")))),
                  ("UpdateSampleRights" = (operation_id = "update_sample_rights", parameters(("sample_id" = "$response.body#/id")))))),
 (status = 400, description = "`Malformed JSON`, `Group does not exist`, `Subtractions do not exist: …`, `Labels do not exist: …`, `File does not exist` or `File is already in use`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "With the session cookie: `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/samples — U11 (workflows §3.2).
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut fields = body.fields();
    let name = fields.string("name", true, true);
    let group = group_field(&mut fields).unwrap_or(None);
    let group_read = fields.boolean("group_read", false).unwrap_or(true);
    let group_write = fields.boolean("group_write", false).unwrap_or(false);
    let all_read = fields.boolean("all_read", false).unwrap_or(true);
    let all_write = fields.boolean("all_write", false).unwrap_or(false);
    let files = files_field(&mut fields);
    let library_type = fields
        .choice("library_type", false, LIBRARY_TYPES)
        .unwrap_or_else(|| "normal".to_owned());
    let mut subtractions = fields
        .string_list("subtractions", false)
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    subtractions.retain(|id| seen.insert(id.clone()));
    let host = trimmed(&mut fields, "host");
    let isolate = trimmed(&mut fields, "isolate");
    let locale = trimmed(&mut fields, "locale");
    let notes = fields.text("notes", false).unwrap_or_default();
    let labels = labels_field(&mut fields);
    fields.finish()?;
    let new = NewSample {
        name: name.unwrap_or_default(),
        group,
        group_read,
        group_write,
        all_read,
        all_write,
        host,
        isolate,
        locale,
        notes,
        library_type,
        subtractions,
        labels,
        files,
    };
    let sample = ops::samples::create(&app, &user.principal, user.user_ref(), new).await?;
    Ok(created(
        &format!("/api/samples/{}", sample.sample.id),
        &sample.sample,
    ))
}

#[utoipa::path(get, path = "/api/samples", operation_id = "list_samples", tag = "samples",
    params(("page" = Option<i64>, Query, minimum = 1, description = "Page number, default 1"),
        ("per_page" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Items per page, default 25; at most `--max-per-page` (100)"),
        ("find" = Option<String>, Query, description = "Only samples whose name contains this (case-insensitive)")),
    responses(
        (status = 200, description = "The samples the caller can read, newest first, without `reads` and `quality`", body = SamplePage),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 422, description = "`invalid_query`: bad `page` or `per_page`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/samples — U25.
pub async fn list(
    user: AuthUser,
    State(app): State<AppState>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let page = page_request(&query, app.config.max_per_page)?;
    let body = ops::samples::list(&app, &user.principal, query.get("find"), page).await?;
    Ok(json_response(StatusCode::OK, &body))
}

#[utoipa::path(get, path = "/api/samples/{sample_id}/reads/{reads_file}", operation_id = "download_sample_reads", tag = "samples",
    description = "A ready sample's stored reads; one `Range` (`bytes=a-b`, `a-`, `-n`) gives 206.",
    params(("sample_id" = String, Path, description = "Sample id"), ("reads_file" = String, Path, description = "`reads_1.fq.gz` or `reads_2.fq.gz`")),
    responses(
        (status = 200, description = "The whole file, as an attachment", content(("application/gzip"))),
        (status = 206, description = "The requested range", content(("application/gzip"))),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "No read right", body = ErrorBody),
        (status = 404, description = "No such sample, not ready, or no such reads file", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */<size>`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/samples/{sample_id}/reads/{reads_file} — U27.
pub async fn download_reads(
    user: AuthUser,
    State(app): State<AppState>,
    Ids((sample_id, reads_file)): Ids<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let stored =
        ops::samples::reads_for_user(&app, &user.principal, &sample_id, &reads_file).await?;
    download::send(
        stored,
        &headers,
        "application/gzip",
        &reads_file,
        ApiError::not_found,
    )
    .await
}

#[utoipa::path(get, path = "/api/samples/{sample_id}", operation_id = "get_sample", tag = "samples",
    params(("sample_id" = String, Path, description = "Sample id")),
    responses(
        (status = 200, description = "The sample", body = Sample),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "No read right", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/samples/{sample_id} — U12.
pub async fn get_one(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
) -> ApiResult<Response> {
    let sample = ops::samples::readable(&app, &user.principal, &sample_id).await?;
    Ok(json_response(StatusCode::OK, &sample.sample))
}

#[utoipa::path(patch, path = "/api/samples/{sample_id}/rights", operation_id = "update_sample_rights", tag = "samples",
    params(("sample_id" = String, Path, description = "Sample id")),
    request_body(content = Option<RightsBody>, description = "An empty body changes nothing"),
    responses(
        (status = 200, description = "The sample's rights", body = RightsView),
 (status = 400, description = "`Malformed JSON` or `Group does not exist`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`Must be administrator or sample owner`, or `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such sample", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// PATCH /api/samples/{sample_id}/rights — U13.
pub async fn update_rights(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(sample_id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut fields = body.fields();
    let group = group_field(&mut fields);
    let group_read = fields.boolean("group_read", false);
    let group_write = fields.boolean("group_write", false);
    let all_read = fields.boolean("all_read", false);
    let all_write = fields.boolean("all_write", false);
    fields.finish()?;
    let change = RightsChange {
        group,
        group_read,
        group_write,
        all_read,
        all_write,
    };
    let rights = ops::samples::update_rights(&app, &user.principal, &sample_id, change).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "group": rights.group,
            "group_read": rights.group_read,
            "group_write": rights.group_write,
            "all_read": rights.all_read,
            "all_write": rights.all_write,
            "user": {"id": rights.owner_id},
        }),
    ))
}

/// The body of U11.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewSampleBody {
    #[schema(min_length = 1)]
    name: String,
    /// A group id; `"none"` or null for no group (the default).
    #[schema(required = false)]
    group: Option<String>,
    /// Default true.
    #[schema(required = false)]
    group_read: bool,
    /// Default false.
    #[schema(required = false)]
    group_write: bool,
    /// Default true.
    #[schema(required = false)]
    all_read: bool,
    /// Default false.
    #[schema(required = false)]
    all_write: bool,
    /// 1 or 2 distinct upload ids (reads_1 first); absent or null for a placeholder.
    #[schema(required = false, min_items = 1, max_items = 2)]
    files: Option<Vec<i64>>,
    /// Default `normal`.
    #[schema(required = false, value_type = crate::model::views::LibraryType)]
    library_type: String,
    /// Default subtraction ids (duplicates dropped).
    #[schema(required = false)]
    subtractions: Vec<String>,
    #[schema(required = false)]
    host: String,
    #[schema(required = false)]
    isolate: String,
    #[schema(required = false)]
    locale: String,
    #[schema(required = false)]
    notes: String,
    /// vira has no labels: any id is refused.
    #[schema(required = false, max_items = 0)]
    labels: Vec<i64>,
}

/// A page of samples (U25), each without `reads` and `quality`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SamplePage {
    documents: Vec<Sample>,
    found_count: i64,
    page: i64,
    page_count: i64,
    per_page: i64,
    total_count: i64,
}

/// The body of U13: any subset of the rights.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RightsBody {
    /// A group id; `"none"` or null clear it.
    #[schema(required = false)]
    group: Option<String>,
    #[schema(required = false)]
    group_read: bool,
    #[schema(required = false)]
    group_write: bool,
    #[schema(required = false)]
    all_read: bool,
    #[schema(required = false)]
    all_write: bool,
}

/// The rights of a sample after U13.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RightsView {
    group: Option<String>,
    group_read: bool,
    group_write: bool,
    all_read: bool,
    all_write: bool,
    user: OwnerRef,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OwnerRef {
    id: String,
}
