//! Acknowledged means stored (SECURITY.md, "Reliability"): writers upload files, finalize analyses
//! and create samples concurrently while the server is killed with `kill -9`, or while PostgreSQL
//! is stopped and started again; afterwards every write that was answered with a success is there,
//! byte for byte, and every refusal during the outage was a prompt 503.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::faults::{heavy_results, pattern};
use crate::support::{
    create_admin_process, files_under, process_storage, try_fetch, wait_for, Backend, Creds, Http,
    Instance, PgCluster, Reply, Setup, Started,
};

/// Concurrent writers, and the analyses each one works through.
const WRITERS: usize = 4;
const ANALYSES_PER_WRITER: usize = 12;

/// A write that was answered with a success, and what must be read back.
enum Acked {
    Sample { path: String, name: String },
    File { path: String, len: usize, seed: u64 },
    Finalized { path: String, reply: Vec<u8> },
}

/// What the writers saw.
#[derive(Default)]
struct Outcomes {
    acked: Vec<Acked>,
    /// 503 replies, and the longest time one took.
    unavailable: usize,
    slowest_unavailable: Duration,
}

/// How a writer treats a reply that is not a success.
#[derive(Clone, Copy)]
enum Faults {
    /// The server is killed: a failed connection ends the writer.
    Kill,
    /// The database goes away: 503 is expected; the server stays up.
    Outage,
}

struct Writer {
    http: Http,
    admin: Creds,
    analyses: Vec<Started>,
    outcomes: Arc<Mutex<Outcomes>>,
    faults: Faults,
    stop: tokio::sync::watch::Receiver<bool>,
    number: usize,
}

impl Writer {
    /// One reply; `None` when the connection failed. A killed server ends the writer (`Err`); during
    /// an outage a connection may also be closed under a request whose body was refused early, so
    /// the write simply counts as not acknowledged.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Option<Reply>, ()> {
        let started = Instant::now();
        let reply = match try_fetch(request).await {
            Ok(reply) => reply,
            Err(_) => {
                return match self.faults {
                    Faults::Kill => Err(()),
                    Faults::Outage => Ok(None),
                }
            }
        };
        if reply.status.as_u16() == 503 {
            assert!(
                matches!(self.faults, Faults::Outage),
                "503 without an outage"
            );
            reply.assert_error(503, "service_unavailable", "Service unavailable");
            let mut outcomes = self.outcomes.lock().unwrap();
            outcomes.unavailable += 1;
            outcomes.slowest_unavailable = outcomes.slowest_unavailable.max(started.elapsed());
        }
        Ok(Some(reply))
    }

    fn ack(&self, acked: Acked) {
        self.outcomes.lock().unwrap().acked.push(acked);
    }

    /// For each analysis: create a sample, upload a file to the analysis, finalize it.
    async fn run(self) {
        let results = heavy_results(500);
        for (round, analysis) in self.analyses.iter().enumerate() {
            if *self.stop.borrow() {
                return;
            }
            let name = format!("writer {} round {round}", self.number);
            let create = self
                .http
                .request(Method::POST, "/api/samples", Some(&self.admin))
                .header("content-type", "application/json")
                .body(json!({ "name": name }).to_string());
            let Ok(reply) = self.send(create).await else {
                return;
            };
            if self.success(reply.as_ref(), 201) {
                let reply = reply.unwrap();
                let id = reply.json()["id"].as_str().unwrap().to_owned();
                let path = format!("/api/samples/{id}");
                self.ack(Acked::Sample { path, name });
            }

            let seed = (self.number * 1000 + round) as u64;
            let len = (256 << 10) + (seed as usize % 7) * (256 << 10);
            let part = reqwest::multipart::Part::bytes(pattern(len, seed)).file_name("f.bin");
            let upload = self
                .http
                .request(
                    Method::POST,
                    &format!("/jobs-api/analyses/{}/files?name=f.bin", analysis.id),
                    Some(&analysis.job),
                )
                .multipart(reqwest::multipart::Form::new().part("file", part));
            let Ok(reply) = self.send(upload).await else {
                return;
            };
            if self.success(reply.as_ref(), 201) {
                let reply = reply.unwrap();
                let file = reply.json()["id"].as_i64().unwrap();
                let path = format!("/api/analyses/{}/files/{file}", analysis.id);
                self.ack(Acked::File { path, len, seed });
            }

            let finalize = self
                .http
                .request(
                    Method::PATCH,
                    &format!("/jobs-api/analyses/{}", analysis.id),
                    Some(&analysis.job),
                )
                .body(results.clone());
            let Ok(reply) = self.send(finalize).await else {
                return;
            };
            if self.success(reply.as_ref(), 200) {
                let reply = reply.unwrap();
                let path = format!("/api/analyses/{}", analysis.id);
                self.ack(Acked::Finalized {
                    path,
                    reply: reply.bytes,
                });
            }
        }
    }

    /// Whether `reply` is the success expected; anything but that, a 503 or a failed connection
    /// fails the test.
    #[track_caller]
    fn success(&self, reply: Option<&Reply>, expected: u16) -> bool {
        let Some(reply) = reply else {
            return false;
        };
        match reply.status.as_u16() {
            status if status == expected => true,
            503 => false,
            other => panic!(
                "writer {}: {other} {}",
                self.number,
                String::from_utf8_lossy(&reply.bytes)
            ),
        }
    }
}

