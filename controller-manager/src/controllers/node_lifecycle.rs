//! The node-lifecycle controller and taint-based eviction.
//!
//! * A node whose kubelet stops heartbeating (its Lease in
//!   `kube-node-lease` and its Ready condition both unchanged, as observed
//!   on this process's clock, for the grace period) gets its Ready,
//!   MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown
//!   (`NodeStatusUnknown`, "Kubelet stopped posting node status.").
//! * Nodes carry the `node.kubernetes.io/not-ready` (Ready=False) or
//!   `node.kubernetes.io/unreachable` (Ready=Unknown) taints, NoExecute and
//!   NoSchedule, removed again once the node is Ready.
//! * Pods on a node with NoExecute taints they do not tolerate are deleted
//!   at once; tolerated with `tolerationSeconds` they are deleted when that
//!   time has passed since the taint was added (`TaintManagerEviction`).

use crate::context::{Shared, Stop};
use crate::informer::Informer;
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::reflector::Store;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The controller's name (`--controllers`).
pub const NAME: &str = "nodelifecycle";
/// Taint of nodes whose Ready condition is False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint of nodes whose Ready condition is Unknown.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// `source.component` of eviction events.
pub const COMPONENT: &str = "taint-eviction-controller";

/// How a node's health is watched.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// `--node-monitor-grace-period`: heartbeats missed this long make the
    /// node Unknown.
    pub grace: Duration,
    /// `--node-monitor-period`: how often nodes are checked.
    pub period: Duration,
}

/// Runs the controller until `stop`.
pub async fn run(
    shared: Shared,
    stop: Stop,
    nodes: Arc<Informer<Node>>,
    pods: Arc<Informer<Pod>>,
    timing: Timing,
) {
    // Caches first (safe with many waiters, unlike Store::wait_until_ready).
    nodes.ready().await;
    pods.ready().await;
    let leases = Informer::<Lease>::start(
        Api::namespaced(shared.client.clone(), "kube-node-lease"),
        kube::runtime::watcher::Config::default(),
    );
    let mut monitor = Monitor {
        shared,
        nodes: nodes.store(),
        pods: pods.store(),
        leases: leases.store(),
        timing,
        seen: HashMap::new(),
    };
    let _ = monitor.nodes.wait_until_ready().await;
    let _ = monitor.pods.wait_until_ready().await;
    let mut tick = tokio::time::interval(timing.period.min(Duration::from_secs(1)));
    let stopped = stop.wait();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = tick.tick() => monitor.round().await,
        }
    }
}

/// What was last observed of a node's heartbeats, and when.
struct Seen {
    lease: Option<String>,
    heartbeat: Option<String>,
    at: Instant,
}

struct Monitor {
    shared: Shared,
    nodes: Store<Node>,
    pods: Store<Pod>,
    leases: Store<Lease>,
    timing: Timing,
    seen: HashMap<String, Seen>,
}

fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// The taints a node with `ready` status should carry, added at `now`
/// unless already present.
pub fn wanted_taints(current: &[Taint], ready: Option<&str>, now: Timestamp) -> Vec<Taint> {
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| t.key != NOT_READY && t.key != UNREACHABLE)
        .cloned()
        .collect();
    let key = match ready {
        Some("False") => Some(NOT_READY),
        Some("True") => None,
        _ => Some(UNREACHABLE),
    };
    if let Some(key) = key {
        for effect in ["NoSchedule", "NoExecute"] {
            let existing = current
                .iter()
                .find(|t| t.key == key && t.effect == effect)
                .cloned();
            out.push(existing.unwrap_or_else(|| Taint {
                key: key.into(),
                effect: effect.into(),
                time_added: (effect == "NoExecute").then_some(Time(now)),
                value: None,
            }));
        }
    }
    out
}

fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if toleration
        .effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        _ => {
            key == taint.key
                && toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
    }
}

/// When a pod must go from a node with `taints`: `None` never, `Some(t)`
/// at `t` (now or earlier: at once).
pub fn eviction_time(pod: &Pod, taints: &[Taint], now: Timestamp) -> Option<Timestamp> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut when: Option<Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(now);
        }
        // The shortest finite tolerationSeconds among the matching ones.
        let seconds = matching.iter().filter_map(|t| t.toleration_seconds).min();
        if let Some(seconds) = seconds {
            let added = taint.time_added.as_ref().map(|t| t.0).unwrap_or(now);
            let at = added
                .checked_add(jiff::SignedDuration::from_secs(seconds.max(0)))
                .unwrap_or(added);
            when = Some(when.map_or(at, |w: Timestamp| w.min(at)));
        }
    }
    when
}

