//! The per-pod scheduling algorithm (upstream's `schedulePod`): pre-filter
//! once, filter nodes from a rotating start index until enough feasible ones
//! are found, score them, and pick the best with a random tie-break. Nodes
//! expecting nominated pods of equal or higher priority are filtered with
//! those pods counted.

use std::borrow::Cow;

use k8s_openapi::api::core::v1::Pod;

use super::config::{Config, num_feasible_nodes_to_find};
use super::framework::{CycleState, Diagnosis, FitError, POD_VALIDITY, Status};
use super::node_info::NodeInfo;
use super::plugins::node_affinity;
use super::rng::XorShiftRng;
use super::snapshot::Snapshot;

/// A successful placement decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The chosen node.
    pub node_name: String,
    /// Nodes the filters ran on.
    pub evaluated_nodes: usize,
    /// Nodes that passed every filter.
    pub feasible_nodes: usize,
    /// Where the next cycle should start scanning nodes.
    pub next_start_index: usize,
}

/// Schedules `pod` onto one node of `snapshot`.
///
/// `start_index` is the rotating scan position carried between cycles (use the
/// returned `next_start_index`, also present on the error). Randomness for tie
/// breaks comes from `rng`.
///
/// # Errors
///
/// A [`FitError`] describing why no node fits; malformed pods produce one too.
pub fn schedule(
    pod: &Pod,
    snapshot: &Snapshot,
    config: &Config,
    rng: &mut XorShiftRng,
    start_index: usize,
) -> Result<ScheduleResult, FitError> {
    let num_all = snapshot.num_nodes();
    let fit_error = |diagnosis: Diagnosis, next_start_index: usize| FitError {
        num_all_nodes: num_all,
        diagnosis: Box::new(diagnosis),
        next_start_index,
    };
    if num_all == 0 {
        return Err(fit_error(Diagnosis::default(), 0));
    }
    let (cs, dynamic) = match CycleState::prefilter(pod, snapshot, config) {
        Ok(v) => v,
        Err(msg) => {
            let diagnosis = Diagnosis {
                absent_nodes_status: Some(Status::unresolvable(POD_VALIDITY, msg.clone())),
                pre_filter_msg: Some(msg),
                ..Default::default()
            };
            return Err(fit_error(diagnosis, start_index % num_all));
        }
    };

    // A node nominated by an earlier preemption is tried first.
    let nominated = snapshot
        .nominated_node(pod)
        .and_then(|n| snapshot.node_info(n));
    if let Some(node) = nominated
        && cs.filter_with_nominated(&dynamic, node).is_none()
    {
        return Ok(ScheduleResult {
            node_name: node.name().to_owned(),
            evaluated_nodes: 1,
            feasible_nodes: 1,
            next_start_index: start_index % num_all,
        });
    }

    let mut diagnosis = Diagnosis::default();
    let candidates: Cow<'_, [usize]> = match &cs.node_affinity.node_names {
        Some(names) => {
            diagnosis.absent_nodes_status = Some(Status::unresolvable(
                node_affinity::NAME,
                format!("node(s) didn't satisfy plugin(s) [{}]", node_affinity::NAME),
            ));
            Cow::Owned(
                names
                    .iter()
                    .filter_map(|n| snapshot.node_index(n))
                    .collect(),
            )
        }
        None => Cow::Borrowed(snapshot.iteration_order()),
    };
    let len = candidates.len();
    let to_find = num_feasible_nodes_to_find(config.percentage_of_nodes_to_score, len);
    let mut feasible: Vec<&NodeInfo> = Vec::with_capacity(to_find.min(len));
    // Rejected nodes are named only if the pod fits nowhere.
    let mut rejected: Vec<(&NodeInfo, Status)> = Vec::new();
    if to_find > 0 {
        for i in 0..len {
            let node = &snapshot.nodes()[candidates[(start_index + i) % len]];
            match cs.filter_with_nominated(&dynamic, node) {
                None => {
                    feasible.push(node);
                    if feasible.len() >= to_find {
                        break;
                    }
                }
                Some(status) => rejected.push((node, status)),
            }
        }
    }
    let evaluated = feasible.len() + rejected.len();
    let next_start_index = (start_index + evaluated) % num_all;

    match feasible.len() {
        0 => {
            diagnosis.node_to_status = rejected
                .into_iter()
                .map(|(node, status)| (node.name().to_owned(), status))
                .collect();
            Err(fit_error(diagnosis, next_start_index))
        }
        1 => Ok(ScheduleResult {
            node_name: feasible[0].name().to_owned(),
            evaluated_nodes: evaluated,
            feasible_nodes: 1,
            next_start_index,
        }),
        n => {
            let scores = cs.score(&feasible);
            let best = select_host(&scores, rng);
            Ok(ScheduleResult {
                node_name: feasible[best].name().to_owned(),
                evaluated_nodes: evaluated,
                feasible_nodes: n,
                next_start_index,
            })
        }
    }
}

