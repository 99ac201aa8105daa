//! The formatted results of a ready analysis as the API serves them: the prepared bytes, with the
//! current BLAST records attached for NuVs (contract §9.4), and each contig's top BLAST hit for the
//! NuVs export.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::app::{App, AppState};
use crate::cache::Kept;
use crate::db;
use crate::db::analyses::AnalysisCore;
use crate::db::analysis_whole::{Forms, Stored};
use crate::db::blast::BlastRecord;
use crate::format::brotli_splice::{compress_once, Joinable};
use crate::format::gzip_splice::{deflate_once, Deflated, Encoded};
use crate::http::caching::Codings;
use crate::http::error::{ApiError, ApiResult};
use crate::model::failure::Outcome;
use crate::model::workflow::AnalysisWorkflow;

/// The results of a ready analysis as a reply to a client that accepts `codings` sends them: the
/// brotli copy when it accepts br (and does not rank gzip higher) and the copy exists (it is made
/// in the background after finalize), else the DEFLATE copy of finalize when it accepts gzip,
/// else plain — never compressed per request. Kept per analysis `updated_at` (every change of
/// results or BLAST records moves it; the key is the `updated_at` read with the head, before the
/// results, so what is read after is never older), else read in one round trip and kept. That
/// there is no brotli copy yet is kept until the next write (the copy's arrival is one).
pub async fn results_for(
    app: &App,
    analysis: &AnalysisCore,
    codings: Codings,
) -> ApiResult<Option<Encoded>> {
    let (id, updated_at) = (&analysis.id, analysis.updated_at);
    let generation = app.db.changes().snapshot();
    let no_brotli_yet =
        generation.is_some_and(|g| app.read_cache.get(id, "no brotli", g).is_some());
    let forms = Forms {
        brotli: codings.br && !codings.gzip_first && !no_brotli_yet,
        deflate: codings.gzip,
    };
    if let Some(kept) = app.results_cache.get(id, kind(forms), updated_at) {
        return Ok(Some(kept));
    }
    let nuvs = analysis.workflow == AnalysisWorkflow::Nuvs;
    let Some((stored, records)) = db::analysis_whole::results(&app.db, id, nuvs, forms).await?
    else {
        return Ok(None);
    };
    let encoded = encode(stored, records).await?;
    let got = match encoded {
        Encoded::Brotli(_) => "brotli",
        Encoded::Deflated { .. } => "deflate",
        Encoded::Plain(_) => "plain",
    };
    if let (true, "deflate" | "plain", Some(generation)) = (forms.brotli, got, generation) {
        let none = Kept::new(std::sync::Arc::new(()), id.len() + 64);
        app.read_cache.put(id, "no brotli", generation, none);
    }
    app.results_cache.put(id, got, updated_at, encoded.clone());
    Ok(Some(encoded))
}

/// The kind of kept results that `forms` asks for first.
fn kind(forms: Forms) -> &'static str {
    if forms.brotli {
        "brotli"
    } else if forms.deflate {
        "deflate"
    } else {
        "plain"
    }
}

/// Make the brotli copy of an analysis's prepared results (`format::brotli_splice`) in the
/// background, one at a time per instance (`App::brotli_slot`): brotli's best quality takes
/// seconds on a large analysis, which no request should wait for.
pub fn compress_in_background(app: &AppState, analysis_id: String, prepared: Bytes) {
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
                metrics::counter!("vira_brotli_copies_total", "outcome" => "failed").increment(1);
                return tracing::warn!(error = %error.message, "brotli compression failed");
            }
        };
        let outcome = match db::analysis_whole::store_brotli(&app.db, &analysis_id, &stream).await {
            Ok(()) => "made",
            Err(error) => {
                tracing::warn!(%error, analysis_id, "could not store the brotli copy");
                "failed"
            }
        };
        metrics::counter!("vira_brotli_copies_total", "outcome" => outcome).increment(1);
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
        metrics::counter!("vira_brotli_copies_total", "outcome" => "made").increment(1);
        made += 1;
    }
    Ok(made)
}

/// Stored results with their BLAST records attached, ready to send.
pub async fn encode(stored: Stored, records: Vec<BlastRecord>) -> ApiResult<Encoded> {
    if records.is_empty() {
        return Ok(match stored {
            Stored::Plain(bytes) => Encoded::Plain(Bytes::from(bytes)),
            Stored::Deflated(deflated) => deflated.into(),
            Stored::Brotli(stream) => {
                Encoded::Brotli(Joinable::of(&Bytes::from(stream)).ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("a stored brotli copy cannot be joined"))
                })?)
            }
        });
    }
    let mut blast = BTreeMap::new();
    for record in records {
        let json = serde_json::value::RawValue::from_string(record.to_json())
            .map_err(ApiError::internal)?;
        blast.insert(record.sequence_index, json);
    }
    Ok(match stored {
        Stored::Plain(prepared) => Encoded::Plain(Bytes::from(
            crate::workflows::nuvs::format::fill_blast(&prepared, &blast),
        )),
        // Not read when there are records (`Forms::brotli`); filled in plain if it ever were.
        Stored::Brotli(stream) => {
            let mut prepared = Vec::with_capacity(stream.len() * 4);
            brotli::BrotliDecompress(&mut stream.as_slice(), &mut prepared)
                .map_err(ApiError::internal)?;
            Encoded::Plain(Bytes::from(crate::workflows::nuvs::format::fill_blast(
                &prepared, &blast,
            )))
        }
        Stored::Deflated(deflated) => {
            let filled = super::blocking(move || -> std::io::Result<Deflated> {
                let prepared = inflate(&deflated.deflate)?;
                Ok(deflate_once(&crate::workflows::nuvs::format::fill_blast(
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
        if let Some(hit) = crate::workflows::nuvs::format::blast_top_hit(&value) {
            top_hits.insert(record.sequence_index, hit);
        }
    }
    Ok(top_hits)
}

/// The stored export rows of an analysis (JSON; `None` until it is finalized), which exports and
/// pages read.
pub async fn export_rows(app: &App, analysis_id: &str) -> Outcome<Option<Vec<u8>>> {
    Ok(db::analyses::export_rows(&app.db, analysis_id).await?)
}

/// The prepared results and the export rows of a finalized analysis, which its page is made of
/// (`None` when either is missing).
pub async fn prepared_and_rows(
    app: &App,
    analysis_id: &str,
) -> Outcome<Option<(Vec<u8>, Vec<u8>)>> {
    let Some(prepared) = db::analyses::prepared_results(&app.db, analysis_id).await? else {
        return Ok(None);
    };
    Ok(export_rows(app, analysis_id)
        .await?
        .map(|rows| (prepared, rows)))
}
