//! Nominated pods: preemptors waiting for their victims to leave, by node
//! (upstream's nominator in the scheduling queue).
//!
//! A nominated pod is not placed on its node, but when a pod of lower or
//! equal priority is filtered on that node the nominated pods are counted
//! there (see `CycleState::filter_with_nominated` in
//! [`framework`](super::framework)), so the room a preemption freed is not
//! taken by a pod that could not have preempted for it.
//!
//! Nominations come from this scheduler's preemptions
//! ([`nominate`](Nominator::nominate)) and from the `status.nominatedNodeName`
//! of the pending pods the watch shows ([`observe`](Nominator::observe)).
//! They end when the pod is placed (assumed or bound), deleted, or its
//! nomination is cleared or moves to another node. The [`Snapshot`] owns
//! one `Nominator` and keeps placed pods out of it.
//!
//! [`Snapshot`]: super::snapshot::Snapshot

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::node_info::NodeInfo;
use super::pod_info::{PodFacts, PodInfo, pod_key};
use super::snapshot::Snapshot;

/// The pod's `status.nominatedNodeName`, when set and not empty.
pub fn status_nominated_node(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.nominated_node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// One pod's nomination.
#[derive(Clone, Debug)]
struct Nomination {
    node: String,
    priority: i32,
    /// Whether the last object seen of the pod carried a
    /// `status.nominatedNodeName`: a later object without one then means
    /// the nomination was cleared. Without one, the nomination was made in
    /// memory and the status write is not visible yet; it is kept.
    in_status: bool,
}

/// Nominated pods by node name, and each pod's nomination by pod key (UID).
#[derive(Clone, Debug, Default)]
pub struct Nominator {
    by_node: HashMap<String, Vec<Arc<PodInfo>>>,
    by_pod: HashMap<String, Nomination>,
}

impl Nominator {
    /// An empty nominator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no pod is nominated.
    pub fn is_empty(&self) -> bool {
        self.by_pod.is_empty()
    }

    /// Number of nominated pods.
    pub fn len(&self) -> usize {
        self.by_pod.len()
    }

    /// The node the pod with key `key` is nominated to.
    pub fn node_of(&self, key: &str) -> Option<&str> {
        self.by_pod.get(key).map(|n| n.node.as_str())
    }

    /// The pods nominated to `node`, in nomination order.
    pub fn pods_on(&self, node: &str) -> &[Arc<PodInfo>] {
        self.by_node.get(node).map_or(&[], Vec::as_slice)
    }

    /// Every node with nominated pods, with those pods.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Arc<PodInfo>])> {
        self.by_node
            .iter()
            .map(|(node, pods)| (node.as_str(), pods.as_slice()))
    }

    /// Nominates the pod of `info` to `node`, replacing its earlier
    /// nomination. `in_status` tells whether the pod object already carries
    /// a `status.nominatedNodeName`. Returns the pod's priority when it was
    /// nominated to another node before (that node has room again).
    pub fn nominate(&mut self, info: Arc<PodInfo>, node: &str, in_status: bool) -> Option<i32> {
        let moved = self
            .remove(&info.facts.key)
            .filter(|(old, _)| old != node)
            .map(|(_, priority)| priority);
        self.by_pod.insert(
            info.facts.key.clone(),
            Nomination {
                node: node.to_owned(),
                priority: info.facts.priority,
                in_status,
            },
        );
        self.by_node.entry(node.to_owned()).or_default().push(info);
        moved
    }

    /// Drops the nomination of the pod with key `key`; returns the node it
    /// was nominated to and the pod's priority.
    pub fn remove(&mut self, key: &str) -> Option<(String, i32)> {
        let nomination = self.by_pod.remove(key)?;
        if let Some(pods) = self.by_node.get_mut(&nomination.node) {
            pods.retain(|p| p.facts.key != key);
            if pods.is_empty() {
                self.by_node.remove(&nomination.node);
            }
        }
        Some((nomination.node, nomination.priority))
    }

    /// Takes in a new object of an unplaced pod from the watch, as
    /// upstream's nominator does on a pod add or update: a
    /// `status.nominatedNodeName` (re)nominates the pod there; an object
    /// without one ends a nomination the previous object carried, but
    /// keeps one made in memory whose status write is not visible yet.
    /// Returns the pod's priority when a nomination ended or moved to
    /// another node (pods of lower or equal priority may fit there now).
    pub fn observe(&mut self, pod: Arc<Pod>) -> Option<i32> {
        let status = status_nominated_node(&pod).map(str::to_owned);
        if status.is_none() && self.is_empty() {
            return None;
        }
        let key = pod_key(&pod);
        match (status, self.by_pod.get(&key)) {
            (Some(node), _) => self.nominate(Arc::new(PodInfo::new(pod)), &node, true),
            (None, None) => None,
            (None, Some(n)) if n.in_status => self.remove(&key).map(|(_, priority)| priority),
            (None, Some(n)) => {
                // Keep the in-memory nomination, with the newer object.
                let node = n.node.clone();
                self.nominate(Arc::new(PodInfo::new(pod)), &node, false)
            }
        }
    }

    /// Drops the nominations of pods whose key is not in `present`.
    pub fn retain(&mut self, present: &HashSet<String>) {
        let gone: Vec<String> = self
            .by_pod
            .keys()
            .filter(|k| !present.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.remove(&key);
        }
    }
}

