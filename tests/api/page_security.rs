//! Pages an attacker cannot turn against the lab: the security headers of every reply, URLs
//! built on the server with ids encoded, and in the real browser a hostile OTU id imported
//! through a reference file (the stored XSS that made its author an administrator), the
//! content-security policy holding even when markup is inserted, and a cross-site form that
//! would sign the browser into the attacker's account.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::browser::sign_in;
use crate::pages::{page, visitor, PASSWORD};
use crate::support::{Backend, Browser, Creds, Setup, TestApp};

/// A one-OTU reference whose OTU id is `otu_id`, as a lab could receive it from another.
fn reference_with_otu_id(otu_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"otus": [{
        "_id": otu_id, "name": "Grapevine leafroll-associated virus 3", "abbreviation": "GLRaV3",
        "isolates": [{"id": "iso00001", "default": true, "source_type": "isolate",
            "source_name": "A", "sequences": [{"_id": "seq00001", "accession": "NC_004667",
            "definition": "GLRaV-3 genome", "sequence": "ACGTACGTACGT"}]}]
    }]}))
    .unwrap()
}

/// A finished Pathoscope analysis of `sample` on a reference whose one OTU is `otu_id`.
async fn analysis_with_otu(app: &TestApp, creds: &Creds, sample: &str, otu_id: &str) -> String {
    let (ref_id, _) = app.reference_from(reference_with_otu_id(otu_id)).await;
    let analysis = app
        .analysis(creds, sample, &ref_id, "pathoscope_bowtie")
        .await;
    let id = analysis["id"].as_str().unwrap().to_owned();
    let job = app.acquire(analysis["job"]["id"].as_str().unwrap()).await;
    let results = json!({"read_count": 100, "hits": [{
        "id": "seq00001", "otu": {"id": otu_id, "version": 0},
        "align": [3, 3, 3, 3, 5, 5, 5, 5, 1, 1, 1, 1], "coverage": 1.0,
        "final": {"pi": 0.5, "best": 0.5, "reads": 10},
    }]});
    app.finalize(&job, &id, &results).await.assert_status(200);
    id
}

/// The script an attacker hides in a sample name: read the page's CSRF token and make
/// `user_id` an administrator (no spaces or double quotes, so it survives JSON and HTML).
fn takeover(user_id: &str) -> String {
    use base64::Engine;
    let script = format!(
        "fetch('/api/users/{user_id}',{{method:'PATCH',credentials:'same-origin',headers:\
         {{'X-CSRF-Token':document.querySelector('meta[name=csrf-token]').content,\
         'Content-Type':'application/json'}},body:'{{\"administrator\":true}}'}})"
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(script);
    format!("<img src=x onerror=eval(atob('{encoded}'))>")
}

both!(
    every_reply_carries_the_security_headers,
    |app: TestApp| async move {
        let (owner, owner_creds) = visitor(&app, "owner").await;
        let sample = app.sample(&owner_creds, json!({"name": "Headers"})).await;
        let id = analysis_with_otu(&app, &owner_creds, &sample, "otu00001").await;
        let upload = app
            .multipart(
                Method::POST,
                &format!("/api/analyses/{id}/files?name=page.html"),
                &owner_creds,
                "page.html",
                b"<script>alert(1)</script>".to_vec(),
            )
            .await;
        upload.assert_status(201);
        let file_id = upload.json()["id"].as_i64().unwrap();
        let page_reply = page(&app, &owner.cookie, &format!("/analyses/{id}")).await;
        page_reply.assert_status(200);
        let policy = page_reply.header("content-security-policy").unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(policy.contains(directive), "{policy}");
        }
        assert!(!policy.contains("unsafe"), "{policy}");
        let html = String::from_utf8_lossy(&page_reply.bytes).into_owned();
        // Nothing the policy would block: no inline script, handler or style.
        assert!(!html.contains(" style=\""), "an inline style");
        assert!(!html.contains("<script>"), "an inline script");
        assert!(
            !html.contains(" onclick=") && !html.contains(" onload="),
            "a handler"
        );
        let replies = [
            page_reply,
            page(&app, &owner.cookie, "/sign-in").await,
            app.get(&format!("/api/analyses/{id}"), &owner_creds).await,
            app.get(&format!("/api/analyses/{id}/files/{file_id}"), &owner_creds)
                .await,
            app.get(&format!("/api/analyses/documents/{id}.csv"), &owner_creds)
                .await,
            app.send(app.request(Method::GET, "/assets/vira.js", None))
                .await,
            app.send(app.request(Method::GET, "/api/nope", None)).await,
        ];
        for reply in &replies {
            let what = reply.header("content-type").unwrap_or_default();
            assert_eq!(
                reply.header("x-frame-options").as_deref(),
                Some("DENY"),
                "{what}"
            );
            assert_eq!(
                reply.header("x-content-type-options").as_deref(),
                Some("nosniff"),
                "{what}"
            );
            assert_eq!(
                reply.header("referrer-policy").as_deref(),
                Some("same-origin"),
                "{what}"
            );
            let policy = reply.header("content-security-policy").unwrap_or_default();
            assert!(
                policy.contains("frame-ancestors 'none'"),
                "{what}: {policy}"
            );
            if !what.starts_with("text/html") {
                // A download opened as a document runs nothing.
                assert!(policy.contains("default-src 'none'"), "{what}: {policy}");
                assert!(policy.contains("sandbox"), "{what}: {policy}");
            }
        }
        app.shutdown().await;
    }
);

