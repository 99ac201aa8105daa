//! The benchmark harness of `vira-bench`: starts a release `vira serve` on a temporary data path,
//! loads the benchmark data (`../shared/fixtures`, sizes S, M and L of `spec/data.md` §5.2) through
//! the public API, and measures it over real HTTP on loopback. Figures go to stdout and, unless
//! `--quick`, to `BENCHMARKS.md`.
//!
//! `load` drives the API, `measure` times requests and transfers, `proc` watches the server
//! process and the machine, `report` renders, `transfer` moves a large file, `scenarios` puts them together.
//!
//! `--workflows` is a mode of its own (`workflows`): the jobs an embedded worker runs
//! (`vira serve --workers 1`) on a deterministic sample of a few million reads (`sample_reads`),
//! against the same bowtie2 commands run alone (`jobs`); the Pathoscope computation of `test.vta`
//! (`em_timing`); `create_sample` of a 2 GiB FASTQ.gz against plain decompression. It writes the
//! "Latest workflow run" section of `BENCHMARKS.md` and leaves "Latest run" alone.

mod claims;
mod em_timing;
mod jobs;
mod load;
mod measure;
mod proc;
mod reads_transfer;
mod report;
mod sample_reads;
mod scenarios;
mod seed;
mod transfer;
mod workflows;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};

/// Which benchmark sizes to run (the list and transfer scenarios run with every size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Size {
    /// The real fixtures (Pathoscope and NuVs).
    S,
    /// `bench/realistic.*` (≈4.9 M depth values).
    M,
    /// `bench/nearlimit.*` (≈20.5 M depth values).
    L,
    /// S, M and L.
    All,
}

impl Size {
    fn has(self, size: Size) -> bool {
        self == Size::All || self == size
    }
}

/// A scenario of `--workflows` that can run on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// `create_sample` of the big FASTQ.gz against plain decompression.
    CreateSample,
}

/// `vira-bench`: latency, throughput, finalize, transfer and memory figures of `vira serve`.
#[derive(Debug, Parser)]
#[command(name = "vira-bench", version)]
struct Args {
    /// Benchmark size.
    #[arg(long, value_enum, default_value = "s")]
    pub size: Size,

    /// Run the workflow benchmarks instead (issue 25): `pathoscope_bowtie` on 500,000 and
    /// 2,000,000 generated reads against bowtie2 alone, `create_sample` of a 2 GiB FASTQ.gz, the
    /// EM of `test.vta`. Needs bowtie2; ignores `--size`, `--database-url` and `--s3`. With
    /// `--quick`: 20,000 and 50,000 reads, a 64 MiB file.
    #[arg(long)]
    pub workflows: bool,

    /// With `--workflows`: only this scenario (`create-sample`: the 2 GiB FASTQ.gz against plain
    /// decompression). Never writes BENCHMARKS.md (only `--out` when given).
    #[arg(long, value_enum, requires = "workflows")]
    pub only: Option<Only>,

    /// With `--workflows`: only generate its inputs and print how long each took.
    #[arg(long, requires = "workflows")]
    pub generate_only: bool,

    /// Smoke mode: few samples, 0.5 s throughput runs, 200 analyses in the list, a 16 MiB file.
    /// Never writes BENCHMARKS.md (only `--out` when given).
    #[arg(long)]
    pub quick: bool,

    /// Only the claim scenario (8 claimers; 10,000 waiting jobs, `--quick` 1,000), on each
    /// database. Never writes BENCHMARKS.md (only `--out` when given).
    #[arg(long)]
    pub claims_only: bool,

    /// The `vira` binary (default: `vira` next to this executable).
    #[arg(long)]
    pub vira: Option<PathBuf>,

    /// The shared fixtures directory (default: `../shared/fixtures` of the repository).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,

    /// Where to write the report (default: BENCHMARKS.md of the repository, unless `--quick`).
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Parent of the temporary data directory (default: the system temporary directory).
    #[arg(long)]
    pub tmp_dir: Option<PathBuf>,

    /// Also run every scenario on PostgreSQL: a server URL (e.g.
    /// `postgres://postgres@127.0.0.1:5432/test`) on which a fresh database is created for the
    /// run and dropped after. The report then has a column per database.
    #[arg(long)]
    pub database_url: Option<String>,

    /// Also move the transfer file through an S3-compatible store: `s3://bucket/prefix` (the
    /// endpoint and credentials from the `VIRA_S3_*` or `AWS_*` variables, as `vira serve` takes
    /// them; `scripts/garage-single-node.sh` prints them for a local Garage).
    #[arg(long)]
    pub s3: Option<String>,
}

/// A PostgreSQL database that exists for one run.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> Result<PgDatabase> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connect to {admin_url}"))?;
        let name = format!("vira_bench_{}", std::process::id());
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(base, _)| base);
        Ok(PgDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }

    async fn drop(self) -> Result<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await?;
        let name = &self.name;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}

