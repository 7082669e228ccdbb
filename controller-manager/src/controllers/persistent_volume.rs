//! The PersistentVolume controller (upstream's `persistentvolume-binder`)
//! and, in the same loops, a simulated `rancher.io/local-path` provisioner
//! (kind's default StorageClass `standard` uses it).
//!
//! Two reconcile loops share one context: one per claim (bind it to the
//! best fitting volume, or provision one, or report why it waits; mark it
//! Lost when its volume goes) and one per volume (Available, Bound,
//! Released when its claim is gone, then its reclaim policy: Retain keeps
//! it, Delete removes it). Decisions live in [`crate::storage`].
//!
//! Safety: every write carries the `resourceVersion` it was computed from,
//! so a volume seen free by two claims at once is taken by one of them
//! only; the other sync fails with a conflict and retries with a fresh
//! cache. Provisioned volumes are named after the claim's UID, so a
//! restart or a repeated sync never provisions twice. A volume whose claim
//! is missing from the cache is released only after the API confirms the
//! claim is gone. After its writes a sync waits (bounded) until the caches
//! show them.
//!
//! `WaitForFirstConsumer`: the scheduler (its VolumeBinding step, as
//! upstream's) picks the node, writes `volume.kubernetes.io/selected-node`
//! on the claim (or binds a matching volume through its `claimRef`) and
//! binds the pod only once the claim is Bound. As a fallback for pods
//! bound without that step (by another scheduler, or by hand through
//! `pods/binding`), the controller also takes the node of a pod that uses
//! the claim and is bound already, and records it in that annotation when
//! it provisions.

use crate::context::{ReconcileError, Retries, Shared, Stop, is_not_found, key_of};
use crate::informer::Informer;
use crate::storage::binding::{
    claim_annotations_patch, claim_bind_patch, claim_class_patch, claim_status_patch,
    volume_bind_patch, volume_phase_patch, volume_unbind_patch,
};
use crate::storage::class::claim_class;
use crate::storage::sync::{
    ClaimPlan, ClaimWorld, Event, Provision, Reclaim, VolumePlan, consumer_node, plan_claim,
    plan_volume, reclaim_action,
};
use crate::storage::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER,
    annotation, claim_key, claim_phase, claims_of_pod, consumers, local_path, reasons,
    volume_name_of, volume_phase, volume_phase_of,
};
use crate::workqueue::object_key;
use bosun_runtime::{EventRecorder, EventType};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "persistentvolume-binder";
/// `source.component` of its events.
pub const COMPONENT: &str = "persistentvolume-controller";
/// How often unbound claims are looked at again (upstream's
/// `--pvclaimbinder-sync-period`), and failed volumes retried (×4).
const RESYNC: Duration = Duration::from_secs(15);
/// How long a sync waits for the caches to show its own writes.
const EXPECTATION_TIMEOUT: Duration = Duration::from_secs(10);

struct Ctx {
    shared: Shared,
    /// The claim loop's cache.
    claims: Store<PersistentVolumeClaim>,
    /// The shared claim informer's cache (the volume loop's triggers).
    shared_claims: Store<PersistentVolumeClaim>,
    /// This controller's volume informer (the claim loop's triggers).
    volumes: Store<PersistentVolume>,
    /// The volume loop's cache.
    volume_cache: Store<PersistentVolume>,
    classes: Store<StorageClass>,
    pods: Store<Pod>,
    nodes: Store<Node>,
    recorder: EventRecorder,
    provisioner: EventRecorder,
    claim_retries: Retries,
    volume_retries: Retries,
}

