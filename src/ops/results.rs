//! The formatted results of a ready analysis as the API serves them: the prepared bytes, with the
//! current BLAST records attached for NuVs (contract §9.4), and each contig's top BLAST hit for the
//! NuVs export.

use std::collections::BTreeMap;

use crate::app::App;
use crate::db;
use crate::http::error::{ApiError, ApiResult};

/// The formatted `results` of a ready analysis, BLAST records attached for NuVs (one round trip).
pub async fn results_for(
    app: &App,
    analysis_id: &str,
    workflow: &str,
) -> ApiResult<Option<Vec<u8>>> {
    let nuvs = workflow == "nuvs";
    let Some((prepared, records)) = db::analysis_whole::results(&app.db, analysis_id, nuvs).await?
    else {
        return Ok(None);
    };
    if records.is_empty() {
        return Ok(Some(prepared));
    }
    let mut blast = BTreeMap::new();
    for record in records {
        let json = serde_json::value::RawValue::from_string(record.to_json())
            .map_err(ApiError::internal)?;
        blast.insert(record.sequence_index, json);
    }
    Ok(Some(crate::format::nuvs::fill_blast(&prepared, &blast)))
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
