//! Scheduling and preemption with nominated pods: a pod nominated to a node
//! holds its room there against pods of lower or equal priority, as
//! upstream's `RunFilterPluginsWithNominatedPods` does.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::config::Config;
use super::preemption::preempt;
use super::rng::XorShiftRng;
use super::schedule::{ScheduleResult, schedule};
use super::snapshot::Snapshot;
use super::test_util::{node, pod};

/// A pending pod with a priority, a cpu request and extra spec fields.
fn pending(name: &str, priority: i32, cpu: &str, extra: Value) -> Pod {
    let mut v = json!({"metadata": {"name": name, "uid": name, "labels": {"app": name}},
        "spec": {"priority": priority,
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}});
    if let (Some(spec), Some(extra)) = (v["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    pod(v)
}

fn cluster(nodes: &[(&str, &str)]) -> Snapshot {
    let mut s = Snapshot::new();
    for (name, cpu) in nodes {
        s.upsert_node(node(name, cpu, "8Gi", 110)).expect("node");
    }
    s
}

fn try_schedule(s: &Snapshot, p: &Pod) -> Result<ScheduleResult, String> {
    schedule(p, s, &Config::default(), &mut XorShiftRng::new(1), 0).map_err(|e| e.to_string())
}

#[test]
fn a_nominated_pod_holds_its_room_against_lower_and_equal_priority_pods() {
    let mut s = cluster(&[("n0", "4")]);
    assert_eq!(
        s.nominate(Arc::new(pending("vip", 100, "3", json!({}))), "n0"),
        None
    );
    let insufficient = Err("0/1 nodes are available: 1 Insufficient cpu.".to_owned());
    // Lower priority: the nominated pod's 3 cpus count on n0.
    assert_eq!(
        try_schedule(&s, &pending("low", 10, "2", json!({}))).map(|r| r.node_name),
        insufficient
    );
    // Equal priority counts too (upstream adds priority >= the pod's).
    assert_eq!(
        try_schedule(&s, &pending("peer", 100, "2", json!({}))).map(|r| r.node_name),
        insufficient
    );
    // What is left beside the nominated pod is free.
    assert_eq!(
        try_schedule(&s, &pending("small", 10, "1", json!({})))
            .expect("fits beside")
            .node_name,
        "n0"
    );
    // A higher-priority pod ignores the nomination.
    assert_eq!(
        try_schedule(&s, &pending("boss", 1000, "2", json!({})))
            .expect("fits")
            .node_name,
        "n0"
    );
    // The nominated pod does not count against itself, and tries its
    // in-memory nomination first (the status may not show it yet).
    let vip = pending("vip", 100, "3", json!({}));
    let r = try_schedule(&s, &vip).expect("vip fits");
    assert_eq!((r.node_name.as_str(), r.evaluated_nodes), ("n0", 1));
    // Once placed, it is no longer nominated.
    s.assume_pod(Arc::new(vip), "n0").expect("assume");
    assert!(s.nominator().is_empty());
    assert_eq!(
        try_schedule(&s, &pending("small", 10, "1", json!({})))
            .expect("fits")
            .node_name,
        "n0"
    );
    // A placed pod cannot be nominated.
    assert_eq!(
        s.nominate(Arc::new(pending("vip", 100, "3", json!({}))), "n0"),
        None
    );
    assert!(s.nominator().is_empty());
}

#[test]
fn lower_priority_pods_go_elsewhere_and_nominations_elsewhere_do_not_matter() {
    let mut s = cluster(&[("n0", "4"), ("n1", "4")]);
    s.nominate(Arc::new(pending("vip", 100, "3", json!({}))), "n0");
    for _ in 0..10 {
        assert_eq!(
            try_schedule(&s, &pending("low", 10, "2", json!({})))
                .expect("fits on n1")
                .node_name,
            "n1"
        );
    }
    // Dropping the nomination gives the room back.
    assert_eq!(s.remove_nomination("vip"), Some(100));
    let r = try_schedule(&s, &pending("low", 10, "4", json!({}))).expect("fits");
    assert_eq!(r.feasible_nodes, 2);
}

#[test]
fn nominated_pods_count_for_ports_and_pod_count() {
    let mut s = cluster(&[("n0", "8")]);
    let port =
        json!({"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]});
    s.nominate(Arc::new(pending("vip", 100, "1", port.clone())), "n0");
    assert_eq!(
        try_schedule(&s, &pending("web", 10, "1", port)).map(|r| r.node_name),
        Err(
            "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
                .to_owned()
        )
    );
    let mut s = Snapshot::new();
    s.upsert_node(node("n0", "8", "8Gi", 1)).expect("node");
    s.nominate(Arc::new(pending("vip", 100, "1", json!({}))), "n0");
    assert_eq!(
        try_schedule(&s, &pending("web", 10, "1", json!({}))).map(|r| r.node_name),
        Err("0/1 nodes are available: 1 Too many pods.".to_owned())
    );
}

#[test]
fn affinity_must_hold_with_and_without_the_nominated_pods() {
    let mut s = cluster(&[("n0", "8")]);
    s.nominate(Arc::new(pending("db", 100, "1", json!({}))), "n0");
    // Anti-affinity to a nominated pod: rejected (first pass).
    let anti = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "db"}}}]}}});
    assert_eq!(
        try_schedule(&s, &pending("loner", 10, "1", anti)).map(|r| r.node_name),
        Err("0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.".to_owned())
    );
    // Affinity satisfied only by a nominated pod: rejected (second pass),
    // since the nominated pod may never arrive.
    let affinity = json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "db"}}}]}}});
    assert_eq!(
        try_schedule(&s, &pending("follower", 10, "1", affinity.clone())).map(|r| r.node_name),
        Err("0/1 nodes are available: 1 node(s) didn't match pod affinity rules.".to_owned())
    );
    // Once the pod is placed, the affinity holds.
    s.assume_pod(Arc::new(pending("db", 100, "1", json!({}))), "n0")
        .expect("assume");
    assert_eq!(
        try_schedule(&s, &pending("follower", 10, "1", affinity))
            .expect("fits")
            .node_name,
        "n0"
    );
}

