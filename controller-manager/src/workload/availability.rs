//! Pod readiness, availability and activeness.
//!
//! A pod is *ready* when its `Ready` condition is `True`; *available* when
//! it has been ready for at least `minReadySeconds` (measured from the Ready
//! condition's `lastTransitionTime`); *active* when it has not finished
//! (`Succeeded` / `Failed`) and is not being deleted.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Pod, PodCondition};

/// Phase of a pod that has been accepted but not all containers run yet.
pub const PHASE_PENDING: &str = "Pending";
/// Phase of a pod bound to a node with at least one container running.
pub const PHASE_RUNNING: &str = "Running";
/// Phase of a pod whose containers all terminated successfully.
pub const PHASE_SUCCEEDED: &str = "Succeeded";
/// Phase of a pod whose containers all terminated, at least one in failure.
pub const PHASE_FAILED: &str = "Failed";
/// Phase of a pod whose state could not be obtained.
pub const PHASE_UNKNOWN: &str = "Unknown";

/// The pod's phase, `""` when unset.
pub fn pod_phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// The pod's `Ready` condition, if it has one.
pub fn pod_ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// Whether the pod's `Ready` condition is `True`.
pub fn is_pod_ready(pod: &Pod) -> bool {
    pod_ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When the pod became ready: the `lastTransitionTime` of a `True` Ready
/// condition, `None` when not ready or the time is missing.
pub fn pod_ready_since(pod: &Pod) -> Option<Timestamp> {
    let cond = pod_ready_condition(pod)?;
    if cond.status != "True" {
        return None;
    }
    cond.last_transition_time.as_ref().map(|t| t.0)
}

/// Whether the pod is available: ready, and either `min_ready_seconds` is
/// 0 or the Ready condition turned true strictly more than
/// `min_ready_seconds` before `now`.
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !is_pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    match pod_ready_since(pod) {
        Some(since) => {
            now.duration_since(since) > SignedDuration::from_secs(i64::from(min_ready_seconds))
        }
        None => false,
    }
}

/// Whether the pod counts towards its controller's replicas: not
/// `Succeeded`, not `Failed`, and no `deletionTimestamp`.
pub fn is_pod_active(pod: &Pod) -> bool {
    let phase = pod_phase(pod);
    phase != PHASE_SUCCEEDED && phase != PHASE_FAILED && pod.metadata.deletion_timestamp.is_none()
}

/// The active pods among `pods`, in their original order.
pub fn filter_active_pods(pods: &[Pod]) -> Vec<&Pod> {
    pods.iter().filter(|p| is_pod_active(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{pod, ts};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn ready_requires_true_condition() {
        let mut p = pod("a", "Running", None);
        assert!(!is_pod_ready(&p));
        p = pod("a", "Running", Some(ts(100)));
        assert!(is_pod_ready(&p));
        if let Some(c) = p
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
            .and_then(|c| c.first_mut())
        {
            c.status = "False".into();
        }
        assert!(!is_pod_ready(&p));
    }

    #[test]
    fn availability_waits_min_ready_seconds() {
        let p = pod("a", "Running", Some(ts(100)));
        assert!(is_pod_available(&p, 0, ts(100)));
        assert!(!is_pod_available(&p, 10, ts(105)));
        // Exactly at the boundary is not yet available (strictly before).
        assert!(!is_pod_available(&p, 10, ts(110)));
        assert!(is_pod_available(&p, 10, ts(111)));
        let not_ready = pod("b", "Running", None);
        assert!(!is_pod_available(&not_ready, 0, ts(1000)));
    }

    #[test]
    fn ready_without_transition_time_is_not_available_with_min_ready() {
        let mut p = pod("a", "Running", Some(ts(100)));
        if let Some(c) = p
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
            .and_then(|c| c.first_mut())
        {
            c.last_transition_time = None;
        }
        assert!(is_pod_available(&p, 0, ts(1000)));
        assert!(!is_pod_available(&p, 5, ts(1000)));
    }

    #[test]
    fn active_filter() {
        let running = pod("a", "Running", None);
        let done = pod("b", "Succeeded", None);
        let failed = pod("c", "Failed", None);
        let mut deleting = pod("d", "Running", None);
        deleting.metadata.deletion_timestamp = Some(Time(ts(5)));
        let pending = pod("e", "Pending", None);
        let pods = vec![running, done, failed, deleting, pending];
        let names: Vec<_> = filter_active_pods(&pods)
            .iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, vec!["a", "e"]);
    }
}
