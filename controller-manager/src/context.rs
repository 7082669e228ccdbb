//! What every controller shares.

use crate::metrics::Metrics;
use bosun_runtime::EventRecorder;
use std::time::Duration;

/// Shared handles: the client, the event recorder, the metrics.
#[derive(Clone)]
pub struct Shared {
    /// The API client.
    pub client: kube::Client,
    /// Records Events (as each controller's component).
    pub recorder: EventRecorder,
    /// Work-queue metrics.
    pub metrics: Metrics,
    /// Reconciles of one kind at once, per controller.
    pub concurrency: u16,
    /// The clock time-driven controllers read (injectable for tests).
    pub clock: crate::clock::Clock,
    /// First delay before the Job controller replaces a failed pod.
    pub job_pod_failure_backoff: Duration,
}

/// Why a reconcile failed; every variant is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// An API request failed.
    #[error("API request failed: {0}")]
    Api(#[from] kube::Error),
    /// The object cannot be handled as it is (recorded as an Event too).
    #[error("{0}")]
    Invalid(String),
    /// Waiting for something that should happen soon.
    #[error("waiting: {0}")]
    Waiting(String),
}

impl ReconcileError {
    /// Whether the error is an optimistic-concurrency conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ReconcileError::Api(kube::Error::Api(s)) if s.code == 409)
    }
}

/// Backoff for the `attempt`th consecutive failure of one object: 5 ms
/// doubling up to 1000 s, as client-go's default controller rate limiter.
pub fn backoff(attempt: u32) -> Duration {
    let millis = 5u64.saturating_mul(1u64 << attempt.min(20));
    Duration::from_millis(millis.min(1_000_000))
}

/// Whether `error` is a 404 from the API.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.code == 404)
}

/// Whether `error` is a 409 from the API.
pub fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.code == 409)
}

/// Consecutive failures per object, for [`backoff`].
#[derive(Debug, Default)]
pub struct Retries(std::sync::Mutex<std::collections::HashMap<String, u32>>);

impl Retries {
    /// Counts a failure of `key`; returns the delay before the retry.
    pub fn failed(&self, key: &str) -> Duration {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.to_owned()).or_insert(0);
        *n += 1;
        backoff(*n)
    }

    /// Forgets `key`'s failures after a success.
    pub fn succeeded(&self, key: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !map.is_empty() {
            map.remove(key);
        }
    }
}

/// `namespace/name` (or `name`) of an object.
pub fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    match meta.namespace.as_deref() {
        Some(ns) => format!("{ns}/{}", meta.name.as_deref().unwrap_or_default()),
        None => meta.name.clone().unwrap_or_default(),
    }
}

/// The stop signal every controller ends on.
#[derive(Debug, Clone)]
pub struct Stop(pub tokio::sync::watch::Receiver<bool>);

impl Stop {
    /// Completes once stopping was asked for.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }
}
