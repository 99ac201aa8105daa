//! "Nothing half-stored" (workflows.md §1.3): what a job leaves behind when it ends unsuccessfully,
//! is released or requeued is discarded inside the transaction of that state change. The records
//! go here; the stored objects are returned as keys for the caller to remove after the commit.

use serde_json::Value;

use super::{DbResult, Tx};
use crate::files::{analysis_file_key, index_file_key, sample_reads_key, subtraction_file_key};
use crate::model::workflow::Workflow;

/// The states that end a job unsuccessfully.
pub const UNSUCCESSFUL_STATES: &[&str] = &["error", "terminated", "cancelled", "timeout"];

/// Discard the partial output of job `job_id`: the reads of its `create_sample` sample, the files
/// of its `create_subtraction` subtraction, the files of its `build_index` index (each unless
/// finalized), and — when `release` (J10, stall requeue) — the analysis files it uploaded through
/// J6. The uploads its sample or subtraction reserved become unreserved. Returns the storage keys
/// of the discarded objects.
pub async fn discard_partial_output(
    tx: &mut Tx,
    job_id: &str,
    release: bool,
) -> DbResult<Vec<String>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT workflow, args FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((workflow, args)) = row else {
        return Ok(Vec::new());
    };
    let args: Value = serde_json::from_str(&args).unwrap_or(Value::Null);
    let arg = |key: &str| {
        args.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let mut keys = Vec::new();
    match Workflow::parse(&workflow) {
        Some(Workflow::CreateSample) => {
            let sample_id = arg("sample_id");
            let ready: Option<i64> = sqlx::query_scalar("SELECT ready FROM samples WHERE id = $1")
                .bind(&sample_id)
                .fetch_optional(&mut **tx)
                .await?;
            if ready == Some(0) {
                let names: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM sample_reads WHERE sample_id = $1")
                        .bind(&sample_id)
                        .fetch_all(&mut **tx)
                        .await?;
                keys.extend(names.iter().map(|n| sample_reads_key(&sample_id, n)));
                sqlx::query("DELETE FROM sample_reads WHERE sample_id = $1")
                    .bind(&sample_id)
                    .execute(&mut **tx)
                    .await?;
                unreserve(tx, &args).await?;
            }
        }
        Some(Workflow::CreateSubtraction) => {
            let subtraction_id = arg("subtraction_id");
            let ready: Option<i64> =
                sqlx::query_scalar("SELECT ready FROM subtractions WHERE id = $1")
                    .bind(&subtraction_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            if ready == Some(0) {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM subtraction_files WHERE subtraction_id = $1",
                )
                .bind(&subtraction_id)
                .fetch_all(&mut **tx)
                .await?;
                keys.extend(
                    names
                        .iter()
                        .map(|n| subtraction_file_key(&subtraction_id, n)),
                );
                sqlx::query("DELETE FROM subtraction_files WHERE subtraction_id = $1")
                    .bind(&subtraction_id)
                    .execute(&mut **tx)
                    .await?;
                unreserve(tx, &args).await?;
            }
        }
        Some(Workflow::BuildIndex) => {
            let index_id = arg("index_id");
            let has_files: Option<i64> =
                sqlx::query_scalar("SELECT has_files FROM indexes WHERE id = $1")
                    .bind(&index_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            if has_files == Some(0) {
                let names: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM index_files WHERE index_id = $1")
                        .bind(&index_id)
                        .fetch_all(&mut **tx)
                        .await?;
                keys.extend(names.iter().map(|n| index_file_key(&index_id, n)));
                sqlx::query("DELETE FROM index_files WHERE index_id = $1")
                    .bind(&index_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Some(Workflow::PathoscopeBowtie | Workflow::Nuvs) if release => {
            let analysis_id = arg("analysis_id");
            let ready: Option<i64> = sqlx::query_scalar("SELECT ready FROM analyses WHERE id = $1")
                .bind(&analysis_id)
                .fetch_optional(&mut **tx)
                .await?;
            if ready == Some(0) {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name_on_disk FROM analysis_files WHERE analysis_id = $1 AND uploaded_by_job = $2",
                )
                .bind(&analysis_id)
                .bind(job_id)
                .fetch_all(&mut **tx)
                .await?;
                keys.extend(names.iter().map(|n| analysis_file_key(&analysis_id, n)));
                sqlx::query(
                    "DELETE FROM analysis_files WHERE analysis_id = $1 AND uploaded_by_job = $2",
                )
                .bind(&analysis_id)
                .bind(job_id)
                .execute(&mut **tx)
                .await?;
            }
        }
        _ => {}
    }
    Ok(keys)
}

/// The uploads named in `args.files` become usable again (workflows.md §2.1).
async fn unreserve(tx: &mut Tx, args: &Value) -> DbResult<()> {
    let ids: Vec<i64> = args
        .get("files")
        .and_then(Value::as_array)
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f.get("id").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default();
    for id in ids {
        sqlx::query("UPDATE uploads SET reserved = 0 WHERE id = $1 AND removed = 0")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
