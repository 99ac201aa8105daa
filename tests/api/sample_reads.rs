//! Samples with reads (workflows §3, §7.6, §8.1): U11 with files and its checks, the sample
//! objects exactly, U25, U27, and the jobs-API routes of a `create_sample` job (J11, J12, J14,
//! J15, J16) with their check rows, on both databases and, where bytes are stored, both stores.

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::faults::{multipart_body, pattern};
use crate::support::{assert_keys, fixture_bytes, Creds, Reply, Setup, TestApp};
use crate::uploads::{stored_keys, upload, upload_fixture};
use crate::{both, every_store};

const SAMPLE_KEYS: &[&str] = &[
    "id",
    "name",
    "created_at",
    "user",
    "group",
    "group_read",
    "group_write",
    "all_read",
    "all_write",
    "host",
    "isolate",
    "locale",
    "notes",
    "labels",
    "library_type",
    "subtractions",
    "paired",
    "ready",
    "reads",
    "quality",
    "job",
];

const RUNNER_SAMPLE_KEYS: &[&str] = &[
    "id",
    "name",
    "created_at",
    "host",
    "isolate",
    "locale",
    "notes",
    "labels",
    "library_type",
    "format",
    "hold",
    "is_legacy",
    "nuvs",
    "pathoscope",
    "workflows",
    "ready",
    "paired",
    "user",
    "group",
    "group_read",
    "group_write",
    "all_read",
    "all_write",
    "artifacts",
    "quality",
    "reads",
    "subtractions",
    "job",
];

const JOB_SUMMARY_KEYS: &[&str] = &[
    "id",
    "archived",
    "created_at",
    "progress",
    "stage",
    "state",
    "user",
    "workflow",
];

const RUNNER_READS_KEYS: &[&str] = &[
    "id",
    "name",
    "name_on_disk",
    "sample",
    "size",
    "uploaded_at",
    "upload",
    "download_url",
];

/// A sample made from uploads of these reads fixtures; returns `(sample, job id)`.
async fn sample_with_files(app: &TestApp, creds: &Creds, fixtures: &[&str]) -> (Value, String) {
    let mut ids = Vec::new();
    for fixture in fixtures {
        ids.push(upload_fixture(app, creds, fixture).await["id"].clone());
    }
    let reply = app
        .post(
            "/api/samples",
            creds,
            &json!({"name": "Reads", "files": ids}),
        )
        .await;
    reply.assert_status(201);
    let sample = reply.json();
    let job_id = sample["job"]["id"].as_str().unwrap().to_owned();
    (sample, job_id)
}

/// A paired sample of the rrsv reads with its `create_sample` job acquired (J1).
async fn paired_with_job(app: &TestApp) -> (String, Creds) {
    let (sample, job_id) = sample_with_files(
        app,
        &app.admin,
        &["reads/rrsv_1.fq.gz", "reads/rrsv_2.fq.gz"],
    )
    .await;
    let job = app.acquire(&job_id).await;
    (sample["id"].as_str().unwrap().to_owned(), job)
}

/// J15 of `bytes` as `reads_file`.
async fn put_reads(app: &TestApp, job: &Creds, sample: &str, file: &str, bytes: Vec<u8>) -> Reply {
    let path = format!("/jobs-api/samples/{sample}/reads/{file}?name={file}&format=fastq");
    app.multipart(Method::PUT, &path, job, file, bytes).await
}

async fn get_ranged(app: &TestApp, path: &str, creds: &Creds, range: &str) -> Reply {
    app.send(
        app.request(Method::GET, path, Some(creds))
            .header("range", range),
    )
    .await
}

fn quality() -> Value {
    serde_json::from_slice(&fixture_bytes("reads/rrsv.quality.json")).unwrap()
}

