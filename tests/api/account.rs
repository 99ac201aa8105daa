//! Sessions for people (`/api/account`): passwords, the session cookie on every API route, CSRF on
//! state-changing requests made with the cookie, sign-out, revocation and back-off.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::support::{Creds, Reply, Setup, TestApp};

pub const PASSWORD: &str = "grapevine leafroll";

/// A user with a password; their key credentials and id.
pub async fn person(app: &TestApp, handle: &str) -> (Creds, String) {
    let (creds, id) = app.user(handle, &[]).await;
    app.patch(
        &format!("/api/users/{id}"),
        &app.admin,
        &json!({ "password": PASSWORD }),
    )
    .await
    .assert_status(200);
    (creds, id)
}

/// A sign-in as the pages make it: JSON, with this site's `Origin`.
pub async fn login(app: &TestApp, handle: &str, password: &str, remember: bool) -> Reply {
    let body = json!({"handle": handle, "password": password, "remember": remember});
    app.send(
        app.request(Method::POST, "/api/account/login", None)
            .header("origin", &app.base)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// The `name=value` of the reply's session cookie.
fn cookie_of(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a Set-Cookie header");
    set.split(';').next().unwrap().to_owned()
}

/// A request with the session cookie (and the CSRF token when given).
fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = app
        .request(method, path, None)
        .header("cookie", cookie)
        .header("content-type", "application/json");
    match csrf {
        Some(token) => request.header("x-csrf-token", token),
        None => request,
    }
}

both!(
    a_session_cookie_works_like_a_key_with_csrf_on_changes,
    |app: TestApp| async move {
        person(&app, "lab-tech").await;
        // The same 401 for an unknown handle and a wrong password.
        let wrong = login(&app, "lab-tech", "not the password", false).await;
        wrong.assert_error(401, "invalid_credentials", "Wrong handle or password");
        let unknown = login(&app, "nobody-here", PASSWORD, false).await;
        assert_eq!(unknown.bytes, wrong.bytes);
        assert_eq!(unknown.status, wrong.status);
        assert!(unknown.header("set-cookie").is_none());

        let reply = login(&app, "lab-tech", PASSWORD, false).await;
        reply.assert_status(201);
        let set = reply.header("set-cookie").unwrap();
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(attribute), "{set}");
        }
        assert!(!set.contains("Max-Age"), "a browser-session cookie: {set}");
        assert!(!set.contains("Secure"), "{set}");
        let body = reply.json();
        assert_eq!(body["handle"], "lab-tech");
        assert_eq!(body["administrator"], false);
        let csrf = body["session"]["csrf_token"].as_str().unwrap().to_owned();
        let cookie = cookie_of(&reply);

        // The signed-in user, for the cookie and for a key.
        let account = app
            .send(with_cookie(
                &app,
                Method::GET,
                "/api/account",
                &cookie,
                None,
            ))
            .await;
        account.assert_status(200);
        assert_eq!(account.json()["session"]["csrf_token"], csrf.as_str());
        let by_key = app.get("/api/account", &app.admin).await.json();
        assert_eq!(by_key["handle"], "admin");
        assert_eq!(by_key["session"], Value::Null);

        // Reads need no token; changes do.
        let list = app
            .send(with_cookie(
                &app,
                Method::GET,
                "/api/analyses",
                &cookie,
                None,
            ))
            .await;
        list.assert_status(200);
        let sample = json!({"name": "from a browser"}).to_string();
        let refused = app
            .send(
                with_cookie(&app, Method::POST, "/api/samples", &cookie, None).body(sample.clone()),
            )
            .await;
        refused.assert_error(403, "invalid_csrf_token", "Missing or invalid CSRF token");
        let refused = app
            .send(
                with_cookie(
                    &app,
                    Method::POST,
                    "/api/samples",
                    &cookie,
                    Some("0".repeat(64).as_str()),
                )
                .body(sample.clone()),
            )
            .await;
        refused.assert_error(403, "invalid_csrf_token", "Missing or invalid CSRF token");
        let created = app
            .send(
                with_cookie(&app, Method::POST, "/api/samples", &cookie, Some(&csrf)).body(sample),
            )
            .await;
        created.assert_status(201);
        assert_eq!(created.json()["user"]["handle"], "lab-tech");

        // Signing out ends the session everywhere.
        let refused = app
            .send(with_cookie(
                &app,
                Method::DELETE,
                "/api/account/login",
                &cookie,
                None,
            ))
            .await;
        refused.assert_status(403);
        let out = app
            .send(with_cookie(
                &app,
                Method::DELETE,
                "/api/account/login",
                &cookie,
                Some(&csrf),
            ))
            .await;
        out.assert_status(204);
        assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
        let after = app
            .send(with_cookie(
                &app,
                Method::GET,
                "/api/account",
                &cookie,
                None,
            ))
            .await;
        after.assert_error(401, "requires_authorization", "Requires authorization");
        // A cookie that is no session at all is no authentication either.
        let forged = app
            .send(with_cookie(
                &app,
                Method::GET,
                "/api/account",
                "vira_session=abc",
                None,
            ))
            .await;
        forged.assert_error(401, "requires_authorization", "Requires authorization");
        app.shutdown().await;
    }
);

