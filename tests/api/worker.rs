//! `vira worker` and `vira serve --workers 1` against real servers with Debian's bowtie2
//! (workflows §9, §10.1–§10.4): bad reads fail their job and store nothing, `--threads` does not
//! change results, `--exit-when-idle`, and cancelling a running tool. The expected sets of
//! `pathoscope/expected/` are in `expected_sets`.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{json, Value};

use crate::both;
use crate::support::{
    analysis_file, built_reference, completed_job, create_admin_process, finished_job,
    fixture_bytes, pathoscope_run, posted_results, process_storage, ready_sample, runner,
    sample_with_reads, serve_with_one_worker, serve_with_one_worker_logged, Backend, TestApp,
    WorkerProcess, WORKFLOW_JOB_LIMIT as JOB_LIMIT,
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

/// Reads found bad near their end, when most of their stored form has streamed into J15 already:
/// the job fails with the spec's message, each J15 was cut off (logged with megabytes received and
/// no 201), nothing is stored and the uploads are free. One gzip file, one plain file, and a pair
/// whose last names do not pair. A job cancelled while its reads stream has its J15 cut off as
/// promptly. The same files made good are stored whole: a gzip upload byte for byte, a plain one
/// gzipped.
async fn bad_reads_found_late_cut_their_uploads_off(backend: Backend) {
    let Some((dir, url, _db)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let work = tempfile::TempDir::new().unwrap();
    let log = work.path().join("serve.log");
    let app = serve_with_one_worker_logged(dir.path(), &url, &work.path().join("jobs"), &log).await;
    const READS: usize = 30_000;
    let bad = READS - 5;
    let first_name = |i: usize| format!("late:{i}/1");
    let second_name = |i: usize| format!("late:{i}/2");
    let odd_last = |i: usize| {
        if i == READS {
            format!("odd:{i}/2")
        } else {
            second_name(i)
        }
    };
    let single_bad = generated_fastq(READS, first_name, Some(bad));
    let bad_base = |file: &str| {
        format!(
            "{file}: record {bad} (line {}): the sequence has the character \"*\"",
            4 * bad - 2
        )
    };
    let cases = [
        (
            vec![("late.fq.gz", gzipped(&single_bad))],
            bad_base("late.fq.gz"),
        ),
        (vec![("late.fq", single_bad.clone())], bad_base("late.fq")),
        (
            vec![
                (
                    "late_1.fq.gz",
                    gzipped(&generated_fastq(READS, first_name, None)),
                ),
                (
                    "late_2.fq.gz",
                    gzipped(&generated_fastq(READS, odd_last, None)),
                ),
            ],
            format!(
                "the reads of record {READS} do not pair: \"late:{READS}/1\" in late_1.fq.gz, \
                 \"odd:{READS}/2\" in late_2.fq.gz"
            ),
        ),
    ];
    let mut cut_off = 0;
    for (files, message) in cases {
        let mut uploads = Vec::new();
        for (name, bytes) in &files {
            uploads.push(crate::support::upload(&app, &admin, name, "reads", bytes.clone()).await);
        }
        let sample = sample_with_reads(&app, &admin, files[0].0, &uploads, json!({})).await;
        let job = finished_job(
            &app,
            &admin,
            sample["job"]["id"].as_str().unwrap(),
            JOB_LIMIT,
        )
        .await;
        assert_eq!(job["state"], "error", "{message}: {job}");
        let last = job["status"].as_array().unwrap().last().unwrap();
        assert_eq!(last["error"]["details"], json!([message]));
        let sample_id = sample["id"].as_str().unwrap();
        let sample = app
            .get(&format!("/api/samples/{sample_id}"), &admin)
            .await
            .json();
        assert_eq!(
            (&sample["ready"], &sample["reads"]),
            (&json!(false), &json!([]))
        );
        cut_off += files.len();
        let puts = crate::support::wait_for(
            Duration::from_secs(30),
            "the cut-off J15s are logged",
            || {
                let puts = reads_puts(&log);
                (puts.len() == cut_off).then_some(puts)
            },
        )
        .await;
        for put in &puts {
            assert_ne!(put["fields"]["status"], 201, "{put}");
            let received = put["fields"]["bytes_in"].as_u64().unwrap();
            assert!(
                received > 1 << 20,
                "{message}: only {received} bytes streamed: {put}"
            );
        }
        let listed = app.get("/api/uploads?per_page=100", &admin).await.json();
        for id in &uploads {
            let free = listed["documents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["id"] == *id);
            assert!(free, "{message}: upload {id} is not free again");
        }
    }
    let stored = crate::support::files_under(&dir.path().join("samples"));
    assert!(stored.is_empty(), "no reads stored: {stored:?}");

    // Cancelled while its reads stream: the J15 is cut off within seconds, nothing is stored.
    let long = gzipped(&generated_fastq(8 * READS, first_name, None));
    let upload = crate::support::upload(&app, &admin, "long.fq.gz", "reads", long).await;
    let sample = sample_with_reads(&app, &admin, "long", &[upload], json!({})).await;
    let job = sample["job"]["id"].as_str().unwrap();
    crate::support::job_at_stage(&app, &admin, job, "check_reads", JOB_LIMIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.send(app.request(
        reqwest::Method::PUT,
        &format!("/api/jobs/{job}/cancel"),
        Some(&admin),
    ))
    .await
    .assert_status(200);
    let puts = crate::support::wait_for(Duration::from_secs(10), "the J15 is cut off", || {
        let puts = reads_puts(&log);
        (puts.len() == cut_off + 1).then_some(puts)
    })
    .await;
    assert_ne!(puts[cut_off]["fields"]["status"], 201, "{}", puts[cut_off]);
    let stored = crate::support::files_under(&dir.path().join("samples"));
    assert!(stored.is_empty(), "no reads stored: {stored:?}");

    let good_1 = gzipped(&generated_fastq(READS, first_name, None));
    let good_2 = generated_fastq(READS, second_name, None);
    let uploads = [
        crate::support::upload(&app, &admin, "good_1.fq.gz", "reads", good_1.clone()).await,
        crate::support::upload(&app, &admin, "good_2.fq", "reads", good_2.clone()).await,
    ];
    let sample = sample_with_reads(&app, &admin, "good", &uploads, json!({})).await;
    completed_job(
        &app,
        &admin,
        sample["job"]["id"].as_str().unwrap(),
        JOB_LIMIT,
    )
    .await;
    let sample_id = sample["id"].as_str().unwrap();
    let sample = app
        .get(&format!("/api/samples/{sample_id}"), &admin)
        .await
        .json();
    assert_eq!(sample["quality"]["count"], 2 * READS);
    let stored = |file: &str| {
        let path = format!("/api/samples/{sample_id}/reads/{file}");
        let app = &app;
        let admin = &admin;
        async move {
            let reply = app.get(&path, admin).await;
            reply.assert_status(200);
            reply.bytes
        }
    };
    assert!(
        stored("reads_1.fq.gz").await == good_1,
        "a gzip upload is stored as it is"
    );
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&stored("reads_2.fq.gz").await[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert!(plain == good_2, "a plain upload is stored gzipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reads_found_late_cut_their_uploads_off_sqlite() {
    bad_reads_found_late_cut_their_uploads_off(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reads_found_late_cut_their_uploads_off_postgres() {
    bad_reads_found_late_cut_their_uploads_off(Backend::Postgres).await;
}

/// The request lines of J15 in the JSON log of `vira serve`.
fn reads_puts(log: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| {
            line["target"] == "vira::request"
                && line["span"]["method"] == "PUT"
                && line["span"]["route"]
                    .as_str()
                    .is_some_and(|r| r.ends_with("/samples/{sample_id}/reads/{reads_file}"))
        })
        .collect()
}

/// `reads` FASTQ records of 150 random bases from a fixed generator, record `i` (1-based) named
/// `name(i)`; the sequence of record `bad` has a `*` in the middle.
fn generated_fastq(reads: usize, name: impl Fn(usize) -> String, bad: Option<usize>) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(reads * 340);
    for i in 1..=reads {
        out.extend(format!("@{}\n", name(i)).bytes());
        let mut sequence: Vec<u8> = (0..150).map(|_| b"ACGT"[(next() % 4) as usize]).collect();
        if bad == Some(i) {
            sequence[75] = b'*';
        }
        out.extend(sequence);
        out.extend(b"\n+\n");
        out.extend((0..150).map(|_| b'F' + (next() % 5) as u8));
        out.push(b'\n');
    }
    out
}

fn gzipped(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
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
