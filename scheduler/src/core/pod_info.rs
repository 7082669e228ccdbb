//! Per-pod facts parsed once: requests, host ports, priority, and inter-pod
//! affinity terms with their selectors compiled.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bosun_types::labels::Selector;
use bosun_types::labels::wire::selector_from_wire;
use k8s_openapi::api::core::v1::{Node, Pod, PodAffinityTerm, WeightedPodAffinityTerm};
use k8s_openapi::jiff::Timestamp;

use super::resources::{PodResources, compute_pod_resources};

/// Labels of namespaces by name, used by affinity terms' namespace selectors.
pub type NamespaceLabels = HashMap<String, BTreeMap<String, String>>;

static EMPTY_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// The pod's labels (empty when unset).
pub fn pod_labels(pod: &Pod) -> &BTreeMap<String, String> {
    pod.metadata.labels.as_ref().unwrap_or(&EMPTY_LABELS)
}

/// The pod's namespace (`default` when unset).
pub fn pod_namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("default")
}

/// The pod's name (empty when unset).
pub fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("")
}

/// The pod's priority (`spec.priority`, 0 when unset).
pub fn pod_priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

/// The key identifying a pod in the cache: its UID, or `namespace/name` when
/// the UID is not set (hand-built objects).
pub fn pod_key(pod: &Pod) -> String {
    match pod.metadata.uid.as_deref() {
        Some(uid) if !uid.is_empty() => uid.to_owned(),
        _ => format!("{}/{}", pod_namespace(pod), pod_name(pod)),
    }
}

/// The node's labels (empty when unset).
pub fn node_labels(node: &Node) -> &BTreeMap<String, String> {
    node.metadata.labels.as_ref().unwrap_or(&EMPTY_LABELS)
}

fn namespace_labels<'a>(namespaces: &'a NamespaceLabels, ns: &str) -> &'a BTreeMap<String, String> {
    namespaces.get(ns).unwrap_or(&EMPTY_LABELS)
}

/// A host port a pod binds, normalised (`0.0.0.0` and `TCP` defaults).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host IP (`0.0.0.0` means all addresses).
    pub ip: String,
    /// Protocol (`TCP`, `UDP`, `SCTP`).
    pub protocol: String,
    /// Port number (> 0).
    pub port: i32,
}

/// The wildcard host IP.
pub const BIND_ALL_HOST_IP: &str = "0.0.0.0";

impl HostPort {
    /// Builds a normalised host port.
    pub fn new(ip: Option<&str>, protocol: Option<&str>, port: i32) -> Self {
        HostPort {
            ip: match ip {
                Some(ip) if !ip.is_empty() => ip.to_owned(),
                _ => BIND_ALL_HOST_IP.to_owned(),
            },
            protocol: match protocol {
                Some(p) if !p.is_empty() => p.to_owned(),
                _ => "TCP".to_owned(),
            },
            port,
        }
    }

    /// Whether binding `self` conflicts with the already used port `used`.
    pub fn conflicts_with(&self, used: &HostPort) -> bool {
        if self.port <= 0 || self.port != used.port || self.protocol != used.protocol {
            return false;
        }
        self.ip == BIND_ALL_HOST_IP || used.ip == BIND_ALL_HOST_IP || self.ip == used.ip
    }
}

/// Host ports of regular containers and of restartable (sidecar) init containers.
pub fn pod_host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    sidecars
        .chain(spec.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| {
            HostPort::new(
                p.host_ip.as_deref(),
                p.protocol.as_deref(),
                p.host_port.unwrap_or(0),
            )
        })
        .collect()
}

/// A compiled pod (anti-)affinity term.
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    /// Namespaces the term applies to (explicit list, or the owner's namespace
    /// when neither a list nor a namespace selector is given).
    pub namespaces: Vec<String>,
    /// Pods matching this selector are the term's subjects.
    pub selector: Selector,
    /// Namespaces whose labels match this selector are included too
    /// (`nothing` when the term has no namespace selector).
    pub namespace_selector: Selector,
    /// The node label defining the topology domain.
    pub topology_key: String,
}

impl AffinityTerm {
    fn compile(owner_namespace: &str, term: &PodAffinityTerm) -> Result<Self, String> {
        let selector =
            selector_from_wire(term.label_selector.as_ref()).map_err(|e| e.to_string())?;
        let namespace_selector =
            selector_from_wire(term.namespace_selector.as_ref()).map_err(|e| e.to_string())?;
        let listed = term.namespaces.clone().unwrap_or_default();
        let namespaces = if listed.is_empty() && term.namespace_selector.is_none() {
            vec![owner_namespace.to_owned()]
        } else {
            listed
        };
        Ok(AffinityTerm {
            namespaces,
            selector,
            namespace_selector,
            topology_key: term.topology_key.clone(),
        })
    }

    /// Whether `pod` is a subject of this term (namespace and labels).
    pub fn matches(&self, pod: &Pod, namespaces: &NamespaceLabels) -> bool {
        self.matches_labels(pod_namespace(pod), pod_labels(pod), namespaces)
    }

    /// Whether a pod in namespace `ns` with `labels` is a subject of this term.
    pub fn matches_labels(
        &self,
        ns: &str,
        labels: &BTreeMap<String, String>,
        namespaces: &NamespaceLabels,
    ) -> bool {
        let in_namespace = self.namespaces.iter().any(|n| n == ns)
            || (!self.namespace_selector.matches_nothing()
                && self
                    .namespace_selector
                    .matches(namespace_labels(namespaces, ns)));
        in_namespace && self.selector.matches(labels)
    }
}

