//! The node-lifecycle controller against the real `bosun-apiserver`
//! binary (path in `BOSUN_APISERVER_BIN`; skipped without it) with an
//! in-process controller-manager. The test plays kubelet: it renews each
//! live node's Lease in `kube-node-lease` and posts its Ready condition.

mod common;

use common::*;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODES: [&str; 3] = ["n0", "n1", "n2"];
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// Posts `node`'s status as a kubelet does: Ready=True, heartbeat now.
async fn post_ready(client: &kube::Client, node: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    let now = jiff::Timestamp::now().to_string();
    nodes
        .patch_status(
            node,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [{
                "type": "Ready", "status": "True", "reason": "KubeletReady",
                "lastHeartbeatTime": now, "lastTransitionTime": now,
            }]}})),
        )
        .await
        .expect("post node status");
}

/// Renews `node`'s Lease (creating it first).
async fn renew(client: &kube::Client, node: &str) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let lease = Lease {
        metadata: kube::api::ObjectMeta {
            name: Some(node.to_owned()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.to_owned()),
            lease_duration_seconds: Some(40),
            renew_time: Some(MicroTime(jiff::Timestamp::now())),
            ..Default::default()
        }),
    };
    if leases
        .patch(node, &PatchParams::default(), &Patch::Merge(&lease))
        .await
        .is_err()
    {
        leases
            .create(&PostParams::default(), &lease)
            .await
            .expect("create lease");
    }
}

/// Renews the Leases of the nodes in `alive` every 200 ms until dropped.
fn heartbeat(
    client: kube::Client,
    alive: Arc<Mutex<HashSet<String>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let names: Vec<String> = alive.lock().expect("alive").iter().cloned().collect();
            for name in names {
                renew(&client, &name).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

async fn taints(client: &kube::Client, node: &str) -> Vec<Taint> {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .get(node)
        .await
        .expect("get node")
        .spec
        .and_then(|s| s.taints)
        .unwrap_or_default()
}

async fn ready_status(client: &kube::Client, node: &str) -> Option<String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node = nodes.get(node).await.expect("get node");
    node.status?
        .conditions?
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status)
}

fn has(taints: &[Taint], key: &str, effect: &str) -> bool {
    taints.iter().any(|t| t.key == key && t.effect == effect)
}

async fn no_execute_tainted(client: &kube::Client) -> Vec<&'static str> {
    let mut out = Vec::new();
    for node in NODES {
        let taints = taints(client, node).await;
        if taints.iter().any(|t| t.effect == "NoExecute") {
            out.push(node);
        }
    }
    out
}

async fn pod_exists(client: &kube::Client, name: &str) -> bool {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.get_opt(name)
        .await
        .expect("get pod")
        .is_some_and(|p| p.metadata.deletion_timestamp.is_none())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_node_is_tainted_no_execute_while_every_node_is_down_and_tainting_resumes_after_one_recovers()
 {
    let Some(c) = cluster_with("nodelifecycle", |config| {
        config.node_monitor_grace_period = Duration::from_secs(2);
        config.node_monitor_period = Duration::from_millis(200);
        // Fast enough that the test does not wait for tokens.
        config.node_eviction_rate = 50.0;
    })
    .await
    else {
        return;
    };
    let nodes: Api<Node> = Api::all(c.client.clone());
    for name in NODES {
        nodes
            .create(
                &PostParams::default(),
                &object(json!({"metadata": {"name": name}})),
            )
            .await
            .expect("create node");
        post_ready(&c.client, name).await;
        renew(&c.client, name).await;
    }
    // A pod on n2 that tolerates being unreachable for 3 s: evicted only
    // if n2 stays tainted that long.
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &object(json!({
            "metadata": {"name": "on-n2"},
            "spec": {
                "nodeName": "n2",
                "containers": [{"name": "c", "image": "nginx"}],
                "tolerations": [{"key": UNREACHABLE, "operator": "Exists",
                                 "effect": "NoExecute", "tolerationSeconds": 3}],
            },
        })),
    )
    .await
    .expect("create pod");
    let alive = Arc::new(Mutex::new(
        NODES
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<HashSet<String>>(),
    ));
    let beats = heartbeat(c.client.clone(), alive.clone());
    // Healthy nodes stay untainted.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for node in NODES {
        assert_eq!(taints(&c.client, node).await, vec![], "{node} is healthy");
    }

    // Every kubelet stops: every node goes Unknown and is kept off for new
    // pods (NoSchedule), but none is tainted NoExecute.
    alive.lock().expect("alive").clear();
    eventually("every node Unknown and unschedulable", || async {
        for node in NODES {
            if ready_status(&c.client, node).await.as_deref() != Some("Unknown")
                || !has(&taints(&c.client, node).await, UNREACHABLE, "NoSchedule")
            {
                return None;
            }
        }
        Some(())
    })
    .await;
    // A node that went Unknown alone before the others may have been
    // tainted for a moment; master disruption takes that off.
    eventually("no NoExecute taint", || async {
        no_execute_tainted(&c.client).await.is_empty().then_some(())
    })
    .await;
    let hold = Instant::now() + Duration::from_secs(4);
    while Instant::now() < hold {
        assert_eq!(
            no_execute_tainted(&c.client).await,
            Vec::<&str>::new(),
            "no node is tainted NoExecute while every node is down"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(pod_exists(&c.client, "on-n2").await, "nothing is evicted");

    // n0's kubelet comes back: tainting resumes for the others.
    post_ready(&c.client, "n0").await;
    alive.lock().expect("alive").insert("n0".into());
    eventually("n1 and n2 tainted NoExecute", || async {
        let tainted = no_execute_tainted(&c.client).await;
        (tainted == ["n1", "n2"]).then_some(())
    })
    .await;
    for node in ["n1", "n2"] {
        assert!(has(
            &taints(&c.client, node).await,
            UNREACHABLE,
            "NoExecute"
        ));
    }
    eventually("n0 untainted", || async {
        taints(&c.client, "n0").await.is_empty().then_some(())
    })
    .await;
    eventually("the pod on n2 evicted after its toleration", || async {
        (!pod_exists(&c.client, "on-n2").await).then_some(())
    })
    .await;
    beats.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_among_healthy_ones_is_tainted_at_once() {
    let Some(c) = cluster_with("nodelifecycle", |config| {
        config.node_monitor_grace_period = Duration::from_secs(2);
        config.node_monitor_period = Duration::from_millis(200);
    })
    .await
    else {
        return;
    };
    let nodes: Api<Node> = Api::all(c.client.clone());
    for name in NODES {
        nodes
            .create(
                &PostParams::default(),
                &object(json!({"metadata": {"name": name}})),
            )
            .await
            .expect("create node");
        post_ready(&c.client, name).await;
        renew(&c.client, name).await;
    }
    let alive = Arc::new(Mutex::new(
        NODES
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<HashSet<String>>(),
    ));
    let beats = heartbeat(c.client.clone(), alive.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    // One of three (the e2e case) keeps the zone Normal: the default rate
    // (0.1/s, a full bucket of one) taints it without waiting.
    alive.lock().expect("alive").remove("n1");
    eventually("n1 tainted NoExecute", || async {
        (no_execute_tainted(&c.client).await == ["n1"]).then_some(())
    })
    .await;
    // It comes back: untainted.
    post_ready(&c.client, "n1").await;
    alive.lock().expect("alive").insert("n1".into());
    eventually("n1 untainted", || async {
        taints(&c.client, "n1").await.is_empty().then_some(())
    })
    .await;
    beats.abort();
}
