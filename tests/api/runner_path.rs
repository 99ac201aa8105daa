//! The whole data path driven the way an external runner drives it (issue 24). The test is the
//! runner: a runner credential (U33), J8 claims, the job keys they return and the jobs-API data
//! routes over plain HTTP — from uploaded reads to a finished Pathoscope analysis — then a
//! cancellation mid-way and a cut-off upload. No `vira worker` takes part.

use std::io::Read;

use reqwest::Method;
use serde_json::{json, Value};

use crate::claim::{claim, job_creds, ping, runner};
use crate::every_store;
use crate::faults::{multipart_body, partial_request, pattern};
use crate::subtraction_files::stored_under;
use crate::support::{fixture_bytes, Creds, Reply, Setup, TestApp};
use crate::uploads::{stored_keys, upload_fixture};

/// A runner that runs every workflow of the path: J8 hands it the oldest claimable job.
const ALL: &str = "?workflow=create_sample&workflow=build_index&workflow=pathoscope_bowtie";

const READS: [(&str, &str); 2] = [
    ("reads_1.fq.gz", "reads/rrsv_1.fq.gz"),
    ("reads_2.fq.gz", "reads/rrsv_2.fq.gz"),
];

/// The files `build_index` uploads (J19), in the order of §5.2.
const INDEX_FILES: [&str; 8] = [
    "reference.json.gz",
    "reference.fa.gz",
    "reference.1.bt2",
    "reference.2.bt2",
    "reference.3.bt2",
    "reference.4.bt2",
    "reference.rev.1.bt2",
    "reference.rev.2.bt2",
];

/// What the lab made before any runner came: the sample of the rrsv reads and the index of
/// `reference/otus.json.gz` (each with its waiting job), and another sample and index that every
/// job key must be kept away from.
struct Lab {
    alice: Creds,
    uploads: Vec<i64>,
    sample: String,
    ref_id: String,
    index: String,
    other_sample: String,
    other_index: String,
}

every_store!(runner_drives_the_whole_path, |app: TestApp| async move {
    let runner = runner(&app, "external").await;
    let lab = prepare(&app).await;
    create_sample(&app, &runner, &lab).await;
    build_index(&app, &runner, &lab).await;
    cancel_a_build_mid_way(&app, &runner, &lab).await;
    pathoscope(&app, &runner, &lab).await;
    cancel_an_analysis_mid_way(&app, &runner, &lab).await;
    // Nothing is left to claim.
    claim(&app, &runner, ALL).await.assert_status(204);
    app.assert_no_temporary_objects().await;
});

