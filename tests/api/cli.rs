//! The command line (contract §7.1, §1.1): `vira user create` and `vira serve --jobs-listen`.

use serde_json::json;
use tempfile::TempDir;

use crate::support::{create_admin_process, process_storage, Backend, Instance, Launch, Setup};

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

async fn jobs_listen(backend: Backend) {
    let Some((data, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(data.path(), &url).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let jobs_addr = format!("127.0.0.1:{port}");
    let main = Instance::start(data.path(), &url, &["--jobs-listen", &jobs_addr]).await;
    let setup = main.as_admin(&admin);
    let ref_id = setup.small_reference().await;
    let sample = setup.sample(&admin, json!({"name": "s"})).await;
    let analysis = setup.analysis(&admin, &sample, &ref_id, "nuvs").await;
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
    // The same layer stack as the main listener: request ids, JSON 405s, limits, timeouts.
    let reply = crate::support::fetch(
        jobs.delete(format!("{base}/jobs-api/jobs/{job_id}"))
            .header("x-request-id", "runner-17"),
    )
    .await;
    reply.assert_error(405, "method_not_allowed", "Method not allowed");
    assert_eq!(reply.header("x-request-id").as_deref(), Some("runner-17"));
    let reply = crate::support::fetch(
        jobs.patch(format!("{base}/jobs-api/jobs/{job_id}"))
            .body(vec![b' '; 2 << 20]),
    )
    .await;
    reply.assert_error(413, "payload_too_large", "Payload too large");
    // The main address serves both.
    main.get("/api/analyses", &admin).await.assert_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_listen_serves_only_the_jobs_api_with_the_same_layers_sqlite() {
    jobs_listen(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_listen_serves_only_the_jobs_api_with_the_same_layers_postgres() {
    jobs_listen(Backend::Postgres).await;
}

/// Start `vira serve` with its standard error in a file and the given extra options.
async fn logged_instance(data: &TempDir, extra: &[&str]) -> (Instance, std::path::PathBuf) {
    let url = format!("sqlite://{}/vira.db", data.path().display());
    let log = data.path().join("stderr.log");
    let launch = Launch {
        stderr: Some(log.clone()),
        log: Some("info"),
        ..Launch::default()
    };
    let mut options = vec!["--no-blast-worker"];
    options.extend_from_slice(extra);
    (
        Instance::start_with(data.path(), &url, &options, launch).await,
        log,
    )
}

/// The request log lines (`vira::request`) written so far, as JSON objects.
fn request_lines(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "vira::request")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_json_log_line_per_request_with_route_status_bytes_and_request_id() {
    let data = TempDir::new().unwrap();
    let url = format!("sqlite://{}/vira.db", data.path().display());
    let admin = create_admin_process(data.path(), &url).await;
    let (inst, log) = logged_instance(&data, &["--log-format", "json"]).await;
    let reply = crate::support::fetch(
        inst.client
            .get(inst.url("/api/analyses/nope1234"))
            .basic_auth(&admin.login, Some(&admin.key))
            .header("x-request-id", "lab-42.a"),
    )
    .await;
    reply.assert_error(404, "not_found", "Not found");
    assert_eq!(reply.header("x-request-id").as_deref(), Some("lab-42.a"));
    // An invalid id is replaced by a generated one.
    let reply = crate::support::fetch(
        inst.client
            .get(inst.url("/api/analyses"))
            .basic_auth(&admin.login, Some(&admin.key))
            .header("x-request-id", "no spaces allowed"),
    )
    .await;
    reply.assert_status(200);
    let generated = reply.header("x-request-id").unwrap();
    assert_ne!(generated, "no spaces allowed");
    // Exactly one line per request (the readiness polls of the start have lines of their own).
    let lines_of = |id: &str| -> Vec<serde_json::Value> {
        request_lines(&log)
            .into_iter()
            .filter(|line| line["span"]["id"] == id)
            .collect()
    };
    crate::support::eventually("both requests are logged", || {
        !lines_of("lab-42.a").is_empty() && !lines_of(&generated).is_empty()
    })
    .await;
    let (first, second) = (lines_of("lab-42.a"), lines_of(&generated));
    assert_eq!((first.len(), second.len()), (1, 1));
    let first = &first[0];
    assert_eq!(first["span"]["method"], "GET");
    assert_eq!(first["span"]["route"], "/api/analyses/{analysis_id}");
    assert_eq!(first["fields"]["status"], 404);
    assert_eq!(first["fields"]["bytes_out"], reply_len_of_not_found());
    assert!(first["fields"]["latency_ms"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .is_ok());
    assert_eq!(second[0]["span"]["route"], "/api/analyses");
    assert_eq!(second[0]["fields"]["status"], 200);
}

fn reply_len_of_not_found() -> u64 {
    r#"{"id":"not_found","message":"Not found"}"#.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_carry_no_colour_codes_when_not_on_a_terminal() {
    let data = TempDir::new().unwrap();
    let (inst, log) = logged_instance(&data, &[]).await;
    inst.client.get(inst.url("/api/nope")).send().await.unwrap();
    crate::support::eventually("the request is logged", || {
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("vira::request")
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("status=404"), "{text}");
}

/// `vira --version` names the commit it was built from (issue 14).
#[test]
fn version_names_the_commit() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vira"))
        .arg("--version")
        .output()
        .expect("run vira --version");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned());
    let commit = head.unwrap_or_else(|| "unknown".to_owned());
    assert_eq!(
        text.trim(),
        format!("vira {} ({commit})", env!("CARGO_PKG_VERSION"))
    );
}

/// `vira serve --help` shows the environment's values of options, but never a secret's: the
/// database URL (with its password), the S3 endpoint and credentials.
#[test]
fn help_hides_secret_bearing_environment_values() {
    let secrets = [
        (
            "VIRA_DATABASE_URL",
            "postgres://vira:db-s3cret@db.internal/vira",
        ),
        (
            "VIRA_S3_ENDPOINT",
            "https://user:endpoint-s3cret@s3.internal",
        ),
        ("VIRA_S3_ACCESS_KEY_ID", "GKkeyid-s3cret"),
        ("VIRA_S3_SECRET_ACCESS_KEY", "secret-key-s3cret"),
    ];
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vira"))
        .args(["serve", "--help"])
        .envs(secrets)
        .env("VIRA_MAX_PER_PAGE", "77")
        .output()
        .expect("run vira serve --help");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("VIRA_DATABASE_URL"), "{text}");
    // Other values are still shown.
    assert!(text.contains("[env: VIRA_MAX_PER_PAGE=77]"), "{text}");
}

/// A request that matches no route is logged with its method and path (cut, and with control
/// characters escaped), so an operator sees what a failing client asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_requests_are_logged_with_their_path() {
    let data = TempDir::new().unwrap();
    let (inst, log) = logged_instance(&data, &["--log-format", "json"]).await;
    let long = "x".repeat(400);
    for (path, id) in [
        (
            "/api/no/such/thing%0A?filter=a%1Bb".to_owned(),
            "unmatched-1",
        ),
        (format!("/{long}"), "unmatched-2"),
    ] {
        let reply = crate::support::fetch(
            inst.client
                .delete(inst.url(&path))
                .header("x-request-id", id),
        )
        .await;
        reply.assert_status(404);
    }
    let line = |id: &str| {
        request_lines(&log)
            .into_iter()
            .find(|line| line["span"]["id"] == id)
    };
    crate::support::eventually("both requests are logged", || {
        line("unmatched-1").is_some() && line("unmatched-2").is_some()
    })
    .await;
    let first = line("unmatched-1").unwrap();
    assert_eq!(first["span"]["method"], "DELETE");
    assert_eq!(first["span"]["route"], "-");
    assert_eq!(first["span"]["path"], "/api/no/such/thing%0A?filter=a%1Bb");
    let second = line("unmatched-2").unwrap();
    let path = second["span"]["path"].as_str().unwrap();
    assert_eq!(path.chars().count(), 257, "{path}");
    assert!(path.ends_with('…'));
    // A matched request names its route, not its path.
    assert!(request_lines(&log)
        .iter()
        .filter(|l| l["span"]["route"] != "-")
        .all(|l| l["span"].get("path").is_none()));
}
