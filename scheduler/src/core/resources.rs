//! Resource arithmetic: node allocatable, pod requests as the scheduler counts
//! them, and the resource-name classification rules.
//!
//! Quantities are converted once into the scheduler's integer units: milli-CPU
//! for `cpu`, whole units (bytes, counts) for everything else. Pod requests are
//! aggregated exactly (in nano units) before that conversion, so rounding
//! happens once per pod, as upstream does.

use std::collections::BTreeMap;

use bosun_types::quantity::Quantity as ParsedQuantity;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The `cpu` resource name.
pub const CPU: &str = "cpu";
/// The `memory` resource name.
pub const MEMORY: &str = "memory";
/// The `ephemeral-storage` resource name.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// The `pods` resource name (node capacity only).
pub const PODS: &str = "pods";

/// Milli-CPU assumed for scoring when a container requests no CPU.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory (bytes) assumed for scoring when a container requests no memory (200Mi).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

const NANOS_PER_UNIT: i128 = 1_000_000_000;
const NANOS_PER_MILLI: i128 = 1_000_000;

/// A vector of resources in scheduler units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// CPU in thousandths of a core.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// Number of pods the node accepts (`pods` allocatable); unused for pods.
    pub allowed_pod_number: i64,
    /// Extended, hugepages and other scalar resources by name, in whole units.
    pub scalar: BTreeMap<String, i64>,
}

impl Resource {
    /// The amount of scalar resource `name` (0 when absent).
    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.get(name).copied().unwrap_or(0)
    }

    /// Whether this request asks for nothing at all (no cpu, memory,
    /// ephemeral storage, and no scalar resource entry).
    pub fn is_empty_request(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.is_empty()
    }

    /// Parses a resource list such as a node's `status.allocatable`.
    ///
    /// Unknown non-scalar names are ignored, as upstream does.
    ///
    /// # Errors
    ///
    /// A description of the first quantity that does not parse.
    pub fn from_resource_list(list: &BTreeMap<String, Quantity>) -> Result<Self, String> {
        let mut r = Resource::default();
        for (name, q) in list {
            let nanos = parse_quantity(q).map_err(|e| format!("{name}: {e}"))?;
            match name.as_str() {
                CPU => r.milli_cpu = nanos_to_milli(nanos),
                MEMORY => r.memory = nanos_to_units(nanos),
                EPHEMERAL_STORAGE => r.ephemeral_storage = nanos_to_units(nanos),
                PODS => r.allowed_pod_number = nanos_to_units(nanos),
                other if is_scalar_resource_name(other) => {
                    r.scalar.insert(other.to_owned(), nanos_to_units(nanos));
                }
                _ => {}
            }
        }
        Ok(r)
    }

    /// Adds (`sign` = 1) or subtracts (`sign` = -1) another request.
    pub(crate) fn accumulate(&mut self, other: &Resource, sign: i64) {
        self.milli_cpu = self.milli_cpu.saturating_add(sign * other.milli_cpu);
        self.memory = self.memory.saturating_add(sign * other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(sign * other.ephemeral_storage);
        for (name, v) in &other.scalar {
            if *v == 0 {
                continue;
            }
            let entry = self.scalar.entry(name.clone()).or_insert(0);
            *entry = entry.saturating_add(sign * v);
            if *entry == 0 {
                self.scalar.remove(name);
            }
        }
    }
}

/// Whether `name` is a scalar resource: an extended resource, hugepages, an
/// attachable-volumes count, or a `kubernetes.io/`-prefixed native resource.
pub fn is_scalar_resource_name(name: &str) -> bool {
    is_extended_resource_name(name)
        || name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || name.contains("kubernetes.io/")
}

/// Whether `name` is an extended resource: a domain-qualified name outside the
/// `kubernetes.io/` namespace and not starting with `requests.`.
pub fn is_extended_resource_name(name: &str) -> bool {
    name.contains('/') && !name.contains("kubernetes.io/") && !name.starts_with("requests.")
}

