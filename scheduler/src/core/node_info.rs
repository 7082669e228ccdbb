//! A node plus the pods placed on it, with the aggregates filters and scores
//! read: requested resources, non-zero requests, used host ports, and counts of
//! pods carrying affinity terms.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use super::pod_info::{HostPort, PodInfo, node_labels};
use super::resources::Resource;

/// CPU and memory requests with the scoring defaults applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NonZeroRequested {
    /// Milli-CPU.
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
}

/// Node-level aggregated information.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    node: Arc<Node>,
    /// `spec.unschedulable`, kept here so filters scanning many nodes do
    /// not read the node object (a cache miss per node) for it.
    unschedulable: bool,
    /// Whether the node has any taint (same reason).
    tainted: bool,
    allocatable: Resource,
    problem: Option<String>,
    pods: Vec<Arc<PodInfo>>,
    requested: Resource,
    non_zero_requested: NonZeroRequested,
    used_ports: Vec<(HostPort, u32)>,
    pods_with_affinity: usize,
    pods_with_required_anti_affinity: usize,
    generation: u64,
}

impl NodeInfo {
    /// Wraps a node with no pods. Allocatable is parsed here, once.
    pub fn new(node: Arc<Node>) -> Self {
        let mut info = NodeInfo {
            node: Arc::clone(&node),
            unschedulable: false,
            tainted: false,
            allocatable: Resource::default(),
            problem: None,
            pods: Vec::new(),
            requested: Resource::default(),
            non_zero_requested: NonZeroRequested::default(),
            used_ports: Vec::new(),
            pods_with_affinity: 0,
            pods_with_required_anti_affinity: 0,
            generation: 0,
        };
        info.set_node(node);
        info
    }

