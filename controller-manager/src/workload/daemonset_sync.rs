//! The DaemonSet controller's decisions: which nodes need a daemon pod and
//! which pods must go (`manage`), which old pods a rolling update replaces
//! next (`rollingUpdate`, with `maxUnavailable` or `maxSurge`), and the
//! status counts.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use super::availability::{is_pod_available, is_pod_ready, pod_phase};
use super::controller_revision::CONTROLLER_REVISION_HASH_LABEL;
use super::daemonset_placement::{
    add_daemon_pod_tolerations, daemon_pod_spec, pin_to_node, should_run_on, target_node_name,
};
use super::deployment_util::scaled_value_from_int_or_percent;
use super::error::WorkloadError;
use super::pod_template::pod_from_template;

/// The label carrying the template generation a daemon pod was made from.
pub const POD_TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// Where apps/v1 keeps a DaemonSet's template generation.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";
/// Event reason: a daemon pod failed and is deleted to be recreated.
pub const FAILED_DAEMON_POD: &str = "FailedDaemonPod";
/// Event reason: a daemon pod succeeded and is deleted to be recreated.
pub const SUCCEEDED_DAEMON_POD: &str = "SucceededDaemonPod";
/// Event reason: a node cannot hold the daemon pod.
pub const FAILED_PLACEMENT: &str = "FailedPlacement";
/// Event reason: the DaemonSet's selector is empty.
pub const SELECTING_ALL: &str = "SelectingAll";

/// The template generation pods are labelled with: the apps/v1 annotation
/// when the apiserver keeps one, else `metadata.generation`.
pub fn template_generation(ds: &DaemonSet) -> Option<i64> {
    ds.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(TEMPLATE_GENERATION_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .or(ds.metadata.generation)
}

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

/// Upstream's `IsPodUpdated`: the pod carries the current revision's hash
/// or the current template generation.
pub fn is_pod_updated(pod: &Pod, hash: &str, generation: Option<i64>) -> bool {
    let template_matches = generation
        .is_some_and(|g| label(pod, POD_TEMPLATE_GENERATION_LABEL) == Some(g.to_string().as_str()));
    let hash_matches = !hash.is_empty() && label(pod, CONTROLLER_REVISION_HASH_LABEL) == Some(hash);
    hash_matches || template_matches
}

/// Upstream's `CreatePodTemplate`: the DaemonSet's template with the
/// daemon tolerations and the generation and hash labels.
pub fn daemon_pod_template(ds: &DaemonSet, generation: Option<i64>, hash: &str) -> PodTemplateSpec {
    let mut template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    add_daemon_pod_tolerations(template.spec.get_or_insert_with(PodSpec::default));
    let labels = template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(BTreeMap::new);
    if let Some(g) = generation {
        labels.insert(POD_TEMPLATE_GENERATION_LABEL.into(), g.to_string());
    }
    if !hash.is_empty() {
        labels.insert(CONTROLLER_REVISION_HASH_LABEL.into(), hash.to_owned());
    }
    template
}

/// The pod to create for `node`: `template` pinned to the node through a
/// required node affinity (the scheduler binds it), named `<ds>-…`.
pub fn daemon_pod_for_node(
    ds: &DaemonSet,
    template: &PodTemplateSpec,
    node: &str,
    owner: OwnerReference,
) -> Pod {
    let mut pod = pod_from_template(
        template,
        ds.metadata.name.as_deref().unwrap_or_default(),
        ds.metadata.namespace.as_deref(),
        Some(owner),
    );
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    spec.affinity = Some(pin_to_node(spec.affinity.take(), node));
    pod
}

/// Scheduled pods first, then oldest first, then by name.
pub fn cmp_by_creation_and_phase(a: &Pod, b: &Pod) -> Ordering {
    let scheduled = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    scheduled(b)
        .cmp(&scheduled(a))
        .then_with(|| {
            let t = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            t(a).cmp(&t(b))
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(pod_phase(pod), "Succeeded" | "Failed")
}

/// Daemon pods by the node they are for (upstream's
/// `getNodesToDaemonPods`); terminal pods already being deleted are left
/// out unless `include_deleted_terminal`.
pub fn group_by_node<'a>(
    pods: &[&'a Pod],
    include_deleted_terminal: bool,
) -> BTreeMap<String, Vec<&'a Pod>> {
    let mut out: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    for pod in pods {
        if !include_deleted_terminal
            && is_terminal(pod)
            && pod.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        if let Some(node) = target_node_name(pod) {
            out.entry(node).or_default().push(pod);
        }
    }
    out
}

/// A pod to delete, with the UID it must still have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// The pod's name.
    pub name: String,
    /// Its UID (a delete precondition).
    pub uid: Option<String>,
}

impl PodRef {
    fn of(pod: &Pod) -> Self {
        Self {
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone(),
        }
    }
}

/// Why `manage` deletes a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteReason {
    /// It failed on `node` (a Warning `FailedDaemonPod` is recorded).
    Failed {
        /// The node.
        node: String,
    },
    /// It succeeded on `node` (a Normal `SucceededDaemonPod` is recorded).
    Succeeded {
        /// The node.
        node: String,
    },
    /// A second pod on a node that needs one.
    Excess,
    /// Its node no longer qualifies.
    NotEligible,
    /// It was never bound and its node no longer exists.
    NodeGone,
}

