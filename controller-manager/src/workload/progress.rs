//! Deployment conditions and rollout progress (`Progressing`,
//! `Available`, `ReplicaFailure`), the progress deadline and when to look
//! again.
//!
//! `lastTransitionTime` changes only when a condition's status changes;
//! `lastUpdateTime` whenever the condition is rewritten. Setting a
//! condition with the same status and reason as the current one is a
//! no-op, except that `ReplicaSetUpdated` is rewritten on every sign of
//! progress so its `lastUpdateTime` tracks the last progress, which is what
//! the deadline is measured from.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetCondition,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::deployment_util::{
    deployment_name, deployment_replicas, has_progress_deadline, is_paused, rs_name,
};
use super::status::{calculate_status, deployment_status_equal};

/// The `Available` condition type.
pub const CONDITION_AVAILABLE: &str = "Available";
/// The `Progressing` condition type.
pub const CONDITION_PROGRESSING: &str = "Progressing";
/// The `ReplicaFailure` condition type (deployments and ReplicaSets).
pub const CONDITION_REPLICA_FAILURE: &str = "ReplicaFailure";

/// Progressing: a ReplicaSet was scaled as part of the rollout.
pub const REPLICA_SET_UPDATED_REASON: &str = "ReplicaSetUpdated";
/// Progressing: the new ReplicaSet could not be created.
pub const FAILED_RS_CREATE_REASON: &str = "ReplicaSetCreateError";
/// Progressing: the new ReplicaSet was created.
pub const NEW_REPLICA_SET_REASON: &str = "NewReplicaSetCreated";
/// Progressing: an existing new ReplicaSet was found.
pub const FOUND_NEW_RS_REASON: &str = "FoundNewReplicaSet";
/// Progressing: the new ReplicaSet is fully rolled out and available.
pub const NEW_RS_AVAILABLE_REASON: &str = "NewReplicaSetAvailable";
/// Progressing: no progress within `progressDeadlineSeconds`.
pub const TIMED_OUT_REASON: &str = "ProgressDeadlineExceeded";
/// Progressing: the deployment is paused.
pub const PAUSED_DEPLOY_REASON: &str = "DeploymentPaused";
/// Progressing: the deployment was resumed.
pub const RESUMED_DEPLOY_REASON: &str = "DeploymentResumed";
/// Available: at least `replicas - maxUnavailable` pods are available.
pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
/// Available: fewer than `replicas - maxUnavailable` pods are available.
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

/// Message of `Available=True`.
pub const AVAILABLE_MESSAGE: &str = "Deployment has minimum availability.";
/// Message of `Available=False`.
pub const UNAVAILABLE_MESSAGE: &str = "Deployment does not have minimum availability.";

/// `now` as an API time, truncated to whole seconds as the wire keeps it.
pub fn meta_time(now: Timestamp) -> Time {
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

/// A condition with both times set to `now`.
pub fn new_deployment_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_update_time: Some(meta_time(now)),
        last_transition_time: Some(meta_time(now)),
    }
}

/// The condition of the given type.
pub fn get_deployment_condition<'a>(
    status: &'a DeploymentStatus,
    type_: &str,
) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Upstream's `SetDeploymentCondition`: no-op when a condition of the type
/// with the same status and reason exists; otherwise replaces it (keeping
/// its `lastTransitionTime` when the status is unchanged), moved to the end.
pub fn set_deployment_condition(status: &mut DeploymentStatus, mut condition: DeploymentCondition) {
    if let Some(current) = get_deployment_condition(status, &condition.type_) {
        if current.status == condition.status && current.reason == condition.reason {
            return;
        }
        if current.status == condition.status {
            condition
                .last_transition_time
                .clone_from(&current.last_transition_time);
        }
    }
    remove_deployment_condition(status, &condition.type_.clone());
    status
        .conditions
        .get_or_insert_with(Vec::new)
        .push(condition);
}

