//! `vira serve --workers N` (workflows §9.5) as a process: the tool check before listening, an
//! embedded runner that computes jobs, and SIGTERM releasing a running job before the server stops
//! (its runner revoked), on both databases.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    completed_job, create_admin_process, job_at_stage, process_storage, sample_with_reads,
    slow_bowtie2, upload_fixture, Backend, Instance, Setup,
};

const JOB_LIMIT: Duration = Duration::from_secs(300);

#[tokio::test]
async fn a_missing_tool_stops_serve_before_it_listens() {
    let dir = tempfile::TempDir::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vira"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-path")
        .arg(dir.path())
        .args(["--workers", "1", "--worker-bowtie2", "/nonexistent/bowtie2"])
        .env("VIRA_LOG", "error")
        .stdin(std::process::Stdio::null())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .expect("serve exits by itself")
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/bowtie2 is not usable") && stderr.contains("it is needed by"),
        "{stderr}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens"
    );
}

async fn runners(instance: &Instance, admin: &crate::support::Creds) -> Vec<Value> {
    let list = instance.get("/api/runners", admin).await.json();
    list["documents"].as_array().cloned().unwrap_or_default()
}

async fn embedded_workers_run_and_release(backend: Backend) {
    let Some((dir, url, _db)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let tools = tempfile::TempDir::new().unwrap();
    let slow = slow_bowtie2(tools.path(), 600);
    let work = tempfile::TempDir::new().unwrap();
    let options = [
        "--workers",
        "1",
        "--worker-poll-interval",
        "1",
        "--worker-ping-interval",
        "1",
        "--worker-bowtie2",
        slow.to_str().unwrap(),
        "--worker-work-dir",
        work.path().to_str().unwrap(),
        "--shutdown-grace",
        "20",
    ];
    let instance = Instance::start(dir.path(), &url, &options).await;
    let embedded = runners(&instance, &admin).await;
    assert_eq!(embedded.len(), 1, "{embedded:?}");
    let name = embedded[0]["name"].as_str().unwrap();
    assert!(name.starts_with("embedded:"), "{name}");
    assert!(name.ends_with(&format!(":{}", instance.pid())), "{name}");
    assert_eq!(embedded[0]["revoked"], false);

    // The embedded loop computes: the index build and a sample's reads.
    let setup = instance.as_admin(&admin);
    let (ref_id, index_id) = setup.reference("reference/otus.json.gz").await;
    let index = instance
        .get(&format!("/api/indexes/{index_id}"), &admin)
        .await
        .json();
    completed_job(
        &instance,
        &admin,
        index["job"]["id"].as_str().unwrap(),
        JOB_LIMIT,
    )
    .await;
    let reads = upload_fixture(&instance, &admin, "sim/sim1_single.fq.gz", "reads").await;
    let sample = sample_with_reads(&instance, &admin, "sim1", &[reads], json!({})).await;
    completed_job(
        &instance,
        &admin,
        sample["job"]["id"].as_str().unwrap(),
        JOB_LIMIT,
    )
    .await;

    // A Pathoscope run held in bowtie2 when SIGTERM arrives is released, not lost.
    let analysis = instance
        .post(
            &format!("/api/samples/{}/analyses", sample["id"].as_str().unwrap()),
            &admin,
            &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie"}),
        )
        .await
        .json();
    let job = analysis["job"]["id"].as_str().unwrap().to_owned();
    job_at_stage(&instance, &admin, &job, "map_isolates", JOB_LIMIT).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &instance.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut instance = instance;
    let exit = instance
        .wait_exit(Duration::from_secs(40))
        .await
        .expect("serve stops within its grace");
    assert!(exit.success(), "{exit:?}");

    let instance = Instance::start(dir.path(), &url, &[]).await;
    let body = instance
        .get(&format!("/api/jobs/{job}"), &admin)
        .await
        .json();
    assert_eq!(body["state"], "waiting", "{body}");
    assert_eq!(body["stage"], "released", "{body}");
    assert_eq!(body["runner"], Value::Null);
    assert_eq!(body["acquired"], false);
    let listed = runners(&instance, &admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]["revoked"], true,
        "revoked at shutdown: {listed:?}"
    );
    let analysis = instance
        .get(
            &format!("/api/analyses/{}", analysis["id"].as_str().unwrap()),
            &admin,
        )
        .await
        .json();
    assert_eq!(
        analysis["files"],
        json!([]),
        "a released run leaves nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_workers_run_and_release_sqlite() {
    embedded_workers_run_and_release(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_workers_run_and_release_postgres() {
    embedded_workers_run_and_release(Backend::Postgres).await;
}
