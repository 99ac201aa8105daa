//! Results formatting (contract §9): prepared once at finalize, served as stored bytes (§9.4).

pub mod coverage;
pub mod nuvs;
pub mod pathoscope;

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::app::App;
use crate::db;
use crate::db::analyses::AnalysisCore;
use crate::http::error::{ApiError, ApiResult};

/// What finalize stores.
pub struct Prepared {
    /// The raw results as posted, gzip-compressed (depth arrays shrink ~20×; the database then
    /// never holds or copies the full body).
    pub raw_gzip: Vec<u8>,
    pub results_json: Vec<u8>,
    /// The export rows as JSON (Pathoscope: complete rows; NuVs: the BLAST-independent part).
    pub export_rows: Vec<u8>,
    pub read_count: Option<i64>,
}

/// Check and prepare raw results for the analysis's workflow (J4 row 8: 422 with per-path errors).
pub async fn prepare(app: &App, analysis: &AnalysisCore, raw: Bytes) -> ApiResult<Prepared> {
    let compressed = run_blocking({
        let raw = raw.clone();
        move || gzip(&raw)
    });
    let mut prepared = if analysis.workflow == "nuvs" {
        let checked = run_blocking({
            let raw = raw.clone();
            move || nuvs::check(&raw)
        })
        .await?
        .map_err(ApiError::invalid_input)?;
        let annotations = db::hmms::get_many(&app.db, &checked.hit_ids()).await?;
        let prepared = run_blocking(move || checked.prepare(&annotations))
            .await?
            .map_err(ApiError::invalid_input)?;
        Prepared {
            raw_gzip: Vec::new(),
            export_rows: serde_json::to_vec(&prepared.rows).map_err(ApiError::internal)?,
            // Stored with `"blast": null` on every contig, so an analysis without BLAST records
            // is served as stored bytes.
            results_json: nuvs::attach_blast(&prepared.results_json, &BTreeMap::new()),
            read_count: None,
        }
    } else {
        let otus = db::refs::index_otus(&app.db, &analysis.index_id).await?;
        let index_id = analysis.index_id.clone();
        let prepared = run_blocking(move || pathoscope::prepare(&raw, &index_id, &otus))
            .await?
            .map_err(ApiError::invalid_input)?;
        Prepared {
            raw_gzip: Vec::new(),
            export_rows: serde_json::to_vec(&prepared.rows).map_err(ApiError::internal)?,
            results_json: prepared.results_json,
            read_count: prepared.read_count,
        }
    };
    prepared.raw_gzip = compressed.await?.map_err(ApiError::internal)?;
    Ok(prepared)
}

/// The formatted `results` of a ready analysis, BLAST records attached for NuVs.
pub async fn results_for(
    app: &App,
    analysis_id: &str,
    workflow: &str,
) -> ApiResult<Option<Vec<u8>>> {
    let Some(prepared) = db::analyses::prepared_results(&app.db, analysis_id).await? else {
        return Ok(None);
    };
    if workflow != "nuvs" {
        return Ok(Some(prepared));
    }
    let records = db::blast::list_for_analysis(&app.db, analysis_id).await?;
    if records.is_empty() {
        return Ok(Some(prepared));
    }
    let mut blast = BTreeMap::new();
    for record in records {
        let json = serde_json::value::RawValue::from_string(record.to_json())
            .map_err(ApiError::internal)?;
        blast.insert(record.sequence_index, json);
    }
    Ok(Some(nuvs::attach_blast(&prepared, &blast)))
}

/// Each contig's BLAST top hit `(name, accession)` for the NuVs export (§10.3).
pub async fn blast_top_hits(
    app: &App,
    analysis_id: &str,
) -> ApiResult<BTreeMap<i64, (String, String)>> {
    let mut top_hits = BTreeMap::new();
    for record in db::blast::list_for_analysis(&app.db, analysis_id).await? {
        let Some(result) = record.result.as_deref().filter(|_| record.ready) else {
            continue;
        };
        let result: serde_json::Value = serde_json::from_str(result).map_err(ApiError::internal)?;
        let value = serde_json::json!({ "ready": true, "result": result });
        if let Some(hit) = nuvs::blast_top_hit(&value) {
            top_hits.insert(record.sequence_index, hit);
        }
    }
    Ok(top_hits)
}

/// Fast gzip (level 1): raw results are stored compressed.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 8),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Run CPU-bound formatting off the async runtime.
pub async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}
