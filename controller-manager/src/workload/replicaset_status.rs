//! A ReplicaSet's status and its `ReplicaFailure` condition.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;

use bosun_types::labels::Selector;

use super::availability::{is_pod_available, is_pod_ready};
use super::deployment_util::rs_replicas;
use super::progress::{CONDITION_REPLICA_FAILURE, meta_time};
use super::status::non_zero;

/// The condition of the given type on a ReplicaSet status.
pub fn get_replica_set_condition<'a>(
    status: &'a ReplicaSetStatus,
    type_: &str,
) -> Option<&'a ReplicaSetCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Sets a condition unless one with the same status and reason exists;
/// a replaced condition moves to the end.
pub fn set_replica_set_condition(status: &mut ReplicaSetStatus, condition: ReplicaSetCondition) {
    if let Some(current) = get_replica_set_condition(status, &condition.type_)
        && current.status == condition.status
        && current.reason == condition.reason
    {
        return;
    }
    remove_replica_set_condition(status, &condition.type_.clone());
    status
        .conditions
        .get_or_insert_with(Vec::new)
        .push(condition);
}

/// Removes the condition of the given type.
pub fn remove_replica_set_condition(status: &mut ReplicaSetStatus, type_: &str) {
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.retain(|c| c.type_ != type_);
        if conditions.is_empty() {
            status.conditions = None;
        }
    }
}

/// Upstream's ReplicaSet `calculateStatus` (plus `observedGeneration`):
///
/// * `replicas`: the active owned pods;
/// * `fullyLabeledReplicas`: those carrying every label of the template;
/// * `readyReplicas` / `availableReplicas`: ready, and available for
///   `minReadySeconds` at `now`;
/// * `ReplicaFailure`: set (reason `FailedCreate` when short of pods,
///   `FailedDelete` when over) with `manage_replicas_error` as message
///   when the last create/delete failed and no failure is recorded yet;
///   removed once a sync succeeds.
pub fn calculate_replica_set_status(
    rs: &ReplicaSet,
    active_pods: &[&Pod],
    manage_replicas_error: Option<&str>,
    now: Timestamp,
) -> ReplicaSetStatus {
    let mut status = rs.status.clone().unwrap_or_default();
    let spec = rs.spec.as_ref();
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let template_selector = Selector::from_set(&template_labels);
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let empty = Default::default();
    let (mut fully_labeled, mut ready, mut available) = (0, 0, 0);
    for pod in active_pods {
        if template_selector.matches(pod.metadata.labels.as_ref().unwrap_or(&empty)) {
            fully_labeled += 1;
        }
        if is_pod_ready(pod) {
            ready += 1;
            if is_pod_available(pod, min_ready, now) {
                available += 1;
            }
        }
    }
    let has_failure = get_replica_set_condition(&status, CONDITION_REPLICA_FAILURE).is_some();
    match manage_replicas_error {
        Some(error) if !has_failure => {
            let diff =
                i64::try_from(active_pods.len()).unwrap_or(i64::MAX) - i64::from(rs_replicas(rs));
            let reason = match diff {
                d if d < 0 => "FailedCreate",
                d if d > 0 => "FailedDelete",
                _ => "",
            };
            set_replica_set_condition(
                &mut status,
                ReplicaSetCondition {
                    type_: CONDITION_REPLICA_FAILURE.to_owned(),
                    status: "True".to_owned(),
                    reason: Some(reason.to_owned()),
                    message: Some(error.to_owned()),
                    last_transition_time: Some(meta_time(now)),
                },
            );
        }
        None if has_failure => remove_replica_set_condition(&mut status, CONDITION_REPLICA_FAILURE),
        _ => {}
    }
    status.replicas = i32::try_from(active_pods.len()).unwrap_or(i32::MAX);
    status.fully_labeled_replicas = non_zero(fully_labeled);
    status.ready_replicas = non_zero(ready);
    status.available_replicas = non_zero(available);
    status.observed_generation = rs.metadata.generation.and_then(non_zero);
    status
}

