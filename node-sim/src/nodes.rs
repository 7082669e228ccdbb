//! Node objects: what a simulated kubelet registers (labels, capacity,
//! addresses, nodeInfo, conditions), registration that updates an existing
//! Node instead of failing (used at start and when a node whose Node was
//! deleted is started again), the periodic status post, and the watch that
//! notices deleted nodes and Ready conditions changed by others.

use crate::addresses::{self, Cidr};
use crate::backoff::WatchBackoff;
use crate::config::Config;
use crate::fleet::Fleet;
use crate::ids;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The kubelet version the nodes report.
pub const KUBELET_VERSION: &str = "v1.33.0";
/// The container runtime the nodes report.
pub const RUNTIME_VERSION: &str = concat!("bosun-sim://", env!("CARGO_PKG_VERSION"));
/// The kubelet port in `daemonEndpoints`.
pub const KUBELET_PORT: i32 = 10250;
/// The zones nodes are spread over, round-robin.
pub const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];
/// Annotation marking a Node as simulated.
pub const SIMULATED_ANNOTATION: &str = "sim.bosun.dev/node";

/// The Node object node `index` registers.
pub fn node_object(config: &Config, index: u32) -> Node {
    let name = config.node_name(index);
    let cidr = addresses::pod_cidr(index).to_string();
    let mut labels = BTreeMap::from([
        ("beta.kubernetes.io/arch".to_owned(), "amd64".to_owned()),
        ("beta.kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("kubernetes.io/arch".to_owned(), "amd64".to_owned()),
        ("kubernetes.io/hostname".to_owned(), name.clone()),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
        (
            "topology.kubernetes.io/zone".to_owned(),
            ZONES[index as usize % ZONES.len()].to_owned(),
        ),
    ]);
    for (key, value) in &config.labels.0 {
        labels.insert(key.clone(), value.clone());
    }
    let annotations = BTreeMap::from([
        ("node.alpha.kubernetes.io/ttl".to_owned(), "0".to_owned()),
        (
            "volumes.kubernetes.io/controller-managed-attach-detach".to_owned(),
            "true".to_owned(),
        ),
        (SIMULATED_ANNOTATION.to_owned(), "true".to_owned()),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(cidr.clone()),
            pod_cidrs: Some(vec![cidr]),
            ..Default::default()
        }),
        status: Some(node_status(config, index, &name, &now())),
    }
}

/// The full status of node `index` with every condition healthy since
/// (and last heard at) `since`.
pub fn node_status(config: &Config, index: u32, name: &str, since: &Time) -> NodeStatus {
    let capacity = BTreeMap::from([
        ("cpu".to_owned(), Quantity(config.cpu.clone())),
        (
            "ephemeral-storage".to_owned(),
            Quantity(config.ephemeral_storage.clone()),
        ),
        ("hugepages-1Gi".to_owned(), Quantity("0".into())),
        ("hugepages-2Mi".to_owned(), Quantity("0".into())),
        ("memory".to_owned(), Quantity(config.memory.clone())),
        ("pods".to_owned(), Quantity(config.pods.to_string())),
    ]);
    NodeStatus {
        allocatable: Some(capacity.clone()),
        capacity: Some(capacity),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: addresses::internal_ip(index).to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: name.to_owned(),
            },
        ]),
        conditions: Some(conditions(since, since)),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: KUBELET_PORT }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: "amd64".into(),
            boot_id: ids::uuid_like(&["boot", name]),
            container_runtime_version: RUNTIME_VERSION.into(),
            kernel_version: "6.8.0-bosun-sim".into(),
            kube_proxy_version: String::new(),
            kubelet_version: KUBELET_VERSION.into(),
            machine_id: ids::hex(&["machine", name], 32),
            operating_system: "linux".into(),
            os_image: "Bosun Simulated Node".into(),
            system_uuid: ids::uuid_like(&["system", name]),
            swap: None,
        }),
        ..Default::default()
    }
}

/// The kubelet's four node conditions, all healthy: `transition` is when
/// they last changed, `heartbeat` when they were last confirmed.
pub fn conditions(transition: &Time, heartbeat: &Time) -> Vec<NodeCondition> {
    let condition = |type_: &str, status: &str, reason: &str, message: &str| NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(heartbeat.clone()),
        last_transition_time: Some(transition.clone()),
    };
    vec![
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        ),
    ]
}

/// Now, to the second (what the API keeps of a `Time`).
pub fn now() -> Time {
    Time(ids::truncate(jiff::Timestamp::now()))
}

/// Whether a Node's Ready condition is True.
pub fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// What registration found out: the Node's uid, its pod CIDR (the existing
/// one when the Node was already there), and since when it is Ready.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The Node's uid.
    pub uid: String,
    /// Its pod CIDR.
    pub cidr: Cidr,
    /// The Ready condition's lastTransitionTime.
    pub ready_since: Time,
}

/// Creates the Node, or brings an existing one up to date (labels,
/// annotations, a missing pod CIDR, the whole status).
pub async fn register(
    api: &Api<Node>,
    config: &Config,
    index: u32,
) -> Result<Registered, kube::Error> {
    let node = node_object(config, index);
    let name = config.node_name(index);
    let fallback = addresses::pod_cidr(index);
    let stored = match api.create(&PostParams::default(), &node).await {
        Ok(created)
            if created
                .status
                .as_ref()
                .is_some_and(|s| s.conditions.is_some()) =>
        {
            created
        }
        Ok(_) => post_full_status(api, config, index, &name, None).await?,
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let existing = api.get(&name).await?;
            update_existing(api, config, index, &node, &existing).await?
        }
        Err(e) => return Err(e),
    };
    let cidr = stored
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .and_then(Cidr::parse)
        .unwrap_or_else(|| {
            tracing::warn!(node = %name, "node has no usable IPv4 podCIDR; using {fallback}");
            fallback
        });
    let ready_since = stored
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(now);
    Ok(Registered {
        uid: stored.metadata.uid.unwrap_or_default(),
        cidr,
        ready_since,
    })
}

