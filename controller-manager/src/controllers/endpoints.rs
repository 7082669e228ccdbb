//! The Endpoints and EndpointSlice controllers: for every Service with a
//! selector, the IPs of the pods it selects (ready ones as addresses,
//! others as not-ready unless `publishNotReadyAddresses`), with each
//! service port's `targetPort` resolved per pod (named ports looked up in
//! the pod's containers), kept current as pods come and go.

use crate::context::{ReconcileError, Retries, Shared, Stop, key_of};
use crate::informer::Informer;
use crate::workqueue::object_key;
use bosun_types::labels::Selector;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
    ServicePort,
};
use k8s_openapi::api::discovery::v1::{
    Endpoint, EndpointConditions, EndpointPort as SlicePort, EndpointSlice,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The Endpoints controller's name.
pub const ENDPOINTS: &str = "endpoint";
/// The EndpointSlice controller's name.
pub const SLICES: &str = "endpointslice";
/// `endpointslice.kubernetes.io/managed-by` of slices this controller owns.
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

struct Ctx {
    shared: Shared,
    pods: Store<Pod>,
    retries: Retries,
    slices: bool,
}

/// Runs the Endpoints (`slices` false) or EndpointSlice controller.
pub async fn run(shared: Shared, stop: Stop, pods: Arc<Informer<Pod>>, slices: bool) {
    // Caches first (safe with many waiters, unlike Store::wait_until_ready).
    pods.ready().await;
    let client = shared.client.clone();
    let queue = shared
        .metrics
        .queue(if slices { SLICES } else { ENDPOINTS });
    let controller = queue.controller(Api::<Service>::all(client), watcher::Config::default());
    let services = controller.store();
    let triggers = pods
        .subscribe()
        .flat_map(move |pod| futures::stream::iter(services_selecting(&services, &pod)));
    let ctx = Arc::new(Ctx {
        shared,
        pods: pods.store(),
        retries: Retries::default(),
        slices,
    });
    controller
        .reconcile_on(queue.triggers(triggers))
        .with_config(
            kube::runtime::controller::Config::default().concurrency(ctx.shared.concurrency),
        )
        .graceful_shutdown_on(stop.wait())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            queue.finished(&result);
            futures::future::ready(())
        })
        .await;
}

fn selector_of(service: &Service) -> Option<Selector> {
    let selector = service.spec.as_ref()?.selector.as_ref()?;
    if selector.is_empty() {
        return None;
    }
    Some(Selector::from_set(selector))
}

fn services_selecting(services: &Store<Service>, pod: &Pod) -> Vec<ObjectRef<Service>> {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    services
        .state()
        .iter()
        .filter(|s| s.metadata.namespace == pod.metadata.namespace)
        .filter(|s| selector_of(s).is_some_and(|sel| sel.matches(&labels)))
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The port number `port`'s targetPort names in `pod`, if any.
pub fn resolve_target_port(port: &ServicePort, pod: &Pod) -> Option<i32> {
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(s)) => match s.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => pod
                .spec
                .as_ref()?
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| p.name.as_deref() == Some(s.as_str()))
                .map(|p| p.container_port),
        },
    }
}

/// One selected pod with its resolved ports.
struct Member<'a> {
    pod: &'a Pod,
    ip: String,
    ready: bool,
    terminating: bool,
    ports: Vec<(Option<String>, i32, String)>,
}

fn members<'a>(service: &Service, pods: &'a [Arc<Pod>]) -> Vec<Member<'a>> {
    let Some(selector) = selector_of(service) else {
        return Vec::new();
    };
    let spec = service.spec.clone().unwrap_or_default();
    let publish_not_ready = spec.publish_not_ready_addresses == Some(true);
    let mut out = Vec::new();
    for pod in pods {
        if pod.metadata.namespace != service.metadata.namespace
            || !selector.matches(pod.metadata.labels.as_ref().unwrap_or(&BTreeMap::new()))
        {
            continue;
        }
        let status = pod.status.clone().unwrap_or_default();
        let Some(ip) = status.pod_ip.clone().filter(|ip| !ip.is_empty()) else {
            continue;
        };
        if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            continue;
        }
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let ready = (is_ready(pod) && !terminating) || publish_not_ready;
        let ports = spec
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                resolve_target_port(p, pod).map(|n| {
                    (
                        p.name.clone(),
                        n,
                        p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    )
                })
            })
            .collect();
        out.push(Member {
            pod: pod.as_ref(),
            ip,
            ready,
            terminating,
            ports,
        });
    }
    out.sort_by(|a, b| a.ip.cmp(&b.ip));
    out
}

