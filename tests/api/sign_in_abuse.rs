//! Sign-in under attack: concurrent guesses counted before any password is hashed, a back-off
//! that holds back the guesser and not the account's owner nor a shared address, blocks cleared
//! by an administrator (route and command line), the client address of `X-Forwarded-For` (two
//! header lines; the shipped HAProxy configuration), login CSRF (`Origin`, content type) and the
//! `next` of the sign-in form.

use reqwest::Method;
use serde_json::json;

use crate::account::{person, PASSWORD};
use crate::both;
use crate::support::{Reply, TestApp};

/// A sign-in through the API from `address` (vira trusts `X-Forwarded-For` in these tests).
async fn login_from(app: &TestApp, handle: &str, password: &str, address: &str) -> Reply {
    app.send(
        app.request(Method::POST, "/api/account/login", None)
            .header("origin", &app.base)
            .header("content-type", "application/json")
            .header("x-forwarded-for", address)
            .body(json!({"handle": handle, "password": password}).to_string()),
    )
    .await
}

fn statuses(replies: &[Reply]) -> (usize, usize, usize) {
    let count = |s: u16| replies.iter().filter(|r| r.status.as_u16() == s).count();
    (count(401), count(429), replies.len())
}

both!(
    concurrent_guesses_are_counted_before_any_hash,
    config = |c: &mut vira::config::ServeConfig| c.trust_forwarded_for = true,
    |app: TestApp| async move {
        person(&app, "target").await;
        let guesses = (0..50).map(|i| {
            let app = &app;
            async move { login_from(app, "target", &format!("guess {i}"), "203.0.113.7").await }
        });
        let replies = futures_util::future::join_all(guesses).await;
        let (wrong, blocked, all) = statuses(&replies);
        // Five free attempts, and the sixth (which starts the back-off): no more were checked.
        assert!(
            wrong <= 6 && wrong + blocked == all,
            "{wrong} of {all} concurrent guesses were checked, {blocked} refused"
        );
        // The owner, from an address with no failures, is not held back by the guesser's.
        login_from(&app, "target", PASSWORD, "198.51.100.2")
            .await
            .assert_status(201);
        // The guesser is, even with the right password.
        login_from(&app, "target", PASSWORD, "203.0.113.7")
            .await
            .assert_status(429);
        app.shutdown().await;
    }
);

both!(
    failures_behind_a_shared_address_do_not_lock_out_its_other_people,
    config = |c: &mut vira::config::ServeConfig| {
        c.trust_forwarded_for = true;
        c.login_max_backoff = 60;
    },
    |app: TestApp| async move {
        person(&app, "typist").await;
        person(&app, "colleague").await;
        for _ in 0..12 {
            login_from(&app, "typist", "not it", "192.0.2.10").await;
        }
        login_from(&app, "typist", PASSWORD, "192.0.2.10")
            .await
            .assert_status(429);
        // Everyone else behind that address signs in.
        login_from(&app, "colleague", PASSWORD, "192.0.2.10")
            .await
            .assert_status(201);
        // And the typist from anywhere else.
        login_from(&app, "typist", PASSWORD, "192.0.2.11")
            .await
            .assert_status(201);
        app.shutdown().await;
    }
);

both!(
    an_address_spraying_many_handles_backs_off,
    config = |c: &mut vira::config::ServeConfig| {
        c.trust_forwarded_for = true;
        c.login_address_free_attempts = 3;
    },
    |app: TestApp| async move {
        person(&app, "bystander").await;
        for i in 0..4 {
            login_from(&app, &format!("guess-{i}"), "x", "192.0.2.20")
                .await
                .assert_status(401);
        }
        login_from(&app, "bystander", PASSWORD, "192.0.2.20")
            .await
            .assert_status(429);
        login_from(&app, "bystander", PASSWORD, "192.0.2.21")
            .await
            .assert_status(201);
        app.shutdown().await;
    }
);

both!(
    a_handle_under_attack_holds_back_only_addresses_that_failed_on_it,
    config = |c: &mut vira::config::ServeConfig| {
        c.trust_forwarded_for = true;
        c.login_handle_free_attempts = 2;
    },
    |app: TestApp| async move {
        person(&app, "popular").await;
        for n in 1..=3 {
            login_from(&app, "popular", "guess", &format!("198.51.100.{n}"))
                .await
                .assert_status(401);
        }
        // An address that failed on the handle waits; a fresh one gets its attempt.
        login_from(&app, "popular", PASSWORD, "198.51.100.1")
            .await
            .assert_status(429);
        login_from(&app, "popular", PASSWORD, "198.51.100.99")
            .await
            .assert_status(201);
        app.shutdown().await;
    }
);

