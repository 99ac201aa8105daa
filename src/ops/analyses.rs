//! Analyses for every front door: reading one for a principal (404, 400, 403 in the contract's
//! order), its body (head + prepared results, sent without a copy), and delete with cascade.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use super::read_cache::read_through;
use crate::app::App;
use crate::auth::rights::{can_read, can_write, Principal};
use crate::db;
use crate::db::analyses::Delete;
use crate::db::analysis_whole::AnalysisWhole;
use crate::format::gzip_splice::{splice, Encoded};
use crate::http::caching::{self, Codings};
use crate::http::error::{ApiError, ApiResult};
use crate::http::json_body;
use crate::model::failure::{Failure, Outcome};
use crate::model::page::{Page, PageRequest};
use crate::model::time::Micros;
use crate::model::views::{AnalysisFile, AnalysisMinimal};
use crate::ops::auth::JobAuth;
use crate::ops::samples::SampleRow;

pub use crate::db::analyses::{AnalysisCore, AnalysisFilter};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Read,
    Write,
}

/// An analysis as U2 and J3 answer from it, and the rights checks of U3–U8 read it: the rights
/// columns, and the body's head as JSON up to `"results":` (`None` when the parent sample is
/// missing). Kept in the read cache.
pub struct AnalysisHead {
    pub core: AnalysisCore,
    json: Option<Bytes>,
    /// The head as J3 shows it when it differs: a file without a format has `"format":
    /// "unknown"` there (workflows §8.5, Virtool's runner requires a string).
    job_json: Option<Bytes>,
}

/// The head JSON up to `"results":`.
fn head_json(minimal: &AnalysisMinimal, files: &[AnalysisFile]) -> ApiResult<Bytes> {
    let mut json =
        serde_json::to_vec(&HeadFields { minimal, files }).map_err(ApiError::internal)?;
    // The prepared results are spliced in as the last key, never re-serialized.
    json.pop();
    json.extend_from_slice(b",\"results\":");
    Ok(Bytes::from(json))
}

impl AnalysisHead {
    fn of(whole: AnalysisWhole) -> ApiResult<AnalysisHead> {
        let (json, job_json) = match whole.head {
            None => (None, None),
            Some((minimal, files)) => {
                let json = head_json(&minimal, &files)?;
                let job_json = if files.iter().any(|f| f.format.is_none()) {
                    let files: Vec<AnalysisFile> = (files.into_iter())
                        .map(|mut f| {
                            f.format.get_or_insert_with(|| "unknown".to_owned());
                            f
                        })
                        .collect();
                    Some(head_json(&minimal, &files)?)
                } else {
                    None
                };
                (Some(json), job_json)
            }
        };
        Ok(AnalysisHead {
            core: whole.core,
            json,
            job_json,
        })
    }

    fn weight(&self) -> usize {
        self.json.as_ref().map_or(0, Bytes::len)
            + self.job_json.as_ref().map_or(0, Bytes::len)
            + 256
    }
}

/// The head of analysis `analysis_id` (`None`: no such analysis), kept or read in one round trip.
pub async fn head(app: &App, analysis_id: &str) -> ApiResult<Option<Arc<AnalysisHead>>> {
    read_through(app, "analysis", analysis_id, AnalysisHead::weight, async {
        match db::analysis_whole::get(&app.db, analysis_id).await? {
            Some(whole) => AnalysisHead::of(whole).map(Some),
            None => Ok(None),
        }
    })
    .await
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
    let analysis = head(app, analysis_id)
        .await?
        .ok_or_else(|| ApiError::not_found_msg(not_found))?;
    check(principal, &analysis.core, right)?;
    Ok(analysis.core.clone())
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

/// U2: the analysis's head for a reader, checked as [`access`] does.
pub async fn readable_head(
    app: &App,
    principal: &Principal,
    analysis_id: &str,
) -> ApiResult<Arc<AnalysisHead>> {
    let head = head(app, analysis_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    check(principal, &head.core, Right::Read)?;
    Ok(head)
}

#[derive(Serialize)]
struct HeadFields<'a> {
    #[serde(flatten)]
    minimal: &'a AnalysisMinimal,
    files: &'a [AnalysisFile],
}

/// The full Analysis body (§5.0) as parts (head, prepared results, tail), so the stored results
/// are sent without another copy; shared by U2, U10, J3 and J4.
pub struct AnalysisBody {
    parts: [Bytes; 3],
    /// The parts make one stream of this content coding (`gzip`, `br`), else identity.
    coding: Option<&'static str>,
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
        if let Some(coding) = self.coding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        caching::vary_on_encoding(headers);
        caching::add_headers(headers, self.updated_at);
        response
    }
}

