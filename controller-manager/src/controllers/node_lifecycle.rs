//! The node-lifecycle controller and taint-based eviction.
//!
//! * A node whose kubelet stops heartbeating (its Lease in
//!   `kube-node-lease` and its Ready condition both unchanged, as observed
//!   on this process's clock, for the grace period) gets its Ready,
//!   MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown
//!   (`NodeStatusUnknown`, "Kubelet stopped posting node status.").
//! * Nodes carry the `node.kubernetes.io/not-ready` (Ready=False) or
//!   `node.kubernetes.io/unreachable` (Ready=Unknown) taints, NoExecute and
//!   NoSchedule, removed again once the node is Ready. NoSchedule is set
//!   at once; NoExecute goes through the node's zone's rate-limited queue,
//!   whose rate follows the zone's health, and stops altogether (with the
//!   NoExecute taints already placed removed) while no zone has a ready
//!   node. The decisions live in [`crate::nodes`]; this module applies them.
//! * Pods on a node with NoExecute taints they do not tolerate are deleted
//!   at once; tolerated with `tolerationSeconds` they are deleted when that
//!   time has passed since the taint was added (`TaintManagerEviction`).

use crate::context::{Shared, Stop, is_conflict};
use crate::informer::Informer;
use crate::nodes::disruption::{Decision, Disruption, EvictionRates, Mode};
use crate::nodes::eviction::eviction_time;
use crate::nodes::metrics::NodeMetrics;
use crate::nodes::taint_queue::TaintQueue;
use crate::nodes::taints::{self, NO_EXECUTE, Queueing, condition_taint_key, with_taint};
use crate::nodes::zone::{excluded_from_disruption, zone_key};
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::nodes::taints::{NOT_READY, UNREACHABLE};

/// The controller's name (`--controllers`).
pub const NAME: &str = "nodelifecycle";
/// `source.component` of eviction events.
pub const COMPONENT: &str = "taint-eviction-controller";
/// `source.component` of the node events (registration, NotReady).
pub const NODE_COMPONENT: &str = "node-controller";
/// How often the taint queues are looked at (upstream's eviction period).
const TAINT_PASS: Duration = Duration::from_millis(100);
/// When a node whose tainting failed is tried again.
const TAINT_RETRY: Duration = Duration::from_millis(500);
/// Attempts at a taint update that keeps conflicting.
const UPDATE_ATTEMPTS: u32 = 5;

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
    rates: EvictionRates,
) {
    // Caches first (safe with many waiters, unlike Store::wait_until_ready).
    nodes.ready().await;
    pods.ready().await;
    let leases = Informer::<Lease>::start(
        Api::namespaced(shared.client.clone(), "kube-node-lease"),
        kube::runtime::watcher::Config::default(),
    );
    let mut monitor = Monitor {
        metrics: shared.metrics.nodes.clone(),
        shared,
        nodes: nodes.store(),
        pods: pods.store(),
        leases: leases.store(),
        timing,
        rates,
        seen: HashMap::new(),
        disruption: Disruption::default(),
        queues: BTreeMap::new(),
    };
    let _ = monitor.nodes.wait_until_ready().await;
    let _ = monitor.pods.wait_until_ready().await;
    let mut tick = tokio::time::interval(timing.period.min(Duration::from_secs(1)));
    let mut taint_tick = tokio::time::interval(TAINT_PASS);
    taint_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stopped = stop.wait();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = tick.tick() => {
                monitor.round().await;
                monitor.taint_pass().await;
            }
            _ = taint_tick.tick() => monitor.taint_pass().await,
        }
    }
}

/// What was last observed of a node's heartbeats, and when; and what the
/// last round made of it.
struct Seen {
    lease: Option<String>,
    heartbeat: Option<String>,
    at: Instant,
    /// Its Ready status after the last round (`None`: no condition).
    ready: Option<String>,
    /// Its zone key.
    zone: String,
}

