//! Running the HTTP server on pre-bound listeners, with graceful shutdown. `listener` owns the
//! accept loop and the connection cap, `conn` each connection's clock (header, idle, body and send
//! timeouts).

pub mod conn;
pub mod embedded_workers;
pub mod listener;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::app::AppState;
use crate::config::ServeConfig;
use conn::Timeouts;
use listener::{ListenerSettings, Registry};

/// The bound sockets `vira serve` answers on.
pub struct Listeners {
    /// The pages, `/api` and `/jobs-api`.
    pub main: TcpListener,
    /// The jobs API alone (`--jobs-listen`).
    pub jobs: Option<TcpListener>,
    /// Prometheus `/metrics` (`--metrics-listen`), with the recorder's handle.
    pub metrics: Option<(TcpListener, PrometheusHandle)>,
}

impl Listeners {
    pub fn main_only(main: TcpListener) -> Listeners {
        Listeners {
            main,
            jobs: None,
            metrics: None,
        }
    }
}

/// Sweep leftover objects, then serve the full router on the main listener (the jobs API alone
/// and the metrics on theirs) until `shutdown` resolves; in-flight requests are drained.
pub async fn run(
    app: AppState,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Listeners {
        main: listener,
        jobs: jobs_listener,
        metrics,
    } = listeners;
    crate::ops::sweep::run(&app).await?.log();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx_rx = stop_rx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    tokio::spawn({
        let app = app.clone();
        async move { crate::ops::sweep::fill_missing_brotli(&app).await }
    });
    tokio::spawn(crate::ops::sweep::every_interval(
        app.clone(),
        stop_rx.clone(),
    ));
    tokio::spawn(crate::ops::job_sweep::every_interval(
        app.clone(),
        stop_rx.clone(),
    ));
    let coherence = tokio::spawn(crate::ops::read_cache::keep_coherent(
        app.clone(),
        stop_rx.clone(),
    ));
    let worker = (!app.config.no_blast_worker)
        .then(|| tokio::spawn(crate::ops::blast::run(app.clone(), stop_rx.clone())));
    let settings = listener_settings(&app.config);
    let main = listener::serve(
        listener,
        crate::routes::router(app.clone()),
        settings,
        Arc::new(Registry::new("main")),
        stop_rx.clone(),
    );
    if let Some((metrics_listener, handle)) = metrics {
        tokio::spawn(listener::serve(
            metrics_listener,
            crate::routes::metrics_router(app.clone(), handle),
            settings,
            Arc::new(Registry::new("metrics")),
            stop_rx.clone(),
        ));
    }
    let grace = Duration::from_secs(app.config.shutdown_grace);
    let serving = {
        let app = app.clone();
        let stop_rx = stop_rx.clone();
        async move {
            match jobs_listener {
                None => main.await,
                Some(jobs_listener) => {
                    let jobs = listener::serve(
                        jobs_listener,
                        crate::routes::jobs_router(app),
                        settings,
                        Arc::new(Registry::new("jobs")),
                        stop_rx,
                    );
                    tokio::join!(main, jobs);
                }
            }
        }
    };
    // In-flight requests are drained, but never for longer than `--shutdown-grace` seconds.
    let drain_limit = {
        let rx = stop_tx_rx.clone();
        async move {
            stopped(rx).await;
            tokio::time::sleep(grace).await;
        }
    };
    tokio::select! {
        _ = serving => {}
        _ = drain_limit => tracing::warn!("in-flight requests still running after the shutdown grace; exiting"),
    }
    if let Some(worker) = worker {
        // The worker stops at its next step; bound the wait so a hung backend cannot block exit.
        let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
    }
    // It leaves the peers (so writers elsewhere stop waiting for it) within a lease.
    let lease = Duration::from_millis(app.config.read_cache_lease_ms);
    let _ = tokio::time::timeout(lease + Duration::from_secs(1), coherence).await;
    app.db.close().await;
    Ok(())
}

/// How each listener treats its connections.
pub fn listener_settings(config: &ServeConfig) -> ListenerSettings {
    ListenerSettings {
        timeouts: Timeouts {
            header: Duration::from_secs(config.header_timeout),
            idle: Duration::from_secs(config.idle_timeout),
            body: Duration::from_secs(config.body_timeout),
            body_min_bytes: config.body_min_bytes,
            send: Duration::from_secs(config.send_timeout),
        },
        max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        trust_forwarded_for: config.trust_forwarded_for,
        max_header_line_bytes: usize::try_from(config.max_header_line_bytes).unwrap_or(usize::MAX),
        max_head_bytes: usize::try_from(config.max_head_bytes).unwrap_or(usize::MAX),
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
