//! U4/U5 and the BLAST worker (spec/blast.md): a fake NCBI server replaying the real captured
//! pages drives the `ncbi` backend; the real `blastn` drives the `local` backend. The worker is
//! driven by calling its single step with a chosen time, never by sleeping.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::support::{
    assert_keys, fixture, fixture_bytes, start_fake, Creds, Put, Setup, Status, TestApp, RID,
};
use vira::config::ServeConfig;
use vira::model::time::now_micros;
use vira::ops::blast::poll_due_once;

const SECOND: i64 = 1_000_000;

/// Restart on the same backend with BLAST settings; the worker runs only when a test steps it.
async fn respawn(app: TestApp, configure: impl FnOnce(&mut ServeConfig)) -> Option<TestApp> {
    let backend = app.backend;
    app.shutdown().await;
    TestApp::spawn_with(backend, |c| {
        c.no_blast_worker = true;
        configure(c);
    })
    .await
}

/// A finished NuVs analysis with the real contigs of `nuvs/results.json` (or the given hits).
async fn nuvs_analysis(app: &TestApp, hits: Option<Value>) -> (String, Creds) {
    let annotations: Value =
        serde_json::from_slice(&fixture_bytes("hmm/nuvs_results_hmm_ids.derived.json")).unwrap();
    let list = serde_json::to_vec(&annotations["annotations"]).unwrap();
    app.multipart(
        Method::POST,
        "/api/hmms/annotations",
        &app.admin,
        "a.json",
        list,
    )
    .await;
    let ref_id = app.small_reference().await;
    let sample = app.sample(&app.admin, json!({"name": "s"})).await;
    let analysis = app.analysis(&app.admin, &sample, &ref_id, "nuvs").await;
    let id = analysis["id"].as_str().unwrap().to_owned();
    let job = app.acquire(analysis["job"]["id"].as_str().unwrap()).await;
    let hits = hits
        .unwrap_or_else(|| serde_json::from_slice(&fixture_bytes("nuvs/results.json")).unwrap());
    let reply = app
        .json(
            Method::PATCH,
            &format!("/jobs-api/analyses/{id}"),
            Some(&job),
            &json!({"results": {"hits": hits}}),
        )
        .await;
    reply.assert_status(200);
    (id, job)
}

