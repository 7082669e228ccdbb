//! A deployment's status, computed from its ReplicaSets.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};

use super::deployment_util::{
    actual_replica_count, available_replica_count, deployment_replicas, max_unavailable,
    ready_replica_count, replica_count,
};
use super::progress::{
    AVAILABLE_MESSAGE, CONDITION_AVAILABLE, MINIMUM_REPLICAS_AVAILABLE,
    MINIMUM_REPLICAS_UNAVAILABLE, UNAVAILABLE_MESSAGE, new_deployment_condition,
    set_deployment_condition,
};

/// `Some(v)` unless `v` is zero: counters are `omitempty` on the wire, so a
/// zero reads back as absent.
pub fn non_zero<T: Default + PartialEq>(v: T) -> Option<T> {
    (v != T::default()).then_some(v)
}

/// Upstream's `calculateStatus`: replica counters summed over `all_rses`
/// (`updatedReplicas` from the new ReplicaSet alone), `observedGeneration`,
/// the kept `collisionCount` and conditions, and the `Available` condition
/// set from whether at least `replicas - maxUnavailable` pods are available.
pub fn calculate_status(
    all_rses: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
    now: Timestamp,
) -> DeploymentStatus {
    let available = available_replica_count(all_rses);
    let total = replica_count(all_rses);
    let unavailable = (total - available).max(0);
    let previous = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation.and_then(non_zero),
        replicas: non_zero(actual_replica_count(all_rses)),
        updated_replicas: non_zero(new_rs.map_or(0, |rs| actual_replica_count(&[rs]))),
        ready_replicas: non_zero(ready_replica_count(all_rses)),
        available_replicas: non_zero(available),
        unavailable_replicas: non_zero(unavailable),
        collision_count: previous.collision_count,
        conditions: previous.conditions.clone(),
        terminating_replicas: None,
    };
    let condition = if available >= deployment_replicas(d) - max_unavailable(d) {
        new_deployment_condition(
            CONDITION_AVAILABLE,
            "True",
            MINIMUM_REPLICAS_AVAILABLE,
            AVAILABLE_MESSAGE,
            now,
        )
    } else {
        new_deployment_condition(
            CONDITION_AVAILABLE,
            "False",
            MINIMUM_REPLICAS_UNAVAILABLE,
            UNAVAILABLE_MESSAGE,
            now,
        )
    };
    set_deployment_condition(&mut status, condition);
    status
}

/// Whether two statuses say the same, reading absent counters as 0 and
/// absent conditions as none.
pub fn deployment_status_equal(a: &DeploymentStatus, b: &DeploymentStatus) -> bool {
    let z = |v: Option<i32>| v.unwrap_or(0);
    z(a.replicas) == z(b.replicas)
        && z(a.updated_replicas) == z(b.updated_replicas)
        && z(a.ready_replicas) == z(b.ready_replicas)
        && z(a.available_replicas) == z(b.available_replicas)
        && z(a.unavailable_replicas) == z(b.unavailable_replicas)
        && z(a.terminating_replicas) == z(b.terminating_replicas)
        && a.observed_generation.unwrap_or(0) == b.observed_generation.unwrap_or(0)
        && a.collision_count == b.collision_count
        && a.conditions.as_deref().unwrap_or_default()
            == b.conditions.as_deref().unwrap_or_default()
}

/// Upstream's `syncDeploymentStatus` (used when scaling or paused): the
/// new status when it differs from the current one.
pub fn sync_deployment_status(
    all_rses: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
    now: Timestamp,
) -> Option<DeploymentStatus> {
    let status = calculate_status(all_rses, new_rs, d, now);
    let current = d.status.clone().unwrap_or_default();
    (!deployment_status_equal(&current, &status)).then_some(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::progress::get_deployment_condition;
    use crate::workload::test_support::{pct, replica_set, rolling_deployment, template, ts};

    #[test]
    fn counts_and_available_condition() {
        let t = template("a");
        let d = rolling_deployment("web", 4, &t, pct("25%"), pct("25%"));
        let old = replica_set("old", 2, 2, &t);
        let new = replica_set("new", 3, 1, &t);
        let status = calculate_status(&[&old, &new], Some(&new), &d, ts(5));
        assert_eq!(status.replicas, Some(5));
        assert_eq!(status.updated_replicas, Some(3));
        assert_eq!(status.ready_replicas, Some(3));
        assert_eq!(status.available_replicas, Some(3));
        assert_eq!(status.unavailable_replicas, Some(2));
        assert_eq!(status.observed_generation, Some(1));
        let available = get_deployment_condition(&status, "Available").expect("available");
        // 3 available >= 4 - 1.
        assert_eq!(available.status, "True");
        assert_eq!(
            available.reason.as_deref(),
            Some("MinimumReplicasAvailable")
        );
        assert_eq!(
            available.message.as_deref(),
            Some("Deployment has minimum availability.")
        );

        let new = replica_set("new", 3, 0, &t);
        let old = replica_set("old", 1, 1, &t);
        let status = calculate_status(&[&old, &new], Some(&new), &d, ts(5));
        let available = get_deployment_condition(&status, "Available").expect("available");
        assert_eq!(available.status, "False");
        assert_eq!(
            available.reason.as_deref(),
            Some("MinimumReplicasUnavailable")
        );
        assert_eq!(
            available.message.as_deref(),
            Some("Deployment does not have minimum availability.")
        );
    }

    #[test]
    fn unavailable_never_negative_and_zeros_are_absent() {
        let t = template("a");
        let d = rolling_deployment("web", 0, &t, pct("25%"), pct("25%"));
        let rs = replica_set("rs", 0, 0, &t);
        let status = calculate_status(&[&rs], Some(&rs), &d, ts(0));
        assert_eq!(status.unavailable_replicas, None);
        assert_eq!(status.replicas, None);
    }

    #[test]
    fn sync_status_only_when_changed() {
        let t = template("a");
        let mut d = rolling_deployment("web", 1, &t, pct("25%"), pct("25%"));
        let rs = replica_set("rs", 1, 1, &t);
        let first = sync_deployment_status(&[&rs], Some(&rs), &d, ts(0)).expect("changed");
        d.status = Some(first);
        assert!(sync_deployment_status(&[&rs], Some(&rs), &d, ts(60)).is_none());
    }
}
