//! `bosun-controller-manager`: kube-controller-manager's reconcile loops
//! as a pure API client.
//!
//! Each controller is a `kube-runtime` [`Controller`](kube::runtime::Controller):
//! watches feed caches, event handlers only map an object to the key of the
//! object to reconcile, and the reconcile reads current state and writes
//! through the API with the `resourceVersion` it read. With
//! `--leader-elect`, controllers start only once this process holds the
//! Lease `kube-system/kube-controller-manager`.

pub mod batch;
pub mod clock;
pub mod config;
pub mod context;
pub mod controllers;
pub mod informer;
pub mod metrics;
pub mod nodes;
pub mod status_patch;
pub mod storage;
pub mod workload;
pub mod workqueue;

pub use config::Config;

use bosun_runtime::{EventRecorder, Health, LeaderElector, Reporter};
use context::Shared;
use futures::FutureExt;
use futures::future::BoxFuture;
use std::net::SocketAddr;
use tokio::sync::watch;

/// Why the controller-manager stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags.
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

/// Runs the enabled controllers until `shutdown` completes.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let unknown = config.unknown_controllers();
    if !unknown.is_empty() {
        return Err(Error::Config(format!(
            "--controllers: unknown controllers {unknown:?}; known: {:?}",
            config::ALL
        )));
    }
    let leader_config = match config.leader_elect {
        true => Some(config.leader_config().map_err(Error::Config)?),
        false => None,
    };
    let eviction_rates = config.eviction_rates().map_err(Error::Config)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = context::Stop(stop_rx);
    let registry = prometheus::Registry::new();
    let client = bosun_runtime::counting_client(
        config.kubeconfig.as_deref(),
        &registry,
        "kube-controller-manager",
    )
    .await?;
    let metrics = metrics::Metrics::new(&registry)?;
    let health = Health::new(registry);
    let (addr, health_task) =
        bosun_runtime::serve_health(config.healthz_bind_address, health.clone(), stop.wait())
            .await
            .map_err(|source| Error::Health {
                addr: config.healthz_bind_address,
                source,
            })?;
    tracing::info!(%addr, "serving /livez, /readyz, /metrics");

    let mut shutdown = Box::pin(shutdown);
    let mut elector = leader_config.map(|leader_config| {
        LeaderElector::new(
            client.clone(),
            "kube-system",
            "kube-controller-manager",
            LeaderElector::default_identity(),
            leader_config,
        )
    });
    if let Some(elector) = elector.as_mut() {
        tokio::select! {
            _ = elector.acquire() => {}
            _ = &mut shutdown => {
                let _ = stop_tx.send(true);
                let _ = health_task.await;
                return Ok(());
            }
        }
    }
    let identity = elector
        .as_ref()
        .map(|e| e.identity().to_owned())
        .unwrap_or_else(LeaderElector::default_identity);
    let shared = Shared {
        client: client.clone(),
        recorder: EventRecorder::new(
            client,
            Reporter {
                component: "controller-manager".into(),
                instance: identity,
            },
        ),
        metrics,
        concurrency: config.concurrent_syncs,
        clock: config.clock.clone(),
        job_pod_failure_backoff: std::time::Duration::from_millis(
            config.job_pod_failure_backoff_ms,
        ),
    };
    let informers = Informers {
        pods: informer::Informer::start(
            kube::Api::all(shared.client.clone()),
            kube::runtime::watcher::Config::default(),
        ),
        replica_sets: informer::Informer::start(
            kube::Api::all(shared.client.clone()),
            kube::runtime::watcher::Config::default(),
        ),
        jobs: informer::Informer::start(
            kube::Api::all(shared.client.clone()),
            kube::runtime::watcher::Config::default(),
        ),
        nodes: informer::Informer::start(
            kube::Api::all(shared.client.clone()),
            kube::runtime::watcher::Config::default(),
        ),
        persistent_volume_claims: informer::Informer::start(
            kube::Api::all(shared.client.clone()),
            kube::runtime::watcher::Config::default(),
        ),
        controller_revisions: informer::Informer::start(
            kube::Api::all(shared.client.clone()),
            kube::runtime::watcher::Config::default(),
        ),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (name, start) in controllers() {
        if config.enabled(name) {
            tracing::info!(controller = name, "starting controller");
            tasks.spawn(start(shared.clone(), stop.clone(), &informers));
        }
    }
    // The one controller with flags of its own.
    if config.enabled(controllers::node_lifecycle::NAME) {
        tracing::info!(
            controller = controllers::node_lifecycle::NAME,
            "starting controller"
        );
        tasks.spawn(controllers::node_lifecycle::run(
            shared.clone(),
            stop.clone(),
            informers.nodes.clone(),
            informers.pods.clone(),
            controllers::node_lifecycle::Timing {
                grace: config.node_monitor_grace_period,
                period: config.node_monitor_period,
            },
            eviction_rates,
        ));
    }
    health.set_ready(true);

    let result = match elector.as_mut() {
        Some(elector) => tokio::select! {
            lost = elector.hold() => Err(Error::Leader(lost)),
            _ = &mut shutdown => Ok(()),
        },
        None => {
            shutdown.await;
            Ok(())
        }
    };
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    if let Some(elector) = elector.as_mut()
        && result.is_ok()
    {
        elector.release().await;
    }
    let _ = health_task.await;
    result
}

