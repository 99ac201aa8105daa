//! U18 reference imports, U19 indexes and U20 HMM annotations, with the real fixture files.

use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::support::{fixture_bytes, TestApp};

async fn import(app: &TestApp, path: &str, bytes: Vec<u8>) -> crate::support::Reply {
    app.multipart(Method::POST, path, &app.admin, "file.json", bytes)
        .await
}

both!(real_plant_virus_reference, |app: TestApp| async move {
    let started = Instant::now();
    let reply = import(
        &app,
        "/api/refs/import",
        fixture_bytes("reference/plant-viruses.json.gz"),
    )
    .await;
    reply.assert_status(201);
    eprintln!("plant-viruses import took {:?}", started.elapsed());
    let body = reply.json();
    assert_eq!(body["name"], "ref-plant-viruses 9712edf9");
    assert_eq!(body["data_type"], "genome");
    assert_eq!(body["organism"], "virus");
    assert_eq!(
        (
            body["otu_count"].clone(),
            body["isolate_count"].clone(),
            body["sequence_count"].clone()
        ),
        (json!(2084), json!(3648), json!(4783))
    );
    assert_eq!(body["user"]["handle"], "admin");
    let ref_id = body["id"].as_str().unwrap();
    let reply = app
        .post(
            &format!("/api/refs/{ref_id}/indexes"),
            &app.admin,
            &json!({}),
        )
        .await;
    reply.assert_status(201);
    let index = reply.json();
    assert_eq!(index["version"], 0);
    assert_eq!(index["ready"], true);
    assert_eq!(index["otu_count"], 2084);
    assert_eq!(index["sequence_count"], 4783);
    assert_eq!(
        index["reference"],
        json!({"id": ref_id, "name": "ref-plant-viruses 9712edf9", "data_type": "genome"})
    );
    let reply = app
        .post(
            &format!("/api/refs/{ref_id}/indexes"),
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(reply.json()["version"], 1);
    app.post("/api/refs/nope1234/indexes", &app.admin, &json!({}))
        .await
        .assert_error(404, "not_found", "Not found");
});

both!(index_export_layout_and_names, |app: TestApp| async move {
    let reply = import(
        &app,
        "/api/refs/import",
        fixture_bytes("reference/otus.json.gz"),
    )
    .await;
    reply.assert_status(201);
    let body = reply.json();
    assert_eq!(body["name"], "Imported reference");
    assert_eq!(
        (
            body["otu_count"].clone(),
            body["isolate_count"].clone(),
            body["sequence_count"].clone()
        ),
        (json!(1563), json!(2360), json!(3138))
    );
    // A second import of the same file is an independent reference.
    let reply = import(
        &app,
        "/api/refs/import?name=Grapevine",
        fixture_bytes("reference/otus.json.gz"),
    )
    .await;
    reply.assert_status(201);
    assert_eq!(reply.json()["name"], "Grapevine");
    assert_ne!(reply.json()["id"], body["id"]);
    // Plain (not gzipped) JSON with a null name; wrapped UUID-style OTU.
    let reply = import(
        &app,
        "/api/refs/import",
        fixture_bytes("reference/reference.json.gz"),
    )
    .await;
    assert_eq!(reply.json()["name"], "Imported reference");
    assert_eq!(reply.json()["otu_count"], 20);
    let otu: serde_json::Value =
        serde_json::from_slice(&fixture_bytes("reference/otu_sample.json")).unwrap();
    let wrapped = serde_json::to_vec(&json!({"otus": [otu], "name": "One"})).unwrap();
    let reply = import(&app, "/api/refs/import", wrapped).await;
    reply.assert_status(201);
    assert_eq!(reply.json()["name"], "One");
});

both!(bad_reference_files, |app: TestApp| async move {
    let reply = import(&app, "/api/refs/import", b"not json".to_vec()).await;
    assert_eq!(reply.status.as_u16(), 400);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid reference file: "));
    let doc = json!({"otus": [{"_id": "a", "name": "A", "isolates": [{"id": "i", "sequences": [{"_id": "s", "accession": "X"}]}]}]});
    let reply = import(&app, "/api/refs/import", serde_json::to_vec(&doc).unwrap()).await;
    reply.assert_error(
        400,
        "bad_request",
        "Invalid reference file: otus.0.isolates.0.sequences.0.sequence: required field",
    );
    let reply = import(&app, "/api/refs/import", vec![0x1f, 0x8b, 1, 2, 3]).await;
    assert_eq!(reply.status.as_u16(), 400);
    // No file part.
    let form = reqwest::multipart::Form::new().text("other", "x");
    let reply = app
        .send(
            app.request(Method::POST, "/api/refs/import", Some(&app.admin))
                .multipart(form),
        )
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(reply.json()["errors"], json!({"file": ["required field"]}));
    let reply = app.post("/api/refs/import", &app.admin, &json!({})).await;
    assert_eq!(reply.json()["errors"], json!({"file": ["required field"]}));
    // Nothing was stored by the failures: the next import is the first reference listed by id only.
    let reply = import(
        &app,
        "/api/refs/import",
        fixture_bytes("reference/reference.json.gz"),
    )
    .await;
    reply.assert_status(201);
});

both!(upload_limit_applies_to_imports, |app: TestApp| async move {
    let backend = app.backend;
    app.shutdown().await;
    let app = TestApp::spawn_with(backend, |c| c.max_upload_bytes = 1000).await;
    let Some(app) = app else { return };
    let reply = import(
        &app,
        "/api/refs/import",
        fixture_bytes("reference/reference.json.gz"),
    )
    .await;
    reply.assert_error(413, "payload_too_large", "Payload too large");
});

both!(hmm_annotations, |app: TestApp| async move {
    let started = Instant::now();
    let reply = import(
        &app,
        "/api/hmms/annotations",
        fixture_bytes("hmm/vfam.annotations.derived.json.gz"),
    )
    .await;
    reply.assert_status(201);
    eprintln!("vfam import took {:?}", started.elapsed());
    assert_eq!(
        reply.json(),
        json!({"imported": 4717, "skipped": 0, "total": 4717})
    );
    // Clusters 2..10 already exist under their cluster-number ids: all 7 skipped.
    let reply = import(
        &app,
        "/api/hmms/annotations",
        fixture_bytes("hmm/virtool-hmm.tests.annotations.json"),
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({"imported": 0, "skipped": 7, "total": 4717})
    );
    let ids: serde_json::Value =
        serde_json::from_slice(&fixture_bytes("hmm/nuvs_results_hmm_ids.derived.json")).unwrap();
    let list = serde_json::to_vec(&ids["annotations"]).unwrap();
    let reply = import(&app, "/api/hmms/annotations", list).await;
    assert_eq!(
        reply.json(),
        json!({"imported": 6, "skipped": 0, "total": 4723})
    );
    let dup = json!([{"cluster": 1, "families": {}, "names": []}, {"cluster": 1, "families": {}, "names": []}]);
    let reply = import(
        &app,
        "/api/hmms/annotations",
        serde_json::to_vec(&dup).unwrap(),
    )
    .await;
    reply.assert_error(
        400,
        "bad_request",
        "Invalid annotations file: 1: duplicate id 1",
    );
});
