//! The formatted results of a ready analysis as the API serves them: the prepared bytes, with the
//! current BLAST records attached for NuVs (contract §9.4), and each contig's top BLAST hit for the
//! NuVs export.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::app::App;
use crate::db;
use crate::db::analysis_whole::Stored;
use crate::db::blast::BlastRecord;
use crate::format::gzip_splice::{deflate_once, Deflated, Encoded};
use crate::http::error::{ApiError, ApiResult};

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
