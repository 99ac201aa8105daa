//! J3, J4 and J5 check tables (contract §6): read, finalize (with the §9.3 rejections of the real
//! legacy files and the finalize race) and delete of a failed analysis.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::expect;
use crate::support::pathoscope_results;
use crate::support::{files_under, fixture_bytes, Backend, Creds, Setup, TestApp};

both!(read_check_table, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let run = app.started(&ref_id, "nuvs").await;
    let other = app.started(&ref_id, "nuvs").await;
    let path = format!("/jobs-api/analyses/{}", run.id);
    app.send(app.request(Method::GET, &path, None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    // User credentials are not job credentials.
    app.get(&path, &app.admin).await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    let wrong_key = Creds {
        login: run.job.login.clone(),
        key: "0".repeat(64),
    };
    app.get(&path, &wrong_key).await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    app.get("/jobs-api/analyses/nope1234", &run.job)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&path, &other.job).await.assert_error(
        403,
        "insufficient_rights",
        "Insufficient rights",
    );
    let reply = app.get(&path, &run.job).await;
    reply.assert_status(200);
    let user = app
        .get(&format!("/api/analyses/{}", run.id), &app.admin)
        .await;
    assert_eq!(reply.bytes, user.bytes);
    assert_eq!(reply.header("last-modified"), user.header("last-modified"));
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-cache"));
});

both!(finalize_check_table, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let run = app.started(&ref_id, "pathoscope_bowtie").await;
    let other = app.started(&ref_id, "pathoscope_bowtie").await;
    let path = format!("/jobs-api/analyses/{}", run.id);
    app.send(app.request(Method::PATCH, &path, None).body("{}"))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.finalize_raw(&run.job, &run.id, "{\"results\": {".into())
        .await
        .assert_error(400, "bad_request", "Malformed JSON");
    for (body, message) in [
        ("", "required field"),
        ("{}", "required field"),
        ("[]", "required field"),
        ("{\"results\": null}", "null value not allowed"),
        ("{\"results\": [1]}", "must be of dict type"),
        ("{\"results\": \"file\"}", "must be of dict type"),
        ("{\"results\": 3}", "must be of dict type"),
    ] {
        // Body checks come before the analysis lookup.
        for id in [run.id.as_str(), "nope1234"] {
            let reply = app.finalize_raw(&run.job, id, body.into()).await;
            reply.assert_error(422, "invalid_input", "Invalid input");
            assert_eq!(
                reply.json()["errors"],
                json!({ "results": [message] }),
                "{body}"
            );
        }
    }
    app.finalize(&run.job, "nope1234", &json!({"hits": []}))
        .await
        .assert_error(404, "not_found", "There is no analysis with id nope1234");
    app.finalize(&other.job, &run.id, &json!({"hits": []}))
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    let reply = app.finalize(&run.job, &run.id, &json!({"hits": []})).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["results"], json!({"hits": []}));
    app.finalize(&run.job, &run.id, &json!({"hits": []}))
        .await
        .assert_error(
            409,
            "conflict",
            "There is already a result for this analysis.",
        );
});

both!(
    finalize_rejects_the_legacy_pathoscope_file,
    |app: TestApp| async move {
        let (ref_id, index_id) = app.reference("reference/otus.json.gz").await;
        let run = app.started(&ref_id, "pathoscope_bowtie").await;
        let legacy: Value =
            serde_json::from_slice(&fixture_bytes("pathoscope/results.json")).unwrap();
        // The bare list, as stored by old Virtool.
        let reply = app.finalize(&run.job, &run.id, &legacy).await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        assert_eq!(
            reply.json()["errors"],
            json!({"results": ["must be of dict type"]})
        );
        // Wrapped: every hit names a placeholder OTU that the index does not have.
        let wrapped = json!({"hits": legacy, "read_count": 20276, "subtracted_count": 0});
        let reply = app.finalize(&run.job, &run.id, &wrapped).await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        let index = expect::index_otus();
        let mut expected = Vec::new();
        for (n, hit) in legacy.as_array().unwrap().iter().enumerate() {
            let otu = hit["otu"]["id"].as_str().unwrap();
            assert!(!index.contains_key(otu));
            expected.push((
                format!("results.hits.{n}.otu.id"),
                json!([format!("unknown OTU {otu} in index {index_id}")]),
            ));
        }
        let errors = reply.json()["errors"].as_object().unwrap().clone();
        let got: Vec<(String, Value)> = errors.into_iter().collect();
        assert_eq!(got, expected);
        // Nothing was stored: the fitted file still finalizes.
        let body = app
            .get(&format!("/api/analyses/{}", run.id), &app.admin)
            .await
            .json();
        assert_eq!(body["ready"], false);
        app.finalize(&run.job, &run.id, &pathoscope_results())
            .await
            .assert_status(200);
    }
);

