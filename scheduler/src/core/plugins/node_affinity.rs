//! NodeAffinity: `nodeSelector` plus required node affinity (filter), and
//! preferred node affinity (score).

use std::collections::BTreeSet;

use bosun_types::labels::{Operator, Requirement, Selector};
use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, Pod};

use super::super::framework::Status;
use super::super::node_info::NodeInfo;

/// Plugin name.
pub const NAME: &str = "NodeAffinity";
/// Filter failure reason.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// Pre-filter failure when `metadata.name` field terms exclude every node.
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";
/// The only node field a field selector can use.
pub const OBJECT_NAME_FIELD: &str = "metadata.name";

#[derive(Clone, Debug)]
struct FieldRequirement {
    key: String,
    equal: bool,
    value: String,
}

/// A compiled `NodeSelectorTerm`: label requirements and field requirements, ANDed.
#[derive(Clone, Debug)]
pub struct TermMatcher {
    labels: Option<Selector>,
    fields: Vec<FieldRequirement>,
}

fn label_operator(op: &str) -> Result<Operator, String> {
    Ok(match op {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        "Gt" => Operator::GreaterThan,
        "Lt" => Operator::LessThan,
        other => return Err(format!("{other:?} is not a valid node selector operator")),
    })
}

fn compile_fields(reqs: &[NodeSelectorRequirement]) -> Result<Vec<FieldRequirement>, String> {
    reqs.iter()
        .map(|r| {
            let equal = match r.operator.as_str() {
                "In" => true,
                "NotIn" => false,
                other => {
                    return Err(format!(
                        "{other:?} is not a valid node field selector operator"
                    ));
                }
            };
            match r.values.as_deref().unwrap_or(&[]) {
                [value] => Ok(FieldRequirement {
                    key: r.key.clone(),
                    equal,
                    value: value.clone(),
                }),
                values => Err(format!(
                    "unexpected number of value ({}) for node field selector operator {:?}",
                    values.len(),
                    r.operator
                )),
            }
        })
        .collect()
}

impl TermMatcher {
    /// Compiles a term.
    ///
    /// # Errors
    ///
    /// Unknown operators, invalid keys or values, wrong value counts.
    pub fn compile(term: &NodeSelectorTerm) -> Result<Self, String> {
        let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
        let labels = if exprs.is_empty() {
            None
        } else {
            let reqs = exprs
                .iter()
                .map(|e| {
                    let op = label_operator(&e.operator)?;
                    Requirement::new(e.key.clone(), op, e.values.clone().unwrap_or_default())
                        .map_err(|err| err.to_string())
                })
                .collect::<Result<Vec<_>, String>>()?;
            Some(Selector::everything().with_requirements(reqs))
        };
        let fields = compile_fields(term.match_fields.as_deref().unwrap_or(&[]))?;
        Ok(TermMatcher { labels, fields })
    }

    /// Whether the term has neither expressions nor fields.
    pub fn is_empty(&self) -> bool {
        self.labels.is_none() && self.fields.is_empty()
    }

    /// Whether `node` satisfies every requirement of the term.
    pub fn matches(&self, node: &NodeInfo) -> bool {
        if let Some(sel) = &self.labels
            && !sel.matches(node.labels())
        {
            return false;
        }
        self.fields.iter().all(|f| {
            let actual = if f.key == OBJECT_NAME_FIELD {
                node.name()
            } else {
                ""
            };
            (actual == f.value) == f.equal
        })
    }
}

/// `nodeSelector` and required node affinity of a pod.
#[derive(Clone, Debug, Default)]
pub struct RequiredNodeAffinity {
    node_selector: Option<Selector>,
    terms: Option<Vec<TermMatcher>>,
}

