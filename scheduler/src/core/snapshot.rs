//! The scheduler's in-memory view of the cluster: nodes with their pods, plus
//! the few other facts plugins read (namespace labels, the selectors of
//! services and controllers for default topology spreading, and the
//! [`volumes`](super::volumes) VolumeBinding matches claims against).
//!
//! The runtime keeps one `Snapshot`, mutates it incrementally as informer
//! events arrive and as pods are assumed/forgotten, and lends it immutably to
//! [`schedule`](super::schedule::schedule) and
//! [`preempt`](super::preemption::preempt). Nothing is cloned per cycle.
//!
//! Alongside the nodes it maintains the [`index`](super::index) structures:
//! placed pods grouped by (namespace, labels, terminating) with per-node
//! counts, and per node-label-key columns of node values, so that
//! PodTopologySpread and InterPodAffinity count matching pods per group
//! rather than per pod.
//!
//! It also holds the [`Nominator`]: pods nominated to nodes by preemption,
//! which filtering counts on their node for pods of lower or equal
//! priority. A pod placed on a node is never nominated.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use bosun_types::labels::{Operator, Selector};
use k8s_openapi::api::core::v1::{Node, Pod};

use super::index::{KeyColumn, PodGroup, PodGroups};
use super::node_info::NodeInfo;
use super::nominator::{Nominator, status_nominated_node};
use super::pod_info::{
    NamespaceLabels, PodFacts, PodInfo, node_labels, pod_key, pod_labels, pod_namespace,
};
use super::volumes::Volumes;

/// A node storage index as the indexes store it.
fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Why a snapshot mutation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The pod refers to a node the snapshot does not know.
    #[error("node {0:?} is not in the snapshot")]
    UnknownNode(String),
    /// The pod has no `spec.nodeName` (use `assume_pod` for unbound pods).
    #[error("pod {0:?} is not bound to a node")]
    Unbound(String),
    /// A node object without `metadata.name`.
    #[error("node has no name")]
    UnnamedNode,
}

/// Kinds of controllers whose selectors feed default topology spreading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControllerKind {
    /// `v1` ReplicationController.
    ReplicationController,
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
    /// `apps/v1` StatefulSet.
    StatefulSet,
}

/// Zone label keys (current and deprecated), used to interleave nodes by zone.
const ZONE_LABELS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];
const REGION_LABELS: [&str; 2] = [
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/region",
];

fn zone_key(node: &Node) -> String {
    let labels = node_labels(node);
    let get = |keys: &[&str; 2]| keys.iter().find_map(|k| labels.get(*k)).cloned();
    match (get(&REGION_LABELS), get(&ZONE_LABELS)) {
        (None, None) => String::new(),
        (r, z) => format!("{}:\x00:{}", r.unwrap_or_default(), z.unwrap_or_default()),
    }
}

/// Where a placed pod is, and which [`PodGroup`] counts it.
#[derive(Clone, Debug)]
struct Placement {
    node: String,
    group: u32,
}

/// At most this many node label keys get a cached [`KeyColumn`].
const MAX_CACHED_COLUMNS: usize = 64;

/// Nodes and pods, indexed for scheduling.
#[derive(Debug, Default)]
pub struct Snapshot {
    nodes: Vec<NodeInfo>,
    by_name: HashMap<String, usize>,
    zones: Vec<String>,
    pod_node: HashMap<String, Placement>,
    order: OnceLock<Vec<usize>>,
    namespace_labels: NamespaceLabels,
    services: HashMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    controllers: HashMap<(ControllerKind, String, String), Selector>,
    /// Placed pods grouped by namespace, labels and terminating state, with
    /// per-node counts: counting plugins match a selector once per group.
    groups: PodGroups,
    /// Node label key -> value of every node, built on first use (by
    /// topology spreading) and maintained on node changes afterwards.
    columns: RwLock<HashMap<String, Arc<KeyColumn>>>,
    pods_with_affinity: usize,
    pods_with_required_anti_affinity: usize,
    /// Claims, volumes and classes, for VolumeBinding.
    volumes: Volumes,
    /// Pods nominated to nodes (never placed ones).
    nominator: Nominator,
}

