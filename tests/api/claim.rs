//! J8 claim, J9, J10 release, J7's `cancelled` and J1 against J8 (workflows.md §7.2–§7.5), with
//! the helpers the lifecycle tests share: jobs and ready inputs written straight into the test
//! database where the routes that make them belong to other parts of the issue.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{assert_keys, Creds, Http, Reply, Setup, TestApp};
use crate::{both, every_store};

pub const JOB_KEYS: &[&str] = &[
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
];

/// The full job's keys without `key`.
pub fn keys_without_key() -> Vec<&'static str> {
    JOB_KEYS.iter().copied().filter(|k| *k != "key").collect()
}

/// Run one statement with text binds on the test database.
pub async fn sql(app: &TestApp, statement: &str, binds: &[&str]) {
    let mut conn = app.app.db.write().await.unwrap();
    let mut query = sqlx::query(statement);
    for bind in binds {
        query = query.bind(*bind);
    }
    query.execute(&mut *conn).await.unwrap();
}

/// Insert a waiting job as vira creates them (§1.1), `created_at` given.
pub async fn insert_job_on(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    workflow: &str,
    args: &Value,
    created_at: i64,
) {
    sqlx::query(
        "INSERT INTO jobs (id, workflow, args, acquired, key_digest, user_id, pinged_at, state, stage, progress, created_at) \
         VALUES ($1, $2, $3, 0, NULL, (SELECT id FROM users WHERE handle = 'admin'), NULL, 'waiting', NULL, 0, $4)",
    )
    .bind(id)
    .bind(workflow)
    .bind(args.to_string())
    .bind(created_at)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO job_status (job_id, position, state, stage, step_name, step_description, error, progress, timestamp) \
         VALUES ($1, 0, 'waiting', NULL, NULL, NULL, NULL, 0, $2)",
    )
    .bind(id)
    .bind(created_at)
    .execute(&mut *conn)
    .await
    .unwrap();
}

pub async fn insert_job(app: &TestApp, id: &str, workflow: &str, args: &Value) {
    let now = vira::model::time::now_micros();
    let mut conn = app.app.db.write().await.unwrap();
    insert_job_on(&mut conn, id, workflow, args, now).await;
}

