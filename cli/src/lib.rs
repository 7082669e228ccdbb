//! `bosun`: start, inspect and stop local Bosun clusters, in the manner of
//! `kind`.
//!
//! [`up`] starts `bosun-apiserver` (and, where their binaries exist, the
//! controller-manager, the scheduler and the node simulator) as detached
//! background processes, waits until the cluster is ready, merges a
//! `bosun-<name>` context into the user's kubeconfig and records what it
//! started in `DATA_DIR/cluster.json`. [`down`] stops what that record names
//! and removes the context; [`status`] reports on it.
//!
//! Everything the `bosun` binary does is callable in-process, so tests and
//! the e2e harness drive clusters through these functions.

mod cluster;
mod down;
mod error;
pub mod health;
pub mod kubeconfig;
mod node;
mod opts;
pub mod paths;
pub mod process;
mod progress;
mod status;
mod up;

pub use cluster::{COMPONENTS, Cluster, ComponentKind, ComponentRecord};
pub use down::{Down, down};
pub use error::{Error, Result};
pub use node::node;
pub use opts::{
    Cli, ClusterRef, Command, DownOpts, NodeAction, NodeOpts, NodeTarget, StatusOpts, UpOpts,
};
pub use status::{ComponentStatus, Status, status};
pub use up::up;

/// Runs one parsed `bosun` command, printing its results; returns whether
/// it succeeded in the command's own terms (`status` of a stopped cluster
/// is not an error, but is not a success either).
pub async fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Up(opts) => {
            // Ctrl-C while waiting must not leave half a cluster behind:
            // dropping the `up` future stops what it had started.
            tokio::select! {
                result = up(&opts) => result.map(|_| true),
                _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
            }
        }
        Command::Down(opts) => down(&opts).await.map(|_| true),
        Command::Node(opts) => {
            println!("{}", node::node(&opts)?);
            Ok(true)
        }
        Command::Status(opts) => {
            let status = status(&opts).await?;
            print!("{status}");
            Ok(status.is_healthy())
        }
    }
}
