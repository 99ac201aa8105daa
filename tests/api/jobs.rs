//! J1, J2, J7: acquiring jobs, status entries and pings (contract §6).

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::support::{assert_keys, Setup, TestApp};

async fn new_job(app: &TestApp) -> (String, String) {
    let ref_id = app.small_reference().await;
    let sample = app.sample(&app.admin, json!({"name": "s"})).await;
    let analysis = app
        .analysis(&app.admin, &sample, &ref_id, "pathoscope_bowtie")
        .await;
    (
        analysis["id"].as_str().unwrap().to_owned(),
        analysis["job"]["id"].as_str().unwrap().to_owned(),
    )
}

both!(acquire_once, |app: TestApp| async move {
    let (analysis_id, job_id) = new_job(&app).await;
    let path = format!("/jobs-api/jobs/{job_id}");
    let reply = app
        .json(Method::PATCH, &path, None, &json!({"acquired": false}))
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(
        reply.json()["errors"],
        json!({"acquired": ["unallowed value false"]})
    );
    let reply = app.json(Method::PATCH, &path, None, &json!({})).await;
    assert_eq!(
        reply.json()["errors"],
        json!({"acquired": ["required field"]})
    );
    app.send(app.client.patch(app.url(&path)).body("{x"))
        .await
        .assert_error(400, "bad_request", "Malformed JSON");
    app.json(
        Method::PATCH,
        "/jobs-api/jobs/nope1234",
        None,
        &json!({"acquired": true}),
    )
    .await
    .assert_error(404, "not_found", "Not found");
    let before = app
        .get(&format!("/api/analyses/{analysis_id}"), &app.admin)
        .await
        .json();
    let reply = app
        .json(Method::PATCH, &path, None, &json!({"acquired": true}))
        .await;
    reply.assert_status(200);
    let job = reply.json();
    assert_keys(
        &job,
        &[
            "id",
            "acquired",
            "archived",
            "args",
            "created_at",
            "key",
            "ping",
            "progress",
            "retries",
            "runner",
            "stage",
            "state",
            "status",
            "user",
            "workflow",
        ],
    );
    assert_eq!(job["acquired"], true);
    assert_eq!(job["state"], "preparing");
    assert_eq!(job["progress"], 3);
    assert_eq!(job["key"].as_str().unwrap().len(), 64);
    assert_eq!(job["args"]["analysis_id"], analysis_id);
    assert_eq!(job["args"]["sample_name"], "s");
    assert_eq!(job["status"].as_array().unwrap().len(), 2);
    assert_eq!(job["status"][0]["state"], "waiting");
    assert_eq!(
        job["status"][1],
        json!({"state": "preparing", "stage": null, "step_name": null, "step_description": null, "error": null, "progress": 3, "timestamp": job["status"][1]["timestamp"]})
    );
    app.json(Method::PATCH, &path, None, &json!({"acquired": true}))
        .await
        .assert_error(400, "bad_request", "Job already acquired");
    let after = app
        .get(&format!("/api/analyses/{analysis_id}"), &app.admin)
        .await
        .json();
    assert_eq!(after["job"]["state"], "preparing");
    assert!(after["updated_at"].as_str() > before["updated_at"].as_str());
});

both!(
    concurrent_acquire_has_one_winner,
    |app: TestApp| async move {
        let (_, job_id) = new_job(&app).await;
        let path = format!("/jobs-api/jobs/{job_id}");
        let body = json!({"acquired": true});
        let (a, b) = tokio::join!(
            app.json(Method::PATCH, &path, None, &body),
            app.json(Method::PATCH, &path, None, &body)
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 400]);
    }
);

both!(status_entries, |app: TestApp| async move {
    let (analysis_id, job_id) = new_job(&app).await;
    let (_, other_job) = new_job(&app).await;
    let job = app.acquire(&job_id).await;
    let path = format!("/jobs-api/jobs/{job_id}/status");
    let entry = json!({"state": "running", "stage": "map_default_isolates", "step_name": "Map Default Isolates", "step_description": "Map sample reads.", "progress": 16});
    app.json(
        Method::POST,
        &format!("/jobs-api/jobs/{other_job}/status"),
        Some(&job),
        &entry,
    )
    .await
    .assert_error(403, "insufficient_rights", "Insufficient rights");
    let reply = app.json(Method::POST, &path, Some(&job), &entry).await;
    reply.assert_status(201);
    let body = reply.json();
    assert_eq!(body["state"], "running");
    assert_eq!(body["stage"], "map_default_isolates");
    assert_eq!(body["progress"], 16);
    assert_eq!(body["error"], Value::Null);
    let analysis = app
        .get(&format!("/api/analyses/{analysis_id}"), &app.admin)
        .await
        .json();
    assert_eq!(analysis["job"]["state"], "running");
    assert_eq!(analysis["job"]["stage"], "map_default_isolates");
    assert_eq!(analysis["job"]["progress"], 16);
    let reply = app
        .json(
            Method::POST,
            &path,
            Some(&job),
            &json!({"state": "flying", "progress": 101}),
        )
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(
        reply.json()["errors"],
        json!({"state": ["unallowed value flying"], "stage": ["required field"], "progress": ["max value is 100"]})
    );
    app.json(
        Method::POST,
        &path,
        Some(&job),
        &json!({"state": "error", "stage": "", "progress": 50}),
    )
    .await
    .assert_error(400, "bad_request", "Missing error information");
    let reply = app
        .json(
            Method::POST,
            &path,
            Some(&job),
            &json!({"state": "error", "stage": "", "progress": 50, "error": {"type": "x"}}),
        )
        .await;
    assert_eq!(
        reply.json()["errors"],
        json!({"error.traceback": ["required field"], "error.details": ["required field"]})
    );
    let error = json!({"type": "KeyError", "traceback": ["line 1"], "details": ["boom"]});
    let reply = app
        .json(
            Method::POST,
            &path,
            Some(&job),
            &json!({"state": "error", "stage": "", "progress": 50, "error": error}),
        )
        .await;
    reply.assert_status(201);
    assert_eq!(reply.json()["error"], error);
    app.json(Method::POST, &path, Some(&job), &entry)
        .await
        .assert_error(409, "conflict", "Job is finished");
});

both!(ping, |app: TestApp| async move {
    let (_, job_id) = new_job(&app).await;
    let (_, other_job) = new_job(&app).await;
    let job = app.acquire(&job_id).await;
    let reply = app
        .send(app.request(
            Method::PUT,
            &format!("/jobs-api/jobs/{job_id}/ping"),
            Some(&job),
        ))
        .await;
    reply.assert_status(200);
    assert!(reply.json()["pinged_at"].as_str().unwrap().ends_with('Z'));
    app.send(app.request(
        Method::PUT,
        &format!("/jobs-api/jobs/{other_job}/ping"),
        Some(&job),
    ))
    .await
    .assert_error(403, "insufficient_rights", "Insufficient rights");
    app.send(app.request(Method::PUT, "/jobs-api/jobs/nope1234/ping", Some(&job)))
        .await
        .assert_error(404, "not_found", "Not found");
});
