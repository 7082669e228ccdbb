//! NodeResourcesBalancedAllocation: prefer nodes whose resource utilisation
//! fractions stay close to each other (score = (1 - std deviation) * 100).

use super::super::config::ResourceWeight;
use super::super::node_info::NodeInfo;
use super::super::resources::PodResources;
use super::node_resources_fit::{allocatable_and_requested, pod_requests_for};
use super::normalize::MAX_NODE_SCORE;

/// Plugin name.
pub const NAME: &str = "NodeResourcesBalancedAllocation";

/// Precomputed inputs for one pod.
#[derive(Clone, Debug)]
pub struct BalancedScorer<'a> {
    resources: &'a [ResourceWeight],
    pod_requests: Vec<i64>,
}

impl<'a> BalancedScorer<'a> {
    /// Prepares scoring; `None` (skip) for best-effort pods, which upstream
    /// does not score so they do not pile onto one node.
    pub fn new(resources: &'a [ResourceWeight], pod: &PodResources) -> Option<Self> {
        let pod_requests = pod_requests_for(resources, pod, true);
        if pod_requests.iter().all(|r| *r == 0) {
            return None;
        }
        Some(BalancedScorer {
            resources,
            pod_requests,
        })
    }

    /// Score of `node` in 0..=100.
    pub fn score(&self, node: &NodeInfo) -> i64 {
        let mut fractions: Vec<f64> = Vec::with_capacity(self.resources.len());
        for (r, &req) in self.resources.iter().zip(&self.pod_requests) {
            let (alloc, requested) = allocatable_and_requested(node, &r.name, req, true);
            if alloc == 0 {
                continue;
            }
            fractions.push((requested as f64 / alloc as f64).min(1.0));
        }
        let std = match fractions.as_slice() {
            [a, b] => ((a - b) / 2.0).abs(),
            f if f.len() > 2 => {
                let mean = f.iter().sum::<f64>() / f.len() as f64;
                (f.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / f.len() as f64).sqrt()
            }
            _ => 0.0,
        };
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::pod_info::PodFacts;
    use super::super::super::test_util::{node, pod, pod_with_requests};
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn balanced_usage_scores_higher() {
        let res = ResourceWeight::defaults();
        let incoming = PodFacts::new(&pod_with_requests("p", "1", "2Gi"));
        let scorer = BalancedScorer::new(&res, &incoming.resources).expect("not best effort");
        // Node 4 cpu / 8Gi: fractions 0.25 and 0.25 -> 100.
        let even = NodeInfo::new(Arc::new(node("a", "4", "8Gi", 110)));
        assert_eq!(scorer.score(&even), 100);
        // Existing pod makes cpu 3/4 vs memory 2/8: std 0.25 -> 75.
        let mut skewed = NodeInfo::new(Arc::new(node("b", "4", "8Gi", 110)));
        skewed.add_pod(&pod_with_requests("x", "2", "0"));
        assert_eq!(scorer.score(&skewed), 75);
    }

    #[test]
    fn best_effort_pods_are_skipped() {
        let res = ResourceWeight::defaults();
        let be = PodFacts::new(&pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}),
        ));
        assert!(BalancedScorer::new(&res, &be.resources).is_none());
    }
}
