//! `vira-bench --workflows`: the workflow figures of issue 25, on a release `vira serve --workers 1`
//! with a fresh SQLite data path.
//!
//! 1. Step 5 of Pathoscope on `test.vta`, in this process ([`em_timing`]).
//! 2. The reference imported and indexed (`build_index`), the host subtraction (`create_subtraction`).
//! 3. For a small and a full deterministic sample ([`sample_reads`]): upload, `create_sample`, then
//!    `pathoscope_bowtie` with the subtraction, timed from its job document, the server's peak RSS
//!    sampled meanwhile (its own pid: bowtie2 runs as a child and is not counted); then the job's
//!    bowtie2 and bowtie2-build command lines, as the worker logged them, re-run alone from its
//!    kept work directory: the floor.
//! 4. `create_sample` of a 2 GiB FASTQ.gz (deflate level 1) against plain decompression of the
//!    same file in this process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use super::jobs::{self, create_sample};
use super::load::{client, Api, Creds};
use super::proc::{create_admin, PeakSampler, Server};
use super::report::{at_least, at_most, mib, ms, Report};
use super::sample_reads::{write_fastq_gz, Sources, Until};
use super::scenarios::{progress, thousands, MIB};
use super::{em_timing, Args, Only};

/// What one run measures: read counts of the two samples, the size of the big file, EM runs.
struct Plan {
    small: u64,
    full: u64,
    big_file: u64,
    big_label: &'static str,
    em_runs: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                small: 20_000,
                full: 50_000,
                big_file: 64 * MIB,
                big_label: "64 MiB",
                em_runs: 5,
            }
        } else {
            Plan {
                small: 500_000,
                full: 2_000_000,
                big_file: 2 << 30,
                big_label: "2 GiB",
                em_runs: 20,
            }
        }
    }
}

/// The targets of issue 25.
const WALL_RATIO_MAX: f64 = 1.10;
const WORKER_RSS_MAX: u64 = 256 * MIB;
const EM_MAX: Duration = Duration::from_millis(20);
const CREATE_SAMPLE_MIN: f64 = 0.80;

pub async fn run(args: &Args, vira: &Path, fixtures: &Path, work: &Path) -> Result<Report> {
    let plan = Plan::new(args.quick);
    let mut report = Report::default();
    report.databases.push("SQLite".to_owned());
    if args.only == Some(Only::CreateSample) {
        let sources = Sources::load(fixtures)?;
        let (server, api, _, jobs_dir) = start_server(vira, work).await?;
        let big = Big {
            api: &api,
            pid: server.pid,
            jobs_dir: &jobs_dir,
        };
        create_sample_big(&big, &sources, &plan, work, &mut report).await?;
        return Ok(report);
    }

    progress("workflows: EM + rewrite + coverage + report of test.vta");
    let times = em_timing::time(fixtures, plan.em_runs)?;
    let p50 = times[times.len() / 2];
    report.add(
        "Pathoscope step 5 (test.vta)",
        &format!("EM + rewrite + coverage + report, p50 of {}", times.len()),
        ms(p50),
        at_most(p50, EM_MAX, "20 ms"),
        "",
    );

    let sources = Sources::load(fixtures)?;
    let mut samples = Vec::new();
    for reads in [plan.small, plan.full] {
        let file = work.join(format!("sample-{reads}.fq.gz"));
        progress(&format!("workflows: generate {} reads", thousands(reads)));
        let start = Instant::now();
        write_fastq_gz(&sources, &file, Until::Reads(reads), 6)?;
        let size = std::fs::metadata(&file)?.len();
        report.note(format!(
            "the {} read sample ({:.0} MB, deflate level 6) took {:.1} s to generate",
            thousands(reads),
            size as f64 / 1e6,
            start.elapsed().as_secs_f64()
        ));
        samples.push((reads, file));
    }

    let (server, api, log, jobs_dir) = start_server(vira, work).await?;

    progress("workflows: import otus.json.gz, build_index, create_subtraction");
    let (ref_id, subtraction_id) = reference_and_host(&api, fixtures).await?;

    let mut peaks = Vec::new();
    for (reads, file) in &samples {
        let name = format!("pathoscope_bowtie, {} reads", thousands(*reads));
        progress(&format!("workflows: {name}"));
        let upload = api.upload(file, "sample.fq.gz", "reads").await?;
        let (sample, sample_job) = create_sample(&api, &format!("bench {reads}"), upload).await?;
        let created = api.wait_for_job(&sample_job).await?;
        report.note(format!(
            "create_sample of the {} read sample: {} ({})",
            thousands(*reads),
            ms(jobs::wall(&created)?),
            jobs::stages(&created)
        ));
        let body = json!({"ref_id": ref_id, "workflow": "pathoscope_bowtie",
            "subtractions": [subtraction_id]});
        let analysis = api
            .created(&format!("/api/samples/{sample}/analyses"), &body)
            .await?;
        let job_id = jobs::job_id(&analysis)?;
        let sampler = PeakSampler::start(server.pid)?;
        let job = api.wait_for_job(&job_id).await?;
        let peak = sampler.finish();
        let wall = jobs::wall(&job)?;
        let runs = jobs::tool_runs(&log, &job_id)?;
        progress(&format!("workflows: the floor ({})", jobs::programs(&runs)));
        let floor = tokio::task::block_in_place(|| jobs::run_alone(&runs))?;
        let ratio = wall.as_secs_f64() / floor.as_secs_f64().max(1e-9);
        report.add(&name, "job wall time", ms(wall), None, "");
        let metric = format!("floor: {} alone", jobs::programs(&runs));
        report.add(&name, &metric, ms(floor), None, "");
        let check = at_most(ratio, WALL_RATIO_MAX, format!("{WALL_RATIO_MAX:.2}x"));
        report.add(&name, "job wall / floor", format!("{ratio:.3}x"), check, "");
        let check = at_most(peak, WORKER_RSS_MAX, "256 MiB");
        report.add(
            &name,
            "serve peak RSS (bowtie2 excluded)",
            mib(peak),
            check,
            "",
        );
        report.note(format!("{name}: {}", jobs::stages(&job)));
        peaks.push(peak);
        // The kept inputs are not needed any more; the big file needs the room.
        let _ = std::fs::remove_dir_all(jobs_dir.join(&job_id));
        let _ = std::fs::remove_dir_all(jobs_dir.join(&sample_job));
    }
    if let [small, full] = peaks[..] {
        let growth = full as i64 - small as i64;
        report.add(
            "pathoscope_bowtie",
            &format!(
                "peak RSS, {} reads minus {} reads",
                thousands(plan.full),
                thousands(plan.small)
            ),
            format!("{:+.1} MiB", growth as f64 / MIB as f64),
            None,
            "",
        );
    }

    let big = Big {
        api: &api,
        pid: server.pid,
        jobs_dir: &jobs_dir,
    };
    create_sample_big(&big, &sources, &plan, work, &mut report).await?;

    report.note(
        "job wall time: the job's first `preparing` entry to its `complete` entry (U31), so it \
         includes downloading the inputs from the server; the floor is the same bowtie2 and \
         bowtie2-build command lines (logged by the worker) run one after the other from the \
         job's kept work directory, output to /dev/null, same threads",
    );
    report.note(
        "serve peak RSS: VmRSS of the `vira serve` process (its embedded worker included, its \
         bowtie2 children not) sampled every 10 ms during the job, and VmHWM when it rose",
    );
    Ok(report)
}

