//! Input that a database or a file system cannot hold, lists too long for one statement, JSON of
//! the wrong type, and limits that must hold before `100 Continue`: each a clear 4xx, never a 500.

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both;
use crate::support::{Creds, Setup, TestApp};

const NAME_RULE: &str = "must not contain control characters";

/// `{"field": [message]}` of a 422.
#[track_caller]
fn assert_field_error(reply: &crate::support::Reply, id: &str, field: &str, message: &str) {
    assert_eq!(
        reply.status.as_u16(),
        422,
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
    let body = reply.json();
    assert_eq!(body["id"], id, "{body}");
    assert_eq!(body["errors"][field], json!([message]), "{body}");
}

/// A small reference export (one OTU) with `name` as the OTU's name.
fn reference_with_otu_name(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"otus": [{
        "_id": "otu00001", "name": name, "abbreviation": "X",
        "isolates": [{"id": "iso00001", "default": true, "source_type": "isolate",
            "source_name": "A", "sequences": [{"_id": "seq00001", "accession": "NC_1",
            "definition": "d", "sequence": "ACGT"}]}]
    }]}))
    .unwrap()
}

both!(
    control_characters_are_refused_where_names_are_stored,
    |app: TestApp| async move {
        let admin = app.admin.clone();
        for (path, body, field) in [
            ("/api/samples", json!({"name": "a\u{0}b"}), "name"),
            ("/api/samples", json!({"name": "tab\there"}), "name"),
            ("/api/groups", json!({"name": "\u{1b}[31mred"}), "name"),
            ("/api/subtractions", json!({"name": "s\u{7f}"}), "name"),
            (
                "/api/subtractions",
                json!({"name": "ok", "nickname": "n\u{0}"}),
                "nickname",
            ),
            (
                "/api/users",
                json!({"handle": "ok", "groups": ["g\u{0}"]}),
                "groups",
            ),
        ] {
            let reply = app.post(path, &admin, &body).await;
            assert_field_error(&reply, "invalid_input", field, NAME_RULE);
        }
        // Nothing was stored.
        for table in ["samples", "groups", "subtractions", "users"] {
            let expected = i64::from(table == "users");
            assert_eq!(app.count(table).await, expected, "{table}");
        }

        // A reference name in the query, and names inside imported files.
        let reply = app
            .multipart(
                Method::POST,
                "/api/refs/import?name=a%00b",
                &admin,
                "r.json",
                reference_with_otu_name("fine"),
            )
            .await;
        assert_field_error(&reply, "invalid_query", "name", NAME_RULE);
        let reply = app
            .multipart(
                Method::POST,
                "/api/refs/import",
                &admin,
                "r.json",
                reference_with_otu_name("Grapevine\u{0}virus"),
            )
            .await;
        reply.assert_error(
            400,
            "bad_request",
            &format!("Invalid reference file: otus.0.name: {NAME_RULE}"),
        );
        let annotations = json!([{"cluster": 1, "families": {"A": 1}, "names": ["x\u{0}"]}]);
        let reply = app
            .import(
                "/api/hmms/annotations",
                serde_json::to_vec(&annotations).unwrap(),
            )
            .await;
        reply.assert_error(
            400,
            "bad_request",
            &format!("Invalid annotations file: 0.names.0: {NAME_RULE}"),
        );

        // Ids in paths that no object can have: 404, not a database error.
        for path in [
            "/api/samples/ab%00cd",
            "/api/analyses/ab%00cd",
            "/api/analyses/ab%01cd/files/1",
            "/api/analyses/document/ab%00cd.csv",
        ] {
            app.get(path, &admin)
                .await
                .assert_error(404, "not_found", "Not found");
        }
        // Credentials that no user or job can have: 401.
        for login in ["ad\u{0}min", "job-ab\u{0}cd"] {
            let creds = Creds {
                login: login.into(),
                key: admin.key.clone(),
            };
            let reply = app.get("/api/samples/x", &creds).await;
            assert_eq!(reply.status.as_u16(), 401);
            let reply = app.get("/jobs-api/analyses/x", &creds).await;
            assert_eq!(reply.status.as_u16(), 401);
        }

        // Free text of a status entry keeps line breaks but not NUL.
        let ref_id = app.small_reference().await;
        let started = app.started(&ref_id, "pathoscope_bowtie").await;
        let status = format!("/jobs-api/jobs/{}/status", started.job_id);
        let entry = |description: &str| {
            json!({"state": "running", "stage": "map", "progress": 10,
               "step_description": description})
        };
        let reply = app.post(&status, &started.job, &entry("one\u{0}two")).await;
        assert_field_error(
            &reply,
            "invalid_input",
            "step_description",
            "must not contain NUL characters",
        );
        let reply = app
            .post(&status, &started.job, &entry("line one\nline two\t(tab)"))
            .await;
        reply.assert_status(201);
        assert_eq!(
            reply.json()["step_description"],
            "line one\nline two\t(tab)"
        );

        // Results: a contig sequence is stored as text, an HMM id is looked up.
        let nuvs = app.started(&ref_id, "nuvs").await;
        let contig = |sequence: &str, hit: &str| {
            json!({"hits": [{"index": 0, "sequence": sequence, "orfs": [
            {"index": 0, "hits": [{"hit": hit}]}]}]})
        };
        let reply = app
            .finalize(&nuvs.job, &nuvs.id, &contig("AC\u{0}GT", "1"))
            .await;
        assert_field_error(
            &reply,
            "invalid_input",
            "results.hits.0.sequence",
            NAME_RULE,
        );
        let reply = app
            .finalize(&nuvs.job, &nuvs.id, &contig("ACGT", "a\u{0}b"))
            .await;
        assert_field_error(
            &reply,
            "invalid_input",
            "results.hits.0.orfs.0.hits.0.hit",
            "unknown HMM annotation a\u{0}b",
        );
        app.shutdown().await;
    }
);

