//! InterPodAffinity: required pod affinity/anti-affinity of the incoming pod,
//! and existing pods' required anti-affinity against it (filter); preferred
//! terms in both directions (score).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;

use super::super::framework::Status;
use super::super::node_info::NodeInfo;
use super::super::pod_info::{
    AffinityTerm, NamespaceLabels, PodFacts, PodInfo, WeightedAffinityTerm,
};
use super::super::snapshot::Snapshot;
use super::normalize::MAX_NODE_SCORE;

/// Plugin name.
pub const NAME: &str = "InterPodAffinity";
/// The node's domain has no pod the incoming pod's required affinity needs.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// The node's domain has a pod the incoming pod's required anti-affinity excludes.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't match pod anti-affinity rules";
/// An existing pod's required anti-affinity excludes the incoming pod from the domain.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// Counts per topology pair (key → value → count); zero entries are removed.
#[derive(Clone, Debug, Default)]
#[cfg_attr(test, derive(PartialEq))]
struct TopoCounts(HashMap<String, HashMap<String, i64>>);

impl TopoCounts {
    fn add(&mut self, key: &str, value: &str, delta: i64) {
        let inner = entry(&mut self.0, key);
        let slot = entry(inner, value);
        *slot += delta;
        if *slot == 0 {
            inner.remove(value);
            if inner.is_empty() {
                self.0.remove(key);
            }
        }
    }

    fn get(&self, key: &str, value: &str) -> i64 {
        self.0
            .get(key)
            .and_then(|m| m.get(value))
            .copied()
            .unwrap_or(0)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The incoming pod's affinity terms: `target` must match all of them.
    fn update_with_affinity_terms(
        &mut self,
        target: &Pod,
        node: &NodeInfo,
        terms: &[AffinityTerm],
        delta: i64,
        ns: &NamespaceLabels,
    ) {
        if pod_matches_all_terms(target, terms, ns) {
            for t in terms {
                if let Some(v) = node.labels().get(&t.topology_key) {
                    self.add(&t.topology_key, v, delta);
                }
            }
        }
    }

    /// Anti-affinity terms: each term `target` matches counts on its own.
    fn update_with_anti_affinity_terms(
        &mut self,
        target: &Pod,
        node: &NodeInfo,
        terms: &[AffinityTerm],
        delta: i64,
        ns: &NamespaceLabels,
    ) {
        for t in terms {
            if t.matches(target, ns)
                && let Some(v) = node.labels().get(&t.topology_key)
            {
                self.add(&t.topology_key, v, delta);
            }
        }
    }
}

/// `map.entry(key.to_owned()).or_default()`, allocating only for a new key.
fn entry<'a, V: Default>(map: &'a mut HashMap<String, V>, key: &str) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("just inserted")
}

fn pod_matches_all_terms(pod: &Pod, terms: &[AffinityTerm], ns: &NamespaceLabels) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, ns))
}

/// Pre-filter state: the three topology-pair count maps.
#[derive(Clone, Debug, Default)]
#[cfg_attr(test, derive(PartialEq))]
pub struct FilterState {
    existing_anti: TopoCounts,
    affinity: TopoCounts,
    anti: TopoCounts,
}

