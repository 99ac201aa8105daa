//! Faults and races (hostile-input issue, items 3 and 4): interrupted and failing uploads, `kill -9`
//! during an upload and during finalize, SIGTERM draining, and concurrent conflicting requests.
//! After each, the database and the file store must agree: no analysis ready without results, no
//! file record without its file, no stored or temporary object without a record.

use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::both;
use crate::support::{
    create_admin_process, eventually, files_under, process_storage, Backend, Creds, Instance,
    Setup, TestApp,
};

const BOUNDARY: &str = "vira-fault-boundary";

/// A multipart body with `content` in the part named `file`.
pub(crate) fn multipart_body(name: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Deterministic bytes (xorshift), so a download can be compared without keeping a copy around.
pub(crate) fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Send the request line, headers and the first `sent` bytes of `body`, and keep the connection
/// open: the server is now in the middle of reading the upload.
pub(crate) async fn partial_upload(
    base: &str,
    path: &str,
    creds: &Creds,
    body: &[u8],
    sent: usize,
) -> TcpStream {
    partial_request(base, "POST", path, creds, body, sent).await
}

/// [`partial_upload`] with another method (the PUT uploads of the jobs API).
pub(crate) async fn partial_request(
    base: &str,
    method: &str,
    path: &str,
    creds: &Creds,
    body: &[u8],
    sent: usize,
) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", creds.login, creds.key));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// A small reference, a sample and an analysis with its job acquired, through any server:
/// `(analysis id, job creds)`.
pub(crate) async fn analysis_with_job(server: &impl Setup, workflow: &str) -> (String, Creds) {
    let ref_id = server.small_reference().await;
    let started = server.started(&ref_id, workflow).await;
    (started.id, started.job)
}

both!(
    client_disconnect_mid_upload_leaves_nothing,
    |app: TestApp| async move {
        let (id, _) = analysis_with_job(&app, "nuvs").await;
        let body = multipart_body("big.bin", &pattern(4 << 20, 7));
        let path = format!("/api/analyses/{id}/files?name=big.bin");
        let stream = partial_upload(&app.base, &path, &app.admin, &body, 1 << 20).await;
        let tmp = app.data.path().join("tmp");
        eventually("the upload is being written", || {
            !files_under(&tmp).is_empty()
        })
        .await;
        drop(stream);
        eventually("the temporary object is removed", || {
            files_under(&tmp).is_empty()
        })
        .await;
        let analysis = app
            .get(&format!("/api/analyses/{id}"), &app.admin)
            .await
            .json();
        assert_eq!(analysis["files"], json!([]));
        assert!(files_under(&app.data.path().join("analyses").join(&id)).is_empty());
        // The name is free: a complete upload of it succeeds.
        app.multipart(
            Method::POST,
            &path,
            &app.admin,
            "big.bin",
            b"complete".to_vec(),
        )
        .await
        .assert_status(201);
    }
);

/// A small tmpfs mounted for one test (the test runs as root, as CI does); unmounted on drop.
struct SmallDisk {
    dir: TempDir,
}

impl SmallDisk {
    fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = TempDir::new().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Some(SmallDisk { dir }),
            _ => {
                eprintln!("SKIPPED disk-full test: cannot mount a tmpfs here (needs root)");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

both!(
    disk_full_during_upload_is_a_clear_error,
    |app: TestApp| async move {
        let backend = app.backend;
        app.shutdown().await;
        let Some(disk) = SmallDisk::mount(3 << 20) else {
            return;
        };
        let data_path = disk.dir.path().to_path_buf();
        let Some(app) =
            TestApp::spawn_with(backend, |c| c.storage.data_path = data_path.clone()).await
        else {
            return;
        };
        let (id, job) = analysis_with_job(&app, "nuvs").await;
        let path = format!("/jobs-api/analyses/{id}/files?name=huge.bin");
        let reply = app
            .multipart(Method::POST, &path, &job, "huge.bin", pattern(8 << 20, 3))
            .await;
        assert!(
            matches!(reply.status.as_u16(), 507 | 500),
            "status {} body {}",
            reply.status,
            String::from_utf8_lossy(&reply.bytes)
        );
        let body = reply.json();
        assert!(
            body["id"] == "insufficient_storage" || body["id"] == "internal_error",
            "{body}"
        );
        assert!(files_under(&disk.dir.path().join("tmp")).is_empty());
        assert!(files_under(&disk.dir.path().join("analyses").join(&id)).is_empty());
        let analysis = app
            .get(&format!("/api/analyses/{id}"), &app.admin)
            .await
            .json();
        assert_eq!(analysis["files"], json!([]));
        // Space is back once the failed object is gone: a small upload works.
        app.multipart(Method::POST, &path, &job, "huge.bin", b"small".to_vec())
            .await
            .assert_status(201);
        app.shutdown().await;
    }
);

async fn kill_during_upload(backend: Backend) {
    let Some((dir, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let mut inst = Instance::start(dir.path(), &url, &["--no-blast-worker"]).await;
    let (id, _) = analysis_with_job(&inst.as_admin(&admin), "nuvs").await;
    let kept_upload =
        crate::support::upload(&inst, &admin, "kept.fq.gz", "reads", b"kept".to_vec()).await;
    let body = multipart_body("reads.sam", &pattern(4 << 20, 11));
    let path = format!("/api/analyses/{id}/files?name=reads.sam&format=sam");
    let _stream = partial_upload(&inst.base, &path, &admin, &body, 2 << 20).await;
    let tmp = dir.path().join("tmp");
    eventually("the upload is being written", || {
        !files_under(&tmp).is_empty()
    })
    .await;
    inst.kill9().await;
    assert!(
        !files_under(&tmp).is_empty(),
        "kill -9 leaves the temporary object behind"
    );
    // A committed-but-unrecorded object, as a crash between commit and insert would leave it.
    let orphan_dir = dir.path().join("analyses").join(&id);
    std::fs::create_dir_all(&orphan_dir).unwrap();
    std::fs::write(orphan_dir.join("99-orphan.sam"), b"orphan").unwrap();
    // The same for every other kind of stored object, of owners that exist or not.
    let other_orphans = [
        "uploads/99-orphan.fq.gz".to_owned(),
        "samples/nosuchsample/reads_1.fq.gz".to_owned(),
        "indexes/nosuchindex/reference.1.bt2".to_owned(),
        "subtractions/nosuchsubtraction/subtraction.fa.gz".to_owned(),
    ];
    for key in &other_orphans {
        let path = dir.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"orphan").unwrap();
    }

    let inst = Instance::start(dir.path(), &url, &["--no-blast-worker"]).await;
    for key in &other_orphans {
        let path = dir.path().join(key);
        assert!(!path.exists(), "start-up removes {key}");
        assert!(
            !path.parent().unwrap().exists() || key.starts_with("uploads/"),
            "and the folder of an owner that is gone: {key}"
        );
    }
    let kept = inst
        .get(&format!("/api/uploads/{kept_upload}"), &admin)
        .await;
    kept.assert_status(200);
    assert_eq!(kept.bytes, b"kept", "a recorded upload stays");
    assert!(
        files_under(&tmp).is_empty(),
        "start-up removes temporary objects"
    );
    assert!(
        files_under(&orphan_dir).is_empty(),
        "start-up removes objects without a record"
    );
    let analysis = inst
        .get(&format!("/api/analyses/{id}"), &admin)
        .await
        .json();
    assert_eq!(analysis["files"], json!([]));
    let reply = inst
        .multipart(Method::POST, &path, &admin, "reads.sam", b"@HD".to_vec())
        .await;
    reply.assert_status(201);
    let file_id = reply.json()["id"].as_i64().unwrap();
    let download = inst
        .get(&format!("/api/analyses/{id}/files/{file_id}"), &admin)
        .await;
    assert_eq!(download.bytes, b"@HD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_upload_then_restart_sqlite() {
    kill_during_upload(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_upload_then_restart_postgres() {
    kill_during_upload(Backend::Postgres).await;
}

/// The OTUs of the small (20-OTU) reference fixture.
pub(crate) fn small_reference_otus() -> Value {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&crate::support::fixture_bytes("reference/reference.json.gz")[..])
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["otus"].clone()
}

/// A Pathoscope results body against the 20-OTU reference, `values` depth values per hit: big
/// enough that formatting takes a while, so a kill lands in the middle of finalize.
pub(crate) fn heavy_results(values: usize) -> Vec<u8> {
    let mut hits = Vec::new();
    for otu in small_reference_otus().as_array().unwrap() {
        let sequence = &otu["isolates"][0]["sequences"][0];
        hits.push(json!({
            "id": sequence["_id"], "otu": {"id": otu["_id"], "version": 0},
            "align": (0..values).map(|i| (i * 7919 % 97) as u32).collect::<Vec<_>>(),
            "coverage": 1.0, "final": {"pi": 0.5, "best": 0.5, "reads": 10},
        }));
    }
    serde_json::to_vec(&json!({"results": {"hits": hits, "read_count": 100}})).unwrap()
}

async fn kill_during_finalize(backend: Backend) {
    let Some((dir, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let mut inst = Instance::start(dir.path(), &url, &["--no-blast-worker"]).await;
    let (id, job) = analysis_with_job(&inst.as_admin(&admin), "pathoscope_bowtie").await;
    let body = heavy_results(400_000);
    let request = inst
        .request(
            Method::PATCH,
            &format!("/jobs-api/analyses/{id}"),
            Some(&job),
        )
        .body(body.clone());
    let finalize = tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    // Kill once the body has arrived and formatting runs (the response has not come back yet).
    tokio::time::sleep(Duration::from_millis(300)).await;
    inst.kill9().await;
    let early = finalize.await.unwrap();
    let inst = Instance::start(dir.path(), &url, &["--no-blast-worker"]).await;
    let analysis = inst
        .get(&format!("/api/analyses/{id}"), &admin)
        .await
        .json();
    if analysis["ready"] == true {
        // The kill came after the commit: everything must be there.
        assert!(analysis["results"]["hits"]
            .as_array()
            .is_some_and(|h| !h.is_empty()));
        inst.get(&format!("/api/analyses/document/{id}.csv"), &admin)
            .await
            .assert_status(200);
    } else {
        assert_eq!(
            early.ok(),
            None,
            "a 200 was answered but the analysis is not ready"
        );
        assert_eq!(analysis["results"], Value::Null);
        assert_eq!(analysis["read_count"], Value::Null);
        inst.get(&format!("/api/analyses/document/{id}.csv"), &admin)
            .await
            .assert_error(409, "conflict", "Analysis is still running");
        // The runner can simply finalize again.
        let reply = inst
            .send(
                inst.request(
                    Method::PATCH,
                    &format!("/jobs-api/analyses/{id}"),
                    Some(&job),
                )
                .body(body),
            )
            .await;
        reply.assert_status(200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_finalize_then_restart_sqlite() {
    kill_during_finalize(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_finalize_then_restart_postgres() {
    kill_during_finalize(Backend::Postgres).await;
}

async fn sigterm_drains(backend: Backend) {
    let Some((dir, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let mut inst = Instance::start(dir.path(), &url, &[]).await;
    let (id, job) = analysis_with_job(&inst.as_admin(&admin), "nuvs").await;
    let content = pattern(32 << 20, 5);
    let reply = inst
        .multipart(
            Method::POST,
            &format!("/jobs-api/analyses/{id}/files?name=big.bin"),
            &job,
            "big.bin",
            content.clone(),
        )
        .await;
    reply.assert_status(201);
    let file_id = reply.json()["id"].as_i64().unwrap();
    // A slow reader keeps a download in flight while SIGTERM arrives.
    let mut response = inst
        .request(
            Method::GET,
            &format!("/api/analyses/{id}/files/{file_id}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    let mut received = response.chunk().await.unwrap().unwrap().to_vec();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &inst.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New connections are refused while the in-flight download drains.
    assert!(reqwest::Client::new()
        .get(inst.url("/api/analyses"))
        .send()
        .await
        .is_err());
    while let Some(chunk) = response.chunk().await.unwrap() {
        received.extend_from_slice(&chunk);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        received == content,
        "the in-flight download finished intact"
    );
    let exit = inst
        .wait_exit(Duration::from_secs(15))
        .await
        .expect("vira exits after draining");
    assert!(exit.success(), "clean exit: {exit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_sqlite() {
    sigterm_drains(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_postgres() {
    sigterm_drains(Backend::Postgres).await;
}

both!(delete_races_upload, |app: TestApp| async move {
    for round in 0..4 {
        let (id, job) = analysis_with_job(&app, "nuvs").await;
        let path = format!("/jobs-api/analyses/{id}/files?name=f{round}.bin");
        let analysis_path = format!("/jobs-api/analyses/{id}");
        let (upload, delete) = tokio::join!(
            app.multipart(Method::POST, &path, &job, "f.bin", pattern(2 << 20, round)),
            app.send(app.request(Method::DELETE, &analysis_path, Some(&job)))
        );
        assert_eq!(
            delete.status.as_u16(),
            204,
            "{}",
            String::from_utf8_lossy(&delete.bytes)
        );
        assert!(
            matches!(upload.status.as_u16(), 201 | 404),
            "upload {}",
            upload.status
        );
        let dir = app.data.path().join("analyses").join(&id);
        eventually("no object of the deleted analysis is left", || {
            files_under(&dir).is_empty()
        })
        .await;
        assert!(files_under(&app.data.path().join("tmp")).is_empty());
        app.get(&format!("/api/analyses/{id}"), &app.admin)
            .await
            .assert_error(404, "not_found", "Not found");
        // The job keeps working credentials but its analysis is gone.
        app.send(app.request(Method::GET, &format!("/jobs-api/analyses/{id}"), Some(&job)))
            .await
            .assert_error(404, "not_found", "Not found");
    }
});

both!(delete_races_finalize, |app: TestApp| async move {
    for _ in 0..4 {
        let (id, job) = analysis_with_job(&app, "nuvs").await;
        let body = json!({"results": {"hits": [{"index": 0, "sequence": "ACGT", "orfs": []}]}});
        let path = format!("/jobs-api/analyses/{id}");
        let (finalize, delete) = tokio::join!(
            app.json(Method::PATCH, &path, Some(&job), &body),
            app.send(app.request(Method::DELETE, &path, Some(&job)))
        );
        match (finalize.status.as_u16(), delete.status.as_u16()) {
            (200, 409) => {
                delete.assert_error(409, "conflict", "Analysis is finalized");
                let analysis = app
                    .get(&format!("/api/analyses/{id}"), &app.admin)
                    .await
                    .json();
                assert_eq!(analysis["ready"], true);
                assert_eq!(analysis["results"]["hits"][0]["blast"], Value::Null);
            }
            (404, 204) => {
                finalize.assert_error(
                    404,
                    "not_found",
                    &format!("There is no analysis with id {id}"),
                );
                app.get(&format!("/api/analyses/{id}"), &app.admin)
                    .await
                    .assert_error(404, "not_found", "Not found");
            }
            other => panic!("impossible outcome {other:?}"),
        }
    }
});

both!(
    rights_change_during_long_download,
    |app: TestApp| async move {
        let (bob, _) = app.user("bob", &[]).await;
        let ref_id = app.small_reference().await;
        let sample = app
            .sample(&app.admin, json!({"name": "shared", "all_read": true}))
            .await;
        let analysis = app.analysis(&app.admin, &sample, &ref_id, "nuvs").await;
        let id = analysis["id"].as_str().unwrap();
        let content = pattern(24 << 20, 9);
        let reply = app
            .multipart(
                Method::POST,
                &format!("/api/analyses/{id}/files?name=big.bin"),
                &app.admin,
                "big.bin",
                content.clone(),
            )
            .await;
        let file_id = reply.json()["id"].as_i64().unwrap();
        let path = format!("/api/analyses/{id}/files/{file_id}");
        let mut response = app
            .request(Method::GET, &path, Some(&bob))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let mut received = response.chunk().await.unwrap().unwrap().to_vec();
        app.patch(
            &format!("/api/samples/{sample}/rights"),
            &app.admin,
            &json!({"all_read": false}),
        )
        .await
        .assert_status(200);
        while let Some(chunk) = response.chunk().await.unwrap() {
            received.extend_from_slice(&chunk);
        }
        assert!(
            received == content,
            "the download that had started finishes intact"
        );
        app.get(&path, &bob)
            .await
            .assert_error(403, "insufficient_rights", "Insufficient rights");
    }
);
