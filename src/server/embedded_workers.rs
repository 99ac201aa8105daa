//! `vira serve --workers N` (workflows §9.5): worker loops inside the server process, each the
//! loop of `vira worker` talking HTTP to this server's own jobs API, with a runner credential
//! made at start (never printed) and revoked at shutdown.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::worker::settings::{available_cpus, EmbeddedWorkerOptions, WorkerSettings};

/// The running loops and the runner they claim as.
pub struct EmbeddedWorkers {
    stop: CancellationToken,
    loops: JoinSet<()>,
    runner_id: String,
    grace: Duration,
}

/// The settings of each loop: concurrency 1 and, unless `--worker-threads` says otherwise, an
/// equal share of the CPUs. The URL and credential are filled in at start.
fn loop_settings(options: &EmbeddedWorkerOptions, count: u32, grace: Duration) -> WorkerSettings {
    let mut settings = options.settings(String::new(), String::new(), grace, None);
    settings.concurrency = 1;
    if options.threads.is_none() {
        settings.threads = (available_cpus() / count.max(1) as usize).max(1);
    }
    settings
}

/// The start-up tool check, before the server listens: a missing tool is an error.
pub async fn check_tools(options: &EmbeddedWorkerOptions) -> anyhow::Result<()> {
    let settings = loop_settings(options, 1, Duration::ZERO);
    crate::worker::check_tools(&settings).await?;
    Ok(())
}

/// The jobs API base URL the loops use: an unspecified address is reached through loopback.
pub fn jobs_api_url(bound: SocketAddr) -> String {
    let ip = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/jobs-api", SocketAddr::new(ip, bound.port()))
}

/// This machine's name, for the runner's name.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Create the runner `embedded:<hostname>:<pid>` and start `count` loops against `jobs_addr`.
pub async fn start(
    app: &App,
    count: u32,
    options: &EmbeddedWorkerOptions,
    jobs_addr: SocketAddr,
) -> anyhow::Result<EmbeddedWorkers> {
    let grace = Duration::from_secs(app.config.shutdown_grace);
    let name = format!("embedded:{}:{}", hostname(), std::process::id());
    let runner = crate::ops::runners::create(app, &name, "")
        .await
        .map_err(|failure| anyhow::anyhow!("creating the embedded runner: {failure}"))?;
    let mut settings = loop_settings(options, count, grace);
    settings.jobs_api_url = jobs_api_url(jobs_addr);
    settings.credential = runner.credential.clone().unwrap_or_default();
    let stop = CancellationToken::new();
    let mut loops = JoinSet::new();
    for _ in 0..count {
        let (settings, stop) = (settings.clone(), stop.clone());
        loops.spawn(async move {
            if let Err(error) = crate::worker::run(settings, stop).await {
                tracing::error!(%error, "embedded worker stopped");
            }
        });
    }
    tracing::info!(workers = count, runner = %runner.id, "embedded workers started");
    Ok(EmbeddedWorkers {
        stop,
        loops,
        runner_id: runner.id,
        grace,
    })
}

impl EmbeddedWorkers {
    /// Stop claiming, release the running jobs (within the shutdown grace), revoke the runner.
    pub async fn stop(mut self, app: &App) {
        self.stop.cancel();
        let drained = tokio::time::timeout(self.grace + Duration::from_secs(1), async {
            while self.loops.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.loops.abort_all();
        }
        if let Err(failure) = crate::ops::runners::revoke(app, &self.runner_id).await {
            tracing::warn!(%failure, runner = %self.runner_id, "could not revoke the embedded runner");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_reached_through_loopback() {
        let url = |a: &str| jobs_api_url(a.parse().unwrap());
        assert_eq!(url("0.0.0.0:9950"), "http://127.0.0.1:9950/jobs-api");
        assert_eq!(url("[::]:80"), "http://[::1]:80/jobs-api");
        assert_eq!(url("10.1.2.3:8080"), "http://10.1.2.3:8080/jobs-api");
    }
}
