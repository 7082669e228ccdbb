//! Readiness checks against a running cluster, over HTTPS with the
//! credentials and CA of the admin kubeconfig.

use crate::error::{Error, Result};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::Path;
use std::time::Duration;

/// A client for the cluster described by `kubeconfig` (its current
/// context), whose requests give up after `timeout`.
pub async fn client(
    kubeconfig: &Kubeconfig,
    path: &Path,
    timeout: Duration,
) -> Result<kube::Client> {
    let invalid = |message: String| Error::Kubeconfig {
        path: path.to_owned(),
        message,
    };
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &KubeConfigOptions::default())
            .await
            .map_err(|e| invalid(e.to_string()))?;
    config.connect_timeout = Some(timeout);
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    kube::Client::try_from(config).map_err(|e| invalid(format!("building a client: {e}")))
}

/// A client from the kubeconfig file at `path`.
pub async fn client_from_file(path: &Path, timeout: Duration) -> Result<kube::Client> {
    let config = crate::kubeconfig::read(path)?;
    client(&config, path, timeout).await
}

/// Asks `/readyz`; `Ok(())` when it answers `ok`, else what went wrong.
pub async fn readyz(client: &kube::Client) -> Result<(), String> {
    let request = http::Request::get("/readyz")
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    match client.request_text(request).await {
        Ok(body) if body.trim() == "ok" => Ok(()),
        Ok(body) => Err(format!("readyz: {}", body.trim())),
        Err(err) => Err(err.to_string()),
    }
}

/// How many nodes exist and how many of them are Ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeCount {
    /// Nodes whose `Ready` condition is `True`.
    pub ready: usize,
    /// All nodes.
    pub total: usize,
}

/// Whether `node`'s `Ready` condition is `True`.
pub fn node_is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// Counts the cluster's nodes and the Ready ones.
pub async fn nodes(client: &kube::Client) -> Result<NodeCount, String> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok(NodeCount {
        ready: nodes.items.iter().filter(|n| node_is_ready(n)).count(),
        total: nodes.items.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};

    fn node(conditions: &[(&str, &str)]) -> Node {
        Node {
            status: Some(NodeStatus {
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(t, s)| NodeCondition {
                            type_: (*t).to_owned(),
                            status: (*s).to_owned(),
                            ..NodeCondition::default()
                        })
                        .collect(),
                ),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    #[test]
    fn ready_condition() {
        assert!(node_is_ready(&node(&[
            ("MemoryPressure", "False"),
            ("Ready", "True")
        ])));
        assert!(!node_is_ready(&node(&[("Ready", "Unknown")])));
        assert!(!node_is_ready(&node(&[])));
        assert!(!node_is_ready(&Node::default()));
    }
}
