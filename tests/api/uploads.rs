//! Uploads (workflows §2, U21–U24): every check row on both databases, uploads and downloads on
//! both stores, the upload object exactly, ranges, and a cut-off upload that leaves nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::faults::{multipart_body, partial_upload, pattern};
use crate::support::{
    assert_keys, bucket_keys, eventually, files_under, fixture_bytes, Creds, Reply, Setup, TestApp,
};
use crate::{both, every_store};

pub const UPLOAD_KEYS: &[&str] = &[
    "id",
    "created_at",
    "name",
    "name_on_disk",
    "ready",
    "removed",
    "removed_at",
    "reserved",
    "size",
    "type",
    "uploaded_at",
    "user",
];

/// U21 with `bytes` as the `file` part.
pub async fn upload(app: &TestApp, creds: &Creds, name: &str, kind: &str, bytes: Vec<u8>) -> Reply {
    let path = format!("/api/uploads?name={}&type={kind}", url_escape(name));
    app.multipart(Method::POST, &path, creds, name, bytes).await
}

fn url_escape(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Upload a reads fixture; returns the upload object.
pub async fn upload_fixture(app: &TestApp, creds: &Creds, fixture: &str) -> Value {
    let name = fixture.rsplit('/').next().unwrap();
    let reply = upload(app, creds, name, "reads", fixture_bytes(fixture)).await;
    reply.assert_status(201);
    reply.json()
}

/// The keys of the stored objects under `folder` (`uploads/`, `samples/<id>/`), on either store.
pub async fn stored_keys(app: &TestApp, folder: &str) -> Vec<String> {
    let mut keys: Vec<String> = match &app.s3 {
        None => files_under(&app.data.path().join(folder))
            .iter()
            .map(|p| {
                p.strip_prefix(app.data.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect(),
        Some(place) => bucket_keys(&place.client, &place.prefix, folder).await,
    };
    keys.sort();
    keys
}

every_store!(
    upload_then_download_with_ranges,
    |app: TestApp| async move {
        let bytes = fixture_bytes("reads/rrsv_1.fq.gz");
        let reply = upload(&app, &app.admin, "rrsv_1.fq.gz", "reads", bytes.clone()).await;
        reply.assert_status(201);
        let body = reply.json();
        assert_keys(&body, UPLOAD_KEYS);
        let id = body["id"].as_i64().unwrap();
        assert_eq!(id, 1);
        assert_eq!(reply.header("location").unwrap(), "/api/uploads/1");
        assert_eq!(body["name"], "rrsv_1.fq.gz");
        assert_eq!(body["name_on_disk"], "1-rrsv_1.fq.gz");
        assert_eq!(
            (
                &body["ready"],
                &body["removed"],
                &body["removed_at"],
                &body["reserved"]
            ),
            (&json!(true), &json!(false), &Value::Null, &json!(false))
        );
        assert_eq!(body["size"], bytes.len());
        assert_eq!(body["type"], "reads");
        assert_eq!(body["created_at"], body["uploaded_at"]);
        assert_eq!(body["user"]["handle"], "admin");
        assert_keys(&body["user"], &["id", "handle"]);
        assert_eq!(
            stored_keys(&app, "uploads/").await,
            ["uploads/1-rrsv_1.fq.gz"]
        );

        let got = app.get("/api/uploads/1", &app.admin).await;
        got.assert_status(200);
        assert_eq!(got.bytes, bytes);
        assert_eq!(got.header("content-type").unwrap(), "application/gzip");
        assert_eq!(
            got.header("content-disposition").unwrap(),
            "attachment; filename=rrsv_1.fq.gz"
        );
        assert_eq!(got.header("accept-ranges").unwrap(), "bytes");
        assert_eq!(
            got.header("content-length").unwrap(),
            bytes.len().to_string()
        );
        let size = bytes.len();
        let part = app
            .send(
                app.request(Method::GET, "/api/uploads/1", Some(&app.admin))
                    .header("range", "bytes=100-199"),
            )
            .await;
        part.assert_status(206);
        assert_eq!(part.bytes, &bytes[100..200]);
        assert_eq!(
            part.header("content-range").unwrap(),
            format!("bytes 100-199/{size}")
        );
        let tail = app
            .send(
                app.request(Method::GET, "/api/uploads/1", Some(&app.admin))
                    .header("range", "bytes=-10"),
            )
            .await;
        tail.assert_status(206);
        assert_eq!(tail.bytes, &bytes[size - 10..]);
        let beyond = app
            .send(
                app.request(Method::GET, "/api/uploads/1", Some(&app.admin))
                    .header("range", format!("bytes={size}-")),
            )
            .await;
        beyond.assert_error(416, "range_not_satisfiable", "Range not satisfiable");
        assert_eq!(
            beyond.header("content-range").unwrap(),
            format!("bytes */{size}")
        );
        // Not `.gz`: octet-stream; a name that is sanitized and made safe for storage.
        let reply = upload(
            &app,
            &app.admin,
            "../my genome (1).fa",
            "subtraction",
            b">a\nACGT\n".to_vec(),
        )
        .await;
        reply.assert_status(201);
        let body = reply.json();
        assert_eq!(body["name"], "my genome (1).fa");
        assert_eq!(body["name_on_disk"], "2-my_genome__1_.fa");
        let got = app.get("/api/uploads/2", &app.admin).await;
        assert_eq!(
            got.header("content-type").unwrap(),
            "application/octet-stream"
        );
        assert_eq!(got.bytes, b">a\nACGT\n");
        app.assert_no_temporary_objects().await;
    }
);

both!(
    upload_checks_in_order,
    config = |c: &mut vira::config::ServeConfig| c.max_upload_bytes = 1 << 20,
    |app: TestApp| async move {
        // 1: credentials.
        let reply = app
            .send(app.request(Method::POST, "/api/uploads?name=a.fq&type=reads", None))
            .await;
        reply.assert_error(401, "requires_authorization", "Requires authorization");
        // 2: name.
        let reply = upload(&app, &app.admin, "", "reads", b"x".to_vec()).await;
        reply.assert_error(422, "invalid_query", "Invalid query");
        assert_eq!(
            reply.json()["errors"],
            json!({"name": ["empty values not allowed"]})
        );
        let reply = app
            .multipart(
                Method::POST,
                "/api/uploads?type=reads",
                &app.admin,
                "a",
                b"x".to_vec(),
            )
            .await;
        assert_eq!(reply.json()["errors"], json!({"name": ["required field"]}));
        let reply = upload(&app, &app.admin, "dir/", "reads", b"x".to_vec()).await;
        assert_eq!(
            reply.json()["errors"],
            json!({"name": ["empty values not allowed"]})
        );
        let long = "a".repeat(256);
        let reply = upload(&app, &app.admin, &long, "reads", b"x".to_vec()).await;
        assert_eq!(
            reply.json()["errors"],
            json!({"name": ["max length is 255"]})
        );
        // 3: type.
        let reply = app
            .multipart(
                Method::POST,
                "/api/uploads?name=a.fq",
                &app.admin,
                "a",
                b"x".to_vec(),
            )
            .await;
        reply.assert_error(422, "invalid_query", "Invalid query");
        assert_eq!(reply.json()["errors"], json!({"type": ["required field"]}));
        let reply = upload(&app, &app.admin, "a.fq", "genome", b"x".to_vec()).await;
        assert_eq!(
            reply.json()["errors"],
            json!({"type": ["unallowed value genome"]})
        );
        // 4: a declared length over the limit.
        let body = multipart_body("a.fq", &pattern((1 << 20) + 10, 3));
        let reply = app
            .send(
                app.request(
                    Method::POST,
                    "/api/uploads?name=a.fq&type=reads",
                    Some(&app.admin),
                )
                .header(
                    "content-type",
                    "multipart/form-data; boundary=vira-fault-boundary",
                )
                .body(body),
            )
            .await;
        reply.assert_error(413, "payload_too_large", "Payload too large");
        // 5: not multipart, or no `file` part.
        let reply = app
            .send(
                app.request(
                    Method::POST,
                    "/api/uploads?name=a.fq&type=reads",
                    Some(&app.admin),
                )
                .header("content-type", "application/octet-stream")
                .body("plain"),
            )
            .await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        assert_eq!(reply.json()["errors"], json!({"file": ["required field"]}));
        let form = reqwest::multipart::Form::new().text("other", "x");
        let reply = app
            .send(
                app.request(
                    Method::POST,
                    "/api/uploads?name=a.fq&type=reads",
                    Some(&app.admin),
                )
                .multipart(form),
            )
            .await;
        assert_eq!(reply.json()["errors"], json!({"file": ["required field"]}));
        // 6: more bytes arrive than the limit (no declared length): cut off, nothing kept.
        let body = multipart_body("a.fq", &pattern(2 << 20, 4));
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(64 << 10).map(|c| Ok(c.to_vec())).collect();
        let reply = app
            .send(
                app.request(
                    Method::POST,
                    "/api/uploads?name=a.fq&type=reads",
                    Some(&app.admin),
                )
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
        assert_eq!(app.count("uploads").await, 0);
        assert!(files_under(&app.data.path().join("uploads")).is_empty());
        app.assert_no_temporary_objects().await;
        // 7: created; the ids of failed uploads are not reused.
        let reply = upload(&app, &app.admin, "a.fq", "reads", b"@r\nA\n+\nI\n".to_vec()).await;
        reply.assert_status(201);
        assert!(reply.json()["id"].as_i64().unwrap() > 1);
        // Any user may upload.
        let (user, _) = app.user("plain", &[]).await;
        upload(&app, &user, "b.fq", "hmm", b"x".to_vec())
            .await
            .assert_status(201);
    }
);

// A client that drops the connection mid-body leaves no record and no object.
every_store!(cut_off_upload_leaves_nothing, |app: TestApp| async move {
    let body = multipart_body("big.fq.gz", &pattern(12 << 20, 9));
    let stream = partial_upload(
        &app.base,
        "/api/uploads?name=big.fq.gz&type=reads",
        &app.admin,
        &body,
        7 << 20,
    )
    .await;
    if app.s3.is_none() {
        let tmp = app.data.path().join("tmp");
        eventually("the upload is being written", || {
            !files_under(&tmp).is_empty()
        })
        .await;
    } else {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    drop(stream);
    app.assert_no_temporary_objects().await;
    assert_eq!(app.count("uploads").await, 0);
    assert!(stored_keys(&app, "uploads/").await.is_empty());
    let listed = app.get("/api/uploads", &app.admin).await.json();
    assert_eq!(listed["found_count"], 0);
    // The next upload takes a new id (the cut-off one's is not reused).
    let reply = upload(
        &app,
        &app.admin,
        "small.fq.gz",
        "reads",
        vec![0x1f, 0x8b, 1],
    )
    .await;
    reply.assert_status(201);
    assert_eq!(reply.json()["id"], 2);
});

both!(
    list_own_or_all_by_type_and_page,
    |app: TestApp| async move {
        let (alice, _) = app.user("alice", &[]).await;
        let (bob, _) = app.user("bob", &[]).await;
        for (who, name, kind) in [
            (&alice, "a1.fq", "reads"),
            (&bob, "b1.fa", "subtraction"),
            (&alice, "a2.fq", "reads"),
            (&alice, "a3.hmm", "hmm"),
        ] {
            upload(&app, who, name, kind, b"x".to_vec())
                .await
                .assert_status(201);
        }
        let names = |body: &Value| -> Vec<String> {
            body["documents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let mine = app.get("/api/uploads", &alice).await;
        mine.assert_status(200);
        let body = mine.json();
        assert_keys(
            &body,
            &[
                "documents",
                "found_count",
                "page",
                "page_count",
                "per_page",
                "total_count",
            ],
        );
        assert_eq!(names(&body), ["a3.hmm", "a2.fq", "a1.fq"]);
        assert_keys(&body["documents"][0], UPLOAD_KEYS);
        assert_eq!(
            (body["found_count"].clone(), body["total_count"].clone()),
            (json!(3), json!(3))
        );
        let all = app.get("/api/uploads", &app.admin).await.json();
        assert_eq!(names(&all), ["a3.hmm", "a2.fq", "b1.fa", "a1.fq"]);
        let reads = app.get("/api/uploads?type=reads", &app.admin).await.json();
        assert_eq!(names(&reads), ["a2.fq", "a1.fq"]);
        let bobs = app.get("/api/uploads?type=reads", &bob).await.json();
        assert_eq!(bobs["found_count"], 0);
        let page = app
            .get("/api/uploads?per_page=2&page=2", &app.admin)
            .await
            .json();
        assert_eq!(names(&page), ["b1.fa", "a1.fq"]);
        assert_eq!(
            (page["page_count"].clone(), page["page"].clone()),
            (json!(2), json!(2))
        );
        let past = app
            .get("/api/uploads?per_page=2&page=9", &app.admin)
            .await
            .json();
        assert_eq!(
            (past["documents"].clone(), past["found_count"].clone()),
            (json!([]), json!(4))
        );
        // Checks: 401 → 422.
        let reply = app
            .send(app.request(Method::GET, "/api/uploads", None))
            .await;
        reply.assert_error(401, "requires_authorization", "Requires authorization");
        let reply = app.get("/api/uploads?type=genome", &alice).await;
        reply.assert_error(422, "invalid_query", "Invalid query");
        assert_eq!(
            reply.json()["errors"],
            json!({"type": ["unallowed value genome"]})
        );
        let reply = app.get("/api/uploads?per_page=101", &alice).await;
        assert_eq!(
            reply.json()["errors"],
            json!({"per_page": ["max value is 100"]})
        );
        let reply = app.get("/api/uploads?page=0", &alice).await;
        assert_eq!(reply.json()["errors"], json!({"page": ["min value is 1"]}));
        // Removed uploads are not listed.
        app.delete("/api/uploads/1", &alice)
            .await
            .assert_status(204);
        let mine = app.get("/api/uploads", &alice).await.json();
        assert_eq!(names(&mine), ["a3.hmm", "a2.fq"]);
    }
);

every_store!(download_and_delete_rights, |app: TestApp| async move {
    let (alice, _) = app.user("alice", &[]).await;
    let (bob, _) = app.user("bob", &[]).await;
    let reply = upload(&app, &alice, "a.fq.gz", "reads", pattern(3000, 1)).await;
    reply.assert_status(201);
    // U23: 401 → 404 → 403 → 200.
    let reply = app
        .send(app.request(Method::GET, "/api/uploads/1", None))
        .await;
    reply.assert_error(401, "requires_authorization", "Requires authorization");
    for path in ["/api/uploads/2", "/api/uploads/abc", "/api/uploads/-1"] {
        app.get(path, &alice)
            .await
            .assert_error(404, "not_found", "Not found");
    }
    app.get("/api/uploads/1", &bob).await.assert_error(
        403,
        "insufficient_rights",
        "Insufficient rights",
    );
    app.get("/api/uploads/1", &alice).await.assert_status(200);
    app.get("/api/uploads/1", &app.admin)
        .await
        .assert_status(200);
    // U24: 401 → 404 → 403 → 204; then 404 everywhere, and the object is gone.
    let reply = app
        .send(app.request(Method::DELETE, "/api/uploads/1", None))
        .await;
    reply.assert_error(401, "requires_authorization", "Requires authorization");
    app.delete("/api/uploads/7", &alice)
        .await
        .assert_error(404, "not_found", "Not found");
    app.delete("/api/uploads/1", &bob).await.assert_error(
        403,
        "insufficient_rights",
        "Insufficient rights",
    );
    assert_eq!(stored_keys(&app, "uploads/").await, ["uploads/1-a.fq.gz"]);
    app.delete("/api/uploads/1", &alice)
        .await
        .assert_status(204);
    assert!(stored_keys(&app, "uploads/").await.is_empty());
    app.delete("/api/uploads/1", &alice)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get("/api/uploads/1", &alice)
        .await
        .assert_error(404, "not_found", "Not found");
    // The record stays, marked removed.
    assert_eq!(app.count("uploads").await, 1);
    // An administrator may delete anyone's.
    upload(&app, &bob, "b.fq.gz", "reads", pattern(10, 2))
        .await
        .assert_status(201);
    app.delete("/api/uploads/2", &app.admin)
        .await
        .assert_status(204);
    // A reserved upload: 409 `Upload is in use`.
    upload(&app, &alice, "c.fq.gz", "reads", pattern(10, 3))
        .await
        .assert_status(201);
    app.post("/api/samples", &alice, &json!({"name": "s", "files": [3]}))
        .await
        .assert_status(201);
    app.delete("/api/uploads/3", &alice)
        .await
        .assert_error(409, "conflict", "Upload is in use");
    app.get("/api/uploads/3", &alice).await.assert_status(200);
});