fn contig_sequence(index: i64) -> String {
    let hits: Value = serde_json::from_slice(&fixture_bytes("nuvs/results.json")).unwrap();
    hits.as_array()
        .unwrap()
        .iter()
        .find(|c| c["index"] == index)
        .unwrap()["sequence"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn record(app: &TestApp, id: &str, index: i64) -> Value {
    let reply = app
        .get(&format!("/api/analyses/{id}/{index}/blast"), &app.admin)
        .await;
    reply.assert_status(200);
    reply.json()
}

/// U4 as the administrator: BLAST contig `index` of analysis `id`.
async fn put_blast(app: &TestApp, id: &str, index: i64) -> crate::support::Reply {
    let path = format!("/api/analyses/{id}/{index}/blast");
    app.send(app.request(Method::PUT, &path, Some(&app.admin)))
        .await
}

/// Step the worker at `t` seconds after `start`.
async fn step(app: &TestApp, start: i64, t: i64) -> usize {
    poll_due_once(&app.app, start + t * SECOND)
        .await
        .expect("worker step")
}

both!(ncbi_happy_path, |app: TestApp| async move {
    let (url, fake) = start_fake(Put::Normal, Status::WaitThenReady(2), false).await;
    let Some(app) = respawn(app, |c| c.ncbi_blast_url = url.clone()).await else {
        return;
    };
    let (id, _) = nuvs_analysis(&app, None).await;
    let before = app
        .get(&format!("/api/analyses/{id}"), &app.admin)
        .await
        .json()["updated_at"]
        .clone();
    let start = now_micros();
    let reply = app
        .send(
            app.request(
                Method::PUT,
                &format!("/api/analyses/{id}/1/blast"),
                Some(&app.admin),
            )
            .json(&json!({})),
        )
        .await;
    reply.assert_status(200);
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/api/analyses/{id}/1/blast")
    );
    let body = reply.json();
    assert_keys(
        &body,
        &[
            "id",
            "analysis_id",
            "sequence_index",
            "created_at",
            "updated_at",
            "last_checked_at",
            "interval",
            "rid",
            "ready",
            "error",
            "result",
        ],
    );
    assert_eq!(body["rid"], RID);
    assert_eq!(
        (
            body["ready"].clone(),
            body["error"].clone(),
            body["result"].clone(),
            body["interval"].clone()
        ),
        (json!(false), Value::Null, Value::Null, json!(3))
    );
    assert_eq!(body["sequence_index"], 1);
    assert_eq!(body["analysis_id"], id);
    let put = fake.log()[0].clone();
    assert_eq!((put.0.as_str(), put.3.as_str()), ("Put", "POST"));
    assert_eq!(put.4, format!("QUERY={}", contig_sequence(1)));
    let reply = app.get(&format!("/api/analyses/{id}"), &app.admin).await;
    // One "blast" key per contig: the record replaces the stored `null`, it is not added beside it.
    let contigs = reply.json()["results"]["hits"].as_array().unwrap().len();
    let text = String::from_utf8(reply.bytes.clone()).unwrap();
    assert_eq!(text.matches("\"blast\":").count(), contigs);
    let analysis = reply.json();
    assert_eq!(analysis["results"]["hits"][1]["blast"]["id"], body["id"]);
    assert!(analysis["updated_at"].as_str() > before.as_str());
    // The export made now (and kept by the export cache) has no top hit yet.
    let csv = app
        .get(&format!("/api/analyses/document/{id}.csv"), &app.admin)
        .await;
    let text = String::from_utf8(csv.bytes).unwrap();
    assert!(text.contains("1,14199,8.8e-22,\"Ascoviridae; Iridoviridae; Marseillevirus family; Mimiviridae\",8,\"\",\"\"\r\n"), "{text}");
    // Not due before 3 s.
    assert_eq!(step(&app, start, 1).await, 0);
    let mut t = 0;
    for expected_interval in [8, 13] {
        t += 20;
        assert_eq!(step(&app, start, t).await, 1);
        let r = record(&app, &id, 1).await;
        assert_eq!(
            (
                r["ready"].clone(),
                r["interval"].clone(),
                r["error"].clone()
            ),
            (json!(false), json!(expected_interval), Value::Null)
        );
    }
    t += 20;
    step(&app, start, t).await;
    let r = record(&app, &id, 1).await;
    assert_eq!(r["ready"], true);
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["interval"], 13);
    let expected: Value = serde_json::from_slice(&fixture_bytes("blast/blast.json")).unwrap();
    assert_eq!(r["result"], expected);
    // The analysis shows the record under contig 1 and null elsewhere.
    let analysis = app
        .get(&format!("/api/analyses/{id}"), &app.admin)
        .await
        .json();
    for contig in analysis["results"]["hits"].as_array().unwrap() {
        if contig["index"] == 1 {
            assert_eq!(contig["blast"], r);
        } else {
            assert_eq!(contig["blast"], Value::Null);
        }
    }
    // The NuVs export names the top hit (the record's change made the kept export stale).
    let csv = app
        .get(&format!("/api/analyses/document/{id}.csv"), &app.admin)
        .await;
    let text = String::from_utf8(csv.bytes).unwrap();
    assert!(text.contains("1,14199,8.8e-22,\"Ascoviridae; Iridoviridae; Marseillevirus family; Mimiviridae\",8,\"Actinidia virus A\",\"JN427014\"\r\n"), "{text}");
    let searches: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|l| l.1 == "SearchInfo")
        .collect();
    assert_eq!(searches.len(), 3);
    assert!(searches.iter().all(|l| l.2 == RID));
});

