//! The read cache across instances (`db::changes`): what one instance has in memory is never
//! served after a write through another has been answered — also when the other instance stopped
//! answering or lost its connection — and a repeated read is served from memory.
//!
//! PostgreSQL only (SQLite has one instance, whose own writes the rest of the suite reads back);
//! skipped with a printed reason only when no server answers, as `both!` does.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tempfile::TempDir;

use crate::support::{
    create_admin_process, create_pg_database, file_names, Creds, Instance, PgDatabase, Setup,
    PATHOSCOPE_EMPTY,
};

/// The lease of every instance here (`--read-cache-lease-ms`).
const LEASE: Duration = Duration::from_millis(1000);

struct Pair {
    pg: PgDatabase,
    url: String,
    _data: TempDir,
    a: Instance,
    b: Instance,
    admin: Creds,
}

async fn two_instances() -> Option<Pair> {
    let (url, pg) = create_pg_database().await?;
    let data = TempDir::new().expect("tempdir");
    let lease = LEASE.as_millis().to_string();
    let options = ["--read-cache-lease-ms", lease.as_str(), "--no-blast-worker"];
    let (a, b) = tokio::join!(
        Instance::start(data.path(), &url, &options),
        Instance::start(data.path(), &url, &options),
    );
    let admin = create_admin_process(data.path(), &url).await;
    let pair = Pair {
        pg,
        url,
        _data: data,
        a,
        b,
        admin,
    };
    pair.wait_for_peers(2).await;
    Some(pair)
}

impl Pair {
    async fn sql(&self) -> sqlx::PgConnection {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect")
    }

    /// Until `n` instances hold a live lease (both have joined and may cache).
    async fn wait_for_peers(&self, n: i64) {
        let mut conn = self.sql().await;
        for _ in 0..200 {
            let live: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM read_cache_peers WHERE lease_until > vira_clock_us()",
            )
            .fetch_one(&mut conn)
            .await
            .expect("peers");
            if live == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{n} instances never held a lease");
    }

    /// A finalized Pathoscope analysis made through A: (sample, analysis, job).
    async fn finalized(&self, ref_id: &str) -> (String, String, Creds) {
        let a = self.a.as_admin(&self.admin);
        let sample = a.sample(&self.admin, json!({"name": "Grapevine"})).await;
        let analysis = a
            .analysis(&self.admin, &sample, ref_id, "pathoscope_bowtie")
            .await;
        let id = analysis["id"].as_str().unwrap().to_owned();
        let job = self
            .a
            .acquire(analysis["job"]["id"].as_str().unwrap())
            .await;
        a.finalize_raw(&job, &id, PATHOSCOPE_EMPTY.to_owned())
            .await
            .assert_status(200);
        (sample, id, job)
    }

    /// A delete through A: B, which had just read the analysis, answers 404 at once.
    async fn delete_through_a_is_seen_by_b(&self, path: &str) {
        self.b.get(path, &self.admin).await.assert_status(200);
        self.a.delete(path, &self.admin).await.assert_status(204);
        self.b.get(path, &self.admin).await.assert_status(404);
    }
}

/// Every write through A is seen by the very next read through B, which had read (and kept) the
/// same things just before: files, rights, new analyses in the list, a deleted analysis, a
/// sample. Many rounds, so that a reply racing the other instance's invalidation would show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_instance_is_seen_at_once_through_the_other() {
    let Some(pair) = two_instances().await else {
        return;
    };
    let (a, b, admin) = (&pair.a, &pair.b, &pair.admin);
    let setup = a.as_admin(admin);
    let ref_id = setup.small_reference().await;
    let (reader, _) = setup.user("reader", &[]).await;
    let (sample, analysis, job) = pair.finalized(&ref_id).await;
    let path = format!("/api/analyses/{analysis}");

    for round in 0..15 {
        // Files: B keeps the analysis, A adds a file.
        let before = b.get(&path, admin).await.json();
        assert_eq!(file_names(&before).len(), round);
        let name = format!("f{round}.tsv");
        a.multipart(
            Method::POST,
            &format!("/jobs-api/analyses/{analysis}/files?name={name}&format=tsv"),
            &job,
            &name,
            b"x\n".to_vec(),
        )
        .await
        .assert_status(201);
        let after = b.get(&path, admin).await.json();
        assert_eq!(
            file_names(&after).len(),
            round + 1,
            "round {round}: {after}"
        );

        // Rights: B keeps the reader's access, A takes it away, then gives it back.
        let rights = format!("/api/samples/{sample}/rights");
        for (all_read, status) in [(false, 403), (true, 200)] {
            b.get(&path, &reader).await;
            b.get(&format!("/api/samples/{sample}"), &reader).await;
            a.patch(&rights, admin, &json!({"all_read": all_read}))
                .await
                .assert_status(200);
            b.get(&path, &reader).await.assert_status(status);
            b.get(&format!("/api/samples/{sample}"), &reader)
                .await
                .assert_status(status);
        }

        // The list: B keeps a page, A adds an analysis.
        let found = b.get("/api/analyses", admin).await.json()["found_count"].clone();
        setup
            .analysis(admin, &sample, &ref_id, "pathoscope_bowtie")
            .await;
        let listed = b.get("/api/analyses", admin).await.json();
        assert_eq!(
            listed["found_count"],
            found.as_i64().unwrap() + 1,
            "round {round}"
        );
    }

    pair.delete_through_a_is_seen_by_b(&path).await;
}