/// Removes the condition of the given type (conditions become absent when
/// none are left).
pub fn remove_deployment_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.retain(|c| c.type_ != type_);
        if conditions.is_empty() {
            status.conditions = None;
        }
    }
}

/// A ReplicaSet condition as a deployment condition (both times from the
/// RS condition's `lastTransitionTime`).
pub fn replica_set_to_deployment_condition(c: &ReplicaSetCondition) -> DeploymentCondition {
    DeploymentCondition {
        type_: c.type_.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_transition_time: c.last_transition_time.clone(),
        last_update_time: c.last_transition_time.clone(),
    }
}

fn counter(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// Whether the rollout is complete: all replicas updated, no extra ones,
/// all available, and the status observes the current generation.
pub fn deployment_complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let replicas = deployment_replicas(d);
    counter(status.updated_replicas) == replicas
        && counter(status.replicas) == replicas
        && counter(status.available_replicas) == replicas
        && status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether `new_status` shows progress over the deployment's current
/// status: more updated, fewer old, more ready or more available replicas.
pub fn deployment_progressing(d: &Deployment, new_status: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = counter(old.replicas) - counter(old.updated_replicas);
    let new_old = counter(new_status.replicas) - counter(new_status.updated_replicas);
    counter(new_status.updated_replicas) > counter(old.updated_replicas)
        || new_old < old_old
        || counter(new_status.ready_replicas) > counter(old.ready_replicas)
        || counter(new_status.available_replicas) > counter(old.available_replicas)
}

fn deadline(d: &Deployment) -> SignedDuration {
    SignedDuration::from_secs(i64::from(
        d.spec
            .as_ref()
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(0),
    ))
}

/// Whether the rollout has timed out: the Progressing condition already
/// says so, or its `lastUpdateTime` plus the deadline is before `now`.
/// Never for deployments without a deadline, without a Progressing
/// condition, or whose condition says `NewReplicaSetAvailable`.
pub fn deployment_timed_out(d: &Deployment, new_status: &DeploymentStatus, now: Timestamp) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(condition) = get_deployment_condition(new_status, CONDITION_PROGRESSING) else {
        return false;
    };
    match condition.reason.as_deref() {
        Some(NEW_RS_AVAILABLE_REASON) => return false,
        Some(TIMED_OUT_REASON) => return true,
        _ => {}
    }
    let from = condition
        .last_update_time
        .as_ref()
        .map_or(Timestamp::UNIX_EPOCH, |t| t.0);
    now.duration_since(from) > deadline(d)
}

/// Upstream's `checkPausedConditions`: the status with a
/// `Progressing=Unknown` `DeploymentPaused` / `DeploymentResumed` condition
/// when pausing or resuming needs recording; `None` when nothing changes
/// (no deadline, already timed out, or already recorded).
pub fn paused_condition_update(d: &Deployment, now: Timestamp) -> Option<DeploymentStatus> {
    if !has_progress_deadline(d) {
        return None;
    }
    let mut status = d.status.clone().unwrap_or_default();
    let reason =
        get_deployment_condition(&status, CONDITION_PROGRESSING).and_then(|c| c.reason.clone());
    if reason.as_deref() == Some(TIMED_OUT_REASON) {
        return None;
    }
    let paused_recorded = reason.as_deref() == Some(PAUSED_DEPLOY_REASON);
    let condition = match (is_paused(d), paused_recorded) {
        (true, false) => new_deployment_condition(
            CONDITION_PROGRESSING,
            "Unknown",
            PAUSED_DEPLOY_REASON,
            "Deployment is paused",
            now,
        ),
        (false, true) => new_deployment_condition(
            CONDITION_PROGRESSING,
            "Unknown",
            RESUMED_DEPLOY_REASON,
            "Deployment is resumed",
            now,
        ),
        _ => return None,
    };
    set_deployment_condition(&mut status, condition);
    Some(status)
}