impl Clone for Snapshot {
    fn clone(&self) -> Self {
        Snapshot {
            nodes: self.nodes.clone(),
            by_name: self.by_name.clone(),
            zones: self.zones.clone(),
            pod_node: self.pod_node.clone(),
            order: OnceLock::new(),
            namespace_labels: self.namespace_labels.clone(),
            services: self.services.clone(),
            controllers: self.controllers.clone(),
            groups: self.groups.clone(),
            columns: RwLock::new(
                self.columns
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            ),
            pods_with_affinity: self.pods_with_affinity,
            pods_with_required_anti_affinity: self.pods_with_required_anti_affinity,
            volumes: self.volumes.clone(),
            nominator: self.nominator.clone(),
        }
    }
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Snapshot::default()
    }

    /// Builds a snapshot from nodes and the pods bound to them.
    ///
    /// # Errors
    ///
    /// A node without a name, or a pod bound to an unknown node.
    pub fn from_objects(
        nodes: impl IntoIterator<Item = Node>,
        pods: impl IntoIterator<Item = Pod>,
    ) -> Result<Self, SnapshotError> {
        let mut s = Snapshot::new();
        for n in nodes {
            s.upsert_node(n)?;
        }
        for p in pods {
            s.add_pod(Arc::new(p))?;
        }
        Ok(s)
    }

    /// Adds a node, or replaces the node object of a known node (keeping its pods).
    ///
    /// # Errors
    ///
    /// [`SnapshotError::UnnamedNode`] when `metadata.name` is missing.
    pub fn upsert_node(&mut self, node: Node) -> Result<(), SnapshotError> {
        self.upsert_node_arc(Arc::new(node))
    }

    /// [`upsert_node`](Self::upsert_node) for a shared node object.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::UnnamedNode`] when `metadata.name` is missing.
    pub fn upsert_node_arc(&mut self, node: Arc<Node>) -> Result<(), SnapshotError> {
        let name = node
            .metadata
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or(SnapshotError::UnnamedNode)?;
        let zone = zone_key(&node);
        let columns = self
            .columns
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        match self.by_name.get(&name) {
            Some(&i) => {
                self.nodes[i].set_node(node);
                for col in columns.values_mut() {
                    Arc::make_mut(col).update_node(i, &self.nodes[i]);
                }
                if self.zones[i] != zone {
                    self.zones[i] = zone;
                    self.order = OnceLock::new();
                }
            }
            None => {
                self.by_name.insert(name, self.nodes.len());
                let info = NodeInfo::new(node);
                for col in columns.values_mut() {
                    Arc::make_mut(col).push_node(&info);
                }
                self.nodes.push(info);
                self.zones.push(zone);
                self.order = OnceLock::new();
            }
        }
        Ok(())
    }

    /// Removes a node and forgets the pods on it.
    pub fn remove_node(&mut self, name: &str) -> Option<NodeInfo> {
        let i = self.by_name.remove(name)?;
        let last = self.nodes.len() - 1;
        let removed = self.nodes.swap_remove(i);
        self.zones.swap_remove(i);
        for p in removed.pods() {
            if let Some(placed) = self.pod_node.remove(&p.facts.key) {
                self.unindex_pod(&p.facts, placed.group, i);
            }
        }
        if let Some(moved) = self.nodes.get(i) {
            self.by_name.insert(moved.name().to_owned(), i);
            // The last node now lives at `i`: its groups follow it.
            for p in moved.pods() {
                if let Some(placed) = self.pod_node.get(&p.facts.key) {
                    self.groups
                        .move_node(placed.group, index_u32(last), index_u32(i));
                }
            }
        }
        let columns = self
            .columns
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for col in columns.values_mut() {
            Arc::make_mut(col).swap_remove_node(i);
        }
        self.order = OnceLock::new();
        Some(removed)
    }

    /// Adds a pod bound to `spec.nodeName`. A pod already known under the same
    /// key is replaced.
    ///
    /// # Errors
    ///
    /// The pod is unbound or its node is unknown.
    pub fn add_pod(&mut self, pod: Arc<Pod>) -> Result<Arc<PodInfo>, SnapshotError> {
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| SnapshotError::Unbound(pod_key(&pod)))?;
        self.place(pod, &node)
    }

    /// Places a pod on `node_name` before it is bound (the scheduler's
    /// "assume"). Undo with [`remove_pod`](Self::remove_pod).
    ///
    /// # Errors
    ///
    /// The node is unknown.
    pub fn assume_pod(
        &mut self,
        pod: Arc<Pod>,
        node_name: &str,
    ) -> Result<Arc<PodInfo>, SnapshotError> {
        self.place(pod, node_name)
    }

    /// Adds an already parsed pod to `node_name`.
    ///
    /// # Errors
    ///
    /// The node is unknown.
    pub fn add_pod_info(
        &mut self,
        info: Arc<PodInfo>,
        node_name: &str,
    ) -> Result<(), SnapshotError> {
        let &i = self
            .by_name
            .get(node_name)
            .ok_or_else(|| SnapshotError::UnknownNode(node_name.to_owned()))?;
        self.remove_pod(&info.facts.key);
        if !self.nominator.is_empty() {
            // A placed pod waits for no node (upstream drops the nomination
            // of an assumed pod, and a bound pod leaves the queue).
            self.nominator.remove(&info.facts.key);
        }
        let group = self.groups.add(
            pod_namespace(&info.pod),
            pod_labels(&info.pod),
            info.facts.terminating,
            index_u32(i),
        );
        if info.facts.has_affinity {
            self.pods_with_affinity += 1;
        }
        if info.facts.has_required_anti_affinity() {
            self.pods_with_required_anti_affinity += 1;
        }
        self.pod_node.insert(
            info.facts.key.clone(),
            Placement {
                node: node_name.to_owned(),
                group,
            },
        );
        self.nodes[i].add_pod_info(info);
        Ok(())
    }

    fn unindex_pod(&mut self, facts: &PodFacts, group: u32, node: usize) {
        self.groups.remove(group, index_u32(node));
        if facts.has_affinity {
            self.pods_with_affinity = self.pods_with_affinity.saturating_sub(1);
        }
        if facts.has_required_anti_affinity() {
            self.pods_with_required_anti_affinity =
                self.pods_with_required_anti_affinity.saturating_sub(1);
        }
    }

    /// Storage indices (sorted) of the nodes that may hold pods matching
    /// `selector` (a superset; callers still check each pod), or `None` when
    /// the selector has no equality requirement to look up and every node
    /// must be visited.
    pub fn nodes_for_selector(&self, selector: &Selector) -> Option<Vec<usize>> {
        if selector.matches_nothing() {
            return Some(Vec::new());
        }
        let has_equality = selector.requirements().iter().any(|r| {
            matches!(
                (r.operator(), r.values()),
                (
                    Operator::Equals | Operator::DoubleEquals | Operator::In,
                    [_]
                )
            )
        });
        if !has_equality {
            return None;
        }
        let mut out: Vec<usize> = self
            .groups
            .candidates(selector, None)
            .filter(|g| selector.matches(g.labels()))
            .flat_map(PodGroup::nodes)
            .map(|(n, _)| n)
            .collect();
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    /// Groups of placed pods that may match `selector` (in namespace `ns`
    /// when given). A superset: callers match each group's namespace, labels
    /// and terminating state themselves.
    pub fn pod_groups<'a>(
        &'a self,
        selector: &Selector,
        ns: Option<&str>,
    ) -> impl Iterator<Item = &'a PodGroup> + 'a {
        self.groups.candidates(selector, ns)
    }

    /// Number of placed pods with `podAffinity` or `podAntiAffinity`.
    pub fn pods_with_affinity(&self) -> usize {
        self.pods_with_affinity
    }

    /// Number of placed pods with required pod anti-affinity.
    pub fn pods_with_required_anti_affinity(&self) -> usize {
        self.pods_with_required_anti_affinity
    }

    /// The value of node label `key` on every node, by storage index. Built
    /// on first use and kept up to date by node mutations afterwards.
    pub fn label_column(&self, key: &str) -> Arc<KeyColumn> {
        if let Some(col) = self
            .columns
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Arc::clone(col);
        }
        let col = Arc::new(KeyColumn::build(key, &self.nodes));
        let mut columns = self.columns.write().unwrap_or_else(PoisonError::into_inner);
        if columns.len() >= MAX_CACHED_COLUMNS {
            return col;
        }
        Arc::clone(columns.entry(key.to_owned()).or_insert(col))
    }

    /// The storage index of `node` when it is one of this snapshot's own
    /// [`NodeInfo`]s (as handed out by [`nodes`](Self::nodes)); `None` for
    /// any other `NodeInfo`, such as a clone.
    pub fn position_of(&self, node: &NodeInfo) -> Option<usize> {
        let size = std::mem::size_of::<NodeInfo>();
        let base = self.nodes.as_ptr() as usize;
        let offset = (std::ptr::from_ref(node) as usize).checked_sub(base)?;
        let i = offset / size;
        (offset % size == 0 && i < self.nodes.len()).then_some(i)
    }

    fn place(&mut self, pod: Arc<Pod>, node_name: &str) -> Result<Arc<PodInfo>, SnapshotError> {
        if !self.by_name.contains_key(node_name) {
            return Err(SnapshotError::UnknownNode(node_name.to_owned()));
        }
        let info = Arc::new(PodInfo::new(pod));
        self.add_pod_info(Arc::clone(&info), node_name)?;
        Ok(info)
    }

    /// Removes the pod with key `key` (UID) wherever it is.
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let placed = self.pod_node.remove(key)?;
        let &i = self.by_name.get(&placed.node)?;
        let info = self.nodes[i].remove_pod(key)?;
        self.unindex_pod(&info.facts, placed.group, i);
        Some(info)
    }

    /// The node a pod is placed on.
    pub fn pod_node(&self, key: &str) -> Option<&str> {
        self.pod_node.get(key).map(|p| p.node.as_str())
    }

    /// The pods nominated to nodes.
    pub fn nominator(&self) -> &Nominator {
        &self.nominator
    }

    /// The node `pod` is nominated to: its nomination here (which may be
    /// ahead of the object), else its `status.nominatedNodeName`.
    pub fn nominated_node<'a>(&'a self, pod: &'a Pod) -> Option<&'a str> {
        let in_memory = if self.nominator.is_empty() {
            None
        } else {
            self.nominator.node_of(&pod_key(pod))
        };
        in_memory.or_else(|| status_nominated_node(pod))
    }

    /// Nominates the unplaced `pod` to `node` (a preemption chose it).
    /// Returns the pod's priority when it was nominated to another node
    /// before; does nothing for a placed pod.
    pub fn nominate(&mut self, pod: Arc<Pod>, node: &str) -> Option<i32> {
        if self.pod_node.contains_key(&pod_key(&pod)) {
            return None;
        }
        let in_status = status_nominated_node(&pod).is_some();
        self.nominator
            .nominate(Arc::new(PodInfo::new(pod)), node, in_status)
    }

    /// Takes in a watched object of an unplaced pod
    /// ([`Nominator::observe`]); returns the pod's priority when its
    /// nomination ended or moved. Placed pods are ignored.
    pub fn observe_nomination(&mut self, pod: Arc<Pod>) -> Option<i32> {
        if status_nominated_node(&pod).is_none() && self.nominator.is_empty() {
            return None;
        }
        if self.pod_node.contains_key(&pod_key(&pod)) {
            return None;
        }
        self.nominator.observe(pod)
    }

    /// Drops the nomination of the pod with key `key`; returns the pod's
    /// priority when it had one.
    pub fn remove_nomination(&mut self, key: &str) -> Option<i32> {
        if self.nominator.is_empty() {
            return None;
        }
        self.nominator.remove(key).map(|(_, priority)| priority)
    }

    /// Drops the nominations of pods whose key is not in `present`.
    pub fn retain_nominations(&mut self, present: &std::collections::HashSet<String>) {
        self.nominator.retain(present);
    }

    /// Nodes in storage order.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Number of pods placed on nodes.
    pub fn num_pods(&self) -> usize {
        self.pod_node.len()
    }

    /// The node named `name`.
    pub fn node_info(&self, name: &str) -> Option<&NodeInfo> {
        self.by_name.get(name).map(|&i| &self.nodes[i])
    }

    /// Storage index of the node named `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The order in which the scheduler walks nodes: round-robin across zones
    /// (as upstream's node tree lists them), so that a partial scan still
    /// spreads over zones.
    pub fn iteration_order(&self) -> &[usize] {
        self.order.get_or_init(|| {
            let mut zone_ids: Vec<&str> = Vec::new();
            let mut members: Vec<Vec<usize>> = Vec::new();
            for (i, z) in self.zones.iter().enumerate() {
                match zone_ids.iter().position(|known| known == z) {
                    Some(zi) => members[zi].push(i),
                    None => {
                        zone_ids.push(z);
                        members.push(vec![i]);
                    }
                }
            }
            let mut order = Vec::with_capacity(self.nodes.len());
            let mut round = 0;
            while order.len() < self.nodes.len() {
                for m in &members {
                    if let Some(&i) = m.get(round) {
                        order.push(i);
                    }
                }
                round += 1;
            }
            order
        })
    }

    /// Sets the labels of namespace `ns` (for affinity namespace selectors).
    pub fn set_namespace_labels(&mut self, ns: &str, labels: BTreeMap<String, String>) {
        self.namespace_labels.insert(ns.to_owned(), labels);
    }

    /// Forgets namespace `ns`.
    pub fn remove_namespace(&mut self, ns: &str) {
        self.namespace_labels.remove(ns);
    }

    /// Namespace labels by namespace name.
    pub fn namespace_labels(&self) -> &NamespaceLabels {
        &self.namespace_labels
    }

    /// Claims, volumes and classes (VolumeBinding's view).
    pub fn volumes(&self) -> &Volumes {
        &self.volumes
    }

    /// Claims, volumes and classes, to update from watches or reserve.
    pub fn volumes_mut(&mut self) -> &mut Volumes {
        &mut self.volumes
    }

    /// Records a Service's `spec.selector` (None: the service selects nothing).
    pub fn set_service(
        &mut self,
        ns: &str,
        name: &str,
        selector: Option<BTreeMap<String, String>>,
    ) {
        let svcs = self.services.entry(ns.to_owned()).or_default();
        match selector {
            Some(sel) => {
                svcs.insert(name.to_owned(), sel);
            }
            None => {
                svcs.remove(name);
            }
        }
    }

    /// Forgets a Service.
    pub fn remove_service(&mut self, ns: &str, name: &str) {
        self.set_service(ns, name, None);
    }

    /// Records the selector of a ReplicationController, ReplicaSet or StatefulSet.
    pub fn set_controller(
        &mut self,
        kind: ControllerKind,
        ns: &str,
        name: &str,
        selector: Selector,
    ) {
        self.controllers
            .insert((kind, ns.to_owned(), name.to_owned()), selector);
    }

    /// Forgets a controller.
    pub fn remove_controller(&mut self, kind: ControllerKind, ns: &str, name: &str) {
        self.controllers
            .remove(&(kind, ns.to_owned(), name.to_owned()));
    }

    /// Upstream's `DefaultSelector`: the AND of the selectors of the services
    /// selecting the pod and of its controlling RC/ReplicaSet/StatefulSet.
    /// Empty when nothing selects the pod.
    pub fn default_spread_selector(&self, pod: &Pod) -> Selector {
        let labels = pod_labels(pod);
        let ns = pod_namespace(pod);
        let mut merged: BTreeMap<String, String> = BTreeMap::new();
        for sel in self.services.get(ns).into_iter().flat_map(|m| m.values()) {
            // Selector::from_set(sel).matches(labels), without building it.
            if sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                merged.extend(sel.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut selector = Selector::from_set(&merged);
        let owner = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true));
        if let Some(owner) = owner {
            let group = owner.api_version.split_once('/').map_or("", |(g, _)| g);
            let kind = match (group, owner.kind.as_str()) {
                ("", "ReplicationController") => Some(ControllerKind::ReplicationController),
                ("apps", "ReplicaSet") => Some(ControllerKind::ReplicaSet),
                ("apps", "StatefulSet") => Some(ControllerKind::StatefulSet),
                _ => None,
            };
            if let Some(sel) = kind.and_then(|k| {
                self.controllers
                    .get(&(k, ns.to_owned(), owner.name.clone()))
            }) {
                selector = selector.with_requirements(sel.requirements().iter().cloned());
            }
        }
        selector
    }
}

