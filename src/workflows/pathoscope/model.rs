//! The formatted Pathoscope results (contract §9.1) as readers see them: the OpenAPI schema of a
//! ready analysis's `results` and what its page reads. Finalize writes these bytes straight from
//! the raw results and the index snapshot ([`super::format`], streaming for speed); its tests read
//! them back through these types, so writer, schema and page share one shape.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Every other top-level key of the raw results is passed through.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PathoscopeResults)]
pub struct Results {
    /// As the runner posted it (a count, or null when absent).
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub read_count: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub subtracted_count: Option<Value>,
    #[schema(value_type = Vec<Otu>)]
    pub hits: Vec<Otu>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PathoscopeOtu)]
pub struct Otu {
    pub id: String,
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub abbreviation: Option<String>,
    #[serde(default)]
    #[schema(required = true)]
    pub version: i64,
    #[serde(default)]
    #[schema(required = true)]
    pub length: i64,
    pub isolates: Vec<Isolate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PathoscopeIsolate)]
pub struct Isolate {
    #[serde(default)]
    #[schema(required = true)]
    pub id: String,
    #[serde(default)]
    #[schema(required = true)]
    pub default: bool,
    #[schema(required = true)]
    pub source_type: Option<String>,
    #[schema(required = true)]
    pub source_name: Option<String>,
    pub sequences: Vec<Sequence>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PathoscopeSequence)]
pub struct Sequence {
    #[serde(default)]
    #[schema(required = true)]
    pub id: String,
    #[schema(required = true)]
    pub accession: Option<String>,
    #[schema(required = true)]
    pub definition: Option<String>,
    #[schema(value_type = i64)]
    pub length: u64,
    /// `[x, depth]` points in increasing `x`.
    #[schema(value_type = Vec<[i64; 2]>)]
    pub align: Vec<[u64; 2]>,
    #[serde(default)]
    #[schema(required = true)]
    pub best: f64,
    #[serde(default)]
    #[schema(required = true)]
    pub coverage: f64,
    #[serde(default)]
    #[schema(required = true)]
    pub pi: f64,
    #[serde(default)]
    #[schema(value_type = i64, required = true)]
    pub reads: f64,
}
