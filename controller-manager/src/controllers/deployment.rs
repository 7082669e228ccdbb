//! The Deployment controller: one ReplicaSet per pod template (named with
//! `pod-template-hash`), rolled out by the RollingUpdate or Recreate
//! strategy, scaled proportionally when resized mid-rollout, old
//! ReplicaSets trimmed to `revisionHistoryLimit`, and upstream's status
//! and conditions so `kubectl rollout status` follows along. The decisions
//! live in [`crate::workload`]; this module reads the caches, writes
//! through the API and records events.

use crate::context::{ReconcileError, Retries, Shared, Stop, key_of};
use crate::workload::deployment_sync::{SyncPath, choose_sync_path};
use crate::workload::deployment_util::REVISION_ANNOTATION;
use crate::workload::events::{self as wevents, Event as WEvent, EventType as WEventType};
use crate::workload::history::replica_sets_to_cleanup;
use crate::workload::new_replicaset::{
    CreateConflict, after_new_replica_set_created, find_new_replica_set, find_old_replica_sets,
    new_replica_set, resolve_create_conflict, sync_existing_new_replica_set,
};
use crate::workload::ownership::{
    ClaimDecision, adopt_patch, claim_decision, controller_of, controller_selector, release_patch,
};
use crate::workload::pod_template::deployment_controller_ref;
use crate::workload::progress::{paused_condition_update, sync_rollout_status};
use crate::workload::recreate::{RecreateStep, rollout_recreate};
use crate::workload::rollback::{apply_rollback, plan_rollback};
use crate::workload::rolling::{RollingStep, rollout_rolling};
use crate::workload::scaling::{ScaleAction, scale};
use crate::workload::status::sync_deployment_status;
use crate::workqueue::object_key;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "deployment";
/// `source.component` of its events.
pub const COMPONENT: &str = "deployment-controller";

struct Ctx {
    shared: Shared,
    rses: Store<ReplicaSet>,
    pods: Store<Pod>,
    retries: Retries,
}

/// Runs the controller until `stop`.
pub async fn run(
    shared: Shared,
    stop: Stop,
    pods: Arc<crate::informer::Informer<Pod>>,
    rses: Arc<crate::informer::Informer<ReplicaSet>>,
) {
    // Caches first (safe with many waiters, unlike Store::wait_until_ready).
    pods.ready().await;
    rses.ready().await;
    let client = shared.client.clone();
    let queue = shared.metrics.queue(NAME);
    let controller = queue.controller(Api::<Deployment>::all(client), watcher::Config::default());
    let deployments = controller.store();
    let rs_triggers = rses
        .subscribe()
        .flat_map(move |rs| futures::stream::iter(deployments_for_rs(&deployments, &rs)));
    // Recreate waits for old pods to go: their deletion must wake it.
    let rs_store = rses.store();
    let pod_triggers = pods.subscribe().filter_map(move |pod| {
        let found = pod.metadata.deletion_timestamp.is_some() || is_terminal(&pod);
        let owner = controller_of(&pod.metadata)
            .filter(|_| found)
            .filter(|o| o.kind == "ReplicaSet")
            .and_then(|o| {
                rs_store.get(
                    &ObjectRef::new(&o.name)
                        .within(pod.metadata.namespace.as_deref().unwrap_or_default()),
                )
            })
            .and_then(|rs| controller_of(&rs.metadata).cloned().map(|d| (d, rs)))
            .filter(|(d, _)| d.kind == "Deployment")
            .map(|(d, rs)| {
                ObjectRef::new(&d.name).within(rs.metadata.namespace.as_deref().unwrap_or_default())
            });
        futures::future::ready(owner)
    });
    let ctx = Arc::new(Ctx {
        shared,
        rses: rses.store(),
        pods: pods.store(),
        retries: Retries::default(),
    });
    controller
        .reconcile_on(queue.triggers(rs_triggers))
        .reconcile_on(queue.triggers(pod_triggers))
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

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn deployments_for_rs(
    deployments: &Store<Deployment>,
    rs: &ReplicaSet,
) -> Vec<ObjectRef<Deployment>> {
    let namespace = rs.metadata.namespace.clone().unwrap_or_default();
    if let Some(owner) = controller_of(&rs.metadata) {
        if owner.kind == "Deployment" {
            return vec![ObjectRef::new(&owner.name).within(&namespace)];
        }
        return Vec::new();
    }
    let labels = rs.metadata.labels.clone().unwrap_or_default();
    deployments
        .state()
        .iter()
        .filter(|d| d.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .filter(|d| {
            d.spec
                .as_ref()
                .and_then(|s| controller_selector(&s.selector).ok())
                .is_some_and(|sel| !sel.is_empty() && sel.matches(&labels))
        })
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(d.as_ref()), async {
            let action = Syncer::new(&ctx, &d).sync().await?;
            ctx.retries.succeeded(&key_of(&d.metadata));
            Ok(action)
        })
        .await
}

fn error_policy(d: Arc<Deployment>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, deployment = %key_of(&d.metadata), "sync failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&d.metadata)))
}

/// One sync of one deployment.
struct Syncer<'a> {
    ctx: &'a Ctx,
    d: Deployment,
    namespace: String,
    name: String,
    recorder: bosun_runtime::EventRecorder,
    now: jiff::Timestamp,
}