/// One deletion `manage` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// The pod.
    pub pod: PodRef,
    /// Why.
    pub reason: DeleteReason,
}

/// What `manage` wants done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagePlan {
    /// Nodes that need a daemon pod, in node-name order.
    pub create_on: Vec<String>,
    /// Pods to delete.
    pub delete: Vec<Deletion>,
}

/// Whether the DaemonSet's rolling update may surge (`maxSurge` > 0).
pub fn allows_surge(ds: &DaemonSet) -> bool {
    surge_count(ds, 1).is_ok_and(|n| n > 0)
}

fn rolling(ds: &DaemonSet) -> Option<&k8s_openapi::api::apps::v1::RollingUpdateDaemonSet> {
    let strategy = ds.spec.as_ref()?.update_strategy.as_ref()?;
    if strategy.type_.as_deref().unwrap_or("RollingUpdate") != "RollingUpdate" {
        return None;
    }
    strategy.rolling_update.as_ref()
}

/// `maxSurge` resolved against `n` nodes (percentages rounded up).
pub fn surge_count(ds: &DaemonSet, n: i32) -> Result<i32, WorkloadError> {
    match rolling(ds).and_then(|r| r.max_surge.as_ref()) {
        Some(v) => scaled_value_from_int_or_percent(v, n, true),
        None => Ok(0),
    }
}

/// `maxUnavailable` resolved against `n` nodes (percentages rounded up).
pub fn unavailable_count(ds: &DaemonSet, n: i32) -> Result<i32, WorkloadError> {
    match rolling(ds) {
        Some(r) => scaled_value_from_int_or_percent(
            r.max_unavailable.as_ref().unwrap_or(&IntOrString::Int(1)),
            n,
            true,
        ),
        None => Ok(0),
    }
}

fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or_default()
}

