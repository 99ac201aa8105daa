//! A sample with reads as stored (workflows §3.1, §11.1), and the user API's view of it.

use serde_json::value::RawValue;

use super::time::{rfc3339, Micros};
use super::views::{
    IdName, JobSummary, RunnerGroup, RunnerJob, RunnerReads, RunnerSample, Sample, SampleReads,
    SampleWorkflows, UserRef,
};
use crate::auth::rights::SampleRights;

/// The reads file names a sample may hold, in their order (`id` 1 and 2, workflows §11.3).
pub const READS_FILES: [&str; 2] = ["reads_1.fq.gz", "reads_2.fq.gz"];

/// The accepted `library_type` values (workflows §3.2).
pub const LIBRARY_TYPES: &[&str] = &["normal", "srna", "amplicon", "other"];

/// The `id` of a reads file: 1 for `reads_1.fq.gz`, 2 for `reads_2.fq.gz`.
pub fn reads_file_id(name: &str) -> Option<i64> {
    READS_FILES
        .iter()
        .position(|n| *n == name)
        .map(|i| i as i64 + 1)
}

/// A stored reads file of a sample.
#[derive(Debug, Clone)]
pub struct ReadsRecord {
    pub name: String,
    pub size: i64,
    pub uploaded_at: Micros,
}

/// Everything stored of a sample, with its subtractions' names and its reads files.
#[derive(Debug, Clone)]
pub struct SampleRecord {
    pub id: String,
    pub name: String,
    pub created_at: Micros,
    pub user: UserRef,
    pub group: Option<String>,
    pub group_read: bool,
    pub group_write: bool,
    pub all_read: bool,
    pub all_write: bool,
    pub host: String,
    pub isolate: String,
    pub locale: String,
    pub notes: String,
    pub library_type: String,
    pub subtraction_ids: Vec<String>,
    pub paired: bool,
    pub ready: bool,
    /// The finalized `quality`, exactly as J12 received it.
    pub quality: Option<Box<RawValue>>,
    /// The uploads of U11's `files`, in order (empty for a placeholder).
    pub upload_ids: Vec<i64>,
    pub job: Option<JobSummary>,
    /// The default subtractions that exist, sorted by name then id.
    pub subtractions: Vec<IdName>,
    /// The stored reads files, `reads_1` first.
    pub reads: Vec<ReadsRecord>,
}

impl SampleRecord {
    pub fn rights(&self) -> SampleRights {
        SampleRights {
            owner_id: self.user.id.clone(),
            group: self.group.clone(),
            group_read: self.group_read,
            group_write: self.group_write,
            all_read: self.all_read,
            all_write: self.all_write,
        }
    }

    /// Names resolved for `subtraction_ids`, in the sample's order (name, then id).
    pub fn set_subtractions(&mut self, mut known: Vec<IdName>) {
        known.retain(|s| self.subtraction_ids.contains(&s.id));
        known.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        self.subtractions = known;
    }

    /// The sample of workflows §3.1; `listed` leaves out `reads` and `quality` (U25). Reads and
    /// quality show only once the sample is ready (§1.3).
    pub fn view(&self, listed: bool) -> Sample {
        let reads = if self.ready {
            self.reads
                .iter()
                .map(|r| SampleReads {
                    name: r.name.clone(),
                    size: r.size,
                    uploaded_at: rfc3339(r.uploaded_at),
                    download_url: format!("/api/samples/{}/reads/{}", self.id, r.name),
                })
                .collect()
        } else {
            Vec::new()
        };
        let quality = if self.ready {
            self.quality.clone()
        } else {
            None
        };
        Sample {
            id: self.id.clone(),
            name: self.name.clone(),
            created_at: rfc3339(self.created_at),
            user: self.user.clone(),
            group: self.group.clone(),
            group_read: self.group_read,
            group_write: self.group_write,
            all_read: self.all_read,
            all_write: self.all_write,
            host: self.host.clone(),
            isolate: self.isolate.clone(),
            locale: self.locale.clone(),
            notes: self.notes.clone(),
            labels: Vec::new(),
            library_type: self.library_type.clone(),
            subtractions: self.subtractions.clone(),
            paired: self.paired,
            ready: self.ready,
            reads: (!listed).then_some(reads),
            quality: (!listed).then_some(quality),
            job: self.job.clone(),
        }
    }