/// The inputs of a run, generated and thrown away, each with the time it took.
pub fn generate_only(args: &Args, fixtures: &Path, work: &Path) -> Result<()> {
    let plan = Plan::new(args.quick);
    let sources = Sources::load(fixtures)?;
    let file = work.join("generated.fq.gz");
    for (what, until, level) in [
        (
            thousands(plan.small) + " reads",
            Until::Reads(plan.small),
            6,
        ),
        (thousands(plan.full) + " reads", Until::Reads(plan.full), 6),
        (plan.big_label.to_owned(), Until::Bytes(plan.big_file), 1),
    ] {
        let start = Instant::now();
        let reads = write_fastq_gz(&sources, &file, until, level)?;
        let elapsed = start.elapsed();
        let size = std::fs::metadata(&file)?.len();
        println!(
            "{what}: {} reads, {:.0} MB at level {level}, {:.1} s",
            thousands(reads),
            size as f64 / 1e6,
            elapsed.as_secs_f64()
        );
        std::fs::remove_file(&file)?;
    }
    Ok(())
}

/// A release `vira serve --workers 1` on a fresh SQLite data path in `work`, its worker keeping
/// its job directories; the server, its API as the administrator, its log and the jobs' folder.
async fn start_server(vira: &Path, work: &Path) -> Result<(Server, Api, PathBuf, PathBuf)> {
    let data = work.join("data");
    let jobs_dir = work.join("jobs");
    std::fs::create_dir_all(&data)?;
    let key = create_admin(vira, &data, None)?;
    let log = work.join("vira.log");
    let jobs_arg = jobs_dir.to_string_lossy().into_owned();
    let server = Server::start_with_env(
        vira,
        &data,
        None,
        &[
            "--workers",
            "1",
            "--worker-keep-work",
            "--worker-work-dir",
            &jobs_arg,
            "--worker-poll-interval",
            "1",
        ],
        &log,
        &[
            ("VIRA_LOG", "warn,vira::worker::tools=info"),
            ("VIRA_LOG_FORMAT", "json"),
        ],
    )
    .await?;
    let api = Api {
        base: server.base.clone(),
        client: client()?,
        admin: Creds {
            login: "admin".into(),
            key,
        },
    };

    Ok((server, api, log, jobs_dir))
}

