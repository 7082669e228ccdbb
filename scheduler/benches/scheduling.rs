//! scheduler_perf-style benchmark against the real `bosun-apiserver`
//! (embedded store): N nodes (plain Node objects, no kubelet) and M pending
//! pods created up front, then the `bosun-scheduler` binary of this build
//! is started and the time until every pod is bound is measured. Before
//! that, the apiserver's binding capacity alone is measured in the same
//! run: M pods bound directly through `pods/binding` by 128 concurrent
//! clients. Then, with the scheduler running, M more pods are created and
//! the time from the first create to the last binding is measured (end to
//! end, as scheduler_perf measures with its scheduler already running).
//! Bindings are observed through one metadata watch that has listed before
//! each measured phase starts; CPU seconds of the apiserver, the scheduler
//! and this process (load generator and observer) are printed per phase.
//!
//! ```sh
//! cargo build --release -p bosun-apiserver -p bosun-scheduler
//! BOSUN_APISERVER_BIN=target/release/bosun-apiserver \
//!   cargo bench -p bosun-scheduler --bench scheduling
//! ```
//! Knobs: `BENCH_CASES` (default `500x1000,5000x10000,5000x10000spread`);
//! `BENCH_SCHEDULER_LOG` (a `RUST_LOG` filter for the scheduler, whose log
//! is then kept in the temp directory).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bosun_runtime::testing::{cpu_seconds, peak_rss};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use std::collections::HashSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn node(i: usize) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": format!("node-{i}"), "labels": {
            "kubernetes.io/hostname": format!("node-{i}"),
            "kubernetes.io/os": "linux",
            "topology.kubernetes.io/zone": format!("zone-{}", i % 3),
        }},
        "status": {
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    }))
    .unwrap()
}

fn pod(name: &str, scheduler: &str, spread: bool) -> Pod {
    let mut spec = json!({
        "schedulerName": scheduler,
        "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]
    });
    if spread {
        spec["topologySpreadConstraints"] = json!([{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "spread"}}
        }]);
    }
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "labels": {"app": if spread {"spread"} else {"plain"}}},
        "spec": spec
    }))
    .unwrap()
}

async fn create_all<T, F>(count: usize, make: F)
where
    F: Fn(usize) -> futures::future::BoxFuture<'static, T>,
{
    futures::stream::iter(0..count)
        .map(make)
        .buffer_unordered(128)
        .for_each(|_| async {})
        .await;
}

/// Creates pods `{prefix}-0` … `{prefix}-{count-1}` for `scheduler`.
async fn create_pods(api: &Api<Pod>, count: usize, prefix: &str, scheduler: &str, spread: bool) {
    create_all(count, |i| {
        let api = api.clone();
        let pod = pod(&format!("{prefix}-{i}"), scheduler, spread);
        Box::pin(async move {
            api.create(&PostParams::default(), &pod).await.unwrap();
        })
    })
    .await;
}

/// Waits until `want` pods whose name starts with `prefix` are bound;
/// returns when the first and the last binding were seen. `ready` is told
/// once the watch has listed, so the measured phase starts with its
/// observer running. One metadata watch filtered on `spec.nodeName!=` (a pod entering the
/// filter arrives as added), so observing does not load the machine it
/// measures by decoding every pod in full; only default-scheduler pods are
/// unbound while it runs.
async fn wait_bound_named(
    api: &Api<Pod>,
    prefix: &str,
    want: usize,
    ready: tokio::sync::oneshot::Sender<()>,
) -> (Instant, Instant) {
    let mut ready = Some(ready);
    let api: Api<kube::core::PartialObjectMeta<Pod>> =
        Api::namespaced(api.clone().into_client(), "default");
    let config = watcher::Config::default().fields("spec.nodeName!=");
    let mut first: Option<Instant> = None;
    let mut bound: HashSet<String> = HashSet::new();
    let mut stream = watcher::watcher(api, config).boxed();
    while let Some(event) = stream.next().await {
        let pod = match event {
            Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => p,
            Ok(watcher::Event::InitDone) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                continue;
            }
            _ => continue,
        };
        if let Some(name) = pod.metadata.name.filter(|n| n.starts_with(prefix)) {
            bound.insert(name);
            first.get_or_insert_with(Instant::now);
        }
        if bound.len() >= want {
            return (first.unwrap_or_else(Instant::now), Instant::now());
        }
    }
    (first.unwrap_or_else(Instant::now), Instant::now())
}

/// CPU seconds used so far by the apiserver, the scheduler (if started)
/// and this process (the load generator and observer).
fn cpu(apiserver: &Child, scheduler: Option<&Child>) -> [f64; 3] {
    [
        cpu_seconds(apiserver.id()),
        scheduler.map_or(0.0, |s| cpu_seconds(s.id())),
        cpu_seconds(std::process::id()),
    ]
}

/// "CPU s: apiserver A, scheduler S, bench B" for the time since `before`.
fn cpu_since(before: [f64; 3], now: [f64; 3]) -> String {
    format!(
        "CPU s: apiserver {:.2}, scheduler {:.2}, bench {:.2}",
        now[0] - before[0],
        now[1] - before[1],
        now[2] - before[2]
    )
}

