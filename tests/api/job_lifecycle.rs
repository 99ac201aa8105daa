//! Jobs on the user API (U31, U32, U3 changed), sample deletion (U26, J13), partial output
//! discarded with the state change that ends a job (§1.3), and the stall sweep (§7.5).

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::claim::{
    claim, claimable_analysis, insert_job, job_creds, keys_without_key, ping, reserved, runner,
    sample_job, sql, store_reads, stored,
};
use crate::support::{assert_keys, Creds, Setup, TestApp};
use crate::{both, every_store};

fn last(job: &Value) -> Value {
    job["status"].as_array().unwrap().last().unwrap().clone()
}

async fn cancel(app: &TestApp, job_id: &str, creds: Option<&Creds>) -> crate::support::Reply {
    app.send(app.request(Method::PUT, &format!("/api/jobs/{job_id}/cancel"), creds))
        .await
}

async fn user_job(app: &TestApp, job_id: &str) -> Value {
    let reply = app.get(&format!("/api/jobs/{job_id}"), &app.admin).await;
    reply.assert_status(200);
    reply.json()
}

both!(read_a_job, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let (bob, _) = app.user("bob", &[]).await;
    let private = app
        .sample(
            &app.admin,
            json!({"name": "p", "group_read": false, "all_read": false}),
        )
        .await;
    let analysis = app
        .analysis(&app.admin, &private, &ref_id, "pathoscope_bowtie")
        .await;
    let job_id = analysis["job"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/jobs/{job_id}");
    app.send(app.request(Method::GET, &path, None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.get("/api/jobs/nope1234", &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&path, &bob)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    let reply = app.get(&path, &app.admin).await;
    reply.assert_status(200);
    assert_keys(&reply.json(), &keys_without_key());
    // A readable sample's job is readable; build_index jobs by anyone.
    let open = app.sample(&app.admin, json!({"name": "o"})).await;
    let analysis = app.analysis(&app.admin, &open, &ref_id, "nuvs").await;
    let open_job = analysis["job"]["id"].as_str().unwrap().to_owned();
    app.get(&format!("/api/jobs/{open_job}"), &bob)
        .await
        .assert_status(200);
    let args = json!({"ref_id": ref_id, "user_id": "u", "index_id": "i", "index_version": 0, "manifest": {}});
    insert_job(&app, "buildjob", "build_index", &args).await;
    app.get("/api/jobs/buildjob", &bob).await.assert_status(200);
    // A job whose sample is gone: administrators only.
    app.drop_sample(&open).await;
    app.get(&format!("/api/jobs/{open_job}"), &bob)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    app.get(&format!("/api/jobs/{open_job}"), &app.admin)
        .await
        .assert_status(200);
});

both!(cancel_a_job, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let (bob, _) = app.user("bob", &[]).await;
    let (analysis_id, job_id) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    cancel(&app, &job_id, None).await.assert_error(
        401,
        "requires_authorization",
        "Requires authorization",
    );
    cancel(&app, "nope1234", Some(&bob))
        .await
        .assert_error(404, "not_found", "Not found");
    // bob reads the sample (all_read) but may not write it.
    cancel(&app, &job_id, Some(&bob)).await.assert_error(
        403,
        "insufficient_rights",
        "Insufficient rights",
    );
    let args = json!({"ref_id": ref_id, "user_id": "u", "index_id": "i", "index_version": 0, "manifest": {}});
    insert_job(&app, "buildjob", "build_index", &args).await;
    cancel(&app, "buildjob", Some(&bob)).await.assert_error(
        403,
        "insufficient_rights",
        "Insufficient rights",
    );
    cancel(&app, "buildjob", Some(&app.admin))
        .await
        .assert_status(200);
    // A not-ready analysis with an unfinished job cannot be deleted (§6.4).
    let analysis_path = format!("/api/analyses/{analysis_id}");
    app.delete(&analysis_path, &app.admin).await.assert_error(
        409,
        "conflict",
        "Analysis is still running",
    );
    let before = app.get(&analysis_path, &app.admin).await.json()["updated_at"].clone();
    let reply = cancel(&app, &job_id, Some(&app.admin)).await;
    reply.assert_status(200);
    let job = reply.json();
    assert_keys(&job, &keys_without_key());
    assert_eq!(job["state"], "cancelled");
    let entry = last(&job);
    assert_keys(
        &entry,
        &[
            "state",
            "stage",
            "step_name",
            "step_description",
            "error",
            "progress",
            "timestamp",
        ],
    );
    assert_eq!(entry["state"], "cancelled");
    assert_eq!(entry["stage"], Value::Null);
    assert_eq!(entry["error"], Value::Null);
    assert_eq!(entry["progress"], 0);
    let after = app.get(&analysis_path, &app.admin).await.json();
    assert_ne!(after["updated_at"], before);
    assert_eq!(after["job"]["state"], "cancelled");
    cancel(&app, &job_id, Some(&app.admin)).await.assert_error(
        409,
        "conflict",
        "Job cannot be cancelled in its current state",
    );
    // Never handed out afterwards; J1 says it is finished.
    let runner = runner(&app, "c").await;
    claim(&app, &runner, "?workflow=pathoscope_bowtie")
        .await
        .assert_status(204);
    app.json(
        Method::PATCH,
        &format!("/jobs-api/jobs/{job_id}"),
        None,
        &json!({"acquired": true}),
    )
    .await
    .assert_error(409, "conflict", "Job is finished");
    // Now the failed analysis can be deleted.
    app.delete(&analysis_path, &app.admin)
        .await
        .assert_status(204);
});

both!(cancel_keeps_the_last_step, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let (_, job_id) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    let runner = runner(&app, "steps").await;
    let job = claim(&app, &runner, "?workflow=pathoscope_bowtie")
        .await
        .json();
    let creds = job_creds(&job);
    app.post(
        &format!("/jobs-api/jobs/{job_id}/status"),
        &creds,
        &json!({"state": "running", "stage": "map", "progress": 40,
                "step_name": "Map", "step_description": "Map reads."}),
    )
    .await
    .assert_status(201);
    let entry = last(&cancel(&app, &job_id, Some(&app.admin)).await.json());
    assert_eq!(
        json!([
            entry["state"],
            entry["stage"],
            entry["step_name"],
            entry["step_description"],
            entry["error"],
            entry["progress"]
        ]),
        json!(["cancelled", "map", "Map", "Map reads.", null, 40])
    );
    // The runner learns it from its ping and from J2.
    assert_eq!(ping(&app, &creds, &job_id).await.json()["cancelled"], true);
    app.post(
        &format!("/jobs-api/jobs/{job_id}/status"),
        &creds,
        &json!({"state": "running", "stage": "x", "progress": 50}),
    )
    .await
    .assert_error(409, "conflict", "Job is finished");
});