async fn update_existing(
    api: &Api<Node>,
    config: &Config,
    index: u32,
    wanted: &Node,
    existing: &Node,
) -> Result<Node, kube::Error> {
    let name = config.node_name(index);
    let mut patch = json!({
        "metadata": {
            "labels": wanted.metadata.labels,
            "annotations": wanted.metadata.annotations,
        }
    });
    let has_cidr = existing
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .is_some_and(|c| !c.is_empty());
    if !has_cidr {
        patch["spec"] = json!({
            "podCIDR": wanted.spec.as_ref().and_then(|s| s.pod_cidr.clone()),
            "podCIDRs": wanted.spec.as_ref().and_then(|s| s.pod_cidrs.clone()),
        });
    }
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let since = is_ready(existing)
        .then(|| {
            existing
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .and_then(|c| c.last_transition_time.clone())
        })
        .flatten();
    post_full_status(api, config, index, &name, since).await
}

async fn post_full_status(
    api: &Api<Node>,
    config: &Config,
    index: u32,
    name: &str,
    ready_since: Option<Time>,
) -> Result<Node, kube::Error> {
    let heartbeat = now();
    let mut status = node_status(config, index, name, &heartbeat);
    status.conditions = Some(conditions(
        ready_since.as_ref().unwrap_or(&heartbeat),
        &heartbeat,
    ));
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await
}

/// Posts the node's conditions with a fresh heartbeat time.
pub async fn post_conditions(
    api: &Api<Node>,
    name: &str,
    transition: &Time,
) -> Result<Node, kube::Error> {
    let patch = json!({ "status": { "conditions": conditions(transition, &now()) } });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
}

/// Watches all Nodes: ours that are deleted become gone (their pods are
/// left alone), ours whose Ready condition someone else changed get their
/// status re-posted. Events of an earlier Node object of the same name (one
/// deleted before the node registered again) are ignored.
pub async fn watch(api: Api<Node>, fleet: Arc<Fleet>) {
    let stream = watcher(api, watcher::Config::default()).backoff(WatchBackoff::default());
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(node) | watcher::Event::InitApply(node)) => {
                let Some(sim) = node.metadata.name.as_deref().and_then(|n| fleet.get(n)) else {
                    continue;
                };
                if !sim.is_current(node.metadata.uid.as_deref()) {
                    continue;
                }
                let state = sim.current();
                if !state.gone && !is_ready(&node) {
                    sim.report_clobbered();
                }
            }
            Ok(watcher::Event::Delete(node)) => {
                if let Some(sim) = node.metadata.name.as_deref().and_then(|n| fleet.get(n))
                    && sim.is_current(node.metadata.uid.as_deref())
                {
                    tracing::info!(node = %sim.name, "node deleted; leaving it and its pods alone until it is started again");
                    sim.set_gone();
                }
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(error) => tracing::warn!(%error, "node watch failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_object_has_kubelet_shape() {
        let mut config = Config::new(None, 5);
        config.labels =
            crate::config::parse_labels("tier=gold,topology.kubernetes.io/zone=z").expect("labels");
        let node = node_object(&config, 4);
        let value = serde_json::to_value(&node).expect("json");
        assert_eq!(value["metadata"]["name"], "bosun-node-4");
        let labels = &value["metadata"]["labels"];
        assert_eq!(labels["kubernetes.io/hostname"], "bosun-node-4");
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert_eq!(labels["beta.kubernetes.io/arch"], "amd64");
        assert_eq!(labels["tier"], "gold");
        assert_eq!(labels["topology.kubernetes.io/zone"], "z");
        assert_eq!(value["spec"]["podCIDR"], "10.244.4.0/24");
        assert_eq!(value["spec"]["podCIDRs"][0], "10.244.4.0/24");
        let status = &value["status"];
        assert_eq!(status["capacity"]["cpu"], "32");
        assert_eq!(status["allocatable"]["memory"], "256Gi");
        assert_eq!(status["capacity"]["pods"], "110");
        assert_eq!(status["addresses"][0]["address"], "172.18.0.6");
        assert_eq!(status["addresses"][1]["type"], "Hostname");
        assert_eq!(status["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
        assert_eq!(status["nodeInfo"]["kubeletVersion"], "v1.33.0");
        assert!(
            status["nodeInfo"]["containerRuntimeVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("bosun-sim://"))
        );
        let ready = &status["conditions"][3];
        assert_eq!(ready["type"], "Ready");
        assert_eq!(ready["status"], "True");
        assert_eq!(ready["reason"], "KubeletReady");
        assert_eq!(status["conditions"][0]["status"], "False");
    }

    #[test]
    fn zones_are_spread() {
        let config = Config::new(None, 6);
        let zone = |i| {
            node_object(&config, i)
                .metadata
                .labels
                .and_then(|l| l.get("topology.kubernetes.io/zone").cloned())
        };
        assert_eq!(zone(0).as_deref(), Some("zone-a"));
        assert_eq!(zone(1).as_deref(), Some("zone-b"));
        assert_eq!(zone(5).as_deref(), Some("zone-c"));
    }
}