impl RequiredNodeAffinity {
    /// Compiles the pod's node selector and required node affinity.
    ///
    /// # Errors
    ///
    /// A description of the first invalid term.
    pub fn from_pod(pod: &Pod) -> Result<Self, String> {
        let spec = pod.spec.as_ref();
        let node_selector = spec
            .and_then(|s| s.node_selector.as_ref())
            .map(Selector::from_set);
        let required = spec
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.required_during_scheduling_ignored_during_execution
                    .as_ref()
            });
        let terms = required
            .map(|r| {
                r.node_selector_terms
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        TermMatcher::compile(t).map_err(|e| {
                            format!("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{i}]: {e}")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(RequiredNodeAffinity {
            node_selector,
            terms,
        })
    }

    /// Whether the pod constrains nodes at all.
    pub fn is_empty(&self) -> bool {
        self.node_selector.is_none() && self.terms.is_none()
    }

    /// Whether `node` satisfies the node selector and one of the terms (an
    /// empty term matches nothing).
    pub fn matches(&self, node: &NodeInfo) -> bool {
        if let Some(sel) = &self.node_selector
            && !sel.matches(node.labels())
        {
            return false;
        }
        match &self.terms {
            Some(terms) => terms.iter().any(|t| !t.is_empty() && t.matches(node)),
            None => true,
        }
    }
}

/// Everything NodeAffinity computes once per pod.
#[derive(Clone, Debug, Default)]
pub struct NodeAffinityState {
    /// Required constraints.
    pub required: RequiredNodeAffinity,
    /// Preferred terms with their weights (weight-0 terms dropped).
    pub preferred: Vec<(i64, TermMatcher)>,
    /// Upstream's PreFilterResult: when every required term pins
    /// `metadata.name`, only these nodes need to be evaluated.
    pub node_names: Option<BTreeSet<String>>,
}

fn pinned_node_names(pod: &Pod) -> Option<BTreeSet<String>> {
    let terms = &pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    if terms.is_empty() {
        return None;
    }
    let mut union = BTreeSet::new();
    for t in terms {
        let mut term_names: Option<BTreeSet<String>> = None;
        for r in t.match_fields.iter().flatten() {
            if r.key == OBJECT_NAME_FIELD && r.operator == "In" {
                let s: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
                term_names = Some(match term_names {
                    None => s,
                    Some(prev) => prev.intersection(&s).cloned().collect(),
                });
            }
        }
        // A term without a name pin lets every node through.
        union.extend(term_names?);
    }
    Some(union)
}

/// Pre-filter: compiles the pod's node affinity.
///
/// # Errors
///
/// The description of an invalid term, or [`ERR_REASON_CONFLICT`].
pub fn prefilter(pod: &Pod) -> Result<NodeAffinityState, String> {
    let required = RequiredNodeAffinity::from_pod(pod)?;
    let preferred_terms = pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        });
    let mut preferred = Vec::new();
    for (i, t) in preferred_terms.into_iter().flatten().enumerate() {
        if t.weight == 0 {
            continue;
        }
        let m = TermMatcher::compile(&t.preference).map_err(|e| {
            format!("spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}].preference: {e}")
        })?;
        preferred.push((i64::from(t.weight), m));
    }
    let node_names = pinned_node_names(pod);
    if node_names.as_ref().is_some_and(BTreeSet::is_empty) {
        return Err(ERR_REASON_CONFLICT.to_owned());
    }
    Ok(NodeAffinityState {
        required,
        preferred,
        node_names,
    })
}

/// Filter (unresolvable).
pub fn filter(state: &NodeAffinityState, node: &NodeInfo) -> Option<Status> {
    if state.required.matches(node) {
        None
    } else {
        Some(Status::unresolvable(NAME, ERR_REASON_POD))
    }
}