/// The informers controllers share.
pub struct Informers {
    /// Every pod.
    pub pods: std::sync::Arc<informer::Informer<k8s_openapi::api::core::v1::Pod>>,
    /// Every ReplicaSet.
    pub replica_sets: std::sync::Arc<informer::Informer<k8s_openapi::api::apps::v1::ReplicaSet>>,
    /// Every Job.
    pub jobs: std::sync::Arc<informer::Informer<k8s_openapi::api::batch::v1::Job>>,
    /// Every node.
    pub nodes: std::sync::Arc<informer::Informer<k8s_openapi::api::core::v1::Node>>,
    /// Every PersistentVolumeClaim.
    pub persistent_volume_claims:
        std::sync::Arc<informer::Informer<k8s_openapi::api::core::v1::PersistentVolumeClaim>>,
    /// Every ControllerRevision.
    pub controller_revisions:
        std::sync::Arc<informer::Informer<k8s_openapi::api::apps::v1::ControllerRevision>>,
}

type Start = fn(Shared, context::Stop, &Informers) -> BoxFuture<'static, ()>;

/// Every controller by name with its entry point.
fn controllers() -> Vec<(&'static str, Start)> {
    vec![
        (controllers::replicaset::NAME, |s, stop, i| {
            controllers::replicaset::run(s, stop, i.pods.clone()).boxed()
        }),
        (controllers::deployment::NAME, |s, stop, i| {
            controllers::deployment::run(s, stop, i.pods.clone(), i.replica_sets.clone()).boxed()
        }),
        (controllers::pod_gc::NAME, |s, stop, i| {
            controllers::pod_gc::run(s, stop, i.nodes.clone(), i.pods.clone()).boxed()
        }),
        (controllers::serviceaccount::NAME, |s, stop, _| {
            controllers::serviceaccount::run(s, stop).boxed()
        }),
        (controllers::namespace::NAME, |s, stop, _| {
            controllers::namespace::run(s, stop).boxed()
        }),
        (controllers::garbage_collector::NAME, |s, stop, i| {
            let fed = controllers::garbage_collector::Fed {
                pods: i.pods.clone(),
                replica_sets: i.replica_sets.clone(),
            };
            controllers::garbage_collector::run(s, stop, fed).boxed()
        }),
        (controllers::endpoints::ENDPOINTS, |s, stop, i| {
            controllers::endpoints::run(s, stop, i.pods.clone(), false).boxed()
        }),
        (controllers::endpoints::SLICES, |s, stop, i| {
            controllers::endpoints::run(s, stop, i.pods.clone(), true).boxed()
        }),
        (controllers::job::NAME, |s, stop, i| {
            controllers::job::run(s, stop, i.pods.clone(), i.jobs.clone()).boxed()
        }),
        (controllers::cronjob::NAME, |s, stop, i| {
            controllers::cronjob::run(s, stop, i.jobs.clone()).boxed()
        }),
        (controllers::ttl_after_finished::NAME, |s, stop, i| {
            controllers::ttl_after_finished::run(s, stop, i.jobs.clone()).boxed()
        }),
        (controllers::daemonset::NAME, |s, stop, i| {
            controllers::daemonset::run(
                s,
                stop,
                i.pods.clone(),
                i.nodes.clone(),
                i.controller_revisions.clone(),
            )
            .boxed()
        }),
        (controllers::statefulset::NAME, |s, stop, i| {
            controllers::statefulset::run(
                s,
                stop,
                i.pods.clone(),
                i.persistent_volume_claims.clone(),
                i.controller_revisions.clone(),
            )
            .boxed()
        }),
        (
            controllers::horizontal_pod_autoscaler::NAME,
            |s, stop, _| controllers::horizontal_pod_autoscaler::run(s, stop).boxed(),
        ),
        (controllers::disruption::NAME, |s, stop, i| {
            controllers::disruption::run(s, stop, i.pods.clone(), i.replica_sets.clone()).boxed()
        }),
        (controllers::persistent_volume::NAME, |s, stop, i| {
            controllers::persistent_volume::run(
                s,
                stop,
                i.pods.clone(),
                i.nodes.clone(),
                i.persistent_volume_claims.clone(),
            )
            .boxed()
        }),
    ]
}
