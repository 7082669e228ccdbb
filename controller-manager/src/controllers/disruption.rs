//! The disruption controller: keeps each PodDisruptionBudget's status —
//! expected, desired and currently healthy pods, and how many disruptions
//! the eviction API may allow — up to date with the pods it selects (see
//! [`crate::workload::budget`] for the arithmetic).
//!
//! A pod event requeues the budgets that select the pod now and those that
//! selected it before, so a pod whose labels changed leaves its old budget
//! at once. Budgets that count controllers' scales read ReplicaSets from
//! the shared cache and Deployments, StatefulSets and
//! ReplicationControllers from the API. A budget whose pods' controllers
//! cannot be found allows no disruption (`SyncFailed`), as upstream's
//! fail-safe.

use crate::context::{ReconcileError, Retries, Shared, Stop, key_of};
use crate::informer::{Change, Informer};
use crate::workload::budget;
use crate::workload::ownership::controller_of;
use crate::workqueue::object_key;
use bosun_types::labels::wire::selector_from_wire;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "disruption";
/// `source.component` of its events, as upstream's.
pub const COMPONENT: &str = "controllermanager";

/// Budgets each pod was last found selected by, keyed `namespace/name`.
type Selected = Arc<Mutex<HashMap<String, Vec<ObjectRef<PodDisruptionBudget>>>>>;

struct Ctx {
    shared: Shared,
    pods: Arc<Informer<Pod>>,
    replica_sets: Arc<Informer<ReplicaSet>>,
    retries: Retries,
}

/// Runs the controller until `stop`.
pub async fn run(
    shared: Shared,
    stop: Stop,
    pods: Arc<Informer<Pod>>,
    replica_sets: Arc<Informer<ReplicaSet>>,
) {
    let changes = pods.changes();
    tokio::select! {
        () = async { pods.ready().await; replica_sets.ready().await } => {}
        () = stop.wait() => return,
    }
    let queue = shared.metrics.queue(NAME);
    let controller = queue.controller(
        Api::<PodDisruptionBudget>::all(shared.client.clone()),
        watcher::Config::default(),
    );
    let budgets = controller.store();
    let selected = Selected::default();
    let triggers = queue.triggers(changes.flat_map(move |change| {
        futures::stream::iter(budgets_for_pod(&budgets, &selected, change))
    }));
    let ctx = Arc::new(Ctx {
        shared,
        pods,
        replica_sets,
        retries: Retries::default(),
    });
    controller
        .reconcile_on(triggers)
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

/// The budgets a pod change concerns: those selecting the pod now and
/// those that selected it when it was last seen.
fn budgets_for_pod(
    budgets: &Store<PodDisruptionBudget>,
    selected: &Selected,
    change: Change<Pod>,
) -> Vec<ObjectRef<PodDisruptionBudget>> {
    let (pod, deleted) = match change {
        Change::Applied(pod) => (pod, false),
        Change::Deleted(pod) => (pod, true),
    };
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let now: Vec<ObjectRef<PodDisruptionBudget>> = budgets
        .state()
        .iter()
        .filter(|b| b.metadata.namespace.as_deref() == Some(namespace))
        .filter(|b| {
            let wire = b.spec.as_ref().and_then(|s| s.selector.as_ref());
            selector_from_wire(wire).is_ok_and(|s| s.matches(&labels))
        })
        .map(|b| ObjectRef::from_obj(b.as_ref()))
        .collect();
    let key = key_of(&pod.metadata);
    let mut map = selected.lock().unwrap_or_else(|e| e.into_inner());
    let before = match deleted || now.is_empty() {
        true => map.remove(&key),
        false => map.insert(key, now.clone()),
    };
    let mut all: HashSet<ObjectRef<PodDisruptionBudget>> = now.into_iter().collect();
    all.extend(before.into_iter().flatten());
    all.into_iter().collect()
}

async fn reconcile(
    budget: Arc<PodDisruptionBudget>,
    ctx: Arc<Ctx>,
) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(budget.as_ref()), async {
            let action = sync(&budget, &ctx).await?;
            ctx.retries.succeeded(&key_of(&budget.metadata));
            Ok(action)
        })
        .await
}

