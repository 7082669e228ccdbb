//! The PersistentVolume controller (`persistentvolume-binder`, with its
//! simulated `rancher.io/local-path` provisioner) against the real
//! `bosun-apiserver` binary (path in `BOSUN_APISERVER_BIN`; skipped
//! without it), each test with its own apiserver and an in-process
//! controller-manager. There is no scheduler: tests create Node objects
//! and bind pods themselves through `pods/binding`.

mod common;

use common::*;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use std::time::Duration;

const BINDER: &str = "persistentvolume-binder";

async fn create_node(client: &kube::Client, name: &str) {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .create(
            &PostParams::default(),
            &object(json!({
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            })),
        )
        .await
        .expect("create node");
}

async fn create_class(client: &kube::Client, name: &str, mode: &str, reclaim: &str) {
    let classes: Api<StorageClass> = Api::all(client.clone());
    classes
        .create(
            &PostParams::default(),
            &object(json!({
                "metadata": {"name": name},
                "provisioner": "rancher.io/local-path",
                "volumeBindingMode": mode,
                "reclaimPolicy": reclaim,
            })),
        )
        .await
        .expect("create class");
}

/// A hostPath volume of `size` and `class`, Retain.
async fn create_volume(client: &kube::Client, name: &str, size: &str, class: &str) {
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    volumes
        .create(
            &PostParams::default(),
            &object(json!({
                "metadata": {"name": name},
                "spec": {
                    "capacity": {"storage": size},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": class,
                    "hostPath": {"path": format!("/mnt/{name}")},
                },
            })),
        )
        .await
        .expect("create volume");
}

/// A RWO claim of `size`; `class` `None` leaves `storageClassName` out.
async fn create_claim(client: &kube::Client, name: &str, size: &str, class: Option<&str>) {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    let mut spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    });
    if let Some(class) = class {
        spec["storageClassName"] = json!(class);
    }
    claims
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": name}, "spec": spec})),
        )
        .await
        .expect("create claim");
}

async fn claim(client: &kube::Client, name: &str) -> Option<PersistentVolumeClaim> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    claims.get_opt(name).await.expect("get claim")
}

async fn volume(client: &kube::Client, name: &str) -> Option<PersistentVolume> {
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    volumes.get_opt(name).await.expect("get volume")
}

fn phase_of_claim(c: &PersistentVolumeClaim) -> &str {
    c.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn phase_of_volume(v: &PersistentVolume) -> &str {
    v.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn annotation<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'a str> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn volume_name_of(c: &PersistentVolumeClaim) -> &str {
    c.spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or_default()
}

/// Waits until the claim is Bound and returns it with its volume.
async fn bound(client: &kube::Client, name: &str) -> (PersistentVolumeClaim, PersistentVolume) {
    eventually(&format!("claim {name} bound"), || async {
        let c = claim(client, name).await?;
        if phase_of_claim(&c) != "Bound" {
            return None;
        }
        let v = volume(client, volume_name_of(&c)).await?;
        (phase_of_volume(&v) == "Bound").then_some((c, v))
    })
    .await
}

/// The `(reason, message)` of the Events about claim `name`.
async fn claim_events(client: &kube::Client, name: &str) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    events
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("PersistentVolumeClaim")
                && e.involved_object.name.as_deref() == Some(name)
        })
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

async fn has_event(client: &kube::Client, claim: &str, reason: &str, message: &str) {
    eventually(&format!("event {reason} on {claim}"), || async {
        claim_events(client, claim)
            .await
            .iter()
            .any(|(r, m)| r == reason && m.contains(message))
            .then_some(())
    })
    .await;
}

