//! PodTopologySpread: DoNotSchedule constraints bound the skew of matching
//! pods across topology domains (filter); ScheduleAnyway constraints prefer
//! less crowded domains (score). Pods without constraints get the configured
//! default constraints when a Service or controller selects them.

use std::sync::Arc;

use bosun_types::labels::Selector;
use bosun_types::labels::wire::selector_from_wire;
use k8s_openapi::api::core::v1::{Pod, Toleration, TopologySpreadConstraint};

use super::super::config::{Config, DefaultSpreading};
use super::super::framework::Status;
use super::super::index::{KeyColumn, MISSING, PodGroup};
use super::super::node_info::NodeInfo;
use super::super::pod_info::{PodInfo, pod_labels, pod_namespace};
use super::super::snapshot::Snapshot;
use super::node_affinity::RequiredNodeAffinity;
use super::normalize::MAX_NODE_SCORE;
use super::taint_toleration::find_untolerated_taint;

/// Plugin name.
pub const NAME: &str = "PodTopologySpread";
/// Filter failure reason when the skew would exceed `maxSkew`.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints";
/// Filter failure reason when the node lacks a constraint's topology label.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
/// The hostname label key.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// The zone label key.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// `whenUnsatisfiable: DoNotSchedule`.
pub const DO_NOT_SCHEDULE: &str = "DoNotSchedule";
/// `whenUnsatisfiable: ScheduleAnyway`.
pub const SCHEDULE_ANYWAY: &str = "ScheduleAnyway";

/// A parsed topology spread constraint.
#[derive(Clone, Debug)]
pub struct SpreadConstraint {
    /// Maximum allowed skew.
    pub max_skew: i64,
    /// Node label defining the domains.
    pub topology_key: String,
    /// Pods counted (matchLabelKeys already merged in).
    pub selector: Selector,
    /// Minimum number of eligible domains (1 when unset).
    pub min_domains: i64,
    /// `nodeAffinityPolicy: Honor` (the default): only nodes matching the
    /// pod's node affinity/selector count.
    pub honor_node_affinity: bool,
    /// `nodeTaintsPolicy: Honor` (default Ignore): only nodes whose taints
    /// the pod tolerates count.
    pub honor_node_taints: bool,
}

fn policy(value: Option<&str>, default_honor: bool, field: &str) -> Result<bool, String> {
    match value {
        None => Ok(default_honor),
        Some("Honor") => Ok(true),
        Some("Ignore") => Ok(false),
        Some(other) => Err(format!(
            "spec.topologySpreadConstraints.{field}: Unsupported value: {other:?}: supported values: \"Honor\", \"Ignore\""
        )),
    }
}

fn parse(
    list: &[TopologySpreadConstraint],
    pod_labels: &std::collections::BTreeMap<String, String>,
    action: &str,
    default_selector: Option<&Selector>,
) -> Result<Vec<SpreadConstraint>, String> {
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        if c.when_unsatisfiable != DO_NOT_SCHEDULE && c.when_unsatisfiable != SCHEDULE_ANYWAY {
            return Err(format!(
                "spec.topologySpreadConstraints[{i}].whenUnsatisfiable: Unsupported value: {:?}",
                c.when_unsatisfiable
            ));
        }
        if c.max_skew <= 0 {
            return Err(format!(
                "spec.topologySpreadConstraints[{i}].maxSkew: Invalid value: {}: must be greater than zero",
                c.max_skew
            ));
        }
        if c.when_unsatisfiable != action {
            continue;
        }
        let mut selector = match default_selector {
            Some(s) => s.clone(),
            None => selector_from_wire(c.label_selector.as_ref())
                .map_err(|e| format!("spec.topologySpreadConstraints[{i}].labelSelector: {e}"))?,
        };
        let keys = c.match_label_keys.as_deref().unwrap_or(&[]);
        if default_selector.is_none() && !keys.is_empty() && !selector.matches_nothing() {
            let set: std::collections::BTreeMap<String, String> = keys
                .iter()
                .filter_map(|k| pod_labels.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            if !set.is_empty() {
                selector = Selector::from_set(&set)
                    .with_requirements(selector.requirements().iter().cloned());
            }
        }
        out.push(SpreadConstraint {
            max_skew: i64::from(c.max_skew),
            topology_key: c.topology_key.clone(),
            selector,
            min_domains: i64::from(c.min_domains.unwrap_or(1)),
            honor_node_affinity: policy(
                c.node_affinity_policy.as_deref(),
                true,
                "nodeAffinityPolicy",
            )?,
            honor_node_taints: policy(c.node_taints_policy.as_deref(), false, "nodeTaintsPolicy")?,
        });
    }
    Ok(out)
}

fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    let c = |key: &str, skew: i32| TopologySpreadConstraint {
        max_skew: skew,
        topology_key: key.to_owned(),
        when_unsatisfiable: SCHEDULE_ANYWAY.to_owned(),
        ..Default::default()
    };
    vec![c(LABEL_HOSTNAME, 3), c(LABEL_ZONE, 5)]
}

