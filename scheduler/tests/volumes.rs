//! The scheduler's VolumeBinding against the real `bosun-apiserver` binary
//! (path in `BOSUN_APISERVER_BIN`; skipped without it) with in-process
//! simulated nodes. There is no controller-manager: where a claim must be
//! bound, the test plays the PV controller through the API.

use bosun_node_sim::Simulator;
use bosun_runtime::testing::Apiserver;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

struct Cluster {
    _server: Apiserver,
    client: kube::Client,
    _sims: Simulator,
    _stop: oneshot::Sender<()>,
}

impl Cluster {
    /// An apiserver, the scheduler and three simulated nodes `node-0..2`.
    async fn start() -> Option<Cluster> {
        let server = Apiserver::start().await?;
        let client = server.client().await;
        let stop = start_scheduler(&server);
        let mut config = bosun_node_sim::Config::new(Some(server.kubeconfig.clone()), 3);
        config.name_prefix = "node-".into();
        config.heartbeat = Duration::from_millis(500);
        let sims = Simulator::start(config).await.expect("simulator");
        Some(Cluster {
            _server: server,
            client,
            _sims: sims,
            _stop: stop,
        })
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    fn claims(&self) -> Api<PersistentVolumeClaim> {
        Api::namespaced(self.client.clone(), "default")
    }

    fn volumes(&self) -> Api<PersistentVolume> {
        Api::all(self.client.clone())
    }

    async fn create_pod(&self, name: &str, claim: &str) {
        let pod = object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "containers": [{"name": "app", "image": "registry.example/app:1",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
            }
        }));
        self.pods()
            .create(&PostParams::default(), &pod)
            .await
            .expect("create pod");
    }

    /// A RWO claim of 1Gi; `volume` pre-binds it by name.
    async fn create_claim(&self, name: &str, class: &str, volume: Option<&str>) {
        let claim = object(json!({
            "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                "volumeName": volume, "resources": {"requests": {"storage": "1Gi"}}},
        }));
        self.claims()
            .create(&PostParams::default(), &claim)
            .await
            .expect("create claim");
    }

    /// A 1Gi volume pinned to `node`, bound to `claim` (its UID).
    async fn create_volume(
        &self,
        name: &str,
        class: &str,
        node: &str,
        claim: &PersistentVolumeClaim,
    ) {
        let volume = object(json!({
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": class,
                "hostPath": {"path": format!("/var/local-path-provisioner/{name}")},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "namespace": "default", "name": claim.metadata.name, "uid": claim.metadata.uid},
            },
        }));
        self.volumes()
            .create(&PostParams::default(), &volume)
            .await
            .expect("create volume");
    }

    /// What the PV controller does once a volume exists for the claim.
    async fn bind_claim(&self, claim: &str, volume: &str) {
        self.claims()
            .patch(
                claim,
                &PatchParams::default(),
                &Patch::Merge(json!({
                    "metadata": {"annotations": {"pv.kubernetes.io/bind-completed": "yes",
                        "pv.kubernetes.io/bound-by-controller": "yes"}},
                    "spec": {"volumeName": volume},
                })),
            )
            .await
            .expect("bind claim");
        self.claims()
            .patch_status(
                claim,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Bound",
                    "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}})),
            )
            .await
            .expect("claim status");
    }
}

fn object<K: DeserializeOwned>(value: serde_json::Value) -> K {
    serde_json::from_value(value).expect("object")
}

fn start_scheduler(server: &Apiserver) -> oneshot::Sender<()> {
    let config = bosun_scheduler::Config::new(Some(server.kubeconfig.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(error) = bosun_scheduler::run(config, async {
            let _ = stopped.await;
        })
        .await
        {
            panic!("scheduler failed: {error}");
        }
    });
    stop
}

/// Polls `get` until it returns something.
async fn eventually<T, F>(what: &str, mut get: impl FnMut() -> F) -> T
where
    F: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = get().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn node_of(pod: &Pod) -> Option<String> {
    pod.spec.as_ref()?.node_name.clone()
}

fn selected_node(claim: &PersistentVolumeClaim) -> Option<String> {
    claim
        .metadata
        .annotations
        .as_ref()?
        .get(SELECTED_NODE)
        .cloned()
}

