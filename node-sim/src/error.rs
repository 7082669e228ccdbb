//! The simulator's error type.

/// Everything that can stop the simulator from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag value makes no sense (e.g. zero nodes, a bad label).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The kubeconfig could not be read or parsed.
    #[error("reading kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// No kubeconfig was given and none could be inferred.
    #[error("inferring a kubeconfig: {0}")]
    InferConfig(#[from] kube::config::InferConfigError),
    /// The API client could not be built.
    #[error("building the API client: {0}")]
    Client(#[source] kube::Error),
    /// Registering a node failed (after retries).
    #[error("registering node {node}: {source}")]
    Register {
        /// The node's name.
        node: String,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// A background task failed or panicked.
    #[error("simulator task failed: {0}")]
    Task(String),
}