both!(create_sample_checks_in_order, |app: TestApp| async move {
    let (alice, _) = app.user("alice", &[]).await;
    let (bob, _) = app.user("bob", &[]).await;
    let a1 = upload(&app, &alice, "a1.fq.gz", "reads", pattern(100, 1))
        .await
        .json();
    let b1 = upload(&app, &bob, "b1.fq.gz", "reads", pattern(100, 2))
        .await
        .json();
    let a2 = upload(&app, &alice, "a2.fq.gz", "reads", pattern(100, 3))
        .await
        .json();
    let (a1, b1, a2) = (a1["id"].clone(), b1["id"].clone(), a2["id"].clone());
    let post = |creds: &Creds, body: Value| {
        let creds = creds.clone();
        let app = &app;
        async move { app.post("/api/samples", &creds, &body).await }
    };
    // 1: credentials.
    let reply = app
        .json(Method::POST, "/api/samples", None, &json!({"name": "x"}))
        .await;
    reply.assert_error(401, "requires_authorization", "Requires authorization");
    // 2: malformed JSON, then field validation.
    let reply = app
        .send(
            app.request(Method::POST, "/api/samples", Some(&alice))
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    reply.assert_error(400, "bad_request", "Malformed JSON");
    let files_rule = json!({"files": ["must be a list of 1 or 2 distinct upload ids"]});
    for files in [
        json!([]),
        json!([1, 2, 3]),
        json!([1, 1]),
        json!(["1"]),
        json!([1.5]),
    ] {
        let reply = post(&alice, json!({"name": "x", "files": files})).await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        assert_eq!(reply.json()["errors"], files_rule, "files {files}");
    }
    let checks = [
        (
            json!({"name": "x", "files": "1"}),
            json!({"files": ["must be of list type"]}),
        ),
        (
            json!({"name": "x", "library_type": "dna"}),
            json!({"library_type": ["unallowed value dna"]}),
        ),
        (
            json!({"name": "x", "labels": "1"}),
            json!({"labels": ["must be of list type"]}),
        ),
        (
            json!({"name": "x", "host": 3}),
            json!({"host": ["must be of string type"]}),
        ),
        (
            json!({"name": "x", "subtractions": [1]}),
            json!({"subtractions": ["must be of string type"]}),
        ),
        (
            json!({"name": ""}),
            json!({"name": ["empty values not allowed"]}),
        ),
    ];
    for (body, errors) in checks {
        let reply = post(&alice, body.clone()).await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        assert_eq!(reply.json()["errors"], errors, "body {body}");
    }
    // 3: group, before everything below.
    let reply = post(
        &alice,
        json!({"name": "x", "group": "nope", "subtractions": ["t"], "labels": [1], "files": [99]}),
    )
    .await;
    reply.assert_error(400, "bad_request", "Group does not exist");
    // 4: subtractions, in request order.
    let known = app
        .post("/api/subtractions", &app.admin, &json!({"name": "Vitis"}))
        .await
        .json()["id"]
        .clone();
    let reply = post(
        &alice,
        json!({"name": "x", "subtractions": ["zz", known, "aa"], "labels": [1], "files": [99]}),
    )
    .await;
    reply.assert_error(400, "bad_request", "Subtractions do not exist: zz,aa");
    // 5: labels.
    let reply = post(
        &alice,
        json!({"name": "x", "labels": [3, 1], "files": [99]}),
    )
    .await;
    reply.assert_error(400, "bad_request", "Labels do not exist: 3,1");
    // 6: unknown, removed, or another user's file.
    for files in [json!([99]), json!([a1.clone(), b1.clone()])] {
        let reply = post(&alice, json!({"name": "x", "files": files})).await;
        reply.assert_error(400, "bad_request", "File does not exist");
    }
    let removed = upload(&app, &alice, "r.fq.gz", "reads", pattern(10, 4))
        .await
        .json()["id"]
        .clone();
    app.delete(&format!("/api/uploads/{removed}"), &alice)
        .await
        .assert_status(204);
    let reply = post(&alice, json!({"name": "x", "files": [removed]})).await;
    reply.assert_error(400, "bad_request", "File does not exist");
    // 7: a reserved file (an unknown one in the same request is reported first).
    post(&alice, json!({"name": "first", "files": [a1.clone()]}))
        .await
        .assert_status(201);
    let reply = post(
        &alice,
        json!({"name": "x", "files": [a1.clone(), a2.clone()]}),
    )
    .await;
    reply.assert_error(400, "bad_request", "File is already in use");
    let reply = post(&alice, json!({"name": "x", "files": [a1.clone(), 99]})).await;
    reply.assert_error(400, "bad_request", "File does not exist");
    // Nothing was made by the refused requests: one sample, one job, a2 still free.
    assert_eq!(app.count("samples").await, 1);
    assert_eq!(app.count("jobs").await, 1);
    let free = app.get("/api/uploads", &alice).await.json();
    assert_eq!(free["documents"][0]["id"], a2);
    assert_eq!(free["found_count"], 1);
    // 8: an administrator may use anyone's upload.
    post(&app.admin, json!({"name": "x", "files": [b1]}))
        .await
        .assert_status(201);
});

both!(sample_objects_exactly, |app: TestApp| async move {
    // A placeholder, as before, with the new keys at their defaults.
    let reply = app
        .post("/api/samples", &app.admin, &json!({"name": "P"}))
        .await;
    reply.assert_status(201);
    let placeholder = reply.json();
    assert_keys(&placeholder, SAMPLE_KEYS);
    let defaults = json!({"host": "", "isolate": "", "locale": "", "notes": "", "labels": [],
        "library_type": "normal", "subtractions": [], "paired": false, "ready": false,
        "reads": [], "quality": null, "job": null});
    for (key, value) in defaults.as_object().unwrap() {
        assert_eq!(&placeholder[key], value, "{key}");
    }
    let id = placeholder["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/samples/{id}"), &app.admin)
            .await
            .json(),
        placeholder
    );

    // With files, fields and subtractions.
    let (alice, alice_id) = app.user("alice", &[]).await;
    let group = app.group("lab").await;
    let sub = |name: &str| {
        let app = &app;
        let name = name.to_owned();
        async move {
            app.post("/api/subtractions", &app.admin, &json!({"name": name}))
                .await
                .json()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (t_b, t_a) = (sub("Vitis").await, sub("Malus").await);
    let u1 = upload_fixture(&app, &alice, "reads/rrsv_1.fq.gz").await;
    let u2 = upload_fixture(&app, &alice, "reads/rrsv_2.fq.gz").await;
    let reply = app
        .post(
            "/api/samples",
            &alice,
            &json!({"name": "Test 1", "group": group, "all_read": false, "files": [u2["id"], u1["id"]],
                "library_type": "srna", "subtractions": [t_b, t_a, t_b], "host": "  Vitis vinifera ",
                "isolate": " A1  ", "locale": "Niagara", "notes": " kept\nas is ", "labels": []}),
        )
        .await;
    reply.assert_status(201);
    let sample = reply.json();
    let id = sample["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/api/samples/{id}")
    );
    assert_keys(&sample, SAMPLE_KEYS);
    let job = &sample["job"];
    assert_keys(job, JOB_SUMMARY_KEYS);
    let job_id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sample,
        json!({"id": id, "name": "Test 1", "created_at": sample["created_at"],
            "user": {"id": alice_id, "handle": "alice"}, "group": group, "group_read": true,
            "group_write": false, "all_read": false, "all_write": false,
            "host": "Vitis vinifera", "isolate": "A1", "locale": "Niagara", "notes": " kept\nas is ",
            "labels": [], "library_type": "srna",
            "subtractions": [{"id": t_a, "name": "Malus"}, {"id": t_b, "name": "Vitis"}],
            "paired": true, "ready": false, "reads": [], "quality": null,
            "job": {"id": job_id, "archived": false, "created_at": sample["created_at"],
                "progress": 0, "stage": null, "state": "waiting",
                "user": {"id": alice_id, "handle": "alice"}, "workflow": "create_sample"}})
    );
    assert_eq!(
        app.get(&format!("/api/samples/{id}"), &alice).await.json(),
        sample
    );
    // The job: waiting with one entry, and `args` exactly (the uploads in request order).
    assert_eq!(app.rows("job_status", "job_id", &job_id).await, 1);
    let acquired = app
        .json(
            Method::PATCH,
            &format!("/jobs-api/jobs/{job_id}"),
            None,
            &json!({"acquired": true}),
        )
        .await
        .json();
    assert_eq!(
        serde_json::to_string(&acquired["args"]).unwrap(),
        serde_json::to_string(&json!({"sample_id": id, "files": [
            {"id": u2["id"], "name": "rrsv_2.fq.gz", "size": 889188},
            {"id": u1["id"], "name": "rrsv_1.fq.gz", "size": 869600}]}))
        .unwrap()
    );
    assert_eq!(acquired["status"][0]["state"], "waiting");
    assert_eq!(acquired["workflow"], "create_sample");
    // The uploads are reserved: not listed, not deletable, still downloadable.
    assert_eq!(
        app.get("/api/uploads", &alice).await.json()["found_count"],
        0
    );
    let reserved = app.get(&format!("/api/uploads/{}", u1["id"]), &alice).await;
    reserved.assert_status(200);
    app.delete(&format!("/api/uploads/{}", u1["id"]), &alice)
        .await
        .assert_error(409, "conflict", "Upload is in use");
    // One file: not paired.
    let u3 = upload_fixture(&app, &alice, "reads/srna_1.fq.gz").await;
    let single = app
        .post(
            "/api/samples",
            &alice,
            &json!({"name": "S", "files": [u3["id"]], "files_extra": 1}),
        )
        .await
        .json();
    assert_eq!(single["paired"], false);
    assert_eq!(single["job"]["state"], "waiting");
});

