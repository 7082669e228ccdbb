//! Benchmark: how fast the simulator registers N nodes Ready, how fast a
//! bound pod reaches Running, and the simulator's CPU and RSS with N nodes
//! and P running pods, against the real `bosun-apiserver`.
//!
//! ```sh
//! BOSUN_APISERVER_BIN=target/release/bosun-apiserver \
//!   cargo bench -p bosun-node-sim --bench nodes
//! ```
//! Knobs: `BENCH_NODES` (5000), `BENCH_PODS` (50000), `BENCH_WINDOW_SECONDS`
//! (30, the steady-state sampling window), `BENCH_SIM_WRAPPER` (a command
//! to run the simulator under, e.g. `heaptrack -o /tmp/sim`). The simulator runs as a child
//! process (the `bosun-node-sim` binary of this build) so its CPU and RSS
//! are its own.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::watcher;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process (leader of its own process group) killed with its whole
/// group on drop, so a wrapper's children go too.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (CPU seconds used so far, RSS in MiB, peak RSS in MiB) of `pid`.
fn usage(pid: u32) -> (f64, f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // utime and stime are fields 14 and 15 (1-based) of the whole line.
    let ticks: f64 = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (ticks / 100.0, kb("VmRSS:"), kb("VmHWM:"))
}

async fn sample(label: &str, pid: u32, window: Duration) {
    let (cpu0, _, _) = usage(pid);
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let (cpu1, rss, peak) = usage(pid);
    let cpu = (cpu1 - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    println!(
        "{label}: CPU {cpu:.1}% of one core over {window:?}, RSS {rss:.0} MiB (peak {peak:.0} MiB)"
    );
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.example/app:1"}]}
    }))
    .unwrap()
}

async fn ready_nodes(api: &Api<Node>) -> usize {
    let Ok(list) = api.list(&ListParams::default()).await else {
        return 0;
    };
    list.items
        .iter()
        .filter(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .count()
}

async fn not_running(api: &Api<Pod>) -> Option<usize> {
    let params = ListParams::default()
        .fields("status.phase!=Running")
        .limit(1);
    api.list(&params).await.ok().map(|l| l.items.len())
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
    let nodes = env_u32("BENCH_NODES", 5000);
    let pods = env_u32("BENCH_PODS", 50_000);
    let window = Duration::from_secs(u64::from(env_u32("BENCH_WINDOW_SECONDS", 30)));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let log = std::fs::File::create(dir.path().join("apiserver.log")).unwrap();
    let server = Killed(
        Command::new(&apiserver)
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

    // 1. Registration: from spawning the simulator to all nodes Ready.
    let sim_log = dir.path().join("node-sim.log");
    let started = Instant::now();
    // BENCH_SIM_WRAPPER (e.g. `heaptrack`) runs the simulator under a tool.
    let sim_bin = env!("CARGO_BIN_EXE_bosun-node-sim");
    let mut command = match std::env::var("BENCH_SIM_WRAPPER") {
        Ok(wrapper) if !wrapper.is_empty() => {
            let mut words = wrapper.split_whitespace();
            let mut c = Command::new(words.next().unwrap());
            c.args(words).arg(sim_bin);
            c
        }
        _ => Command::new(sim_bin),
    };
    let sim = Killed(
        command
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--nodes", &nodes.to_string(), "--max-grace-seconds", "0"])
            .env("RUST_LOG", "warn,bosun_node_sim=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&sim_log).unwrap())
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    let sim_pid = sim.0.id();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if ready_nodes(&node_api).await == nodes as usize {
            break;
        }
        assert!(Instant::now() < deadline, "nodes not Ready in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{nodes} nodes Ready {:.2} s after starting bosun-node-sim",
        started.elapsed().as_secs_f64()
    );
    if let Some(line) = std::fs::read_to_string(&sim_log)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains("registered nodes"))
    {
        println!("  simulator: {}", line.trim());
    }
    sample(&format!("node-sim, {nodes} nodes idle"), sim_pid, window).await;

    // 2. Latency: create a bound pod, wait for Running (watch), one at a time.
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut latencies = Vec::new();
    for i in 0..100 {
        let name = format!("latency-{i}");
        let events = watcher(
            pod_api.clone(),
            watcher::Config::default().fields(&format!("metadata.name={name}")),
        );
        futures::pin_mut!(events);
        // Wait for the watch to be established (its initial empty list).
        while let Some(event) = events.next().await {
            if matches!(event, Ok(watcher::Event::InitDone)) {
                break;
            }
        }
        let t0 = Instant::now();
        pod_api
            .create(
                &PostParams::default(),
                &pod(&name, &format!("bosun-node-{}", i % nodes)),
            )
            .await
            .unwrap();
        while let Some(event) = events.next().await {
            if let Ok(watcher::Event::Apply(p)) = event
                && p.status.and_then(|s| s.phase).as_deref() == Some("Running")
            {
                latencies.push(t0.elapsed());
                break;
            }
        }
    }
    latencies.sort();
    println!(
        "create -> Running (watch): median {:.1} ms, p90 {:.1} ms, max {:.1} ms over {} pods",
        latencies[latencies.len() / 2].as_secs_f64() * 1000.0,
        latencies[latencies.len() * 9 / 10].as_secs_f64() * 1000.0,
        latencies[latencies.len() - 1].as_secs_f64() * 1000.0,
        latencies.len()
    );

    // 3. Load: P pods spread over the nodes, created 64 at a time.
    let t0 = Instant::now();
    let created = futures::stream::iter(0..pods)
        .map(|i| {
            let api = pod_api.clone();
            async move {
                let p = pod(&format!("load-{i}"), &format!("bosun-node-{}", i % nodes));
                api.create(&PostParams::default(), &p).await.is_ok()
            }
        })
        .buffer_unordered(64)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    let create_secs = t0.elapsed().as_secs_f64();
    println!(
        "created {created} pods in {create_secs:.1} s ({:.0}/s)",
        f64::from(created as u32) / create_secs
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if not_running(&pod_api).await == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "pods not Running in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "all {} pods Running {:.1} s after the first create",
        created + latencies.len(),
        t0.elapsed().as_secs_f64()
    );
    // Let the creation burst's effects settle before sampling.
    tokio::time::sleep(Duration::from_secs(5)).await;
    sample(
        &format!(
            "node-sim, {nodes} nodes + {} running pods",
            created + latencies.len()
        ),
        sim_pid,
        window,
    )
    .await;
    sample(
        "bosun-apiserver meanwhile",
        server.0.id(),
        Duration::from_secs(5),
    )
    .await;
    drop(sim);
    drop(server);
}