both!(
    remembered_sessions_outlive_the_browser,
    |app: TestApp| async move {
        person(&app, "remembers").await;
        let reply = login(&app, "remembers", PASSWORD, true).await;
        reply.assert_status(201);
        let set = reply.header("set-cookie").unwrap();
        assert!(set.contains("Max-Age=2592000"), "{set}");
        app.shutdown().await;
    }
);

both!(
    secure_cookies_behind_tls,
    config = |c: &mut vira::config::ServeConfig| c.secure_cookies = true,
    |app: TestApp| async move {
        person(&app, "tls").await;
        let reply = login(&app, "tls", PASSWORD, false).await;
        assert!(reply.header("set-cookie").unwrap().contains("; Secure"));
        app.shutdown().await;
    }
);

both!(
    a_changed_password_ends_every_session,
    |app: TestApp| async move {
        let (_, id) = person(&app, "changer").await;
        let first = cookie_of(&login(&app, "changer", PASSWORD, false).await);
        let second_reply = login(&app, "changer", PASSWORD, false).await;
        let second = cookie_of(&second_reply);
        let csrf = second_reply.json()["session"]["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let change =
            |old: &str, new: &str| json!({"old_password": old, "password": new}).to_string();
        let reply = app
            .send(
                with_cookie(&app, Method::PATCH, "/api/account", &second, Some(&csrf))
                    .body(change("wrong", "a new password")),
            )
            .await;
        reply.assert_error(400, "bad_request", "Invalid credentials");
        let reply = app
            .send(
                with_cookie(&app, Method::PATCH, "/api/account", &second, Some(&csrf))
                    .body(change(PASSWORD, "short")),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 422);
        assert_eq!(
            reply.json()["errors"]["password"],
            json!(["min length is 8"])
        );
        let reply = app
            .send(
                with_cookie(&app, Method::PATCH, "/api/account", &second, Some(&csrf))
                    .body(change(PASSWORD, "a new password")),
            )
            .await;
        reply.assert_status(200);
        for cookie in [&first, &second] {
            let reply = app
                .send(with_cookie(&app, Method::GET, "/api/account", cookie, None))
                .await;
            reply.assert_status(401);
        }
        login(&app, "changer", PASSWORD, false)
            .await
            .assert_status(401);
        let third = cookie_of(&login(&app, "changer", "a new password", false).await);
        // An administrator setting a password ends the user's sessions too.
        app.patch(
            &format!("/api/users/{id}"),
            &app.admin,
            &json!({"password": "set by the admin"}),
        )
        .await
        .assert_status(200);
        let reply = app
            .send(with_cookie(&app, Method::GET, "/api/account", &third, None))
            .await;
        reply.assert_status(401);
        login(&app, "changer", "set by the admin", false)
            .await
            .assert_status(201);
        app.shutdown().await;
    }
);

both!(
    failed_sign_ins_back_off_for_the_handle_from_that_address,
    config = |c: &mut vira::config::ServeConfig| {
        c.login_free_attempts = 2;
        c.login_max_backoff = 2;
    },
    |app: TestApp| async move {
        person(&app, "target").await;
        for _ in 0..2 {
            login(&app, "target", "guess", false)
                .await
                .assert_status(401);
        }
        // The third failure starts the back-off: 1 s, then 2 s at most.
        login(&app, "target", "guess", false)
            .await
            .assert_status(401);
        let blocked = login(&app, "target", PASSWORD, false).await;
        blocked.assert_status(429);
        assert_eq!(blocked.json()["id"], "too_many_requests");
        assert!(blocked.header("retry-after").is_some());
        // Only that handle from that address: another person behind the same address signs in
        // (an address backs off only after --login-address-free-attempts failures).
        person(&app, "bystander").await;
        login(&app, "bystander", PASSWORD, false)
            .await
            .assert_status(201);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        login(&app, "target", PASSWORD, false)
            .await
            .assert_status(201);
        app.shutdown().await;
    }
);

both!(
    passwords_are_validated_where_they_are_set,
    |app: TestApp| async move {
        let reply = app
            .post(
                "/api/users",
                &app.admin,
                &json!({"handle": "new-person", "password": "short"}),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 422);
        assert_eq!(
            reply.json()["errors"]["password"],
            json!(["min length is 8"])
        );
        let reply = app
            .post(
                "/api/users",
                &app.admin,
                &json!({"handle": "new-person", "password": PASSWORD}),
            )
            .await;
        reply.assert_status(201);
        assert!(reply.json().get("password").is_none());
        login(&app, "new-person", PASSWORD, false)
            .await
            .assert_status(201);
        // A user without a password cannot sign in, and gets the same 401.
        app.user("keys-only", &[]).await;
        login(&app, "keys-only", "", false).await.assert_error(
            401,
            "invalid_credentials",
            "Wrong handle or password",
        );
        app.shutdown().await;
    }
);
