//! Randomised checks that the indexed PodTopologySpread and InterPodAffinity
//! states equal the straightforward scans over every pod, while the snapshot
//! is mutated the way the runtime mutates it (add/assume/replace/remove pods,
//! add/relabel/remove nodes).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::config::Config;
use super::node_info::NodeInfo;
use super::plugins::inter_pod_affinity as ipa;
use super::plugins::node_affinity;
use super::plugins::pod_topology_spread::{self as pts, Inclusion, reference};
use super::pod_info::PodFacts;
use super::rng::XorShiftRng;
use super::snapshot::Snapshot;
use super::test_util::{node_json, pod};

const ZONE: &str = "topology.kubernetes.io/zone";
const HOST: &str = "kubernetes.io/hostname";

fn pick<'a>(rng: &mut XorShiftRng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len())]
}

fn random_node(rng: &mut XorShiftRng, name: &str) -> Node {
    let mut labels = json!({HOST: name, "pool": pick(rng, &["a", "b"])});
    match rng.below(6) {
        0..=2 => labels[ZONE] = json!(format!("z{}", rng.below(3))),
        3 => labels[ZONE] = json!(""),
        4 => labels[ZONE] = json!(format!("rare-{}", rng.below(100))),
        _ => {}
    }
    let taints = if rng.below(4) == 0 {
        json!([{"key": "dedicated", "value": "x", "effect": "NoSchedule"}])
    } else {
        json!([])
    };
    node_json(json!({"metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints},
        "status": {"allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"}}}))
}

fn pod_labels(rng: &mut XorShiftRng) -> Value {
    let mut labels = json!({"app": pick(rng, &["web", "web", "db", "cache"])});
    if rng.below(2) == 0 {
        labels["ver"] = json!(pick(rng, &["1", "2"]));
    }
    labels
}

fn affinity_term(rng: &mut XorShiftRng) -> Value {
    let mut t = json!({"labelSelector": {"matchLabels": {"app": pick(rng, &["web", "db"])}},
        "topologyKey": pick(rng, &[ZONE, HOST, "pool"])});
    match rng.below(4) {
        0 => t["namespaces"] = json!(["default", "other"]),
        1 => t["namespaceSelector"] = json!({"matchLabels": {"team": "x"}}),
        2 => {
            t["labelSelector"] =
                json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]});
        }
        _ => {}
    }
    t
}

fn random_affinity(rng: &mut XorShiftRng) -> Value {
    let mut a = json!({});
    for kind in ["podAffinity", "podAntiAffinity"] {
        if rng.below(2) == 0 {
            continue;
        }
        let mut k = json!({});
        if rng.below(2) == 0 {
            k["requiredDuringSchedulingIgnoredDuringExecution"] = json!([affinity_term(rng)]);
        }
        if rng.below(2) == 0 {
            k["preferredDuringSchedulingIgnoredDuringExecution"] = json!([
                {"weight": 1 + rng.below(100), "podAffinityTerm": affinity_term(rng)}]);
        }
        a[kind] = k;
    }
    a
}

fn existing_pod(rng: &mut XorShiftRng, uid: &str, node: Option<&str>) -> Arc<Pod> {
    let mut p = json!({"metadata": {"name": uid, "uid": uid,
        "namespace": pick(rng, &["default", "default", "default", "other"]),
        "labels": pod_labels(rng)},
        "spec": {"containers": []}});
    if let Some(n) = node {
        p["spec"]["nodeName"] = json!(n);
    }
    if rng.below(8) == 0 {
        p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    }
    if rng.below(4) == 0 {
        p["spec"]["affinity"] = random_affinity(rng);
    }
    Arc::new(pod(p))
}

fn spread_constraint(rng: &mut XorShiftRng) -> Value {
    let when = pick(rng, &["DoNotSchedule", "ScheduleAnyway"]);
    let mut c = json!({"maxSkew": 1 + rng.below(2), "topologyKey": pick(rng, &[ZONE, ZONE, HOST, "pool"]),
        "whenUnsatisfiable": when});
    match rng.below(6) {
        0 | 1 => c["labelSelector"] = json!({"matchLabels": {"app": "web"}}),
        2 => {
            c["labelSelector"] = json!({"matchExpressions": [
                {"key": "app", "operator": "In", "values": ["web", "db"]}]});
        }
        3 => {
            c["labelSelector"] =
                json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]});
        }
        4 => c["labelSelector"] = json!({}),
        _ => {}
    }
    if rng.below(4) == 0 {
        c["matchLabelKeys"] = json!(["ver"]);
    }
    if when == "DoNotSchedule" && rng.below(5) == 0 {
        c["minDomains"] = json!(2 + rng.below(4));
    }
    if rng.below(3) == 0 {
        c["nodeAffinityPolicy"] = json!(pick(rng, &["Honor", "Ignore"]));
    }
    if rng.below(3) == 0 {
        c["nodeTaintsPolicy"] = json!(pick(rng, &["Honor", "Ignore"]));
    }
    c
}

fn incoming_pod(rng: &mut XorShiftRng) -> Pod {
    let constraints: Vec<Value> = (0..rng.below(3)).map(|_| spread_constraint(rng)).collect();
    let mut p = json!({"metadata": {"name": "incoming", "namespace": pick(rng, &["default", "other"]),
        "labels": pod_labels(rng)},
        "spec": {"containers": [], "topologySpreadConstraints": constraints}});
    if rng.below(3) == 0 {
        p["spec"]["nodeSelector"] = json!({"pool": "a"});
    }
    if rng.below(3) == 0 {
        p["spec"]["tolerations"] = json!([{"key": "dedicated", "operator": "Exists"}]);
    }
    if rng.below(3) == 0 {
        p["spec"]["affinity"] = random_affinity(rng);
    }
    pod(p)
}