/// `ReplicaFailure` conditions to surface: the new ReplicaSet's if it has
/// any, otherwise those of every ReplicaSet.
pub fn replica_failure_conditions(
    all_rses: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
) -> Vec<DeploymentCondition> {
    let failures = |rs: &ReplicaSet| -> Vec<DeploymentCondition> {
        rs.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .filter(|c| c.type_ == CONDITION_REPLICA_FAILURE)
            .map(replica_set_to_deployment_condition)
            .collect()
    };
    if let Some(new_rs) = new_rs {
        let own = failures(new_rs);
        if !own.is_empty() {
            return own;
        }
    }
    all_rses.iter().flat_map(|rs| failures(rs)).collect()
}

/// When to look at a deployment again for its progress deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// No deadline check is pending.
    Never,
    /// The deadline is (nearly) due: requeue now, rate limited.
    RateLimited,
    /// Requeue after this long (the remaining time plus one second of slack).
    After(Duration),
}

impl Requeue {
    /// As a plain delay: `None` for [`Requeue::Never`], zero for
    /// [`Requeue::RateLimited`] (the caller should rate-limit it).
    pub fn as_delay(self) -> Option<Duration> {
        match self {
            Requeue::Never => None,
            Requeue::RateLimited => Some(Duration::ZERO),
            Requeue::After(d) => Some(d),
        }
    }
}

/// Upstream's `requeueStuckDeployment`: for a deployment with a deadline
/// and a Progressing condition whose rollout is neither complete nor timed
/// out, when the deadline (the condition's `lastUpdateTime` plus
/// `progressDeadlineSeconds`) comes.
pub fn requeue_stuck_deployment(
    d: &Deployment,
    new_status: &DeploymentStatus,
    now: Timestamp,
) -> Requeue {
    let current = d
        .status
        .as_ref()
        .and_then(|s| get_deployment_condition(s, CONDITION_PROGRESSING));
    let Some(current) = current else {
        return Requeue::Never;
    };
    if !has_progress_deadline(d)
        || deployment_complete(d, new_status)
        || current.reason.as_deref() == Some(TIMED_OUT_REASON)
    {
        return Requeue::Never;
    }
    let from = current
        .last_update_time
        .as_ref()
        .map_or(Timestamp::UNIX_EPOCH, |t| t.0);
    let after = deadline(d) - now.duration_since(from);
    if after < SignedDuration::from_secs(1) {
        return Requeue::RateLimited;
    }
    let after = after + SignedDuration::from_secs(1);
    Requeue::After(Duration::try_from(after).unwrap_or(Duration::ZERO))
}

/// The outcome of [`sync_rollout_status`].
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutStatus {
    /// The status the deployment should have.
    pub status: DeploymentStatus,
    /// Whether it differs from the current status (then write it).
    pub changed: bool,
    /// When unchanged, when to check the deadline again.
    pub requeue: Requeue,
}