impl FilterState {
    /// Scans existing pods once. `None` (filter skipped) when neither the pod
    /// nor any existing pod has required (anti-)affinity.
    pub fn new(pod: &Pod, facts: &PodFacts, snapshot: &Snapshot) -> Option<Self> {
        let own = !facts.required_affinity_terms.is_empty()
            || !facts.required_anti_affinity_terms.is_empty();
        let existing = snapshot.pods_with_required_anti_affinity() > 0;
        if !own && !existing {
            return None;
        }
        let ns = snapshot.namespace_labels();
        let mut s = FilterState::default();
        for node in snapshot.nodes().iter().filter(|_| existing) {
            if node.pods_with_required_anti_affinity() > 0 {
                for p in node
                    .pods()
                    .iter()
                    .filter(|p| p.facts.has_required_anti_affinity())
                {
                    s.existing_anti.update_with_anti_affinity_terms(
                        pod,
                        node,
                        &p.facts.required_anti_affinity_terms,
                        1,
                        ns,
                    );
                }
            }
        }
        // Existing pods are visited by group (pods sharing namespace and
        // labels), narrowed by the terms' selectors; each group matches once.
        let terms = &facts.required_affinity_terms;
        if let Some(first) = terms.first() {
            for g in snapshot.pod_groups(&first.selector, None) {
                if !terms
                    .iter()
                    .all(|t| t.matches_labels(g.namespace(), g.labels(), ns))
                {
                    continue;
                }
                for (n, count) in g.nodes() {
                    let node = &snapshot.nodes()[n];
                    for t in terms {
                        if let Some(v) = node.labels().get(&t.topology_key) {
                            s.affinity.add(&t.topology_key, v, i64::from(count));
                        }
                    }
                }
            }
        }
        for t in &facts.required_anti_affinity_terms {
            for g in snapshot.pod_groups(&t.selector, None) {
                if !t.matches_labels(g.namespace(), g.labels(), ns) {
                    continue;
                }
                for (n, count) in g.nodes() {
                    if let Some(v) = snapshot.nodes()[n].labels().get(&t.topology_key) {
                        s.anti.add(&t.topology_key, v, i64::from(count));
                    }
                }
            }
        }
        Some(s)
    }

    /// Preemption support: accounts for `other` being added (1) to or removed
    /// (-1) from `node`.
    pub fn update_with_pod(
        &mut self,
        pod: &Pod,
        facts: &PodFacts,
        other: &PodInfo,
        node: &NodeInfo,
        delta: i64,
        ns: &NamespaceLabels,
    ) {
        self.existing_anti.update_with_anti_affinity_terms(
            pod,
            node,
            &other.facts.required_anti_affinity_terms,
            delta,
            ns,
        );
        self.affinity.update_with_affinity_terms(
            &other.pod,
            node,
            &facts.required_affinity_terms,
            delta,
            ns,
        );
        self.anti.update_with_anti_affinity_terms(
            &other.pod,
            node,
            &facts.required_anti_affinity_terms,
            delta,
            ns,
        );
    }

    fn satisfies_affinity(
        &self,
        pod: &Pod,
        facts: &PodFacts,
        node: &NodeInfo,
        ns: &NamespaceLabels,
    ) -> bool {
        let mut pods_exist = true;
        for t in &facts.required_affinity_terms {
            match node.labels().get(&t.topology_key) {
                Some(v) => {
                    if self.affinity.get(&t.topology_key, v) <= 0 {
                        pods_exist = false;
                    }
                }
                None => return false,
            }
        }
        // The first pod of a group with affinity to itself may go anywhere
        // that has the topology keys, provided no pod matches yet.
        pods_exist
            || (self.affinity.is_empty()
                && pod_matches_all_terms(pod, &facts.required_affinity_terms, ns))
    }

    fn satisfies_anti_affinity(&self, facts: &PodFacts, node: &NodeInfo) -> bool {
        facts.required_anti_affinity_terms.iter().all(|t| {
            node.labels()
                .get(&t.topology_key)
                .is_none_or(|v| self.anti.get(&t.topology_key, v) <= 0)
        })
    }

    fn satisfies_existing_anti_affinity(&self, node: &NodeInfo) -> bool {
        self.existing_anti.is_empty()
            || node
                .labels()
                .iter()
                .all(|(k, v)| self.existing_anti.get(k, v) <= 0)
    }

    /// Filter: affinity failures are unresolvable, anti-affinity failures
    /// resolvable (removing the offending pod helps).
    pub fn filter(
        &self,
        pod: &Pod,
        facts: &PodFacts,
        node: &NodeInfo,
        ns: &NamespaceLabels,
    ) -> Option<Status> {
        if !self.satisfies_affinity(pod, facts, node, ns) {
            return Some(Status::unresolvable(
                NAME,
                ERR_REASON_AFFINITY_RULES_NOT_MATCH,
            ));
        }
        if !self.satisfies_anti_affinity(facts, node) {
            return Some(Status::unschedulable(
                NAME,
                ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
            ));
        }
        if !self.satisfies_existing_anti_affinity(node) {
            return Some(Status::unschedulable(
                NAME,
                ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
            ));
        }
        None
    }
}

