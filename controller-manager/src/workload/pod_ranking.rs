//! Which pods a ReplicaSet deletes first when scaling down.
//!
//! Earlier in the order means deleted sooner:
//!
//! 1. unscheduled before scheduled;
//! 2. `Pending` before `Unknown` before `Running`;
//! 3. not ready before ready;
//! 4. lower `controller.kubernetes.io/pod-deletion-cost` first;
//! 5. more active sibling pods (of the same owner) on the same node first;
//! 6. among ready pods, ready for less time first — times are compared in
//!    log2 buckets of their age, pods in the same bucket by UID;
//! 7. more container restarts first (regular containers, then sidecars);
//! 8. newer first, bucketed the same way (a missing time counts as newest).
//!
//! Ordering is a pairwise rule like upstream's; it is applied with a
//! stable merge sort, which never panics even where bucketing makes the
//! rule intransitive.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::availability::{
    PHASE_PENDING, PHASE_RUNNING, PHASE_UNKNOWN, is_pod_active, is_pod_ready, pod_phase,
    pod_ready_since,
};

/// Annotation ranking pods for deletion: lower cost goes first.
pub const POD_DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The pod's deletion cost (0 when absent or not an int32).
pub fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(POD_DELETION_COST_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn node_name(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// How many of `related` are active on each node (`""` for unscheduled).
pub fn active_pods_per_node(related: &[&Pod]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for pod in related.iter().filter(|p| is_pod_active(p)) {
        *counts.entry(node_name(pod).to_owned()).or_insert(0) += 1;
    }
    counts
}

fn phase_ordinal(phase: &str) -> u8 {
    match phase {
        PHASE_PENDING => 0,
        PHASE_UNKNOWN => 1,
        PHASE_RUNNING => 2,
        _ => 0,
    }
}

/// Highest restart count among regular containers, and among restartable
/// init containers (sidecars).
pub fn max_container_restarts(pod: &Pod) -> (i32, i32) {
    let Some(status) = pod.status.as_ref() else {
        return (0, 0);
    };
    let regular = status
        .container_statuses
        .iter()
        .flatten()
        .map(|c| c.restart_count)
        .fold(0, i32::max);
    let sidecars: BTreeSet<&str> = pod
        .spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    let sidecar = status
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|c| sidecars.contains(c.name.as_str()))
        .map(|c| c.restart_count)
        .fold(0, i32::max);
    (regular, sidecar)
}

struct Facts<'a> {
    pod: &'a Pod,
    node: &'a str,
    phase: u8,
    ready: bool,
    cost: i32,
    rank: usize,
    ready_since: Option<Timestamp>,
    restarts: (i32, i32),
    created: Option<Timestamp>,
    uid: &'a str,
}

impl<'a> Facts<'a> {
    fn of(pod: &'a Pod, per_node: &BTreeMap<String, usize>) -> Self {
        let node = node_name(pod);
        let ready = is_pod_ready(pod);
        Facts {
            pod,
            node,
            phase: phase_ordinal(pod_phase(pod)),
            ready,
            cost: deletion_cost(pod),
            rank: per_node.get(node).copied().unwrap_or(0),
            ready_since: if ready { pod_ready_since(pod) } else { None },
            restarts: max_container_restarts(pod),
            created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
            uid: pod.metadata.uid.as_deref().unwrap_or(""),
        }
    }
}

/// Base-2 log bucket of the age of `t` at `now` in nanoseconds (-1 when
/// not in the past).
fn age_bucket(t: Timestamp, now: Timestamp) -> i64 {
    let nanos = now.duration_since(t).as_nanos();
    if nanos > 0 {
        (nanos as f64).log2() as i64
    } else {
        -1
    }
}

/// Newer-first comparison of two times with log bucketing; `None` (zero
/// time) counts as newest. `None` result: the times are equal.
fn newer_first(
    a: Option<Timestamp>,
    b: Option<Timestamp>,
    uid_a: &str,
    uid_b: &str,
    now: Timestamp,
) -> Option<bool> {
    if a == b {
        return None;
    }
    match (a, b) {
        (Some(a), Some(b)) => {
            let diff = age_bucket(a, now) - age_bucket(b, now);
            if diff == 0 {
                Some(uid_a < uid_b)
            } else {
                Some(diff < 0)
            }
        }
        // afterOrZero: the zero time is "after" everything.
        (a, _) => Some(a.is_none()),
    }
}

