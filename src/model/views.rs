//! The JSON objects of the API, with keys in the contract's order.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub use super::workflow::{AnalysisWorkflow, Workflow};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserRef {
    pub id: String,
    pub handle: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub handle: String,
    pub administrator: bool,
    pub groups: Vec<String>,
    pub created_at: String,
    /// `false` once an administrator deactivated the user: every key, session and sign-in of
    /// theirs is refused (beyond the contract, as Virtool's users have it; after the contract's
    /// keys).
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// An API key as Virtool's account keys look (`/api/account/keys`): never the key itself, except
/// once in the reply that created it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// The groups of the key's user: a key acts with its user's rights, as they are at each use.
    pub groups: Vec<String>,
    /// Always `{}`: vira has no per-key permissions (a key carries its user's rights).
    #[schema(value_type = Object)]
    pub permissions: serde_json::Map<String, serde_json::Value>,
    /// The key, only in the reply of `POST /api/account/keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Group {
    pub id: String,
    pub name: String,
}

/// The sample of workflows §3.1 (U11, U12); lists (U25) leave out `reads` and `quality`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sample {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub user: UserRef,
    #[schema(required = true)]
    pub group: Option<String>,
    pub group_read: bool,
    pub group_write: bool,
    pub all_read: bool,
    pub all_write: bool,
    pub host: String,
    pub isolate: String,
    pub locale: String,
    pub notes: String,
    /// Always empty: vira has no labels.
    pub labels: Vec<i64>,
    #[schema(value_type = LibraryType)]
    pub library_type: String,
    pub subtractions: Vec<IdName>,
    pub paired: bool,
    pub ready: bool,
    /// Absent in lists (U25).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub reads: Option<Vec<SampleReads>>,
    /// `Some(None)` is null (not finalized); `None` leaves the key out (lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, required = false)]
    pub quality: Option<Option<Box<serde_json::value::RawValue>>>,
    #[schema(required = true)]
    pub job: Option<JobSummary>,
}

/// `library_type` of a sample (workflows §3.2).
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "lowercase")]
pub enum LibraryType {
    Normal,
    Srna,
    Amplicon,
    Other,
}

/// A stored reads file of a ready sample (workflows §3.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SampleReads {
    pub name: String,
    pub size: i64,
    pub uploaded_at: String,
    pub download_url: String,
}

/// A stored reads file as the runner sees it (workflows §8.1, J15).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerReads {
    pub id: i64,
    pub name: String,
    pub name_on_disk: String,
    pub sample: String,
    pub size: i64,
    pub uploaded_at: String,
    /// Always null.
    #[schema(value_type = Option<i64>, required = true)]
    pub upload: Option<i64>,
    pub download_url: String,
}

/// An upload (workflows §2.1): Virtool's `UploadMinimal`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Upload {
    pub id: i64,
    pub created_at: String,
    pub name: String,
    pub name_on_disk: String,
    pub ready: bool,
    pub removed: bool,
    #[schema(required = true)]
    pub removed_at: Option<String>,
    pub reserved: bool,
    pub size: i64,
    #[serde(rename = "type")]
    #[schema(value_type = UploadType)]
    pub upload_type: String,
    pub uploaded_at: String,
    pub user: UserRef,
}

