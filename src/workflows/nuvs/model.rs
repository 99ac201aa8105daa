//! The formatted NuVs results (contract §9.2) as readers see them: the OpenAPI schema of a ready
//! analysis's `results` and what its page reads. Contigs, ORFs and ORF hits keep every stored
//! field; these are the ones vira reads or guarantees. Finalize writes the bytes
//! ([`super::format`]); BLAST records are attached at read time.

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NuvsResults)]
pub struct Results {
    pub hits: Vec<Contig>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NuvsContig)]
pub struct Contig {
    pub index: i64,
    #[serde(default)]
    #[schema(required = true)]
    pub sequence: String,
    #[serde(default)]
    pub orfs: Vec<Orf>,
    /// The contig's current BLAST record, or null.
    #[serde(default)]
    #[schema(value_type = Option<crate::model::views::BlastRecord>, required = true)]
    pub blast: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NuvsOrf)]
pub struct Orf {
    #[serde(default)]
    pub index: i64,
    #[serde(default)]
    pub frame: i64,
    /// 1 forward, -1 reverse.
    #[serde(default = "forward")]
    pub strand: i64,
    /// `[start, end]` on the contig.
    #[serde(default)]
    pub pos: Vec<i64>,
    #[serde(default)]
    pub hits: Vec<OrfHit>,
}

fn forward() -> i64 {
    1
}

/// An ORF hit with `cluster`, `families` and `names` from its HMM annotation.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NuvsOrfHit)]
pub struct OrfHit {
    /// The HMM annotation id, as the results name it.
    #[serde(default)]
    #[schema(value_type = HitId, required = true)]
    pub hit: Value,
    #[serde(default)]
    #[schema(value_type = i64, required = true)]
    pub cluster: Option<i64>,
    /// Family name → count, in the annotation's order.
    #[serde(default)]
    #[schema(value_type = Object, required = true)]
    pub families: Map<String, Value>,
    #[serde(default)]
    #[schema(required = true)]
    pub names: Vec<String>,
    #[serde(default)]
    pub full_e: Option<f64>,
}

/// An HMM annotation id as the results name it.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum HitId {
    Text(String),
    Number(i64),
}
