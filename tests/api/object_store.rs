//! Analysis files on a real S3 server (Garage, `support::garage`), beyond the check tables that
//! `every_store!` runs on both storages: multipart uploads and ranges, an upload cut off mid-way,
//! a writer killed mid-upload and the sweep by age, two instances on one bucket, and the memory
//! of a 4 GiB upload and download.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::faults::{analysis_with_job, multipart_body, partial_upload, pattern};
use crate::support::{
    bucket_keys, create_admin_process, garage, process_storage, put_object, Backend, Instance,
    Setup, TestApp,
};

const PART: u64 = 5 << 20;

/// A test on the store only, on both databases, with parts of [`PART`] bytes.
macro_rules! on_the_store {
    ($name:ident, $body:expr) => {
        crate::test_matrix!(
            $name,
            |c: &mut vira::config::ServeConfig| c.s3.s3_part_bytes = PART,
            $body,
            (sqlite, Sqlite, S3),
            (postgres, Postgres, S3)
        );
    };
}

/// Poll the bucket until `check` holds for the keys under `folder` (10 s at most).
async fn bucket_until(
    app: &TestApp,
    folder: &str,
    what: &str,
    check: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let place = app.s3.as_ref().expect("an S3 app");
    for _ in 0..200 {
        let keys = bucket_keys(&place.client, &place.prefix, folder).await;
        if check(&keys) {
            return keys;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what}: {:?}",
        bucket_keys(&place.client, &place.prefix, folder).await
    );
}

on_the_store!(multipart_upload_and_ranges, |app: TestApp| async move {
    let (id, job) = analysis_with_job(&app, "nuvs").await;
    // 12 MiB: two full parts of 5 MiB and a last one of 2 MiB.
    let data = pattern(12 << 20, 5);
    let path = format!("/jobs-api/analyses/{id}/files?name=reads.bam&format=bam");
    let reply = app.upload(Method::POST, &path, &job, data.clone()).await;
    reply.assert_status(201);
    let file = reply.json();
    assert_eq!(file["size"], data.len());
    let name_on_disk = file["name_on_disk"].as_str().unwrap().to_owned();
    assert_eq!(
        app.read_stored(&id, &name_on_disk).await.as_deref(),
        Some(&data[..])
    );
    bucket_until(&app, "markers/", "the upload marker is removed", |k| {
        k.is_empty()
    })
    .await;
    let url = format!("/api/analyses/{id}/files/{}", file["id"]);
    let whole = app.get(&url, &app.admin).await;
    whole.assert_status(200);
    assert_eq!(
        whole.header("content-length").as_deref(),
        Some(&*data.len().to_string())
    );
    assert!(whole.bytes == data, "the download differs from the upload");
    // A range across the boundary of the first two parts, a suffix, and one past the end.
    let ranged = |range: &'static str| {
        app.send(
            app.request(Method::GET, &url, Some(&app.admin))
                .header("range", range),
        )
    };
    let across = ranged("bytes=5242000-5243999").await;
    across.assert_status(206);
    assert_eq!(
        across.header("content-range").as_deref(),
        Some(&*format!("bytes 5242000-5243999/{}", data.len()))
    );
    assert_eq!(across.bytes, data[5_242_000..5_244_000]);
    let suffix = ranged("bytes=-10").await;
    suffix.assert_status(206);
    assert_eq!(suffix.bytes, data[data.len() - 10..]);
    ranged("bytes=99999999-").await.assert_status(416);
    // Deleting the analysis removes its objects from the bucket.
    app.delete(&format!("/jobs-api/analyses/{id}"), &job)
        .await
        .assert_status(204);
    assert!(app.stored_names(&id).await.is_empty());
});

// A client that goes away after two parts: the multipart upload is aborted, its marker removed,
// no object and no row is left, and the name is free again.
on_the_store!(cut_off_upload_leaves_nothing, |app: TestApp| async move {
    let (id, _) = analysis_with_job(&app, "nuvs").await;
    let body = multipart_body("big.bin", &pattern(16 << 20, 9));
    let path = format!("/api/analyses/{id}/files?name=big.bin");
    let stream = partial_upload(&app.base, &path, &app.admin, &body, 11 << 20).await;
    bucket_until(&app, "markers/", "the upload marker appears", |k| {
        k.len() == 1
    })
    .await;
    drop(stream);
    bucket_until(&app, "markers/", "the upload is aborted", |k| k.is_empty()).await;
    assert!(app.stored_names(&id).await.is_empty());
    assert_eq!(app.rows("analysis_files", "analysis_id", &id).await, 0);
    app.multipart(
        Method::POST,
        &path,
        &app.admin,
        "big.bin",
        b"again".to_vec(),
    )
    .await
    .assert_status(201);
});

