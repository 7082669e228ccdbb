//! The `RollingUpdate` strategy: grow the new ReplicaSet within maxSurge,
//! shrink old ones within maxUnavailable, one reconcile at a time.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::deployment_util::{
    available_replica_count, cmp_by_creation, deployment_replicas, filter_active_replica_sets,
    max_unavailable, new_rs_new_replicas, replica_count, rs_available_replicas, rs_replicas,
};
use super::error::WorkloadError;
use super::progress::deployment_complete;
use super::scaling::{ScaleAction, apply_scale_actions, scale_and_record};

/// Upstream's `reconcileNewReplicaSet`: scale the new ReplicaSet down to
/// the deployment's replicas if above, otherwise up as far as maxSurge
/// allows. `all_rses` includes the new ReplicaSet.
pub fn reconcile_new_replica_set(
    d: &Deployment,
    all_rses: &[&ReplicaSet],
    new_rs: &ReplicaSet,
) -> Result<Option<ScaleAction>, WorkloadError> {
    let replicas = deployment_replicas(d);
    let current = rs_replicas(new_rs);
    if current == replicas {
        return Ok(None);
    }
    if current > replicas {
        return Ok(scale_and_record(new_rs, replicas, d));
    }
    let target = new_rs_new_replicas(d, all_rses, new_rs)?;
    Ok(scale_and_record(new_rs, target, d))
}

/// Upstream's `cleanupUnhealthyReplicas`: oldest first, scale old
/// ReplicaSets down by their unavailable replicas, at most
/// `max_cleanup` in total. `old_rses` are updated in place.
pub fn cleanup_unhealthy_replicas(
    old_rses: &mut [ReplicaSet],
    d: &Deployment,
    max_cleanup: i32,
) -> Vec<ScaleAction> {
    old_rses.sort_by(cmp_by_creation);
    let mut total = 0;
    let mut actions = Vec::new();
    for rs in old_rses.iter_mut() {
        if total >= max_cleanup {
            break;
        }
        let replicas = rs_replicas(rs);
        let available = rs_available_replicas(rs);
        if replicas == 0 || replicas == available {
            continue;
        }
        let count = (max_cleanup - total).min(replicas - available);
        if count <= 0 {
            continue;
        }
        if let Some(action) = scale_and_record(rs, replicas - count, d) {
            action.apply(rs);
            actions.push(action);
        }
        total += count;
    }
    actions
}

/// Upstream's `scaleDownOldReplicaSetsForRollingUpdate`: oldest first,
/// scale old ReplicaSets down by as many as exceed the minimum available
/// (`replicas - maxUnavailable`) across `all_rses`.
pub fn scale_down_old_replica_sets(
    all_rses: &[&ReplicaSet],
    old_rses: &[&ReplicaSet],
    d: &Deployment,
) -> Vec<ScaleAction> {
    let min_available = deployment_replicas(d) - max_unavailable(d);
    let available = available_replica_count(all_rses);
    if available <= min_available {
        return Vec::new();
    }
    let to_scale_down = available - min_available;
    let mut olds = old_rses.to_vec();
    olds.sort_by(|a, b| cmp_by_creation(a, b));
    let mut total = 0;
    let mut actions = Vec::new();
    for rs in olds {
        if total >= to_scale_down {
            break;
        }
        let replicas = rs_replicas(rs);
        if replicas == 0 {
            continue;
        }
        let count = replicas.min(to_scale_down - total);
        actions.extend(scale_and_record(rs, replicas - count, d));
        total += count;
    }
    actions
}

/// Upstream's `reconcileOldReplicaSets`: how far old ReplicaSets may
/// shrink without going below the minimum available (counting the new
/// ReplicaSet's unavailable pods against it), spent first on old
/// ReplicaSets' unhealthy replicas, then on healthy ones.
///
/// `all_rses` are every old ReplicaSet plus the new one; `active_old_rses`
/// the old ones with replicas.
pub fn reconcile_old_replica_sets(
    d: &Deployment,
    all_rses: &[&ReplicaSet],
    active_old_rses: &[&ReplicaSet],
    new_rs: &ReplicaSet,
) -> Vec<ScaleAction> {
    if replica_count(active_old_rses) == 0 {
        return Vec::new();
    }
    let all_pods = replica_count(all_rses);
    let min_available = deployment_replicas(d) - max_unavailable(d);
    let new_unavailable = rs_replicas(new_rs) - rs_available_replicas(new_rs);
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    let mut olds: Vec<ReplicaSet> = active_old_rses.iter().map(|rs| (*rs).clone()).collect();
    let mut actions = cleanup_unhealthy_replicas(&mut olds, d, max_scaled_down);
    let old_refs: Vec<&ReplicaSet> = olds.iter().collect();
    let mut all: Vec<&ReplicaSet> = old_refs.clone();
    all.push(new_rs);
    actions.extend(scale_down_old_replica_sets(&all, &old_refs, d));
    actions
}