impl Monitor {
    async fn round(&mut self) {
        let now = Timestamp::now();
        for node in self.nodes.state() {
            let name = node.metadata.name.clone().unwrap_or_default();
            let lease = self
                .leases
                .get(&kube::runtime::reflector::ObjectRef::new(&name).within("kube-node-lease"))
                .and_then(|l| {
                    l.spec
                        .as_ref()?
                        .renew_time
                        .as_ref()
                        .map(|t| t.0.to_string())
                });
            let ready = ready_condition(&node).cloned();
            let heartbeat = ready
                .as_ref()
                .and_then(|c| c.last_heartbeat_time.as_ref().map(|t| t.0.to_string()));
            let entry = self.seen.entry(name.clone()).or_insert_with(|| Seen {
                lease: lease.clone(),
                heartbeat: heartbeat.clone(),
                at: Instant::now(),
            });
            if entry.lease != lease || entry.heartbeat != heartbeat {
                entry.lease = lease;
                entry.heartbeat = heartbeat;
                entry.at = Instant::now();
            }
            let silent = entry.at.elapsed() > self.timing.grace;
            let mut ready_status = ready.as_ref().map(|c| c.status.clone());
            if silent && ready_status.as_deref() != Some("Unknown") {
                if let Err(error) = self.mark_unknown(&node, now).await {
                    tracing::debug!(%error, node = %name, "marking node Unknown failed");
                    continue;
                }
                ready_status = Some("Unknown".into());
            }
            let current = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default();
            let wanted = wanted_taints(&current, ready_status.as_deref(), now);
            if wanted != current
                && let Err(error) = self.set_taints(&node, &wanted).await
            {
                tracing::debug!(%error, node = %name, "updating node taints failed");
            }
            self.evict(&name, &wanted, now).await;
        }
        let known: std::collections::HashSet<String> = self
            .nodes
            .state()
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        self.seen.retain(|n, _| known.contains(n));
    }

    async fn mark_unknown(&self, node: &Node, now: Timestamp) -> Result<(), kube::Error> {
        let mut conditions = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        for kind in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
            match conditions.iter_mut().find(|c| c.type_ == kind) {
                Some(c) => {
                    if c.status != "Unknown" {
                        c.status = "Unknown".into();
                        c.reason = Some("NodeStatusUnknown".into());
                        c.message = Some("Kubelet stopped posting node status.".into());
                        c.last_transition_time = Some(Time(now));
                    }
                }
                None => conditions.push(NodeCondition {
                    type_: kind.into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_transition_time: Some(Time(now)),
                    last_heartbeat_time: Some(Time(now)),
                }),
            }
        }
        let api: Api<Node> = Api::all(self.shared.client.clone());
        let patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version}, "status": {"conditions": conditions}});
        api.patch_status(
            node.metadata.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
        Ok(())
    }

    async fn set_taints(&self, node: &Node, taints: &[Taint]) -> Result<(), kube::Error> {
        let api: Api<Node> = Api::all(self.shared.client.clone());
        let patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version}, "spec": {"taints": taints}});
        api.patch(
            node.metadata.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
        Ok(())
    }

    async fn evict(&self, node: &str, taints: &[Taint], now: Timestamp) {
        if !taints.iter().any(|t| t.effect == "NoExecute") {
            return;
        }
        let recorder = self.shared.recorder.with_component(COMPONENT);
        for pod in self.pods.state() {
            if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(node)
                || pod.metadata.deletion_timestamp.is_some()
            {
                continue;
            }
            let Some(at) = eviction_time(&pod, taints, now) else {
                continue;
            };
            if at > now {
                continue;
            }
            let namespace = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            recorder.publish(
                bosun_runtime::object_ref("v1", "Pod", &pod.metadata),
                bosun_runtime::EventType::Normal,
                "TaintManagerEviction",
                format!("Marking for deletion Pod {namespace}/{name}"),
            );
            let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), &namespace);
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: pod.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            if let Err(error) = api.delete(&name, &params).await {
                tracing::debug!(%error, pod = %name, "taint eviction failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(tolerations: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "tolerations": tolerations}}))
            .expect("pod")
    }

    #[test]
    fn taints_follow_the_ready_condition() {
        let now = Timestamp::now();
        let user = Taint {
            key: "dedicated".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let unknown = wanted_taints(std::slice::from_ref(&user), Some("Unknown"), now);
        assert_eq!(unknown.len(), 3);
        assert!(
            unknown
                .iter()
                .any(|t| t.key == UNREACHABLE && t.effect == "NoExecute" && t.time_added.is_some())
        );
        let not_ready = wanted_taints(&unknown, Some("False"), now);
        assert!(not_ready.iter().all(|t| t.key != UNREACHABLE));
        assert!(not_ready.iter().any(|t| t.key == NOT_READY));
        assert_eq!(wanted_taints(&not_ready, Some("True"), now), vec![user]);
        // Stable: the same state keeps the same taints (and times).
        assert_eq!(wanted_taints(&unknown, Some("Unknown"), now), unknown);
    }

    #[test]
    fn eviction_honours_tolerations_and_their_seconds() {
        let now = Timestamp::now();
        let taints = wanted_taints(&[], Some("Unknown"), now);
        assert_eq!(eviction_time(&pod(json!([])), &taints, now), Some(now));
        let forever =
            pod(json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]));
        assert_eq!(eviction_time(&forever, &taints, now), None);
        let five = pod(
            json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]),
        );
        let at = eviction_time(&five, &taints, now).expect("deadline");
        assert_eq!(at.duration_since(now).as_secs(), 5);
        let everything = pod(json!([{"operator": "Exists"}]));
        assert_eq!(eviction_time(&everything, &taints, now), None);
    }
}