/// Parses a wire quantity into nano units.
///
/// # Errors
///
/// The parser's message when the string is not a valid quantity.
pub fn parse_quantity(q: &Quantity) -> Result<i128, String> {
    ParsedQuantity::parse(&q.0)
        .map(|p| p.nanos())
        .map_err(|e| format!("{:?}: {e}", q.0))
}

fn ceil_div_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 {
        q
    } else if n > 0 {
        q + 1
    } else {
        q - 1
    }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

fn nanos_to_milli(n: i128) -> i64 {
    saturate(ceil_div_away(n, NANOS_PER_MILLI))
}

fn nanos_to_units(n: i128) -> i64 {
    saturate(ceil_div_away(n, NANOS_PER_UNIT))
}

/// A pod's resource footprint as the scheduler accounts it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodResources {
    /// The effective requests (containers, init-container max, sidecars,
    /// pod-level requests, overhead). Used by the fit filter and accounting.
    pub requested: Resource,
    /// CPU requests with 100m assumed for containers that request none; used
    /// for least/most-allocated scoring.
    pub non_zero_milli_cpu: i64,
    /// Memory requests with 200Mi assumed for containers that request none.
    pub non_zero_memory: i64,
}

type Entries<'a> = Vec<(&'a str, i128)>;
type Totals<'a> = BTreeMap<&'a str, i128>;

fn parse_entries<'a>(
    list: Option<&'a BTreeMap<String, Quantity>>,
    path: &dyn Fn() -> String,
    problems: &mut Vec<String>,
) -> Entries<'a> {
    let mut out = Vec::new();
    for (name, q) in list.into_iter().flatten() {
        match parse_quantity(q) {
            Ok(n) if n >= 0 => out.push((name.as_str(), n)),
            Ok(_) => problems.push(format!(
                "{}[{name}]: must be greater than or equal to 0",
                path()
            )),
            Err(e) => problems.push(format!("{}[{name}]: {e}", path())),
        }
    }
    out
}

fn add_into<'a>(acc: &mut Totals<'a>, list: impl IntoIterator<Item = (&'a str, i128)>) {
    for (k, v) in list {
        let e = acc.entry(k).or_insert(0);
        *e = e.saturating_add(v);
    }
}

fn max_into<'a>(acc: &mut Totals<'a>, list: &Totals<'a>) {
    for (k, v) in list {
        match acc.get_mut(k) {
            Some(stored) if *stored >= *v => {}
            Some(stored) => *stored = *v,
            None => {
                acc.insert(k, *v);
            }
        }
    }
}

