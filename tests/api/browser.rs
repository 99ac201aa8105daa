//! The pages in a real browser (headless chromium over WebDriver), on both databases: sign in,
//! the list, the real fixture Pathoscope analysis (names, weights, charts), an expanded OTU, the
//! CSV export, the NuVs analysis with a BLAST at the fake NCBI until its hits appear, sign out,
//! the 403 page of a user without rights and the sign-in page for an anonymous visitor.
//! Screenshots of each page go to `target/tmp/screenshots/`.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::pages::{fixture_analysis, share_for_writing, PASSWORD};
use crate::support::{start_fake, Backend, Browser, Put, Setup, Status, TestApp};

/// Give `handle` a password through the API (U15).
pub async fn person(app: &TestApp, handle: &str) {
    let (_, id) = app.user(handle, &[]).await;
    app.patch(
        &format!("/api/users/{id}"),
        &app.admin,
        &json!({"password": PASSWORD}),
    )
    .await
    .assert_status(200);
}

pub async fn sign_in(browser: &Browser, base: &str, handle: &str) {
    browser.goto(&format!("{base}/analyses")).await;
    assert_eq!(
        browser.path().await,
        "/sign-in",
        "anonymous visitors sign in first"
    );
    browser
        .css("#handle")
        .await
        .send_keys(handle)
        .await
        .unwrap();
    browser
        .css("#password")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .css("form.stack button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    // The sign-in page has an h1 of its own: wait for the navigation (the password hash takes a
    // while on a loaded machine), then for the page it led to.
    for _ in 0..100 {
        if browser.path().await != "/sign-in" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.css("h1").await;
    assert_eq!(browser.path().await, "/analyses");
}

/// The visible rows of a table body.
async fn visible_rows(browser: &Browser, table: &str, class: &str) -> usize {
    let script = format!(
        "return Array.from(document.querySelectorAll('#{table} tbody tr.{class}')).filter(r => !r.hidden).length;"
    );
    browser.script(&script).await.as_u64().unwrap() as usize
}

async fn pages_in_a_browser(backend: Backend) {
    let (ncbi, _fake) = start_fake(Put::Normal, Status::WaitThenReady(1), false).await;
    let Some(app) = TestApp::spawn_with(backend, |c| c.ncbi_blast_url = ncbi).await else {
        return;
    };
    let prefix = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let Some(browser) = Browser::start(prefix).await else {
        return;
    };
    let base = app.base.clone();
    person(&app, "lab").await;
    person(&app, "outsider").await;
    let (ref_id, _) = app.reference("reference/otus.json.gz").await;
    let (_, pathoscope) = fixture_analysis(&app, &ref_id, "pathoscope_bowtie").await;
    app.nuvs_annotations().await;
    let (nuvs_sample, nuvs) = fixture_analysis(&app, &ref_id, "nuvs").await;
    share_for_writing(&app, &nuvs_sample).await;
    let private = app
        .sample(
            &app.admin,
            json!({"name": "Private vine", "all_read": false}),
        )
        .await;
    let hidden = app.analysis(&app.admin, &private, &ref_id, "nuvs").await;
    let hidden = hidden["id"].as_str().unwrap().to_owned();

    // Sign in, and the list of what "lab" may read.
    browser.goto(&format!("{base}/sign-in")).await;
    browser.assert_labelled().await;
    browser.shot("sign-in").await;
    sign_in(&browser, &base, "lab").await;
    let rows = browser.all("#analyses tbody tr").await;
    assert_eq!(rows.len(), 2, "the private analysis is not listed");
    browser.assert_labelled().await;
    browser.shot("analyses").await;

    // The fixture Pathoscope analysis: names, weights and one chart per OTU.
    browser
        .css(&format!("a[href='/analyses/{pathoscope}']"))
        .await
        .click()
        .await
        .unwrap();
    browser.css("#otu-table").await;
    let expected = crate::expect::pathoscope();
    assert_eq!(
        visible_rows(&browser, "otu-table", "otu").await,
        expected.otus.len()
    );
    let charts = browser.all("#otu-table svg.spark path").await;
    assert_eq!(charts.len(), expected.otus.len());
    let names: Vec<String> = serde_json::from_value(
        browser
            .script("return Array.from(document.querySelectorAll('#otu-table tr.otu th a')).map(a => a.textContent);")
            .await,
    )
    .unwrap();
    let mut weights: Vec<(String, f64)> = expected
        .otus
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
    assert_eq!(
        names,
        weights.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        "heaviest first"
    );
    let first_weight = browser
        .css("#otu-table tr.otu td.num")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first_weight, format!("{:.3}", weights[0].1));
    browser.assert_labelled().await;
    browser.shot("pathoscope").await;

    // Expand the fanleaf OTU: one chart per sequence, with axis ticks and accessions.
    let fanleaf = expected
        .otus
        .iter()
        .find(|o| o["name"] == "Grapevine fanleaf virus")
        .unwrap();
    let fanleaf_id = fanleaf["id"].as_str().unwrap();
    let button = browser
        .css(&format!("tr[data-otu='{fanleaf_id}'] button.expand"))
        .await;
    button.click().await.unwrap();
    browser
        .css(&format!("#detail-{fanleaf_id} .otu-detail"))
        .await;
    assert_eq!(
        button.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    let sequences: Vec<&Value> = fanleaf["isolates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["sequences"].as_array().unwrap())
        .collect();
    let detail_charts = browser
        .all(&format!("#detail-{fanleaf_id} svg.chart"))
        .await;
    assert_eq!(detail_charts.len(), sequences.len());
    let detail = browser
        .css(&format!("#detail-{fanleaf_id}"))
        .await
        .text()
        .await
        .unwrap();
    for sequence in &sequences {
        assert!(detail.contains(sequence["accession"].as_str().unwrap()));
        assert!(detail.contains(sequence["definition"].as_str().unwrap()));
    }
    browser
        .script(&format!(
            "document.getElementById('detail-{fanleaf_id}').scrollIntoView();"
        ))
        .await;
    browser.shot("pathoscope-otu").await;

    // Filter and sort.
    browser
        .css("#otu-filter")
        .await
        .send_keys("fanleaf")
        .await
        .unwrap();
    assert_eq!(visible_rows(&browser, "otu-table", "otu").await, 1);
    browser.css("#otu-filter").await.clear().await.unwrap();
    browser.script("document.getElementById('otu-filter').dispatchEvent(new Event('input', {bubbles: true}));").await;
    assert_eq!(
        visible_rows(&browser, "otu-table", "otu").await,
        expected.otus.len()
    );
    browser
        .css("#otu-table thead th:nth-child(2) button")
        .await
        .click()
        .await
        .unwrap();
    let sorted: Vec<String> = serde_json::from_value(
        browser
            .script("return Array.from(document.querySelectorAll('#otu-table tr.otu th a')).map(a => a.textContent);")
            .await,
    )
    .unwrap();
    let mut alphabetical = sorted.clone();
    alphabetical.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(
        sorted, alphabetical,
        "sorted by name (descending on the first press)"
    );

    // The CSV export button fetches the export as the signed-in user.
    let href = browser
        .css("a[href$='.csv']")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.text()).then(done, e => done('error ' + e));",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap();
    assert!(csv.starts_with("\"OTU\",\"Isolate\",\"Sequence\""), "{csv}");
    assert_eq!(csv.lines().count(), 1 + expected.csv_rows.len());

    // The NuVs analysis: expand contig 1, BLAST it at the (fake) NCBI, watch the hits arrive.
    browser.goto(&format!("{base}/analyses/{nuvs}")).await;
    browser.css("#contig-table").await;
    assert_eq!(visible_rows(&browser, "contig-table", "contig").await, 5);
    browser
        .css("button[aria-controls='contig-1']")
        .await
        .click()
        .await
        .unwrap();
    let orfs = browser.all("#contig-1 .orf-map polygon").await;
    assert_eq!(orfs.len(), 8, "contig 1 has 8 ORFs");
    browser.assert_labelled().await;
    browser
        .css("#blast-1 button.blast-start")
        .await
        .click()
        .await
        .unwrap();
    browser.css("#blast-1[data-state='running']").await;
    browser.shot("nuvs-blast-running").await;
    let hits = browser
        .client
        .wait()
        .at_most(Duration::from_secs(40))
        .for_element(Locator::Css("#blast-1[data-state='ready'] table.hits"))
        .await
        .expect("the BLAST hits appear without a reload");
    let first = hits
        .find(Locator::Css("tbody tr td a"))
        .await
        .expect("a hit row");
    assert_eq!(first.text().await.unwrap(), "JN427014");
    assert_eq!(
        first.attr("href").await.unwrap().as_deref(),
        Some("https://www.ncbi.nlm.nih.gov/nuccore/JN427014")
    );
    let table = hits.text().await.unwrap();
    assert!(table.contains("Actinidia virus A"), "{table}");
    browser
        .script("document.getElementById('blast-1').scrollIntoView();")
        .await;
    browser.shot("nuvs-blast").await;
    // The record behind the table, through the API.
    let record = app
        .get(&format!("/api/analyses/{nuvs}/1/blast"), &app.admin)
        .await
        .json();
    assert_eq!(record["ready"], true);

    // Sign out.
    browser
        .css("header form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser.css("#sign-in-title").await;
    assert!(browser
        .css("p.notice")
        .await
        .text()
        .await
        .unwrap()
        .contains("signed out"));

    // A user without rights gets the 403 page, saying what is missing.
    sign_in(&browser, &base, "outsider").await;
    browser.goto(&format!("{base}/analyses/{hidden}")).await;
    let title = browser.css("#error-title").await.text().await.unwrap();
    assert_eq!(title, "Not allowed");
    let page = browser.css("main").await.text().await.unwrap();
    assert!(page.contains("Insufficient rights"), "{page}");
    assert!(!page.contains("Private vine"), "{page}");
    browser.shot("forbidden").await;

    // An anonymous visitor gets the sign-in page.
    browser.client.delete_all_cookies().await.unwrap();
    browser.goto(&format!("{base}/analyses/{pathoscope}")).await;
    browser.css("#sign-in-title").await;
    assert_eq!(browser.path().await, "/sign-in");
    browser.quit().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_a_real_browser_sqlite() {
    pages_in_a_browser(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_a_real_browser_postgres() {
    pages_in_a_browser(Backend::Postgres).await;
}