async fn run_case(apiserver: &Path, scheduler: &Path, nodes: usize, pods: usize, spread: bool) {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let log = std::fs::File::create(dir.path().join("apiserver.log")).unwrap();
    let server = Killed(
        Command::new(apiserver)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--secure-port", "0", "--write-kubeconfig"])
            .arg(&kubeconfig)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    while !kubeconfig.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = client(&kubeconfig).await;
    let node_api: Api<Node> = Api::all(client.clone());
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    create_all(nodes, |i| {
        let api = node_api.clone();
        Box::pin(async move {
            api.create(&PostParams::default(), &node(i)).await.unwrap();
        })
    })
    .await;

    // Binding capacity alone: pods nobody schedules, bound directly.
    create_pods(&pod_api, pods, "manual", "manual", false).await;
    let started = Instant::now();
    create_all(pods, |i| {
        let api = pod_api.clone();
        Box::pin(async move {
            let binding = json!({"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": format!("manual-{i}")},
                "target": {"apiVersion": "v1", "kind": "Node", "name": format!("node-{}", i % nodes)}});
            api.create_subresource::<_, serde_json::Value>("binding", &format!("manual-{i}"), &PostParams::default(), &binding)
                .await
                .unwrap();
        })
    })
    .await;
    let bind_rate = pods as f64 / started.elapsed().as_secs_f64();
    pod_api
        .delete_collection(
            &DeleteParams::default().grace_period(0),
            &ListParams::default().labels("app=plain"),
        )
        .await
        .unwrap();

    // The scheduler: all pods pending first, then the scheduler starts.
    let created_at = Instant::now();
    create_pods(&pod_api, pods, "pod", "default-scheduler", spread).await;
    let creating = created_at.elapsed();
    let (ready, listed) = tokio::sync::oneshot::channel();
    let waiter = {
        let api = pod_api.clone();
        tokio::spawn(async move { wait_bound_named(&api, "pod-", pods, ready).await })
    };
    listed.await.unwrap();
    let sched_log = std::fs::File::create(dir.path().join("scheduler.log")).unwrap();
    let sched_started = Instant::now();
    let spawned_at = jiff::Timestamp::now();
    let cpu_before = cpu(&server.0, None);
    let scheduler_process = Killed(
        Command::new(scheduler)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--healthz-bind-address", "127.0.0.1:0"])
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SCHEDULER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(sched_log)
            .spawn()
            .unwrap(),
    );
    let (first, done) = tokio::time::timeout(Duration::from_secs(600), waiter)
        .await
        .expect("all pods bound in time")
        .unwrap();
    let cpu_used = cpu_since(cpu_before, cpu(&server.0, Some(&scheduler_process.0)));
    let took = done.duration_since(sched_started).as_secs_f64();
    if std::env::var_os("BENCH_SCHEDULER_LOG").is_some() {
        let kept = std::env::temp_dir().join(format!("bosun-scheduler-{nodes}x{pods}.log"));
        let _ = std::fs::copy(dir.path().join("scheduler.log"), &kept);
        println!(
            "scheduler log kept in {}; spawned at {spawned_at}, first binding seen {:.3} s later",
            kept.display(),
            first.duration_since(sched_started).as_secs_f64()
        );
    }
    let steady = pods as f64 / done.duration_since(first).as_secs_f64().max(1e-3);
    println!(
        "{nodes} nodes / {pods} pods{}: all bound {took:.2} s after the scheduler process started ({:.0} pods/s overall; first binding after {:.2} s, then {steady:.0} pods/s; pods created in {:.2} s before); apiserver binding capacity alone {bind_rate:.0} pods/s; ratio {:.2}; {cpu_used}",
        if spread {
            " with zone topology spread"
        } else {
            ""
        },
        pods as f64 / took,
        first.duration_since(sched_started).as_secs_f64(),
        creating.as_secs_f64(),
        steady / bind_rate
    );

    // End to end with the scheduler running: from the first pod created
    // to the last binding persisted (scheduler_perf's setting).
    let (ready, listed) = tokio::sync::oneshot::channel();
    let waiter = {
        let api = pod_api.clone();
        tokio::spawn(async move { wait_bound_named(&api, "live-", pods, ready).await })
    };
    listed.await.unwrap();
    let started = Instant::now();
    let cpu_before = cpu(&server.0, Some(&scheduler_process.0));
    create_pods(&pod_api, pods, "live", "default-scheduler", spread).await;
    let (_, done) = tokio::time::timeout(Duration::from_secs(600), waiter)
        .await
        .expect("all live pods bound in time")
        .unwrap();
    let cpu_used = cpu_since(cpu_before, cpu(&server.0, Some(&scheduler_process.0)));
    let took = done.duration_since(started).as_secs_f64();
    println!(
        "{nodes} nodes / {pods} more pods created while the scheduler runs: first created to last bound {took:.2} s = {:.0} pods/s end to end; {cpu_used}; peak RSS MiB: apiserver {:.0}, scheduler {:.0}",
        pods as f64 / took,
        peak_rss(server.0.id()),
        peak_rss(scheduler_process.0.id())
    );
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(apiserver) = std::env::var_os("BOSUN_APISERVER_BIN").map(PathBuf::from) else {
        println!("skipping: set BOSUN_APISERVER_BIN to a (release) bosun-apiserver binary");
        return;
    };
    let scheduler = PathBuf::from(env!("CARGO_BIN_EXE_bosun-scheduler"));
    let cases = std::env::var("BENCH_CASES")
        .unwrap_or_else(|_| "500x1000,5000x10000,5000x10000spread".into());
    for case in cases.split(',') {
        let spread = case.ends_with("spread");
        let (n, p) = case.trim_end_matches("spread").split_once('x').unwrap();
        run_case(
            &apiserver,
            &scheduler,
            n.parse().unwrap(),
            p.parse().unwrap(),
            spread,
        )
        .await;
    }
}
