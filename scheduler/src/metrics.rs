//! The scheduler's Prometheus metrics, named as kube-scheduler's.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// The metrics, registered in one registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `scheduler_schedule_attempts_total{result,profile}`.
    pub attempts: IntCounterVec,
    /// `scheduler_pending_pods{queue}`.
    pub pending: IntGaugeVec,
    /// `scheduler_scheduling_attempt_duration_seconds{result,profile}`.
    pub attempt_duration: HistogramVec,
    /// `scheduler_pod_scheduling_sli_duration_seconds{attempts}`.
    pub sli_duration: HistogramVec,
    /// `scheduler_preemption_attempts_total`.
    pub preemption_attempts: IntCounterVec,
}

/// `result` label: the pod was bound.
pub const SCHEDULED: &str = "scheduled";
/// `result` label: no node fits.
pub const UNSCHEDULABLE: &str = "unschedulable";
/// `result` label: something else failed.
pub const ERROR: &str = "error";

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let attempts = IntCounterVec::new(
            Opts::new(
                "scheduler_schedule_attempts_total",
                "Number of attempts to schedule pods, by the result.",
            ),
            &["result", "profile"],
        )?;
        let pending = IntGaugeVec::new(
            Opts::new(
                "scheduler_pending_pods",
                "Number of pending pods, by the queue type.",
            ),
            &["queue"],
        )?;
        let attempt_duration = HistogramVec::new(
            HistogramOpts::new(
                "scheduler_scheduling_attempt_duration_seconds",
                "Scheduling attempt latency in seconds (scheduling algorithm + binding).",
            )
            .buckets(prometheus::exponential_buckets(0.001, 2.0, 15)?),
            &["result", "profile"],
        )?;
        let sli_duration = HistogramVec::new(
            HistogramOpts::new(
                "scheduler_pod_scheduling_sli_duration_seconds",
                "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue until it is bound.",
            )
            .buckets(prometheus::exponential_buckets(0.01, 2.0, 20)?),
            &["attempts"],
        )?;
        let preemption_attempts = IntCounterVec::new(
            Opts::new(
                "scheduler_preemption_attempts_total",
                "Total preemption attempts in the cluster till now.",
            ),
            &["result"],
        )?;
        registry.register(Box::new(attempts.clone()))?;
        registry.register(Box::new(pending.clone()))?;
        registry.register(Box::new(attempt_duration.clone()))?;
        registry.register(Box::new(sli_duration.clone()))?;
        registry.register(Box::new(preemption_attempts.clone()))?;
        Ok(Self {
            attempts,
            pending,
            attempt_duration,
            sli_duration,
            preemption_attempts,
        })
    }

    /// Sets the pending gauges.
    pub fn set_pending(&self, counts: crate::queue::Counts) {
        self.pending
            .with_label_values(&["active"])
            .set(counts.active as i64);
        self.pending
            .with_label_values(&["backoff"])
            .set(counts.backoff as i64);
        self.pending
            .with_label_values(&["unschedulable"])
            .set(counts.unschedulable as i64);
        self.pending
            .with_label_values(&["gated"])
            .set(counts.gated as i64);
    }
}
