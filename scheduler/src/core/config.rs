//! Scheduler configuration: scoring strategy, plugin weights, how many nodes
//! to score, default topology spreading, preemption candidate limits.

use k8s_openapi::api::core::v1::TopologySpreadConstraint;

/// A resource considered by a scoring strategy, with its weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceWeight {
    /// Resource name (`cpu`, `memory`, `example.com/gpu`...).
    pub name: String,
    /// Weight (> 0).
    pub weight: i64,
}

impl ResourceWeight {
    /// Shorthand constructor.
    pub fn new(name: &str, weight: i64) -> Self {
        ResourceWeight {
            name: name.to_owned(),
            weight,
        }
    }

    /// Upstream's default: cpu and memory, weight 1 each.
    pub fn defaults() -> Vec<Self> {
        vec![Self::new("cpu", 1), Self::new("memory", 1)]
    }
}

/// How NodeResourcesFit scores nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScoringStrategy {
    /// Prefer nodes with the most free capacity (spreading; upstream default).
    LeastAllocated(Vec<ResourceWeight>),
    /// Prefer nodes with the least free capacity (bin packing).
    MostAllocated(Vec<ResourceWeight>),
}

impl Default for ScoringStrategy {
    fn default() -> Self {
        ScoringStrategy::LeastAllocated(ResourceWeight::defaults())
    }
}

/// Weights of the score plugins. A weight of 0 disables that score.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginWeights {
    /// TaintToleration (PreferNoSchedule taints). Default 3.
    pub taint_toleration: i64,
    /// NodeAffinity (preferred terms). Default 2.
    pub node_affinity: i64,
    /// PodTopologySpread (ScheduleAnyway constraints). Default 2.
    pub pod_topology_spread: i64,
    /// InterPodAffinity (preferred terms). Default 2.
    pub inter_pod_affinity: i64,
    /// NodeResourcesFit. Default 1.
    pub node_resources_fit: i64,
    /// NodeResourcesBalancedAllocation. Default 1.
    pub balanced_allocation: i64,
}

impl Default for PluginWeights {
    fn default() -> Self {
        PluginWeights {
            taint_toleration: 3,
            node_affinity: 2,
            pod_topology_spread: 2,
            inter_pod_affinity: 2,
            node_resources_fit: 1,
            balanced_allocation: 1,
        }
    }
}

/// Topology spread constraints applied to pods that declare none.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum DefaultSpreading {
    /// Upstream's system defaults: ScheduleAnyway over hostname (maxSkew 3)
    /// and zone (maxSkew 5), for pods selected by a Service, RC, ReplicaSet or
    /// StatefulSet recorded in the snapshot.
    #[default]
    System,
    /// Custom defaults (their label selectors are ignored and replaced by the
    /// default selector, as upstream does).
    List(Vec<TopologySpreadConstraint>),
    /// No default spreading.
    Disabled,
}

/// Scheduler profile configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// NodeResourcesFit scoring strategy.
    pub scoring_strategy: ScoringStrategy,
    /// Resources considered by NodeResourcesBalancedAllocation.
    pub balanced_allocation_resources: Vec<ResourceWeight>,
    /// Percentage of nodes to find feasible before scoring; 0 means upstream's
    /// adaptive default (50% minus 1% per 125 nodes, at least 5%), and at least
    /// 100 nodes are always searched.
    pub percentage_of_nodes_to_score: u32,
    /// Score plugin weights.
    pub weights: PluginWeights,
    /// Extended resources NodeResourcesFit does not check.
    pub ignored_resources: Vec<String>,
    /// Extended resource groups (the part before `/`) NodeResourcesFit does not check.
    pub ignored_resource_groups: Vec<String>,
    /// InterPodAffinity: weight of existing pods' required affinity terms
    /// that the incoming pod matches (default 1).
    pub hard_pod_affinity_weight: i64,
    /// Default topology spread constraints.
    pub default_spreading: DefaultSpreading,
    /// Preemption: minimum candidates as a percentage of nodes (default 10).
    pub min_candidate_nodes_percentage: usize,
    /// Preemption: minimum candidates in absolute number (default 100).
    pub min_candidate_nodes_absolute: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scoring_strategy: ScoringStrategy::default(),
            balanced_allocation_resources: ResourceWeight::defaults(),
            percentage_of_nodes_to_score: 0,
            weights: PluginWeights::default(),
            ignored_resources: Vec::new(),
            ignored_resource_groups: Vec::new(),
            hard_pod_affinity_weight: 1,
            default_spreading: DefaultSpreading::System,
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
        }
    }
}

/// Below this many nodes every node is searched.
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never goes below this.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// How many feasible nodes to find before the search stops (upstream's
/// `numFeasibleNodesToFind`).
pub fn num_feasible_nodes_to_find(
    percentage_of_nodes_to_score: u32,
    num_all_nodes: usize,
) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut percentage = percentage_of_nodes_to_score.min(100) as usize;
    if percentage == 0 {
        percentage = 50usize
            .saturating_sub(num_all_nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let num = num_all_nodes * percentage / 100;
    num.max(MIN_FEASIBLE_NODES_TO_FIND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_percentage_matches_upstream() {
        assert_eq!(num_feasible_nodes_to_find(0, 50), 50);
        assert_eq!(num_feasible_nodes_to_find(0, 100), 100);
        // 500 nodes: 50 - 4 = 46% -> 230.
        assert_eq!(num_feasible_nodes_to_find(0, 500), 230);
        // 5000 nodes: 50 - 40 = 10% -> 500.
        assert_eq!(num_feasible_nodes_to_find(0, 5000), 500);
        // 6000 nodes: 50 - 48 = 2% -> clamped to 5% -> 300.
        assert_eq!(num_feasible_nodes_to_find(0, 6000), 300);
        // Explicit percentage, with the 100-node floor.
        assert_eq!(num_feasible_nodes_to_find(10, 500), 100);
        assert_eq!(num_feasible_nodes_to_find(100, 500), 500);
    }
}