/// U18 + U19 and U21 + U17, waiting for `build_index` and `create_subtraction`; the reference's
/// id and the subtraction's.
async fn reference_and_host(api: &Api, fixtures: &Path) -> Result<(String, String)> {
    let otus = fixtures.join("reference/otus.json.gz");
    let upload_ref =
        reqwest::multipart::Part::bytes(std::fs::read(&otus)?).file_name("otus.json.gz");
    let form = reqwest::multipart::Form::new().part("file", upload_ref);
    let request = api
        .request(
            reqwest::Method::POST,
            "/api/refs/import?name=bench-workflows",
            Some(&api.admin),
        )
        .multipart(form);
    let reference: serde_json::Value =
        serde_json::from_slice(&api.expect(request, reqwest::StatusCode::CREATED).await?)?;
    let ref_id = reference["id"].as_str().unwrap_or_default().to_owned();
    let index = api
        .created(&format!("/api/refs/{ref_id}/indexes"), &json!({}))
        .await?;
    let index_job = jobs::job_id(&index)?;

    let host = api
        .upload(
            &fixtures.join("sim/host1.fa.gz"),
            "host1.fa.gz",
            "subtraction",
        )
        .await?;
    let subtraction = api
        .created(
            "/api/subtractions",
            &json!({"name": "host1", "upload_id": host}),
        )
        .await?;
    let subtraction_id = subtraction["id"].as_str().unwrap_or_default().to_owned();
    api.wait_for_job(&index_job).await?;
    api.wait_for_job(&jobs::job_id(&subtraction)?).await?;
    Ok((ref_id, subtraction_id))
}

/// The server `create_sample_big` runs on.
struct Big<'a> {
    api: &'a Api,
    pid: u32,
    jobs_dir: &'a Path,
}

/// `create_sample` of one big FASTQ.gz against `MultiGzDecoder` of the same file into a sink.
async fn create_sample_big(
    server: &Big<'_>,
    sources: &Sources,
    plan: &Plan,
    work: &Path,
    report: &mut Report,
) -> Result<()> {
    let api = server.api;
    let label = plan.big_label;
    let file = work.join("big.fq.gz");
    progress(&format!("workflows: generate a {label} FASTQ.gz (level 1)"));
    let start = Instant::now();
    let reads = write_fastq_gz(sources, &file, Until::Bytes(plan.big_file), 1)?;
    let generated = start.elapsed();
    let size = std::fs::metadata(&file)?.len();

    progress(&format!("workflows: decompress {label} alone"));
    let decompress = tokio::task::block_in_place(|| decompress(&file))?;
    progress(&format!("workflows: create_sample of {label}"));
    let upload = api.upload(&file, "big.fq.gz", "reads").await?;
    let sampler = PeakSampler::start(server.pid)?;
    let (_, job_id) = create_sample(api, "bench big", upload).await?;
    let job = api.wait_for_job(&job_id).await?;
    let peak = sampler.finish();
    let wall = jobs::wall(&job)?;
    let _ = std::fs::remove_dir_all(server.jobs_dir.join(&job_id));
    std::fs::remove_file(&file)?;

    let name = format!("create_sample {label} FASTQ.gz");
    let rate = |d: Duration| size as f64 / 1e6 / d.as_secs_f64().max(1e-9);
    report.add(&name, "job wall time", ms(wall), None, "");
    report.add(
        &name,
        "job MB/s (compressed bytes)",
        format!("{:.0}", rate(wall)),
        None,
        "",
    );
    report.add(
        &name,
        "plain decompression MB/s (MultiGzDecoder to a sink)",
        format!("{:.0}", rate(decompress)),
        None,
        "",
    );
    let share = decompress.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    let check = at_least(share, CREATE_SAMPLE_MIN, "80%");
    report.add(
        &name,
        "job speed / decompression speed",
        format!("{:.0}%", 100.0 * share),
        check,
        "",
    );
    let check = at_most(peak, WORKER_RSS_MAX, "256 MiB");
    report.add(&name, "serve peak RSS", mib(peak), check, "");
    report.note(format!(
        "{label} FASTQ.gz: {} reads of the same generator, deflate level 1, {:.0} MB, generated \
         in {:.1} s; plain decompression is flate2's `MultiGzDecoder` (the backend vira is built \
         with) into `io::sink`, in vira-bench; create_sample: {}",
        thousands(reads),
        size as f64 / 1e6,
        generated.as_secs_f64(),
        jobs::stages(&job)
    ));
    Ok(())
}

/// Gunzip `file` into a sink; the time.
fn decompress(file: &Path) -> Result<Duration> {
    let start = Instant::now();
    let input = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    std::io::copy(
        &mut flate2::read::MultiGzDecoder::new(input),
        &mut std::io::sink(),
    )?;
    Ok(start.elapsed())
}
