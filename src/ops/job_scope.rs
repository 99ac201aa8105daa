//! The scope of a job credential on the jobs-API data routes (workflows.md §7.4): checked after the
//! resource's existence, so an unknown id is 404 and a known one outside the scope 403.

use crate::app::App;
use crate::db;
use crate::model::failure::{Failure, Outcome};
use crate::model::job_scope::{allows, Reach};
use crate::model::workflow::Workflow;
use crate::ops::auth::JobAuth;

/// `InsufficientRights` unless the authenticated job may reach `id` in this way.
pub async fn require(app: &App, job: &JobAuth, reach: Reach, id: &str) -> Outcome<()> {
    let (workflow, args) = db::jobs::workflow_and_args(&app.db, &job.job_id)
        .await?
        .ok_or(Failure::InsufficientRights)?;
    match Workflow::parse(&workflow) {
        Some(workflow) if allows(workflow, &args, reach, id) => Ok(()),
        _ => Err(Failure::InsufficientRights),
    }
}
