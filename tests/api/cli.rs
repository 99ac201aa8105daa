//! The command line (contract §7.1, §1.1): `vira user create` and `vira serve --jobs-listen`.

use reqwest::Method;
use serde_json::json;
use tempfile::TempDir;

use crate::support::{create_admin_process, Instance};

fn user_create(data: &std::path::Path, handle: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vira"))
        .args(["user", "create", "--handle", handle, "--data-path"])
        .arg(data)
        .env("VIRA_LOG", "error")
        .output()
        .expect("run vira user create")
}

#[test]
fn user_create_prints_one_key_and_refuses_taken_or_invalid_handles() {
    let data = TempDir::new().unwrap();
    let first = user_create(data.path(), "igboyes");
    assert!(first.status.success());
    let key = String::from_utf8(first.stdout).unwrap();
    assert_eq!(key.lines().count(), 1);
    assert_eq!(key.trim().len(), 64);
    for handle in ["igboyes", "job-1", "a b", ""] {
        let out = user_create(data.path(), handle);
        assert_eq!(out.status.code(), Some(1), "handle {handle:?}");
        assert!(out.stdout.is_empty(), "nothing on stdout for {handle:?}");
        assert!(!out.stderr.is_empty(), "a message on stderr for {handle:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_listen_serves_only_the_jobs_api() {
    let data = TempDir::new().unwrap();
    let url = format!("sqlite://{}/vira.db", data.path().display());
    let admin = create_admin_process(data.path(), &url).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let jobs_addr = format!("127.0.0.1:{port}");
    let main = Instance::start(data.path(), &url, &["--jobs-listen", &jobs_addr]).await;
    let reference = main
        .multipart(
            Method::POST,
            "/api/refs/import",
            &admin,
            "r.json.gz",
            crate::support::fixture_bytes("reference/reference.json.gz"),
        )
        .await
        .json();
    let ref_id = reference["id"].as_str().unwrap();
    main.json(
        Method::POST,
        &format!("/api/refs/{ref_id}/indexes"),
        Some(&admin),
        &json!({}),
    )
    .await
    .assert_status(201);
    let sample = main
        .json(
            Method::POST,
            "/api/samples",
            Some(&admin),
            &json!({"name": "s"}),
        )
        .await
        .json();
    let analysis = main
        .json(
            Method::POST,
            &format!("/api/samples/{}/analyses", sample["id"].as_str().unwrap()),
            Some(&admin),
            &json!({"ref_id": ref_id, "workflow": "nuvs"}),
        )
        .await
        .json();
    let job_id = analysis["job"]["id"].as_str().unwrap();
    let jobs = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{jobs_addr}");
    // The second address acquires jobs…
    let reply = crate::support::fetch(
        jobs.patch(format!("{base}/jobs-api/jobs/{job_id}"))
            .json(&json!({"acquired": true})),
    )
    .await;
    reply.assert_status(200);
    // …and does not serve the user API.
    let reply = crate::support::fetch(
        jobs.get(format!("{base}/api/analyses"))
            .basic_auth(&admin.login, Some(&admin.key)),
    )
    .await;
    reply.assert_error(404, "not_found", "Not found");
    // The main address serves both.
    main.get("/api/analyses", &admin).await.assert_status(200);
}
