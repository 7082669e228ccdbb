//! In-process throughput check (ignored by default):
//! `cargo test --release -- --ignored --nocapture bench`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::config::Config;
use super::rng::XorShiftRng;
use super::schedule::schedule;
use super::snapshot::Snapshot;
use super::test_util::{node_with_labels, pod};

#[test]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
fn bench_schedule_10k_pods_on_5k_nodes() {
    run(false);
}

#[test]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
fn bench_schedule_10k_pods_on_5k_nodes_with_service_spreading() {
    run(true);
}

fn run(services: bool) {
    let mut s = Snapshot::new();
    if services {
        // Every app has a Service: system default topology spreading applies.
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
    let pods: Vec<_> = (0..10_000)
        .map(|i| {
            Arc::new(pod(json!({"metadata": {"name": format!("p{i}"), "uid": format!("p{i}"),
                "namespace": "default", "labels": {"app": format!("app{}", i % 50)}},
                "spec": {"containers": [{"name": "c", "resources": {"requests": {
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
        "scheduled {} pods onto {} nodes (service spreading: {services}) in {:.3}s: {:.0} pods/s",
        pods.len(),
        s.num_nodes(),
        elapsed.as_secs_f64(),
        pods.len() as f64 / elapsed.as_secs_f64()
    );
}