fn reason(status: Option<super::framework::Status>) -> Option<String> {
    status.map(|s| s.reasons[0].to_string())
}

/// Compares every indexed state for `p` with its reference scan.
fn check(s: &Snapshot, p: &Pod, rng: &mut XorShiftRng) {
    let cfg = Config::default();
    let facts = PodFacts::new(p);
    let Ok(na) = node_affinity::prefilter(p) else {
        return;
    };
    let tolerations = p
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[]);
    let inclusion = Inclusion {
        required: &na.required,
        tolerations,
    };
    let clones: Vec<NodeInfo> = s.nodes().iter().take(3).cloned().collect();

    let (hard, _) = pts::constraints_for(p, s, &cfg, pts::DO_NOT_SCHEDULE).expect("valid");
    let new = pts::FilterState::new(p, hard.clone(), inclusion, s);
    let old = reference::filter_counts(p, &hard, inclusion, s);
    assert_eq!(new.as_ref().map(pts::FilterState::as_counts), old);
    if let (Some(mut new), Some(mut old)) = (new, old) {
        let verdicts_agree = |new: &pts::FilterState, old: &reference::Counts| {
            for node in s.nodes().iter().chain(&clones) {
                let expected = reference::verdict(old, &hard, p, node).map(str::to_owned);
                assert_eq!(reason(new.filter(p, node)), expected);
                assert_eq!(
                    reason(new.filter_at(p, node, s.position_of(node))),
                    expected
                );
            }
        };
        verdicts_agree(&new, &old);
        // Preemption: remove then re-add the pods of a node (a copy of it).
        if s.num_nodes() > 0 {
            let node = s.nodes()[rng.below(s.num_nodes())].clone();
            for delta in [-1, 1] {
                for victim in node.pods() {
                    new.update_with_pod(p, inclusion, victim, &node, delta);
                    reference::update_counts(&mut old, &hard, p, inclusion, victim, &node, delta);
                    assert_eq!(new.as_counts(), old);
                }
                verdicts_agree(&new, &old);
            }
        }
    }

    let (soft, require_all) =
        pts::constraints_for(p, s, &cfg, pts::SCHEDULE_ANYWAY).expect("valid");
    let mut feasible: Vec<&NodeInfo> = s.nodes().iter().filter(|_| rng.below(3) > 0).collect();
    feasible.extend(clones.iter().take(1));
    let new =
        pts::ScoreState::new(p, soft.clone(), require_all, inclusion, &feasible, s).map(|st| {
            feasible
                .iter()
                .enumerate()
                .map(|(j, n)| st.score(j, n))
                .collect::<Vec<_>>()
        });
    let old = reference::raw_scores(p, &soft, require_all, inclusion, &feasible, s);
    assert_eq!(new, old);

    assert_eq!(
        ipa::FilterState::new(p, &facts, s),
        ipa::reference::filter_state(p, &facts, s)
    );
    for hard_weight in [0, 1] {
        assert_eq!(
            ipa::ScoreState::new(p, &facts, s, hard_weight),
            ipa::reference::score_state(p, &facts, s, hard_weight)
        );
    }
}

fn run(seed: u64, steps: usize) {
    let mut rng = XorShiftRng::new(seed);
    let mut s = Snapshot::new();
    s.set_service(
        "default",
        "web",
        Some(BTreeMap::from([("app".into(), "web".into())])),
    );
    s.set_namespace_labels("other", BTreeMap::from([("team".into(), "x".into())]));
    let mut next_node = 0;
    let mut next_pod = 0;
    let mut uids: Vec<String> = Vec::new();
    for step in 0..steps {
        let names: Vec<String> = s.nodes().iter().map(|n| n.name().to_owned()).collect();
        let random_name = |rng: &mut XorShiftRng| names[rng.below(names.len())].clone();
        match rng.below(12) {
            _ if names.len() < 3 => {
                s.upsert_node(random_node(&mut rng, &format!("n{next_node}")))
                    .expect("node");
                next_node += 1;
            }
            0..=3 => {
                // A new pod, or a known one again (moved, relabelled, terminating).
                let uid = if !uids.is_empty() && rng.below(4) == 0 {
                    uids[rng.below(uids.len())].clone()
                } else {
                    next_pod += 1;
                    format!("p{next_pod}")
                };
                let node = random_name(&mut rng);
                s.add_pod(existing_pod(&mut rng, &uid, Some(&node)))
                    .expect("pod");
                uids.push(uid);
            }
            4 | 5 => {
                next_pod += 1;
                let uid = format!("p{next_pod}");
                let node = random_name(&mut rng);
                s.assume_pod(existing_pod(&mut rng, &uid, None), &node)
                    .expect("assume");
                uids.push(uid);
            }
            6 | 7 if !uids.is_empty() => {
                let uid = uids.swap_remove(rng.below(uids.len()));
                s.remove_pod(&uid);
            }
            8 => {
                let name = random_name(&mut rng);
                s.upsert_node(random_node(&mut rng, &name)).expect("node");
            }
            9 | 10 => {
                s.upsert_node(random_node(&mut rng, &format!("n{next_node}")))
                    .expect("node");
                next_node += 1;
            }
            _ => {
                let name = random_name(&mut rng);
                s.remove_node(&name);
            }
        }
        if step % 4 == 0 {
            s.assert_indexes_consistent();
            for _ in 0..4 {
                let p = incoming_pod(&mut rng);
                check(&s, &p, &mut rng);
            }
        }
    }
    s.assert_indexes_consistent();
}

#[test]
fn indexed_states_equal_full_scans_under_random_mutations() {
    for seed in 1..=12 {
        run(seed, 240);
    }
}
