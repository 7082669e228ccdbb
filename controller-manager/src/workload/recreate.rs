//! The `Recreate` strategy: all old pods go before any new one starts.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use super::availability::{PHASE_FAILED, PHASE_SUCCEEDED, pod_phase};
use super::deployment_util::{
    actual_replica_count, deployment_replicas, filter_active_replica_sets,
};
use super::ownership::controller_of;
use super::progress::deployment_complete;
use super::scaling::{ScaleAction, scale_and_record};

/// Whether any old pod may still be running: an old ReplicaSet still
/// reports pods, or a pod controlled by an old ReplicaSet has not finished
/// (`Succeeded` / `Failed`) — terminating pods count as running.
///
/// `pods` are the pods controlled by the deployment's ReplicaSets.
pub fn old_pods_running(
    new_rs: Option<&ReplicaSet>,
    old_rses: &[&ReplicaSet],
    pods: &[&Pod],
) -> bool {
    if actual_replica_count(old_rses) > 0 {
        return true;
    }
    let new_uid = new_rs.and_then(|rs| rs.metadata.uid.as_deref());
    let old_uids: BTreeSet<&str> = old_rses
        .iter()
        .filter_map(|rs| rs.metadata.uid.as_deref())
        .collect();
    pods.iter().any(|pod| {
        let Some(owner) = controller_of(&pod.metadata) else {
            return false;
        };
        if Some(owner.uid.as_str()) == new_uid || !old_uids.contains(owner.uid.as_str()) {
            return false;
        }
        !matches!(pod_phase(pod), PHASE_FAILED | PHASE_SUCCEEDED)
    })
}

/// One reconcile of a recreate rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecreateStep {
    /// Scale every active old ReplicaSet to zero.
    ScaleDownOld(Vec<ScaleAction>),
    /// Old pods are still running: only sync the rollout status.
    WaitForOldPods,
    /// Old pods are gone and there is no new ReplicaSet: create it (see
    /// [`new_replica_set`](super::new_replicaset::new_replica_set), which
    /// gives it all replicas for this strategy), then sync status.
    CreateNewReplicaSet,
    /// Scale the new ReplicaSet to the deployment's replicas (`None` when
    /// already there). When `cleanup_old`, the deployment's current status
    /// says the rollout is complete and old ReplicaSets beyond the history
    /// limit may go.
    ScaleUpNew {
        /// The scale-up, if needed.
        action: Option<ScaleAction>,
        /// Whether to run the revision history cleanup.
        cleanup_old: bool,
    },
}

/// Upstream's `rolloutRecreate` decision.
pub fn rollout_recreate(
    d: &Deployment,
    new_rs: Option<&ReplicaSet>,
    old_rses: &[&ReplicaSet],
    pods: &[&Pod],
) -> RecreateStep {
    let scale_downs: Vec<ScaleAction> = filter_active_replica_sets(old_rses)
        .into_iter()
        .filter_map(|rs| scale_and_record(rs, 0, d))
        .collect();
    if !scale_downs.is_empty() {
        return RecreateStep::ScaleDownOld(scale_downs);
    }
    if old_pods_running(new_rs, old_rses, pods) {
        return RecreateStep::WaitForOldPods;
    }
    let Some(new_rs) = new_rs else {
        return RecreateStep::CreateNewReplicaSet;
    };
    let status = d.status.clone().unwrap_or_default();
    RecreateStep::ScaleUpNew {
        action: scale_and_record(new_rs, deployment_replicas(d), d),
        cleanup_old: deployment_complete(d, &status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::pod_template::controller_ref;
    use crate::workload::test_support::{
        pod, recreate_deployment, replica_set, template, with_revision,
    };

    fn owned_pod(name: &str, phase: &str, rs_uid: &str) -> Pod {
        let mut p = pod(name, phase, None);
        p.metadata.owner_references =
            Some(vec![controller_ref("apps/v1", "ReplicaSet", "x", rs_uid)]);
        p
    }

    #[test]
    fn recreate_ordering() {
        let t = template("v2");
        let d = recreate_deployment("web", 3, &t);
        // 1. Old RS still has replicas: scale it to zero, nothing else.
        let old = with_revision(replica_set("web-old", 3, 3, &template("v1")), 1, 0);
        let step = rollout_recreate(&d, None, &[&old], &[]);
        match &step {
            RecreateStep::ScaleDownOld(actions) => {
                assert_eq!(actions.len(), 1);
                assert_eq!((actions[0].from, actions[0].to), (3, 0));
                assert_eq!(
                    actions[0].event().map(|e| e.message).as_deref(),
                    Some("Scaled down replica set web-old from 3 to 0")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        // 2. Scaled to zero but status still reports pods: wait.
        let mut draining = old.clone();
        if let Some(s) = draining.spec.as_mut() {
            s.replicas = Some(0);
        }
        assert_eq!(
            rollout_recreate(&d, None, &[&draining], &[]),
            RecreateStep::WaitForOldPods
        );
        // 3. Status at zero but a terminating pod is still around: wait.
        let mut drained = replica_set("web-old", 0, 0, &template("v1"));
        drained.metadata.uid = old.metadata.uid.clone();
        let lingering = owned_pod("old-1", "Running", "uid-web-old");
        assert_eq!(
            rollout_recreate(&d, None, &[&drained], &[&lingering]),
            RecreateStep::WaitForOldPods
        );
        // Finished pods do not count.
        let finished = owned_pod("old-1", "Succeeded", "uid-web-old");
        assert_eq!(
            rollout_recreate(&d, None, &[&drained], &[&finished]),
            RecreateStep::CreateNewReplicaSet
        );
        // 4. New RS exists (with all replicas): nothing to scale.
        let new = replica_set("web-new", 3, 0, &t);
        let new_pod = owned_pod("new-1", "Pending", "uid-web-new");
        assert_eq!(
            rollout_recreate(&d, Some(&new), &[&drained], &[&new_pod]),
            RecreateStep::ScaleUpNew {
                action: None,
                cleanup_old: false
            }
        );
        // A new RS left at zero is scaled up.
        let empty_new = replica_set("web-new", 0, 0, &t);
        match rollout_recreate(&d, Some(&empty_new), &[&drained], &[]) {
            RecreateStep::ScaleUpNew {
                action: Some(a), ..
            } => assert_eq!((a.from, a.to), (0, 3)),
            other => panic!("unexpected {other:?}"),
        }
    }
}
