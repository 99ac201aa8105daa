//! Scale-out on PostgreSQL (contract §14.2): several `vira serve` processes on one database and one
//! shared data path, and recovery from losing the database connection (503, then back by itself).
//!
//! These tests are PostgreSQL-only; like the PostgreSQL half of `both!`, they are skipped with a
//! printed reason only when no server answers at `VIRA_TEST_DATABASE_URL`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::{
    create_admin_process, create_pg_database, file_names, files_under, fixture_bytes, pg_admin_url,
    pg_host_port, pg_url_via, Backend, Creds, Instance, PgDatabase, Reply, Setup, TcpProxy,
    TestApp, PATHOSCOPE_EMPTY,
};

/// Longest a request may take while the database is unreachable (`--db-acquire-timeout` is 1 s).
const OUTAGE_REPLY_LIMIT: Duration = Duration::from_secs(5);
/// Bounded polling for recovery: attempts and the pause between them (≈ 15 s at most).
const RECOVERY_POLLS: u32 = 300;
const RECOVERY_PAUSE: Duration = Duration::from_millis(50);

fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

/// Statuses of two racing replies, sorted.
fn sorted(a: &Reply, b: &Reply) -> [u16; 2] {
    let mut s = [a.status.as_u16(), b.status.as_u16()];
    s.sort_unstable();
    s
}

/// Create an analysis through `via`, acquire its job through `acquire_via`; `(analysis id, job creds)`.
async fn analysis_with_job(
    via: &Instance,
    acquire_via: &Instance,
    admin: &Creds,
    sample: &str,
    ref_id: &str,
) -> (String, Creds) {
    let reply = via
        .json(
            Method::POST,
            &format!("/api/samples/{sample}/analyses"),
            Some(admin),
            &json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie"}),
        )
        .await;
    reply.assert_status(201);
    let analysis = reply.json();
    let job_id = analysis["job"]["id"].as_str().unwrap().to_owned();
    let job = acquire_via.acquire(&job_id).await;
    (id(&analysis), job)
}

async fn finalize(via: &Instance, job: &Creds, analysis: &str) -> Reply {
    via.send(
        via.request(
            Method::PATCH,
            &format!("/jobs-api/analyses/{analysis}"),
            Some(job),
        )
        .header("content-type", "application/json")
        .body(PATHOSCOPE_EMPTY),
    )
    .await
}

async fn upload(via: &Instance, job: &Creds, analysis: &str, name: &str, bytes: &[u8]) -> Reply {
    via.multipart(
        Method::POST,
        &format!("/jobs-api/analyses/{analysis}/files?name={name}&format=tsv"),
        job,
        name,
        bytes.to_vec(),
    )
    .await
}

/// Two `vira serve` processes on one fresh PostgreSQL database and one data path, with an
/// administrator's key made by the CLI.
struct Pair {
    _pg: PgDatabase,
    data: TempDir,
    a: Instance,
    b: Instance,
    admin: Creds,
}

/// A [`Pair`], or `None` (after a printed reason) when no PostgreSQL answers.
async fn two_instances() -> Option<Pair> {
    let (database_url, pg) = create_pg_database().await?;
    let data = TempDir::new().expect("tempdir");
    // Both start (and migrate, under the advisory lock) at the same time on the fresh database.
    let (a, b) = tokio::join!(
        Instance::start(data.path(), &database_url, &[]),
        Instance::start(data.path(), &database_url, &[]),
    );
    let admin = create_admin_process(data.path(), &database_url).await;
    Some(Pair {
        _pg: pg,
        data,
        a,
        b,
        admin,
    })
}