every_store!(error_discards_partial_reads, |app: TestApp| async move {
    let runner = runner(&app, "reads").await;
    let (sample, job_id, upload) = sample_job(&app, &app.admin, "samplejb").await;
    let job = claim(&app, &runner, "?workflow=create_sample").await.json();
    assert_eq!(job["id"], "samplejb");
    let key = store_reads(&app, &sample, &job_id).await;
    assert!(reserved(&app, upload).await);
    app.post(
        &format!("/jobs-api/jobs/{job_id}/status"),
        &job_creds(&job),
        &json!({"state": "error", "stage": "check", "progress": 10,
                "error": {"type": "E", "traceback": [], "details": ["bad"]}}),
    )
    .await
    .assert_status(201);
    assert_eq!(app.rows("sample_reads", "sample_id", &sample).await, 0);
    assert!(!stored(&app, &key).await);
    assert!(!reserved(&app, upload).await);
    // The sample stays (§1.3), the job's error readable through U31.
    app.get(&format!("/api/samples/{sample}"), &app.admin)
        .await
        .assert_status(200);
    assert_eq!(user_job(&app, &job_id).await["state"], "error");
    // A finalized sample keeps its reads whatever its job does next.
    let (ready, ready_job, _) = sample_job(&app, &app.admin, "samplej2").await;
    let job = claim(&app, &runner, "?workflow=create_sample").await.json();
    let key = store_reads(&app, &ready, &ready_job).await;
    sql(
        &app,
        "UPDATE samples SET ready = 1 WHERE id = $1",
        &[&ready],
    )
    .await;
    cancel(&app, &ready_job, Some(&app.admin))
        .await
        .assert_status(200);
    assert!(stored(&app, &key).await);
    assert_eq!(app.rows("sample_reads", "sample_id", &ready).await, 1);
    drop(job);
});

