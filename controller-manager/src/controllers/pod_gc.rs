//! Pod garbage collection, as upstream's PodGC: deletes pods bound to
//! nodes that no longer exist, terminating pods that were never scheduled,
//! and the oldest terminated pods beyond `--terminated-pod-gc-threshold`.

use crate::context::{Shared, Stop};
use crate::informer::Informer;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Preconditions};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The controller's name (`--controllers`).
pub const NAME: &str = "podgc";
/// How often pods are checked (upstream's `gcCheckPeriod`).
pub const PERIOD: Duration = Duration::from_secs(20);
/// `--terminated-pod-gc-threshold` default.
pub const TERMINATED_THRESHOLD: usize = 12_500;

/// Why a pod is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Bound to a node that does not exist.
    Orphaned,
    /// Being deleted but never scheduled.
    UnscheduledTerminating,
    /// Finished, beyond the threshold.
    Terminated,
}

fn terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// The pods to collect and why, given the pods, the node names that exist
/// and the threshold.
pub fn plan<'a>(
    pods: &'a [Arc<Pod>],
    nodes: &HashSet<String>,
    threshold: usize,
) -> Vec<(&'a Pod, Reason)> {
    let mut out = Vec::new();
    let mut finished: Vec<&Pod> = Vec::new();
    for pod in pods {
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or("");
        if !node.is_empty() && !nodes.contains(node) {
            out.push((pod.as_ref(), Reason::Orphaned));
        } else if node.is_empty() && pod.metadata.deletion_timestamp.is_some() {
            out.push((pod.as_ref(), Reason::UnscheduledTerminating));
        } else if terminal(pod) && pod.metadata.deletion_timestamp.is_none() {
            finished.push(pod.as_ref());
        }
    }
    if finished.len() > threshold {
        finished.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0)
                .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
        });
        let extra = finished.len() - threshold;
        out.extend(
            finished
                .into_iter()
                .take(extra)
                .map(|p| (p, Reason::Terminated)),
        );
    }
    out
}

/// Runs the collector until `stop`.
pub async fn run(shared: Shared, stop: Stop, nodes: Arc<Informer<Node>>, pods: Arc<Informer<Pod>>) {
    // Caches first (safe with many waiters, unlike Store::wait_until_ready).
    nodes.ready().await;
    pods.ready().await;
    let nodes = nodes.store();
    let pods = pods.store();
    let _ = nodes.wait_until_ready().await;
    let _ = pods.wait_until_ready().await;
    let mut tick = tokio::time::interval(PERIOD);
    let stopped = stop.wait();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = tick.tick() => {}
        }
        let names: HashSet<String> = nodes
            .state()
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        let all = pods.state();
        for (pod, reason) in plan(&all, &names, TERMINATED_THRESHOLD) {
            // The cache may lag: confirm a node is really gone.
            if reason == Reason::Orphaned {
                let node = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default();
                let api: Api<Node> = Api::all(shared.client.clone());
                if !matches!(api.get_opt(&node).await, Ok(None)) {
                    continue;
                }
            }
            let namespace = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            tracing::info!(pod = %format!("{namespace}/{name}"), ?reason, "garbage-collecting pod");
            let api: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: pod.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            if let Err(error) = api.delete(&name, &params).await {
                tracing::debug!(%error, pod = %name, "pod GC delete failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: Option<&str>, phase: &str, created: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "creationTimestamp": created},
                "spec": {"nodeName": node, "containers": []},
                "status": {"phase": phase}
            }))
            .expect("pod"),
        )
    }

    #[test]
    fn orphans_and_the_oldest_finished_pods_go() {
        let pods = vec![
            pod("orphan", Some("gone"), "Running", "2026-01-01T00:00:00Z"),
            pod("ok", Some("n1"), "Running", "2026-01-01T00:00:00Z"),
            pod("old", Some("n1"), "Succeeded", "2026-01-01T00:00:00Z"),
            pod("new", Some("n1"), "Failed", "2026-01-02T00:00:00Z"),
        ];
        let nodes: HashSet<String> = ["n1".to_owned()].into();
        let plan = plan(&pods, &nodes, 1);
        let names: Vec<(&str, Reason)> = plan
            .iter()
            .map(|(p, r)| (p.metadata.name.as_deref().unwrap_or(""), *r))
            .collect();
        assert_eq!(
            names,
            [("orphan", Reason::Orphaned), ("old", Reason::Terminated)]
        );
    }
}