/// The `type` of an upload (workflows §2.1).
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "lowercase")]
pub enum UploadType {
    Reads,
    Subtraction,
    Hmm,
    Reference,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Subtraction {
    pub id: String,
    pub name: String,
    pub nickname: String,
    pub ready: bool,
    pub created_at: String,
    pub user: UserRef,
    /// Null for a label and until the genome is finalized (workflows §4.1).
    #[schema(required = true)]
    pub count: Option<i64>,
    #[schema(required = true)]
    pub gc: Option<super::stores::Gc>,
    /// The host-genome upload; null for a label.
    #[schema(required = true)]
    pub file: Option<super::stores::UploadRef>,
    #[schema(required = true)]
    pub job: Option<JobSummary>,
    /// Empty until `ready`.
    pub files: Vec<super::stores::StoredFile>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefSummary {
    pub id: String,
    pub name: String,
    pub data_type: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reference {
    pub id: String,
    pub name: String,
    pub data_type: String,
    pub organism: String,
    pub created_at: String,
    pub user: UserRef,
    pub otu_count: i64,
    pub isolate_count: i64,
    pub sequence_count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Index {
    pub id: String,
    pub version: i64,
    pub ready: bool,
    pub reference: RefSummary,
    pub created_at: String,
    pub user: UserRef,
    pub otu_count: i64,
    pub sequence_count: i64,
    /// The `build_index` job finalized the files (workflows §5.1).
    pub has_files: bool,
    #[schema(required = true)]
    pub job: Option<JobSummary>,
}

/// U30: the index object with its stored files (ascending `id`; empty until `has_files`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndexWithFiles {
    #[serde(flatten)]
    pub index: Index,
    pub files: Vec<super::stores::StoredFile>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndexRef {
    pub id: String,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdName {
    pub id: String,
    pub name: String,
}

/// A runner credential (workflows.md §7.1); `credential` only in U33's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Runner {
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// The administrator who made it; null when made with `vira runner create`.
    #[schema(required = true)]
    pub user: Option<UserRef>,
    #[schema(required = true)]
    pub last_claim_at: Option<String>,
    pub revoked: bool,
    /// `runner-<id>:<key>`, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The job summary embedded in analyses (contract §8.2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobSummary {
    pub id: String,
    pub archived: bool,
    pub created_at: String,
    pub progress: i64,
    #[schema(required = true)]
    pub stage: Option<String>,
    #[schema(value_type = JobState)]
    pub state: String,
    pub user: UserRef,
    pub workflow: Workflow,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusEntry {
    #[schema(value_type = JobState)]
    pub state: String,
    #[schema(required = true)]
    pub stage: Option<String>,
    #[schema(required = true)]
    pub step_name: Option<String>,
    #[schema(required = true)]
    pub step_description: Option<String>,
    #[schema(value_type = Option<StatusError>)]
    #[schema(required = true)]
    pub error: Option<Value>,
    pub progress: i64,
    pub timestamp: String,
}

/// The full job (J1), with the key only in the acquire response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    pub id: String,
    pub acquired: bool,
    pub archived: bool,
    #[schema(value_type = JobArgs)]
    pub args: Value,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[schema(value_type = Option<Ping>)]
    #[schema(required = true)]
    pub ping: Option<Value>,
    pub progress: i64,
    /// Stall requeues so far (workflows.md §7.5).
    pub retries: i64,
    /// The runner that claimed the job through J8; null for J1 acquisitions and after a release
    /// or requeue.
    #[schema(required = true)]
    pub runner: Option<IdName>,
    #[schema(required = true)]
    pub stage: Option<String>,
    #[schema(value_type = JobState)]
    pub state: String,
    pub status: Vec<StatusEntry>,
    pub user: UserRef,
    pub workflow: Workflow,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnalysisFile {
    pub id: i64,
    pub analysis: String,
    #[schema(required = true)]
    pub description: Option<String>,
    #[schema(required = true)]
    pub format: Option<String>,
    pub name: String,
    pub name_on_disk: String,
    pub size: i64,
    pub uploaded_at: String,
}

/// AnalysisMinimal (lists), and the head of the full Analysis (contract §5.0).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnalysisMinimal {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub ready: bool,
    pub workflow: AnalysisWorkflow,
    pub algorithm: AnalysisWorkflow,
    #[schema(required = true)]
    pub job: Option<JobSummary>,
    pub index: IndexRef,
    pub reference: RefSummary,
    pub sample: IdName,
    pub subtractions: Vec<IdName>,
    pub user: UserRef,
    #[schema(required = true)]
    pub read_count: Option<i64>,
    /// `updated_at` as stored, for `Last-Modified` (not serialized).
    #[serde(skip)]
    pub updated_at_micros: i64,
}

// Schema-only types below: what the API sends where the view above holds raw JSON or where the
// body is spliced from stored bytes (the full analysis, results), for the OpenAPI description.

/// Job states (contract §8.2).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum JobState {
    Waiting,
    Preparing,
    Running,
    Complete,
    Error,
    Cancelled,
    Timeout,
    Terminated,
}

/// The `error` of a status entry.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StatusError {
    r#type: String,
    traceback: Vec<String>,
    details: Vec<String>,
}

/// The `args` of a job.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JobArgs {
    analysis_id: String,
    sample_id: String,
    sample_name: String,
    ref_id: String,
    index_id: String,
    subtractions: Vec<String>,
}

/// The last ping of a job (J7).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Ping {
    pinged_at: String,
}