every_store!(cancel_discards_partial_reads, |app: TestApp| async move {
    let runner = runner(&app, "reads").await;
    let (sample, job_id, upload) = sample_job(&app, &app.admin, "samplejb").await;
    claim(&app, &runner, "?workflow=create_sample")
        .await
        .assert_status(200);
    let key = store_reads(&app, &sample, &job_id).await;
    cancel(&app, &job_id, Some(&app.admin))
        .await
        .assert_status(200);
    assert_eq!(app.rows("sample_reads", "sample_id", &sample).await, 0);
    assert!(!stored(&app, &key).await);
    assert!(!reserved(&app, upload).await);
});

both!(
    stalled_jobs_are_requeued_then_time_out,
    config = |c| {
        c.job_stall_seconds = 1;
        c.job_sweep_interval_seconds = 1;
        c.job_retries = 1;
    },
    |app: TestApp| async move {
        let runner = runner(&app, "stall").await;
        let (sample, job_id, upload) = sample_job(&app, &app.admin, "stalljob").await;
        let job = claim(&app, &runner, "?workflow=create_sample").await.json();
        let creds = job_creds(&job);
        let key = store_reads(&app, &sample, &job_id).await;
        // A job acquired with J1 that never pings is left alone.
        let ref_id = app.small_reference().await;
        let (_, quiet) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
        let quiet_creds = app.acquire(&quiet).await;
        // The claimer stops pinging: requeued by the sweep.
        wait_state(&app, &job_id, "waiting").await;
        let job = user_job(&app, &job_id).await;
        assert_eq!(job["retries"], 1);
        assert_eq!(job["acquired"], false);
        assert_eq!(job["runner"], Value::Null);
        let entry = last(&job);
        assert_eq!(
            json!([
                entry["state"],
                entry["stage"],
                entry["step_name"],
                entry["step_description"],
                entry["error"],
                entry["progress"]
            ]),
            json!(["waiting", "requeued", null, null, null, 0])
        );
        assert_eq!(app.rows("sample_reads", "sample_id", &sample).await, 0);
        assert!(!stored(&app, &key).await);
        assert!(!reserved(&app, upload).await);
        ping(&app, &creds, &job_id).await.assert_error(
            401,
            "invalid_authorization_header",
            "Invalid authorization header",
        );
        // Claimed again, silent again: no retries left, it times out.
        let again = claim(&app, &runner, "?workflow=create_sample").await.json();
        assert_eq!(again["id"], job_id.as_str());
        assert_eq!(again["retries"], 1);
        wait_state(&app, &job_id, "timeout").await;
        let entry = last(&user_job(&app, &job_id).await);
        assert_eq!(
            json!([
                entry["state"],
                entry["stage"],
                entry["progress"],
                entry["error"]
            ]),
            json!(["timeout", null, 3, {"type": "JobStalled", "traceback": [],
                   "details": ["No ping from the runner for 1 seconds"]}])
        );
        assert_eq!(user_job(&app, &quiet).await["state"], "preparing");
        ping(&app, &quiet_creds, &quiet).await.assert_status(200);
    }
);

both!(
    pinging_jobs_are_not_stalled,
    config = |c| {
        c.job_stall_seconds = 1;
        c.job_sweep_interval_seconds = 1;
    },
    |app: TestApp| async move {
        let runner = runner(&app, "alive").await;
        let (_, job_id, _) = sample_job(&app, &app.admin, "alivejob").await;
        let creds = job_creds(&claim(&app, &runner, "?workflow=create_sample").await.json());
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            ping(&app, &creds, &job_id).await.assert_status(200);
        }
        assert_eq!(user_job(&app, &job_id).await["state"], "preparing");
    }
);

