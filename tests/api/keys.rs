//! Account keys (Virtool's shape: `/api/account/keys`), an administrator deleting a user's keys,
//! and deactivated users: every key, session and sign-in refused, on one instance at once and on
//! another within `--auth-cache-ms`.

use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::account::{login, PASSWORD};
use crate::both;
use crate::support::{
    create_admin_process, create_pg_database, Creds, Instance, Reply, Setup, TestApp,
};

fn with_key(creds: &Creds, key: &str) -> Creds {
    Creds {
        login: creds.login.clone(),
        key: key.to_owned(),
    }
}

async fn keys_of(app: &TestApp, creds: &Creds) -> Vec<Value> {
    let reply = app.get("/api/account/keys", creds).await;
    reply.assert_status(200);
    reply.json().as_array().unwrap().clone()
}

both!(
    account_keys_are_named_shown_once_and_revocable,
    |app: TestApp| async move {
        let group = app.group("Technicians").await;
        let (member, member_id) = app.user("member", &[&group]).await;
        // The key the user was created with is their first named key.
        let keys = keys_of(&app, &member).await;
        assert_eq!(keys.len(), 1);
        crate::support::assert_keys(
            &keys[0],
            &["id", "name", "created_at", "groups", "permissions"],
        );
        assert_eq!(keys[0]["name"], "Created with the user");
        assert_eq!(keys[0]["groups"], json!([group]));
        assert_eq!(keys[0]["permissions"], json!({}));
        let first_id = keys[0]["id"].as_str().unwrap().to_owned();

        // A new named key, shown once.
        let created = app
            .post("/api/account/keys", &member, &json!({"name": "laptop"}))
            .await;
        created.assert_status(201);
        let body = created.json();
        crate::support::assert_keys(
            &body,
            &["id", "name", "created_at", "groups", "permissions", "key"],
        );
        let laptop_id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(
            created.header("location").unwrap(),
            format!("/api/account/keys/{laptop_id}")
        );
        let laptop = with_key(&member, body["key"].as_str().unwrap());
        assert_eq!(laptop.key.len(), 64);
        app.get("/api/account", &laptop).await.assert_status(200);
        let listed = keys_of(&app, &member).await;
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|k| k.get("key").is_none()));
        let one = app
            .get(&format!("/api/account/keys/{laptop_id}"), &member)
            .await;
        one.assert_status(200);
        assert_eq!(one.json()["name"], "laptop");
        assert!(one.json().get("key").is_none());

        // Validation: a name is required; per-key rights do not exist, so they are refused.
        let reply = app.post("/api/account/keys", &member, &json!({})).await;
        assert_eq!(reply.status.as_u16(), 422);
        assert_eq!(reply.json()["errors"]["name"], json!(["required field"]));
        let reply = app
            .post(
                "/api/account/keys",
                &member,
                &json!({"name": "limited", "permissions": {"create_sample": true}}),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 422);
        assert!(reply.json()["errors"]["permissions"].is_array());

        // Someone else's key is no key of theirs.
        let (other, _) = app.user("other", &[]).await;
        app.get(&format!("/api/account/keys/{laptop_id}"), &other)
            .await
            .assert_error(404, "not_found", "Not found");
        app.delete(&format!("/api/account/keys/{laptop_id}"), &other)
            .await
            .assert_error(404, "not_found", "Not found");

        // A deleted key stops working at once (and it was checked, so cached, just before).
        app.get("/api/account", &laptop).await.assert_status(200);
        app.delete(&format!("/api/account/keys/{laptop_id}"), &member)
            .await
            .assert_status(204);
        app.get("/api/account", &laptop).await.assert_error(
            401,
            "invalid_authorization_header",
            "Invalid authorization header",
        );
        app.get("/api/account", &member).await.assert_status(200);
        let left: Vec<Value> = keys_of(&app, &member).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["id"], first_id.as_str());

        // DELETE /api/account/keys removes every key of the caller.
        let spare = app
            .post("/api/account/keys", &member, &json!({"name": "spare"}))
            .await
            .json();
        let spare = with_key(&member, spare["key"].as_str().unwrap());
        app.delete("/api/account/keys", &spare)
            .await
            .assert_status(204);
        for creds in [&member, &spare] {
            app.get("/api/account", creds).await.assert_status(401);
        }

        // An administrator deletes another user's keys; nobody else may.
        app.delete(&format!("/api/users/{member_id}/keys"), &other)
            .await
            .assert_error(403, "forbidden", "Requires administrative privilege");
        app.delete("/api/users/nope1234/keys", &app.admin)
            .await
            .assert_error(404, "not_found", "Not found");
        app.get("/api/account", &other).await.assert_status(200);
        let other_id = app.get("/api/account", &other).await.json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.delete(&format!("/api/users/{other_id}/keys"), &app.admin)
            .await
            .assert_status(204);
        app.get("/api/account", &other).await.assert_status(401);
        app.shutdown().await;
    }
);

