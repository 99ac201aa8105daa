use clap::Parser;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() {
    vira::telemetry::init();
    let code = vira::cli::run(vira::cli::Cli::parse()).await;
    std::process::exit(code);
}
