//! The DaemonSet and StatefulSet controllers against the real
//! `bosun-apiserver` binary (path in `BOSUN_APISERVER_BIN`; skipped
//! without it), each test with its own apiserver and an in-process
//! controller-manager. Nodes are plain Node objects; the tests play
//! scheduler (`pods/binding`) and kubelet (pod status) themselves.

mod common;

use common::*;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Node, PersistentVolumeClaim, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

async fn create_node(client: &kube::Client, name: &str, taints: serde_json::Value) {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(
            &PostParams::default(),
            &object(json!({
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                "spec": {"taints": taints},
            })),
        )
        .await
        .expect("create node");
}

/// Live (not terminating) pods labelled `app=<app>`.
async fn pods_of(client: &kube::Client, app: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("list pods")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

fn label<'a>(pod: &'a Pod, key: &str) -> &'a str {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
        .unwrap_or_default()
}

fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The node a daemon pod's required node affinity pins it to.
fn pinned_node(pod: &Pod) -> Option<String> {
    let terms = &pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    let field = terms.first()?.match_fields.as_ref()?.first()?;
    (field.key == "metadata.name" && field.operator == "In")
        .then(|| field.values.as_ref()?.first().cloned())
        .flatten()
}

/// Plays scheduler and kubelet: binds the pod to `node` (when given and
/// not bound yet), then reports it Running and Ready.
async fn run_pod(client: &kube::Client, pod: &str, node: Option<&str>) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    if let Some(node) = node {
        let _: Result<serde_json::Value, _> = pods
            .create_subresource(
                "binding",
                pod,
                &PostParams::default(),
                &json!({
                    "apiVersion": "v1", "kind": "Binding",
                    "metadata": {"name": pod},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node},
                }),
            )
            .await;
    }
    pods.patch_status(
        pod,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}
        ]}})),
    )
    .await
    .expect("set pod status");
}

fn daemon_set(name: &str, image: &str, tolerations: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "tolerations": tolerations,
                    "containers": [{"name": "agent", "image": image}],
                }
            }
        }
    })
}

