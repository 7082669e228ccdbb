//! Scale actions on a deployment's ReplicaSets, proportional scaling when
//! the deployment is resized mid-rollout, and detecting such resizes.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::deployment_util::{
    cmp_by_size_newer, cmp_by_size_older, deployment_replicas, desired_replicas_annotation,
    filter_active_replica_sets, find_active_or_latest, is_rolling_update, is_saturated, max_surge,
    proportion, replica_count, replicas_annotations_need_update, rs_name, rs_replicas,
    set_replicas_annotations,
};
use super::events::{self, Event};

/// Update one ReplicaSet: set `spec.replicas` to `to` and the desired- /
/// max-replicas annotations to the deployment's current values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleAction {
    /// The ReplicaSet's name.
    pub replica_set: String,
    /// Its replicas before.
    pub from: i32,
    /// Its replicas after.
    pub to: i32,
    /// The `deployment.kubernetes.io/desired-replicas` value to write.
    pub desired_replicas: i32,
    /// The `deployment.kubernetes.io/max-replicas` value to write.
    pub max_replicas: i32,
}

impl ScaleAction {
    /// Whether the replica count changes (otherwise only annotations do).
    pub fn resizes(&self) -> bool {
        self.from != self.to
    }

    /// The `ScalingReplicaSet` event, when the size changes.
    pub fn event(&self) -> Option<Event> {
        self.resizes()
            .then(|| events::scaling_replica_set(&self.replica_set, self.from, self.to))
    }

    /// Applies the action to a copy of the ReplicaSet (spec and annotations).
    pub fn apply(&self, rs: &mut ReplicaSet) {
        if let Some(spec) = rs.spec.as_mut() {
            spec.replicas = Some(self.to);
        }
        set_replicas_annotations(rs, self.desired_replicas, self.max_replicas);
    }
}

/// Applies each action to the ReplicaSet of the same name in `rses`.
pub fn apply_scale_actions(rses: &mut [ReplicaSet], actions: &[ScaleAction]) {
    for action in actions {
        if let Some(rs) = rses.iter_mut().find(|rs| rs_name(rs) == action.replica_set) {
            action.apply(rs);
        }
    }
}

fn action(rs: &ReplicaSet, to: i32, d: &Deployment) -> ScaleAction {
    let replicas = deployment_replicas(d);
    ScaleAction {
        replica_set: rs_name(rs).to_owned(),
        from: rs_replicas(rs),
        to,
        desired_replicas: replicas,
        max_replicas: replicas + max_surge(d),
    }
}

/// Upstream's `scaleReplicaSetAndRecordEvent`: an action only when the
/// size changes.
pub fn scale_and_record(rs: &ReplicaSet, to: i32, d: &Deployment) -> Option<ScaleAction> {
    (rs_replicas(rs) != to).then(|| action(rs, to, d))
}

/// Upstream's `scaleReplicaSet`: an action when the size or the replicas
/// annotations need to change.
pub fn scale_with_annotations(rs: &ReplicaSet, to: i32, d: &Deployment) -> Option<ScaleAction> {
    let replicas = deployment_replicas(d);
    let needs = rs_replicas(rs) != to
        || replicas_annotations_need_update(rs, replicas, replicas + max_surge(d));
    needs.then(|| action(rs, to, d))
}

/// Upstream's `isScalingEvent`: whether an active ReplicaSet's
/// desired-replicas annotation disagrees with the deployment's replicas,
/// i.e. the deployment was resized rather than changed.
pub fn is_scaling_event(
    d: &Deployment,
    new_rs: Option<&ReplicaSet>,
    old_rses: &[&ReplicaSet],
) -> bool {
    let mut all: Vec<&ReplicaSet> = old_rses.to_vec();
    all.extend(new_rs);
    let replicas = deployment_replicas(d);
    filter_active_replica_sets(&all)
        .iter()
        .filter_map(|rs| desired_replicas_annotation(rs))
        .any(|desired| desired != replicas)
}

