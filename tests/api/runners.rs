//! Runner credentials (workflows.md §7.1): U33–U35, `vira runner create | list | revoke`, and which
//! credential each API takes.

use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::both;
use crate::claim::{claim, claimable_analysis, credential, job_creds, ping, runner};
use crate::support::{assert_keys, Creds, Setup, TestApp};

const RUNNER_KEYS: &[&str] = &[
    "id",
    "name",
    "created_at",
    "user",
    "last_claim_at",
    "revoked",
];

both!(create_runners, |app: TestApp| async move {
    let (bob, _) = app.user("bob", &[]).await;
    app.send(app.request(Method::POST, "/api/runners", None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.post("/api/runners", &bob, &json!({"name": "w1"}))
        .await
        .assert_error(403, "forbidden", "Requires administrative privilege");
    app.send(
        app.request(Method::POST, "/api/runners", Some(&app.admin))
            .header("content-type", "application/json")
            .body("{x"),
    )
    .await
    .assert_error(400, "bad_request", "Malformed JSON");
    for (body, errors) in [
        (json!({}), json!({"name": ["required field"]})),
        (
            json!({"name": 3}),
            json!({"name": ["must be of string type"]}),
        ),
        (json!({"name": ""}), json!({"name": ["invalid name"]})),
        (json!({"name": "a b"}), json!({"name": ["invalid name"]})),
        (
            json!({"name": "x".repeat(65)}),
            json!({"name": ["invalid name"]}),
        ),
    ] {
        let reply = app.post("/api/runners", &app.admin, &body).await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        assert_eq!(reply.json()["errors"], errors, "{body}");
    }
    let reply = app
        .post("/api/runners", &app.admin, &json!({"name": "lab-1.a:b_c"}))
        .await;
    reply.assert_status(201);
    let body = reply.json();
    let mut keys = RUNNER_KEYS.to_vec();
    keys.push("credential");
    assert_keys(&body, &keys);
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 8);
    assert!(id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    assert_eq!(
        reply.header("location").as_deref(),
        Some(format!("/api/runners/{id}").as_str())
    );
    assert_eq!(body["user"]["handle"], "admin");
    assert_eq!(body["last_claim_at"], Value::Null);
    assert_eq!(body["revoked"], false);
    let credential = body["credential"].as_str().unwrap();
    let (login, key) = credential.split_once(':').unwrap();
    assert_eq!(login, format!("runner-{id}"));
    assert_eq!(key.len(), 64);
    app.post("/api/runners", &app.admin, &json!({"name": "lab-1.a:b_c"}))
        .await
        .assert_error(400, "bad_request", "Runner already exists");
});

both!(list_and_revoke_runners, |app: TestApp| async move {
    let (bob, _) = app.user("bob", &[]).await;
    let first = runner(&app, "one").await;
    let second = runner(&app, "two").await;
    app.get("/api/runners", &bob).await.assert_error(
        403,
        "forbidden",
        "Requires administrative privilege",
    );
    let listed = app.get("/api/runners", &app.admin).await;
    listed.assert_status(200);
    let documents = listed.json()["documents"].as_array().unwrap().clone();
    assert_eq!(documents.len(), 2);
    assert_eq!(documents[0]["name"], "one");
    assert_eq!(documents[1]["name"], "two");
    for document in &documents {
        assert_keys(document, RUNNER_KEYS);
    }
    let id = first.login.strip_prefix("runner-").unwrap();
    let path = format!("/api/runners/{id}");
    app.delete(&path, &bob).await.assert_error(
        403,
        "forbidden",
        "Requires administrative privilege",
    );
    app.delete("/api/runners/nope1234", &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    // A claimed job's key outlives its runner's revocation.
    let ref_id = app.small_reference().await;
    let (_, job_id) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    let job = claim(&app, &first, "?workflow=pathoscope_bowtie")
        .await
        .json();
    app.delete(&path, &app.admin).await.assert_status(204);
    app.delete(&path, &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    claim(&app, &first, "?workflow=nuvs").await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    ping(&app, &job_creds(&job), &job_id)
        .await
        .assert_status(200);
    claim(&app, &second, "?workflow=nuvs")
        .await
        .assert_status(204);
    let documents = app.get("/api/runners", &app.admin).await.json()["documents"].clone();
    assert_eq!(documents[0]["revoked"], true);
    assert_eq!(documents[1]["revoked"], false);
    // The name is free again once revoked.
    runner(&app, "one").await;
});

both!(runner_logins_on_the_user_api, |app: TestApp| async move {
    let runner = runner(&app, "u").await;
    app.get("/api/analyses", &runner).await.assert_error(
        401,
        "malformed_authorization_header",
        "Jobs cannot authenticate against this service",
    );
    let reply = app
        .post("/api/users", &app.admin, &json!({"handle": "runner-x"}))
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(
        reply.json()["errors"],
        json!({"handle": ["invalid handle"]})
    );
    // A job credential on J8, a runner credential on the job routes: 401.
    let ref_id = app.small_reference().await;
    let (_, job_id) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    let job = app.acquire(&job_id).await;
    claim(&app, &job, "?workflow=nuvs").await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    for (method, path) in [
        (Method::GET, format!("/jobs-api/jobs/{job_id}")),
        (Method::PUT, format!("/jobs-api/jobs/{job_id}/ping")),
        (Method::POST, format!("/jobs-api/jobs/{job_id}/release")),
        (Method::POST, format!("/jobs-api/jobs/{job_id}/status")),
    ] {
        app.send(app.request(method, &path, Some(&runner)))
            .await
            .assert_error(
                401,
                "invalid_authorization_header",
                "Invalid authorization header",
            );
    }
    let unknown = Creds {
        login: "runner-nope1234".into(),
        key: "0".repeat(64),
    };
    claim(&app, &unknown, "?workflow=nuvs").await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
});

fn vira(args: &[&str], data: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vira"))
        .args(args)
        .arg("--data-path")
        .arg(data)
        .env("VIRA_LOG", "error")
        .output()
        .expect("run vira")
}

#[test]
fn runner_commands() {
    let data = TempDir::new().unwrap();
    let created = vira(&["runner", "create", "--name", "w1"], data.path());
    assert!(created.status.success());
    let line = String::from_utf8(created.stdout).unwrap();
    assert_eq!(line.lines().count(), 1);
    let creds = credential(line.trim());
    let id = creds.login.strip_prefix("runner-").unwrap().to_owned();
    assert_eq!(id.len(), 8);
    assert_eq!(creds.key.len(), 64);
    for name in ["w1", "a b", ""] {
        let out = vira(&["runner", "create", "--name", name], data.path());
        assert_eq!(out.status.code(), Some(1), "name {name:?}");
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty());
    }
    assert!(vira(&["runner", "create", "--name", "w2"], data.path())
        .status
        .success());
    let listed = vira(&["runner", "list"], data.path());
    assert!(listed.status.success());
    let text = String::from_utf8(listed.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0][0], id);
    assert_eq!(lines[0][1], "w1");
    assert!(lines[0][2].ends_with('Z'));
    assert_eq!(lines[0][3], "-");
    assert_eq!(lines[0][4], "active");
    assert_eq!(lines[1][1], "w2");
    assert!(vira(&["runner", "revoke", &id], data.path())
        .status
        .success());
    let out = vira(&["runner", "revoke", &id], data.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stderr.is_empty());
    let out = vira(&["runner", "revoke", "nope1234"], data.path());
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(vira(&["runner", "list"], data.path()).stdout).unwrap();
    assert!(text.lines().next().unwrap().ends_with("\trevoked"));
    // A user handle may not start with `runner-`.
    let out = vira(&["user", "create", "--handle", "runner-1"], data.path());
    assert_eq!(out.status.code(), Some(1));
}