async fn revisions_of(client: &kube::Client, app: &str) -> Vec<ControllerRevision> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), "default");
    let mut list = api
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("list revisions")
        .items;
    list.sort_by_key(|r| r.revision);
    list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_sets_run_one_pod_per_eligible_node_and_follow_nodes() {
    let Some(c) = cluster("daemonset").await else {
        return;
    };
    create_node(&c.client, "n1", json!([])).await;
    create_node(&c.client, "n2", json!([])).await;
    create_node(
        &c.client,
        "tainted",
        json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
    )
    .await;
    let dss: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    dss.create(
        &PostParams::default(),
        &object(daemon_set("agent", "agent:1", json!([]))),
    )
    .await
    .expect("create daemonset");
    // A second DaemonSet tolerates the taint.
    dss.create(
        &PostParams::default(),
        &object(daemon_set(
            "tolerant",
            "agent:1",
            json!([{"key": "dedicated", "operator": "Exists"}]),
        )),
    )
    .await
    .expect("create tolerant daemonset");

    let pods = eventually("one agent pod on each untainted node", || async {
        let pods = pods_of(&c.client, "agent").await;
        let mut nodes: Vec<String> = pods.iter().filter_map(pinned_node).collect();
        nodes.sort();
        (nodes == ["n1", "n2"]).then_some(pods)
    })
    .await;
    for pod in &pods {
        let spec = pod.spec.as_ref().expect("spec");
        assert!(spec.node_name.is_none(), "the scheduler binds daemon pods");
        assert!(!label(pod, "controller-revision-hash").is_empty());
        assert!(!label(pod, "pod-template-generation").is_empty());
        let tolerations = spec.tolerations.as_ref().expect("tolerations");
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
            "node.kubernetes.io/unschedulable",
        ] {
            assert!(
                tolerations.iter().any(|t| t.key.as_deref() == Some(key)),
                "{key} not tolerated"
            );
        }
        let owner = &pod.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("DaemonSet", "agent")
        );
        assert!(name(pod).starts_with("agent-"));
    }
    eventually(
        "the tolerant DaemonSet covers the tainted node too",
        || async {
            let mut nodes: Vec<String> = pods_of(&c.client, "tolerant")
                .await
                .iter()
                .filter_map(pinned_node)
                .collect();
            nodes.sort();
            (nodes == ["n1", "n2", "tainted"]).then_some(())
        },
    )
    .await;

    // A node added later gets its pod.
    create_node(&c.client, "n3", json!([])).await;
    let pods = eventually("a pod for the new node", || async {
        let pods = pods_of(&c.client, "agent").await;
        (pods.len() == 3 && pods.iter().any(|p| pinned_node(p).as_deref() == Some("n3")))
            .then_some(pods)
    })
    .await;
    // Bind and run them all: the DaemonSet is then fully rolled out.
    for pod in &pods {
        run_pod(&c.client, name(pod), pinned_node(pod).as_deref()).await;
    }
    let ds = eventually("status counts every node", || async {
        let ds = dss.get("agent").await.ok()?;
        let s = ds.status.clone()?;
        (s.desired_number_scheduled == 3
            && s.current_number_scheduled == 3
            && s.number_ready == 3
            && s.number_available == Some(3)
            && s.updated_number_scheduled == Some(3)
            && s.number_misscheduled == 0
            && s.observed_generation == ds.metadata.generation)
            .then_some(ds)
    })
    .await;
    assert_eq!(ds.status.and_then(|s| s.number_unavailable), Some(0));
    let out = c
        .server
        .kubectl(&["rollout", "status", "ds/agent", "--timeout=20s"]);
    assert!(out.contains("successfully rolled out"), "{out}");

    // A node that stops qualifying loses its pod (numberMisscheduled until then).
    let nodes: Api<Node> = Api::all(c.client.clone());
    nodes
        .patch(
            "n2",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": [{"key": "evict", "effect": "NoExecute"}]}})),
        )
        .await
        .expect("taint n2");
    eventually(
        "the pod on the NoExecute-tainted node is deleted",
        || async {
            let pods = pods_of(&c.client, "agent").await;
            (pods.len() == 2 && pods.iter().all(|p| pinned_node(p).as_deref() != Some("n2")))
                .then_some(())
        },
    )
    .await;
    // A node that goes away before its pod was scheduled takes the pod with
    // it (bound pods of deleted nodes are pod GC's business).
    create_node(&c.client, "n4", json!([])).await;
    eventually("a pod for n4", || async {
        let pods = pods_of(&c.client, "agent").await;
        pods.iter()
            .any(|p| pinned_node(p).as_deref() == Some("n4"))
            .then_some(())
    })
    .await;
    nodes
        .delete("n4", &DeleteParams::default())
        .await
        .expect("delete node");
    eventually(
        "the unscheduled pod of the deleted node is gone",
        || async {
            let pods = pods_of(&c.client, "agent").await;
            (pods.len() == 2 && pods.iter().all(|p| pinned_node(p).as_deref() != Some("n4")))
                .then_some(())
        },
    )
    .await;
    eventually("status follows", || async {
        let s = dss.get("agent").await.ok()?.status?;
        (s.desired_number_scheduled == 2 && s.current_number_scheduled == 2).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_set_template_change_rolls_one_node_at_a_time() {
    let Some(c) = cluster("daemonset").await else {
        return;
    };
    for n in ["n1", "n2", "n3"] {
        create_node(&c.client, n, json!([])).await;
    }
    let dss: Api<DaemonSet> = Api::namespaced(c.client.clone(), "default");
    dss.create(
        &PostParams::default(),
        &object(daemon_set("agent", "agent:1", json!([]))),
    )
    .await
    .expect("create daemonset");
    let first = eventually("three pods", || async {
        let pods = pods_of(&c.client, "agent").await;
        (pods.len() == 3).then_some(pods)
    })
    .await;
    for pod in &first {
        run_pod(&c.client, name(pod), pinned_node(pod).as_deref()).await;
    }
    let old_hash = label(&first[0], "controller-revision-hash").to_owned();
    eventually("three ready", || async {
        let s = dss.get("agent").await.ok()?.status?;
        (s.number_available == Some(3)).then_some(())
    })
    .await;

    dss.patch(
        "agent",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "agent", "image": "agent:2"}
        ]}}}})),
    )
    .await
    .expect("new image");
    // Play kubelet for new pods; never more than one node without an
    // available pod (maxUnavailable 1).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pods = pods_of(&c.client, "agent").await;
        let available = pods.iter().filter(|p| is_ready(p)).count();
        assert!(available >= 2, "more than one node unavailable: {pods:#?}");
        let new: Vec<&Pod> = pods
            .iter()
            .filter(|p| label(p, "controller-revision-hash") != old_hash)
            .collect();
        if new.len() == 3 && new.iter().all(|p| is_ready(p)) {
            break;
        }
        for pod in new.iter().filter(|p| !is_ready(p)) {
            // Hold each new pod back a moment so the budget is visible.
            tokio::time::sleep(Duration::from_millis(200)).await;
            run_pod(&c.client, name(pod), pinned_node(pod).as_deref()).await;
        }
        assert!(
            Instant::now() < deadline,
            "rollout did not finish: {pods:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = c
        .server
        .kubectl(&["rollout", "status", "ds/agent", "--timeout=20s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let revisions = revisions_of(&c.client, "agent").await;
    let numbers: Vec<i64> = revisions.iter().map(|r| r.revision).collect();
    assert_eq!(numbers, vec![1, 2]);
    for r in &revisions {
        let hash = &r.metadata.labels.as_ref().expect("labels")["controller-revision-hash"];
        assert_eq!(
            r.metadata.name.as_deref(),
            Some(format!("agent-{hash}").as_str())
        );
        assert_eq!(
            r.data.as_ref().expect("data").0["spec"]["template"]["$patch"],
            "replace"
        );
    }
    let history = c.server.kubectl(&["rollout", "history", "ds/agent"]);
    assert_eq!(history_revisions(&history), ["1", "2"], "{history}");
}

/// The revision numbers `kubectl rollout history` lists.
fn history_revisions(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .collect()
}

fn stateful_set(
    name: &str,
    replicas: i32,
    image: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "nginx", "image": image,
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                }
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    });
    if let (Some(spec), Some(extra)) = (sts["spec"].as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    sts
}