// The whole life of a sample's reads as a runner drives it, on both stores.
every_store!(
    runner_stores_and_finalizes_reads,
    |app: TestApp| async move {
        let (sample, job) = paired_with_job(&app).await;
        let one = fixture_bytes("reads/rrsv_1.fq.gz");
        let two = fixture_bytes("reads/rrsv_2.fq.gz");
        // J11 before any reads.
        let reply = app.get(&format!("/jobs-api/samples/{sample}"), &job).await;
        reply.assert_status(200);
        let runner = reply.json();
        assert_keys(&runner, RUNNER_SAMPLE_KEYS);
        assert_eq!(runner["reads"], json!([]));
        assert_eq!(runner["ready"], false);
        assert_eq!(runner["quality"], Value::Null);
        assert_eq!(runner["group"], Value::Null);
        assert_eq!(
            runner["workflows"],
            json!({"aodp": "incompatible", "nuvs": "none", "pathoscope": "none"})
        );
        assert_eq!(
            (runner["nuvs"].clone(), runner["pathoscope"].clone()),
            (json!(false), json!(false))
        );
        assert_eq!(
            (
                runner["format"].clone(),
                runner["hold"].clone(),
                runner["is_legacy"].clone(),
                runner["artifacts"].clone()
            ),
            (json!("fastq"), json!(false), json!(false), json!([]))
        );
        assert_keys(
            &runner["job"],
            &[
                "id",
                "created_at",
                "progress",
                "stage",
                "state",
                "user",
                "workflow",
            ],
        );
        assert_eq!(runner["job"]["state"], "preparing");
        // J16: the uploads, as attachments of octet-stream, with ranges.
        let got = app.get("/jobs-api/uploads/1", &job).await;
        got.assert_status(200);
        assert_eq!(got.bytes, one);
        assert_eq!(
            got.header("content-type").unwrap(),
            "application/octet-stream"
        );
        assert_eq!(
            got.header("content-disposition").unwrap(),
            "attachment; filename=rrsv_1.fq.gz"
        );
        assert_eq!(got.header("content-length").unwrap(), one.len().to_string());
        let part = get_ranged(&app, "/jobs-api/uploads/2", &job, "bytes=10-19").await;
        part.assert_status(206);
        assert_eq!(part.bytes, &two[10..20]);
        get_ranged(&app, "/jobs-api/uploads/2", &job, "bytes=999999999-")
            .await
            .assert_error(416, "range_not_satisfiable", "Range not satisfiable");
        // J12 before the reads are stored.
        let finalize = |body: Value| {
            let app = &app;
            let job = job.clone();
            let sample = sample.clone();
            async move {
                app.patch(&format!("/jobs-api/samples/{sample}"), &job, &body)
                    .await
            }
        };
        finalize(json!({"quality": quality()})).await.assert_error(
            409,
            "conflict",
            "Reads have not been uploaded: reads_1.fq.gz, reads_2.fq.gz",
        );
        // J15: not gzip → 400 and nothing kept; then reads_1.
        put_reads(
            &app,
            &job,
            &sample,
            "reads_1.fq.gz",
            b"@r\nACGT\n+\nIIII\n".to_vec(),
        )
        .await
        .assert_error(400, "bad_request", "File is not compressed");
        assert!(stored_keys(&app, &format!("samples/{sample}/"))
            .await
            .is_empty());
        let reply = put_reads(&app, &job, &sample, "reads_1.fq.gz", one.clone()).await;
        reply.assert_status(201);
        assert_eq!(
            reply.header("location").unwrap(),
            format!("/jobs-api/samples/{sample}/reads/reads_1.fq.gz")
        );
        let stored = reply.json();
        assert_keys(&stored, RUNNER_READS_KEYS);
        assert_eq!(
            stored,
            json!({"id": 1, "name": "reads_1.fq.gz", "name_on_disk": "reads_1.fq.gz", "sample": sample,
            "size": one.len(), "uploaded_at": stored["uploaded_at"], "upload": null,
            "download_url": format!("/samples/{sample}/reads/reads_1.fq.gz")})
        );
        put_reads(&app, &job, &sample, "reads_1.fq.gz", one.clone())
            .await
            .assert_error(
                409,
                "conflict",
                "Reads file name is already uploaded for this sample",
            );
        finalize(json!({"quality": quality()})).await.assert_error(
            409,
            "conflict",
            "Reads have not been uploaded: reads_2.fq.gz",
        );
        let reply = put_reads(&app, &job, &sample, "reads_2.fq.gz", two.clone()).await;
        reply.assert_status(201);
        assert_eq!(reply.json()["id"], 2);
        let by_job: Vec<Option<String>> =
            sqlx::query_scalar("SELECT uploaded_by_job FROM sample_reads ORDER BY name")
                .fetch_all(app.app.db.reader())
                .await
                .unwrap();
        let job_id = job.login.trim_start_matches("job-").to_owned();
        assert_eq!(by_job, [Some(job_id.clone()), Some(job_id)]);
        // Listed to the runner before the sample is ready; not to the user.
        let runner = app
            .get(&format!("/jobs-api/samples/{sample}"), &job)
            .await
            .json();
        let names: Vec<&str> = runner["reads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["reads_1.fq.gz", "reads_2.fq.gz"]);
        let user_view = app
            .get(&format!("/api/samples/{sample}"), &app.admin)
            .await
            .json();
        assert_eq!(
            (user_view["reads"].clone(), user_view["quality"].clone()),
            (json!([]), Value::Null)
        );
        app.get(
            &format!("/api/samples/{sample}/reads/reads_1.fq.gz"),
            &app.admin,
        )
        .await
        .assert_error(404, "not_found", "Not found");
        // J14.
        let got = app
            .get(
                &format!("/jobs-api/samples/{sample}/reads/reads_2.fq.gz"),
                &job,
            )
            .await;
        got.assert_status(200);
        assert_eq!(got.bytes, two);
        assert_eq!(got.header("content-type").unwrap(), "application/gzip");
        let part = get_ranged(
            &app,
            &format!("/jobs-api/samples/{sample}/reads/reads_1.fq.gz"),
            &job,
            "bytes=-100",
        )
        .await;
        part.assert_status(206);
        assert_eq!(part.bytes, &one[one.len() - 100..]);
        app.get(
            &format!("/jobs-api/samples/{sample}/reads/reads_3.fq.gz"),
            &job,
        )
        .await
        .assert_error(404, "not_found", "Not found");
        // J12: malformed, then shapes, then finalized.
        let reply = app
            .send(
                app.request(
                    Method::PATCH,
                    &format!("/jobs-api/samples/{sample}"),
                    Some(&job),
                )
                .body("{"),
            )
            .await;
        reply.assert_error(400, "bad_request", "Malformed JSON");
        let reply = finalize(json!({})).await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        assert_eq!(
            reply.json()["errors"],
            json!({"quality": ["required field"]})
        );
        let mut bad = quality();
        bad["bases"][3] = json!([1, 2]);
        bad["gc"] = json!("45");
        let reply = finalize(json!({"quality": bad})).await;
        assert_eq!(
            reply.json()["errors"],
            json!({"quality.bases.3": ["must be a list of 6 numbers"], "quality.gc": ["must be of number type"]})
        );
        let reply = finalize(json!({"quality": quality()})).await;
        reply.assert_status(200);
        let runner = reply.json();
        assert_keys(&runner, RUNNER_SAMPLE_KEYS);
        assert_eq!(runner["ready"], true);
        assert_eq!(runner["quality"], quality());
        finalize(json!({"quality": quality()})).await.assert_error(
            409,
            "conflict",
            "Sample already finalized",
        );
        put_reads(&app, &job, &sample, "reads_2.fq.gz", two.clone())
            .await
            .assert_error(409, "conflict", "Sample already finalized");
        // The uploads are consumed: removed, their objects gone.
        assert!(stored_keys(&app, "uploads/").await.is_empty());
        app.get("/api/uploads/1", &app.admin)
            .await
            .assert_error(404, "not_found", "Not found");
        app.get("/jobs-api/uploads/1", &job)
            .await
            .assert_error(404, "not_found", "Not found");
        assert_eq!(
            stored_keys(&app, &format!("samples/{sample}/")).await,
            [
                format!("samples/{sample}/reads_1.fq.gz"),
                format!("samples/{sample}/reads_2.fq.gz")
            ]
        );
        // The user sees reads and quality now.
        let view = app
            .get(&format!("/api/samples/{sample}"), &app.admin)
            .await
            .json();
        assert_keys(&view, SAMPLE_KEYS);
        assert_eq!(view["ready"], true);
        assert_eq!(view["quality"], quality());
        assert_eq!(view["reads"].as_array().unwrap().len(), 2);
        assert_keys(
            &view["reads"][0],
            &["name", "size", "uploaded_at", "download_url"],
        );
        assert_eq!(
            view["reads"][1],
            json!({"name": "reads_2.fq.gz", "size": two.len(), "uploaded_at": view["reads"][1]["uploaded_at"],
            "download_url": format!("/api/samples/{sample}/reads/reads_2.fq.gz")})
        );
        // U27.
        let path = format!("/api/samples/{sample}/reads/reads_1.fq.gz");
        let got = app.get(&path, &app.admin).await;
        got.assert_status(200);
        assert_eq!(got.bytes, one);
        assert_eq!(got.header("content-type").unwrap(), "application/gzip");
        assert_eq!(
            got.header("content-disposition").unwrap(),
            "attachment; filename=reads_1.fq.gz"
        );
        assert_eq!(got.header("accept-ranges").unwrap(), "bytes");
        let part = get_ranged(&app, &path, &app.admin, "bytes=0-1").await;
        part.assert_status(206);
        assert_eq!(part.bytes, [0x1f, 0x8b]);
        assert_eq!(
            part.header("content-range").unwrap(),
            format!("bytes 0-1/{}", one.len())
        );
        get_ranged(&app, &path, &app.admin, &format!("bytes={}-", one.len()))
            .await
            .assert_error(416, "range_not_satisfiable", "Range not satisfiable");
        app.assert_no_temporary_objects().await;
    }
);

both!(
    reads_upload_rows,
    config = |c: &mut vira::config::ServeConfig| c.max_upload_bytes = 1 << 20,
    |app: TestApp| async move {
        let u = upload(&app, &app.admin, "one.fq.gz", "reads", vec![0x1f, 0x8b, 0])
            .await
            .json();
        let reply = app
            .post(
                "/api/samples",
                &app.admin,
                &json!({"name": "S", "files": [u["id"]]}),
            )
            .await;
        let sample_body = reply.json();
        let sample = sample_body["id"].as_str().unwrap().to_owned();
        let job = app
            .acquire(sample_body["job"]["id"].as_str().unwrap())
            .await;
        let other = app.sample(&app.admin, json!({"name": "other"})).await;
        let gz = |n: usize| {
            let mut bytes = vec![0x1f, 0x8b];
            bytes.extend(pattern(n, 5));
            bytes
        };
        // 1: credentials.
        let reply = app
            .send(app.request(
                Method::PUT,
                &format!("/jobs-api/samples/{sample}/reads/reads_1.fq.gz"),
                None,
            ))
            .await;
        reply.assert_error(401, "requires_authorization", "Requires authorization");
        // 2: no such sample; 3: out of scope (even with a bad name).
        put_reads(&app, &job, "nope1234", "reads_1.fq.gz", gz(10))
            .await
            .assert_error(404, "not_found", "Not found");
        put_reads(&app, &job, &other, "bogus", gz(10))
            .await
            .assert_error(403, "insufficient_rights", "Insufficient rights");
        // 4: not an accepted name, or reads_2 of an unpaired sample.
        for name in ["reads_3.fq.gz", "reads_1.fq", "reads_2.fq.gz"] {
            put_reads(&app, &job, &sample, name, gz(10))
                .await
                .assert_error(
                    400,
                    "bad_request",
                    "File name is not an accepted reads file",
                );
        }
        // 7: a declared length too large / no `file` part.
        let body = multipart_body("reads_1.fq.gz", &gz(2 << 20));
        let path = format!("/jobs-api/samples/{sample}/reads/reads_1.fq.gz");
        let reply = app
            .send(
                app.request(Method::PUT, &path, Some(&job))
                    .header(
                        "content-type",
                        "multipart/form-data; boundary=vira-fault-boundary",
                    )
                    .body(body.clone()),
            )
            .await;
        reply.assert_error(413, "payload_too_large", "Payload too large");
        let form = reqwest::multipart::Form::new().text("other", "x");
        let reply = app
            .send(app.request(Method::PUT, &path, Some(&job)).multipart(form))
            .await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        assert_eq!(reply.json()["errors"], json!({"file": ["required field"]}));
        // 8: not gzip — also when shorter than the magic bytes; nothing kept.
        for content in [
            b"plain".to_vec(),
            vec![0x1f],
            vec![],
            vec![0x8b, 0x1f, 0, 0],
        ] {
            put_reads(&app, &job, &sample, "reads_1.fq.gz", content.clone())
                .await
                .assert_error(400, "bad_request", "File is not compressed");
        }
        // 9: too many bytes arrive (no declared length): 413, nothing kept.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(64 << 10).map(|c| Ok(c.to_vec())).collect();
        let reply = app
            .send(
                app.request(Method::PUT, &path, Some(&job))
                    .header(
                        "content-type",
                        "multipart/form-data; boundary=vira-fault-boundary",
                    )
                    .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                        chunks,
                    ))),
            )
            .await;
        reply.assert_error(413, "payload_too_large", "Payload too large");
        // A client that goes away mid-body: nothing kept.
        let cut = multipart_body("reads_1.fq.gz", &gz(900 << 10));
        let stream = partial_put(&app, &path, &job, &cut, 300 << 10).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        drop(stream);
        app.assert_no_temporary_objects().await;
        assert_eq!(app.count("sample_reads").await, 0);
        assert!(stored_keys(&app, &format!("samples/{sample}/"))
            .await
            .is_empty());
        // 10: stored; 6: the same name again.
        put_reads(&app, &job, &sample, "reads_1.fq.gz", gz(1000))
            .await
            .assert_status(201);
        put_reads(&app, &job, &sample, "reads_1.fq.gz", gz(10))
            .await
            .assert_error(
                409,
                "conflict",
                "Reads file name is already uploaded for this sample",
            );
        // 5: finalized (before the duplicate check).
        app.patch(
            &format!("/jobs-api/samples/{sample}"),
            &job,
            &json!({"quality": quality()}),
        )
        .await
        .assert_status(200);
        put_reads(&app, &job, &sample, "reads_1.fq.gz", gz(10))
            .await
            .assert_error(409, "conflict", "Sample already finalized");
    }
);

