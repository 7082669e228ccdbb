//! The ReplicaSet controller's core decision: how many pods to create, or
//! which to delete, to bring a ReplicaSet to its `spec.replicas`.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;

use super::deployment_util::rs_replicas;
use super::pod_ranking::pods_to_delete;

/// Most pods created or deleted in one sync (upstream's `BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// Size of the first creation batch (upstream's `SlowStartInitialBatchSize`).
pub const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;

/// What a ReplicaSet sync should do with pods.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplicaSetAction<'a> {
    /// The pod count matches (or the ReplicaSet is being deleted).
    None,
    /// Create `count` pods (at most [`BURST_REPLICAS`]) in `batches`:
    /// run each batch's creations concurrently and stop at the first batch
    /// with a failure, so a broken template costs one call, not hundreds.
    Create {
        /// How many pods to create in total.
        count: usize,
        /// The slow-start batch sizes, summing to `count`.
        batches: Vec<usize>,
    },
    /// Delete these pods (at most [`BURST_REPLICAS`]), best candidates first.
    Delete {
        /// The pods to delete.
        pods: Vec<&'a Pod>,
    },
}

/// Upstream's `manageReplicas` decision for `rs`.
///
/// `active_pods` are the pods the ReplicaSet owns (after adoption and
/// release) that are active (see
/// [`filter_active_pods`](super::availability::filter_active_pods));
/// `related_pods` are all pods of the ReplicaSet's owner (see
/// [`rank_pods_for_deletion`](super::pod_ranking::rank_pods_for_deletion)).
/// The caller is responsible for upstream's expectations (only sync when
/// earlier creations and deletions have been observed).
pub fn plan_replica_set_sync<'a>(
    rs: &ReplicaSet,
    active_pods: &[&'a Pod],
    related_pods: &[&Pod],
    now: Timestamp,
) -> ReplicaSetAction<'a> {
    if rs.metadata.deletion_timestamp.is_some() {
        return ReplicaSetAction::None;
    }
    let want = usize::try_from(rs_replicas(rs)).unwrap_or(0);
    let have = active_pods.len();
    if have < want {
        let count = (want - have).min(BURST_REPLICAS);
        ReplicaSetAction::Create {
            count,
            batches: slow_start_batches(count, SLOW_START_INITIAL_BATCH_SIZE),
        }
    } else if have > want {
        let count = (have - want).min(BURST_REPLICAS);
        ReplicaSetAction::Delete {
            pods: pods_to_delete(active_pods, related_pods, count, now),
        }
    } else {
        ReplicaSetAction::None
    }
}

/// Upstream's `slowStartBatch` sizes: `initial`, then doubling (1, 2, 4,
/// 8, …), the last one cut to what remains.
pub fn slow_start_batches(count: usize, initial: usize) -> Vec<usize> {
    let mut batches = Vec::new();
    let mut remaining = count;
    let mut size = remaining.min(initial.max(1));
    while size > 0 {
        batches.push(size);
        remaining -= size;
        size = remaining.min(size.saturating_mul(2));
    }
    batches
}

/// The outcome of running slow-start batches up to the first failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowStartOutcome {
    /// Creations that succeeded.
    pub succeeded: usize,
    /// Creations that failed (all in the last batch run).
    pub failed: usize,
    /// Creations never attempted, to take out of the expectations.
    pub skipped: usize,
}

/// Tallies slow start for `batches` when batch `failed_batch` (index) had
/// `failures` failed creations; `None` when every batch succeeded.
pub fn slow_start_outcome(
    batches: &[usize],
    failed_batch: Option<(usize, usize)>,
) -> SlowStartOutcome {
    let total: usize = batches.iter().sum();
    match failed_batch {
        None => SlowStartOutcome {
            succeeded: total,
            failed: 0,
            skipped: 0,
        },
        Some((index, failures)) => {
            let attempted: usize = batches.iter().take(index + 1).sum();
            let failures = failures.min(batches.get(index).copied().unwrap_or(0));
            SlowStartOutcome {
                succeeded: attempted - failures,
                failed: failures,
                skipped: total - attempted,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{pod, replica_set, template, ts};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn batches_double() {
        assert_eq!(slow_start_batches(0, 1), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1, 1), vec![1]);
        assert_eq!(slow_start_batches(3, 1), vec![1, 2]);
        assert_eq!(slow_start_batches(10, 1), vec![1, 2, 4, 3]);
        assert_eq!(
            slow_start_batches(500, 1),
            vec![1, 2, 4, 8, 16, 32, 64, 128, 245]
        );
        assert_eq!(slow_start_batches(7, 2), vec![2, 4, 1]);
    }

    #[test]
    fn outcome_counts_skipped() {
        let batches = slow_start_batches(10, 1);
        assert_eq!(
            slow_start_outcome(&batches, None),
            SlowStartOutcome {
                succeeded: 10,
                failed: 0,
                skipped: 0
            }
        );
        // Batch 2 (size 4) had 1 failure: 1 + 2 + 3 succeeded, 3 skipped.
        assert_eq!(
            slow_start_outcome(&batches, Some((2, 1))),
            SlowStartOutcome {
                succeeded: 6,
                failed: 1,
                skipped: 3
            }
        );
    }

    #[test]
    fn create_when_short_capped_by_burst() {
        let rs = replica_set("rs", 3, 0, &template("a"));
        let p = pod("p", "Running", None);
        match plan_replica_set_sync(&rs, &[&p], &[], ts(0)) {
            ReplicaSetAction::Create { count, batches } => {
                assert_eq!(count, 2);
                assert_eq!(batches, vec![1, 1]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let big = replica_set("rs", 2000, 0, &template("a"));
        match plan_replica_set_sync(&big, &[], &[], ts(0)) {
            ReplicaSetAction::Create { count, .. } => assert_eq!(count, BURST_REPLICAS),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn delete_when_over_prefers_worst() {
        let rs = replica_set("rs", 1, 0, &template("a"));
        let ready = pod("ready", "Running", Some(ts(0)));
        let pending = pod("pending", "Pending", None);
        let running = pod("running", "Running", None);
        match plan_replica_set_sync(&rs, &[&ready, &pending, &running], &[], ts(100)) {
            ReplicaSetAction::Delete { pods } => {
                let names: Vec<_> = pods
                    .iter()
                    .map(|p| p.metadata.name.clone().unwrap_or_default())
                    .collect();
                assert_eq!(names, vec!["pending", "running"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn nothing_when_matching_or_deleting() {
        let rs = replica_set("rs", 1, 0, &template("a"));
        let p = pod("p", "Running", None);
        assert_eq!(
            plan_replica_set_sync(&rs, &[&p], &[], ts(0)),
            ReplicaSetAction::None
        );
        let mut deleting = replica_set("rs", 5, 0, &template("a"));
        deleting.metadata.deletion_timestamp = Some(Time(ts(0)));
        assert_eq!(
            plan_replica_set_sync(&deleting, &[], &[], ts(0)),
            ReplicaSetAction::None
        );
    }
}
