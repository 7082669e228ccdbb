//! Pruning old ReplicaSets beyond `revisionHistoryLimit`.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::deployment_util::{
    cmp_by_revision, has_revision_history_limit, rs_replicas, rs_status_replicas,
};

/// Upstream's `cleanupDeployment`: of the old ReplicaSets not being
/// deleted, the lowest revisions beyond `revisionHistoryLimit`, skipping
/// (but still counting) any that still have replicas, report pods, or
/// whose latest spec the ReplicaSet controller has not observed yet.
pub fn replica_sets_to_cleanup<'a>(
    d: &Deployment,
    old_rses: &[&'a ReplicaSet],
) -> Vec<&'a ReplicaSet> {
    if !has_revision_history_limit(d) {
        return Vec::new();
    }
    let limit = d
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(i32::MAX);
    let mut cleanable: Vec<&ReplicaSet> = old_rses
        .iter()
        .copied()
        .filter(|rs| rs.metadata.deletion_timestamp.is_none())
        .collect();
    let excess = i64::try_from(cleanable.len()).unwrap_or(i64::MAX) - i64::from(limit);
    if excess <= 0 {
        return Vec::new();
    }
    cleanable.sort_by(|a, b| cmp_by_revision(a, b));
    cleanable
        .into_iter()
        .take(usize::try_from(excess).unwrap_or(usize::MAX))
        .filter(|rs| {
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            rs_status_replicas(rs) == 0
                && rs_replicas(rs) == 0
                && rs.metadata.generation.unwrap_or(0) <= observed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::deployment_util::rs_name;
    use crate::workload::test_support::{
        pct, replica_set, rolling_deployment, template, ts, with_revision,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn names(v: &[&ReplicaSet]) -> Vec<String> {
        v.iter().map(|r| rs_name(r).to_owned()).collect()
    }

    #[test]
    fn prunes_lowest_revisions_beyond_limit() {
        let t = template("v9");
        let mut d = rolling_deployment("web", 3, &t, pct("25%"), pct("25%"));
        if let Some(s) = d.spec.as_mut() {
            s.revision_history_limit = Some(2);
        }
        let r1 = with_revision(replica_set("r1", 0, 0, &template("v1")), 1, 1);
        let r2 = with_revision(replica_set("r2", 0, 0, &template("v2")), 2, 2);
        let r3 = with_revision(replica_set("r3", 0, 0, &template("v3")), 3, 3);
        let r4 = with_revision(replica_set("r4", 0, 0, &template("v4")), 4, 4);
        let olds = [&r4, &r2, &r3, &r1];
        assert_eq!(names(&replica_sets_to_cleanup(&d, &olds)), vec!["r1", "r2"]);

        // A busy one among the oldest is skipped and still uses up a slot.
        let busy = with_revision(replica_set("r1", 1, 1, &template("v1")), 1, 1);
        assert_eq!(
            names(&replica_sets_to_cleanup(&d, &[&busy, &r2, &r3, &r4])),
            vec!["r2"]
        );

        // One being deleted does not count.
        let mut deleting = r1.clone();
        deleting.metadata.deletion_timestamp = Some(Time(ts(0)));
        assert_eq!(
            names(&replica_sets_to_cleanup(&d, &[&deleting, &r2, &r3, &r4])),
            vec!["r2"]
        );

        // Unobserved generation is skipped.
        let mut unobserved = r1.clone();
        unobserved.metadata.generation = Some(5);
        assert_eq!(
            names(&replica_sets_to_cleanup(&d, &[&unobserved, &r2, &r3, &r4])),
            vec!["r2"]
        );
    }

    #[test]
    fn no_limit_keeps_everything() {
        let t = template("v9");
        let mut d = rolling_deployment("web", 3, &t, pct("25%"), pct("25%"));
        let r1 = with_revision(replica_set("r1", 0, 0, &template("v1")), 1, 1);
        if let Some(s) = d.spec.as_mut() {
            s.revision_history_limit = None;
        }
        assert!(replica_sets_to_cleanup(&d, &[&r1]).is_empty());
        if let Some(s) = d.spec.as_mut() {
            s.revision_history_limit = Some(0);
        }
        assert_eq!(names(&replica_sets_to_cleanup(&d, &[&r1])), vec!["r1"]);
    }
}
