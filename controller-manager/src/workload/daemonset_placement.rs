//! Which nodes a DaemonSet's pod belongs on: the template's `nodeSelector`
//! and required node affinity against the node's labels and name, and the
//! node's taints against the pod's tolerations (the template's plus the
//! ones upstream adds to every daemon pod). Also how a daemon pod is
//! pinned to its node: a required node affinity on `metadata.name`, which
//! the default scheduler honours.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Taint, Toleration,
};

/// Taint of a node whose Ready condition is not `True`.
pub const TAINT_NODE_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint of a node whose Ready condition is `Unknown`.
pub const TAINT_NODE_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Taint of a node under disk pressure.
pub const TAINT_NODE_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
/// Taint of a node under memory pressure.
pub const TAINT_NODE_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
/// Taint of a node under PID pressure.
pub const TAINT_NODE_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
/// Taint of a cordoned node.
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// Taint of a node whose network is not configured.
pub const TAINT_NODE_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
/// `NoSchedule`.
pub const EFFECT_NO_SCHEDULE: &str = "NoSchedule";
/// `NoExecute`.
pub const EFFECT_NO_EXECUTE: &str = "NoExecute";
/// The field a daemon pod's node affinity selects its node by.
pub const OBJECT_NAME_FIELD: &str = "metadata.name";

/// Whether `toleration` tolerates `taint` (upstream's `ToleratesTaint`):
/// an empty effect or key matches any; `Exists` ignores the value, `Equal`
/// (or empty) compares it.
pub fn tolerates_taint(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or_default();
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or_default() {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or_default()
                == taint.value.as_deref().unwrap_or_default()
        }
        "Exists" => true,
        _ => false,
    }
}

/// The first taint passing `filter` that no toleration tolerates.
pub fn find_untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| filter(t))
        .find(|t| !tolerations.iter().any(|tol| tolerates_taint(tol, t)))
}

fn same_toleration(a: &Toleration, b: &Toleration) -> bool {
    a.key == b.key && a.operator == b.operator && a.value == b.value && a.effect == b.effect
}

/// Adds `toleration` to `spec`, replacing one with the same key, operator,
/// value and effect (upstream's `AddOrUpdateTolerationInPodSpec`).
pub fn add_or_update_toleration(spec: &mut PodSpec, toleration: Toleration) {
    let list = spec.tolerations.get_or_insert_with(Vec::new);
    match list.iter_mut().find(|t| same_toleration(t, &toleration)) {
        Some(existing) => *existing = toleration,
        None => list.push(toleration),
    }
}

fn exists(key: &str, effect: &str) -> Toleration {
    Toleration {
        key: Some(key.to_owned()),
        operator: Some("Exists".into()),
        effect: Some(effect.to_owned()),
        ..Toleration::default()
    }
}

/// Upstream's `AddOrUpdateDaemonPodTolerations`: daemon pods tolerate
/// not-ready and unreachable nodes (`NoExecute`), disk / memory / PID
/// pressure and cordoned nodes (`NoSchedule`), and — with host networking —
/// an unavailable network (`NoSchedule`).
pub fn add_daemon_pod_tolerations(spec: &mut PodSpec) {
    for (key, effect) in [
        (TAINT_NODE_NOT_READY, EFFECT_NO_EXECUTE),
        (TAINT_NODE_UNREACHABLE, EFFECT_NO_EXECUTE),
        (TAINT_NODE_DISK_PRESSURE, EFFECT_NO_SCHEDULE),
        (TAINT_NODE_MEMORY_PRESSURE, EFFECT_NO_SCHEDULE),
        (TAINT_NODE_PID_PRESSURE, EFFECT_NO_SCHEDULE),
        (TAINT_NODE_UNSCHEDULABLE, EFFECT_NO_SCHEDULE),
    ] {
        add_or_update_toleration(spec, exists(key, effect));
    }
    if spec.host_network == Some(true) {
        add_or_update_toleration(
            spec,
            exists(TAINT_NODE_NETWORK_UNAVAILABLE, EFFECT_NO_SCHEDULE),
        );
    }
}