/// Poll U31 until the job is in `state` (bounded: 15 s).
async fn wait_state(app: &TestApp, job_id: &str, state: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while user_job(app, job_id).await["state"] != state {
        assert!(
            std::time::Instant::now() < deadline,
            "job {job_id} never became {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

every_store!(delete_a_sample, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let (bob, _) = app.user("bob", &[]).await;
    let (sample, sample_job_id, upload) = sample_job(&app, &app.admin, "samplejb").await;
    let key = store_reads(&app, &sample, &sample_job_id).await;
    let analysis = app
        .analysis(&app.admin, &sample, &ref_id, "pathoscope_bowtie")
        .await;
    let analysis_id = analysis["id"].as_str().unwrap().to_owned();
    let analysis_job = analysis["job"]["id"].as_str().unwrap().to_owned();
    let job = app.acquire(&analysis_job).await;
    let path = format!("/api/samples/{sample}");
    app.send(app.request(Method::DELETE, &path, None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.delete("/api/samples/nope1234", &bob)
        .await
        .assert_error(404, "not_found", "Not found");
    app.delete(&path, &bob)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    app.delete(&path, &app.admin).await.assert_status(204);
    app.get(&path, &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&format!("/api/analyses/{analysis_id}"), &app.admin)
        .await
        .assert_status(404);
    // Jobs are kept, cancelled; the running one hears it and loses its analysis.
    assert_eq!(user_job(&app, &sample_job_id).await["state"], "cancelled");
    assert_eq!(user_job(&app, &analysis_job).await["state"], "cancelled");
    assert_eq!(
        ping(&app, &job, &analysis_job).await.json()["cancelled"],
        true
    );
    app.get(&format!("/jobs-api/analyses/{analysis_id}"), &job)
        .await
        .assert_error(404, "not_found", "Not found");
    assert_eq!(app.rows("sample_reads", "sample_id", &sample).await, 0);
    assert!(!stored(&app, &key).await);
    assert!(!reserved(&app, upload).await);
});

both!(
    a_create_sample_job_deletes_its_sample,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let runner = runner(&app, "hook").await;
        let (sample, job_id, upload) = sample_job(&app, &app.admin, "samplejb").await;
        let job = claim(&app, &runner, "?workflow=create_sample").await.json();
        let creds = job_creds(&job);
        let (other_sample, _, _) = sample_job(&app, &app.admin, "samplej2").await;
        let (_, analysis_job) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
        let analysis_creds = app.acquire(&analysis_job).await;
        let analysis_sample = user_job(&app, &analysis_job).await["args"]["sample_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = |id: &str| format!("/jobs-api/samples/{id}");
        app.send(app.request(Method::DELETE, &path(&sample), None))
            .await
            .assert_error(401, "requires_authorization", "Requires authorization");
        app.delete(&path(&sample), &runner).await.assert_error(
            401,
            "invalid_authorization_header",
            "Invalid authorization header",
        );
        app.delete(&path("nope1234"), &creds)
            .await
            .assert_error(404, "not_found", "Not found");
        app.delete(&path(&other_sample), &creds).await.assert_error(
            403,
            "insufficient_rights",
            "Insufficient rights",
        );
        app.delete(&path(&analysis_sample), &analysis_creds)
            .await
            .assert_error(403, "insufficient_rights", "Insufficient rights");
        let key = store_reads(&app, &sample, &job_id).await;
        app.delete(&path(&sample), &creds).await.assert_status(204);
        assert!(!stored(&app, &key).await);
        assert!(!reserved(&app, upload).await);
        // The caller's own job is not cancelled.
        assert_eq!(user_job(&app, &job_id).await["state"], "preparing");
        app.delete(&path(&sample), &creds)
            .await
            .assert_error(404, "not_found", "Not found");
        // A finalized sample is refused.
        let (ready, _, _) = sample_job(&app, &app.admin, "samplej3").await;
        let job = claim(&app, &runner, "?workflow=create_sample").await.json();
        assert_eq!(job["args"]["sample_id"], other_sample.as_str());
        let job = claim(&app, &runner, "?workflow=create_sample").await.json();
        assert_eq!(job["args"]["sample_id"], ready.as_str());
        sql(
            &app,
            "UPDATE samples SET ready = 1 WHERE id = $1",
            &[&ready],
        )
        .await;
        app.delete(&path(&ready), &job_creds(&job))
            .await
            .assert_error(409, "conflict", "Sample is finalized");
    }
);
