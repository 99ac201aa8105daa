//! Workflow runs through the API, the same for an in-process `TestApp` and a `vira serve` process:
//! an index built, a sample made ready, a Pathoscope analysis run to completion, and what the
//! worker posted (read back from the database, as stored) and uploaded.

use std::time::Duration;

use serde_json::{json, Value};
use vira::db::{Db, PoolSettings};

use super::{completed_job, sample_with_reads, upload_fixture, Creds, Http, Setup};

/// Longest wait for one job on a loaded 2-core machine (an index build of the 1,563-OTU
/// reference takes ~20 s alone, a minute or two with other builds around).
pub const WORKFLOW_JOB_LIMIT: Duration = Duration::from_secs(300);

/// A server driven as its administrator, and its database (for the results as posted).
pub struct Lab {
    pub http: Http,
    pub admin: Creds,
    pub db: Db,
}

impl Lab {
    /// `http` as `admin`, with a connection of its own to the server's database at `url`.
    pub async fn open(http: &Http, admin: Creds, url: &str) -> Lab {
        let pool = PoolSettings {
            max_connections: 2,
            acquire_timeout: Duration::from_secs(10),
            ping_after_idle: Duration::from_secs(60),
            sqlite_cache_kib: 2048,
        };
        let db = Db::connect(url, &pool)
            .await
            .expect("the server's database");
        Lab {
            http: http.clone(),
            admin,
            db,
        }
    }
}

impl Setup for Lab {
    fn http(&self) -> &Http {
        &self.http
    }

    fn admin(&self) -> &Creds {
        &self.admin
    }
}

/// Import a reference fixture and freeze its index, the build job completed by a worker; the
/// reference id.
pub async fn built_reference(lab: &impl Setup, fixture: &str) -> String {
    let (http, admin) = (lab.http(), lab.admin());
    let (ref_id, index_id) = lab.reference(fixture).await;
    let index = http
        .get(&format!("/api/indexes/{index_id}"), admin)
        .await
        .json();
    let job = index["job"]["id"]
        .as_str()
        .expect("the index has a build job");
    completed_job(http, admin, job, WORKFLOW_JOB_LIMIT).await;
    let index = http
        .get(&format!("/api/indexes/{index_id}"), admin)
        .await
        .json();
    assert_eq!(index["has_files"], true, "{index}");
    ref_id
}

/// A sample of the given read fixtures, ready (its create_sample job completed); the sample id.
pub async fn ready_sample(
    http: &Http,
    creds: &Creds,
    name: &str,
    reads: &[&str],
    extra: Value,
) -> String {
    let mut uploads = Vec::new();
    for fixture in reads {
        uploads.push(upload_fixture(http, creds, fixture, "reads").await);
    }
    let sample = sample_with_reads(http, creds, name, &uploads, extra).await;
    let job = sample["job"]["id"].as_str().expect("a create_sample job");
    completed_job(http, creds, job, WORKFLOW_JOB_LIMIT).await;
    sample["id"].as_str().unwrap().to_owned()
}

/// A Pathoscope analysis of `sample`, run to completion; the analysis id.
pub async fn pathoscope_run(
    http: &Http,
    creds: &Creds,
    sample: &str,
    ref_id: &str,
    subtractions: &[String],
) -> String {
    let reply = http
        .post(
            &format!("/api/samples/{sample}/analyses"),
            creds,
            &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie", "subtractions": subtractions}),
        )
        .await;
    reply.assert_status(201);
    let analysis = reply.json();
    let job = analysis["job"]["id"].as_str().unwrap();
    completed_job(http, creds, job, WORKFLOW_JOB_LIMIT).await;
    analysis["id"].as_str().unwrap().to_owned()
}

/// The results the worker posted at J4, as stored (raw, not formatted).
pub async fn posted_results(db: &Db, analysis: &str) -> Value {
    let raw = vira::db::analyses::raw_results(db, analysis)
        .await
        .unwrap()
        .expect("the analysis has results");
    let body: Value = serde_json::from_slice(&raw).unwrap();
    body.get("results").cloned().unwrap_or(body)
}

/// The bytes of the analysis file named `name`.
pub async fn analysis_file(http: &Http, creds: &Creds, analysis: &str, name: &str) -> Vec<u8> {
    let body = http
        .get(&format!("/api/analyses/{analysis}"), creds)
        .await
        .json();
    let file = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {}", body["files"]));
    let id = file["id"].as_i64().unwrap();
    let reply = http
        .get(&format!("/api/analyses/{analysis}/files/{id}"), creds)
        .await;
    reply.assert_status(200);
    reply.bytes
}

/// `vira serve --workers 1` with a work directory of its own, polling and pinging every second
/// (the README's quick start, made quick to notice new jobs).
pub async fn serve_with_one_worker(
    data_path: &std::path::Path,
    database_url: &str,
    work_dir: &std::path::Path,
) -> super::Instance {
    let work_dir = work_dir.to_str().unwrap();
    super::Instance::start(data_path, database_url, &one_worker_options(work_dir)).await
}

/// [`serve_with_one_worker`] with its JSON log, request lines included, written to `log`.
pub async fn serve_with_one_worker_logged(
    data_path: &std::path::Path,
    database_url: &str,
    work_dir: &std::path::Path,
    log: &std::path::Path,
) -> super::Instance {
    let mut options = one_worker_options(work_dir.to_str().unwrap()).to_vec();
    options.extend(["--log-format", "json"]);
    let launch = super::Launch {
        stderr: Some(log.to_owned()),
        log: Some("warn,vira::request=info,vira::http::layers=info"),
        ..super::Launch::default()
    };
    super::Instance::start_with(data_path, database_url, &options, launch).await
}

fn one_worker_options(work_dir: &str) -> [&str; 8] {
    [
        "--workers",
        "1",
        "--worker-poll-interval",
        "1",
        "--worker-ping-interval",
        "1",
        "--worker-work-dir",
        work_dir,
    ]
}