/// The nominated pods one pod must leave room for: those of equal or higher
/// priority, other than the pod itself (upstream's `addGENominatedPods`),
/// indexed by node storage index so that filtering a node costs a bit test.
#[derive(Debug)]
pub(crate) struct CountedNominations<'a> {
    /// One bit per node storage index: whether the node has any.
    nodes: Vec<u64>,
    /// The pods with their node's storage index, sorted by it.
    pods: Vec<(usize, &'a Arc<PodInfo>)>,
}

impl<'a> CountedNominations<'a> {
    /// The nominated pods of `snapshot` the pod with `facts` must leave
    /// room for; `None` when there are none (filtering then does no extra
    /// work). Pods nominated to unknown nodes are ignored.
    pub(crate) fn new(snapshot: &'a Snapshot, facts: &PodFacts) -> Option<Self> {
        let nominator = snapshot.nominator();
        if nominator.is_empty() {
            return None;
        }
        let mut pods: Vec<(usize, &Arc<PodInfo>)> = Vec::new();
        for (node, nominated) in nominator.iter() {
            let counted = nominated
                .iter()
                .filter(|p| p.facts.priority >= facts.priority && p.facts.key != facts.key);
            let mut counted = counted.peekable();
            if counted.peek().is_none() {
                continue;
            }
            if let Some(index) = snapshot.node_index(node) {
                pods.extend(counted.map(|p| (index, p)));
            }
        }
        if pods.is_empty() {
            return None;
        }
        pods.sort_by_key(|(index, _)| *index);
        let mut nodes = vec![0u64; snapshot.num_nodes().div_ceil(64)];
        for (index, _) in &pods {
            nodes[index / 64] |= 1 << (index % 64);
        }
        Some(CountedNominations { nodes, pods })
    }

    /// The counted pods nominated to `node` (one of `snapshot`'s nodes, or
    /// a copy of one).
    pub(crate) fn on(
        &self,
        snapshot: &Snapshot,
        node: &NodeInfo,
    ) -> impl Iterator<Item = &'a Arc<PodInfo>> + '_ {
        let index = snapshot
            .position_of(node)
            .or_else(|| snapshot.node_index(node.name()))
            .filter(|i| {
                self.nodes
                    .get(i / 64)
                    .is_some_and(|w| w & (1 << (i % 64)) != 0)
            });
        let range = match index {
            Some(i) => {
                let start = self.pods.partition_point(|(n, _)| *n < i);
                let end = self.pods.partition_point(|(n, _)| *n <= i);
                start..end
            }
            None => 0..0,
        };
        self.pods[range].iter().map(|(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::pod;
    use super::*;
    use serde_json::json;

    fn pending(name: &str, priority: i32, nominated: Option<&str>) -> Arc<Pod> {
        Arc::new(pod(json!({
            "metadata": {"name": name, "uid": name},
            "spec": {"priority": priority, "containers": []},
            "status": {"nominatedNodeName": nominated}
        })))
    }

    fn names(n: &Nominator, node: &str) -> Vec<String> {
        n.pods_on(node)
            .iter()
            .map(|p| p.facts.key.clone())
            .collect()
    }

    #[test]
    fn nominations_are_tracked_per_node_and_replaced() {
        let mut n = Nominator::new();
        assert!(n.is_empty());
        let a = Arc::new(PodInfo::new(pending("a", 10, None)));
        assert_eq!(n.nominate(Arc::clone(&a), "n1", false), None);
        assert_eq!(
            n.nominate(Arc::new(PodInfo::new(pending("b", 5, None))), "n1", false),
            None
        );
        assert_eq!(names(&n, "n1"), ["a", "b"]);
        assert_eq!(n.node_of("a"), Some("n1"));
        // Renominating elsewhere frees the old node.
        assert_eq!(n.nominate(a, "n2", false), Some(10));
        assert_eq!(names(&n, "n1"), ["b"]);
        assert_eq!(names(&n, "n2"), ["a"]);
        assert_eq!(n.len(), 2);
        assert_eq!(n.remove("b"), Some(("n1".to_owned(), 5)));
        assert!(n.pods_on("n1").is_empty());
        assert_eq!(n.iter().count(), 1);
        n.retain(&HashSet::new());
        assert!(n.is_empty());
    }

    #[test]
    fn watched_objects_nominate_clear_and_keep_in_memory_nominations() {
        let mut n = Nominator::new();
        // No status nomination, nothing known: nothing to do.
        assert_eq!(n.observe(pending("a", 10, None)), None);
        assert!(n.is_empty());
        // A status nomination is taken in.
        assert_eq!(n.observe(pending("a", 10, Some("n1"))), None);
        assert_eq!(n.node_of("a"), Some("n1"));
        // It moves when the status moves.
        assert_eq!(n.observe(pending("a", 10, Some("n2"))), Some(10));
        assert_eq!(n.node_of("a"), Some("n2"));
        // And ends when the status is cleared.
        assert_eq!(n.observe(pending("a", 10, None)), Some(10));
        assert!(n.is_empty());

        // A nomination made in memory survives objects written before it.
        n.nominate(Arc::new(PodInfo::new(pending("b", 7, None))), "n3", false);
        assert_eq!(n.observe(pending("b", 7, None)), None);
        assert_eq!(n.node_of("b"), Some("n3"));
        // Once the status shows it, clearing the status ends it.
        assert_eq!(n.observe(pending("b", 7, Some("n3"))), None);
        assert_eq!(n.observe(pending("b", 7, None)), Some(7));
        assert!(n.is_empty());
    }
}
