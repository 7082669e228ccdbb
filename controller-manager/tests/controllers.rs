//! The controllers against the real `bosun-apiserver` binary (path in
//! `BOSUN_APISERVER_BIN`; skipped without it), each test with its own
//! apiserver and an in-process controller-manager.

mod common;

use common::*;

use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Namespace, Pod, Service, ServiceAccount};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_namespace_gets_a_default_service_account() {
    let Some(c) = cluster("serviceaccount").await else {
        return;
    };
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": "team-a"}})),
        )
        .await
        .expect("create namespace");
    let accounts: Api<ServiceAccount> = Api::namespaced(c.client.clone(), "team-a");
    eventually("default service account", || async {
        accounts.get_opt("default").await.ok().flatten()
    })
    .await;
    accounts
        .delete("default", &DeleteParams::default())
        .await
        .expect("delete");
    eventually("default service account recreated", || async {
        accounts.get_opt("default").await.ok().flatten()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_removes_its_content_then_the_namespace() {
    let Some(c) = cluster("namespace").await else {
        return;
    };
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": "doomed"}})),
        )
        .await
        .expect("create namespace");
    let maps: Api<ConfigMap> = Api::namespaced(c.client.clone(), "doomed");
    for i in 0..3 {
        maps.create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": format!("m{i}")}, "data": {"k": "v"}})),
        )
        .await
        .expect("create configmap");
    }
    // One object with a finalizer someone else removes later.
    maps.create(
        &PostParams::default(),
        &object(json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})),
    )
    .await
    .expect("create held configmap");
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete namespace");
    let ns = eventually("conditions naming the finalizer", || async {
        let ns = namespaces.get("doomed").await.ok()?;
        let conditions = ns.status.as_ref()?.conditions.clone()?;
        conditions
            .iter()
            .any(|c| {
                c.type_ == "NamespaceFinalizersRemaining"
                    && c.message
                        .as_deref()
                        .is_some_and(|m| m.contains("example.com/hold"))
            })
            .then_some(ns)
    })
    .await;
    assert_eq!(
        ns.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    maps.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    eventually("namespace gone", || async {
        matches!(namespaces.get_opt("doomed").await, Ok(None)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collector_cascades_background_foreground_and_orphan() {
    let Some(c) = cluster("garbage-collector").await else {
        return;
    };
    let maps: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    let make = |name: &'static str| {
        let maps = maps.clone();
        async move {
            maps.create(
                &PostParams::default(),
                &object(json!({"metadata": {"name": name}})),
            )
            .await
            .expect("create owner")
        }
    };
    let dependent = |name: &'static str, owner: ConfigMap| {
        let maps = maps.clone();
        async move {
            maps.create(
                &PostParams::default(),
                &object(json!({"metadata": {"name": name, "ownerReferences": [{
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "name": owner.metadata.name, "uid": owner.metadata.uid,
                    "blockOwnerDeletion": true,
                }]}})),
            )
            .await
            .expect("create dependent")
        }
    };
    let gone = |name: &'static str| {
        let maps = maps.clone();
        async move { matches!(maps.get_opt(name).await, Ok(None)).then_some(()) }
    };

    // Background: the owner goes at once, the dependent after.
    let owner = make("bg-owner").await;
    dependent("bg-dep", owner).await;
    maps.delete("bg-owner", &DeleteParams::background())
        .await
        .expect("delete");
    eventually("background dependent deleted", || gone("bg-dep")).await;

    // A dependent whose owner never existed is collected too.
    let ghost: ConfigMap = object(
        json!({"metadata": {"name": "ghost", "uid": "00000000-0000-0000-0000-000000000001"}}),
    );
    dependent("dangling", ghost).await;
    eventually("dependent of a missing owner deleted", || gone("dangling")).await;

    // Orphan: the dependent stays without its ownerReference.
    let owner = make("or-owner").await;
    dependent("or-dep", owner).await;
    maps.delete("or-owner", &DeleteParams::orphan())
        .await
        .expect("delete");
    eventually("orphaning owner gone", || gone("or-owner")).await;
    let orphan = maps.get("or-dep").await.expect("dependent kept");
    assert!(
        orphan
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );

    // Foreground: the owner waits for its blocking dependent.
    let owner = make("fg-owner").await;
    dependent("fg-dep", owner).await;
    maps.delete("fg-owner", &DeleteParams::foreground())
        .await
        .expect("delete");
    eventually("foreground dependent deleted", || gone("fg-dep")).await;
    eventually("foreground owner deleted after", || gone("fg-owner")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_follow_ready_pods_of_a_service() {
    let Some(c) = cluster("endpoint,endpointslice").await else {
        return;
    };
    let services: Api<Service> = Api::namespaced(c.client.clone(), "default");
    services
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": "web"}, "spec": {
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}]
            }})),
        )
        .await
        .expect("create service");
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    for (name, ip) in [("web-1", "10.244.0.5"), ("web-2", "10.244.0.6")] {
        pods.create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {
                "nodeName": "n1",
                "containers": [{"name": "c", "image": "nginx", "ports": [{"name": "http", "containerPort": 8080}]}]
            }})),
        )
        .await
        .expect("create pod");
        pods.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                "conditions": [{"type": "Ready", "status": if name == "web-1" {"True"} else {"False"}}]}})),
        )
        .await
        .expect("set status");
    }
    let endpoints: Api<Endpoints> = Api::namespaced(c.client.clone(), "default");
    let ep = eventually("endpoints with both pods", || async {
        let ep = endpoints.get_opt("web").await.ok().flatten()?;
        let subset = ep.subsets.as_ref()?.first()?.clone();
        (subset.addresses.as_ref().map(Vec::len) == Some(1)
            && subset.not_ready_addresses.as_ref().map(Vec::len) == Some(1))
        .then_some(ep)
    })
    .await;
    let subset = &ep.subsets.expect("subsets")[0];
    assert_eq!(
        subset.addresses.as_ref().expect("ready")[0].ip,
        "10.244.0.5"
    );
    assert_eq!(subset.ports.as_ref().expect("ports")[0].port, 8080);
    let out = c.server.kubectl(&[
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=web",
        "-o",
        "name",
    ]);
    assert!(out.contains("endpointslice.discovery.k8s.io/web-"), "{out}");
    pods.delete("web-1", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete pod");
    eventually("deleted pod leaves the endpoints", || async {
        let ep = endpoints.get_opt("web").await.ok().flatten()?;
        let subset = ep.subsets.as_ref()?.first()?.clone();
        subset.addresses.is_none().then_some(())
    })
    .await;
}