/// Pre-score state: accumulated weights per topology pair.
#[derive(Clone, Debug, Default)]
#[cfg_attr(test, derive(PartialEq))]
pub struct ScoreState {
    topology_score: HashMap<String, HashMap<String, i64>>,
}

impl ScoreState {
    fn process_terms(
        &mut self,
        terms: &[WeightedAffinityTerm],
        target: &Pod,
        node: &NodeInfo,
        sign: i64,
        ns: &NamespaceLabels,
    ) {
        for wt in terms {
            self.process_term(&wt.term, wt.weight * sign, target, node, ns);
        }
    }

    fn process_term(
        &mut self,
        term: &AffinityTerm,
        weight: i64,
        target: &Pod,
        node: &NodeInfo,
        ns: &NamespaceLabels,
    ) {
        if term.matches(target, ns)
            && let Some(v) = node.labels().get(&term.topology_key)
        {
            self.add(&term.topology_key, v, weight);
        }
    }

    fn add(&mut self, key: &str, value: &str, weight: i64) {
        *entry(entry(&mut self.topology_score, key), value) += weight;
    }

    /// The incoming pod's preferred `term` (with `weight`) against every
    /// existing pod, visited by group.
    fn process_incoming_term(
        &mut self,
        term: &AffinityTerm,
        weight: i64,
        snapshot: &Snapshot,
        ns: &NamespaceLabels,
    ) {
        for g in snapshot.pod_groups(&term.selector, None) {
            if !term.matches_labels(g.namespace(), g.labels(), ns) {
                continue;
            }
            for (n, count) in g.nodes() {
                if let Some(v) = snapshot.nodes()[n].labels().get(&term.topology_key) {
                    self.add(&term.topology_key, v, weight * i64::from(count));
                }
            }
        }
    }

    /// Scans existing pods (all of them when the incoming pod has preferred
    /// terms, otherwise only pods with affinity). `None` (skip) when nothing
    /// contributes.
    pub fn new(
        pod: &Pod,
        facts: &PodFacts,
        snapshot: &Snapshot,
        hard_pod_affinity_weight: i64,
    ) -> Option<Self> {
        let has_constraints = !facts.preferred_affinity_terms.is_empty()
            || !facts.preferred_anti_affinity_terms.is_empty();
        let ns = snapshot.namespace_labels();
        let mut s = ScoreState::default();
        if has_constraints {
            for wt in &facts.preferred_affinity_terms {
                s.process_incoming_term(&wt.term, wt.weight, snapshot, ns);
            }
            for wt in &facts.preferred_anti_affinity_terms {
                s.process_incoming_term(&wt.term, -wt.weight, snapshot, ns);
            }
        }
        // Existing pods' own terms: only pods with affinity have any.
        let any_affinity = snapshot.pods_with_affinity() > 0;
        for node in snapshot.nodes().iter().filter(|_| any_affinity) {
            if node.pods_with_affinity() == 0 || node.labels().is_empty() {
                continue;
            }
            for existing in node.pods() {
                if !existing.facts.has_affinity {
                    continue;
                }
                let e = &existing.facts;
                if hard_pod_affinity_weight > 0 {
                    for t in &e.required_affinity_terms {
                        s.process_term(t, hard_pod_affinity_weight, pod, node, ns);
                    }
                }
                s.process_terms(&e.preferred_affinity_terms, pod, node, 1, ns);
                s.process_terms(&e.preferred_anti_affinity_terms, pod, node, -1, ns);
            }
        }
        if s.topology_score.is_empty() {
            None
        } else {
            Some(s)
        }
    }

    /// Raw score: sum over the node's topology pairs.
    pub fn score(&self, node: &NodeInfo) -> i64 {
        self.topology_score
            .iter()
            .filter_map(|(k, values)| node.labels().get(k).and_then(|v| values.get(v)))
            .sum()
    }

    /// Min-max normalisation to 0..=100.
    pub fn normalize(scores: &mut [i64]) {
        let (Some(&min), Some(&max)) = (scores.iter().min(), scores.iter().max()) else {
            return;
        };
        let diff = max - min;
        for s in scores.iter_mut() {
            *s = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
    }
}

/// The straightforward scans over every pod of every node, kept to check the
/// indexed versions against.
#[cfg(test)]
pub(crate) mod reference {
    use super::*;