fn scheduled_condition(pod: &Pod) -> Option<(String, String, String)> {
    let c = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled")?;
    Some((
        c.status.clone(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_with_a_missing_claim_stays_pending_until_the_claim_exists() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    c.create_pod("app", "missing").await;
    let (status, reason, message) = eventually("PodScheduled=False", || async {
        let pod = c.pods().get("app").await.ok()?;
        scheduled_condition(&pod).filter(|(s, _, _)| s == "False")
    })
    .await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "Unschedulable")
    );
    assert_eq!(
        message,
        "0/3 nodes are available: persistentvolumeclaim \"missing\" not found. \
         preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(node_of(&c.pods().get("app").await.expect("pod")), None);

    // The claim appears: the pod is retried at once and its node selected.
    let created = Instant::now();
    c.create_claim("missing", "standard", None).await;
    eventually("selected node", || async {
        selected_node(&c.claims().get("missing").await.ok()?)
    })
    .await;
    assert!(created.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_for_first_consumer_claim_gets_a_node_and_the_pod_waits_for_its_binding() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    // `standard` is the apiserver's default class: local-path, WaitForFirstConsumer.
    c.create_claim("data", "standard", None).await;
    c.create_pod("app", "data").await;
    let node = eventually("selected node", || async {
        selected_node(&c.claims().get("data").await.ok()?)
    })
    .await;
    assert!(node.starts_with("node-"), "{node}");
    // Not bound while the claim is not.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pod = c.pods().get("app").await.expect("pod");
    assert_eq!(node_of(&pod), None, "bound before its claim");

    // Play the PV controller: provision on the selected node and bind.
    let claim = c.claims().get("data").await.expect("claim");
    c.create_volume("pvc-data", "standard", &node, &claim).await;
    c.bind_claim("data", "pvc-data").await;
    let bound = eventually("pod bound", || async {
        node_of(&c.pods().get("app").await.ok()?)
    })
    .await;
    assert_eq!(bound, node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_follow_a_bound_claim_to_its_volumes_node() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    c.create_claim("pinned", "manual", Some("pv-pinned")).await;
    let claim = c.claims().get("pinned").await.expect("claim");
    c.create_volume("pv-pinned", "manual", "node-1", &claim)
        .await;
    c.bind_claim("pinned", "pv-pinned").await;
    for i in 0..3 {
        c.create_pod(&format!("app-{i}"), "pinned").await;
    }
    for i in 0..3 {
        let name = format!("app-{i}");
        let node = eventually(&format!("{name} bound"), || async {
            node_of(&c.pods().get(&name).await.ok()?)
        })
        .await;
        assert_eq!(node, "node-1", "{name}");
    }
    // A volume pinned to a node that does not exist: nowhere to go.
    c.create_claim("lost", "manual", Some("pv-nowhere")).await;
    let claim = c.claims().get("lost").await.expect("claim");
    c.create_volume("pv-nowhere", "manual", "node-9", &claim)
        .await;
    c.bind_claim("lost", "pv-nowhere").await;
    c.create_pod("stranded", "lost").await;
    let (_, _, message) = eventually("PodScheduled=False", || async {
        let pod = c.pods().get("stranded").await.ok()?;
        scheduled_condition(&pod).filter(|(s, _, _)| s == "False")
    })
    .await;
    assert!(
        message
            .starts_with("0/3 nodes are available: 3 node(s) had volume node affinity conflict."),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_available_volume_is_bound_to_the_claim_on_its_node() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let classes: Api<k8s_openapi::api::storage::v1::StorageClass> = Api::all(c.client.clone());
    classes
        .create(
            &PostParams::default(),
            &object(json!({"metadata": {"name": "local"},
                "provisioner": "kubernetes.io/no-provisioner",
                "volumeBindingMode": "WaitForFirstConsumer"})),
        )
        .await
        .expect("create class");
    let volume = object(json!({
        "metadata": {"name": "local-2"},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local",
            "local": {"path": "/mnt/disks/1"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-2"]}]}]}},
        },
    }));
    c.volumes()
        .create(&PostParams::default(), &volume)
        .await
        .expect("create volume");
    c.volumes()
        .patch_status(
            "local-2",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Available"}})),
        )
        .await
        .expect("volume status");
    c.create_claim("data", "local", None).await;
    c.create_pod("app", "data").await;
    let claim = c.claims().get("data").await.expect("claim");
    let reserved = eventually("volume reserved for the claim", || async {
        let v = c.volumes().get("local-2").await.ok()?;
        v.spec.as_ref()?.claim_ref.as_ref()?;
        Some(v)
    })
    .await;
    let claim_ref = reserved
        .spec
        .as_ref()
        .and_then(|s| s.claim_ref.clone())
        .expect("claimRef");
    assert_eq!(
        (claim_ref.name, claim_ref.uid),
        (claim.metadata.name.clone(), claim.metadata.uid.clone())
    );
    assert_eq!(
        reserved
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("pv.kubernetes.io/bound-by-controller"))
            .map(String::as_str),
        Some("yes")
    );
    assert_eq!(
        selected_node(&claim),
        None,
        "a static match provisions nothing"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(node_of(&c.pods().get("app").await.expect("pod")), None);
    c.bind_claim("data", "local-2").await;
    let bound = eventually("pod bound", || async {
        node_of(&c.pods().get("app").await.ok()?)
    })
    .await;
    assert_eq!(bound, "node-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_provisioning_is_reported_and_retried() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    c.create_claim("data", "standard", None).await;
    c.create_pod("app", "data").await;
    eventually("selected node", || async {
        selected_node(&c.claims().get("data").await.ok()?)
    })
    .await;
    // A provisioner that gives up removes the annotation.
    c.claims()
        .patch(
            "data",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {SELECTED_NODE: null}}})),
        )
        .await
        .expect("reset selected node");
    let (_, reason, message) = eventually("SchedulerError", || async {
        let pod = c.pods().get("app").await.ok()?;
        scheduled_condition(&pod).filter(|(s, _, _)| s == "False")
    })
    .await;
    assert_eq!(reason, "SchedulerError");
    assert_eq!(
        message,
        "running PreBind plugin \"VolumeBinding\": binding volumes: provisioning failed for PVC \"data\""
    );
    // Retried after the backoff: a node is selected again.
    let node = eventually("selected node again", || async {
        selected_node(&c.claims().get("data").await.ok()?)
    })
    .await;
    let claim = c.claims().get("data").await.expect("claim");
    c.create_volume("pvc-data", "standard", &node, &claim).await;
    c.bind_claim("data", "pvc-data").await;
    let bound = eventually("pod bound", || async {
        node_of(&c.pods().get("app").await.ok()?)
    })
    .await;
    assert_eq!(bound, node);
}
