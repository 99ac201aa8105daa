//! The workflows vira knows (workflows.md §1.1): what a job computes, and for what target.

use serde::{Deserialize, Serialize};

/// A job's workflow. The wire name is the snake-case form (`pathoscope_bowtie`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Workflow {
    CreateSample,
    CreateSubtraction,
    BuildIndex,
    PathoscopeBowtie,
    Nuvs,
}

impl Workflow {
    /// Every workflow, in the order of workflows.md §1.1.
    pub const ALL: [Workflow; 5] = [
        Workflow::CreateSample,
        Workflow::CreateSubtraction,
        Workflow::BuildIndex,
        Workflow::PathoscopeBowtie,
        Workflow::Nuvs,
    ];

    /// The workflows whose target is an analysis (created by U10, finalized by J4).
    pub const ANALYSES: [Workflow; 2] = [Workflow::PathoscopeBowtie, Workflow::Nuvs];

    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::CreateSample => "create_sample",
            Workflow::CreateSubtraction => "create_subtraction",
            Workflow::BuildIndex => "build_index",
            Workflow::PathoscopeBowtie => "pathoscope_bowtie",
            Workflow::Nuvs => "nuvs",
        }
    }

    /// The workflow of a wire name; `None` for any other string.
    pub fn parse(name: &str) -> Option<Workflow> {
        Workflow::ALL.into_iter().find(|w| w.as_str() == name)
    }

    /// Whether the job's target is an analysis.
    pub fn is_analysis(self) -> bool {
        self.analysis().is_some()
    }

    /// The analysis workflow this is, if its target is an analysis.
    pub fn analysis(self) -> Option<AnalysisWorkflow> {
        match self {
            Workflow::PathoscopeBowtie => Some(AnalysisWorkflow::PathoscopeBowtie),
            Workflow::Nuvs => Some(AnalysisWorkflow::Nuvs),
            Workflow::CreateSample | Workflow::CreateSubtraction | Workflow::BuildIndex => None,
        }
    }
}

/// The workflows of analyses (U10): what decides an analysis's results model, checks, export and
/// page. A type of its own so that every `match` on an analysis is exhaustive without arms for
/// workflows that have no analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisWorkflow {
    PathoscopeBowtie,
    Nuvs,
}

impl AnalysisWorkflow {
    pub const ALL: [AnalysisWorkflow; 2] =
        [AnalysisWorkflow::PathoscopeBowtie, AnalysisWorkflow::Nuvs];

    pub fn workflow(self) -> Workflow {
        match self {
            AnalysisWorkflow::PathoscopeBowtie => Workflow::PathoscopeBowtie,
            AnalysisWorkflow::Nuvs => Workflow::Nuvs,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.workflow().as_str()
    }

    /// The analysis workflow of a wire name; `None` for any other string.
    pub fn parse(name: &str) -> Option<AnalysisWorkflow> {
        Workflow::parse(name).and_then(Workflow::analysis)
    }

    /// How people call it (page titles, filters).
    pub fn label(self) -> &'static str {
        match self {
            AnalysisWorkflow::PathoscopeBowtie => "Pathoscope",
            AnalysisWorkflow::Nuvs => "NuVs",
        }
    }
}

impl From<AnalysisWorkflow> for Workflow {
    fn from(workflow: AnalysisWorkflow) -> Workflow {
        workflow.workflow()
    }
}

impl std::fmt::Display for AnalysisWorkflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Workflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for workflow in Workflow::ALL {
            assert_eq!(Workflow::parse(workflow.as_str()), Some(workflow));
            assert_eq!(
                serde_json::to_value(workflow).unwrap(),
                serde_json::json!(workflow.as_str())
            );
        }
        for workflow in AnalysisWorkflow::ALL {
            assert_eq!(AnalysisWorkflow::parse(workflow.as_str()), Some(workflow));
            assert_eq!(workflow.workflow().analysis(), Some(workflow));
        }
        assert_eq!(AnalysisWorkflow::parse("build_index"), None);
        assert_eq!(Workflow::parse("pathoscope"), None);
        assert_eq!(Workflow::parse("Nuvs"), None);
    }
}
