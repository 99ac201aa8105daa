//! Host-genome subtractions, index files and HMM profiles (workflows §4, §5, §7.6, §7.7, §8.2,
//! §8.3): the file names each target stores, and the objects of both APIs.

use serde::Serialize;
use utoipa::ToSchema;

use super::views::{IdName, RefSummary, RunnerJob, UserRef};

/// The files of an index, in the order of §5.2, with their `type`.
pub const INDEX_FILES: [(&str, &str); 9] = [
    ("otus.json.gz", "json"),
    ("reference.json.gz", "json"),
    ("reference.fa.gz", "fasta"),
    ("reference.1.bt2", "bowtie2"),
    ("reference.2.bt2", "bowtie2"),
    ("reference.3.bt2", "bowtie2"),
    ("reference.4.bt2", "bowtie2"),
    ("reference.rev.1.bt2", "bowtie2"),
    ("reference.rev.2.bt2", "bowtie2"),
];

/// The index file vira generates from the snapshot (§8.4); never uploaded.
pub const OTUS_FILE: &str = "otus.json.gz";

/// The index FASTA J20 requires.
pub const INDEX_FASTA: &str = "reference.fa.gz";

/// The files of a subtraction (J23, J24), with their `type`.
pub const SUBTRACTION_FILES: [(&str, &str); 7] = [
    ("subtraction.fa.gz", "fasta"),
    ("subtraction.1.bt2", "bowtie2"),
    ("subtraction.2.bt2", "bowtie2"),
    ("subtraction.3.bt2", "bowtie2"),
    ("subtraction.4.bt2", "bowtie2"),
    ("subtraction.rev.1.bt2", "bowtie2"),
    ("subtraction.rev.2.bt2", "bowtie2"),
];

/// The `type` of an index file name; `None` for a name that is not one.
pub fn index_file_type(name: &str) -> Option<&'static str> {
    INDEX_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// The `type` of a subtraction file name; `None` for a name that is not one.
pub fn subtraction_file_type(name: &str) -> Option<&'static str> {
    (SUBTRACTION_FILES.iter())
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// The bowtie2 names among `all` that are not in `stored`, in table order.
pub fn missing_bowtie2<'a>(all: &[(&'a str, &str)], stored: &[String]) -> Vec<&'a str> {
    all.iter()
        .filter(|(name, kind)| *kind == "bowtie2" && !stored.iter().any(|s| s == name))
        .map(|(name, _)| *name)
        .collect()
}

/// A subtraction's nucleotide fractions, always in the order `a, c, g, t, n`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct Gc {
    pub a: f64,
    pub c: f64,
    pub g: f64,
    pub t: f64,
    pub n: f64,
}

/// The upload a subtraction was created from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadRef {
    pub id: i64,
    pub name: String,
}

/// A stored index or subtraction file on the user API (U17, U29, U30).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredFile {
    pub id: i64,
    pub name: String,
    pub size: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A subtraction file on the jobs API (J22, J24, J25).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerSubtractionFile {
    pub id: i64,
    pub name: String,
    pub size: i64,
    pub subtraction: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub download_url: String,
}

/// The runner subtraction (§8.3).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerSubtraction {
    pub id: String,
    pub name: String,
    pub nickname: String,
    pub ready: bool,
    #[schema(required = true)]
    pub count: Option<i64>,
    pub created_at: String,
    pub user: UserRef,
    #[schema(required = true)]
    pub file: Option<UploadRef>,
    #[schema(required = true)]
    pub gc: Option<Gc>,
    #[schema(required = true)]
    pub job: Option<RunnerJob>,
    pub files: Vec<RunnerSubtractionFile>,
    pub linked_samples: Vec<IdName>,
}

/// An index file on the jobs API (J17, J19, J20).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerIndexFile {
    pub id: i64,
    pub index: String,
    pub name: String,
    pub size: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub download_url: String,
}

/// One OTU of the runner index's `otus` list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerOtu {
    pub id: String,
    pub name: String,
    pub change_count: i64,
}

/// The runner index (§8.2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerIndex {
    pub id: String,
    pub version: i64,
    pub created_at: String,
    pub ready: bool,
    pub has_files: bool,
    pub reference: RefSummary,
    pub user: UserRef,
    #[schema(required = true)]
    pub job: Option<RunnerJob>,
    pub change_count: i64,
    pub modified_otu_count: i64,
    pub contributors: Vec<serde_json::Value>,
    /// OTU id → version, in snapshot order.
    #[schema(value_type = Object)]
    pub manifest: serde_json::Map<String, serde_json::Value>,
    pub otus: Vec<RunnerOtu>,
    pub files: Vec<RunnerIndexFile>,
}

/// The imported HMM profiles (U36).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HmmProfiles {
    pub profiles: i64,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        assert_eq!(index_file_type("reference.rev.2.bt2"), Some("bowtie2"));
        assert_eq!(index_file_type("otus.json.gz"), Some("json"));
        assert_eq!(index_file_type("reference.fa"), None);
        assert_eq!(subtraction_file_type("subtraction.fa.gz"), Some("fasta"));
        assert_eq!(subtraction_file_type("reference.1.bt2"), None);
        let stored = vec!["reference.2.bt2".to_owned(), "reference.fa.gz".to_owned()];
        assert_eq!(
            missing_bowtie2(&INDEX_FILES, &stored),
            [
                "reference.1.bt2",
                "reference.3.bt2",
                "reference.4.bt2",
                "reference.rev.1.bt2",
                "reference.rev.2.bt2"
            ]
        );
    }
}
