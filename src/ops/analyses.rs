//! Analyses for every front door: reading one for a principal (404, 400, 403 in the contract's
//! order), its full body (head + prepared results, sent without a copy), and delete with cascade.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use crate::app::App;
use crate::auth::rights::{can_read, can_write, Principal};
use crate::db;
use crate::db::analyses::{AnalysisCore, Delete};
use crate::db::analysis_whole::AnalysisWhole;
use crate::format::gzip_splice::splice;
use crate::format::gzip_splice::Encoded;
use crate::http::caching;
use crate::http::error::{ApiError, ApiResult};
use crate::model::time::Micros;
use crate::model::views::{AnalysisFile, AnalysisMinimal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Read,
    Write,
}

/// The user-API checks shared by U2–U8: 404 (with `not_found` as message), 400 parent sample missing,
/// then 403 for the right.
pub async fn access(
    app: &App,
    principal: &Principal,
    analysis_id: &str,
    right: Right,
    not_found: &'static str,
) -> ApiResult<AnalysisCore> {
    let analysis = db::analyses::get_core(&app.db, analysis_id)
        .await?
        .ok_or_else(|| ApiError::not_found_msg(not_found))?;
    check(principal, &analysis, right)?;
    Ok(analysis)
}

/// 400 when the parent sample is missing, then 403 unless the principal has the right.
fn check(principal: &Principal, analysis: &AnalysisCore, right: Right) -> ApiResult<()> {
    let sample = analysis
        .sample
        .as_ref()
        .ok_or_else(ApiError::parent_sample_missing)?;
    let allowed = match right {
        Right::Read => can_read(principal, sample),
        Right::Write => can_write(principal, sample),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::insufficient_rights())
    }
}

/// What a GET with these headers needs read with the head: the results too (`Some(compressed)`)
/// unless the reply may be a 304, which needs only the head.
pub fn results_with_head(headers: &HeaderMap) -> Option<bool> {
    (!headers.contains_key(header::IF_MODIFIED_SINCE)).then(|| caching::accepts_gzip(headers))
}

/// U2: the analysis for a reader, checked as [`access`] does, with its body's head.
pub async fn readable_whole(
    app: &App,
    principal: &Principal,
    analysis_id: &str,
) -> ApiResult<AnalysisWhole> {
    // The head alone: the results come from `App::results_cache` for an unchanged analysis,
    // else from a second round trip (`body_of`), and never for a 304.
    let whole = db::analysis_whole::get(&app.db, analysis_id, None)
        .await?
        .ok_or_else(ApiError::not_found)?;
    check(principal, &whole.core, Right::Read)?;
    Ok(whole)
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
    /// The parts make one gzip member (`Content-Encoding: gzip`).
    gzip: bool,
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
        if self.gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        caching::vary_on_encoding(headers);
        caching::add_headers(headers, self.updated_at);
        response
    }
}

/// The body of analysis `analysis_id` (U10, J4: just written, so no 304; never compressed).
pub async fn full_body(app: &App, analysis_id: &str) -> ApiResult<AnalysisBody> {
    let whole = db::analysis_whole::get(&app.db, analysis_id, Some(false))
        .await?
        .ok_or_else(ApiError::not_found)?;
    body_of(app, whole, false).await
}

/// The body, gzip-encoded from the stored compressed results when `gzip` (and they are stored so).
async fn body_of(app: &App, whole: AnalysisWhole, gzip: bool) -> ApiResult<AnalysisBody> {
    let (minimal, files) = whole.head.ok_or_else(ApiError::parent_sample_missing)?;
    let results = match whole.results {
        Some((stored, records)) => Some(super::results::encode(stored, records).await?),
        None if minimal.ready => {
            super::results::cached_results(
                app,
                &minimal.id,
                &minimal.workflow,
                gzip,
                minimal.updated_at_micros,
            )
            .await?
        }
        None => None,
    };
    let mut head = serde_json::to_vec(&AnalysisHead {
        minimal: &minimal,
        files: &files,
    })
    .map_err(ApiError::internal)?;
    // Splice the prepared results in as the last key instead of re-serializing them.
    head.pop();
    head.extend_from_slice(b",\"results\":");
    const TAIL: &[u8] = b"}";
    let (parts, gzip) = match results {
        Some(Encoded::Deflated {
            deflate,
            crc32,
            length,
        }) => (splice(&head, deflate, crc32, length, TAIL), true),
        Some(Encoded::Plain(results)) => (
            [Bytes::from(head), results, Bytes::from_static(TAIL)],
            false,
        ),
        None => (
            [
                Bytes::from(head),
                Bytes::from_static(b"null"),
                Bytes::from_static(TAIL),
            ],
            false,
        ),
    };
    Ok(AnalysisBody {
        parts,
        gzip,
        updated_at: minimal.updated_at_micros,
    })
}

/// A 200 with the caching headers of §11, or the 304 (then without reading the results). The body
/// is gzip-encoded when the client accepts it and the results are stored compressed.
pub async fn respond_with_analysis(
    app: &App,
    whole: AnalysisWhole,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    if let Some(mut not_modified) = caching::not_modified(headers, whole.core.updated_at) {
        caching::vary_on_encoding(not_modified.headers_mut());
        return Ok(not_modified);
    }
    let gzip = caching::accepts_gzip(headers);
    Ok(body_of(app, whole, gzip)
        .await?
        .into_response(StatusCode::OK))
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
            // Its job's key authenticates nothing any more.
            app.job_key_cache.clear();
            if let Err(e) = app.files.remove_analysis(analysis_id).await {
                tracing::error!(analysis_id, error = %e, "could not remove the analysis's files");
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}
