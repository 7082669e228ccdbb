//! DaemonSet, Job and StatefulSet benchmark on a whole local cluster
//! (release binaries as separate processes: apiserver on the embedded
//! store, node simulator, scheduler, and this build's controller-manager):
//!
//! 1. a DaemonSet over every node (5,000) to all Ready, then its deletion
//!    until the last pod is gone;
//! 2. 1,000 Jobs of 10 completions each (parallelism 10, pods that run
//!    1 s) to Complete;
//! 3. a StatefulSet of 500 replicas, OrderedReady, to all Ready.
//!
//! Reports each time, the controller-manager's API requests per pod (its
//! `rest_client_requests_total`) and its peak RSS.
//!
//! ```sh
//! cargo build --release -p bosun-apiserver -p bosun-node-sim -p bosun-scheduler
//! BOSUN_BIN_DIR=target/release cargo bench -p bosun-controller-manager --bench sets_and_jobs
//! ```
//! Knobs: `BENCH_NODES` (5000), `BENCH_JOBS` (1000), `BENCH_COMPLETIONS`
//! (10), `BENCH_STS_REPLICAS` (500).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Cluster, env_usize, until};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use std::time::Instant;

fn container() -> serde_json::Value {
    json!({"name": "c", "image": "app:1",
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}})
}

fn daemon_set() -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [container()]}
            }
        }
    }))
    .unwrap()
}

fn job(name: &str, completions: usize) -> Job {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "completions": completions,
            "parallelism": completions,
            "template": {
                "metadata": {"annotations": {"sim.bosun.dev/run-seconds": "1"}},
                "spec": {"restartPolicy": "Never", "containers": [container()]}
            }
        }
    }))
    .unwrap()
}

fn stateful_set(replicas: usize) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "serviceName": "web",
            "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [container()]}
            }
        }
    }))
    .unwrap()
}

fn complete(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Complete" && c.status == "True")
        })
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let nodes = env_usize("BENCH_NODES", 5000);
    let jobs = env_usize("BENCH_JOBS", 1000);
    let completions = env_usize("BENCH_COMPLETIONS", 10);
    let sts_replicas = env_usize("BENCH_STS_REPLICAS", 500);
    let Some(cluster) = Cluster::start(nodes, &[]).await else {
        return;
    };
    let client = cluster.client.clone();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // 1. A DaemonSet over every node.
    let daemon_sets: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let before = cluster.requests();
    let started = Instant::now();
    daemon_sets
        .create(&PostParams::default(), &daemon_set())
        .await
        .unwrap();
    until("daemon set ready", async || {
        daemon_sets.get("agent").await.ok().is_some_and(|ds| {
            let generation = ds.metadata.generation;
            ds.status.is_some_and(|s| {
                s.observed_generation == generation
                    && s.desired_number_scheduled as usize == nodes
                    && s.number_ready as usize == nodes
                    && s.updated_number_scheduled.unwrap_or(0) as usize == nodes
            })
        })
    })
    .await;
    let t = started.elapsed();
    let r = cluster.requests() - before;
    println!(
        "DaemonSet over {nodes} nodes → all Ready: {:.2} s ({:.2} controller-manager requests per pod)",
        t.as_secs_f64(),
        r / nodes as f64
    );
    let started = Instant::now();
    daemon_sets
        .delete("agent", &DeleteParams::background())
        .await
        .unwrap();
    until("daemon set pods gone", async || {
        pods.list_metadata(&ListParams::default().labels("app=agent"))
            .await
            .is_ok_and(|l| l.items.is_empty())
    })
    .await;
    println!(
        "delete of that DaemonSet until the last pod is gone: {:.2} s",
        started.elapsed().as_secs_f64()
    );

    // 2. Many Jobs.
    let job_api: Api<Job> = Api::namespaced(client.clone(), "default");
    let total = jobs * completions;
    let before = cluster.requests();
    let started = Instant::now();
    futures::stream::iter(0..jobs)
        .map(|i| {
            let job_api = job_api.clone();
            async move {
                job_api
                    .create(&PostParams::default(), &job(&format!("j{i}"), completions))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
    until("jobs complete", async || {
        job_api
            .list(&ListParams::default())
            .await
            .is_ok_and(|l| l.items.iter().filter(|j| complete(j)).count() == jobs)
    })
    .await;
    let t = started.elapsed();
    let r = cluster.requests() - before;
    println!(
        "{jobs} Jobs × {completions} completions (parallelism {completions}, {total} pods of 1 s) → all Complete: {:.2} s ({:.2} controller-manager requests per pod)",
        t.as_secs_f64(),
        r / total as f64
    );

    // 3. An OrderedReady StatefulSet.
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let before = cluster.requests();
    let started = Instant::now();
    sets.create(&PostParams::default(), &stateful_set(sts_replicas))
        .await
        .unwrap();
    until("stateful set ready", async || {
        sets.get("web").await.ok().is_some_and(|s| {
            let generation = s.metadata.generation;
            s.status.is_some_and(|s| {
                s.observed_generation == generation
                    && s.ready_replicas.unwrap_or(0) as usize == sts_replicas
            })
        })
    })
    .await;
    let t = started.elapsed();
    let r = cluster.requests() - before;
    println!(
        "StatefulSet of {sts_replicas} replicas (OrderedReady) → all Ready: {:.2} s ({:.1} ms per pod, {:.2} controller-manager requests per pod)",
        t.as_secs_f64(),
        t.as_secs_f64() * 1000.0 / sts_replicas as f64,
        r / sts_replicas as f64
    );
    println!(
        "controller-manager peak RSS: {:.0} MiB",
        cluster.controller_manager_rss()
    );
}