    /// Rough bytes held, for the read cache's budget.
    pub fn weight(&self) -> usize {
        512 + self.quality.as_ref().map_or(0, |q| q.get().len())
            + 64 * (self.reads.len() + self.subtractions.len())
    }
}

/// A workflow's state for a sample: `complete` if it has a ready analysis of it, else `pending`
/// if it has one at all, else `none` (workflows §8.1).
fn workflow_state(analyses: &[(String, bool)], workflow: &str) -> &'static str {
    let mine = analyses.iter().filter(|(w, _)| w == workflow);
    let mut any = false;
    for (_, ready) in mine {
        if *ready {
            return "complete";
        }
        any = true;
    }
    if any {
        "pending"
    } else {
        "none"
    }
}

/// The legacy tag of a workflow state: `true`, `"ip"` or `false`.
fn legacy_tag(state: &str) -> serde_json::Value {
    match state {
        "complete" => serde_json::Value::Bool(true),
        "pending" => serde_json::Value::String("ip".into()),
        _ => serde_json::Value::Bool(false),
    }
}

impl SampleRecord {
    /// The runner sample of workflows §8.1, given its group and its analyses' `(workflow, ready)`.
    /// Reads are listed whether or not the sample is ready.
    pub fn runner_view(
        &self,
        group: Option<RunnerGroup>,
        analyses: &[(String, bool)],
    ) -> RunnerSample {
        let workflows = if self.library_type == "amplicon" {
            SampleWorkflows {
                aodp: "none".into(),
                nuvs: "incompatible".into(),
                pathoscope: "incompatible".into(),
            }
        } else {
            SampleWorkflows {
                aodp: "incompatible".into(),
                nuvs: workflow_state(analyses, "nuvs").into(),
                pathoscope: workflow_state(analyses, "pathoscope_bowtie").into(),
            }
        };
        RunnerSample {
            id: self.id.clone(),
            name: self.name.clone(),
            created_at: rfc3339(self.created_at),
            host: self.host.clone(),
            isolate: self.isolate.clone(),
            locale: self.locale.clone(),
            notes: self.notes.clone(),
            labels: Vec::new(),
            library_type: self.library_type.clone(),
            format: "fastq".into(),
            hold: false,
            is_legacy: false,
            nuvs: legacy_tag(&workflows.nuvs),
            pathoscope: legacy_tag(&workflows.pathoscope),
            workflows,
            ready: self.ready,
            paired: self.paired,
            user: self.user.clone(),
            group,
            group_read: self.group_read,
            group_write: self.group_write,
            all_read: self.all_read,
            all_write: self.all_write,
            artifacts: Vec::new(),
            quality: self.quality.clone(),
            reads: self.reads.iter().map(|r| self.runner_reads(r)).collect(),
            subtractions: self.subtractions.clone(),
            job: self.job.clone().map(RunnerJob::from),
        }
    }

    /// A stored reads file as the jobs API shows it (J11, J15).
    pub fn runner_reads(&self, reads: &ReadsRecord) -> RunnerReads {
        RunnerReads {
            id: reads_file_id(&reads.name).unwrap_or(0),
            name: reads.name.clone(),
            name_on_disk: reads.name.clone(),
            sample: self.id.clone(),
            size: reads.size,
            uploaded_at: rfc3339(reads.uploaded_at),
            upload: None,
            download_url: format!("/samples/{}/reads/{}", self.id, reads.name),
        }
    }
}