/// The user's side: U21 uploads, U11 with `files`, U18 + U19 (twice), a placeholder sample.
async fn prepare(app: &TestApp) -> Lab {
    let (alice, _) = app.user("alice", &[]).await;
    let mut uploads = Vec::new();
    for (_, fixture) in READS {
        uploads.push(
            upload_fixture(app, &alice, fixture).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let reply = app
        .post(
            "/api/samples",
            &alice,
            &json!({"name": "RRSV", "files": uploads}),
        )
        .await;
    reply.assert_status(201);
    let sample = reply.json();
    assert_eq!(
        (&sample["ready"], &sample["paired"], &sample["job"]["state"]),
        (&json!(false), &json!(true), &json!("waiting"))
    );
    let (ref_id, index) = app.reference("reference/otus.json.gz").await;
    let (_, other_index) = app.reference("reference/reference.json.gz").await;
    let other_sample = app.sample(&alice, json!({"name": "other"})).await;
    Lab {
        alice,
        uploads,
        sample: sample["id"].as_str().unwrap().to_owned(),
        ref_id,
        index,
        other_sample,
        other_index,
    }
}

/// J8 for all the runner's workflows: the claimed job, which must be of `workflow`, and its key.
async fn claim_next(app: &TestApp, runner: &Creds, workflow: &str) -> (Value, Creds) {
    let reply = claim(app, runner, ALL).await;
    reply.assert_status(200);
    let job = reply.json();
    assert_eq!(job["workflow"], workflow, "claimed {job}");
    assert_eq!(
        (&job["state"], &job["acquired"], &job["progress"]),
        (&json!("preparing"), &json!(true), &json!(3))
    );
    let runner_id = runner.login.strip_prefix("runner-").unwrap();
    assert_eq!(job["runner"], json!({"id": runner_id, "name": "external"}));
    let key = job_creds(&job);
    (job, key)
}

/// J2: push a status entry.
async fn status(app: &TestApp, key: &Creds, job: &Value, state: &str, progress: u32) -> Reply {
    let id = job["id"].as_str().unwrap();
    app.post(
        &format!("/jobs-api/jobs/{id}/status"),
        key,
        &json!({"state": state, "stage": "", "progress": progress}),
    )
    .await
}

/// §7.4: `outside` exists but lies outside the key's scope (403); `missing` does not exist (404,
/// checked first).
async fn assert_out_of_scope(app: &TestApp, key: &Creds, outside: &str, missing: &str) {
    app.get(missing, key)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(outside, key)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
}

fn reads_path(sample: &str, name: &str) -> String {
    format!("/jobs-api/samples/{sample}/reads/{name}")
}

fn index_file_path(index: &str, name: &str) -> String {
    format!("/jobs-api/indexes/{index}/files/{name}")
}

/// The made-up content of index file `n` (the protocol is the point, not bowtie2).
fn index_file_bytes(n: usize) -> Vec<u8> {
    pattern(700 + 37 * n, n as u64 + 11)
}

fn quality() -> Value {
    serde_json::from_slice(&fixture_bytes("reads/rrsv.quality.json")).unwrap()
}

/// J15 of `bytes` as `name`, with the query Virtool's runner sends.
async fn put_reads(app: &TestApp, key: &Creds, sample: &str, name: &str, bytes: Vec<u8>) -> Reply {
    let path = format!("{}?name={name}&format=fastq", reads_path(sample, name));
    app.multipart(Method::PUT, &path, key, name, bytes).await
}

async fn ranged(app: &TestApp, path: &str, creds: &Creds, range: &str) -> Reply {
    app.send(
        app.request(Method::GET, path, Some(creds))
            .header("range", range),
    )
    .await
}

/// create_sample: read the uploads, store the reads (the first attempt cut off), finalize.
async fn create_sample(app: &TestApp, runner: &Creds, lab: &Lab) {
    let (job, key) = claim_next(app, runner, "create_sample").await;
    let sizes = [869600, 889188];
    assert_eq!(
        job["args"],
        json!({"sample_id": lab.sample, "files": [
            {"id": lab.uploads[0], "name": "rrsv_1.fq.gz", "size": sizes[0]},
            {"id": lab.uploads[1], "name": "rrsv_2.fq.gz", "size": sizes[1]}]})
    );
    let other_reads = reads_path(&lab.other_sample, "reads_1.fq.gz");
    assert_out_of_scope(
        app,
        &key,
        &other_reads,
        &reads_path("nope1234", "reads_1.fq.gz"),
    )
    .await;
    let index_otus = index_file_path(&lab.index, "otus.json.gz");
    assert_out_of_scope(app, &key, &index_otus, "/jobs-api/indexes/nope1234").await;

    // J11: the sample as the runner sees it, no reads yet.
    let sample_path = format!("/jobs-api/samples/{}", lab.sample);
    let reply = app.get(&sample_path, &key).await;
    reply.assert_status(200);
    let sample = reply.json();
    assert_eq!(
        (&sample["ready"], &sample["paired"], &sample["reads"]),
        (&json!(false), &json!(true), &json!([]))
    );
    assert_eq!(sample["job"]["state"], "preparing");
    // J16: the uploads, byte for byte.
    for (upload, (_, fixture)) in lab.uploads.iter().zip(READS) {
        let got = app.get(&format!("/jobs-api/uploads/{upload}"), &key).await;
        got.assert_status(200);
        assert!(got.bytes == fixture_bytes(fixture), "J16 {fixture}");
    }
    status(app, &key, &job, "running", 20)
        .await
        .assert_status(201);

    // J15: a first attempt cut off mid-body leaves nothing; the retry is stored.
    cut_off_reads(app, &key, &lab.sample).await;
    for (n, (name, fixture)) in READS.iter().enumerate() {
        let reply = put_reads(app, &key, &lab.sample, name, fixture_bytes(fixture)).await;
        reply.assert_status(201);
        assert_eq!(
            reply.header("location").unwrap(),
            reads_path(&lab.sample, name)
        );
        let stored = reply.json();
        assert_eq!(
            stored,
            json!({"id": n + 1, "name": name, "name_on_disk": name, "sample": lab.sample,
                "size": sizes[n], "uploaded_at": stored["uploaded_at"], "upload": null,
                "download_url": format!("/samples/{}/reads/{name}", lab.sample)})
        );
        // J14: what was stored comes back.
        let got = app.get(&reads_path(&lab.sample, name), &key).await;
        got.assert_status(200);
        assert!(got.bytes == fixture_bytes(fixture), "J14 {name}");
    }

    // J12 with the quality, then the last status entry.
    let reply = app
        .patch(&sample_path, &key, &json!({"quality": quality()}))
        .await;
    reply.assert_status(200);
    let finalized = reply.json();
    assert_eq!(finalized["ready"], true);
    assert_eq!(finalized["quality"], quality());
    assert_eq!(finalized["reads"].as_array().unwrap().len(), 2);
    status(app, &key, &job, "complete", 100)
        .await
        .assert_status(201);

    // The user: the sample ready with that quality; the uploads consumed; U27 with Range.
    let view = app
        .get(&format!("/api/samples/{}", lab.sample), &lab.alice)
        .await
        .json();
    assert_eq!(view["ready"], true);
    assert_eq!(view["quality"], quality());
    assert_eq!(
        (&view["job"]["state"], &view["job"]["progress"]),
        (&json!("complete"), &json!(100))
    );
    let listed: Vec<(Value, Value)> = (view["reads"].as_array().unwrap().iter())
        .map(|r| (r["name"].clone(), r["size"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!("reads_1.fq.gz"), json!(sizes[0])),
            (json!("reads_2.fq.gz"), json!(sizes[1]))
        ]
    );
    for upload in &lab.uploads {
        app.get(&format!("/api/uploads/{upload}"), &lab.alice)
            .await
            .assert_error(404, "not_found", "Not found");
    }
    assert!(stored_keys(app, "uploads/").await.is_empty());
    let path = format!("/api/samples/{}/reads/reads_2.fq.gz", lab.sample);
    let whole = app.get(&path, &lab.alice).await;
    whole.assert_status(200);
    assert!(whole.bytes == fixture_bytes("reads/rrsv_2.fq.gz"));
    let part = ranged(app, &path, &lab.alice, "bytes=100-199").await;
    part.assert_status(206);
    assert_eq!(part.bytes, fixture_bytes("reads/rrsv_2.fq.gz")[100..200]);
    assert_eq!(
        part.header("content-range").unwrap(),
        format!("bytes 100-199/{}", sizes[1])
    );
}

/// A J15 whose declared body stops after a third and whose connection is then dropped: no row,
/// no object, no temporary object.
async fn cut_off_reads(app: &TestApp, key: &Creds, sample: &str) {
    let body = multipart_body("reads_1.fq.gz", &fixture_bytes("reads/rrsv_1.fq.gz"));
    let path = reads_path(sample, "reads_1.fq.gz");
    let stream = partial_request(&app.base, "PUT", &path, key, &body, body.len() / 3).await;
    if app.s3.is_none() {
        // Proof that vira was mid-upload: its temporary file exists. (S3 keeps a part this small
        // in memory, so there is nothing to see in the bucket yet.)
        crate::support::wait_for(
            std::time::Duration::from_secs(10),
            "a temporary file",
            || {
                (!crate::support::files_under(&app.data.path().join("tmp")).is_empty())
                    .then_some(())
            },
        )
        .await;
    } else {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    drop(stream);
    app.assert_no_temporary_objects().await;
    assert_eq!(app.rows("sample_reads", "sample_id", sample).await, 0);
    assert!(stored_keys(app, &format!("samples/{sample}/"))
        .await
        .is_empty());
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// build_index: read the index and its OTUs, upload the eight files, finalize.
async fn build_index(app: &TestApp, runner: &Creds, lab: &Lab) {
    let (job, key) = claim_next(app, runner, "build_index").await;
    assert_eq!(
        (&job["args"]["index_id"], &job["args"]["ref_id"]),
        (&json!(lab.index), &json!(lab.ref_id))
    );
    let other_otus = index_file_path(&lab.other_index, "otus.json.gz");
    assert_out_of_scope(app, &key, &other_otus, "/jobs-api/indexes/nope1234").await;
    let sample_reads = reads_path(&lab.sample, "reads_1.fq.gz");
    assert_out_of_scope(app, &key, &sample_reads, "/jobs-api/samples/nope1234").await;

    // J17, then J18 of otus.json.gz: the OTUs in the order of the manifest.
    let base = format!("/jobs-api/indexes/{}", lab.index);
    let reply = app.get(&base, &key).await;
    reply.assert_status(200);
    let index = reply.json();
    assert_eq!(
        (&index["ready"], &index["has_files"], &index["files"]),
        (&json!(true), &json!(false), &json!([]))
    );
    assert_eq!(index["manifest"], job["args"]["manifest"]);
    let manifest: Vec<&String> = index["manifest"].as_object().unwrap().keys().collect();
    let otus = app
        .get(&index_file_path(&lab.index, "otus.json.gz"), &key)
        .await;
    otus.assert_status(200);
    let otus: Value = serde_json::from_slice(&gunzip(&otus.bytes)).unwrap();
    let ids: Vec<&str> = (otus.as_array().unwrap().iter())
        .map(|o| o["_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1563);
    assert_eq!(ids, manifest);
    status(app, &key, &job, "running", 33)
        .await
        .assert_status(201);

    // J19 of the eight files; each comes back byte-equal (J18).
    for (n, name) in INDEX_FILES.iter().enumerate() {
        let bytes = index_file_bytes(n);
        let path = index_file_path(&lab.index, name);
        let reply = app
            .multipart(
                Method::PUT,
                &format!("{path}?name={name}"),
                &key,
                name,
                bytes.clone(),
            )
            .await;
        reply.assert_status(201);
        let file = reply.json();
        let kind = match n {
            0 => "json",
            1 => "fasta",
            _ => "bowtie2",
        };
        assert_eq!(
            (&file["index"], &file["name"], &file["size"], &file["type"]),
            (
                &json!(lab.index),
                &json!(name),
                &json!(bytes.len()),
                &json!(kind)
            )
        );
        assert_eq!(
            file["download_url"],
            format!("/indexes/{}/files/{name}", lab.index)
        );
        let got = app.get(&path, &key).await;
        got.assert_status(200);
        assert!(got.bytes == bytes, "J18 {name}");
    }

    // J20, then the last status entry; the user sees the files.
    let reply = app.patch(&base, &key, &json!({})).await;
    reply.assert_status(200);
    let built = reply.json();
    assert_eq!(built["has_files"], true);
    assert_eq!(names(&built["files"]), INDEX_FILES);
    status(app, &key, &job, "complete", 100)
        .await
        .assert_status(201);
    let view = app
        .get(&format!("/api/indexes/{}", lab.index), &lab.alice)
        .await
        .json();
    assert_eq!(view["has_files"], true);
    assert_eq!(view["job"]["state"], "complete");
    assert_eq!(names(&view["files"]), INDEX_FILES);
}

fn names(files: &Value) -> Vec<&str> {
    (files.as_array().unwrap().iter())
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

/// The other index's build: one file uploaded, then the administrator cancels (U32). The runner
/// hears it on its ping, J2 is refused, and the file is gone (§1.3).
async fn cancel_a_build_mid_way(app: &TestApp, runner: &Creds, lab: &Lab) {
    let (job, key) = claim_next(app, runner, "build_index").await;
    assert_eq!(job["args"]["index_id"], lab.other_index.as_str());
    let path = index_file_path(&lab.other_index, "reference.fa.gz");
    let reply = app
        .multipart(
            Method::PUT,
            &path,
            &key,
            "reference.fa.gz",
            index_file_bytes(1),
        )
        .await;
    reply.assert_status(201);
    let folder = format!("indexes/{}", lab.other_index);
    assert_eq!(stored_under(app, &folder).await.len(), 1);
    let job_id = job["id"].as_str().unwrap();
    let cancelled = app
        .send(app.request(
            Method::PUT,
            &format!("/api/jobs/{job_id}/cancel"),
            Some(&app.admin),
        ))
        .await;
    cancelled.assert_status(200);
    assert_eq!(cancelled.json()["state"], "cancelled");
    assert_stopped(app, &key, &job).await;
    assert_eq!(
        app.rows("index_files", "index_id", &lab.other_index).await,
        0
    );
    assert!(stored_under(app, &folder).await.is_empty());
    app.get(&path, &key)
        .await
        .assert_error(404, "not_found", "File not found");
    let view = app
        .get(&format!("/api/indexes/{}", lab.other_index), &lab.alice)
        .await
        .json();
    assert_eq!(
        (&view["has_files"], &view["files"], &view["job"]["state"]),
        (&json!(false), &json!([]), &json!("cancelled"))
    );
}

/// A cancelled job as its runner meets it: J7 answers `cancelled: true`, J2 409.
async fn assert_stopped(app: &TestApp, key: &Creds, job: &Value) {
    let job_id = job["id"].as_str().unwrap();
    let pinged = ping(app, key, job_id).await;
    pinged.assert_status(200);
    assert_eq!(pinged.json()["cancelled"], true);
    status(app, key, job, "running", 50)
        .await
        .assert_error(409, "conflict", "Job is finished");
}

/// pathoscope_bowtie: read the reads and the index files, upload a file, post the results.
async fn pathoscope(app: &TestApp, runner: &Creds, lab: &Lab) {
    let analysis = app
        .analysis(&lab.alice, &lab.sample, &lab.ref_id, "pathoscope_bowtie")
        .await;
    let analysis_id = analysis["id"].as_str().unwrap().to_owned();
    assert_eq!(analysis["index"]["id"], lab.index.as_str());
    let (job, key) = claim_next(app, runner, "pathoscope_bowtie").await;
    assert_eq!(
        (
            &job["args"]["analysis_id"],
            &job["args"]["sample_id"],
            &job["args"]["index_id"]
        ),
        (&json!(analysis_id), &json!(lab.sample), &json!(lab.index))
    );
    let other_reads = reads_path(&lab.other_sample, "reads_1.fq.gz");
    assert_out_of_scope(app, &key, &other_reads, "/jobs-api/samples/nope1234").await;
    let other_otus = index_file_path(&lab.other_index, "otus.json.gz");
    let missing = index_file_path("nope1234", "otus.json.gz");
    assert_out_of_scope(app, &key, &other_otus, &missing).await;

    // J11 and J14: the sample's reads as stored.
    let sample = app
        .get(&format!("/jobs-api/samples/{}", lab.sample), &key)
        .await
        .json();
    assert_eq!(sample["ready"], true);
    assert_eq!(names(&sample["reads"]), ["reads_1.fq.gz", "reads_2.fq.gz"]);
    for (name, fixture) in READS {
        let got = app.get(&reads_path(&lab.sample, name), &key).await;
        got.assert_status(200);
        assert!(got.bytes == fixture_bytes(fixture), "J14 {name}");
    }
    // J17 and J18: the index files as built.
    let index = app
        .get(&format!("/jobs-api/indexes/{}", lab.index), &key)
        .await
        .json();
    assert_eq!(index["has_files"], true);
    assert_eq!(names(&index["files"]), INDEX_FILES);
    for (n, name) in INDEX_FILES.iter().enumerate() {
        let got = app.get(&index_file_path(&lab.index, name), &key).await;
        got.assert_status(200);
        assert!(got.bytes == index_file_bytes(n), "J18 {name}");
    }
    // J3, J2, J6, J4, J2.
    let analysis_path = format!("/jobs-api/analyses/{analysis_id}");
    let runner_view = app.get(&analysis_path, &key).await;
    runner_view.assert_status(200);
    assert_eq!(runner_view.json()["ready"], false);
    status(app, &key, &job, "running", 16)
        .await
        .assert_status(201);
    let report = fixture_bytes("pathoscope/expected/rrsv/report.tsv");
    let files_path = format!("{analysis_path}/files?name=report.tsv&format=tsv");
    let reply = app
        .multipart(Method::PUT, &files_path, &key, "report.tsv", report.clone())
        .await;
    reply.assert_status(201);
    let file = reply.json();
    assert_eq!(
        (&file["name"], &file["format"], &file["size"]),
        (&json!("report.tsv"), &json!("tsv"), &json!(report.len()))
    );
    let results: Value =
        serde_json::from_slice(&fixture_bytes("pathoscope/expected/rrsv/results.json")).unwrap();
    let reply = app
        .patch(&analysis_path, &key, &json!({ "results": results }))
        .await;
    reply.assert_status(200);
    assert_eq!(reply.json()["ready"], true);
    status(app, &key, &job, "complete", 100)
        .await
        .assert_status(201);

    // The user: the analysis ready with those results, the file downloadable.
    let view = app
        .get(&format!("/api/analyses/{analysis_id}"), &lab.alice)
        .await
        .json();
    assert_eq!(view["ready"], true);
    assert_eq!(view["job"]["state"], "complete");
    assert_eq!(view["files"], json!([file]));
    let formatted = &view["results"];
    assert_eq!(
        (&formatted["read_count"], &formatted["subtracted_count"]),
        (&json!(6055), &json!(0))
    );
    let mut otus: Vec<&str> = (formatted["hits"].as_array().unwrap().iter())
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    otus.sort();
    assert_eq!(
        otus,
        ["1pc7x1mn", "5y5czmjl", "fc5fvspe", "i0rtlf2r", "z96gl6w7"]
    );
    let mut shown: Vec<&str> = (formatted["hits"].as_array().unwrap().iter())
        .flat_map(|o| o["isolates"].as_array().unwrap())
        .flat_map(|i| i["sequences"].as_array().unwrap())
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let mut posted: Vec<&str> = (results["hits"].as_array().unwrap().iter())
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    shown.sort();
    posted.sort();
    assert_eq!(shown, posted);
    let got = app
        .get(
            &format!("/api/analyses/{analysis_id}/files/{}", file["id"]),
            &lab.alice,
        )
        .await;
    got.assert_status(200);
    assert!(got.bytes == report);
}

/// A second analysis: claimed, a file uploaded, then the user cancels (U32). The runner hears it
/// on its ping and J2 is refused. The failed analysis keeps the file (§1.3: analysis files are
/// discarded on release and requeue only) until the user deletes it, which U3 now allows (§6.4).
async fn cancel_an_analysis_mid_way(app: &TestApp, runner: &Creds, lab: &Lab) {
    let analysis = app
        .analysis(&lab.alice, &lab.sample, &lab.ref_id, "pathoscope_bowtie")
        .await;
    let analysis_id = analysis["id"].as_str().unwrap().to_owned();
    let (job, key) = claim_next(app, runner, "pathoscope_bowtie").await;
    assert_eq!(job["args"]["analysis_id"], analysis_id.as_str());
    let files_path = format!("/jobs-api/analyses/{analysis_id}/files?name=partial.sam&format=sam");
    let reply = app
        .multipart(
            Method::PUT,
            &files_path,
            &key,
            "partial.sam",
            pattern(5000, 3),
        )
        .await;
    reply.assert_status(201);
    let name_on_disk = reply.json()["name_on_disk"].as_str().unwrap().to_owned();
    assert_eq!(app.stored_names(&analysis_id).await, [name_on_disk]);
    let job_id = job["id"].as_str().unwrap();
    let cancelled = app
        .send(app.request(
            Method::PUT,
            &format!("/api/jobs/{job_id}/cancel"),
            Some(&lab.alice),
        ))
        .await;
    cancelled.assert_status(200);
    assert_eq!(cancelled.json()["state"], "cancelled");
    assert_stopped(app, &key, &job).await;
    let user_path = format!("/api/analyses/{analysis_id}");
    let view = app.get(&user_path, &lab.alice).await.json();
    assert_eq!(
        (&view["ready"], &view["job"]["state"]),
        (&json!(false), &json!("cancelled"))
    );
    assert_eq!(names(&view["files"]), ["partial.sam"]);
    app.delete(&user_path, &lab.alice).await.assert_status(204);
    assert!(app.stored_names(&analysis_id).await.is_empty());
    app.get(&format!("/jobs-api/analyses/{analysis_id}"), &key)
        .await
        .assert_error(404, "not_found", "Not found");
}
