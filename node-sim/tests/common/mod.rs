//! Test harness: the real `bosun-apiserver` binary (path in
//! `BOSUN_APISERVER_BIN`) on a free port in a temporary directory, the real
//! `kubectl` with an isolated `HOME`, and an in-process simulator. Every
//! process started here is killed on drop, so also when a test fails.

#![allow(dead_code)]

use bosun_node_sim::{Config, Simulator};
use std::time::Duration;

pub use bosun_runtime::testing::Apiserver;

/// What the simulator tests add to the shared apiserver harness.
pub trait SimulatorExt {
    /// A simulator configuration for `nodes` nodes of this cluster, with
    /// short timings for tests.
    fn config(&self, nodes: u32) -> Config;
    /// Starts a simulator in-process.
    async fn simulator(&self, config: Config) -> Simulator;
}

impl SimulatorExt for Apiserver {
    fn config(&self, nodes: u32) -> Config {
        let mut config = Config::new(Some(self.kubeconfig.clone()), nodes);
        config.heartbeat = Duration::from_millis(500);
        config.crash_backoff = Duration::from_secs(1);
        config
    }

    async fn simulator(&self, config: Config) -> Simulator {
        Simulator::start(config).await.expect("start simulator")
    }
}

/// A pod bound to `node`.
pub fn pod(name: &str, node: &str, extra_spec: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations: {{{annotations}}}
spec:
  nodeName: {node}
{extra_spec}
  containers:
  - name: app
    image: registry.example/app:1
"
    )
}