both!(
    long_file_names_are_stored_and_downloaded,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let started = app.started(&ref_id, "pathoscope_bowtie").await;
        let names = [
            format!("{}.tsv", "a".repeat(251)),
            format!("{}.fastq.gz", "é".repeat(200)),
            "🍇".repeat(255),
        ];
        for (i, name) in names.iter().enumerate() {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("name", name)
                .finish();
            let path = format!("/api/analyses/{}/files?{query}", started.id);
            let content = format!("file {i}").into_bytes();
            let reply = app
                .upload(Method::POST, &path, &app.admin, content.clone())
                .await;
            reply.assert_status(201);
            let file = reply.json();
            assert_eq!(file["name"], name.as_str());
            let on_disk = file["name_on_disk"].as_str().unwrap();
            assert!(on_disk.len() <= 255, "{on_disk}");
            assert!(on_disk.starts_with(&format!("{}-", file["id"])));
            assert!(app.analysis_dir(&started.id).join(on_disk).is_file());
            if name.ends_with(".fastq.gz") {
                assert!(on_disk.ends_with(".fastq.gz"), "{on_disk}");
            }
            let download = app
                .get(
                    &format!("/api/analyses/{}/files/{}", started.id, file["id"]),
                    &app.admin,
                )
                .await;
            download.assert_status(200);
            assert_eq!(download.bytes, content);
        }
        app.shutdown().await;
    }
);

both!(
    oversized_lists_are_refused_before_any_statement,
    config = |c: &mut vira::config::ServeConfig| c.max_json_bytes = 4 << 20,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let sample = app.sample(&app.admin, json!({"name": "s"})).await;
        let path = format!("/api/samples/{sample}/analyses");
        let many: Vec<String> = (0..20_000).map(|i| format!("sub{i:05}")).collect();
        let reply = app
            .post(
                &path,
                &app.admin,
                &json!({"ref_id": ref_id, "workflow": "nuvs", "subtractions": many}),
            )
            .await;
        assert_field_error(
            &reply,
            "invalid_input",
            "subtractions",
            "max length is 1000",
        );
        // At the limit, unknown ids are named in one 400, from one statement.
        let limit: Vec<String> = many[..1000].to_vec();
        let reply = app
            .post(
                &path,
                &app.admin,
                &json!({"ref_id": ref_id, "workflow": "nuvs", "subtractions": limit}),
            )
            .await;
        reply.assert_error(
            400,
            "bad_request",
            &format!("Subtractions do not exist: {}", limit.join(",")),
        );
        let groups: Vec<String> = (0..5000).map(|i| format!("g{i}")).collect();
        let reply = app
            .post(
                "/api/users",
                &app.admin,
                &json!({"handle": "u", "groups": groups}),
            )
            .await;
        assert_field_error(&reply, "invalid_input", "groups", "max length is 1000");
        app.shutdown().await;
    }
);

both!(
    json_bodies_that_are_not_objects_are_422,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let started = app.started(&ref_id, "pathoscope_bowtie").await;
        let (_, user_id) = app.user("someone", &[]).await;
        let routes = [
            (Method::POST, "/api/samples".to_owned(), Some(&app.admin)),
            (
                Method::PATCH,
                format!("/api/samples/{}/rights", started.sample),
                Some(&app.admin),
            ),
            (Method::POST, "/api/users".to_owned(), Some(&app.admin)),
            (
                Method::PATCH,
                format!("/api/users/{user_id}"),
                Some(&app.admin),
            ),
            (Method::POST, "/api/groups".to_owned(), Some(&app.admin)),
            (
                Method::POST,
                "/api/subtractions".to_owned(),
                Some(&app.admin),
            ),
            (
                Method::POST,
                format!("/api/samples/{}/analyses", started.sample),
                Some(&app.admin),
            ),
            (
                Method::PATCH,
                format!("/jobs-api/jobs/{}", started.job_id),
                None,
            ),
            (
                Method::POST,
                format!("/jobs-api/jobs/{}/status", started.job_id),
                Some(&started.job),
            ),
        ];
        for (method, path, creds) in &routes {
            for body in ["null", "1", "\"text\"", "[]", "[{\"name\": \"x\"}]", "true"] {
                let request = app.request(method.clone(), path, *creds).body(body);
                let reply = app.send(request).await;
                assert_field_error(&reply, "invalid_input", "body", "must be of dict type");
            }
        }
        // An empty body still counts as `{}`.
        let rights = format!("/api/samples/{}/rights", started.sample);
        let reply = app
            .send(app.request(Method::PATCH, &rights, Some(&app.admin)))
            .await;
        reply.assert_status(200);
        app.shutdown().await;
    }
);