/// Upstream's `syncRolloutStatus`: [`calculate_status`] plus the
/// Progressing condition (complete → `NewReplicaSetAvailable`; progress →
/// `ReplicaSetUpdated`, refreshing `lastUpdateTime`; deadline passed →
/// `ProgressDeadlineExceeded`) and `ReplicaFailure` surfaced from the
/// ReplicaSets. Without a deadline the Progressing condition is removed.
pub fn sync_rollout_status(
    all_rses: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
    now: Timestamp,
) -> RolloutStatus {
    let mut status = calculate_status(all_rses, new_rs, d, now);
    if !has_progress_deadline(d) {
        remove_deployment_condition(&mut status, CONDITION_PROGRESSING);
    }
    let current = d
        .status
        .as_ref()
        .and_then(|s| get_deployment_condition(s, CONDITION_PROGRESSING))
        .cloned();
    let is_complete = counter(status.replicas) == counter(status.updated_replicas)
        && current
            .as_ref()
            .is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE_REASON));
    if has_progress_deadline(d) && !is_complete {
        let subject = |verb: &str| match new_rs {
            Some(rs) => format!("ReplicaSet {:?} {verb}", rs_name(rs)),
            None => format!("Deployment {:?} {verb}", deployment_name(d)),
        };
        if deployment_complete(d, &status) {
            let condition = new_deployment_condition(
                CONDITION_PROGRESSING,
                "True",
                NEW_RS_AVAILABLE_REASON,
                &subject("has successfully progressed."),
                now,
            );
            set_deployment_condition(&mut status, condition);
        } else if deployment_progressing(d, &status) {
            let mut condition = new_deployment_condition(
                CONDITION_PROGRESSING,
                "True",
                REPLICA_SET_UPDATED_REASON,
                &subject("is progressing."),
                now,
            );
            if let Some(current) = &current {
                if current.status == "True" {
                    condition
                        .last_transition_time
                        .clone_from(&current.last_transition_time);
                }
                remove_deployment_condition(&mut status, CONDITION_PROGRESSING);
            }
            set_deployment_condition(&mut status, condition);
        } else if deployment_timed_out(d, &status, now) {
            let condition = new_deployment_condition(
                CONDITION_PROGRESSING,
                "False",
                TIMED_OUT_REASON,
                &subject("has timed out progressing."),
                now,
            );
            set_deployment_condition(&mut status, condition);
        }
    }
    match replica_failure_conditions(all_rses, new_rs)
        .into_iter()
        .next()
    {
        Some(failure) => set_deployment_condition(&mut status, failure),
        None => remove_deployment_condition(&mut status, CONDITION_REPLICA_FAILURE),
    }
    let previous = d.status.clone().unwrap_or_default();
    if deployment_status_equal(&previous, &status) {
        let requeue = requeue_stuck_deployment(d, &status, now);
        RolloutStatus {
            status,
            changed: false,
            requeue,
        }
    } else {
        RolloutStatus {
            status,
            changed: true,
            requeue: Requeue::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{pct, replica_set, rolling_deployment, template, ts};
    use k8s_openapi::api::apps::v1::ReplicaSetStatus;

    fn progressing(status: &DeploymentStatus) -> DeploymentCondition {
        get_deployment_condition(status, CONDITION_PROGRESSING)
            .cloned()
            .expect("progressing condition")
    }

    #[test]
    fn set_condition_keeps_transition_time_on_same_status() {
        let mut status = DeploymentStatus::default();
        set_deployment_condition(
            &mut status,
            new_deployment_condition("Progressing", "True", "A", "a", ts(0)),
        );
        // Same status and reason: ignored entirely.
        set_deployment_condition(
            &mut status,
            new_deployment_condition("Progressing", "True", "A", "changed", ts(10)),
        );
        assert_eq!(progressing(&status).message.as_deref(), Some("a"));
        // Same status, new reason: updated, transition time kept.
        set_deployment_condition(
            &mut status,
            new_deployment_condition("Progressing", "True", "B", "b", ts(20)),
        );
        let c = progressing(&status);
        assert_eq!(c.last_transition_time, Some(meta_time(ts(0))));
        assert_eq!(c.last_update_time, Some(meta_time(ts(20))));
        // New status: both times move.
        set_deployment_condition(
            &mut status,
            new_deployment_condition("Progressing", "False", "C", "c", ts(30)),
        );
        assert_eq!(
            progressing(&status).last_transition_time,
            Some(meta_time(ts(30)))
        );
        remove_deployment_condition(&mut status, "Progressing");
        assert!(status.conditions.is_none());
    }

    /// A deployment mid-rollout from `old` (name "web-old") to "web-new".
    fn rollout(
        d_status: DeploymentStatus,
        old_replicas: i32,
        new_replicas: i32,
        new_available: i32,
    ) -> (Deployment, ReplicaSet, ReplicaSet) {
        let t = template("b");
        let mut d = rolling_deployment("web", 3, &t, pct("25%"), pct("25%"));
        d.status = Some(d_status);
        let old = replica_set("web-old", old_replicas, old_replicas, &template("a"));
        let new = replica_set("web-new", new_replicas, new_available, &t);
        (d, old, new)
    }

    #[test]
    fn progressing_then_complete_then_stable() {
        // Rollout just created the new RS.
        let mut status = DeploymentStatus {
            replicas: Some(3),
            available_replicas: Some(3),
            ready_replicas: Some(3),
            ..DeploymentStatus::default()
        };
        set_deployment_condition(
            &mut status,
            new_deployment_condition(
                "Progressing",
                "True",
                NEW_REPLICA_SET_REASON,
                "Created",
                ts(0),
            ),
        );
        let (d, old, new) = rollout(status, 3, 1, 0);
        let out = sync_rollout_status(&[&old, &new], Some(&new), &d, ts(30));
        assert!(out.changed);
        let c = progressing(&out.status);
        assert_eq!(c.reason.as_deref(), Some(REPLICA_SET_UPDATED_REASON));
        assert_eq!(
            c.message.as_deref(),
            Some("ReplicaSet \"web-new\" is progressing.")
        );
        assert_eq!(c.last_transition_time, Some(meta_time(ts(0))));
        assert_eq!(c.last_update_time, Some(meta_time(ts(30))));

        // Finished: all 3 new and available, old gone.
        let (d, old, new) = rollout(out.status, 0, 3, 3);
        let out = sync_rollout_status(&[&old, &new], Some(&new), &d, ts(90));
        let c = progressing(&out.status);
        assert_eq!(c.reason.as_deref(), Some(NEW_RS_AVAILABLE_REASON));
        assert_eq!(
            c.message.as_deref(),
            Some("ReplicaSet \"web-new\" has successfully progressed.")
        );
        assert_eq!(c.last_transition_time, Some(meta_time(ts(0))));

        // A later resync with nothing new does not touch the status.
        let (d, old, new) = rollout(out.status, 0, 3, 3);
        let again = sync_rollout_status(&[&old, &new], Some(&new), &d, ts(4000));
        assert!(!again.changed);
        assert_eq!(again.requeue, Requeue::Never);
    }

    #[test]
    fn times_out_without_progress_and_requeues_before() {
        let mut status = DeploymentStatus {
            replicas: Some(4),
            updated_replicas: Some(1),
            available_replicas: Some(3),
            ready_replicas: Some(3),
            unavailable_replicas: Some(1),
            observed_generation: Some(1),
            ..DeploymentStatus::default()
        };
        set_deployment_condition(
            &mut status,
            new_deployment_condition(
                "Progressing",
                "True",
                REPLICA_SET_UPDATED_REASON,
                "x",
                ts(0),
            ),
        );
        set_deployment_condition(
            &mut status,
            new_deployment_condition(
                "Available",
                "True",
                MINIMUM_REPLICAS_AVAILABLE,
                AVAILABLE_MESSAGE,
                ts(0),
            ),
        );
        let (d, old, new) = rollout(status, 3, 1, 0);
        // Before the deadline: unchanged, requeue at the deadline (+1s).
        let out = sync_rollout_status(&[&old, &new], Some(&new), &d, ts(100));
        assert!(!out.changed, "{:?}", out.status);
        assert_eq!(out.requeue, Requeue::After(Duration::from_secs(501)));
        // Almost due: rate limited.
        let out = sync_rollout_status(&[&old, &new], Some(&new), &d, ts(600));
        assert_eq!(out.requeue, Requeue::RateLimited);
        // Past it: timed out.
        let out = sync_rollout_status(&[&old, &new], Some(&new), &d, ts(601));
        assert!(out.changed);
        let c = progressing(&out.status);
        assert_eq!(c.status, "False");
        assert_eq!(c.reason.as_deref(), Some(TIMED_OUT_REASON));
        assert_eq!(
            c.message.as_deref(),
            Some("ReplicaSet \"web-new\" has timed out progressing.")
        );
        assert!(deployment_timed_out(&d, &out.status, ts(601)));
    }

    #[test]
    fn no_deadline_drops_progressing() {
        let mut status = DeploymentStatus::default();
        set_deployment_condition(
            &mut status,
            new_deployment_condition(
                "Progressing",
                "True",
                REPLICA_SET_UPDATED_REASON,
                "x",
                ts(0),
            ),
        );
        let (mut d, old, new) = rollout(status, 3, 1, 0);
        if let Some(s) = d.spec.as_mut() {
            s.progress_deadline_seconds = None;
        }
        let out = sync_rollout_status(&[&old, &new], Some(&new), &d, ts(10));
        assert!(get_deployment_condition(&out.status, CONDITION_PROGRESSING).is_none());
    }

    #[test]
    fn replica_failure_surfaces_and_clears() {
        let (d, old, mut new) = rollout(DeploymentStatus::default(), 3, 1, 0);
        new.status = Some(ReplicaSetStatus {
            replicas: 0,
            conditions: Some(vec![ReplicaSetCondition {
                type_: "ReplicaFailure".into(),
                status: "True".into(),
                reason: Some("FailedCreate".into()),
                message: Some("quota".into()),
                last_transition_time: Some(meta_time(ts(3))),
            }]),
            ..ReplicaSetStatus::default()
        });
        let out = sync_rollout_status(&[&old, &new], Some(&new), &d, ts(10));
        let f = get_deployment_condition(&out.status, CONDITION_REPLICA_FAILURE).expect("failure");
        assert_eq!(f.reason.as_deref(), Some("FailedCreate"));
        assert_eq!(f.last_update_time, Some(meta_time(ts(3))));
        let mut d2 = d.clone();
        d2.status = Some(out.status);
        let healthy = replica_set("web-new", 1, 0, &template("b"));
        let out = sync_rollout_status(&[&old, &healthy], Some(&healthy), &d2, ts(20));
        assert!(get_deployment_condition(&out.status, CONDITION_REPLICA_FAILURE).is_none());
    }

    #[test]
    fn pause_and_resume_conditions() {
        let (mut d, _, _) = rollout(DeploymentStatus::default(), 3, 0, 0);
        if let Some(s) = d.spec.as_mut() {
            s.paused = Some(true);
        }
        let status = paused_condition_update(&d, ts(5)).expect("paused");
        let c = progressing(&status);
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("Unknown", Some(PAUSED_DEPLOY_REASON))
        );
        assert_eq!(c.message.as_deref(), Some("Deployment is paused"));
        d.status = Some(status);
        assert!(paused_condition_update(&d, ts(6)).is_none());
        if let Some(s) = d.spec.as_mut() {
            s.paused = Some(false);
        }
        let status = paused_condition_update(&d, ts(7)).expect("resumed");
        let c = progressing(&status);
        assert_eq!(c.reason.as_deref(), Some(RESUMED_DEPLOY_REASON));
        assert_eq!(c.message.as_deref(), Some("Deployment is resumed"));
        // Same status Unknown: transition time kept from the pause.
        assert_eq!(c.last_transition_time, Some(meta_time(ts(5))));
    }

    #[test]
    fn paused_does_not_override_timeout() {
        let mut status = DeploymentStatus::default();
        set_deployment_condition(
            &mut status,
            new_deployment_condition("Progressing", "False", TIMED_OUT_REASON, "x", ts(0)),
        );
        let (mut d, _, _) = rollout(status, 3, 0, 0);
        if let Some(s) = d.spec.as_mut() {
            s.paused = Some(true);
        }
        assert!(paused_condition_update(&d, ts(5)).is_none());
    }
}
