//! NodeResourcesFit: the node must have room for the pod's requests (filter);
//! LeastAllocated or MostAllocated scoring.

use std::borrow::Cow;

use super::super::config::{Config, ResourceWeight, ScoringStrategy};
use super::super::framework::{Code, Status};
use super::super::node_info::NodeInfo;
use super::super::resources::{
    CPU, EPHEMERAL_STORAGE, MEMORY, PodResources, Resource, is_extended_resource_name,
    is_scalar_resource_name,
};
use super::normalize::MAX_NODE_SCORE;

/// Plugin name.
pub const NAME: &str = "NodeResourcesFit";
/// Failure reason when the node's pod count is exhausted.
pub const ERR_REASON_TOO_MANY_PODS: &str = "Too many pods";

/// Resources the fit filter ignores.
#[derive(Clone, Debug, Default)]
pub struct IgnoredResources {
    names: Vec<String>,
    groups: Vec<String>,
}

impl IgnoredResources {
    /// From the configuration.
    pub fn from_config(config: &Config) -> Self {
        IgnoredResources {
            names: config.ignored_resources.clone(),
            groups: config.ignored_resource_groups.clone(),
        }
    }

    fn ignores(&self, name: &str) -> bool {
        if !is_extended_resource_name(name) {
            return false;
        }
        let group = name.split('/').next().unwrap_or("");
        self.names.iter().any(|n| n == name) || self.groups.iter().any(|g| g == group)
    }
}

/// Filter: too many pods, or not enough of a requested resource. The status is
/// unresolvable when the pod asks for more than the node's whole allocatable
/// (no preemption can help), resolvable otherwise.
pub fn filter(request: &Resource, ignored: &IgnoredResources, node: &NodeInfo) -> Option<Status> {
    let alloc = node.allocatable();
    let used = node.requested();
    let mut reasons: Vec<Cow<'static, str>> = Vec::new();
    let mut unresolvable = false;
    if node.pods().len() as i64 + 1 > alloc.allowed_pod_number {
        reasons.push(Cow::Borrowed(ERR_REASON_TOO_MANY_PODS));
    }
    if !request.is_empty_request() {
        let mut check = |req: i64, alloc: i64, used: i64, reason: Cow<'static, str>| {
            if req > 0 && req > alloc.saturating_sub(used) {
                unresolvable |= req > alloc;
                reasons.push(reason);
            }
        };
        check(
            request.milli_cpu,
            alloc.milli_cpu,
            used.milli_cpu,
            Cow::Borrowed("Insufficient cpu"),
        );
        check(
            request.memory,
            alloc.memory,
            used.memory,
            Cow::Borrowed("Insufficient memory"),
        );
        check(
            request.ephemeral_storage,
            alloc.ephemeral_storage,
            used.ephemeral_storage,
            Cow::Borrowed("Insufficient ephemeral-storage"),
        );
        for (name, &q) in &request.scalar {
            if q == 0 || ignored.ignores(name) {
                continue;
            }
            let (a, u) = (alloc.scalar(name), used.scalar(name));
            if q > a.saturating_sub(u) {
                unresolvable |= q > a;
                reasons.push(Cow::Owned(format!("Insufficient {name}")));
            }
        }
    }
    if reasons.is_empty() {
        return None;
    }
    Some(Status {
        code: if unresolvable {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        },
        reasons,
        plugin: NAME,
    })
}

/// The pod's request for each scored resource. With `use_requested` false
/// (least/most allocated), cpu and memory use the non-zero defaults.
pub fn pod_requests_for(
    resources: &[ResourceWeight],
    pod: &PodResources,
    use_requested: bool,
) -> Vec<i64> {
    resources
        .iter()
        .map(|r| match r.name.as_str() {
            CPU if !use_requested => pod.non_zero_milli_cpu,
            MEMORY if !use_requested => pod.non_zero_memory,
            CPU => pod.requested.milli_cpu,
            MEMORY => pod.requested.memory,
            EPHEMERAL_STORAGE => pod.requested.ephemeral_storage,
            other => pod.requested.scalar(other),
        })
        .collect()
}