/// Send `request` (a head, perhaps with part of a body) on a new connection and read what comes
/// back first.
async fn first_answer(app: &TestApp, request: String) -> String {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer without the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// Send a request head with `Expect: 100-continue` and read the first status line back.
async fn first_status_line(app: &TestApp, head: String) -> String {
    let text = first_answer(app, head).await;
    text.lines().next().unwrap_or("").to_owned()
}

/// Whether an answer's head says `Connection: close`.
fn closes(answer: &str) -> bool {
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .any(|line| line.eq_ignore_ascii_case("connection: close"))
}

// A reply made before the request's body was read (refused early) says `Connection: close`:
// hyper closes such a connection after the reply, and a client that sent its next request on it
// would see the connection cut. A request read whole keeps its connection.
both!(
    replies_before_the_body_close_the_connection,
    |app: TestApp| async move {
        let auth = basic(&app.admin);
        let refused = first_answer(
            &app,
            format!(
                "POST /api/analyses/nope1234/files?name=a HTTP/1.1\r\nHost: vira\r\n\
             Authorization: Basic {auth}\r\nContent-Type: multipart/form-data; boundary=x\r\n\
             Content-Length: 1048576\r\n\r\n--x\r\n"
            ),
        )
        .await;
        assert!(refused.starts_with("HTTP/1.1 404"), "{refused}");
        assert!(closes(&refused), "{refused}");
        let read_whole = first_answer(
            &app,
            format!(
                "POST /api/samples HTTP/1.1\r\nHost: vira\r\nAuthorization: Basic {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
            ),
        )
        .await;
        assert!(read_whole.starts_with("HTTP/1.1 4"), "{read_whole}");
        assert!(!closes(&read_whole), "{read_whole}");
        let no_body = first_answer(
        &app,
        format!("GET /api/analyses/nope1234 HTTP/1.1\r\nHost: vira\r\nAuthorization: Basic {auth}\r\n\r\n"),
    )
    .await;
        assert!(no_body.starts_with("HTTP/1.1 404"), "{no_body}");
        assert!(!closes(&no_body), "{no_body}");
    }
);

fn basic(creds: &Creds) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", creds.login, creds.key))
}

both!(
    limits_are_answered_before_100_continue,
    config = |c: &mut vira::config::ServeConfig| {
        c.max_upload_bytes = 10_000;
        c.max_import_bytes = 1_000;
    },
    |app: TestApp| async move {
        // The small fixture reference is over the import limit of this test: a smaller one.
        let (ref_id, _) = app.reference_from(reference_with_otu_name("ok")).await;
        let started = app.started(&ref_id, "pathoscope_bowtie").await;
        let auth = basic(&app.admin);
        let head = |method: &str, path: &str, length: u64| {
            format!(
                "{method} {path} HTTP/1.1\r\nHost: vira\r\nAuthorization: Basic {auth}\r\n\
                 Content-Type: multipart/form-data; boundary=x\r\n\
                 Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
            )
        };
        let upload = format!("/api/analyses/{}/files?name=a.tsv", started.id);
        assert_eq!(
            first_status_line(&app, head("POST", &upload, 1 << 30)).await,
            "HTTP/1.1 413 Payload Too Large"
        );
        assert_eq!(
            first_status_line(&app, head("POST", "/api/samples", 1 << 30)).await,
            "HTTP/1.1 413 Payload Too Large"
        );
        // Where 404 comes first, it comes without the 100 too.
        assert_eq!(
            first_status_line(
                &app,
                head("POST", "/api/analyses/nope1234/files?name=a", 1 << 30)
            )
            .await,
            "HTTP/1.1 404 Not Found"
        );
        // Within the limit the client is invited to send.
        assert_eq!(
            first_status_line(&app, head("POST", &upload, 100)).await,
            "HTTP/1.1 100 Continue"
        );

        // --max-import-bytes bounds a plain import as well as a decompressed one.
        let plain = reference_with_otu_name(&"n".repeat(2000));
        for (name, bytes) in [
            ("r.json", plain.clone()),
            ("r.json.gz", vira::format::gzip(&plain).unwrap()),
        ] {
            let reply = app
                .multipart(Method::POST, "/api/refs/import", &app.admin, name, bytes)
                .await;
            reply.assert_error(413, "payload_too_large", "Payload too large");
        }
        let small = reference_with_otu_name("ok");
        assert!(small.len() < 1000);
        app.multipart(
            Method::POST,
            "/api/refs/import",
            &app.admin,
            "r.json",
            small,
        )
        .await
        .assert_status(201);
        app.shutdown().await;
    }
);
