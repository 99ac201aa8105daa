//! A full disk under the embedded default (SQLite on the data path): while the disk is full every
//! write answers 507 and nothing is acknowledged that is not stored; once space returns, writes
//! work again without a restart, and everything acknowledged survives a `kill -9`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::faults::heavy_results;
use crate::support::{create_admin_process, Creds, Instance, Reply, Setup, Started, Tmpfs};

/// Size of the file system the data path lives on.
const DISK_BYTES: u64 = 64 << 20;
/// Depth values per hit of each finalize: tens of KB to store, so that a commit must grow the
/// write-ahead log.
const VALUES_PER_HIT: usize = 2_000;
/// Space left on the disk when the finalizes start: a few fit, the rest do not.
const LEFT_FREE: u64 = 1 << 20;

fn options() -> [&'static str; 5] {
    [
        "--no-blast-worker",
        "--ready-min-free-bytes",
        "0",
        "--ready-cache-ms",
        "0",
    ]
}

/// Fold the write-ahead log into the database file and truncate it, so that the next commit needs
/// new space on the disk (as after SQLite's automatic checkpoints on a long-running server).
async fn checkpoint(database: &std::path::Path) {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display()))
        .await
        .expect("open the database");
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .expect("checkpoint");
    conn.close().await.unwrap();
}

#[track_caller]
fn assert_full(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status.as_u16(),
        507,
        "{what} while the disk is full: {}",
        String::from_utf8_lossy(&reply.bytes)
    );
    reply.assert_error(507, "insufficient_storage", "Insufficient storage");
}

async fn readiness(inst: &Instance) -> Reply {
    inst.send(inst.request(Method::GET, "/api/health/ready", None))
        .await
}

async fn finalize(inst: &Instance, started: &Started, body: &[u8]) -> Reply {
    inst.send(
        inst.request(
            Method::PATCH,
            &format!("/jobs-api/analyses/{}", started.id),
            Some(&started.job),
        )
        .body(body.to_vec()),
    )
    .await
}

/// What was acknowledged: GET path → the bytes a GET answered right after.
type Acknowledged = Vec<(String, Vec<u8>)>;

async fn record(inst: &Instance, admin: &Creds, acknowledged: &mut Acknowledged, path: String) {
    let reply = inst.get(&path, admin).await;
    reply.assert_status(200);
    acknowledged.push((path, reply.bytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_acknowledges_only_what_is_stored() {
    let Some(disk) = Tmpfs::mount(DISK_BYTES) else {
        return;
    };
    let data = disk.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let database = data.join("vira.db");
    let url = format!("sqlite://{}", database.display());
    let admin = create_admin_process(&data, &url).await;
    let mut inst = Instance::start(&data, &url, &options()).await;
    let server = inst.as_admin(&admin);
    let ref_id = server.small_reference().await;
    let mut started = Vec::new();
    for _ in 0..12 {
        started.push(server.started(&ref_id, "pathoscope_bowtie").await);
    }
    let spare_sample = server.sample(&admin, json!({"name": "spare"})).await;
    let waiting = server
        .analysis(&admin, &spare_sample, &ref_id, "pathoscope_bowtie")
        .await;
    let waiting_job = waiting["job"]["id"].as_str().unwrap().to_owned();
    let body = heavy_results(VALUES_PER_HIT);

    checkpoint(&database).await;
    let filler = disk.fill(LEFT_FREE);
    let mut acknowledged = Acknowledged::new();
    let mut refused = Vec::new();
    for one in &started[..10] {
        let reply = finalize(&inst, one, &body).await;
        match reply.status.as_u16() {
            200 => {
                assert_eq!(
                    reply.json()["ready"],
                    true,
                    "a 200 says the analysis is ready"
                );
                let path = format!("/api/analyses/{}", one.id);
                record(&inst, &admin, &mut acknowledged, path).await;
            }
            _ => {
                assert_full(&reply, "finalize");
                refused.push(one);
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "the disk was not full: every finalize was stored"
    );
    for (path, _) in &acknowledged {
        let analysis = inst.get(path, &admin).await.json();
        assert_eq!(analysis["ready"], true, "{path} was acknowledged");
    }
    // Full: the log is emptied once more while there is room, then nothing fits any more.
    std::fs::remove_file(filler).unwrap();
    checkpoint(&database).await;
    let filler = disk.fill(0);
    let refinalize = finalize(&inst, refused[0], &body).await;
    assert_full(&refinalize, "finalize");
    let create = inst
        .post("/api/samples", &admin, &json!({"name": "while full"}))
        .await;
    assert_full(&create, "create a sample");
    let analysis = inst
        .post(
            &format!("/api/samples/{spare_sample}/analyses"),
            &admin,
            &json!({"ref_id": ref_id, "workflow": "nuvs"}),
        )
        .await;
    assert_full(&analysis, "create an analysis");
    let acquire = inst
        .json(
            Method::PATCH,
            &format!("/jobs-api/jobs/{waiting_job}"),
            None,
            &json!({"acquired": true}),
        )
        .await;
    assert_full(&acquire, "acquire a job");
    let finalized = &acknowledged.first().expect("some finalizes fitted").0;
    let delete = inst.delete(finalized, &admin).await;
    assert_full(&delete, "delete an analysis");
    let ready = readiness(&inst).await;
    assert_eq!(ready.status.as_u16(), 503, "ready while the disk is full");
    assert!(
        ready.json()["errors"]["database_writable"].is_array(),
        "readiness names the database: {}",
        String::from_utf8_lossy(&ready.bytes)
    );

    // Space returns: writes work again, without a restart.
    std::fs::remove_file(filler).unwrap();
    let ready = readiness(&inst).await;
    assert_eq!(
        ready.status.as_u16(),
        200,
        "ready once space is back: {}",
        String::from_utf8_lossy(&ready.bytes)
    );
    let sample = inst
        .post("/api/samples", &admin, &json!({"name": "after-free"}))
        .await;
    sample.assert_status(201);
    let sample_id = sample.json()["id"].as_str().unwrap().to_owned();
    record(
        &inst,
        &admin,
        &mut acknowledged,
        format!("/api/samples/{sample_id}"),
    )
    .await;
    for one in refused.iter().copied().chain(&started[10..]) {
        let reply = finalize(&inst, one, &body).await;
        reply.assert_status(200);
        assert_eq!(reply.json()["ready"], true);
        let path = format!("/api/analyses/{}", one.id);
        record(&inst, &admin, &mut acknowledged, path).await;
    }
    let (deleted, _) = acknowledged.remove(0);
    inst.delete(&deleted, &admin).await.assert_status(204);

    // Everything acknowledged is durable: the same bytes after a kill -9 and a restart.
    inst.kill9().await;
    let inst = Instance::start(&data, &url, &options()).await;
    for (path, before) in &acknowledged {
        let after = inst.get(path, &admin).await;
        after.assert_status(200);
        assert!(
            after.bytes == *before,
            "{path} changed across the restart: {} → {}",
            String::from_utf8_lossy(&before[..before.len().min(200)]),
            String::from_utf8_lossy(&after.bytes[..after.bytes.len().min(200)])
        );
    }
    inst.get(&deleted, &admin)
        .await
        .assert_error(404, "not_found", "Not found");
    let listed: Value = inst.get("/api/analyses?per_page=100", &admin).await.json();
    // Twelve started, the waiting one, one deleted.
    assert_eq!(listed["found_count"], 12);
}
