//! `GET /api/analyses/document(s)/{analysis_id}.{csv|xlsx}` (U8): exports of ready analyses.

use crate::http::error::ErrorBody;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use bytes::Bytes;

use crate::app::AppState;
use crate::export::{self, Table};
use crate::http::error::{ApiError, ApiResult};
use crate::http::Ids;
use crate::model::workflow::AnalysisWorkflow;
use crate::ops::analyses::{access, AnalysisCore, Right};
use crate::ops::auth::AuthUser;
use crate::ops::blocking;
use crate::workflows::{nuvs, pathoscope};

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The final path segment `{analysis_id}.{ext}`. A segment without a `.` is an unknown route, so
/// this extractor runs before authentication and answers 404 itself.
pub struct ExportTarget {
    analysis_id: String,
    ext: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ExportTarget {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Ids(file) = Ids::<String>::from_request_parts(parts, state).await?;
        let (analysis_id, ext) = file.rsplit_once('.').ok_or_else(ApiError::not_found)?;
        Ok(ExportTarget {
            analysis_id: analysis_id.to_owned(),
            ext: ext.to_owned(),
        })
    }
}

#[utoipa::path(get, path = "/api/analyses/document/{file}", operation_id = "export_analysis", tag = "analyses",
    description = "A ready analysis as CSV or XLSX.",
    params(("file" = String, Path, description = "`<analysis_id>.<ext>`, `ext` `csv` or `xlsx`; without a `.` the route is unknown (404)")),
    responses(
        (status = 200, description = "The export, as an attachment", content(
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "`Invalid extension: <ext>` or `Parent sample does not exist`", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "No read right", body = ErrorBody),
        (status = 404, description = "No such analysis", body = ErrorBody),
        (status = 409, description = "`Analysis is still running`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/analyses/document/{analysis_id}.{ext} — U8 (also under `/documents/`).
pub async fn export(
    target: ExportTarget,
    user: AuthUser,
    State(app): State<AppState>,
) -> ApiResult<Response> {
    let (analysis_id, ext) = (target.analysis_id.as_str(), target.ext.as_str());
    if ext != "csv" && ext != "xlsx" {
        return Err(ApiError::bad_request(format!("Invalid extension: {ext}")));
    }
    let analysis = access(&app, &user.principal, analysis_id, Right::Read, "Not found").await?;
    if !analysis.ready {
        return Err(ApiError::conflict("Analysis is still running"));
    }
    let xlsx = ext == "xlsx";
    let ext: &'static str = if xlsx { "xlsx" } else { "csv" };
    let body = match app.export_cache.get(analysis_id, ext, analysis.updated_at) {
        Some(bytes) => bytes,
        None => {
            let bytes = Bytes::from(rendered(&app, &analysis, xlsx).await?);
            app.export_cache
                .put(analysis_id, ext, analysis.updated_at, bytes.clone());
            bytes
        }
    };
    let content_type = if xlsx { XLSX_TYPE } else { "text/csv" };
    let disposition = format!("attachment; filename={analysis_id}.{ext}");
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The export of a ready analysis, rendered from its stored export rows (and, for NuVs, the
/// current BLAST top hits).
async fn rendered(app: &AppState, analysis: &AnalysisCore, xlsx: bool) -> ApiResult<Vec<u8>> {
    let rows = crate::ops::results::export_rows(app, &analysis.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let table = match analysis.workflow {
        AnalysisWorkflow::Nuvs => {
            let rows: Vec<nuvs::format::ExportRow> =
                serde_json::from_slice(&rows).map_err(ApiError::internal)?;
            let top_hits = crate::ops::results::blast_top_hits(app, &analysis.id).await?;
            nuvs::export::table(&analysis.sample_id, rows, &top_hits)
        }
        AnalysisWorkflow::PathoscopeBowtie => {
            let rows: Vec<pathoscope::format::ExportRow> =
                serde_json::from_slice(&rows).map_err(ApiError::internal)?;
            pathoscope::export::table(&analysis.sample_id, rows)
        }
    };
    render(table, xlsx).await
}

async fn render(table: Table, xlsx: bool) -> ApiResult<Vec<u8>> {
    if xlsx {
        blocking(move || export::xlsx::to_xlsx(&table))
            .await?
            .map_err(ApiError::internal)
    } else {
        Ok(export::to_csv(&table))
    }
}
