//! `/api/refs` (U18 import, U19 index): administrators only.

use crate::http::error::ErrorBody;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::QueryPairs;
use crate::http::{json_response, Ids};
use crate::model::views::{Index, Reference};
use crate::ops::auth::AuthUser;

#[utoipa::path(post, path = "/api/refs/import", operation_id = "import_reference", tag = "references",
    description = "Import a Virtool reference or index export (JSON, optionally gzip-compressed).",
    params(("name" = Option<String>, Query, description = "The reference's name (default: the file's `name`, else `Imported reference`)")),
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The new reference", body = Reference,
            links(("CreateIndex" = (operation_id = "create_index", parameters(("ref_id" = "$response.body#/id")))))),
        (status = 400, description = "`Invalid reference file: <reason>`, or a malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`, or over `--max-import-bytes` after decompression", body = ErrorBody),
        (status = 422, description = "`invalid_input`: no `file` part; `invalid_query`: a `name` with control characters", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
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
    let reference =
        crate::ops::imports::import_reference(&app, user.user_ref(), name, bytes).await?;
    Ok(json_response(StatusCode::CREATED, &reference))
}

#[utoipa::path(post, path = "/api/refs/{ref_id}/indexes", operation_id = "create_index", tag = "references",
    description = "Freeze the reference's OTUs as its next index and create its `build_index` job (workflows §5.1). The body is ignored.",
    params(("ref_id" = String, Path, description = "Reference id")),
    responses(
        (status = 201, description = "The new index", body = Index),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such reference", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/refs/{ref_id}/indexes — U19.
pub async fn create_index(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(ref_id): Ids<String>,
) -> ApiResult<Response> {
    user.require_admin()?;
    let index = crate::ops::indexes::create(&app, &ref_id, &user.user_ref()).await?;
    Ok(json_response(StatusCode::CREATED, &index))
}
