//! The delay before a Job replaces failed pods: after `n` consecutive
//! failures (no success since) the Job waits `base * 2^(n-1)`, capped at
//! `max`, counted from the last failure. Upstream waits 10 s doubling up
//! to a cap; the controller-manager's defaults are [`DEFAULT_BASE`] and
//! [`DEFAULT_MAX`], and tests shorten the base.

use super::job_pods::finished_at;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use std::time::Duration;

/// First delay after a failure.
pub const DEFAULT_BASE: Duration = Duration::from_secs(10);
/// Longest delay (upstream's documentation: six minutes).
pub const DEFAULT_MAX: Duration = Duration::from_secs(360);

/// Failures since the last success, per Job (kept in memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackoffRecord {
    /// Pods failed since the last one succeeded.
    pub failures_after_last_success: i32,
    /// When the last of them failed.
    pub last_failure: Option<Timestamp>,
}

impl BackoffRecord {
    /// The record after this sync's newly finished pods.
    pub fn updated(&self, new_succeeded: &[&Pod], new_failed: &[&Pod]) -> Self {
        let mut failed: Vec<Timestamp> = new_failed.iter().map(|p| finished_at(p)).collect();
        failed.sort();
        let last_success = new_succeeded.iter().map(|p| finished_at(p)).max();
        match last_success {
            None => match failed.last() {
                None => *self,
                Some(last) => Self {
                    failures_after_last_success: self.failures_after_last_success
                        + i32::try_from(failed.len()).unwrap_or(i32::MAX),
                    last_failure: Some(*last),
                },
            },
            Some(success) => {
                let after: Vec<&Timestamp> = failed.iter().filter(|t| **t > success).collect();
                Self {
                    failures_after_last_success: i32::try_from(after.len()).unwrap_or(i32::MAX),
                    last_failure: after.last().map(|t| **t),
                }
            }
        }
    }

    /// How long to wait before creating pods at `now`.
    pub fn remaining(&self, now: Timestamp, base: Duration, max: Duration) -> Duration {
        remaining_for(
            self.failures_after_last_success,
            self.last_failure,
            now,
            base,
            max,
        )
    }
}

/// The delay after `failures` consecutive failures, the last at
/// `last_failure`, still to wait at `now`.
pub fn remaining_for(
    failures: i32,
    last_failure: Option<Timestamp>,
    now: Timestamp,
    base: Duration,
    max: Duration,
) -> Duration {
    let Some(last) = last_failure else {
        return Duration::ZERO;
    };
    if failures <= 0 {
        return Duration::ZERO;
    }
    let mut delay = base;
    for _ in 1..failures {
        delay = delay.saturating_mul(2);
        if delay >= max {
            delay = max;
            break;
        }
    }
    let delay = delay.min(max.max(base));
    let elapsed = super::cron::until(last, now);
    delay.saturating_sub(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_support::{finished_pod, ts};

    #[test]
    fn delay_doubles_from_the_last_failure_up_to_the_cap() {
        let base = DEFAULT_BASE;
        let max = DEFAULT_MAX;
        assert_eq!(
            remaining_for(0, Some(ts(0)), ts(0), base, max),
            Duration::ZERO
        );
        assert_eq!(remaining_for(1, None, ts(0), base, max), Duration::ZERO);
        assert_eq!(
            remaining_for(1, Some(ts(0)), ts(0), base, max),
            Duration::from_secs(10)
        );
        assert_eq!(
            remaining_for(1, Some(ts(0)), ts(4), base, max),
            Duration::from_secs(6)
        );
        assert_eq!(
            remaining_for(3, Some(ts(0)), ts(0), base, max),
            Duration::from_secs(40)
        );
        assert_eq!(
            remaining_for(30, Some(ts(0)), ts(0), base, max),
            Duration::from_secs(360)
        );
        assert_eq!(
            remaining_for(2, Some(ts(0)), ts(25), base, max),
            Duration::ZERO
        );
    }

    #[test]
    fn a_success_resets_the_count_to_failures_after_it() {
        let f1 = finished_pod("f1", "Failed", 1, 10);
        let f2 = finished_pod("f2", "Failed", 1, 20);
        let s = finished_pod("s", "Succeeded", 0, 15);
        let start = BackoffRecord::default();
        let after_failures = start.updated(&[], &[&f2, &f1]);
        assert_eq!(after_failures.failures_after_last_success, 2);
        assert_eq!(after_failures.last_failure, Some(ts(20)));
        let again = after_failures.updated(&[], &[&f1]);
        assert_eq!(again.failures_after_last_success, 3);
        let mixed = after_failures.updated(&[&s], &[&f1, &f2]);
        assert_eq!(mixed.failures_after_last_success, 1);
        assert_eq!(mixed.last_failure, Some(ts(20)));
        assert_eq!(after_failures.updated(&[], &[]), after_failures);
        assert_eq!(after_failures.updated(&[&s], &[]), BackoffRecord::default());
    }
}