/// Upstream's `scale` (for resizes and paused deployments):
///
/// * one active ReplicaSet (or none: the newest) takes all replicas;
/// * a saturated new ReplicaSet means old ones go to zero;
/// * otherwise, for RollingUpdate, the difference between
///   `replicas + maxSurge` and the current total is spread over the active
///   ReplicaSets in proportion to their size (largest first; newer first
///   when growing, older first when shrinking), leftovers going to the
///   first one.
pub fn scale(
    d: &Deployment,
    new_rs: Option<&ReplicaSet>,
    old_rses: &[&ReplicaSet],
) -> Vec<ScaleAction> {
    let replicas = deployment_replicas(d);
    if let Some(target) = find_active_or_latest(new_rs, old_rses) {
        return scale_and_record(target, replicas, d).into_iter().collect();
    }
    if is_saturated(d, new_rs) {
        return filter_active_replica_sets(old_rses)
            .into_iter()
            .filter_map(|old| scale_and_record(old, 0, d))
            .collect();
    }
    if !is_rolling_update(d) {
        return Vec::new();
    }
    let mut all: Vec<&ReplicaSet> = old_rses.to_vec();
    all.extend(new_rs);
    let mut active = filter_active_replica_sets(&all);
    let current_total = replica_count(&active);
    let allowed = if replicas > 0 {
        replicas + max_surge(d)
    } else {
        0
    };
    let to_add = allowed - current_total;
    if to_add > 0 {
        active.sort_by(|a, b| cmp_by_size_newer(a, b));
    } else if to_add < 0 {
        active.sort_by(|a, b| cmp_by_size_older(a, b));
    }
    let mut added = 0;
    let mut sizes: BTreeMap<String, i32> = BTreeMap::new();
    for rs in &active {
        let size = if to_add != 0 {
            let p = proportion(rs, d, to_add, added);
            added += p;
            rs_replicas(rs) + p
        } else {
            rs_replicas(rs)
        };
        sizes.insert(rs_name(rs).to_owned(), size);
    }
    let mut actions = Vec::new();
    for (i, rs) in active.iter().enumerate() {
        let mut size = sizes.get(rs_name(rs)).copied().unwrap_or(0);
        if i == 0 && to_add != 0 {
            size = (size + to_add - added).max(0);
        }
        actions.extend(scale_with_annotations(rs, size, d));
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{
        pct, replica_set, rolling_deployment, template, with_revision,
    };
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn annotated(
        name: &str,
        replicas: i32,
        desired: i32,
        max: i32,
        created: i64,
        image: &str,
    ) -> ReplicaSet {
        let mut rs = with_revision(
            replica_set(name, replicas, replicas, &template(image)),
            created,
            created,
        );
        set_replicas_annotations(&mut rs, desired, max);
        rs
    }

    fn sizes(actions: &[ScaleAction]) -> Vec<(String, i32)> {
        actions
            .iter()
            .map(|a| (a.replica_set.clone(), a.to))
            .collect()
    }

    #[test]
    fn proportional_scaling_10_to_15() {
        // Mid-rollout at 10 replicas with 25% surge: 8 old + 5 new = 13 = 10 + 3.
        let mut d = rolling_deployment("web", 15, &template("v2"), pct("25%"), pct("25%"));
        if let Some(s) = d.status.as_mut() {
            s.replicas = Some(13);
        }
        let old = annotated("web-old", 8, 10, 13, 1, "v1");
        let new = annotated("web-new", 5, 10, 13, 2, "v2");
        assert!(is_scaling_event(&d, Some(&new), &[&old]));
        let actions = scale(&d, Some(&new), &[&old]);
        // 15 + 4 surge = 19 allowed, 6 to add: 8*19/13 = 11.7 -> +4, 5*19/13 = 7.3 -> +2.
        assert_eq!(
            sizes(&actions),
            vec![("web-old".into(), 12), ("web-new".into(), 7)]
        );
        assert!(
            actions
                .iter()
                .all(|a| a.desired_replicas == 15 && a.max_replicas == 19)
        );
        assert_eq!(
            actions[0].event().map(|e| e.message),
            Some("Scaled up replica set web-old from 8 to 12".to_owned())
        );
    }

    #[test]
    fn proportional_scaling_down_with_leftover() {
        // 10 -> 5 with 3 old + 3 new + 1 older, surge 1 of 10 (max 11 annotated).
        let d = rolling_deployment(
            "web",
            5,
            &template("v3"),
            IntOrString::Int(1),
            IntOrString::Int(0),
        );
        let a = annotated("a", 4, 10, 11, 1, "v1");
        let b = annotated("b", 4, 10, 11, 2, "v2");
        let c = annotated("c", 3, 10, 11, 3, "v3");
        let actions = scale(&d, Some(&c), &[&a, &b]);
        // Allowed 6, to remove 5: a 4*6/11=2.18 -> -2, b -> -2, c 3*6/11=1.6 -> 2 (-1).
        let total: i32 = actions.iter().map(|x| x.to).sum();
        assert_eq!(total, 6);
        assert_eq!(
            sizes(&actions),
            vec![("a".into(), 2), ("b".into(), 2), ("c".into(), 2)]
        );
    }

    #[test]
    fn proportional_scaling_to_zero() {
        let d = rolling_deployment("web", 0, &template("v2"), pct("25%"), pct("25%"));
        let old = annotated("web-old", 8, 10, 13, 1, "v1");
        let new = annotated("web-new", 5, 10, 13, 2, "v2");
        let actions = scale(&d, Some(&new), &[&old]);
        assert_eq!(
            sizes(&actions),
            vec![("web-old".into(), 0), ("web-new".into(), 0)]
        );
        assert!(
            actions
                .iter()
                .all(|a| a.desired_replicas == 0 && a.max_replicas == 0)
        );
    }

    #[test]
    fn single_active_takes_all() {
        let d = rolling_deployment("web", 7, &template("v1"), pct("25%"), pct("25%"));
        let only = annotated("only", 3, 3, 4, 1, "v1");
        let idle = annotated("idle", 0, 3, 4, 0, "v0");
        let actions = scale(&d, Some(&only), &[&idle]);
        assert_eq!(sizes(&actions), vec![("only".into(), 7)]);
        // Already right: nothing.
        let full = annotated("only", 7, 7, 9, 1, "v1");
        assert!(scale(&d, Some(&full), &[&idle]).is_empty());
        assert!(!is_scaling_event(&d, Some(&full), &[&idle]));
    }

    #[test]
    fn saturated_new_rs_zeroes_old() {
        let d = rolling_deployment("web", 3, &template("v2"), pct("25%"), pct("25%"));
        let new = annotated("new", 3, 3, 4, 2, "v2");
        let old = annotated("old", 1, 3, 4, 1, "v1");
        assert_eq!(
            sizes(&scale(&d, Some(&new), &[&old])),
            vec![("old".into(), 0)]
        );
    }

    #[test]
    fn apply_updates_copy() {
        let d = rolling_deployment("web", 3, &template("v2"), pct("25%"), pct("25%"));
        let mut rses = vec![replica_set("a", 1, 1, &template("v1"))];
        let act = scale_and_record(&rses[0], 3, &d).expect("action");
        apply_scale_actions(&mut rses, &[act]);
        assert_eq!(rs_replicas(&rses[0]), 3);
        assert_eq!(desired_replicas_annotation(&rses[0]), Some(3));
    }
}
