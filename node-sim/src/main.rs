//! `bosun-node-sim`: simulated Kubernetes nodes. See the library docs.

use clap::Parser;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Log filter without `RUST_LOG`: kube-client logs every failed request
/// itself; the simulator reports failures throttled.
const DEFAULT_FILTER: &str = "info,kube_client=off";

#[global_allocator]
static GLOBAL: bosun_alloc::MiMalloc = bosun_alloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bosun_alloc::configure();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = bosun_node_sim::Config::parse();
    match bosun_node_sim::run(config, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "bosun-node-sim failed");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
