//! The StatefulSet controller's decisions (upstream's `updateStatefulSet`):
//! given the set, its current and update revisions, its pods and the
//! claims in its namespace, the ordered list of writes one sync performs
//! and the status it reports.
//!
//! With `OrderedReady` (monotonic) the plan stops at the first thing that
//! must be waited for: pods are created one at a time in ordinal order,
//! each Running and Ready (and available) before the next; scale-down
//! deletes the highest ordinal first, one at a time, once every lower pod
//! is healthy; a rolling update deletes the highest out-of-date ordinal at
//! or above `partition` once everything else is available (or, with
//! `maxUnavailable`, up to that many at once). `Parallel` does the same
//! work without waiting between pods.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use super::availability::pod_phase;
use super::deployment_util::scaled_value_from_int_or_percent;
use super::error::WorkloadError;
use super::statefulset_pods::{
    claim_is_stale, claim_owner_refs, claims_for, identity_matches, in_ordinal_range,
    is_running_and_available, is_running_and_ready, is_terminating, is_unavailable,
    new_stateful_pod, ordinal_of, pod_revision, replicas, set_name, start_ordinal, storage_matches,
    update_identity, update_storage,
};

/// Event reason: a failed pod is deleted to be recreated.
pub const RECREATING_FAILED_POD: &str = "RecreatingFailedPod";
/// Event reason: a succeeded pod is deleted to be recreated.
pub const RECREATING_TERMINATED_POD: &str = "RecreatingTerminatedPod";

/// The revisions a sync works with.
#[derive(Debug, Clone, Copy)]
pub struct Revisions<'a> {
    /// Name of the revision the set's pods are at (`status.currentRevision`).
    pub current_name: &'a str,
    /// Its template.
    pub current_template: &'a PodTemplateSpec,
    /// Name of the revision of the set's template (`status.updateRevision`).
    pub update_name: &'a str,
    /// Its template.
    pub update_template: &'a PodTemplateSpec,
    /// `status.collisionCount` to report.
    pub collision_count: i32,
}

/// A pod to delete, with the UID it must still have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// Name.
    pub name: String,
    /// UID (a delete precondition).
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

/// Why a pod is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteReason {
    /// Its ordinal is beyond the replicas.
    ScaleDown,
    /// It is at an old revision.
    Update,
}

/// One write of a sync, in the order the plan lists them.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Delete a failed (or succeeded) pod; the next sync recreates it.
    Recreate {
        /// The pod.
        pod: PodRef,
        /// Failed (Warning) rather than succeeded (Normal).
        failed: bool,
    },
    /// Create the missing claims, then the pod.
    Create {
        /// The pod.
        pod: Box<Pod>,
        /// Claims that do not exist yet.
        claims: Vec<PersistentVolumeClaim>,
    },
    /// Create a pending pod's missing claims.
    CreateClaims {
        /// The pod's name.
        pod_name: String,
        /// The claims.
        claims: Vec<PersistentVolumeClaim>,
    },
    /// Write back a pod whose identity or volumes drifted.
    Update {
        /// The corrected pod (with the resourceVersion it was read at).
        pod: Box<Pod>,
    },
    /// Set a claim's owner references for the retention policy.
    ClaimOwners {
        /// The pod the claim belongs to.
        pod_name: String,
        /// The claim's name.
        claim: String,
        /// The resourceVersion the claim was read at.
        resource_version: Option<String>,
        /// The complete new owner references.
        owner_references: Vec<OwnerReference>,
    },
    /// Delete a pod (scale-down or update).
    Delete {
        /// The pod.
        pod: PodRef,
        /// Why.
        reason: DeleteReason,
    },
}

/// The replica counts of a status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetStatus {
    /// `metadata.generation` observed.
    pub observed_generation: i64,
    /// Pods that exist.
    pub replicas: i32,
    /// Running and Ready pods.
    pub ready_replicas: i32,
    /// Of those, available ones.
    pub available_replicas: i32,
    /// Live pods at the current revision.
    pub current_replicas: i32,
    /// Live pods at the update revision.
    pub updated_replicas: i32,
    /// `status.currentRevision`.
    pub current_revision: String,
    /// `status.updateRevision`.
    pub update_revision: String,
    /// `status.collisionCount`.
    pub collision_count: i32,
}