/// The constraints of one kind (`action`) for a pod, and whether nodes must
/// carry every topology key to be considered (false only for system defaults).
///
/// # Errors
///
/// Invalid constraints on the pod.
pub fn constraints_for(
    pod: &Pod,
    snapshot: &Snapshot,
    config: &Config,
    action: &str,
) -> Result<(Vec<SpreadConstraint>, bool), String> {
    let own = pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or(&[]);
    if !own.is_empty() {
        return Ok((parse(own, pod_labels(pod), action, None)?, true));
    }
    let (defaults, system) = match &config.default_spreading {
        DefaultSpreading::System => (system_default_constraints(), true),
        DefaultSpreading::List(list) => (list.clone(), false),
        DefaultSpreading::Disabled => return Ok((Vec::new(), true)),
    };
    if !defaults.iter().any(|c| c.when_unsatisfiable == action) {
        return Ok((Vec::new(), !system));
    }
    let selector = snapshot.default_spread_selector(pod);
    if selector.is_empty() {
        return Ok((Vec::new(), !system));
    }
    Ok((
        parse(&defaults, pod_labels(pod), action, Some(&selector))?,
        !system,
    ))
}

fn has_all_keys(node: &NodeInfo, constraints: &[SpreadConstraint]) -> bool {
    let labels = node.labels();
    constraints
        .iter()
        .all(|c| labels.contains_key(&c.topology_key))
}

/// Counts pods on `node` in namespace `ns` matching `selector`, skipping
/// terminating pods (an empty selector counts nothing, as upstream).
pub fn count_matching(node: &NodeInfo, selector: &Selector, ns: &str) -> i64 {
    if selector.is_empty() {
        return 0;
    }
    node.pods()
        .iter()
        .filter(|p| {
            !p.facts.terminating
                && pod_namespace(&p.pod) == ns
                && selector.matches(pod_labels(&p.pod))
        })
        .count() as i64
}

/// The groups of placed pods [`count_matching`] counts: not terminating, in
/// namespace `ns`, matching `selector` (none for an empty selector).
fn counted_groups<'a>(
    snapshot: &'a Snapshot,
    selector: &'a Selector,
    ns: &'a str,
) -> impl Iterator<Item = &'a PodGroup> + 'a {
    let groups = (!selector.is_empty()).then(|| snapshot.pod_groups(selector, Some(ns)));
    groups
        .into_iter()
        .flatten()
        .filter(move |g| !g.terminating() && g.namespace() == ns && selector.matches(g.labels()))
}

/// Inputs shared by pre-filter, preemption updates and pre-score.
#[derive(Clone, Copy)]
pub struct Inclusion<'a> {
    /// The incoming pod's required node affinity.
    pub required: &'a RequiredNodeAffinity,
    /// The incoming pod's tolerations.
    pub tolerations: &'a [Toleration],
}

impl Inclusion<'_> {
    fn includes(
        &self,
        c: &SpreadConstraint,
        node: &NodeInfo,
        affinity_ok: &mut Option<bool>,
    ) -> bool {
        if c.honor_node_affinity && !*affinity_ok.get_or_insert_with(|| self.required.matches(node))
        {
            return false;
        }
        !(c.honor_node_taints && find_untolerated_taint(self.tolerations, node.taints()).is_some())
    }
}

/// [`Inclusion::includes`] by node storage index, remembering the per-node
/// verdicts (which do not depend on the constraint) across constraints.
struct NodeInclusion<'a> {
    inclusion: Inclusion<'a>,
    /// Per node: 0 not evaluated, 1 matches the node affinity, 2 does not.
    affinity: Vec<u8>,
    /// Per node: 0 not evaluated, 1 taints tolerated, 2 not.
    taints: Vec<u8>,
}

impl<'a> NodeInclusion<'a> {
    fn new(inclusion: Inclusion<'a>, constraints: &[SpreadConstraint], num_nodes: usize) -> Self {
        let affinity =
            constraints.iter().any(|c| c.honor_node_affinity) && !inclusion.required.is_empty();
        let taints = constraints.iter().any(|c| c.honor_node_taints);
        NodeInclusion {
            inclusion,
            affinity: if affinity {
                vec![0; num_nodes]
            } else {
                Vec::new()
            },
            taints: if taints {
                vec![0; num_nodes]
            } else {
                Vec::new()
            },
        }
    }

    /// Whether every node is included for every constraint.
    fn is_trivial(&self, constraints: &[SpreadConstraint]) -> bool {
        constraints.iter().all(|c| {
            (!c.honor_node_affinity || self.inclusion.required.is_empty()) && !c.honor_node_taints
        })
    }

