//! Work-queue metrics named as client-go's (`workqueue_*{name}`), measured
//! around each reconcile of each controller (the queue wait from the
//! stamps [`crate::workqueue`] takes), and the node-lifecycle controller's
//! metrics.

use crate::nodes::metrics::NodeMetrics;
use crate::workqueue::{Queue, QueueTimes};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use std::time::Instant;

/// The metrics, registered in one registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `workqueue_depth{name}`: reconciles waiting or running.
    pub depth: IntGaugeVec,
    /// `workqueue_adds_total{name}`.
    pub adds: IntCounterVec,
    /// `workqueue_queue_duration_seconds{name}`: from the trigger that
    /// queued a key to the start of its reconcile.
    pub queue_duration: HistogramVec,
    /// `workqueue_work_duration_seconds{name}`.
    pub work_duration: HistogramVec,
    /// `workqueue_retries_total{name}`.
    pub retries: IntCounterVec,
    /// When each waiting key was queued.
    pub queue_times: QueueTimes,
    /// `node_collector_*`.
    pub nodes: NodeMetrics,
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
            queue_times: QueueTimes::default(),
            nodes: NodeMetrics::new(registry)?,
        })
    }

    /// The queue of controller `name`, to stamp its triggers with.
    pub fn queue(&self, name: &'static str) -> Queue {
        Queue::new(name, self.queue_times.clone())
    }

    /// Runs one reconcile of `key` by controller `name`, measuring it and
    /// the time the key waited in the queue.
    pub async fn measure<T>(&self, name: &str, key: &str, work: impl Future<Output = T>) -> T {
        if let Some(waited) = self.queue_times.started(name, key, Instant::now()) {
            self.queue_duration
                .with_label_values(&[name])
                .observe(waited.as_secs_f64());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_reconcile_observes_how_long_its_key_waited() {
        let registry = Registry::new();
        let metrics = Metrics::new(&registry).expect("metrics");
        let queue = metrics.queue("replicaset");
        let histogram = metrics.queue_duration.with_label_values(&["replicaset"]);
        // Not queued through a stamped trigger: nothing to observe.
        metrics.measure("replicaset", "ns/a", async {}).await;
        assert_eq!(histogram.get_sample_count(), 0);
        queue.add("ns/a");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let out = metrics.measure("replicaset", "ns/a", async { 7 }).await;
        assert_eq!(out, 7);
        assert_eq!(histogram.get_sample_count(), 1);
        assert!(histogram.get_sample_sum() >= 0.02);
        // The stamp went with the start: the next reconcile waited for nothing.
        metrics.measure("replicaset", "ns/a", async {}).await;
        assert_eq!(histogram.get_sample_count(), 1);
        assert_eq!(
            metrics
                .work_duration
                .with_label_values(&["replicaset"])
                .get_sample_count(),
            3
        );
    }
}