    /// Replaces the node object (labels, taints, allocatable...), keeping pods.
    pub fn set_node(&mut self, node: Arc<Node>) {
        let empty = BTreeMap::new();
        let list = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .unwrap_or(&empty);
        match Resource::from_resource_list(list) {
            Ok(r) => {
                self.allocatable = r;
                self.problem = None;
            }
            Err(e) => {
                self.allocatable = Resource::default();
                self.problem = Some(format!("status.allocatable: {e}"));
            }
        }
        let spec = node.spec.as_ref();
        self.unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
        self.tainted = spec
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|t| !t.is_empty());
        self.node = node;
        self.generation += 1;
    }

    /// The node object.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The shared node object.
    pub fn node_arc(&self) -> &Arc<Node> {
        &self.node
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }

    /// The node's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        node_labels(&self.node)
    }

    /// The node's taints.
    pub fn taints(&self) -> &[Taint] {
        if !self.tainted {
            return &[];
        }
        self.node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_deref())
            .unwrap_or(&[])
    }

    /// Whether `spec.unschedulable` is set.
    pub fn unschedulable(&self) -> bool {
        self.unschedulable
    }

    /// Why the node object itself is unusable (unparseable allocatable), if it is.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Parsed `status.allocatable`.
    pub fn allocatable(&self) -> &Resource {
        &self.allocatable
    }

    /// Sum of the requests of all pods on the node.
    pub fn requested(&self) -> &Resource {
        &self.requested
    }

    /// Sum of the non-zero CPU/memory requests of all pods on the node.
    pub fn non_zero_requested(&self) -> NonZeroRequested {
        self.non_zero_requested
    }

    /// Pods on the node (bound or assumed).
    pub fn pods(&self) -> &[Arc<PodInfo>] {
        &self.pods
    }

    /// Host ports in use, with the number of pods using each.
    pub fn used_ports(&self) -> &[(HostPort, u32)] {
        &self.used_ports
    }

    /// Whether binding `port` would conflict with a port in use.
    pub fn port_conflicts(&self, port: &HostPort) -> bool {
        self.used_ports
            .iter()
            .any(|(used, _)| port.conflicts_with(used))
    }

    /// Number of pods with `podAffinity` or `podAntiAffinity`.
    pub fn pods_with_affinity(&self) -> usize {
        self.pods_with_affinity
    }

    /// Number of pods with required pod anti-affinity.
    pub fn pods_with_required_anti_affinity(&self) -> usize {
        self.pods_with_required_anti_affinity
    }

    /// Bumped on every change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Parses and adds a pod (its `spec.nodeName` is not checked).
    pub fn add_pod(&mut self, pod: &Pod) -> Arc<PodInfo> {
        let info = Arc::new(PodInfo::new(Arc::new(pod.clone())));
        self.add_pod_info(Arc::clone(&info));
        info
    }

    /// Adds an already parsed pod.
    pub fn add_pod_info(&mut self, info: Arc<PodInfo>) {
        self.update(&info, 1);
        self.pods.push(info);
    }

    /// Removes the pod with cache key `key` (its UID), returning it.
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let pos = self.pods.iter().position(|p| p.facts.key == key)?;
        let info = self.pods.swap_remove(pos);
        self.update(&info, -1);
        Some(info)
    }

    fn update(&mut self, info: &PodInfo, sign: i64) {
        let f = &info.facts;
        self.requested.accumulate(&f.resources.requested, sign);
        let nz = &mut self.non_zero_requested;
        nz.milli_cpu = nz
            .milli_cpu
            .saturating_add(sign * f.resources.non_zero_milli_cpu);
        nz.memory = nz.memory.saturating_add(sign * f.resources.non_zero_memory);
        let delta = |n: &mut usize| {
            *n = if sign > 0 {
                *n + 1
            } else {
                n.saturating_sub(1)
            };
        };
        if f.has_affinity {
            delta(&mut self.pods_with_affinity);
        }
        if f.has_required_anti_affinity() {
            delta(&mut self.pods_with_required_anti_affinity);
        }
        for port in &f.host_ports {
            match self.used_ports.iter().position(|(p, _)| p == port) {
                Some(i) if sign > 0 => self.used_ports[i].1 += 1,
                Some(i) => {
                    self.used_ports[i].1 -= 1;
                    if self.used_ports[i].1 == 0 {
                        self.used_ports.swap_remove(i);
                    }
                }
                None if sign > 0 => self.used_ports.push((port.clone(), 1)),
                None => {}
            }
        }
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{node, pod};
    use super::*;
    use serde_json::json;

    #[test]
    fn add_and_remove_keep_aggregates_consistent() {
        let mut ni = NodeInfo::new(Arc::new(node("n1", "4", "8Gi", 110)));
        assert_eq!(ni.allocatable().milli_cpu, 4000);
        assert_eq!(ni.allocatable().allowed_pod_number, 110);
        let p1 = pod(
            json!({"metadata": {"name": "a", "uid": "a"}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"cpu": "1", "example.com/gpu": "1"}},
             "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}),
        );
        let p2 = pod(
            json!({"metadata": {"name": "b", "uid": "b"}, "spec": {"containers": [
            {"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}),
        );
        ni.add_pod(&p1);
        ni.add_pod(&p2);
        assert_eq!(ni.requested().milli_cpu, 1000);
        assert_eq!(ni.non_zero_requested().milli_cpu, 1100);
        assert_eq!(ni.requested().scalar("example.com/gpu"), 1);
        assert_eq!(ni.used_ports(), &[(HostPort::new(None, None, 8080), 2)]);
        assert!(ni.remove_pod("a").is_some());
        assert_eq!(ni.requested().milli_cpu, 0);
        assert!(ni.requested().scalar.is_empty());
        // Still used by b.
        assert!(ni.port_conflicts(&HostPort::new(None, None, 8080)));
        assert!(ni.remove_pod("b").is_some());
        assert!(!ni.port_conflicts(&HostPort::new(None, None, 8080)));
        assert!(ni.remove_pod("b").is_none());
        assert_eq!(ni.non_zero_requested(), NonZeroRequested::default());
    }

    #[test]
    fn bad_allocatable_is_a_problem_not_a_panic() {
        let n: Node = serde_json::from_value(json!({"metadata": {"name": "n"},
            "status": {"allocatable": {"cpu": "four"}}}))
        .expect("node");
        let ni = NodeInfo::new(Arc::new(n));
        assert!(ni.problem().is_some_and(|p| p.contains("cpu")));
    }
}
