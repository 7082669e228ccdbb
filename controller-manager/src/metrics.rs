//! Work-queue metrics named as client-go's (`workqueue_*{name}`), measured
//! around each reconcile of each controller.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use std::time::Instant;

/// The metrics, registered in one registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `workqueue_depth{name}`: reconciles waiting or running.
    pub depth: IntGaugeVec,
    /// `workqueue_adds_total{name}`.
    pub adds: IntCounterVec,
    /// `workqueue_queue_duration_seconds{name}`: from the trigger to the
    /// start of the reconcile (only known for requeues here).
    pub queue_duration: HistogramVec,
    /// `workqueue_work_duration_seconds{name}`.
    pub work_duration: HistogramVec,
    /// `workqueue_retries_total{name}`.
    pub retries: IntCounterVec,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let buckets = prometheus::exponential_buckets(1e-8, 10.0, 10)?;
        let depth = IntGaugeVec::new(
            Opts::new("workqueue_depth", "Current depth of workqueue"),
            &["name"],
        )?;
        let adds = IntCounterVec::new(
            Opts::new(
                "workqueue_adds_total",
                "Total number of adds handled by workqueue",
            ),
            &["name"],
        )?;
        let queue_duration = HistogramVec::new(
            HistogramOpts::new(
                "workqueue_queue_duration_seconds",
                "How long in seconds an item stays in workqueue before being requested.",
            )
            .buckets(buckets.clone()),
            &["name"],
        )?;
        let work_duration = HistogramVec::new(
            HistogramOpts::new(
                "workqueue_work_duration_seconds",
                "How long in seconds processing an item from workqueue takes.",
            )
            .buckets(buckets),
            &["name"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "workqueue_retries_total",
                "Total number of retries handled by workqueue",
            ),
            &["name"],
        )?;
        registry.register(Box::new(depth.clone()))?;
        registry.register(Box::new(adds.clone()))?;
        registry.register(Box::new(queue_duration.clone()))?;
        registry.register(Box::new(work_duration.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        Ok(Self {
            depth,
            adds,
            queue_duration,
            work_duration,
            retries,
        })
    }

    /// Runs one reconcile of controller `name`, measuring it.
    pub async fn measure<T>(&self, name: &str, work: impl Future<Output = T>) -> T {
        self.adds.with_label_values(&[name]).inc();
        let depth = self.depth.with_label_values(&[name]);
        depth.inc();
        let started = Instant::now();
        let out = work.await;
        depth.dec();
        self.work_duration
            .with_label_values(&[name])
            .observe(started.elapsed().as_secs_f64());
        out
    }

    /// Counts a retry of controller `name`.
    pub fn retry(&self, name: &str) {
        self.retries.with_label_values(&[name]).inc();
    }
}
