//! The ReplicaSet controller: keeps `spec.replicas` pods running for each
//! ReplicaSet, adopting matching orphans and releasing pods that no
//! longer match, creating in slow-start batches and deleting the pods
//! upstream would delete first, then writing status.
//!
//! Expectations: after creating or deleting pods a sync waits until the
//! shared pod cache has seen those changes before it returns, and the
//! runtime never runs two syncs of one ReplicaSet at once, so a lagging
//! watch can never make the next sync create duplicates.

use crate::context::{ReconcileError, Retries, Shared, Stop, key_of};
use crate::informer::Informer;
use crate::workload::availability::is_pod_active;
use crate::workload::events as wevents;
use crate::workload::ownership::{
    ClaimDecision, adopt_patch, claim_decision, controller_of, controller_selector, release_patch,
};
use crate::workload::pod_template::{pod_for_replica_set, replica_set_controller_ref};
use crate::workload::replicaset_status::{
    calculate_replica_set_status, replica_set_requeue_after, replica_set_status_needs_update,
};
use crate::workload::replicaset_sync::{ReplicaSetAction, plan_replica_set_sync};
use crate::workqueue::object_key;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The controller's name (`--controllers`, metrics, events).
pub const NAME: &str = "replicaset";
/// `source.component` of its events.
pub const COMPONENT: &str = "replicaset-controller";
/// How long a sync waits for the cache to show its own writes.
const EXPECTATION_TIMEOUT: Duration = Duration::from_secs(30);

struct Ctx {
    shared: Shared,
    pods: Arc<Informer<Pod>>,
    retries: Retries,
}

/// Runs the controller until `stop`.
pub async fn run(shared: Shared, stop: Stop, pods: Arc<Informer<Pod>>) {
    // Caches first (safe with many waiters, unlike Store::wait_until_ready).
    pods.ready().await;
    let client = shared.client.clone();
    let queue = shared.metrics.queue(NAME);
    let controller = queue.controller(Api::<ReplicaSet>::all(client), watcher::Config::default());
    let rses = controller.store();
    let triggers = queue.triggers(
        pods.subscribe()
            .flat_map(move |pod| futures::stream::iter(replica_sets_for_pod(&rses, &pod))),
    );
    let ctx = Arc::new(Ctx {
        shared,
        pods: pods.clone(),
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

/// The ReplicaSets a pod event concerns: its controller, or (orphans)
/// every ReplicaSet of its namespace that selects it.
fn replica_sets_for_pod(rses: &Store<ReplicaSet>, pod: &Pod) -> Vec<ObjectRef<ReplicaSet>> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    if let Some(owner) = controller_of(&pod.metadata) {
        if owner.kind == "ReplicaSet" && owner.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&owner.name).within(&namespace)];
        }
        return Vec::new();
    }
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    rses.state()
        .iter()
        .filter(|rs| rs.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .filter(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| controller_selector(&s.selector).ok())
                .is_some_and(|sel| !sel.is_empty() && sel.matches(&labels))
        })
        .map(|rs| ObjectRef::from_obj(rs.as_ref()))
        .collect()
}

fn name_of(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn rs_ref(rs: &ReplicaSet) -> k8s_openapi::api::core::v1::ObjectReference {
    bosun_runtime::object_ref("apps/v1", "ReplicaSet", &rs.metadata)
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(rs.as_ref()), async {
            let action = sync(&rs, &ctx).await?;
            ctx.retries.succeeded(&key_of(&rs.metadata));
            Ok(action)
        })
        .await
}