/// `vira serve` options of an instance on the bucket under `url`, with a short stale age so the
/// sweep's decisions show within a test.
fn s3_options(url: &str) -> Vec<String> {
    let mut options = garage().expect("garage").options(url);
    options.extend(
        [
            "--s3-part-bytes",
            "5242880",
            "--stale-upload-secs",
            "4",
            "--sweep-interval",
            "1",
            "--no-blast-worker",
        ]
        .map(String::from),
    );
    options
}

/// `kill -9` mid-upload leaves a marker and an unfinished multipart upload; a crash between commit
/// and insert leaves an object without a record. Another instance's sweep removes both once they
/// are older than `--stale-upload-secs`, and leaves recorded files alone.
async fn killed_writer_is_swept_by_age(backend: Backend) {
    let Some(garage) = garage() else {
        return;
    };
    let Some((dir, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let (bucket_url, prefix) = garage.new_prefix_url();
    let options = s3_options(&bucket_url);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let client = garage.client();
    let admin = create_admin_process(dir.path(), &url).await;
    let mut inst = Instance::start(dir.path(), &url, &options).await;
    let (id, _) = analysis_with_job(&inst.as_admin(&admin), "nuvs").await;
    let body = multipart_body("reads.sam", &pattern(16 << 20, 13));
    let path = format!("/api/analyses/{id}/files?name=reads.sam");
    let _stream = partial_upload(&inst.base, &path, &admin, &body, 11 << 20).await;
    let mut markers = Vec::new();
    for _ in 0..200 {
        markers = bucket_keys(&client, &prefix, "markers/").await;
        if !markers.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(markers.len(), 1, "the upload marker appears");
    inst.kill9().await;
    let orphan = format!("analyses/{id}/99-orphan.sam");
    put_object(&client, &prefix, &orphan, b"orphan").await;
    for other in [
        "uploads/99-orphan.fq.gz",
        "samples/nosuchsample/reads_1.fq.gz",
        "indexes/nosuchindex/reference.1.bt2",
        "subtractions/nosuchsubtraction/subtraction.fa.gz",
    ] {
        put_object(&client, &prefix, other, b"orphan").await;
    }

    let inst = Instance::start(dir.path(), &url, &options).await;
    // Young objects survive the start-up sweep: their writers may still be alive.
    assert_eq!(bucket_keys(&client, &prefix, "markers/").await, markers);
    let reply = inst
        .multipart(Method::POST, &path, &admin, "reads.sam", b"@HD".to_vec())
        .await;
    reply.assert_status(201);
    let kept = format!(
        "analyses/{id}/{}",
        reply.json()["name_on_disk"].as_str().unwrap()
    );
    let mut left = Vec::new();
    for _ in 0..200 {
        left = bucket_keys(&client, &prefix, "").await;
        if left == [kept.clone()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, [kept], "the sweep removes the marker and the orphans");
    let file_id = reply.json()["id"].as_i64().unwrap();
    let download = inst
        .get(&format!("/api/analyses/{id}/files/{file_id}"), &admin)
        .await;
    assert_eq!(download.bytes, b"@HD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_is_swept_by_age_sqlite() {
    killed_writer_is_swept_by_age(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_is_swept_by_age_postgres() {
    killed_writer_is_swept_by_age(Backend::Postgres).await;
}

/// Two instances with data paths of their own (as on two hosts), one PostgreSQL database and one
/// bucket: a file uploaded through one is downloaded through the other, and a delete through the
/// other removes its object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_bucket() {
    let Some(garage) = garage() else {
        return;
    };
    let Some((dir_a, url, _pg)) = process_storage(Backend::Postgres).await else {
        return;
    };
    let dir_b = tempfile::TempDir::new().unwrap();
    let (bucket_url, prefix) = garage.new_prefix_url();
    let options = s3_options(&bucket_url);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let admin = create_admin_process(dir_a.path(), &url).await;
    let (a, b) = tokio::join!(
        Instance::start(dir_a.path(), &url, &options),
        Instance::start(dir_b.path(), &url, &options),
    );
    let (id, job) = analysis_with_job(&a.as_admin(&admin), "nuvs").await;
    let data = pattern(7 << 20, 21);
    let reply = a
        .multipart(
            Method::POST,
            &format!("/jobs-api/analyses/{id}/files?name=reads.fq&format=fastq"),
            &job,
            "reads.fq",
            data.clone(),
        )
        .await;
    reply.assert_status(201);
    let file_id = reply.json()["id"].as_i64().unwrap();
    let download = b
        .get(&format!("/api/analyses/{id}/files/{file_id}"), &admin)
        .await;
    download.assert_status(200);
    assert!(download.bytes == data, "B serves what A stored");
    let analysis = b.get(&format!("/api/analyses/{id}"), &admin).await.json();
    assert_eq!(analysis["files"][0]["id"], json!(file_id));
    b.delete(&format!("/jobs-api/analyses/{id}"), &job)
        .await
        .assert_status(204);
    let client = garage.client();
    assert!(bucket_keys(&client, &prefix, &format!("analyses/{id}/"))
        .await
        .is_empty());
    a.get(&format!("/api/analyses/{id}/files/{file_id}"), &admin)
        .await
        .assert_status(404);
}

/// The resident memory of the server while a 4 GiB file goes up to the store and comes back:
/// each direction keeps its growth under 64 MiB (parts are buffered, never the file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_gib_through_the_store_in_bounded_memory() {
    let Some(garage) = garage() else {
        return;
    };
    let Some((dir, url, _pg)) = process_storage(Backend::Sqlite).await else {
        return;
    };
    let (bucket_url, _) = garage.new_prefix_url();
    let mut options = s3_options(&bucket_url);
    // 4 GiB of file plus the multipart framing.
    options.extend(["--max-upload-bytes".to_owned(), (5u64 << 30).to_string()]);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let admin = create_admin_process(dir.path(), &url).await;
    let inst = Instance::start(dir.path(), &url, &options).await;
    let (id, job) = analysis_with_job(&inst.as_admin(&admin), "nuvs").await;
    let size: u64 = 4 << 30;
    let pid = inst.pid();
    let baseline = rss(pid);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = std::thread::spawn({
        let (peak, sampling) = (peak.clone(), sampling.clone());
        move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(rss(pid), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    });
    // 4 GiB of one repeated 1 MiB block, generated as it is sent.
    let block = bytes::Bytes::from(pattern(1 << 20, 3));
    let chunks = futures_util::stream::iter(
        (0..size >> 20).map(move |_| Ok::<_, std::io::Error>(block.clone())),
    );
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(chunks), size)
            .file_name("huge.bin");
    let form = reqwest::multipart::Form::new().part("file", part);
    let path = format!("/jobs-api/analyses/{id}/files?name=huge.bin");
    let reply = inst
        .send(
            inst.request(Method::POST, &path, Some(&job))
                .multipart(form),
        )
        .await;
    reply.assert_status(201);
    let upload_peak = peak.swap(rss(pid), std::sync::atomic::Ordering::Relaxed);
    let file_id = reply.json()["id"].as_i64().unwrap();
    let response = inst
        .request(
            Method::GET,
            &format!("/api/analyses/{id}/files/{file_id}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut received = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        received += chunk.unwrap().len() as u64;
    }
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    let download_peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(received, size);
    let limit = 64 << 20;
    eprintln!(
        "4 GiB via S3: RSS baseline {} MiB, upload peak {} MiB, download peak {} MiB",
        baseline >> 20,
        upload_peak >> 20,
        download_peak >> 20
    );
    assert!(
        upload_peak.saturating_sub(baseline) < limit,
        "upload: {upload_peak} over {baseline}"
    );
    assert!(
        download_peak.saturating_sub(baseline) < limit,
        "download: {download_peak} over {baseline}"
    );
}

/// `VmRSS` of a process, bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
