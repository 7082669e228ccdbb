//! What the simulator keeps of a Pod from each watch event: the few spec
//! facts that drive its simulated run, the `sim.bosun.dev/*` annotations,
//! and a summary of its current status (not the whole object).

use crate::ids;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Annotation: how long containers run before they exit, in seconds.
pub const RUN_SECONDS_ANNOTATION: &str = "sim.bosun.dev/run-seconds";
/// Annotation: the exit code containers exit with.
pub const EXIT_CODE_ANNOTATION: &str = "sim.bosun.dev/exit-code";

/// The pod conditions the simulated kubelet owns.
pub const OWN_CONDITIONS: [&str; 5] = [
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
];

/// `spec.restartPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restart containers whatever their exit code.
    Always,
    /// Restart containers that fail.
    OnFailure,
    /// Never restart.
    Never,
}

/// One container as the simulation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// Its name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// readinessProbe.initialDelaySeconds (zero without a probe).
    pub ready_delay: Duration,
    /// startupProbe.initialDelaySeconds (zero without a probe).
    pub startup_delay: Duration,
    /// An init container with restartPolicy Always (a native sidecar).
    pub sidecar: bool,
}

/// A pending deletion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deletion {
    /// metadata.deletionTimestamp: when the grace period ends.
    pub deadline: jiff::Timestamp,
}

/// What an earlier run of the simulator (or kubelet) already reported, so
/// a restarted simulator continues pods instead of restarting them.
#[derive(Debug, Clone, PartialEq)]
pub struct Adoption {
    /// status.startTime.
    pub start_time: jiff::Timestamp,
    /// status.podIP.
    pub pod_ip: Option<Ipv4Addr>,
    /// Per container: name, restartCount and when its current run started.
    pub containers: Vec<(String, i32, Option<jiff::Timestamp>)>,
    /// Our conditions as reported (for their lastTransitionTimes).
    pub conditions: Vec<PodCondition>,
}

/// The facts of one Pod event.
#[derive(Debug, Clone, PartialEq)]
pub struct PodView {
    /// metadata.namespace.
    pub namespace: String,
    /// metadata.name.
    pub name: String,
    /// metadata.uid.
    pub uid: String,
    /// metadata.resourceVersion.
    pub resource_version: String,
    /// spec.nodeName.
    pub node: String,
    /// Set once the pod is being deleted.
    pub deletion: Option<Deletion>,
    /// spec.restartPolicy.
    pub restart_policy: RestartPolicy,
    /// spec.hostNetwork.
    pub host_network: bool,
    /// spec.initContainers.
    pub init_containers: Vec<ContainerSpec>,
    /// spec.containers.
    pub containers: Vec<ContainerSpec>,
    /// spec.readinessGates condition types.
    pub readiness_gates: Vec<String>,
    /// `sim.bosun.dev/run-seconds`, when valid.
    pub run_seconds: Option<f64>,
    /// `sim.bosun.dev/exit-code`, when valid.
    pub exit_code: Option<i32>,
    /// status.phase is Succeeded or Failed.
    pub terminal: bool,
    /// Conditions someone else owns (readiness gates, DisruptionTarget…).
    pub foreign_conditions: Vec<PodCondition>,
    /// When PodScheduled became True, as reported.
    pub scheduled_at: Option<Time>,
    /// [`summarize`] of the reported status.
    pub status_summary: u64,
    /// What a previous run reported, for a Running pod.
    pub adoption: Option<Adoption>,
    /// The event came from a (re)list rather than the watch.
    pub listed: bool,
}

impl PodView {
    /// The view of `pod`, or `None` without a name, uid or node; with
    /// `adopt`, also what it reports of an earlier run.
    pub fn from_pod(pod: &Pod, adopt: bool) -> Option<Self> {
        let meta = &pod.metadata;
        let spec = pod.spec.as_ref()?;
        let node = spec.node_name.clone().filter(|n| !n.is_empty())?;
        let annotations = meta.annotations.as_ref();
        let annotation = |key: &str| annotations.and_then(|a| a.get(key)).map(|v| v.trim());
        let run_seconds = annotation(RUN_SECONDS_ANNOTATION)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0);
        let exit_code = annotation(EXIT_CODE_ANNOTATION).and_then(|v| v.parse::<i32>().ok());
        let restart_policy = match spec.restart_policy.as_deref() {
            Some("Never") => RestartPolicy::Never,
            Some("OnFailure") => RestartPolicy::OnFailure,
            _ => RestartPolicy::Always,
        };
        let status = pod.status.as_ref();
        let phase = status.and_then(|s| s.phase.as_deref());
        let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]);
        Some(Self {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone()?,
            uid: meta.uid.clone()?,
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            node,
            deletion: meta
                .deletion_timestamp
                .as_ref()
                .map(|t| Deletion { deadline: t.0 }),
            restart_policy,
            host_network: spec.host_network.unwrap_or(false),
            init_containers: spec
                .init_containers
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .map(container_spec)
                .collect(),
            containers: spec.containers.iter().map(container_spec).collect(),
            readiness_gates: spec
                .readiness_gates
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .map(|g| g.condition_type.clone())
                .collect(),
            run_seconds,
            exit_code,
            terminal: matches!(phase, Some("Succeeded" | "Failed")),
            foreign_conditions: conditions
                .iter()
                .filter(|c| !OWN_CONDITIONS.contains(&c.type_.as_str()))
                .cloned()
                .collect(),
            scheduled_at: conditions
                .iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "True")
                .and_then(|c| c.last_transition_time.clone()),
            status_summary: status.map(summarize).unwrap_or(0),
            adoption: status.filter(|_| adopt).and_then(adoption),
            listed: false,
        })
    }
}

