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

mod common;

use common::{Cluster, env_usize, until};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Instant;

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

/// Counts the pods of namespace `default` that are Running and not being deleted, from
/// one metadata watch filtered on `status.phase=Running` (a pod entering
/// the filter arrives as added, one leaving it as deleted), and publishes
/// the count as it changes. A watch, not a polled list, so measuring does
/// not load the cluster it measures.
fn running_pods(client: kube::Client) -> tokio::sync::watch::Receiver<usize> {
    use kube::runtime::watcher::{self, Event};
    let (tx, rx) = tokio::sync::watch::channel(0);
    tokio::spawn(async move {
        let config = watcher::Config::default().fields("status.phase=Running");
        let api: Api<kube::core::PartialObjectMeta<Pod>> = Api::namespaced(client, "default");
        let mut events = std::pin::pin!(watcher::watcher(api, config));
        let mut running = std::collections::HashSet::new();
        let mut initial = std::collections::HashSet::new();
        while let Some(event) = events.next().await {
            let live =
                |m: &kube::core::PartialObjectMeta<Pod>| m.metadata.deletion_timestamp.is_none();
            let name = |m: kube::core::PartialObjectMeta<Pod>| m.metadata.name.unwrap_or_default();
            match event {
                Ok(Event::Init) => initial.clear(),
                Ok(Event::InitApply(m)) if live(&m) => {
                    initial.insert(name(m));
                }
                Ok(Event::InitApply(_)) | Err(_) => continue,
                Ok(Event::InitDone) => running = std::mem::take(&mut initial),
                Ok(Event::Apply(m)) if live(&m) => {
                    running.insert(name(m));
                }
                Ok(Event::Apply(m) | Event::Delete(m)) => {
                    running.remove(&name(m));
                }
            }
            tx.send_replace(running.len());
        }
    });
    rx
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let nodes = env_usize("BENCH_NODES", 200);
    let replicas = env_usize("BENCH_REPLICAS", 1000);
    let deployments = env_usize("BENCH_DEPLOYMENTS", 100);
    let Some(cluster) = Cluster::start(nodes, &[]).await else {
        return;
    };
    let client = cluster.client.clone();
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
    let before = cluster.requests();
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
    let r1 = cluster.requests() - before;
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
    let mut running = running_pods(client.clone());
    let before = cluster.requests();
    let cpu_before = cluster.cpu();
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
    running
        .wait_for(|n| *n >= total)
        .await
        .expect("the Running-pods watch ended");
    let t4 = started.elapsed();
    let r4 = cluster.requests() - before;
    println!(
        "{deployments} Deployments × 100 replicas ({total} pods) → all Running: {:.2} s ({:.2} controller-manager requests per pod)",
        t4.as_secs_f64(),
        r4 / total as f64
    );
    println!("  {}", cluster.cpu_since(&cpu_before));
    println!(
        "controller-manager peak RSS: {:.0} MiB",
        cluster.controller_manager_rss()
    );
}