fn delete_before(i: &Facts<'_>, j: &Facts<'_>, now: Timestamp) -> bool {
    if i.node != j.node && (i.node.is_empty() || j.node.is_empty()) {
        return i.node.is_empty();
    }
    if i.phase != j.phase {
        return i.phase < j.phase;
    }
    if i.ready != j.ready {
        return !i.ready;
    }
    if i.cost != j.cost {
        return i.cost < j.cost;
    }
    if i.rank != j.rank {
        return i.rank > j.rank;
    }
    if i.ready
        && j.ready
        && let Some(less) = newer_first(i.ready_since, j.ready_since, i.uid, j.uid, now)
    {
        return less;
    }
    if i.restarts.0 != j.restarts.0 {
        return i.restarts.0 > j.restarts.0;
    }
    if i.restarts.1 != j.restarts.1 {
        return i.restarts.1 > j.restarts.1;
    }
    newer_first(i.created, j.created, i.uid, j.uid, now).unwrap_or(false)
}

fn merge_sort<T>(items: Vec<T>, less: &impl Fn(&T, &T) -> bool) -> Vec<T> {
    if items.len() <= 1 {
        return items;
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let left = merge_sort(left, less);
    let right = merge_sort(right, less);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        let take_right = match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => less(b, a),
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_right { r.next() } else { l.next() };
        out.extend(next);
    }
    out
}

/// `pods` ordered for deletion, first to go first. `related` are all the
/// pods of the ReplicaSet's owner (its sibling ReplicaSets' pods included;
/// the ReplicaSet's own pods when it has no owner), used for rule 5.
pub fn rank_pods_for_deletion<'a>(
    pods: &[&'a Pod],
    related: &[&Pod],
    now: Timestamp,
) -> Vec<&'a Pod> {
    let per_node = active_pods_per_node(related);
    let facts: Vec<Facts<'a>> = pods.iter().map(|p| Facts::of(p, &per_node)).collect();
    merge_sort(facts, &|a: &Facts<'_>, b: &Facts<'_>| {
        delete_before(a, b, now)
    })
    .into_iter()
    .map(|f| f.pod)
    .collect()
}

