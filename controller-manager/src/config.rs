//! Command-line flags.

use crate::nodes::disruption::EvictionRates;
use bosun_runtime::LeaderConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    "disruption",
    "horizontalpodautoscaling",
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
    /// How long a standby waits, after the leader last renewed the Lease,
    /// before taking over (whole seconds, at least one).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up
    /// (and stops); shorter than the lease duration.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    /// Between attempts to acquire or renew the Lease; shorter than the
    /// renew deadline.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,
    /// Objects of one kind reconciled at once, per controller.
    #[arg(long, default_value_t = 64)]
    pub concurrent_syncs: u16,
    /// Heartbeats missed this long make a node Unknown (and tainted unreachable).
    #[arg(long, default_value = "40s", value_parser = parse_duration)]
    pub node_monitor_grace_period: std::time::Duration,
    /// How often node health is checked.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub node_monitor_period: std::time::Duration,
    /// Nodes per second tainted `NoExecute` (their pods evicted) in a
    /// healthy zone, or in a fully disrupted zone while others are healthy.
    #[arg(long, default_value_t = 0.1)]
    pub node_eviction_rate: f64,
    /// Nodes per second tainted `NoExecute` in a partially disrupted zone
    /// larger than `--large-cluster-size-threshold` (smaller ones: none).
    #[arg(long, default_value_t = 0.01)]
    pub secondary_node_eviction_rate: f64,
    /// Share of not-ready nodes (more than two) that makes a zone
    /// partially disrupted.
    #[arg(long, default_value_t = 0.55)]
    pub unhealthy_zone_threshold: f64,
    /// Zones of at most this many nodes are not tainted at all while
    /// partially disrupted.
    #[arg(long, default_value_t = 50)]
    pub large_cluster_size_threshold: u32,
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
            leader_elect_lease_duration: Duration::from_secs(15),
            leader_elect_renew_deadline: Duration::from_secs(10),
            leader_elect_retry_period: Duration::from_secs(2),
            concurrent_syncs: 64,
            healthz_bind_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            node_monitor_grace_period: std::time::Duration::from_secs(40),
            node_monitor_period: std::time::Duration::from_secs(5),
            node_eviction_rate: 0.1,
            secondary_node_eviction_rate: 0.01,
            unhealthy_zone_threshold: 0.55,
            large_cluster_size_threshold: 50,
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

    /// The leader-election timings, or why they cannot work together
    /// (upstream's rules: the lease outlasts the renew deadline, which
    /// outlasts the retry period with jitter).
    pub fn leader_config(&self) -> Result<LeaderConfig, String> {
        let lease = self.leader_elect_lease_duration;
        let renew = self.leader_elect_renew_deadline;
        let retry = self.leader_elect_retry_period;
        if lease < Duration::from_secs(1) {
            return Err("--leader-elect-lease-duration must be at least 1s".into());
        }
        if lease <= renew {
            return Err(format!(
                "--leader-elect-lease-duration ({lease:?}) must be greater than --leader-elect-renew-deadline ({renew:?})"
            ));
        }
        if retry.is_zero() || renew.as_secs_f64() <= retry.as_secs_f64() * 1.2 {
            return Err(format!(
                "--leader-elect-renew-deadline ({renew:?}) must be greater than 1.2 × --leader-elect-retry-period ({retry:?}), which must not be zero"
            ));
        }
        Ok(LeaderConfig {
            lease_duration: lease,
            renew_deadline: renew,
            retry_period: retry,
        })
    }

    /// The eviction rate flags, or why they are invalid.
    pub fn eviction_rates(&self) -> Result<EvictionRates, String> {
        for (flag, rate) in [
            ("--node-eviction-rate", self.node_eviction_rate),
            (
                "--secondary-node-eviction-rate",
                self.secondary_node_eviction_rate,
            ),
        ] {
            if !rate.is_finite() || rate < 0.0 {
                return Err(format!("{flag} must be a non-negative number, not {rate}"));
            }
        }
        let threshold = self.unhealthy_zone_threshold;
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(format!(
                "--unhealthy-zone-threshold must be in (0, 1], not {threshold}"
            ));
        }
        Ok(EvictionRates {
            normal: self.node_eviction_rate,
            secondary: self.secondary_node_eviction_rate,
            large_cluster_size: self.large_cluster_size_threshold as usize,
            unhealthy_zone_threshold: threshold,
        })
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

pub use bosun_types::duration::parse as parse_duration;

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

    #[test]
    fn defaults_match_upstream_and_new() {
        let parsed = Config::parse_from(["x"]);
        let rates = parsed.eviction_rates().expect("rates");
        assert_eq!(rates, EvictionRates::default());
        let leader = parsed.leader_config().expect("leader");
        assert_eq!(leader.lease_duration, Duration::from_secs(15));
        assert_eq!(leader.renew_deadline, Duration::from_secs(10));
        assert_eq!(leader.retry_period, Duration::from_secs(2));
        let new = Config::new(None);
        assert_eq!(new.eviction_rates(), Ok(rates));
        assert_eq!(
            new.leader_config().map(|l| l.lease_duration),
            Ok(leader.lease_duration)
        );
    }

    #[test]
    fn eviction_and_leader_flags_are_parsed_and_checked() {
        let c = Config::parse_from([
            "x",
            "--node-eviction-rate=2",
            "--secondary-node-eviction-rate=0.5",
            "--unhealthy-zone-threshold=0.3",
            "--large-cluster-size-threshold=10",
            "--leader-elect-lease-duration=3s",
            "--leader-elect-renew-deadline=2s",
            "--leader-elect-retry-period=500ms",
        ]);
        let rates = c.eviction_rates().expect("rates");
        assert_eq!(rates.normal, 2.0);
        assert_eq!(rates.secondary, 0.5);
        assert_eq!(rates.unhealthy_zone_threshold, 0.3);
        assert_eq!(rates.large_cluster_size, 10);
        let leader = c.leader_config().expect("leader");
        assert_eq!(leader.retry_period, Duration::from_millis(500));
        let bad = Config::parse_from(["x", "--unhealthy-zone-threshold=0"]);
        assert!(bad.eviction_rates().is_err());
        let bad = Config::parse_from(["x", "--node-eviction-rate=-1"]);
        assert!(bad.eviction_rates().is_err());
        let bad = Config::parse_from(["x", "--leader-elect-renew-deadline=15s"]);
        assert!(bad.leader_config().is_err());
        let bad = Config::parse_from(["x", "--leader-elect-retry-period=9s"]);
        assert!(bad.leader_config().is_err());
        let bad = Config::parse_from([
            "x",
            "--leader-elect-lease-duration=500ms",
            "--leader-elect-renew-deadline=400ms",
            "--leader-elect-retry-period=100ms",
        ]);
        assert!(bad.leader_config().is_err());
    }
}