/// The repository root, as compiled (this package is `bench/` in it).
fn repo_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn vira_path(args: &Args) -> Result<PathBuf> {
    let path = match &args.vira {
        Some(path) => path.clone(),
        None => {
            let exe = std::env::current_exe().context("locate vira-bench")?;
            let dir = exe.parent().context("vira-bench has no directory")?;
            dir.join(format!("vira{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if !path.is_file() {
        bail!(
            "no vira binary at {} (build it with `cargo build --release --bin vira` or pass --vira)",
            path.display()
        );
    }
    Ok(path)
}

fn fixtures_dir(args: &Args) -> Result<PathBuf> {
    let dir = match &args.fixtures {
        Some(dir) => dir.clone(),
        None => {
            let compiled = repo_dir().join("../shared/fixtures");
            if compiled.is_dir() {
                compiled
            } else {
                PathBuf::from("../shared/fixtures")
            }
        }
    };
    if !dir.join("reference/otus.json.gz").is_file() {
        bail!("no fixtures at {} (pass --fixtures DIR)", dir.display());
    }
    Ok(dir)
}

/// Run the benchmark; print the table; write the report unless `--quick` without `--out`.
async fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let load_before = proc::loadavg();
    let vira = vira_path(&args)?;
    let fixtures = fixtures_dir(&args)?;
    let work = proc::WorkDir::create(args.tmp_dir.as_deref())?;
    eprintln!(
        "vira-bench: vira {}, data in {}",
        vira.display(),
        work.path.display()
    );

    if args.generate_only {
        return workflows::generate_only(&args, &fixtures, &work.path);
    }
    if args.workflows {
        let report = workflows::run(&args, &vira, &fixtures, &work.path).await?;
        return finish(
            &args,
            &report,
            started,
            load_before,
            report::workflow_section,
        );
    }
    let mut runs = Vec::new();
    let sqlite_work = work.path.join("sqlite");
    std::fs::create_dir_all(&sqlite_work)?;
    let sqlite = scenarios::run_all(&args, &vira, &fixtures, &sqlite_work, None).await?;
    runs.push(("SQLite".to_owned(), sqlite));
    if let Some(admin_url) = &args.database_url {
        let database = PgDatabase::create(admin_url).await?;
        let pg_work = work.path.join("postgres");
        std::fs::create_dir_all(&pg_work)?;
        let pg = scenarios::run_all(&args, &vira, &fixtures, &pg_work, Some(&database.url)).await;
        database.drop().await?;
        runs.push(("PostgreSQL".to_owned(), pg?));
    }
    let report = report::Report::side_by_side(runs);
    finish(&args, &report, started, load_before, report::latest_section)
}

/// Print the table; write the section `section` makes unless `--quick` without `--out`.
fn finish(
    args: &Args,
    report: &report::Report,
    started: Instant,
    load_before: String,
    section: fn(&report::Report, &report::RunInfo) -> String,
) -> Result<()> {
    let table = report.table();
    println!("{table}");
    for note in &report.notes {
        println!("- {note}");
    }
    let machine = proc::machine();
    let info = report::RunInfo {
        machine: &machine,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit: proc::git_commit(&repo_dir()),
        command: command_line(args),
        load_before,
        load_after: proc::loadavg(),
        wall: started.elapsed(),
    };
    println!(
        "\nmachine: {} cores, {}, {}; load average {} before, {} after; {:.0} s",
        machine.cores,
        report::gib(machine.mem_total),
        machine.cpu_model,
        info.load_before,
        info.load_after,
        info.wall.as_secs_f64()
    );
    let out = match (&args.out, args.quick) {
        (Some(out), _) => Some(out.clone()),
        (None, false) if !args.claims_only && args.only.is_none() => {
            Some(repo_dir().join("BENCHMARKS.md"))
        }
        (None, _) => None,
    };
    if let Some(out) = out {
        let text = section(report, &info);
        if args.workflows {
            report::write_workflow_section(&out, &text)?;
        } else {
            report::write_benchmarks(&out, &text)?;
        }
        println!("written to {}", display(&out));
    }
    Ok(())
}

fn command_line(args: &Args) -> String {
    if args.workflows {
        let quick = if args.quick { " --quick" } else { "" };
        let only = match args.only {
            Some(Only::CreateSample) => " --only create-sample",
            None => "",
        };
        return format!("vira-bench --workflows{quick}{only}");
    }
    let size = format!("{:?}", args.size).to_lowercase();
    let quick = if args.quick { " --quick" } else { "" };
    let pg = if args.database_url.is_some() {
        " --database-url postgres://…"
    } else {
        ""
    };
    let s3 = if args.s3.is_some() {
        " --s3 s3://…"
    } else {
        ""
    };
    let claims = if args.claims_only {
        " --claims-only"
    } else {
        ""
    };
    format!("vira-bench --size {size}{quick}{claims}{pg}{s3}")
}

fn display(path: &Path) -> String {
    path.canonicalize()
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vira-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
