//! What every task of one simulator shares: the API client, the
//! configuration, the in-flight request limit, the nodes and the counters.

use crate::config::Config;
use crate::fleet::Fleet;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long one API request (not a watch) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// At most one failure warning per this interval; the rest are counted.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// Shared state of one running simulator.
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// The configuration it runs with.
    pub config: Config,
    /// The simulated nodes.
    pub fleet: Arc<Fleet>,
    /// Bounds the API requests in flight (`--max-in-flight`).
    limiter: Semaphore,
    /// Counters, for logs and benchmarks.
    pub stats: Counters,
    /// Failure-warning throttle: the process start, and when the last
    /// warning went out (ms since then).
    started: Instant,
    last_warning_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("config", &self.config)
            .field("nodes", &self.fleet.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Shared state for these nodes.
    pub fn new(client: kube::Client, config: Config, fleet: Arc<Fleet>) -> Self {
        let limiter = Semaphore::new(config.max_in_flight);
        Self {
            client,
            config,
            fleet,
            limiter,
            stats: Counters::default(),
            started: Instant::now(),
            last_warning_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Logs a failed API request of `what` on `target`, at most one warning
    /// per 5 s (with the number of failures left out since) so an
    /// unreachable API server does not flood the log from thousands of
    /// nodes and pods.
    pub fn warn_failure(&self, what: &str, target: &str, error: &kube::Error) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        if due
            && self
                .last_warning_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
            tracing::warn!(%target, %error, suppressed, "{what} failed");
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%target, %error, "{what} failed");
        }
    }

    /// Runs one API request in a request slot (`--max-in-flight`), failing
    /// it after [`REQUEST_TIMEOUT`] so a hung connection cannot stall a
    /// node or pod. Boxed, so the thousands of parked node and pod tasks do
    /// not each carry a request's worth of state.
    pub fn request<'a, T: 'a>(
        &'a self,
        request: impl Future<Output = Result<T, kube::Error>> + Send + 'a,
    ) -> Pin<Box<dyn Future<Output = Result<T, kube::Error>> + Send + 'a>> {
        Box::pin(async move {
            let _permit: Option<SemaphorePermit<'_>> = self.limiter.acquire().await.ok();
            match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
                Ok(result) => result,
                Err(_) => Err(kube::Error::Service(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "API request timed out",
                )))),
            }
        })
    }
}

/// Running totals of what the simulator did.
#[derive(Debug, Default)]
pub struct Counters {
    /// Lease renewals (and creations) that succeeded.
    pub lease_renewals: AtomicU64,
    /// Node condition posts that succeeded.
    pub node_status_posts: AtomicU64,
    /// Pod status writes that succeeded.
    pub pod_status_writes: AtomicU64,
    /// Pod status writes that hit a conflict and were retried.
    pub pod_status_conflicts: AtomicU64,
    /// Pods deleted after their grace period.
    pub pod_deletions: AtomicU64,
    /// Pods currently handled (bound to a node of ours, not finished; those
    /// of stopped or deleted nodes wait).
    pub pods_tracked: AtomicU64,
    /// Pods whose last written phase is Running.
    pub pods_running: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lease renewals (and creations) that succeeded.
    pub lease_renewals: u64,
    /// Node condition posts that succeeded.
    pub node_status_posts: u64,
    /// Pod status writes that succeeded.
    pub pod_status_writes: u64,
    /// Pod status writes that hit a conflict and were retried.
    pub pod_status_conflicts: u64,
    /// Pods deleted after their grace period.
    pub pod_deletions: u64,
    /// Pods currently handled.
    pub pods_tracked: u64,
    /// Pods whose last written phase is Running.
    pub pods_running: u64,
}

impl Counters {
    /// The current values.
    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            lease_renewals: get(&self.lease_renewals),
            node_status_posts: get(&self.node_status_posts),
            pod_status_writes: get(&self.pod_status_writes),
            pod_status_conflicts: get(&self.pod_status_conflicts),
            pod_deletions: get(&self.pod_deletions),
            pods_tracked: get(&self.pods_tracked),
            pods_running: get(&self.pods_running),
        }
    }
}
