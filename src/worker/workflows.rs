//! Which workflow's steps a claimed job runs.

use super::job::{JobContext, JobFailure, StepResult};
use crate::model::workflow::Workflow;

/// Whether this worker can run `workflow`.
pub fn implemented(workflow: Workflow) -> bool {
    match workflow {
        Workflow::CreateSample
        | Workflow::CreateSubtraction
        | Workflow::BuildIndex
        | Workflow::PathoscopeBowtie
        | Workflow::Nuvs => false,
    }
}

/// Run the job's workflow to its end (the caller reports the outcome).
pub async fn run(ctx: &JobContext) -> StepResult<()> {
    Err(JobFailure::error(
        "UnsupportedWorkflow",
        vec![format!("this worker does not run {}", ctx.job.workflow)],
    ))
}
