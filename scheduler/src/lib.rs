//! `bosun-scheduler`: binds pending pods to nodes as kube-scheduler's
//! default profile does, as a pure API client.
//!
//! One watch of nodes and one of pods feed a node cache (bound and
//! assumed pods counted against their nodes) and the [`queue`]. One loop
//! pops a pod, runs the filters and scores of [`core`] over the cache,
//! assumes the pod on the chosen node and hands the binding
//! (`pods/binding`) to a background task, undoing the assumption if the
//! binding fails. Pods that fit nowhere get `PodScheduled=False` with
//! upstream's message, a `FailedScheduling` event, and wait for a cluster
//! event; higher-priority pods may preempt lower-priority ones.

pub mod config;
pub mod metrics;
pub mod queue;
pub mod report;

pub use config::Config;

/// Placeholder until the scheduling loop lands: waits for `shutdown`.
pub async fn run(
    _config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), std::io::Error> {
    shutdown.await;
    Ok(())
}