fn min_ready_seconds(ds: &DaemonSet) -> i32 {
    ds.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

/// Upstream's `manage` (`podsShouldBeOnNode` for every node, plus unbound
/// pods for nodes that no longer exist). `in_backoff(node)` says whether
/// deleting a failed pod on `node` must wait. Pods already bound to a
/// deleted node are left to pod garbage collection, as upstream does.
pub fn plan_manage(
    ds: &DaemonSet,
    nodes: &[&Node],
    by_node: &BTreeMap<String, Vec<&Pod>>,
    hash: &str,
    now: Timestamp,
    in_backoff: impl Fn(&str) -> bool,
) -> ManagePlan {
    let mut plan = ManagePlan::default();
    let spec = daemon_pod_spec(ds);
    let surge = allows_surge(ds);
    let min_ready = min_ready_seconds(ds);
    for node in nodes {
        let name = node_name(node);
        let (should_run, should_continue) = should_run_on(&spec, node);
        let pods = by_node.get(name).map(Vec::as_slice).unwrap_or_default();
        if should_run && pods.is_empty() {
            plan.create_on.push(name.to_owned());
            continue;
        }
        if !should_continue {
            for pod in pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
            {
                plan.delete.push(Deletion {
                    pod: PodRef::of(pod),
                    reason: DeleteReason::NotEligible,
                });
            }
            continue;
        }
        let mut running: Vec<&Pod> = Vec::new();
        for pod in pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
        {
            match pod_phase(pod) {
                "Failed" => {
                    if !in_backoff(name) {
                        plan.delete.push(Deletion {
                            pod: PodRef::of(pod),
                            reason: DeleteReason::Failed {
                                node: name.to_owned(),
                            },
                        });
                    }
                }
                "Succeeded" => plan.delete.push(Deletion {
                    pod: PodRef::of(pod),
                    reason: DeleteReason::Succeeded {
                        node: name.to_owned(),
                    },
                }),
                _ => running.push(pod),
            }
        }
        running.sort_by(|a, b| cmp_by_creation_and_phase(a, b));
        if !surge {
            for extra in running.iter().skip(1) {
                plan.delete.push(Deletion {
                    pod: PodRef::of(extra),
                    reason: DeleteReason::Excess,
                });
            }
            continue;
        }
        if running.len() <= 1 {
            if running.is_empty() && should_run {
                plan.create_on.push(name.to_owned());
            }
            continue;
        }
        // Surging: keep the oldest new pod, and the oldest old pod only while
        // it is ready and the new one is not yet available.
        let mut oldest_new: Option<&Pod> = None;
        let mut oldest_old: Option<&Pod> = None;
        for pod in running {
            let slot = if label(pod, CONTROLLER_REVISION_HASH_LABEL) == Some(hash) {
                &mut oldest_new
            } else {
                &mut oldest_old
            };
            if slot.is_none() {
                *slot = Some(pod);
            } else {
                plan.delete.push(Deletion {
                    pod: PodRef::of(pod),
                    reason: DeleteReason::Excess,
                });
            }
        }
        if let (Some(new), Some(old)) = (oldest_new, oldest_old)
            && (!is_pod_ready(old) || is_pod_available(new, min_ready, now))
        {
            plan.delete.push(Deletion {
                pod: PodRef::of(old),
                reason: DeleteReason::Excess,
            });
        }
    }
    for (name, pods) in by_node {
        if nodes.iter().any(|n| node_name(n) == name) {
            continue;
        }
        for pod in pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
        {
            let bound = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .is_some_and(|n| !n.is_empty());
            if !bound {
                plan.delete.push(Deletion {
                    pod: PodRef::of(pod),
                    reason: DeleteReason::NodeGone,
                });
            }
        }
    }
    plan
}

/// What one rolling-update step does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollingPlan {
    /// Old pods to delete.
    pub delete: Vec<PodRef>,
    /// Nodes to surge a new pod onto.
    pub create_on: Vec<String>,
}

/// Upstream's `findUpdatedPodsOnNode`: the node's one new and one old pod
/// (not being deleted); `None` when there are two of either.
fn updated_pods_on_node<'a>(
    pods: &[&'a Pod],
    hash: &str,
    generation: Option<i64>,
) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let mut new = None;
    let mut old = None;
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let slot = if is_pod_updated(pod, hash, generation) {
            &mut new
        } else {
            &mut old
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(*pod);
    }
    Some((new, old))
}

