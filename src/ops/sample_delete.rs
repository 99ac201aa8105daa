//! Deleting a sample (U26) and a `create_sample` job's failure hook (J13): the storage layer does
//! it in one transaction; the stored objects go after the commit.

use crate::app::App;
use crate::auth::rights::{can_write, Principal};
use crate::db;
use crate::db::sample_delete::SampleDelete;
use crate::model::failure::{Failure, Outcome};
use crate::model::job_scope::Reach;
use crate::model::time::now_micros;
use crate::ops::auth::JobAuth;

/// U26: 404, then 403 without the write right, then the deletion.
pub async fn delete_for_user(app: &App, principal: &Principal, sample_id: &str) -> Outcome<()> {
    let sample = db::samples::get(&app.db, sample_id)
        .await?
        .ok_or_else(Failure::not_found)?;
    if !can_write(principal, &sample.rights) {
        return Err(Failure::InsufficientRights);
    }
    delete(app, sample_id, None).await
}

/// J13: 404, then 403 outside the job's scope (§7.4), then 409 for a ready sample; the caller's
/// own job is not cancelled.
pub async fn delete_for_job(app: &App, job: &JobAuth, sample_id: &str) -> Outcome<()> {
    if db::samples::get(&app.db, sample_id).await?.is_none() {
        return Err(Failure::not_found());
    }
    super::job_scope::require(app, job, Reach::WriteSample, sample_id).await?;
    delete(app, sample_id, Some(&job.job_id)).await
}

async fn delete(app: &App, sample_id: &str, caller: Option<&str>) -> Outcome<()> {
    match db::sample_delete::delete(&app.db, sample_id, caller, now_micros()).await? {
        SampleDelete::NotFound => Err(Failure::not_found()),
        SampleDelete::Finalized => Err(Failure::conflict("Sample is finalized")),
        SampleDelete::Deleted { keys, analyses } => {
            // The analyses' jobs answer 404 for them from now on (their keys still ping).
            app.job_key_cache.clear();
            super::jobs::remove_objects(app, &keys).await;
            for analysis_id in analyses {
                if let Err(e) = app.files.remove_analysis(&analysis_id).await {
                    tracing::error!(analysis_id, error = %e, "could not remove the analysis's files");
                }
            }
            Ok(())
        }
    }
}