/// Runs the controller until `stop`.
pub async fn run(
    shared: Shared,
    stop: Stop,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    claims: Arc<Informer<PersistentVolumeClaim>>,
) {
    let client = shared.client.clone();
    let volumes =
        Informer::<PersistentVolume>::start(Api::all(client.clone()), watcher::Config::default());
    let classes =
        Informer::<StorageClass>::start(Api::all(client.clone()), watcher::Config::default());
    // One queue name for both loops (as the metrics and events have);
    // their keys differ by kind.
    let queue = shared.metrics.queue(NAME);
    let claim_controller = queue.controller(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        watcher::Config::default(),
    );
    let volume_controller = queue.controller(
        Api::<PersistentVolume>::all(client),
        watcher::Config::default(),
    );
    let claim_store = claim_controller.store();

    let store = claim_store.clone();
    let from_volumes = volumes
        .subscribe()
        .flat_map(move |v| futures::stream::iter(claims_for_volume(&store, &v)));
    let store = claim_store.clone();
    let from_pods = pods
        .subscribe()
        .flat_map(move |p| futures::stream::iter(unbound_claims_of_pod(&store, &p)));
    let store = claim_store.clone();
    let from_classes = classes
        .subscribe()
        .flat_map(move |_| futures::stream::iter(unbound_claims(&store)));
    let volume_store = volumes.store();
    let from_claims = claims
        .subscribe()
        .flat_map(move |c| futures::stream::iter(volumes_for_claim(&volume_store, &c)));

    let recorder = shared.recorder.with_component(COMPONENT);
    let provisioner = shared.recorder.with_component(local_path::COMPONENT);
    let ctx = Arc::new(Ctx {
        claims: claim_store,
        shared_claims: claims.store(),
        volumes: volumes.store(),
        volume_cache: volume_controller.store(),
        classes: classes.store(),
        pods: pods.store(),
        nodes: nodes.store(),
        recorder,
        provisioner,
        claim_retries: Retries::default(),
        volume_retries: Retries::default(),
        shared,
    });
    let config =
        || kube::runtime::controller::Config::default().concurrency(ctx.shared.concurrency);
    let claim_loop = claim_controller
        .reconcile_on(queue.triggers(from_volumes))
        .reconcile_on(queue.triggers(from_pods))
        .reconcile_on(queue.triggers(from_classes))
        .with_config(config())
        .graceful_shutdown_on(stop.wait())
        .run(reconcile_claim, claim_error_policy, ctx.clone())
        .for_each(|result| {
            queue.finished(&result);
            futures::future::ready(())
        });
    let volume_loop = volume_controller
        .reconcile_on(queue.triggers(from_claims))
        .with_config(config())
        .graceful_shutdown_on(stop.wait())
        .run(reconcile_volume, volume_error_policy, ctx.clone())
        .for_each(|result| {
            queue.finished(&result);
            futures::future::ready(())
        });
    futures::join!(claim_loop, volume_loop);
    // The informers stop with their last reference.
    drop((volumes, classes));
}

fn claim_ref_key(
    namespace: Option<&str>,
    name: Option<&str>,
) -> Option<ObjectRef<PersistentVolumeClaim>> {
    Some(ObjectRef::new(name?).within(namespace?))
}

fn is_unbound(claim: &PersistentVolumeClaim) -> bool {
    annotation(&claim.metadata, ANN_BIND_COMPLETED).is_none()
}

/// Claims without a completed binding.
fn unbound_claims(claims: &Store<PersistentVolumeClaim>) -> Vec<ObjectRef<PersistentVolumeClaim>> {
    claims
        .state()
        .iter()
        .filter(|c| is_unbound(c))
        .map(|c| ObjectRef::from_obj(c.as_ref()))
        .collect()
}

/// The claim a volume names; for a free volume, every claim still
/// looking for one.
fn claims_for_volume(
    claims: &Store<PersistentVolumeClaim>,
    volume: &PersistentVolume,
) -> Vec<ObjectRef<PersistentVolumeClaim>> {
    match volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) {
        Some(r) => claim_ref_key(r.namespace.as_deref(), r.name.as_deref())
            .into_iter()
            .collect(),
        None => claims
            .state()
            .iter()
            .filter(|c| is_unbound(c) && volume_name_of(c).is_empty())
            .map(|c| ObjectRef::from_obj(c.as_ref()))
            .collect(),
    }
}

