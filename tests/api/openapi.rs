//! The OpenAPI description (`GET /api/openapi.json`): valid OpenAPI 3.1 by a real validator,
//! the same routes as the routers, and Schemathesis finding nothing against a live `vira serve`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{
    create_admin_process, fixture_bytes, pathoscope_results, process_storage, python_tool, Backend,
    Creds, Instance, Setup,
};

/// The description as served, checked for status and content type.
async fn description(base: &str) -> (String, Value) {
    let reply = reqwest::Client::new()
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .expect("GET /api/openapi.json");
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let text = reply.text().await.unwrap();
    let value: Value = serde_json::from_str(&text).expect("the description is JSON");
    (text, value)
}

/// `(path, methods)` of the description, methods upper-case.
fn described(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
                .map(|k| k.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The paths the route tables register: the `.route("…"` literals of the route-table sources,
/// under their mount points.
fn routed_paths() -> BTreeSet<String> {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");
    let mut paths = BTreeSet::new();
    for (file, prefix) in [
        ("api/mod.rs", "/api"),
        ("jobs_api/mod.rs", "/jobs-api"),
        ("routes.rs", ""),
    ] {
        let text = std::fs::read_to_string(format!("{src}{file}")).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + 7..];
            let literal = rest.trim_start().trim_start_matches('"');
            let path = &literal[..literal.find('"').unwrap()];
            paths.insert(format!("{prefix}{path}"));
        }
    }
    // Served on `--metrics-listen` only, for Prometheus: not part of either API.
    paths.remove("/metrics");
    paths
}

/// A concrete path for a template: every `{param}` becomes a value that names nothing.
fn concrete(template: &str) -> String {
    template
        .replace("{file}", "nothing.csv")
        .split('/')
        .map(|s| if s.starts_with('{') { "nothing" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

crate::both!(
    description_is_valid_openapi_31_and_matches_the_routers,
    |app: crate::support::TestApp| async move {
        let Some(validator) = python_tool("openapi-spec-validator") else {
            return;
        };
        let (text, doc) = description(&app.http.base).await;
        assert_eq!(doc["openapi"], "3.1.0");
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &text).unwrap();
        let output = tokio::process::Command::new(&validator)
            .arg(file.path())
            .output()
            .await
            .expect("run openapi-spec-validator");
        assert!(
            output.status.success(),
            "openapi-spec-validator rejects the description:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );

        // Every path the routers register is described, and nothing else.
        let described = described(&doc);
        let paths: BTreeSet<String> = described.keys().cloned().collect();
        assert_eq!(
            paths,
            routed_paths(),
            "described paths vs. the route tables"
        );

        for (path, methods) in &described {
            let url = app.http.url(&concrete(path));
            // Each described method is routed: an unknown route would be 404 and a wrong method 405,
            // both answered before authentication.
            for method in methods {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                let reply = app
                    .http
                    .client
                    .request(method.clone(), &url)
                    .send()
                    .await
                    .unwrap();
                let status = reply.status().as_u16();
                let body: Value = reply.json().await.unwrap_or(Value::Null);
                assert!(
                    status != 405 && !(status == 404 && body["message"] == "Not found"),
                    "{method} {path} is described but not routed: {status} {body}"
                );
            }
            // And each routed method is described: a 405 lists them in `Allow`.
            let reply = app
                .http
                .client
                .request(Method::TRACE, &url)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 405, "TRACE {path}");
            let allow: BTreeSet<String> = reply.headers()["allow"]
                .to_str()
                .unwrap()
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| m != "HEAD")
                .collect();
            assert_eq!(&allow, methods, "routed vs. described methods of {path}");
        }

        // Every error status of every operation has the error body.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/ErrorBody",
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
    }
);

/// One Schemathesis run (bounded: examples per operation, seed, request timeout, and a deadline
/// for the whole run); panics with its output when it fails.
/// `parameters` fixes path values to seeded objects, so the operations get past their 404s;
/// `excluded` names operations that would end the run's own access.
async fn schemathesis(
    instance: &Instance,
    what: &str,
    paths: &str,
    creds: &Creds,
    parameters: &[(&str, &str)],
    excluded: &[&str],
) -> String {
    let st = python_tool("st").expect("st");
    let base = &instance.http.base;
    let report = tempfile::TempDir::new().unwrap();
    let config = report.path().join("schemathesis.toml");
    let mut toml = String::from("[parameters]\n");
    for (name, value) in parameters {
        toml.push_str(&format!("{name} = \"{value}\"\n"));
    }
    std::fs::write(&config, toml).unwrap();
    let mut command = tokio::process::Command::new(&st);
    command
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{base}/api/openapi.json"), "--url", base])
        .args(["--include-path-regex", paths])
        .args(
            excluded
                .iter()
                .flat_map(|id| ["--exclude-operation-id", id]),
        )
        .args(["--auth", &format!("{}:{}", creds.login, creds.key)])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--mode", "all"])
        .args(["--checks", CHECKS])
        .args(["--max-examples", "25", "--seed", "14"])
        .args(["--request-timeout", "10", "--workers", "1"])
        .arg("--report-dir")
        .arg(report.path())
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(150), command.output())
        .await
        .unwrap_or_else(|_| panic!("Schemathesis on {what} took over 150 s"))
        .expect("run st");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("Schemathesis on {what}:\n{text}");
    assert!(
        output.status.success(),
        "Schemathesis found problems in {what}:\n{text}"
    );
    text
}