both!(
    administrators_clear_sign_in_blocks,
    config = |c: &mut vira::config::ServeConfig| {
        c.trust_forwarded_for = true;
        c.login_free_attempts = 1;
        c.login_max_backoff = 900;
    },
    |app: TestApp| async move {
        let (member, _) = person(&app, "locked").await;
        for _ in 0..3 {
            login_from(&app, "locked", "guess", "203.0.113.9").await;
        }
        login_from(&app, "locked", PASSWORD, "203.0.113.9")
            .await
            .assert_status(429);
        // Not for everyone, and not without saying what.
        app.send(app.request(
            Method::DELETE,
            "/api/login-blocks?address=203.0.113.9",
            Some(&member),
        ))
        .await
        .assert_error(403, "forbidden", "Requires administrative privilege");
        let reply = app
            .send(app.request(Method::DELETE, "/api/login-blocks", Some(&app.admin)))
            .await;
        assert_eq!(reply.status.as_u16(), 422);
        let reply = app
            .send(app.request(
                Method::DELETE,
                "/api/login-blocks?address=not-an-address",
                Some(&app.admin),
            ))
            .await;
        assert_eq!(reply.status.as_u16(), 422);
        assert!(reply.json()["errors"]["address"].is_array());

        let reply = app
            .send(app.request(
                Method::DELETE,
                "/api/login-blocks?address=203.0.113.9",
                Some(&app.admin),
            ))
            .await;
        reply.assert_status(200);
        assert!(reply.json()["cleared"].as_u64().unwrap() >= 2);
        login_from(&app, "locked", PASSWORD, "203.0.113.9")
            .await
            .assert_status(201);

        // By handle, through the command line (the same database, as an operator would).
        for _ in 0..3 {
            login_from(&app, "locked", "guess", "203.0.113.10").await;
        }
        login_from(&app, "locked", PASSWORD, "203.0.113.10")
            .await
            .assert_status(429);
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vira"));
        command
            .args(["login-block", "clear", "--handle", "locked", "--data-path"])
            .arg(app.data.path())
            .env("VIRA_LOG", "error");
        if let Some(url) = &app.app.config.storage.database_url {
            command.args(["--database-url", url]);
        }
        let out = command.output().expect("run vira login-block clear");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cleared: u64 = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(cleared >= 2, "{cleared}");
        login_from(&app, "locked", PASSWORD, "203.0.113.10")
            .await
            .assert_status(201);
        app.shutdown().await;
    }
);