/// A pod mounting claim `claim`.
async fn create_pod(client: &kube::Client, name: &str, claim: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &object(json!({
            "metadata": {"name": name},
            "spec": {
                "containers": [{"name": "app", "image": "busybox",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
            },
        })),
    )
    .await
    .expect("create pod");
}

/// Plays scheduler: binds the pod to `node`.
async fn bind_pod(client: &kube::Client, pod: &str, node: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let _: serde_json::Value = pods
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
        .await
        .expect("bind pod");
}

/// The node a volume's required node affinity pins it to.
fn pinned_host(v: &PersistentVolume) -> Option<String> {
    let term = v
        .spec
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required
        .as_ref()?
        .node_selector_terms
        .first()?
        .clone();
    let expr = term.match_expressions?.into_iter().next()?;
    (expr.key == "kubernetes.io/hostname" && expr.operator == "In")
        .then(|| expr.values?.into_iter().next())
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_volumes_bind_smallest_fit_and_honour_reservations() {
    let Some(c) = cluster(BINDER).await else {
        return;
    };
    create_volume(&c.client, "pv-5g", "5Gi", "manual").await;
    create_volume(&c.client, "pv-1g", "1Gi", "manual").await;
    create_volume(&c.client, "pv-500m", "500Mi", "manual").await;
    create_volume(&c.client, "pv-other", "1Gi", "other").await;
    eventually("volumes Available", || async {
        let v = volume(&c.client, "pv-5g").await?;
        (phase_of_volume(&v) == "Available").then_some(())
    })
    .await;

    create_claim(&c.client, "data", "800Mi", Some("manual")).await;
    let (data, pv) = bound(&c.client, "data").await;
    assert_eq!(volume_name_of(&data), "pv-1g", "smallest fitting volume");
    assert_eq!(
        annotation(&data.metadata, "pv.kubernetes.io/bind-completed"),
        Some("yes")
    );
    assert_eq!(
        annotation(&data.metadata, "pv.kubernetes.io/bound-by-controller"),
        Some("yes")
    );
    let status = data.status.clone().unwrap_or_default();
    assert_eq!(
        status
            .capacity
            .and_then(|c| c.get("storage").cloned())
            .map(|q| q.0),
        Some("1Gi".into())
    );
    assert_eq!(status.access_modes, Some(vec!["ReadWriteOnce".to_owned()]));
    let claim_ref = pv
        .spec
        .as_ref()
        .and_then(|s| s.claim_ref.clone())
        .unwrap_or_default();
    assert_eq!(claim_ref.name.as_deref(), Some("data"));
    assert_eq!(claim_ref.uid, data.metadata.uid);
    assert_eq!(
        annotation(&pv.metadata, "pv.kubernetes.io/bound-by-controller"),
        Some("yes")
    );

    // A claim naming its volume gets exactly that one (the user bound it).
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
    claims
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": "chosen"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "manual", "volumeName": "pv-5g"}})),
        )
        .await
        .expect("create claim");
    let (chosen, _) = bound(&c.client, "chosen").await;
    assert_eq!(volume_name_of(&chosen), "pv-5g");
    assert_eq!(
        annotation(&chosen.metadata, "pv.kubernetes.io/bound-by-controller"),
        None
    );

    // A volume reserved for a claim (claimRef without UID) waits for it.
    let volumes: Api<PersistentVolume> = Api::all(c.client.clone());
    volumes
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": "pv-reserved"}, "spec": {
                "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                "storageClassName": "manual", "hostPath": {"path": "/mnt/reserved"},
                "claimRef": {"namespace": "default", "name": "owner"}}})),
        )
        .await
        .expect("create reserved volume");
    create_claim(&c.client, "owner", "1Gi", Some("manual")).await;
    let (owner, reserved) = bound(&c.client, "owner").await;
    assert_eq!(volume_name_of(&owner), "pv-reserved");
    assert_eq!(
        reserved.spec.and_then(|s| s.claim_ref).and_then(|r| r.uid),
        owner.metadata.uid
    );

    // Nothing fits: Pending, and no volume is taken twice.
    create_claim(&c.client, "huge", "100Gi", Some("manual")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let huge = claim(&c.client, "huge").await.expect("claim");
    assert_eq!(phase_of_claim(&huge), "Pending");
    let untouched = volume(&c.client, "pv-500m").await.expect("volume");
    assert_eq!(phase_of_volume(&untouched), "Available");
    assert!(untouched.spec.and_then(|s| s.claim_ref).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_never_share_a_volume() {
    let Some(c) = cluster(BINDER).await else {
        return;
    };
    for i in 0..3 {
        create_volume(&c.client, &format!("pv-{i}"), "1Gi", "manual").await;
    }
    for i in 0..5 {
        create_claim(&c.client, &format!("claim-{i}"), "1Gi", Some("manual")).await;
    }
    let bound_names = eventually("three claims bound", || async {
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
        let list = claims.list(&ListParams::default()).await.ok()?.items;
        let bound: Vec<String> = list
            .iter()
            .filter(|c| phase_of_claim(c) == "Bound")
            .map(|c| volume_name_of(c).to_owned())
            .collect();
        (bound.len() == 3).then_some(bound)
    })
    .await;
    let mut unique = bound_names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "a volume bound twice: {bound_names:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");
    let pending = claims
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .filter(|c| phase_of_claim(c) == "Pending")
        .count();
    assert_eq!(pending, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_class_provisions_at_once() {
    let Some(c) = cluster(BINDER).await else {
        return;
    };
    create_class(&c.client, "fast", "Immediate", "Delete").await;
    create_claim(&c.client, "data", "2Gi", Some("fast")).await;
    let (data, pv) = bound(&c.client, "data").await;
    let uid = data.metadata.uid.clone().unwrap_or_default();
    assert_eq!(pv.metadata.name, Some(format!("pvc-{uid}")));
    assert_eq!(
        annotation(&pv.metadata, "pv.kubernetes.io/provisioned-by"),
        Some("rancher.io/local-path")
    );
    let spec = pv.spec.clone().unwrap_or_default();
    assert_eq!(
        spec.host_path.map(|h| h.path),
        Some(format!(
            "/var/local-path-provisioner/pvc-{uid}_default_data"
        ))
    );
    assert_eq!(
        spec.persistent_volume_reclaim_policy.as_deref(),
        Some("Delete")
    );
    assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
    assert_eq!(
        spec.capacity
            .and_then(|c| c.get("storage").cloned())
            .map(|q| q.0),
        Some("2Gi".into())
    );
    assert!(spec.node_affinity.is_none());
    assert_eq!(
        annotation(&data.metadata, "volume.kubernetes.io/storage-provisioner"),
        Some("rancher.io/local-path")
    );
    assert_eq!(
        annotation(
            &data.metadata,
            "volume.beta.kubernetes.io/storage-provisioner"
        ),
        Some("rancher.io/local-path")
    );
    has_event(
        &c.client,
        "data",
        "ProvisioningSucceeded",
        &format!("Successfully provisioned volume pvc-{uid}"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_first_consumer_provisions_on_the_consumers_node() {
    let Some(c) = cluster(BINDER).await else {
        return;
    };
    create_node(&c.client, "n1").await;
    create_node(&c.client, "n2").await;
    // The bootstrap default class.
    let classes: Api<StorageClass> = Api::all(c.client.clone());
    let standard = classes.get("standard").await.expect("default class");
    assert_eq!(standard.provisioner, "rancher.io/local-path");
    assert_eq!(
        standard.volume_binding_mode.as_deref(),
        Some("WaitForFirstConsumer")
    );

    create_claim(&c.client, "data", "1Gi", None).await;
    has_event(
        &c.client,
        "data",
        "WaitForFirstConsumer",
        "waiting for first consumer to be created before binding",
    )
    .await;
    let data = claim(&c.client, "data").await.expect("claim");
    assert_eq!(
        data.spec
            .as_ref()
            .and_then(|s| s.storage_class_name.as_deref()),
        Some("standard"),
        "a claim without a class gets the default class"
    );
    assert_eq!(phase_of_claim(&data), "Pending");

    create_pod(&c.client, "app", "data").await;
    has_event(
        &c.client,
        "data",
        "WaitForPodScheduled",
        "waiting for pod app to be scheduled",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let volumes: Api<PersistentVolume> = Api::all(c.client.clone());
    assert!(
        volumes
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty(),
        "nothing is provisioned before the pod has a node"
    );

    bind_pod(&c.client, "app", "n2").await;
    let (data, pv) = bound(&c.client, "data").await;
    assert_eq!(pinned_host(&pv).as_deref(), Some("n2"));
    assert_eq!(
        annotation(&data.metadata, "volume.kubernetes.io/selected-node"),
        Some("n2")
    );
    assert_eq!(
        pv.spec
            .as_ref()
            .and_then(|s| s.storage_class_name.as_deref()),
        Some("standard")
    );
    has_event(
        &c.client,
        "data",
        "ProvisioningSucceeded",
        "Successfully provisioned volume pvc-",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_claims_runs_the_reclaim_policy_even_across_a_restart() {
    let Some(mut c) = cluster(BINDER).await else {
        return;
    };
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), "default");

    // Delete: the provisioned volume goes with its claim.
    create_class(&c.client, "scratch", "Immediate", "Delete").await;
    create_claim(&c.client, "tmp", "1Gi", Some("scratch")).await;
    let (_, provisioned) = bound(&c.client, "tmp").await;
    let provisioned = provisioned.metadata.name.clone().unwrap_or_default();
    claims
        .delete("tmp", &DeleteParams::default())
        .await
        .expect("delete claim");
    eventually("provisioned volume deleted", || async {
        volume(&c.client, &provisioned)
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // Retain: the volume is Released, keeps its claimRef, and never binds
    // again on its own; also when the claim goes while the controller is
    // down.
    create_volume(&c.client, "keep", "1Gi", "manual").await;
    create_claim(&c.client, "db", "1Gi", Some("manual")).await;
    let (db, _) = bound(&c.client, "db").await;
    c.stop = Some(start_controller_manager(&c.server, "-*")); // drops (stops) the old one
    tokio::time::sleep(Duration::from_millis(300)).await;
    claims
        .delete("db", &DeleteParams::default())
        .await
        .expect("delete claim");
    c.stop = Some(start_controller_manager(&c.server, BINDER));
    let kept = eventually("volume Released", || async {
        let v = volume(&c.client, "keep").await?;
        (phase_of_volume(&v) == "Released").then_some(v)
    })
    .await;
    assert_eq!(
        kept.spec.and_then(|s| s.claim_ref).and_then(|r| r.uid),
        db.metadata.uid,
        "claimRef kept"
    );
    create_claim(&c.client, "db", "1Gi", Some("manual")).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let db = claim(&c.client, "db").await.expect("claim");
    assert_eq!(phase_of_claim(&db), "Pending");
    let kept = volume(&c.client, "keep").await.expect("volume");
    assert_eq!(phase_of_volume(&kept), "Released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_set_claims_bind_to_volumes_on_their_pods_nodes() {
    let Some(c) = cluster(&format!("statefulset,{BINDER}")).await else {
        return;
    };
    for n in ["n1", "n2", "n3"] {
        create_node(&c.client, n).await;
    }
    let sets: Api<StatefulSet> = Api::namespaced(c.client.clone(), "default");
    sets.create(
        &PostParams::default(),
        &object(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "serviceName": "web",
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "terminationGracePeriodSeconds": 0,
                        "containers": [{"name": "nginx", "image": "nginx",
                            "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                             {"name": "logs", "mountPath": "/logs"}]}],
                    }
                },
                "volumeClaimTemplates": [
                    {"metadata": {"name": "data"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
                    {"metadata": {"name": "logs"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                              "resources": {"requests": {"storage": "100Mi"}}}},
                ]
            }
        })),
    )
    .await
    .expect("create statefulset");
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    for (i, node) in ["n1", "n2", "n3"].iter().enumerate() {
        let pod = format!("web-{i}");
        eventually(&format!("pod {pod}"), || async {
            pods.get_opt(&pod).await.ok().flatten()
        })
        .await;
        bind_pod(&c.client, &pod, node).await;
    }
    for (i, node) in ["n1", "n2", "n3"].iter().enumerate() {
        for template in ["data", "logs"] {
            let name = format!("{template}-web-{i}");
            let (claim, pv) = bound(&c.client, &name).await;
            let uid = claim.metadata.uid.clone().unwrap_or_default();
            assert_eq!(pv.metadata.name, Some(format!("pvc-{uid}")));
            assert_eq!(pinned_host(&pv).as_deref(), Some(*node), "{name}");
            assert_eq!(
                claim.spec.and_then(|s| s.storage_class_name).as_deref(),
                Some("standard")
            );
        }
    }
    let volumes: Api<PersistentVolume> = Api::all(c.client.clone());
    assert_eq!(
        volumes
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        6
    );
}