/// The unbound claims a pod mounts (a pod being scheduled may be the
/// first consumer of a `WaitForFirstConsumer` claim).
fn unbound_claims_of_pod(
    claims: &Store<PersistentVolumeClaim>,
    pod: &Pod,
) -> Vec<ObjectRef<PersistentVolumeClaim>> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    claims_of_pod(pod)
        .into_iter()
        .map(|name| ObjectRef::new(&name).within(namespace))
        .filter(|key| claims.get(key).is_some_and(|c| is_unbound(&c)))
        .collect()
}

/// The volumes a claim event concerns: those naming it and the one it
/// names.
fn volumes_for_claim(
    volumes: &Store<PersistentVolume>,
    claim: &PersistentVolumeClaim,
) -> Vec<ObjectRef<PersistentVolume>> {
    let mut keys: Vec<ObjectRef<PersistentVolume>> = volumes
        .state()
        .iter()
        .filter(|v| {
            v.spec
                .as_ref()
                .and_then(|s| s.claim_ref.as_ref())
                .is_some_and(|r| {
                    r.name == claim.metadata.name && r.namespace == claim.metadata.namespace
                })
        })
        .map(|v| ObjectRef::from_obj(v.as_ref()))
        .collect();
    let named = volume_name_of(claim);
    if !named.is_empty() {
        keys.push(ObjectRef::new(named));
    }
    keys
}

// ---- claims ----------------------------------------------------------------

async fn reconcile_claim(
    claim: Arc<PersistentVolumeClaim>,
    ctx: Arc<Ctx>,
) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(claim.as_ref()), async {
            let action = sync_claim(&claim, &ctx).await?;
            ctx.claim_retries.succeeded(&key_of(&claim.metadata));
            Ok(action)
        })
        .await
}

fn claim_error_policy(
    claim: Arc<PersistentVolumeClaim>,
    error: &ReconcileError,
    ctx: Arc<Ctx>,
) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, claim = %key_of(&claim.metadata), "claim sync failed; retrying");
    Action::requeue(ctx.claim_retries.failed(&key_of(&claim.metadata)))
}

fn claim_object(claim: &PersistentVolumeClaim) -> k8s_openapi::api::core::v1::ObjectReference {
    bosun_runtime::object_ref("v1", "PersistentVolumeClaim", &claim.metadata)
}

fn volume_object(volume: &PersistentVolume) -> k8s_openapi::api::core::v1::ObjectReference {
    bosun_runtime::object_ref("v1", "PersistentVolume", &volume.metadata)
}

fn kind(event: &Event) -> EventType {
    if event.warning {
        EventType::Warning
    } else {
        EventType::Normal
    }
}

fn claims_api(ctx: &Ctx, claim: &PersistentVolumeClaim) -> Api<PersistentVolumeClaim> {
    Api::namespaced(
        ctx.shared.client.clone(),
        claim.metadata.namespace.as_deref().unwrap_or_default(),
    )
}

fn volumes_api(ctx: &Ctx) -> Api<PersistentVolume> {
    Api::all(ctx.shared.client.clone())
}

fn name_of<K: kube::Resource>(object: &K) -> String {
    object.meta().name.clone().unwrap_or_default()
}

