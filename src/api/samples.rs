//! `/api/samples` (U11, U12, U13). A sample's rights govern its analyses (contract §4).

use std::sync::Arc;

use crate::http::error::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::app::AppState;
use crate::auth::rights::{can_change_rights, can_read, SampleRights};
use crate::db;
use crate::db::samples::SampleRow;
use crate::db::IdTable;
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult};
use crate::http::validate::Fields;
use crate::http::{created, json_response, Ids};
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::Sample;
use crate::ops::auth::AuthUser;
use crate::ops::read_cache::read_through;

/// Read `group`: a group id, `"none"` or null (both meaning no group). `Some(..)` when given.
fn group_field(fields: &mut Fields) -> Option<Option<String>> {
    match fields.nullable_string("group")? {
        Some(g) if g != "none" => Some(Some(g)),
        _ => Some(None),
    }
}

async fn check_group(app: &AppState, group: &Option<String>) -> ApiResult<()> {
    if let Some(group) = group {
        if !db::users::group_exists(&app.db, group).await? {
            return Err(ApiError::bad_request("Group does not exist"));
        }
    }
    Ok(())
}

/// Load a sample and check the read right: 404, then 403.
pub async fn readable_sample(
    app: &AppState,
    user: &AuthUser,
    id: &str,
) -> ApiResult<Arc<SampleRow>> {
    // The weight: a sample row is a few short strings.
    let sample = read_through(app, "sample", id, |_| 512, async {
        Ok(db::samples::get(&app.db, id).await?)
    })
    .await?
    .ok_or_else(ApiError::not_found)?;
    if !can_read(&user.principal, &sample.rights) {
        return Err(ApiError::insufficient_rights());
    }
    Ok(sample)
}

#[utoipa::path(post, path = "/api/samples", operation_id = "create_sample", tag = "samples",
    request_body(content = NewSampleBody, description = "An empty body counts as `{}`"),
    responses(
        (status = 201, description = "The new sample, owned by the caller", body = Sample,
            headers(("Location" = String, description = "`/api/samples/{id}`")),
            links(("GetSample" = (operation_id = "get_sample", parameters(("sample_id" = "$response.body#/id")))),
                  ("ListSampleAnalyses" = (operation_id = "list_sample_analyses", parameters(("sample_id" = "$response.body#/id")))),
                  ("CreateAnalysis" = (operation_id = "create_analysis", parameters(("sample_id" = "$response.body#/id")))),
                  ("UpdateSampleRights" = (operation_id = "update_sample_rights", parameters(("sample_id" = "$response.body#/id")))))),
 (status = 400, description = "`Malformed JSON` or `Group does not exist`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "With the session cookie: `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/samples — U11.
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
    fields.finish()?;
    check_group(&app, &group).await?;
    let now = now_micros();
    let sample = Sample {
        id: db::fresh_id(&app.db, IdTable::Samples).await?,
        name: name.unwrap_or_default(),
        created_at: rfc3339(now),
        user: user.user_ref(),
        group,
        group_read,
        group_write,
        all_read,
        all_write,
    };
    db::samples::insert(&app.db, &sample, now).await?;
    Ok(created(&format!("/api/samples/{}", sample.id), &sample))
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
    let sample = readable_sample(&app, &user, &sample_id).await?;
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
    let sample = db::samples::get(&app.db, &sample_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !can_change_rights(&user.principal, &sample.rights) {
        return Err(ApiError::insufficient_rights_msg(
            "Must be administrator or sample owner",
        ));
    }
    let old = sample.rights;
    let rights = SampleRights {
        owner_id: old.owner_id.clone(),
        group: group.unwrap_or(old.group),
        group_read: group_read.unwrap_or(old.group_read),
        group_write: group_write.unwrap_or(old.group_write),
        all_read: all_read.unwrap_or(old.all_read),
        all_write: all_write.unwrap_or(old.all_write),
    };
    check_group(&app, &rights.group).await?;
    db::samples::update_rights(&app.db, &sample_id, &rights).await?;
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