/// The full Analysis (contract §5.0): AnalysisMinimal plus files and results.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Analysis {
    #[schema(inline)]
    #[serde(flatten)]
    head: AnalysisMinimal,
    files: Vec<AnalysisFile>,
    /// Null until ready; then the formatted results of the analysis's workflow (contract §9).
    #[schema(schema_with = results_schema)]
    results: Option<Value>,
}

/// Pathoscope or NuVs results, or null. `anyOf`, not `oneOf`: results with no hits fit both.
fn results_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    use utoipa::openapi::Ref;
    AnyOfBuilder::new()
        .item(Ref::from_schema_name("PathoscopeResults"))
        .item(Ref::from_schema_name("NuvsResults"))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// A BLAST record (contract §8.5).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BlastRecord {
    id: i64,
    analysis_id: String,
    sequence_index: i64,
    created_at: String,
    updated_at: String,
    last_checked_at: String,
    interval: i64,
    rid: Option<String>,
    ready: bool,
    error: Option<String>,
    /// The transformed BLAST result (spec/blast.md §3).
    #[schema(value_type = Option<Object>)]
    result: Option<Value>,
}

/// The formats of analysis files; `""` counts as absent.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum FileFormat {
    #[serde(rename = "sam")]
    Sam,
    #[serde(rename = "bam")]
    Bam,
    #[serde(rename = "fasta")]
    Fasta,
    #[serde(rename = "fastq")]
    Fastq,
    #[serde(rename = "csv")]
    Csv,
    #[serde(rename = "tsv")]
    Tsv,
    #[serde(rename = "json")]
    Json,
    #[serde(rename = "")]
    Empty,
}

/// A sample's group on the jobs API (workflows §8.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerGroup {
    pub id: String,
    pub name: String,
    /// Always null.
    #[schema(value_type = Option<String>, required = true)]
    pub legacy_id: Option<String>,
}

/// The job summary of the runner bodies: the user API's without `archived` (workflows §8.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerJob {
    pub id: String,
    pub created_at: String,
    pub progress: i64,
    #[schema(required = true)]
    pub stage: Option<String>,
    #[schema(value_type = JobState)]
    pub state: String,
    pub user: UserRef,
    pub workflow: Workflow,
}

impl From<JobSummary> for RunnerJob {
    fn from(job: JobSummary) -> RunnerJob {
        RunnerJob {
            id: job.id,
            created_at: job.created_at,
            progress: job.progress,
            stage: job.stage,
            state: job.state,
            user: job.user,
            workflow: job.workflow,
        }
    }
}

/// `workflows` of a runner sample: `complete`, `pending`, `none` or `incompatible` each.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SampleWorkflows {
    pub aodp: String,
    pub nuvs: String,
    pub pathoscope: String,
}

/// The sample as Virtool's runner parses it (workflows §8.1: J11, J12).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerSample {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub host: String,
    pub isolate: String,
    pub locale: String,
    pub notes: String,
    pub labels: Vec<i64>,
    #[schema(value_type = LibraryType)]
    pub library_type: String,
    /// Always `fastq`.
    pub format: String,
    pub hold: bool,
    pub is_legacy: bool,
    /// `true` (complete), `"ip"` (pending) or `false`.
    #[schema(value_type = Object)]
    pub nuvs: Value,
    /// `true` (complete), `"ip"` (pending) or `false`.
    #[schema(value_type = Object)]
    pub pathoscope: Value,
    pub workflows: SampleWorkflows,
    pub ready: bool,
    pub paired: bool,
    pub user: UserRef,
    #[schema(required = true)]
    pub group: Option<RunnerGroup>,
    pub group_read: bool,
    pub group_write: bool,
    pub all_read: bool,
    pub all_write: bool,
    pub artifacts: Vec<i64>,
    #[schema(value_type = Option<Object>, required = true)]
    pub quality: Option<Box<serde_json::value::RawValue>>,
    pub reads: Vec<RunnerReads>,
    pub subtractions: Vec<IdName>,
    #[schema(required = true)]
    pub job: Option<RunnerJob>,
}