/// Upstream's `rollingUpdate`: with `maxSurge` 0, delete old pods (all
/// unavailable ones, plus available ones while fewer than
/// `maxUnavailable` nodes are unavailable); with a surge, start new pods
/// next to old ones (up to `maxSurge` at once) and delete each old pod once
/// its replacement is available. Nodes are visited in name order.
pub fn plan_rolling_update(
    ds: &DaemonSet,
    nodes: &[&Node],
    by_node: &BTreeMap<String, Vec<&Pod>>,
    hash: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> Result<RollingPlan, WorkloadError> {
    let mut map: BTreeMap<&str, Vec<&Pod>> = by_node
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let mut desired = 0i32;
    let spec = daemon_pod_spec(ds);
    for node in nodes {
        if should_run_on(&spec, node).0 {
            desired += 1;
            map.entry(node_name(node)).or_default();
        }
    }
    let max_surge = surge_count(ds, desired)?;
    let mut max_unavailable = unavailable_count(ds, desired)?;
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let min_ready = min_ready_seconds(ds);
    let mut plan = RollingPlan::default();
    if max_surge == 0 {
        let mut unavailable = 0i32;
        let mut allowed: Vec<PodRef> = Vec::new();
        let mut candidates: Vec<PodRef> = Vec::new();
        for pods in map.values() {
            let Some((new, old)) = updated_pods_on_node(pods, hash, generation) else {
                unavailable += 1;
                continue;
            };
            match (new, old) {
                (None, None) | (Some(_), Some(_)) => unavailable += 1,
                (Some(new), None) => {
                    if !is_pod_available(new, min_ready, now) {
                        unavailable += 1;
                    }
                }
                (None, Some(old)) => {
                    if !is_pod_available(old, min_ready, now) {
                        allowed.push(PodRef::of(old));
                    } else if unavailable < max_unavailable {
                        candidates.push(PodRef::of(old));
                    }
                }
            }
        }
        let remaining = usize::try_from((max_unavailable - unavailable).max(0)).unwrap_or(0);
        candidates.truncate(remaining);
        plan.delete = allowed;
        plan.delete.extend(candidates);
        return Ok(plan);
    }
    let mut surging = 0i32;
    let mut allowed: Vec<String> = Vec::new();
    let mut candidates: Vec<String> = Vec::new();
    for (node, pods) in &map {
        let Some((new, old)) = updated_pods_on_node(pods, hash, generation) else {
            continue;
        };
        let Some(old) = old else {
            continue;
        };
        match new {
            None => {
                if !is_pod_available(old, min_ready, now) {
                    allowed.push((*node).to_owned());
                } else if surging < max_surge {
                    candidates.push((*node).to_owned());
                }
            }
            Some(new) => {
                if is_pod_available(new, min_ready, now) {
                    plan.delete.push(PodRef::of(old));
                } else {
                    surging += 1;
                }
            }
        }
    }
    let remaining = usize::try_from((max_surge - surging).max(0)).unwrap_or(0);
    candidates.truncate(remaining);
    plan.create_on = allowed;
    plan.create_on.extend(candidates);
    Ok(plan)
}

/// A DaemonSet's status counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaemonSetCounts {
    /// Nodes that should run the pod.
    pub desired_number_scheduled: i32,
    /// Of those, nodes running at least one daemon pod.
    pub current_number_scheduled: i32,
    /// Nodes running a daemon pod that should not.
    pub number_misscheduled: i32,
    /// Nodes whose (oldest) daemon pod is ready.
    pub number_ready: i32,
    /// Nodes whose (oldest) daemon pod is updated.
    pub updated_number_scheduled: i32,
    /// Nodes whose (oldest) daemon pod is available.
    pub number_available: i32,
    /// `desired - available`.
    pub number_unavailable: i32,
}

