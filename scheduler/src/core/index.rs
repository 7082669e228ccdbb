//! Incremental indexes the [`Snapshot`](super::snapshot::Snapshot) keeps so
//! that counting plugins (PodTopologySpread, InterPodAffinity) do not walk
//! every pod of the cluster in every cycle.
//!
//! * [`PodGroups`]: placed pods grouped by (namespace, labels, terminating).
//!   A selector is matched once per group instead of once per pod, and each
//!   group knows how many of its pods sit on which node.
//! * [`KeyColumn`]: for one node label key, the interned value of every node
//!   (by storage index), so per-node topology domains are integers.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use bosun_types::labels::{Operator, Selector};

use super::node_info::NodeInfo;

/// Hasher for small integer keys that are not attacker controlled (node
/// storage indices): one multiplication instead of SipHash.
#[derive(Default, Clone, Copy)]
pub struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Map from node storage index to a count.
pub type NodeCounts = HashMap<u32, u32, BuildHasherDefault<IndexHasher>>;

/// Placed pods sharing a namespace, a label set and the terminating flag.
#[derive(Clone, Debug)]
pub struct PodGroup {
    namespace: String,
    labels: BTreeMap<String, String>,
    terminating: bool,
    pods: u32,
    nodes: NodeCounts,
}

impl PodGroup {
    /// The pods' namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The pods' labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// Whether the pods are being deleted.
    pub fn terminating(&self) -> bool {
        self.terminating
    }

    /// Number of pods in the group.
    pub fn len(&self) -> usize {
        self.pods as usize
    }

    /// Whether the group is empty (never true for a group in the index).
    pub fn is_empty(&self) -> bool {
        self.pods == 0
    }

    /// (node storage index, pods of the group there), in no particular order.
    pub fn nodes(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.nodes.iter().map(|(&n, &c)| (n as usize, c))
    }

    /// Pods of the group on the node with storage index `node`.
    pub fn on_node(&self, node: usize) -> u32 {
        u32::try_from(node)
            .ok()
            .and_then(|n| self.nodes.get(&n))
            .copied()
            .unwrap_or(0)
    }
}

/// All placed pods, grouped; groups are looked up by identity, by one
/// `key=value` label, or by namespace.
#[derive(Clone, Debug, Default)]
pub struct PodGroups {
    slots: Vec<Option<PodGroup>>,
    free: Vec<u32>,
    hasher: RandomState,
    /// hash(namespace, labels, terminating) -> group ids.
    by_identity: HashMap<u64, Vec<u32>>,
    /// hash(label key, value) -> ids of groups carrying that label.
    by_label: HashMap<u64, Vec<u32>>,
    /// namespace -> ids of its groups.
    by_namespace: HashMap<String, Vec<u32>>,
}

fn forget(list: &mut Vec<u32>, id: u32) {
    if let Some(pos) = list.iter().position(|&g| g == id) {
        list.swap_remove(pos);
    }
}

impl PodGroups {
    fn identity_hash(&self, ns: &str, labels: &BTreeMap<String, String>, terminating: bool) -> u64 {
        let mut h = self.hasher.build_hasher();
        ns.hash(&mut h);
        labels.hash(&mut h);
        terminating.hash(&mut h);
        h.finish()
    }

    fn label_hash(&self, key: &str, value: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        key.hash(&mut h);
        value.hash(&mut h);
        h.finish()
    }

    /// Counts one more pod of (`ns`, `labels`, `terminating`) on `node`,
    /// returning its group id.
    pub fn add(
        &mut self,
        ns: &str,
        labels: &BTreeMap<String, String>,
        terminating: bool,
        node: u32,
    ) -> u32 {
        let h = self.identity_hash(ns, labels, terminating);
        let found = self.by_identity.get(&h).and_then(|ids| {
            ids.iter().copied().find(|&id| {
                self.get(id).is_some_and(|g| {
                    g.terminating == terminating && g.namespace == ns && g.labels == *labels
                })
            })
        });
        let id = match found {
            Some(id) => id,
            None => self.create(h, ns, labels, terminating),
        };
        if let Some(g) = self.slots.get_mut(id as usize).and_then(Option::as_mut) {
            g.pods += 1;
            *g.nodes.entry(node).or_insert(0) += 1;
        }
        id
    }

