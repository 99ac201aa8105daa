//! The check tables of U2 (get), U3 (delete) and U8 (export), row by row, and the delete cascade
//! of §12 as seen by the runner's credentials afterwards.

use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::support::TestApp;
use crate::support::{files_under, Setup, Started};

/// A finalized (empty) Pathoscope analysis with one uploaded file.
async fn finished(app: &TestApp, ref_id: &str) -> (Started, i64) {
    let run = app.started(ref_id, "pathoscope_bowtie").await;
    let path = format!("/jobs-api/analyses/{}/files?name=r.tsv&format=tsv", run.id);
    let reply = app
        .upload(Method::POST, &path, &run.job, b"a\tb\r\n".to_vec())
        .await;
    reply.assert_status(201);
    let file = reply.json()["id"].as_i64().unwrap();
    app.finalize(&run.job, &run.id, &json!({"hits": [], "read_count": 0}))
        .await
        .assert_status(200);
    (run, file)
}

both!(get_check_table, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let (bob, _) = app.user("bob", &[]).await;
    let run = app.started(&ref_id, "nuvs").await;
    let closed = app
        .sample(&app.admin, json!({"name": "closed", "all_read": false}))
        .await;
    let hidden = app.analysis(&app.admin, &closed, &ref_id, "nuvs").await;
    let path = format!("/api/analyses/{}", run.id);
    app.send(app.request(Method::GET, &path, None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.get("/api/analyses/nope1234", &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(
        &format!("/api/analyses/{}", hidden["id"].as_str().unwrap()),
        &bob,
    )
    .await
    .assert_error(403, "insufficient_rights", "Insufficient rights");
    let reply = app.get(&path, &bob).await;
    reply.assert_status(200);
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-cache"));
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    app.drop_sample(&run.sample).await;
    // The parent-sample check comes before the rights check: bob gets 400 too.
    app.get(&path, &bob)
        .await
        .assert_error(400, "bad_request", "Parent sample does not exist");
    app.get(&path, &app.admin).await.assert_error(
        400,
        "bad_request",
        "Parent sample does not exist",
    );
    // J3: the job-ownership check comes first, then the parent sample.
    app.get(&format!("/jobs-api/analyses/{}", run.id), &run.job)
        .await
        .assert_error(400, "bad_request", "Parent sample does not exist");
    let stranger = app.started(&ref_id, "nuvs").await;
    app.get(&format!("/jobs-api/analyses/{}", run.id), &stranger.job)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
});

both!(delete_check_table_and_cascade, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let (bob, _) = app.user("bob", &[]).await;
    let (run, file) = finished(&app, &ref_id).await;
    let path = format!("/api/analyses/{}", run.id);
    app.send(app.request(Method::DELETE, &path, None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.delete("/api/analyses/nope1234", &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    // Bob can read the sample (all_read) but not write it.
    app.delete(&path, &bob)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    let running = app.started(&ref_id, "nuvs").await;
    app.delete(&format!("/api/analyses/{}", running.id), &app.admin)
        .await
        .assert_error(409, "conflict", "Analysis is still running");
    assert_eq!(files_under(&app.analysis_dir(&run.id)).len(), 1);
    let reply = app.delete(&path, &app.admin).await;
    reply.assert_status(204);
    assert!(reply.bytes.is_empty());
    assert_eq!(app.rows("analyses", "id", &run.id).await, 0);
    assert_eq!(app.rows("analysis_files", "analysis_id", &run.id).await, 0);
    assert_eq!(
        app.rows("analysis_results", "analysis_id", &run.id).await,
        0
    );
    assert_eq!(files_under(&app.analysis_dir(&run.id)).len(), 0);
    assert_eq!(app.rows("jobs", "id", &run.job_id).await, 1);
    app.delete(&path, &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&format!("{path}/files/{file}"), &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    // §12.4: the job's credentials now get 404 on J3–J6.
    let jobs_path = format!("/jobs-api/analyses/{}", run.id);
    app.get(&jobs_path, &run.job)
        .await
        .assert_error(404, "not_found", "Not found");
    app.finalize(&run.job, &run.id, &json!({"hits": []}))
        .await
        .assert_error(
            404,
            "not_found",
            &format!("There is no analysis with id {}", run.id),
        );
    app.delete(&jobs_path, &run.job)
        .await
        .assert_error(404, "not_found", "Not found");
    for method in [Method::POST, Method::PUT] {
        app.upload(
            method,
            &format!("{jobs_path}/files?name=x"),
            &run.job,
            vec![1],
        )
        .await
        .assert_error(404, "not_found", "Not found");
    }
    // The job itself is still readable through the analysis-free route (its ping).
    app.send(app.request(
        Method::PUT,
        &format!("/jobs-api/jobs/{}/ping", run.job_id),
        Some(&run.job),
    ))
    .await
    .assert_status(200);
    // Parent sample missing (row 3), before the rights check.
    let (other, _) = finished(&app, &ref_id).await;
    app.drop_sample(&other.sample).await;
    app.delete(&format!("/api/analyses/{}", other.id), &bob)
        .await
        .assert_error(400, "bad_request", "Parent sample does not exist");
});

both!(export_check_table, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let (bob, _) = app.user("bob", &[]).await;
    let (run, _) = finished(&app, &ref_id).await;
    let closed = app
        .sample(&app.admin, json!({"name": "closed", "all_read": false}))
        .await;
    let hidden = app.analysis(&app.admin, &closed, &ref_id, "nuvs").await;
    let hidden = hidden["id"].as_str().unwrap();
    let running = app.started(&ref_id, "nuvs").await;
    let doc = |name: &str| format!("/api/analyses/document/{name}");
    // A final segment without a `.` is an unknown route, answered before authentication.
    app.send(app.request(Method::GET, &doc(&run.id), None))
        .await
        .assert_error(404, "not_found", "Not found");
    app.send(app.request(Method::GET, &doc(&format!("{}.csv", run.id)), None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    for ext in ["pdf", "CSV", "Xlsx", ""] {
        app.get(&doc(&format!("nope1234.{ext}")), &bob)
            .await
            .assert_error(400, "bad_request", &format!("Invalid extension: {ext}"));
    }
    app.get(&doc("nope1234.csv"), &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    // The last `.` separates the id: `<id>.x.csv` names no analysis.
    app.get(&doc(&format!("{}.x.csv", run.id)), &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&doc(&format!("{hidden}.xlsx")), &bob)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    app.get(&doc(&format!("{}.csv", running.id)), &app.admin)
        .await
        .assert_error(409, "conflict", "Analysis is still running");
    // Empty results: the header row alone, with its CRLF.
    let csv = app.get(&doc(&format!("{}.csv", run.id)), &bob).await;
    csv.assert_status(200);
    assert_eq!(
        csv.bytes,
        b"\"OTU\",\"Isolate\",\"Sequence\",\"Length\",\"Weight\",\"Median Depth\",\"Coverage\"\r\n"
    );
    app.drop_sample(&run.sample).await;
    app.get(&doc(&format!("{}.xlsx", run.id)), &bob)
        .await
        .assert_error(400, "bad_request", "Parent sample does not exist");
});
