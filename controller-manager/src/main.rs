//! `bosun-controller-manager`: runs the controllers. See the library docs.

use clap::Parser;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Log filter without `RUST_LOG`: kube-client logs every failed request
/// itself; the controllers report failures with their context.
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
    let config = bosun_controller_manager::Config::parse();
    match bosun_controller_manager::run(config, bosun_runtime::shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "bosun-controller-manager failed");
            std::process::ExitCode::FAILURE
        }
    }
}
