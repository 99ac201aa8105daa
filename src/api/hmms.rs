//! `POST /api/hmms/annotations` (U20): add-only import of HMM annotations.

use crate::http::error::ErrorBody;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::app::AppState;
use crate::http::error::ApiResult;
use crate::http::json_response;
use crate::ops::auth::AuthUser;

#[utoipa::path(post, path = "/api/hmms/annotations", operation_id = "import_hmm_annotations", tag = "hmms",
    description = "Add HMM annotations from a Virtool `annotations.json[.gz]`; existing ids are skipped.",
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "What the import did", body = HmmImport),
        (status = 400, description = "`Invalid annotations file: <reason>`, or a malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`, or over `--max-import-bytes` after decompression", body = ErrorBody),
        (status = 422, description = "`invalid_input`: no `file` part", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/hmms/annotations — U20.
pub async fn import(
    user: AuthUser,
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    user.require_admin()?;
    let bytes = crate::ops::imports::receive_import(&app, &headers, body, "annotations").await?;
    let done = crate::ops::hmm_profiles::import_annotations(&app, bytes).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "imported": done.imported,
            "skipped": done.skipped,
            "total": done.total,
        }),
    ))
}

/// The answer of U20.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct HmmImport {
    #[schema(minimum = 0)]
    imported: u64,
    #[schema(minimum = 0)]
    skipped: u64,
    /// Annotations stored after the import.
    #[schema(minimum = 0)]
    total: u64,
}

#[utoipa::path(post, path = "/api/hmms/profiles", operation_id = "import_hmm_profiles", tag = "hmms",
    description = "Import the HMMER3 profiles (`profiles.hmm`, optionally gzip); they replace the stored ones as a whole. Every cluster needs an imported annotation (U20).",
    request_body(content = crate::http::multipart::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The stored profiles", body = crate::model::stores::HmmProfiles),
        (status = 400, description = "`Invalid profiles file: <reason>`, or a malformed multipart body", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 413, description = "Upload over `--max-upload-bytes`, or over `--max-import-bytes` after decompression", body = ErrorBody),
        (status = 422, description = "`invalid_input`: no `file` part", body = ErrorBody),
        (status = 507, description = "`insufficient_storage`: the disk is full", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/hmms/profiles — U36.
pub async fn import_profiles(
    user: AuthUser,
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    user.require_admin()?;
    let text = crate::ops::imports::receive_import(&app, &headers, body, "profiles").await?;
    let profiles = crate::ops::hmm_profiles::import(&app, text).await?;
    Ok(json_response(StatusCode::CREATED, &profiles))
}
