//! Sequencing reads through vira (workflows §2, §3): a deterministic FASTQ.gz of 2 GiB (`--quick`:
//! 16 MiB) uploaded through U21, stored as a sample's reads through J15, and read back through J14
//! and U27, against copying the same bytes to the data path's disk (with `fsync`, as the server's
//! commit does) in the same run.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::load::{client, Api, Creds};
use super::measure::Target;
use super::proc::PeakSampler;
use super::report::{at_least, at_most, mb_per_s, mib, Report};
use super::scenarios::{progress, MIB};

/// Write a gzip FASTQ of exactly `size` bytes: stored (level 0) deflate blocks of 150-nt reads
/// from a fixed xorshift stream, so the file is valid, the same on every run, and made at disk
/// speed. The last record is cut to fit; the content is not checked by these routes.
fn generate_fastq_gz(path: &Path, size: u64) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
    let writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut gz = flate2::write::GzEncoder::new(writer, flate2::Compression::none());
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut record = Vec::with_capacity(400);
    let mut written = 0u64;
    // Stored blocks cost about 0.015 % (flate2 flushes a block per 16 KiB or so) and the gzip
    // frame 18 bytes: stop 0.05 % short, so the file stays within `size`.
    let budget = size - size / 2000 - 64;
    let mut n = 0u64;
    while written < budget {
        record.clear();
        n += 1;
        writeln!(record, "@read{n} 1:N:0:ACGT")?;
        for _ in 0..150 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            record.push(b"ACGT"[(state & 3) as usize]);
        }
        record.extend_from_slice(b"\n+\n");
        record.extend(std::iter::repeat_n(b'I', 150));
        record.push(b'\n');
        let take = record.len().min((budget - written) as usize);
        gz.write_all(&record[..take])?;
        written += take as u64;
    }
    gz.finish()?.flush()?;
    let got = std::fs::metadata(path)?.len();
    if got > size {
        bail!("generated {got} bytes, more than {size}");
    }
    Ok(())
}

/// Copy `from` to `to` and `fsync` it: what storing the bytes on that disk costs.
fn copy_synced(from: &Path, to: &Path) -> Result<Duration> {
    let start = Instant::now();
    std::fs::copy(from, to)?;
    std::fs::File::open(to)?.sync_all()?;
    let elapsed = start.elapsed();
    std::fs::remove_file(to)?;
    Ok(elapsed)
}

/// A streamed multipart upload of `path` (never held in memory); the time to the 201 and its body.
pub async fn send_file(
    api: &Api,
    method: Method,
    path: &str,
    creds: &Creds,
    file: &Path,
) -> Result<(Duration, Value)> {
    let size = std::fs::metadata(file)?.len();
    let stream =
        tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::open(file).await?, 1 << 20);
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), size)
            .file_name("reads.fq.gz");
    let form = reqwest::multipart::Form::new().part("file", part);
    let request = api.request(method, path, Some(creds)).multipart(form);
    let start = Instant::now();
    let body = api.expect(request, StatusCode::CREATED).await?;
    Ok((start.elapsed(), serde_json::from_slice(&body)?))
}

/// A GET of the whole body with `creds`; the time and the size.
async fn fetch(api: &Api, path: &str, creds: &Creds) -> Result<(Duration, u64)> {
    let mut target = Target::new(api, path);
    target.auth = super::measure::Auth::Key(creds.clone());
    let client = client()?;
    let start = Instant::now();
    let got = target.fetch(&client).await?;
    Ok((start.elapsed(), got))
}

/// Measure one transfer: its rate and the server's RSS growth above what it was before.
async fn measured<F, Fut, T>(pid: u32, run: F) -> Result<(T, u64)>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let sampler = PeakSampler::start(pid)?;
    let before = sampler.before();
    let value = run().await?;
    Ok((value, sampler.finish().saturating_sub(before)))
}

