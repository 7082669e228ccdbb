//! `bosun-scheduler`: binds pending pods to nodes as kube-scheduler's
//! default profile does, as a pure API client.
//!
//! Watches of nodes, pods (and the namespaces, Services, workloads,
//! disruption budgets, claims, volumes and storage classes some plugins
//! read) feed the [`cache`] and the [`queue`]. One loop ([`cycle`]) pops a
//! pod, runs the filters and scores of [`core`] over the cache, assumes the
//! pod on the chosen node (reserving volumes for its unbound claims) and
//! hands the binding to a background task: first the volumes
//! ([`volume_binder`]: a volume's `claimRef` or a claim's
//! `volume.kubernetes.io/selected-node`, then waiting for the PV controller
//! to bind the claims), then `pods/binding`, undoing the assumption if
//! either fails. Pods that fit nowhere get
//! `PodScheduled=False` with upstream's message, a `FailedScheduling`
//! event, and wait for a cluster event; higher-priority pods may preempt
//! lower-priority ones, and wait nominated to the node while the victims
//! leave (pods of lower or equal priority leave them the room). With `--leader-elect`, only the holder of the Lease
//! `kube-system/kube-scheduler` schedules.

pub mod cache;
pub mod config;
pub mod core;
pub mod cycle;
pub mod metrics;
pub mod queue;
pub mod report;
pub mod volume_binder;
pub mod watches;

pub use config::Config;

use bosun_runtime::{EventRecorder, Health, LeaderConfig, LeaderElector, Reporter};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// Why the scheduler stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or configuration file.
    #[error("{0}")]
    Config(String),
    /// No API client.
    #[error(transparent)]
    Client(#[from] bosun_runtime::client::ClientError),
    /// The health endpoint could not be served.
    #[error("serving health on {addr}: {source}")]
    Health {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// Leadership was lost: the process must stop, as upstream's does.
    #[error(transparent)]
    Leader(#[from] bosun_runtime::leader::LeaderError),
}

/// The algorithm's configuration from the flags and the `--config` file.
pub fn core_config(config: &Config) -> Result<core::Config, Error> {
    let mut out = core::Config::default();
    let Some(path) = &config.config else {
        return Ok(out);
    };
    let file = config::FileConfig::load(path).map_err(|e| Error::Config(e.to_string()))?;
    if let Some(p) = file.percentage_of_nodes_to_score {
        out.percentage_of_nodes_to_score = u32::try_from(p).unwrap_or(0);
    }
    if let Some(strategy) = file
        .scoring_strategy(&config.scheduler_name)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
    {
        let resources: Vec<core::ResourceWeight> = if strategy.resources.is_empty() {
            core::ResourceWeight::defaults()
        } else {
            strategy
                .resources
                .iter()
                .map(|r| core::ResourceWeight::new(&r.name, r.weight))
                .collect()
        };
        out.scoring_strategy = match strategy.kind.as_deref() {
            Some("MostAllocated") => core::ScoringStrategy::MostAllocated(resources),
            _ => core::ScoringStrategy::LeastAllocated(resources),
        };
    }
    Ok(out)
}

/// How long VolumeBinding's PreBind waits for claims to be bound: the
/// profile's `VolumeBinding` `bindTimeoutSeconds`, else upstream's 600 s.
pub fn bind_timeout(config: &Config) -> Result<Duration, Error> {
    let Some(path) = &config.config else {
        return Ok(volume_binder::BIND_TIMEOUT);
    };
    let file = config::FileConfig::load(path).map_err(|e| Error::Config(e.to_string()))?;
    let seconds = file
        .bind_timeout_seconds(&config.scheduler_name)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok(seconds.map_or(volume_binder::BIND_TIMEOUT, Duration::from_secs))
}

/// Runs the scheduler until `shutdown` completes (or leadership is lost).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let algorithm = core_config(&config)?;
    let bind_timeout = bind_timeout(&config)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let registry = prometheus::Registry::new();
    let client =
        bosun_runtime::counting_client(config.kubeconfig.as_deref(), &registry, "kube-scheduler")
            .await?;
    let metrics = metrics::Metrics::new(&registry)?;
    let health = Health::new(registry);
    let (addr, health_task) =
        bosun_runtime::serve_health(config.healthz_bind_address, health.clone(), stopped())
            .await
            .map_err(|source| Error::Health {
                addr: config.healthz_bind_address,
                source,
            })?;
    tracing::info!(%addr, "serving /livez, /readyz, /metrics");

    let cache = Arc::new(Mutex::new(cache::Cache::new()));
    let queue = Arc::new(queue::SchedulingQueue::new());
    let (synced_tx, mut synced_rx) = watch::channel(false);
    let (volume_events, volume_events_rx) = watch::channel(0u64);
    let watches = watches::start(
        client.clone(),
        watches::Sinks {
            cache: cache.clone(),
            queue: queue.clone(),
            scheduler_name: config.scheduler_name.clone(),
            volume_events,
        },
        synced_tx,
    );
    let mut shutdown = Box::pin(shutdown);
    let mut elector = config.leader_elect.then(|| {
        LeaderElector::new(
            client.clone(),
            "kube-system",
            "kube-scheduler",
            LeaderElector::default_identity(),
            LeaderConfig::default(),
        )
    });
    let ready = async {
        let _ = synced_rx.wait_for(|s| *s).await;
        if let Some(elector) = elector.as_mut() {
            elector.acquire().await;
        }
    };
    let started = tokio::select! {
        _ = ready => true,
        _ = &mut shutdown => false,
    };
    let mut result = Ok(());
    if started {
        let identity = elector
            .as_ref()
            .map(|e| e.identity().to_owned())
            .unwrap_or_else(LeaderElector::default_identity);
        let cycle = Arc::new(cycle::Cycle {
            cache: cache.clone(),
            queue: queue.clone(),
            config: algorithm,
            client: client.clone(),
            recorder: EventRecorder::new(
                client.clone(),
                Reporter {
                    component: config.scheduler_name.clone(),
                    instance: identity,
                },
            ),
            metrics: metrics.clone(),
            binds: Arc::new(Semaphore::new(config.parallel_binds.max(1))),
            profile: config.scheduler_name.clone(),
            volume_events: volume_events_rx,
            bind_timeout,
        });
        let loop_task = tokio::spawn(cycle.run());
        let housekeeping = {
            let queue = queue.clone();
            let cache = cache.clone();
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                let mut n: u64 = 0;
                loop {
                    tick.tick().await;
                    n += 1;
                    metrics.set_pending(queue.counts());
                    cache
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .expire_assumed();
                    if n.is_multiple_of(30) {
                        queue.flush_unschedulable();
                    }
                }
            })
        };
        health.set_ready(true);
        tracing::info!(scheduler = %config.scheduler_name, "scheduling");
        result = match elector.as_mut() {
            Some(elector) => tokio::select! {
                lost = elector.hold() => Err(Error::Leader(lost)),
                _ = &mut shutdown => Ok(()),
            },
            None => {
                shutdown.await;
                Ok(())
            }
        };
        queue.close();
        let _ = loop_task.await;
        housekeeping.abort();
        if let Some(elector) = elector.as_mut()
            && result.is_ok()
        {
            elector.release().await;
        }
    }
    for task in watches {
        task.abort();
    }
    let _ = stop_tx.send(true);
    let _ = health_task.await;
    result
}