both!(ncbi_put_query_parameters, |app: TestApp| async move {
    // A fake that records the raw query string of the Put.
    let seen = Arc::new(Mutex::new(String::new()));
    let router = axum::Router::new().route(
        "/Blast.cgi",
        axum::routing::any({
            let seen = seen.clone();
            move |uri: axum::http::Uri| {
                let seen = seen.clone();
                async move {
                    *seen.lock().unwrap() = uri.query().unwrap_or("").to_owned();
                    String::from_utf8(fixture_bytes("blast/initialize_blast.html")).unwrap()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let raw_url = format!("http://{}/Blast.cgi", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let Some(app) = respawn(app, |c| {
        c.ncbi_blast_url = raw_url.clone();
        c.ncbi_email = Some("lab@example.org".into());
    })
    .await
    else {
        return;
    };
    let (id, _) = nuvs_analysis(&app, None).await;
    put_blast(&app, &id, 0).await.assert_status(200);
    let query = seen.lock().unwrap().clone();
    for pair in [
        "CMD=Put",
        "DATABASE=nr",
        "PROGRAM=blastn",
        "MEGABLAST=on",
        "HITLIST_SIZE=5",
        "FILTER=mL",
        "FORMAT_TYPE=JSON2",
        "TOOL=vira",
        "EMAIL=lab%40example.org",
    ] {
        assert!(
            query.split('&').any(|p| p == pair),
            "{pair} missing in {query}"
        );
    }
});

/// One failure variant of spec/blast.md §6.1: the PUT, then worker steps until the record ends.
async fn failure_case(
    app: TestApp,
    put: Put,
    status: Status,
    alignment_html: bool,
    expected_put_rid: Value,
    error: &str,
) {
    let (url, _fake) = start_fake(put, status, alignment_html).await;
    let Some(app) = respawn(app, |c| c.ncbi_blast_url = url.clone()).await else {
        return;
    };
    let (id, _) = nuvs_analysis(&app, None).await;
    let start = now_micros();
    let reply = put_blast(&app, &id, 4).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["rid"], expected_put_rid);
    assert_eq!(reply.json()["error"], Value::Null);
    for t in 1..=5 {
        step(&app, start, t * 70).await;
    }
    let r = record(&app, &id, 4).await;
    assert_eq!(r["error"], error);
    assert_eq!(r["ready"], false);
    assert_eq!(r["result"], Value::Null);
}

both!(ncbi_failed, |app: TestApp| async move {
    failure_case(
        app,
        Put::Normal,
        Status::Word("FAILED"),
        false,
        json!(RID),
        "NCBI reported the search as failed",
    )
    .await;
});

both!(ncbi_unknown, |app: TestApp| async move {
    failure_case(
        app,
        Put::Normal,
        Status::Word("UNKNOWN"),
        false,
        json!(RID),
        "NCBI does not know this search (expired or invalid request ID)",
    )
    .await;
});

both!(ncbi_no_rid, |app: TestApp| async move {
    failure_case(
        app,
        Put::NoRid,
        Status::WaitThenReady(0),
        false,
        Value::Null,
        "NCBI did not return a request ID",
    )
    .await;
});

both!(ncbi_rejected, |app: TestApp| async move {
    failure_case(
        app,
        Put::Status(400),
        Status::WaitThenReady(0),
        false,
        Value::Null,
        "NCBI rejected the BLAST request (HTTP 400)",
    )
    .await;
});

both!(ncbi_zip_without_member, |app: TestApp| async move {
    failure_case(
        app,
        Put::Unmodified,
        Status::WaitThenReady(0),
        false,
        json!("YA40WNN5014"),
        "Unable to interpret NCBI result",
    )
    .await;
});

both!(ncbi_alignment_html, |app: TestApp| async move {
    failure_case(
        app,
        Put::Normal,
        Status::WaitThenReady(0),
        true,
        json!(RID),
        "Unable to interpret NCBI result",
    )
    .await;
});

both!(ncbi_transient_failures_recover, |app: TestApp| async move {
    let (url, _fake) = start_fake(Put::FailOnce, Status::UnavailableThenReady(3), false).await;
    let Some(app) = respawn(app, |c| c.ncbi_blast_url = url.clone()).await else {
        return;
    };
    let (id, _) = nuvs_analysis(&app, None).await;
    let start = now_micros();
    let reply = put_blast(&app, &id, 0).await;
    assert_eq!(reply.json()["rid"], Value::Null);
    step(&app, start, 100).await;
    assert_eq!(record(&app, &id, 0).await["rid"], RID);
    for t in 2..=6 {
        step(&app, start, t * 100).await;
    }
    let r = record(&app, &id, 0).await;
    assert_eq!(
        (r["ready"].clone(), r["error"].clone()),
        (json!(true), Value::Null)
    );
});

both!(ncbi_timeout, |app: TestApp| async move {
    let (url, _fake) = start_fake(Put::Normal, Status::WaitThenReady(usize::MAX), false).await;
    let Some(app) = respawn(app, |c| {
        c.ncbi_blast_url = url.clone();
        c.blast_timeout = 5;
    })
    .await
    else {
        return;
    };
    let (id, _) = nuvs_analysis(&app, None).await;
    let start = now_micros();
    put_blast(&app, &id, 0).await.assert_status(200);
    step(&app, start, 4).await;
    assert_eq!(record(&app, &id, 0).await["error"], Value::Null);
    step(&app, start, 6).await;
    let r = record(&app, &id, 0).await;
    assert_eq!(r["error"], "BLAST search timed out after 5 seconds");
    assert_eq!(r["ready"], false);
});

both!(ncbi_replace_delete_and_restart, |app: TestApp| async move {
    let (url, fake) = start_fake(Put::Normal, Status::WaitThenReady(usize::MAX), false).await;
    let Some(app) = respawn(app, |c| c.ncbi_blast_url = url.clone()).await else {
        return;
    };
    let (id, _) = nuvs_analysis(&app, None).await;
    let start = now_micros();
    let first = put_blast(&app, &id, 1).await.json();
    step(&app, start, 10).await;
    // A second PUT replaces the record: new id, back to interval 3.
    let second = put_blast(&app, &id, 1).await.json();
    assert_ne!(first["id"], second["id"]);
    assert_eq!(second["interval"], 3);
    assert_eq!(record(&app, &id, 1).await["id"], second["id"]);
    // A restart: a new instance on the same storage resumes the pending record.
    let restarted = vira::app::App::build(app.app.config.clone()).await.unwrap();
    let worked = poll_due_once(&restarted, start + 30 * SECOND)
        .await
        .unwrap();
    assert_eq!(worked, 1);
    assert_eq!(record(&app, &id, 1).await["interval"], 8);
    // U5 errors.
    app.get(&format!("/api/analyses/{id}/3/blast"), &app.admin)
        .await
        .assert_error(404, "not_found", "BLAST not found");
    app.get("/api/analyses/nope1234/3/blast", &app.admin)
        .await
        .assert_error(404, "not_found", "Analysis not found");
    // Deleting the analysis stops the polling.
    app.delete(&format!("/api/analyses/{id}"), &app.admin)
        .await
        .assert_status(204);
    let before = fake.log().len();
    assert_eq!(step(&app, start, 500).await, 0);
    assert_eq!(
        poll_due_once(&restarted, start + 600 * SECOND)
            .await
            .unwrap(),
        0
    );
    assert_eq!(fake.log().len(), before);
});

both!(put_checks_in_order, |app: TestApp| async move {
    let (id, _) = nuvs_analysis(&app, None).await;
    let put = |path: String, creds: Creds| {
        let request = app.request(Method::PUT, &path, Some(&creds));
        app.send(request)
    };
    put(
        "/api/analyses/nope1234/1/blast".to_owned(),
        app.admin.clone(),
    )
    .await
    .assert_error(404, "not_found", "Analysis not found");
    let (bob, _) = app.user("bob", &[]).await;
    let private = app
        .sample(
            &app.admin,
            json!({"name": "p", "all_read": true, "all_write": false}),
        )
        .await;
    let ref_id = app.small_reference().await;
    let pending = app.analysis(&app.admin, &private, &ref_id, "nuvs").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    put(format!("/api/analyses/{pending}/1/blast"), bob.clone())
        .await
        .assert_error(403, "insufficient_rights", "Insufficient rights");
    put(
        format!("/api/analyses/{pending}/1/blast"),
        app.admin.clone(),
    )
    .await
    .assert_error(409, "conflict", "Analysis is still running");
    let patho = app
        .analysis(&app.admin, &private, &ref_id, "pathoscope_bowtie")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    put(format!("/api/analyses/{patho}/1/blast"), app.admin.clone())
        .await
        .assert_error(409, "conflict", "Not a NuVs analysis");
    for index in ["9", "x", "1.0"] {
        put(
            format!("/api/analyses/{id}/{index}/blast"),
            app.admin.clone(),
        )
        .await
        .assert_error(404, "not_found", "Sequence not found");
    }
    put(
        format!("/api/analyses/{id}/1/blast"),
        Creds {
            login: "admin".into(),
            key: "bad".into(),
        },
    )
    .await
    .assert_status(401);
});

fn fasta_sequence(path: &str) -> String {
    let text = String::from_utf8(fixture_bytes(path)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('>'))
        .collect::<String>()
}

/// Build the tiny BLAST+ database of the fixtures in `dir`; `None` (skipped, with the reason
/// printed) when BLAST+ is not installed outside CI.
fn make_tinydb(dir: &std::path::Path) -> Option<String> {
    let out = dir.join("tinydb");
    let status = std::process::Command::new("makeblastdb")
        .args([
            "-in",
            fixture("blast/local_blastplus/tinydb.fa").to_str()?,
            "-dbtype",
            "nucl",
            "-parse_seqids",
        ])
        .args([
            "-taxid_map",
            fixture("blast/local_blastplus/taxmap.txt").to_str()?,
            "-out",
            out.to_str()?,
        ])
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Some(out.to_str()?.to_owned()),
        // CI installs BLAST+ (.ci/run) and must run these tests; elsewhere say why they are skipped.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => {
            eprintln!(
                "SKIPPED local BLAST+ test: makeblastdb not found (apt-get install ncbi-blast+)"
            );
            None
        }
        other => panic!("makeblastdb is required (apt-get install ncbi-blast+): {other:?}"),
    }
}

fn without_version(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("version");
    v
}

both!(local_blastplus, |app: TestApp| async move {
    let dir = tempfile::TempDir::new().unwrap();
    let Some(db) = make_tinydb(dir.path()) else {
        return;
    };
    let Some(app) = respawn(app, |c| {
        c.blast_backend = vira::config::BlastBackendKind::Local;
        c.blast_db = Some(db.clone());
    })
    .await
    else {
        return;
    };
    let hits = json!([
        {"index": 0, "sequence": fasta_sequence("blast/local_blastplus/query_contig_5.fa"), "orfs": []},
        {"index": 1, "sequence": fasta_sequence("blast/local_blastplus/query_contig_lc.fa"), "orfs": []},
        {"index": 2, "sequence": fasta_sequence("blast/local_blastplus/query_contig_random.fa"), "orfs": []},
    ]);
    let (id, _) = nuvs_analysis(&app, Some(hits)).await;
    for (index, expected) in [(0, "hits"), (1, "masking"), (2, "nohits")] {
        let reply = put_blast(&app, &id, index).await;
        reply.assert_status(200);
        let body = reply.json();
        assert_eq!(body["rid"], Value::Null);
        assert_eq!(body["error"], Value::Null, "{body}");
        assert_eq!(body["ready"], true, "{body}");
        let expected: Value = serde_json::from_slice(&fixture_bytes(&format!(
            "blast/local_blastplus/expected_formatted_{expected}.json"
        )))
        .unwrap();
        assert_eq!(
            without_version(body["result"].clone()),
            without_version(expected)
        );
        assert!(body["result"]["version"]
            .as_str()
            .unwrap()
            .starts_with("BLASTN "));
    }
});

both!(local_blastplus_errors, |app: TestApp| async move {
    let backend = app.backend;
    let Some(app) = respawn(app, |c| {
        c.blast_backend = vira::config::BlastBackendKind::Local;
        c.blast_db = Some("/nonexistent/db".into());
        c.blastn = "/nonexistent/blastn".into();
    })
    .await
    else {
        return;
    };
    let (id, _) = nuvs_analysis(&app, None).await;
    let body = put_blast(&app, &id, 0).await.json();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("BLAST+ could not be started: "),
        "{body}"
    );
    app.shutdown().await;
    let blastn_missing = std::process::Command::new("blastn")
        .arg("-version")
        .output()
        .is_err();
    if blastn_missing && std::env::var_os("CI").is_none() {
        eprintln!(
            "SKIPPED BLAST+ exit-status test: blastn not found (apt-get install ncbi-blast+)"
        );
        return;
    }
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.no_blast_worker = true;
        c.blast_backend = vira::config::BlastBackendKind::Local;
        c.blast_db = Some("/nonexistent/db".into());
    })
    .await
    else {
        return;
    };
    let (id, _) = nuvs_analysis(&app, None).await;
    let body = put_blast(&app, &id, 0).await.json();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("BLAST+ exited with status 2: "),
        "{body}"
    );
    assert_eq!(body["ready"], false);
});