    fn create(
        &mut self,
        identity: u64,
        ns: &str,
        labels: &BTreeMap<String, String>,
        terminating: bool,
    ) -> u32 {
        let group = PodGroup {
            namespace: ns.to_owned(),
            labels: labels.clone(),
            terminating,
            pods: 0,
            nodes: NodeCounts::default(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(group);
                id
            }
            None => {
                self.slots.push(Some(group));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.by_identity.entry(identity).or_default().push(id);
        for (k, v) in labels {
            let h = self.label_hash(k, v);
            self.by_label.entry(h).or_default().push(id);
        }
        self.by_namespace.entry(ns.to_owned()).or_default().push(id);
        id
    }

    /// Counts one pod of group `id` less on `node`; the group is dropped once empty.
    pub fn remove(&mut self, id: u32, node: u32) {
        let Some(g) = self.slots.get_mut(id as usize).and_then(Option::as_mut) else {
            return;
        };
        if let Some(c) = g.nodes.get_mut(&node) {
            *c -= 1;
            if *c == 0 {
                g.nodes.remove(&node);
            }
        }
        g.pods = g.pods.saturating_sub(1);
        if g.pods > 0 {
            return;
        }
        let Some(g) = self.slots[id as usize].take() else {
            return;
        };
        self.free.push(id);
        let h = self.identity_hash(&g.namespace, &g.labels, g.terminating);
        if let Some(ids) = self.by_identity.get_mut(&h) {
            forget(ids, id);
            if ids.is_empty() {
                self.by_identity.remove(&h);
            }
        }
        for (k, v) in &g.labels {
            let h = self.label_hash(k, v);
            if let Some(ids) = self.by_label.get_mut(&h) {
                forget(ids, id);
                if ids.is_empty() {
                    self.by_label.remove(&h);
                }
            }
        }
        if let Some(ids) = self.by_namespace.get_mut(&g.namespace) {
            forget(ids, id);
            if ids.is_empty() {
                self.by_namespace.remove(&g.namespace);
            }
        }
    }

    /// Moves group `id`'s pods from node index `from` to `to` (a node changed
    /// storage index). Only the first call per group and node does anything.
    pub fn move_node(&mut self, id: u32, from: u32, to: u32) {
        if let Some(g) = self.slots.get_mut(id as usize).and_then(Option::as_mut)
            && let Some(c) = g.nodes.remove(&from)
        {
            *g.nodes.entry(to).or_insert(0) += c;
        }
    }

    /// The group with id `id`.
    pub fn get(&self, id: u32) -> Option<&PodGroup> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    /// Every group, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &PodGroup> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Whether no pod is placed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Groups that may hold pods matching `selector` (in namespace `ns` when
    /// given): a superset, callers still match each group. Narrowed by the
    /// selector's most selective equality requirement when it has one.
    pub fn candidates<'a>(
        &'a self,
        selector: &Selector,
        ns: Option<&str>,
    ) -> impl Iterator<Item = &'a PodGroup> + 'a {
        let ids: &[u32] = if selector.matches_nothing() {
            &[]
        } else {
            let by_ns = ns.map(|ns| self.by_namespace.get(ns).map_or(&[][..], Vec::as_slice));
            let by_label = exact_requirements(selector)
                .map(|(k, v)| {
                    self.by_label
                        .get(&self.label_hash(k, v))
                        .map_or(&[][..], Vec::as_slice)
                })
                .min_by_key(|ids| ids.len());
            match (by_ns, by_label) {
                (Some(a), Some(b)) if a.len() < b.len() => a,
                (_, Some(b)) => b,
                (Some(a), None) => a,
                (None, None) => return Candidates::All(self.slots.iter()),
            }
        };
        Candidates::Ids(ids.iter(), self)
    }
}

enum Candidates<'a> {
    All(std::slice::Iter<'a, Option<PodGroup>>),
    Ids(std::slice::Iter<'a, u32>, &'a PodGroups),
}

impl<'a> Iterator for Candidates<'a> {
    type Item = &'a PodGroup;

    fn next(&mut self) -> Option<&'a PodGroup> {
        match self {
            Candidates::All(it) => it.find_map(Option::as_ref),
            Candidates::Ids(it, groups) => it.find_map(|&id| groups.get(id)),
        }
    }
}

/// Requirements every label set matching `selector` satisfies by equality.
fn exact_requirements(selector: &Selector) -> impl Iterator<Item = (&str, &str)> {
    selector
        .requirements()
        .iter()
        .filter_map(|r| match (r.operator(), r.values()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => {
                Some((r.key(), v.as_str()))
            }
            _ => None,
        })
}

/// Marks a node without the column's key.
pub const MISSING: u32 = u32::MAX;

/// The value of one node label key on every node, interned. Id 0 is always
/// the empty value (what a missing label reads as where upstream uses
/// `node.Labels[key]`).
#[derive(Clone, Debug)]
pub struct KeyColumn {
    key: String,
    per_node: Vec<u32>,
    values: Vec<String>,
    ids: HashMap<String, u32>,
    nodes_per_value: Vec<u32>,
    live: usize,
    missing: usize,
}

