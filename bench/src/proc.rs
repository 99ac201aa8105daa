//! The measured `vira serve` process, its memory (`/proc/<pid>/status`), the machine and the
//! temporary work directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Readiness polls of a starting server, and the pause between two.
const READY_POLLS: u32 = 300;
const READY_PAUSE: Duration = Duration::from_millis(50);

/// A directory under the system temporary directory, removed when dropped.
pub struct WorkDir {
    pub path: PathBuf,
}

impl WorkDir {
    pub fn create(parent: Option<&Path>) -> Result<WorkDir> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("vira-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("create {}", path.display()))?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The administrator's password for the pages' session.
pub const ADMIN_PASSWORD: &str = "bench password";

/// `vira user create --handle admin --admin --password-stdin`; the printed API key.
pub fn create_admin(vira: &Path, data_path: &Path, database_url: Option<&str>) -> Result<String> {
    use std::io::Write as _;
    let mut command = Command::new(vira);
    command
        .args([
            "user",
            "create",
            "--handle",
            "admin",
            "--admin",
            "--password-stdin",
            "--data-path",
        ])
        .arg(data_path)
        .env("VIRA_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("run {} user create", vira.display()))?;
    child
        .stdin
        .take()
        .context("stdin of vira user create")?
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "vira user create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let key = String::from_utf8(output.stdout)?.trim().to_owned();
    if key.is_empty() {
        bail!("vira user create printed no key");
    }
    Ok(key)
}

/// A running `vira serve` on 127.0.0.1; killed when dropped (also on panic).
pub struct Server {
    child: Child,
    pub base: String,
    pub pid: u32,
}

impl Server {
    /// Start on a free port and wait (bounded) until it answers HTTP. Its log goes to `log`.
    pub async fn start(
        vira: &Path,
        data_path: &Path,
        database_url: Option<&str>,
        extra: &[&str],
        log: &Path,
    ) -> Result<Server> {
        Self::start_with_env(vira, data_path, database_url, extra, log, &[]).await
    }

    /// [`Server::start`] with environment variables set after the defaults (`VIRA_LOG=warn`).
    pub async fn start_with_env(
        vira: &Path,
        data_path: &Path,
        database_url: Option<&str>,
        extra: &[&str],
        log: &Path,
        env: &[(&str, &str)],
    ) -> Result<Server> {
        let probe = reqwest::Client::builder().no_proxy().build()?;
        // A free port can be taken before vira binds it: then vira exits and we try another.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let listen = format!("127.0.0.1:{port}");
            let mut command = Command::new(vira);
            command
                .args(["serve", "--listen", &listen, "--data-path"])
                .arg(data_path);
            if let Some(url) = database_url {
                command.args(["--database-url", url]);
            }
            command.args(extra);
            command.env("VIRA_LOG", "warn").envs(env.iter().copied());
            let child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(log)?)
                .spawn()
                .with_context(|| format!("spawn {} serve", vira.display()))?;
            let mut server = Server {
                pid: child.id(),
                child,
                base: format!("http://{listen}"),
            };
            for _ in 0..READY_POLLS {
                if server.child.try_wait()?.is_some() {
                    break;
                }
                let url = format!("{}/api/analyses", server.base);
                if probe.get(url).send().await.is_ok() {
                    return Ok(server);
                }
                tokio::time::sleep(READY_PAUSE).await;
            }
        }
        let log = std::fs::read_to_string(log).unwrap_or_default();
        bail!("vira serve did not become ready; its log:\n{log}")
    }

    /// Current memory of the server.
    pub fn mem(&self) -> Result<Mem> {
        read_mem(self.pid)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` and `VmHWM` of a process, bytes.
#[derive(Debug, Clone, Copy)]
pub struct Mem {
    pub rss: u64,
    pub hwm: u64,
}

pub fn read_mem(pid: u32) -> Result<Mem> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kb * 1024)
    };
    Ok(Mem {
        rss: field("VmRSS:")?,
        hwm: field("VmHWM:")?,
    })
}

/// Samples `VmRSS` every ~10 ms on its own thread while a scenario runs.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
    pid: u32,
    before: Mem,
}

impl PeakSampler {
    pub fn start(pid: u32) -> Result<PeakSampler> {
        let before = read_mem(pid)?;
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(before.rss));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(mem) = read_mem(pid) {
                        peak.fetch_max(mem.rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Ok(PeakSampler {
            stop,
            peak,
            thread: Some(thread),
            pid,
            before,
        })
    }

    /// RSS when sampling started.
    pub fn before(&self) -> u64 {
        self.before.rss
    }

    /// The peak RSS of the scenario. When `VmHWM` rose during it, the new high-water mark was
    /// reached during the scenario, which catches peaks shorter than the sampling interval.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let mut peak = self.peak.load(Ordering::Relaxed);
        if let Ok(after) = read_mem(self.pid) {
            peak = peak.max(after.rss);
            if after.hwm > self.before.hwm {
                peak = peak.max(after.hwm);
            }
        }
        peak
    }
}

impl Drop for PeakSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the figures were measured on.
pub struct Machine {
    pub cores: usize,
    pub mem_total: u64,
    pub cpu_model: String,
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(1);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    Machine {
        cores,
        mem_total,
        cpu_model,
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// `git rev-parse --short HEAD` of the repository, with `+dirty` for uncommitted changes.
pub fn git_commit(repo: &Path) -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => match run(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(s) if !s.is_empty() => format!("{commit}+dirty"),
            _ => commit,
        },
        None => "unknown".to_owned(),
    }
}
