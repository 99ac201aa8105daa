//! `PUT` / `GET /api/analyses/{analysis_id}/{sequence_index}/blast` (U4, U5).

use crate::http::error::ErrorBody;
use crate::model::views::BlastRecord;
use crate::model::workflow::AnalysisWorkflow;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{Ids, JsonBytes};
use crate::ops::analyses::{access, Right};
use crate::ops::auth::AuthUser;
use crate::ops::blast_requests;

fn record_response(json: String, location: Option<&str>) -> Response {
    let mut response = (StatusCode::OK, JsonBytes(json.into_bytes().into())).into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

#[utoipa::path(put, path = "/api/analyses/{analysis_id}/{sequence_index}/blast", operation_id = "blast_contig", tag = "analyses",
    description = "Start a BLAST search of a NuVs contig (replacing any earlier one). The body is ignored.",
    params(("analysis_id" = String, Path, description = "Analysis id"), ("sequence_index" = String, Path, description = "The contig's `index` (base-10 integer; anything else matches nothing)")),
    responses(
        (status = 200, description = "The new BLAST record", body = BlastRecord,
            headers(("Location" = String, description = "`/api/analyses/{analysis_id}/{sequence_index}/blast`"))),
        (status = 400, description = "`Parent sample does not exist`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`insufficient_rights` or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "`Analysis not found` or `Sequence not found`", body = ErrorBody),
        (status = 409, description = "`Not a NuVs analysis` or `Analysis is still running`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// PUT /api/analyses/{analysis_id}/{sequence_index}/blast — U4.
pub async fn put(
    user: AuthUser,
    State(app): State<AppState>,
    Ids((analysis_id, sequence_index)): Ids<(String, String)>,
) -> ApiResult<Response> {
    let analysis = access(
        &app,
        &user.principal,
        &analysis_id,
        Right::Write,
        "Analysis not found",
    )
    .await?;
    if analysis.workflow != AnalysisWorkflow::Nuvs {
        return Err(ApiError::conflict("Not a NuVs analysis"));
    }
    if !analysis.ready {
        return Err(ApiError::conflict("Analysis is still running"));
    }
    let sequence_not_found = || ApiError::not_found_msg("Sequence not found");
    let index: i64 = sequence_index.parse().map_err(|_| sequence_not_found())?;
    let record = blast_requests::start(&app, &analysis_id, index).await?;
    let location = format!("/api/analyses/{analysis_id}/{index}/blast");
    Ok(record_response(record.to_json(), Some(&location)))
}

#[utoipa::path(get, path = "/api/analyses/{analysis_id}/{sequence_index}/blast", operation_id = "get_blast", tag = "analyses",
    params(("analysis_id" = String, Path, description = "Analysis id"), ("sequence_index" = String, Path, description = "The contig's `index` (base-10 integer; anything else matches nothing)")),
    responses(
        (status = 200, description = "The contig's BLAST record", body = BlastRecord),
        (status = 400, description = "`Parent sample does not exist`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "No read right", body = ErrorBody),
        (status = 404, description = "`Analysis not found` or `BLAST not found`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/analyses/{analysis_id}/{sequence_index}/blast — U5.
pub async fn get_one(
    user: AuthUser,
    State(app): State<AppState>,
    Ids((analysis_id, sequence_index)): Ids<(String, String)>,
) -> ApiResult<Response> {
    access(
        &app,
        &user.principal,
        &analysis_id,
        Right::Read,
        "Analysis not found",
    )
    .await?;
    let not_found = || ApiError::not_found_msg("BLAST not found");
    let index: i64 = sequence_index.parse().map_err(|_| not_found())?;
    let record = blast_requests::record(&app, &analysis_id, index)
        .await?
        .ok_or_else(not_found)?;
    Ok(record_response(record.to_json(), None))
}
