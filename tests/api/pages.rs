//! The web pages over real HTTP: sign-in, the list with the API's rights, the real fixture
//! analyses, caching and compression, error pages, delete with CSRF. (The same pages in a real
//! browser: `browser.rs`.)

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::support::{nuvs_results, pathoscope_results, Creds, Reply, Setup, TestApp};

pub const PASSWORD: &str = "grapevine leafroll";

/// A signed-in browser without a browser: the session cookie and the page's CSRF token.
pub struct Visitor {
    pub cookie: String,
    pub csrf: String,
}

/// A user with a password, signed in through the sign-in form.
pub async fn visitor(app: &TestApp, handle: &str) -> (Visitor, Creds) {
    let (creds, id) = app.user(handle, &[]).await;
    app.patch(
        &format!("/api/users/{id}"),
        &app.admin,
        &json!({"password": PASSWORD}),
    )
    .await
    .assert_status(200);
    let form = format!("handle={handle}&password=grapevine+leafroll&next=%2Fanalyses");
    let reply = app
        .send(
            app.request(Method::POST, "/sign-in", None)
                .header("origin", &app.base)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
        )
        .await;
    assert_eq!(
        reply.status.as_u16(),
        303,
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
    assert_eq!(reply.header("location").as_deref(), Some("/analyses"));
    let cookie = reply
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = page(app, &cookie, "/analyses").await;
    let text = page.text();
    let start = text
        .find("name=\"csrf-token\" content=\"")
        .expect("a CSRF meta tag")
        + 27;
    let csrf = text[start..start + 64].to_owned();
    (Visitor { cookie, csrf }, creds)
}

trait Text {
    fn text(&self) -> String;
}

impl Text for Reply {
    fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).expect("pages are UTF-8")
    }
}

/// GET a page as a browser would (with the cookie, `Accept: text/html`, no redirects followed).
pub async fn page(app: &TestApp, cookie: &str, path: &str) -> Reply {
    app.send(
        app.request(Method::GET, path, None)
            .header("cookie", cookie)
            .header("accept", "text/html,application/xhtml+xml"),
    )
    .await
}

/// A finished analysis of the real fixture results: `(sample id, analysis id)`.
pub async fn fixture_analysis(app: &TestApp, ref_id: &str, workflow: &str) -> (String, String) {
    let started = app.started(ref_id, workflow).await;
    let results = match workflow {
        "nuvs" => nuvs_results(),
        _ => pathoscope_results(),
    };
    app.finalize(&started.job, &started.id, &results)
        .await
        .assert_status(200);
    (started.sample, started.id)
}