pub async fn run(
    api: &Api,
    pid: u32,
    quick: bool,
    work: &Path,
    data: &Path,
    report: &mut Report,
) -> Result<()> {
    let (size, label) = if quick {
        (16 * MIB, "16 MiB")
    } else {
        (2 << 30, "2 GiB")
    };
    let file = work.join("reads.fq.gz");
    progress(&format!("reads: generate a {label} FASTQ.gz"));
    let gen = file.clone();
    tokio::task::spawn_blocking(move || generate_fastq_gz(&gen, size)).await??;
    let size = std::fs::metadata(&file)?.len();
    let copy = copy_synced(&file, &data.join("bench-copy.fq.gz"))?;
    let copy_rate = mb_per_s(size, copy);

    progress(&format!("reads: U21 upload {label}"));
    let admin = api.admin.clone();
    let ((up, upload), up_growth) = measured(pid, || {
        send_file(
            api,
            Method::POST,
            "/api/uploads?name=reads.fq.gz&type=reads",
            &admin,
            &file,
        )
    })
    .await?;
    let body = json!({"name": "bench reads", "files": [upload["id"]]});
    let request = api
        .request(Method::POST, "/api/samples", Some(&admin))
        .header("content-type", "application/json")
        .body(body.to_string());
    let sample: Value = serde_json::from_slice(&api.expect(request, StatusCode::CREATED).await?)?;
    let sample_id = sample["id"].as_str().context("no sample id")?.to_owned();
    let job_id = sample["job"]["id"].as_str().context("no job")?.to_owned();
    let request = api
        .request(Method::PATCH, &format!("/jobs-api/jobs/{job_id}"), None)
        .header("content-type", "application/json")
        .body(r#"{"acquired": true}"#);
    let job: Value = serde_json::from_slice(&api.expect(request, StatusCode::OK).await?)?;
    let job = Creds {
        login: format!("job-{job_id}"),
        key: job["key"].as_str().context("no job key")?.to_owned(),
    };

    progress(&format!("reads: J15 store {label} as reads_1"));
    let reads_path = format!("/jobs-api/samples/{sample_id}/reads/reads_1.fq.gz");
    let ((store, _), store_growth) = measured(pid, || {
        send_file(api, Method::PUT, &reads_path, &job, &file)
    })
    .await?;
    progress(&format!("reads: J14 download {label}"));
    let ((j14, got), j14_growth) = measured(pid, || fetch(api, &reads_path, &job)).await?;
    if got != size {
        bail!("J14 sent {got} bytes of {size}");
    }
    let quality = json!({"quality": {"bases": [], "composition": [], "count": 0,
        "encoding": "Sanger / Illumina 1.9", "gc": 0, "length": [0, 0], "sequences": []}});
    let request = api
        .request(
            Method::PATCH,
            &format!("/jobs-api/samples/{sample_id}"),
            Some(&job),
        )
        .header("content-type", "application/json")
        .body(quality.to_string());
    api.expect(request, StatusCode::OK).await?;
    progress(&format!("reads: U27 download {label}"));
    let user_path = format!("/api/samples/{sample_id}/reads/reads_1.fq.gz");
    let ((u27, got), u27_growth) = measured(pid, || fetch(api, &user_path, &admin)).await?;
    if got != size {
        bail!("U27 sent {got} bytes of {size}");
    }

    let goal = 0.8 * copy_rate;
    report.add(
        &format!("Copy {label} to the data disk"),
        "MB/s, with fsync",
        format!("{copy_rate:.0}"),
        None,
        "",
    );
    for (name, elapsed, growth) in [
        ("Reads upload (U21)", up, up_growth),
        ("Reads store (J15)", store, store_growth),
        ("Reads download (J14)", j14, j14_growth),
        ("Reads download (U27)", u27, u27_growth),
    ] {
        let rate = mb_per_s(size, elapsed);
        let pct = 100.0 * rate / copy_rate;
        let name = format!("{name} {label}");
        let check = at_least(rate, goal, format!("{goal:.0} MB/s (80% of the copy)"));
        report.add(
            &name,
            &format!("MB/s ({pct:.0}% of the copy)"),
            format!("{rate:.0}"),
            check,
            "",
        );
        let check = at_most(growth, 64 * MIB, "64 MiB");
        report.add(&name, "server RSS growth", mib(growth), check, "");
    }
    report.note(format!(
        "reads: a {label} FASTQ.gz (150-nt xorshift reads in stored deflate blocks), streamed from \
         the page cache; the copy is `std::fs::copy` to the data path plus `fsync`; RSS in MiB above \
         the server's RSS before each transfer"
    ));
    std::fs::remove_file(&file)?;
    Ok(())
}