struct Monitor {
    shared: Shared,
    metrics: NodeMetrics,
    nodes: Store<Node>,
    pods: Store<Pod>,
    leases: Store<Lease>,
    timing: Timing,
    rates: EvictionRates,
    seen: HashMap<String, Seen>,
    disruption: Disruption,
    /// Per zone, the nodes waiting for their NoExecute taint.
    queues: BTreeMap<String, TaintQueue>,
}

fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

fn taints_of(node: &Node) -> Vec<Taint> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default()
}

impl Monitor {
    /// One health check of every node: conditions, NoSchedule taints,
    /// zone states and rates, the taint queues, and evictions.
    async fn round(&mut self) {
        let now = Timestamp::now();
        let instant = Instant::now();
        let mut readiness: BTreeMap<String, Vec<bool>> = BTreeMap::new();
        let mut observed: Vec<(Arc<Node>, String, Option<String>)> = Vec::new();
        let mut known: HashSet<String> = HashSet::new();
        let mut went_not_ready: Vec<String> = Vec::new();
        for node in self.nodes.state() {
            let Some(name) = node.metadata.name.clone() else {
                continue;
            };
            known.insert(name.clone());
            let Some((node, ready)) = self.observe(node, &name, now, instant).await else {
                continue;
            };
            let labels = node.metadata.labels.as_ref();
            let zone = zone_key(labels);
            if !excluded_from_disruption(labels) {
                readiness
                    .entry(zone.clone())
                    .or_default()
                    .push(ready.as_deref() == Some("True"));
            }
            if let Some(seen) = self.seen.get_mut(&name) {
                if seen.ready.as_deref() == Some("True") && ready.as_deref() != Some("True") {
                    self.shared.recorder.with_component(NODE_COMPONENT).publish(
                        bosun_runtime::object_ref("v1", "Node", &node.metadata),
                        bosun_runtime::EventType::Normal,
                        "NodeNotReady",
                        format!("Node {name} status is now: NodeNotReady"),
                    );
                    went_not_ready.push(name.clone());
                }
                if seen.zone != zone
                    && let Some(old) = self.queues.get_mut(&seen.zone)
                {
                    old.remove(&name);
                }
                seen.zone = zone.clone();
                seen.ready = ready.clone();
            }
            self.queue(&zone, instant);
            observed.push((node, name, ready));
        }
        // Nodes that could not be marked Unknown keep their heartbeat
        // record (and their grace period), as upstream skips them too.
        self.seen.retain(|n, _| known.contains(n));
        let zones: HashSet<&str> = self.seen.values().map(|s| s.zone.as_str()).collect();
        self.queues.retain(|z, _| zones.contains(z.as_str()));
        for queue in self.queues.values_mut() {
            queue.retain(|n| known.contains(n));
        }

        let decision = self.disruption.observe(&readiness, &self.rates);
        self.apply(&decision, instant);
        let paused = self.disruption.master_disruption();

        let mut pods_by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for pod in self.pods.state() {
            if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
                pods_by_node.entry(node).or_default().push(pod);
            }
        }
        for name in &went_not_ready {
            self.mark_pods_not_ready(pods_by_node.get(name).map_or(&[][..], Vec::as_slice), now)
                .await;
        }
        for (node, name, ready) in observed {
            let zone = zone_key(node.metadata.labels.as_ref());
            let current = taints_of(&node);
            let plan = taints::plan(&current, ready.as_deref(), paused, now);
            if let Some(queue) = self.queues.get_mut(&zone) {
                match plan.queueing {
                    Queueing::Enqueue => {
                        if queue.add(&name, instant) {
                            tracing::info!(node = %name, zone = %zone, "node not ready: queued for its NoExecute taint");
                        }
                    }
                    Queueing::Dequeue => {
                        queue.remove(&name);
                    }
                }
            }
            let taints = if plan.taints == current {
                current
            } else {
                let ready = ready.clone();
                let change = |c: &[Taint]| taints::plan(c, ready.as_deref(), paused, now).taints;
                match self.update_taints(&node, change).await {
                    Ok(taints) => taints,
                    Err(error) => {
                        tracing::debug!(%error, node = %name, "updating node taints failed");
                        current
                    }
                }
            };
            let pods = pods_by_node.remove(&name).unwrap_or_default();
            self.evict(&pods, &taints, now).await;
        }
    }

    /// Reads `node`'s heartbeats and marks it Unknown once they stopped for
    /// the grace period: the node as it is now and its Ready status, or
    /// `None` when it could not be marked.
    async fn observe(
        &mut self,
        node: Arc<Node>,
        name: &str,
        now: Timestamp,
        instant: Instant,
    ) -> Option<(Arc<Node>, Option<String>)> {
        let lease = self
            .leases
            .get(&ObjectRef::new(name).within("kube-node-lease"))
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
        if !self.seen.contains_key(name) {
            // As upstream's controller on first sight of a node (also after
            // a restart of the controller-manager).
            self.shared.recorder.with_component(NODE_COMPONENT).publish(
                bosun_runtime::object_ref("v1", "Node", &node.metadata),
                bosun_runtime::EventType::Normal,
                "RegisteredNode",
                format!("Node {name} event: Registered Node {name} in Controller"),
            );
        }
        let entry = self.seen.entry(name.to_owned()).or_insert_with(|| Seen {
            lease: lease.clone(),
            heartbeat: heartbeat.clone(),
            at: instant,
            ready: None,
            zone: zone_key(node.metadata.labels.as_ref()),
        });
        if entry.lease != lease || entry.heartbeat != heartbeat {
            entry.lease = lease;
            entry.heartbeat = heartbeat;
            entry.at = instant;
        }
        let silent = instant.saturating_duration_since(entry.at) > self.timing.grace;
        let status = ready.as_ref().map(|c| c.status.clone());
        if silent && status.as_deref() != Some("Unknown") {
            return match self.mark_unknown(&node, now).await {
                Ok(updated) => Some((Arc::new(updated), Some("Unknown".into()))),
                Err(error) => {
                    tracing::debug!(%error, node = %name, "marking node Unknown failed");
                    None
                }
            };
        }
        Some((node, status))
    }

    /// The taint queue of `zone`, created at the normal rate when new.
    fn queue(&mut self, zone: &str, instant: Instant) -> &mut TaintQueue {
        self.queues.entry(zone.to_owned()).or_insert_with(|| {
            self.metrics.new_zone(zone);
            TaintQueue::new(self.rates.normal, instant)
        })
    }

    /// Applies a round's zone decision: metrics, rates, mode changes.
    fn apply(&mut self, decision: &Decision, instant: Instant) {
        for (zone, health) in &decision.zones {
            self.metrics.zone(zone, health);
        }
        for zone in &decision.gone {
            self.metrics.zone_gone(zone);
        }
        match decision.mode {
            Mode::Entered => tracing::warn!(
                "no node in any zone is ready: entering master disruption mode, \
                 removing NoExecute taints and tainting no node until one is ready again"
            ),
            Mode::Left => {
                tracing::info!("a node is ready again: leaving master disruption mode");
                // Every node gets a fresh grace period.
                for seen in self.seen.values_mut() {
                    seen.at = instant;
                }
            }
            Mode::Unchanged => {}
        }
        for (zone, qps) in &decision.rates {
            let state = self
                .disruption
                .state(zone)
                .map(|s| s.as_str())
                .unwrap_or_default();
            let queue = self.queue(zone, instant);
            if queue.qps() != *qps {
                tracing::info!(zone = %zone, state, qps, "zone tainting rate changed");
            }
            queue.set_qps(*qps, instant);
        }
    }

    /// Taints the nodes whose turn has come in each zone's queue NoExecute
    /// (and evicts their pods).
    async fn taint_pass(&mut self) {
        if self.disruption.master_disruption() {
            return;
        }
        let now = Timestamp::now();
        let instant = Instant::now();
        let zones: Vec<String> = self.queues.keys().cloned().collect();
        for zone in zones {
            while let Some(name) = self.queues.get_mut(&zone).and_then(|q| q.pop(instant)) {
                // The status the last round saw (this process's own
                // Unknown included, which the cache may not show yet).
                let Some(seen) = self.seen.get(&name) else {
                    continue;
                };
                let Some(key) = condition_taint_key(seen.ready.as_deref()) else {
                    continue;
                };
                let Some(node) = self.nodes.get(&ObjectRef::new(&name)) else {
                    continue;
                };
                let change = |c: &[Taint]| with_taint(c, NO_EXECUTE, Some(key), now);
                match self.update_taints(&node, change).await {
                    Ok(taints) => {
                        tracing::info!(node = %name, zone = %zone, taint = key, "tainted node NoExecute");
                        self.metrics.evicted(&zone);
                        let pods: Vec<Arc<Pod>> = self
                            .pods
                            .state()
                            .into_iter()
                            .filter(|p| {
                                p.spec.as_ref().and_then(|s| s.node_name.as_deref())
                                    == Some(name.as_str())
                            })
                            .collect();
                        self.evict(&pods, &taints, now).await;
                    }
                    Err(error) => {
                        tracing::debug!(%error, node = %name, "NoExecute tainting failed; retrying");
                        if let Some(queue) = self.queues.get_mut(&zone) {
                            queue.retry(&name, instant + TAINT_RETRY);
                        }
                    }
                }
            }
        }
    }

    async fn mark_unknown(&self, node: &Node, now: Timestamp) -> Result<Node, kube::Error> {
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
        .await
    }

    /// Sets `node`'s taints to `change` of its current ones, re-reading the
    /// node on conflicts; the taints it has afterwards.
    async fn update_taints(
        &self,
        node: &Node,
        change: impl Fn(&[Taint]) -> Vec<Taint>,
    ) -> Result<Vec<Taint>, kube::Error> {
        let api: Api<Node> = Api::all(self.shared.client.clone());
        let name = node.metadata.name.clone().unwrap_or_default();
        let mut node = node.clone();
        let mut attempt = 1;
        loop {
            let current = taints_of(&node);
            let wanted = change(&current);
            if wanted == current {
                return Ok(current);
            }
            let patch = json!({"metadata": {"resourceVersion": node.metadata.resource_version}, "spec": {"taints": wanted}});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(updated) => return Ok(taints_of(&updated)),
                Err(error) if is_conflict(&error) && attempt < UPDATE_ATTEMPTS => {
                    attempt += 1;
                    node = api.get(&name).await?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Sets the `Ready` condition of `pods` (of a node that stopped being
    /// Ready) to False, as upstream's `MarkPodsNotReady`, so they leave
    /// their Services' endpoints; each gets a `NodeNotReady` warning.
    async fn mark_pods_not_ready(&self, pods: &[Arc<Pod>], now: Timestamp) {
        let recorder = self.shared.recorder.with_component(NODE_COMPONENT);
        for pod in pods {
            let ready = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
            if ready.is_none_or(|c| c.status == "False") {
                continue;
            }
            let namespace = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), &namespace);
            let patch = json!({"status": {"conditions": [{
                "type": "Ready", "status": "False", "lastTransitionTime": Time(now),
            }]}});
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Strategic(patch))
                .await
            {
                Ok(_) => recorder.publish(
                    bosun_runtime::object_ref("v1", "Pod", &pod.metadata),
                    bosun_runtime::EventType::Warning,
                    "NodeNotReady",
                    "Node is not ready".to_owned(),
                ),
                Err(error) => {
                    tracing::debug!(%error, pod = %name, "marking pod not ready failed");
                }
            }
        }
    }

    /// Deletes the `pods` (of one node with `taints`) whose time is up.
    async fn evict(&self, pods: &[Arc<Pod>], taints: &[Taint], now: Timestamp) {
        if !taints.iter().any(|t| t.effect == NO_EXECUTE) {
            return;
        }
        let recorder = self.shared.recorder.with_component(COMPONENT);
        for pod in pods {
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let Some(at) = eviction_time(pod, taints, now) else {
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
