//! `spec.ttlSecondsAfterFinished`: when a finished Job expires.

use super::finished_condition;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::Job;
use std::time::Duration;

/// What the TTL-after-finished controller should do about a Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlDecision {
    /// Nothing: no TTL, not finished, or already being deleted.
    Ignore,
    /// Look again after this long.
    Wait(Duration),
    /// The TTL has expired: delete the Job.
    Delete,
}

/// When the Job finished: its `Complete`/`Failed` condition's
/// `lastTransitionTime`, else `status.completionTime`.
pub fn finish_time(job: &Job) -> Option<Timestamp> {
    let condition = finished_condition(job)?;
    condition
        .last_transition_time
        .as_ref()
        .map(|t| t.0)
        .or_else(|| job.status.as_ref()?.completion_time.as_ref().map(|t| t.0))
}

/// When the Job expires, if it has a TTL and finished.
pub fn expire_time(job: &Job) -> Option<Timestamp> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    finish_time(job)?
        .checked_add(SignedDuration::from_secs(i64::from(ttl)))
        .ok()
}

/// The decision for `job` at `now`.
pub fn decide(job: &Job, now: Timestamp) -> TtlDecision {
    if job.metadata.deletion_timestamp.is_some() {
        return TtlDecision::Ignore;
    }
    let Some(expire) = expire_time(job) else {
        return TtlDecision::Ignore;
    };
    if expire <= now {
        TtlDecision::Delete
    } else {
        TtlDecision::Wait(super::cron::until(now, expire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_support::{job, time, ts};
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};

    fn finished(ttl: Option<i32>, kind: &str, at: i64) -> Job {
        let mut j = job("done", |s| s.ttl_seconds_after_finished = ttl);
        j.status = Some(JobStatus {
            conditions: Some(vec![JobCondition {
                type_: kind.into(),
                status: "True".into(),
                last_transition_time: Some(time(at)),
                ..JobCondition::default()
            }]),
            ..JobStatus::default()
        });
        j
    }

    #[test]
    fn finished_jobs_expire_ttl_seconds_after_their_condition() {
        let j = finished(Some(100), "Complete", 10);
        assert_eq!(
            decide(&j, ts(50)),
            TtlDecision::Wait(Duration::from_secs(60))
        );
        assert_eq!(decide(&j, ts(110)), TtlDecision::Delete);
        let failed = finished(Some(0), "Failed", 10);
        assert_eq!(decide(&failed, ts(10)), TtlDecision::Delete);
    }

    #[test]
    fn jobs_without_ttl_running_or_deleting_are_ignored() {
        assert_eq!(
            decide(&finished(None, "Complete", 0), ts(1000)),
            TtlDecision::Ignore
        );
        assert_eq!(
            decide(&finished(Some(1), "Suspended", 0), ts(1000)),
            TtlDecision::Ignore
        );
        let mut deleting = finished(Some(1), "Complete", 0);
        deleting.metadata.deletion_timestamp = Some(time(5));
        assert_eq!(decide(&deleting, ts(1000)), TtlDecision::Ignore);
    }

    #[test]
    fn completion_time_stands_in_for_a_missing_transition_time() {
        let mut j = finished(Some(5), "Complete", 0);
        if let Some(status) = j.status.as_mut() {
            status.completion_time = Some(time(20));
            if let Some(c) = status.conditions.as_mut() {
                c[0].last_transition_time = None;
            }
        }
        assert_eq!(expire_time(&j), Some(ts(25)));
    }
}
