//! A `vira worker` stopped mid-job loses nothing (workflows §9.4, §7.5): after SIGTERM it releases
//! its job and exits 0, after SIGKILL the stall sweep requeues the job; either way another worker
//! finishes it and the results are the expected set's.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    completed_job, job_at_stage, runner, sample_with_reads, slow_bowtie2, upload_fixture, Backend,
    Setup, TestApp, WorkerProcess,
};

const JOB_LIMIT: Duration = Duration::from_secs(300);

/// A server whose sweep notices a silent job within seconds.
async fn quick_sweeping(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |config| {
        config.job_stall_seconds = 4;
        config.job_sweep_interval_seconds = 1;
    })
    .await
}

/// A Pathoscope job of the sim1_single sample held in a slow bowtie2 pass by a first worker; the
/// worker, the job id and the analysis id.
async fn held_job(
    app: &TestApp,
    credential: &str,
    tools: &std::path::Path,
) -> (WorkerProcess, String, String) {
    let slow = slow_bowtie2(tools, 600);
    let first = WorkerProcess::start(
        &app.base,
        credential,
        &["--bowtie2", slow.to_str().unwrap()],
    );
    let (ref_id, index_id) = app.reference("reference/otus.json.gz").await;
    let index = app
        .get(&format!("/api/indexes/{index_id}"), &app.admin)
        .await
        .json();
    completed_job(
        app,
        &app.admin,
        index["job"]["id"].as_str().unwrap(),
        JOB_LIMIT,
    )
    .await;
    let reads = upload_fixture(app, &app.admin, "sim/sim1_single.fq.gz", "reads").await;
    let sample = sample_with_reads(app, &app.admin, "sim1_single", &[reads], json!({})).await;
    completed_job(
        app,
        &app.admin,
        sample["job"]["id"].as_str().unwrap(),
        JOB_LIMIT,
    )
    .await;
    let analysis = app
        .post(
            &format!("/api/samples/{}/analyses", sample["id"].as_str().unwrap()),
            &app.admin,
            &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie"}),
        )
        .await
        .json();
    let job = analysis["job"]["id"].as_str().unwrap().to_owned();
    job_at_stage(app, &app.admin, &job, "map_isolates", JOB_LIMIT).await;
    let pgid = tools.join("pgid");
    crate::support::wait_for(Duration::from_secs(30), "the slow pass started", || {
        pgid.exists().then_some(())
    })
    .await;
    (first, job, analysis["id"].as_str().unwrap().to_owned())
}

/// The analysis finished by a second worker equals the expected set.
async fn finished_elsewhere(app: &TestApp, credential: &str, job: &str, analysis: &str) {
    let _second = WorkerProcess::start(&app.base, credential, &[]);
    let body = completed_job(app, &app.admin, job, JOB_LIMIT).await;
    assert_eq!(body["state"], "complete", "{body}");
    let analysis = app
        .get(&format!("/api/analyses/{analysis}"), &app.admin)
        .await
        .json();
    assert_eq!(analysis["ready"], true);
    let expected: Value = serde_json::from_slice(&crate::support::fixture_bytes(
        "pathoscope/expected/sim1_single/results.json",
    ))
    .unwrap();
    assert_eq!(analysis["read_count"], expected["read_count"]);
    let files: Vec<&str> = analysis["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(
        files.iter().filter(|n| **n == "report.tsv").count(),
        1,
        "one report, none left from the stopped run: {files:?}"
    );
}

crate::both!(
    sigterm_releases_and_another_worker_finishes,
    |app: TestApp| async move {
        let credential = runner(&app, &app.admin, "signals").await;
        let tools = tempfile::TempDir::new().unwrap();
        let (mut first, job, analysis) = held_job(&app, &credential, tools.path()).await;
        first.signal("TERM");
        let exit = first
            .exit(Duration::from_secs(40))
            .await
            .expect("exits within its grace");
        assert!(exit.success(), "{exit:?}");
        let body = app
            .get(&format!("/api/jobs/{job}"), &app.admin)
            .await
            .json();
        assert_eq!(body["state"], "waiting", "{body}");
        assert_eq!(body["stage"], "released");
        assert_eq!(body["runner"], Value::Null);
        finished_elsewhere(&app, &credential, &job, &analysis).await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_is_requeued_by_the_sweep_and_finished_elsewhere() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = quick_sweeping(backend).await else {
            continue;
        };
        let credential = runner(&app, &app.admin, "signals").await;
        let tools = tempfile::TempDir::new().unwrap();
        let (first, job, analysis) = held_job(&app, &credential, tools.path()).await;
        first.signal("KILL");
        // A killed worker cannot stop its tool: end the slow pass's process group here.
        let pgid = std::fs::read_to_string(tools.path().join("pgid")).unwrap();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", pgid.trim())])
            .status();
        drop(first);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let requeued = loop {
            let body = app
                .get(&format!("/api/jobs/{job}"), &app.admin)
                .await
                .json();
            if body["stage"] == "requeued" {
                break body;
            }
            assert!(std::time::Instant::now() < deadline, "not requeued: {body}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(requeued["state"], "waiting", "{requeued}");
        assert_eq!(requeued["retries"], 1, "{requeued}");
        finished_elsewhere(&app, &credential, &job, &analysis).await;
        app.shutdown().await;
    }
}
