//! The options of `vira worker` (workflows §9.1) and of the loops `vira serve --workers N` runs in
//! its own process (§9.5: the same options with a `--worker-` prefix), both read into one
//! [`WorkerSettings`].

use std::path::PathBuf;
use std::time::Duration;

use crate::model::workflow::Workflow;

/// What one worker loop needs, whichever command started it.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The jobs API base URL, ending in `/jobs-api`.
    pub jobs_api_url: String,
    /// `runner-<id>:<key>`.
    pub credential: String,
    pub workflows: Vec<Workflow>,
    pub concurrency: usize,
    pub threads: usize,
    pub mem_gb: u32,
    /// Bytes of each of Pathoscope's working sets held in memory before the rest goes to files
    /// in the job directory.
    pub spill_memory: usize,
    pub work_dir: PathBuf,
    pub keep_work: bool,
    pub poll_interval: Duration,
    pub exit_when_idle: Option<Duration>,
    pub tools: Tools,
    pub shutdown_grace: Duration,
    /// Seconds between pings (J7) of a running job.
    pub ping_interval: Duration,
    /// How long a killed tool's process group gets between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// Longest wait between retries of a failed claim (connection errors, 5xx).
    pub max_backoff: Duration,
    /// How long a request to the jobs API may stay silent.
    pub read_timeout: Duration,
}

/// The executables the workflows run.
#[derive(Debug, Clone)]
pub struct Tools {
    pub bowtie2: PathBuf,
    pub bowtie2_build: PathBuf,
    pub skewer: PathBuf,
    pub spades: PathBuf,
    pub hmmscan: PathBuf,
    pub hmmpress: PathBuf,
}

/// The workflows a loop claims, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowList(pub Vec<Workflow>);

/// `--workflows`: a comma-separated list of workflow names.
pub fn parse_workflows(value: &str) -> Result<WorkflowList, String> {
    let mut workflows = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let workflow = Workflow::parse(name).ok_or_else(|| format!("unknown workflow {name}"))?;
        if !workflows.contains(&workflow) {
            workflows.push(workflow);
        }
    }
    if workflows.is_empty() {
        return Err("no workflow named".to_owned());
    }
    Ok(WorkflowList(workflows))
}