/// One reconcile of a rolling update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollingStep {
    /// The new ReplicaSet was resized; sync the rollout status next.
    ScaledNew(ScaleAction),
    /// Old ReplicaSets shrink (an RS may appear twice: unhealthy cleanup,
    /// then scale-down; apply in order).
    ScaledOld(Vec<ScaleAction>),
    /// Nothing to scale. When `cleanup_old` the rollout is complete and old
    /// ReplicaSets beyond the history limit may go (see
    /// [`replica_sets_to_cleanup`](super::history::replica_sets_to_cleanup)).
    Idle {
        /// Whether the deployment's current status says it is complete.
        cleanup_old: bool,
    },
}

/// Upstream's `rolloutRolling`, after the new ReplicaSet exists (create
/// it with [`new_replica_set`](super::new_replicaset::new_replica_set)
/// first): grow the new one, else shrink old ones, else done.
pub fn rollout_rolling(
    d: &Deployment,
    new_rs: &ReplicaSet,
    old_rses: &[&ReplicaSet],
) -> Result<RollingStep, WorkloadError> {
    let mut all: Vec<&ReplicaSet> = old_rses.to_vec();
    all.push(new_rs);
    if let Some(action) = reconcile_new_replica_set(d, &all, new_rs)? {
        return Ok(RollingStep::ScaledNew(action));
    }
    let active_old = filter_active_replica_sets(old_rses);
    let actions = reconcile_old_replica_sets(d, &all, &active_old, new_rs);
    if actions.iter().any(ScaleAction::resizes) {
        return Ok(RollingStep::ScaledOld(actions));
    }
    let status = d.status.clone().unwrap_or_default();
    Ok(RollingStep::Idle {
        cleanup_old: deployment_complete(d, &status),
    })
}

/// Applies a step's actions to owned copies of the ReplicaSets.
pub fn apply_step(rses: &mut [ReplicaSet], step: &RollingStep) {
    match step {
        RollingStep::ScaledNew(a) => apply_scale_actions(rses, std::slice::from_ref(a)),
        RollingStep::ScaledOld(actions) => apply_scale_actions(rses, actions),
        RollingStep::Idle { .. } => {}
    }
}