both!(
    urls_of_hostile_otu_ids_are_built_encoded,
    |app: TestApp| async move {
        let (viewer, creds) = visitor(&app, "reader").await;
        let sample = app.sample(&creds, json!({"name": "Vine"})).await;
        let hostile = format!("../../../api/samples/{sample}#");
        let id = analysis_with_otu(&app, &creds, &sample, &hostile).await;
        let html = String::from_utf8_lossy(
            &page(&app, &viewer.cookie, &format!("/analyses/{id}"))
                .await
                .bytes,
        )
        .into_owned();
        let encoded = format!("%2E%2E%2F%2E%2E%2F%2E%2E%2Fapi%2Fsamples%2F{sample}%23");
        assert!(
            html.contains(&format!("href=\"/analyses/{id}/otus/{encoded}\"")),
            "{html}"
        );
        assert!(
            html.contains(&format!(
                "data-src=\"/analyses/{id}/otus/{encoded}?fragment=1\""
            )),
            "{html}"
        );
        // The encoded URL names the OTU, and its fragment says it is one.
        let fragment = page(
            &app,
            &viewer.cookie,
            &format!("/analyses/{id}/otus/{encoded}?fragment=1"),
        )
        .await;
        fragment.assert_status(200);
        assert_eq!(fragment.header("x-vira-fragment").as_deref(), Some("1"));
        assert!(String::from_utf8_lossy(&fragment.bytes).contains("NC_004667"));
        // JSON replies are never marked as fragments.
        let json = app.get(&format!("/api/samples/{sample}"), &creds).await;
        assert!(json.header("x-vira-fragment").is_none());
        app.shutdown().await;
    }
);

/// Whether `creds` belong to an administrator now.
async fn is_admin(app: &TestApp, creds: &Creds) -> bool {
    app.get("/api/account", creds).await.json()["administrator"] == true
}