/// What one sync does.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The writes, in order.
    pub actions: Vec<Action>,
    /// The status to report.
    pub status: SetStatus,
    /// `OrderedReady`: execute one after another and stop at the first failure.
    pub monotonic: bool,
    /// Blocked on something no watch event announces (a claim being
    /// deleted or still owned by an old pod): sync again soon.
    pub recheck: bool,
}

fn min_ready_seconds(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

fn strategy_type(set: &StatefulSet) -> &str {
    set.spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
}

fn rolling(
    set: &StatefulSet,
) -> Option<&k8s_openapi::api::apps::v1::RollingUpdateStatefulSetStrategy> {
    set.spec
        .as_ref()?
        .update_strategy
        .as_ref()?
        .rolling_update
        .as_ref()
}

/// `partition` (0 when unset).
pub fn partition(set: &StatefulSet) -> i32 {
    rolling(set).and_then(|r| r.partition).unwrap_or(0)
}

/// Whether pods are managed in parallel (`podManagementPolicy: Parallel`).
pub fn allows_burst(set: &StatefulSet) -> bool {
    set.spec
        .as_ref()
        .and_then(|s| s.pod_management_policy.as_deref())
        == Some("Parallel")
}

/// `maxUnavailable` against `replicas` (rounded down, at least 1).
pub fn max_unavailable(value: &IntOrString, replicas: i32) -> Result<i32, WorkloadError> {
    Ok(scaled_value_from_int_or_percent(value, replicas, false)?.max(1))
}

/// Upstream's `newVersionedStatefulSetPod`: ordinals below the partition
/// (or, without a rollingUpdate block, below `status.currentReplicas`) are
/// recreated at the current revision, the rest at the update revision.
pub fn new_versioned_pod(
    set: &StatefulSet,
    revisions: &Revisions<'_>,
    ordinal: i32,
) -> Result<Pod, WorkloadError> {
    let start = start_ordinal(set);
    let current_replicas = set
        .status
        .as_ref()
        .and_then(|s| s.current_replicas)
        .unwrap_or(0);
    let at_current = match rolling(set) {
        Some(r) => ordinal < start + r.partition.unwrap_or(0),
        None => strategy_type(set) == "RollingUpdate" && ordinal < start + current_replicas,
    };
    if at_current {
        new_stateful_pod(
            set,
            revisions.current_template,
            ordinal,
            revisions.current_name,
        )
    } else {
        new_stateful_pod(
            set,
            revisions.update_template,
            ordinal,
            revisions.update_name,
        )
    }
}

fn count(
    status: &mut SetStatus,
    pod: &Pod,
    revisions: &Revisions<'_>,
    min_ready: i32,
    now: Timestamp,
) {
    status.replicas += 1;
    if is_running_and_ready(pod) {
        status.ready_replicas += 1;
        if is_running_and_available(pod, min_ready, now) {
            status.available_replicas += 1;
        }
    }
    if !is_terminating(pod) {
        let revision = pod_revision(pod);
        if revision == revisions.current_name {
            status.current_replicas += 1;
        }
        if revision == revisions.update_name {
            status.updated_replicas += 1;
        }
    }
}

struct Planner<'a> {
    set: &'a StatefulSet,
    revisions: Revisions<'a>,
    claims: &'a BTreeMap<String, PersistentVolumeClaim>,
    now: Timestamp,
    min_ready: i32,
    monotonic: bool,
    actions: Vec<Action>,
    recheck: bool,
}