fn error_policy(budget: Arc<PodDisruptionBudget>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, budget = %key_of(&budget.metadata), "budget sync failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&budget.metadata)))
}

fn budget_ref(budget: &PodDisruptionBudget) -> k8s_openapi::api::core::v1::ObjectReference {
    bosun_runtime::object_ref("policy/v1", "PodDisruptionBudget", &budget.metadata)
}

async fn sync(budget: &PodDisruptionBudget, ctx: &Ctx) -> Result<Action, ReconcileError> {
    if budget.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let recorder = ctx.shared.recorder.with_component(COMPONENT);
    let now = ctx.shared.clock.now();
    let namespace = budget.metadata.namespace.clone().unwrap_or_default();
    let wire = budget.spec.as_ref().and_then(|s| s.selector.as_ref());
    let selector = match selector_from_wire(wire) {
        Ok(selector) => selector,
        Err(error) => {
            let status = budget::failed_status(budget, &error.to_string(), now);
            write_status(ctx, budget, &status).await?;
            return Ok(Action::await_change());
        }
    };
    let cached = ctx.pods.store().state();
    let pods: Vec<&Pod> = cached
        .iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .filter(|p| selector.matches(p.metadata.labels.as_ref().unwrap_or(&Default::default())))
        .map(Arc::as_ref)
        .collect();
    if budget::needs_scale(budget) && pods.iter().any(|p| controller_of(&p.metadata).is_none()) {
        let selector_text = wire
            .and_then(|w| serde_json::to_string(w).ok())
            .unwrap_or_default();
        recorder.publish(
            budget_ref(budget),
            bosun_runtime::EventType::Normal,
            "UnmanagedPods",
            format!(
                "Pods selected by this PodDisruptionBudget (selector: {selector_text}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."
            ),
        );
    }
    if pods.is_empty() {
        recorder.publish(
            budget_ref(budget),
            bosun_runtime::EventType::Normal,
            "NoPods",
            "No matching pods found".to_owned(),
        );
    }
    let scale = match budget::needs_scale(budget) {
        true => expected_scale(ctx, &namespace, &pods).await?,
        false => Ok(0),
    };
    let counts = scale.and_then(|scale| {
        budget::expected_and_desired(budget, pods.len(), scale).map_err(|e| e.to_string())
    });
    let (expected, desired) = match counts {
        Ok(counts) => counts,
        Err(error) => {
            recorder.publish(
                budget_ref(budget),
                bosun_runtime::EventType::Warning,
                "CalculateExpectedPodCountFailed",
                format!("Failed to calculate the number of expected pods: {error}"),
            );
            let status = budget::failed_status(budget, &error, now);
            write_status(ctx, budget, &status).await?;
            return Ok(Action::await_change());
        }
    };
    let disrupted = budget::disrupted_pods(budget, &pods, now);
    for name in &disrupted.overdue {
        if let Some(pod) = pods.iter().find(|p| p.metadata.name.as_ref() == Some(name)) {
            recorder.publish(
                bosun_runtime::object_ref("v1", "Pod", &pod.metadata),
                bosun_runtime::EventType::Warning,
                "NotDeleted",
                format!(
                    "Pod was expected by PDB {}/{} to be deleted but it wasn't",
                    namespace,
                    budget.metadata.name.as_deref().unwrap_or_default()
                ),
            );
        }
    }
    let healthy = budget::current_healthy(&pods, &disrupted.pods);
    let status = budget::status(budget, expected, desired, healthy, disrupted.pods, now);
    write_status(ctx, budget, &status).await?;
    Ok(match disrupted.recheck {
        Some(at) => {
            let wait = Duration::try_from(at.duration_since(now)).unwrap_or_default();
            Action::requeue(wait + Duration::from_secs(1))
        }
        None => Action::await_change(),
    })
}