/// Score: sum of the weights of matching preferred terms (an empty preferred
/// term matches every node).
pub fn score(state: &NodeAffinityState, node: &NodeInfo) -> i64 {
    state
        .preferred
        .iter()
        .filter(|(_, t)| t.matches(node))
        .map(|(w, _)| *w)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::super::super::test_util::{node_with_labels, pod};
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn ni(name: &str, labels: &[(&str, &str)]) -> NodeInfo {
        NodeInfo::new(Arc::new(node_with_labels(name, "4", "8Gi", labels)))
    }

    fn with_required(exprs: serde_json::Value) -> Pod {
        pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": exprs}}}}}),
        )
    }

    fn fits(p: &Pod, n: &NodeInfo) -> bool {
        let st = prefilter(p).expect("valid");
        filter(&st, n).is_none()
    }

    #[test]
    fn node_selector_must_match_all_labels() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [],
            "nodeSelector": {"disk": "ssd", "zone": "a"}}}));
        assert!(fits(&p, &ni("n", &[("disk", "ssd"), ("zone", "a")])));
        let st = prefilter(&p).expect("valid");
        let failed = filter(&st, &ni("n", &[("disk", "ssd")])).expect("fails");
        assert_eq!(failed.reasons, [ERR_REASON_POD]);
    }

    #[test]
    fn operators() {
        let n = ni("n", &[("zone", "a"), ("cores", "8")]);
        let case = |op: &str, key: &str, values: serde_json::Value| {
            with_required(
                json!([{"matchExpressions": [{"key": key, "operator": op, "values": values}]}]),
            )
        };
        assert!(fits(&case("In", "zone", json!(["a", "b"])), &n));
        assert!(!fits(&case("In", "zone", json!(["b"])), &n));
        assert!(fits(&case("NotIn", "zone", json!(["b"])), &n));
        assert!(fits(&case("NotIn", "missing", json!(["b"])), &n));
        assert!(!fits(&case("NotIn", "zone", json!(["a"])), &n));
        assert!(fits(&case("Exists", "zone", json!([])), &n));
        assert!(!fits(&case("DoesNotExist", "zone", json!([])), &n));
        assert!(fits(&case("DoesNotExist", "gpu", json!([])), &n));
        assert!(fits(&case("Gt", "cores", json!(["4"])), &n));
        assert!(!fits(&case("Gt", "cores", json!(["8"])), &n));
        assert!(fits(&case("Lt", "cores", json!(["9"])), &n));
        assert!(!fits(&case("Lt", "zone", json!(["9"])), &n));
    }

    #[test]
    fn terms_are_ored_and_empty_terms_match_nothing() {
        let n = ni("n", &[("zone", "a")]);
        let p = with_required(json!([
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]));
        assert!(fits(&p, &n));
        assert!(!fits(&with_required(json!([{}])), &n));
    }

    #[test]
    fn match_fields_on_node_name_and_prefilter_narrowing() {
        let p = with_required(json!([{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]));
        assert!(fits(&p, &ni("n1", &[])));
        assert!(!fits(&p, &ni("n2", &[])));
        let st = prefilter(&p).expect("valid");
        assert_eq!(st.node_names, Some(BTreeSet::from(["n1".to_owned()])));
        let not_in = with_required(json!([{"matchFields": [
            {"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]}]));
        assert!(!fits(&not_in, &ni("n1", &[])));
        assert!(fits(&not_in, &ni("n2", &[])));
        assert_eq!(prefilter(&not_in).expect("valid").node_names, None);
        // Two terms pinning different nodes: union.
        let two = with_required(json!([
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]));
        assert_eq!(
            prefilter(&two).expect("valid").node_names.map(|s| s.len()),
            Some(2)
        );
        // One term pinning two different names at once: conflict.
        let conflict = with_required(json!([{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["n1"]},
            {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]));
        assert_eq!(
            prefilter(&conflict).err().as_deref(),
            Some(ERR_REASON_CONFLICT)
        );
    }

    #[test]
    fn bad_operators_are_errors() {
        let p = with_required(
            json!([{"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]}]}]),
        );
        let err = prefilter(&p).expect_err("invalid");
        assert!(
            err.contains("\"Near\" is not a valid node selector operator"),
            "{err}"
        );
        let p = with_required(
            json!([{"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["many"]}]}]),
        );
        assert!(prefilter(&p).is_err());
        let p = with_required(
            json!([{"matchFields": [{"key": "metadata.name", "operator": "Exists"}]}]),
        );
        assert!(prefilter(&p).is_err());
    }

    #[test]
    fn preferred_terms_sum_weights() {
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [], "affinity": {"nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 5, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
                {"weight": 3, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}},
                {"weight": 0, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}}]}}}}),
        );
        let st = prefilter(&p).expect("valid");
        assert_eq!(score(&st, &ni("n", &[("zone", "a"), ("disk", "ssd")])), 8);
        assert_eq!(score(&st, &ni("n", &[("zone", "b"), ("disk", "ssd")])), 3);
        assert_eq!(score(&st, &ni("n", &[])), 0);
    }
}
