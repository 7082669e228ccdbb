//! Command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Every controller this binary has, by upstream's names.
pub const ALL: &[&str] = &[
    "replicaset",
    "deployment",
    "garbage-collector",
    "namespace",
    "serviceaccount",
    "endpoint",
    "endpointslice",
    "nodelifecycle",
    "podgc",
    "daemonset",
    "statefulset",
    "job",
    "cronjob",
    "ttl-after-finished",
    "persistentvolume-binder",
];

/// `bosun-controller-manager`'s flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "bosun-controller-manager",
    version,
    about = "Runs the controllers."
)]
pub struct Config {
    /// Kubeconfig of the cluster (default: $KUBECONFIG, ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Controllers to run: `*` for all, `name` to add one, `-name` to
    /// leave one out (e.g. `*,-garbage-collector`).
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub controllers: Vec<String>,
    /// Only the holder of the Lease `kube-system/kube-controller-manager` runs controllers.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub leader_elect: bool,
    /// Objects of one kind reconciled at once, per controller.
    #[arg(long, default_value_t = 64)]
    pub concurrent_syncs: u16,
    /// Heartbeats missed this long make a node Unknown (and tainted unreachable).
    #[arg(long, default_value = "40s", value_parser = parse_duration)]
    pub node_monitor_grace_period: std::time::Duration,
    /// How often node health is checked.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub node_monitor_period: std::time::Duration,
    /// Where `/livez`, `/readyz` and `/metrics` are served (plain HTTP);
    /// port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:10257")]
    pub healthz_bind_address: SocketAddr,
    /// First delay before the Job controller replaces a failed pod
    /// (doubling up to six minutes), in milliseconds. Hidden: for tests.
    #[arg(long, hide = true, default_value_t = 10_000)]
    pub job_pod_failure_backoff_ms: u64,
    /// The clock the CronJob, Job and TTL controllers read; tests inject
    /// one to fire schedules at will. Not a flag.
    #[arg(skip)]
    pub clock: crate::clock::Clock,
}

impl Config {
    /// Defaults for `kubeconfig`, health on a free port.
    pub fn new(kubeconfig: Option<PathBuf>) -> Self {
        Self {
            kubeconfig,
            controllers: vec!["*".into()],
            leader_elect: false,
            concurrent_syncs: 64,
            healthz_bind_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            node_monitor_grace_period: std::time::Duration::from_secs(40),
            node_monitor_period: std::time::Duration::from_secs(5),
            job_pod_failure_backoff_ms: 10_000,
            clock: crate::clock::Clock::default(),
        }
    }

    /// Whether controller `name` is enabled by `--controllers`.
    pub fn enabled(&self, name: &str) -> bool {
        let mut on = false;
        for item in &self.controllers {
            let item = item.trim();
            if item == "*" {
                on = true;
            } else if item.strip_prefix('-') == Some(name) {
                return false;
            } else if item == name {
                on = true;
            }
        }
        on
    }

    /// Names in `--controllers` that are not controllers.
    pub fn unknown_controllers(&self) -> Vec<String> {
        self.controllers
            .iter()
            .map(|c| c.trim().trim_start_matches('-'))
            .filter(|c| *c != "*" && !c.is_empty() && !ALL.contains(c))
            .map(str::to_owned)
            .collect()
    }
}

/// Parses `40s`, `500ms`, `2m`, `1h` (Go duration style, one unit).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("invalid duration {text:?}: unknown unit {unit:?}")),
    };
    if !(0.0..=1e9).contains(&seconds) {
        return Err(format!("invalid duration {text:?}"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn controllers_flag_selects_as_upstream() {
        let c = Config::parse_from(["x", "--controllers", "*,-garbage-collector"]);
        assert!(c.enabled("deployment"));
        assert!(!c.enabled("garbage-collector"));
        let c = Config::parse_from(["x", "--controllers", "replicaset"]);
        assert!(c.enabled("replicaset"));
        assert!(!c.enabled("deployment"));
        let c = Config::parse_from(["x", "--controllers", "nope,*"]);
        assert_eq!(c.unknown_controllers(), ["nope"]);
    }
}
