//! The command line: `vira serve`, `vira user create`, `vira login-block clear` and `vira worker`.

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::{LogFormat, ServeConfig, StorageOptions};

#[derive(Debug, Parser)]
#[command(
    name = "vira",
    version = crate::telemetry::VERSION,
    about = "A Virtool-compatible analyses service"
)]
pub struct Cli {
    /// How log lines are written to standard error: `text` or `json`.
    #[arg(
        long,
        global = true,
        env = "VIRA_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP service.
    Serve(Box<ServeCommand>),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Claim jobs from a vira jobs API and run their workflows (bowtie2 and friends).
    Worker(Box<crate::worker::settings::WorkerCommand>),
    /// Manage the back-off of failed sign-ins.
    #[command(subcommand)]
    LoginBlock(LoginBlockCommand),
    /// Manage runner credentials (they claim jobs on the jobs API).
    #[command(subcommand)]
    Runner(RunnerCommand),
}

#[derive(Debug, Subcommand)]
pub enum RunnerCommand {
    /// Create a runner and print its credential `runner-<id>:<key>` (one line on stdout).
    Create {
        /// 1–64 characters from [A-Za-z0-9._:-], unique among unrevoked runners.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        storage: StorageOptions,
    },
    /// List the runners, oldest first: id, name, created_at, last_claim_at (or -), active|revoked.
    List {
        #[command(flatten)]
        storage: StorageOptions,
    },
    /// Revoke a runner: its credential is refused from now on.
    Revoke {
        /// The runner's id.
        id: String,
        #[command(flatten)]
        storage: StorageOptions,
    },
}

/// `vira serve`: the service's options, and worker loops to run in the same process (§9.5).
#[derive(Debug, clap::Args)]
pub struct ServeCommand {
    #[command(flatten)]
    pub config: ServeConfig,
    /// Worker loops run inside the server (each claims one job at a time); 0 runs none.
    #[arg(long, env = "VIRA_WORKERS", default_value_t = 0)]
    pub workers: u32,
    #[command(flatten)]
    pub worker: crate::worker::settings::EmbeddedWorkerOptions,
}

#[derive(Debug, Subcommand)]
pub enum LoginBlockCommand {
    /// Forget the failed sign-ins of a handle (from every address) and/or of a client address
    /// (for every handle), ending their back-off; prints how many counts were forgotten.
    Clear {
        /// A user's handle.
        #[arg(long, required_unless_present = "address")]
        handle: Option<String>,
        /// A client address (IPv4 or IPv6).
        #[arg(long)]
        address: Option<std::net::IpAddr>,
        #[command(flatten)]
        storage: StorageOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print its API key (one line on stdout).
    Create {
        /// The user's handle: 1–64 characters from [A-Za-z0-9._-].
        #[arg(long)]
        handle: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Read a password (for the web pages) from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        storage: StorageOptions,
    },
}

/// Run the command; the exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve(command) => match serve(*command).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("vira: {e:#}");
                1
            }
        },
        Command::Worker(command) => worker(*command).await,
        Command::Runner(command) => runner(command).await,
        Command::LoginBlock(LoginBlockCommand::Clear {
            handle,
            address,
            storage,
        }) => {
            let config = ServeConfig::with_storage(storage);
            match clear_login_blocks(config, handle.as_deref(), address).await {
                Ok(cleared) => {
                    println!("{cleared}");
                    0
                }
                Err(e) => {
                    eprintln!("vira: {e:#}");
                    1
                }
            }
        }
        Command::User(UserCommand::Create {
            handle,
            admin,
            password_stdin,
            storage,
        }) => {
            let config = ServeConfig::with_storage(storage);
            let password = match password_stdin.then(read_password).transpose() {
                Ok(password) => password,
                Err(e) => {
                    eprintln!("vira: {e:#}");
                    return 1;
                }
            };
            match create_user(config, &handle, admin, password.as_deref()).await {
                Ok(key) => {
                    println!("{key}");
                    0
                }
                Err(e) => {
                    eprintln!("vira: {e:#}");
                    1
                }
            }
        }
    }
}

/// `vira runner create | list | revoke`: the output on stdout, messages on stderr, exit 1 on
/// failure.
async fn runner(command: RunnerCommand) -> i32 {
    let storage = match &command {
        RunnerCommand::Create { storage, .. }
        | RunnerCommand::List { storage }
        | RunnerCommand::Revoke { storage, .. } => storage.clone(),
    };
    let app = match App::build(ServeConfig::with_storage(storage)).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("vira: {e:#}");
            return 1;
        }
    };
    let result = match command {
        RunnerCommand::Create { name, .. } => crate::ops::runners::create(&app, &name, "")
            .await
            .map(|runner| runner.credential.unwrap_or_default()),
        RunnerCommand::List { .. } => crate::ops::runners::list(&app).await.map(|runners| {
            runners
                .iter()
                .map(|r| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}\n",
                        r.id,
                        r.name,
                        r.created_at,
                        r.last_claim_at.as_deref().unwrap_or("-"),
                        if r.revoked { "revoked" } else { "active" }
                    )
                })
                .collect::<String>()
        }),
        RunnerCommand::Revoke { id, .. } => crate::ops::runners::revoke(&app, &id)
            .await
            .map(|()| String::new()),
    };
    app.db.close().await;
    match result {
        Ok(output) => {
            if !output.is_empty() {
                if output.ends_with('\n') {
                    print!("{output}");
                } else {
                    println!("{output}");
                }
            }
            0
        }
        Err(failure) => {
            let message = match failure {
                crate::model::failure::Failure::InvalidInput(_) => {
                    "invalid name: 1–64 characters from [A-Za-z0-9._:-]".to_owned()
                }
                crate::model::failure::Failure::NotFound(_) => "no such runner".to_owned(),
                crate::model::failure::Failure::BadRequest(message) => message.into_owned(),
                other => other.to_string(),
            };
            eprintln!("vira: {message}");
            1
        }
    }
}