/// Two `vira serve` processes, one PostgreSQL database, one data path: what is made through one is
/// served by the other, and racing finalizes / uploads across the two have exactly one winner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_database() {
    let started = Instant::now();
    // `_pg` is bound (not `..`): the database lives as long as the test.
    let Some(Pair {
        _pg,
        data,
        mut a,
        mut b,
        admin,
    }) = two_instances().await
    else {
        return;
    };

    // The key printed by the CLI works on both.
    a.get("/api/analyses", &admin).await.assert_status(200);
    b.get("/api/analyses", &admin).await.assert_status(200);

    // A reference and its index through A.
    let reply = a
        .multipart(
            Method::POST,
            "/api/refs/import",
            &admin,
            "ref.json.gz",
            fixture_bytes("reference/reference.json.gz"),
        )
        .await;
    reply.assert_status(201);
    let ref_id = id(&reply.json());
    a.json(
        Method::POST,
        &format!("/api/refs/{ref_id}/indexes"),
        Some(&admin),
        &Value::Null,
    )
    .await
    .assert_status(201);

    // A sample through B, read through A.
    let reply = b
        .json(
            Method::POST,
            "/api/samples",
            Some(&admin),
            &json!({"name": "Grapevine 1"}),
        )
        .await;
    reply.assert_status(201);
    let sample = id(&reply.json());
    let reply = a.get(&format!("/api/samples/{sample}"), &admin).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["name"], "Grapevine 1");

    // An analysis through A, its job acquired through B, read through B.
    let (analysis, job) = analysis_with_job(&a, &b, &admin, &sample, &ref_id).await;
    let reply = b.get(&format!("/api/analyses/{analysis}"), &admin).await;
    reply.assert_status(200);
    assert_eq!(reply.json()["ready"], false);

    // A file uploaded through A is listed and downloaded through B (shared data path).
    let content = b"otu\tdepth\nA\t12\n".to_vec();
    let reply = upload(&a, &job, &analysis, "depths.tsv", &content).await;
    reply.assert_status(201);
    let file_id = reply.json()["id"].as_i64().expect("file id");
    let reply = b.get(&format!("/api/analyses/{analysis}"), &admin).await;
    assert_eq!(file_names(&reply.json()), ["depths.tsv"]);
    let reply = b
        .get(&format!("/api/analyses/{analysis}/files/{file_id}"), &admin)
        .await;
    reply.assert_status(200);
    assert_eq!(reply.bytes, content);

    // Two uploads of one name at the same time, one through each instance: one 201, one 409.
    for round in 0..3 {
        let name = format!("race-{round}.tsv");
        let (from_a, from_b) = tokio::join!(
            upload(&a, &job, &analysis, &name, b"from A\n"),
            upload(&b, &job, &analysis, &name, b"from B\n"),
        );
        assert_eq!(
            sorted(&from_a, &from_b),
            [201, 409],
            "round {round}: A {} {}, B {} {}",
            from_a.status,
            String::from_utf8_lossy(&from_a.bytes),
            from_b.status,
            String::from_utf8_lossy(&from_b.bytes)
        );
        let loser = if from_a.status == 409 {
            &from_a
        } else {
            &from_b
        };
        loser.assert_error(409, "conflict", "File is already associated with analysis");
    }
    let reply = a.get(&format!("/api/analyses/{analysis}"), &admin).await;
    assert_eq!(
        file_names(&reply.json()),
        ["depths.tsv", "race-0.tsv", "race-1.tsv", "race-2.tsv"]
    );
    // The losers left nothing behind: one object per record, no temporary objects.
    assert_eq!(
        files_under(&data.path().join("analyses").join(&analysis)).len(),
        4
    );
    assert_eq!(files_under(&data.path().join("tmp")).len(), 0);

    // Finalize through A, read the results through B.
    let reply = finalize(&a, &job, &analysis).await;
    reply.assert_status(200);
    let finalized = reply.json();
    assert_eq!(finalized["ready"], true);
    let reply = b.get(&format!("/api/analyses/{analysis}"), &admin).await;
    reply.assert_status(200);
    let read = reply.json();
    assert_eq!(read["ready"], true);
    assert_eq!(read["results"], finalized["results"]);
    // Finalizing again through B: 409.
    finalize(&b, &job, &analysis).await.assert_error(
        409,
        "conflict",
        "There is already a result for this analysis.",
    );

    // Two finalizes of one analysis at the same time, one through each instance: one 200, one 409.
    for round in 0..3 {
        let (creator, acquirer) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let (analysis, job) = analysis_with_job(creator, acquirer, &admin, &sample, &ref_id).await;
        let (from_a, from_b) =
            tokio::join!(finalize(&a, &job, &analysis), finalize(&b, &job, &analysis));
        assert_eq!(
            sorted(&from_a, &from_b),
            [200, 409],
            "round {round}: A {} {}, B {} {}",
            from_a.status,
            String::from_utf8_lossy(&from_a.bytes),
            from_b.status,
            String::from_utf8_lossy(&from_b.bytes)
        );
        let (winner, loser) = if from_a.status == 200 {
            (&from_a, &from_b)
        } else {
            (&from_b, &from_a)
        };
        loser.assert_error(
            409,
            "conflict",
            "There is already a result for this analysis.",
        );
        let expected = winner.json();
        for instance in [&a, &b] {
            let reply = instance
                .get(&format!("/api/analyses/{analysis}"), &admin)
                .await;
            reply.assert_status(200);
            let body = reply.json();
            assert_eq!(body["ready"], true);
            assert_eq!(body["results"], expected["results"]);
        }
    }

    // Both lists agree.
    let list_a = a.get("/api/analyses?per_page=100", &admin).await.json();
    let list_b = b.get("/api/analyses?per_page=100", &admin).await.json();
    assert_eq!(list_a["found_count"], 4, "{list_a}");
    assert_eq!(list_a["documents"], list_b["documents"]);

    assert!(a.is_running() && b.is_running(), "an instance exited");
    eprintln!("two_processes_share_one_database: {:?}", started.elapsed());
}