/// Whether one node selector requirement holds for `value` (the label's or
/// field's value, `None` when absent).
fn requirement_holds(req: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        op @ ("Gt" | "Lt") => {
            let (Some(v), [bound]) = (value, values) else {
                return false;
            };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) => {
                    if op == "Gt" {
                        v > b
                    } else {
                        v < b
                    }
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a node selector term matches: every label expression and every
/// field expression holds; a term with neither matches nothing.
pub fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let name = node.metadata.name.as_deref();
    exprs
        .iter()
        .all(|r| requirement_holds(r, labels.get(&r.key).map(String::as_str)))
        && fields
            .iter()
            .all(|r| r.key == OBJECT_NAME_FIELD && requirement_holds(r, name))
}

/// Upstream's `GetRequiredNodeAffinity(pod).Match(node)`: the pod's
/// `nodeSelector` labels are all on the node, and any required node
/// affinity has a matching term.
pub fn fits_node_affinity(spec: &PodSpec, node: &Node) -> bool {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    if let Some(selector) = &spec.node_selector
        && !selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    match spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        }) {
        Some(required) => required
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, node)),
        None => true,
    }
}

/// The pod spec a DaemonSet would run on a node: its template's spec with
/// the daemon tolerations added.
pub fn daemon_pod_spec(ds: &DaemonSet) -> PodSpec {
    let mut spec = ds
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.clone())
        .unwrap_or_default();
    add_daemon_pod_tolerations(&mut spec);
    spec
}

/// Upstream's `NodeShouldRunDaemonPod`: `(should_run, should_continue_running)`.
///
/// A pod should run where the template's `nodeName` (if any), node
/// selector and required affinity match and every `NoSchedule` /
/// `NoExecute` taint is tolerated. A pod already there may stay when only
/// `NoSchedule` taints are untolerated.
pub fn node_should_run_daemon_pod(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    should_run_on(&daemon_pod_spec(ds), node)
}

/// [`node_should_run_daemon_pod`] for a [`daemon_pod_spec`] computed once.
pub fn should_run_on(spec: &PodSpec, node: &Node) -> (bool, bool) {
    let node_name = node.metadata.name.as_deref().unwrap_or_default();
    if let Some(pinned) = spec.node_name.as_deref().filter(|n| !n.is_empty())
        && pinned != node_name
    {
        return (false, false);
    }
    if !fits_node_affinity(spec, node) {
        return (false, false);
    }
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    let blocking = find_untolerated_taint(taints, tolerations, |t| {
        t.effect == EFFECT_NO_SCHEDULE || t.effect == EFFECT_NO_EXECUTE
    });
    if blocking.is_some() {
        let evicting =
            find_untolerated_taint(taints, tolerations, |t| t.effect == EFFECT_NO_EXECUTE);
        return (false, evicting.is_none());
    }
    (true, true)
}

fn node_name_term(node: &str) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: OBJECT_NAME_FIELD.into(),
            operator: "In".into(),
            values: Some(vec![node.to_owned()]),
        }]),
        match_expressions: None,
    }
}

/// Upstream's `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required node
/// affinity becomes the single term `metadata.name In [node]` (the node
/// was already checked against the template's own affinity); preferred
/// terms and other affinities are kept.
pub fn pin_to_node(affinity: Option<Affinity>, node: &str) -> Affinity {
    let mut affinity = affinity.unwrap_or_default();
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![node_name_term(node)],
    });
    affinity
}