    /// [`FilterState::new`] without indexes.
    pub(crate) fn filter_state(
        pod: &Pod,
        facts: &PodFacts,
        snapshot: &Snapshot,
    ) -> Option<FilterState> {
        let own = !facts.required_affinity_terms.is_empty()
            || !facts.required_anti_affinity_terms.is_empty();
        let existing = snapshot
            .nodes()
            .iter()
            .any(|n| n.pods_with_required_anti_affinity() > 0);
        if !own && !existing {
            return None;
        }
        let ns = snapshot.namespace_labels();
        let mut s = FilterState::default();
        for node in snapshot.nodes() {
            for p in node.pods() {
                s.existing_anti.update_with_anti_affinity_terms(
                    pod,
                    node,
                    &p.facts.required_anti_affinity_terms,
                    1,
                    ns,
                );
                if own {
                    s.affinity.update_with_affinity_terms(
                        &p.pod,
                        node,
                        &facts.required_affinity_terms,
                        1,
                        ns,
                    );
                    s.anti.update_with_anti_affinity_terms(
                        &p.pod,
                        node,
                        &facts.required_anti_affinity_terms,
                        1,
                        ns,
                    );
                }
            }
        }
        Some(s)
    }

    /// [`ScoreState::new`] without indexes.
    pub(crate) fn score_state(
        pod: &Pod,
        facts: &PodFacts,
        snapshot: &Snapshot,
        hard_pod_affinity_weight: i64,
    ) -> Option<ScoreState> {
        let ns = snapshot.namespace_labels();
        let mut s = ScoreState::default();
        for node in snapshot.nodes() {
            if node.labels().is_empty() {
                continue;
            }
            for existing in node.pods() {
                let e = &existing.facts;
                s.process_terms(&facts.preferred_affinity_terms, &existing.pod, node, 1, ns);
                s.process_terms(
                    &facts.preferred_anti_affinity_terms,
                    &existing.pod,
                    node,
                    -1,
                    ns,
                );
                if hard_pod_affinity_weight > 0 {
                    for t in &e.required_affinity_terms {
                        s.process_term(t, hard_pod_affinity_weight, pod, node, ns);
                    }
                }
                s.process_terms(&e.preferred_affinity_terms, pod, node, 1, ns);
                s.process_terms(&e.preferred_anti_affinity_terms, pod, node, -1, ns);
            }
        }
        (!s.topology_score.is_empty()).then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::framework::Code;
    use super::super::super::test_util::{node_with_labels, pod};
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    const HOST: &str = "kubernetes.io/hostname";

    fn cluster(pods: &[(&str, &str, serde_json::Value)]) -> Snapshot {
        let mut s = Snapshot::new();
        for (n, z) in [("n1", "a"), ("n2", "a"), ("n3", "b")] {
            s.upsert_node(node_with_labels(n, "8", "16Gi", &[("zone", z)]))
                .expect("node");
        }
        for (name, node, extra) in pods {
            let mut p = json!({"metadata": {"name": name, "uid": name, "labels": {"app": name}},
                "spec": {"nodeName": node, "containers": []}});
            if let (Some(spec), Some(e)) = (p["spec"].as_object_mut(), extra.as_object()) {
                spec.extend(e.clone());
            }
            s.add_pod(Arc::new(pod(p))).expect("pod");
        }
        s
    }

    fn incoming(labels: serde_json::Value, affinity: serde_json::Value) -> Pod {
        pod(
            json!({"metadata": {"name": "new", "labels": labels}, "spec": {"containers": [], "affinity": affinity}}),
        )
    }

    fn verdicts(p: &Pod, s: &Snapshot) -> Vec<Option<&'static str>> {
        let facts = PodFacts::new(p);
        let st = FilterState::new(p, &facts, s);
        s.nodes()
            .iter()
            .map(|n| {
                st.as_ref()
                    .and_then(|st| st.filter(p, &facts, n, s.namespace_labels()))
                    .map(|x| match x.reasons[0] {
                        std::borrow::Cow::Borrowed(r) => r,
                        std::borrow::Cow::Owned(_) => "owned",
                    })
            })
            .collect()
    }

