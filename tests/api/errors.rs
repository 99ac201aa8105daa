//! Contract §3: unknown routes, wrong methods, malformed JSON, oversized bodies — all JSON.

use reqwest::Method;

use crate::both;
use crate::support::TestApp;

both!(unknown_routes_and_methods, |app: TestApp| async move {
    // Answered before authentication.
    for path in [
        "/nope",
        "/api/nope",
        "/api/analyses/",
        "/jobs-api/nope",
        "/api/analyses/document/abc",
    ] {
        let reply = app.send(app.client.get(app.url(path))).await;
        reply.assert_error(404, "not_found", "Not found");
    }
    let reply = app.send(app.client.put(app.url("/api/analyses"))).await;
    reply.assert_error(405, "method_not_allowed", "Method not allowed");
    let allow = reply.header("allow").unwrap_or_default();
    assert!(allow.contains("GET"), "Allow: {allow}");
    let reply = app
        .send(app.client.delete(app.url("/jobs-api/jobs/abc")))
        .await;
    reply.assert_error(405, "method_not_allowed", "Method not allowed");
    assert!(reply.header("allow").unwrap_or_default().contains("PATCH"));
});

both!(malformed_json_and_validation, |app: TestApp| async move {
    let reply = app
        .send(
            app.request(Method::POST, "/api/samples", Some(&app.admin))
                .body("{not json"),
        )
        .await;
    reply.assert_error(400, "bad_request", "Malformed JSON");
    // Parsed whatever the content type; an empty body is {}.
    let reply = app
        .send(
            app.request(Method::POST, "/api/samples", Some(&app.admin))
                .header("content-type", "text/plain"),
        )
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(
        reply.json()["errors"],
        serde_json::json!({"name": ["required field"]})
    );
    let reply = app
        .post(
            "/api/samples",
            &app.admin,
            &serde_json::json!({"name": 5, "all_read": "yes"}),
        )
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(
        reply.json()["errors"],
        serde_json::json!({"name": ["must be of string type"], "all_read": ["must be of boolean type"]})
    );
});

both!(oversized_json_body, |app: TestApp| async move {
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(1_100_000));
    let reply = app
        .send(
            app.request(Method::POST, "/api/samples", Some(&app.admin))
                .body(big),
        )
        .await;
    reply.assert_error(413, "payload_too_large", "Payload too large");
});

both!(head_is_accepted_like_get, |app: TestApp| async move {
    let reply = app
        .send(app.request(Method::HEAD, "/api/analyses", Some(&app.admin)))
        .await;
    reply.assert_status(200);
    assert!(reply.bytes.is_empty());
});