async fn sync_claim(claim: &PersistentVolumeClaim, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let _ = ctx.volumes.wait_until_ready().await;
    let _ = ctx.classes.wait_until_ready().await;
    let _ = ctx.pods.wait_until_ready().await;
    let _ = ctx.nodes.wait_until_ready().await;
    let volumes = ctx.volumes.state();
    let volume_refs: Vec<&PersistentVolume> = volumes.iter().map(|v| v.as_ref()).collect();
    let classes = ctx.classes.state();
    let class_refs: Vec<&StorageClass> = classes.iter().map(|c| c.as_ref()).collect();
    let pods = ctx.pods.state();
    let users = consumers(claim, pods.iter().map(|p| p.as_ref()));
    let node = consumer_node(claim, &users).and_then(|n| ctx.nodes.get(&ObjectRef::new(&n)));
    let plan = plan_claim(
        claim,
        ClaimWorld {
            volumes: &volume_refs,
            classes: &class_refs,
            consumers: &users,
            node: node.as_deref(),
        },
    );
    tracing::trace!(claim = %claim_key(claim), ?plan, "claim sync");
    match plan {
        ClaimPlan::AssignClass(class) => {
            let patch = claim_class_patch(claim, &class);
            write_claim(ctx, claim, &patch, false).await?;
            // The claim's own update starts the next sync.
            Ok(Action::await_change())
        }
        ClaimPlan::Bind(volume) => {
            let Some(volume) = volume_refs
                .iter()
                .find(|v| v.metadata.name.as_deref() == Some(volume.as_str()))
            else {
                return Ok(Action::requeue(RESYNC));
            };
            bind(ctx, claim, volume).await?;
            Ok(Action::await_change())
        }
        ClaimPlan::Provision(provision) => {
            let class = class_refs
                .iter()
                .copied()
                .find(|c| c.metadata.name.as_deref() == Some(provision.class.as_str()));
            match class {
                Some(class) => self::provision(ctx, claim, class, &provision).await,
                None => Ok(Action::requeue(RESYNC)),
            }
        }
        ClaimPlan::Pending(event) => {
            if let Some(event) = event {
                ctx.recorder.publish(
                    claim_object(claim),
                    kind(&event),
                    event.reason,
                    event.message,
                );
            }
            set_claim_phase(ctx, claim, claim_phase::PENDING).await?;
            Ok(Action::requeue(RESYNC))
        }
        ClaimPlan::Lost(event) => {
            if set_claim_phase(ctx, claim, claim_phase::LOST).await? {
                ctx.recorder.publish(
                    claim_object(claim),
                    kind(&event),
                    event.reason,
                    event.message,
                );
            }
            Ok(Action::await_change())
        }
        ClaimPlan::Refuse(event) => {
            let message = event.message.clone();
            ctx.recorder.publish(
                claim_object(claim),
                kind(&event),
                event.reason,
                event.message,
            );
            Err(ReconcileError::Invalid(message))
        }
    }
}