/// The `count` pods to delete: all of them (in the given order) when
/// `count` covers them all, else the first `count` by
/// [`rank_pods_for_deletion`].
pub fn pods_to_delete<'a>(
    pods: &[&'a Pod],
    related: &[&Pod],
    count: usize,
    now: Timestamp,
) -> Vec<&'a Pod> {
    if count >= pods.len() {
        return pods.to_vec();
    }
    let mut ranked = rank_pods_for_deletion(pods, related, now);
    ranked.truncate(count);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{pod, ts};
    use k8s_openapi::api::core::v1::{Container, ContainerStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn names(pods: &[&Pod]) -> Vec<String> {
        pods.iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    fn on_node(mut p: Pod, node: &str) -> Pod {
        if let Some(s) = p.spec.as_mut() {
            s.node_name = (!node.is_empty()).then(|| node.to_owned());
        }
        p
    }

    fn restarts(mut p: Pod, n: i32) -> Pod {
        if let Some(s) = p.status.as_mut() {
            s.container_statuses = Some(vec![ContainerStatus {
                name: "app".into(),
                restart_count: n,
                ..ContainerStatus::default()
            }]);
        }
        p
    }

    fn created(mut p: Pod, t: Option<Timestamp>) -> Pod {
        p.metadata.creation_timestamp = t.map(Time);
        p
    }

    #[test]
    fn upstream_order_of_criteria() {
        let now = ts(100_000);
        let unscheduled = on_node(pod("unscheduled", "Pending", None), "");
        let pending = pod("pending", "Pending", None);
        let unknown = pod("unknown", "Unknown", None);
        let running_not_ready = pod("running-not-ready", "Running", None);
        let mut cheap = pod("cheap", "Running", Some(ts(0)));
        cheap
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_DELETION_COST_ANNOTATION.into(), "-5".into());
        let ready_recent = pod("ready-recent", "Running", Some(ts(99_990)));
        let ready_old = pod("ready-old", "Running", Some(ts(0)));
        let all = [
            &ready_old,
            &ready_recent,
            &cheap,
            &running_not_ready,
            &unknown,
            &pending,
            &unscheduled,
        ];
        let ranked = rank_pods_for_deletion(&all, &[], now);
        assert_eq!(
            names(&ranked),
            vec![
                "unscheduled",
                "pending",
                "unknown",
                "running-not-ready",
                "cheap",
                "ready-recent",
                "ready-old"
            ]
        );
    }

    #[test]
    fn doubled_up_nodes_go_first() {
        let now = ts(1000);
        let a = on_node(pod("a", "Running", Some(ts(0))), "n1");
        let b = on_node(pod("b", "Running", Some(ts(0))), "n2");
        let sibling1 = on_node(pod("s1", "Running", Some(ts(0))), "n2");
        let sibling2 = on_node(pod("s2", "Running", Some(ts(0))), "n2");
        let related = [&a, &b, &sibling1, &sibling2];
        let ranked = rank_pods_for_deletion(&[&a, &b], &related, now);
        assert_eq!(names(&ranked), vec!["b", "a"]);
    }

    #[test]
    fn restarts_then_creation() {
        let now = ts(1_000_000);
        // Not ready: readiness time plays no part.
        let many = restarts(pod("many", "Running", None), 5);
        let few = restarts(pod("few", "Running", None), 1);
        assert_eq!(
            names(&rank_pods_for_deletion(&[&few, &many], &[], now)),
            vec!["many", "few"]
        );
        // Creation: newer (smaller age bucket) first; no timestamp first of all.
        let old = created(pod("old", "Running", None), Some(ts(0)));
        let new = created(pod("new", "Running", None), Some(ts(999_990)));
        let zero = created(pod("zero", "Running", None), None);
        assert_eq!(
            names(&rank_pods_for_deletion(&[&old, &new, &zero], &[], now)),
            vec!["zero", "new", "old"]
        );
    }

    #[test]
    fn same_age_bucket_breaks_ties_by_uid() {
        let now = ts(1_000_000);
        // Ages 1000s and 1001s fall in the same log2 bucket of nanoseconds.
        let b = created(pod("b", "Running", None), Some(ts(999_000)));
        let a = created(pod("a", "Running", None), Some(ts(998_999)));
        assert_eq!(
            names(&rank_pods_for_deletion(&[&b, &a], &[], now)),
            vec!["a", "b"]
        );
    }

    #[test]
    fn sidecar_restarts_count_after_regular() {
        let now = ts(10);
        let with_sidecar = |name: &str, n: i32| {
            let mut p = pod(name, "Running", None);
            if let Some(s) = p.spec.as_mut() {
                s.init_containers = Some(vec![Container {
                    name: "side".into(),
                    restart_policy: Some("Always".into()),
                    ..Container::default()
                }]);
            }
            if let Some(s) = p.status.as_mut() {
                s.init_container_statuses = Some(vec![ContainerStatus {
                    name: "side".into(),
                    restart_count: n,
                    ..ContainerStatus::default()
                }]);
            }
            p
        };
        let calm = with_sidecar("calm", 0);
        let flappy = with_sidecar("flappy", 3);
        assert_eq!(max_container_restarts(&flappy), (0, 3));
        assert_eq!(
            names(&rank_pods_for_deletion(&[&calm, &flappy], &[], now)),
            vec!["flappy", "calm"]
        );
    }

    #[test]
    fn pods_to_delete_takes_prefix() {
        let now = ts(100);
        let ready = pod("ready", "Running", Some(ts(0)));
        let pending = pod("pending", "Pending", None);
        let running = pod("running", "Running", None);
        let all = [&ready, &pending, &running];
        assert_eq!(
            names(&pods_to_delete(&all, &[], 2, now)),
            vec!["pending", "running"]
        );
        assert_eq!(
            names(&pods_to_delete(&all, &[], 3, now)),
            vec!["ready", "pending", "running"]
        );
        assert!(pods_to_delete(&all, &[], 0, now).is_empty());
    }

    #[test]
    fn invalid_deletion_cost_is_zero() {
        let mut p = pod("p", "Running", None);
        p.metadata.annotations = Some(BTreeMap::from([(
            POD_DELETION_COST_ANNOTATION.to_owned(),
            "lots".to_owned(),
        )]));
        assert_eq!(deletion_cost(&p), 0);
    }
}
