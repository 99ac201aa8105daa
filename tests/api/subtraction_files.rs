//! Subtractions with a host genome (workflows §4: U17, U28, U29) and the routes of their
//! `create_subtraction` job (J22–J26), with the helpers the index and HMM tests share.

use reqwest::Method;
use serde_json::{json, Value};

use crate::faults::{multipart_body, partial_request, pattern};
use crate::support::{assert_keys, bucket_keys, Creds, Reply, Setup, TestApp};
use crate::{both, every_store};

pub(crate) const SUBTRACTION_KEYS: &[&str] = &[
    "id",
    "name",
    "nickname",
    "ready",
    "created_at",
    "user",
    "count",
    "gc",
    "file",
    "job",
    "files",
];

const RUNNER_KEYS: &[&str] = &[
    "id",
    "name",
    "nickname",
    "ready",
    "count",
    "created_at",
    "user",
    "file",
    "gc",
    "job",
    "files",
    "linked_samples",
];

const FILES: [&str; 7] = [
    "subtraction.fa.gz",
    "subtraction.1.bt2",
    "subtraction.2.bt2",
    "subtraction.3.bt2",
    "subtraction.4.bt2",
    "subtraction.rev.1.bt2",
    "subtraction.rev.2.bt2",
];

/// The keys of a JSON object, in order.
pub(crate) fn keys_in_order(value: &Value) -> Vec<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

/// The id of the administrator.
pub(crate) async fn admin_id(app: &TestApp) -> String {
    let account = app.get("/api/account", &app.admin).await;
    account.json()["id"].as_str().unwrap().to_owned()
}

/// An upload of the administrator, written as U21 would (the row of migration 0009 and the object
/// under `uploads/<name_on_disk>`): uploads routes are not part of this suite.
pub(crate) async fn insert_upload(app: &TestApp, name: &str, bytes: &[u8]) -> i64 {
    use vira::files::Sink;
    let db = &app.app.db;
    let id: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'uploads' RETURNING value",
    )
    .fetch_one(&mut *db.write().await.unwrap())
    .await
    .unwrap();
    let name_on_disk = format!("{id}-{name}");
    let key = vira::files::upload_key(&name_on_disk);
    let mut upload = app.app.files.create_upload(&key).await.unwrap();
    upload.write(bytes).await.unwrap();
    drop(app.app.files.commit(upload).await.unwrap());
    sqlx::query(
        "INSERT INTO uploads (id, name, name_on_disk, type, size, user_id, created_at) \
         VALUES ($1, $2, $3, 'subtraction', $4, $5, 0)",
    )
    .bind(id)
    .bind(name)
    .bind(&name_on_disk)
    .bind(bytes.len() as i64)
    .bind(admin_id(app).await)
    .execute(&mut *db.write().await.unwrap())
    .await
    .unwrap();
    id
}