impl Planner<'_> {
    fn missing_claims(&mut self, ordinal: i32) -> Result<Vec<PersistentVolumeClaim>, ()> {
        let mut missing = Vec::new();
        for (_, claim) in claims_for(self.set, ordinal) {
            let name = claim.metadata.name.clone().unwrap_or_default();
            match self.claims.get(&name) {
                None => missing.push(claim),
                Some(existing) if existing.metadata.deletion_timestamp.is_some() => {
                    self.recheck = true;
                    return Err(());
                }
                Some(_) => {}
            }
        }
        Ok(missing)
    }

    fn claim_owner_actions(&mut self, set: &StatefulSet, pod: &Pod) {
        let Some(ordinal) = ordinal_of(pod) else {
            return;
        };
        for (_, wanted) in claims_for(set, ordinal) {
            let name = wanted.metadata.name.clone().unwrap_or_default();
            let Some(claim) = self.claims.get(&name) else {
                continue;
            };
            if let Some(refs) = claim_owner_refs(set, pod, claim) {
                self.actions.push(Action::ClaimOwners {
                    pod_name: pod.metadata.name.clone().unwrap_or_default(),
                    claim: name,
                    resource_version: claim.metadata.resource_version.clone(),
                    owner_references: refs,
                });
            }
        }
    }

    /// Upstream's `processReplica`; `true` means "stop here" in monotonic mode.
    fn replica(&mut self, ordinal: i32, pod: Option<&Pod>) -> Result<bool, WorkloadError> {
        let Some(pod) = pod else {
            let stale = claims_for(self.set, ordinal).iter().any(|(_, c)| {
                c.metadata
                    .name
                    .as_ref()
                    .and_then(|n| self.claims.get(n))
                    .is_some_and(|existing| claim_is_stale(existing, None))
            });
            if stale {
                self.recheck = true;
                return Ok(true);
            }
            let Ok(claims) = self.missing_claims(ordinal) else {
                return Ok(true);
            };
            let pod = new_versioned_pod(self.set, &self.revisions, ordinal)?;
            self.actions.push(Action::Create {
                pod: Box::new(pod),
                claims,
            });
            return Ok(self.monotonic);
        };
        let phase = pod_phase(pod);
        if phase == "Failed" || phase == "Succeeded" {
            if !is_terminating(pod) {
                self.actions.push(Action::Recreate {
                    pod: PodRef::of(pod),
                    failed: phase == "Failed",
                });
            }
            return Ok(true);
        }
        if phase == "Pending"
            && let Ok(claims) = self.missing_claims(ordinal)
            && !claims.is_empty()
        {
            self.actions.push(Action::CreateClaims {
                pod_name: pod.metadata.name.clone().unwrap_or_default(),
                claims,
            });
        }
        if self.monotonic
            && (is_terminating(pod)
                || !is_running_and_ready(pod)
                || !is_running_and_available(pod, self.min_ready, self.now))
        {
            return Ok(true);
        }
        self.claim_owner_actions(self.set, pod);
        if !identity_matches(self.set, pod) || !storage_matches(self.set, pod) {
            let mut fixed = pod.clone();
            update_identity(self.set, &mut fixed);
            if !storage_matches(self.set, pod) {
                if let Ok(claims) = self.missing_claims(ordinal)
                    && !claims.is_empty()
                {
                    self.actions.push(Action::CreateClaims {
                        pod_name: pod.metadata.name.clone().unwrap_or_default(),
                        claims,
                    });
                }
                update_storage(self.set, &mut fixed);
            }
            self.actions.push(Action::Update {
                pod: Box::new(fixed),
            });
        }
        Ok(false)
    }
}