impl KeyColumn {
    /// The column of `key` over `nodes` (in storage order).
    pub fn build(key: &str, nodes: &[NodeInfo]) -> Self {
        let mut col = KeyColumn {
            key: key.to_owned(),
            per_node: Vec::with_capacity(nodes.len()),
            values: Vec::new(),
            ids: HashMap::new(),
            nodes_per_value: Vec::new(),
            live: 0,
            missing: 0,
        };
        col.intern("");
        for n in nodes {
            col.push_node(n);
        }
        col
    }

    fn intern(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(MISSING - 1);
        self.values.push(value.to_owned());
        self.ids.insert(value.to_owned(), id);
        self.nodes_per_value.push(0);
        id
    }

    fn hold(&mut self, node: &NodeInfo) -> u32 {
        match node.labels().get(&self.key) {
            None => {
                self.missing += 1;
                MISSING
            }
            Some(v) => {
                let id = self.intern(v);
                let n = &mut self.nodes_per_value[id as usize];
                if *n == 0 {
                    self.live += 1;
                }
                *n += 1;
                id
            }
        }
    }

    fn release(&mut self, id: u32) {
        if id == MISSING {
            self.missing -= 1;
            return;
        }
        let n = &mut self.nodes_per_value[id as usize];
        *n -= 1;
        if *n == 0 {
            self.live -= 1;
        }
    }

    /// A node was appended to the snapshot.
    pub fn push_node(&mut self, node: &NodeInfo) {
        let id = self.hold(node);
        self.per_node.push(id);
    }

    /// The node at storage index `i` changed (its labels may differ).
    pub fn update_node(&mut self, i: usize, node: &NodeInfo) {
        let old = self.per_node[i];
        let unchanged = match node.labels().get(&self.key) {
            None => old == MISSING,
            Some(v) => old != MISSING && self.values[old as usize] == *v,
        };
        if unchanged {
            return;
        }
        let id = self.hold(node);
        self.release(old);
        self.per_node[i] = id;
        self.maybe_compact();
    }

    /// The node at storage index `i` was swap-removed.
    pub fn swap_remove_node(&mut self, i: usize) {
        let old = self.per_node.swap_remove(i);
        self.release(old);
        self.maybe_compact();
    }

    /// Drops values no node carries any more once they dominate.
    fn maybe_compact(&mut self) {
        if self.values.len() <= 2 * self.live + 64 {
            return;
        }
        let old_values = std::mem::take(&mut self.values);
        self.ids.clear();
        self.nodes_per_value.clear();
        self.live = 0;
        self.intern("");
        let per_node = std::mem::take(&mut self.per_node);
        self.per_node = per_node
            .into_iter()
            .map(|old| {
                if old == MISSING {
                    return MISSING;
                }
                let id = self.intern(&old_values[old as usize]);
                let n = &mut self.nodes_per_value[id as usize];
                if *n == 0 {
                    self.live += 1;
                }
                *n += 1;
                id
            })
            .collect();
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value id of the node at storage index `i` ([`MISSING`] without the label).
    pub fn at(&self, i: usize) -> u32 {
        self.per_node.get(i).copied().unwrap_or(MISSING)
    }

    /// The value id of the node at `i`, with a missing label read as the
    /// empty value (id 0).
    pub fn at_or_empty(&self, i: usize) -> u32 {
        match self.at(i) {
            MISSING => 0,
            id => id,
        }
    }

    /// The value with id `id`.
    pub fn value(&self, id: u32) -> Option<&str> {
        self.values.get(id as usize).map(String::as_str)
    }

    /// The id of `value`, if some node ever carried it.
    pub fn id(&self, value: &str) -> Option<u32> {
        self.ids.get(value).copied()
    }

    /// Number of value ids (ids are `0..num_ids()`).
    pub fn num_ids(&self) -> usize {
        self.values.len()
    }

    /// Number of nodes covered.
    pub fn num_nodes(&self) -> usize {
        self.per_node.len()
    }

    /// Number of nodes without the label.
    pub fn num_missing(&self) -> usize {
        self.missing
    }

    /// Ids of the values at least one node carries.
    pub fn live_ids(&self) -> impl Iterator<Item = u32> + '_ {
        (0u32..)
            .zip(&self.nodes_per_value)
            .filter(|(_, n)| **n > 0)
            .map(|(id, _)| id)
    }
}

