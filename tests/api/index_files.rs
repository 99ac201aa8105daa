//! Indexes with their `build_index` job (workflows §5: U19, U30, the upgrade migration) and the
//! routes of the job (J17–J21); J3's `"format": "unknown"` (§8.5).

use std::io::Read;

use reqwest::Method;
use serde_json::{json, Value};

use crate::faults::{multipart_body, partial_request, pattern};
use crate::subtraction_files::{
    genome_subtraction, keys_in_order, put_file, stored_object, stored_under,
};
use crate::support::{Creds, Reply, Setup, TestApp};
use crate::{both, every_store};

const INDEX_KEYS: &[&str] = &[
    "id",
    "version",
    "ready",
    "reference",
    "created_at",
    "user",
    "otu_count",
    "sequence_count",
    "has_files",
    "job",
];

const RUNNER_KEYS: &[&str] = &[
    "id",
    "version",
    "created_at",
    "ready",
    "has_files",
    "reference",
    "user",
    "job",
    "change_count",
    "modified_otu_count",
    "contributors",
    "manifest",
    "otus",
    "files",
];

const UPLOADS: [&str; 8] = [
    "reference.json.gz",
    "reference.fa.gz",
    "reference.1.bt2",
    "reference.2.bt2",
    "reference.3.bt2",
    "reference.4.bt2",
    "reference.rev.1.bt2",
    "reference.rev.2.bt2",
];

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A small reference's index (U19) with its job acquired: `(ref id, index body, job)`.
async fn built_index(app: &TestApp) -> (String, Value, Creds) {
    let ref_id = app.small_reference().await;
    let reply = app
        .post(
            &format!("/api/refs/{ref_id}/indexes"),
            &app.admin,
            &Value::Null,
        )
        .await;
    reply.assert_status(201);
    let index = reply.json();
    let job = app.acquire(index["job"]["id"].as_str().unwrap()).await;
    (ref_id, index, job)
}

both!(u19_creates_the_build_index_job, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let reply = app
        .post(
            &format!("/api/refs/{ref_id}/indexes"),
            &app.admin,
            &json!({}),
        )
        .await;
    reply.assert_status(201);
    let index = reply.json();
    assert_eq!(keys_in_order(&index), INDEX_KEYS);
    assert_eq!(
        (&index["ready"], &index["has_files"]),
        (&json!(true), &json!(false))
    );
    let job = &index["job"];
    assert_eq!(
        keys_in_order(job),
        [
            "id",
            "archived",
            "created_at",
            "progress",
            "stage",
            "state",
            "user",
            "workflow"
        ]
    );
    assert_eq!(
        (&job["state"], &job["workflow"], &job["progress"]),
        (&json!("waiting"), &json!("build_index"), &json!(0))
    );
    let id = index["id"].as_str().unwrap();
    let acquired = app
        .json(
            Method::PATCH,
            &format!("/jobs-api/jobs/{}", job["id"].as_str().unwrap()),
            None,
            &json!({"acquired": true}),
        )
        .await;
    acquired.assert_status(200);
    let body = acquired.json();
    let args = &body["args"];
    assert_eq!(
        keys_in_order(args),
        ["ref_id", "user_id", "index_id", "index_version", "manifest"]
    );
    let admin = crate::subtraction_files::admin_id(&app).await;
    assert_eq!(
        (
            &args["ref_id"],
            &args["user_id"],
            &args["index_id"],
            &args["index_version"]
        ),
        (&json!(ref_id), &json!(admin), &json!(id), &index["version"])
    );
    // The manifest in snapshot order: the order of the runner index's `otus`.
    let creds = Creds {
        login: format!("job-{}", body["id"].as_str().unwrap()),
        key: body["key"].as_str().unwrap().to_owned(),
    };
    let runner = app
        .get(&format!("/jobs-api/indexes/{id}"), &creds)
        .await
        .json();
    let order: Vec<String> = (runner["otus"].as_array().unwrap().iter())
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order.len(), 20);
    assert_eq!(keys_in_order(&args["manifest"]), order);
    assert_eq!(runner["manifest"], args["manifest"]);

    // U30: the index with `files`, empty until built.
    let (user, _) = app.user("reader", &[]).await;
    let got = app.get(&format!("/api/indexes/{id}"), &user).await;
    got.assert_status(200);
    let got = got.json();
    let mut keys = INDEX_KEYS.to_vec();
    keys.push("files");
    assert_eq!(keys_in_order(&got), keys);
    assert_eq!(got["files"], json!([]));
    assert_eq!(got["job"]["state"], "preparing");
    app.get("/api/indexes/nothing1", &user)
        .await
        .assert_error(404, "not_found", "Not found");
    let anonymous = app.send(app.request(Method::GET, &format!("/api/indexes/{id}"), None));
    assert_eq!(anonymous.await.status, 401);
});

