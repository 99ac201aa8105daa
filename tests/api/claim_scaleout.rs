//! Exactly-once claim across instances (workflows.md §7.2, §7.5): two `vira serve` processes on one
//! PostgreSQL database, eight concurrent claimers, 1,000 waiting jobs; then the stall sweep on both
//! instances requeues every silent job once and discards its partial output.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use crate::claim::{claim, credential, insert_job_on, job_creds, ping};
use crate::support::{
    create_admin_process, process_storage, Backend, Creds, Http, Instance, Setup,
};

const JOBS: usize = 1000;
const CLAIMERS: usize = 8;

/// Claim until the queue is empty; the ids claimed.
async fn claimer(http: Http, runner: Creds) -> Vec<String> {
    let mut claimed = Vec::new();
    loop {
        let reply = claim(&http, &runner, "?workflow=create_sample").await;
        match reply.status.as_u16() {
            204 => return claimed,
            200 => claimed.push(reply.json()["id"].as_str().unwrap().to_owned()),
            other => panic!(
                "claim answered {other}: {}",
                String::from_utf8_lossy(&reply.bytes)
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_is_claimed_once_across_instances() {
    let Some((data, url, _pg)) = process_storage(Backend::Postgres).await else {
        return;
    };
    let admin = create_admin_process(data.path(), &url).await;
    let first = Instance::start(data.path(), &url, &[]).await;
    let second = Instance::start(data.path(), &url, &[]).await;
    let sample = first
        .as_admin(&admin)
        .sample(&admin, json!({"name": "queue"}))
        .await;
    let reply = first
        .post("/api/runners", &admin, &json!({"name": "pool"}))
        .await;
    reply.assert_status(201);
    let runner = credential(reply.json()["credential"].as_str().unwrap());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let mut expected = HashSet::new();
    {
        let mut conn = pool.acquire().await.unwrap();
        let base = vira::model::time::now_micros();
        for n in 0..JOBS {
            let id = format!("q{n:07}");
            let args = json!({"sample_id": sample, "files": []});
            // Several jobs share a creation time: the id breaks the tie.
            insert_job_on(
                &mut conn,
                &id,
                "create_sample",
                &args,
                base + (n / 3) as i64,
            )
            .await;
            expected.insert(id);
        }
    }
    let mut tasks = Vec::new();
    for n in 0..CLAIMERS {
        let http = if n % 2 == 0 { &first } else { &second };
        tasks.push(tokio::spawn(claimer(http.http.clone(), runner.clone())));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    let unique: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), JOBS, "claimed {} times", claimed.len());
    assert_eq!(unique, expected, "every job claimed, none twice");
    let preparing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM job_status WHERE state = 'preparing'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(preparing, JOBS as i64);
    let unowned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE acquired = 0 OR runner_id IS NULL OR watched = 0",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unowned, 0);
    drop(first);
    drop(second);

    // The claimers went silent, one after storing reads. Both instances sweep with a short stall:
    // each job is requeued exactly once and the partial output is gone.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let short = [
        "--job-stall-seconds",
        "1",
        "--job-sweep-interval-seconds",
        "1",
    ];
    let first = Instance::start(data.path(), &url, &short).await;
    let second = Instance::start(data.path(), &url, &short).await;
    let reads = data
        .path()
        .join(vira::files::sample_reads_key(&sample, "reads_1.fq.gz"));
    sqlx::query(
        "INSERT INTO sample_reads (sample_id, name, size, uploaded_at, uploaded_by_job) \
         VALUES ($1, 'reads_1.fq.gz', 3, 0, 'q0000000')",
    )
    .bind(&sample)
    .execute(&pool)
    .await
    .unwrap();
    std::fs::create_dir_all(reads.parent().unwrap()).unwrap();
    std::fs::write(&reads, b"abc").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'waiting'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if waiting == JOBS as i64 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{waiting} requeued");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let requeues: Vec<(String, i64)> = sqlx::query_as(
        "SELECT job_id, COUNT(*) FROM job_status WHERE stage = 'requeued' GROUP BY job_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(requeues.len(), JOBS);
    assert!(
        requeues.iter().all(|(_, n)| *n == 1),
        "a job requeued twice"
    );
    let retried: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE retries = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(retried, JOBS as i64);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sample_reads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert!(!reads.exists());
    // Claimed again through the other instance; its new key works on the first one too.
    let job = claim(&second, &runner, "?workflow=create_sample").await;
    job.assert_status(200);
    let job = job.json();
    assert_eq!(job["id"], "q0000000");
    assert_eq!(job["retries"], 1);
    ping(&first, &job_creds(&job), "q0000000")
        .await
        .assert_status(200);
}