    fn memo(slot: Option<&mut u8>, eval: impl FnOnce() -> bool) -> bool {
        match slot {
            Some(s) if *s != 0 => *s == 1,
            Some(s) => {
                let ok = eval();
                *s = if ok { 1 } else { 2 };
                ok
            }
            None => eval(),
        }
    }

    fn includes(&mut self, c: &SpreadConstraint, n: usize, node: &NodeInfo) -> bool {
        let inc = self.inclusion;
        if c.honor_node_affinity
            && !inc.required.is_empty()
            && !Self::memo(self.affinity.get_mut(n), || inc.required.matches(node))
        {
            return false;
        }
        !c.honor_node_taints
            || Self::memo(self.taints.get_mut(n), || {
                find_untolerated_taint(inc.tolerations, node.taints()).is_none()
            })
    }
}

/// Matching pods per topology domain of one constraint, indexed by the
/// value ids of the topology key's [`KeyColumn`]. Only registered domains
/// exist (count towards the number of domains and the minimum).
#[derive(Clone, Debug)]
struct Domains {
    column: Arc<KeyColumn>,
    counts: Vec<i64>,
    registered: Vec<bool>,
    /// Domains whose value the column does not know: only reachable through
    /// preemption updates with a node that is not in the snapshot.
    extra: Vec<(String, i64)>,
    len: usize,
}

impl Domains {
    fn new(column: Arc<KeyColumn>) -> Self {
        let n = column.num_ids();
        Domains {
            column,
            counts: vec![0; n],
            registered: vec![false; n],
            extra: Vec::new(),
            len: 0,
        }
    }

    /// Placeholder for a constraint whose domains are not tracked.
    fn unused(column: Arc<KeyColumn>) -> Self {
        Domains {
            column,
            counts: Vec::new(),
            registered: Vec::new(),
            extra: Vec::new(),
            len: 0,
        }
    }

    fn register(&mut self, id: u32) {
        let Some(r) = self.registered.get_mut(id as usize) else {
            return;
        };
        if !*r {
            *r = true;
            self.len += 1;
        }
    }

    fn register_value(&mut self, value: &str) {
        match self.column.id(value) {
            Some(id) => self.register(id),
            None => {
                if !self.extra.iter().any(|(v, _)| v == value) {
                    self.extra.push((value.to_owned(), 0));
                    self.len += 1;
                }
            }
        }
    }

    /// Adds `count` to the domain with id `id` if it is registered.
    fn add_to_registered(&mut self, id: u32, count: i64) {
        if self.registered.get(id as usize).copied().unwrap_or(false) {
            self.counts[id as usize] += count;
        }
    }

    fn get_id(&self, id: u32) -> Option<i64> {
        self.registered
            .get(id as usize)
            .copied()
            .unwrap_or(false)
            .then(|| self.counts[id as usize])
    }

    fn get(&self, value: &str) -> Option<i64> {
        match self.column.id(value) {
            Some(id) => self.get_id(id),
            None => self.extra.iter().find(|(v, _)| v == value).map(|(_, c)| *c),
        }
    }

