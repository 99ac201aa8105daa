//! `vira worker` and `vira serve --workers 1` against real servers with Debian's bowtie2
//! (workflows §9, §10.1–§10.4): bad reads fail their job and store nothing, `--threads` does not
//! change results, `--exit-when-idle`, and cancelling a running tool. The expected sets of
//! `pathoscope/expected/` are in `expected_sets`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both;
use crate::support::{
    analysis_file, built_reference, completed_job, create_admin_process, finished_job,
    fixture_bytes, pathoscope_run, posted_results, process_storage, ready_sample, runner,
    sample_with_reads, serve_with_one_worker, Backend, TestApp, WorkerProcess,
    WORKFLOW_JOB_LIMIT as JOB_LIMIT,
};

/// A create_sample job of each bad FASTQ of `reads/invalid/` fails with the fixture's error, on
/// `vira serve --workers 1`: the sample stays unready, nothing is stored, the uploads are free.
async fn bad_reads_fail_their_job_and_store_nothing(backend: Backend) {
    let Some((dir, url, _db)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let work = tempfile::TempDir::new().unwrap();
    let app = serve_with_one_worker(dir.path(), &url, work.path()).await;
    let expected: Value =
        serde_json::from_slice(&fixture_bytes("reads/invalid/expected.json")).unwrap();
    for (key, error) in expected.as_object().unwrap() {
        let mut uploads = Vec::new();
        for name in key.split('+') {
            let fixture = format!("reads/invalid/{name}");
            uploads.push(crate::support::upload_fixture(&app, &admin, &fixture, "reads").await);
        }
        let sample = sample_with_reads(&app, &admin, key, &uploads, json!({})).await;
        let job_id = sample["job"]["id"].as_str().unwrap();
        let job = finished_job(&app, &admin, job_id, JOB_LIMIT).await;
        assert_eq!(job["state"], "error", "{key}: {job}");
        let last = job["status"].as_array().unwrap().last().unwrap();
        assert_eq!(last["error"], *error, "{key}");
        let sample_id = sample["id"].as_str().unwrap();
        let sample = app
            .get(&format!("/api/samples/{sample_id}"), &admin)
            .await
            .json();
        assert_eq!(sample["ready"], false, "{key}");
        assert_eq!(sample["reads"], json!([]), "{key}");
        assert_eq!(sample["quality"], Value::Null, "{key}");
        for reads_file in ["reads_1.fq.gz", "reads_2.fq.gz"] {
            app.get(
                &format!("/api/samples/{sample_id}/reads/{reads_file}"),
                &admin,
            )
            .await
            .assert_status(404);
        }
        // The uploads are free again: a new sample may use them.
        let listed = app.get("/api/uploads?per_page=100", &admin).await.json();
        for id in &uploads {
            assert!(
                listed["documents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| u["id"] == *id),
                "{key}: upload {id} is not listed as free again"
            );
        }
    }
    let stored = crate::support::files_under(&dir.path().join("samples"));
    assert!(stored.is_empty(), "no reads stored: {stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reads_fail_their_job_and_store_nothing_sqlite() {
    bad_reads_fail_their_job_and_store_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reads_fail_their_job_and_store_nothing_postgres() {
    bad_reads_fail_their_job_and_store_nothing(Backend::Postgres).await;
}

/// The same analysis with `--threads 1` and `--threads 2` gives the same results and report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_do_not_change_results() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let credential = runner(&app, &app.admin, "test-worker").await;
    let mut outputs = Vec::new();
    let ref_id = {
        let _worker = WorkerProcess::start(&app.base, &credential, &["--threads", "1"]);
        built_reference(&app, "reference/otus.json.gz").await
    };
    let sample = {
        let _worker = WorkerProcess::start(&app.base, &credential, &["--threads", "1"]);
        ready_sample(
            &app,
            &app.admin,
            "sim1",
            &["sim/sim1_single.fq.gz"],
            json!({}),
        )
        .await
    };
    for threads in ["1", "2"] {
        let _worker = WorkerProcess::start(&app.base, &credential, &["--threads", threads]);
        let analysis = pathoscope_run(&app, &app.admin, &sample, &ref_id, &[]).await;
        outputs.push((
            posted_results(&app.app.db, &analysis).await,
            analysis_file(&app, &app.admin, &analysis, "report.tsv").await,
        ));
    }
    assert!(
        outputs[0].0 == outputs[1].0,
        "results differ between -p 1 and -p 2"
    );
    assert!(
        outputs[0].1 == outputs[1].1,
        "report.tsv differs between -p 1 and -p 2"
    );
}

/// `--exit-when-idle`: the worker exits 0 once nothing was claimed for that long, and never while
/// a job runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_when_idle() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let credential = runner(&app, &app.admin, "batch").await;
    // No job at all: it exits after the idle time.
    let started = std::time::Instant::now();
    let mut worker = WorkerProcess::start(&app.base, &credential, &["--exit-when-idle", "2"]);
    let status = worker
        .exit(Duration::from_secs(30))
        .await
        .expect("the worker exits");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "left before the idle time"
    );

    // A job that runs longer than the idle time: the worker stays until it is done.
    // Its inputs are made by another worker first, so that no gap between them ends it early.
    let inputs = WorkerProcess::start(&app.base, &credential, &[]);
    let ref_id = built_reference(&app, "reference/otus.json.gz").await;
    let sample = ready_sample(
        &app,
        &app.admin,
        "sim1",
        &["sim/sim1_single.fq.gz"],
        json!({}),
    )
    .await;
    drop(inputs);
    let tools = tempfile::TempDir::new().unwrap();
    let slow = crate::support::slow_bowtie2(tools.path(), 6);
    let mut worker = WorkerProcess::start(
        &app.base,
        &credential,
        &["--exit-when-idle", "2", "--bowtie2", slow.to_str().unwrap()],
    );
    let reply = app
        .post(
            &format!("/api/samples/{sample}/analyses"),
            &app.admin,
            &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie"}),
        )
        .await;
    let job = reply.json()["job"]["id"].as_str().unwrap().to_owned();
    crate::support::job_at_stage(&app, &app.admin, &job, "map_isolates", JOB_LIMIT).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(worker.is_running(), "the worker left with a job running");
    completed_job(&app, &app.admin, &job, JOB_LIMIT).await;
    let status = worker
        .exit(Duration::from_secs(30))
        .await
        .expect("then it exits");
    assert!(status.success(), "exit status {status:?}");
}

// Cancelling a job in `map_isolates` (U32) kills bowtie2's whole process group within 10 s,
// leaves nothing of the job, and the worker goes on with the next one.
both!(cancellation_kills_the_tool, |app: TestApp| async move {
    let credential = runner(&app, &app.admin, "test-worker").await;
    let tools = tempfile::TempDir::new().unwrap();
    let slow = crate::support::slow_bowtie2(tools.path(), 600);
    let worker = WorkerProcess::start(
        &app.base,
        &credential,
        &["--bowtie2", slow.to_str().unwrap()],
    );
    let ref_id = built_reference(&app, "reference/otus.json.gz").await;
    let sample = ready_sample(
        &app,
        &app.admin,
        "sim1",
        &["sim/sim1_single.fq.gz"],
        json!({}),
    )
    .await;
    let reply = app
        .post(
            &format!("/api/samples/{sample}/analyses"),
            &app.admin,
            &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie"}),
        )
        .await;
    let analysis = reply.json();
    let analysis_id = analysis["id"].as_str().unwrap().to_owned();
    let job = analysis["job"]["id"].as_str().unwrap().to_owned();
    crate::support::job_at_stage(&app, &app.admin, &job, "map_isolates", JOB_LIMIT).await;
    let pgid_file = tools.path().join("pgid");
    let pgid: u32 =
        crate::support::wait_for(Duration::from_secs(30), "the slow pass started", || {
            std::fs::read_to_string(&pgid_file)
                .ok()?
                .trim()
                .parse()
                .ok()
        })
        .await;
    assert!(
        !crate::support::group_members(pgid).is_empty(),
        "bowtie2 runs"
    );
    let cancelled = std::time::Instant::now();
    app.send(app.request(
        reqwest::Method::PUT,
        &format!("/api/jobs/{job}/cancel"),
        Some(&app.admin),
    ))
    .await
    .assert_status(200);
    crate::support::wait_for(
        Duration::from_secs(10),
        "bowtie2's process group is gone",
        || crate::support::group_members(pgid).is_empty().then_some(()),
    )
    .await;
    eprintln!("bowtie2 gone {:?} after the cancel", cancelled.elapsed());
    let job_dir = worker.work_dir.path().join(&job);
    crate::support::wait_for(
        Duration::from_secs(10),
        "the job directory is removed",
        || (!job_dir.exists()).then_some(()),
    )
    .await;
    let job_body = app
        .get(&format!("/api/jobs/{job}"), &app.admin)
        .await
        .json();
    assert_eq!(job_body["state"], "cancelled");
    let analysis = app
        .get(&format!("/api/analyses/{analysis_id}"), &app.admin)
        .await
        .json();
    assert_eq!(analysis["ready"], false);
    assert_eq!(
        analysis["files"],
        json!([]),
        "nothing of the cancelled run is kept"
    );

    // The worker is free for the next job.
    let sample = ready_sample(
        &app,
        &app.admin,
        "next",
        &["sim/sim1_single.fq.gz"],
        json!({}),
    )
    .await;
    assert!(!sample.is_empty());
});
