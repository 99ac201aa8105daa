//! Prometheus metrics on `--metrics-listen` (issue 14), scraped from a real `vira serve` process:
//! requests by route pattern (never the raw path) and status class, the pools, BLAST states,
//! finalize, uploads in progress, connections, build info.

use reqwest::Method;

use crate::support::*;

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

async fn scrape(client: &reqwest::Client, addr: &str) -> String {
    let reply = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(reply.status(), 200);
    let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    reply.text().await.unwrap()
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn metrics_of_a_real_process(backend: Backend) {
    let Some((data, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(data.path(), &url).await;
    let metrics_addr = free_addr();
    // No BLAST worker: the records written below stay as they are.
    let instance = Instance::start(
        data.path(),
        &url,
        &["--metrics-listen", &metrics_addr, "--no-blast-worker"],
    )
    .await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let vira = instance.as_admin(&admin);

    // The metrics listener serves nothing else, and the main one has no /metrics.
    let other = client
        .get(format!("http://{metrics_addr}/api/analyses"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    for id in ["abc123", "def456", "ghi789"] {
        instance
            .http
            .get(&format!("/api/analyses/{id}"), &admin)
            .await
            .assert_status(404);
    }
    instance
        .http
        .get("/api/analyses", &admin)
        .await
        .assert_status(200);
    vira.nuvs_annotations().await;
    let ref_id = vira.small_reference().await;
    let run = vira.started(&ref_id, "nuvs").await;
    vira.finalize(&run.job, &run.id, &nuvs_results())
        .await
        .assert_status(200);
    // Results that fail the checks are timed as rejected.
    let refused = vira.started(&ref_id, "nuvs").await;
    vira.finalize(
        &refused.job,
        &refused.id,
        &serde_json::json!({"hits": "none"}),
    )
    .await
    .assert_status(422);
    // Read twice (the second from the read cache), and until its brotli copy is served.
    let path = format!("/api/analyses/{}", run.id);
    for _ in 0..2 {
        instance.http.get(&path, &admin).await.assert_status(200);
    }
    crate::compression::brotli_reply(&instance, &path, &admin).await;

    let text = scrape(&client, &metrics_addr).await;
    assert!(
        sample(
            &text,
            "vira_read_cache_lookups_total{kind=\"analysis\",outcome=\"hit\"}"
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "vira_read_cache_coherent"), Some(1.0));
    assert!(sample(&text, "vira_read_cache_publish_seconds_count").unwrap_or(0.0) >= 1.0);
    assert_eq!(
        sample(&text, "vira_brotli_copies_total{outcome=\"made\"}"),
        Some(1.0)
    );
    let route = "/api/analyses/{analysis_id}";
    assert_eq!(
        sample(
            &text,
            &format!("vira_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"4xx\"}}")
        ),
        Some(3.0),
        "{text}"
    );
    assert!(!text.contains("abc123"), "a raw path in the labels");
    assert_eq!(
        sample(
            &text,
            &format!(
                "vira_http_request_duration_seconds_count{{method=\"GET\",route=\"{route}\",status=\"4xx\"}}"
            )
        ),
        Some(3.0)
    );
    assert!(text.contains(&format!(
        "vira_http_request_duration_seconds_bucket{{method=\"GET\",route=\"{route}\",status=\"4xx\",le=\"0.0001\"}}"
    )));
    assert_eq!(
        sample(
            &text,
            "vira_http_requests_total{method=\"GET\",route=\"/api/analyses\",status=\"2xx\"}"
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &text,
            "vira_http_response_body_bytes_total{route=\"/api/analyses\"}"
        )
        .unwrap()
            > 0.0
    );
    assert!(
        sample(
            &text,
            "vira_http_request_body_bytes_total{route=\"/jobs-api/analyses/{analysis_id}\"}"
        )
        .unwrap()
            > 1000.0
    );
    assert_eq!(
        sample(
            &text,
            "vira_finalize_duration_seconds_count{workflow=\"nuvs\",outcome=\"ok\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "vira_finalize_duration_seconds_count{workflow=\"nuvs\",outcome=\"rejected\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "vira_blast_records{state=\"pending\"}"),
        Some(0.0)
    );
    assert_eq!(sample(&text, "vira_blast_worker_lag_seconds"), Some(0.0));
    assert!(sample(&text, "vira_http_open_connections{listener=\"main\"}").unwrap() >= 1.0);
    let pool = if backend == Backend::Sqlite {
        "read"
    } else {
        "main"
    };
    assert!(
        sample(
            &text,
            &format!("vira_db_pool_max_connections{{pool=\"{pool}\"}}")
        )
        .unwrap()
            >= 2.0,
        "{text}"
    );
    assert!(text.contains(&format!(
        "vira_db_pool_connections{{pool=\"{pool}\",state=\"idle\"}}"
    )));
    let wait = sample(
        &text,
        &format!("vira_db_pool_acquire_wait_seconds{{pool=\"{pool}\"}}"),
    );
    assert!(wait.is_some_and(|w| (0.0..0.5).contains(&w)), "{wait:?}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        text.lines().any(|l| l
            .starts_with(&format!("vira_build_info{{version=\"{version}\",commit=\""))
            && l.ends_with(" 1")),
        "{text}"
    );
    assert!(sample(&text, "vira_startup_duration_seconds").unwrap() > 0.0);
    assert!(sample(&text, "vira_start_time_seconds").unwrap() > 1.7e9);
    assert!(sample(&text, "vira_process_resident_memory_bytes").unwrap() > 1e6);
    assert!(text.contains("# HELP vira_http_requests_total"));

    // BLAST records by state, and the lag of a pending search due two minutes ago.
    blast_records(&url, &run.id).await;
    let text = scrape(&client, &metrics_addr).await;
    for state in ["pending", "ready", "failed"] {
        let series = format!("vira_blast_records{{state=\"{state}\"}}");
        assert_eq!(sample(&text, &series), Some(1.0), "{state}");
    }
    let lag = sample(&text, "vira_blast_worker_lag_seconds").unwrap();
    assert!((115.0..200.0).contains(&lag), "lag {lag}");

    // An upload in progress is counted until its body ends.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_of(receiver));
    let part = reqwest::multipart::Part::stream(body).file_name("slow.bin");
    let form = reqwest::multipart::Form::new().part("file", part);
    let path = format!("/api/analyses/{}/files?name=slow.bin", run.id);
    let upload = tokio::spawn(
        instance
            .http
            .request(Method::POST, &path, Some(&admin))
            .multipart(form)
            .send(),
    );
    sender.send(Ok(vec![1u8; 4096])).await.unwrap();
    let series = "vira_uploads_in_progress{kind=\"analysis_file\"}";
    let mut seen = None;
    for _ in 0..100 {
        seen = sample(&scrape(&client, &metrics_addr).await, series);
        if seen == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(1.0), "one upload in progress");
    drop(sender);
    let reply = upload.await.unwrap().unwrap();
    assert_eq!(reply.status(), 201);
    assert_eq!(
        sample(&scrape(&client, &metrics_addr).await, series),
        Some(0.0)
    );
}

/// One pending record whose check was due 117 s ago, one ready, one failed, written straight
/// into the database of the process.
async fn blast_records(url: &str, analysis_id: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let checked = now - 120_000_000;
    for (index, ready, error) in [(0, 0, None), (1, 1, None), (2, 0, Some("NCBI failed"))] {
        sqlx::query(
            "INSERT INTO blast_records (id, analysis_id, sequence_index, sequence, backend, \
             created_at, updated_at, last_checked_at, interval, rid, ready, error, result, deadline_at) \
             VALUES ($1, $2, $3, 'ACGT', 'ncbi', $4, $4, $4, 3, NULL, $5, $6, NULL, $7)",
        )
        .bind(9000 + index)
        .bind(analysis_id)
        .bind(index)
        .bind(checked)
        .bind(ready)
        .bind(error)
        .bind(now + 3_600_000_000)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
}

/// The receiving end of a channel as a stream of body chunks.
fn tokio_stream_of(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_a_real_process_sqlite() {
    metrics_of_a_real_process(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_a_real_process_postgres() {
    metrics_of_a_real_process(Backend::Postgres).await;
}
