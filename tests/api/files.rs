//! U6, U7 and J6: uploads (check tables, sanitizing, races, limits) and downloads (rights,
//! Content-Type, Content-Disposition, ranges, a 100 MB byte-exact round trip). Contract §5, §6, §13.

use reqwest::Method;
use serde_json::{json, Value};

use crate::every_store;
use crate::support::{Creds, Setup, TestApp};

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A deterministic xorshift64 byte stream.
fn xorshift_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

async fn ready_reference(app: &TestApp) -> String {
    app.small_reference().await
}

every_store!(user_upload_check_table, |app: TestApp| async move {
    let ref_id = ready_reference(&app).await;
    let run = app.started(&ref_id, "pathoscope_bowtie").await;
    let (bob, _) = app.user("bob", &[]).await;
    let base = format!("/api/analyses/{}/files", run.id);
    let up = |path: String, creds: Creds| {
        let app = &app;
        async move {
            app.upload(Method::POST, &path, &creds, b"ACGT".to_vec())
                .await
        }
    };
    // 1: credentials.
    app.send(app.request(Method::POST, &format!("{base}?name=a"), None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    // 2–3: the name.
    let reply = up(base.clone(), app.admin.clone()).await;
    reply.assert_error(422, "invalid_query", "Invalid query");
    assert_eq!(reply.json()["errors"], json!({"name": ["required field"]}));
    let reply = up(format!("{base}?name={}", enc("dir/")), app.admin.clone()).await;
    reply.assert_error(422, "invalid_query", "Invalid query");
    assert_eq!(
        reply.json()["errors"],
        json!({"name": ["empty values not allowed"]})
    );
    let reply = up(
        format!("{base}?name={}", "a".repeat(256)),
        app.admin.clone(),
    )
    .await;
    assert_eq!(
        reply.json()["errors"],
        json!({"name": ["max length is 255"]})
    );
    // 4: the format (checked before the analysis exists).
    up(
        "/api/analyses/nope1234/files?name=a&format=unknown".into(),
        app.admin.clone(),
    )
    .await
    .assert_error(400, "bad_request", "Unsupported analysis file format");
    // 5: no such analysis.
    up(
        "/api/analyses/nope1234/files?name=a".into(),
        app.admin.clone(),
    )
    .await
    .assert_error(404, "not_found", "Not found");
    // 7: no write right (bob can read the sample, not write it).
    up(format!("{base}?name=a"), bob.clone())
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    // 10: not multipart, and multipart without a `file` part.
    let reply = app
        .send(
            app.request(Method::POST, &format!("{base}?name=a"), Some(&app.admin))
                .body("plain"),
        )
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(reply.json()["errors"], json!({"file": ["required field"]}));
    let form = reqwest::multipart::Form::new().text("other", "x");
    let reply = app
        .send(
            app.request(Method::POST, &format!("{base}?name=a"), Some(&app.admin))
                .multipart(form),
        )
        .await;
    assert_eq!(reply.json()["errors"], json!({"file": ["required field"]}));
    // 12: created, with sanitizing (§13) and `format: null` for an empty format.
    let before = app
        .get(&format!("/api/analyses/{}", run.id), &app.admin)
        .await
        .json();
    let reply = up(
        format!("{base}?name={}&format=", enc("../../my file (1).fa")),
        app.admin.clone(),
    )
    .await;
    reply.assert_status(201);
    let file = reply.json();
    let id = file["id"].as_i64().unwrap();
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/api/analyses/{}/files/{id}", run.id)
    );
    let keys: Vec<&String> = file.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "analysis",
            "description",
            "format",
            "name",
            "name_on_disk",
            "size",
            "uploaded_at"
        ]
    );
    assert_eq!(file["analysis"], run.id);
    assert_eq!(file["description"], Value::Null);
    assert_eq!(file["format"], Value::Null);
    assert_eq!(file["name"], "my file (1).fa");
    assert_eq!(file["name_on_disk"], format!("{id}-my_file__1_.fa"));
    assert_eq!(file["size"], 4);
    let stored = app
        .read_stored(&run.id, &format!("{id}-my_file__1_.fa"))
        .await;
    assert_eq!(stored.as_deref(), Some(&b"ACGT"[..]));
    let after = app
        .get(&format!("/api/analyses/{}", run.id), &app.admin)
        .await
        .json();
    assert!(after["updated_at"].as_str() > before["updated_at"].as_str());
    assert_eq!(after["updated_at"], file["uploaded_at"]);
    assert_eq!(after["files"], json!([file]));
    // 8: the same sanitized name again.
    up(
        format!("{base}?name={}", enc("x\\my file (1).fa")),
        app.admin.clone(),
    )
    .await
    .assert_error(409, "conflict", "File is already associated with analysis");
    // A name starting with `.` and a non-ASCII name.
    let reply = up(
        format!("{base}?name=.hidden&format=json"),
        app.admin.clone(),
    )
    .await;
    assert_eq!(reply.json()["name_on_disk"], format!("{}-_hidden", id + 1));
    // 6: parent sample missing (last: it breaks the analysis).
    app.drop_sample(&run.sample).await;
    up(format!("{base}?name=b"), app.admin.clone())
        .await
        .assert_error(400, "bad_request", "Parent sample does not exist");
});

