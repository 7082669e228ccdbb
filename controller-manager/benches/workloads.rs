//! Workload benchmark on a whole local cluster (release binaries as
//! separate processes: apiserver on the embedded store, node simulator,
//! scheduler, and this build's controller-manager):
//!
//! 1. one Deployment of 1,000 replicas to all available;
//! 2. a rolling update of it (maxSurge 25%) to complete;
//! 3. `delete` of it (background) until the last pod is gone;
//! 4. 100 Deployments × 100 replicas (10,000 pods) to all Running.
//!
//! Reports each time, the controller-manager's peak RSS and the API
//! requests it issued per pod (its `rest_client_requests_total`).
//!
//! ```sh
//! cargo build --release -p bosun-apiserver -p bosun-node-sim -p bosun-scheduler
//! BOSUN_BIN_DIR=target/release cargo bench -p bosun-controller-manager --bench workloads
//! ```
//! Knobs: `BENCH_NODES` (200), `BENCH_REPLICAS` (1000), `BENCH_DEPLOYMENTS` (100).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
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

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn spawn(bin: &Path, args: &[&str], log: &Path) -> Killed {
    Killed(
        Command::new(bin)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display())),
    )
}

/// Peak RSS (VmHWM) of `pid` in MiB.
fn peak_rss(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Sum of `rest_client_requests_total` on the controller-manager's metrics port.
fn requests(port: u16) -> f64 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0.0;
    };
    let _ = write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body.lines()
        .filter(|l| l.starts_with("rest_client_requests_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn deployment(name: &str, replicas: usize, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
            }
        }
    }))
    .unwrap()
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(900);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn running_pods(api: &Api<Pod>) -> usize {
    api.list_metadata(&ListParams::default().fields("status.phase=Running"))
        .await
        .map(|l| {
            l.items
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .count()
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(bin_dir) = std::env::var_os("BOSUN_BIN_DIR").map(PathBuf::from) else {
        println!(
            "skipping: set BOSUN_BIN_DIR to a directory with release bosun-apiserver, bosun-node-sim, bosun-scheduler"
        );
        return;
    };
    let bin_dir = std::fs::canonicalize(bin_dir).unwrap();
    let nodes = env_usize("BENCH_NODES", 200);
    let replicas = env_usize("BENCH_REPLICAS", 1000);
    let deployments = env_usize("BENCH_DEPLOYMENTS", 100);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kubeconfig = d.join("kubeconfig");
    let kc = kubeconfig.display().to_string();
    let _apiserver = spawn(
        &bin_dir.join("bosun-apiserver"),
        &[
            "--data-dir",
            &d.join("data").display().to_string(),
            "--secure-port",
            "0",
            "--write-kubeconfig",
            &kc,
        ],
        &d.join("apiserver.log"),
    );
    while !kubeconfig.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let file = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(file, &Default::default())
            .await
            .unwrap(),
    )
    .unwrap();
    let _sim = spawn(
        &bin_dir.join("bosun-node-sim"),
        &[
            "--kubeconfig",
            &kc,
            "--nodes",
            &nodes.to_string(),
            "--max-grace-seconds",
            "0",
        ],
        &d.join("node-sim.log"),
    );
    let _scheduler = spawn(
        &bin_dir.join("bosun-scheduler"),
        &["--kubeconfig", &kc, "--healthz-bind-address", "127.0.0.1:0"],
        &d.join("scheduler.log"),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cm = spawn(
        Path::new(env!("CARGO_BIN_EXE_bosun-controller-manager")),
        &[
            "--kubeconfig",
            &kc,
            "--healthz-bind-address",
            &format!("127.0.0.1:{port}"),
        ],
        &d.join("controller-manager.log"),
    );
    let node_api: Api<Node> = Api::all(client.clone());
    until("nodes registered", async || {
        node_api
            .list_metadata(&ListParams::default())
            .await
            .map(|l| l.items.len())
            .unwrap_or(0)
            == nodes
    })
    .await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let available = |name: &'static str, want: usize| {
        let deploys = deploys.clone();
        async move || {
            let Some(d) = deploys.get(name).await.ok() else {
                return false;
            };
            let generation = d.metadata.generation;
            d.status.is_some_and(|s| {
                s.observed_generation == generation
                    && s.available_replicas.unwrap_or(0) as usize == want
                    && s.updated_replicas.unwrap_or(0) as usize == want
                    && s.replicas.unwrap_or(0) as usize == want
            })
        }
    };

    // 1. One big Deployment.
    let before = requests(port);
    let started = Instant::now();
    deploys
        .create(
            &PostParams::default(),
            &deployment("big", replicas, "app:1"),
        )
        .await
        .unwrap();
    until("big available", available("big", replicas)).await;
    let t1 = started.elapsed();
    let r1 = requests(port) - before;
    println!(
        "1 Deployment × {replicas} replicas → all available: {:.2} s ({:.2} controller-manager requests per pod)",
        t1.as_secs_f64(),
        r1 / replicas as f64
    );

    // 2. Rolling update.
    let started = Instant::now();
    deploys
        .patch("big", &PatchParams::default(), &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "app:2"}]}}}})))
        .await
        .unwrap();
    until("rollout complete", available("big", replicas)).await;
    until("old pods gone", async || {
        pods.list_metadata(&ListParams::default().labels("app=big"))
            .await
            .map(|l| l.items.len())
            .unwrap_or(0)
            == replicas
    })
    .await;
    println!(
        "rolling update of {replicas} replicas (maxSurge 25%): {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // 3. Delete until the last pod is gone.
    let started = Instant::now();
    deploys
        .delete("big", &DeleteParams::background())
        .await
        .unwrap();
    until("pods gone", async || {
        pods.list_metadata(&ListParams::default().labels("app=big"))
            .await
            .map(|l| l.items.is_empty())
            .unwrap_or(false)
    })
    .await;
    println!(
        "delete of a {replicas}-replica Deployment until the last pod is gone: {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // 4. Many Deployments.
    let total = deployments * 100;
    let before = requests(port);
    let started = Instant::now();
    futures::stream::iter(0..deployments)
        .map(|i| {
            let deploys = deploys.clone();
            async move {
                deploys
                    .create(
                        &PostParams::default(),
                        &deployment(&format!("d{i}"), 100, "app:1"),
                    )
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
    until("all running", async || running_pods(&pods).await >= total).await;
    let t4 = started.elapsed();
    let r4 = requests(port) - before;
    println!(
        "{deployments} Deployments × 100 replicas ({total} pods) → all Running: {:.2} s ({:.2} controller-manager requests per pod)",
        t4.as_secs_f64(),
        r4 / total as f64
    );
    println!(
        "controller-manager peak RSS: {:.0} MiB",
        peak_rss(cm.0.id())
    );
}
