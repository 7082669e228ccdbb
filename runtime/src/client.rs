//! Building an API client.

use std::path::Path;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The kubeconfig could not be read or parsed.
    #[error("reading kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// The cause.
        source: kube::config::KubeconfigError,
    },
    /// No kubeconfig was given and none could be inferred.
    #[error("inferring a kubeconfig: {0}")]
    Infer(#[from] kube::config::InferConfigError),
    /// The client could not be built from the configuration.
    #[error("building the API client: {0}")]
    Client(#[from] kube::Error),
}

/// A client for the cluster in `kubeconfig` (its current context), or for
/// the inferred configuration (`$KUBECONFIG`, `~/.kube/config`, in-cluster)
/// when `None`.
pub async fn client_from_kubeconfig(
    kubeconfig: Option<&Path>,
) -> Result<kube::Client, ClientError> {
    let config = match kubeconfig {
        Some(path) => {
            let wrap = |source| ClientError::Kubeconfig {
                path: path.display().to_string(),
                source,
            };
            let file = kube::config::Kubeconfig::read_from(path).map_err(wrap)?;
            kube::Config::from_custom_kubeconfig(file, &Default::default())
                .await
                .map_err(wrap)?
        }
        None => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}