impl<'a> Syncer<'a> {
    fn new(ctx: &'a Ctx, d: &Deployment) -> Self {
        Self {
            ctx,
            d: d.clone(),
            namespace: d.metadata.namespace.clone().unwrap_or_default(),
            name: d.metadata.name.clone().unwrap_or_default(),
            recorder: ctx.shared.recorder.with_component(COMPONENT),
            now: jiff::Timestamp::now(),
        }
    }

    fn event(&self, event: &WEvent) {
        let kind = match event.event_type {
            WEventType::Normal => bosun_runtime::EventType::Normal,
            WEventType::Warning => bosun_runtime::EventType::Warning,
        };
        self.recorder.publish(
            bosun_runtime::object_ref("apps/v1", "Deployment", &self.d.metadata),
            kind,
            event.reason,
            event.message.clone(),
        );
    }

    fn rs_api(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.ctx.shared.client.clone(), &self.namespace)
    }

    fn api(&self) -> Api<Deployment> {
        Api::namespaced(self.ctx.shared.client.clone(), &self.namespace)
    }

    /// The ReplicaSets this deployment controls, after adopting and releasing.
    async fn claim_replica_sets(&self) -> Result<Vec<ReplicaSet>, ReconcileError> {
        let selector = match self
            .d
            .spec
            .as_ref()
            .map(|s| controller_selector(&s.selector))
        {
            Some(Ok(s)) => s,
            _ => return Ok(Vec::new()),
        };
        let owner = deployment_controller_ref(&self.d)
            .map_err(|e| ReconcileError::Invalid(e.to_string()))?;
        let mut owned = Vec::new();
        let candidates: Vec<Arc<ReplicaSet>> = self
            .ctx
            .rses
            .state()
            .into_iter()
            .filter(|rs| rs.metadata.namespace.as_deref() == Some(self.namespace.as_str()))
            .collect();
        for rs in candidates {
            let rs_name = rs.metadata.name.clone().unwrap_or_default();
            match claim_decision(&self.d.metadata, &selector, &rs.metadata) {
                ClaimDecision::Owned => owned.push(rs.as_ref().clone()),
                ClaimDecision::Adopt => {
                    let patch = adopt_patch(&rs.metadata, &owner);
                    match self
                        .rs_api()
                        .patch(&rs_name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                    {
                        Ok(adopted) => owned.push(adopted),
                        Err(e) if crate::context::is_not_found(&e) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                ClaimDecision::Release => {
                    let patch = release_patch(
                        &rs.metadata,
                        self.d.metadata.uid.as_deref().unwrap_or_default(),
                    );
                    match self
                        .rs_api()
                        .patch(&rs_name, &PatchParams::default(), &Patch::Merge(&patch))
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
        Ok(owned)
    }

    async fn sync(mut self) -> Result<Action, ReconcileError> {
        let mut rses = self.claim_replica_sets().await?;
        let refs: Vec<&ReplicaSet> = rses.iter().collect();
        let new_rs = find_new_replica_set(&self.d, &refs);
        let old = find_old_replica_sets(&self.d, &refs);
        let path = match choose_sync_path(&self.d, new_rs, &old.all) {
            Ok(path) => path,
            Err(error) => {
                self.event(&WEvent {
                    event_type: WEventType::Warning,
                    reason: "InvalidDeployment",
                    message: error.to_string(),
                });
                return Ok(Action::await_change());
            }
        };
        // Pause / resume conditions come first, as upstream's checkPausedConditions.
        if !matches!(path, SyncPath::SelectingAll | SyncPath::StatusOnly)
            && let Some(status) = paused_condition_update(&self.d, self.now)
        {
            self.write_status(status).await?;
            return Ok(Action::await_change());
        }
        match path {
            SyncPath::SelectingAll => {
                self.event(&wevents::selecting_all());
                let generation = self.d.metadata.generation.unwrap_or(0);
                let mut status = self.d.status.clone().unwrap_or_default();
                if status.observed_generation.unwrap_or(0) < generation {
                    status.observed_generation = Some(generation);
                    self.write_status(status).await?;
                }
                Ok(Action::await_change())
            }
            SyncPath::StatusOnly => {
                self.plain_status(&rses).await?;
                Ok(Action::await_change())
            }
            SyncPath::Rollback(revision) => {
                self.rollback(&rses, revision).await?;
                Ok(Action::await_change())
            }
            SyncPath::Scale => {
                let actions = scale(&self.d, new_rs, &old.all);
                let actions: Vec<ScaleAction> = actions;
                self.apply_scale(&mut rses, &actions).await?;
                if self.d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
                    self.cleanup(&rses).await?;
                }
                self.plain_status(&rses).await?;
                Ok(Action::await_change())
            }
            SyncPath::RollingUpdate => {
                let Some(new_rs) = self.ensure_new_replica_set(&mut rses, true).await? else {
                    return Ok(Action::await_change());
                };
                let refs: Vec<&ReplicaSet> = rses.iter().collect();
                let old = find_old_replica_sets(&self.d, &refs);
                let step = rollout_rolling(&self.d, &new_rs, &old.all)
                    .map_err(|e| ReconcileError::Invalid(e.to_string()))?;
                match step {
                    RollingStep::ScaledNew(action) => {
                        self.apply_scale(&mut rses, &[action]).await?
                    }
                    RollingStep::ScaledOld(actions) => {
                        self.apply_scale(&mut rses, &actions).await?
                    }
                    RollingStep::Idle { cleanup_old } => {
                        if cleanup_old {
                            self.cleanup(&rses).await?;
                        }
                    }
                }
                self.rollout_status(&rses).await
            }
            SyncPath::Recreate => {
                let new_rs = self.ensure_new_replica_set(&mut rses, false).await?;
                let refs: Vec<&ReplicaSet> = rses.iter().collect();
                let old = find_old_replica_sets(&self.d, &refs);
                let pods = self.pods_of(&rses);
                let pod_refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
                match rollout_recreate(&self.d, new_rs.as_ref(), &old.all, &pod_refs) {
                    RecreateStep::ScaleDownOld(actions) => {
                        self.apply_scale(&mut rses, &actions).await?
                    }
                    RecreateStep::WaitForOldPods => {}
                    RecreateStep::CreateNewReplicaSet => {
                        self.ensure_new_replica_set(&mut rses, true).await?;
                    }
                    RecreateStep::ScaleUpNew {
                        action,
                        cleanup_old,
                    } => {
                        if let Some(action) = action {
                            self.apply_scale(&mut rses, &[action]).await?;
                        }
                        if cleanup_old {
                            self.cleanup(&rses).await?;
                        }
                    }
                }
                self.rollout_status(&rses).await
            }
        }
    }

    fn pods_of(&self, rses: &[ReplicaSet]) -> Vec<Arc<Pod>> {
        let uids: Vec<&str> = rses
            .iter()
            .filter_map(|r| r.metadata.uid.as_deref())
            .collect();
        self.ctx
            .pods
            .state()
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(self.namespace.as_str()))
            .filter(|p| controller_of(&p.metadata).is_some_and(|o| uids.contains(&o.uid.as_str())))
            .collect()
    }

    /// Finds (syncing its annotations) or, when `create`, creates the new
    /// ReplicaSet; `rses` is updated with what was written.
    async fn ensure_new_replica_set(
        &mut self,
        rses: &mut Vec<ReplicaSet>,
        create: bool,
    ) -> Result<Option<ReplicaSet>, ReconcileError> {
        let refs: Vec<&ReplicaSet> = rses.iter().collect();
        let old = find_old_replica_sets(&self.d, &refs);
        if let Some(existing) = find_new_replica_set(&self.d, &refs) {
            let sync = sync_existing_new_replica_set(&self.d, existing, &old.all, self.now);
            if let Some(update) = sync.replica_set_update {
                let name = update.metadata.name.clone().unwrap_or_default();
                let written = self
                    .rs_api()
                    .replace(&name, &PostParams::default(), &update)
                    .await?;
                replace_in(rses, written.clone());
                return Ok(Some(written));
            }
            let existing = existing.clone();
            self.record_revision(sync.deployment_revision, sync.progressing_condition)
                .await?;
            return Ok(Some(existing));
        }
        if !create {
            return Ok(None);
        }
        let built = new_replica_set(&self.d, &old.all)
            .map_err(|e| ReconcileError::Invalid(e.to_string()))?;
        let rs_name = built.replica_set.metadata.name.clone().unwrap_or_default();
        let (created, already_existed) = match self
            .rs_api()
            .create(&PostParams::default(), &built.replica_set)
            .await
        {
            Ok(created) => (created, false),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let existing = self.rs_api().get(&rs_name).await?;
                match resolve_create_conflict(&self.d, &existing) {
                    CreateConflict::UseExisting => (existing, true),
                    CreateConflict::BumpCollisionCount(count) => {
                        let mut status = self.d.status.clone().unwrap_or_default();
                        status.collision_count = Some(count);
                        self.write_status(status).await?;
                        return Err(ReconcileError::Waiting(format!(
                            "hash collision for ReplicaSet {rs_name}; collisionCount raised to {count}"
                        )));
                    }
                }
            }
            Err(kube::Error::Api(s)) if s.code == 403 && s.message.contains("terminat") => {
                return Ok(None);
            }
            Err(error) => {
                self.event(&wevents::failed_replica_set_create(
                    &rs_name,
                    &error.to_string(),
                ));
                return Err(error.into());
            }
        };
        let follow = after_new_replica_set_created(
            &self.d,
            &created,
            built.revision,
            already_existed,
            self.now,
        );
        for event in &follow.events {
            self.event(event);
        }
        rses.push(created.clone());
        self.await_rs(&created).await;
        self.record_revision(follow.deployment_revision, follow.progressing_condition)
            .await?;
        Ok(Some(created))
    }

    /// Writes the revision annotation and a Progressing condition.
    async fn record_revision(
        &mut self,
        revision: Option<String>,
        condition: Option<DeploymentCondition>,
    ) -> Result<(), ReconcileError> {
        if let Some(revision) = revision {
            // Through status, as upstream's controller writes it, so the
            // Deployment's generation does not move.
            let patch = json!({"metadata": {"annotations": {REVISION_ANNOTATION: revision}}});
            let written = self
                .api()
                .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            self.d.metadata = written.metadata;
        }
        if let Some(condition) = condition {
            let mut status = self.d.status.clone().unwrap_or_default();
            let conditions = status.conditions.get_or_insert_with(Vec::new);
            conditions.retain(|c| c.type_ != condition.type_);
            conditions.push(condition);
            self.write_status(status).await?;
        }
        Ok(())
    }

    /// Waits (bounded) until the ReplicaSet cache shows `rs` at least at
    /// the written version.
    async fn await_rs(&self, rs: &ReplicaSet) {
        let key =
            ObjectRef::new(rs.metadata.name.as_deref().unwrap_or_default()).within(&self.namespace);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self
                .ctx
                .rses
                .get(&key)
                .is_some_and(|c| c.metadata.uid == rs.metadata.uid)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn apply_scale(
        &self,
        rses: &mut [ReplicaSet],
        actions: &[ScaleAction],
    ) -> Result<(), ReconcileError> {
        for action in actions {
            let Some(current) = rses
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(action.replica_set.as_str()))
                .cloned()
            else {
                continue;
            };
            let mut updated = current;
            action.apply(&mut updated);
            updated.metadata.managed_fields = None;
            let written = self
                .rs_api()
                .replace(&action.replica_set, &PostParams::default(), &updated)
                .await?;
            if let Some(event) = action.event() {
                self.event(&event);
            }
            replace_in(rses, written);
        }
        Ok(())
    }

    async fn cleanup(&self, rses: &[ReplicaSet]) -> Result<(), ReconcileError> {
        let refs: Vec<&ReplicaSet> = rses.iter().collect();
        let old = find_old_replica_sets(&self.d, &refs);
        for rs in replica_sets_to_cleanup(&self.d, &old.all) {
            let name = rs.metadata.name.clone().unwrap_or_default();
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: rs.metadata.uid.clone(),
                    resource_version: rs.metadata.resource_version.clone(),
                }),
                ..Default::default()
            };
            match self.rs_api().delete(&name, &params).await {
                Ok(_) => {}
                Err(e) if crate::context::is_not_found(&e) || crate::context::is_conflict(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn rollback(&mut self, rses: &[ReplicaSet], revision: i64) -> Result<(), ReconcileError> {
        let refs: Vec<&ReplicaSet> = rses.iter().collect();
        let mut updated = self.d.clone();
        match plan_rollback(&self.d, &refs, revision) {
            Ok(plan) => {
                apply_rollback(&mut updated, &plan);
                self.event(&WEvent {
                    event_type: WEventType::Normal,
                    reason: "DeploymentRollback",
                    message: format!(
                        "Rolled back deployment {:?} to revision {}",
                        self.name, plan.revision
                    ),
                });
            }
            Err(error) => {
                // Drop the request so the deployment does not retry forever.
                if let Some(a) = updated.metadata.annotations.as_mut() {
                    a.remove(crate::workload::deployment_util::DEPRECATED_ROLLBACK_TO_ANNOTATION);
                }
                self.event(&WEvent {
                    event_type: WEventType::Warning,
                    reason: "DeploymentRollbackRevisionNotFound",
                    message: error.to_string(),
                });
            }
        }
        updated.metadata.managed_fields = None;
        self.api()
            .replace(&self.name, &PostParams::default(), &updated)
            .await?;
        Ok(())
    }

    async fn plain_status(&self, rses: &[ReplicaSet]) -> Result<(), ReconcileError> {
        let refs: Vec<&ReplicaSet> = rses.iter().collect();
        let new_rs = find_new_replica_set(&self.d, &refs);
        if let Some(status) = sync_deployment_status(&refs, new_rs, &self.d, self.now) {
            self.write_status(status).await?;
        }
        Ok(())
    }

    async fn rollout_status(&self, rses: &[ReplicaSet]) -> Result<Action, ReconcileError> {
        let refs: Vec<&ReplicaSet> = rses.iter().collect();
        let new_rs = find_new_replica_set(&self.d, &refs);
        let rollout = sync_rollout_status(&refs, new_rs, &self.d, self.now);
        if rollout.changed {
            self.write_status(rollout.status).await?;
        }
        Ok(match rollout.requeue.as_delay() {
            Some(delay) if delay.is_zero() => Action::requeue(Duration::from_millis(100)),
            Some(delay) => Action::requeue(delay),
            None => Action::await_change(),
        })
    }

    async fn write_status(&self, status: DeploymentStatus) -> Result<(), ReconcileError> {
        // Counters that dropped to zero must be cleared, not left out.
        let Some(patch) = crate::status_patch::status_patch(None, self.d.status.as_ref(), &status)
        else {
            return Ok(());
        };
        match self
            .api()
            .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::context::is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn replace_in(rses: &mut [ReplicaSet], written: ReplicaSet) {
    if let Some(slot) = rses
        .iter_mut()
        .find(|r| r.metadata.uid == written.metadata.uid)
    {
        *slot = written;
    }
}
