//! Command-line configuration of the simulator, with the parsers for its
//! duration, label and quantity flags.

use crate::Error;
use crate::addresses::MAX_NODES;
use std::path::PathBuf;
use std::time::Duration;

/// Default `--name-prefix`.
pub const DEFAULT_NAME_PREFIX: &str = "bosun-node-";
/// Default `--cpu`.
pub const DEFAULT_CPU: &str = "32";
/// Default `--memory`.
pub const DEFAULT_MEMORY: &str = "256Gi";
/// Default `--ephemeral-storage`.
pub const DEFAULT_EPHEMERAL_STORAGE: &str = "100Gi";
/// Default `--pods`.
pub const DEFAULT_PODS: u32 = 110;
/// Default `--heartbeat`: the kubelet's lease renew interval.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
/// Default `--status-interval`: how often node status is re-posted when
/// nothing changed (the kubelet uses 5 minutes; a minute keeps
/// `lastHeartbeatTime` fresher for people reading `describe node`).
pub const DEFAULT_STATUS_INTERVAL: Duration = Duration::from_secs(60);
/// Default `--run-seconds`.
pub const DEFAULT_RUN_SECONDS: f64 = 1.0;
/// Default `--max-grace-seconds`.
pub const DEFAULT_MAX_GRACE_SECONDS: u64 = 30;
/// Default `--crash-backoff`: the kubelet's initial restart back-off.
pub const DEFAULT_CRASH_BACKOFF: Duration = Duration::from_secs(10);
/// Default `--max-in-flight`.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// How the simulator runs: which nodes it registers, how they look, and
/// how the pods bound to them behave.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "bosun-node-sim",
    version,
    about = "Simulated Kubernetes nodes: registers Nodes, keeps them Ready and runs the pods bound to them, without containers."
)]
pub struct Config {
    /// Kubeconfig of the cluster to join (default: $KUBECONFIG, then
    /// ~/.kube/config, then the in-cluster service account).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// How many nodes to simulate; they are named `<prefix>0` to `<prefix>N-1`.
    #[arg(long, default_value_t = 1)]
    pub nodes: u32,
    /// Prefix of the node names.
    #[arg(long, default_value = DEFAULT_NAME_PREFIX)]
    pub name_prefix: String,
    /// CPU capacity of each node (a quantity: `32`, `3500m`).
    #[arg(long, default_value = DEFAULT_CPU, value_parser = parse_quantity)]
    pub cpu: String,
    /// Memory capacity of each node (a quantity: `256Gi`).
    #[arg(long, default_value = DEFAULT_MEMORY, value_parser = parse_quantity)]
    pub memory: String,
    /// Ephemeral-storage capacity of each node.
    #[arg(long, default_value = DEFAULT_EPHEMERAL_STORAGE, value_parser = parse_quantity)]
    pub ephemeral_storage: String,
    /// Pod capacity of each node.
    #[arg(long, default_value_t = DEFAULT_PODS)]
    pub pods: u32,
    /// Extra labels for every node, `k=v,k2=v2` (they win over the defaults).
    #[arg(long, default_value = "", value_parser = parse_labels)]
    pub labels: Labels,
    /// Lease renew interval (`10s`, `500ms`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub heartbeat: Duration,
    /// Node status is re-posted this often even when nothing changed.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub status_interval: Duration,
    /// How long containers of restartPolicy Never/OnFailure pods run before
    /// they exit (overridden per pod by `sim.bosun.dev/run-seconds`).
    #[arg(long, default_value_t = DEFAULT_RUN_SECONDS)]
    pub run_seconds: f64,
    /// Upper bound on the grace period a deleted pod is kept Terminating.
    #[arg(long, default_value_t = DEFAULT_MAX_GRACE_SECONDS)]
    pub max_grace_seconds: u64,
    /// First CrashLoopBackOff delay; it doubles per restart up to 5 minutes.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub crash_backoff: Duration,
    /// Directory of stop files: while `DIR/<node>.stopped` exists that node
    /// renews no lease, posts no status and leaves its pods alone.
    #[arg(long)]
    pub control_dir: Option<PathBuf>,
    /// Most API requests in flight at once.
    #[arg(long, default_value_t = DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
}

/// Node labels given with `--labels`, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(pub Vec<(String, String)>);

