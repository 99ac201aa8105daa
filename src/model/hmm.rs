//! The parts of an HMM annotation that NuVs formatting attaches to ORF hits (contract §9.2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationSummary {
    pub cluster: i64,
    /// Family name → count, in the annotation's key order (a literal `"None"` key may occur).
    pub families: Map<String, Value>,
    pub names: Vec<String>,
}