fn with_defaults<'a>(list: &Entries<'a>, defaults: &[(&'a str, i128)]) -> Entries<'a> {
    let mut out = list.clone();
    for (k, v) in defaults {
        if !list.iter().any(|(name, _)| name == k) {
            out.push((k, *v));
        }
    }
    out
}

/// Upstream's container aggregation: regular containers add up; each init
/// container needs its own request plus all restartable (sidecar) init
/// containers started before it; sidecars also keep running alongside the
/// regular containers; the pod needs the max of both phases.
fn aggregate<'a>(
    containers: &[Entries<'a>],
    inits: &[(Entries<'a>, bool)],
    defaults: &[(&'a str, i128)],
) -> Totals<'a> {
    let mut result = Totals::new();
    for c in containers {
        add_into(&mut result, with_defaults(c, defaults));
    }
    let mut sidecars = Totals::new();
    let mut init_max = Totals::new();
    for (c, restartable) in inits {
        let res = with_defaults(c, defaults);
        if *restartable {
            add_into(&mut result, res.iter().copied());
            add_into(&mut sidecars, res);
            max_into(&mut init_max, &sidecars);
        } else {
            let mut combined = Totals::new();
            add_into(&mut combined, res);
            add_into(&mut combined, sidecars.iter().map(|(k, v)| (*k, *v)));
            max_into(&mut init_max, &combined);
        }
    }
    max_into(&mut result, &init_max);
    result
}

fn is_pod_level_resource(name: &str) -> bool {
    name == CPU || name == MEMORY || name.starts_with("hugepages-")
}

fn is_restartable(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn to_resource(totals: &Totals<'_>) -> Resource {
    let mut r = Resource::default();
    for (name, n) in totals {
        match *name {
            CPU => r.milli_cpu = nanos_to_milli(*n),
            MEMORY => r.memory = nanos_to_units(*n),
            EPHEMERAL_STORAGE => r.ephemeral_storage = nanos_to_units(*n),
            other if is_scalar_resource_name(other) => {
                r.scalar.insert(other.to_owned(), nanos_to_units(*n));
            }
            _ => {}
        }
    }
    r
}

/// Computes a pod's requests the way upstream's scheduler does (limits are
/// ignored). Entries that do not parse are skipped and described in the
/// returned problem list; a pod with problems must not be scheduled, but an
/// already-bound pod is still accounted with what could be parsed.
pub fn compute_pod_resources<'a>(spec: &'a PodSpec) -> (PodResources, Vec<String>) {
    let mut problems = Vec::new();
    let containers: Vec<Entries<'_>> = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            parse_entries(
                c.resources.as_ref().and_then(|r| r.requests.as_ref()),
                &|| format!("spec.containers[{i}].resources.requests"),
                &mut problems,
            )
        })
        .collect();
    let inits: Vec<(Entries<'_>, bool)> = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| {
            (
                parse_entries(
                    c.resources.as_ref().and_then(|r| r.requests.as_ref()),
                    &|| format!("spec.initContainers[{i}].resources.requests"),
                    &mut problems,
                ),
                is_restartable(c),
            )
        })
        .collect();
    let pod_level: Entries<'_> = parse_entries(
        spec.resources.as_ref().and_then(|r| r.requests.as_ref()),
        &|| "spec.resources.requests".to_owned(),
        &mut problems,
    )
    .into_iter()
    .filter(|(name, _)| is_pod_level_resource(name))
    .collect();
    let overhead = parse_entries(
        spec.overhead.as_ref(),
        &|| "spec.overhead".to_owned(),
        &mut problems,
    );
    let pod_level_set = !pod_level.is_empty();

    let finish = |mut totals: Totals<'a>| -> Resource {
        for (name, v) in &pod_level {
            totals.insert(name, *v);
        }
        add_into(&mut totals, overhead.iter().copied());
        to_resource(&totals)
    };

    let raw = aggregate(&containers, &inits, &[]);
    let mut defaults: Vec<(&str, i128)> = Vec::with_capacity(2);
    let has = |name: &str| raw.contains_key(name) || pod_level.iter().any(|(n, _)| *n == name);
    if !pod_level_set || !has(CPU) {
        defaults.push((CPU, i128::from(DEFAULT_MILLI_CPU_REQUEST) * NANOS_PER_MILLI));
    }
    if !pod_level_set || !has(MEMORY) {
        defaults.push((MEMORY, i128::from(DEFAULT_MEMORY_REQUEST) * NANOS_PER_UNIT));
    }
    let requested = finish(raw);
    let non_zero = if defaults.is_empty() {
        requested.clone()
    } else {
        finish(aggregate(&containers, &inits, &defaults))
    };
    (
        PodResources {
            non_zero_milli_cpu: non_zero.milli_cpu,
            non_zero_memory: non_zero.memory,
            requested,
        },
        problems,
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_util::pod;
    use super::*;
    use serde_json::json;

    fn resources(spec: serde_json::Value) -> PodResources {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": spec}));
        let (r, problems) = compute_pod_resources(p.spec.as_ref().expect("spec"));
        assert!(problems.is_empty(), "{problems:?}");
        r
    }

    fn c(name: &str, cpu: &str, mem: &str) -> serde_json::Value {
        json!({"name": name, "resources": {"requests": {"cpu": cpu, "memory": mem}}})
    }

    #[test]
    fn containers_sum_and_init_containers_take_the_max() {
        // Upstream's documented example: result cpu 3, memory 3G.
        let r = resources(json!({
            "initContainers": [c("i1", "2", "1G"), c("i2", "2", "3G")],
            "containers": [c("c1", "2", "1G"), c("c2", "1", "1G")],
        }));
        assert_eq!(r.requested.milli_cpu, 3000);
        assert_eq!(r.requested.memory, 3_000_000_000);
    }

    #[test]
    fn sidecars_add_up_and_count_during_later_init_containers() {
        // sidecar s1 (1 cpu) starts first, then plain init i1 (2 cpu) runs
        // alongside it: init phase needs 3; steady state needs 1 + 1 = 2.
        let r = resources(json!({
            "initContainers": [
                {"name": "s1", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                {"name": "i1", "resources": {"requests": {"cpu": "2"}}},
            ],
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}],
        }));
        assert_eq!(r.requested.milli_cpu, 3000);
        // A big app container dominates instead.
        let r = resources(json!({
            "initContainers": [
                {"name": "s1", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                {"name": "i1", "resources": {"requests": {"cpu": "2"}}},
            ],
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "4"}}}],
        }));
        assert_eq!(r.requested.milli_cpu, 5000);
    }

    #[test]
    fn overhead_is_added_and_limits_are_ignored() {
        let r = resources(json!({
            "overhead": {"cpu": "250m", "memory": "120Mi"},
            "containers": [{"name": "c", "resources": {
                "requests": {"cpu": "500m"}, "limits": {"cpu": "4", "memory": "8Gi"}}}],
        }));
        assert_eq!(r.requested.milli_cpu, 750);
        assert_eq!(r.requested.memory, 120 * 1024 * 1024);
        // Non-zero memory: 200Mi default for the container + overhead.
        assert_eq!(r.non_zero_memory, 320 * 1024 * 1024);
        assert_eq!(r.non_zero_milli_cpu, 750);
    }

    #[test]
    fn non_zero_defaults_apply_per_container_but_not_to_explicit_zero() {
        let r = resources(json!({
            "containers": [
                {"name": "a"},
                {"name": "b", "resources": {"requests": {"cpu": "0", "memory": "1Gi"}}},
            ],
        }));
        assert_eq!(r.requested.milli_cpu, 0);
        assert_eq!(r.non_zero_milli_cpu, 100);
        assert_eq!(r.non_zero_memory, DEFAULT_MEMORY_REQUEST + (1 << 30));
    }

    #[test]
    fn extended_resources_are_scalars() {
        let r = resources(json!({
            "containers": [{"name": "a", "resources": {"requests": {
                "example.com/gpu": "2", "hugepages-2Mi": "4Mi", "foo": "3"}}}],
        }));
        assert_eq!(r.requested.scalar("example.com/gpu"), 2);
        assert_eq!(r.requested.scalar("hugepages-2Mi"), 4 * 1024 * 1024);
        assert_eq!(r.requested.scalar("foo"), 0);
        assert!(is_extended_resource_name("example.com/gpu"));
        assert!(!is_extended_resource_name("kubernetes.io/foo"));
        assert!(is_scalar_resource_name("kubernetes.io/foo"));
    }

    #[test]
    fn pod_level_requests_override_containers() {
        let r = resources(json!({
            "resources": {"requests": {"cpu": "2"}},
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "500m"}}}],
        }));
        assert_eq!(r.requested.milli_cpu, 2000);
        assert_eq!(r.non_zero_milli_cpu, 2000);
        assert_eq!(r.non_zero_memory, DEFAULT_MEMORY_REQUEST);
    }

    #[test]
    fn bad_quantities_are_reported_not_panicked() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "lots", "memory": "-1"}}}]}}));
        let (r, problems) = compute_pod_resources(p.spec.as_ref().expect("spec"));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("spec.containers[0].resources.requests[cpu]"));
        assert_eq!(r.requested.milli_cpu, 0);
    }

    #[test]
    fn sub_milli_requests_round_once_per_pod() {
        let r = resources(json!({"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "500u"}}},
            {"name": "b", "resources": {"requests": {"cpu": "500u"}}}]}));
        assert_eq!(r.requested.milli_cpu, 1);
    }
}
