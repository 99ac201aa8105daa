//! The formatted results of a ready analysis as the API serves them: the prepared bytes, with the
//! current BLAST records attached for NuVs (contract §9.4), and each contig's top BLAST hit for the
//! NuVs export.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::app::{App, AppState};
use crate::cache::Kept;
use crate::db;
use crate::db::analyses::AnalysisCore;
use crate::db::analysis_whole::Stored;
use crate::db::blast::BlastRecord;
use crate::format::brotli_splice::{compress_once, Joinable};
use crate::format::gzip_splice::{deflate_once, Deflated, Encoded};
use crate::http::caching::Codings;
use crate::http::error::{ApiError, ApiResult};

/// The results of a ready analysis as a reply to a client that accepts `codings` sends them: the
/// brotli copy when it accepts `br` and the copy exists (made in the background after finalize;
/// and none is made per request), else as [`cached_results`] gives them.
pub async fn results_for(
    app: &App,
    analysis: &AnalysisCore,
    codings: Codings,
) -> ApiResult<Option<Encoded>> {
    if codings.br {
        if let Some(brotli) = brotli_results(app, analysis).await? {
            return Ok(Some(brotli));
        }
    }
    cached_results(
        app,
        &analysis.id,
        &analysis.workflow,
        codings.gzip,
        analysis.updated_at,
    )
    .await
}

/// The brotli copy as of `updated_at`, kept or read; that there is none yet is kept too, until
/// the next write (the copy's own arrival is one).
async fn brotli_results(app: &App, analysis: &AnalysisCore) -> ApiResult<Option<Encoded>> {
    let id = &analysis.id;
    if let Some(kept) = app.results_cache.get(id, "brotli", analysis.updated_at) {
        return Ok(Some(kept));
    }
    let generation = app.db.changes().snapshot();
    if let Some(generation) = generation {
        if app.read_cache.get(id, "no brotli", generation).is_some() {
            return Ok(None);
        }
    }
    let joinable = db::analysis_whole::brotli_results(&app.db, id)
        .await?
        .and_then(|stream| Joinable::of(&Bytes::from(stream)));
    match joinable {
        Some(joinable) => {
            let encoded = Encoded::Brotli(joinable);
            app.results_cache
                .put(id, "brotli", analysis.updated_at, encoded.clone());
            Ok(Some(encoded))
        }
        None => {
            if let Some(generation) = generation {
                let none = Kept::new(std::sync::Arc::new(()), id.len() + 64);
                app.read_cache.put(id, "no brotli", generation, none);
            }
            Ok(None)
        }
    }
}

/// Make the brotli copy of an analysis's prepared results (`format::brotli_splice`) in the
/// background, one at a time per instance (`App::brotli_slot`): brotli's best quality takes
/// seconds on a large analysis, which no request should wait for.
pub fn compress_in_background(app: &AppState, analysis_id: String, prepared: Vec<u8>) {
    if app.config.brotli_workers == 0 {
        return;
    }
    let app = app.clone();
    tokio::spawn(async move {
        let Ok(_slot) = app.brotli_slot.acquire().await else {
            return;
        };
        let stream = match super::blocking(move || compress_once(&prepared)).await {
            Ok(stream) => stream,
            Err(error) => {
                return tracing::warn!(error = %error.message, "brotli compression failed")
            }
        };
        if let Err(error) = db::analysis_whole::store_brotli(&app.db, &analysis_id, &stream).await {
            tracing::warn!(%error, analysis_id, "could not store the brotli copy");
        }
    });
}