/// The node a daemon pod is for (upstream's `GetTargetNodeName`): its
/// `nodeName`, or else the single `metadata.name In [node]` field
/// requirement of its required node affinity.
pub fn target_node_name(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(name) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(name.to_owned());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms.iter().find_map(|term| {
        term.match_fields.as_deref()?.iter().find_map(|r| {
            let values = r.values.as_deref().unwrap_or_default();
            (r.key == OBJECT_NAME_FIELD && r.operator == "In" && values.len() == 1)
                .then(|| values[0].clone())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DaemonSetSpec;
    use k8s_openapi::api::core::v1::{NodeSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, labels: &[(&str, &str)], taints: Vec<Taint>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec {
                taints: Some(taints),
                ..NodeSpec::default()
            }),
            status: None,
        }
    }

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: value.map(str::to_owned),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn ds(spec: PodSpec) -> DaemonSet {
        DaemonSet {
            metadata: ObjectMeta {
                name: Some("agent".into()),
                namespace: Some("default".into()),
                ..ObjectMeta::default()
            },
            spec: Some(DaemonSetSpec {
                template: PodTemplateSpec {
                    metadata: None,
                    spec: Some(spec),
                },
                ..DaemonSetSpec::default()
            }),
            status: None,
        }
    }

    fn toleration(key: &str, op: &str, value: Option<&str>, effect: Option<&str>) -> Toleration {
        Toleration {
            key: Some(key.into()).filter(|k: &String| !k.is_empty()),
            operator: Some(op.into()),
            value: value.map(str::to_owned),
            effect: effect.map(str::to_owned),
            toleration_seconds: None,
        }
    }

    #[test]
    fn toleration_matching_follows_upstream() {
        let t = taint("dedicated", Some("gpu"), EFFECT_NO_SCHEDULE);
        assert!(tolerates_taint(
            &toleration("dedicated", "Equal", Some("gpu"), None),
            &t
        ));
        assert!(!tolerates_taint(
            &toleration("dedicated", "Equal", Some("cpu"), None),
            &t
        ));
        assert!(tolerates_taint(
            &toleration("dedicated", "Exists", None, Some(EFFECT_NO_SCHEDULE)),
            &t
        ));
        assert!(!tolerates_taint(
            &toleration("dedicated", "Exists", None, Some(EFFECT_NO_EXECUTE)),
            &t
        ));
        // Empty key with Exists tolerates everything.
        assert!(tolerates_taint(&toleration("", "Exists", None, None), &t));
        assert!(!tolerates_taint(
            &toleration("other", "Exists", None, None),
            &t
        ));
    }

    #[test]
    fn daemon_pods_get_the_default_tolerations() {
        let mut spec = PodSpec::default();
        add_daemon_pod_tolerations(&mut spec);
        let keys: Vec<_> = spec
            .tolerations
            .iter()
            .flatten()
            .map(|t| {
                (
                    t.key.clone().unwrap_or_default(),
                    t.effect.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(keys.len(), 6);
        assert!(keys.contains(&(TAINT_NODE_NOT_READY.into(), EFFECT_NO_EXECUTE.into())));
        assert!(keys.contains(&(TAINT_NODE_UNSCHEDULABLE.into(), EFFECT_NO_SCHEDULE.into())));
        // Idempotent.
        add_daemon_pod_tolerations(&mut spec);
        assert_eq!(spec.tolerations.as_ref().map(Vec::len), Some(6));
        let mut host = PodSpec {
            host_network: Some(true),
            ..PodSpec::default()
        };
        add_daemon_pod_tolerations(&mut host);
        assert!(
            host.tolerations
                .iter()
                .flatten()
                .any(|t| t.key.as_deref() == Some(TAINT_NODE_NETWORK_UNAVAILABLE))
        );
    }

    #[test]
    fn node_selector_and_affinity_filter_nodes() {
        let mut spec = PodSpec {
            node_selector: Some([("disk".to_owned(), "ssd".to_owned())].into()),
            ..PodSpec::default()
        };
        let ssd = node(
            "a",
            &[("disk", "ssd"), ("zone", "z1"), ("cores", "8")],
            vec![],
        );
        let hdd = node("b", &[("disk", "hdd")], vec![]);
        assert_eq!(
            node_should_run_daemon_pod(&ds(spec.clone()), &ssd),
            (true, true)
        );
        assert_eq!(
            node_should_run_daemon_pod(&ds(spec.clone()), &hdd),
            (false, false)
        );
        spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![
                            NodeSelectorRequirement {
                                key: "zone".into(),
                                operator: "NotIn".into(),
                                values: Some(vec!["z2".into()]),
                            },
                            NodeSelectorRequirement {
                                key: "cores".into(),
                                operator: "Gt".into(),
                                values: Some(vec!["4".into()]),
                            },
                        ]),
                        match_fields: None,
                    }],
                }),
                ..NodeAffinity::default()
            }),
            ..Affinity::default()
        });
        assert!(fits_node_affinity(&spec, &ssd));
        let small = node("c", &[("disk", "ssd"), ("cores", "2")], vec![]);
        assert!(!fits_node_affinity(&spec, &small));
    }

    #[test]
    fn taints_block_unless_tolerated() {
        let tainted = node(
            "t",
            &[],
            vec![taint("dedicated", Some("db"), EFFECT_NO_SCHEDULE)],
        );
        assert_eq!(
            node_should_run_daemon_pod(&ds(PodSpec::default()), &tainted),
            (false, true),
            "a NoSchedule taint keeps new pods off but lets running ones stay"
        );
        let evicting = node("e", &[], vec![taint("dedicated", None, EFFECT_NO_EXECUTE)]);
        assert_eq!(
            node_should_run_daemon_pod(&ds(PodSpec::default()), &evicting),
            (false, false)
        );
        let tolerant = PodSpec {
            tolerations: Some(vec![toleration("dedicated", "Exists", None, None)]),
            ..PodSpec::default()
        };
        assert_eq!(
            node_should_run_daemon_pod(&ds(tolerant.clone()), &tainted),
            (true, true)
        );
        assert_eq!(
            node_should_run_daemon_pod(&ds(tolerant), &evicting),
            (true, true)
        );
        // The defaults cover not-ready and cordoned nodes.
        let not_ready = node(
            "n",
            &[],
            vec![
                taint(TAINT_NODE_NOT_READY, None, EFFECT_NO_EXECUTE),
                taint(TAINT_NODE_UNSCHEDULABLE, None, EFFECT_NO_SCHEDULE),
            ],
        );
        assert_eq!(
            node_should_run_daemon_pod(&ds(PodSpec::default()), &not_ready),
            (true, true)
        );
        // PreferNoSchedule never blocks.
        let soft = node("s", &[], vec![taint("x", None, "PreferNoSchedule")]);
        assert_eq!(
            node_should_run_daemon_pod(&ds(PodSpec::default()), &soft),
            (true, true)
        );
    }

    #[test]
    fn template_node_name_pins_the_daemon() {
        let spec = PodSpec {
            node_name: Some("a".into()),
            ..PodSpec::default()
        };
        assert_eq!(
            node_should_run_daemon_pod(&ds(spec.clone()), &node("a", &[], vec![])),
            (true, true)
        );
        assert_eq!(
            node_should_run_daemon_pod(&ds(spec), &node("b", &[], vec![])),
            (false, false)
        );
    }

    #[test]
    fn pinning_affinity_round_trips() {
        let affinity = pin_to_node(None, "node-7");
        let pod = Pod {
            spec: Some(PodSpec {
                affinity: Some(affinity.clone()),
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        assert_eq!(target_node_name(&pod).as_deref(), Some("node-7"));
        let terms = &affinity
            .node_affinity
            .and_then(|a| a.required_during_scheduling_ignored_during_execution)
            .expect("required")
            .node_selector_terms;
        assert_eq!(terms.len(), 1);
        let field = &terms[0].match_fields.as_ref().expect("fields")[0];
        assert_eq!(field.key, "metadata.name");
        assert_eq!(field.operator, "In");
        assert!(term_matches(&terms[0], &node("node-7", &[], vec![])));
        assert!(!term_matches(&terms[0], &node("node-8", &[], vec![])));
        let mut bound = pod.clone();
        if let Some(s) = bound.spec.as_mut() {
            s.node_name = Some("other".into());
        }
        assert_eq!(target_node_name(&bound).as_deref(), Some("other"));
    }
}
