//! Scale-out of the BLAST worker on PostgreSQL (spec/blast.md §4.4): two `vira serve` processes with
//! their real background workers follow one pending NCBI record. A fake NCBI server, reached by
//! each instance under its own path (`/A/Blast.cgi`, `/B/Blast.cgi`), logs who asked what and when.
//!
//! PostgreSQL-only; skipped with a printed reason only when no server answers at
//! `VIRA_TEST_DATABASE_URL`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::{
    create_admin_process, create_pg_database, fixture_bytes, nuvs_results, wait_for, Creds,
    Instance, PgDatabase, Setup,
};

const RID: &str = "YA6M9135015";
/// `--blast-lease` of both instances, seconds.
const LEASE_SECS: u64 = 2;
/// How long the fake holds the SearchInfo request it hangs (the owner is killed meanwhile).
const HANG: Duration = Duration::from_secs(30);
/// How long the SearchInfo requests of the two live instances are collected.
const WINDOW: Duration = Duration::from_millis(5500);
/// Closest two consecutive checks of the record may come (`--blast-max-interval 1`).
const MIN_SPACING: Duration = Duration::from_millis(800);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Put,
    SearchInfo,
    Alignment,
    Other,
}

/// One request to the fake: which instance, what, when it arrived and when it was answered
/// (`None` while open, or when never answered), both since the fake started.
#[derive(Debug, Clone)]
struct Request {
    instance: String,
    kind: Kind,
    rid: String,
    at: Duration,
    done: Option<Duration>,
}

struct Script {
    /// SearchInfo answers READY (else WAITING).
    ready: bool,
    /// The next SearchInfo is held open for `hang_for`; every later one answers READY.
    hang_next: bool,
    hang_for: Duration,
    /// Index in `log` of the request being hung.
    hung: Option<usize>,
    log: Vec<Request>,
}

#[derive(Clone)]
struct FakeNcbi {
    start: Instant,
    script: Arc<Mutex<Script>>,
}

impl FakeNcbi {
    fn log(&self) -> Vec<Request> {
        self.script.lock().unwrap().log.clone()
    }

    fn of_kind(&self, kind: Kind) -> Vec<Request> {
        self.log().into_iter().filter(|r| r.kind == kind).collect()
    }

