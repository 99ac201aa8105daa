//! Contract §2: every 401 row on `/api` and `/jobs-api`, in order.

use base64::Engine;
use reqwest::Method;

use crate::both;
use crate::support::{Setup, TestApp};

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn with_header(app: &TestApp, path: &str, value: Option<&str>) -> crate::support::Reply {
    let mut request = app.client.get(app.url(path));
    if let Some(value) = value {
        request = request.header("authorization", value);
    }
    app.send(request).await
}

both!(user_api_401_rows, |app: TestApp| async move {
    let path = "/api/analyses";
    with_header(&app, path, None).await.assert_error(
        401,
        "requires_authorization",
        "Requires authorization",
    );
    for bad in [
        "Bearer abc".to_owned(),
        "Basic !!!notbase64".to_owned(),
        format!("Basic {}", b64("no-colon-here")),
        "Basic".to_owned(),
    ] {
        let reply = with_header(&app, path, Some(&bad)).await;
        reply.assert_error(
            401,
            "malformed_authorization_header",
            "Malformed Authorization header",
        );
        assert!(reply.header("www-authenticate").is_none());
    }
    with_header(&app, path, Some(&format!("Basic {}", b64("job-abc:key"))))
        .await
        .assert_error(
            401,
            "malformed_authorization_header",
            "Jobs cannot authenticate against this service",
        );
    for creds in [
        format!("nobody:{}", app.admin.key),
        "admin:wrongkey".to_owned(),
        "admin:".to_owned(),
    ] {
        with_header(&app, path, Some(&format!("Basic {}", b64(&creds))))
            .await
            .assert_error(
                401,
                "invalid_authorization_header",
                "Invalid authorization header",
            );
    }
    // The right key for another user is still invalid.
    let (bob, _) = app.user("bob", &[]).await;
    with_header(
        &app,
        path,
        Some(&format!("Basic {}", b64(&format!("admin:{}", bob.key)))),
    )
    .await
    .assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    // Scheme is case-insensitive and the right key works.
    let ok = with_header(
        &app,
        path,
        Some(&format!("basic {}", b64(&format!("bob:{}", bob.key)))),
    )
    .await;
    ok.assert_status(200);
});

both!(jobs_api_401_rows, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let sample = app
        .sample(&app.admin, serde_json::json!({"name": "S"}))
        .await;
    let analysis = app.analysis(&app.admin, &sample, &ref_id, "nuvs").await;
    let job_id = analysis["job"]["id"].as_str().unwrap().to_owned();
    let path = format!("/jobs-api/jobs/{job_id}/status");
    let body = serde_json::json!({"state": "running", "stage": "x", "progress": 5});
    let send = |value: Option<String>| {
        let mut request = app.client.post(app.url(&path)).json(&body);
        if let Some(value) = value {
            request = request.header("authorization", value);
        }
        app.send(request)
    };
    send(None)
        .await
        .assert_error(401, "requires_authorization", "Requires authorization");
    send(Some("Basic ###".into())).await.assert_error(
        401,
        "malformed_authorization_header",
        "Malformed Authorization header",
    );
    // Not yet acquired: no key exists, so any key is invalid.
    send(Some(format!("Basic {}", b64(&format!("job-{job_id}:x")))))
        .await
        .assert_error(
            401,
            "invalid_authorization_header",
            "Invalid authorization header",
        );
    let job = app.acquire(&job_id).await;
    for login in [
        format!("{job_id}:{}", job.key),
        format!("job-nope:{}", job.key),
        format!("job-{job_id}:bad"),
    ] {
        send(Some(format!("Basic {}", b64(&login))))
            .await
            .assert_error(
                401,
                "invalid_authorization_header",
                "Invalid authorization header",
            );
    }
    // A user's credentials are not job credentials.
    send(Some(format!(
        "Basic {}",
        b64(&format!("admin:{}", app.admin.key))
    )))
    .await
    .assert_error(
        401,
        "invalid_authorization_header",
        "Invalid authorization header",
    );
    let reply = app.json(Method::POST, &path, Some(&job), &body).await;
    reply.assert_status(201);
});