/// Plans one sync of `set` whose members are `pods`; `claims` are the
/// claims of the set's namespace by name.
pub fn plan_stateful_set(
    set: &StatefulSet,
    revisions: Revisions<'_>,
    pods: &[&Pod],
    claims: &BTreeMap<String, PersistentVolumeClaim>,
    now: Timestamp,
) -> Result<Plan, WorkloadError> {
    let min_ready = min_ready_seconds(set);
    let monotonic = !allows_burst(set);
    let start = start_ordinal(set);
    let replica_count = usize::try_from(replicas(set).max(0)).unwrap_or(0);
    let mut slots: Vec<Option<&Pod>> = vec![None; replica_count];
    let mut condemned: Vec<&Pod> = Vec::new();
    for pod in pods {
        let Some(ordinal) = ordinal_of(pod) else {
            continue;
        };
        if in_ordinal_range(set, ordinal) {
            if let Ok(i) = usize::try_from(ordinal - start)
                && let Some(slot) = slots.get_mut(i)
            {
                *slot = Some(pod);
            }
        } else {
            condemned.push(pod);
        }
    }
    condemned.sort_by_key(|p| std::cmp::Reverse(ordinal_of(p)));

    let mut status = SetStatus {
        observed_generation: set.metadata.generation.unwrap_or(0),
        current_revision: revisions.current_name.to_owned(),
        update_revision: revisions.update_name.to_owned(),
        collision_count: revisions.collision_count,
        ..SetStatus::default()
    };
    for pod in slots.iter().flatten().chain(condemned.iter()) {
        count(&mut status, pod, &revisions, min_ready, now);
    }
    // The first unavailable pod, when it is a condemned one (lowest ordinal
    // first): the only condemned pod that may go while unhealthy.
    let replica_unavailable = slots
        .iter()
        .any(|s| s.is_none_or(|p| is_unavailable(p, min_ready, now)));
    let first_unhealthy_condemned: Option<String> = if replica_unavailable {
        None
    } else {
        condemned
            .iter()
            .rev()
            .find(|p| is_unavailable(p, min_ready, now))
            .and_then(|p| p.metadata.name.clone())
    };

    let mut planner = Planner {
        set,
        revisions,
        claims,
        now,
        min_ready,
        monotonic,
        actions: Vec::new(),
        recheck: false,
    };
    let finish = |planner: Planner<'_>, status: SetStatus| Plan {
        actions: planner.actions,
        status,
        monotonic,
        recheck: planner.recheck,
    };
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(finish(planner, status));
    }

    for (i, slot) in slots.iter().enumerate() {
        let ordinal = start + i32::try_from(i).unwrap_or(i32::MAX);
        if planner.replica(ordinal, *slot)? && monotonic {
            return Ok(finish(planner, status));
        }
    }
    for pod in &condemned {
        planner.claim_owner_actions(set, pod);
    }
    for pod in &condemned {
        if is_terminating(pod) {
            if monotonic {
                return Ok(finish(planner, status));
            }
            continue;
        }
        let first = pod.metadata.name.is_some() && pod.metadata.name == first_unhealthy_condemned;
        if monotonic
            && !first
            && (!is_running_and_ready(pod) || !is_running_and_available(pod, min_ready, now))
        {
            return Ok(finish(planner, status));
        }
        planner.actions.push(Action::Delete {
            pod: PodRef::of(pod),
            reason: DeleteReason::ScaleDown,
        });
        if monotonic {
            return Ok(finish(planner, status));
        }
    }
    if strategy_type(set) == "OnDelete" {
        return Ok(finish(planner, status));
    }

    let update_min = usize::try_from(partition(set).max(0)).unwrap_or(0);
    let update_name = planner.revisions.update_name;
    let out_of_date = |p: &Pod| pod_revision(p) != update_name && !is_terminating(p);
    if let Some(value) = rolling(set).and_then(|r| r.max_unavailable.as_ref()) {
        let max = max_unavailable(value, replicas(set))?;
        let unavailable = slots
            .iter()
            .filter(|s| s.is_none_or(|p| is_unavailable(p, min_ready, now)))
            .count();
        let unavailable = i32::try_from(unavailable).unwrap_or(i32::MAX);
        if unavailable > max {
            return Ok(finish(planner, status));
        }
        let mut budget = max - unavailable;
        for target in (update_min..slots.len()).rev() {
            if budget <= 0 {
                break;
            }
            if let Some(pod) = slots[target]
                && out_of_date(pod)
            {
                planner.actions.push(Action::Delete {
                    pod: PodRef::of(pod),
                    reason: DeleteReason::Update,
                });
                status.current_replicas -= 1;
                budget -= 1;
            }
        }
        return Ok(finish(planner, status));
    }
    for target in (update_min..slots.len()).rev() {
        let Some(pod) = slots[target] else {
            // Just created: it is at the update revision and not yet available.
            break;
        };
        if out_of_date(pod) {
            planner.actions.push(Action::Delete {
                pod: PodRef::of(pod),
                reason: DeleteReason::Update,
            });
            status.current_replicas -= 1;
            break;
        }
        if is_unavailable(pod, min_ready, now) {
            break;
        }
    }
    Ok(finish(planner, status))
}