/// Upstream's `calculateResourceAllocatableRequest`: (allocatable, requested
/// including the pod) for one resource on one node, or (0, 0) when the
/// resource is not scored on this node.
pub fn allocatable_and_requested(
    node: &NodeInfo,
    name: &str,
    pod_request: i64,
    use_requested: bool,
) -> (i64, i64) {
    if pod_request == 0 && is_scalar_resource_name(name) {
        return (0, 0);
    }
    let alloc = node.allocatable();
    let (cpu_used, mem_used) = if use_requested {
        (node.requested().milli_cpu, node.requested().memory)
    } else {
        let nz = node.non_zero_requested();
        (nz.milli_cpu, nz.memory)
    };
    match name {
        CPU => (alloc.milli_cpu, cpu_used.saturating_add(pod_request)),
        MEMORY => (alloc.memory, mem_used.saturating_add(pod_request)),
        EPHEMERAL_STORAGE => (
            alloc.ephemeral_storage,
            node.requested()
                .ephemeral_storage
                .saturating_add(pod_request),
        ),
        other => match alloc.scalar.get(other) {
            Some(&a) => (
                a,
                node.requested().scalar(other).saturating_add(pod_request),
            ),
            None => (0, 0),
        },
    }
}

fn scale(part: i64, whole: i64) -> i64 {
    // part * 100 / whole without overflow; 128-bit division (a library
    // call) only when the product does not fit.
    match part.checked_mul(MAX_NODE_SCORE) {
        Some(product) => product / whole,
        None => i64::try_from(i128::from(part) * i128::from(MAX_NODE_SCORE) / i128::from(whole))
            .unwrap_or(0),
    }
}

fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    scale(capacity - requested, capacity)
}

fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    scale(requested.min(capacity), capacity)
}

fn weighted(
    resources: &[ResourceWeight],
    pod_requests: &[i64],
    node: &NodeInfo,
    per_resource: fn(i64, i64) -> i64,
) -> i64 {
    let (mut total, mut weights) = (0i64, 0i64);
    for (r, &req) in resources.iter().zip(pod_requests) {
        let (alloc, requested) = allocatable_and_requested(node, &r.name, req, false);
        if alloc == 0 {
            continue;
        }
        total += per_resource(requested, alloc) * r.weight;
        weights += r.weight;
    }
    if weights == 0 { 0 } else { total / weights }
}

/// Precomputed scoring inputs for one pod.
#[derive(Clone, Debug)]
pub struct FitScorer<'a> {
    strategy: &'a ScoringStrategy,
    pod_requests: Vec<i64>,
}

impl<'a> FitScorer<'a> {
    /// Prepares scoring of `pod` with `strategy`.
    pub fn new(strategy: &'a ScoringStrategy, pod: &PodResources) -> Self {
        let resources = match strategy {
            ScoringStrategy::LeastAllocated(r) | ScoringStrategy::MostAllocated(r) => r,
        };
        FitScorer {
            strategy,
            pod_requests: pod_requests_for(resources, pod, false),
        }
    }

