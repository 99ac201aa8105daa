use clap::Parser;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() {
    let cli = vira::cli::Cli::parse();
    vira::telemetry::init(cli.log_format);
    let code = vira::cli::run(cli).await;
    std::process::exit(code);
}