/// The body of analysis `analysis_id` just written, so no 304 and never compressed: created (U10,
/// no `results` yet) or finalized (J4, with the prepared `results` still in memory, so a large
/// analysis is not read back; no BLAST record can exist before the analysis is ready).
pub async fn written_body(
    app: &App,
    analysis_id: &str,
    results: Option<Bytes>,
) -> ApiResult<AnalysisBody> {
    let whole = db::analysis_whole::get(&app.db, analysis_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let results = results.map(Encoded::Plain);
    body_of(
        app,
        &AnalysisHead::of(whole)?,
        results,
        Codings::default(),
        false,
    )
    .await
}

/// The body, encoded from a stored compressed copy of the results when the client accepts one
/// (`codings`; brotli first): `results` when they were read with the head, else kept ones or a
/// second round trip.
async fn body_of(
    app: &App,
    head: &AnalysisHead,
    results: Option<Encoded>,
    codings: Codings,
    for_job: bool,
) -> ApiResult<AnalysisBody> {
    let job_json = head.job_json.clone().filter(|_| for_job);
    let json = job_json
        .or_else(|| head.json.clone())
        .ok_or_else(ApiError::parent_sample_missing)?;
    let core = &head.core;
    let results = match results {
        None if core.ready => super::results::results_for(app, core, codings).await?,
        given => given,
    };
    const TAIL: &[u8] = b"}";
    let (parts, coding) = match results {
        Some(Encoded::Brotli(joinable)) => (
            crate::format::brotli_splice::splice(&json, &joinable, TAIL),
            Some("br"),
        ),
        Some(Encoded::Deflated {
            deflate,
            crc32,
            length,
        }) => (splice(&json, deflate, crc32, length, TAIL), Some("gzip")),
        Some(Encoded::Plain(results)) => ([json, results, Bytes::from_static(TAIL)], None),
        None => (
            [json, Bytes::from_static(b"null"), Bytes::from_static(TAIL)],
            None,
        ),
    };
    Ok(AnalysisBody {
        parts,
        coding,
        updated_at: core.updated_at,
    })
}

/// A 200 with the caching headers of §11, or the 304 (then without reading the results). The body
/// is brotli- or gzip-encoded when the client accepts it and the results are stored so.
pub async fn respond_with_analysis(
    app: &App,
    head: &AnalysisHead,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    respond(app, head, headers, false).await
}

/// J3: as [`respond_with_analysis`], with the jobs API's file formats (workflows §8.5).
pub async fn respond_to_job(
    app: &App,
    head: &AnalysisHead,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    respond(app, head, headers, true).await
}

async fn respond(
    app: &App,
    head: &AnalysisHead,
    headers: &HeaderMap,
    for_job: bool,
) -> ApiResult<Response> {
    if let Some(mut not_modified) = caching::not_modified(headers, head.core.updated_at) {
        caching::vary_on_encoding(not_modified.headers_mut());
        return Ok(not_modified);
    }
    let codings = caching::accepted_codings(headers);
    Ok(body_of(app, head, None, codings, for_job)
        .await?
        .into_response(StatusCode::OK))
}

/// U1: one page of the analyses `principal` can read, as the JSON body; kept per principal and
/// page.
pub async fn readable_page(
    app: &App,
    principal: &Principal,
    page: PageRequest,
) -> ApiResult<Bytes> {
    let mut groups = principal.groups.clone();
    groups.sort();
    // Ids hold no control characters (`model::text`), so the separator cannot be forged.
    let key = format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
        principal.administrator,
        principal.id,
        groups.join("\u{1f}"),
        page.page,
        page.per_page
    );
    let body = read_through(app, "analyses page", &key, Bytes::len, async {
        let (documents, found) = list_readable(app, principal, &Default::default(), page).await?;
        Ok::<_, ApiError>(Some(json_body(&Page::new(documents, found, page)).0))
    })
    .await?;
    Ok(body.map(|body| (*body).clone()).unwrap_or_default())
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

/// One page of the analyses `principal` can read that pass `filter`, newest first, and how many
/// pass it (U1 unfiltered, the pages' list with filters).
pub async fn list_readable(
    app: &App,
    principal: &Principal,
    filter: &AnalysisFilter,
    page: PageRequest,
) -> Outcome<(Vec<AnalysisMinimal>, i64)> {
    Ok(db::analyses::list_readable(&app.db, principal, filter, page).await?)
}

/// U9 and the sample's page: the sample (404, then 403 without the read right) and one page of
/// its analyses, newest first, with how many it has.
pub async fn of_readable_sample(
    app: &App,
    principal: &Principal,
    sample_id: &str,
    page: PageRequest,
) -> Outcome<(Arc<SampleRow>, Vec<AnalysisMinimal>, i64)> {
    let sample = super::samples::readable(app, principal, sample_id).await?;
    let (documents, found) = db::analyses::list_for_sample(&app.db, sample_id, page).await?;
    Ok((sample, documents, found))
}

/// The rights columns of an analysis (`None`: no such analysis), read afresh.
pub async fn core(app: &App, analysis_id: &str) -> Outcome<Option<AnalysisCore>> {
    Ok(db::analyses::get_core(&app.db, analysis_id).await?)
}

/// The analysis as lists show it (`None`: no such analysis).
pub async fn minimal(app: &App, analysis_id: &str) -> Outcome<Option<AnalysisMinimal>> {
    Ok(db::analyses::get_minimal(&app.db, analysis_id).await?)
}

/// The parent sample of an analysis (`None`: no such analysis, or its sample is gone).
pub async fn sample_of(app: &App, analysis_id: &str) -> Outcome<Option<SampleRow>> {
    match core(app, analysis_id).await? {
        Some(analysis) => Ok(db::samples::get(&app.db, &analysis.sample_id).await?),
        None => Ok(None),
    }
}

/// J4–J6: the analysis of the authenticated job (`None`: no such analysis, for the front door's
/// 404), 403 when it is another job's.
pub async fn of_job(app: &App, job: &JobAuth, analysis_id: &str) -> Outcome<Option<AnalysisCore>> {
    let Some(analysis) = core(app, analysis_id).await? else {
        return Ok(None);
    };
    if analysis.job_id != job.job_id {
        return Err(Failure::InsufficientRights);
    }
    Ok(Some(analysis))
}
