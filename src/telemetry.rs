//! Logging: `RUST_LOG`-style filtering (`VIRA_LOG`), to standard error.

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIRA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