/// Writes `status` if it differs from the cached one, guarded by the
/// budget's `resourceVersion`: an eviction that took a disruption since the
/// cache was filled makes this a 409, and the sync runs again.
async fn write_status(
    ctx: &Ctx,
    budget: &PodDisruptionBudget,
    status: &PodDisruptionBudgetStatus,
) -> Result<(), ReconcileError> {
    let namespace = budget.metadata.namespace.as_deref().unwrap_or_default();
    let api: Api<PodDisruptionBudget> = Api::namespaced(ctx.shared.client.clone(), namespace);
    let name = budget.metadata.name.as_deref().unwrap_or_default();
    let guard = budget.metadata.resource_version.as_deref();
    crate::status_patch::write_status(&api, name, guard, budget.status.as_ref(), status).await?;
    Ok(())
}

/// The summed scale of the controllers owning `pods`, each counted once;
/// `Err(message)` inside when a pod has no controller with a scale.
async fn expected_scale(
    ctx: &Ctx,
    namespace: &str,
    pods: &[&Pod],
) -> Result<Result<i32, String>, ReconcileError> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut scales: HashMap<String, i32> = HashMap::new();
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        // As upstream: pods without a controller are left out of the
        // expected count (the sync reports them as unmanaged).
        let Some(owner) = controller_of(&pod.metadata) else {
            continue;
        };
        if !seen.insert(owner.uid.clone()) {
            continue;
        }
        match controller_scale(ctx, namespace, owner).await? {
            Some((uid, scale)) => {
                scales.insert(uid, scale);
            }
            None => return Ok(Err(format!("found no controllers for pod {name:?}"))),
        }
    }
    Ok(Ok(scales.values().copied().fold(0i32, i32::saturating_add)))
}

/// The controller with a scale that `owner` names, as upstream's finders:
/// a ReplicaSet's Deployment when it has one, else the ReplicaSet; a
/// StatefulSet; a ReplicationController. Returns its uid and replicas.
async fn controller_scale(
    ctx: &Ctx,
    namespace: &str,
    owner: &OwnerReference,
) -> Result<Option<(String, i32)>, ReconcileError> {
    let group = owner.api_version.split('/').next().unwrap_or_default();
    let client = ctx.shared.client.clone();
    let same = |uid: Option<&String>| uid == Some(&owner.uid);
    match (group, owner.kind.as_str()) {
        ("apps", "ReplicaSet") => {
            let key = ObjectRef::new(&owner.name).within(namespace);
            let Some(rs) = ctx.replica_sets.store().get(&key) else {
                return Ok(None);
            };
            if !same(rs.metadata.uid.as_ref()) {
                return Ok(None);
            }
            if let Some(parent) = controller_of(&rs.metadata)
                && parent.kind == "Deployment"
                && parent.api_version.starts_with("apps/")
            {
                let api: Api<Deployment> = Api::namespaced(client, namespace);
                let found = api.get_opt(&parent.name).await?;
                return Ok(found
                    .filter(|d| d.metadata.uid.as_ref() == Some(&parent.uid))
                    .map(|d| {
                        let replicas = d.spec.and_then(|s| s.replicas).unwrap_or(1);
                        (parent.uid.clone(), replicas)
                    }));
            }
            let replicas = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            Ok(Some((owner.uid.clone(), replicas)))
        }
        ("apps", "StatefulSet") => {
            let api: Api<StatefulSet> = Api::namespaced(client, namespace);
            Ok(api
                .get_opt(&owner.name)
                .await?
                .filter(|s| same(s.metadata.uid.as_ref()))
                .map(|s| {
                    let replicas = s.spec.and_then(|s| s.replicas).unwrap_or(1);
                    (owner.uid.clone(), replicas)
                }))
        }
        ("v1", "ReplicationController") => {
            let api: Api<ReplicationController> = Api::namespaced(client, namespace);
            Ok(api
                .get_opt(&owner.name)
                .await?
                .filter(|r| same(r.metadata.uid.as_ref()))
                .map(|r| {
                    let replicas = r.spec.and_then(|s| s.replicas).unwrap_or(1);
                    (owner.uid.clone(), replicas)
                }))
        }
        _ => Ok(None),
    }
}