every_store!(job_upload_check_table, |app: TestApp| async move {
    let ref_id = ready_reference(&app).await;
    let run = app.started(&ref_id, "nuvs").await;
    let other = app.started(&ref_id, "nuvs").await;
    let base = format!("/jobs-api/analyses/{}/files", run.id);
    for method in [Method::POST, Method::PUT] {
        let up = |path: String, creds: Creds| {
            let (app, method) = (&app, method.clone());
            async move { app.upload(method, &path, &creds, b"x".to_vec()).await }
        };
        app.send(app.request(method.clone(), &format!("{base}?name=a"), None))
            .await
            .assert_error(401, "requires_authorization", "Requires authorization");
        let reply = up(base.clone(), run.job.clone()).await;
        assert_eq!(reply.json()["errors"], json!({"name": ["required field"]}));
        reply.assert_error(422, "invalid_query", "Invalid query");
        // The Virtool runner's `format=unknown` is refused, as Virtool did.
        up(format!("{base}?name=a&format=unknown"), run.job.clone())
            .await
            .assert_error(400, "bad_request", "Unsupported analysis file format");
        up(
            "/jobs-api/analyses/nope1234/files?name=a".into(),
            run.job.clone(),
        )
        .await
        .assert_error(404, "not_found", "Not found");
        up(format!("{base}?name=a"), other.job.clone())
            .await
            .assert_error(403, "insufficient_rights", "Insufficient rights");
        let reply = app
            .send(
                app.request(method.clone(), &format!("{base}?name=a"), Some(&run.job))
                    .body("not multipart"),
            )
            .await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        let name = format!("{method}.sam");
        let reply = up(format!("{base}?name={name}&format=sam"), run.job.clone()).await;
        reply.assert_status(201);
        let file = reply.json();
        assert_eq!(file["format"], "sam");
        assert_eq!(
            reply.header("location").unwrap(),
            format!("/api/analyses/{}/files/{}", run.id, file["id"])
        );
        up(format!("{base}?name={name}"), run.job.clone())
            .await
            .assert_error(409, "conflict", "File is already associated with analysis");
    }
    // Uploads are accepted after finalize too (§5 U6).
    let results = json!({"hits": [], "read_count": 0});
    app.finalize(&run.job, &run.id, &results)
        .await
        .assert_status(200);
    let reply = app
        .upload(
            Method::POST,
            &format!("{base}?name=late.txt"),
            &run.job,
            vec![1],
        )
        .await;
    reply.assert_status(201);
});

every_store!(
    concurrent_uploads_of_one_name_have_one_winner,
    |app: TestApp| async move {
        let ref_id = ready_reference(&app).await;
        let run = app.started(&ref_id, "nuvs").await;
        let path = format!("/jobs-api/analyses/{}/files?name=same.fa", run.id);
        let big = xorshift_bytes(4 << 20);
        let (a, b) = tokio::join!(
            app.upload(Method::POST, &path, &run.job, big.clone()),
            app.upload(Method::POST, &path, &run.job, big.clone())
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409]);
        let loser = if a.status == 409 { &a } else { &b };
        loser.assert_error(409, "conflict", "File is already associated with analysis");
        assert_eq!(app.rows("analysis_files", "analysis_id", &run.id).await, 1);
        assert_eq!(app.stored_names(&run.id).await.len(), 1);
        app.assert_no_temporary_objects().await;
    }
);

// U6 rows 9 and 11: the declared and the actual size limit; nothing is kept either way.
every_store!(
    upload_size_limits,
    config = |c: &mut vira::config::ServeConfig| c.max_upload_bytes = 1000,
    |app: TestApp| async move {
        let ref_id = tiny_reference(&app).await;
        let run = app.started(&ref_id, "nuvs").await;
        let path = format!("/api/analyses/{}/files?name=big.bin", run.id);
        // Declared: Content-Length above the limit.
        app.upload(Method::POST, &path, &app.admin, vec![7; 4000])
            .await
            .assert_error(413, "payload_too_large", "Payload too large");
        // Streamed without a length: cut off once past the limit.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            (0..8).map(|_| Ok(vec![1u8; 500])).collect();
        let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(
            futures_util::stream::iter(chunks),
        ))
        .file_name("big.bin");
        let form = reqwest::multipart::Form::new().part("file", part);
        app.send(
            app.request(Method::POST, &path, Some(&app.admin))
                .multipart(form),
        )
        .await
        .assert_error(413, "payload_too_large", "Payload too large");
        assert_eq!(app.rows("analysis_files", "analysis_id", &run.id).await, 0);
        assert_eq!(app.stored_names(&run.id).await.len(), 0);
        app.assert_no_temporary_objects().await;
        // Under the limit it works.
        app.upload(Method::POST, &path, &app.admin, vec![7; 100])
            .await
            .assert_status(201);
        // Row 8 before row 9: a duplicate name is a 409 even when the body is too large.
        app.upload(Method::POST, &path, &app.admin, vec![7; 4000])
            .await
            .assert_error(409, "conflict", "File is already associated with analysis");
    }
);

