//! Which workflow's steps a claimed job runs.

use super::job::{JobContext, JobFailure, StepResult};
use crate::model::workflow::Workflow;
use crate::workflows;

/// Whether this worker can run `workflow`.
pub fn implemented(workflow: Workflow) -> bool {
    match workflow {
        Workflow::CreateSample
        | Workflow::CreateSubtraction
        | Workflow::BuildIndex
        | Workflow::PathoscopeBowtie => true,
        Workflow::Nuvs => false,
    }
}

/// Run the job's workflow to its end (the caller reports the outcome).
pub async fn run(ctx: &JobContext) -> StepResult<()> {
    match ctx.job.workflow {
        Workflow::CreateSample => workflows::create_sample::steps::run(ctx).await,
        Workflow::CreateSubtraction => workflows::create_subtraction::steps::run(ctx).await,
        Workflow::BuildIndex => workflows::build_index::steps::run(ctx).await,
        Workflow::PathoscopeBowtie => workflows::pathoscope::steps::run(ctx).await,
        other => Err(JobFailure::error(
            "UnsupportedWorkflow",
            vec![format!("this worker does not run {other}")],
        )),
    }
}