/// An administrators-only request that changes nothing: 200 for an administrator, else 403.
async fn probe(via: &Instance, user: &Creds, user_id: &str) -> Reply {
    via.patch(&format!("/api/users/{user_id}"), user, &json!({}))
        .await
}

/// An API key checked by an instance is trusted for `--auth-cache-ms` (1 s): a change of its user
/// applies at once on the instance that made it and within that time on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_change_reaches_every_instance_within_the_auth_cache_time() {
    let Some(Pair {
        _pg,
        data: _data,
        mut a,
        mut b,
        admin,
    }) = two_instances().await
    else {
        return;
    };
    let (lab, user_id) = a.as_admin(&admin).user("lab", &[]).await;
    // Both instances have now checked (and cached) the key of a non-administrator.
    probe(&a, &lab, &user_id).await.assert_status(403);
    probe(&b, &lab, &user_id).await.assert_status(403);

    a.patch(
        &format!("/api/users/{user_id}"),
        &admin,
        &json!({"administrator": true}),
    )
    .await
    .assert_status(200);
    let changed = Instant::now();
    probe(&a, &lab, &user_id).await.assert_status(200);
    loop {
        let status = probe(&b, &lab, &user_id).await.status.as_u16();
        if status == 200 {
            break;
        }
        assert_eq!(status, 403);
        assert!(
            changed.elapsed() < Duration::from_millis(1500),
            "instance B still used the old rights after {:?}",
            changed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And back: the demotion too.
    a.patch(
        &format!("/api/users/{user_id}"),
        &admin,
        &json!({"administrator": false}),
    )
    .await
    .assert_status(200);
    probe(&a, &lab, &user_id).await.assert_status(403);
    assert!(a.is_running() && b.is_running(), "an instance exited");
}

/// Send a request that needs the database while it is unreachable: 503 `service_unavailable`,
/// within [`OUTAGE_REPLY_LIMIT`].
async fn expect_unavailable(app: &TestApp, what: &str, request: reqwest::RequestBuilder) {
    let started = Instant::now();
    let reply = tokio::time::timeout(OUTAGE_REPLY_LIMIT, app.send(request))
        .await
        .unwrap_or_else(|_| panic!("{what}: no reply within {OUTAGE_REPLY_LIMIT:?}"));
    assert_eq!(
        reply.status.as_u16(),
        503,
        "{what}: {}",
        String::from_utf8_lossy(&reply.bytes)
    );
    reply.assert_error(503, "service_unavailable", "Service unavailable");
    eprintln!("{what}: 503 after {:?}", started.elapsed());
}

/// Poll `GET /api/analyses` until it answers 200; every reply on the way is a 200 or a 503.
async fn wait_for_recovery(app: &TestApp) -> Duration {
    let started = Instant::now();
    for _ in 0..RECOVERY_POLLS {
        let reply = tokio::time::timeout(
            OUTAGE_REPLY_LIMIT,
            app.send(app.request(Method::GET, "/api/analyses", Some(&app.admin))),
        )
        .await
        .expect("a reply while recovering");
        match reply.status.as_u16() {
            200 => return started.elapsed(),
            503 => reply.assert_error(503, "service_unavailable", "Service unavailable"),
            other => panic!(
                "while recovering: {other} {}",
                String::from_utf8_lossy(&reply.bytes)
            ),
        }
        tokio::time::sleep(RECOVERY_PAUSE).await;
    }
    panic!("vira did not recover");
}

/// The database goes away (every connection cut, new ones refused) while vira runs: requests that
/// need it get 503 quickly, never 500 or a hang (a read kept in memory may still be answered, but
/// not after the read cache's lease); when it is back, vira answers again by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cut_gives_503_then_recovers() {
    let proxy = TcpProxy::start(pg_host_port(&pg_admin_url())).await;
    let proxy_addr = proxy.addr();
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |config| {
        config.storage.database_url = config
            .storage
            .database_url
            .as_deref()
            .map(|url| pg_url_via(url, proxy_addr));
        config.db_acquire_timeout = 1;
    })
    .await
    else {
        return;
    };
    let sample = app.sample(&app.admin, json!({"name": "before"})).await;
    app.get(&format!("/api/samples/{sample}"), &app.admin)
        .await
        .assert_status(200);

    for outage in 0..2 {
        // Not read before the cut, so not in the read cache.
        let unread = app.sample(&app.admin, json!({"name": "unread"})).await;
        proxy.cut().await;
        // Requests at once while pooled connections are dead and new ones refused, then reads,
        // writes and the jobs API together.
        let concurrent: Vec<_> = (0..4)
            .map(|_| {
                let request = app.request(Method::GET, "/api/analyses", Some(&app.admin));
                tokio::time::timeout(OUTAGE_REPLY_LIMIT, app.send(request))
            })
            .collect();
        for reply in futures_util::future::join_all(concurrent).await {
            let reply = reply.expect("a reply within the limit");
            reply.assert_error(503, "service_unavailable", "Service unavailable");
        }
        tokio::join!(
            expect_unavailable(
                &app,
                "GET sample",
                app.request(
                    Method::GET,
                    &format!("/api/samples/{unread}"),
                    Some(&app.admin),
                ),
            ),
            expect_unavailable(
                &app,
                "POST sample",
                app.request(Method::POST, "/api/samples", Some(&app.admin))
                    .header("content-type", "application/json")
                    .body(r#"{"name": "during"}"#),
            ),
            expect_unavailable(
                &app,
                "acquire job",
                app.request(Method::PATCH, "/jobs-api/jobs/abcd1234", None)
                    .header("content-type", "application/json")
                    .body(r#"{"acquired": true}"#),
            ),
        );

        // What was read before the cut may be answered from memory, but not once the instance's
        // read-cache lease has run out without a renewal.
        tokio::time::sleep(Duration::from_millis(app.app.config.read_cache_lease_ms)).await;
        expect_unavailable(
            &app,
            "GET sample read before",
            app.request(
                Method::GET,
                &format!("/api/samples/{sample}"),
                Some(&app.admin),
            ),
        )
        .await;

        proxy.restore().await;
        let took = wait_for_recovery(&app).await;
        eprintln!("outage {outage}: recovered {took:?} after the database came back");
        app.get(&format!("/api/samples/{sample}"), &app.admin)
            .await
            .assert_status(200);
        let after = app
            .sample(&app.admin, json!({"name": format!("after {outage}")}))
            .await;
        let reply = app.get(&format!("/api/samples/{after}"), &app.admin).await;
        reply.assert_status(200);
        assert_eq!(reply.json()["name"], format!("after {outage}"));
    }
    app.shutdown().await;
}

/// PostgreSQL terminates vira's backends (`pg_terminate_backend`, as an administrator or a server
/// restart would): the next requests succeed or get 503, never 500, and vira recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backends_recover() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |config| {
        config.db_acquire_timeout = 1;
    })
    .await
    else {
        return;
    };
    let sample = app.sample(&app.admin, json!({"name": "s"})).await;
    for round in 0..3 {
        // Make the pool hold several connections, then have the server kill them all.
        let path = format!("/api/samples/{sample}");
        let warm: Vec<_> = (0..4).map(|_| app.get(&path, &app.admin)).collect();
        for reply in futures_util::future::join_all(warm).await {
            reply.assert_status(200);
        }
        let terminated = app
            .pg_database()
            .expect("a PostgreSQL run")
            .terminate_backends()
            .await;
        assert!(terminated >= 1, "round {round}: no backend was terminated");
        let burst: Vec<_> = (0..6)
            .map(|i| {
                let request = if i % 2 == 0 {
                    app.request(
                        Method::GET,
                        &format!("/api/samples/{sample}"),
                        Some(&app.admin),
                    )
                } else {
                    app.request(Method::POST, "/api/samples", Some(&app.admin))
                        .header("content-type", "application/json")
                        .body(r#"{"name": "t"}"#)
                };
                tokio::time::timeout(OUTAGE_REPLY_LIMIT, app.send(request))
            })
            .collect();
        for reply in futures_util::future::join_all(burst).await {
            let reply = reply.expect("a reply within the limit");
            match reply.status.as_u16() {
                200 | 201 => {}
                503 => reply.assert_error(503, "service_unavailable", "Service unavailable"),
                other => panic!(
                    "round {round}: {other} {}",
                    String::from_utf8_lossy(&reply.bytes)
                ),
            }
        }
        wait_for_recovery(&app).await;
        app.get(&format!("/api/samples/{sample}"), &app.admin)
            .await
            .assert_status(200);
    }
    app.shutdown().await;
}