/// `(reserved, removed)` of an upload row.
pub(crate) async fn upload_flags(app: &TestApp, id: i64) -> (i64, i64) {
    let row: (i64, i64) = sqlx::query_as("SELECT reserved, removed FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_one(app.app.db.reader())
        .await
        .unwrap();
    row
}

/// The bytes stored under `key`, read from the storage itself (local data path or bucket).
pub(crate) async fn stored_object(app: &TestApp, key: &str) -> Option<Vec<u8>> {
    match &app.s3 {
        None => std::fs::read(app.data.path().join(key)).ok(),
        Some(place) => {
            use object_store::ObjectStoreExt;
            let path = format!("{}/{key}", place.prefix);
            let got = place.client.get(&path.into()).await.ok()?;
            Some(got.bytes().await.ok()?.to_vec())
        }
    }
}

/// The stored objects under `folder/` (relative keys), on either storage.
pub(crate) async fn stored_under(app: &TestApp, folder: &str) -> Vec<String> {
    match &app.s3 {
        None => {
            let mut keys: Vec<String> = crate::support::files_under(&app.data.path().join(folder))
                .iter()
                .map(|p| {
                    p.strip_prefix(app.data.path())
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect();
            keys.sort();
            keys
        }
        Some(place) => bucket_keys(&place.client, &place.prefix, &format!("{folder}/")).await,
    }
}

/// A host-genome subtraction with its job acquired: `(subtraction, upload id, job id, job)`.
pub(crate) async fn genome_subtraction(app: &TestApp, name: &str) -> (Value, i64, String, Creds) {
    let upload = insert_upload(app, "host1.fa.gz", b">chr1\nACGT\n").await;
    let reply = app
        .post(
            "/api/subtractions",
            &app.admin,
            &json!({"name": name, "upload_id": upload}),
        )
        .await;
    reply.assert_status(201);
    let subtraction = reply.json();
    let job_id = subtraction["job"]["id"].as_str().unwrap().to_owned();
    let job = app.acquire(&job_id).await;
    (subtraction, upload, job_id, job)
}

/// PUT `bytes` as the multipart `file` part.
pub(crate) async fn put_file(app: &TestApp, path: &str, job: &Creds, bytes: Vec<u8>) -> Reply {
    app.upload(Method::PUT, path, job, bytes).await
}

both!(labels_and_genomes, |app: TestApp| async move {
    let reply = app
        .post("/api/subtractions", &app.admin, &json!({"name": "Label"}))
        .await;
    reply.assert_status(201);
    let label = reply.json();
    assert_eq!(keys_in_order(&label), SUBTRACTION_KEYS);
    let id = label["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/api/subtractions/{id}")
    );
    assert_eq!(label["ready"], true);
    for key in ["count", "gc", "file", "job"] {
        assert_eq!(label[key], Value::Null, "{key}");
    }
    assert_eq!(label["files"], json!([]));

    let upload = insert_upload(&app, "host1.fa.gz", b">chr1\nACGT\n").await;
    let reply = app
        .post(
            "/api/subtractions",
            &app.admin,
            &json!({"name": "Arabidopsis", "nickname": "Thale cress", "upload_id": upload}),
        )
        .await;
    reply.assert_status(201);
    let genome = reply.json();
    assert_eq!(keys_in_order(&genome), SUBTRACTION_KEYS);
    assert_eq!(genome["ready"], false);
    assert_eq!(genome["nickname"], "Thale cress");
    assert_eq!(genome["file"], json!({"id": upload, "name": "host1.fa.gz"}));
    assert_eq!(
        (&genome["count"], &genome["gc"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(genome["files"], json!([]));
    let job = &genome["job"];
    assert_keys(
        job,
        &[
            "id",
            "archived",
            "created_at",
            "progress",
            "stage",
            "state",
            "user",
            "workflow",
        ],
    );
    assert_eq!(
        (
            &job["state"],
            &job["workflow"],
            &job["progress"],
            &job["stage"]
        ),
        (
            &json!("waiting"),
            &json!("create_subtraction"),
            &json!(0),
            &Value::Null
        )
    );
    assert_eq!(upload_flags(&app, upload).await, (1, 0));
    // The job's args, exactly §1.1 (keys in order).
    let job_id = job["id"].as_str().unwrap();
    let acquired = app
        .json(
            Method::PATCH,
            &format!("/jobs-api/jobs/{job_id}"),
            None,
            &json!({"acquired": true}),
        )
        .await;
    acquired.assert_status(200);
    let args = &acquired.json()["args"];
    assert_eq!(
        args.to_string(),
        json!({"subtraction_id": genome["id"], "files": [{"id": upload, "name": "host1.fa.gz"}]})
            .to_string()
    );
});

both!(create_error_rows, |app: TestApp| async move {
    let (user, _) = app.user("plain", &[]).await;
    let body = json!({"name": "S"});
    let anonymous = app
        .json(Method::POST, "/api/subtractions", None, &body)
        .await;
    assert_eq!(anonymous.status, 401);
    app.post("/api/subtractions", &user, &body)
        .await
        .assert_error(403, "forbidden", "Requires administrative privilege");
    let malformed = app.send(
        app.request(Method::POST, "/api/subtractions", Some(&app.admin))
            .header("content-type", "application/json")
            .body("{"),
    );
    malformed.await.assert_status(400);
    for (value, message) in [
        (json!("1"), "must be of integer type"),
        (json!(1.5), "must be of integer type"),
        (json!(0), "min value is 1"),
    ] {
        let reply = app
            .post(
                "/api/subtractions",
                &app.admin,
                &json!({"name": "S", "upload_id": value}),
            )
            .await;
        reply.assert_status(422);
        assert_eq!(reply.json()["errors"], json!({"upload_id": [message]}));
    }
    let missing = json!({"name": "S", "upload_id": 999});
    app.post("/api/subtractions", &app.admin, &missing)
        .await
        .assert_error(400, "bad_request", "Upload does not exist");
    let upload = insert_upload(&app, "h.fa", b">a\nA\n").await;
    let with = json!({"name": "S", "upload_id": upload});
    app.post("/api/subtractions", &app.admin, &with)
        .await
        .assert_status(201);
    app.post("/api/subtractions", &app.admin, &with)
        .await
        .assert_error(400, "bad_request", "File is already in use");
    // A removed upload does not exist.
    let removed = insert_upload(&app, "gone.fa", b">a\nA\n").await;
    sqlx::query("UPDATE uploads SET removed = 1 WHERE id = $1")
        .bind(removed)
        .execute(&mut *app.app.db.write().await.unwrap())
        .await
        .unwrap();
    app.post(
        "/api/subtractions",
        &app.admin,
        &json!({"name": "S", "upload_id": removed}),
    )
    .await
    .assert_error(400, "bad_request", "Upload does not exist");
    // Nothing was created by the refused requests.
    assert_eq!(app.count("subtractions").await, 1);
    assert_eq!(app.count("jobs").await, 1);
});

both!(list_and_get, |app: TestApp| async move {
    let (user, _) = app.user("reader", &[]).await;
    let mut ids = Vec::new();
    for name in ["b", "a", "b"] {
        let reply = app
            .post("/api/subtractions", &app.admin, &json!({"name": name}))
            .await;
        ids.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    let mut bs = [ids[0].clone(), ids[2].clone()];
    bs.sort();
    let expected = vec![ids[1].clone(), bs[0].clone(), bs[1].clone()];
    let page = app.get("/api/subtractions", &user).await;
    page.assert_status(200);
    let body = page.json();
    let got: Vec<String> = (body["documents"].as_array().unwrap().iter())
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(keys_in_order(&body["documents"][0]), SUBTRACTION_KEYS);
    assert_eq!(
        (
            &body["found_count"],
            &body["page_count"],
            &body["total_count"]
        ),
        (&json!(3), &json!(1), &json!(3))
    );
    let second = app.get("/api/subtractions?page=2&per_page=2", &user).await;
    let second = second.json();
    assert_eq!(second["documents"][0]["id"], json!(expected[2]));
    assert_eq!(
        (&second["page"], &second["page_count"]),
        (&json!(2), &json!(2))
    );
    let bad = app.get("/api/subtractions?page=0", &user).await;
    bad.assert_status(422);
    assert_eq!(bad.json()["id"], "invalid_query");
    let anonymous = app.send(app.request(Method::GET, "/api/subtractions", None));
    assert_eq!(anonymous.await.status, 401);

    let one = app
        .get(&format!("/api/subtractions/{}", ids[1]), &user)
        .await;
    one.assert_status(200);
    assert_eq!(one.json()["name"], "a");
    app.get("/api/subtractions/nothing1", &user)
        .await
        .assert_error(404, "not_found", "Not found");
    let anonymous = app.send(app.request(Method::GET, "/api/subtractions/nothing1", None));
    assert_eq!(anonymous.await.status, 401);
});

every_store!(files_and_finalize, |app: TestApp| async move {
    let (subtraction, upload, _, job) = genome_subtraction(&app, "Host").await;
    let id = subtraction["id"].as_str().unwrap().to_owned();
    let sample = app.sample(&app.admin, json!({"name": "Linked"})).await;
    // A sample whose default subtractions name it (the column of migration 0009).
    sqlx::query("UPDATE samples SET subtraction_ids = $1 WHERE id = $2")
        .bind(json!([id]).to_string())
        .bind(&sample)
        .execute(&mut *app.app.db.write().await.unwrap())
        .await
        .unwrap();
    let runner = app.get(&format!("/jobs-api/subtractions/{id}"), &job).await;
    runner.assert_status(200);
    let runner = runner.json();
    assert_eq!(keys_in_order(&runner), RUNNER_KEYS);
    assert_eq!(runner["files"], json!([]));
    assert_eq!(runner["file"], json!({"id": upload, "name": "host1.fa.gz"}));
    assert!(runner["job"].get("archived").is_none());
    assert_eq!(
        runner["linked_samples"],
        json!([{"id": sample, "name": "Linked"}])
    );

    let base = format!("/jobs-api/subtractions/{id}");
    // Finalize refuses while bowtie2 files are missing: all six, in table order.
    let gc = json!({"a": 0.319, "t": 0.317, "c": 0.181, "g": 0.182, "x": 9});
    app.patch(&base, &job, &json!({"gc": gc, "count": 3}))
        .await
        .assert_error(
            409,
            "conflict",
            "Subtraction files have not been uploaded: subtraction.1.bt2, subtraction.2.bt2, \
             subtraction.3.bt2, subtraction.4.bt2, subtraction.rev.1.bt2, subtraction.rev.2.bt2",
        );
    let mut ids = Vec::new();
    for (n, name) in FILES.iter().enumerate() {
        let bytes = pattern(1000 + n, n as u64);
        let reply = put_file(
            &app,
            &format!("{base}/files/{name}?name=x&format=y"),
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
            ["id", "name", "size", "subtraction", "type", "download_url"]
        );
        let kind = if n == 0 { "fasta" } else { "bowtie2" };
        assert_eq!(
            (
                &file["name"],
                &file["size"],
                &file["subtraction"],
                &file["type"]
            ),
            (&json!(name), &json!(1000 + n), &json!(id), &json!(kind))
        );
        assert_eq!(
            file["download_url"],
            format!("/subtractions/{id}/files/{name}")
        );
        ids.push(file["id"].as_i64().unwrap());
        let key = format!("subtractions/{id}/{name}");
        assert_eq!(stored_object(&app, &key).await, Some(bytes));
        // Stored and recorded as uploaded by this job.
        if n == 5 {
            break;
        }
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    app.patch(&base, &job, &json!({"gc": gc, "count": 3}))
        .await
        .assert_error(
            409,
            "conflict",
            "Subtraction files have not been uploaded: subtraction.rev.2.bt2",
        );
    put_file(
        &app,
        &format!("{base}/files/subtraction.rev.2.bt2"),
        &job,
        b"last".to_vec(),
    )
    .await
    .assert_status(201);
    let job_id = job.login.trim_start_matches("job-").to_owned();
    assert_eq!(
        app.rows("subtraction_files", "uploaded_by_job", &job_id)
            .await,
        7
    );

    // Downloads: whole, a range, an unsatisfiable range, another name, the upload's name.
    let first = pattern(1000, 0);
    let whole = app
        .get(&format!("{base}/files/subtraction.fa.gz"), &job)
        .await;
    whole.assert_status(200);
    assert_eq!(whole.bytes, first);
    assert_eq!(whole.header("content-length").unwrap(), "1000");
    assert_eq!(whole.header("accept-ranges").unwrap(), "bytes");
    assert_eq!(
        whole.header("content-type").unwrap(),
        "application/octet-stream"
    );
    assert_eq!(
        whole.header("content-disposition").unwrap(),
        "attachment; filename=subtraction.fa.gz"
    );
    let ranged = app
        .send(
            app.request(
                Method::GET,
                &format!("{base}/files/subtraction.fa.gz"),
                Some(&job),
            )
            .header("range", "bytes=10-19"),
        )
        .await;
    ranged.assert_status(206);
    assert_eq!(ranged.bytes, first[10..20]);
    assert_eq!(ranged.header("content-range").unwrap(), "bytes 10-19/1000");
    let beyond = app
        .send(
            app.request(
                Method::GET,
                &format!("{base}/files/subtraction.fa.gz"),
                Some(&job),
            )
            .header("range", "bytes=5000-"),
        )
        .await;
    beyond.assert_status(416);
    for name in ["reference.1.bt2", "host1.fa.gz"] {
        app.get(&format!("{base}/files/{name}"), &job)
            .await
            .assert_error(404, "not_found", "Not found");
    }

    // J25 validation, then the finalize itself.
    let bodies = [
        (json!({"count": 3}), json!({"gc": ["required field"]})),
        (
            json!({"gc": "x", "count": 3}),
            json!({"gc": ["must be of dict type"]}),
        ),
        (
            json!({"gc": {"a": "x", "c": 0.1, "g": 0.1, "t": 0.1}, "count": 3}),
            json!({"gc.a": ["must be of number type"]}),
        ),
        (
            json!({"gc": {"c": 0.1, "g": 2, "t": -1}, "count": 3}),
            json!({"gc.a": ["required field"], "gc.g": ["max value is 1"], "gc.t": ["min value is 0"]}),
        ),
        (
            json!({"gc": gc, "count": -1}),
            json!({"count": ["min value is 0"]}),
        ),
        (json!({"gc": gc}), json!({"count": ["required field"]})),
        (
            json!({"gc": gc, "count": "3"}),
            json!({"count": ["must be of integer type"]}),
        ),
    ];
    for (body, errors) in bodies {
        let reply = app.patch(&base, &job, &body).await;
        reply.assert_status(422);
        assert_eq!(reply.json()["errors"], errors, "{body}");
    }
    let malformed = app.send(
        app.request(Method::PATCH, &base, Some(&job))
            .header("content-type", "application/json")
            .body("{"),
    );
    malformed.await.assert_status(400);
    let upload_key = format!("uploads/{upload}-host1.fa.gz");
    assert!(stored_object(&app, &upload_key).await.is_some());
    let done = app.patch(&base, &job, &json!({"gc": gc, "count": 3})).await;
    done.assert_status(200);
    let done = done.json();
    assert_eq!(keys_in_order(&done), RUNNER_KEYS);
    assert_eq!(done["ready"], true);
    assert_eq!(done["count"], 3);
    assert_eq!(
        done["gc"].to_string(),
        json!({"a": 0.319, "c": 0.181, "g": 0.182, "t": 0.317, "n": 0.0}).to_string()
    );
    assert_eq!(done["files"].as_array().unwrap().len(), 7);
    // The upload is consumed: removed, its object gone.
    assert_eq!(upload_flags(&app, upload).await, (0, 1));
    assert_eq!(stored_object(&app, &upload_key).await, None);

    // Finalized: no more files, no second finalize, no delete.
    put_file(
        &app,
        &format!("{base}/files/subtraction.fa.gz"),
        &job,
        b"x".to_vec(),
    )
    .await
    .assert_error(409, "conflict", "Subtraction has already been finalized");
    app.patch(&base, &job, &json!({"gc": gc, "count": 3}))
        .await
        .assert_error(409, "conflict", "Subtraction has already been finalized");
    app.delete(&base, &job).await.assert_error(
        409,
        "conflict",
        "Only unfinalized subtractions can be deleted",
    );

    // The user API shows it ready, with its seven files in id order.
    let user_view = app
        .get(&format!("/api/subtractions/{id}"), &app.admin)
        .await
        .json();
    assert_eq!(user_view["ready"], true);
    let files = user_view["files"].as_array().unwrap();
    assert_eq!(files.len(), 7);
    assert_eq!(keys_in_order(&files[0]), ["id", "name", "size", "type"]);
    assert_eq!(files[0]["name"], "subtraction.fa.gz");
    let listed = app.get("/api/subtractions", &app.admin).await.json();
    assert_eq!(listed["documents"][0]["files"], user_view["files"]);
    app.assert_no_temporary_objects().await;
});

both!(
    upload_error_rows,
    config = |c| c.max_upload_bytes = 4096,
    |app: TestApp| async move {
        let (subtraction, _, _, job) = genome_subtraction(&app, "Host").await;
        let id = subtraction["id"].as_str().unwrap();
        let base = format!("/jobs-api/subtractions/{id}");
        put_file(
            &app,
            &format!("{base}/files/reference.1.bt2"),
            &job,
            b"x".to_vec(),
        )
        .await
        .assert_error(404, "not_found", "Unsupported subtraction file name");
        put_file(
            &app,
            "/jobs-api/subtractions/nothing1/files/subtraction.1.bt2",
            &job,
            b"x".to_vec(),
        )
        .await
        .assert_error(404, "not_found", "Not found");
        let path = format!("{base}/files/subtraction.1.bt2");
        put_file(&app, &path, &job, b"first".to_vec())
            .await
            .assert_status(201);
        put_file(&app, &path, &job, b"again".to_vec())
            .await
            .assert_error(409, "conflict", "File name already exists");
        let path = format!("{base}/files/subtraction.2.bt2");
        put_file(&app, &path, &job, vec![7; 8192])
            .await
            .assert_status(413);
        let no_part = app.send(
            app.request(Method::PUT, &path, Some(&job))
                .header("content-type", "text/plain")
                .body("plain"),
        );
        let no_part = no_part.await;
        no_part.assert_status(422);
        assert_eq!(
            no_part.json()["errors"],
            json!({"file": ["required field"]})
        );
        let anonymous = app
            .send(app.request(Method::PUT, &path, None).body("x"))
            .await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(app.rows("subtraction_files", "subtraction_id", id).await, 1);
        assert_eq!(
            stored_under(&app, &format!("subtractions/{id}")).await,
            [format!("subtractions/{id}/subtraction.1.bt2")]
        );
        for (method, path) in [
            (Method::GET, base.clone()),
            (Method::PATCH, base.clone()),
            (Method::DELETE, base.clone()),
            (Method::GET, format!("{base}/files/subtraction.1.bt2")),
        ] {
            let reply = app.send(app.request(method, &path, None)).await;
            assert_eq!(reply.status, 401, "{path}");
        }
        app.get("/jobs-api/subtractions/nothing1", &job)
            .await
            .assert_error(404, "not_found", "Not found");
    }
);

both!(
    failure_hook_keeps_the_subtraction,
    |app: TestApp| async move {
        let (subtraction, upload, _, job) = genome_subtraction(&app, "Host").await;
        let id = subtraction["id"].as_str().unwrap();
        let base = format!("/jobs-api/subtractions/{id}");
        for name in &FILES[..3] {
            put_file(
                &app,
                &format!("{base}/files/{name}"),
                &job,
                b"partial".to_vec(),
            )
            .await
            .assert_status(201);
        }
        app.delete("/jobs-api/subtractions/nothing1", &job)
            .await
            .assert_error(404, "not_found", "Not found");
        app.delete(&base, &job).await.assert_status(204);
        assert_eq!(app.rows("subtraction_files", "subtraction_id", id).await, 0);
        assert!(stored_under(&app, &format!("subtractions/{id}"))
            .await
            .is_empty());
        assert_eq!(upload_flags(&app, upload).await, (0, 0));
        let kept = app
            .get(&format!("/api/subtractions/{id}"), &app.admin)
            .await;
        kept.assert_status(200);
        assert_eq!(kept.json()["ready"], false);
        assert_eq!(kept.json()["files"], json!([]));
        // The upload can be used again.
        app.post(
            "/api/subtractions",
            &app.admin,
            &json!({"name": "Again", "upload_id": upload}),
        )
        .await
        .assert_status(201);
    }
);

both!(job_scope_of_subtraction_routes, |app: TestApp| async move {
    let (mine, _, _, job) = genome_subtraction(&app, "Mine").await;
    let (other, _, _, other_job) = genome_subtraction(&app, "Other").await;
    let mine = mine["id"].as_str().unwrap().to_owned();
    let other = other["id"].as_str().unwrap().to_owned();
    let refused =
        |reply: Reply| reply.assert_error(403, "insufficient_rights", "Insufficient rights");
    // Another subtraction's job: 403 on every route; an unknown id stays 404.
    let base = format!("/jobs-api/subtractions/{mine}");
    refused(app.get(&base, &other_job).await);
    refused(
        app.get(&format!("{base}/files/subtraction.fa.gz"), &other_job)
            .await,
    );
    refused(
        put_file(
            &app,
            &format!("{base}/files/subtraction.fa.gz"),
            &other_job,
            b"x".to_vec(),
        )
        .await,
    );
    refused(
        app.patch(
            &base,
            &other_job,
            &json!({"gc": {"a": 0, "c": 0, "g": 0, "t": 0}, "count": 0}),
        )
        .await,
    );
    refused(app.delete(&base, &other_job).await);
    app.get(&format!("/jobs-api/subtractions/{other}"), &other_job)
        .await
        .assert_status(200);
    // An analysis job reads the subtractions of its args and writes none.
    let ref_id = app.small_reference().await;
    let sample = app.sample(&app.admin, json!({"name": "S"})).await;
    let reply = app
        .post(
            &format!("/api/samples/{sample}/analyses"),
            &app.admin,
            &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie", "subtractions": [mine]}),
        )
        .await;
    reply.assert_status(201);
    let analysis_job = app
        .acquire(reply.json()["job"]["id"].as_str().unwrap())
        .await;
    app.get(&base, &analysis_job).await.assert_status(200);
    app.get(&format!("{base}/files/subtraction.fa.gz"), &analysis_job)
        .await
        .assert_error(404, "not_found", "Not found");
    refused(
        app.get(&format!("/jobs-api/subtractions/{other}"), &analysis_job)
            .await,
    );
    refused(
        put_file(
            &app,
            &format!("{base}/files/subtraction.fa.gz"),
            &analysis_job,
            b"x".to_vec(),
        )
        .await,
    );
    refused(app.delete(&base, &analysis_job).await);
    // The subtraction job reaches no index and no HMM file.
    let index = app.index(&ref_id).await;
    refused(app.get(&format!("/jobs-api/indexes/{index}"), &job).await);
    refused(
        app.get(
            &format!("/jobs-api/indexes/{index}/files/otus.json.gz"),
            &job,
        )
        .await,
    );
    refused(
        put_file(
            &app,
            &format!("/jobs-api/indexes/{index}/files/reference.fa.gz"),
            &job,
            b"x".to_vec(),
        )
        .await,
    );
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
        let (subtraction, upload, _, job) = genome_subtraction(&app, "Host").await;
        let id = subtraction["id"].as_str().unwrap();
        let path = format!("/jobs-api/subtractions/{id}/files/subtraction.1.bt2");
        let body = multipart_body("subtraction.1.bt2", &pattern(16 << 20, 3));
        let stream = partial_request(&app.base, "PUT", &path, &job, &body, 11 << 20).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        drop(stream);
        // The host genome is stored under `uploads/` too, where the store keeps its markers.
        let genome = format!("uploads/{upload}-host1.fa.gz");
        let mut left = Vec::new();
        for _ in 0..100 {
            left = app.temporary_objects().await;
            left.retain(|key| *key != genome);
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(left, Vec::<String>::new());
        assert!(stored_under(&app, &format!("subtractions/{id}"))
            .await
            .is_empty());
        assert_eq!(app.rows("subtraction_files", "subtraction_id", id).await, 0);
        put_file(&app, &path, &job, b"again".to_vec())
            .await
            .assert_status(201);
    }
);