/// Writes through A answered at the same time (their publishes commit in any order) are each
/// seen by the read through B that follows its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_each_seen_at_once_through_the_other() {
    let Some(pair) = two_instances().await else {
        return;
    };
    let (a, b, admin) = (&pair.a, &pair.b, &pair.admin);
    let ref_id = a.as_admin(admin).small_reference().await;
    let (_, analysis, job) = pair.finalized(&ref_id).await;
    let path = format!("/api/analyses/{analysis}");
    for round in 0..3 {
        b.get(&path, admin).await.assert_status(200);
        let uploads = (0..8).map(|i| {
            let (path, job, analysis) = (&path, &job, &analysis);
            async move {
                let name = format!("r{round}-{i}.tsv");
                a.multipart(
                    Method::POST,
                    &format!("/jobs-api/analyses/{analysis}/files?name={name}&format=tsv"),
                    job,
                    &name,
                    b"x\n".to_vec(),
                )
                .await
                .assert_status(201);
                let seen = file_names(&b.get(path, admin).await.json());
                assert!(seen.contains(&name), "{name} not in {seen:?}");
            }
        });
        futures_util::future::join_all(uploads).await;
    }
}

/// A claim through one instance (a quiet write: its triggers notify nothing, `db::changes`) is
/// seen at once through the other, which had just read the sample showing the job: the first
/// while the claiming instance still takes itself for the only one, the later ones announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_through_one_instance_is_seen_at_once_through_the_other() {
    let Some(pair) = two_instances().await else {
        return;
    };
    let (a, b, admin) = (&pair.a, &pair.b, &pair.admin);
    let reply = a
        .post("/api/runners", admin, &json!({"name": "fleet"}))
        .await;
    reply.assert_status(201);
    let runner = crate::claim::credential(reply.json()["credential"].as_str().unwrap());
    let mut conn = pair.sql().await;
    for round in 0..4 {
        let sample = a
            .as_admin(admin)
            .sample(admin, json!({"name": format!("s{round}")}))
            .await;
        let job_id = format!("job{round}");
        let args = json!({"sample_id": sample, "files": []}).to_string();
        sqlx::query(
            "INSERT INTO jobs (id, workflow, args, acquired, user_id, state, progress, created_at) \
             VALUES ($1, 'create_sample', $2, 0, (SELECT id FROM users WHERE handle = 'admin'), \
             'waiting', 0, $3)",
        )
        .bind(&job_id)
        .bind(&args)
        .bind(round)
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO job_status (job_id, position, state, progress, timestamp) \
             VALUES ($1, 0, 'waiting', 0, 0)",
        )
        .bind(&job_id)
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query("UPDATE samples SET job_id = $1 WHERE id = $2")
            .bind(&job_id)
            .bind(&sample)
            .execute(&mut conn)
            .await
            .unwrap();
        // B reads (and keeps) the sample once these changes reached it.
        let path = format!("/api/samples/{sample}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while b.get(&path, admin).await.json()["job"]["state"] != "waiting" {
            assert!(Instant::now() < deadline, "B never saw the waiting job");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let claimed = crate::claim::claim(a, &runner, "?workflow=create_sample").await;
        claimed.assert_status(200);
        assert_eq!(claimed.json()["id"], job_id.as_str());
        assert_eq!(
            b.get(&path, admin).await.json()["job"]["state"],
            "preparing",
            "round {round}"
        );
    }
}

