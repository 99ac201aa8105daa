//! `vira worker` against a real server with Debian's bowtie2 (workflows §9, §10.1–§10.4): the
//! lab's reads, host genome and reference go in through the API, workers compute, and what comes
//! out is exactly the fixtures' `pathoscope/expected/` sets, `quality` files and error objects.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both;
use crate::support::{
    completed_job, finished_job, fixture_bytes, runner, sample_with_reads, subtraction_with_genome,
    upload_fixture, Creds, Http, Setup, TestApp, WorkerProcess,
};

/// Longest wait for one job on this 2-core machine (an index build of the 1,563-OTU reference
/// takes ~20 s under load).
const JOB_LIMIT: Duration = Duration::from_secs(300);

/// The reference of the expected sets, imported and indexed; the index's build job completed by
/// a worker.
async fn built_reference(app: &TestApp) -> String {
    let (ref_id, index_id) = app.reference("reference/otus.json.gz").await;
    let index = app
        .get(&format!("/api/indexes/{index_id}"), &app.admin)
        .await
        .json();
    let job = index["job"]["id"]
        .as_str()
        .expect("the index has a build job");
    completed_job(app, &app.admin, job, JOB_LIMIT).await;
    let index = app
        .get(&format!("/api/indexes/{index_id}"), &app.admin)
        .await
        .json();
    assert_eq!(index["has_files"], true, "{index}");
    ref_id
}

/// A sample of the given read fixtures, ready (its create_sample job completed); the sample id.
async fn ready_sample(
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
    completed_job(http, creds, job, JOB_LIMIT).await;
    sample["id"].as_str().unwrap().to_owned()
}

/// A Pathoscope analysis of `sample`, run to completion; the analysis id.
async fn pathoscope(
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
    completed_job(http, creds, job, JOB_LIMIT).await;
    analysis["id"].as_str().unwrap().to_owned()
}

/// The results the worker posted at J4, as stored (raw, not formatted).
async fn posted_results(app: &TestApp, analysis: &str) -> Value {
    let raw = vira::db::analyses::raw_results(&app.app.db, analysis)
        .await
        .unwrap()
        .expect("the analysis has results");
    let body: Value = serde_json::from_slice(&raw).unwrap();
    body.get("results").cloned().unwrap_or(body)
}

/// The bytes of the analysis file named `name`.
async fn analysis_file(app: &TestApp, analysis: &str, name: &str) -> Vec<u8> {
    let body = app
        .get(&format!("/api/analyses/{analysis}"), &app.admin)
        .await
        .json();
    let file = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {}", body["files"]));
    let id = file["id"].as_i64().unwrap();
    app.get(&format!("/api/analyses/{analysis}/files/{id}"), &app.admin)
        .await
        .bytes
}

fn expected(set: &str, file: &str) -> Vec<u8> {
    fixture_bytes(&format!("pathoscope/expected/{set}/{file}"))
}

/// Compare results exactly (floats bit-equal), naming the first difference.
#[track_caller]
fn assert_same_results(set: &str, actual: &Value, expected: &Value) {
    assert_eq!(
        actual["read_count"], expected["read_count"],
        "{set}: read_count"
    );
    assert_eq!(
        actual["subtracted_count"], expected["subtracted_count"],
        "{set}: subtracted_count"
    );
    let (a, e) = (
        actual["hits"].as_array().unwrap(),
        expected["hits"].as_array().unwrap(),
    );
    assert_eq!(a.len(), e.len(), "{set}: number of hits");
    for (i, (a, e)) in a.iter().zip(e).enumerate() {
        for key in [
            "id", "otu", "final", "initial", "coverage", "depth", "align",
        ] {
            assert!(
                a[key] == e[key],
                "{set}: hit {i} {key}: {} ≠ {}",
                short(&a[key]),
                short(&e[key])
            );
        }
    }
    assert!(actual == expected, "{set}: results differ");
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    text.chars().take(160).collect()
}