fn target_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// The subsets of an Endpoints object: pods grouped by their resolved
/// port set, as upstream repacks them.
pub fn subsets(service: &Service, pods: &[Arc<Pod>]) -> Vec<EndpointSubset> {
    let mut groups: BTreeMap<Vec<(Option<String>, i32, String)>, EndpointSubset> = BTreeMap::new();
    for member in members(service, pods) {
        if member.terminating && !member.ready {
            continue;
        }
        let subset = groups
            .entry(member.ports.clone())
            .or_insert_with(|| EndpointSubset {
                ports: Some(
                    member
                        .ports
                        .iter()
                        .map(|(name, port, protocol)| EndpointPort {
                            name: name.clone(),
                            port: *port,
                            protocol: Some(protocol.clone()),
                            ..Default::default()
                        })
                        .collect(),
                )
                .filter(|p: &Vec<EndpointPort>| !p.is_empty()),
                ..Default::default()
            });
        let address = EndpointAddress {
            ip: member.ip.clone(),
            node_name: member.pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(target_ref(member.pod)),
            ..Default::default()
        };
        let list = if member.ready {
            subset.addresses.get_or_insert_with(Vec::new)
        } else {
            subset.not_ready_addresses.get_or_insert_with(Vec::new)
        };
        list.push(address);
    }
    groups.into_values().collect()
}

/// The single EndpointSlice's endpoints and ports for `service`.
pub fn slice_content(service: &Service, pods: &[Arc<Pod>]) -> (Vec<Endpoint>, Vec<SlicePort>) {
    let members = members(service, pods);
    let mut ports: Vec<SlicePort> = Vec::new();
    for m in &members {
        for (name, port, protocol) in &m.ports {
            // An unnamed service port is named "" in a slice.
            let name = name.clone().unwrap_or_default();
            if !ports
                .iter()
                .any(|p| p.name.as_deref() == Some(name.as_str()))
            {
                ports.push(SlicePort {
                    name: Some(name),
                    port: Some(*port),
                    protocol: Some(protocol.clone()),
                    ..Default::default()
                });
            }
        }
    }
    let endpoints = members
        .iter()
        .map(|m| Endpoint {
            addresses: vec![m.ip.clone()],
            conditions: Some(EndpointConditions {
                ready: Some(m.ready && !m.terminating),
                serving: Some(m.ready || is_ready(m.pod)),
                terminating: Some(m.terminating),
            }),
            node_name: m.pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(target_ref(m.pod)),
            ..Default::default()
        })
        .collect();
    (endpoints, ports)
}

async fn reconcile(service: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let name_label = if ctx.slices { SLICES } else { ENDPOINTS };
    ctx.shared
        .metrics
        .measure(name_label, &object_key(service.as_ref()), async {
            let _ = ctx.pods.wait_until_ready().await;
            let pods = ctx.pods.state();
            let result = if ctx.slices {
                sync_slice(&ctx, &service, &pods).await
            } else {
                sync_endpoints(&ctx, &service, &pods).await
            };
            result?;
            ctx.retries.succeeded(&key_of(&service.metadata));
            Ok(Action::await_change())
        })
        .await
}

