//! The CLI's error type.

use std::path::PathBuf;

/// What can go wrong starting, inspecting or stopping a cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `up` for a name whose recorded processes are still running.
    #[error(
        "cluster {name:?} is already running (data dir {}); stop it with `bosun down {selector}`",
        data_dir.display()
    )]
    AlreadyRunning {
        /// The cluster name.
        name: String,
        /// Its data directory.
        data_dir: PathBuf,
        /// The `--name`/`--data-dir` flags that select it.
        selector: String,
    },
    /// `down`/`status` for a cluster that has no record.
    #[error("no cluster {name:?}: {} does not exist", record.display())]
    NotFound {
        /// The cluster name.
        name: String,
        /// The record that was looked for.
        record: PathBuf,
    },
    /// A cluster name that cannot be used in paths and context names.
    #[error(
        "invalid cluster name {0:?}: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"
    )]
    InvalidName(String),
    /// A required binary is neither beside `bosun` nor on PATH.
    #[error("{binary} not found (looked in {searched}); build it with `cargo build --release`")]
    BinaryNotFound {
        /// The binary's file name.
        binary: String,
        /// Where it was looked for.
        searched: String,
    },
    /// A component exited or did not become ready in time.
    #[error("{component} failed to start: {reason}\n--- last lines of {} ---\n{tail}", log.display())]
    ComponentFailed {
        /// The component's name.
        component: String,
        /// Why it is considered failed.
        reason: String,
        /// Its log file.
        log: PathBuf,
        /// The end of that log from this start on.
        tail: String,
    },
    /// `bosun node` for a node the cluster's simulator does not run.
    #[error("{0}")]
    Node(String),
    /// A file-system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Starting a component's process failed.
    #[error("starting {}: {source}", binary.display())]
    Spawn {
        /// The binary that could not be run.
        binary: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Signalling a component's process failed.
    #[error("stopping {component} (pid {pid}): {reason}")]
    Stop {
        /// The component's name.
        component: String,
        /// Its process id.
        pid: u32,
        /// What went wrong.
        reason: String,
    },
    /// `cluster.json` could not be parsed or written.
    #[error("{}: invalid cluster record: {source}", path.display())]
    Record {
        /// The record's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A kubeconfig could not be parsed, rendered or used.
    #[error("{}: {message}", path.display())]
    Kubeconfig {
        /// The kubeconfig's path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Neither `HOME` nor the relevant XDG variable is set.
    #[error("cannot find the home directory: set HOME, or pass --data-dir and --kubeconfig")]
    NoHome,
    /// `up` was interrupted (Ctrl-C); what it had started was stopped.
    #[error("interrupted; stopped the components started so far")]
    Interrupted,
}

/// The CLI's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