const CHECKS: &str = "not_a_server_error,status_code_conformance,response_schema_conformance,\
content_type_conformance,negative_data_rejection,ignored_auth";

/// A live `vira serve` with data to find: a reference with an index, a group, a subtraction, a
/// sample with a finalized Pathoscope analysis and a file, and a second analysis whose job is
/// acquired but not finished (the jobs API's credentials).
async fn schemathesis_on(backend: Backend) {
    if python_tool("st").is_none() {
        return;
    }
    let Some((data, database_url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(data.path(), &database_url).await;
    // BLAST submissions fail at once (nothing listens there): no request waits on NCBI.
    let instance = Instance::start(
        data.path(),
        &database_url,
        &[
            "--ncbi-blast-url",
            "http://127.0.0.1:9/",
            "--no-blast-worker",
        ],
    )
    .await;
    let setup = instance.as_admin(&admin);
    let (ref_id, _) = setup.reference("reference/otus.json.gz").await;
    setup.group("Technicians").await;
    instance
        .post("/api/subtractions", &admin, &json!({"name": "Arabidopsis"}))
        .await
        .assert_status(201);
    let done = setup.started(&ref_id, "pathoscope_bowtie").await;
    setup
        .finalize(&done.job, &done.id, &pathoscope_results())
        .await
        .assert_status(200);
    let file = setup
        .upload(
            Method::POST,
            &format!("/api/analyses/{}/files?name=report.tsv&format=tsv", done.id),
            &admin,
            fixture_bytes("reference/reference.json.gz")[..64].to_vec(),
        )
        .await;
    file.assert_status(201);
    let file_id = file.json()["id"].to_string();
    // Not the administrator: a PATCH of its rights would end the run's access.
    let (_, user_id) = setup.user("technician", &[]).await;
    let running = setup.started(&ref_id, "pathoscope_bowtie").await;
    // A spare key of the administrator for the key routes to read and delete.
    let spare = instance
        .post("/api/account/keys", &admin, &json!({"name": "spare"}))
        .await;
    spare.assert_status(201);
    let key_id = spare.json()["id"].as_str().unwrap().to_owned();

    let export = format!("{}.csv", done.id);
    schemathesis(
        &instance,
        "the user API",
        "^/api/",
        &admin,
        &[
            ("analysis_id", &done.id),
            ("sample_id", &done.sample),
            ("file_id", &file_id),
            ("file", &export),
            ("ref_id", &ref_id),
            ("user_id", &user_id),
            ("key_id", &key_id),
        ],
        // Deleting all of the caller's keys would end the run's access (tests/api/keys.rs
        // covers it).
        &["delete_keys"],
    )
    .await;
    schemathesis(
        &instance,
        "the jobs API",
        "^/jobs-api/",
        &running.job,
        &[("analysis_id", &running.id), ("job_id", &running.job_id)],
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_sqlite() {
    schemathesis_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_postgres() {
    schemathesis_on(Backend::Postgres).await;
}