every_store!(files_and_finalize, |app: TestApp| async move {
    let (_, index, job) = built_index(&app).await;
    let id = index["id"].as_str().unwrap().to_owned();
    let base = format!("/jobs-api/indexes/{id}");
    let runner = app.get(&base, &job).await;
    runner.assert_status(200);
    let runner = runner.json();
    assert_eq!(keys_in_order(&runner), RUNNER_KEYS);
    assert_eq!(runner["files"], json!([]));
    assert_eq!(
        keys_in_order(&runner["otus"][0]),
        ["id", "name", "change_count"]
    );
    assert!(runner["job"].get("archived").is_none());

    // otus.json.gz: generated, deterministic, in snapshot order with the runner's keys.
    let otus = app.get(&format!("{base}/files/otus.json.gz"), &job).await;
    otus.assert_status(200);
    assert_eq!(
        otus.header("content-type").unwrap(),
        "application/octet-stream"
    );
    assert_eq!(
        otus.header("content-disposition").unwrap(),
        "attachment; filename=otus.json.gz"
    );
    let list: Value = serde_json::from_slice(&gunzip(&otus.bytes)).unwrap();
    let list = list.as_array().unwrap();
    let order: Vec<&str> = list.iter().map(|o| o["_id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = (runner["otus"].as_array().unwrap().iter())
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, expected);
    assert_eq!(
        keys_in_order(&list[0]),
        [
            "_id",
            "name",
            "abbreviation",
            "version",
            "schema",
            "isolates"
        ]
    );
    let isolate = &list[0]["isolates"][0];
    assert_eq!(
        keys_in_order(isolate),
        ["id", "default", "source_type", "source_name", "sequences"]
    );
    assert_eq!(
        keys_in_order(&isolate["sequences"][0]),
        [
            "_id",
            "accession",
            "definition",
            "host",
            "segment",
            "sequence"
        ]
    );
    let again = app.get(&format!("{base}/files/otus.json.gz"), &job).await;
    assert!(again.bytes == otus.bytes, "otus.json.gz is deterministic");
    let ranged = app
        .send(
            app.request(
                Method::GET,
                &format!("{base}/files/otus.json.gz"),
                Some(&job),
            )
            .header("range", "bytes=-16"),
        )
        .await;
    ranged.assert_status(206);
    assert_eq!(ranged.bytes, otus.bytes[otus.bytes.len() - 16..]);

    // Not stored yet / not a name / J19 refuses otus.json.gz.
    app.get(&format!("{base}/files/reference.fa.gz"), &job)
        .await
        .assert_error(404, "not_found", "File not found");
    app.get(&format!("{base}/files/reference.fa"), &job)
        .await
        .assert_error(404, "not_found", "Not found");
    for name in ["otus.json.gz", "subtraction.1.bt2"] {
        put_file(&app, &format!("{base}/files/{name}"), &job, b"x".to_vec())
            .await
            .assert_error(404, "not_found", "Index file not found");
    }

    // J20's refusals in order, while uploading.
    let empty = json!({});
    let finalize = || app.patch(&base, &job, &empty);
    put_file(
        &app,
        &format!("{base}/files/reference.json.gz"),
        &job,
        b"{}".to_vec(),
    )
    .await
    .assert_status(201);
    finalize().await.assert_error(
        409,
        "conflict",
        "A FASTA file must be uploaded in order to finalize index",
    );
    let mut ids = Vec::new();
    for (n, name) in UPLOADS.iter().enumerate().skip(1) {
        let bytes = pattern(500 + n, n as u64);
        let reply = put_file(
            &app,
            &format!("{base}/files/{name}?name=x&format=fasta"),
            &job,
            bytes.clone(),
        )
        .await;
        reply.assert_status(201);
        assert_eq!(
            reply.header("location").unwrap(),
            format!("{base}/files/{name}")
        );
        let file = reply.json();
        assert_eq!(
            keys_in_order(&file),
            ["id", "index", "name", "size", "type", "download_url"]
        );
        let kind = if n == 1 { "fasta" } else { "bowtie2" };
        assert_eq!(
            (&file["index"], &file["name"], &file["size"], &file["type"]),
            (&json!(id), &json!(name), &json!(500 + n), &json!(kind))
        );
        assert_eq!(file["download_url"], format!("/indexes/{id}/files/{name}"));
        ids.push(file["id"].as_i64().unwrap());
        assert_eq!(
            stored_object(&app, &format!("indexes/{id}/{name}")).await,
            Some(bytes)
        );
        if n == 1 {
            finalize().await.assert_error(
                409,
                "conflict",
                "Reference requires that all Bowtie2 index files have been uploaded. Missing files: \
                 reference.1.bt2, reference.2.bt2, reference.3.bt2, reference.4.bt2, \
                 reference.rev.1.bt2, reference.rev.2.bt2",
            );
        }
        if n == 6 {
            finalize().await.assert_error(
                409,
                "conflict",
                "Reference requires that all Bowtie2 index files have been uploaded. Missing files: \
                 reference.rev.2.bt2",
            );
        }
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    put_file(
        &app,
        &format!("{base}/files/reference.fa.gz"),
        &job,
        b"x".to_vec(),
    )
    .await
    .assert_error(409, "conflict", "File name already exists");
    let fasta = app
        .send(
            app.request(
                Method::GET,
                &format!("{base}/files/reference.fa.gz"),
                Some(&job),
            )
            .header("range", "bytes=1-4"),
        )
        .await;
    fasta.assert_status(206);
    assert_eq!(fasta.bytes, pattern(501, 1)[1..5]);
    assert_eq!(fasta.header("content-range").unwrap(), "bytes 1-4/501");
    let beyond = app
        .send(
            app.request(
                Method::GET,
                &format!("{base}/files/reference.fa.gz"),
                Some(&job),
            )
            .header("range", "bytes=501-"),
        )
        .await;
    beyond.assert_status(416);

    let done = finalize().await;
    done.assert_status(200);
    let done = done.json();
    assert_eq!(keys_in_order(&done), RUNNER_KEYS);
    assert_eq!(done["has_files"], true);
    let names: Vec<&str> = (done["files"].as_array().unwrap().iter())
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, UPLOADS);
    finalize()
        .await
        .assert_error(409, "conflict", "Index files are already built");
    put_file(
        &app,
        &format!("{base}/files/reference.1.bt2"),
        &job,
        b"x".to_vec(),
    )
    .await
    .assert_error(409, "conflict", "Index files are already built");
    app.delete(&base, &job)
        .await
        .assert_error(409, "conflict", "Index files are already built");
    let user_view = app
        .get(&format!("/api/indexes/{id}"), &app.admin)
        .await
        .json();
    assert_eq!(user_view["has_files"], true);
    let files = user_view["files"].as_array().unwrap();
    assert_eq!(files.len(), 8);
    assert_eq!(keys_in_order(&files[0]), ["id", "name", "size", "type"]);
    let job_id = job.login.trim_start_matches("job-").to_owned();
    assert_eq!(app.rows("index_files", "uploaded_by_job", &job_id).await, 8);
    app.assert_no_temporary_objects().await;
});

// The limit lets the small reference's import through.
both!(
    upload_error_rows,
    config = |c| c.max_upload_bytes = 1 << 20,
    |app: TestApp| async move {
        let (_, index, job) = built_index(&app).await;
        let id = index["id"].as_str().unwrap();
        let path = format!("/jobs-api/indexes/{id}/files/reference.1.bt2");
        put_file(
            &app,
            "/jobs-api/indexes/nothing1/files/reference.1.bt2",
            &job,
            b"x".to_vec(),
        )
        .await
        .assert_error(404, "not_found", "Not found");
        put_file(&app, &path, &job, vec![1; 2 << 20])
            .await
            .assert_status(413);
        let no_part = app
            .send(
                app.request(Method::PUT, &path, Some(&job))
                    .header("content-type", "text/plain")
                    .body("plain"),
            )
            .await;
        no_part.assert_status(422);
        assert_eq!(
            no_part.json()["errors"],
            json!({"file": ["required field"]})
        );
        assert_eq!(app.rows("index_files", "index_id", id).await, 0);
        assert!(stored_under(&app, &format!("indexes/{id}"))
            .await
            .is_empty());
        for (method, path) in [
            (Method::GET, format!("/jobs-api/indexes/{id}")),
            (Method::PATCH, format!("/jobs-api/indexes/{id}")),
            (Method::DELETE, format!("/jobs-api/indexes/{id}")),
            (
                Method::GET,
                format!("/jobs-api/indexes/{id}/files/otus.json.gz"),
            ),
            (Method::PUT, path.clone()),
        ] {
            let reply = app.send(app.request(method, &path, None)).await;
            assert_eq!(reply.status, 401, "{path}");
        }
        for (method, path) in [
            (Method::GET, "/jobs-api/indexes/nothing1"),
            (Method::PATCH, "/jobs-api/indexes/nothing1"),
            (Method::DELETE, "/jobs-api/indexes/nothing1"),
            (Method::GET, "/jobs-api/indexes/nothing1/files/otus.json.gz"),
        ] {
            app.send(app.request(method, path, Some(&job)))
                .await
                .assert_error(404, "not_found", "Not found");
        }
    }
);

both!(failure_hook_keeps_the_index, |app: TestApp| async move {
    let (_, index, job) = built_index(&app).await;
    let id = index["id"].as_str().unwrap();
    let base = format!("/jobs-api/indexes/{id}");
    for name in &UPLOADS[..3] {
        put_file(
            &app,
            &format!("{base}/files/{name}"),
            &job,
            b"partial".to_vec(),
        )
        .await
        .assert_status(201);
    }
    app.delete(&base, &job).await.assert_status(204);
    assert_eq!(app.rows("index_files", "index_id", id).await, 0);
    let left = stored_under(&app, &format!("indexes/{id}")).await;
    assert!(left.iter().all(|k| k.ends_with("otus.json.gz")), "{left:?}");
    let kept = app.get(&format!("/api/indexes/{id}"), &app.admin).await;
    kept.assert_status(200);
    assert_eq!(kept.json()["has_files"], false);
    // The job can start over.
    put_file(
        &app,
        &format!("{base}/files/{}", UPLOADS[0]),
        &job,
        b"again".to_vec(),
    )
    .await
    .assert_status(201);
});

both!(job_scope_of_index_routes, |app: TestApp| async move {
    let (ref_id, index, job) = built_index(&app).await;
    let id = index["id"].as_str().unwrap().to_owned();
    let other = app.index(&ref_id).await;
    let refused =
        |reply: Reply| reply.assert_error(403, "insufficient_rights", "Insufficient rights");
    // Another index of the same reference: 403 on every route.
    let base = format!("/jobs-api/indexes/{other}");
    refused(app.get(&base, &job).await);
    refused(app.get(&format!("{base}/files/otus.json.gz"), &job).await);
    refused(
        put_file(
            &app,
            &format!("{base}/files/reference.fa.gz"),
            &job,
            b"x".to_vec(),
        )
        .await,
    );
    refused(app.patch(&base, &job, &json!({})).await);
    refused(app.delete(&base, &job).await);
    // An analysis job reads the index of its args and writes nothing.
    let started = app.started(&ref_id, "pathoscope_bowtie").await;
    let analysis_index = app
        .get(&format!("/jobs-api/analyses/{}", started.id), &started.job)
        .await
        .json()["index"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = format!("/jobs-api/indexes/{analysis_index}");
    app.get(&mine, &started.job).await.assert_status(200);
    app.get(&format!("{mine}/files/otus.json.gz"), &started.job)
        .await
        .assert_status(200);
    refused(
        put_file(
            &app,
            &format!("{mine}/files/reference.fa.gz"),
            &started.job,
            b"x".to_vec(),
        )
        .await,
    );
    refused(app.patch(&mine, &started.job, &json!({})).await);
    refused(app.delete(&mine, &started.job).await);
    let unrelated = if analysis_index == id {
        other.clone()
    } else {
        id.clone()
    };
    refused(
        app.get(&format!("/jobs-api/indexes/{unrelated}"), &started.job)
            .await,
    );
    // The build_index job reaches no subtraction and no HMM file.
    let (subtraction, _, _, _) = genome_subtraction(&app, "Host").await;
    let sub = format!(
        "/jobs-api/subtractions/{}",
        subtraction["id"].as_str().unwrap()
    );
    refused(app.get(&sub, &job).await);
    refused(
        app.get(&format!("{sub}/files/subtraction.fa.gz"), &job)
            .await,
    );
    refused(
        put_file(
            &app,
            &format!("{sub}/files/subtraction.fa.gz"),
            &job,
            b"x".to_vec(),
        )
        .await,
    );
    refused(
        app.patch(
            &sub,
            &job,
            &json!({"gc": {"a": 0, "c": 0, "g": 0, "t": 0}, "count": 0}),
        )
        .await,
    );
    refused(app.delete(&sub, &job).await);
    refused(
        app.get("/jobs-api/hmms/files/annotations.json.gz", &job)
            .await,
    );
    refused(app.get("/jobs-api/hmms/files/profiles.hmm", &job).await);
});

every_store!(
    cut_off_upload_leaves_nothing,
    config = |c| c.s3.s3_part_bytes = 5 << 20,
    |app: TestApp| async move {
        let (_, index, job) = built_index(&app).await;
        let id = index["id"].as_str().unwrap();
        let path = format!("/jobs-api/indexes/{id}/files/reference.1.bt2");
        let body = multipart_body("reference.1.bt2", &pattern(16 << 20, 4));
        let stream = partial_request(&app.base, "PUT", &path, &job, &body, 11 << 20).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        drop(stream);
        app.assert_no_temporary_objects().await;
        assert!(stored_under(&app, &format!("indexes/{id}"))
            .await
            .is_empty());
        assert_eq!(app.rows("index_files", "index_id", id).await, 0);
        put_file(&app, &path, &job, b"again".to_vec())
            .await
            .assert_status(201);
    }
);

// J3 (workflows §8.5): a file uploaded without a format is `"format": "unknown"` on the jobs API
// only; U2 keeps null.
both!(job_api_names_an_unknown_format, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let started = app.started(&ref_id, "nuvs").await;
    let path = format!("/jobs-api/analyses/{}/files?name=plain.txt", started.id);
    app.upload(Method::POST, &path, &started.job, b"x".to_vec())
        .await
        .assert_status(201);
    let path = format!(
        "/jobs-api/analyses/{}/files?name=a.fa&format=fasta",
        started.id
    );
    app.upload(Method::POST, &path, &started.job, b">a".to_vec())
        .await
        .assert_status(201);
    let formats = |body: Value| -> Vec<Value> {
        (body["files"].as_array().unwrap().iter())
            .map(|f| f["format"].clone())
            .collect()
    };
    let job_view = app
        .get(&format!("/jobs-api/analyses/{}", started.id), &started.job)
        .await;
    job_view.assert_status(200);
    assert_eq!(formats(job_view.json()), [json!("unknown"), json!("fasta")]);
    let user_view = app
        .get(&format!("/api/analyses/{}", started.id), &app.admin)
        .await;
    assert_eq!(formats(user_view.json()), [Value::Null, json!("fasta")]);
});

/// The upgrade (workflows §5.1): on a database of migration 0010, the highest-version index of
/// each reference gets a waiting `build_index` job with §1.1's args; older indexes keep none.
async fn upgrade_creates_build_jobs(backend: crate::support::Backend) {
    use crate::migrations::{database, legacy_database_until, raw_connection};
    let Some((url, dir, _pg)) = database(backend).await else {
        return;
    };
    let dialect = match backend {
        crate::support::Backend::Sqlite => "sqlite",
        crate::support::Backend::Postgres => "postgres",
    };
    legacy_database_until(&url, dialect, 10).await;
    let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    };
    let otu = |id: &str, version: i64| {
        json!({"id": id, "name": format!("OTU {id}"), "abbreviation": "", "version": version,
               "isolates": []})
        .to_string()
    };
    let mut conn = raw_connection(&url).await;
    let statements = [
        "INSERT INTO users (id, handle, administrator, key_digest, created_at) VALUES ('u1', 'veteran', 1, '', 0)".to_owned(),
        format!("INSERT INTO api_keys (id, user_id, name, key_digest, created_at) VALUES ('k1', 'u1', 'k', '{digest}', 0)"),
        "INSERT INTO refs (id, name, data_type, organism, user_id, created_at, otu_count, isolate_count, sequence_count) \
         VALUES ('r1', 'R', 'genome', '', 'u1', 0, 2, 0, 0)".to_owned(),
        format!("INSERT INTO ref_otus (ref_id, otu_id, position, summary, document) VALUES ('r1', 'zz', 0, '{0}', '{0}')", otu("zz", 3)),
        format!("INSERT INTO ref_otus (ref_id, otu_id, position, summary, document) VALUES ('r1', 'aa', 1, '{0}', '{0}')", otu("aa", 1)),
        "INSERT INTO indexes (id, ref_id, version, user_id, created_at, otu_count, sequence_count) VALUES ('i0', 'r1', 0, 'u1', 0, 2, 0)".to_owned(),
        "INSERT INTO indexes (id, ref_id, version, user_id, created_at, otu_count, sequence_count) VALUES ('i1', 'r1', 1, 'u1', 0, 2, 0)".to_owned(),
    ];
    for sql in statements {
        sqlx::query(&sql).execute(&mut conn).await.unwrap();
    }
    for index in ["i0", "i1"] {
        for (position, (id, version)) in [("zz", 3), ("aa", 1)].into_iter().enumerate() {
            sqlx::query("INSERT INTO index_otus (index_id, otu_id, position, summary) VALUES ($1, $2, $3, $4)")
                .bind(index)
                .bind(id)
                .bind(position as i64)
                .bind(otu(id, version))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    drop(conn);
    let instance = crate::support::Instance::start(dir.path(), &url, &["--no-blast-worker"]).await;
    let veteran = Creds {
        login: "veteran".into(),
        key: key.into(),
    };
    let old = instance.get("/api/indexes/i0", &veteran).await;
    old.assert_status(200);
    assert_eq!(
        (&old.json()["job"], &old.json()["has_files"]),
        (&Value::Null, &json!(false))
    );
    let new = instance.get("/api/indexes/i1", &veteran).await.json();
    assert_eq!(new["has_files"], false);
    let job = &new["job"];
    assert_eq!(
        (&job["state"], &job["workflow"], &job["user"]["id"]),
        (&json!("waiting"), &json!("build_index"), &json!("u1"))
    );
    let job_id = job["id"].as_str().unwrap();
    assert_eq!(job_id.len(), 8);
    let acquired = instance
        .json(
            Method::PATCH,
            &format!("/jobs-api/jobs/{job_id}"),
            None,
            &json!({"acquired": true}),
        )
        .await;
    acquired.assert_status(200);
    let body = acquired.json();
    assert_eq!(
        body["args"].to_string(),
        json!({"ref_id": "r1", "user_id": "u1", "index_id": "i1", "index_version": 1,
               "manifest": {"zz": 3, "aa": 1}})
        .to_string()
    );
    assert_eq!(body["status"][0]["state"], "waiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_creates_build_jobs_sqlite() {
    upgrade_creates_build_jobs(crate::support::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_creates_build_jobs_postgres() {
    upgrade_creates_build_jobs(crate::support::Backend::Postgres).await;
}
