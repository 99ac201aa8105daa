//! U11–U13 and the rights matrix of contract §4, seen through samples and their analyses.

use serde_json::json;

use crate::both;
use crate::support::{Setup, TestApp};

both!(create_get_and_defaults, |app: TestApp| async move {
    let reply = app
        .post("/api/samples", &app.admin, &json!({"name": "Test 1"}))
        .await;
    reply.assert_status(201);
    let body = reply.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/api/samples/{id}")
    );
    assert_eq!(body["group"], serde_json::Value::Null);
    assert_eq!(
        (
            body["group_read"].clone(),
            body["group_write"].clone(),
            body["all_read"].clone(),
            body["all_write"].clone()
        ),
        (json!(true), json!(false), json!(true), json!(false))
    );
    assert_eq!(body["user"]["handle"], "admin");
    let got = app.get(&format!("/api/samples/{id}"), &app.admin).await;
    got.assert_status(200);
    assert_eq!(got.json(), body);
    app.get("/api/samples/nope1234", &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    app.post(
        "/api/samples",
        &app.admin,
        &json!({"name": "x", "group": "nope"}),
    )
    .await
    .assert_error(400, "bad_request", "Group does not exist");
    let reply = app
        .post(
            "/api/samples",
            &app.admin,
            &json!({"name": "x", "group": "none"}),
        )
        .await;
    assert_eq!(reply.json()["group"], serde_json::Value::Null);
    let reply = app
        .post("/api/samples", &app.admin, &json!({"name": ""}))
        .await;
    assert_eq!(
        reply.json()["errors"],
        json!({"name": ["empty values not allowed"]})
    );
});

// Who may read and write a sample's analyses, for every combination of §4.
both!(rights_matrix, |app: TestApp| async move {
    let group = app.group("lab").await;
    let (owner, _) = app.user("owner", &[]).await;
    let (member, _) = app.user("member", &[&group]).await;
    let (other, _) = app.user("other", &[]).await;
    let ref_id = app.small_reference().await;
    // (group_read, group_write, all_read, all_write) → expected (read, write) for member and other
    let cases = [
        ((false, false, false, false), (false, false), (false, false)),
        ((true, false, false, false), (true, false), (false, false)),
        ((true, true, false, false), (true, true), (false, false)),
        ((false, true, false, false), (false, false), (false, false)),
        ((false, false, true, false), (true, false), (true, false)),
        ((false, false, true, true), (true, true), (true, true)),
        ((false, false, false, true), (false, false), (false, false)),
    ];
    for ((gr, gw, ar, aw), member_rights, other_rights) in cases {
        let sample = app
            .sample(&owner, json!({"name": "s", "group": group, "group_read": gr, "group_write": gw, "all_read": ar, "all_write": aw}))
            .await;
        let analysis = app.analysis(&owner, &sample, &ref_id, "nuvs").await;
        let analysis_id = analysis["id"].as_str().unwrap();
        for (who, (read, write)) in [
            (&owner, (true, true)),
            (&app.admin, (true, true)),
            (&member, member_rights),
            (&other, other_rights),
        ] {
            let case = format!("{:?} for {}", (gr, gw, ar, aw), who.login);
            let reply = app.get(&format!("/api/samples/{sample}"), who).await;
            assert_eq!(
                reply.status.as_u16(),
                if read { 200 } else { 403 },
                "sample read {case}"
            );
            let reply = app.get(&format!("/api/analyses/{analysis_id}"), who).await;
            assert_eq!(
                reply.status.as_u16(),
                if read { 200 } else { 403 },
                "analysis read {case}"
            );
            if !read {
                reply.assert_error(403, "insufficient_rights", "Insufficient rights");
            }
            let list = app.get("/api/analyses", who).await.json();
            let listed = list["documents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == analysis_id);
            assert_eq!(listed, read, "listed {case}");
            let reply = app
                .post(
                    &format!("/api/samples/{sample}/analyses"),
                    who,
                    &json!({"ref_id": ref_id, "workflow": "nuvs"}),
                )
                .await;
            assert_eq!(
                reply.status.as_u16(),
                if read && write { 201 } else { 403 },
                "create {case}"
            );
            // Write right on an unfinished analysis: DELETE gets past 403 to 409.
            let reply = app
                .delete(&format!("/api/analyses/{analysis_id}"), who)
                .await;
            assert_eq!(
                reply.status.as_u16(),
                if write { 409 } else { 403 },
                "delete {case}"
            );
        }
    }
});

both!(change_rights, |app: TestApp| async move {
    let (owner, _) = app.user("owner", &[]).await;
    let (other, _) = app.user("other", &[]).await;
    let group = app.group("lab").await;
    let sample = app.sample(&owner, json!({"name": "s"})).await;
    let path = format!("/api/samples/{sample}/rights");
    app.patch(&path, &other, &json!({"all_read": false}))
        .await
        .assert_error(
            403,
            "insufficient_rights",
            "Must be administrator or sample owner",
        );
    app.patch("/api/samples/nope1234/rights", &owner, &json!({}))
        .await
        .assert_error(404, "not_found", "Not found");
    app.patch(&path, &owner, &json!({"group": "nope"}))
        .await
        .assert_error(400, "bad_request", "Group does not exist");
    let reply = app.patch(&path, &owner, &json!({"all_read": null})).await;
    assert_eq!(
        reply.json()["errors"],
        json!({"all_read": ["null value not allowed"]})
    );
    assert_eq!(
        app.get(&format!("/api/samples/{sample}"), &other)
            .await
            .status
            .as_u16(),
        200
    );
    let reply = app
        .patch(&path, &owner, &json!({"all_read": false, "group": group}))
        .await;
    reply.assert_status(200);
    let owner_id = app
        .get(&format!("/api/samples/{sample}"), &owner)
        .await
        .json()["user"]["id"]
        .clone();
    assert_eq!(
        reply.json(),
        json!({"group": group, "group_read": true, "group_write": false, "all_read": false, "all_write": false, "user": {"id": owner_id}})
    );
    // The new rights apply to the next request.
    app.get(&format!("/api/samples/{sample}"), &other)
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    let reply = app.patch(&path, &app.admin, &json!({"group": null})).await;
    assert_eq!(reply.json()["group"], serde_json::Value::Null);
});
