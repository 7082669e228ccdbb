//! PodTopologySpread: DoNotSchedule constraints bound the skew of matching
//! pods across topology domains (filter); ScheduleAnyway constraints prefer
//! less crowded domains (score). Pods without constraints get the configured
//! default constraints when a Service or controller selects them.

use std::collections::HashMap;

use bosun_types::labels::Selector;
use bosun_types::labels::wire::selector_from_wire;
use k8s_openapi::api::core::v1::{Pod, Toleration, TopologySpreadConstraint};

use super::super::config::{Config, DefaultSpreading};
use super::super::framework::Status;
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

/// Nodes that may hold pods matching `selector`: all nodes when the
/// snapshot's label index cannot narrow it, none for an empty selector (which
/// counts nothing).
fn candidate_nodes(snapshot: &Snapshot, selector: &Selector) -> Vec<usize> {
    if selector.is_empty() {
        return Vec::new();
    }
    snapshot
        .nodes_for_selector(selector)
        .unwrap_or_else(|| (0..snapshot.num_nodes()).collect())
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

/// Pre-filter state for DoNotSchedule constraints.
#[derive(Clone, Debug)]
pub struct FilterState {
    constraints: Vec<SpreadConstraint>,
    counts: Vec<HashMap<String, i64>>,
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
        let mut counts: Vec<HashMap<String, i64>> = vec![HashMap::new(); constraints.len()];
        // Every eligible node registers its domain (a domain without matching
        // pods still counts for the global minimum).
        for node in snapshot.nodes() {
            if !has_all_keys(node, &constraints) {
                continue;
            }
            let mut affinity_ok = None;
            for (i, c) in constraints.iter().enumerate() {
                if !inclusion.includes(c, node, &mut affinity_ok) {
                    continue;
                }
                let value = node
                    .labels()
                    .get(&c.topology_key)
                    .map_or("", String::as_str);
                if !counts[i].contains_key(value) {
                    counts[i].insert(value.to_owned(), 0);
                }
            }
        }
        // Pods are counted only on nodes that can hold matching ones.
        for (i, c) in constraints.iter().enumerate() {
            for idx in candidate_nodes(snapshot, &c.selector) {
                let node = &snapshot.nodes()[idx];
                let count = count_matching(node, &c.selector, ns);
                if count == 0
                    || !has_all_keys(node, &constraints)
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
        let mut s = FilterState {
            min_match: vec![0; constraints.len()],
            constraints,
            counts,
        };
        s.refresh_min();
        Some(s)
    }

    fn refresh_min(&mut self) {
        for (i, c) in self.constraints.iter().enumerate() {
            let domains = self.counts[i].len() as i64;
            self.min_match[i] = if domains < c.min_domains {
                0
            } else {
                self.counts[i].values().copied().min().unwrap_or(0)
            };
        }
    }

    /// Filter: the node needs every topology key (unresolvable otherwise) and
    /// placing the pod must keep `count + self - global min <= maxSkew`.
    pub fn filter(&self, pod: &Pod, node: &NodeInfo) -> Option<Status> {
        let labels = pod_labels(pod);
        for (i, c) in self.constraints.iter().enumerate() {
            let Some(value) = node.labels().get(&c.topology_key) else {
                return Some(Status::unresolvable(NAME, ERR_REASON_NODE_LABEL_NOT_MATCH));
            };
            let self_match = i64::from(c.selector.matches(labels));
            let count = self.counts[i].get(value).copied().unwrap_or(0);
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
                .cloned()
                .unwrap_or_default();
            *self.counts[i].entry(value).or_insert(0) += delta;
        }
        self.refresh_min();
    }
}

/// Pre-score state for ScheduleAnyway constraints.
#[derive(Clone, Debug)]
pub struct ScoreState {
    constraints: Vec<SpreadConstraint>,
    ignored: Vec<bool>,
    counts: Vec<HashMap<String, i64>>,
    weights: Vec<f64>,
    namespace: String,
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
        let mut counts: Vec<HashMap<String, i64>> = vec![HashMap::new(); constraints.len()];
        let mut ignored = vec![false; feasible.len()];
        for (j, node) in feasible.iter().enumerate() {
            if require_all_topologies && !has_all_keys(node, &constraints) {
                ignored[j] = true;
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == LABEL_HOSTNAME {
                    continue;
                }
                let value = node
                    .labels()
                    .get(&c.topology_key)
                    .map_or("", String::as_str);
                if !counts[i].contains_key(value) {
                    counts[i].insert(value.to_owned(), 0);
                }
            }
        }
        let num_ignored = ignored.iter().filter(|i| **i).count();
        let weights = constraints
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
        // Only pods add to the counts: visit just the nodes that can hold a
        // matching pod. Hostname domains are counted per node at score time.
        for (i, c) in constraints.iter().enumerate() {
            if c.topology_key == LABEL_HOSTNAME {
                continue;
            }
            for idx in candidate_nodes(snapshot, &c.selector) {
                let node = &snapshot.nodes()[idx];
                let count = count_matching(node, &c.selector, ns);
                if count == 0
                    || (require_all_topologies && !has_all_keys(node, &constraints))
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
        Some(ScoreState {
            constraints,
            ignored,
            counts,
            weights,
            namespace: ns.to_owned(),
        })
    }

    /// Raw score of the `j`-th feasible node (lower is better before normalisation).
    pub fn score(&self, j: usize, node: &NodeInfo) -> i64 {
        if self.ignored.get(j).copied().unwrap_or(true) {
            return 0;
        }
        let mut score = 0.0;
        for (i, c) in self.constraints.iter().enumerate() {
            let Some(value) = node.labels().get(&c.topology_key) else {
                continue;
            };
            let count = if c.topology_key == LABEL_HOSTNAME {
                count_matching(node, &c.selector, &self.namespace)
            } else {
                self.counts[i].get(value).copied().unwrap_or(0)
            };
            score += count as f64 * self.weights[i] + (c.max_skew - 1) as f64;
        }
        score.round() as i64
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

#[cfg(test)]
mod tests {
    use super::super::super::test_util::{node_with_labels, pod};
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

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
