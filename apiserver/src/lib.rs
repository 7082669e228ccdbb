//! Bosun's Kubernetes API server.
//!
//! A thin binary (`bosun-apiserver`) over [`run`]: the Kubernetes REST API over
//! TLS with client-certificate authentication, persisted by `bosun-storage`
//! (the embedded store by default, or etcd). Tests start it in-process with
//! [`start`] on port 0.

pub mod admission;
pub mod apply;
pub mod bootstrap;
pub mod cache;
pub mod codec;
pub mod compactor;
pub mod config;
pub mod convert;
pub mod defaults;
pub mod event_ttl;
pub mod fieldcheck;
pub mod kubeconfig;
pub mod metrics;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod registry;
pub mod request;
pub mod response;
pub mod routes;
pub mod server;
pub mod status;
pub mod table;
pub mod tls;
pub mod tokens;
pub mod validation;

pub use config::Config;

use bosun_storage::{EmbeddedStore, EtcdConfig, EtcdStore, Storage};
use registry::Registry;
use routes::{App, AppState};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::watch;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The storage backend could not be opened or reached.
    #[error("storage: {0}")]
    Storage(#[from] bosun_storage::StorageError),
    /// Certificates could not be loaded or created.
    #[error("tls: {0}")]
    Tls(#[from] tls::TlsError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// A configuration value is malformed.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The service account signing key could not be loaded or created.
    #[error("service account key: {0}")]
    ServiceAccountKey(#[from] tokens::KeyError),
    /// Creating the system objects failed.
    #[error("bootstrap: {0}")]
    Bootstrap(status::ApiError),
}

/// A server running in the background.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// The cluster's certificates (to issue client certificates in tests).
    pub pki: tls::Pki,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// Background loops (compaction, the watch cache) stopped with the server.
    background: Vec<tokio::task::AbortHandle>,
}

impl RunningServer {
    /// Stops accepting, closes every connection, and waits for the server task.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        for task in self.background {
            task.abort();
        }
    }
}

async fn open_storage(config: &Config) -> Result<Arc<dyn Storage>, ServerError> {
    if config.etcd_servers.is_empty() {
        Ok(Arc::new(EmbeddedStore::open(&config.data_dir)?))
    } else {
        Ok(Arc::new(
            EtcdStore::connect(EtcdConfig::new(config.etcd_servers.clone())).await?,
        ))
    }
}

/// Starts the server in the background and returns once it is ready: storage
/// open, system objects present, socket listening, kubeconfig written.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    let ranges = registry::services::ServiceRanges::parse(
        &config.service_cluster_ip_range,
        &config.service_node_port_range,
    )
    .map_err(ServerError::Config)?;
    let service_ip = ranges.first_ip().to_string();
    let pki = tls::Pki::load_or_create(
        &config.data_dir,
        config.bind_address,
        config.tls_cert_file.as_deref(),
        config.tls_private_key_file.as_deref(),
        config.client_ca_file.as_deref(),
    )?;
    let tls_config = pki.server_config()?;
    // Build the OpenAPI documents off the async threads, before serving.
    let _ = tokio::task::spawn_blocking(|| {
        routes::openapi::documents();
        fieldcheck::warm_up();
    })
    .await;
    let storage = open_storage(&config).await?;
    let registry = Registry::new(storage, ranges);
    let requested = SocketAddr::new(config.bind_address, config.secure_port);
    let listener = tokio::net::TcpListener::bind(requested)
        .await
        .map_err(|source| ServerError::Bind {
            addr: requested,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: requested,
        source,
    })?;
    bootstrap::ensure(&registry, &service_ip, addr)
        .await
        .map_err(ServerError::Bootstrap)?;
    let compactor = tokio::spawn(compactor::run(
        registry.storage().clone(),
        compactor::DEFAULT_INTERVAL,
    ));
    let cache = cache::WatchCache::start(registry.storage().clone());
    let mut background = vec![compactor.abort_handle(), cache.runner()];
    if !cache.wait_ready(std::time::Duration::from_secs(60)).await {
        tracing::warn!("watch cache not ready yet; serving from storage until it is");
    }
    let registry = registry.with_cache(cache);
    let event_expiry = tokio::spawn(event_ttl::run(registry.clone(), config.event_ttl));
    background.push(event_expiry.abort_handle());
    let repair = tokio::spawn(registry::service_repair::run(
        registry.clone(),
        registry::service_repair::INTERVAL,
    ));
    background.push(repair.abort_handle());
    let metrics =
        metrics::Metrics::new().map_err(|e| ServerError::Config(format!("metrics: {e}")))?;
    let issuer = tokens::Issuer::load_or_create(&config.data_dir.join("pki"))?;
    let app = AppState(Arc::new(App::new(registry, metrics, issuer)));
    app.ready.store(true, Ordering::Release);
    let router = routes::router(app);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, tls_config, router, shutdown_rx));
    if let Some(path) = &config.write_kubeconfig {
        kubeconfig::write_admin(&pki, addr, path)?;
    }
    tracing::info!(%addr, "bosun-apiserver ready");
    Ok(RunningServer {
        addr,
        pki,
        shutdown,
        task,
        background,
    })
}

/// Runs the server until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    let server = start(config).await?;
    shutdown.await;
    server.stop().await;
    Ok(())
}