both!(
    pathoscope_from_reads_to_the_expected_results,
    |app: TestApp| async move {
        let credential = runner(&app, &app.admin, "test-worker").await;
        let _worker = WorkerProcess::start(&app.base, &credential, &["--threads", "2"]);
        let ref_id = built_reference(&app).await;

        // A host genome for sim1_host.
        let genome = upload_fixture(&app, &app.admin, "sim/host1.fa.gz", "subtraction").await;
        let host = subtraction_with_genome(&app, &app.admin, "host1", genome).await;
        let host_id = host["id"].as_str().unwrap().to_owned();
        completed_job(
            &app,
            &app.admin,
            host["job"]["id"].as_str().unwrap(),
            JOB_LIMIT,
        )
        .await;
        let host = app
            .get(&format!("/api/subtractions/{host_id}"), &app.admin)
            .await
            .json();
        let finalize: Value =
            serde_json::from_slice(&fixture_bytes("sim/host1.finalize.json")).unwrap();
        assert_eq!(host["count"], finalize["count"]);
        assert_eq!(host["gc"], finalize["gc"]);
        let order: Vec<&String> = host["gc"].as_object().unwrap().keys().collect();
        assert_eq!(order, ["a", "c", "g", "t", "n"]);
        assert_eq!(host["files"].as_array().unwrap().len(), 7, "{host}");

        let sets: [(&str, &[&str], &str, bool); 6] = [
            (
                "sim1_single",
                &["sim/sim1_single.fq.gz"],
                "sim/sim1_single.quality.json",
                false,
            ),
            (
                "sim1_paired",
                &["sim/sim1_paired_1.fq.gz", "sim/sim1_paired_2.fq.gz"],
                "sim/sim1_paired.quality.json",
                false,
            ),
            (
                "sim1_host",
                &["sim/sim1_host.fq.gz"],
                "sim/sim1_host.quality.json",
                true,
            ),
            (
                "sim1_host_nosub",
                &["sim/sim1_host.fq.gz"],
                "sim/sim1_host.quality.json",
                false,
            ),
            (
                "rrsv",
                &["reads/rrsv_1.fq.gz", "reads/rrsv_2.fq.gz"],
                "reads/rrsv.quality.json",
                false,
            ),
            (
                "srna",
                &["reads/srna_1.fq.gz", "reads/srna_2.fq.gz"],
                "reads/srna.quality.json",
                false,
            ),
        ];
        for (set, reads, quality, subtracted) in sets {
            let sample = ready_sample(&app, &app.admin, set, reads, json!({})).await;
            let body = app
                .get(&format!("/api/samples/{sample}"), &app.admin)
                .await
                .json();
            let expected_quality: Value = serde_json::from_slice(&fixture_bytes(quality)).unwrap();
            assert!(
                body["quality"] == expected_quality,
                "{set}: quality differs"
            );
            assert_eq!(body["ready"], true);
            assert_eq!(body["reads"].as_array().unwrap().len(), reads.len());

            let subtractions = if subtracted {
                vec![host_id.clone()]
            } else {
                vec![]
            };
            let analysis = pathoscope(&app, &app.admin, &sample, &ref_id, &subtractions).await;
            let results = posted_results(&app, &analysis).await;
            let expected_results: Value =
                serde_json::from_slice(&expected(set, "results.json")).unwrap();
            assert_same_results(set, &results, &expected_results);
            let report = analysis_file(&app, &analysis, "report.tsv").await;
            assert!(
                report == expected(set, "report.tsv"),
                "{set}: report.tsv differs:\n{}",
                String::from_utf8_lossy(&report)
            );
        }
    }
);

both!(
    bad_reads_fail_their_job_and_store_nothing,
    |app: TestApp| async move {
        let credential = runner(&app, &app.admin, "test-worker").await;
        let _worker = WorkerProcess::start(&app.base, &credential, &[]);
        let expected: Value =
            serde_json::from_slice(&fixture_bytes("reads/invalid/expected.json")).unwrap();
        for (key, error) in expected.as_object().unwrap() {
            let mut uploads = Vec::new();
            for name in key.split('+') {
                let fixture = format!("reads/invalid/{name}");
                uploads.push(
                    crate::support::upload_fixture(&app, &app.admin, &fixture, "reads").await,
                );
            }
            let sample = sample_with_reads(&app, &app.admin, key, &uploads, json!({})).await;
            let job_id = sample["job"]["id"].as_str().unwrap();
            let job = finished_job(&app, &app.admin, job_id, JOB_LIMIT).await;
            assert_eq!(job["state"], "error", "{key}: {job}");
            let last = job["status"].as_array().unwrap().last().unwrap();
            assert_eq!(last["error"], *error, "{key}");
            let sample_id = sample["id"].as_str().unwrap();
            let sample = app
                .get(&format!("/api/samples/{sample_id}"), &app.admin)
                .await
                .json();
            assert_eq!(sample["ready"], false, "{key}");
            assert_eq!(sample["reads"], json!([]), "{key}");
            assert_eq!(sample["quality"], Value::Null, "{key}");
            for reads_file in ["reads_1.fq.gz", "reads_2.fq.gz"] {
                app.get(
                    &format!("/api/samples/{sample_id}/reads/{reads_file}"),
                    &app.admin,
                )
                .await
                .assert_status(404);
            }
            // The uploads are free again: a new sample may use them.
            let listed = app
                .get("/api/uploads?per_page=100", &app.admin)
                .await
                .json();
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
        let stored = crate::support::files_under(&app.data.path().join("samples"));
        assert!(stored.is_empty(), "no reads stored: {stored:?}");
    }
);

/// The same analysis with `--threads 1` and `--threads 2` gives the same results and report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_do_not_change_results() {
    let Some(app) = TestApp::spawn(crate::support::Backend::Sqlite).await else {
        return;
    };
    let credential = runner(&app, &app.admin, "test-worker").await;
    let mut outputs = Vec::new();
    let ref_id = {
        let _worker = WorkerProcess::start(&app.base, &credential, &["--threads", "1"]);
        built_reference(&app).await
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
        let analysis = pathoscope(&app, &app.admin, &sample, &ref_id, &[]).await;
        outputs.push((
            posted_results(&app, &analysis).await,
            analysis_file(&app, &analysis, "report.tsv").await,
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
    let Some(app) = TestApp::spawn(crate::support::Backend::Sqlite).await else {
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
    let ref_id = built_reference(&app).await;
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
    let ref_id = built_reference(&app).await;
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