both!(finalize_reports_each_bad_path, |app: TestApp| async move {
    let (ref_id, index_id) = app.reference("reference/otus.json.gz").await;
    let run = app.started(&ref_id, "pathoscope_bowtie").await;
    let mut results = pathoscope_results();
    let hits = results["hits"].as_array_mut().unwrap();
    hits[1]["otu"]["id"] = json!("foobar");
    hits[2]["id"] = json!("nosuchseq");
    hits[3]["align"] = json!("x");
    hits[4]["align"] = json!([1, -1]);
    hits[5]["final"]["reads"] = json!(1.5);
    hits[6]["coverage"] = json!("0.5");
    hits[7]["id"] = hits[0]["id"].clone();
    hits[7]["otu"] = hits[0]["otu"].clone();
    hits[8] = json!(3);
    results["read_count"] = json!(-1);
    let otu2 = results["hits"][2]["otu"]["id"].as_str().unwrap().to_owned();
    let reply = app.finalize(&run.job, &run.id, &results).await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    let errors: Vec<(String, Value)> = reply.json()["errors"]
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    let dup = results["hits"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        errors,
        vec![
            (
                "results.hits.1.otu.id".into(),
                json!([format!("unknown OTU foobar in index {index_id}")])
            ),
            (
                "results.hits.2.id".into(),
                json!([format!("unknown sequence nosuchseq in OTU {otu2}")])
            ),
            (
                "results.hits.3.align".into(),
                json!(["must be of list type"])
            ),
            ("results.hits.4.align".into(), json!(["min value is 0"])),
            (
                "results.hits.5.final.reads".into(),
                json!(["must be of integer type"])
            ),
            (
                "results.hits.6.coverage".into(),
                json!(["must be of number type"])
            ),
            (
                "results.hits.7.id".into(),
                json!([format!("duplicate hit for sequence {dup}")])
            ),
            ("results.hits.8".into(), json!(["must be of dict type"])),
            ("results.read_count".into(), json!(["min value is 0"])),
        ]
    );
});

both!(
    concurrent_finalizes_have_one_winner,
    |app: TestApp| async move {
        let (ref_id, _) = app.reference("reference/otus.json.gz").await;
        let run = app.started(&ref_id, "pathoscope_bowtie").await;
        let results = pathoscope_results();
        let (a, b) = tokio::join!(
            app.finalize(&run.job, &run.id, &results),
            app.finalize(&run.job, &run.id, &results)
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let loser = if a.status == 409 { &a } else { &b };
        loser.assert_error(
            409,
            "conflict",
            "There is already a result for this analysis.",
        );
        assert_eq!(
            app.rows("analysis_results", "analysis_id", &run.id).await,
            1
        );
    }
);

/// J4 row 2: a body over `--max-results-bytes` gets 413, declared or streamed.
async fn results_limit(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.max_results_bytes = 100).await else {
        return;
    };
    let ref_id = app.small_reference().await;
    let run = app.started(&ref_id, "pathoscope_bowtie").await;
    let big = json!({"hits": [], "pad": "x".repeat(200)});
    app.finalize(&run.job, &run.id, &big).await.assert_error(
        413,
        "payload_too_large",
        "Payload too large",
    );
    let chunks: Vec<Result<String, std::io::Error>> = vec![
        Ok("{\"results\": {\"hits\": [], \"pad\": \"".into()),
        Ok("y".repeat(150)),
        Ok("\"}}".into()),
    ];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let path = format!("/jobs-api/analyses/{}", run.id);
    app.send(app.request(Method::PATCH, &path, Some(&run.job)).body(body))
        .await
        .assert_error(413, "payload_too_large", "Payload too large");
    app.finalize(&run.job, &run.id, &json!({"hits": []}))
        .await
        .assert_status(200);
}

mod finalize_body_limit {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        results_limit(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        results_limit(Backend::Postgres).await;
    }
}

both!(
    delete_failed_analysis_check_table,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let run = app.started(&ref_id, "nuvs").await;
        let other = app.started(&ref_id, "nuvs").await;
        let path = format!("/jobs-api/analyses/{}", run.id);
        app.send(app.request(Method::DELETE, &path, None))
            .await
            .assert_error(401, "requires_authorization", "Requires authorization");
        app.delete("/jobs-api/analyses/nope1234", &run.job)
            .await
            .assert_error(404, "not_found", "Not found");
        app.delete(&path, &other.job).await.assert_error(
            403,
            "insufficient_rights",
            "Insufficient rights",
        );
        let reply = app
            .upload(
                Method::PUT,
                &format!("{path}/files?name=log.txt"),
                &run.job,
                vec![1; 10],
            )
            .await;
        reply.assert_status(201);
        let file = reply.json()["id"].clone();
        let reply = app.delete(&path, &run.job).await;
        reply.assert_status(204);
        assert!(reply.bytes.is_empty());
        assert_eq!(app.rows("analyses", "id", &run.id).await, 0);
        assert_eq!(app.rows("analysis_files", "analysis_id", &run.id).await, 0);
        assert_eq!(files_under(&app.analysis_dir(&run.id)).len(), 0);
        app.get(
            &format!("/api/analyses/{}/files/{file}", run.id),
            &app.admin,
        )
        .await
        .assert_error(404, "not_found", "Not found");
        app.get(&path, &run.job)
            .await
            .assert_error(404, "not_found", "Not found");
        app.delete(&path, &run.job)
            .await
            .assert_error(404, "not_found", "Not found");
        // Finalized: the runner may no longer delete it.
        app.finalize(&other.job, &other.id, &json!({"hits": []}))
            .await
            .assert_status(200);
        app.delete(&format!("/jobs-api/analyses/{}", other.id), &other.job)
            .await
            .assert_error(409, "conflict", "Analysis is finalized");
    }
);