/// A raw request on a new connection; the status line and the rest.
async fn raw(app: &TestApp, request: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

both!(
    the_last_forwarded_for_line_is_the_proxys,
    config = |c: &mut vira::config::ServeConfig| {
        c.trust_forwarded_for = true;
        c.login_address_free_attempts = 3;
    },
    |app: TestApp| async move {
        // Each request claims another address in its own first line; the proxy's line (the
        // last) is always the same: that address backs off.
        let mut statuses = Vec::new();
        for i in 0..6 {
            let body = json!({"handle": format!("guess-{i}"), "password": "x"}).to_string();
            let answer = raw(
                &app,
                format!(
                    "POST /api/account/login HTTP/1.1\r\nHost: vira\r\nOrigin: http://vira\r\n\
                     Content-Type: application/json\r\nX-Forwarded-For: 10.9.{i}.1, 10.8.{i}.2\r\n\
                     X-Forwarded-For: 192.0.2.77\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
            )
            .await;
            statuses.push(answer[9..12].to_owned());
        }
        assert_eq!(statuses, ["401", "401", "401", "401", "429", "429"]);
        app.shutdown().await;
    }
);

/// The shipped `deploy/haproxy.cfg`, adapted as `deploy/try-locally.sh` adapts it (addresses
/// and ports only, TLS left out): a client that writes its own `X-Forwarded-For` still backs off
/// as the address HAProxy saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_shipped_haproxy_the_client_cannot_choose_its_address() {
    let haproxy = std::path::Path::new("/usr/sbin/haproxy");
    if !haproxy.exists() {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set, so this test must run, but haproxy is missing");
        }
        eprintln!("SKIPPED: haproxy is not installed (apt-get install haproxy)");
        return;
    }
    let Some(app) = TestApp::spawn_with(crate::support::Backend::Sqlite, |c| {
        c.trust_forwarded_for = true;
        c.login_address_free_attempts = 3;
        c.ready_min_free_bytes = 1;
    })
    .await
    else {
        return;
    };
    let vira = app.base.trim_start_matches("http://").to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy.cfg"))
            .unwrap();
    let config: String = shipped
        .lines()
        .filter(|line| !line.contains("bind :443") && !line.contains("redirect scheme https"))
        .map(|line| {
            line.replace("bind :80", &format!("bind 127.0.0.1:{port}"))
                .replace("10.0.0.11:9950", &vira)
                .replace("10.0.0.12:9950", &vira)
                .replace("inter 2s", "inter 500ms")
                + "\n"
        })
        .collect();
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let _proxy = tokio::process::Command::new(haproxy)
        .arg("-f")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start haproxy");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let front = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        let live = client.get(format!("{front}/api/health/ready")).send().await;
        if live.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "HAProxy never answered with vira behind it");
    let mut statuses = Vec::new();
    for i in 0..6 {
        let reply = client
            .post(format!("{front}/api/account/login"))
            .header("origin", &front)
            .header("content-type", "application/json")
            .header("x-forwarded-for", format!("10.7.{i}.1"))
            .body(json!({"handle": format!("guess-{i}"), "password": "x"}).to_string())
            .send()
            .await
            .unwrap();
        statuses.push(reply.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
    app.shutdown().await;
}

both!(
    sign_in_only_from_this_sites_pages,
    |app: TestApp| async move {
        person(&app, "victim").await;
        let body = json!({"handle": "victim", "password": PASSWORD}).to_string();
        let api = |origin: Option<&str>, content_type: &str| {
            let request = app
                .request(Method::POST, "/api/account/login", None)
                .header("content-type", content_type)
                .body(body.clone());
            match origin {
                Some(origin) => request.header("origin", origin),
                None => request,
            }
        };
        // A cross-site form can send text/plain; a sandboxed frame says Origin: null.
        for origin in [Some("http://evil.example"), Some("null"), None] {
            let reply = app.send(api(origin, "application/json")).await;
            reply.assert_error(
                403,
                "invalid_origin",
                "Sign in from vira's own sign-in page (the request's Origin is missing or another site's)",
            );
            assert!(reply.header("set-cookie").is_none());
        }
        for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
            let reply = app.send(api(Some(&app.base), content_type)).await;
            reply.assert_error(
                415,
                "unsupported_media_type",
                "Sign in with Content-Type: application/json",
            );
            assert!(reply.header("set-cookie").is_none());
        }
        let signed_in = app.send(api(Some(&app.base), "application/json")).await;
        signed_in.assert_status(201);
        let cookie = signed_in
            .header("set-cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let csrf = signed_in.json()["session"]["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned();

        // The sign-in form too.
        let form = format!("handle=victim&password={}", PASSWORD.replace(' ', "+"));
        for origin in [Some("http://evil.example"), Some("null"), None] {
            let mut request = app
                .request(Method::POST, "/sign-in", None)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone());
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            let reply = app.send(request).await;
            assert_eq!(reply.status.as_u16(), 403, "Origin {origin:?}");
            assert!(reply.header("set-cookie").is_none());
        }

        // With the cookie, a JSON body must say so (a cross-site form cannot); with a key, the
        // contract's rule stays (JSON whatever the content type).
        let sample = json!({"name": "from a form"}).to_string();
        let reply = app
            .send(
                app.request(Method::POST, "/api/samples", None)
                    .header("cookie", &cookie)
                    .header("x-csrf-token", &csrf)
                    .header("content-type", "text/plain")
                    .body(sample.clone()),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 415);
        assert_eq!(reply.json()["id"], "unsupported_media_type");
        let reply = app
            .send(
                app.request(Method::POST, "/api/samples", Some(&app.admin))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(sample),
            )
            .await;
        reply.assert_status(201);
        app.shutdown().await;
    }
);

both!(
    next_after_sign_in_stays_on_this_site,
    |app: TestApp| async move {
        person(&app, "traveller").await;
        let sign_in = |next: &str| {
            let form = format!(
                "handle=traveller&password={}&next={}",
                PASSWORD.replace(' ', "+"),
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            app.request(Method::POST, "/sign-in", None)
                .header("origin", &app.base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
        };
        for (next, expected) in [
            ("/\t/evil.example", "/analyses"),
            ("/\n/evil.example", "/analyses"),
            ("//evil.example", "/analyses"),
            ("/\\evil.example", "/analyses"),
            ("/.//evil.example/", "/analyses"),
            ("https://evil.example/", "/analyses"),
            ("/samples/abc?x=1", "/samples/abc?x=1"),
            ("/analyses/a\rb", "/analyses/ab"),
            ("/analyses/a\u{b}b", "/analyses/a%0Bb"),
        ] {
            let reply = app.send(sign_in(next)).await;
            assert_eq!(reply.status.as_u16(), 303, "next {next:?}");
            assert_eq!(
                reply.header("location").as_deref(),
                Some(expected),
                "next {next:?}"
            );
        }
        // The sign-in page itself keeps only a path of this site in its form.
        let reply = app
            .send(app.request(Method::GET, "/sign-in?next=%2F%09%2Fevil.example", None))
            .await;
        reply.assert_status(200);
        let html = String::from_utf8_lossy(&reply.bytes).into_owned();
        assert!(!html.contains("evil.example"), "{html}");
        app.shutdown().await;
    }
);