async fn hostile_otu_in_a_browser(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start(&format!("hostile-otu-{backend:?}")).await else {
        return;
    };
    let base = app.base.clone();
    // The administrator signs in to the pages; the attacker has only a key.
    app.post(
        "/api/users",
        &app.admin,
        &json!({"handle": "chief", "administrator": true, "password": PASSWORD}),
    )
    .await
    .assert_status(201);
    let (mallory, mallory_id) = app.user("mallory", &[]).await;
    let sample = app
        .sample(&mallory, json!({"name": takeover(&mallory_id)}))
        .await;
    let hostile = format!("../../../api/samples/{sample}#");
    let id = analysis_with_otu(&app, &mallory, &sample, &hostile).await;

    sign_in(&browser, &base, "chief").await;
    browser.goto(&format!("{base}/analyses/{id}")).await;
    browser.css("#otu-table").await;
    browser
        .script("window.__violations = []; document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective));")
        .await;
    browser
        .css("#otu-table tr.otu button.expand")
        .await
        .click()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    browser.shot("expanded").await;
    assert!(
        !is_admin(&app, &mallory).await,
        "expanding the OTU made its author an administrator"
    );
    // The OTU's own charts came back, not the sample's JSON, from the encoded URL.
    browser.css("tr.detail .otu-detail").await;
    let detail = browser.css("tr.detail").await.text().await.unwrap();
    assert!(detail.contains("NC_004667"), "{detail}");
    let href = browser
        .script("return document.querySelector('#otu-table tr.otu th a').getAttribute('href');")
        .await;
    assert_eq!(
        href,
        Value::String(format!(
            "/analyses/{id}/otus/%2E%2E%2F%2E%2E%2F%2E%2E%2Fapi%2Fsamples%2F{sample}%23"
        ))
    );

    // Even markup that did get into the page runs nothing: the policy refuses inline handlers.
    let inserted = browser
        .script(&format!(
            "return (async () => {{
               const reply = await fetch('/api/samples/{sample}');
               document.querySelector('main').insertAdjacentHTML('beforeend', await reply.text());
               await new Promise(r => setTimeout(r, 1000));
               return window.__violations;
             }})();"
        ))
        .await;
    let violations: Vec<String> = serde_json::from_value(inserted).unwrap();
    assert!(
        violations.iter().any(|v| v.starts_with("script-src")),
        "the inline handler was not refused: {violations:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !is_admin(&app, &mallory).await,
        "the inserted handler ran and made its author an administrator"
    );
    browser.quit().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_otu_id_runs_nothing_in_the_browser_sqlite() {
    hostile_otu_in_a_browser(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_otu_id_runs_nothing_in_the_browser_postgres() {
    hostile_otu_in_a_browser(Backend::Postgres).await;
}

/// Another site (here `localhost`, while vira is `127.0.0.1`) with a form that posts JSON-looking
/// `text/plain` to vira's sign-in route: the classic login CSRF.
async fn attacker_site(vira: &str) -> String {
    let body = format!(
        "<!doctype html><title>Free grapevines</title>\
         <form method=post action='{vira}/api/account/login' enctype='text/plain'>\
         <input type=hidden name='{{\"handle\":\"mallory\",\"password\":\"{PASSWORD}\",\"remember\":true,\"x\":\"' value='\"}}'>\
         <button id=go>Claim</button></form>\
         <form method=post action='{vira}/sign-in'>\
         <input type=hidden name=handle value=mallory><input type=hidden name=password value='{PASSWORD}'>\
         <button id=page>Claim too</button></form>"
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let body = body.clone();
            async move { axum::response::Html(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://localhost:{port}/")
}

async fn cross_site_form_in_a_browser(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start(&format!("login-csrf-{backend:?}")).await else {
        return;
    };
    crate::browser::person(&app, "mallory").await;
    let site = attacker_site(&app.base).await;
    for button in ["#go", "#page"] {
        browser.goto(&site).await;
        browser.css(button).await.click().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        // Back on vira: still nobody signed in.
        browser.goto(&format!("{}/account", app.base)).await;
        browser.css("h1").await;
        assert_eq!(
            browser.path().await,
            "/sign-in",
            "the form of another site ({button}) signed the browser in"
        );
    }
    browser.quit().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_signs_nobody_in_sqlite() {
    cross_site_form_in_a_browser(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_signs_nobody_in_postgres() {
    cross_site_form_in_a_browser(Backend::Postgres).await;
}
