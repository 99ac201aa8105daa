//! U10: a new analysis of a sample, with its waiting job.

use crate::app::App;
use crate::auth::rights::{can_read, can_write, Principal};
use crate::db;
use crate::db::analyses::NewAnalysis;
use crate::db::IdTable;
use crate::model::failure::{Failure, Outcome};
use crate::model::time::now_micros;
use crate::model::workflow::AnalysisWorkflow;

/// What U10 asks for, checked for shape by the front door.
pub struct NewAnalysisRequest {
    pub sample_id: String,
    pub ref_id: String,
    pub workflow: AnalysisWorkflow,
    /// Without duplicates, in request order.
    pub subtractions: Vec<String>,
}

/// U10: 404 without the sample → 403 without read and write on it → 400 `Reference does not
/// exist` → `No ready index` → `Subtractions do not exist: <ids>` → the analysis and its waiting
/// job; the new analysis's id.
pub async fn create(app: &App, principal: &Principal, new: &NewAnalysisRequest) -> Outcome<String> {
    let sample = db::samples::get(&app.db, &new.sample_id)
        .await?
        .ok_or_else(Failure::not_found)?;
    if !can_read(principal, &sample.rights) || !can_write(principal, &sample.rights) {
        return Err(Failure::InsufficientRights);
    }
    if db::refs::get_summary(&app.db, &new.ref_id).await?.is_none() {
        return Err(Failure::bad_request("Reference does not exist"));
    }
    let (index_id, _) = db::refs::latest_index(&app.db, &new.ref_id)
        .await?
        .ok_or_else(|| Failure::bad_request("No ready index"))?;
    super::samples::check_subtractions(app, &new.subtractions).await?;
    let id = db::fresh_id(&app.db, IdTable::Analyses).await?;
    let job_id = db::fresh_id(&app.db, IdTable::Jobs).await?;
    db::analyses::insert(
        &app.db,
        &NewAnalysis {
            id: &id,
            job_id: &job_id,
            sample_id: &new.sample_id,
            sample_name: &sample.sample.name,
            user_id: &principal.id,
            workflow: new.workflow,
            ref_id: &new.ref_id,
            index_id: &index_id,
            subtractions: &new.subtractions,
            now: now_micros(),
        },
    )
    .await?;
    Ok(id)
}