    /// Adds `delta` to the domain `value`, registering it first if needed.
    fn add_value(&mut self, value: &str, delta: i64) {
        self.register_value(value);
        match self.column.id(value) {
            Some(id) => self.counts[id as usize] += delta,
            None => {
                if let Some((_, c)) = self.extra.iter_mut().find(|(v, _)| v == value) {
                    *c += delta;
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn min(&self) -> Option<i64> {
        let known = self
            .counts
            .iter()
            .zip(&self.registered)
            .filter(|(_, r)| **r)
            .map(|(c, _)| *c);
        known.chain(self.extra.iter().map(|(_, c)| *c)).min()
    }
}

/// Pre-filter state for DoNotSchedule constraints.
#[derive(Clone, Debug)]
pub struct FilterState {
    constraints: Vec<SpreadConstraint>,
    domains: Vec<Domains>,
    min_match: Vec<i64>,
}

impl FilterState {
    /// Counts matching pods per domain over all nodes. `None` when the pod has
    /// no DoNotSchedule constraint (the filter is skipped).
    pub fn new(
        pod: &Pod,
        constraints: Vec<SpreadConstraint>,
        inclusion: Inclusion<'_>,
        snapshot: &Snapshot,
    ) -> Option<Self> {
        if constraints.is_empty() {
            return None;
        }
        let ns = pod_namespace(pod);
        let num_nodes = snapshot.num_nodes();
        let columns: Vec<Arc<KeyColumn>> = constraints
            .iter()
            .map(|c| snapshot.label_column(&c.topology_key))
            .collect();
        let mut domains: Vec<Domains> = columns
            .iter()
            .map(|c| Domains::new(Arc::clone(c)))
            .collect();
        // Every eligible node (carrying all topology keys, included by the
        // node affinity/taint policies) registers its domain: a domain without
        // matching pods still counts for the global minimum.
        let mut included = NodeInclusion::new(inclusion, &constraints, num_nodes);
        let every_node_eligible =
            included.is_trivial(&constraints) && columns.iter().all(|col| col.num_missing() == 0);
        // Per constraint: the domain of every node (MISSING when the node is
        // not eligible); `None` when every node is eligible (read the column).
        let node_domain: Option<Vec<Vec<u32>>> = if every_node_eligible {
            for (d, col) in domains.iter_mut().zip(&columns) {
                for id in col.live_ids() {
                    d.register(id);
                }
            }
            None
        } else {
            let mut node_domain = vec![vec![MISSING; num_nodes]; constraints.len()];
            for (n, node) in snapshot.nodes().iter().enumerate() {
                if columns.iter().any(|col| col.at(n) == MISSING) {
                    continue;
                }
                for (i, c) in constraints.iter().enumerate() {
                    if included.includes(c, n, node) {
                        let id = columns[i].at(n);
                        domains[i].register(id);
                        node_domain[i][n] = id;
                    }
                }
            }
            Some(node_domain)
        };
        // Matching pods count in the domains of eligible nodes.
        for (i, c) in constraints.iter().enumerate() {
            for g in counted_groups(snapshot, &c.selector, ns) {
                for (n, count) in g.nodes() {
                    let id = match &node_domain {
                        Some(d) => d[i].get(n).copied().unwrap_or(MISSING),
                        None => columns[i].at(n),
                    };
                    if id != MISSING {
                        domains[i].add_to_registered(id, i64::from(count));
                    }
                }
            }
        }
        let mut s = FilterState {
            min_match: vec![0; constraints.len()],
            constraints,
            domains,
        };
        s.refresh_min();
        Some(s)
    }

    fn refresh_min(&mut self) {
        for (i, c) in self.constraints.iter().enumerate() {
            let d = &self.domains[i];
            self.min_match[i] = if (d.len() as i64) < c.min_domains {
                0
            } else {
                d.min().unwrap_or(0)
            };
        }
    }

    /// Filter: the node needs every topology key (unresolvable otherwise) and
    /// placing the pod must keep `count + self - global min <= maxSkew`.
    pub fn filter(&self, pod: &Pod, node: &NodeInfo) -> Option<Status> {
        self.filter_at(pod, node, None)
    }

    /// [`filter`](Self::filter) for a node whose storage index (`position`,
    /// as [`Snapshot::position_of`] gives it) in the snapshot this state was
    /// built from is known: its domains are read from the index instead of
    /// looking its labels up.
    pub fn filter_at(&self, pod: &Pod, node: &NodeInfo, position: Option<usize>) -> Option<Status> {
        let labels = pod_labels(pod);
        for (i, c) in self.constraints.iter().enumerate() {
            let d = &self.domains[i];
            let count = match position {
                Some(n) => match d.column.at(n) {
                    MISSING => None,
                    id => Some(d.get_id(id)),
                },
                None => node.labels().get(&c.topology_key).map(|v| d.get(v)),
            };
            let Some(count) = count else {
                return Some(Status::unresolvable(NAME, ERR_REASON_NODE_LABEL_NOT_MATCH));
            };
            let count = count.unwrap_or(0);
            let self_match = i64::from(c.selector.matches(labels));
            if count + self_match - self.min_match[i] > c.max_skew {
                return Some(Status::unschedulable(
                    NAME,
                    ERR_REASON_CONSTRAINTS_NOT_MATCH,
                ));
            }
        }
        None
    }

    /// Preemption support: accounts for `other` being added (`delta` 1) to or
    /// removed (-1) from `node`.
    pub fn update_with_pod(
        &mut self,
        pod: &Pod,
        inclusion: Inclusion<'_>,
        other: &PodInfo,
        node: &NodeInfo,
        delta: i64,
    ) {
        if other.facts.terminating
            || pod_namespace(&other.pod) != pod_namespace(pod)
            || !has_all_keys(node, &self.constraints)
        {
            return;
        }
        let labels = pod_labels(&other.pod);
        let mut affinity_ok = None;
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.selector.matches(labels) || !inclusion.includes(c, node, &mut affinity_ok) {
                continue;
            }
            let value = node
                .labels()
                .get(&c.topology_key)
                .map_or("", String::as_str);
            self.domains[i].add_value(value, delta);
        }
        self.refresh_min();
    }
}

/// Pre-score state for ScheduleAnyway constraints: the raw score of every
/// feasible node, computed up front.
#[derive(Clone, Debug)]
pub struct ScoreState {
    ignored: Vec<bool>,
    raw: Vec<i64>,
}

impl ScoreState {
    /// Builds scoring state over the feasible nodes; `None` (skip) when the
    /// pod has no ScheduleAnyway constraint.
    pub fn new(
        pod: &Pod,
        constraints: Vec<SpreadConstraint>,
        require_all_topologies: bool,
        inclusion: Inclusion<'_>,
        feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Option<Self> {
        if constraints.is_empty() || snapshot.num_nodes() == 0 {
            return None;
        }
        let ns = pod_namespace(pod);
        let num_nodes = snapshot.num_nodes();
        let columns: Vec<Arc<KeyColumn>> = constraints
            .iter()
            .map(|c| snapshot.label_column(&c.topology_key))
            .collect();
        let all_keys_at = |n: usize| columns.iter().all(|col| col.at(n) != MISSING);
        // Storage indices of the feasible nodes (None: not a snapshot node,
        // read its labels instead).
        let positions: Vec<Option<usize>> =
            feasible.iter().map(|n| snapshot.position_of(n)).collect();
        // Hostname domains are counted per node below, not kept as domains.
        let mut domains: Vec<Domains> = columns
            .iter()
            .zip(&constraints)
            .map(|(col, c)| {
                if c.topology_key == LABEL_HOSTNAME {
                    Domains::unused(Arc::clone(col))
                } else {
                    Domains::new(Arc::clone(col))
                }
            })
            .collect();
        let mut ignored = vec![false; feasible.len()];
        for (j, node) in feasible.iter().enumerate() {
            let all_keys = match positions[j] {
                Some(n) => all_keys_at(n),
                None => has_all_keys(node, &constraints),
            };
            if require_all_topologies && !all_keys {
                ignored[j] = true;
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == LABEL_HOSTNAME {
                    continue;
                }
                // A missing label reads as the empty value.
                match positions[j] {
                    Some(n) => domains[i].register(columns[i].at_or_empty(n)),
                    None => domains[i].register_value(
                        node.labels()
                            .get(&c.topology_key)
                            .map_or("", String::as_str),
                    ),
                }
            }
        }
        let num_ignored = ignored.iter().filter(|i| **i).count();
        let weights: Vec<f64> = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == LABEL_HOSTNAME {
                    feasible.len() - num_ignored
                } else {
                    domains[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        // Matching pods on every node (not only feasible ones) count in the
        // registered domains. Hostname domains count the node's own pods.
        let mut included = NodeInclusion::new(inclusion, &constraints, num_nodes);
        let mut per_host: Vec<Vec<u32>> = vec![Vec::new(); constraints.len()];
        for (i, c) in constraints.iter().enumerate() {
            if c.topology_key == LABEL_HOSTNAME {
                let mut on_node = vec![0u32; num_nodes];
                for g in counted_groups(snapshot, &c.selector, ns) {
                    for (n, count) in g.nodes() {
                        if let Some(slot) = on_node.get_mut(n) {
                            *slot += count;
                        }
                    }
                }
                per_host[i] = on_node;
                continue;
            }
            for g in counted_groups(snapshot, &c.selector, ns) {
                for (n, count) in g.nodes() {
                    let Some(node) = snapshot.nodes().get(n) else {
                        continue;
                    };
                    if (require_all_topologies && !all_keys_at(n)) || !included.includes(c, n, node)
                    {
                        continue;
                    }
                    domains[i].add_to_registered(columns[i].at_or_empty(n), i64::from(count));
                }
            }
        }
        let raw = feasible
            .iter()
            .enumerate()
            .map(|(j, node)| {
                if ignored[j] {
                    return 0;
                }
                let mut score = 0.0;
                for (i, c) in constraints.iter().enumerate() {
                    let count = match positions[j] {
                        Some(n) => {
                            let id = columns[i].at(n);
                            if id == MISSING {
                                continue;
                            }
                            if c.topology_key == LABEL_HOSTNAME {
                                i64::from(per_host[i][n])
                            } else {
                                domains[i].get_id(id).unwrap_or(0)
                            }
                        }
                        None => {
                            let Some(value) = node.labels().get(&c.topology_key) else {
                                continue;
                            };
                            if c.topology_key == LABEL_HOSTNAME {
                                count_matching(node, &c.selector, ns)
                            } else {
                                domains[i].get(value).unwrap_or(0)
                            }
                        }
                    };
                    score += count as f64 * weights[i] + (c.max_skew - 1) as f64;
                }
                score.round() as i64
            })
            .collect();
        Some(ScoreState { ignored, raw })
    }

    /// Raw score of the `j`-th feasible node `_node` (lower is better before
    /// normalisation).
    pub fn score(&self, j: usize, _node: &NodeInfo) -> i64 {
        if self.ignored.get(j).copied().unwrap_or(true) {
            return 0;
        }
        self.raw[j]
    }

    /// Normalises: fewer matching pods score higher; ignored nodes get 0.
    pub fn normalize(&self, scores: &mut [i64]) {
        let (mut min, mut max) = (i64::MAX, 0i64);
        for (j, s) in scores.iter().enumerate() {
            if self.ignored[j] {
                continue;
            }
            min = min.min(*s);
            max = max.max(*s);
        }
        for (j, s) in scores.iter_mut().enumerate() {
            if self.ignored[j] {
                *s = 0;
            } else if max == 0 {
                *s = MAX_NODE_SCORE;
            } else {
                *s = MAX_NODE_SCORE * (max + min - *s) / max;
            }
        }
    }
}

/// The straightforward scans over every pod of every node, kept to check the
/// indexed versions against.
#[cfg(test)]
pub(crate) mod reference {
    use super::*;
    use std::collections::HashMap;

    /// Pre-filter counts per constraint (domain value -> matching pods) and
    /// the global minimum per constraint.
    pub(crate) type Counts = (Vec<HashMap<String, i64>>, Vec<i64>);

    impl FilterState {
        /// The state as plain maps, for comparisons.
        pub(crate) fn as_counts(&self) -> Counts {
            let maps = self
                .domains
                .iter()
                .map(|d| {
                    let mut m: HashMap<String, i64> = d
                        .registered
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| **r)
                        .map(|(id, _)| {
                            let value = d.column.value(id as u32).unwrap_or_default();
                            (value.to_owned(), d.counts[id])
                        })
                        .collect();
                    m.extend(d.extra.iter().cloned());
                    m
                })
                .collect();
            (maps, self.min_match.clone())
        }
    }

    fn min_match(constraints: &[SpreadConstraint], counts: &[HashMap<String, i64>]) -> Vec<i64> {
        constraints
            .iter()
            .zip(counts)
            .map(|(c, m)| {
                if (m.len() as i64) < c.min_domains {
                    0
                } else {
                    m.values().copied().min().unwrap_or(0)
                }
            })
            .collect()
    }

    /// [`FilterState::new`] without indexes.
    pub(crate) fn filter_counts(
        pod: &Pod,
        constraints: &[SpreadConstraint],
        inclusion: Inclusion<'_>,
        snapshot: &Snapshot,
    ) -> Option<Counts> {
        if constraints.is_empty() {
            return None;
        }
        let ns = pod_namespace(pod);
        let mut counts: Vec<HashMap<String, i64>> = vec![HashMap::new(); constraints.len()];
        for node in snapshot.nodes() {
            if !has_all_keys(node, constraints) {
                continue;
            }
            let mut affinity_ok = None;
            for (i, c) in constraints.iter().enumerate() {
                if inclusion.includes(c, node, &mut affinity_ok) {
                    let value = node
                        .labels()
                        .get(&c.topology_key)
                        .cloned()
                        .unwrap_or_default();
                    counts[i].entry(value).or_insert(0);
                }
            }
        }
        for (i, c) in constraints.iter().enumerate() {
            for node in snapshot.nodes() {
                let count = count_matching(node, &c.selector, ns);
                if count == 0
                    || !has_all_keys(node, constraints)
                    || !inclusion.includes(c, node, &mut None)
                {
                    continue;
                }
                let value = node
                    .labels()
                    .get(&c.topology_key)
                    .map_or("", String::as_str);
                if let Some(slot) = counts[i].get_mut(value) {
                    *slot += count;
                }
            }
        }
        let min = min_match(constraints, &counts);
        Some((counts, min))
    }

    /// [`FilterState::update_with_pod`] on plain maps.
    pub(crate) fn update_counts(
        counts: &mut Counts,
        constraints: &[SpreadConstraint],
        pod: &Pod,
        inclusion: Inclusion<'_>,
        other: &PodInfo,
        node: &NodeInfo,
        delta: i64,
    ) {
        if other.facts.terminating
            || pod_namespace(&other.pod) != pod_namespace(pod)
            || !has_all_keys(node, constraints)
        {
            return;
        }
        let mut affinity_ok = None;
        for (i, c) in constraints.iter().enumerate() {
            if !c.selector.matches(pod_labels(&other.pod))
                || !inclusion.includes(c, node, &mut affinity_ok)
            {
                continue;
            }
            let value = node
                .labels()
                .get(&c.topology_key)
                .cloned()
                .unwrap_or_default();
            *counts.0[i].entry(value).or_insert(0) += delta;
        }
        counts.1 = min_match(constraints, &counts.0);
    }

    /// The filter verdict from plain counts: None (fits), or the reason.
    pub(crate) fn verdict(
        counts: &Counts,
        constraints: &[SpreadConstraint],
        pod: &Pod,
        node: &NodeInfo,
    ) -> Option<&'static str> {
        for (i, c) in constraints.iter().enumerate() {
            let Some(value) = node.labels().get(&c.topology_key) else {
                return Some(ERR_REASON_NODE_LABEL_NOT_MATCH);
            };
            let self_match = i64::from(c.selector.matches(pod_labels(pod)));
            let count = counts.0[i].get(value).copied().unwrap_or(0);
            if count + self_match - counts.1[i] > c.max_skew {
                return Some(ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        None
    }

    /// [`ScoreState::new`] + [`ScoreState::score`] without indexes: the raw
    /// score of every feasible node.
    pub(crate) fn raw_scores(
        pod: &Pod,
        constraints: &[SpreadConstraint],
        require_all_topologies: bool,
        inclusion: Inclusion<'_>,
        feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Option<Vec<i64>> {
        if constraints.is_empty() || snapshot.num_nodes() == 0 {
            return None;
        }
        let mut counts: Vec<HashMap<String, i64>> = vec![HashMap::new(); constraints.len()];
        let mut ignored = vec![false; feasible.len()];
        for (j, node) in feasible.iter().enumerate() {
            if require_all_topologies && !has_all_keys(node, constraints) {
                ignored[j] = true;
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key != LABEL_HOSTNAME {
                    let value = node
                        .labels()
                        .get(&c.topology_key)
                        .cloned()
                        .unwrap_or_default();
                    counts[i].entry(value).or_insert(0);
                }
            }
        }
        let num_ignored = ignored.iter().filter(|i| **i).count();
        let weights: Vec<f64> = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == LABEL_HOSTNAME {
                    feasible.len() - num_ignored
                } else {
                    counts[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        let ns = pod_namespace(pod);
        for (i, c) in constraints.iter().enumerate() {
            if c.topology_key == LABEL_HOSTNAME {
                continue;
            }
            for node in snapshot.nodes() {
                let count = count_matching(node, &c.selector, ns);
                if count == 0
                    || (require_all_topologies && !has_all_keys(node, constraints))
                    || !inclusion.includes(c, node, &mut None)
                {
                    continue;
                }
                let value = node
                    .labels()
                    .get(&c.topology_key)
                    .map_or("", String::as_str);
                if let Some(slot) = counts[i].get_mut(value) {
                    *slot += count;
                }
            }
        }
        let scores = feasible
            .iter()
            .enumerate()
            .map(|(j, node)| {
                if ignored[j] {
                    return 0;
                }
                let mut score = 0.0;
                for (i, c) in constraints.iter().enumerate() {
                    let Some(value) = node.labels().get(&c.topology_key) else {
                        continue;
                    };
                    let count = if c.topology_key == LABEL_HOSTNAME {
                        count_matching(node, &c.selector, ns)
                    } else {
                        counts[i].get(value).copied().unwrap_or(0)
                    };
                    score += count as f64 * weights[i] + (c.max_skew - 1) as f64;
                }
                score.round() as i64
            })
            .collect();
        Some(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_util::{node_with_labels, pod};
    use super::*;
    use serde_json::json;

    fn zone_node(name: &str, zone: &str) -> k8s_openapi::api::core::v1::Node {
        node_with_labels(name, "8", "16Gi", &[(LABEL_ZONE, zone)])
    }

    fn app_pod(name: &str, node: &str) -> Pod {
        pod(
            json!({"metadata": {"name": name, "uid": name, "labels": {"app": "web"}},
            "spec": {"nodeName": node, "containers": []}}),
        )
    }

    fn spread_pod(when: &str, key: &str, skew: i32) -> Pod {
        pod(
            json!({"metadata": {"name": "new", "labels": {"app": "web"}}, "spec": {"containers": [],
            "topologySpreadConstraints": [{"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
                "labelSelector": {"matchLabels": {"app": "web"}}}]}}),
        )
    }

    fn three_zones(per_zone: [usize; 3]) -> Snapshot {
        let mut s = Snapshot::new();
        for (z, count) in ["a", "b", "c"].iter().zip(per_zone) {
            let name = format!("node-{z}");
            s.upsert_node(zone_node(&name, z)).expect("node");
            for k in 0..count {
                s.add_pod(Arc::new(app_pod(&format!("{z}-{k}"), &name)))
                    .expect("pod");
            }
        }
        s
    }

    fn filter_state(p: &Pod, s: &Snapshot) -> Option<FilterState> {
        let (cs, _) = constraints_for(p, s, &Config::default(), DO_NOT_SCHEDULE).expect("valid");
        let req = RequiredNodeAffinity::default();
        FilterState::new(
            p,
            cs,
            Inclusion {
                required: &req,
                tolerations: &[],
            },
            s,
        )
    }

    #[test]
    fn max_skew_one_across_three_zones() {
        // Zones hold 2, 1, 1 matching pods: only b or c may take the next one.
        let s = three_zones([2, 1, 1]);
        let p = spread_pod(DO_NOT_SCHEDULE, LABEL_ZONE, 1);
        let st = filter_state(&p, &s).expect("has constraints");
        let verdict: Vec<bool> = s
            .nodes()
            .iter()
            .map(|n| st.filter(&p, n).is_none())
            .collect();
        assert_eq!(verdict, [false, true, true]);
        let failed = st.filter(&p, &s.nodes()[0]).expect("fails");
        assert_eq!(failed.reasons, [ERR_REASON_CONSTRAINTS_NOT_MATCH]);
        assert_eq!(
            failed.code,
            super::super::super::framework::Code::Unschedulable
        );
        // Balanced zones: all fit.
        let s = three_zones([1, 1, 1]);
        let st = filter_state(&p, &s).expect("has constraints");
        assert!(s.nodes().iter().all(|n| st.filter(&p, n).is_none()));
    }

    #[test]
    fn missing_label_is_unresolvable() {
        let mut s = three_zones([0, 0, 0]);
        s.upsert_node(node_with_labels("bare", "8", "16Gi", &[]))
            .expect("node");
        let p = spread_pod(DO_NOT_SCHEDULE, LABEL_ZONE, 1);
        let st = filter_state(&p, &s).expect("has constraints");
        let bare = s.node_info("bare").expect("bare");
        let failed = st.filter(&p, bare).expect("fails");
        assert_eq!(failed.reasons, [ERR_REASON_NODE_LABEL_NOT_MATCH]);
        assert_eq!(
            failed.code,
            super::super::super::framework::Code::UnschedulableAndUnresolvable
        );
    }

    #[test]
    fn min_domains_forces_global_minimum_to_zero() {
        let s = three_zones([1, 1, 1]);
        let mut p = spread_pod(DO_NOT_SCHEDULE, LABEL_ZONE, 1);
        if let Some(c) = p
            .spec
            .as_mut()
            .and_then(|s| s.topology_spread_constraints.as_mut())
        {
            c[0].min_domains = Some(4);
        }
        let st = filter_state(&p, &s).expect("has constraints");
        // 1 + 1 - 0 > 1 everywhere.
        assert!(s.nodes().iter().all(|n| st.filter(&p, n).is_some()));
    }

    #[test]
    fn preemption_updates_move_the_minimum() {
        let s = three_zones([2, 1, 1]);
        let p = spread_pod(DO_NOT_SCHEDULE, LABEL_ZONE, 1);
        let mut st = filter_state(&p, &s).expect("has constraints");
        let node_a = &s.nodes()[0];
        assert!(st.filter(&p, node_a).is_some());
        let req = RequiredNodeAffinity::default();
        let inc = Inclusion {
            required: &req,
            tolerations: &[],
        };
        let victim = Arc::clone(&node_a.pods()[0]);
        st.update_with_pod(&p, inc, &victim, node_a, -1);
        assert!(st.filter(&p, node_a).is_none());
    }

    #[test]
    fn schedule_anyway_prefers_emptier_zones() {
        let s = three_zones([3, 1, 0]);
        let p = spread_pod(SCHEDULE_ANYWAY, LABEL_ZONE, 1);
        let (cs, all) =
            constraints_for(&p, &s, &Config::default(), SCHEDULE_ANYWAY).expect("valid");
        let req = RequiredNodeAffinity::default();
        let feasible: Vec<&NodeInfo> = s.nodes().iter().collect();
        let st = ScoreState::new(
            &p,
            cs,
            all,
            Inclusion {
                required: &req,
                tolerations: &[],
            },
            &feasible,
            &s,
        )
        .expect("scores");
        let mut scores: Vec<i64> = feasible
            .iter()
            .enumerate()
            .map(|(j, n)| st.score(j, n))
            .collect();
        st.normalize(&mut scores);
        assert!(scores[2] > scores[1] && scores[1] > scores[0], "{scores:?}");
        assert_eq!(scores[2], 100);
    }

    #[test]
    fn system_defaults_need_a_selecting_service() {
        let mut s = three_zones([0, 0, 0]);
        let p = pod(
            json!({"metadata": {"name": "new", "labels": {"app": "web"}}, "spec": {"containers": []}}),
        );
        let cfg = Config::default();
        let (cs, _) = constraints_for(&p, &s, &cfg, SCHEDULE_ANYWAY).expect("valid");
        assert!(cs.is_empty());
        s.set_service(
            "default",
            "web",
            Some([("app".to_owned(), "web".to_owned())].into()),
        );
        let (cs, require_all) = constraints_for(&p, &s, &cfg, SCHEDULE_ANYWAY).expect("valid");
        assert_eq!(cs.len(), 2);
        assert!(!require_all);
        let (hard, _) = constraints_for(&p, &s, &cfg, DO_NOT_SCHEDULE).expect("valid");
        assert!(hard.is_empty());
    }

    #[test]
    fn invalid_constraints_are_errors() {
        let p = spread_pod("Sometimes", LABEL_ZONE, 1);
        assert!(
            constraints_for(&p, &Snapshot::new(), &Config::default(), DO_NOT_SCHEDULE).is_err()
        );
        let p = spread_pod(DO_NOT_SCHEDULE, LABEL_ZONE, 0);
        assert!(
            constraints_for(&p, &Snapshot::new(), &Config::default(), DO_NOT_SCHEDULE).is_err()
        );
    }
}