fn container_spec(container: &Container) -> ContainerSpec {
    let delay = |probe: Option<&k8s_openapi::api::core::v1::Probe>| {
        let seconds = probe.and_then(|p| p.initial_delay_seconds).unwrap_or(0);
        Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
    };
    ContainerSpec {
        name: container.name.clone(),
        image: container.image.clone().unwrap_or_default(),
        ready_delay: delay(container.readiness_probe.as_ref()),
        startup_delay: delay(container.startup_probe.as_ref()),
        sidecar: container.restart_policy.as_deref() == Some("Always"),
    }
}

fn adoption(status: &PodStatus) -> Option<Adoption> {
    if status.phase.as_deref() != Some("Running") {
        return None;
    }
    let start_time = status.start_time.as_ref()?.0;
    let containers = status
        .container_statuses
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|c| {
            let since = c
                .state
                .as_ref()
                .and_then(|s| s.running.as_ref())
                .and_then(|r| r.started_at.as_ref())
                .map(|t| t.0);
            (c.name.clone(), c.restart_count, since)
        })
        .collect();
    Some(Adoption {
        start_time,
        pod_ip: status.pod_ip.as_deref().and_then(|ip| ip.parse().ok()),
        containers,
        conditions: status
            .conditions
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter(|c| OWN_CONDITIONS.contains(&c.type_.as_str()))
            .cloned()
            .collect(),
    })
}

/// A hash of what matters in a pod status — phase, IPs, start time,
/// condition states and each container's state — but not timestamps or
/// formatting, so a status read back from the API summarizes like the one
/// written.
pub fn summarize(status: &PodStatus) -> u64 {
    let mut h = DefaultHasher::new();
    status.phase.hash(&mut h);
    status.host_ip.hash(&mut h);
    status.pod_ip.hash(&mut h);
    status
        .start_time
        .as_ref()
        .map(|t| ids::truncate(t.0))
        .hash(&mut h);
    for c in status.conditions.as_deref().unwrap_or(&[]) {
        (&c.type_, &c.status, &c.reason).hash(&mut h);
    }
    for list in [&status.init_container_statuses, &status.container_statuses] {
        0xc0ffee_u32.hash(&mut h);
        for c in list.as_deref().unwrap_or(&[]) {
            summarize_container(c, &mut h);
        }
    }
    h.finish()
}

fn summarize_container(c: &ContainerStatus, h: &mut DefaultHasher) {
    (&c.name, &c.image, c.ready, c.started, c.restart_count).hash(h);
    let state = c.state.as_ref();
    if let Some(r) = state.and_then(|s| s.running.as_ref()) {
        (1u8, r.started_at.as_ref().map(|t| ids::truncate(t.0))).hash(h);
    } else if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
        (2u8, &w.reason).hash(h);
    } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        (3u8, t.exit_code, &t.reason).hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).expect("pod")
    }

    #[test]
    fn view_reads_spec_and_annotations() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                "annotations": {"sim.bosun.dev/run-seconds": "2.5", "sim.bosun.dev/exit-code": "3"}},
            "spec": {"nodeName": "n0", "restartPolicy": "OnFailure",
                "initContainers": [{"name": "i", "image": "busybox"},
                                   {"name": "side", "image": "envoy", "restartPolicy": "Always"}],
                "containers": [{"name": "c", "image": "nginx",
                    "readinessProbe": {"initialDelaySeconds": 4, "exec": {"command": ["true"]}}}],
                "readinessGates": [{"conditionType": "example.com/gate"}]},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"},
                {"type": "example.com/gate", "status": "True"}]}
        }));
        let view = PodView::from_pod(&p, true).expect("view");
        assert_eq!(view.node, "n0");
        assert_eq!(view.restart_policy, RestartPolicy::OnFailure);
        assert_eq!(view.run_seconds, Some(2.5));
        assert_eq!(view.exit_code, Some(3));
        assert_eq!(view.containers[0].ready_delay, Duration::from_secs(4));
        assert!(!view.init_containers[0].sidecar);
        assert!(view.init_containers[1].sidecar);
        assert_eq!(view.readiness_gates, ["example.com/gate"]);
        assert_eq!(view.foreign_conditions.len(), 1);
        assert!(view.scheduled_at.is_some());
        assert!(!view.terminal);
        assert!(view.adoption.is_none());
    }

    #[test]
    fn unbound_pods_have_no_view() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "p", "uid": "u"}, "spec": {"containers": []}}));
        assert!(PodView::from_pod(&p, true).is_none());
    }

    #[test]
    fn summary_ignores_timestamps_below_a_second() {
        let a: PodStatus = serde_json::from_value(serde_json::json!({
            "phase": "Running", "startTime": "2024-01-01T00:00:00Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}))
        .expect("status");
        let mut b = a.clone();
        if let Some(c) = b.conditions.as_mut().and_then(|c| c.first_mut()) {
            c.last_transition_time = None;
        }
        assert_eq!(summarize(&a), summarize(&b));
        b.phase = Some("Succeeded".into());
        assert_ne!(summarize(&a), summarize(&b));
    }
}