#[cfg(test)]
impl KeyColumn {
    /// Panics unless the column describes `nodes` exactly.
    pub(crate) fn assert_matches(&self, nodes: &[NodeInfo]) {
        assert_eq!(self.per_node.len(), nodes.len(), "column {}", self.key);
        let mut per_value = vec![0u32; self.values.len()];
        let mut missing = 0;
        for (n, node) in nodes.iter().enumerate() {
            match node.labels().get(&self.key) {
                None => {
                    assert_eq!(self.per_node[n], MISSING, "node {}", node.name());
                    missing += 1;
                }
                Some(v) => {
                    let id = self.per_node[n];
                    assert_eq!(&self.values[id as usize], v, "node {}", node.name());
                    per_value[id as usize] += 1;
                }
            }
        }
        assert_eq!(per_value, self.nodes_per_value, "column {}", self.key);
        assert_eq!(missing, self.missing);
        assert_eq!(self.live, per_value.iter().filter(|n| **n > 0).count());
        assert_eq!(self.values[0], "");
        for (id, v) in self.values.iter().enumerate() {
            assert_eq!(self.ids.get(v).map(|&i| i as usize), Some(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::node_with_labels;
    use super::*;
    use std::sync::Arc;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn groups_share_identity_and_are_found_by_label_and_namespace() {
        let mut g = PodGroups::default();
        let web = labels(&[("app", "web"), ("tier", "front")]);
        let a = g.add("default", &web, false, 0);
        assert_eq!(g.add("default", &web, false, 3), a);
        assert_eq!(g.add("default", &web, false, 3), a);
        let terminating = g.add("default", &web, true, 3);
        let other_ns = g.add("prod", &web, false, 1);
        assert_eq!(g.len(), 3);
        assert!(a != terminating && a != other_ns);
        let group = g.get(a).expect("group");
        assert_eq!(group.len(), 3);
        assert_eq!(
            (group.on_node(0), group.on_node(3), group.on_node(7)),
            (1, 2, 0)
        );

        let sel = Selector::parse("app=web").expect("selector");
        assert_eq!(g.candidates(&sel, Some("default")).count(), 2);
        assert_eq!(g.candidates(&sel, None).count(), 3);
        assert_eq!(
            g.candidates(&Selector::parse("app=db").expect("s"), None)
                .count(),
            0
        );
        // No equality requirement: namespace only, or everything.
        let exists = Selector::parse("app").expect("selector");
        assert_eq!(g.candidates(&exists, Some("prod")).count(), 1);
        assert_eq!(g.candidates(&exists, None).count(), 3);
        assert_eq!(g.candidates(&Selector::nothing(), None).count(), 0);

        g.move_node(a, 3, 5);
        assert_eq!(g.get(a).map(|x| (x.on_node(3), x.on_node(5))), Some((0, 2)));
        g.remove(a, 0);
        g.remove(a, 5);
        g.remove(a, 5);
        assert!(g.get(a).is_none());
        assert_eq!(g.len(), 2);
        assert_eq!(g.candidates(&sel, Some("default")).count(), 1);
        // The freed slot is reused.
        assert_eq!(g.add("x", &BTreeMap::new(), false, 0), a);
    }

    #[test]
    fn columns_follow_node_changes_and_compact() {
        let node = |name: &str, zone: Option<&str>| {
            let l: Vec<(&str, &str)> = zone.iter().map(|z| ("zone", *z)).collect();
            NodeInfo::new(Arc::new(node_with_labels(name, "1", "1Gi", &l)))
        };
        let mut nodes = vec![node("a", Some("z1")), node("b", None), node("c", Some(""))];
        let mut col = KeyColumn::build("zone", &nodes);
        col.assert_matches(&nodes);
        assert_eq!((col.at(0), col.at(1), col.at(2)), (1, MISSING, 0));
        assert_eq!(col.at_or_empty(1), 0);
        assert_eq!(col.num_missing(), 1);
        assert_eq!(col.live_ids().collect::<Vec<_>>(), [0, 1]);
        nodes.push(node("d", Some("z2")));
        col.push_node(&nodes[3]);
        nodes[1] = node("b", Some("z2"));
        col.update_node(1, &nodes[1]);
        col.assert_matches(&nodes);
        nodes.swap_remove(0);
        col.swap_remove_node(0);
        col.assert_matches(&nodes);
        assert_eq!(col.live_ids().count(), 2);
        // Churning through many values keeps the column small.
        for i in 0..500 {
            nodes[0] = node("d", Some(&format!("zone-{i}")));
            col.update_node(0, &nodes[0]);
            col.assert_matches(&nodes);
        }
        assert!(col.num_ids() < 200, "{}", col.num_ids());
    }
}
