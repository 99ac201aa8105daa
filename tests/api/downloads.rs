//! U7: the download check table, Content-Type by format, Content-Disposition quoting, HEAD.

use reqwest::Method;
use serde_json::json;

use crate::every_store;
use crate::support::{Reply, Setup, TestApp};

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Upload `name` with `format` through U6; returns the file id.
async fn put(app: &TestApp, analysis_id: &str, name: &str, format: &str) -> i64 {
    let path = format!(
        "/api/analyses/{analysis_id}/files?name={}&format={format}",
        enc(name)
    );
    let reply = app
        .upload(Method::POST, &path, &app.admin, name.as_bytes().to_vec())
        .await;
    reply.assert_status(201);
    reply.json()["id"].as_i64().unwrap()
}

/// The raw bytes of a header (non-ASCII values included).
fn raw_header(reply: &Reply, name: &str) -> Vec<u8> {
    reply
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .as_bytes()
        .to_vec()
}

every_store!(download_check_table, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let run = app.started(&ref_id, "nuvs").await;
    let other = app.started(&ref_id, "nuvs").await;
    let (bob, _) = app.user("bob", &[]).await;
    let closed = app
        .sample(&app.admin, json!({"name": "closed", "all_read": false}))
        .await;
    let hidden = app.analysis(&app.admin, &closed, &ref_id, "nuvs").await;
    let hidden_id = hidden["id"].as_str().unwrap();
    let mine = put(&app, &run.id, "a.fa", "fasta").await;
    let theirs = put(&app, &other.id, "b.fa", "fasta").await;
    let secret = put(&app, hidden_id, "c.fa", "fasta").await;
    let url = |a: &str, f: &str| format!("/api/analyses/{a}/files/{f}");

    app.send(app.request(Method::GET, &url(&run.id, &mine.to_string()), None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.get(&url("nope1234", &mine.to_string()), &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&url(hidden_id, &secret.to_string()), &bob)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    // Bob may read `run` (its sample is readable by all) but the file must belong to it.
    app.get(&url(&run.id, &theirs.to_string()), &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    for bad in ["abc", "blast", "0", "-1", "99999"] {
        app.get(&url(&run.id, bad), &bob)
            .await
            .assert_error(404, "not_found", "Not found");
    }
    let ok = app.get(&url(&run.id, &mine.to_string()), &bob).await;
    ok.assert_status(200);
    assert_eq!(ok.bytes, b"a.fa");
    // HEAD: same status and headers, no body.
    let head = app
        .send(app.request(Method::HEAD, &url(&run.id, &mine.to_string()), Some(&bob)))
        .await;
    head.assert_status(200);
    assert!(head.bytes.is_empty());
    assert_eq!(head.header("content-length").as_deref(), Some("4"));
    assert_eq!(head.header("content-type").as_deref(), Some("text/x-fasta"));
    // The stored object is gone: a distinct 404 message.
    app.remove_stored(&run.id, &format!("{mine}-a.fa")).await;
    app.get(&url(&run.id, &mine.to_string()), &bob)
        .await
        .assert_error(
            404,
            "not_found",
            "Uploaded file not found at expected location",
        );
    // Parent sample missing.
    app.drop_sample(&run.sample).await;
    app.get(&url(&run.id, &mine.to_string()), &bob)
        .await
        .assert_error(400, "bad_request", "Parent sample does not exist");
});

every_store!(
    content_type_follows_format_and_gz_name,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let run = app.started(&ref_id, "nuvs").await;
        for (name, format, content_type) in [
            ("r.fa.gz", "fasta", "application/gzip"),
            ("r.gz", "", "application/gzip"),
            ("r.fa", "fasta", "text/x-fasta"),
            ("r.fq", "fastq", "text/x-fastq"),
            ("r.sam", "sam", "text/x-sam"),
            ("r.csv", "csv", "text/csv"),
            ("r.tsv", "tsv", "text/tab-separated-values"),
            ("r.json", "json", "application/json"),
            ("r.bam", "bam", "application/octet-stream"),
            ("r.txt", "", "application/octet-stream"),
        ] {
            let id = put(&app, &run.id, name, format).await;
            let reply = app
                .get(&format!("/api/analyses/{}/files/{id}", run.id), &app.admin)
                .await;
            reply.assert_status(200);
            assert_eq!(
                reply.header("content-type").as_deref(),
                Some(content_type),
                "{name}"
            );
        }
    }
);

every_store!(
    content_disposition_quotes_names,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let run = app.started(&ref_id, "nuvs").await;
        for (name, disposition) in [
            ("report.tsv", "attachment; filename=report.tsv".to_owned()),
            (
                "a!#$&+-.^_`|~Z9",
                "attachment; filename=a!#$&+-.^_`|~Z9".to_owned(),
            ),
            (
                "my file.fa",
                "attachment; filename=\"my file.fa\"".to_owned(),
            ),
            (
                "my \"file\".fa",
                "attachment; filename=\"my \\\"file\\\".fa\"".to_owned(),
            ),
            ("a;b=c.fa", "attachment; filename=\"a;b=c.fa\"".to_owned()),
            (
                "café.tsv",
                "attachment; filename=\"café.tsv\"; filename*=UTF-8''caf%C3%A9.tsv".to_owned(),
            ),
            (
                "日本 1.fa",
                "attachment; filename=\"日本 1.fa\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%201.fa"
                    .to_owned(),
            ),
        ] {
            let id = put(&app, &run.id, name, "").await;
            let reply = app
                .get(&format!("/api/analyses/{}/files/{id}", run.id), &app.admin)
                .await;
            reply.assert_status(200);
            assert_eq!(
                String::from_utf8(raw_header(&reply, "content-disposition")).unwrap(),
                disposition,
                "{name}"
            );
        }
    }
);