    fn term(app: &str, key: &str) -> serde_json::Value {
        json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key})
    }

    #[test]
    fn anti_affinity_by_hostname() {
        let s = cluster(&[("web", "n1", json!({}))]);
        let p = incoming(
            json!({"app": "web2"}),
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", HOST)]}}),
        );
        assert_eq!(
            verdicts(&p, &s),
            [Some(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH), None, None]
        );
        let facts = PodFacts::new(&p);
        let st = FilterState::new(&p, &facts, &s).expect("state");
        assert_eq!(
            st.filter(&p, &facts, &s.nodes()[0], s.namespace_labels())
                .map(|x| x.code),
            Some(Code::Unschedulable)
        );
    }

    #[test]
    fn affinity_to_existing_pods_by_zone() {
        let s = cluster(&[("db", "n2", json!({}))]);
        let p = incoming(
            json!({"app": "web"}),
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db", "zone")]}}),
        );
        assert_eq!(
            verdicts(&p, &s),
            [None, None, Some(ERR_REASON_AFFINITY_RULES_NOT_MATCH)]
        );
    }

    #[test]
    fn first_pod_of_a_self_affine_group_may_land() {
        let s = cluster(&[]);
        let p = incoming(
            json!({"app": "web"}),
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "zone")]}}),
        );
        assert_eq!(verdicts(&p, &s), [None, None, None]);
        // Not self-matching: nowhere.
        let q = incoming(
            json!({"app": "other"}),
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", "zone")]}}),
        );
        assert!(verdicts(&q, &s).iter().all(Option::is_some));
    }

    #[test]
    fn existing_pods_anti_affinity_blocks_the_incoming_pod() {
        let s = cluster(&[(
            "loner",
            "n1",
            json!({"affinity": {"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term("web", "zone")]}}}),
        )]);
        let p = incoming(json!({"app": "web"}), json!(null));
        assert_eq!(
            verdicts(&p, &s),
            [
                Some(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH),
                Some(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH),
                None
            ]
        );
        let other = incoming(json!({"app": "db"}), json!(null));
        assert_eq!(verdicts(&other, &s), [None, None, None]);
    }

    #[test]
    fn namespaces_scope_terms() {
        let s = cluster(&[("web", "n1", json!({}))]);
        let p = pod(
            json!({"metadata": {"name": "new", "namespace": "other"}, "spec": {"containers": [],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("web", HOST)]}}}}),
        );
        // The term defaults to the pod's own namespace, where no web pod runs.
        assert_eq!(verdicts(&p, &s), [None, None, None]);
        let mut s = s;
        s.set_namespace_labels("default", [("team".to_owned(), "x".to_owned())].into());
        let p = pod(
            json!({"metadata": {"name": "new", "namespace": "other"}, "spec": {"containers": [],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST,
                 "namespaceSelector": {"matchLabels": {"team": "x"}}}]}}}}),
        );
        assert_eq!(
            verdicts(&p, &s)[0],
            Some(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
        );
    }

    #[test]
    fn preferred_terms_score_both_directions() {
        let s = cluster(&[
            ("db", "n3", json!({})),
            (
                "cache",
                "n1",
                json!({"affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "podAffinityTerm": term("web", HOST)}]}}}),
            ),
        ]);
        let p = incoming(
            json!({"app": "web"}),
            json!({"podAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": term("db", "zone")}]}}),
        );
        let facts = PodFacts::new(&p);
        let st = ScoreState::new(&p, &facts, &s, 1).expect("scores");
        let mut scores: Vec<i64> = s.nodes().iter().map(|n| st.score(n)).collect();
        assert_eq!(scores, [10, 0, 50]);
        ScoreState::normalize(&mut scores);
        assert_eq!(scores, [20, 0, 100]);
        let plain = incoming(json!({"app": "x"}), json!(null));
        assert!(ScoreState::new(&plain, &PodFacts::new(&plain), &s, 1).is_none());
    }
}