/// A PUT with the first `sent` bytes of `body`, the connection kept open.
async fn partial_put(
    app: &TestApp,
    path: &str,
    creds: &Creds,
    body: &[u8],
    sent: usize,
) -> tokio::net::TcpStream {
    use base64::Engine;
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", creds.login, creds.key));
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: multipart/form-data; boundary=vira-fault-boundary\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

// 404 before 403 on every sample route of the jobs API, for a create_sample job and an analysis
// job, and J12's rows.
both!(
    job_scope_on_samples_and_uploads,
    |app: TestApp| async move {
        let (sample, job) = paired_with_job(&app).await;
        let (other, _) = sample_with_files(&app, &app.admin, &["reads/srna_1.fq.gz"]).await;
        let other = other["id"].as_str().unwrap().to_owned();
        let q = json!({"quality": quality()});
        let gz = vec![0x1f, 0x8b, 1, 2];
        // Unknown: 404.
        app.get("/jobs-api/samples/nope1234", &job)
            .await
            .assert_error(404, "not_found", "Not found");
        app.patch("/jobs-api/samples/nope1234", &job, &q)
            .await
            .assert_error(404, "not_found", "Not found");
        app.get("/jobs-api/samples/nope1234/reads/reads_1.fq.gz", &job)
            .await
            .assert_error(404, "not_found", "Not found");
        app.get("/jobs-api/uploads/99", &job)
            .await
            .assert_error(404, "not_found", "Not found");
        app.get("/jobs-api/uploads/x", &job)
            .await
            .assert_error(404, "not_found", "Not found");
        // Another sample, another job's upload: 403.
        let forbidden =
            |reply: Reply| reply.assert_error(403, "insufficient_rights", "Insufficient rights");
        forbidden(app.get(&format!("/jobs-api/samples/{other}"), &job).await);
        forbidden(
            app.patch(&format!("/jobs-api/samples/{other}"), &job, &q)
                .await,
        );
        forbidden(
            app.get(
                &format!("/jobs-api/samples/{other}/reads/reads_1.fq.gz"),
                &job,
            )
            .await,
        );
        forbidden(put_reads(&app, &job, &other, "reads_1.fq.gz", gz.clone()).await);
        forbidden(app.get("/jobs-api/uploads/3", &job).await);
        // J12's body is checked first (row 3 before 404 and 403).
        let reply = app
            .patch(
                &format!("/jobs-api/samples/{other}"),
                &job,
                &json!({"quality": []}),
            )
            .await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        assert_eq!(
            reply.json()["errors"],
            json!({"quality": ["must be of dict type"]})
        );
        // Credentials: 401 on each.
        for (method, path) in [
            (Method::GET, format!("/jobs-api/samples/{sample}")),
            (Method::PATCH, format!("/jobs-api/samples/{sample}")),
            (
                Method::GET,
                format!("/jobs-api/samples/{sample}/reads/reads_1.fq.gz"),
            ),
            (Method::GET, "/jobs-api/uploads/1".to_owned()),
        ] {
            let reply = app.send(app.request(method, &path, None)).await;
            reply.assert_error(401, "requires_authorization", "Requires authorization");
        }
        let wrong = Creds {
            login: job.login.clone(),
            key: "0".repeat(64),
        };
        app.get(&format!("/jobs-api/samples/{sample}"), &wrong)
            .await
            .assert_error(
                401,
                "invalid_authorization_header",
                "Invalid authorization header",
            );
        // An analysis job reads its sample (tags pending), and nothing else.
        let ref_id = app.small_reference().await;
        let analysis = app
            .analysis(&app.admin, &sample, &ref_id, "pathoscope_bowtie")
            .await;
        let analysis_job = app.acquire(analysis["job"]["id"].as_str().unwrap()).await;
        let runner = app
            .get(&format!("/jobs-api/samples/{sample}"), &analysis_job)
            .await;
        runner.assert_status(200);
        let runner = runner.json();
        assert_eq!(runner["workflows"]["pathoscope"], "pending");
        assert_eq!(runner["pathoscope"], "ip");
        assert_eq!(runner["nuvs"], false);
        forbidden(
            app.patch(&format!("/jobs-api/samples/{sample}"), &analysis_job, &q)
                .await,
        );
        forbidden(put_reads(&app, &analysis_job, &sample, "reads_1.fq.gz", gz.clone()).await);
        forbidden(app.get("/jobs-api/uploads/1", &analysis_job).await);
        forbidden(
            app.get(&format!("/jobs-api/samples/{other}"), &analysis_job)
                .await,
        );
        // An amplicon sample: aodp none, the others incompatible; its group as an object.
        let group = app.group("lab").await;
        let u = upload(&app, &app.admin, "amp.fq.gz", "reads", gz.clone())
            .await
            .json();
        let amp = app
        .post("/api/samples", &app.admin, &json!({"name": "A", "library_type": "amplicon", "group": group, "files": [u["id"]]}))
        .await
        .json();
        let amp_job = app.acquire(amp["job"]["id"].as_str().unwrap()).await;
        let runner = app
            .get(
                &format!("/jobs-api/samples/{}", amp["id"].as_str().unwrap()),
                &amp_job,
            )
            .await
            .json();
        assert_eq!(
            runner["workflows"],
            json!({"aodp": "none", "nuvs": "incompatible", "pathoscope": "incompatible"})
        );
        assert_eq!(
            runner["group"],
            json!({"id": group, "name": "lab", "legacy_id": null})
        );
        assert_eq!(runner["paired"], false);
    }
);

both!(
    list_samples_readable_found_and_paged,
    |app: TestApp| async move {
        let group = app.group("lab").await;
        let (alice, _) = app.user("alice", &[&group]).await;
        let (bob, _) = app.user("bob", &[]).await;
        let mut made = Vec::new();
        for (name, body) in [
            ("Alpha one", json!({"all_read": false, "group_read": false})),
            ("beta", json!({"all_read": true})),
            (
                "ALPHA two",
                json!({"all_read": false, "group": group, "group_read": true}),
            ),
            ("gamma", json!({"all_read": false, "group_read": false})),
        ] {
            let mut body = body;
            body["name"] = json!(name);
            made.push(app.sample(&app.admin, body).await);
        }
        let names = |body: &Value| -> Vec<String> {
            body["documents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let all = app.get("/api/samples", &app.admin).await;
        all.assert_status(200);
        let all = all.json();
        assert_eq!(names(&all), ["gamma", "ALPHA two", "beta", "Alpha one"]);
        let listed_keys: Vec<&str> = SAMPLE_KEYS
            .iter()
            .copied()
            .filter(|k| *k != "reads" && *k != "quality")
            .collect();
        assert_keys(&all["documents"][0], &listed_keys);
        assert_eq!(all["found_count"], 4);
        let alices = app.get("/api/samples", &alice).await.json();
        assert_eq!(names(&alices), ["ALPHA two", "beta"]);
        assert_eq!(
            (alices["found_count"].clone(), alices["total_count"].clone()),
            (json!(2), json!(2))
        );
        let bobs = app.get("/api/samples?find=ALPHA", &bob).await.json();
        assert_eq!(bobs["found_count"], 0);
        let found = app.get("/api/samples?find=alpha", &app.admin).await.json();
        assert_eq!(names(&found), ["ALPHA two", "Alpha one"]);
        let found = app
            .get("/api/samples?find=pha%20t&other=1", &alice)
            .await
            .json();
        assert_eq!(names(&found), ["ALPHA two"]);
        let page = app
            .get("/api/samples?per_page=3&page=2", &app.admin)
            .await
            .json();
        assert_eq!(names(&page), ["Alpha one"]);
        assert_eq!(
            (page["page_count"].clone(), page["per_page"].clone()),
            (json!(2), json!(3))
        );
        let reply = app
            .send(app.request(Method::GET, "/api/samples", None))
            .await;
        reply.assert_error(401, "requires_authorization", "Requires authorization");
        let reply = app.get("/api/samples?per_page=0", &alice).await;
        reply.assert_error(422, "invalid_query", "Invalid query");
        assert_eq!(
            reply.json()["errors"],
            json!({"per_page": ["min value is 1"]})
        );
        let reply = app.get("/api/samples?page=x", &alice).await;
        assert_eq!(
            reply.json()["errors"],
            json!({"page": ["must be of integer type"]})
        );
    }
);

both!(reads_download_rows, |app: TestApp| async move {
    let (sample, job) = paired_with_job(&app).await;
    let (bob, _) = app.user("bob", &[]).await;
    let private = app
        .post(
            "/api/samples",
            &app.admin,
            &json!({"name": "private", "all_read": false}),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = |s: &str, f: &str| format!("/api/samples/{s}/reads/{f}");
    let reply = app
        .send(app.request(Method::GET, &path(&sample, "reads_1.fq.gz"), None))
        .await;
    reply.assert_error(401, "requires_authorization", "Requires authorization");
    app.get(&path("nope1234", "reads_1.fq.gz"), &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&path(&private, "bogus"), &bob).await.assert_error(
        403,
        "insufficient_rights",
        "Insufficient rights",
    );
    // Not ready: 404 even once stored.
    put_reads(
        &app,
        &job,
        &sample,
        "reads_1.fq.gz",
        fixture_bytes("reads/rrsv_1.fq.gz"),
    )
    .await
    .assert_status(201);
    app.get(&path(&sample, "reads_1.fq.gz"), &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&path(&private, "reads_1.fq.gz"), &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    put_reads(
        &app,
        &job,
        &sample,
        "reads_2.fq.gz",
        fixture_bytes("reads/rrsv_2.fq.gz"),
    )
    .await
    .assert_status(201);
    app.patch(
        &format!("/jobs-api/samples/{sample}"),
        &job,
        &json!({"quality": quality()}),
    )
    .await
    .assert_status(200);
    // Ready: any other name is 404; both files are there for a reader.
    for name in ["reads_3.fq.gz", "reads_1.fq", "x"] {
        app.get(&path(&sample, name), &bob)
            .await
            .assert_error(404, "not_found", "Not found");
    }
    app.get(&path(&sample, "reads_2.fq.gz"), &bob)
        .await
        .assert_status(200);
    // A single-file sample has no reads_2 (checked on the runner's side too).
    let (single, single_job) = sample_with_files(&app, &app.admin, &["reads/srna_1.fq.gz"]).await;
    let single = single["id"].as_str().unwrap().to_owned();
    let single_job = app.acquire(&single_job).await;
    put_reads(
        &app,
        &single_job,
        &single,
        "reads_1.fq.gz",
        fixture_bytes("reads/srna_1.fq.gz"),
    )
    .await
    .assert_status(201);
    app.patch(
        &format!("/jobs-api/samples/{single}"),
        &single_job,
        &json!({"quality": quality()}),
    )
    .await
    .assert_status(200);
    app.get(&path(&single, "reads_2.fq.gz"), &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&path(&single, "reads_1.fq.gz"), &bob)
        .await
        .assert_status(200);
});