async fn sync(rs: &ReplicaSet, ctx: &Ctx) -> Result<Action, ReconcileError> {
    ctx.pods.ready().await;
    let recorder = ctx.shared.recorder.with_component(COMPONENT);
    let namespace = rs.metadata.namespace.clone().unwrap_or_default();
    let pods_api: Api<Pod> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let Some(spec) = rs.spec.as_ref() else {
        return Ok(Action::await_change());
    };
    let selector = match controller_selector(&spec.selector) {
        Ok(s) => s,
        Err(error) => {
            recorder.publish(
                rs_ref(rs),
                bosun_runtime::EventType::Warning,
                "InvalidSelector",
                format!("invalid selector: {error}"),
            );
            return Ok(Action::await_change());
        }
    };
    let owner_ref =
        replica_set_controller_ref(rs).map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    let now = jiff::Timestamp::now();

    // Claim: adopt matching orphans, release owned pods that no longer match.
    let uid = rs.metadata.uid.as_deref().unwrap_or_default();
    let all: Vec<Arc<Pod>> = ctx.pods.controlled_or_orphaned(uid, &namespace);
    let mut owned: Vec<Arc<Pod>> = Vec::new();
    for pod in &all {
        match claim_decision(&rs.metadata, &selector, &pod.metadata) {
            ClaimDecision::Owned => owned.push(pod.clone()),
            ClaimDecision::Adopt => {
                if !is_pod_active(pod) {
                    continue;
                }
                let patch = adopt_patch(&pod.metadata, &owner_ref);
                match pods_api
                    .patch(
                        &name_of(pod),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(adopted) => owned.push(Arc::new(adopted)),
                    Err(e) if crate::context::is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            ClaimDecision::Release => {
                let patch = release_patch(
                    &pod.metadata,
                    rs.metadata.uid.as_deref().unwrap_or_default(),
                );
                match pods_api
                    .patch(
                        &name_of(pod),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(_) => {}
                    Err(e) if crate::context::is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            ClaimDecision::Ignore => {}
        }
    }
    let active: Vec<&Pod> = owned
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| is_pod_active(p))
        .collect();

    let mut manage_error: Option<String> = None;
    match plan_replica_set_sync(rs, &active, &active, now) {
        ReplicaSetAction::None => {}
        ReplicaSetAction::Create { batches, .. } => {
            let template =
                pod_for_replica_set(rs).map_err(|e| ReconcileError::Invalid(e.to_string()))?;
            let mut created: HashSet<String> = HashSet::new();
            let post = PostParams::default();
            'batches: for size in batches {
                let results =
                    futures::future::join_all((0..size).map(|_| pods_api.create(&post, &template)))
                        .await;
                for result in results {
                    match result {
                        Ok(pod) => {
                            let name = name_of(&pod);
                            recorder.publish(
                                rs_ref(rs),
                                bosun_runtime::EventType::Normal,
                                wevents::SUCCESSFUL_CREATE,
                                format!("Created pod: {name}"),
                            );
                            created.insert(name);
                        }
                        Err(error) => {
                            // A terminating namespace refuses creates: nothing to report.
                            if matches!(&error, kube::Error::Api(s) if s.code == 403 && s.message.contains("terminat"))
                            {
                                break 'batches;
                            }
                            let message = error.to_string();
                            recorder.publish(
                                rs_ref(rs),
                                bosun_runtime::EventType::Warning,
                                wevents::FAILED_CREATE,
                                format!("Error creating: {message}"),
                            );
                            manage_error = Some(message);
                        }
                    }
                }
                if manage_error.is_some() {
                    break;
                }
            }
            let store = ctx.pods.store();
            await_cache(&namespace, || {
                created
                    .iter()
                    .all(|n| store.get(&ObjectRef::new(n).within(&namespace)).is_some())
            })
            .await;
        }
        ReplicaSetAction::Delete { pods } => {
            let victims: Vec<(String, Option<String>)> = pods
                .iter()
                .map(|p| (name_of(p), p.metadata.uid.clone()))
                .collect();
            let results = futures::future::join_all(victims.iter().map(|(name, uid)| {
                let params = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: uid.clone(),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                let api = pods_api.clone();
                async move { (name.clone(), api.delete(name, &params).await) }
            }))
            .await;
            let mut deleted = Vec::new();
            for (name, result) in results {
                match result {
                    Ok(_) => {
                        recorder.publish(
                            rs_ref(rs),
                            bosun_runtime::EventType::Normal,
                            wevents::SUCCESSFUL_DELETE,
                            format!("Deleted pod: {name}"),
                        );
                        deleted.push(name);
                    }
                    Err(e)
                        if crate::context::is_not_found(&e) || crate::context::is_conflict(&e) => {}
                    Err(error) => {
                        let message = error.to_string();
                        recorder.publish(
                            rs_ref(rs),
                            bosun_runtime::EventType::Warning,
                            "FailedDelete",
                            format!("Error deleting: {message}"),
                        );
                        manage_error = Some(message);
                    }
                }
            }
            let store = ctx.pods.store();
            await_cache(&namespace, || {
                deleted.iter().all(|n| {
                    store
                        .get(&ObjectRef::new(n).within(&namespace))
                        .is_none_or(|p| !is_pod_active(&p))
                })
            })
            .await;
        }
    }

    let status = calculate_replica_set_status(rs, &active, manage_error.as_deref(), now);
    if replica_set_status_needs_update(rs, &status) {
        let api: Api<ReplicaSet> = Api::namespaced(ctx.shared.client.clone(), &namespace);
        // Counters that dropped to zero must be cleared, not left out.
        let patch = crate::status_patch::status_patch(None, rs.status.as_ref(), &status)
            .unwrap_or_else(|| serde_json::json!({}));
        match api
            .patch_status(
                rs.metadata.name.as_deref().unwrap_or_default(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if crate::context::is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(error) = manage_error {
        return Err(ReconcileError::Waiting(error));
    }
    Ok(match replica_set_requeue_after(rs, &status, false) {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    })
}

/// Waits (bounded) until `done` says the cache shows this sync's writes.
async fn await_cache(namespace: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + EXPECTATION_TIMEOUT;
    loop {
        if done() {
            return;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                namespace,
                "cache did not show this controller's writes in time"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn error_policy(rs: Arc<ReplicaSet>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, replicaset = %key_of(&rs.metadata), "sync failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&rs.metadata)))
}
