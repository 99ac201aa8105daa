//! Contract §11 on U2 and J3: Last-Modified, 304 for every accepted If-Modified-Since form, rights
//! before 304, and every event that bumps `updated_at`.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::support::{Creds, Reply, Setup, TestApp};

fn updated_at(body: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(body["updated_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Every accepted form of `t` (whole seconds).
fn forms(t: DateTime<Utc>) -> Vec<String> {
    let plus2 = t.with_timezone(&FixedOffset::east_opt(2 * 3600).unwrap());
    vec![
        t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        t.format("%A, %d-%b-%y %H:%M:%S GMT").to_string(),
        t.format("%a %b %e %H:%M:%S %Y").to_string(),
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        t.format("%Y-%m-%dT%H:%M:%S.999999Z").to_string(),
        plus2.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        t.format("%Y-%m-%dT%H:%M:%S.5").to_string(),
    ]
}

async fn conditional(app: &TestApp, path: &str, creds: &Creds, since: &str) -> Reply {
    app.send(
        app.request(Method::GET, path, Some(creds))
            .header("if-modified-since", since),
    )
    .await
}

both!(if_modified_since_in_every_form, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let run = app.started(&ref_id, "nuvs").await;
    let (bob, _) = app.user("bob", &[]).await;
    for (path, creds) in [
        (format!("/api/analyses/{}", run.id), app.admin.clone()),
        (format!("/jobs-api/analyses/{}", run.id), run.job.clone()),
    ] {
        let reply = app.get(&path, &creds).await;
        reply.assert_status(200);
        let body = reply.json();
        let t = updated_at(&body);
        let whole = DateTime::from_timestamp(t.timestamp(), 0).unwrap();
        assert_eq!(
            reply.header("last-modified").unwrap(),
            whole.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
        );
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-cache"));
        for since in forms(whole) {
            let reply = conditional(&app, &path, &creds, &since).await;
            assert_eq!(reply.status.as_u16(), 304, "{since}");
            assert!(reply.bytes.is_empty());
            assert_eq!(
                reply.header("last-modified"),
                Some(whole.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            );
            assert_eq!(reply.header("cache-control").as_deref(), Some("no-cache"));
        }
        for since in forms(whole - Duration::seconds(1)) {
            let reply = conditional(&app, &path, &creds, &since).await;
            assert_eq!(reply.status.as_u16(), 200, "{since}");
            assert_eq!(reply.json(), body);
        }
        // Later than updated_at: still 304. Unparseable: ignored.
        let later = (whole + Duration::days(1)).format("%a, %d %b %Y %H:%M:%S GMT");
        conditional(&app, &path, &creds, &later.to_string())
            .await
            .assert_status(304);
        conditional(&app, &path, &creds, "yesterday")
            .await
            .assert_status(200);
    }
    // Rights run before the 304 decision.
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    let closed = app
        .sample(&app.admin, json!({"name": "closed", "all_read": false}))
        .await;
    let hidden = app.analysis(&app.admin, &closed, &ref_id, "nuvs").await;
    conditional(
        &app,
        &format!("/api/analyses/{}", hidden["id"].as_str().unwrap()),
        &bob,
        future,
    )
    .await
    .assert_error(403, "insufficient_rights", "Insufficient rights");
    conditional(&app, "/api/analyses/nope1234", &bob, future)
        .await
        .assert_error(404, "not_found", "Not found");
    app.send(
        app.request(Method::GET, &format!("/api/analyses/{}", run.id), None)
            .header("if-modified-since", future),
    )
    .await
    .assert_error(401, "requires_authorization", "Requires authorization");
    let stranger = app.started(&ref_id, "nuvs").await;
    conditional(
        &app,
        &format!("/jobs-api/analyses/{}", run.id),
        &stranger.job,
        future,
    )
    .await
    .assert_error(403, "insufficient_rights", "Insufficient rights");
});

both!(every_change_bumps_updated_at, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let sample = app.sample(&app.admin, json!({"name": "s"})).await;
    let created = app
        .analysis(&app.admin, &sample, &ref_id, "pathoscope_bowtie")
        .await;
    assert_eq!(created["created_at"], created["updated_at"]);
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/analyses/{id}");
    let mut last = updated_at(&created);
    let mut bumped = |body: Value, what: &str| {
        let now = updated_at(&body);
        assert!(now > last, "{what} must bump updated_at");
        last = now;
    };
    let job = app.acquire(created["job"]["id"].as_str().unwrap()).await;
    bumped(app.get(&path, &app.admin).await.json(), "acquire (J1)");
    let status = json!({"state": "running", "stage": "x", "progress": 50});
    app.json(
        Method::POST,
        &format!(
            "/jobs-api/jobs/{}/status",
            created["job"]["id"].as_str().unwrap()
        ),
        Some(&job),
        &status,
    )
    .await
    .assert_status(201);
    bumped(
        app.get(&path, &app.admin).await.json(),
        "a status entry (J2)",
    );
    app.upload(
        Method::POST,
        &format!("{path}/files?name=a"),
        &app.admin,
        vec![1],
    )
    .await
    .assert_status(201);
    bumped(
        app.get(&path, &app.admin).await.json(),
        "a user upload (U6)",
    );
    app.upload(
        Method::PUT,
        &format!("/jobs-api/analyses/{id}/files?name=b"),
        &job,
        vec![1],
    )
    .await
    .assert_status(201);
    bumped(
        app.get(&path, &app.admin).await.json(),
        "a runner upload (J6)",
    );
    // A reading client's copy goes stale once the analysis is finalized a second later.
    let before = app.get(&path, &app.admin).await;
    let stamp = before.header("last-modified").unwrap();
    conditional(&app, &path, &app.admin, &stamp)
        .await
        .assert_status(304);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let reply = app.finalize(&job, &id, &json!({"hits": []})).await;
    reply.assert_status(200);
    assert_ne!(reply.header("last-modified").unwrap(), stamp);
    bumped(reply.json(), "finalize (J4)");
    let after = conditional(&app, &path, &app.admin, &stamp).await;
    after.assert_status(200);
    assert_eq!(after.json()["ready"], true);
});