both!(
    keys_per_user_are_bounded,
    config = |c: &mut vira::config::ServeConfig| c.max_keys_per_user = 2,
    |app: TestApp| async move {
        let (member, _) = app.user("member", &[]).await;
        app.post("/api/account/keys", &member, &json!({"name": "second"}))
            .await
            .assert_status(201);
        app.post("/api/account/keys", &member, &json!({"name": "third"}))
            .await
            .assert_error(
                400,
                "bad_request",
                "A user may hold at most 2 keys; delete one first",
            );
        app.shutdown().await;
    }
);

/// GET /api/account with a session cookie.
async fn with_cookie(app: &TestApp, cookie: &str) -> Reply {
    app.send(
        app.request(Method::GET, "/api/account", None)
            .header("cookie", cookie),
    )
    .await
}

both!(
    a_deactivated_user_is_refused_everywhere,
    |app: TestApp| async move {
        let (member, id) = app.user("leaving", &[]).await;
        app.patch(
            &format!("/api/users/{id}"),
            &app.admin,
            &json!({"password": PASSWORD}),
        )
        .await
        .assert_status(200);
        let signed_in = login(&app, "leaving", PASSWORD, true).await;
        signed_in.assert_status(201);
        let cookie = signed_in
            .header("set-cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        with_cookie(&app, &cookie).await.assert_status(200);
        app.get("/api/account", &member).await.assert_status(200);

        // No administrator deactivates themselves.
        let admin_id = app.get("/api/account", &app.admin).await.json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reply = app
            .patch(
                &format!("/api/users/{admin_id}"),
                &app.admin,
                &json!({"active": false}),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 422);

        let reply = app
            .patch(
                &format!("/api/users/{id}"),
                &app.admin,
                &json!({"active": false}),
            )
            .await;
        reply.assert_status(200);
        assert_eq!(reply.json()["active"], false);
        // Key (checked a moment ago, so cached), session and sign-in: all refused at once.
        app.get("/api/account", &member).await.assert_error(
            401,
            "invalid_authorization_header",
            "Invalid authorization header",
        );
        with_cookie(&app, &cookie).await.assert_status(401);
        login(&app, "leaving", PASSWORD, false).await.assert_error(
            401,
            "invalid_credentials",
            "Wrong handle or password",
        );

        // Back again: the keys work, the ended session stays ended.
        let reply = app
            .patch(
                &format!("/api/users/{id}"),
                &app.admin,
                &json!({"active": true}),
            )
            .await;
        assert_eq!(reply.json()["active"], true);
        app.get("/api/account", &member).await.assert_status(200);
        with_cookie(&app, &cookie).await.assert_status(401);
        login(&app, "leaving", PASSWORD, false)
            .await
            .assert_status(201);
        app.shutdown().await;
    }
);

/// Two instances on one PostgreSQL: a key deleted, or a user deactivated, through one instance is
/// refused by the other within `--auth-cache-ms` (the documented bound), though that instance had
/// just checked and cached it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_every_instance_within_the_cache_bound() {
    let Some((url, _pg)) = create_pg_database().await else {
        return;
    };
    let data = TempDir::new().unwrap();
    let admin = create_admin_process(data.path(), &url).await;
    let options = ["--no-blast-worker", "--auth-cache-ms", "1000"];
    let a = Instance::start(data.path(), &url, &options).await;
    let b = Instance::start(data.path(), &url, &options).await;
    let setup = a.as_admin(&admin);
    let (member, id) = setup.user("member", &[]).await;
    let laptop = a
        .post("/api/account/keys", &member, &json!({"name": "laptop"}))
        .await
        .json();
    let laptop = with_key(&member, laptop["key"].as_str().unwrap());
    let laptop_id = a.get("/api/account/keys", &member).await.json()[1]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Both keys checked (and cached) by B; the laptop key deleted through A.
    b.get("/api/account", &laptop).await.assert_status(200);
    b.get("/api/account", &member).await.assert_status(200);
    a.delete(&format!("/api/account/keys/{laptop_id}"), &member)
        .await
        .assert_status(204);
    let refused = refused_within(&b, &laptop, 1500).await;
    assert!(refused, "B still accepted a deleted key after 1.5 s");

    // The user deactivated through A: B refuses their remaining key within the bound too.
    b.get("/api/account", &member).await.assert_status(200);
    a.patch(
        &format!("/api/users/{id}"),
        &admin,
        &json!({"active": false}),
    )
    .await
    .assert_status(200);
    assert!(
        refused_within(&b, &member, 1500).await,
        "B still accepted an inactive user's key after 1.5 s"
    );
    a.get("/api/account", &member).await.assert_status(401);
}

/// Whether `creds` are refused by `instance` within `millis`.
async fn refused_within(instance: &Instance, creds: &Creds, millis: u64) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(millis);
    while std::time::Instant::now() < deadline {
        if instance.get("/api/account", creds).await.status.as_u16() == 401 {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
