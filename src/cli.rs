//! The command line: `vira serve` and `vira user create`.

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::{ServeConfig, StorageOptions};

#[derive(Debug, Parser)]
#[command(
    name = "vira",
    version,
    about = "A Virtool-compatible analyses service"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP service.
    Serve(Box<ServeConfig>),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
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
        #[command(flatten)]
        storage: StorageOptions,
    },
}

/// Run the command; the exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve(config) => match serve(*config).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("vira: {e:#}");
                1
            }
        },
        Command::User(UserCommand::Create {
            handle,
            admin,
            storage,
        }) => {
            let config = ServeConfig::with_storage(storage);
            match create_user(config, &handle, admin).await {
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

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let jobs_listener = match config.jobs_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    let app = App::build(config).await?;
    tracing::info!(address = %listener.local_addr()?, "vira listening");
    crate::server::run(
        app,
        listener,
        jobs_listener,
        crate::server::shutdown_signal(),
    )
    .await
}

async fn create_user(config: ServeConfig, handle: &str, admin: bool) -> anyhow::Result<String> {
    let app = App::build(config).await?;
    let result = crate::api::users::create_user(&app, handle, admin, &[]).await;
    app.db.close().await;
    match result {
        Ok(user) => Ok(user.key.unwrap_or_default()),
        Err(e) => anyhow::bail!("{}", e.message),
    }
}