/// Whether `new_status` needs writing: any counter, the observed
/// generation or the conditions differ.
pub fn replica_set_status_needs_update(rs: &ReplicaSet, new_status: &ReplicaSetStatus) -> bool {
    let current = rs.status.clone().unwrap_or_default();
    let z = |v: Option<i32>| v.unwrap_or(0);
    current.replicas != new_status.replicas
        || z(current.fully_labeled_replicas) != z(new_status.fully_labeled_replicas)
        || z(current.ready_replicas) != z(new_status.ready_replicas)
        || z(current.available_replicas) != z(new_status.available_replicas)
        || current.observed_generation.unwrap_or(0) != new_status.observed_generation.unwrap_or(0)
        || current.conditions.as_deref().unwrap_or_default()
            != new_status.conditions.as_deref().unwrap_or_default()
}

/// When to sync again so pods that are ready but not yet available get
/// counted: after `minReadySeconds`, if all replicas are ready but not all
/// available (and the last sync had no error).
pub fn replica_set_requeue_after(
    rs: &ReplicaSet,
    status: &ReplicaSetStatus,
    had_error: bool,
) -> Option<Duration> {
    let min_ready = rs
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let replicas = rs_replicas(rs);
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    (!had_error && min_ready > 0 && ready == replicas && available != replicas)
        .then(|| Duration::from_secs(u64::try_from(min_ready).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{labels, pod, replica_set, template, ts};

    #[test]
    fn counts_labels_ready_available() {
        let mut rs = replica_set("rs", 3, 0, &template("a"));
        if let Some(s) = rs.spec.as_mut() {
            s.min_ready_seconds = Some(10);
        }
        let fresh = pod("fresh", "Running", Some(ts(95)));
        let seasoned = pod("seasoned", "Running", Some(ts(0)));
        let mut unlabeled = pod("unlabeled", "Pending", None);
        unlabeled.metadata.labels = Some(labels(&[("other", "x")]));
        let status =
            calculate_replica_set_status(&rs, &[&fresh, &seasoned, &unlabeled], None, ts(100));
        assert_eq!(status.replicas, 3);
        assert_eq!(status.fully_labeled_replicas, Some(2));
        assert_eq!(status.ready_replicas, Some(2));
        assert_eq!(status.available_replicas, Some(1));
        assert_eq!(status.observed_generation, Some(1));
        assert_eq!(replica_set_requeue_after(&rs, &status, false), None);
        let two = replica_set("rs", 2, 0, &template("a"));
        let mut two = two;
        if let Some(s) = two.spec.as_mut() {
            s.min_ready_seconds = Some(10);
        }
        let status = calculate_replica_set_status(&two, &[&fresh, &seasoned], None, ts(100));
        assert_eq!(
            replica_set_requeue_after(&two, &status, false),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn failure_condition_set_kept_and_cleared() {
        let mut rs = replica_set("rs", 3, 0, &template("a"));
        let p = pod("p", "Running", None);
        let status = calculate_replica_set_status(&rs, &[&p], Some("quota exceeded"), ts(1));
        let c = get_replica_set_condition(&status, "ReplicaFailure")
            .cloned()
            .expect("failure");
        assert_eq!(c.reason.as_deref(), Some("FailedCreate"));
        assert_eq!(c.message.as_deref(), Some("quota exceeded"));
        assert!(replica_set_status_needs_update(&rs, &status));
        rs.status = Some(status);
        // A second error does not rewrite it.
        let again = calculate_replica_set_status(&rs, &[&p], Some("other"), ts(50));
        let c2 = get_replica_set_condition(&again, "ReplicaFailure")
            .cloned()
            .expect("failure");
        assert_eq!(c2, c);
        // Success clears it.
        let ok = calculate_replica_set_status(&rs, &[&p], None, ts(60));
        assert!(get_replica_set_condition(&ok, "ReplicaFailure").is_none());
        // Too many pods: FailedDelete.
        let one = replica_set("rs", 0, 0, &template("a"));
        let s = calculate_replica_set_status(&one, &[&p], Some("nope"), ts(1));
        assert_eq!(
            get_replica_set_condition(&s, "ReplicaFailure")
                .and_then(|c| c.reason.clone())
                .as_deref(),
            Some("FailedDelete")
        );
    }

    #[test]
    fn unchanged_status_needs_no_update() {
        let mut rs = replica_set("rs", 1, 0, &template("a"));
        let p = pod("p", "Running", Some(ts(0)));
        let status = calculate_replica_set_status(&rs, &[&p], None, ts(10));
        rs.status = Some(status.clone());
        assert!(!replica_set_status_needs_update(&rs, &status));
    }
}