/// The names of the ReplicaSets an action list touches, in order.
pub fn touched(actions: &[ScaleAction]) -> Vec<&str> {
    actions.iter().map(|a| a.replica_set.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::deployment_util::rs_name;
    use crate::workload::new_replicaset::{
        find_new_replica_set, find_old_replica_sets, new_replica_set,
    };
    use crate::workload::progress::sync_rollout_status;
    use crate::workload::test_support::{
        pct, replica_set, rolling_deployment, template, ts, with_revision,
    };
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    /// Marks every ReplicaSet's pods as created and available.
    fn settle(rses: &mut [ReplicaSet]) {
        for rs in rses.iter_mut() {
            let replicas = rs_replicas(rs);
            if let Some(s) = rs.status.as_mut() {
                s.replicas = replicas;
                s.available_replicas = Some(replicas);
                s.ready_replicas = Some(replicas);
            } else {
                rs.status = Some(k8s_openapi::api::apps::v1::ReplicaSetStatus {
                    replicas,
                    available_replicas: Some(replicas),
                    ready_replicas: Some(replicas),
                    ..Default::default()
                });
            }
        }
    }

    /// Drives a rollout to its end, recording (old, new) sizes after every
    /// controller step; pods become available between steps.
    fn drive(mut d: Deployment, old_replicas: i32) -> Vec<(i32, i32)> {
        let mut rses = vec![with_revision(
            replica_set("web-old", old_replicas, old_replicas, &template("v1")),
            1,
            0,
        )];
        let mut trace = Vec::new();
        for step in 0..50 {
            let refs: Vec<&ReplicaSet> = rses.iter().collect();
            let new_rs = find_new_replica_set(&d, &refs).cloned();
            let old = find_old_replica_sets(&d, &refs);
            let old_owned: Vec<ReplicaSet> = old.all.iter().map(|r| (*r).clone()).collect();
            let Some(new_rs) = new_rs else {
                let old_refs: Vec<&ReplicaSet> = old_owned.iter().collect();
                let mut built = new_replica_set(&d, &old_refs).expect("new rs").replica_set;
                built.metadata.creation_timestamp = Some(
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts(step + 1)),
                );
                built.metadata.uid = Some("uid-new".into());
                rses.push(built);
                settle(&mut rses);
                trace.push(sizes(&rses));
                continue;
            };
            let old_refs: Vec<&ReplicaSet> = old_owned.iter().collect();
            let result = rollout_rolling(&d, &new_rs, &old_refs).expect("step");
            apply_step(&mut rses, &result);
            settle(&mut rses);
            // Status as the controller would write it.
            let refs: Vec<&ReplicaSet> = rses.iter().collect();
            let new_ref = refs
                .iter()
                .copied()
                .find(|r| rs_name(r) == rs_name(&new_rs));
            let out = sync_rollout_status(&refs, new_ref, &d, ts(step));
            d.status = Some(out.status);
            if let RollingStep::Idle { cleanup_old } = result {
                assert!(cleanup_old, "idle before completion: {rses:?}");
                return trace;
            }
            trace.push(sizes(&rses));
        }
        panic!("rollout did not finish: {trace:?}");
    }

    fn sizes(rses: &[ReplicaSet]) -> (i32, i32) {
        let old = rses
            .iter()
            .filter(|r| rs_name(r) == "web-old")
            .map(rs_replicas)
            .sum();
        let new = rses
            .iter()
            .filter(|r| rs_name(r) != "web-old")
            .map(rs_replicas)
            .sum();
        (old, new)
    }

    #[test]
    fn three_replicas_surge_one_unavailable_zero() {
        let d = rolling_deployment(
            "web",
            3,
            &template("v2"),
            IntOrString::Int(1),
            IntOrString::Int(0),
        );
        assert_eq!(
            drive(d, 3),
            vec![(3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)]
        );
    }

    #[test]
    fn ten_replicas_25_percent() {
        // surge ceil(2.5) = 3, unavailable floor(2.5) = 2: min available 8, max total 13.
        let d = rolling_deployment("web", 10, &template("v2"), pct("25%"), pct("25%"));
        assert_eq!(drive(d, 10), vec![(10, 3), (5, 3), (5, 8), (0, 8), (0, 10)]);
    }

    #[test]
    fn four_replicas_25_percent() {
        // surge 1, unavailable 1: min available 3, max total 5.
        let d = rolling_deployment("web", 4, &template("v2"), pct("25%"), pct("25%"));
        assert_eq!(drive(d, 4), vec![(4, 1), (2, 1), (2, 3), (0, 3), (0, 4)]);
    }

    #[test]
    fn three_replicas_25_percent_rounds_to_surge_only() {
        let d = rolling_deployment("web", 3, &template("v2"), pct("25%"), pct("25%"));
        assert_eq!(
            drive(d, 3),
            vec![(3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)]
        );
    }

    #[test]
    fn unavailable_new_pods_limit_old_scale_down() {
        let t = template("v2");
        let d = rolling_deployment("web", 10, &t, pct("25%"), pct("25%"));
        let old = with_revision(replica_set("web-old", 10, 10, &template("v1")), 1, 0);
        let new = with_revision(replica_set("web-new", 3, 0, &t), 2, 1);
        let step = rollout_rolling(&d, &new, &[&old]).expect("step");
        // 13 pods - 8 min available - 3 unavailable new = 2.
        match step {
            RollingStep::ScaledOld(actions) => {
                assert_eq!(touched(&actions), vec!["web-old"]);
                assert_eq!((actions[0].from, actions[0].to), (10, 8));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unhealthy_old_replicas_go_first() {
        let t = template("v2");
        let d = rolling_deployment("web", 3, &t, IntOrString::Int(1), IntOrString::Int(1));
        let old = with_revision(replica_set("web-old", 3, 1, &template("v1")), 1, 0);
        let new = with_revision(replica_set("web-new", 1, 1, &t), 2, 1);
        // 4 pods - 2 min available - 0 = 2 may go; both unhealthy ones do,
        // and then 2 available = min available: no further scale-down.
        let actions = reconcile_old_replica_sets(&d, &[&old, &new], &[&old], &new);
        assert_eq!(actions.len(), 1);
        assert_eq!((actions[0].from, actions[0].to), (3, 1));
    }

    #[test]
    fn new_rs_above_desired_is_scaled_down() {
        let t = template("v2");
        let d = rolling_deployment("web", 2, &t, IntOrString::Int(1), IntOrString::Int(0));
        let new = replica_set("web-new", 5, 5, &t);
        let action = reconcile_new_replica_set(&d, &[&new], &new)
            .expect("ok")
            .expect("action");
        assert_eq!((action.from, action.to), (5, 2));
    }
}
