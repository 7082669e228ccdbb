//! `bosun status`: a cluster's components, processes and health.

use crate::cluster::{COMPONENTS, Cluster, ComponentKind};
use crate::error::{Error, Result};
use crate::health::{self, NodeCount};
use crate::opts::StatusOpts;
use crate::paths::{self, Layout};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// One component's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentStatus {
    /// Which component.
    pub kind: ComponentKind,
    /// Its recorded PID, if it was started.
    pub pid: Option<u32>,
    /// Whether that PID still runs the component.
    pub running: bool,
    /// Whether `up` skipped it because its binary is not installed.
    pub skipped: bool,
    /// Its log file, if it was started.
    pub log: Option<PathBuf>,
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The cluster name.
    pub name: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// The apiserver URL.
    pub endpoint: Option<String>,
    /// The kubeconfig holding the context, while the cluster is up.
    pub kubeconfig: Option<PathBuf>,
    /// The context name.
    pub context: String,
    /// Every known component, in start order.
    pub components: Vec<ComponentStatus>,
    /// `Ok` when `/readyz` answered ok, else why not.
    pub health: Result<(), String>,
    /// The nodes, when they could be listed.
    pub nodes: Option<NodeCount>,
    /// The number of nodes asked for.
    pub nodes_wanted: u32,
}

impl Status {
    /// Whether every started component runs and the apiserver is ready.
    pub fn is_healthy(&self) -> bool {
        self.health.is_ok() && self.components.iter().all(|c| c.running || c.pid.is_none())
    }
}

/// Reports on the cluster recorded in the data directory: each component's
/// PID and whether it still runs, the apiserver's `/readyz`, the nodes, the
/// endpoint, kubeconfig and data directory.
pub async fn status(opts: &StatusOpts) -> Result<Status> {
    let name = &opts.cluster.name;
    paths::validate_name(name)?;
    let data_dir = paths::data_dir(name, opts.cluster.data_dir.as_deref())?;
    let Some(record) = Cluster::load(&data_dir)? else {
        return Err(Error::NotFound {
            name: name.clone(),
            record: Layout::new(&data_dir).record(),
        });
    };
    let components: Vec<ComponentStatus> = COMPONENTS
        .iter()
        .map(|&kind| match record.component(kind) {
            Some(c) => ComponentStatus {
                kind,
                pid: Some(c.pid),
                running: c.is_running(),
                skipped: false,
                log: Some(c.log.clone()),
            },
            None => ComponentStatus {
                kind,
                pid: None,
                running: false,
                skipped: record.skipped.contains(&kind),
                log: None,
            },
        })
        .collect();
    let apiserver_running = components
        .iter()
        .any(|c| c.kind == ComponentKind::Apiserver && c.running);
    let (health, nodes) = if apiserver_running && !record.admin_kubeconfig.exists() {
        (
            Err("apiserver not serving yet (no admin kubeconfig)".to_owned()),
            None,
        )
    } else if apiserver_running {
        match health::client_from_file(&record.admin_kubeconfig, REQUEST_TIMEOUT).await {
            Ok(client) => {
                let health = health::readyz(&client).await;
                let nodes = health::nodes(&client).await.ok();
                (health, nodes)
            }
            Err(err) => (Err(err.to_string()), None),
        }
    } else {
        (Err("apiserver not running".to_owned()), None)
    };
    Ok(Status {
        name: record.name.clone(),
        data_dir: record.data_dir.clone(),
        endpoint: record.endpoint.clone(),
        kubeconfig: record.kubeconfig.clone(),
        context: record.context.clone(),
        components,
        health,
        nodes,
        nodes_wanted: record.options.nodes,
    })
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.is_healthy() {
            "running"
        } else if self.components.iter().any(|c| c.running) {
            "degraded"
        } else {
            "stopped"
        };
        writeln!(f, "Cluster:    {} ({state})", self.name)?;
        writeln!(f, "Endpoint:   {}", self.endpoint.as_deref().unwrap_or("-"))?;
        match &self.health {
            Ok(()) => writeln!(f, "Health:     ok (readyz)")?,
            Err(why) => writeln!(f, "Health:     not ready: {why}")?,
        }
        if let Some(nodes) = self.nodes {
            writeln!(f, "Nodes:      {}/{} Ready", nodes.ready, nodes.total)?;
        }
        match &self.kubeconfig {
            Some(path) => writeln!(
                f,
                "Kubeconfig: {} (context {})",
                path.display(),
                self.context
            )?,
            None => writeln!(f, "Kubeconfig: - (no context {} written)", self.context)?,
        }
        writeln!(f, "Data dir:   {}", self.data_dir.display())?;
        writeln!(f)?;
        writeln!(f, "{:<20} {:>8}  {:<14} LOG", "COMPONENT", "PID", "STATE")?;
        for c in &self.components {
            let pid = c.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
            let state = if c.running {
                "running"
            } else if c.pid.is_some() {
                "not running"
            } else if c.skipped {
                "not installed"
            } else {
                "not started"
            };
            let log = c
                .log
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| p.display().to_string());
            writeln!(f, "{:<20} {pid:>8}  {state:<14} {log}", c.kind.name())?;
        }
        Ok(())
    }
}