    /// Score of `node` in 0..=100.
    pub fn score(&self, node: &NodeInfo) -> i64 {
        match self.strategy {
            ScoringStrategy::LeastAllocated(r) => {
                weighted(r, &self.pod_requests, node, least_requested_score)
            }
            ScoringStrategy::MostAllocated(r) => {
                weighted(r, &self.pod_requests, node, most_requested_score)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::pod_info::PodFacts;
    use super::super::super::test_util::{node_json, pod, pod_with_requests};
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn node_info(cpu: &str, mem: &str, pods: i64, extra: serde_json::Value) -> NodeInfo {
        let mut alloc = json!({"cpu": cpu, "memory": mem, "pods": pods.to_string()});
        if let (Some(a), Some(e)) = (alloc.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        NodeInfo::new(Arc::new(node_json(
            json!({"metadata": {"name": "n"}, "status": {"allocatable": alloc}}),
        )))
    }

    fn check(p: &k8s_openapi::api::core::v1::Pod, n: &NodeInfo) -> Option<Status> {
        let facts = PodFacts::new(p);
        filter(&facts.resources.requested, &IgnoredResources::default(), n)
    }

    #[test]
    fn cpu_and_memory_shortfalls_are_listed() {
        let mut n = node_info("2", "4Gi", 110, json!({}));
        n.add_pod(&pod_with_requests("a", "1500m", "3Gi"));
        assert!(check(&pod_with_requests("b", "500m", "1Gi"), &n).is_none());
        let st = check(&pod_with_requests("b", "600m", "2Gi"), &n).expect("fails");
        assert_eq!(st.reasons, ["Insufficient cpu", "Insufficient memory"]);
        assert_eq!(st.code, Code::Unschedulable);
        // More than the whole node: preemption cannot help.
        let st = check(&pod_with_requests("b", "3", "1Mi"), &n).expect("fails");
        assert_eq!(st.code, Code::UnschedulableAndUnresolvable);
    }

    #[test]
    fn init_container_max_and_sidecars_and_overhead_decide_fit() {
        let n = node_info("3", "4Gi", 110, json!({}));
        // Init container needs 3 cpu, app 1: max is 3 -> fits exactly.
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "3"}}}],
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}}));
        assert!(check(&p, &n).is_none());
        // A sidecar of 1 cpu started before that init container: 4 > 3.
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [
                {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                {"name": "i", "resources": {"requests": {"cpu": "3"}}}],
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}}));
        assert_eq!(
            check(&p, &n).map(|s| s.reasons),
            Some(vec!["Insufficient cpu".into()])
        );
        // Overhead pushes a 2.5-cpu pod over 3.
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"overhead": {"cpu": "600m"},
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "2500m"}}}]}}),
        );
        assert!(check(&p, &n).is_some());
    }

    #[test]
    fn pod_count_limit() {
        let mut n = node_info("8", "8Gi", 2, json!({}));
        n.add_pod(&pod_with_requests("a", "1", "1Gi"));
        n.add_pod(&pod_with_requests("b", "1", "1Gi"));
        let empty =
            pod(json!({"metadata": {"name": "e"}, "spec": {"containers": [{"name": "c"}]}}));
        let st = check(&empty, &n).expect("fails");
        assert_eq!(st.reasons, [ERR_REASON_TOO_MANY_PODS]);
        assert_eq!(st.code, Code::Unschedulable);
    }

    #[test]
    fn extended_resources_and_ignores() {
        let n = node_info("8", "8Gi", 110, json!({"example.com/gpu": "2"}));
        let gpu = |count: &str| {
            pod(json!({"metadata": {"name": "g"}, "spec": {"containers": [
                {"name": "c", "resources": {"requests": {"example.com/gpu": count}}}]}}))
        };
        assert!(check(&gpu("2"), &n).is_none());
        let st = check(&gpu("3"), &n).expect("fails");
        assert_eq!(st.reasons, ["Insufficient example.com/gpu"]);
        let other = pod(json!({"metadata": {"name": "o"}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"other.io/fpga": "1"}}}]}}));
        assert!(check(&other, &n).is_some());
        let ignored = IgnoredResources {
            names: vec![],
            groups: vec!["other.io".into()],
        };
        let facts = PodFacts::new(&other);
        assert!(filter(&facts.resources.requested, &ignored, &n).is_none());
    }

    #[test]
    fn least_and_most_allocated_order_nodes_oppositely() {
        let mut busy = node_info("4", "8Gi", 110, json!({}));
        busy.add_pod(&pod_with_requests("a", "3", "6Gi"));
        let idle = node_info("4", "8Gi", 110, json!({}));
        let incoming = PodFacts::new(&pod_with_requests("p", "1", "1Gi"));
        let least = ScoringStrategy::LeastAllocated(ResourceWeight::defaults());
        let most = ScoringStrategy::MostAllocated(ResourceWeight::defaults());
        let ls = FitScorer::new(&least, &incoming.resources);
        let ms = FitScorer::new(&most, &incoming.resources);
        // idle: cpu (4000-1000)*100/4000 = 75, mem (8-1)/8 -> 87; avg 81.
        assert_eq!(ls.score(&idle), 81);
        // busy: cpu 0, mem (8-7)/8 -> 12; avg 6.
        assert_eq!(ls.score(&busy), 6);
        assert!(ms.score(&busy) > ms.score(&idle));
        assert_eq!(ms.score(&busy), 93);
    }

    #[test]
    fn zero_request_pods_score_with_defaults() {
        let n = node_info("1", "1Gi", 110, json!({}));
        let facts = PodFacts::new(&pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}),
        ));
        let least = ScoringStrategy::LeastAllocated(ResourceWeight::defaults());
        // cpu (1000-100)/1000 = 90; mem (1024-200)/1024 -> 80; avg 85.
        assert_eq!(FitScorer::new(&least, &facts.resources).score(&n), 85);
    }
}
