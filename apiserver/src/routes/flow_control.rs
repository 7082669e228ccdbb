//! How many requests run at once, as upstream's API Priority and Fairness
//! treats them by default: requests of `system:masters` (the `exempt`
//! FlowSchema) and health probes are never limited; the others share the
//! `--max-requests-inflight` / `--max-mutating-requests-inflight` seats,
//! and a request finding none free waits in a queue for one instead of
//! being refused at once. Only a request that waits longer than the
//! queue's time limit, or that finds the queue full, gets a 429 (with
//! `Retry-After`), as APF rejects.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::tls::Identity;

/// Concurrent non-long-running requests allowed, as upstream's
/// `--max-requests-inflight`.
pub const MAX_READONLY_INFLIGHT: usize = 400;
/// As upstream's `--max-mutating-requests-inflight`.
pub const MAX_MUTATING_INFLIGHT: usize = 200;
/// How long a request may wait for a seat: APF's request wait limit.
pub const WAIT_LIMIT: Duration = Duration::from_secs(15);
/// Requests that may wait for a seat of one kind at once (beyond them a
/// request is refused at once, as when APF's queues are full).
pub const QUEUE_LIMIT: usize = 1_000;

/// The kinds of request the limits tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Watches, logs and other streams: never limited, as upstream's.
    LongRunning,
    /// Reads.
    ReadOnly,
    /// Writes.
    Mutating,
}

impl Kind {
    /// The `request_kind` label of `apiserver_current_inflight_requests`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::LongRunning => "",
            Kind::ReadOnly => "readOnly",
            Kind::Mutating => "mutating",
        }
    }
}

/// Whether a caller's requests skip the limits: upstream's `exempt`
/// FlowSchema matches the `system:masters` group.
pub fn is_exempt(caller: Option<&Identity>) -> bool {
    caller.is_some_and(|c| c.groups.iter().any(|g| g == "system:masters"))
}

/// One pool of seats and its queue.
#[derive(Debug)]
struct Seats {
    seats: std::sync::Arc<Semaphore>,
    waiting: AtomicUsize,
    queue_limit: usize,
}

impl Seats {
    fn new(seats: usize, queue_limit: usize) -> Self {
        Self {
            seats: std::sync::Arc::new(Semaphore::new(seats)),
            waiting: AtomicUsize::new(0),
            queue_limit,
        }
    }

    async fn take(&self, wait_limit: Duration) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.seats.clone().try_acquire_owned() {
            return Some(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue_limit {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let waited = tokio::time::timeout(wait_limit, self.seats.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        waited.ok().and_then(Result::ok)
    }
}

/// The seats of both kinds.
#[derive(Debug)]
pub struct Limits {
    readonly: Seats,
    mutating: Seats,
    wait_limit: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(
            MAX_READONLY_INFLIGHT,
            MAX_MUTATING_INFLIGHT,
            QUEUE_LIMIT,
            WAIT_LIMIT,
        )
    }
}

/// What [`Limits::admit`] decided.
#[derive(Debug)]
pub enum Admission {
    /// Run the request; the seat (if any) is held until this is dropped.
    Run(Option<OwnedSemaphorePermit>),
    /// Refuse it with a 429.
    Reject,
}

impl Limits {
    /// Limits of `readonly` and `mutating` seats, each with a queue of
    /// `queue_limit` waiting at most `wait_limit`.
    pub fn new(readonly: usize, mutating: usize, queue_limit: usize, wait_limit: Duration) -> Self {
        Self {
            readonly: Seats::new(readonly, queue_limit),
            mutating: Seats::new(mutating, queue_limit),
            wait_limit,
        }
    }

    /// A seat for a request of `kind`, waiting for one if need be.
    pub async fn admit(&self, kind: Kind, exempt: bool) -> Admission {
        let seats = match kind {
            _ if exempt => return Admission::Run(None),
            Kind::LongRunning => return Admission::Run(None),
            Kind::ReadOnly => &self.readonly,
            Kind::Mutating => &self.mutating,
        };
        match seats.take(self.wait_limit).await {
            Some(permit) => Admission::Run(Some(permit)),
            None => Admission::Reject,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(groups: &[&str]) -> Identity {
        Identity {
            user: "u".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn masters_are_exempt_others_are_not() {
        assert!(is_exempt(Some(&identity(&["system:masters"]))));
        assert!(!is_exempt(Some(&identity(&["system:authenticated"]))));
        assert!(!is_exempt(None));
    }

    #[tokio::test]
    async fn a_request_beyond_the_seats_waits_for_one() {
        let limits = Limits::new(1, 1, 10, Duration::from_secs(15));
        let Admission::Run(Some(first)) = limits.admit(Kind::Mutating, false).await else {
            panic!("the first request gets the seat");
        };
        let waiting = limits.admit(Kind::Mutating, false);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut waiting)
                .await
                .is_err(),
            "the second waits while the seat is taken"
        );
        drop(first);
        assert!(matches!(waiting.await, Admission::Run(Some(_))));
        // Reads have seats of their own; exempt callers need none.
        assert!(matches!(
            limits.admit(Kind::ReadOnly, false).await,
            Admission::Run(Some(_))
        ));
        assert!(matches!(
            limits.admit(Kind::Mutating, true).await,
            Admission::Run(None)
        ));
    }

    #[tokio::test]
    async fn a_request_waiting_too_long_or_finding_the_queue_full_is_refused() {
        let limits = Limits::new(1, 1, 1, Duration::from_millis(200));
        let Admission::Run(Some(_held)) = limits.admit(Kind::ReadOnly, false).await else {
            panic!("the first request gets the seat");
        };
        let queued = limits.admit(Kind::ReadOnly, false);
        tokio::pin!(queued);
        let _ = tokio::time::timeout(Duration::from_millis(10), &mut queued).await;
        // The queue (one place) is full: refused without waiting.
        assert!(matches!(
            limits.admit(Kind::ReadOnly, false).await,
            Admission::Reject
        ));
        // The queued one gives up after the wait limit.
        assert!(matches!(queued.await, Admission::Reject));
    }
}
