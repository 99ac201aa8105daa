//! U1, U9 and U10: creating analyses, rights-filtered lists and pagination (contract §1.4, §5).

use serde_json::{json, Value};

use crate::both;
use crate::support::{assert_keys, Setup, TestApp};

both!(create_analysis, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let sub_b = app
        .post("/api/subtractions", &app.admin, &json!({"name": "B"}))
        .await
        .json()["id"]
        .clone();
    let sub_a = app
        .post("/api/subtractions", &app.admin, &json!({"name": "A"}))
        .await
        .json()["id"]
        .clone();
    let sample = app.sample(&app.admin, json!({"name": "Test 1"})).await;
    let path = format!("/api/samples/{sample}/analyses");
    let reply = app
        .post(&path, &app.admin, &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie", "subtractions": [sub_b, sub_a, sub_b], "ml": true}))
        .await;
    reply.assert_status(201);
    let body = reply.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/api/analyses/{id}")
    );
    assert_keys(
        &body,
        &[
            "id",
            "created_at",
            "updated_at",
            "ready",
            "workflow",
            "algorithm",
            "job",
            "index",
            "reference",
            "sample",
            "subtractions",
            "user",
            "read_count",
            "files",
            "results",
        ],
    );
    assert_eq!(body["ready"], false);
    assert_eq!(body["workflow"], "pathoscope_bowtie");
    assert_eq!(body["algorithm"], "pathoscope_bowtie");
    assert_eq!(body["created_at"], body["updated_at"]);
    assert_eq!(body["index"]["version"], 0);
    assert_eq!(body["reference"]["id"], ref_id);
    assert_eq!(body["reference"]["name"], "Imported reference");
    assert_eq!(body["sample"], json!({"id": sample, "name": "Test 1"}));
    assert_eq!(
        body["subtractions"],
        json!([{"id": sub_a, "name": "A"}, {"id": sub_b, "name": "B"}])
    );
    assert_eq!(body["user"]["handle"], "admin");
    assert_eq!(body["read_count"], Value::Null);
    assert_eq!(body["files"], json!([]));
    assert_eq!(body["results"], Value::Null);
    let job = &body["job"];
    assert_eq!(job["state"], "waiting");
    assert_eq!(job["progress"], 0);
    assert_eq!(job["stage"], Value::Null);
    assert_eq!(job["archived"], false);
    assert_eq!(job["workflow"], "pathoscope_bowtie");
    assert_eq!(job["created_at"], body["created_at"]);

    // The newest index is chosen.
    app.post(
        &format!("/api/refs/{ref_id}/indexes"),
        &app.admin,
        &json!({}),
    )
    .await
    .assert_status(201);
    let body = app.analysis(&app.admin, &sample, &ref_id, "nuvs").await;
    assert_eq!(body["index"]["version"], 1);
    assert_eq!(body["subtractions"], json!([]));
});

both!(create_analysis_errors, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let sample = app.sample(&app.admin, json!({"name": "s"})).await;
    let path = format!("/api/samples/{sample}/analyses");
    let reply = app
        .post(&path, &app.admin, &json!({"workflow": "aodp"}))
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(
        reply.json()["errors"],
        json!({"ref_id": ["required field"], "workflow": ["unallowed value aodp"]})
    );
    let reply = app
        .post(
            &path,
            &app.admin,
            &json!({"ref_id": ref_id, "workflow": "nuvs", "subtractions": null}),
        )
        .await;
    assert_eq!(
        reply.json()["errors"],
        json!({"subtractions": ["null value not allowed"]})
    );
    app.post(
        "/api/samples/nope1234/analyses",
        &app.admin,
        &json!({"ref_id": ref_id, "workflow": "nuvs"}),
    )
    .await
    .assert_error(404, "not_found", "Not found");
    app.post(
        &path,
        &app.admin,
        &json!({"ref_id": "nope", "workflow": "nuvs"}),
    )
    .await
    .assert_error(400, "bad_request", "Reference does not exist");
    let bare = app
        .multipart(
            reqwest::Method::POST,
            "/api/refs/import",
            &app.admin,
            "r.json",
            crate::support::fixture_bytes("reference/reference.json.gz"),
        )
        .await
        .json()["id"]
        .clone();
    app.post(
        &path,
        &app.admin,
        &json!({"ref_id": bare, "workflow": "nuvs"}),
    )
    .await
    .assert_error(400, "bad_request", "No ready index");
    let known = app
        .post("/api/subtractions", &app.admin, &json!({"name": "A"}))
        .await
        .json()["id"]
        .clone();
    app.post(
        &path,
        &app.admin,
        &json!({"ref_id": ref_id, "workflow": "nuvs", "subtractions": ["zz2", known, "aa1"]}),
    )
    .await
    .assert_error(400, "bad_request", "Subtractions do not exist: zz2,aa1");
    app.send(
        app.request(reqwest::Method::POST, &path, Some(&app.admin))
            .body("{"),
    )
    .await
    .assert_error(400, "bad_request", "Malformed JSON");
});