async fn clear_login_blocks(
    config: ServeConfig,
    handle: Option<&str>,
    address: Option<std::net::IpAddr>,
) -> anyhow::Result<u64> {
    let app = App::build(config).await?;
    let result = crate::ops::sessions::clear_blocks(&app, handle, address).await;
    app.db.close().await;
    result.map_err(|e| anyhow::anyhow!("{}", e.message))
}

async fn serve(command: ServeCommand) -> anyhow::Result<()> {
    let ServeCommand {
        config,
        workers,
        worker,
    } = command;
    let started = std::time::Instant::now();
    if workers > 0 {
        crate::server::embedded_workers::check_tools(&worker).await?;
    }
    raise_file_limit(&config);
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let jobs_listener = match config.jobs_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    let metrics = match config.metrics_listen {
        Some(addr) => {
            let handle = crate::telemetry::install_metrics()?;
            let since_epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            metrics::gauge!("vira_start_time_seconds").set(since_epoch.as_secs_f64());
            Some((tokio::net::TcpListener::bind(addr).await?, handle))
        }
        None => None,
    };
    let app = App::build(config).await?;
    tracing::info!(address = %listener.local_addr()?, version = crate::telemetry::VERSION, "vira listening");
    if let Some((metrics_listener, _)) = &metrics {
        tracing::info!(address = %metrics_listener.local_addr()?, "metrics listening");
    }
    metrics::gauge!("vira_startup_duration_seconds").set(started.elapsed().as_secs_f64());
    let jobs_addr = match &jobs_listener {
        Some(jobs) => jobs.local_addr()?,
        None => listener.local_addr()?,
    };
    let listeners = crate::server::Listeners {
        main: listener,
        jobs: jobs_listener,
        metrics,
    };
    if workers == 0 {
        return crate::server::run(app, listeners, crate::server::shutdown_signal()).await;
    }
    let embedded =
        crate::server::embedded_workers::start(&app, workers, &worker, jobs_addr).await?;
    // On SIGTERM the loops release their jobs through the jobs API while it still answers.
    let shutdown = {
        let app = app.clone();
        async move {
            crate::server::shutdown_signal().await;
            embedded.stop(&app).await;
        }
    };
    crate::server::run(app, listeners, shutdown).await
}

/// `vira worker`: the loop until SIGTERM/SIGINT (a second signal exits at once) or idleness.
async fn worker(command: crate::worker::settings::WorkerCommand) -> i32 {
    let shutdown = tokio_util::sync::CancellationToken::new();
    let signals = shutdown.clone();
    tokio::spawn(async move {
        crate::server::shutdown_signal().await;
        tracing::info!("stopping: releasing running jobs");
        signals.cancel();
        crate::server::shutdown_signal().await;
        tracing::warn!("second signal: exiting at once");
        std::process::exit(1);
    });
    match crate::worker::run(command.settings(), shutdown).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("vira worker: {e}");
            1
        }
    }
}

async fn create_user(
    config: ServeConfig,
    handle: &str,
    admin: bool,
    password: Option<&str>,
) -> anyhow::Result<String> {
    let app = App::build(config).await?;
    let result = async {
        let user = crate::ops::users::create_user(&app, handle, admin, &[]).await?;
        if let Some(password) = password {
            crate::ops::sessions::set_password(&app, &user.id, password).await?;
        }
        Ok::<_, crate::http::error::ApiError>(user)
    }
    .await;
    app.db.close().await;
    match result {
        Ok(user) => Ok(user.key.unwrap_or_default()),
        Err(e) => anyhow::bail!("{}", e.message),
    }
}

/// The first line of standard input, held to the password rules.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    crate::auth::passwords::check_new(&password)
        .map_err(|problem| anyhow::anyhow!("the password is refused: {problem}"))?;
    Ok(password)
}

/// Raise the soft limit of open files to the hard limit: every connection costs a descriptor, and
/// `--max-connections` should be what bounds them, not an accidental default of 1024.
fn raise_file_limit(config: &ServeConfig) {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            return;
        }
    };
    let listeners = 1 + u64::from(config.jobs_listen.is_some());
    // Descriptors beyond connections: database, files being uploaded or downloaded, BLAST+.
    let needed = config.max_connections.saturating_mul(listeners) + 256;
    if needed > limit {
        tracing::warn!(
            open_file_limit = limit,
            max_connections = config.max_connections,
            "--max-connections may exhaust the open-file limit; accept backs off when it does"
        );
    } else {
        tracing::debug!(open_file_limit = limit, "open-file limit");
    }
}
