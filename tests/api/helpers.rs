//! Helpers for the analysis life-cycle tests: a started job, finalize, uploads, and direct storage
//! checks (rows and stored objects) that the HTTP API cannot show.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{fixture_bytes, Creds, Reply, TestApp};

/// An analysis whose job was acquired.
pub struct Started {
    pub sample: String,
    pub id: String,
    pub job_id: String,
    pub job: Creds,
}

/// The fitted Pathoscope fixture (an object with `hits`, `read_count`, `subtracted_count`).
pub fn pathoscope_results() -> Value {
    serde_json::from_slice(&fixture_bytes("pathoscope/results.fitted.derived.json")).unwrap()
}

/// `nuvs/results.json` wrapped as `{"hits": [...]}`.
pub fn nuvs_results() -> Value {
    let list: Value = serde_json::from_slice(&fixture_bytes("nuvs/results.json")).unwrap();
    json!({ "hits": list })
}

impl TestApp {
    /// Create a sample and an analysis of `workflow` on `ref_id`, then acquire its job.
    pub async fn started(&self, ref_id: &str, workflow: &str) -> Started {
        let sample = self.sample(&self.admin, json!({"name": "Test 1"})).await;
        let analysis = self.analysis(&self.admin, &sample, ref_id, workflow).await;
        let id = analysis["id"].as_str().unwrap().to_owned();
        let job_id = analysis["job"]["id"].as_str().unwrap().to_owned();
        let job = self.acquire(&job_id).await;
        Started {
            sample,
            id,
            job_id,
            job,
        }
    }

    /// J4 with `{"results": results}`.
    pub async fn finalize(&self, job: &Creds, analysis_id: &str, results: &Value) -> Reply {
        self.finalize_raw(job, analysis_id, json!({ "results": results }).to_string())
            .await
    }

    /// J4 with an arbitrary body.
    pub async fn finalize_raw(&self, job: &Creds, analysis_id: &str, body: String) -> Reply {
        let path = format!("/jobs-api/analyses/{analysis_id}");
        self.send(self.request(Method::PATCH, &path, Some(job)).body(body))
            .await
    }

    /// Import the six annotations that `nuvs/results.json` refers to (U20).
    pub async fn nuvs_annotations(&self) {
        let file: Value =
            serde_json::from_slice(&fixture_bytes("hmm/nuvs_results_hmm_ids.derived.json"))
                .unwrap();
        let list = serde_json::to_vec(&file["annotations"]).unwrap();
        let reply = self
            .multipart(
                Method::POST,
                "/api/hmms/annotations",
                &self.admin,
                "annotations.json",
                list,
            )
            .await;
        reply.assert_status(201);
        assert_eq!(reply.json()["imported"], 6);
    }

    /// Upload `bytes` as `file` to `path` (which carries the query).
    pub async fn upload(&self, method: Method, path: &str, creds: &Creds, bytes: Vec<u8>) -> Reply {
        self.multipart(method, path, creds, "upload.bin", bytes)
            .await
    }

    /// Remove a sample row behind vira's back (contract §4: "Parent sample does not exist").
    pub async fn drop_sample(&self, sample_id: &str) {
        sqlx::query("DELETE FROM samples WHERE id = $1")
            .bind(sample_id)
            .execute(self.app.db.writer())
            .await
            .unwrap();
    }

    /// Rows of `table` whose `column` equals `id`.
    pub async fn rows(&self, table: &str, column: &str, id: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"))
            .bind(id)
            .fetch_one(self.app.db.reader())
            .await
            .unwrap()
    }

    /// Rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.app.db.reader())
            .await
            .unwrap()
    }

    /// `<data-path>/analyses/<id>`.
    pub fn analysis_dir(&self, analysis_id: &str) -> PathBuf {
        self.data.path().join("analyses").join(analysis_id)
    }

    /// Regular files under `dir` (recursively); 0 when it does not exist.
    pub fn files_under(&self, dir: &std::path::Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { self.files_under(&p) } else { 1 })
            .sum()
    }
}