/// The CPUs this process may use.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Declares the worker options twice: once as `vira worker` takes them, once with the
/// `--worker-` prefix that `vira serve` uses (clap cannot prefix a flattened group), so the two
/// lists cannot drift apart.
macro_rules! worker_options {
    ($name:ident, $prefix:literal, $env:literal) => {
        #[derive(Debug, Clone, clap::Args)]
        pub struct $name {
            /// Workflows to claim, comma-separated.
            #[arg(long = concat!($prefix, "workflows"), env = concat!($env, "WORKFLOWS"),
                default_value = "create_sample,create_subtraction,build_index,pathoscope_bowtie",
                value_parser = parse_workflows)]
            pub workflows: WorkflowList,
            /// Jobs run at the same time.
            #[arg(long = concat!($prefix, "concurrency"), env = concat!($env, "CONCURRENCY"),
                default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
            pub concurrency: u32,
            /// Threads of each tool run (default: the CPUs divided by the concurrency).
            #[arg(long = concat!($prefix, "threads"), env = concat!($env, "THREADS"),
                value_parser = clap::value_parser!(u32).range(1..=1024))]
            pub threads: Option<u32>,
            /// Gigabytes of memory given to SPAdes (nuvs).
            #[arg(long = concat!($prefix, "mem"), env = concat!($env, "MEM"), default_value_t = 8,
                value_parser = clap::value_parser!(u32).range(1..))]
            pub mem: u32,
            /// MiB of each of Pathoscope's working sets (alignments, non-unique reads) kept in
            /// memory; the rest goes to files in the job directory, so a large sample needs disk,
            /// not memory.
            #[arg(long = concat!($prefix, "spill-memory"), env = concat!($env, "SPILL_MEMORY"),
                default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=65536))]
            pub spill_memory: u32,
            /// Where each job gets a directory of its own, `<work-dir>/<job id>/`.
            #[arg(long = concat!($prefix, "work-dir"), env = concat!($env, "WORK_DIR"),
                default_value = "./vira-work")]
            pub work_dir: PathBuf,
            /// Keep job directories after the job (debugging).
            #[arg(long = concat!($prefix, "keep-work"), env = concat!($env, "KEEP_WORK"))]
            pub keep_work: bool,
            /// Seconds between claims while none answers with a job.
            #[arg(long = concat!($prefix, "poll-interval"), env = concat!($env, "POLL_INTERVAL"),
                default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
            pub poll_interval: u64,
            /// Seconds between pings of a running job.
            #[arg(long = concat!($prefix, "ping-interval"), env = concat!($env, "PING_INTERVAL"),
                default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
            pub ping_interval: u64,
            /// Seconds a cancelled tool gets between SIGTERM and SIGKILL.
            #[arg(long = concat!($prefix, "kill-grace"), env = concat!($env, "KILL_GRACE"),
                default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
            pub kill_grace: u64,
            /// Seconds a request to the jobs API may stay silent before it fails.
            #[arg(long = concat!($prefix, "read-timeout"), env = concat!($env, "READ_TIMEOUT"),
                default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
            pub read_timeout: u64,
            /// Longest wait in seconds between retries after connection errors and 5xx answers.
            #[arg(long = concat!($prefix, "max-backoff"), env = concat!($env, "MAX_BACKOFF"),
                default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
            pub max_backoff: u64,
            #[arg(long = concat!($prefix, "bowtie2"), env = concat!($env, "BOWTIE2"),
                default_value = "bowtie2")]
            pub bowtie2: PathBuf,
            #[arg(long = concat!($prefix, "bowtie2-build"), env = concat!($env, "BOWTIE2_BUILD"),
                default_value = "bowtie2-build")]
            pub bowtie2_build: PathBuf,
            #[arg(long = concat!($prefix, "skewer"), env = concat!($env, "SKEWER"),
                default_value = "skewer")]
            pub skewer: PathBuf,
            #[arg(long = concat!($prefix, "spades"), env = concat!($env, "SPADES"),
                default_value = "spades.py")]
            pub spades: PathBuf,
            #[arg(long = concat!($prefix, "hmmscan"), env = concat!($env, "HMMSCAN"),
                default_value = "hmmscan")]
            pub hmmscan: PathBuf,
            #[arg(long = concat!($prefix, "hmmpress"), env = concat!($env, "HMMPRESS"),
                default_value = "hmmpress")]
            pub hmmpress: PathBuf,
        }

        impl $name {
            /// The settings of one loop with these options.
            pub fn settings(
                &self,
                jobs_api_url: String,
                credential: String,
                shutdown_grace: Duration,
                exit_when_idle: Option<Duration>,
            ) -> WorkerSettings {
                let concurrency = self.concurrency as usize;
                WorkerSettings {
                    jobs_api_url,
                    credential,
                    workflows: self.workflows.0.clone(),
                    concurrency,
                    threads: self
                        .threads
                        .map_or((available_cpus() / concurrency).max(1), |t| t as usize),
                    mem_gb: self.mem,
                    spill_memory: (self.spill_memory as usize) << 20,
                    work_dir: self.work_dir.clone(),
                    keep_work: self.keep_work,
                    poll_interval: Duration::from_secs(self.poll_interval),
                    exit_when_idle,
                    tools: Tools {
                        bowtie2: self.bowtie2.clone(),
                        bowtie2_build: self.bowtie2_build.clone(),
                        skewer: self.skewer.clone(),
                        spades: self.spades.clone(),
                        hmmscan: self.hmmscan.clone(),
                        hmmpress: self.hmmpress.clone(),
                    },
                    shutdown_grace,
                    ping_interval: Duration::from_secs(self.ping_interval),
                    kill_grace: Duration::from_secs(self.kill_grace),
                    max_backoff: Duration::from_secs(self.max_backoff),
                    read_timeout: Duration::from_secs(self.read_timeout),
                }
            }
        }
    };
}

worker_options!(WorkerOptions, "", "VIRA_");
worker_options!(EmbeddedWorkerOptions, "worker-", "VIRA_WORKER_");

/// `vira worker`: the options of §9.1.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerCommand {
    /// The jobs API base URL.
    #[arg(
        long,
        env = "VIRA_JOBS_API_URL",
        default_value = "http://127.0.0.1:9950/jobs-api"
    )]
    pub jobs_api_url: String,
    /// The runner credential, `runner-<id>:<key>` (`vira runner create` or POST /api/runners).
    /// Prefer the VIRA_CREDENTIAL variable: an option shows in `ps`.
    #[arg(long, env = "VIRA_CREDENTIAL", hide_env_values = true)]
    pub credential: String,
    /// Exit 0 after this many seconds without a claimed job and with none running (batch
    /// schedulers: a Slurm array job, a Kubernetes Job).
    #[arg(long, env = "VIRA_EXIT_WHEN_IDLE", value_parser = clap::value_parser!(u64).range(1..))]
    pub exit_when_idle: Option<u64>,
    /// Seconds to release running jobs after SIGTERM or SIGINT.
    #[arg(long, env = "VIRA_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,
    #[command(flatten)]
    pub options: WorkerOptions,
}

impl WorkerCommand {
    pub fn settings(&self) -> WorkerSettings {
        self.options.settings(
            self.jobs_api_url.trim_end_matches('/').to_owned(),
            self.credential.clone(),
            Duration::from_secs(self.shutdown_grace),
            self.exit_when_idle.map(Duration::from_secs),
        )
    }
}