/// Index of the highest score; ties are broken uniformly at random
/// (reservoir sampling over the tied nodes).
pub fn select_host(scores: &[i64], rng: &mut XorShiftRng) -> usize {
    let Some(&max) = scores.iter().max() else {
        return 0;
    };
    let mut seen = 0;
    let mut chosen = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s == max {
            seen += 1;
            if rng.below(seen) == 0 {
                chosen = i;
            }
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::super::config::{ResourceWeight, ScoringStrategy};
    use super::super::test_util::{node, node_json, node_with_labels, pod, pod_with_requests};
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn cluster(n: usize, cpu: &str) -> Snapshot {
        let mut s = Snapshot::new();
        for i in 0..n {
            s.upsert_node(node(&format!("n{i}"), cpu, "8Gi", 110))
                .expect("node");
        }
        s
    }

    #[test]
    fn fit_error_message_for_insufficient_cpu() {
        let s = cluster(3, "1");
        let err = schedule(
            &pod_with_requests("p", "2", "1Gi"),
            &s,
            &Config::default(),
            &mut XorShiftRng::new(1),
            0,
        )
        .expect_err("no fit");
        assert_eq!(
            err.to_string(),
            "0/3 nodes are available: 3 Insufficient cpu."
        );
        assert_eq!(err.diagnosis.node_to_status.len(), 3);
    }

    #[test]
    fn mixed_reasons_are_counted() {
        let mut s = cluster(2, "1");
        s.upsert_node(node_json(
            json!({"metadata": {"name": "cordoned"}, "spec": {"unschedulable": true},
            "status": {"allocatable": {"cpu": "8", "memory": "8Gi", "pods": "110"}}}),
        ))
        .expect("node");
        s.upsert_node(node_json(
            json!({"metadata": {"name": "tainted"}, "spec": {"taints": [
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "8", "memory": "8Gi", "pods": "110"}}}),
        ))
        .expect("node");
        let err = schedule(
            &pod_with_requests("p", "2", "1Gi"),
            &s,
            &Config::default(),
            &mut XorShiftRng::new(1),
            0,
        )
        .expect_err("no fit");
        assert_eq!(
            err.to_string(),
            "0/4 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable, \
             2 Insufficient cpu."
        );
    }

    #[test]
    fn least_allocated_spreads_and_most_allocated_packs() {
        let mut s = cluster(2, "4");
        s.add_pod(Arc::new(pod(json!({"metadata": {"name": "x", "uid": "x"}, "spec": {"nodeName": "n0",
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "2", "memory": "4Gi"}}}]}}))))
            .expect("pod");
        let p = pod_with_requests("p", "1", "1Gi");
        let mut rng = XorShiftRng::new(7);
        let least = schedule(&p, &s, &Config::default(), &mut rng, 0).expect("fits");
        assert_eq!(least.node_name, "n1");
        assert_eq!((least.evaluated_nodes, least.feasible_nodes), (2, 2));
        let packing = Config {
            scoring_strategy: ScoringStrategy::MostAllocated(ResourceWeight::defaults()),
            ..Config::default()
        };
        assert_eq!(
            schedule(&p, &s, &packing, &mut rng, 0)
                .expect("fits")
                .node_name,
            "n0"
        );
    }

    #[test]
    fn ties_are_broken_randomly() {
        let s = cluster(5, "4");
        let p = pod_with_requests("p", "1", "1Gi");
        let mut rng = XorShiftRng::new(3);
        let mut seen = BTreeMap::new();
        for _ in 0..200 {
            let r = schedule(&p, &s, &Config::default(), &mut rng, 0).expect("fits");
            *seen.entry(r.node_name).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert!(seen.values().all(|&c| c > 15), "{seen:?}");
        // Same seed, same choices.
        let a = schedule(&p, &s, &Config::default(), &mut XorShiftRng::new(9), 0).expect("fits");
        let b = schedule(&p, &s, &Config::default(), &mut XorShiftRng::new(9), 0).expect("fits");
        assert_eq!(a, b);
    }

    #[test]
    fn percentage_of_nodes_to_score_limits_the_scan() {
        let s = cluster(1000, "4");
        let p = pod_with_requests("p", "1", "1Gi");
        let mut rng = XorShiftRng::new(1);
        // Adaptive: 1000 nodes -> 42% -> 420.
        let r = schedule(&p, &s, &Config::default(), &mut rng, 0).expect("fits");
        assert_eq!(
            (r.evaluated_nodes, r.feasible_nodes, r.next_start_index),
            (420, 420, 420)
        );
        let cfg = Config {
            percentage_of_nodes_to_score: 20,
            ..Config::default()
        };
        let r = schedule(&p, &s, &cfg, &mut rng, 950).expect("fits");
        assert_eq!((r.feasible_nodes, r.next_start_index), (200, 150));
        // Infeasible nodes are counted as evaluated.
        let mut s = cluster(200, "4");
        for i in 0..50 {
            s.upsert_node(node(&format!("small{i}"), "100m", "8Gi", 110))
                .expect("node");
        }
        let cfg = Config {
            percentage_of_nodes_to_score: 10,
            ..Config::default()
        };
        // 250 nodes * 10% = 25 -> floor of 100 feasible nodes.
        let r = schedule(&p, &s, &cfg, &mut rng, 0).expect("fits");
        assert_eq!(r.feasible_nodes, 100);
    }

    #[test]
    fn spread_across_zones_via_schedule() {
        let mut s = Snapshot::new();
        for (n, z) in [("a", "z1"), ("b", "z2"), ("c", "z3")] {
            s.upsert_node(node_with_labels(
                n,
                "8",
                "16Gi",
                &[("topology.kubernetes.io/zone", z)],
            ))
            .expect("node");
        }
        let mut rng = XorShiftRng::new(5);
        let mut placed = BTreeMap::new();
        for i in 0..6 {
            let p = pod(
                json!({"metadata": {"name": format!("p{i}"), "uid": format!("p{i}"), "labels": {"app": "w"}},
                "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}],
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "w"}}}]}}),
            );
            let r = schedule(&p, &s, &Config::default(), &mut rng, 0).expect("fits");
            *placed.entry(r.node_name.clone()).or_insert(0) += 1;
            s.assume_pod(Arc::new(p), &r.node_name).expect("assume");
        }
        assert_eq!(placed.values().copied().collect::<Vec<_>>(), [2, 2, 2]);
    }

    #[test]
    fn daemonset_style_pinning_evaluates_one_node() {
        let s = cluster(150, "1");
        let p = pod(json!({"metadata": {"name": "ds"}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"cpu": "2"}}}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n7"]}]}]}}}}}));
        let err =
            schedule(&p, &s, &Config::default(), &mut XorShiftRng::new(1), 0).expect_err("too big");
        assert_eq!(
            err.to_string(),
            "0/150 nodes are available: 1 Insufficient cpu, 149 node(s) didn't satisfy plugin(s) [NodeAffinity]."
        );
    }

    #[test]
    fn malformed_pods_are_unschedulable_with_a_reason() {
        let s = cluster(2, "4");
        let bad_qty = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"cpu": "a lot"}}}]}}));
        let err = schedule(
            &bad_qty,
            &s,
            &Config::default(),
            &mut XorShiftRng::new(1),
            0,
        )
        .expect_err("invalid");
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "0/2 nodes are available: invalid pod: spec.containers[0].resources.requests[cpu]"
            ),
            "{msg}"
        );
        let bad_op = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [], "affinity": {"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "x", "labelSelector": {
                "matchExpressions": [{"key": "app", "operator": "Near", "values": ["x"]}]}}]}}}}),
        );
        let msg = schedule(&bad_op, &s, &Config::default(), &mut XorShiftRng::new(1), 0)
            .expect_err("invalid")
            .to_string();
        assert!(
            msg.contains("\"Near\" is not a valid label selector operator"),
            "{msg}"
        );
        let bad_effect = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [],
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "Whenever"}]}}));
        let msg = schedule(
            &bad_effect,
            &s,
            &Config::default(),
            &mut XorShiftRng::new(1),
            0,
        )
        .expect_err("invalid")
        .to_string();
        assert!(msg.contains("spec.tolerations[0].effect"), "{msg}");
    }

    #[test]
    fn no_nodes_and_nominated_node() {
        let empty = Snapshot::new();
        let p = pod_with_requests("p", "1", "1Gi");
        let err = schedule(&p, &empty, &Config::default(), &mut XorShiftRng::new(1), 0)
            .expect_err("none");
        assert_eq!(err.to_string(), "no nodes available to schedule pods");
        let s = cluster(3, "4");
        let mut nominated = p.clone();
        nominated.status = Some(k8s_openapi::api::core::v1::PodStatus {
            nominated_node_name: Some("n2".into()),
            ..Default::default()
        });
        let r = schedule(
            &nominated,
            &s,
            &Config::default(),
            &mut XorShiftRng::new(1),
            0,
        )
        .expect("fits");
        assert_eq!((r.node_name.as_str(), r.evaluated_nodes), ("n2", 1));
    }
}