/// A one-sequence reference with an index, small enough for a 1,000-byte upload limit.
async fn tiny_reference(app: &TestApp) -> String {
    let file = json!({"data_type": "genome", "organism": "virus", "otus": [{"_id": "o1", "name": "X",
        "isolates": [{"id": "i1", "sequences": [{"_id": "s1", "accession": "A1", "sequence": "ACGT"}]}]}]});
    app.reference_from(file.to_string().into_bytes()).await.0
}

every_store!(
    download_of_100_mb_is_byte_identical_with_ranges,
    |app: TestApp| async move {
        let ref_id = ready_reference(&app).await;
        let run = app.started(&ref_id, "nuvs").await;
        let data = xorshift_bytes(100 * 1024 * 1024);
        let path = format!(
            "/jobs-api/analyses/{}/files?name=reads.bam&format=bam",
            run.id
        );
        let reply = app
            .upload(Method::POST, &path, &run.job, data.clone())
            .await;
        reply.assert_status(201);
        let file = reply.json();
        assert_eq!(file["size"], data.len());
        let url = format!("/api/analyses/{}/files/{}", run.id, file["id"]);
        let whole = app.get(&url, &app.admin).await;
        whole.assert_status(200);
        assert_eq!(
            whole.header("content-length").unwrap(),
            data.len().to_string()
        );
        assert_eq!(
            whole.header("content-type").as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(whole.header("accept-ranges").as_deref(), Some("bytes"));
        assert!(whole.bytes == data, "downloaded bytes differ");
        drop(whole);
        let mid = 50 * 1024 * 1024 + 12345;
        let range = |spec: String| {
            let app = &app;
            let url = url.clone();
            async move {
                app.send(
                    app.request(Method::GET, &url, Some(&app.admin))
                        .header("range", spec),
                )
                .await
            }
        };
        let part = range(format!("bytes={mid}-{}", mid + 99_999)).await;
        part.assert_status(206);
        assert_eq!(
            part.header("content-range").unwrap(),
            format!("bytes {mid}-{}/{}", mid + 99_999, data.len())
        );
        assert_eq!(part.header("content-length").unwrap(), "100000");
        assert!(part.bytes == data[mid..mid + 100_000]);
        let tail = range("bytes=-10".into()).await;
        tail.assert_status(206);
        assert_eq!(tail.bytes, data[data.len() - 10..]);
        let from = range(format!("bytes={}-", data.len() - 5)).await;
        assert_eq!(from.bytes, data[data.len() - 5..]);
        let reply = range(format!("bytes={}-", data.len())).await;
        reply.assert_error(416, "range_not_satisfiable", "Range not satisfiable");
        assert_eq!(
            reply.header("content-range").unwrap(),
            format!("bytes */{}", data.len())
        );
        range("bytes=-0".into()).await.assert_error(
            416,
            "range_not_satisfiable",
            "Range not satisfiable",
        );
        // Several ranges: the whole file.
        let several = range("bytes=0-1,5-6".into()).await;
        several.assert_status(200);
        assert_eq!(several.bytes.len(), data.len());
    }
);

/// `--storage local:<path>`: analysis files go to that directory, not under the data path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_in_another_directory() {
    let elsewhere = tempfile::TempDir::new().unwrap();
    let root = elsewhere.path().to_path_buf();
    let Some(app) = TestApp::spawn_with(crate::support::Backend::Sqlite, |c| {
        c.file_storage = vira::config::StorageTarget::Local(root.clone())
    })
    .await
    else {
        return;
    };
    let ref_id = ready_reference(&app).await;
    let run = app.started(&ref_id, "nuvs").await;
    let path = format!("/jobs-api/analyses/{}/files?name=a.fa", run.id);
    let reply = app
        .upload(Method::POST, &path, &run.job, b"ACGT".to_vec())
        .await;
    reply.assert_status(201);
    let file = reply.json();
    let on_disk = file["name_on_disk"].as_str().unwrap();
    let stored = root.join("analyses").join(&run.id).join(on_disk);
    assert_eq!(std::fs::read(stored).unwrap(), b"ACGT");
    assert!(!app.analysis_dir(&run.id).exists());
    let download = app
        .get(
            &format!("/api/analyses/{}/files/{}", run.id, file["id"]),
            &app.admin,
        )
        .await;
    assert_eq!(download.bytes, b"ACGT");
}