async fn pod_names(client: &kube::Client, app: &str) -> Vec<String> {
    let mut names: Vec<String> = pods_of(client, app)
        .await
        .iter()
        .map(|p| name(p).to_owned())
        .collect();
    names.sort();
    names
}

async fn claim_names(client: &kube::Client) -> Vec<String> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let mut names: Vec<String> = api
        .list(&ListParams::default())
        .await
        .expect("list claims")
        .items
        .into_iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .filter_map(|c| c.metadata.name)
        .collect();
    names.sort();
    names
}

/// Waits until exactly `expected` pods exist, none of them new since the
/// last look for a short while (ordered creation must not run ahead).
async fn settle_on(client: &kube::Client, app: &str, expected: &[&str]) {
    eventually(&format!("pods {expected:?}"), || async {
        (pod_names(client, app).await == expected).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pod_names(client, app).await, expected, "ran ahead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_set_comes_up_in_order_updates_in_reverse_and_scales_down_from_the_top() {
    let Some(c) = cluster("statefulset").await else {
        return;
    };
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(
        &PostParams::default(),
        &object(stateful_set("web", 3, "nginx:1.25", json!({}))),
    )
    .await
    .expect("create statefulset");

    // web-0 first, with its claim; web-1 only once web-0 is Running and Ready.
    settle_on(&c.client, "web", &["web-0"]).await;
    assert_eq!(claim_names(&c.client).await, ["data-web-0"]);
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let web0 = pods.get("web-0").await.expect("web-0");
    let spec = web0.spec.as_ref().expect("spec");
    assert_eq!(spec.hostname.as_deref(), Some("web-0"));
    assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
    let volume = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "data")
        .expect("data volume");
    assert_eq!(
        volume
            .persistent_volume_claim
            .as_ref()
            .expect("claim")
            .claim_name,
        "data-web-0"
    );
    assert_eq!(label(&web0, "statefulset.kubernetes.io/pod-name"), "web-0");
    assert_eq!(label(&web0, "apps.kubernetes.io/pod-index"), "0");
    let first_revision = label(&web0, "controller-revision-hash").to_owned();
    assert!(first_revision.starts_with("web-"), "{first_revision}");
    run_pod(&c.client, "web-0", None).await;
    settle_on(&c.client, "web", &["web-0", "web-1"]).await;
    run_pod(&c.client, "web-1", None).await;
    settle_on(&c.client, "web", &["web-0", "web-1", "web-2"]).await;
    run_pod(&c.client, "web-2", None).await;
    assert_eq!(
        claim_names(&c.client).await,
        ["data-web-0", "data-web-1", "data-web-2"]
    );
    let sts = eventually("status of a complete set", || async {
        let sts = sets.get("web").await.ok()?;
        let s = sts.status.clone()?;
        (s.replicas == 3
            && s.ready_replicas == Some(3)
            && s.available_replicas == Some(3)
            && s.current_replicas == Some(3)
            && s.updated_replicas == Some(3)
            && s.observed_generation == sts.metadata.generation)
            .then_some(sts)
    })
    .await;
    let status = sts.status.expect("status");
    assert_eq!(
        status.current_revision.as_deref(),
        Some(first_revision.as_str())
    );
    assert_eq!(status.update_revision, status.current_revision);
    let out = c
        .server
        .kubectl(&["rollout", "status", "sts/web", "--timeout=20s"]);
    assert!(out.contains("roll out complete"), "{out}");
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    eventually("upstream's event wording", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("SuccessfulCreate")
                    && e.message.as_deref()
                        == Some("create Pod web-0 in StatefulSet web successful")
            })
            .then_some(())
    })
    .await;

    // A deleted pod comes back under the same name, with the same claim.
    let uid = pods.get("web-1").await.expect("web-1").metadata.uid;
    pods.delete("web-1", &DeleteParams::default())
        .await
        .expect("delete web-1");
    eventually("web-1 recreated", || async {
        let p = pods.get_opt("web-1").await.ok().flatten()?;
        (p.metadata.uid != uid && p.metadata.deletion_timestamp.is_none()).then_some(())
    })
    .await;
    run_pod(&c.client, "web-1", None).await;
    assert_eq!(
        claim_names(&c.client).await,
        ["data-web-0", "data-web-1", "data-web-2"]
    );

    // A template update replaces web-2, then web-1, then web-0.
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.26",
             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
        ]}}}})),
    )
    .await
    .expect("new image");
    let mut order: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while order.len() < 3 {
        assert!(Instant::now() < deadline, "update stalled after {order:?}");
        let pods_now = pods_of(&c.client, "web").await;
        let updated: Vec<&Pod> = pods_now
            .iter()
            .filter(|p| label(p, "controller-revision-hash") != first_revision)
            .collect();
        let missing = 3 - pods_now.len();
        assert!(
            updated.iter().filter(|p| !is_ready(p)).count() + missing <= 1,
            "more than one pod down at once: {pods_now:#?}"
        );
        for pod in updated {
            if !order.iter().any(|n| n == name(pod)) {
                order.push(name(pod).to_owned());
                run_pod(&c.client, name(pod), None).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(order, ["web-2", "web-1", "web-0"]);
    eventually("the new revision is current", || async {
        let s = sets.get("web").await.ok()?.status?;
        (s.current_revision == s.update_revision
            && s.current_revision.as_deref() != Some(first_revision.as_str())
            && s.updated_replicas == Some(3)
            && s.ready_replicas == Some(3))
        .then_some(())
    })
    .await;
    let out = c
        .server
        .kubectl(&["rollout", "status", "sts/web", "--timeout=20s"]);
    assert!(out.contains("roll out complete"), "{out}");
    let revisions = revisions_of(&c.client, "web").await;
    assert_eq!(
        revisions.iter().map(|r| r.revision).collect::<Vec<_>>(),
        [1, 2]
    );
    let history = c.server.kubectl(&["rollout", "history", "sts/web"]);
    assert_eq!(history_revisions(&history), ["1", "2"], "{history}");

    // Scaling down removes the highest ordinal first and keeps its claim.
    let version = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("resourceVersion");
    let mut watch = pods
        .watch(&WatchParams::default().labels("app=web"), &version)
        .await
        .expect("watch pods")
        .boxed();
    c.server.kubectl(&["scale", "sts/web", "--replicas=1"]);
    let mut deleted: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while deleted.len() < 2 {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(remaining, watch.next())
            .await
            .expect("scale-down timed out")
            .expect("watch ended")
            .expect("watch event");
        if let WatchEvent::Deleted(pod) = event {
            deleted.push(name(&pod).to_owned());
        }
    }
    assert_eq!(deleted, ["web-2", "web-1"]);
    settle_on(&c.client, "web", &["web-0"]).await;
    assert_eq!(
        claim_names(&c.client).await,
        ["data-web-0", "data-web-1", "data-web-2"]
    );
    eventually("status of the smaller set", || async {
        let s = sets.get("web").await.ok()?.status?;
        (s.replicas == 1 && s.ready_replicas == Some(1)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_set_claims_follow_the_retention_policy_and_parallel_needs_no_order() {
    let Some(c) = cluster("statefulset,garbage-collector").await else {
        return;
    };
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(
            &PostParams::default(),
            &object(stateful_set(
                "db",
                3,
                "postgres:16",
                json!({
                    "podManagementPolicy": "Parallel",
                    "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"},
                }),
            )),
        )
        .await
        .expect("create statefulset");
    // Parallel: all three at once, nobody ready.
    eventually("three pods at once", || async {
        (pod_names(&c.client, "db").await == ["db-0", "db-1", "db-2"]).then_some(())
    })
    .await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
    let owners = |claim: PersistentVolumeClaim| -> BTreeMap<String, String> {
        claim
            .metadata
            .owner_references
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.kind, r.name))
            .collect()
    };
    eventually("claims owned by the set (whenDeleted: Delete)", || async {
        let mut all = Vec::new();
        for i in 0..3 {
            all.push(owners(claims.get(&format!("data-db-{i}")).await.ok()?));
        }
        all.iter()
            .all(|o| o.get("StatefulSet").map(String::as_str) == Some("db"))
            .then_some(())
    })
    .await;
    // Scale down: the removed pod's claim goes with it (whenScaled: Delete).
    sets.patch(
        "db",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .expect("scale");
    eventually("db-2 and its claim gone", || async {
        let names = pod_names(&c.client, "db").await;
        let claims_now = claim_names(&c.client).await;
        (names == ["db-0", "db-1"] && claims_now == ["data-db-0", "data-db-1"]).then_some(())
    })
    .await;
    // A controller-manager restart must not duplicate anything.
    drop(c.stop);
    let _stop = start_controller_manager(&c.server, "statefulset,garbage-collector");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pod_names(&c.client, "db").await, ["db-0", "db-1"]);
    // Deleting the set takes the remaining claims too (whenDeleted: Delete).
    sets.delete("db", &DeleteParams::background())
        .await
        .expect("delete set");
    eventually("pods and claims collected", || async {
        (pod_names(&c.client, "db").await.is_empty() && claim_names(&c.client).await.is_empty())
            .then_some(())
    })
    .await;
}
