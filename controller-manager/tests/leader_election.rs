//! `--leader-elect` against the real `bosun-apiserver` binary (path in
//! `BOSUN_APISERVER_BIN`; skipped without it): two in-process
//! controller-managers share one apiserver; only the holder of the Lease
//! `kube-system/kube-controller-manager` reconciles, and when it stops
//! (cleanly, or as if it crashed) the other takes over and carries on.

mod common;

use common::*;

use bosun_controller_manager::{Config, run};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A controller-manager running in-process: dropping `stop` stops it
/// cleanly (releasing the Lease); aborting `task` is a crash.
struct Candidate {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Starts a candidate running the ReplicaSet controller with short
/// leader-election timings.
fn candidate(c: &Cluster) -> Candidate {
    let mut config: Config = config(&c.server, "replicaset");
    config.leader_elect = true;
    config.leader_elect_lease_duration = Duration::from_secs(2);
    config.leader_elect_renew_deadline = Duration::from_millis(1500);
    config.leader_elect_retry_period = Duration::from_millis(250);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = run(config, async {
            let _ = stopped.await;
        })
        .await;
        assert!(result.is_ok(), "controller-manager failed: {result:?}");
    });
    Candidate {
        stop: Some(stop),
        task,
    }
}

/// The Lease's holder, when it has one.
async fn holder(client: &kube::Client) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    leases
        .get_opt("kube-controller-manager")
        .await
        .expect("get lease")?
        .spec?
        .holder_identity
        .filter(|h| !h.is_empty())
}

async fn transitions(client: &kube::Client) -> i32 {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    leases
        .get("kube-controller-manager")
        .await
        .expect("get lease")
        .spec
        .and_then(|s| s.lease_transitions)
        .unwrap_or_default()
}

/// Live pods of the ReplicaSet `web`.
async fn pods(client: &kube::Client) -> usize {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.list(&ListParams::default().labels("app=web"))
        .await
        .expect("list pods")
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .count()
}

/// The reporting instances of the Events about the ReplicaSet `web`.
async fn reporters(client: &kube::Client) -> BTreeSet<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    events
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("ReplicaSet")
                && e.involved_object.name.as_deref() == Some("web")
        })
        .map(|e| e.reporting_instance.unwrap_or_default())
        .collect()
}

async fn create_replica_set(client: &kube::Client, replicas: i32) {
    let rses: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    rses.create(
        &PostParams::default(),
        &object(json!({
            "metadata": {"name": "web"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        })),
    )
    .await
    .expect("create replica set");
}

async fn scale(client: &kube::Client, replicas: i32) {
    let rses: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    rses.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": replicas}})),
    )
    .await
    .expect("scale replica set");
}

/// The scenario both tests share, up to stopping the leader: returns the
/// leader, the standby, and the leader's identity.
async fn leader_and_standby(c: &Cluster) -> (Candidate, Candidate, String) {
    let leader = candidate(c);
    let first = eventually("a Lease holder", || holder(&c.client)).await;
    let standby = candidate(c);
    create_replica_set(&c.client, 3).await;
    eventually("three pods", || async {
        (pods(&c.client).await == 3).then_some(())
    })
    .await;
    // Only the leader acts: the count stays exact, the Lease stays put,
    // and every Event comes from the leader.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        assert_eq!(pods(&c.client).await, 3, "exactly the replicas");
        assert_eq!(holder(&c.client).await.as_deref(), Some(first.as_str()));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reported = eventually("events about web", || async {
        let r = reporters(&c.client).await;
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(reported, BTreeSet::from([first.clone()]));
    (leader, standby, first)
}

/// After the leader stopped: the standby holds the Lease and reconciles.
async fn standby_takes_over(c: &Cluster, first: &str, standby: Candidate) {
    let second = eventually("a new Lease holder", || async {
        holder(&c.client).await.filter(|h| h != first)
    })
    .await;
    assert!(transitions(&c.client).await >= 1, "the takeover is counted");
    scale(&c.client, 5).await;
    eventually("five pods", || async {
        (pods(&c.client).await == 5).then_some(())
    })
    .await;
    eventually("events from the new leader", || async {
        reporters(&c.client).await.contains(&second).then_some(())
    })
    .await;
    let reported = reporters(&c.client).await;
    assert_eq!(
        reported,
        BTreeSet::from([first.to_owned(), second.clone()]),
        "only the two leaders ever reported"
    );
    assert_eq!(holder(&c.client).await.as_deref(), Some(second.as_str()));
    drop(standby);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_reconciles_and_the_standby_takes_over_when_it_stops() {
    let Some(server) = bosun_runtime::testing::Apiserver::start().await else {
        return;
    };
    let client = server.client().await;
    let c = Cluster {
        server,
        client,
        stop: None,
    };
    let (mut leader, standby, first) = leader_and_standby(&c).await;
    // A clean stop releases the Lease.
    drop(leader.stop.take());
    tokio::time::timeout(Duration::from_secs(30), &mut leader.task)
        .await
        .expect("the leader stops")
        .expect("the leader stopped cleanly");
    standby_takes_over(&c, &first, standby).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_leader_is_replaced_once_its_lease_expires() {
    let Some(server) = bosun_runtime::testing::Apiserver::start().await else {
        return;
    };
    let client = server.client().await;
    let c = Cluster {
        server,
        client,
        stop: None,
    };
    let (leader, standby, first) = leader_and_standby(&c).await;
    // No release: the standby waits out the lease duration.
    leader.task.abort();
    let _ = leader.task.await;
    standby_takes_over(&c, &first, standby).await;
}