/// Start `WRITERS` writers on `inst`; stop them with the returned sender.
async fn start_writers(
    inst: &Instance,
    admin: &Creds,
    faults: Faults,
) -> (
    Arc<Mutex<Outcomes>>,
    tokio::sync::watch::Sender<bool>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let server = inst.as_admin(admin);
    let ref_id = server.small_reference().await;
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut work = Vec::new();
    for _ in 0..WRITERS {
        let mut analyses = Vec::new();
        for _ in 0..ANALYSES_PER_WRITER {
            analyses.push(server.started(&ref_id, "pathoscope_bowtie").await);
        }
        work.push(analyses);
    }
    let writers = work
        .into_iter()
        .enumerate()
        .map(|(number, analyses)| {
            let writer = Writer {
                http: inst.http.clone(),
                admin: admin.clone(),
                analyses,
                outcomes: outcomes.clone(),
                faults,
                stop: stopped.clone(),
                number,
            };
            tokio::spawn(writer.run())
        })
        .collect();
    (outcomes, stop, writers)
}

/// Wait until the writers have had `count` writes acknowledged (bounded).
async fn until_acked(outcomes: &Mutex<Outcomes>, count: usize) {
    wait_for(Duration::from_secs(60), "writes are acknowledged", || {
        (outcomes.lock().unwrap().acked.len() >= count).then_some(())
    })
    .await;
}

/// Every acknowledged write reads back exactly.
async fn check_acknowledged(inst: &Instance, admin: &Creds, acked: &[Acked]) {
    for write in acked {
        match write {
            Acked::Sample { path, name } => {
                let reply = inst.get(path, admin).await;
                reply.assert_status(200);
                assert_eq!(reply.json()["name"], *name, "{path}");
            }
            Acked::File { path, len, seed } => {
                let reply = inst.get(path, admin).await;
                reply.assert_status(200);
                assert!(
                    reply.bytes == pattern(*len, *seed),
                    "{path}: the acknowledged file differs"
                );
            }
            Acked::Finalized { path, reply } => {
                let now = inst.get(path, admin).await;
                now.assert_status(200);
                assert!(
                    now.bytes == *reply,
                    "{path}: the analysis differs from what finalize answered"
                );
            }
        }
    }
}

async fn kill9_during_writes(backend: Backend) {
    let Some((dir, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let options = ["--no-blast-worker"];
    let admin = create_admin_process(dir.path(), &url).await;
    let mut inst = Instance::start(dir.path(), &url, &options).await;
    let (outcomes, _stop, writers) = start_writers(&inst, &admin, Faults::Kill).await;
    until_acked(&outcomes, 12).await;
    inst.kill9().await;
    for writer in writers {
        writer.await.expect("a writer panicked");
    }
    let inst = Instance::start(dir.path(), &url, &options).await;
    let acked = std::mem::take(&mut outcomes.lock().unwrap().acked);
    eprintln!(
        "{backend:?}: {} writes acknowledged before the kill",
        acked.len()
    );
    check_acknowledged(&inst, &admin, &acked).await;
    // What was in flight left nothing behind: start-up removed the partial uploads.
    assert!(files_under(&dir.path().join("tmp")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_concurrent_writes_sqlite() {
    kill9_during_writes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_concurrent_writes_postgres() {
    kill9_during_writes(Backend::Postgres).await;
}

/// PostgreSQL stops for longer than `--db-acquire-timeout` while writers run, and starts again:
/// every refusal meanwhile is a 503 within the timeout and a second, vira recovers without a
/// restart, and nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_under_load() {
    const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
    let Some(cluster) = PgCluster::start().await else {
        return;
    };
    cluster.create_database("vira").await;
    let url = cluster.url("vira");
    let dir = tempfile::TempDir::new().unwrap();
    let acquire = ACQUIRE_TIMEOUT.as_secs().to_string();
    let options = ["--no-blast-worker", "--db-acquire-timeout", &acquire];
    let admin = create_admin_process(dir.path(), &url).await;
    let inst = Instance::start(dir.path(), &url, &options).await;
    let (outcomes, stop, writers) = start_writers(&inst, &admin, Faults::Outage).await;
    until_acked(&outcomes, 8).await;

    cluster.stop_server();
    tokio::time::sleep(ACQUIRE_TIMEOUT * 2).await;
    cluster.start_server().await;
    let before = outcomes.lock().unwrap().acked.len();
    until_acked(&outcomes, before + 8).await;
    stop.send(true).unwrap();
    for writer in writers {
        writer.await.expect("a writer panicked");
    }

    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    eprintln!(
        "PostgreSQL stopped: {} writes acknowledged, {} refused with 503 (slowest {:?})",
        outcomes.acked.len(),
        outcomes.unavailable,
        outcomes.slowest_unavailable
    );
    assert!(outcomes.unavailable > 0, "no request met the outage");
    assert!(
        outcomes.slowest_unavailable <= ACQUIRE_TIMEOUT + Duration::from_secs(1),
        "a 503 took {:?}, more than --db-acquire-timeout and a second",
        outcomes.slowest_unavailable
    );
    check_acknowledged(&inst, &admin, &outcomes.acked).await;
    // And after a restart of vira itself too.
    drop(inst);
    let inst = Instance::start(dir.path(), &url, &options).await;
    check_acknowledged(&inst, &admin, &outcomes.acked).await;
}
