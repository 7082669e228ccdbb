//! What the controller-manager benchmarks share: a whole local cluster of
//! release binaries as separate processes (apiserver on the embedded store,
//! node simulator, scheduler) plus this build's controller-manager, and the
//! measurements taken from outside (peak RSS from /proc, API requests from
//! the controller-manager's `rest_client_requests_total`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

use kube::api::{Api, ListParams};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed on drop.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `name` from the environment as a number, else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
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

pub use bosun_runtime::testing::{cpu_seconds, peak_rss};

/// Polls `check` every 100 ms until it holds (bounded at 15 minutes).
pub async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(900);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A running cluster; every process stops on drop.
pub struct Cluster {
    /// A client with the admin kubeconfig.
    pub client: kube::Client,
    /// The controller-manager's metrics port.
    pub port: u16,
    /// The controller-manager process.
    pub controller_manager: Killed,
    /// The node simulator, scheduler and apiserver, in that order.
    others: Vec<Killed>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts a cluster with `nodes` simulated nodes (extra simulator flags
    /// in `sim_args`), or `None` (with a message) when `BOSUN_BIN_DIR` is
    /// not set. Returns once every node is registered.
    pub async fn start(nodes: usize, sim_args: &[&str]) -> Option<Self> {
        let Some(bin_dir) = std::env::var_os("BOSUN_BIN_DIR").map(PathBuf::from) else {
            println!(
                "skipping: set BOSUN_BIN_DIR to a directory with release bosun-apiserver, bosun-node-sim, bosun-scheduler"
            );
            return None;
        };
        // Relative to the workspace root (cargo runs benches in the
        // package's directory).
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let bin_dir = std::fs::canonicalize(root.join(&bin_dir))
            .unwrap_or_else(|e| panic!("BOSUN_BIN_DIR {}: {e}", bin_dir.display()));
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let kubeconfig = d.join("kubeconfig");
        let kc = kubeconfig.display().to_string();
        let apiserver = spawn(
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
        let node_count = nodes.to_string();
        let mut args = vec![
            "--kubeconfig",
            &kc,
            "--nodes",
            &node_count,
            "--max-grace-seconds",
            "0",
        ];
        args.extend(sim_args);
        let sim = spawn(
            &bin_dir.join("bosun-node-sim"),
            &args,
            &d.join("node-sim.log"),
        );
        let scheduler = spawn(
            &bin_dir.join("bosun-scheduler"),
            &["--kubeconfig", &kc, "--healthz-bind-address", "127.0.0.1:0"],
            &d.join("scheduler.log"),
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let controller_manager = spawn(
            Path::new(env!("CARGO_BIN_EXE_bosun-controller-manager")),
            &[
                "--kubeconfig",
                &kc,
                "--healthz-bind-address",
                &format!("127.0.0.1:{port}"),
            ],
            &d.join("controller-manager.log"),
        );
        let node_api: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
        until("nodes registered", async || {
            node_api
                .list_metadata(&ListParams::default())
                .await
                .map(|l| l.items.len())
                .unwrap_or(0)
                == nodes
        })
        .await;
        Some(Self {
            client,
            port,
            controller_manager,
            others: vec![sim, scheduler, apiserver],
            _dir: dir,
        })
    }

    /// Sum of the controller-manager's `rest_client_requests_total`.
    pub fn requests(&self) -> f64 {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
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

    /// CPU seconds used so far by each component, named.
    pub fn cpu(&self) -> Vec<(&'static str, f64)> {
        let names = ["node-sim", "scheduler", "apiserver"];
        let mut out = vec![(
            "controller-manager",
            cpu_seconds(self.controller_manager.0.id()),
        )];
        out.extend(
            names
                .iter()
                .zip(&self.others)
                .map(|(name, child)| (*name, cpu_seconds(child.0.id()))),
        );
        out
    }

    /// CPU seconds each component used since `before` (from [`Cluster::cpu`]),
    /// as one line.
    pub fn cpu_since(&self, before: &[(&'static str, f64)]) -> String {
        let now = self.cpu();
        let parts: Vec<String> = now
            .iter()
            .zip(before)
            .map(|((name, after), (_, then))| format!("{name} {:.1}", after - then))
            .collect();
        let total: f64 = now.iter().zip(before).map(|((_, a), (_, b))| a - b).sum();
        format!("CPU seconds: {} (total {total:.1})", parts.join(", "))
    }

    /// The controller-manager's peak RSS in MiB.
    pub fn controller_manager_rss(&self) -> f64 {
        peak_rss(self.controller_manager.0.id())
    }
}