async fn sync_endpoints(
    ctx: &Ctx,
    service: &Service,
    pods: &[Arc<Pod>],
) -> Result<(), ReconcileError> {
    if service.metadata.deletion_timestamp.is_some() || selector_of(service).is_none() {
        return Ok(());
    }
    let namespace = service.metadata.namespace.clone().unwrap_or_default();
    let api: Api<Endpoints> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let subsets = subsets(service, pods);
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    if service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".into(), String::new());
    }
    let existing = api.get_opt(name(&service.metadata)).await?;
    let subsets_opt = (!subsets.is_empty()).then_some(subsets);
    match existing {
        Some(mut current) => {
            if current.subsets == subsets_opt
                && current.metadata.labels.clone().unwrap_or_default() == labels
            {
                return Ok(());
            }
            current.subsets = subsets_opt;
            current.metadata.labels = Some(labels);
            current.metadata.managed_fields = None;
            api.replace(name(&service.metadata), &PostParams::default(), &current)
                .await?;
        }
        None => {
            let endpoints = Endpoints {
                metadata: ObjectMeta {
                    name: service.metadata.name.clone(),
                    namespace: Some(namespace),
                    labels: Some(labels),
                    ..Default::default()
                },
                subsets: subsets_opt,
            };
            match api.create(&PostParams::default(), &endpoints).await {
                Ok(_) => {}
                Err(e) if crate::context::is_conflict(&e) => {
                    return Err(ReconcileError::Waiting(
                        "endpoints created meanwhile".into(),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

async fn sync_slice(ctx: &Ctx, service: &Service, pods: &[Arc<Pod>]) -> Result<(), ReconcileError> {
    if service.metadata.deletion_timestamp.is_some() || selector_of(service).is_none() {
        return Ok(());
    }
    let namespace = service.metadata.namespace.clone().unwrap_or_default();
    let service_name = name(&service.metadata).to_owned();
    let api: Api<EndpointSlice> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let listed = api
        .list(&ListParams::default().labels(&format!(
            "kubernetes.io/service-name={service_name},endpointslice.kubernetes.io/managed-by={MANAGED_BY}"
        )))
        .await?
        .items;
    let (endpoints, ports) = slice_content(service, pods);
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    labels.insert("kubernetes.io/service-name".into(), service_name.clone());
    labels.insert(
        "endpointslice.kubernetes.io/managed-by".into(),
        MANAGED_BY.into(),
    );
    let endpoints_opt = (!endpoints.is_empty()).then_some(endpoints);
    let ports_opt = (!ports.is_empty()).then_some(ports);
    let mut slices = listed.into_iter();
    match slices.next() {
        Some(mut slice) => {
            if slice.endpoints == endpoints_opt.clone().unwrap_or_default()
                && slice.ports == ports_opt
                && slice.metadata.labels.as_ref() == Some(&labels)
            {
            } else {
                slice.endpoints = endpoints_opt.unwrap_or_default();
                slice.ports = ports_opt;
                slice.metadata.labels = Some(labels);
                slice.metadata.managed_fields = None;
                api.replace(name(&slice.metadata), &PostParams::default(), &slice)
                    .await?;
            }
        }
        None => {
            let slice = EndpointSlice {
                metadata: ObjectMeta {
                    generate_name: Some(format!("{service_name}-")),
                    namespace: Some(namespace),
                    labels: Some(labels),
                    owner_references: Some(vec![OwnerReference {
                        api_version: "v1".into(),
                        kind: "Service".into(),
                        name: service_name,
                        uid: service.metadata.uid.clone().unwrap_or_default(),
                        controller: Some(true),
                        block_owner_deletion: Some(true),
                    }]),
                    ..Default::default()
                },
                address_type: "IPv4".into(),
                endpoints: endpoints_opt.unwrap_or_default(),
                ports: ports_opt,
            };
            api.create(&PostParams::default(), &slice).await?;
        }
    }
    // This controller keeps one slice per service: drop extras.
    for extra in slices {
        let _ = api
            .delete(name(&extra.metadata), &DeleteParams::default())
            .await;
    }
    Ok(())
}

fn error_policy(service: Arc<Service>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    let name = if ctx.slices { SLICES } else { ENDPOINTS };
    ctx.shared.metrics.retry(name);
    tracing::debug!(%error, service = ?service.metadata.name, controller = name, "sync failed");
    Action::requeue(ctx.retries.failed(&key_of(&service.metadata)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ip: &str, ready: bool, port_name: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}, "uid": name},
                "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": port_name, "containerPort": 8080}]}]},
                "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
            }))
            .expect("pod"),
        )
    }

    fn service() -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "s"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
        }))
        .expect("service")
    }

    #[test]
    fn an_unnamed_port_appears_once_in_the_slice_whatever_the_pod_count() {
        let mut service = service();
        service.spec.as_mut().expect("spec").ports = Some(vec![ServicePort {
            port: 80,
            ..Default::default()
        }]);
        let pods = vec![
            pod("a", "10.0.0.2", true, "http"),
            pod("b", "10.0.0.3", true, "http"),
            pod("c", "10.0.0.4", true, "http"),
        ];
        let (endpoints, ports) = slice_content(&service, &pods);
        assert_eq!(endpoints.len(), 3);
        assert_eq!(ports.len(), 1, "{ports:?}");
        assert_eq!(
            (ports[0].name.as_deref(), ports[0].port),
            (Some(""), Some(80))
        );
    }

    #[test]
    fn ready_and_not_ready_pods_with_named_ports_resolved() {
        let pods = vec![
            pod("a", "10.0.0.2", true, "http"),
            pod("b", "10.0.0.1", false, "http"),
        ];
        let subsets = subsets(&service(), &pods);
        assert_eq!(subsets.len(), 1);
        let s = &subsets[0];
        assert_eq!(s.addresses.as_ref().expect("ready")[0].ip, "10.0.0.2");
        assert_eq!(
            s.not_ready_addresses.as_ref().expect("not ready")[0].ip,
            "10.0.0.1"
        );
        assert_eq!(s.ports.as_ref().expect("ports")[0].port, 8080);
        let (endpoints, ports) = slice_content(&service(), &pods);
        assert_eq!(endpoints.len(), 2);
        assert_eq!(ports[0].port, Some(8080));
    }

    #[test]
    fn pods_without_the_named_port_form_their_own_subset() {
        let pods = vec![
            pod("a", "10.0.0.2", true, "http"),
            pod("b", "10.0.0.3", true, "other"),
        ];
        let subsets = subsets(&service(), &pods);
        assert_eq!(subsets.len(), 2);
    }
}
