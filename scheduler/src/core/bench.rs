//! In-process throughput check (ignored by default):
//! `cargo test --release -p bosun-scheduler -- --ignored --nocapture --test-threads=1 bench`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::config::Config;
use super::rng::XorShiftRng;
use super::schedule::schedule;
use super::snapshot::Snapshot;
use super::test_util::{node_with_labels, pod};

/// What the benchmark pods ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// No spreading at all.
    Plain,
    /// Every app has a Service: system default topology spreading applies.
    Services,
    /// Every pod carries `DoNotSchedule` on the zone (maxSkew 1) over one
    /// shared selector.
    ZoneDoNotSchedule,
    /// As above plus `ScheduleAnyway` on the hostname.
    ZoneAndHostname,
    /// Plain, with 100 higher-priority pods nominated to nodes (every
    /// scheduled pod must leave room for them).
    Nominated,
}

#[test]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
fn bench_schedule_10k_pods_on_5k_nodes() {
    run(Mode::Plain);
}

#[test]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
fn bench_schedule_10k_pods_on_5k_nodes_with_100_nominated_pods() {
    run(Mode::Nominated);
}

#[test]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
fn bench_schedule_10k_pods_on_5k_nodes_with_service_spreading() {
    run(Mode::Services);
}

#[test]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
fn bench_schedule_10k_pods_on_5k_nodes_with_zone_spread_constraint() {
    run(Mode::ZoneDoNotSchedule);
}

#[test]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
fn bench_schedule_10k_pods_on_5k_nodes_with_zone_and_hostname_spread_constraints() {
    run(Mode::ZoneAndHostname);
}

fn spread_constraints(mode: Mode) -> Value {
    let zone = json!({"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "spread"}}});
    let host = json!({"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "spread"}}});
    match mode {
        Mode::ZoneDoNotSchedule => json!([zone]),
        Mode::ZoneAndHostname => json!([zone, host]),
        Mode::Plain | Mode::Services | Mode::Nominated => json!([]),
    }
}

fn run(mode: Mode) {
    let mut s = Snapshot::new();
    if mode == Mode::Services {
        for a in 0..50 {
            let app = format!("app{a}");
            s.set_service(
                "default",
                &app,
                Some([("app".to_owned(), app.clone())].into()),
            );
        }
    }
    for i in 0..5000 {
        let zone = format!("zone-{}", i % 3);
        s.upsert_node(node_with_labels(
            &format!("node-{i}"),
            "32",
            "128Gi",
            &[("topology.kubernetes.io/zone", &zone)],
        ))
        .expect("node");
    }
    if mode == Mode::Nominated {
        for i in 0..100 {
            let preemptor = pod(
                json!({"metadata": {"name": format!("vip{i}"), "uid": format!("vip{i}"),
                "namespace": "default", "labels": {"app": "vip"}},
                "spec": {"priority": 1000, "containers": [{"name": "c", "resources": {"requests": {
                    "cpu": "16", "memory": "64Gi"}}}]}}),
            );
            s.nominate(Arc::new(preemptor), &format!("node-{}", i * 50));
        }
    }
    let constraints = spread_constraints(mode);
    let pods: Vec<_> = (0..10_000)
        .map(|i| {
            let app = match mode {
                Mode::ZoneDoNotSchedule | Mode::ZoneAndHostname => "spread".to_owned(),
                Mode::Plain | Mode::Services | Mode::Nominated => format!("app{}", i % 50),
            };
            Arc::new(pod(json!({"metadata": {"name": format!("p{i}"), "uid": format!("p{i}"),
                "namespace": "default", "labels": {"app": app}},
                "spec": {"topologySpreadConstraints": constraints,
                    "containers": [{"name": "c", "resources": {"requests": {
                    "cpu": format!("{}m", 100 + (i % 7) * 50), "memory": format!("{}Mi", 128 + (i % 5) * 64)}}}]}})))
        })
        .collect();
    let cfg = Config::default();
    let mut rng = XorShiftRng::new(42);
    let mut start = 0;
    let t0 = Instant::now();
    for p in &pods {
        let r = schedule(p, &s, &cfg, &mut rng, start).expect("fits");
        start = r.next_start_index;
        s.assume_pod(Arc::clone(p), &r.node_name).expect("assume");
    }
    let elapsed = t0.elapsed();
    println!(
        "scheduled {} pods onto {} nodes ({mode:?}) in {:.3}s: {:.0} pods/s",
        pods.len(),
        s.num_nodes(),
        elapsed.as_secs_f64(),
        pods.len() as f64 / elapsed.as_secs_f64()
    );
}
