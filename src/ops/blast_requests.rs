//! A contig's BLAST search as people ask for it: started by U4 (the pages' button goes through
//! it), read by U5 and the pages' panels.

use crate::app::{App, AppState};
use crate::db;
use crate::db::blast::NewRecord;
use crate::model::failure::{Failure, Outcome};
use crate::model::time::now_micros;
use crate::workflows::nuvs::format::contig_sequence;

pub use crate::db::blast::BlastRecord;

/// U4 after the rights and state checks: 404 `Sequence not found` unless the analysis's raw
/// results hold contig `index`, else its record replaced by a new one and submitted within
/// `--blast-submit-timeout` (`ops::blast::submit_in_request`); 404 `Analysis not found` when
/// the analysis went meanwhile.
pub async fn start(app: &AppState, analysis_id: &str, index: i64) -> Outcome<BlastRecord> {
    let sequence_not_found = || Failure::not_found_msg("Sequence not found");
    let raw = db::analyses::raw_results(&app.db, analysis_id)
        .await?
        .ok_or_else(sequence_not_found)?;
    let sequence = tokio::task::spawn_blocking(move || contig_sequence(&raw, index))
        .await
        .map_err(Failure::internal)?
        .ok_or_else(sequence_not_found)?;
    let now = now_micros();
    let record = db::blast::replace(
        &app.db,
        &NewRecord {
            analysis_id,
            sequence_index: index,
            sequence: &sequence,
            backend: app.blast.backend.name(),
            now,
            deadline_at: now + app.blast.timeout_secs as i64 * 1_000_000,
            lease: (&app.blast.instance_id, now + app.blast.lease),
        },
    )
    .await?
    .ok_or_else(|| Failure::not_found_msg("Analysis not found"))?;
    Ok(super::blast::submit_in_request(app, record).await?)
}

/// The BLAST record of contig `index` of an analysis (`None`: no search of it).
pub async fn record(app: &App, analysis_id: &str, index: i64) -> Outcome<Option<BlastRecord>> {
    Ok(db::blast::get(&app.db, analysis_id, index).await?)
}

/// Every BLAST record of an analysis.
pub async fn records(app: &App, analysis_id: &str) -> Outcome<Vec<BlastRecord>> {
    Ok(db::blast::list_for_analysis(&app.db, analysis_id).await?)
}