/// Make the missing brotli copies (analyses finalized before there were any, or whose instance
/// stopped before it made one), one after another; at start-up and with every sweep.
pub async fn fill_missing_brotli(app: &AppState) -> ApiResult<usize> {
    let mut made = 0;
    if app.config.brotli_workers == 0 {
        return Ok(made);
    }
    for analysis_id in db::analysis_whole::without_brotli(&app.db, 1000).await? {
        let Ok(_slot) = app.brotli_slot.acquire().await else {
            break;
        };
        let Some(prepared) =
            db::analysis_whole::prepared_without_brotli(&app.db, &analysis_id).await?
        else {
            continue;
        };
        let stream = super::blocking(move || compress_once(&prepared)).await?;
        db::analysis_whole::store_brotli(&app.db, &analysis_id, &stream).await?;
        made += 1;
    }
    Ok(made)
}

/// The encoded results of a ready analysis as of `updated_at`: kept ones, or read (one round
/// trip) and kept. The key is the `updated_at` read with the head, before the results: what is
/// read after is never older than that, and any later change moves `updated_at` on.
pub async fn cached_results(
    app: &App,
    analysis_id: &str,
    workflow: &str,
    compressed: bool,
    updated_at: crate::model::time::Micros,
) -> ApiResult<Option<Encoded>> {
    let kind = if compressed { "deflate" } else { "plain" };
    if let Some(kept) = app.results_cache.get(analysis_id, kind, updated_at) {
        return Ok(Some(kept));
    }
    let encoded = encoded_results(app, analysis_id, workflow, compressed).await?;
    if let Some(encoded) = &encoded {
        app.results_cache
            .put(analysis_id, kind, updated_at, encoded.clone());
    }
    Ok(encoded)
}

/// The formatted `results` of a ready analysis, BLAST records attached for NuVs (one round trip),
/// compressed when `compressed` and the analysis has its results stored so. NuVs results with
/// BLAST records are filled in per request, and then compressed per request too.
pub async fn encoded_results(
    app: &App,
    analysis_id: &str,
    workflow: &str,
    compressed: bool,
) -> ApiResult<Option<Encoded>> {
    let nuvs = workflow == "nuvs";
    let Some((stored, records)) =
        db::analysis_whole::results(&app.db, analysis_id, nuvs, compressed).await?
    else {
        return Ok(None);
    };
    encode(stored, records).await.map(Some)
}

/// Stored results with their BLAST records attached, ready to send.
pub async fn encode(stored: Stored, records: Vec<BlastRecord>) -> ApiResult<Encoded> {
    if records.is_empty() {
        return Ok(match stored {
            Stored::Plain(bytes) => Encoded::Plain(Bytes::from(bytes)),
            Stored::Deflated(deflated) => deflated.into(),
        });
    }
    let mut blast = BTreeMap::new();
    for record in records {
        let json = serde_json::value::RawValue::from_string(record.to_json())
            .map_err(ApiError::internal)?;
        blast.insert(record.sequence_index, json);
    }
    Ok(match stored {
        Stored::Plain(prepared) => Encoded::Plain(Bytes::from(crate::format::nuvs::fill_blast(
            &prepared, &blast,
        ))),
        Stored::Deflated(deflated) => {
            let filled = super::blocking(move || -> std::io::Result<Deflated> {
                let prepared = inflate(&deflated.deflate)?;
                Ok(deflate_once(&crate::format::nuvs::fill_blast(
                    &prepared, &blast,
                )))
            })
            .await?
            .map_err(ApiError::internal)?;
            filled.into()
        }
    })
}

/// The bytes of a stored stream (which has no final block: an empty one is added to end it).
fn inflate(deflate: &[u8]) -> std::io::Result<Vec<u8>> {
    const FINAL_EMPTY_BLOCK: [u8; 5] = [1, 0, 0, 0xff, 0xff];
    let input = std::io::Read::chain(deflate, &FINAL_EMPTY_BLOCK[..]);
    let mut out = Vec::with_capacity(deflate.len() * 4);
    std::io::Read::read_to_end(&mut flate2::read::DeflateDecoder::new(input), &mut out)?;
    Ok(out)
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
        if let Some(hit) = crate::format::nuvs::blast_top_hit(&value) {
            top_hits.insert(record.sequence_index, hit);
        }
    }
    Ok(top_hits)
}
