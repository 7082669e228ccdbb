//! `bosun-apiserver`: parses flags and runs the server until SIGINT/SIGTERM.

use bosun_apiserver::{Config, run};
use clap::Parser;

#[global_allocator]
static GLOBAL: bosun_alloc::MiMalloc = bosun_alloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bosun_alloc::configure();
    // Storage scans (lists) run on blocking threads; a modest pool keeps the
    // number of threads (and of the allocator's per-thread heaps) small.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(32)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("bosun-apiserver: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve())
}

async fn serve() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::parse();
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    };
    match run(config, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "bosun-apiserver failed");
            eprintln!("bosun-apiserver: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
