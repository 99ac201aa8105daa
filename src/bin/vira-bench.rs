//! `vira-bench`: the benchmark harness (see `vira::bench` and BENCHMARKS.md).

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = vira::bench::Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(vira::bench::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vira-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