impl Config {
    /// A configuration with every default, for `nodes` nodes of the cluster
    /// in `kubeconfig` (tests and embedding callers start from this).
    pub fn new(kubeconfig: Option<PathBuf>, nodes: u32) -> Self {
        Self {
            kubeconfig,
            nodes,
            name_prefix: DEFAULT_NAME_PREFIX.to_owned(),
            cpu: DEFAULT_CPU.to_owned(),
            memory: DEFAULT_MEMORY.to_owned(),
            ephemeral_storage: DEFAULT_EPHEMERAL_STORAGE.to_owned(),
            pods: DEFAULT_PODS,
            labels: Labels::default(),
            heartbeat: DEFAULT_HEARTBEAT,
            status_interval: DEFAULT_STATUS_INTERVAL,
            run_seconds: DEFAULT_RUN_SECONDS,
            max_grace_seconds: DEFAULT_MAX_GRACE_SECONDS,
            crash_backoff: DEFAULT_CRASH_BACKOFF,
            control_dir: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// The name of node number `index`.
    pub fn node_name(&self, index: u32) -> String {
        format!("{}{index}", self.name_prefix)
    }

    /// Checks what the parsers cannot: ranges and the shape of node names.
    pub fn validate(&self) -> Result<(), Error> {
        if self.nodes == 0 || self.nodes > MAX_NODES {
            return Err(Error::Config(format!(
                "--nodes must be between 1 and {MAX_NODES}"
            )));
        }
        let last = self.node_name(self.nodes - 1);
        if !is_dns_subdomain(&last) {
            return Err(Error::Config(format!(
                "node name {last:?} (from --name-prefix) is not a valid DNS subdomain"
            )));
        }
        if self.heartbeat.is_zero() || self.status_interval.is_zero() {
            return Err(Error::Config(
                "--heartbeat and --status-interval must be positive".into(),
            ));
        }
        if self.crash_backoff.is_zero() {
            return Err(Error::Config("--crash-backoff must be positive".into()));
        }
        if !(self.run_seconds.is_finite() && self.run_seconds >= 0.0) {
            return Err(Error::Config("--run-seconds must be >= 0".into()));
        }
        if self.max_in_flight == 0 {
            return Err(Error::Config("--max-in-flight must be positive".into()));
        }
        for (key, _) in &self.labels.0 {
            if key.is_empty() {
                return Err(Error::Config("--labels has an empty key".into()));
            }
        }
        Ok(())
    }
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

pub use bosun_types::duration::parse as parse_duration;

/// Parses `k=v,k2=v2` (empty input gives no labels).
pub fn parse_labels(input: &str) -> Result<Labels, String> {
    let mut labels = Vec::new();
    for pair in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("label {pair:?} is not key=value"))?;
        if key.is_empty() {
            return Err(format!("label {pair:?} has an empty key"));
        }
        labels.push((key.to_owned(), value.to_owned()));
    }
    Ok(Labels(labels))
}

/// Checks the shape of a resource quantity (`32`, `3500m`, `256Gi`, `1e3`).
pub fn parse_quantity(input: &str) -> Result<String, String> {
    let text = input.trim();
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let number_ok = !number.is_empty() && number.parse::<f64>().is_ok_and(|n| n >= 0.0);
    let suffix_ok = matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
    ) || (suffix.starts_with(['e', 'E']) && suffix[1..].parse::<i32>().is_ok());
    if number_ok && suffix_ok {
        Ok(text.to_owned())
    } else {
        Err(format!("{input:?} is not a resource quantity"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn labels_parse_as_pairs() {
        assert_eq!(parse_labels(""), Ok(Labels::default()));
        assert_eq!(
            parse_labels("a=b, c/d=").map(|l| l.0),
            Ok(vec![
                ("a".into(), "b".into()),
                ("c/d".into(), String::new())
            ])
        );
        assert!(parse_labels("novalue").is_err());
        assert!(parse_labels("=x").is_err());
    }

    #[test]
    fn quantities_are_checked() {
        for ok in ["32", "3500m", "256Gi", "1.5", "1e3", "100M"] {
            assert!(parse_quantity(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Gi", "12Q", "-1", "abc"] {
            assert!(parse_quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_defaults_match_new() {
        let parsed = Config::parse_from(["bosun-node-sim", "--nodes", "3"]);
        let built = Config::new(None, 3);
        assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
    }

    #[test]
    fn validation_rejects_bad_values() {
        assert!(Config::new(None, 3).validate().is_ok());
        assert!(Config::new(None, 0).validate().is_err());
        assert!(Config::new(None, MAX_NODES + 1).validate().is_err());
        let mut bad_prefix = Config::new(None, 1);
        bad_prefix.name_prefix = "Bad_".into();
        assert!(bad_prefix.validate().is_err());
        let mut bad_run = Config::new(None, 1);
        bad_run.run_seconds = f64::NAN;
        assert!(bad_run.validate().is_err());
    }
}