// An upload of more than one part (5 MiB here), so that it is in flight on either storage: a
// temporary file locally, a multipart upload and its marker on the store.
every_store!(
    upload_committing_after_delete_gets_404_and_leaves_nothing,
    config = |c: &mut vira::config::ServeConfig| c.s3.s3_part_bytes = 5 << 20,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let run = app.started(&ref_id, "nuvs").await;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
        let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
        let part = reqwest::multipart::Part::stream(body).file_name("slow.bin");
        let form = reqwest::multipart::Form::new().part("file", part);
        let path = format!("/jobs-api/analyses/{}/files?name=slow.bin", run.id);
        let upload = app.send(
            app.request(Method::POST, &path, Some(&run.job))
                .multipart(form),
        );
        let drive = async {
            tx.send(Ok(vec![1; 6 << 20])).await.unwrap();
            // Wait until the server is writing the upload, then delete the analysis (J5).
            for _ in 0..200 {
                if !app.temporary_objects().await.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert_eq!(
                app.temporary_objects().await.len(),
                1,
                "the upload is in flight"
            );
            app.delete(&format!("/jobs-api/analyses/{}", run.id), &run.job)
                .await
                .assert_status(204);
            tx.send(Ok(vec![2; 1 << 16])).await.unwrap();
            drop(tx);
        };
        let (reply, ()) = tokio::join!(upload, drive);
        reply.assert_error(404, "not_found", "Not found");
        assert_eq!(app.rows("analysis_files", "analysis_id", &run.id).await, 0);
        assert!(app.stored_names(&run.id).await.is_empty());
        assert!(
            !app.analysis_dir(&run.id).exists(),
            "no directory is left for the deleted analysis"
        );
        app.assert_no_temporary_objects().await;
    }
);

/// A stream over an mpsc receiver.
fn tokio_stream_from<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}

every_store!(
    multipart_file_is_the_first_part_named_file,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let run = app.started(&ref_id, "nuvs").await;
        let form = reqwest::multipart::Form::new()
            .text("before", "skipped")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"first".to_vec()).file_name("a"),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"second".to_vec()).file_name("b"),
            );
        let path = format!("/api/analyses/{}/files?name=parts.txt", run.id);
        let reply = app
            .send(
                app.request(Method::POST, &path, Some(&app.admin))
                    .multipart(form),
            )
            .await;
        reply.assert_status(201);
        assert_eq!(reply.json()["size"], 5);
        let id = reply.json()["id"].clone();
        let download = app
            .get(&format!("/api/analyses/{}/files/{id}", run.id), &app.admin)
            .await;
        assert_eq!(download.bytes, b"first");
    }
);
