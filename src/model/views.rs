//! The JSON objects of the API, with keys in the contract's order.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct UserRef {
    pub id: String,
    pub handle: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    pub handle: String,
    pub administrator: bool,
    pub groups: Vec<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub user: UserRef,
    pub group: Option<String>,
    pub group_read: bool,
    pub group_write: bool,
    pub all_read: bool,
    pub all_write: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Subtraction {
    pub id: String,
    pub name: String,
    pub nickname: String,
    pub ready: bool,
    pub created_at: String,
    pub user: UserRef,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefSummary {
    pub id: String,
    pub name: String,
    pub data_type: String,
}

#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct Index {
    pub id: String,
    pub version: i64,
    pub ready: bool,
    pub reference: RefSummary,
    pub created_at: String,
    pub user: UserRef,
    pub otu_count: i64,
    pub sequence_count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndexRef {
    pub id: String,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdName {
    pub id: String,
    pub name: String,
}

/// The job summary embedded in analyses (contract §8.2).
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub id: String,
    pub archived: bool,
    pub created_at: String,
    pub progress: i64,
    pub stage: Option<String>,
    pub state: String,
    pub user: UserRef,
    pub workflow: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    pub state: String,
    pub stage: Option<String>,
    pub step_name: Option<String>,
    pub step_description: Option<String>,
    pub error: Option<Value>,
    pub progress: i64,
    pub timestamp: String,
}

/// The full job (J1), with the key only in the acquire response.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub acquired: bool,
    pub archived: bool,
    pub args: Value,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub ping: Option<Value>,
    pub progress: i64,
    pub stage: Option<String>,
    pub state: String,
    pub status: Vec<StatusEntry>,
    pub user: UserRef,
    pub workflow: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnalysisFile {
    pub id: i64,
    pub analysis: String,
    pub description: Option<String>,
    pub format: Option<String>,
    pub name: String,
    pub name_on_disk: String,
    pub size: i64,
    pub uploaded_at: String,
}

/// AnalysisMinimal (lists), and the head of the full Analysis (contract §5.0).
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisMinimal {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub ready: bool,
    pub workflow: String,
    pub algorithm: String,
    pub job: Option<JobSummary>,
    pub index: IndexRef,
    pub reference: RefSummary,
    pub sample: IdName,
    pub subtractions: Vec<IdName>,
    pub user: UserRef,
    pub read_count: Option<i64>,
    /// `updated_at` as stored, for `Last-Modified` (not serialized).
    #[serde(skip)]
    pub updated_at_micros: i64,
}
