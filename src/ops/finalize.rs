//! Finalize (J4): check and prepare the posted results off the async runtime, then store raw
//! results, prepared results and export rows and mark the analysis ready, in one conditional
//! transaction.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::blocking;
use crate::app::{App, AppState};
use crate::db;
use crate::db::analyses::{AnalysisCore, Finalize, Results};
use crate::format::gzip_splice::{deflate_once, Deflated};
use crate::http::error::{ApiError, ApiResult};
use crate::model::time::now_micros;
use crate::model::workflow::AnalysisWorkflow;

/// What finalize stores.
pub struct Prepared {
    /// The raw results as posted, gzip-compressed (depth arrays shrink ~20×; the database then
    /// never holds or copies the full body).
    pub raw_gzip: Vec<u8>,
    pub results_json: Vec<u8>,
    /// `results_json` compressed, for clients that accept gzip.
    pub results_deflated: Deflated,
    /// The export rows as JSON (Pathoscope: complete rows; NuVs: the BLAST-independent part).
    pub export_rows: Vec<u8>,
    pub read_count: Option<i64>,
}

/// The 422 of results that fail the checks — unless a number in them is out of any double's
/// range (`1e999`): that body is malformed JSON, and the 400 names the number's place.
fn failed_checks(raw: &[u8], errors: crate::model::field_errors::FieldErrors) -> ApiError {
    match crate::format::number_out_of_range(raw) {
        Some(problem) => ApiError::bad_request(format!("Malformed JSON: {problem} of results")),
        None => ApiError::invalid_input(errors),
    }
}

/// Check and prepare raw results for the analysis's workflow (J4 row 8: 422 with per-path errors).
pub async fn prepare(app: &App, analysis: &AnalysisCore, raw: Bytes) -> ApiResult<Prepared> {
    // Compressing the raw results runs beside the checks.
    let compressed = tokio::task::spawn_blocking({
        let raw = raw.clone();
        move || crate::format::gzip(&raw)
    });
    let mut prepared = match analysis.workflow {
        AnalysisWorkflow::Nuvs => {
            let checked = blocking({
                let raw = raw.clone();
                move || {
                    crate::workflows::nuvs::format::check(&raw).map_err(|e| failed_checks(&raw, e))
                }
            })
            .await??;
            let annotations = db::hmms::get_many(&app.db, &checked.hit_ids()).await?;
            let prepared = blocking(move || checked.prepare(&annotations))
                .await?
                .map_err(ApiError::invalid_input)?;
            // Stored with `"blast": null` on every contig, so an analysis without BLAST records
            // is served as stored bytes.
            let results_json = crate::workflows::nuvs::format::attach_blast(
                &prepared.results_json,
                &BTreeMap::new(),
            );
            let (results_json, results_deflated) = deflated(results_json).await?;
            Prepared {
                raw_gzip: Vec::new(),
                export_rows: serde_json::to_vec(&prepared.rows).map_err(ApiError::internal)?,
                results_json,
                results_deflated,
                read_count: None,
            }
        }
        AnalysisWorkflow::PathoscopeBowtie => {
            let otus = db::refs::index_otus(&app.db, &analysis.index_id).await?;
            let index_id = analysis.index_id.clone();
            let prepared = blocking(move || {
                crate::workflows::pathoscope::format::prepare(&raw, &index_id, &otus)
                    .map_err(|e| failed_checks(&raw, e))
            })
            .await??;
            let export_rows = serde_json::to_vec(&prepared.rows).map_err(ApiError::internal)?;
            let (results_json, results_deflated) = deflated(prepared.results_json).await?;
            Prepared {
                raw_gzip: Vec::new(),
                export_rows,
                results_json,
                results_deflated,
                read_count: prepared.read_count,
            }
        }
    };
    prepared.raw_gzip = compressed
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(prepared)
}

/// `results` with its compressed form, made off the async runtime.
async fn deflated(results: Vec<u8>) -> ApiResult<(Vec<u8>, Deflated)> {
    blocking(move || {
        let stored = deflate_once(&results);
        (results, stored)
    })
    .await
}

/// Prepare `raw` for `analysis` and store it; 409 when another finalize won, 404 when the analysis
/// was deleted meanwhile. The prepared results as stored, for the reply (no read-back).
pub async fn finalize(app: &AppState, analysis: &AnalysisCore, raw: Bytes) -> ApiResult<Bytes> {
    let started = std::time::Instant::now();
    let outcome = prepare_and_store(app, analysis, raw).await;
    let labels = [
        ("workflow", analysis.workflow.as_str().to_owned()),
        ("outcome", outcome_label(&outcome).to_owned()),
    ];
    metrics::histogram!("vira_finalize_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    outcome
}

/// `ok`, `rejected` (the client's fault: 4xx) or `error`.
fn outcome_label<T>(outcome: &ApiResult<T>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err(e) if e.status.is_client_error() => "rejected",
        Err(_) => "error",
    }
}

async fn prepare_and_store(
    app: &AppState,
    analysis: &AnalysisCore,
    raw: Bytes,
) -> ApiResult<Bytes> {
    let prepared = prepare(app, analysis, raw).await?;
    let results = Results {
        raw: &prepared.raw_gzip,
        prepared: &prepared.results_json,
        prepared_deflated: &prepared.results_deflated,
        export_rows: &prepared.export_rows,
        read_count: prepared.read_count,
    };
    match db::analyses::finalize(&app.db, &analysis.id, &results, now_micros()).await? {
        Finalize::Done => {
            let results = Bytes::from(prepared.results_json);
            super::results::compress_in_background(app, analysis.id.clone(), results.clone());
            Ok(results)
        }
        Finalize::AlreadyReady => Err(already_finalized()),
        Finalize::NotFound => Err(no_such_analysis(&analysis.id)),
    }
}

pub fn already_finalized() -> ApiError {
    ApiError::conflict("There is already a result for this analysis.")
}

pub fn no_such_analysis(analysis_id: &str) -> ApiError {
    ApiError::not_found_msg(format!("There is no analysis with id {analysis_id}"))
}
