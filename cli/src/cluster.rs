//! The cluster record, `DATA_DIR/cluster.json`: what `up` started, so that
//! `down` and `status` (in another process, later) can find it.

use crate::error::{Error, Result};
use crate::opts::UpOpts;
use crate::paths::Layout;
use crate::process;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The record format version.
pub const RECORD_VERSION: u32 = 1;

/// The components `up` knows, in start order.
pub const COMPONENTS: [ComponentKind; 4] = [
    ComponentKind::Apiserver,
    ComponentKind::ControllerManager,
    ComponentKind::Scheduler,
    ComponentKind::NodeSim,
];

/// A cluster component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// `bosun-apiserver`; required.
    Apiserver,
    /// `bosun-controller-manager`; started when installed.
    ControllerManager,
    /// `bosun-scheduler`; started when installed.
    Scheduler,
    /// `bosun-node-sim`; started when installed and `--nodes` > 0.
    NodeSim,
}

impl ComponentKind {
    /// The short name, used for log files and in output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Apiserver => "apiserver",
            Self::ControllerManager => "controller-manager",
            Self::Scheduler => "scheduler",
            Self::NodeSim => "node-sim",
        }
    }

    /// The binary's file name.
    pub fn binary(self) -> &'static str {
        match self {
            Self::Apiserver => "bosun-apiserver",
            Self::ControllerManager => "bosun-controller-manager",
            Self::Scheduler => "bosun-scheduler",
            Self::NodeSim => "bosun-node-sim",
        }
    }
}

/// One started component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRecord {
    /// Which component.
    pub kind: ComponentKind,
    /// The binary that was run (absolute); `down` only signals a PID that
    /// still runs this binary with these arguments.
    pub binary: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its process id.
    pub pid: u32,
    /// Its log file (stdout and stderr).
    pub log: PathBuf,
}

impl ComponentRecord {
    /// Whether the recorded process is still running this binary.
    pub fn is_running(&self) -> bool {
        process::is_running(self.pid, &self.binary, &self.args)
    }
}

/// A cluster started by [`up`](crate::up), as recorded in `cluster.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// The record format version.
    pub version: u32,
    /// The cluster name.
    pub name: String,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The kubeconfig context (and cluster and user) name, `bosun-<name>`.
    pub context: String,
    /// The apiserver URL, once it is known.
    pub endpoint: Option<String>,
    /// The apiserver's port, once it is known.
    pub port: Option<u16>,
    /// The admin kubeconfig the apiserver wrote (context `bosun`), which the
    /// other components use.
    pub admin_kubeconfig: PathBuf,
    /// The kubeconfig the context was written into, once it was.
    pub kubeconfig: Option<PathBuf>,
    /// The options `up` was given.
    pub options: UpOpts,
    /// The components started, in start order.
    pub components: Vec<ComponentRecord>,
    /// Components not started because their binary is not installed.
    pub skipped: Vec<ComponentKind>,
    /// When `up` started, in seconds since the Unix epoch.
    pub started_at: u64,
}

impl Cluster {
    /// A fresh record for `options` in `data_dir`.
    pub(crate) fn new(options: &UpOpts, data_dir: &Path) -> Self {
        let layout = Layout::new(data_dir);
        let started_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            version: RECORD_VERSION,
            name: options.cluster.name.clone(),
            data_dir: data_dir.to_owned(),
            context: crate::kubeconfig::context_name(&options.cluster.name),
            endpoint: None,
            port: None,
            admin_kubeconfig: layout.admin_kubeconfig(),
            kubeconfig: None,
            options: options.clone(),
            components: Vec::new(),
            skipped: Vec::new(),
            started_at,
        }
    }

    /// The data directory's layout.
    pub fn layout(&self) -> Layout {
        Layout::new(&self.data_dir)
    }

    /// Reads the record in `data_dir`, if there is one.
    pub fn load(data_dir: &Path) -> Result<Option<Self>> {
        let path = Layout::new(data_dir).record();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| Error::Record { path, source })
    }

    /// Writes the record (atomically: a reader never sees half of it).
    pub fn save(&self) -> Result<()> {
        let path = self.layout().record();
        let text = serde_json::to_string_pretty(self).map_err(|source| Error::Record {
            path: path.clone(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(Error::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(Error::io(&path))
    }

    /// The record of component `kind`, if it was started.
    pub fn component(&self, kind: ComponentKind) -> Option<&ComponentRecord> {
        self.components.iter().find(|c| c.kind == kind)
    }

    /// Whether any recorded component is still running.
    pub fn any_running(&self) -> bool {
        self.components.iter().any(ComponentRecord::is_running)
    }

    /// Kills every recorded component that is still running, at once
    /// (SIGKILL to its process group), without waiting for a graceful stop:
    /// for drop guards in tests and harnesses.
    pub fn kill_now(&self) {
        for component in &self.components {
            process::kill_now(component.pid, &component.binary, &component.args);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(Cluster::load(dir.path()).expect("load"), None);
        let mut cluster = Cluster::new(&UpOpts::default(), dir.path());
        cluster.components.push(ComponentRecord {
            kind: ComponentKind::Apiserver,
            binary: "/bin/true".into(),
            args: vec!["--x".into()],
            pid: u32::MAX,
            log: dir.path().join("logs/apiserver.log"),
        });
        cluster.skipped.push(ComponentKind::NodeSim);
        cluster.save().expect("save");
        let text = std::fs::read_to_string(dir.path().join("cluster.json")).expect("read");
        assert!(text.contains("\"node-sim\""), "{text}");
        assert!(text.contains("\"nodes\": 3"), "{text}");
        assert_eq!(
            Cluster::load(dir.path()).expect("load"),
            Some(cluster.clone())
        );
        assert!(!cluster.any_running());
    }
}