/// Let every user change the analyses of `sample`.
pub async fn share_for_writing(app: &TestApp, sample: &str) {
    app.patch(
        &format!("/api/samples/{sample}/rights"),
        &app.admin,
        &json!({"all_write": true}),
    )
    .await
    .assert_status(200);
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

both!(
    signing_in_and_the_list_follow_the_api_rights,
    |app: TestApp| async move {
        // Anonymous visitors get the sign-in page, and come back where they wanted to go.
        let reply = page(&app, "", "/analyses?state=ready").await;
        assert_eq!(reply.status.as_u16(), 303);
        assert_eq!(
            reply.header("location").as_deref(),
            Some("/sign-in?next=%2Fanalyses%3Fstate%3Dready")
        );
        let form = page(&app, "", "/sign-in?next=%2Fanalyses").await;
        form.assert_status(200);
        let html = form.text();
        for label in [
            "<label for=\"handle\">",
            "<label for=\"password\">",
            "name=\"remember\"",
        ] {
            assert!(html.contains(label), "{label}");
        }
        let wrong = app
            .send(
                app.request(Method::POST, "/sign-in", None)
                    .header("origin", &app.base)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("handle=nobody&password=wrong-password"),
            )
            .await;
        assert_eq!(wrong.status.as_u16(), 401);
        assert!(wrong.text().contains("Wrong handle or password"));
        assert!(wrong.header("set-cookie").is_none());

        let (owner, owner_creds) = visitor(&app, "owner").await;
        let (other, _) = visitor(&app, "other").await;
        let ref_id = app.small_reference().await;
        // The owner's private sample and a public one of the administrator.
        let private = app
            .sample(
                &owner_creds,
                json!({"name": "Private vine", "all_read": false}),
            )
            .await;
        app.analysis(&owner_creds, &private, &ref_id, "nuvs").await;
        let public = app.sample(&app.admin, json!({"name": "Shared vine"})).await;
        app.analysis(&app.admin, &public, &ref_id, "pathoscope_bowtie")
            .await;

        let list = page(&app, &owner.cookie, "/analyses").await.text();
        assert!(list.contains("Private vine") && list.contains("Shared vine"));
        assert!(list.contains("2 analyses"));
        let list = page(&app, &other.cookie, "/analyses").await.text();
        assert!(!list.contains("Private vine"), "rights exactly as the API");
        assert!(list.contains("Shared vine") && list.contains("1 analysis"));
        // Filters: sample name (any case), workflow, state.
        let list = page(&app, &owner.cookie, "/analyses?sample=PRIVATE")
            .await
            .text();
        assert!(list.contains("Private vine") && !list.contains("Shared vine"));
        let list = page(&app, &owner.cookie, "/analyses?workflow=pathoscope_bowtie")
            .await
            .text();
        assert!(!list.contains("Private vine") && list.contains("Shared vine"));
        let list = page(&app, &owner.cookie, "/analyses?state=ready")
            .await
            .text();
        assert!(list.contains("No analysis matches"));
        // A sample's page lists its analyses.
        let sample = page(&app, &owner.cookie, &format!("/samples/{private}")).await;
        sample.assert_status(200);
        assert!(sample.text().contains("NuVs"));
        let refused = page(&app, &other.cookie, &format!("/samples/{private}")).await;
        assert_eq!(refused.status.as_u16(), 403);
        assert!(refused.text().contains("Insufficient rights"));
        app.shutdown().await;
    }
);

/// The weight the page shows: three decimals, or two in scientific notation when smaller.
fn shown_weight(w: f64) -> String {
    if w >= 0.001 {
        format!("{w:.3}")
    } else {
        format!("{w:.2e}")
    }
}

both!(
    the_fixture_pathoscope_page_has_every_otu_and_chart,
    |app: TestApp| async move {
        let (visitor, _) = visitor(&app, "lab").await;
        let (ref_id, _) = app.reference("reference/otus.json.gz").await;
        let (_, id) = fixture_analysis(&app, &ref_id, "pathoscope_bowtie").await;
        let reply = page(&app, &visitor.cookie, &format!("/analyses/{id}")).await;
        reply.assert_status(200);
        assert_eq!(
            reply.header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );
        let html = reply.text();
        let expected = crate::expect::pathoscope();
        assert_eq!(count(&html, "<tr class=\"otu\""), expected.otus.len());
        assert_eq!(count(&html, "<svg class=\"spark\""), expected.otus.len());
        for otu in &expected.otus {
            let name = otu["name"].as_str().unwrap();
            assert!(html.contains(&format!(">{name}</a>")), "{name}");
            let weight: f64 = otu["isolates"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|i| i["sequences"].as_array().unwrap())
                .map(|s| s["pi"].as_f64().unwrap())
                .sum();
            assert!(
                html.contains(&format!(">{}</td>", shown_weight(weight))),
                "{name}"
            );
        }
        assert!(html.contains("20,276"), "the read count");
        assert!(html.contains(&format!("/api/analyses/documents/{id}.csv")));

        // An expanded OTU: one chart per sequence, never more points than pixels.
        let otu = &expected.otus[4];
        let otu_id = otu["id"].as_str().unwrap();
        let fragment = page(
            &app,
            &visitor.cookie,
            &format!("/analyses/{id}/otus/{otu_id}?fragment=1"),
        )
        .await;
        fragment.assert_status(200);
        let fragment = fragment.text();
        let sequences: Vec<&Value> = otu["isolates"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| i["sequences"].as_array().unwrap())
            .collect();
        assert_eq!(count(&fragment, "<svg class=\"chart\""), sequences.len());
        for sequence in &sequences {
            assert!(fragment.contains(sequence["accession"].as_str().unwrap()));
        }
        assert!(!fragment.contains("<html"), "a fragment, not a page");
        for path in fragment.split("class=\"area\" d=\"").skip(1) {
            let d = &path[..path.find('"').unwrap()];
            let pairs = d.matches(" 1").count() + d.matches("l1").count() + d.matches(' ').count();
            assert!(pairs <= 3 * 720, "a chart with more points than pixels");
        }

        // Cached like the API: Last-Modified, then 304.
        let modified = reply.header("last-modified").expect("Last-Modified");
        let again = app
            .send(
                app.request(Method::GET, &format!("/analyses/{id}"), None)
                    .header("cookie", &visitor.cookie)
                    .header("if-modified-since", &modified),
            )
            .await;
        again.assert_status(304);
        // Compressed when the browser accepts gzip.
        let gz = app
            .send(
                app.request(Method::GET, &format!("/analyses/{id}"), None)
                    .header("cookie", &visitor.cookie)
                    .header("accept-encoding", "gzip"),
            )
            .await;
        assert_eq!(gz.header("content-encoding").as_deref(), Some("gzip"));
        assert!(gz.bytes.len() * 3 < reply.bytes.len());
        app.shutdown().await;
    }
);

both!(
    the_fixture_nuvs_page_has_contigs_orf_maps_and_blast_panels,
    |app: TestApp| async move {
        let (visitor, _) = visitor(&app, "lab").await;
        app.nuvs_annotations().await;
        let ref_id = app.small_reference().await;
        let (sample, id) = fixture_analysis(&app, &ref_id, "nuvs").await;
        let read_only = page(&app, &visitor.cookie, &format!("/analyses/{id}"))
            .await
            .text();
        assert_eq!(
            count(&read_only, "class=\"blast-start\""),
            0,
            "BLAST needs the write right"
        );
        share_for_writing(&app, &sample).await;
        let html = page(&app, &visitor.cookie, &format!("/analyses/{id}"))
            .await
            .text();
        let contigs = nuvs_results()["hits"].as_array().unwrap().clone();
        assert_eq!(count(&html, "<tr class=\"contig\""), contigs.len());
        assert_eq!(count(&html, "<figure class=\"orf-map\""), contigs.len());
        for contig in &contigs {
            let orfs = contig["orfs"].as_array().unwrap().len();
            let index = contig["index"].as_i64().unwrap();
            let length = contig["sequence"].as_str().unwrap().len();
            assert!(html.contains(&format!("ORFs of contig {index} ({length} nt)")));
            assert!(html.contains(&format!("ORF map of contig {index} with {orfs} ORFs")));
        }
        // Contig 1's best hit, as in the export example (contract §10.3).
        assert!(html.contains("8.8e-22"));
        assert!(html.contains("DNA-directed RNA polymerase subunit alpha"));
        assert_eq!(count(&html, "class=\"blast-start\""), contigs.len());
        assert!(html.contains("BLAST at NCBI"));
        let panel = page(
            &app,
            &visitor.cookie,
            &format!("/analyses/{id}/contigs/1/blast?fragment=1"),
        )
        .await;
        panel.assert_status(200);
        assert!(panel.text().contains("data-state=\"none\""));
        let missing = page(
            &app,
            &visitor.cookie,
            &format!("/analyses/{id}/contigs/99/blast"),
        )
        .await;
        assert_eq!(missing.status.as_u16(), 404);
        app.shutdown().await;
    }
);

both!(error_pages_are_pages, |app: TestApp| async move {
    let (owner, owner_creds) = visitor(&app, "owner").await;
    let (other, _) = visitor(&app, "other").await;
    let ref_id = app.small_reference().await;
    let sample = app
        .sample(&owner_creds, json!({"name": "Test 1", "all_read": false}))
        .await;
    let analysis = app.analysis(&owner_creds, &sample, &ref_id, "nuvs").await;
    let id = analysis["id"].as_str().unwrap();

    let refused = page(&app, &other.cookie, &format!("/analyses/{id}")).await;
    assert_eq!(refused.status.as_u16(), 403);
    let html = refused.text();
    assert!(html.contains("<h1 id=\"error-title\">Not allowed</h1>"));
    // Without the read right, only what the API's 403 says: nothing of the sample or its owner.
    assert!(html.contains("Insufficient rights"), "{html}");
    assert!(
        !html.contains("Test 1") && !html.contains("owner owns") && !html.contains(&sample),
        "{html}"
    );
    let sample_page = page(&app, &other.cookie, &format!("/samples/{sample}")).await;
    assert_eq!(sample_page.status.as_u16(), 403);
    let html = sample_page.text();
    assert!(html.contains("Insufficient rights"), "{html}");
    assert!(
        !html.contains("Test 1") && !html.contains("owner"),
        "{html}"
    );
    assert!(!html.trim_start().starts_with('{'), "never raw JSON");

    let missing = page(&app, &owner.cookie, "/analyses/nope1234").await;
    assert_eq!(missing.status.as_u16(), 404);
    assert!(missing.text().contains("Not found"));
    // An unknown path: a page for a browser, the contract's JSON for everyone else.
    let unknown = page(&app, &owner.cookie, "/no/such/page").await;
    assert_eq!(unknown.status.as_u16(), 404);
    assert!(unknown.text().contains("<!doctype html>"));
    let json = app
        .send(app.request(Method::GET, "/no/such/page", None))
        .await;
    json.assert_error(404, "not_found", "Not found");
    let api = page(&app, &owner.cookie, "/api/nope").await;
    api.assert_error(404, "not_found", "Not found");

    // Still running: deleting it is explained, not attempted.
    let running = page(&app, &owner.cookie, &format!("/analyses/{id}/delete")).await;
    assert_eq!(running.status.as_u16(), 409);
    assert!(running.text().contains("This analysis is still running"));
    // Write right needed: the other user gets a 403 page for the delete form too.
    let denied = page(&app, &other.cookie, &format!("/analyses/{id}/delete")).await;
    assert_eq!(denied.status.as_u16(), 403);
    assert!(
        !denied.text().contains("Test 1"),
        "not readable: nothing named"
    );
    // With read but not write, the page names whom to ask.
    app.patch(
        &format!("/api/samples/{sample}/rights"),
        &owner_creds,
        &json!({"all_read": true}),
    )
    .await
    .assert_status(200);
    let denied = page(&app, &other.cookie, &format!("/analyses/{id}/delete")).await;
    assert_eq!(denied.status.as_u16(), 403);
    assert!(
        denied
            .text()
            .contains("write access to the sample «Test 1», which owner owns"),
        "{}",
        denied.text()
    );
    app.shutdown().await;
});

both!(
    delete_asks_first_and_needs_the_form_token,
    |app: TestApp| async move {
        let (visitor, _) = visitor(&app, "lab").await;
        let ref_id = app.small_reference().await;
        let started = app.started(&ref_id, "pathoscope_bowtie").await;
        app.finalize(
            &started.job,
            &started.id,
            &json!({"hits": [], "read_count": 0}),
        )
        .await
        .assert_status(200);
        let id = &started.id;
        assert_eq!(
            page(&app, &visitor.cookie, &format!("/analyses/{id}/delete"))
                .await
                .status
                .as_u16(),
            403
        );
        share_for_writing(&app, &started.sample).await;
        let confirm = page(&app, &visitor.cookie, &format!("/analyses/{id}/delete")).await;
        confirm.assert_status(200);
        assert!(confirm.text().contains("Delete this analysis?"));
        let post = |body: String| {
            app.request(Method::POST, &format!("/analyses/{id}/delete"), None)
                .header("cookie", &visitor.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        };
        let refused = app.send(post("csrf=forged".into())).await;
        assert_eq!(refused.status.as_u16(), 403);
        app.get(&format!("/api/analyses/{id}"), &app.admin)
            .await
            .assert_status(200);
        let deleted = app.send(post(format!("csrf={}", visitor.csrf))).await;
        assert_eq!(deleted.status.as_u16(), 303);
        assert_eq!(
            deleted.header("location").as_deref(),
            Some("/analyses?deleted=1")
        );
        app.get(&format!("/api/analyses/{id}"), &app.admin)
            .await
            .assert_status(404);
        assert!(page(&app, &visitor.cookie, "/analyses?deleted=1")
            .await
            .text()
            .contains("The analysis was deleted."));

        // Signing out from the page ends the session.
        let out = app
            .send(
                app.request(Method::POST, "/sign-out", None)
                    .header("cookie", &visitor.cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("csrf={}", visitor.csrf)),
            )
            .await;
        assert_eq!(out.status.as_u16(), 303);
        assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
        let after = page(&app, &visitor.cookie, "/analyses").await;
        assert_eq!(after.status.as_u16(), 303, "back to the sign-in page");
        app.shutdown().await;
    }
);