    fn hung(&self) -> Option<Request> {
        let script = self.script.lock().unwrap();
        script.hung.map(|i| script.log[i].clone())
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

fn page(name: &str) -> String {
    String::from_utf8(fixture_bytes(&format!("blast/{name}"))).unwrap()
}

fn html(text: String) -> Response {
    ([("content-type", "text/html")], text).into_response()
}

async fn fake_handler(
    State(fake): State<FakeNcbi>,
    Path(instance): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let field = |name: &str| query.get(name).cloned().unwrap_or_default();
    let kind = match (field("CMD").as_str(), field("FORMAT_OBJECT").as_str()) {
        ("Put", _) => Kind::Put,
        ("Get", "SearchInfo") => Kind::SearchInfo,
        ("Get", "Alignment") => Kind::Alignment,
        _ => Kind::Other,
    };
    // Log the arrival and decide the answer under the lock; hang without it.
    let (index, hang, ready, hang_for) = {
        let mut script = fake.script.lock().unwrap();
        let index = script.log.len();
        script.log.push(Request {
            instance,
            kind,
            rid: field("RID"),
            at: fake.elapsed(),
            done: None,
        });
        let hang = kind == Kind::SearchInfo && script.hang_next;
        if hang {
            script.hang_next = false;
            script.hung = Some(index);
            // Whoever asks next (after taking the record over) finds the search finished.
            script.ready = true;
        }
        (index, hang, script.ready, script.hang_for)
    };
    if hang {
        tokio::time::sleep(hang_for).await;
    }
    let response = match kind {
        Kind::Put => html(page("initialize_blast.html").replace("YA40WNN5014", RID)),
        Kind::SearchInfo if ready && !hang => html(page("check_rid.html")),
        Kind::SearchInfo => html(page("check_rid.html").replace("Status=READY", "Status=WAITING")),
        Kind::Alignment => (
            [("content-type", "application/zip")],
            fixture_bytes("blast/blast.zip"),
        )
            .into_response(),
        Kind::Other => StatusCode::BAD_REQUEST.into_response(),
    };
    fake.script.lock().unwrap().log[index].done = Some(fake.elapsed());
    response
}

/// The fake on 127.0.0.1; its base URL (append `/<instance>/Blast.cgi`).
async fn start_fake() -> (String, FakeNcbi) {
    let fake = FakeNcbi {
        start: Instant::now(),
        script: Arc::new(Mutex::new(Script {
            ready: false,
            hang_next: false,
            hang_for: HANG,
            hung: None,
            log: Vec::new(),
        })),
    };
    let router = axum::Router::new()
        .route("/{instance}/Blast.cgi", axum::routing::any(fake_handler))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, fake)
}

/// A finished NuVs analysis with the contigs of `nuvs/results.json`, made through `via`.
async fn nuvs_analysis(via: &Instance, admin: &Creds) -> String {
    let setup = via.as_admin(admin);
    setup.nuvs_annotations().await;
    let ref_id = setup.small_reference().await;
    let started = setup.started(&ref_id, "nuvs").await;
    setup
        .finalize(&started.job, &started.id, &nuvs_results())
        .await
        .assert_status(200);
    started.id
}

/// `(instance, arrival, answered)` of each request, for failure messages.
fn timeline(requests: &[Request]) -> String {
    requests
        .iter()
        .map(|r| {
            let done = r
                .done
                .map_or("open".to_owned(), |d| format!("{:.3}", d.as_secs_f64()));
            format!(
                "{} {:?} {:.3}–{done}",
                r.instance,
                r.kind,
                r.at.as_secs_f64()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Two instances A and B with running workers on one fresh PostgreSQL database and one data
/// path, each reaching the fake under its own name, and a BLAST of contig 1 PUT through A.
struct Cluster {
    fake: FakeNcbi,
    instances: [(&'static str, Instance); 2],
    admin: Creds,
    /// `/api/analyses/{id}/1/blast`.
    path: String,
    _data: TempDir,
    _pg: PgDatabase,
}

impl Cluster {
    async fn start() -> Option<Cluster> {
        let (database_url, pg) = create_pg_database().await?;
        let data = TempDir::new().expect("tempdir");
        let (fake_base, fake) = start_fake().await;
        let lease = LEASE_SECS.to_string();
        let extra = |name: &str| -> Vec<String> {
            vec![
                "--ncbi-blast-url".to_owned(),
                format!("{fake_base}/{name}/Blast.cgi"),
                "--blast-max-interval".to_owned(),
                "1".to_owned(),
                "--blast-lease".to_owned(),
                lease.clone(),
            ]
        };
        let (extra_a, extra_b) = (extra("A"), extra("B"));
        let extra_a: Vec<&str> = extra_a.iter().map(String::as_str).collect();
        let extra_b: Vec<&str> = extra_b.iter().map(String::as_str).collect();
        let (a, b) = tokio::join!(
            Instance::start(data.path(), &database_url, &extra_a),
            Instance::start(data.path(), &database_url, &extra_b),
        );
        let admin = create_admin_process(data.path(), &database_url).await;
        let id = nuvs_analysis(&a, &admin).await;
        let path = format!("/api/analyses/{id}/1/blast");

        // The PUT through A submits inside the request; the record then waits for the workers.
        let reply = a
            .send(a.request(Method::PUT, &path, Some(&admin)).json(&json!({})))
            .await;
        reply.assert_status(200);
        assert_eq!(reply.json()["rid"], RID);
        let puts = fake.of_kind(Kind::Put);
        assert_eq!(puts.len(), 1, "{}", timeline(&puts));
        assert_eq!(puts[0].instance, "A");
        Some(Cluster {
            fake,
            instances: [("A", a), ("B", b)],
            admin,
            path,
            _data: data,
            _pg: pg,
        })
    }
}

/// Two instances with running workers follow one pending NCBI record: its checks come one at a
/// time, about once per `--blast-max-interval`, never from both instances at once; when the
/// instance holding the record dies in the middle of a check, the other one takes the record over
/// once the lease has expired and finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_pending_blast_record_is_polled_by_one_instance_and_taken_over() {
    let started = Instant::now();
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let Cluster {
        fake,
        mut instances,
        admin,
        path,
        ..
    } = cluster;

    // Exactly one at a time: from the first check on (due 3 s after the PUT), collect the checks
    // of both live instances for a while.
    let first = wait_for(Duration::from_secs(6), "the first check", || {
        fake.of_kind(Kind::SearchInfo).first().cloned()
    })
    .await;
    let window_end = first.at + WINDOW;
    wait_for(
        WINDOW + Duration::from_secs(1),
        "the end of the window",
        || (fake.elapsed() >= window_end).then_some(()),
    )
    .await;
    let checks: Vec<Request> = fake
        .of_kind(Kind::SearchInfo)
        .into_iter()
        .filter(|r| r.at <= window_end)
        .collect();
    let shown = timeline(&checks);
    assert!(checks.iter().all(|r| r.rid == RID), "{shown}");
    for pair in checks.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        let done = prev.done.expect("an answered check");
        assert!(next.at >= done, "two checks of one record at once: {shown}");
        assert!(
            next.at - prev.at >= MIN_SPACING,
            "checks {:.3} s apart (more than one poller?): {shown}",
            (next.at - prev.at).as_secs_f64()
        );
    }
    // One poller at `--blast-max-interval 1` checks about once a second: 5–6 times in 5.5 s
    // (two independent pollers would check about twice as often).
    assert!(
        (4..=7).contains(&checks.len()),
        "{} checks in {:.1} s: {shown}",
        checks.len(),
        WINDOW.as_secs_f64()
    );
    let ids: Vec<&str> = checks.iter().map(|r| r.instance.as_str()).collect();
    eprintln!("checks in the window: {}", ids.join(""));

    // Taken over when killed: the next check hangs at the fake; its instance is killed meanwhile.
    fake.script.lock().unwrap().hang_next = true;
    let hung = wait_for(Duration::from_secs(3), "a hanging check", || fake.hung()).await;
    let owner = instances
        .iter()
        .position(|(name, _)| *name == hung.instance)
        .expect("a known instance");
    let survivor = 1 - owner;
    assert!(instances[owner].1.is_running());
    instances[owner].1.kill9().await;
    let killed_at = fake.elapsed();
    assert!(!instances[owner].1.is_running());
    let survivor_name = instances[survivor].0;
    eprintln!(
        "check by {} hung at {:.3} s; killed at {:.3} s",
        hung.instance,
        hung.at.as_secs_f64(),
        killed_at.as_secs_f64()
    );

    // The survivor finishes the record (the fake answers READY from now on).
    let record = wait_for_ready(&instances[survivor].1, &admin, &path).await;
    assert_eq!(record["ready"], true, "{record}");
    assert_eq!(record["error"], Value::Null, "{record}");
    assert_eq!(record["rid"], RID, "{record}");
    let expected: Value = serde_json::from_slice(&fixture_bytes("blast/blast.json")).unwrap();
    assert_eq!(record["result"], expected);

    // After the hung check: exactly one more check, by the survivor, once the lease had expired
    // (it was claimed just before the hung request arrived), and the result fetched by it.
    let log = fake.log();
    let after: Vec<Request> = log
        .iter()
        .filter(|r| r.at > hung.at && r.kind != Kind::Put)
        .cloned()
        .collect();
    let shown = timeline(&after);
    let kinds: Vec<(&str, Kind)> = after
        .iter()
        .map(|r| (r.instance.as_str(), r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (survivor_name, Kind::SearchInfo),
            (survivor_name, Kind::Alignment)
        ],
        "{shown}"
    );
    let takeover = &after[0];
    let lease = Duration::from_secs(LEASE_SECS);
    assert!(
        takeover.at >= killed_at,
        "taken over before the owner was killed: {shown}"
    );
    assert!(
        takeover.at - hung.at >= lease - Duration::from_millis(200),
        "taken over {:.3} s after the hung check, before the {LEASE_SECS} s lease expired: {shown}",
        (takeover.at - hung.at).as_secs_f64()
    );
    // Found at the survivor's next look (at least once a second) after the lease expired.
    assert!(
        takeover.at - hung.at <= lease + Duration::from_millis(1500),
        "taken over {:.3} s after the hung check: {shown}",
        (takeover.at - hung.at).as_secs_f64()
    );
    eprintln!(
        "taken over by {survivor_name} {:.3} s after the hung check; test took {:.1} s",
        (takeover.at - hung.at).as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// GET the record through `via` until it is no longer pending (at most 10 s).
async fn wait_for_ready(via: &Instance, admin: &Creds, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = via.get(path, admin).await;
        reply.assert_status(200);
        let record = reply.json();
        if record["ready"] == true || !record["error"].is_null() {
            return record;
        }
        assert!(
            Instant::now() < deadline,
            "the record was not finished: {record}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// §4.4 with a slow NCBI: a check that outlasts the lease is covered by renewals, so while its
/// owner is alive and still waiting for NCBI, the other instance never claims the record too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_outlasts_the_lease_keeps_the_record() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let fake = &cluster.fake;
    wait_for(Duration::from_secs(6), "the first check", || {
        fake.of_kind(Kind::SearchInfo).first().cloned()
    })
    .await;
    // The next check takes twice the lease at the fake; its instance stays alive.
    {
        let mut script = fake.script.lock().unwrap();
        script.hang_for = Duration::from_secs(2 * LEASE_SECS);
        script.hang_next = true;
    }
    let hung = wait_for(Duration::from_secs(3), "a hanging check", || fake.hung()).await;
    let answered = wait_for(
        Duration::from_secs(2 * LEASE_SECS + 2),
        "the slow check's answer",
        || fake.hung().and_then(|r| r.done),
    )
    .await;
    let during: Vec<Request> = fake
        .log()
        .into_iter()
        .filter(|r| r.kind == Kind::SearchInfo && r.at > hung.at && r.at < answered)
        .collect();
    assert!(
        during.is_empty(),
        "checked by another instance while {}'s check ({:.3}–{:.3} s) was still open: {}",
        hung.instance,
        hung.at.as_secs_f64(),
        answered.as_secs_f64(),
        timeline(&during)
    );
}