/// An [`AffinityTerm`] with its preference weight.
#[derive(Clone, Debug)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Its weight (1..100).
    pub weight: i64,
}

/// Everything the scheduler derives from a pod spec, computed once.
#[derive(Clone, Debug, Default)]
pub struct PodFacts {
    /// Cache key (UID or `namespace/name`).
    pub key: String,
    /// Priority.
    pub priority: i32,
    /// `status.startTime` (None: not started, treated as "now").
    pub start_time: Option<Timestamp>,
    /// Whether the pod is being deleted.
    pub terminating: bool,
    /// Requests as the scheduler counts them.
    pub resources: PodResources,
    /// Host ports used.
    pub host_ports: Vec<HostPort>,
    /// Required pod affinity terms.
    pub required_affinity_terms: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity_terms: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity_terms: Vec<WeightedAffinityTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity_terms: Vec<WeightedAffinityTerm>,
    /// Whether the pod has `podAffinity` or `podAntiAffinity` at all.
    pub has_affinity: bool,
    /// Problems found while parsing (unparseable quantities, bad selectors).
    pub problems: Vec<String>,
}

fn compile_terms(
    ns: &str,
    terms: Option<&Vec<PodAffinityTerm>>,
    path: &str,
    problems: &mut Vec<String>,
) -> Vec<AffinityTerm> {
    let mut out = Vec::new();
    for (i, t) in terms.into_iter().flatten().enumerate() {
        match AffinityTerm::compile(ns, t) {
            Ok(t) => out.push(t),
            Err(e) => problems.push(format!("{path}[{i}]: {e}")),
        }
    }
    out
}

fn compile_weighted(
    ns: &str,
    terms: Option<&Vec<WeightedPodAffinityTerm>>,
    path: &str,
    problems: &mut Vec<String>,
) -> Vec<WeightedAffinityTerm> {
    let mut out = Vec::new();
    for (i, t) in terms.into_iter().flatten().enumerate() {
        match AffinityTerm::compile(ns, &t.pod_affinity_term) {
            Ok(term) => out.push(WeightedAffinityTerm {
                term,
                weight: i64::from(t.weight),
            }),
            Err(e) => problems.push(format!("{path}[{i}].podAffinityTerm: {e}")),
        }
    }
    out
}

impl PodFacts {
    /// Parses `pod`. Never fails: problems are collected in `problems`.
    pub fn new(pod: &Pod) -> Self {
        let mut problems = Vec::new();
        let ns = pod_namespace(pod);
        let (resources, resource_problems) = match pod.spec.as_ref() {
            Some(spec) => compute_pod_resources(spec),
            None => (PodResources::default(), vec!["spec is missing".to_owned()]),
        };
        problems.extend(resource_problems);
        let affinity = pod.spec.as_ref().and_then(|s| s.affinity.as_ref());
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        const BASE: &str = "spec.affinity";
        PodFacts {
            key: pod_key(pod),
            priority: pod_priority(pod),
            start_time: pod
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map(|t| t.0),
            terminating: pod.metadata.deletion_timestamp.is_some(),
            resources,
            host_ports: pod_host_ports(pod),
            required_affinity_terms: compile_terms(
                ns,
                pa.and_then(|a| {
                    a.required_during_scheduling_ignored_during_execution
                        .as_ref()
                }),
                &format!("{BASE}.podAffinity.requiredDuringSchedulingIgnoredDuringExecution"),
                &mut problems,
            ),
            required_anti_affinity_terms: compile_terms(
                ns,
                paa.and_then(|a| {
                    a.required_during_scheduling_ignored_during_execution
                        .as_ref()
                }),
                &format!("{BASE}.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"),
                &mut problems,
            ),
            preferred_affinity_terms: compile_weighted(
                ns,
                pa.and_then(|a| {
                    a.preferred_during_scheduling_ignored_during_execution
                        .as_ref()
                }),
                &format!("{BASE}.podAffinity.preferredDuringSchedulingIgnoredDuringExecution"),
                &mut problems,
            ),
            preferred_anti_affinity_terms: compile_weighted(
                ns,
                paa.and_then(|a| {
                    a.preferred_during_scheduling_ignored_during_execution
                        .as_ref()
                }),
                &format!("{BASE}.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"),
                &mut problems,
            ),
            has_affinity: pa.is_some() || paa.is_some(),
            problems,
        }
    }

    /// Whether the pod has required anti-affinity terms.
    pub fn has_required_anti_affinity(&self) -> bool {
        !self.required_anti_affinity_terms.is_empty()
    }
}

/// A pod placed (bound or assumed) on a node, with its parsed facts.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The pod object.
    pub pod: Arc<Pod>,
    /// Its parsed facts.
    pub facts: PodFacts,
}

impl PodInfo {
    /// Parses `pod`.
    pub fn new(pod: Arc<Pod>) -> Self {
        let facts = PodFacts::new(&pod);
        PodInfo { pod, facts }
    }
}

/// Ordering used by preemption: higher priority first, then the pod that
/// started earlier (a pod without start time counts as starting now).
pub fn more_important(a: &PodFacts, b: &PodFacts) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then_with(|| match (a.start_time, b.start_time) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        })
}