/// Writes a claim's status phase (clearing its volume facts); whether it
/// changed.
async fn set_claim_phase(
    ctx: &Ctx,
    claim: &PersistentVolumeClaim,
    phase: &str,
) -> Result<bool, ReconcileError> {
    match claim_status_patch(claim, phase, None) {
        Some(patch) => {
            write_claim(ctx, claim, &patch, true).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Sends a guarded merge patch to a claim (or its status) and waits until
/// the claim cache shows it. A claim deleted meanwhile is no error.
async fn write_claim(
    ctx: &Ctx,
    claim: &PersistentVolumeClaim,
    patch: &Value,
    status: bool,
) -> Result<Option<PersistentVolumeClaim>, ReconcileError> {
    let api = claims_api(ctx, claim);
    let name = name_of(claim);
    let params = PatchParams::default();
    let result = if status {
        api.patch_status(&name, &params, &Patch::Merge(patch)).await
    } else {
        api.patch(&name, &params, &Patch::Merge(patch)).await
    };
    match result {
        Ok(written) => {
            await_newer(&ctx.claims, &ObjectRef::from_obj(claim), claim).await;
            Ok(Some(written))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Sends a guarded merge patch to a volume (or its status) and waits until
/// `cache` shows it. A volume deleted meanwhile is no error.
async fn write_volume(
    ctx: &Ctx,
    cache: &Store<PersistentVolume>,
    volume: &PersistentVolume,
    patch: &Value,
    status: bool,
) -> Result<Option<PersistentVolume>, ReconcileError> {
    let api = volumes_api(ctx);
    let name = name_of(volume);
    let params = PatchParams::default();
    let result = if status {
        api.patch_status(&name, &params, &Patch::Merge(patch)).await
    } else {
        api.patch(&name, &params, &Patch::Merge(patch)).await
    };
    match result {
        Ok(written) => {
            await_newer(cache, &ObjectRef::from_obj(volume), volume).await;
            Ok(Some(written))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Waits (bounded) until `store` holds a newer version of `old` than the
/// one read (or none). Every write here is guarded by the version read,
/// so any newer version includes the write.
async fn await_newer<K>(store: &Store<K>, key: &ObjectRef<K>, old: &K)
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let read = old.meta().resource_version.clone();
    let deadline = Instant::now() + EXPECTATION_TIMEOUT;
    while store
        .get(key)
        .is_some_and(|o| o.meta().resource_version == read)
    {
        if Instant::now() >= deadline {
            tracing::warn!(object = %key, "cache did not show this controller's write in time");
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Binds `volume` and `claim` (volume first, as upstream), skipping the
/// writes already done.
async fn bind(
    ctx: &Ctx,
    claim: &PersistentVolumeClaim,
    volume: &PersistentVolume,
) -> Result<(), ReconcileError> {
    let mut volume = volume.clone();
    let mut claim = claim.clone();
    let patch =
        volume_bind_patch(&volume, &claim).map_err(|e| ReconcileError::Waiting(e.to_string()))?;
    if let Some(patch) = patch {
        match write_volume(ctx, &ctx.volumes, &volume, &patch, false).await? {
            Some(written) => volume = written,
            None => return Ok(()),
        }
    }
    if let Some(patch) = volume_phase_patch(&volume, volume_phase::BOUND, None) {
        match write_volume(ctx, &ctx.volumes, &volume, &patch, true).await? {
            Some(written) => volume = written,
            None => return Ok(()),
        }
    }
    if let Some(patch) = claim_bind_patch(&claim, &volume) {
        match write_claim(ctx, &claim, &patch, false).await? {
            Some(written) => claim = written,
            None => return Ok(()),
        }
    }
    if let Some(patch) = claim_status_patch(&claim, claim_phase::BOUND, Some(&volume)) {
        write_claim(ctx, &claim, &patch, true).await?;
        tracing::debug!(claim = %claim_key(&claim), volume = %name_of(&volume), "claim bound");
    }
    Ok(())
}

/// Hands the claim to its class's provisioner; for `rancher.io/local-path`
/// plays that provisioner, then binds the new volume.
async fn provision(
    ctx: &Ctx,
    claim: &PersistentVolumeClaim,
    class: &StorageClass,
    plan: &Provision,
) -> Result<Action, ReconcileError> {
    let class_name = claim_class(claim).to_owned();
    let node = match plan.node.as_deref() {
        Some(name) => match ctx.nodes.get(&ObjectRef::new(name)) {
            Some(node) => Some(node),
            None => {
                ctx.recorder.publish(
                    claim_object(claim),
                    EventType::Warning,
                    reasons::PROVISIONING_FAILED,
                    format!("Failed to get target node: node {name:?} not found"),
                );
                return Ok(Action::requeue(RESYNC));
            }
        },
        None => None,
    };
    let mut wanted = vec![
        (ANN_STORAGE_PROVISIONER, plan.provisioner.as_str()),
        (ANN_BETA_STORAGE_PROVISIONER, plan.provisioner.as_str()),
    ];
    if let Some(node) = plan.node.as_deref()
        && annotation(&claim.metadata, ANN_SELECTED_NODE).is_none()
    {
        wanted.push((ANN_SELECTED_NODE, node));
    }
    let mut claim = claim.clone();
    if let Some(patch) = claim_annotations_patch(&claim, &wanted) {
        match write_claim(ctx, &claim, &patch, false).await? {
            Some(written) => claim = written,
            None => return Ok(Action::await_change()),
        }
        ctx.recorder.publish(
            claim_object(&claim),
            EventType::Normal,
            reasons::EXTERNAL_PROVISIONING,
            format!(
                "Waiting for a volume to be created either by the external provisioner '{}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
                plan.provisioner
            ),
        );
    }
    if plan.provisioner != local_path::PROVISIONER {
        // Someone else's provisioner: it creates the volume (pre-bound to
        // the claim), and the volume's event brings the claim back here.
        return Ok(Action::requeue(RESYNC));
    }

    let name = local_path::volume_name(&claim);
    let volume = match ctx.volumes.get(&ObjectRef::new(&name)) {
        Some(existing) => existing.as_ref().clone(),
        None => {
            let key = claim_key(&claim);
            ctx.provisioner.publish(
                claim_object(&claim),
                EventType::Normal,
                reasons::PROVISIONING,
                format!("External provisioner is provisioning volume for claim {key:?}"),
            );
            let volume = match local_path::provision(&claim, class, node.as_deref()) {
                Ok(volume) => volume,
                Err(error) => {
                    ctx.provisioner.publish(
                        claim_object(&claim),
                        EventType::Warning,
                        reasons::PROVISIONING_FAILED,
                        format!(
                            "failed to provision volume with StorageClass {class_name:?}: {error}"
                        ),
                    );
                    return Ok(Action::requeue(RESYNC));
                }
            };
            tracing::info!(
                volume = %name,
                claim = %key,
                node = plan.node.as_deref().unwrap_or("<any>"),
                path = %local_path::directory(&claim),
                "local-path: creating volume directory"
            );
            match volumes_api(ctx)
                .create(&PostParams::default(), &volume)
                .await
            {
                Ok(created) => {
                    ctx.provisioner.publish(
                        claim_object(&claim),
                        EventType::Normal,
                        reasons::PROVISIONING_SUCCEEDED,
                        format!("Successfully provisioned volume {name}"),
                    );
                    created
                }
                Err(kube::Error::Api(s)) if s.code == 409 => volumes_api(ctx).get(&name).await?,
                Err(error) => {
                    ctx.provisioner.publish(
                        claim_object(&claim),
                        EventType::Warning,
                        reasons::PROVISIONING_FAILED,
                        format!(
                            "failed to provision volume with StorageClass {class_name:?}: {error}"
                        ),
                    );
                    return Err(error.into());
                }
            }
        }
    };
    bind(ctx, &claim, &volume).await?;
    Ok(Action::await_change())
}

// ---- volumes ---------------------------------------------------------------

async fn reconcile_volume(
    volume: Arc<PersistentVolume>,
    ctx: Arc<Ctx>,
) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(volume.as_ref()), async {
            let action = sync_volume(&volume, &ctx).await?;
            ctx.volume_retries.succeeded(&key_of(&volume.metadata));
            Ok(action)
        })
        .await
}

fn volume_error_policy(
    volume: Arc<PersistentVolume>,
    error: &ReconcileError,
    ctx: Arc<Ctx>,
) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, volume = %key_of(&volume.metadata), "volume sync failed; retrying");
    Action::requeue(ctx.volume_retries.failed(&key_of(&volume.metadata)))
}

/// The claim a volume's `claimRef` names, if it exists. A claim missing
/// from the cache, or there with another UID, is looked up in the API
/// before the volume is released for it.
async fn claim_of_volume(
    ctx: &Ctx,
    volume: &PersistentVolume,
) -> Result<Option<PersistentVolumeClaim>, ReconcileError> {
    let Some(r) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return Ok(None);
    };
    let Some(key) = claim_ref_key(r.namespace.as_deref(), r.name.as_deref()) else {
        return Ok(None);
    };
    let cached = ctx.shared_claims.get(&key);
    let uid = r.uid.as_deref().filter(|u| !u.is_empty());
    let settled = matches!(
        volume_phase_of(volume),
        volume_phase::RELEASED | volume_phase::FAILED
    );
    if let Some(c) = &cached
        && (uid.is_none() || c.metadata.uid.as_deref() == uid)
    {
        return Ok(Some(c.as_ref().clone()));
    }
    if uid.is_none() || settled {
        return Ok(cached.map(|c| c.as_ref().clone()));
    }
    let api: Api<PersistentVolumeClaim> = Api::namespaced(
        ctx.shared.client.clone(),
        r.namespace.as_deref().unwrap_or_default(),
    );
    match api.get(r.name.as_deref().unwrap_or_default()).await {
        Ok(live) => Ok(Some(live)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn sync_volume(volume: &PersistentVolume, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let _ = ctx.shared_claims.wait_until_ready().await;
    let claim = claim_of_volume(ctx, volume).await?;
    let plan = plan_volume(volume, claim.as_ref());
    tracing::trace!(volume = %name_of(volume), ?plan, "volume sync");
    match plan {
        VolumePlan::Phase(phase) => {
            if let Some(patch) = volume_phase_patch(volume, phase, None) {
                write_volume(ctx, &ctx.volume_cache, volume, &patch, true).await?;
            }
            Ok(Action::await_change())
        }
        // The claim's sync completes the binding; this volume's event
        // already started it.
        VolumePlan::AwaitClaim => Ok(Action::await_change()),
        VolumePlan::Unbind => {
            let patch = volume_unbind_patch(volume);
            let Some(volume) = write_volume(ctx, &ctx.volume_cache, volume, &patch, false).await?
            else {
                return Ok(Action::await_change());
            };
            if let Some(patch) = volume_phase_patch(&volume, volume_phase::AVAILABLE, None) {
                write_volume(ctx, &ctx.volume_cache, &volume, &patch, true).await?;
            }
            Ok(Action::await_change())
        }
        VolumePlan::Release => {
            let mut volume = volume.clone();
            if !matches!(
                volume_phase_of(&volume),
                volume_phase::RELEASED | volume_phase::FAILED
            ) && let Some(patch) = volume_phase_patch(&volume, volume_phase::RELEASED, None)
            {
                tracing::info!(volume = %name_of(&volume), "volume released; running its reclaim policy");
                match write_volume(ctx, &ctx.volume_cache, &volume, &patch, true).await? {
                    Some(written) => volume = written,
                    None => return Ok(Action::await_change()),
                }
            }
            reclaim(ctx, &volume).await
        }
    }
}

async fn reclaim(ctx: &Ctx, volume: &PersistentVolume) -> Result<Action, ReconcileError> {
    let name = name_of(volume);
    match reclaim_action(volume) {
        Reclaim::Keep => Ok(Action::await_change()),
        Reclaim::External(provisioner) => {
            tracing::debug!(volume = %name, %provisioner, "waiting for the external deleter");
            Ok(Action::await_change())
        }
        Reclaim::DeleteByLocalPath | Reclaim::DeleteHostPath => {
            if volume.metadata.deletion_timestamp.is_some() {
                return Ok(Action::await_change());
            }
            let path = volume
                .spec
                .as_ref()
                .and_then(|s| s.host_path.as_ref())
                .map(|h| h.path.clone())
                .unwrap_or_default();
            tracing::info!(
                volume = %name,
                node = local_path::node_of(volume).unwrap_or("<any>"),
                %path,
                "deleting volume: removing its directory"
            );
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: volume.metadata.uid.clone(),
                    resource_version: volume.metadata.resource_version.clone(),
                }),
                ..DeleteParams::default()
            };
            match volumes_api(ctx).delete(&name, &params).await {
                Ok(_) => Ok(Action::await_change()),
                Err(e) if is_not_found(&e) => Ok(Action::await_change()),
                Err(e) => Err(e.into()),
            }
        }
        Reclaim::Fail(event) => {
            if let Some(patch) =
                volume_phase_patch(volume, volume_phase::FAILED, Some(&event.message))
                && write_volume(ctx, &ctx.volume_cache, volume, &patch, true)
                    .await?
                    .is_some()
            {
                ctx.recorder.publish(
                    volume_object(volume),
                    kind(&event),
                    event.reason,
                    event.message,
                );
            }
            Ok(Action::requeue(RESYNC * 4))
        }
    }
}
