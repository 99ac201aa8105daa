//! The README's "First steps", step by step over HTTP as its `curl` lines send them, against
//! `vira serve --workers 1` on SQLite; then the analysis in a real browser: signed in through the
//! sign-in page as the administrator, Raspberry ringspot virus tops the table and its coverage
//! chart is drawn. Screenshots go to `target/tmp/screenshots/quick-start-*.png`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::browser::sign_in;
use crate::pages::PASSWORD;
use crate::support::{
    create_admin_process_with_password, fixture_bytes, process_storage, serve_with_one_worker,
    upload_fixture, Backend, Browser, Creds, Http, Reply,
};

/// From the analysis's creation to `ready`: the index build of the plant-virus reference, the
/// sample's reads and the analysis itself, one after the other on a loaded 2-core machine.
const QUICK_START_LIMIT: Duration = Duration::from_secs(900);

/// `curl -u … -d '<json>' <url>`: a JSON body with curl's form content type.
async fn curl_d(http: &Http, admin: &Creds, path: &str, body: &Value) -> Reply {
    let request = http
        .request(Method::POST, path, Some(admin))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    http.send(request).await
}

/// OTU names and weights (Σ `pi` of their sequences), heaviest first: step 5's `jq` line.
fn weights(analysis: &Value) -> Vec<(String, f64)> {
    let mut weights: Vec<(String, f64)> = analysis["results"]["hits"]
        .as_array()
        .expect("results with hits")
        .iter()
        .map(|otu| {
            let weight = otu["isolates"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|i| i["sequences"].as_array().unwrap())
                .map(|s| s["pi"].as_f64().unwrap())
                .sum();
            (otu["name"].as_str().unwrap().to_owned(), weight)
        })
        .collect();
    weights.sort_by(|a, b| b.1.total_cmp(&a.1));
    weights
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_start_in_a_browser() {
    let Some(browser) = Browser::start("quick-start").await else {
        return;
    };
    let Some((dir, url, _db)) = process_storage(Backend::Sqlite).await else {
        return;
    };
    let work = tempfile::TempDir::new().unwrap();
    let server = serve_with_one_worker(dir.path(), &url, work.path()).await;
    let http: &Http = &server;

    // 1. The first administrator, with a password for the pages.
    let admin = create_admin_process_with_password(dir.path(), &url, PASSWORD).await;

    // 2. The plant-virus reference and an index of it.
    let reply = http
        .multipart(
            Method::POST,
            "/api/refs/import",
            &admin,
            "plant-viruses.json.gz",
            fixture_bytes("reference/plant-viruses.json.gz"),
        )
        .await;
    reply.assert_status(201);
    let ref_id = reply.json()["id"].as_str().unwrap().to_owned();
    let reply = http
        .send(http.request(
            Method::POST,
            &format!("/api/refs/{ref_id}/indexes"),
            Some(&admin),
        ))
        .await;
    reply.assert_status(201);
    let index = reply.json();
    assert!(index["job"]["id"].is_string(), "a build job: {index}");

    // 3. The reads and the sample.
    let r1 = upload_fixture(http, &admin, "reads/rrsv_1.fq.gz", "reads").await;
    let r2 = upload_fixture(http, &admin, "reads/rrsv_2.fq.gz", "reads").await;
    let reply = curl_d(
        http,
        &admin,
        "/api/samples",
        &json!({"name": "Raspberry 1", "files": [r1, r2]}),
    )
    .await;
    reply.assert_status(201);
    let sample = reply.json()["id"].as_str().unwrap().to_owned();

    // 4. The analysis, created at once: it waits for the sample and the index.
    let reply = curl_d(
        http,
        &admin,
        &format!("/api/samples/{sample}/analyses"),
        &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie"}),
    )
    .await;
    reply.assert_status(201);
    let analysis_id = reply.json()["id"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let analysis = loop {
        let analysis = http
            .get(&format!("/api/analyses/{analysis_id}"), &admin)
            .await
            .json();
        if analysis["ready"] == true {
            break analysis;
        }
        let job = &analysis["job"];
        assert!(
            !["error", "cancelled", "timeout", "terminated"]
                .contains(&job["state"].as_str().unwrap_or("")),
            "the analysis job failed: {job}"
        );
        assert!(
            started.elapsed() < QUICK_START_LIMIT,
            "not ready within {QUICK_START_LIMIT:?}: {analysis}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    eprintln!(
        "quick start: ready {:?} after the analysis was created",
        started.elapsed()
    );

    // 5. The diagnosis, with the README's figures.
    let weights = weights(&analysis);
    assert_eq!(weights[0].0, "Raspberry ringspot virus", "{weights:?}");
    assert!(
        (weights[0].1 - 0.99999999999974).abs() < 1e-15,
        "{weights:?}"
    );
    assert!(weights[1..3].iter().all(|(_, w)| *w < 1e-12), "{weights:?}");

    // The page: sign in as admin, open the analysis, Raspberry ringspot virus first, its chart
    // drawn.
    let base = &http.base;
    sign_in(&browser, base, "admin").await;
    browser
        .goto(&format!("{base}/analyses/{analysis_id}"))
        .await;
    browser.css("#otu-table").await;
    browser.shot("analysis").await;
    let first = browser.css("#otu-table tbody tr.otu").await;
    let name = first
        .find(fantoccini::Locator::Css("th a"))
        .await
        .expect("the OTU's name")
        .text()
        .await
        .unwrap();
    assert_eq!(name, "Raspberry ringspot virus", "the top hit");
    let chart = browser
        .script(
            "const row = document.querySelector('#otu-table tbody tr.otu');
             const svg = row.querySelector('svg.spark');
             const path = svg && svg.querySelector('path');
             if (!path) return null;
             const box = path.getBBox();
             return {d: path.getAttribute('d'), width: box.width, height: box.height,
                     label: svg.getAttribute('aria-label'), shown: svg.getBoundingClientRect().width};",
        )
        .await;
    assert_ne!(chart, Value::Null, "no coverage chart in the top row");
    let d = chart["d"].as_str().unwrap();
    assert!(
        d.starts_with("M0 ") && d.contains('l'),
        "a path of points: {d}"
    );
    assert!(
        chart["width"].as_f64().unwrap() > 0.0 && chart["height"].as_f64().unwrap() > 0.0,
        "the chart's path has an area: {chart}"
    );
    assert!(
        chart["shown"].as_f64().unwrap() > 0.0,
        "the chart is laid out: {chart}"
    );
    let depth: u64 = chart["label"]
        .as_str()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(depth > 0, "coverage with depth: {chart}");
    browser.quit().await;
}