/// The names of revisions still in use: current, update, and every pod's.
pub fn live_revisions<'a>(status: &'a SetStatus, pods: &[&'a Pod]) -> HashSet<&'a str> {
    let mut live: HashSet<&str> = pods.iter().map(|p| pod_revision(p)).collect();
    live.insert(status.current_revision.as_str());
    live.insert(status.update_revision.as_str());
    live
}

/// Upstream's `completeRollingUpdate` then `inconsistentStatus`: once every
/// pod is updated and ready, the update revision becomes the current one;
/// the merge patch writing the status (all fields), or `None` when the
/// stored status already says the same.
pub fn status_patch(set: &StatefulSet, mut status: SetStatus) -> Option<Value> {
    if strategy_type(set) == "RollingUpdate"
        && status.updated_replicas == status.replicas
        && status.ready_replicas == status.replicas
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
    let old = set.status.clone().unwrap_or_default();
    let same = old.observed_generation.unwrap_or(0) >= status.observed_generation
        && old.replicas == status.replicas
        && old.current_replicas.unwrap_or(0) == status.current_replicas
        && old.ready_replicas.unwrap_or(0) == status.ready_replicas
        && old.updated_replicas.unwrap_or(0) == status.updated_replicas
        && old.available_replicas.unwrap_or(0) == status.available_replicas
        && old.current_revision.as_deref().unwrap_or_default() == status.current_revision
        && old.update_revision.as_deref().unwrap_or_default() == status.update_revision
        && old.collision_count.unwrap_or(0) == status.collision_count;
    if same {
        return None;
    }
    Some(json!({"status": {
        "observedGeneration": status.observed_generation,
        "replicas": status.replicas,
        "readyReplicas": status.ready_replicas,
        "availableReplicas": status.available_replicas,
        "currentReplicas": status.current_replicas,
        "updatedReplicas": status.updated_replicas,
        "currentRevision": status.current_revision,
        "updateRevision": status.update_revision,
        "collisionCount": status.collision_count,
    }}))
}

/// `create Pod web-0 in StatefulSet web successful` (and the other verbs).
pub fn pod_event_message(verb: &str, pod: &str, set: &StatefulSet, error: Option<&str>) -> String {
    match error {
        None => format!(
            "{verb} Pod {pod} in StatefulSet {} successful",
            set_name(set)
        ),
        Some(e) => format!(
            "{verb} Pod {pod} in StatefulSet {} failed error: {e}",
            set_name(set)
        ),
    }
}

/// `create Claim data-web-0 Pod web-0 in StatefulSet web success`.
pub fn claim_event_message(
    verb: &str,
    claim: &str,
    pod: &str,
    set: &StatefulSet,
    error: Option<&str>,
) -> String {
    match error {
        None => format!(
            "{verb} Claim {claim} Pod {pod} in StatefulSet {} success",
            set_name(set)
        ),
        Some(e) => format!(
            "{verb} Claim {claim} for Pod {pod} in StatefulSet {} failed error: {e}",
            set_name(set)
        ),
    }
}

/// `StatefulSet default/web is recreating failed Pod web-1`.
pub fn recreating_message(set: &StatefulSet, pod: &str, failed: bool) -> String {
    format!(
        "StatefulSet {}/{} is recreating {} Pod {pod}",
        set.metadata.namespace.as_deref().unwrap_or_default(),
        set_name(set),
        if failed { "failed" } else { "terminated" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::controller_revision::CONTROLLER_REVISION_HASH_LABEL;
    use crate::workload::test_support::{labels, ts};
    use k8s_openapi::api::apps::v1::{
        RollingUpdateStatefulSetStrategy, StatefulSetSpec, StatefulSetStatus,
        StatefulSetUpdateStrategy,
    };
    use k8s_openapi::api::core::v1::{Container, PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels(&[("app", "web")])),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "nginx".into(),
                    image: Some(image.into()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        }
    }

    fn set(replicas: i32, policy: &str) -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("uid-web".into()),
                generation: Some(3),
                ..ObjectMeta::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(replicas),
                service_name: Some("nginx".into()),
                pod_management_policy: Some(policy.into()),
                selector: LabelSelector {
                    match_labels: Some(labels(&[("app", "web")])),
                    ..LabelSelector::default()
                },
                template: template("nginx:2"),
                update_strategy: Some(StatefulSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateStatefulSetStrategy {
                        partition: Some(0),
                        max_unavailable: None,
                    }),
                }),
                volume_claim_templates: Some(vec![PersistentVolumeClaim {
                    metadata: ObjectMeta {
                        name: Some("data".into()),
                        ..ObjectMeta::default()
                    },
                    ..PersistentVolumeClaim::default()
                }]),
                ..StatefulSetSpec::default()
            }),
            status: None,
        }
    }

    struct Fixture {
        current: PodTemplateSpec,
        update: PodTemplateSpec,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                current: template("nginx:1"),
                update: template("nginx:2"),
            }
        }
        fn revisions(&self) -> Revisions<'_> {
            Revisions {
                current_name: "web-old",
                current_template: &self.current,
                update_name: "web-new",
                update_template: &self.update,
                collision_count: 0,
            }
        }
    }

    /// A member pod of ordinal `ordinal` at `revision`, Running and Ready
    /// when `ready`.
    fn pod(ordinal: i32, revision: &str, ready: bool) -> Pod {
        let s = set(3, "OrderedReady");
        let mut p = new_stateful_pod(&s, &template("x"), ordinal, revision).expect("pod");
        p.metadata.uid = Some(format!("uid-{ordinal}"));
        p.status = Some(PodStatus {
            phase: Some(if ready { "Running" } else { "Pending" }.into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                last_transition_time: Some(Time(ts(0))),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        });
        p
    }

    fn claims(ordinals: &[i32]) -> BTreeMap<String, PersistentVolumeClaim> {
        ordinals
            .iter()
            .flat_map(|o| claims_for(&set(3, "OrderedReady"), *o))
            .map(|(_, c)| (c.metadata.name.clone().unwrap_or_default(), c))
            .collect()
    }

    fn plan(
        s: &StatefulSet,
        pods: &[Pod],
        claims: &BTreeMap<String, PersistentVolumeClaim>,
    ) -> Plan {
        let f = Fixture::new();
        let refs: Vec<&Pod> = pods.iter().collect();
        plan_stateful_set(s, f.revisions(), &refs, claims, ts(100)).expect("plan")
    }

    fn summary(p: &Plan) -> Vec<String> {
        p.actions
            .iter()
            .map(|a| match a {
                Action::Recreate { pod, .. } => format!("recreate {}", pod.name),
                Action::Create { pod, claims } => format!(
                    "create {} +{}",
                    pod.metadata.name.as_deref().unwrap_or_default(),
                    claims.len()
                ),
                Action::CreateClaims { pod_name, .. } => format!("claims {pod_name}"),
                Action::Update { pod } => {
                    format!(
                        "update {}",
                        pod.metadata.name.as_deref().unwrap_or_default()
                    )
                }
                Action::ClaimOwners { claim, .. } => format!("owners {claim}"),
                Action::Delete { pod, reason } => format!("delete {} {reason:?}", pod.name),
            })
            .collect()
    }

    #[test]
    fn ordered_ready_creates_one_pod_at_a_time() {
        let s = set(3, "OrderedReady");
        let p = plan(&s, &[], &BTreeMap::new());
        assert_eq!(summary(&p), vec!["create web-0 +1"]);
        if let Action::Create { pod, claims } = &p.actions[0] {
            assert_eq!(
                pod.metadata.labels.as_ref().expect("l")[CONTROLLER_REVISION_HASH_LABEL],
                "web-new"
            );
            assert_eq!(claims[0].metadata.name.as_deref(), Some("data-web-0"));
        }
        // web-0 exists but is not ready: wait.
        let p = plan(&s, &[pod(0, "web-new", false)], &claims(&[0]));
        assert!(p.actions.is_empty());
        // web-0 ready: web-1 next, its claim reused if it already exists.
        let p = plan(&s, &[pod(0, "web-new", true)], &claims(&[0, 1]));
        assert_eq!(summary(&p), vec!["create web-1 +0"]);
        assert_eq!(p.status.replicas, 1);
        assert_eq!(p.status.ready_replicas, 1);
        assert_eq!(p.status.updated_replicas, 1);
    }

    #[test]
    fn parallel_creates_every_missing_pod() {
        let s = set(3, "Parallel");
        let p = plan(&s, &[pod(1, "web-new", false)], &claims(&[1]));
        assert_eq!(summary(&p), vec!["create web-0 +1", "create web-2 +1"]);
        assert!(!p.monotonic);
    }

    #[test]
    fn scale_down_removes_the_highest_ordinal_first() {
        let s = set(1, "OrderedReady");
        let pods = [
            pod(0, "web-new", true),
            pod(1, "web-new", true),
            pod(2, "web-new", true),
        ];
        let p = plan(&s, &pods, &claims(&[0, 1, 2]));
        assert_eq!(summary(&p), vec!["delete web-2 ScaleDown"]);
        // While web-2 terminates nothing else happens.
        let mut terminating = pods.clone();
        terminating[2].metadata.deletion_timestamp = Some(Time(ts(50)));
        let p = plan(&s, &terminating, &claims(&[0, 1, 2]));
        assert!(p.actions.is_empty());
        // Parallel deletes both at once.
        let p = plan(&set(1, "Parallel"), &pods, &claims(&[0, 1, 2]));
        assert_eq!(
            summary(&p),
            vec!["delete web-2 ScaleDown", "delete web-1 ScaleDown"]
        );
    }

    #[test]
    fn scale_down_waits_for_unhealthy_lower_pods_but_may_remove_the_unhealthy_one() {
        let s = set(1, "OrderedReady");
        let pods = [
            pod(0, "web-new", true),
            pod(1, "web-new", true),
            pod(2, "web-new", false),
        ];
        // web-2 is the first unhealthy pod: it may go.
        let p = plan(&s, &pods, &claims(&[0, 1, 2]));
        assert_eq!(summary(&p), vec!["delete web-2 ScaleDown"]);
        let pods = [
            pod(0, "web-new", true),
            pod(1, "web-new", false),
            pod(2, "web-new", false),
        ];
        // web-1 is the first unhealthy pod: the unhealthy web-2 must wait.
        let p = plan(&s, &pods, &claims(&[0, 1, 2]));
        assert!(p.actions.is_empty());
    }

    #[test]
    fn rolling_update_goes_from_the_highest_ordinal_down() {
        let s = set(3, "OrderedReady");
        let old = [
            pod(0, "web-old", true),
            pod(1, "web-old", true),
            pod(2, "web-old", true),
        ];
        let p = plan(&s, &old, &claims(&[0, 1, 2]));
        assert_eq!(summary(&p), vec!["delete web-2 Update"]);
        assert_eq!(p.status.current_replicas, 2);
        // web-2 recreated at the new revision and ready: web-1 next.
        let mid = [
            pod(0, "web-old", true),
            pod(1, "web-old", true),
            pod(2, "web-new", true),
        ];
        let p = plan(&s, &mid, &claims(&[0, 1, 2]));
        assert_eq!(summary(&p), vec!["delete web-1 Update"]);
        // Missing web-1 is recreated at the update revision.
        let gone = [pod(0, "web-old", true), pod(2, "web-new", true)];
        let p = plan(&s, &gone, &claims(&[0, 1, 2]));
        assert_eq!(summary(&p), vec!["create web-1 +0"]);
        if let Action::Create { pod, .. } = &p.actions[0] {
            assert_eq!(
                pod.spec.as_ref().expect("spec").containers[0]
                    .image
                    .as_deref(),
                Some("nginx:2")
            );
        }
    }

    #[test]
    fn partition_holds_lower_ordinals_back() {
        let mut s = set(3, "OrderedReady");
        if let Some(r) = s
            .spec
            .as_mut()
            .and_then(|s| s.update_strategy.as_mut())
            .and_then(|u| u.rolling_update.as_mut())
        {
            r.partition = Some(2);
        }
        let mid = [
            pod(0, "web-old", true),
            pod(1, "web-old", true),
            pod(2, "web-new", true),
        ];
        let p = plan(&s, &mid, &claims(&[0, 1, 2]));
        assert!(p.actions.is_empty());
        // A deleted pod below the partition comes back at the current revision.
        let gone = [pod(0, "web-old", true), pod(2, "web-new", true)];
        let p = plan(&s, &gone, &claims(&[0, 1, 2]));
        if let Action::Create { pod, .. } = &p.actions[0] {
            assert_eq!(pod_revision(pod), "web-old");
            assert_eq!(
                pod.spec.as_ref().expect("spec").containers[0]
                    .image
                    .as_deref(),
                Some("nginx:1")
            );
        } else {
            panic!("expected a create: {:?}", summary(&p));
        }
    }

    #[test]
    fn max_unavailable_deletes_several_at_once() {
        let mut s = set(4, "OrderedReady");
        if let Some(r) = s
            .spec
            .as_mut()
            .and_then(|s| s.update_strategy.as_mut())
            .and_then(|u| u.rolling_update.as_mut())
        {
            r.max_unavailable = Some(IntOrString::Int(2));
        }
        let old: Vec<Pod> = (0..4).map(|i| pod(i, "web-old", true)).collect();
        let p = plan(&s, &old, &claims(&[0, 1, 2, 3]));
        assert_eq!(
            summary(&p),
            vec!["delete web-3 Update", "delete web-2 Update"]
        );
        assert_eq!(
            max_unavailable(&IntOrString::String("10%".into()), 4),
            Ok(1)
        );
    }

    #[test]
    fn on_delete_never_deletes_for_updates() {
        let mut s = set(2, "OrderedReady");
        if let Some(u) = s.spec.as_mut().and_then(|s| s.update_strategy.as_mut()) {
            u.type_ = Some("OnDelete".into());
            u.rolling_update = None;
        }
        let old = [pod(0, "web-old", true), pod(1, "web-old", true)];
        assert!(plan(&s, &old, &claims(&[0, 1])).actions.is_empty());
        // A deleted pod comes back with the new template.
        let p = plan(&s, &old[..1], &claims(&[0, 1]));
        if let Action::Create { pod, .. } = &p.actions[0] {
            assert_eq!(pod_revision(pod), "web-new");
        }
    }

    #[test]
    fn failed_pods_are_recreated() {
        let s = set(2, "OrderedReady");
        let mut failed = pod(0, "web-new", false);
        failed.status.as_mut().expect("status").phase = Some("Failed".into());
        let p = plan(&s, &[failed, pod(1, "web-new", true)], &claims(&[0, 1]));
        assert_eq!(summary(&p), vec!["recreate web-0"]);
    }

    #[test]
    fn drifted_identity_is_repaired() {
        let s = set(1, "OrderedReady");
        let mut p0 = pod(0, "web-new", true);
        p0.metadata
            .labels
            .as_mut()
            .expect("labels")
            .remove(super::super::statefulset_pods::POD_NAME_LABEL);
        let p = plan(&s, &[p0], &claims(&[0]));
        assert_eq!(summary(&p), vec!["update web-0"]);
    }

    #[test]
    fn claims_being_deleted_block_creation() {
        let s = set(1, "OrderedReady");
        let mut c = claims(&[0]);
        if let Some(claim) = c.values_mut().next() {
            claim.metadata.deletion_timestamp = Some(Time(ts(1)));
        }
        let p = plan(&s, &[], &c);
        assert!(p.actions.is_empty());
        assert!(p.recheck);
    }

    #[test]
    fn status_completes_the_rollout() {
        let mut s = set(2, "OrderedReady");
        let status = SetStatus {
            observed_generation: 3,
            replicas: 2,
            ready_replicas: 2,
            available_replicas: 2,
            current_replicas: 0,
            updated_replicas: 2,
            current_revision: "web-old".into(),
            update_revision: "web-new".into(),
            collision_count: 0,
        };
        let patch = status_patch(&s, status.clone()).expect("patch");
        assert_eq!(patch["status"]["currentRevision"], "web-new");
        assert_eq!(patch["status"]["currentReplicas"], 2);
        s.status = Some(StatefulSetStatus {
            observed_generation: Some(3),
            replicas: 2,
            ready_replicas: Some(2),
            available_replicas: Some(2),
            current_replicas: Some(2),
            updated_replicas: Some(2),
            current_revision: Some("web-new".into()),
            update_revision: Some("web-new".into()),
            collision_count: Some(0),
            ..StatefulSetStatus::default()
        });
        assert!(status_patch(&s, status).is_none());
    }

    #[test]
    fn event_messages_match_upstream() {
        let s = set(1, "OrderedReady");
        assert_eq!(
            pod_event_message("create", "web-0", &s, None),
            "create Pod web-0 in StatefulSet web successful"
        );
        assert_eq!(
            claim_event_message("create", "data-web-0", "web-0", &s, None),
            "create Claim data-web-0 Pod web-0 in StatefulSet web success"
        );
        assert_eq!(
            recreating_message(&s, "web-0", true),
            "StatefulSet default/web is recreating failed Pod web-0"
        );
    }
}
