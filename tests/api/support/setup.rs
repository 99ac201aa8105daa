//! Creating what a test needs, through the API, the same way for an in-process `TestApp` and for a
//! `vira serve` process (`instance.as_admin(&admin)`): users, groups, samples, references with an
//! index, analyses with their job acquired, finalized results, uploads.

use reqwest::Method;
use serde_json::{json, Value};

use super::{fixture_bytes, Creds, Http, Reply};

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

/// A finalize body with no hits: an analysis becomes ready without fixture results.
pub const PATHOSCOPE_EMPTY: &str = r#"{"results": {"hits": [], "read_count": 0}}"#;

/// The names of the files of an analysis body, sorted.
pub fn file_names(analysis: &Value) -> Vec<String> {
    let mut names: Vec<String> = analysis["files"]
        .as_array()
        .unwrap_or_else(|| panic!("no files in {analysis}"))
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The setup helpers; a server kind provides its client and administrator.
#[allow(async_fn_in_trait)]
pub trait Setup {
    fn http(&self) -> &Http;

    fn admin(&self) -> &Creds;

    /// Create a user through the API; returns its credentials and id.
    async fn user(&self, handle: &str, groups: &[&str]) -> (Creds, String) {
        let reply = self
            .http()
            .post(
                "/api/users",
                self.admin(),
                &serde_json::json!({"handle": handle, "groups": groups}),
            )
            .await;
        reply.assert_status(201);
        let body = reply.json();
        (
            Creds {
                login: handle.to_owned(),
                key: body["key"].as_str().unwrap().to_owned(),
            },
            body["id"].as_str().unwrap().to_owned(),
        )
    }

    async fn group(&self, name: &str) -> String {
        let reply = self
            .http()
            .post(
                "/api/groups",
                self.admin(),
                &serde_json::json!({ "name": name }),
            )
            .await;
        reply.assert_status(201);
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    async fn sample(&self, creds: &Creds, body: Value) -> String {
        let reply = self.http().post("/api/samples", creds, &body).await;
        reply.assert_status(201);
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// Import a reference fixture and build its first index; returns `(ref_id, index_id)`.
    async fn reference(&self, fixture_path: &str) -> (String, String) {
        self.reference_from(fixture_bytes(fixture_path)).await
    }

    /// Import a reference file (U18) and build its first index; returns `(ref_id, index_id)`.
    async fn reference_from(&self, file: Vec<u8>) -> (String, String) {
        let reply = self.import("/api/refs/import", file).await;
        reply.assert_status(201);
        let ref_id = reply.json()["id"].as_str().unwrap().to_owned();
        let index_id = self.index(&ref_id).await;
        (ref_id, index_id)
    }

    /// Build the next index of a reference (U19); its id.
    async fn index(&self, ref_id: &str) -> String {
        let path = format!("/api/refs/{ref_id}/indexes");
        let reply = self.http().post(&path, self.admin(), &Value::Null).await;
        reply.assert_status(201);
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// POST `file` as the multipart `file` part of an import route (U18, U20) as the administrator.
    async fn import(&self, path: &str, file: Vec<u8>) -> Reply {
        self.http()
            .multipart(Method::POST, path, self.admin(), "import.json", file)
            .await
    }

    /// A small reference (20 OTUs) with an index, for tests that only need one to exist.
    async fn small_reference(&self) -> String {
        self.reference("reference/reference.json.gz").await.0
    }

    /// Create an analysis; returns the full response body.
    async fn analysis(
        &self,
        creds: &Creds,
        sample_id: &str,
        ref_id: &str,
        workflow: &str,
    ) -> Value {
        let reply = self
            .http()
            .post(
                &format!("/api/samples/{sample_id}/analyses"),
                creds,
                &serde_json::json!({"ref_id": ref_id, "workflow": workflow}),
            )
            .await;
        reply.assert_status(201);
        reply.json()
    }

    /// Create a sample and an analysis of `workflow` on `ref_id`, then acquire its job.
    async fn started(&self, ref_id: &str, workflow: &str) -> Started {
        let sample = self.sample(self.admin(), json!({"name": "Test 1"})).await;
        let analysis = self.analysis(self.admin(), &sample, ref_id, workflow).await;
        let id = analysis["id"].as_str().unwrap().to_owned();
        let job_id = analysis["job"]["id"].as_str().unwrap().to_owned();
        let job = self.http().acquire(&job_id).await;
        Started {
            sample,
            id,
            job_id,
            job,
        }
    }

    /// J4 with `{"results": results}`.
    async fn finalize(&self, job: &Creds, analysis_id: &str, results: &Value) -> Reply {
        self.finalize_raw(job, analysis_id, json!({ "results": results }).to_string())
            .await
    }

    /// J4 with an arbitrary body.
    async fn finalize_raw(&self, job: &Creds, analysis_id: &str, body: String) -> Reply {
        let path = format!("/jobs-api/analyses/{analysis_id}");
        self.http()
            .send(
                self.http()
                    .request(Method::PATCH, &path, Some(job))
                    .body(body),
            )
            .await
    }

    /// Import the six annotations that `nuvs/results.json` refers to (U20).
    async fn nuvs_annotations(&self) {
        let file: Value =
            serde_json::from_slice(&fixture_bytes("hmm/nuvs_results_hmm_ids.derived.json"))
                .unwrap();
        let list = serde_json::to_vec(&file["annotations"]).unwrap();
        let reply = self.import("/api/hmms/annotations", list).await;
        reply.assert_status(201);
        assert_eq!(reply.json()["imported"], 6);
    }

    /// Upload `bytes` as `file` to `path` (which carries the query).
    async fn upload(&self, method: Method, path: &str, creds: &Creds, bytes: Vec<u8>) -> Reply {
        self.http()
            .multipart(method, path, creds, "upload.bin", bytes)
            .await
    }
}