both!(list_pagination_and_order, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let (bob, _) = app.user("bob", &[]).await;
    let visible = app.sample(&app.admin, json!({"name": "open"})).await;
    let hidden = app
        .sample(&app.admin, json!({"name": "closed", "all_read": false}))
        .await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(
            app.analysis(&app.admin, &visible, &ref_id, "nuvs").await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for _ in 0..3 {
        app.analysis(&app.admin, &hidden, &ref_id, "nuvs").await;
    }
    let page = app.get("/api/analyses?per_page=3&page=2", &bob).await;
    page.assert_status(200);
    let body = page.json();
    assert_eq!(body["found_count"], 7);
    assert_eq!(body["total_count"], 7);
    assert_eq!(body["page"], 2);
    assert_eq!(body["per_page"], 3);
    assert_eq!(body["page_count"], 3);
    let listed: Vec<&str> = body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    // Newest first: ids were created in order, so page 2 holds the 4th–6th newest.
    let expected: Vec<&str> = ids
        .iter()
        .rev()
        .skip(3)
        .take(3)
        .map(String::as_str)
        .collect();
    assert_eq!(listed, expected);
    let doc = &body["documents"][0];
    assert!(doc.get("files").is_none() && doc.get("results").is_none());
    assert_eq!(doc["sample"]["name"], "open");
    let last = app
        .get("/api/analyses?per_page=3&page=3", &bob)
        .await
        .json();
    assert_eq!(last["documents"].as_array().unwrap().len(), 1);
    let past = app
        .get("/api/analyses?per_page=3&page=9", &bob)
        .await
        .json();
    assert_eq!(past["documents"], json!([]));
    assert_eq!(past["found_count"], 7);
    let admin = app.get("/api/analyses", &app.admin).await.json();
    assert_eq!(admin["found_count"], 10);
    assert_eq!(admin["per_page"], 25);
    assert_eq!(admin["page_count"], 1);
    for (query, field, message) in [
        ("per_page=101", "per_page", "max value is 100"),
        ("per_page=0", "per_page", "min value is 1"),
        ("page=0", "page", "min value is 1"),
        ("page=x", "page", "must be of integer type"),
    ] {
        let reply = app.get(&format!("/api/analyses?{query}"), &bob).await;
        reply.assert_error(422, "invalid_query", "Invalid query");
        assert_eq!(reply.json()["errors"], json!({ field: [message] }));
    }
    // U9: one sample's analyses, with existence and rights checks.
    let reply = app
        .get(&format!("/api/samples/{visible}/analyses?per_page=5"), &bob)
        .await;
    let body = reply.json();
    assert_eq!(body["found_count"], 7);
    assert_eq!(body["page_count"], 2);
    app.get(&format!("/api/samples/{hidden}/analyses"), &bob)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    app.get("/api/samples/nope1234/analyses", &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(
        &format!("/api/samples/{visible}/analyses?per_page=500"),
        &bob,
    )
    .await
    .assert_error(422, "invalid_query", "Invalid query");
    let empty = app.sample(&bob, json!({"name": "empty"})).await;
    let body = app
        .get(&format!("/api/samples/{empty}/analyses"), &bob)
        .await
        .json();
    assert_eq!(
        body,
        json!({"documents": [], "found_count": 0, "page": 1, "page_count": 0, "per_page": 25, "total_count": 0})
    );
});

/// `found_count` and the listed documents of U1 for `creds` (every analysis fits one page).
async fn listed(app: &TestApp, creds: &crate::support::Creds) -> (i64, usize) {
    let body = app.get("/api/analyses?per_page=100", creds).await.json();
    let found = body["found_count"].as_i64().expect("found_count");
    assert_eq!(body["total_count"], found);
    (
        found,
        body["documents"].as_array().expect("documents").len(),
    )
}

// U1's count comes from counts kept per rights class of the samples (migration 0004); it must
// follow every change that moves an analysis in or out of what a user can read.
both!(
    list_counts_follow_rights_changes_and_deletes,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let group = app.group("lab").await;
        let (ann, _) = app.user("ann", &[&group]).await;
        let (bob, _) = app.user("bob", &[]).await;
        let grouped = app
            .sample(
                &app.admin,
                json!({"name": "grouped", "group": group, "group_read": true, "all_read": false}),
            )
            .await;
        let private = app
            .sample(&app.admin, json!({"name": "private", "all_read": false}))
            .await;
        let bobs = app
            .sample(&bob, json!({"name": "bob's", "all_read": false}))
            .await;
        for sample in [&grouped, &grouped, &private, &bobs, &bobs] {
            app.analysis(&app.admin, sample, &ref_id, "nuvs").await;
        }
        let run = app.started(&ref_id, "pathoscope_bowtie").await;
        assert_eq!(listed(&app, &ann).await, (3, 3));
        assert_eq!(listed(&app, &bob).await, (3, 3));
        assert_eq!(listed(&app, &app.admin).await, (6, 6));

        let rights = |sample: &str| format!("/api/samples/{sample}/rights");
        app.patch(&rights(&grouped), &app.admin, &json!({"group_read": false}))
            .await
            .assert_status(200);
        assert_eq!(listed(&app, &ann).await, (1, 1));
        app.patch(&rights(&bobs), &bob, &json!({"all_read": true}))
            .await
            .assert_status(200);
        assert_eq!(listed(&app, &ann).await, (3, 3));
        app.patch(
            &rights(&private),
            &app.admin,
            &json!({"group": group, "group_read": true}),
        )
        .await
        .assert_status(200);
        assert_eq!(listed(&app, &ann).await, (4, 4));

        app.finalize(&run.job, &run.id, &json!({"hits": [], "read_count": 0}))
            .await
            .assert_status(200);
        app.send(app.request(
            reqwest::Method::DELETE,
            &format!("/api/analyses/{}", run.id),
            Some(&app.admin),
        ))
        .await
        .assert_status(204);
        assert_eq!(listed(&app, &ann).await, (3, 3));
        assert_eq!(listed(&app, &app.admin).await, (5, 5));

        // Analyses of a missing sample are neither listed nor counted.
        app.drop_sample(&bobs).await;
        assert_eq!(listed(&app, &ann).await, (1, 1));
        assert_eq!(listed(&app, &bob).await, (0, 0));
        assert_eq!(listed(&app, &app.admin).await, (3, 3));
    }
);