/// A placeholder sample with a waiting `create_sample` job on it (as U11 with files makes them):
/// `(sample_id, job_id, upload_id)`; the upload is reserved by the sample.
pub async fn sample_job(app: &TestApp, owner: &Creds, job_id: &str) -> (String, String, i64) {
    let sample = app.sample(owner, json!({"name": "with reads"})).await;
    let upload_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM uploads")
        .fetch_one(app.app.db.reader())
        .await
        .unwrap();
    {
        let mut conn = app.app.db.write().await.unwrap();
        sqlx::query(
            "INSERT INTO uploads (id, name, name_on_disk, type, size, user_id, created_at, reserved) \
             VALUES ($1, 'r.fq.gz', $2, 'reads', 3, 'u', 0, 1)",
        )
        .bind(upload_id)
        .bind(format!("{upload_id}-r.fq.gz"))
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    let args =
        json!({"sample_id": sample, "files": [{"id": upload_id, "name": "r.fq.gz", "size": 3}]});
    insert_job(app, job_id, "create_sample", &args).await;
    sql(
        app,
        "UPDATE samples SET job_id = $1, upload_ids = $2 WHERE id = $3",
        &[job_id, &format!("[{upload_id}]"), &sample],
    )
    .await;
    (sample, job_id.to_owned(), upload_id)
}

/// Whether upload `id` is reserved.
pub async fn reserved(app: &TestApp, id: i64) -> bool {
    let value: i64 = sqlx::query_scalar("SELECT reserved FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_one(app.app.db.reader())
        .await
        .unwrap();
    value != 0
}

/// Reads stored for a sample as J15 would: the record and the object, on the app's store; the
/// object's key.
pub async fn store_reads(app: &TestApp, sample_id: &str, job_id: &str) -> String {
    use vira::files::Sink;
    let now = vira::model::time::now_micros();
    let key = vira::files::sample_reads_key(sample_id, "reads_1.fq.gz");
    let mut upload = app.app.files.create_upload(&key).await.unwrap();
    upload.write(b"abc").await.unwrap();
    let committed = app.app.files.commit(upload).await.unwrap();
    let mut conn = app.app.db.write().await.unwrap();
    sqlx::query(
        "INSERT INTO sample_reads (sample_id, name, size, uploaded_at, uploaded_by_job) \
         VALUES ($1, 'reads_1.fq.gz', 3, $2, $3)",
    )
    .bind(sample_id)
    .bind(now)
    .bind(job_id)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(committed);
    key
}

/// Whether the store holds an object under `key`.
pub async fn stored(app: &TestApp, key: &str) -> bool {
    app.app.files.open_object(key).await.unwrap().is_some()
}

/// A runner made through U33; its credentials.
pub async fn runner(app: &TestApp, name: &str) -> Creds {
    let reply = app
        .post("/api/runners", &app.admin, &json!({ "name": name }))
        .await;
    reply.assert_status(201);
    credential(reply.json()["credential"].as_str().unwrap())
}

/// `runner-<id>:<key>` as Basic credentials.
pub fn credential(text: &str) -> Creds {
    let (login, key) = text.split_once(':').unwrap();
    Creds {
        login: login.to_owned(),
        key: key.to_owned(),
    }
}

pub async fn claim(http: &Http, runner: &Creds, query: &str) -> Reply {
    http.send(http.request(
        Method::POST,
        &format!("/jobs-api/jobs/claim{query}"),
        Some(runner),
    ))
    .await
}

/// The job credentials of a claimed job body.
pub fn job_creds(job: &Value) -> Creds {
    Creds {
        login: format!("job-{}", job["id"].as_str().unwrap()),
        key: job["key"].as_str().unwrap().to_owned(),
    }
}

/// An analysis of `workflow` whose sample is ready and whose index has files: claimable.
pub async fn claimable_analysis(app: &TestApp, ref_id: &str, workflow: &str) -> (String, String) {
    let sample = app.sample(&app.admin, json!({"name": "s"})).await;
    let analysis = app.analysis(&app.admin, &sample, ref_id, workflow).await;
    sql(
        app,
        "UPDATE samples SET ready = 1 WHERE id = $1",
        &[&sample],
    )
    .await;
    let index_id = analysis["index"]["id"].as_str().unwrap();
    sql(
        app,
        "UPDATE indexes SET has_files = 1 WHERE id = $1",
        &[index_id],
    )
    .await;
    (
        analysis["id"].as_str().unwrap().to_owned(),
        analysis["job"]["id"].as_str().unwrap().to_owned(),
    )
}

pub async fn ping(http: &Http, job: &Creds, job_id: &str) -> Reply {
    http.send(http.request(
        Method::PUT,
        &format!("/jobs-api/jobs/{job_id}/ping"),
        Some(job),
    ))
    .await
}

both!(claim_query_and_credentials, |app: TestApp| async move {
    let runner = runner(&app, "r1").await;
    claim(&app, &runner, "")
        .await
        .assert_error(422, "invalid_query", "Invalid query");
    assert_eq!(
        claim(&app, &runner, "").await.json()["errors"],
        json!({"workflow": ["required field"]})
    );
    let reply = claim(&app, &runner, "?workflow=nuvs&workflow=blast").await;
    reply.assert_error(422, "invalid_query", "Invalid query");
    assert_eq!(
        reply.json()["errors"],
        json!({"workflow": ["unallowed value blast"]})
    );
    let reply = claim(&app, &runner, "?workflow=nuvs").await;
    reply.assert_status(204);
    assert!(reply.bytes.is_empty());
    // Credentials come first.
    app.send(app.request(Method::POST, "/jobs-api/jobs/claim", None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    let wrong = Creds {
        login: runner.login.clone(),
        key: "0".repeat(64),
    };
    claim(&app, &wrong, "").await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    claim(&app, &app.admin, "?workflow=nuvs")
        .await
        .assert_error(
            401,
            "invalid_authorization_header",
            "Invalid authorization header",
        );
    for method in [Method::GET, Method::PATCH] {
        let reply = app
            .send(app.request(method, "/jobs-api/jobs/claim", Some(&runner)))
            .await;
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow").as_deref(), Some("POST"));
    }
});

both!(claim_gate_order_and_body, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let runner = runner(&app, "gate").await;
    // A placeholder sample's analysis waits (§1.4).
    let sample = app.sample(&app.admin, json!({"name": "s"})).await;
    let analysis = app
        .analysis(&app.admin, &sample, &ref_id, "pathoscope_bowtie")
        .await;
    let job_id = analysis["job"]["id"].as_str().unwrap().to_owned();
    let index_id = analysis["index"]["id"].as_str().unwrap().to_owned();
    let query = "?workflow=pathoscope_bowtie&workflow=nuvs";
    claim(&app, &runner, query).await.assert_status(204);
    sql(
        &app,
        "UPDATE samples SET ready = 1 WHERE id = $1",
        &[&sample],
    )
    .await;
    claim(&app, &runner, query).await.assert_status(204);
    sql(
        &app,
        "UPDATE indexes SET has_files = 1 WHERE id = $1",
        &[&index_id],
    )
    .await;
    // A subtraction with a host genome that is not ready holds the analysis back.
    let sub = app
        .post("/api/subtractions", &app.admin, &json!({"name": "host"}))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let with_sub = app
        .post(
            &format!("/api/samples/{sample}/analyses"),
            &app.admin,
            &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie", "subtractions": [sub]}),
        )
        .await
        .json();
    sql(
        &app,
        "UPDATE subtractions SET upload_id = 1, ready = 0 WHERE id = $1",
        &[&sub],
    )
    .await;
    // nuvs waits for the HMM profiles.
    let nuvs = app.analysis(&app.admin, &sample, &ref_id, "nuvs").await;
    let reply = claim(&app, &runner, query).await;
    reply.assert_status(200);
    let job = reply.json();
    assert_keys(&job, JOB_KEYS);
    assert_eq!(job["id"], job_id.as_str());
    assert_eq!(job["acquired"], true);
    assert_eq!(job["state"], "preparing");
    assert_eq!(job["progress"], 3);
    assert_eq!(job["retries"], 0);
    let runner_id = runner.login.strip_prefix("runner-").unwrap();
    assert_eq!(job["runner"], json!({"id": runner_id, "name": "gate"}));
    assert_eq!(job["key"].as_str().unwrap().len(), 64);
    let last = job["status"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["state"], "preparing");
    assert_eq!(last["progress"], 3);
    claim(&app, &runner, query).await.assert_status(204);
    sql(
        &app,
        "UPDATE subtractions SET ready = 1 WHERE id = $1",
        &[&sub],
    )
    .await;
    let reply = claim(&app, &runner, query).await;
    assert_eq!(reply.json()["id"], with_sub["job"]["id"]);
    claim(&app, &runner, query).await.assert_status(204);
    sql(
        &app,
        "INSERT INTO hmm_profiles (singleton, size, sha256, profile_count, uploaded_at) VALUES (1, 1, 'x', 1, 0)",
        &[],
    )
    .await;
    // Only the named workflows are handed out.
    claim(&app, &runner, "?workflow=pathoscope_bowtie")
        .await
        .assert_status(204);
    let reply = claim(&app, &runner, query).await;
    assert_eq!(reply.json()["id"], nuvs["job"]["id"]);
    // The runner's last claim is recorded; the job's key works, J1 refuses a claimed job.
    let runners = app.get("/api/runners", &app.admin).await.json();
    assert!(runners["documents"][0]["last_claim_at"].is_string());
    app.json(
        Method::PATCH,
        &format!("/jobs-api/jobs/{job_id}"),
        None,
        &json!({"acquired": true}),
    )
    .await
    .assert_error(400, "bad_request", "Job already acquired");
    let creds = job_creds(&job);
    ping(&app, &creds, &job_id).await.assert_status(200);
    // A job credential cannot claim.
    claim(&app, &creds, query).await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
});

both!(claim_oldest_first, |app: TestApp| async move {
    let runner = runner(&app, "order").await;
    let sample = app.sample(&app.admin, json!({"name": "s"})).await;
    let now = vira::model::time::now_micros();
    {
        let mut conn = app.app.db.write().await.unwrap();
        for (id, at) in [
            ("jobc", now + 2),
            ("joba", now),
            ("jobb", now),
            ("jobd", now + 1),
        ] {
            let args = json!({"sample_id": sample, "files": []});
            crate::claim::insert_job_on(&mut conn, id, "create_sample", &args, at).await;
        }
    }
    let mut order = Vec::new();
    loop {
        let reply = claim(&app, &runner, "?workflow=create_sample").await;
        if reply.status == 204 {
            break;
        }
        order.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(order, ["joba", "jobb", "jobd", "jobc"]);
});

both!(acquire_and_claim_race, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let runner = runner(&app, "race").await;
    for _ in 0..5 {
        let (_, job_id) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
        let path = format!("/jobs-api/jobs/{job_id}");
        let body = json!({"acquired": true});
        let acquire = app.json(Method::PATCH, &path, None, &body);
        let claimed = claim(&app, &runner, "?workflow=pathoscope_bowtie");
        let (acquire, claimed) = tokio::join!(acquire, claimed);
        let winners = u16::from(acquire.status == 200) + u16::from(claimed.status == 200);
        assert_eq!(winners, 1, "J1 {} J8 {}", acquire.status, claimed.status);
    }
});

both!(get_own_job, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let runner = runner(&app, "get").await;
    let (_, job_id) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    let (_, other) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    let job = claim(&app, &runner, "?workflow=pathoscope_bowtie")
        .await
        .json();
    let creds = job_creds(&job);
    let path = format!("/jobs-api/jobs/{job_id}");
    app.send(app.request(Method::GET, &path, None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.get(&path, &runner).await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    app.get("/jobs-api/jobs/nope1234", &creds)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(&format!("/jobs-api/jobs/{other}"), &creds)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    let reply = app.get(&path, &creds).await;
    reply.assert_status(200);
    assert_keys(&reply.json(), &keys_without_key());
    assert_eq!(reply.json()["runner"]["name"], "get");
});

every_store!(release_requeues_at_once, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let runner = runner(&app, "rel").await;
    let (analysis_id, job_id) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    let (_, other) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    let job = claim(&app, &runner, "?workflow=pathoscope_bowtie")
        .await
        .json();
    assert_eq!(job["id"], job_id.as_str());
    let creds = job_creds(&job);
    // A file the job uploaded (J6) is partial output of the job.
    let files = format!("/jobs-api/analyses/{analysis_id}/files?name=part.sam&format=sam");
    app.upload(Method::POST, &files, &creds, b"@HD".to_vec())
        .await
        .assert_status(201);
    assert_eq!(app.stored_names(&analysis_id).await.len(), 1);
    // The user's own upload (U6) is not the job's.
    let user_file = format!("/api/analyses/{analysis_id}/files?name=mine.tsv&format=tsv");
    app.upload(Method::POST, &user_file, &app.admin, b"a\tb".to_vec())
        .await
        .assert_status(201);
    let release = |id: &str| format!("/jobs-api/jobs/{id}/release");
    app.send(app.request(Method::POST, &release(&job_id), None))
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    app.send(app.request(Method::POST, &release("nope1234"), Some(&creds)))
        .await
        .assert_error(404, "not_found", "Not found");
    app.send(app.request(Method::POST, &release(&other), Some(&creds)))
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    ping(&app, &creds, &job_id).await.assert_status(200);
    let reply = app
        .send(app.request(Method::POST, &release(&job_id), Some(&creds)))
        .await;
    reply.assert_status(200);
    let released = reply.json();
    assert_keys(&released, &keys_without_key());
    assert_eq!(released["state"], "waiting");
    assert_eq!(released["acquired"], false);
    assert_eq!(released["runner"], Value::Null);
    assert_eq!(released["retries"], 0);
    let last = released["status"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        json!({"state": last["state"], "stage": last["stage"], "step_name": last["step_name"],
               "step_description": last["step_description"], "error": last["error"],
               "progress": last["progress"]}),
        json!({"state": "waiting", "stage": "released", "step_name": null,
               "step_description": null, "error": null, "progress": 0})
    );
    // The key is revoked at once; the job's upload is gone, the user's stays.
    ping(&app, &creds, &job_id).await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    let analysis = app
        .get(&format!("/api/analyses/{analysis_id}"), &app.admin)
        .await
        .json();
    assert_eq!(crate::support::file_names(&analysis), ["mine.tsv"]);
    assert_eq!(app.stored_names(&analysis_id).await.len(), 1);
    // Claimable again at once, oldest first.
    let again = claim(&app, &runner, "?workflow=pathoscope_bowtie")
        .await
        .json();
    assert_eq!(again["id"], job_id.as_str());
    let creds = job_creds(&again);
    // A finished job cannot be released.
    app.post(
        &format!("/jobs-api/jobs/{job_id}/status"),
        &creds,
        &json!({"state": "error", "stage": "x", "progress": 10,
                "error": {"type": "E", "traceback": [], "details": []}}),
    )
    .await
    .assert_status(201);
    app.send(app.request(Method::POST, &release(&job_id), Some(&creds)))
        .await
        .assert_error(409, "conflict", "Job is finished");
});

both!(ping_answers_cancelled, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let runner = runner(&app, "pinger").await;
    let (_, job_id) = claimable_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    let job = claim(&app, &runner, "?workflow=pathoscope_bowtie")
        .await
        .json();
    let creds = job_creds(&job);
    let reply = ping(&app, &creds, &job_id).await;
    reply.assert_status(200);
    assert_keys(&reply.json(), &["pinged_at", "cancelled"]);
    assert_eq!(reply.json()["cancelled"], false);
    app.send(app.request(
        Method::PUT,
        &format!("/api/jobs/{job_id}/cancel"),
        Some(&app.admin),
    ))
    .await
    .assert_status(200);
    assert_eq!(ping(&app, &creds, &job_id).await.json()["cancelled"], true);
    // A runner credential is not a job credential.
    ping(&app, &runner, &job_id).await.assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
});