fn deployment(name: &str, replicas: i32, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]}
            }
        }
    })
}

async fn pods_of(client: &kube::Client, app: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.list(&kube::api::ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("list pods")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_own_replica_sets_that_keep_their_pods() {
    use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
    let Some(c) = cluster("deployment,replicaset,garbage-collector").await else {
        return;
    };
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    deployments
        .create(
            &PostParams::default(),
            &object(deployment("web", 3, "nginx:1.25")),
        )
        .await
        .expect("create deployment");
    let rses: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    let rs = eventually("a ReplicaSet named with the template hash", || async {
        let list = rses.list(&Default::default()).await.ok()?;
        list.items.into_iter().find(|rs| {
            rs.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("web-"))
                && rs.spec.as_ref().and_then(|s| s.replicas) == Some(3)
        })
    })
    .await;
    let hash = rs.metadata.labels.as_ref().expect("labels")["pod-template-hash"].clone();
    assert!(rs.metadata.name.as_deref().expect("name").ends_with(&hash));
    assert_eq!(
        rs.metadata.annotations.as_ref().expect("annotations")["deployment.kubernetes.io/revision"],
        "1"
    );
    let pods = eventually("3 pods", || async {
        let pods = pods_of(&c.client, "web").await;
        (pods.len() == 3).then_some(pods)
    })
    .await;
    for pod in &pods {
        assert!(
            pod.metadata
                .name
                .as_deref()
                .expect("name")
                .starts_with(&format!("web-{hash}-"))
        );
        assert_eq!(
            pod.metadata.labels.as_ref().expect("labels")["pod-template-hash"],
            hash
        );
    }
    // Scale up.
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("scale");
    eventually("5 pods", || async {
        (pods_of(&c.client, "web").await.len() == 5).then_some(())
    })
    .await;
    // A deleted pod is replaced.
    let victim = pods_of(&c.client, "web").await[0]
        .metadata
        .name
        .clone()
        .expect("name");
    let pods_api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    pods_api
        .delete(&victim, &DeleteParams::default().grace_period(0))
        .await
        .expect("delete pod");
    eventually("pod replaced", || async {
        let pods = pods_of(&c.client, "web").await;
        (pods.len() == 5
            && pods
                .iter()
                .all(|p| p.metadata.name.as_deref() != Some(victim.as_str())))
        .then_some(())
    })
    .await;
    // The deployment's status counts its replicas.
    eventually("status", || async {
        let d = deployments.get("web").await.ok()?;
        let s = d.status?;
        (s.replicas == Some(5) && s.observed_generation == d.metadata.generation).then_some(())
    })
    .await;
    // A new template makes a second ReplicaSet (revision 2).
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}})),
        )
        .await
        .expect("new image");
    eventually("second ReplicaSet at revision 2", || async {
        let list = rses.list(&Default::default()).await.ok()?;
        list.items
            .iter()
            .any(|rs| {
                rs.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("deployment.kubernetes.io/revision"))
                    .map(String::as_str)
                    == Some("2")
            })
            .then_some(())
    })
    .await;
    // Deleting the deployment removes its ReplicaSets and pods (background).
    deployments
        .delete("web", &DeleteParams::background())
        .await
        .expect("delete deployment");
    eventually("ReplicaSets and pods gone", || async {
        let list = rses.list(&Default::default()).await.ok()?;
        (list.items.is_empty() && pods_of(&c.client, "web").await.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_sets_adopt_orphans_and_release_pods_that_stop_matching() {
    use k8s_openapi::api::apps::v1::ReplicaSet;
    let Some(c) = cluster("replicaset").await else {
        return;
    };
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &object(json!({"metadata": {"name": "stray", "labels": {"app": "cache"}}, "spec": {"containers": [{"name": "c", "image": "redis"}]}})),
    )
    .await
    .expect("create orphan");
    let rses: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    rses.create(
        &PostParams::default(),
        &object(json!({"metadata": {"name": "cache"}, "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "cache"}},
            "template": {"metadata": {"labels": {"app": "cache"}}, "spec": {"containers": [{"name": "c", "image": "redis"}]}}
        }})),
    )
    .await
    .expect("create replicaset");
    eventually("orphan adopted and one pod created", || async {
        let list = pods_of(&c.client, "cache").await;
        let stray = list
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some("stray"))?;
        let owned = stray
            .metadata
            .owner_references
            .as_ref()?
            .iter()
            .any(|o| o.kind == "ReplicaSet" && o.controller == Some(true));
        (owned && list.len() == 2).then_some(())
    })
    .await;
    pods.patch(
        "stray",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "other"}}})),
    )
    .await
    .expect("relabel");
    eventually("released and replaced", || async {
        let stray = pods.get("stray").await.ok()?;
        let released = stray
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty();
        (released && pods_of(&c.client, "cache").await.len() == 2).then_some(())
    })
    .await;
    let rs = eventually("status", || async {
        let rs = rses.get("cache").await.ok()?;
        (rs.status.as_ref()?.replicas == 2).then_some(rs)
    })
    .await;
    assert_eq!(rs.status.expect("status").observed_generation, Some(1));
}
