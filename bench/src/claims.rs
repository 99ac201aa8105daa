//! Claim latency (workflows.md §7.2): eight runners claiming at once from a queue of 10,000
//! waiting `create_sample` jobs, written straight into the database (ids `claim<n>`, one
//! microsecond apart). Each claimer has its own connection; 2,000 claims in all, so the queue
//! stays at least 8,000 deep throughout.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::{Method, StatusCode};
use sqlx::{Connection, Executor};

use super::load::{client, Api, Creds};
use super::report::{at_most, ms, Report};
use super::scenarios::progress;

const CLAIMERS: usize = 8;

pub async fn run(api: &Api, database_url: &str, quick: bool, report: &mut Report) -> Result<()> {
    let waiting: i64 = if quick { 1_000 } else { 10_000 };
    let per_claimer = if quick { 25 } else { 250 };
    progress(&format!(
        "claims: {waiting} waiting jobs, {CLAIMERS} claimers"
    ));
    let body = api
        .expect(
            api.request(Method::POST, "/api/runners", Some(&api.admin))
                .header("content-type", "application/json")
                .body(r#"{"name": "bench"}"#),
            StatusCode::CREATED,
        )
        .await?;
    let runner: serde_json::Value = serde_json::from_slice(&body)?;
    let (login, key) = runner["credential"]
        .as_str()
        .and_then(|c| c.split_once(':'))
        .context("U33 gave no credential")?;
    let runner = Creds {
        login: login.to_owned(),
        key: key.to_owned(),
    };
    let sample = api.sample("claims").await?;
    seed(database_url, &sample, waiting).await?;

    let mut tasks = Vec::new();
    for _ in 0..CLAIMERS {
        let api = Api {
            client: client()?,
            ..api.clone()
        };
        let runner = runner.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(per_claimer);
            for _ in 0..per_claimer {
                let started = Instant::now();
                api.expect(
                    api.request(
                        Method::POST,
                        "/jobs-api/jobs/claim?workflow=create_sample",
                        Some(&runner),
                    ),
                    StatusCode::OK,
                )
                .await?;
                times.push(started.elapsed());
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let started = Instant::now();
    let mut times: Vec<Duration> = Vec::new();
    for task in tasks {
        times.extend(task.await??);
    }
    let wall = started.elapsed();
    if times.len() != CLAIMERS * per_claimer {
        bail!("{} claims answered", times.len());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let (p50, p99) = (at(0.5), at(0.99));
    let scenario = format!("Claim ({CLAIMERS} claimers, {waiting} waiting)");
    let postgres = !database_url.starts_with("sqlite:");
    let check = postgres.then(|| at_most(p50, Duration::from_millis(2), "2 ms"));
    report.add(&scenario, "p50", ms(p50), check.flatten(), "");
    report.add(&scenario, "p99", ms(p99), None, "");
    let rate = times.len() as f64 / wall.as_secs_f64();
    report.add(&scenario, "claims/s", format!("{rate:.0}"), None, "");
    Ok(())
}

/// `count` waiting `create_sample` jobs of `sample`, each with its `waiting` entry, then
/// `ANALYZE` (PostgreSQL).
async fn seed(database_url: &str, sample: &str, count: i64) -> Result<()> {
    // The rows 1..=count, the count being parameter `$<p>`.
    let series = |p: u8| {
        if database_url.starts_with("sqlite:") {
            format!(
                "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series \
                 WHERE n < ${p}) SELECT n FROM series"
            )
        } else {
            format!("SELECT generate_series(1, ${p}::bigint) AS n")
        }
    };
    let jobs = format!(
        "INSERT INTO jobs (id, workflow, args, acquired, key_digest, user_id, pinged_at, state, \
         stage, progress, created_at) \
         SELECT 'claim' || CAST(s.n AS TEXT), 'create_sample', \
         '{{\"sample_id\": \"' || $1 || '\", \"files\": []}}', 0, NULL, \
         (SELECT id FROM users WHERE handle = 'admin'), NULL, 'waiting', NULL, 0, 1000000 + s.n \
         FROM ({}) s",
        series(2)
    );
    let entries = format!(
        "INSERT INTO job_status (job_id, position, state, stage, step_name, step_description, \
         error, progress, timestamp) \
         SELECT 'claim' || CAST(s.n AS TEXT), 0, 'waiting', NULL, NULL, NULL, NULL, 0, 1000000 + s.n \
         FROM ({}) s",
        series(1)
    );
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await?;
    let mut tx = conn.begin().await?;
    tx.execute(sqlx::query(&jobs).bind(sample).bind(count))
        .await
        .context("seeding waiting jobs")?;
    tx.execute(sqlx::query(&entries).bind(count))
        .await
        .context("seeding their status entries")?;
    tx.commit().await?;
    super::seed::analyze(database_url).await
}
