//! U14–U16 and `vira user create`: administrators only; handles; groups.

use serde_json::json;

use crate::both;
use crate::support::{assert_keys, Setup, TestApp};

both!(create_user_and_group, |app: TestApp| async move {
    let group = app.group("Technicians").await;
    let reply = app
        .post(
            "/api/users",
            &app.admin,
            &json!({"handle": "igboyes", "groups": [group]}),
        )
        .await;
    reply.assert_status(201);
    let body = reply.json();
    assert_eq!(body["handle"], "igboyes");
    assert_eq!(body["administrator"], false);
    assert_eq!(body["groups"], json!([group]));
    let key = body["key"].as_str().unwrap();
    assert_eq!(key.len(), 64);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 8);
    assert_keys(
        &body,
        &[
            "id",
            "handle",
            "administrator",
            "groups",
            "created_at",
            // Beyond the contract's keys: whether the user may act (U15 deactivates).
            "active",
            "key",
        ],
    );
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));

    app.post("/api/users", &app.admin, &json!({"handle": "igboyes"}))
        .await
        .assert_error(400, "bad_request", "User already exists");
    app.post(
        "/api/users",
        &app.admin,
        &json!({"handle": "x", "groups": ["nope"]}),
    )
    .await
    .assert_error(400, "bad_request", "Group does not exist");
    let reply = app
        .post("/api/users", &app.admin, &json!({"handle": "job-x"}))
        .await;
    reply.assert_error(422, "invalid_input", "Invalid input");
    assert_eq!(
        reply.json()["errors"],
        json!({"handle": ["invalid handle"]})
    );
    let reply = app
        .post("/api/users", &app.admin, &json!({"handle": "a b"}))
        .await;
    assert_eq!(
        reply.json()["errors"],
        json!({"handle": ["invalid handle"]})
    );
    let reply = app.post("/api/users", &app.admin, &json!({})).await;
    assert_eq!(
        reply.json()["errors"],
        json!({"handle": ["required field"]})
    );

    app.post("/api/groups", &app.admin, &json!({"name": "Technicians"}))
        .await
        .assert_error(400, "bad_request", "Group already exists");
    let reply = app
        .post("/api/groups", &app.admin, &json!({"name": ""}))
        .await;
    assert_eq!(
        reply.json()["errors"],
        json!({"name": ["empty values not allowed"]})
    );

    // PATCH: groups replace the list; administrator toggles.
    let reply = app
        .patch(
            &format!("/api/users/{id}"),
            &app.admin,
            &json!({"administrator": true, "groups": []}),
        )
        .await;
    reply.assert_status(200);
    let body = reply.json();
    assert_eq!(body["administrator"], true);
    assert_eq!(body["groups"], json!([]));
    assert!(body.get("key").is_none());
    app.patch(
        "/api/users/nope1234",
        &app.admin,
        &json!({"administrator": true}),
    )
    .await
    .assert_error(404, "not_found", "Not found");
    app.patch(
        &format!("/api/users/{id}"),
        &app.admin,
        &json!({"groups": ["nope"]}),
    )
    .await
    .assert_error(400, "bad_request", "Group does not exist");
});

both!(admin_only_routes_refuse_others, |app: TestApp| async move {
    let (bob, bob_id) = app.user("bob", &[]).await;
    let forbidden = |r: crate::support::Reply| {
        r.assert_error(403, "forbidden", "Requires administrative privilege")
    };
    forbidden(
        app.post("/api/users", &bob, &json!({"handle": "eve"}))
            .await,
    );
    forbidden(
        app.patch(
            &format!("/api/users/{bob_id}"),
            &bob,
            &json!({"administrator": true}),
        )
        .await,
    );
    forbidden(app.post("/api/groups", &bob, &json!({"name": "g"})).await);
    forbidden(
        app.post("/api/subtractions", &bob, &json!({"name": "s"}))
            .await,
    );
    forbidden(app.post("/api/refs/nope/indexes", &bob, &json!({})).await);
    forbidden(
        app.multipart(
            reqwest::Method::POST,
            "/api/refs/import",
            &bob,
            "r.json",
            b"[]".to_vec(),
        )
        .await,
    );
    forbidden(
        app.multipart(
            reqwest::Method::POST,
            "/api/hmms/annotations",
            &bob,
            "a.json",
            b"[]".to_vec(),
        )
        .await,
    );
    // Becoming administrator applies to the next request.
    app.patch(
        &format!("/api/users/{bob_id}"),
        &app.admin,
        &json!({"administrator": true}),
    )
    .await
    .assert_status(200);
    app.post("/api/groups", &bob, &json!({"name": "g"}))
        .await
        .assert_status(201);
});

both!(subtractions, |app: TestApp| async move {
    let reply = app
        .post(
            "/api/subtractions",
            &app.admin,
            &json!({"name": "Arabidopsis Thaliana", "nickname": "Thale cress"}),
        )
        .await;
    reply.assert_status(201);
    let body = reply.json();
    assert_eq!(body["name"], "Arabidopsis Thaliana");
    assert_eq!(body["nickname"], "Thale cress");
    assert_eq!(body["ready"], true);
    assert_eq!(body["user"]["handle"], "admin");
    let reply = app
        .post("/api/subtractions", &app.admin, &json!({"name": "x"}))
        .await;
    assert_eq!(reply.json()["nickname"], "");
    let reply = app
        .post("/api/subtractions", &app.admin, &json!({"nickname": "x"}))
        .await;
    assert_eq!(reply.json()["errors"], json!({"name": ["required field"]}));
});
