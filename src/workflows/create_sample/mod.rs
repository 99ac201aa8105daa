//! `create_sample` (workflows §10.1): the uploads are checked and measured by `crate::reads`
//! (§3.3, §3.4) and stored as the sample's reads; this folder holds the worker's steps.

pub mod steps;

/// The stored name of the sample's `n`-th reads file (1-based).
pub fn reads_file(n: usize) -> String {
    format!("reads_{n}.fq.gz")
}
