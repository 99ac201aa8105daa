//! The scenarios, in order: idle, S, list, transfer, M, L. Targets and Virtool's figures are
//! those of the performance issue.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};

use super::load::{self, Api, Creds, Finalized};
use reqwest::StatusCode;

use super::load::client;
use super::measure::{self, latency, throughput, Plan, Target};
use super::proc::{create_admin, PeakSampler, Server, ADMIN_PASSWORD};
use super::reads_transfer;
use super::report::{at_least, at_most, mib, ms, size, Report};
use super::transfer::{self, Storage};
use super::{Args, Size};

pub const MIB: u64 = 1 << 20;

/// The figures a request scenario is held to, and Virtool's.
#[derive(Default, Clone, Copy)]
struct Spec<'a> {
    p50_max: Option<(Duration, &'a str)>,
    /// Most the p50 may be as a multiple of the floor's p50.
    floor_ratio_max: Option<f64>,
    rate_min: Option<(f64, &'a str)>,
    virtool_p50: &'a str,
    virtool_rate: &'a str,
    virtool_rss: &'a str,
}

/// A generated size (data.md §5.2) and its targets.
struct Tier {
    size: Size,
    name: &'static str,
    stem: &'static str,
    finalize_max: (Duration, &'static str),
    get_max: (Duration, &'static str),
    export_max: (Duration, &'static str),
    virtool_get: &'static str,
    virtool_exports: [&'static str; 2],
    virtool_rss: &'static str,
}

const M: Tier = Tier {
    size: Size::M,
    name: "M",
    stem: "realistic",
    finalize_max: (Duration::from_secs(1), "1 s"),
    get_max: (Duration::from_millis(30), "30 ms"),
    export_max: (Duration::from_millis(300), "300 ms"),
    virtool_get: "10.9 s",
    virtool_exports: ["13.0 s", "9.5 s"],
    virtool_rss: "1.6 GB",
};

const L: Tier = Tier {
    size: Size::L,
    name: "L",
    stem: "nearlimit",
    finalize_max: (Duration::from_secs(3), "3 s"),
    get_max: (Duration::from_millis(100), "100 ms"),
    export_max: (Duration::from_secs(1), "1 s"),
    virtool_get: "18.2 s",
    virtool_exports: ["18.0 s", "18.3 s"],
    virtool_rss: "0.95 GB",
};

/// What a measured request scenario gives back.
struct Measured {
    p50: Duration,
    peak: u64,
    body_bytes: u64,
}

struct Bench {
    api: Api,
    server: Server,
    plan: Plan,
    quick: bool,
    report: Report,
    /// The administrator's session cookie, for the pages.
    cookie: String,
    /// The server's database, for rows written straight into it.
    database_url: String,
    /// The p50 of the floor (an unauthenticated 404), once measured.
    floor_p50: Option<Duration>,
}

/// Every scenario on one database (SQLite when `database_url` is `None`).
pub async fn run_all(
    args: &Args,
    vira: &Path,
    fixtures: &Path,
    work: &Path,
    database_url: Option<&str>,
) -> Result<Report> {
    let data = work.join("data");
    std::fs::create_dir_all(&data)?;
    progress(match database_url {
        None => "SQLite run",
        Some(_) => "PostgreSQL run",
    });
    let key = create_admin(vira, &data, database_url)?;
    let server = Server::start(vira, &data, database_url, &[], &work.join("vira.log")).await?;
    let api = Api {
        base: server.base.clone(),
        client: client()?,
        admin: Creds {
            login: "admin".into(),
            key,
        },
    };
    let cookie = api.session("admin", ADMIN_PASSWORD).await?;
    let mut b = Bench {
        api,
        server,
        plan: Plan::new(args.quick),
        quick: args.quick,
        report: Report::default(),
        cookie,
        database_url: database_url
            .map(str::to_owned)
            .unwrap_or_else(|| format!("sqlite://{}/vira.db", data.display())),
        floor_p50: None,
    };
    if args.claims_only {
        super::claims::run(&b.api, &b.database_url, b.quick, &mut b.report).await?;
        return Ok(b.report);
    }
    let repeats = if args.quick { 1 } else { 3 };

    tokio::time::sleep(Duration::from_millis(if b.quick { 100 } else { 1000 })).await;
    let idle = b.server.mem()?.rss;
    let check = at_most(idle, 40 * MIB, "40 MiB");
    b.report.add("Idle", "RSS", mib(idle), check, "~140 MB");
    // The floor: what any request costs before it does anything.
    let floor = Target::anonymous(&b.api, "/api/nope", StatusCode::NOT_FOUND);
    let floor = b
        .measure("Floor (unauthenticated 404)", floor, Spec::default())
        .await?;
    b.floor_p50 = Some(floor.p50);
    // An authenticated GET of the smallest object: the fixed cost of a key and one query.
    let bench_sample = b.api.sample("floor").await?;
    let ratio = if database_url.is_some() { 3.0 } else { 2.0 };
    b.requests(
        "GET a sample (authenticated)",
        &format!("/api/samples/{bench_sample}"),
        Spec {
            floor_ratio_max: Some(ratio),
            virtool_p50: "",
            ..Spec::default()
        },
    )
    .await?;

    progress("S: import otus.json.gz, index, HMM annotations");
    let s_ref = b
        .api
        .reference(&fixtures.join("reference/otus.json.gz"), "bench-S")
        .await?;
    let ids = fixtures.join("hmm/nuvs_results_hmm_ids.derived.json");
    b.api.annotations(&load::hmm_annotations(&ids)?).await?;
    let sample = b.api.sample("bench").await?;

    if args.size.has(Size::S) {
        progress("S: finalize Pathoscope and NuVs");
        let results =
            load::read_maybe_gz(&fixtures.join("pathoscope/results.fitted.derived.json"))?;
        let body = load::finalize_body(&results);
        let pid = b.server.pid;
        let ps = b
            .api
            .finalized(pid, &sample, &s_ref, "pathoscope_bowtie", body, repeats)
            .await?;
        b.finalize_rows("Finalize S Pathoscope", &ps, None);
        let body = load::finalize_body(&load::nuvs_results(&fixtures.join("nuvs/results.json"))?);
        let nv = b
            .api
            .finalized(pid, &sample, &s_ref, "nuvs", body, repeats)
            .await?;
        b.finalize_rows("Finalize S NuVs", &nv, None);

        let fast = Spec {
            p50_max: Some((Duration::from_micros(350), "0.35 ms")),
            rate_min: Some((3000.0, "3,000 req/s")),
            ..Spec::default()
        };
        let id = &ps.analysis_id;
        b.requests(
            "GET S Pathoscope",
            &format!("/api/analyses/{id}"),
            Spec {
                virtool_p50: "272 ms",
                virtool_rate: "3.8 req/s",
                ..fast
            },
        )
        .await?;
        b.encoded_gets("GET S Pathoscope", &format!("/api/analyses/{id}"), false)
            .await?;
        let path = format!("/api/analyses/{}", nv.analysis_id);
        b.requests(
            "GET S NuVs",
            &path,
            Spec {
                virtool_p50: "37 ms",
                virtool_rate: "58 req/s",
                ..fast
            },
        )
        .await?;
        let ms10 = Some((Duration::from_millis(10), "10 ms"));
        for (name, analysis) in [("Page S Pathoscope", id), ("Page S NuVs", &nv.analysis_id)] {
            let page = Target::page(&b.api, &b.cookie, &format!("/analyses/{analysis}"));
            b.measure(
                name,
                page,
                Spec {
                    p50_max: ms10,
                    ..Spec::default()
                },
            )
            .await?;
        }
        b.exports(
            "S",
            id,
            Duration::from_micros(500),
            "0.5 ms",
            ["205 ms", "238 ms"],
            "",
        )
        .await?;
    }

    b.list(&sample, &s_ref).await?;
    super::claims::run(&b.api, &b.database_url, b.quick, &mut b.report).await?;
    let (analysis_id, _) = b.api.analysis(&sample, &s_ref, "pathoscope_bowtie").await?;
    let pid = b.server.pid;
    transfer::run(
        &b.api,
        pid,
        args.quick,
        &analysis_id,
        work,
        Storage::Local,
        &mut b.report,
    )
    .await?;
    reads_transfer::run(&b.api, pid, args.quick, work, &data, &mut b.report).await?;
    if let Some(url) = &args.s3 {
        // A second server on the same database, keeping files on the store: same key, same
        // analysis, only the storage differs.
        progress("transfer on the object store");
        let prefix = format!("{}/bench-{}", url.trim_end_matches('/'), std::process::id());
        let db_url = b.database_url.clone();
        let (store_analysis, _) = b.api.analysis(&sample, &s_ref, "pathoscope_bowtie").await?;
        let store_server = Server::start(
            vira,
            &work.join("s3-data"),
            Some(&db_url),
            &["--storage", &prefix],
            &work.join("vira-s3.log"),
        )
        .await?;
        let api = Api {
            base: store_server.base.clone(),
            client: client()?,
            admin: b.api.admin.clone(),
        };
        transfer::run(
            &api,
            store_server.pid,
            args.quick,
            &store_analysis,
            work,
            Storage::S3,
            &mut b.report,
        )
        .await?;
    }

    for tier in [M, L] {
        if args.size.has(tier.size) {
            b.tier(&tier, fixtures, &sample, repeats).await?;
        }
    }
    let rss = b.server.mem()?.rss;
    b.report.add("Idle after run", "RSS", mib(rss), None, "");
    b.report.note(
        "peak RSS is the server's VmRSS sampled every 10 ms (and VmHWM when it rose) during the \
         scenario, which includes memory the allocator kept from earlier scenarios (see \"at start\")",
    );
    Ok(b.report)
}

pub fn progress(text: &str) {
    eprintln!("vira-bench: {text}");
}

impl Bench {
    /// Import and index the tier's reference, finalize its results, measure GET, CSV and XLSX.
    async fn tier(
        &mut self,
        t: &Tier,
        fixtures: &Path,
        sample: &str,
        repeats: usize,
    ) -> Result<()> {
        let (name, stem) = (t.name, t.stem);
        progress(&format!("{name}: import {stem}.otus.json.gz, index"));
        let otus = fixtures.join(format!("bench/{stem}.otus.json.gz"));
        let ref_id = self.api.reference(&otus, &format!("bench-{name}")).await?;
        progress(&format!(
            "{name}: finalize {stem}.results.json.gz x{repeats}"
        ));
        let file = fixtures.join(format!("bench/{stem}.results.json.gz"));
        let body = load::finalize_body(&load::read_maybe_gz(&file)?);
        let pid = self.server.pid;
        let workflow = "pathoscope_bowtie";
        let done = self
            .api
            .finalized(pid, sample, &ref_id, workflow, body, repeats)
            .await?;
        let rss_max = (t.size == Size::L).then(|| 3 * done.body_bytes as u64);
        let (max, text) = t.finalize_max;
        self.finalize_rows(
            &format!("Finalize {name}"),
            &done,
            Some((max, text, rss_max)),
        );
        let id = &done.analysis_id;
        let spec = Spec {
            p50_max: Some(t.get_max),
            virtool_p50: t.virtool_get,
            virtool_rss: t.virtool_rss,
            ..Spec::default()
        };
        let path = format!("/api/analyses/{id}");
        let get = self.requests(&format!("GET {name}"), &path, spec).await?;
        self.encoded_gets(&format!("GET {name}"), &path, t.size == Size::L)
            .await?;
        if t.size == Size::L {
            self.page_l(id).await?;
        }
        let (max, text) = t.export_max;
        let exports = self
            .exports(name, id, max, text, t.virtool_exports, t.virtool_rss)
            .await?;
        if t.size == Size::L {
            let peak = get.max(exports);
            let check = at_most(peak, 300 * MIB, "300 MiB");
            self.report.add(
                "Serving L",
                "peak RSS (GET, CSV, XLSX)",
                mib(peak),
                check,
                t.virtool_rss,
            );
        }
        Ok(())
    }

    /// The GET of `path` again with `Accept-Encoding: gzip`, then `br`: the stored compressed
    /// copies, no compression per request. Their p50 and their bytes against the identity
    /// reply's; with `five_fold`, the goal of 5x fewer bytes for the best coding a client may
    /// ask for (issue 13 sets it for L; smaller bodies are shown without a goal).
    async fn encoded_gets(&mut self, name: &str, path: &str, five_fold: bool) -> Result<()> {
        let plain = Target::new(&self.api, path);
        let plain_bytes = plain.fetch(&client()?).await?;
        let br_goal = five_fold.then_some((5.0, "5x"));
        for (coding, goal) in [("gzip", None), ("br", br_goal)] {
            let target = plain.clone().with_header("accept-encoding", coding);
            let row = format!("{name} ({coding})");
            let measured = self.measure(&row, target, Spec::default()).await?;
            let ratio = plain_bytes as f64 / measured.body_bytes.max(1) as f64;
            let check = goal.and_then(|(min, text)| at_least(ratio, min, text));
            self.report.add(
                &row,
                &format!("identity bytes / {coding} bytes"),
                format!("{ratio:.1}x"),
                check,
                "",
            );
        }
        Ok(())
    }

    /// The page of the L analysis: server time, HTML+SVG size, and the bytes sent gzipped.
    async fn page_l(&mut self, id: &str) -> Result<()> {
        let page = Target::page(&self.api, &self.cookie, &format!("/analyses/{id}"));
        let spec = Spec {
            p50_max: Some((Duration::from_millis(150), "150 ms")),
            ..Spec::default()
        };
        self.measure("Page L Pathoscope", page.clone(), spec)
            .await?;
        let client = client()?;
        let bytes = page.fetch(&client).await?;
        let check = at_most(bytes, 3_000_000, "3 MB");
        self.report
            .add("Page L Pathoscope", "HTML+SVG size", size(bytes), check, "");
        let gzipped = page
            .with_header("accept-encoding", "gzip")
            .fetch(&client)
            .await?;
        self.report.add(
            "Page L Pathoscope",
            "bytes sent with gzip",
            size(gzipped),
            None,
            "",
        );
        Ok(())
    }

    /// [`Self::measure`] of an API GET as the administrator; its peak RSS.
    async fn requests(&mut self, name: &str, path: &str, spec: Spec<'_>) -> Result<u64> {
        let target = Target::new(&self.api, path);
        Ok(self.measure(name, target, spec).await?.peak)
    }

    /// Latency at one connection, then throughput at `plan.connections`; the peak RSS of both.
    async fn measure(&mut self, name: &str, target: Target, spec: Spec<'_>) -> Result<Measured> {
        progress(&format!("measure {name}"));
        let sampler = PeakSampler::start(self.server.pid)?;
        let lat = latency(&target, &self.plan).await?;
        let rate = throughput(&target, &self.plan).await?;
        let start_rss = sampler.before();
        let peak = sampler.finish();
        let check = spec
            .p50_max
            .and_then(|(max, text)| at_most(lat.p50, max, text));
        let metric = format!("p50 ({} body)", size(lat.body_bytes));
        self.report
            .add(name, &metric, ms(lat.p50), check, spec.virtool_p50);
        if let (Some(max), Some(floor)) = (spec.floor_ratio_max, self.floor_p50) {
            let ratio = lat.p50.as_secs_f64() / floor.as_secs_f64().max(1e-9);
            let check = at_most(ratio, max, format!("{max}x"));
            self.report
                .add(name, "p50 / floor p50", format!("{ratio:.2}x"), check, "");
        }
        let metric = format!("p99 ({} samples)", lat.samples);
        self.report.add(name, &metric, ms(lat.p99), None, "");
        let check = spec
            .rate_min
            .and_then(|(min, text)| at_least(rate, min, text));
        let metric = format!("req/s @{}", self.plan.connections);
        self.report.add(
            name,
            &metric,
            format!("{rate:.1}"),
            check,
            spec.virtool_rate,
        );
        let metric = format!("peak RSS (at start {})", mib(start_rss));
        self.report
            .add(name, &metric, mib(peak), None, spec.virtool_rss);
        Ok(Measured {
            p50: lat.p50,
            peak,
            body_bytes: lat.body_bytes,
        })
    }

    /// CSV and XLSX exports of one analysis; the peak RSS of both.
    async fn exports(
        &mut self,
        size: &str,
        id: &str,
        max: Duration,
        text: &str,
        virtool: [&str; 2],
        virtool_rss: &str,
    ) -> Result<u64> {
        let mut peak = 0;
        for (ext, virtool_p50) in ["csv", "xlsx"].into_iter().zip(virtool) {
            let name = format!("{} {size}", ext.to_uppercase());
            let path = format!("/api/analyses/document/{id}.{ext}");
            let spec = Spec {
                p50_max: Some((max, text)),
                virtool_p50,
                virtool_rss,
                ..Spec::default()
            };
            peak = peak.max(self.requests(&name, &path, spec).await?);
        }
        Ok(peak)
    }

    fn finalize_rows(
        &mut self,
        name: &str,
        done: &Finalized,
        limits: Option<(Duration, &str, Option<u64>)>,
    ) {
        let mut times = done.times.clone();
        times.sort_unstable();
        let p50 = measure::percentile(&times, 0.5);
        let peak = done.peaks.iter().copied().max().unwrap_or(0);
        let metric = format!(
            "time, p50 of {} ({} body)",
            times.len(),
            size(done.body_bytes as u64)
        );
        let check = limits.and_then(|(max, text, _)| at_most(p50, max, text));
        self.report.add(name, &metric, ms(p50), check, "");
        let check = limits
            .and_then(|(_, _, rss)| rss)
            .and_then(|max| at_most(peak, max, format!("{} (3x body)", mib(max))));
        let metric = format!("peak RSS (at start {})", mib(done.rss_before));
        self.report.add(name, &metric, mib(peak), check, "");
        let mut after = done.brotli_after.clone();
        after.sort_unstable();
        let metric = format!("brotli copy served after, p50 of {}", after.len());
        self.report.add(
            name,
            &metric,
            ms(measure::percentile(&after, 0.5)),
            None,
            "",
        );
    }

    /// U1 first page with 10,000 analyses in all (`--quick`: 200).
    async fn list(&mut self, sample: &str, ref_id: &str) -> Result<()> {
        let want: u64 = if self.quick { 200 } else { 10_000 };
        let have = self.api.analysis_count().await?;
        progress(&format!(
            "list: create {} analyses (U10, 16 at a time)",
            want.saturating_sub(have)
        ));
        let missing = want.saturating_sub(have) as usize;
        self.api.many_analyses(sample, ref_id, missing, 16).await?;
        let total = self.api.analysis_count().await?;
        if total != want.max(have) {
            bail!("expected {want} analyses, the list counts {total}");
        }
        super::seed::analyze(&self.database_url).await?;
        if self.database_url.starts_with("postgres") {
            self.report.note(
                "PostgreSQL: `ANALYZE` after each bulk load of the list scenarios (10,000 \
                 analyses through the API, then the million written directly), as autovacuum \
                 does within a minute in a steady state",
            );
        }
        if self.quick {
            self.report.note(format!(
                "--quick: the list scenario has {total} analyses, not 10,000"
            ));
        }
        let spec = Spec {
            p50_max: Some((Duration::from_micros(500), "0.5 ms")),
            virtool_p50: "50–55 ms",
            virtool_rate: "18–20 req/s",
            ..Spec::default()
        };
        self.measure_list(total, spec).await?;

        // The million: copies of one analysis, written straight into the database.
        let (template, _) = self.api.analysis(sample, ref_id, "nuvs").await?;
        let want: u64 = if self.quick { 2_000 } else { 1_000_000 };
        let have = total + 1;
        progress(&format!(
            "list: write {} analyses into the database",
            want - have
        ));
        super::seed::analyses(&self.database_url, &template, 1, want - have).await?;
        let total = self.api.analysis_count().await?;
        if total != want {
            bail!("expected {want} analyses, the list counts {total}");
        }
        let spec = Spec {
            p50_max: Some((Duration::from_millis(2), "2 ms")),
            ..Spec::default()
        };
        self.measure_list(total, spec).await
    }

    async fn measure_list(&mut self, total: u64, spec: Spec<'_>) -> Result<()> {
        let name = format!("List 25/{}", thousands(total));
        self.requests(&name, "/api/analyses?per_page=25", spec)
            .await?;
        Ok(())
    }
}

/// `1000000` as `1,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
