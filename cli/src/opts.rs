//! Command-line options, shared by the `bosun` binary and in-process callers.

use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The default cluster name.
pub const DEFAULT_NAME: &str = "bosun";
/// The default number of simulated nodes.
pub const DEFAULT_NODES: u32 = 3;
/// The default time `up` waits for the cluster to become ready, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// `bosun`: local Bosun clusters, like kind.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "bosun",
    version,
    about = "Start, inspect and stop local Bosun clusters"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `bosun` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Start a cluster in the background and wait until it is ready.
    Up(UpOpts),
    /// Stop a cluster started by `up` and remove its kubeconfig context.
    Down(DownOpts),
    /// Show a cluster's components, their processes and health.
    Status(StatusOpts),
    /// Stop or restart a simulated node (its heartbeats and pods freeze).
    Node(NodeOpts),
}

/// Which cluster a command is about; the same in `up`, `down` and `status`.
#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct ClusterRef {
    /// Cluster name; the kubeconfig context is `bosun-<name>`.
    #[arg(long, default_value = DEFAULT_NAME)]
    pub name: String,
    /// Where the cluster keeps its store, certificates, logs and record
    /// (default `$XDG_DATA_HOME/bosun/<name>` or `~/.bosun/<name>`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl Default for ClusterRef {
    fn default() -> Self {
        Self {
            name: DEFAULT_NAME.to_owned(),
            data_dir: None,
        }
    }
}

impl ClusterRef {
    /// The flags that select this cluster, for messages (`--name N
    /// [--data-dir D]`).
    pub fn selector(&self) -> String {
        match &self.data_dir {
            Some(dir) => format!("--name {} --data-dir {}", self.name, dir.display()),
            None => format!("--name {}", self.name),
        }
    }

    /// The cluster called `name` in its default data directory.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            data_dir: None,
        }
    }
}

/// Options of `bosun up`.
#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct UpOpts {
    /// Which cluster.
    #[command(flatten)]
    #[serde(flatten)]
    pub cluster: ClusterRef,
    /// Number of simulated nodes (started only when `bosun-node-sim` exists).
    #[arg(long, default_value_t = DEFAULT_NODES)]
    pub nodes: u32,
    /// Comma-separated etcd client URLs; without it the embedded store is used.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// Write the context only to this kubeconfig instead of merging it into
    /// `$KUBECONFIG` (its first path) or `~/.kube/config`.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The apiserver's HTTPS port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seconds to wait for the cluster to become ready before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout: u64,
    /// Look for the component binaries here first.
    #[arg(long, env = "BOSUN_BIN_DIR", hide_env_values = true)]
    pub bin_dir: Option<PathBuf>,
    /// Print no progress, only errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// An extra flag for the controller-manager (repeatable), e.g.
    /// `--controller-manager-arg=--node-monitor-grace-period=10s`.
    #[arg(
        long = "controller-manager-arg",
        value_name = "FLAG",
        allow_hyphen_values = true
    )]
    #[serde(default)]
    pub controller_manager_args: Vec<String>,
    /// An extra flag for the scheduler (repeatable), e.g.
    /// `--scheduler-arg=--config=sched.yaml`.
    #[arg(
        long = "scheduler-arg",
        value_name = "FLAG",
        allow_hyphen_values = true
    )]
    #[serde(default)]
    pub scheduler_args: Vec<String>,
}

impl Default for UpOpts {
    fn default() -> Self {
        Self {
            cluster: ClusterRef::default(),
            nodes: DEFAULT_NODES,
            etcd_servers: Vec::new(),
            kubeconfig: None,
            port: 0,
            timeout: DEFAULT_TIMEOUT_SECS,
            bin_dir: None,
            quiet: false,
            controller_manager_args: Vec::new(),
            scheduler_args: Vec::new(),
        }
    }
}

/// Options of `bosun down`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct DownOpts {
    /// Which cluster.
    #[command(flatten)]
    pub cluster: ClusterRef,
    /// Also delete the data directory (store, certificates, logs).
    #[arg(long)]
    pub delete_data: bool,
    /// Print no progress, only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Options of `bosun status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct StatusOpts {
    /// Which cluster.
    #[command(flatten)]
    pub cluster: ClusterRef,
}

/// `bosun node stop|start NAME`.
#[derive(Debug, Clone, Args)]
pub struct NodeOpts {
    /// What to do.
    #[command(subcommand)]
    pub action: NodeAction,
}

/// What `bosun node` does to a simulated node.
#[derive(Debug, Clone, Subcommand)]
pub enum NodeAction {
    /// Stop the node: no more heartbeats or pod updates, as if its kubelet died.
    Stop(NodeTarget),
    /// Start a stopped node again.
    Start(NodeTarget),
}

/// One node of one cluster.
#[derive(Debug, Clone, Args)]
pub struct NodeTarget {
    /// The node's name, e.g. `bosun-node-0`.
    pub node: String,
    /// Which cluster.
    #[command(flatten)]
    pub cluster: ClusterRef,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_clap() {
        let Cli {
            command: Command::Up(up),
        } = Cli::parse_from(["bosun", "up"])
        else {
            panic!("not up");
        };
        // BOSUN_BIN_DIR may be set in the environment running the tests.
        assert_eq!(
            UpOpts {
                bin_dir: None,
                ..up
            },
            UpOpts::default()
        );
    }

    #[test]
    fn parses_all_flags() {
        let cli = Cli::parse_from([
            "bosun",
            "up",
            "--name",
            "dev",
            "--nodes",
            "5",
            "--data-dir",
            "/tmp/x",
            "--etcd-servers",
            "http://a:2379,http://b:2379",
            "--kubeconfig",
            "/tmp/kc",
            "--port",
            "7443",
        ]);
        let Command::Up(up) = cli.command else {
            panic!("not up");
        };
        assert_eq!(up.cluster.name, "dev");
        assert_eq!(up.cluster.data_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(up.nodes, 5);
        assert_eq!(up.etcd_servers, ["http://a:2379", "http://b:2379"]);
        assert_eq!(up.port, 7443);
        let cli = Cli::parse_from(["bosun", "down", "--name", "dev", "--delete-data"]);
        let Command::Down(down) = cli.command else {
            panic!("not down");
        };
        assert!(down.delete_data);
        assert_eq!(down.cluster, ClusterRef::named("dev"));
    }
}