#[cfg(test)]
impl Snapshot {
    /// Panics unless every index agrees with a recount from the nodes' pods.
    pub(crate) fn assert_indexes_consistent(&self) {
        type Identity = (String, BTreeMap<String, String>, bool);
        let mut expected: HashMap<Identity, BTreeMap<usize, u32>> = HashMap::new();
        let (mut affinity, mut anti) = (0, 0);
        for (n, node) in self.nodes.iter().enumerate() {
            assert_eq!(self.by_name.get(node.name()), Some(&n));
            for p in node.pods() {
                let identity = (
                    pod_namespace(&p.pod).to_owned(),
                    pod_labels(&p.pod).clone(),
                    p.facts.terminating,
                );
                *expected
                    .entry(identity.clone())
                    .or_default()
                    .entry(n)
                    .or_insert(0) += 1;
                let placed = self.pod_node.get(&p.facts.key).expect("placement");
                assert_eq!(placed.node, node.name());
                let g = self.groups.get(placed.group).expect("group");
                assert_eq!(
                    (g.namespace(), g.labels(), g.terminating()),
                    (identity.0.as_str(), &identity.1, identity.2)
                );
                affinity += usize::from(p.facts.has_affinity);
                anti += usize::from(p.facts.has_required_anti_affinity());
            }
        }
        assert_eq!(
            self.pod_node.len(),
            expected
                .values()
                .flatten()
                .map(|(_, c)| *c as usize)
                .sum::<usize>()
        );
        assert_eq!(
            (
                self.pods_with_affinity,
                self.pods_with_required_anti_affinity
            ),
            (affinity, anti)
        );
        let mut actual: HashMap<Identity, BTreeMap<usize, u32>> = HashMap::new();
        for g in self.groups.iter() {
            let nodes: BTreeMap<usize, u32> = g.nodes().collect();
            assert_eq!(nodes.values().sum::<u32>() as usize, g.len());
            let identity = (
                g.namespace().to_owned(),
                g.labels().clone(),
                g.terminating(),
            );
            assert!(actual.insert(identity, nodes).is_none(), "duplicate group");
            // Every lookup path finds the group.
            let by_labels = Selector::from_set(g.labels());
            assert!(
                self.pod_groups(&by_labels, Some(g.namespace()))
                    .any(|c| std::ptr::eq(c, g))
            );
            assert!(
                self.pod_groups(&by_labels, None)
                    .any(|c| std::ptr::eq(c, g))
            );
        }
        assert_eq!(actual, expected);
        for col in self
            .columns
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            col.assert_matches(&self.nodes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{node_with_labels, pod};
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_follow_nodes_and_removal_reindexes() {
        let mut s = Snapshot::new();
        for n in ["a", "b", "c"] {
            s.upsert_node(node_with_labels(n, "4", "8Gi", &[]))
                .expect("node");
        }
        let p = pod(
            json!({"metadata": {"name": "p", "uid": "u1"}, "spec": {"nodeName": "c", "containers": []}}),
        );
        s.add_pod(Arc::new(p)).expect("pod");
        assert_eq!(s.pod_node("u1"), Some("c"));
        s.remove_node("a");
        assert_eq!(s.node_info("c").map(|n| n.pods().len()), Some(1));
        assert_eq!(s.node_index("c"), Some(0));
        assert!(s.remove_pod("u1").is_some());
        assert_eq!(s.num_pods(), 0);
        let unbound = pod(json!({"metadata": {"name": "q"}, "spec": {"containers": []}}));
        assert!(matches!(
            s.add_pod(Arc::new(unbound)),
            Err(SnapshotError::Unbound(_))
        ));
    }

    #[test]
    fn label_index_narrows_and_follows_updates() {
        let mut s = Snapshot::new();
        for n in ["a", "b", "c"] {
            s.upsert_node(node_with_labels(n, "4", "8Gi", &[]))
                .expect("node");
        }
        let web = |name: &str, node: &str| {
            Arc::new(pod(
                json!({"metadata": {"name": name, "uid": name, "labels": {"app": "web"}},
                "spec": {"nodeName": node, "containers": []}}),
            ))
        };
        s.add_pod(web("w1", "a")).expect("pod");
        s.add_pod(web("w2", "c")).expect("pod");
        s.add_pod(web("w3", "c")).expect("pod");
        let names = |s: &Snapshot, sel: &str| {
            s.nodes_for_selector(&Selector::parse(sel).expect("selector"))
                .map(|v| {
                    v.iter()
                        .map(|&i| s.nodes()[i].name().to_owned())
                        .collect::<Vec<_>>()
                })
        };
        assert_eq!(
            names(&s, "app=web"),
            Some(vec!["a".to_owned(), "c".to_owned()])
        );
        assert_eq!(
            names(&s, "app in (web),tier!=db"),
            Some(vec!["a".to_owned(), "c".to_owned()])
        );
        assert_eq!(names(&s, "app=db"), Some(vec![]));
        // No equality requirement: caller must scan everything.
        assert_eq!(names(&s, "app"), None);
        s.remove_pod("w2");
        assert_eq!(
            names(&s, "app=web"),
            Some(vec!["a".to_owned(), "c".to_owned()])
        );
        s.remove_pod("w3");
        assert_eq!(names(&s, "app=web"), Some(vec!["a".to_owned()]));
        s.remove_node("a");
        assert_eq!(names(&s, "app=web"), Some(vec![]));
    }

    #[test]
    fn indexes_follow_pods_and_nodes() {
        let mut s = Snapshot::new();
        for (n, zone) in [("a", "z1"), ("b", "z2"), ("c", "z1"), ("d", "z3")] {
            s.upsert_node(node_with_labels(n, "4", "8Gi", &[("zone", zone)]))
                .expect("node");
        }
        let zone = s.label_column("zone");
        assert_eq!(zone.num_nodes(), 4);
        let host = s.label_column("kubernetes.io/hostname");
        let p = |name: &str, ns: &str, app: &str, node: Option<&str>, terminating: bool| {
            let mut v = json!({"metadata": {"name": name, "uid": name, "namespace": ns,
                "labels": {"app": app}}, "spec": {"containers": []}});
            if let Some(n) = node {
                v["spec"]["nodeName"] = json!(n);
            }
            if terminating {
                v["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
            }
            Arc::new(pod(v))
        };
        s.add_pod(p("w1", "default", "web", Some("a"), false))
            .expect("pod");
        s.add_pod(p("w2", "default", "web", Some("d"), false))
            .expect("pod");
        s.add_pod(p("w3", "prod", "web", Some("d"), false))
            .expect("pod");
        s.add_pod(p("w4", "default", "web", Some("d"), true))
            .expect("pod");
        s.assume_pod(p("w5", "default", "web", None, false), "d")
            .expect("assume");
        s.assume_pod(p("db", "default", "db", None, false), "b")
            .expect("assume");
        s.assert_indexes_consistent();
        let web = Selector::parse("app=web").expect("selector");
        let counted = |s: &Snapshot| -> BTreeMap<String, u32> {
            s.pod_groups(&web, Some("default"))
                .filter(|g| !g.terminating() && g.namespace() == "default")
                .flat_map(|g| g.nodes())
                .map(|(n, c)| (s.nodes()[n].name().to_owned(), c))
                .collect()
        };
        assert_eq!(
            counted(&s),
            BTreeMap::from([("a".into(), 1), ("d".into(), 2)])
        );
        // Re-adding a pod under the same key moves it (now terminating).
        s.add_pod(p("w5", "default", "web", Some("c"), true))
            .expect("pod");
        s.assert_indexes_consistent();
        assert_eq!(
            counted(&s),
            BTreeMap::from([("a".into(), 1), ("d".into(), 1)])
        );
        // Removing node "a" moves "d" (last) into its slot.
        let removed = s.remove_node("a").expect("removed");
        assert_eq!(removed.pods().len(), 1);
        assert_eq!(s.node_index("d"), Some(0));
        s.assert_indexes_consistent();
        assert_eq!(counted(&s), BTreeMap::from([("d".into(), 1)]));
        // Label changes and new nodes reach the cached columns.
        s.upsert_node(node_with_labels("b", "4", "8Gi", &[("zone", "z9")]))
            .expect("node");
        s.upsert_node(node_with_labels("e", "4", "8Gi", &[]))
            .expect("node");
        s.assert_indexes_consistent();
        let zone = s.label_column("zone");
        assert_eq!(
            zone.at(s.node_index("e").expect("e")),
            crate::core::index::MISSING
        );
        assert_eq!(zone.id("z9"), Some(zone.at(s.node_index("b").expect("b"))));
        assert!(s.remove_pod("w2").is_some());
        assert!(s.remove_pod("db").is_some());
        s.assert_indexes_consistent();
        assert!(counted(&s).is_empty());
        for n in ["b", "c", "d", "e"] {
            s.remove_node(n);
            s.assert_indexes_consistent();
        }
        assert_eq!((s.num_pods(), s.groups.len()), (0, 0));
        drop(host);
    }

    #[test]
    fn position_of_recognises_only_own_nodes() {
        let mut s = Snapshot::new();
        for n in ["a", "b"] {
            s.upsert_node(node_with_labels(n, "4", "8Gi", &[]))
                .expect("node");
        }
        assert_eq!(s.position_of(&s.nodes()[1]), Some(1));
        let copy = s.nodes()[1].clone();
        assert_eq!(s.position_of(&copy), None);
    }

    #[test]
    fn iteration_interleaves_zones() {
        let mut s = Snapshot::new();
        for (n, zone) in [
            ("a1", "a"),
            ("a2", "a"),
            ("a3", "a"),
            ("b1", "b"),
            ("c1", "c"),
            ("b2", "b"),
        ] {
            s.upsert_node(node_with_labels(
                n,
                "4",
                "8Gi",
                &[("topology.kubernetes.io/zone", zone)],
            ))
            .expect("node");
        }
        let names: Vec<&str> = s
            .iteration_order()
            .iter()
            .map(|&i| s.nodes()[i].name())
            .collect();
        assert_eq!(names, ["a1", "b1", "c1", "a2", "b2", "a3"]);
    }

    #[test]
    fn default_selector_combines_services_and_owner() {
        let mut s = Snapshot::new();
        s.set_service(
            "default",
            "web",
            Some(BTreeMap::from([("app".into(), "web".into())])),
        );
        s.set_service(
            "default",
            "other",
            Some(BTreeMap::from([("app".into(), "db".into())])),
        );
        s.set_controller(
            ControllerKind::ReplicaSet,
            "default",
            "web-123",
            Selector::parse("app=web,pod-template-hash=123").expect("selector"),
        );
        let p = pod(
            json!({"metadata": {"name": "p", "labels": {"app": "web", "pod-template-hash": "123"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-123",
                "uid": "x", "controller": true}]}, "spec": {"containers": []}}),
        );
        let sel = s.default_spread_selector(&p);
        assert_eq!(sel.to_string(), "app=web,app=web,pod-template-hash=123");
        let lonely = pod(
            json!({"metadata": {"name": "l", "labels": {"x": "y"}}, "spec": {"containers": []}}),
        );
        assert!(s.default_spread_selector(&lonely).is_empty());
    }
}
