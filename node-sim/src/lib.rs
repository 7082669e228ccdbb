//! `bosun-node-sim`: kwok-style simulated nodes for Bosun (or any
//! Kubernetes API server), as a pure API client.
//!
//! One process registers `--nodes N` Node objects shaped like real
//! kubelets' (labels, capacity, addresses, nodeInfo, conditions), keeps each
//! Ready by renewing its Lease in `kube-node-lease` every `--heartbeat` and
//! re-posting node status every `--status-interval`, and runs the pods
//! bound to those nodes without containers: they get IPs from the node's
//! pod CIDR, go Running with kubelet-shaped status, finish or crash-loop as
//! their restart policy and `sim.bosun.dev/*` annotations say, and are
//! removed after graceful deletion. Stop files (`--control-dir`) take a node
//! down and bring it back; a node brought back after its Node object was
//! deleted registers a new one, as a starting kubelet does.
//!
//! Embed it with [`Simulator::start`] (tests) or [`run`] (the binary).

mod addresses;
mod agent;
mod backoff;
mod config;
mod context;
mod control;
mod error;
mod fleet;
mod heartbeat;
mod ids;
mod leases;
mod nodes;
mod pods;
mod sim;
mod status;
mod view;

pub use addresses::MAX_NODES;
pub use config::{Config, Labels, parse_duration, parse_labels, parse_quantity};
pub use context::Stats;
pub use control::{STOP_SUFFIX, stop_file};
pub use error::Error;
pub use nodes::{KUBELET_VERSION, RUNTIME_VERSION, SIMULATED_ANNOTATION};
pub use view::{EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION};

use context::Context;
use fleet::{Fleet, SimNode};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Registration attempts per node before giving up.
const REGISTER_ATTEMPTS: u32 = 5;

/// A running simulator: its nodes are registered and Ready, their
/// heartbeats and the pod watch run in the background until
/// [`Simulator::shutdown`] (or drop).
#[derive(Debug)]
pub struct Simulator {
    ctx: Arc<Context>,
    /// The watches and the control-dir poller: they run until shutdown.
    tasks: JoinSet<()>,
    /// One agent per node (heartbeats; registering again after the Node
    /// was deleted and the node started again).
    agents: JoinSet<()>,
    registered_in: Duration,
}

impl Simulator {
    /// Connects with `config.kubeconfig` (or the inferred kubeconfig) and
    /// starts; see [`Simulator::start_with_client`].
    pub async fn start(config: Config) -> Result<Self, Error> {
        config.validate()?;
        let client = client(&config).await?;
        Self::start_with_client(client, config).await
    }

    /// Registers every node (at most `--max-in-flight` at once), then starts
    /// the node agents (heartbeats), the pod watch, the node watch and the
    /// control-dir poller. Returns once all nodes are registered.
    pub async fn start_with_client(client: kube::Client, config: Config) -> Result<Self, Error> {
        config.validate()?;
        let began = Instant::now();
        let api: Api<Node> = Api::all(client.clone());
        let registered: Vec<(u32, nodes::Registered)> = futures::stream::iter(0..config.nodes)
            .map(|index| {
                let api = api.clone();
                let config = &config;
                async move {
                    register_with_retries(&api, config, index)
                        .await
                        .map(|r| (index, r))
                }
            })
            .buffer_unordered(config.max_in_flight)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let registered_in = began.elapsed();
        tracing::info!(
            nodes = config.nodes,
            millis = registered_in.as_millis() as u64,
            "registered nodes"
        );

        let mut ready_since = Vec::with_capacity(registered.len());
        let mut sim_nodes = Vec::with_capacity(registered.len());
        for (index, reg) in registered {
            let node = Arc::new(SimNode::new(
                config.node_name(index),
                index,
                reg.uid,
                addresses::internal_ip(index),
                reg.cidr,
            ));
            ready_since.push((node.clone(), reg.ready_since));
            sim_nodes.push(node);
        }
        let fleet = Arc::new(Fleet::new(sim_nodes));
        let control_dir = config.control_dir.clone();
        let ctx = Arc::new(Context::new(client.clone(), config, fleet.clone()));

        let mut tasks = JoinSet::new();
        if let Some(dir) = control_dir {
            // Apply stop files before anything heartbeats.
            control::apply(&dir, &fleet).await;
            tasks.spawn(control::watch(dir, fleet.clone()));
        }
        let mut agents = JoinSet::new();
        for (node, since) in ready_since {
            agents.spawn(agent::run(ctx.clone(), node, since));
        }
        tasks.spawn(nodes::watch(api, fleet.clone()));
        tasks.spawn(pods::watch_pods(ctx.clone()));
        Ok(Self {
            ctx,
            tasks,
            agents,
            registered_in,
        })
    }

    /// The names of the simulated nodes.
    pub fn node_names(&self) -> Vec<String> {
        let mut nodes: Vec<_> = self
            .ctx
            .fleet
            .iter()
            .map(|n| (n.index, n.name.clone()))
            .collect();
        nodes.sort();
        nodes.into_iter().map(|(_, name)| name).collect()
    }

    /// How long registering all nodes took.
    pub fn registered_in(&self) -> Duration {
        self.registered_in
    }

    /// What the simulator has done so far.
    pub fn stats(&self) -> Stats {
        self.ctx.stats.snapshot()
    }

    /// Stops every background task (nodes stay registered; their Leases
    /// simply stop being renewed).
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
        self.agents.shutdown().await;
    }

    /// Waits until a background task ends on its own (none should).
    async fn failed(&mut self) -> Error {
        match self.tasks.join_next().await {
            Some(Err(e)) => Error::Task(e.to_string()),
            Some(Ok(())) => Error::Task("a background task ended".into()),
            None => Error::Task("no background tasks".into()),
        }
    }
}

/// Runs the simulator until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let mut simulator = Simulator::start(config).await?;
    tokio::select! {
        () = shutdown => {
            tracing::info!("shutting down");
            simulator.shutdown().await;
            Ok(())
        }
        error = simulator.failed() => Err(error),
    }
}

/// An API client from `--kubeconfig`, or the inferred configuration.
async fn client(config: &Config) -> Result<kube::Client, Error> {
    let mut kube_config = match &config.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?
        }
        None => kube::Config::infer().await?,
    };
    // The simulated kubelets write as upstream's do (manager `kubelet`).
    if let Ok(agent) = http::HeaderValue::from_str(&bosun_types::version::user_agent("kubelet")) {
        kube_config.headers.push((http::header::USER_AGENT, agent));
    }
    kube::Client::try_from(kube_config).map_err(Error::Client)
}

async fn register_with_retries(
    api: &Api<Node>,
    config: &Config,
    index: u32,
) -> Result<nodes::Registered, Error> {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        let attempt_result = tokio::time::timeout(
            context::REQUEST_TIMEOUT,
            nodes::register(api, config, index),
        )
        .await
        .unwrap_or_else(|_| {
            Err(kube::Error::Service(Box::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "node registration timed out",
            ))))
        });
        match attempt_result {
            Ok(registered) => return Ok(registered),
            Err(error) if attempt < REGISTER_ATTEMPTS && retriable(&error) => {
                tracing::debug!(node = %config.node_name(index), %error, "registration failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(source) => {
                return Err(Error::Register {
                    node: config.node_name(index),
                    source,
                });
            }
        }
    }
}

/// Errors worth another try: throttling, server errors, conflicts and
/// transport failures.
fn retriable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code == 409 || status.code == 429 || status.code >= 500,
        _ => true,
    }
}