/// What an instance keeps is served from memory: a change made behind vira's back without its
/// notification (triggers off for that session) is not seen, until the next notified change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_read_is_served_from_memory() {
    let Some(pair) = two_instances().await else {
        return;
    };
    let (a, b, admin) = (&pair.a, &pair.b, &pair.admin);
    let sample = a
        .as_admin(admin)
        .sample(admin, json!({"name": "kept"}))
        .await;
    let path = format!("/api/samples/{sample}");
    assert_eq!(b.get(&path, admin).await.json()["name"], "kept");
    let mut conn = pair.sql().await;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE samples SET name = 'changed quietly' WHERE id = $1")
        .bind(&sample)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        b.get(&path, admin).await.json()["name"],
        "kept",
        "served from memory"
    );
    // Any notified change makes everything kept stale.
    a.as_admin(admin)
        .sample(admin, json!({"name": "other"}))
        .await;
    assert_eq!(b.get(&path, admin).await.json()["name"], "changed quietly");
}

/// An instance that stops answering (SIGSTOP) holds a write through the other for at most its
/// lease; when it runs again it does not serve what it kept before that write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_instance_holds_writes_at_most_a_lease_and_then_reads_afresh() {
    let Some(pair) = two_instances().await else {
        return;
    };
    let (a, b, admin) = (&pair.a, &pair.b, &pair.admin);
    let setup = a.as_admin(admin);
    let ref_id = setup.small_reference().await;
    let (_, analysis, job) = pair.finalized(&ref_id).await;
    let path = format!("/api/analyses/{analysis}");
    assert_eq!(file_names(&b.get(&path, admin).await.json()).len(), 0);

    signal(b, "STOP");
    let started = Instant::now();
    a.multipart(
        Method::POST,
        &format!("/jobs-api/analyses/{analysis}/files?name=late.tsv&format=tsv"),
        &job,
        "late.tsv",
        b"x\n".to_vec(),
    )
    .await
    .assert_status(201);
    let held = started.elapsed();
    signal(b, "CONT");
    // B's lease had between three quarters and all of it left when it stopped.
    assert!(
        held > LEASE / 2 && held < LEASE + Duration::from_millis(1500),
        "the write waited {held:?} for a stopped instance"
    );
    assert_eq!(
        file_names(&b.get(&path, admin).await.json()),
        ["late.tsv"],
        "B read afresh after its lease ran out"
    );
    // B joins again, and is waited for again.
    pair.wait_for_peers(2).await;
    pair.delete_through_a_is_seen_by_b(&path).await;
}

/// When PostgreSQL ends every connection (a restart, `pg_terminate_backend`), an instance stops
/// serving what it kept, and a write made meanwhile is seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_lost_its_connections_reads_afresh() {
    let Some(pair) = two_instances().await else {
        return;
    };
    let (a, b, admin) = (&pair.a, &pair.b, &pair.admin);
    let sample = a.as_admin(admin).sample(admin, json!({"name": "s"})).await;
    let path = format!("/api/samples/{sample}");
    b.get(&path, admin).await.assert_status(200);
    assert!(pair.pg.terminate_backends().await >= 2);
    // The first requests after the cut may meet dead pooled connections (503): retry.
    let mut changed = false;
    for _ in 0..100 {
        let reply = a
            .json(
                Method::PATCH,
                &format!("{path}/rights"),
                Some(admin),
                &json!({"all_read": false}),
            )
            .await;
        if reply.status == 200 {
            changed = true;
            break;
        }
        reply.assert_status(503);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(changed, "A never recovered");
    for _ in 0..100 {
        let reply = b.get(&path, admin).await;
        if reply.status == 200 {
            assert_eq!(reply.json()["all_read"], false, "{}", reply.json());
            return;
        }
        reply.assert_status(503);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("B never recovered");
}

/// Every table a cached read may show announces its changes (migration 0006); a new table must
/// get the trigger too, or be named here as one no cached read shows.
#[tokio::test]
async fn every_table_a_read_shows_notifies_its_changes() {
    let Some((url, _pg)) = create_pg_database().await else {
        return;
    };
    let data = TempDir::new().unwrap();
    let instance = Instance::start(data.path(), &url, &["--no-blast-worker"]).await;
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let without: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT EXISTS \
         (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'vira_changes') \
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        without,
        [
            "_sqlx_migrations",
            "analysis_counts",
            "api_keys",
            "counters",
            "login_failures",
            "read_cache_peers",
            "sessions",
            "write_probes"
        ]
    );
    drop(instance);
}

/// `kill -SIGNAL` the process of `instance`.
fn signal(instance: &Instance, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(instance.pid().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
}