/// Upstream's `updateDaemonSetStatus` counts.
pub fn calculate_counts(
    ds: &DaemonSet,
    nodes: &[&Node],
    by_node: &BTreeMap<String, Vec<&Pod>>,
    hash: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> DaemonSetCounts {
    let mut c = DaemonSetCounts::default();
    let spec = daemon_pod_spec(ds);
    let min_ready = min_ready_seconds(ds);
    for node in nodes {
        let (should_run, _) = should_run_on(&spec, node);
        let pods = by_node
            .get(node_name(node))
            .map(Vec::as_slice)
            .unwrap_or_default();
        if !should_run {
            if !pods.is_empty() {
                c.number_misscheduled += 1;
            }
            continue;
        }
        c.desired_number_scheduled += 1;
        let mut sorted = pods.to_vec();
        sorted.sort_by(|a, b| cmp_by_creation_and_phase(a, b));
        let Some(pod) = sorted.first() else {
            continue;
        };
        c.current_number_scheduled += 1;
        if is_pod_ready(pod) {
            c.number_ready += 1;
            if is_pod_available(pod, min_ready, now) {
                c.number_available += 1;
            }
        }
        if is_pod_updated(pod, hash, generation) {
            c.updated_number_scheduled += 1;
        }
    }
    c.number_unavailable = c.desired_number_scheduled - c.number_available;
    c
}

/// The merge patch writing `counts` (every field, zeros included), or
/// `None` when the status already says so and `observedGeneration` is
/// current. `observe` raises `observedGeneration` to the DaemonSet's
/// generation.
pub fn status_patch(ds: &DaemonSet, counts: &DaemonSetCounts, observe: bool) -> Option<Value> {
    let s = ds.status.clone().unwrap_or_default();
    let generation = ds.metadata.generation.unwrap_or(0);
    let observed = s.observed_generation.unwrap_or(0);
    let same = s.desired_number_scheduled == counts.desired_number_scheduled
        && s.current_number_scheduled == counts.current_number_scheduled
        && s.number_misscheduled == counts.number_misscheduled
        && s.number_ready == counts.number_ready
        && s.updated_number_scheduled.unwrap_or(0) == counts.updated_number_scheduled
        && s.number_available.unwrap_or(0) == counts.number_available
        && s.number_unavailable.unwrap_or(0) == counts.number_unavailable
        && observed >= generation;
    if same {
        return None;
    }
    let mut status = json!({
        "desiredNumberScheduled": counts.desired_number_scheduled,
        "currentNumberScheduled": counts.current_number_scheduled,
        "numberMisscheduled": counts.number_misscheduled,
        "numberReady": counts.number_ready,
        "updatedNumberScheduled": counts.updated_number_scheduled,
        "numberAvailable": counts.number_available,
        "numberUnavailable": counts.number_unavailable,
    });
    if observe {
        status["observedGeneration"] = json!(generation);
    }
    Some(json!({ "status": status }))
}

fn quantity(q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity) -> Option<i128> {
    bosun_types::quantity::Quantity::try_from(q)
        .ok()
        .map(|q| q.nanos())
}

fn requests(spec: &PodSpec, resource: &str) -> i128 {
    let of = |c: &k8s_openapi::api::core::v1::Container| {
        let r = c.resources.as_ref();
        r.and_then(|r| r.requests.as_ref())
            .and_then(|m| m.get(resource))
            .or_else(|| {
                r.and_then(|r| r.limits.as_ref())
                    .and_then(|m| m.get(resource))
            })
            .and_then(quantity)
            .unwrap_or(0)
    };
    let sum: i128 = spec.containers.iter().map(of).sum();
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .map(of)
        .max()
        .unwrap_or(0);
    sum.max(init)
}

/// Why `node` cannot hold a pod with `spec` next to `others` (the active
/// pods bound there, the DaemonSet's own excluded): `Insufficient <name>`
/// for cpu, memory and pods, as the old in-controller check reported.
/// Empty when it fits or the node reports no allocatable resources.
pub fn insufficient_resources(spec: &PodSpec, node: &Node, others: &[&Pod]) -> Vec<String> {
    let Some(allocatable) = node.status.as_ref().and_then(|s| s.allocatable.as_ref()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(pods) = allocatable.get("pods").and_then(quantity) {
        let used = i128::try_from(others.len() + 1).unwrap_or(i128::MAX) * 1_000_000_000;
        if used > pods {
            out.push("Insufficient pods".to_owned());
        }
    }
    for resource in ["cpu", "memory"] {
        let Some(capacity) = allocatable.get(resource).and_then(quantity) else {
            continue;
        };
        let want = requests(spec, resource);
        if want == 0 {
            continue;
        }
        let used: i128 = others
            .iter()
            .filter_map(|p| p.spec.as_ref())
            .map(|s| requests(s, resource))
            .sum();
        if used + want > capacity {
            out.push(format!("Insufficient {resource}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{labels, ts};
    use k8s_openapi::api::apps::v1::{
        DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy, RollingUpdateDaemonSet,
    };
    use k8s_openapi::api::core::v1::{
        Container, NodeSpec, NodeStatus, PodCondition, PodStatus, ResourceRequirements, Taint,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};

    const HASH: &str = "newhash";

    fn ds(max_unavailable: i32, max_surge: i32) -> DaemonSet {
        DaemonSet {
            metadata: ObjectMeta {
                name: Some("agent".into()),
                namespace: Some("default".into()),
                uid: Some("uid-agent".into()),
                generation: Some(2),
                ..ObjectMeta::default()
            },
            spec: Some(DaemonSetSpec {
                selector: LabelSelector {
                    match_labels: Some(labels(&[("app", "agent")])),
                    ..LabelSelector::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(&[("app", "agent")])),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "a".into(),
                            image: Some("agent:2".into()),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                },
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDaemonSet {
                        max_unavailable: Some(IntOrString::Int(max_unavailable)),
                        max_surge: Some(IntOrString::Int(max_surge)),
                    }),
                }),
                ..DaemonSetSpec::default()
            }),
            status: None,
        }
    }

    fn node(name: &str) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..Node::default()
        }
    }

    /// A daemon pod on `node` at `hash`, created at `ts(created)`, ready
    /// (since ts(0)) when `ready`.
    fn pod(name: &str, node: &str, hash: &str, created: i64, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                namespace: Some("default".into()),
                labels: Some(labels(&[
                    ("app", "agent"),
                    (CONTROLLER_REVISION_HASH_LABEL, hash),
                ])),
                creation_timestamp: Some(Time(ts(created))),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some(node.into()),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    last_transition_time: Some(Time(ts(0))),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
        }
    }

    /// A daemon pod pinned to `node` by affinity only (not yet bound).
    fn unbound(name: &str, node: &str) -> Pod {
        let mut p = pod(name, node, HASH, 0, false);
        if let Some(spec) = p.spec.as_mut() {
            spec.node_name = None;
            spec.affinity = Some(pin_to_node(None, node));
        }
        p
    }

    fn group(pods: &[Pod]) -> BTreeMap<String, Vec<&Pod>> {
        let refs: Vec<&Pod> = pods.iter().collect();
        group_by_node(&refs, false)
    }

    fn names(refs: &[PodRef]) -> Vec<&str> {
        refs.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn template_gets_labels_and_tolerations() {
        let d = ds(1, 0);
        let t = daemon_pod_template(&d, template_generation(&d), HASH);
        let l = t
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref())
            .expect("labels");
        assert_eq!(l[CONTROLLER_REVISION_HASH_LABEL], HASH);
        assert_eq!(l[POD_TEMPLATE_GENERATION_LABEL], "2");
        assert_eq!(
            t.spec
                .as_ref()
                .and_then(|s| s.tolerations.as_ref())
                .map(Vec::len),
            Some(6)
        );
        let owner =
            super::super::pod_template::controller_ref("apps/v1", "DaemonSet", "agent", "u");
        let p = daemon_pod_for_node(&d, &t, "n1", owner);
        assert_eq!(p.metadata.generate_name.as_deref(), Some("agent-"));
        assert_eq!(target_node_name(&p).as_deref(), Some("n1"));
        assert!(p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none());
    }

    #[test]
    fn updated_by_hash_or_generation() {
        let mut p = pod("a", "n1", "old", 0, true);
        assert!(!is_pod_updated(&p, HASH, Some(2)));
        assert!(is_pod_updated(
            &pod("b", "n1", HASH, 0, true),
            HASH,
            Some(2)
        ));
        p.metadata
            .labels
            .as_mut()
            .expect("labels")
            .insert(POD_TEMPLATE_GENERATION_LABEL.into(), "2".into());
        assert!(is_pod_updated(&p, HASH, Some(2)));
        assert!(!is_pod_updated(&p, HASH, Some(3)));
    }

    #[test]
    fn manage_creates_on_missing_nodes_and_deletes_elsewhere() {
        let d = ds(1, 0);
        let (n1, n2) = (node("n1"), node("n2"));
        let mut tainted = node("n3");
        tainted.spec = Some(NodeSpec {
            taints: Some(vec![Taint {
                key: "k".into(),
                effect: "NoExecute".into(),
                ..Taint::default()
            }]),
            ..NodeSpec::default()
        });
        let pods = vec![
            pod("on-n1", "n1", HASH, 0, true),
            pod("dup-n1", "n1", HASH, 5, true),
            pod("on-n3", "n3", HASH, 0, true),
            pod("on-gone", "gone", HASH, 0, true),
            unbound("pending-gone", "gone"),
        ];
        let by_node = group(&pods);
        let plan = plan_manage(&d, &[&n1, &n2, &tainted], &by_node, HASH, ts(100), |_| {
            false
        });
        assert_eq!(plan.create_on, vec!["n2"]);
        let deleted: Vec<(&str, &DeleteReason)> = plan
            .delete
            .iter()
            .map(|d| (d.pod.name.as_str(), &d.reason))
            .collect();
        assert_eq!(
            deleted,
            vec![
                ("dup-n1", &DeleteReason::Excess),
                ("on-n3", &DeleteReason::NotEligible),
                ("pending-gone", &DeleteReason::NodeGone),
            ]
        );
    }

    #[test]
    fn manage_replaces_failed_pods_unless_backing_off() {
        let d = ds(1, 0);
        let n1 = node("n1");
        let mut failed = pod("f", "n1", HASH, 0, false);
        failed.status.as_mut().expect("status").phase = Some("Failed".into());
        let pods = vec![failed];
        let by_node = group(&pods);
        let plan = plan_manage(&d, &[&n1], &by_node, HASH, ts(1), |_| false);
        assert_eq!(
            plan.delete[0].reason,
            DeleteReason::Failed { node: "n1".into() }
        );
        assert!(plan.create_on.is_empty());
        let plan = plan_manage(&d, &[&n1], &by_node, HASH, ts(1), |_| true);
        assert!(plan.delete.is_empty());
    }

    #[test]
    fn rolling_update_respects_max_unavailable() {
        let nodes: Vec<Node> = (1..=4).map(|i| node(&format!("n{i}"))).collect();
        let refs: Vec<&Node> = nodes.iter().collect();
        let pods = vec![
            pod("p1", "n1", "old", 0, true),
            pod("p2", "n2", "old", 0, true),
            pod("p3", "n3", "old", 0, false),
            pod("p4", "n4", "old", 0, true),
        ];
        let by_node = group(&pods);
        // maxUnavailable 1: the unavailable old pod goes, plus one more.
        let plan =
            plan_rolling_update(&ds(1, 0), &refs, &by_node, HASH, Some(2), ts(10)).expect("plan");
        assert_eq!(names(&plan.delete), vec!["p3", "p1"]);
        // A new pod still starting counts against the budget.
        let pods = vec![
            pod("p1", "n1", HASH, 0, false),
            pod("p2", "n2", "old", 0, true),
            pod("p3", "n3", "old", 0, true),
            pod("p4", "n4", "old", 0, true),
        ];
        let by_node = group(&pods);
        let plan =
            plan_rolling_update(&ds(1, 0), &refs, &by_node, HASH, Some(2), ts(10)).expect("plan");
        assert!(plan.delete.is_empty());
        let plan =
            plan_rolling_update(&ds(2, 0), &refs, &by_node, HASH, Some(2), ts(10)).expect("plan");
        assert_eq!(names(&plan.delete), vec!["p2"]);
    }

    #[test]
    fn rolling_update_with_surge_starts_new_pods_first() {
        let nodes: Vec<Node> = (1..=3).map(|i| node(&format!("n{i}"))).collect();
        let refs: Vec<&Node> = nodes.iter().collect();
        let pods = vec![
            pod("p1", "n1", "old", 0, true),
            pod("p1-new", "n1", HASH, 5, true),
            pod("p2", "n2", "old", 0, true),
            pod("p3", "n3", "old", 0, true),
        ];
        let by_node = group(&pods);
        let d = ds(0, 1);
        assert!(allows_surge(&d));
        let plan = plan_rolling_update(&d, &refs, &by_node, HASH, Some(2), ts(10)).expect("plan");
        // n1's replacement is available: its old pod goes; one surge slot: n2.
        assert_eq!(names(&plan.delete), vec!["p1"]);
        assert_eq!(plan.create_on, vec!["n2"]);
        // manage keeps both pods while the new one is not available yet.
        let pods = vec![
            pod("p1", "n1", "old", 0, true),
            pod("p1-new", "n1", HASH, 5, false),
        ];
        let by_node = group(&pods);
        let plan = plan_manage(&d, &[refs[0]], &by_node, HASH, ts(10), |_| false);
        assert!(plan.delete.is_empty());
    }

    #[test]
    fn counts_follow_upstream() {
        let d = ds(1, 0);
        let nodes = [node("n1"), node("n2"), node("n3")];
        let mut off = node("n4");
        off.spec = Some(NodeSpec {
            taints: Some(vec![Taint {
                key: "k".into(),
                effect: "NoSchedule".into(),
                ..Taint::default()
            }]),
            ..NodeSpec::default()
        });
        let refs: Vec<&Node> = nodes.iter().chain([&off]).collect();
        let pods = vec![
            pod("p1", "n1", HASH, 0, true),
            pod("p2", "n2", "old", 0, false),
            pod("p4", "n4", HASH, 0, true),
        ];
        let by_node = group(&pods);
        let c = calculate_counts(&d, &refs, &by_node, HASH, Some(2), ts(10));
        assert_eq!(
            c,
            DaemonSetCounts {
                desired_number_scheduled: 3,
                current_number_scheduled: 2,
                number_misscheduled: 1,
                number_ready: 1,
                updated_number_scheduled: 1,
                number_available: 1,
                number_unavailable: 2,
            }
        );
        let patch = status_patch(&d, &c, true).expect("patch");
        assert_eq!(patch["status"]["observedGeneration"], 2);
        assert_eq!(patch["status"]["numberUnavailable"], 2);
        let mut settled = d.clone();
        settled.status = Some(DaemonSetStatus {
            desired_number_scheduled: 3,
            current_number_scheduled: 2,
            number_misscheduled: 1,
            number_ready: 1,
            updated_number_scheduled: Some(1),
            number_available: Some(1),
            number_unavailable: Some(2),
            observed_generation: Some(2),
            ..DaemonSetStatus::default()
        });
        assert!(status_patch(&settled, &c, true).is_none());
    }

    #[test]
    fn insufficient_resources_are_reported() {
        let mut n = node("n1");
        n.status = Some(NodeStatus {
            allocatable: Some(
                [
                    ("cpu".to_owned(), Quantity("1".into())),
                    ("memory".to_owned(), Quantity("1Gi".into())),
                    ("pods".to_owned(), Quantity("2".into())),
                ]
                .into(),
            ),
            ..NodeStatus::default()
        });
        let wants = |cpu: &str| PodSpec {
            containers: vec![Container {
                name: "c".into(),
                resources: Some(ResourceRequirements {
                    requests: Some([("cpu".to_owned(), Quantity(cpu.into()))].into()),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        };
        let busy = Pod {
            spec: Some(wants("600m")),
            ..Pod::default()
        };
        let light = Pod::default();
        assert!(insufficient_resources(&wants("300m"), &n, &[&busy]).is_empty());
        assert_eq!(
            insufficient_resources(&wants("500m"), &n, &[&busy]),
            vec!["Insufficient cpu"]
        );
        assert_eq!(
            insufficient_resources(&wants("1m"), &n, &[&light, &light]),
            vec!["Insufficient pods"]
        );
        assert!(insufficient_resources(&wants("5"), &node("bare"), &[]).is_empty());
    }
}
