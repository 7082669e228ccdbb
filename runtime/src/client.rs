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
    /// The request counter could not be registered.
    #[error("registering client metrics: {0}")]
    Metrics(String),
}

/// A client for the cluster in `kubeconfig` (its current context), or for
/// the inferred configuration (`$KUBECONFIG`, `~/.kube/config`, in-cluster)
/// when `None`.
pub async fn client_from_kubeconfig(
    kubeconfig: Option<&Path>,
) -> Result<kube::Client, ClientError> {
    Ok(kube::Client::try_from(config(kubeconfig).await?)?)
}

/// Like [`client_from_kubeconfig`], for `component` (its `User-Agent`, as
/// [`bosun_types::version::user_agent`] builds it, names the writer in
/// managedFields), counting every request it sends in
/// `rest_client_requests_total{method}` (client-go's metric) of `registry`.
pub async fn counting_client(
    kubeconfig: Option<&Path>,
    registry: &prometheus::Registry,
    component: &str,
) -> Result<kube::Client, ClientError> {
    let requests = prometheus::IntCounterVec::new(
        prometheus::Opts::new(
            "rest_client_requests_total",
            "Number of HTTP requests, partitioned by method.",
        ),
        &["method"],
    )
    .map_err(|e| ClientError::Metrics(e.to_string()))?;
    registry
        .register(Box::new(requests.clone()))
        .map_err(|e| ClientError::Metrics(e.to_string()))?;
    let count =
        tower::util::MapRequestLayer::new(move |request: http::Request<kube::client::Body>| {
            requests
                .with_label_values(&[request.method().as_str()])
                .inc();
            request
        });
    let mut config = config(kubeconfig).await?;
    with_user_agent(&mut config, component);
    let builder = kube::client::ClientBuilder::try_from(config)?;
    Ok(builder.with_layer(&count).build())
}

/// Makes every request of `config` carry `component`'s `User-Agent`.
pub fn with_user_agent(config: &mut kube::Config, component: &str) {
    if let Ok(value) = http::HeaderValue::from_str(&bosun_types::version::user_agent(component)) {
        config.headers.push((http::header::USER_AGENT, value));
    }
}

async fn config(kubeconfig: Option<&Path>) -> Result<kube::Config, ClientError> {
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
    Ok(config)
}