#[test]
fn topology_spread_counts_nominated_pods() {
    let mut s = Snapshot::new();
    for (n, zone) in [("a", "z1"), ("b", "z2")] {
        s.upsert_node(super::test_util::node_with_labels(
            n,
            "8",
            "8Gi",
            &[("topology.kubernetes.io/zone", zone)],
        ))
        .expect("node");
    }
    let spread = |name: &str, priority: i32| {
        let mut p = pending(
            name,
            priority,
            "100m",
            json!({"topologySpreadConstraints": [{"maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"group": "g"}}}]}),
        );
        if let Some(labels) = p.metadata.labels.as_mut() {
            labels.insert("group".into(), "g".into());
        }
        p
    };
    // A matching pod nominated to z2 counts there for a lower-priority
    // pod: z2 would reach 2 against 0 in z1, so only z1 is feasible.
    s.nominate(Arc::new(spread("nominated", 100)), "b");
    let r = try_schedule(&s, &spread("next", 10)).expect("fits");
    assert_eq!((r.node_name.as_str(), r.feasible_nodes), ("a", 1));
    // A pod of higher priority ignores the nomination.
    let r = try_schedule(&s, &spread("boss", 1000)).expect("fits");
    assert_eq!(r.feasible_nodes, 2);
}

#[test]
fn preemption_counts_higher_nominations_and_clears_lower_ones() {
    let mut s = cluster(&[("n0", "4"), ("n1", "4")]);
    let running = |name: &str, node: &str, cpu: &str, priority: i32| {
        Arc::new(pod(json!({"metadata": {"name": name, "uid": name},
            "spec": {"nodeName": node, "priority": priority,
                "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"startTime": "2024-01-01T00:00:00Z"}})))
    };
    s.add_pod(running("low0", "n0", "4", 1)).expect("pod");
    s.add_pod(running("low1", "n1", "4", 5)).expect("pod");
    // n0 would be the better victim node (lower victim priority), but a
    // pod of higher priority is nominated there and leaves too little room.
    s.nominate(Arc::new(pending("waiting", 500, "2", json!({}))), "n0");
    let cfg = Config::default();
    let mut rng = XorShiftRng::new(3);
    let preemptor = pending("pre", 100, "3", json!({}));
    let err = schedule(&preemptor, &s, &cfg, &mut rng, 0).expect_err("no room");
    let p = preempt(&preemptor, &s, &err, &[], &cfg, &mut rng).expect("preempts");
    assert_eq!(p.node_name, "n1");
    assert!(p.nominations_to_clear.is_empty());

    // A preemptor above the nominated pod takes n0 and clears the
    // nomination of the lower-priority pod there.
    let boss = pending("boss", 1000, "3", json!({}));
    let err = schedule(&boss, &s, &cfg, &mut rng, 0).expect_err("no room");
    let p = preempt(&boss, &s, &err, &[], &cfg, &mut rng).expect("preempts");
    assert_eq!(p.node_name, "n0");
    let cleared: Vec<_> = p
        .nominations_to_clear
        .iter()
        .map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(cleared, [Some("waiting".to_owned())]);
}
