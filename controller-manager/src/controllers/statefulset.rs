//! The StatefulSet controller: pods with stable names `<set>-<ordinal>`
//! (hostname, subdomain, pod-name and pod-index labels), a claim per
//! volume claim template and pod created before the pod, `OrderedReady`
//! or `Parallel` management, rolling updates from the highest ordinal down
//! (honouring `partition` and `maxUnavailable`) or `OnDelete`, claim owner
//! references for `persistentVolumeClaimRetentionPolicy`, a
//! ControllerRevision per template, and the status `kubectl rollout
//! status` reads. Decisions live in [`crate::workload::statefulset_sync`].
//!
//! Pod names are unique, so two syncs (or two controller-managers, one
//! just restarted) can never create two pods for one ordinal: a create
//! that finds its name taken only means the cache is behind, and the next
//! sync sees the pod. After its writes a sync waits until the cache shows
//! them.

use crate::context::{ReconcileError, Retries, Shared, Stop, is_conflict, is_not_found, key_of};
use crate::controllers::history::{self, Created};
use crate::informer::Informer;
use crate::workload::controller_revision::{
    DEFAULT_REVISION_HISTORY_LIMIT, cmp_revisions, data_matches, next_revision,
    stateful_set_revisions_to_trim, template_of_revision, template_patch,
};
use crate::workload::ownership::{
    ClaimDecision, adopt_patch, claim_decision, controller_of, controller_selector, release_patch,
};
use crate::workload::statefulset_pods::{
    claim_owner_refs, claims_for, is_member_of, ordinal_of, set_controller_ref,
};
use crate::workload::statefulset_sync::{
    Action as Step, PodRef, RECREATING_FAILED_POD, RECREATING_TERMINATED_POD, Revisions,
    claim_event_message, live_revisions, plan_stateful_set, pod_event_message, recreating_message,
    status_patch,
};
use crate::workqueue::object_key;
use bosun_runtime::EventType;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "statefulset";
/// `source.component` of its events.
pub const COMPONENT: &str = "statefulset-controller";
/// How long a sync waits for the cache to show its own writes.
const EXPECTATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How soon to look again when blocked on claims (no event announces them).
const CLAIM_RECHECK: Duration = Duration::from_secs(1);
/// How many name collisions one sync resolves before giving up.
const MAX_COLLISIONS: usize = 32;

struct Ctx {
    shared: Shared,
    pods: Store<Pod>,
    claims: Store<PersistentVolumeClaim>,
    revisions: Store<ControllerRevision>,
    retries: Retries,
}

/// Runs the controller until `stop`.
pub async fn run(
    shared: Shared,
    stop: Stop,
    pods: Arc<Informer<Pod>>,
    claims: Arc<Informer<PersistentVolumeClaim>>,
    revisions: Arc<Informer<ControllerRevision>>,
) {
    // Caches first (safe with many waiters, unlike Store::wait_until_ready).
    pods.ready().await;
    claims.ready().await;
    revisions.ready().await;
    let client = shared.client.clone();
    let queue = shared.metrics.queue(NAME);
    let controller = queue.controller(Api::<StatefulSet>::all(client), watcher::Config::default());
    let sets = controller.store();
    let pod_triggers = pods
        .subscribe()
        .flat_map(move |pod| futures::stream::iter(sets_for_pod(&sets, &pod)));
    let revision_triggers = revisions.subscribe().filter_map(|r| {
        let key = controller_of(&r.metadata)
            .filter(|o| o.kind == "StatefulSet")
            .map(|o| {
                ObjectRef::new(&o.name).within(r.metadata.namespace.as_deref().unwrap_or_default())
            });
        futures::future::ready(key)
    });
    let ctx = Arc::new(Ctx {
        shared,
        pods: pods.store(),
        claims: claims.store(),
        revisions: revisions.store(),
        retries: Retries::default(),
    });
    controller
        .reconcile_on(queue.triggers(pod_triggers))
        .reconcile_on(queue.triggers(revision_triggers))
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

/// The StatefulSets a pod event concerns: its controller, or (orphans) the
/// sets of its namespace that select it and whose name it carries.
fn sets_for_pod(sets: &Store<StatefulSet>, pod: &Pod) -> Vec<ObjectRef<StatefulSet>> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    if let Some(owner) = controller_of(&pod.metadata) {
        if owner.kind == "StatefulSet" && owner.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&owner.name).within(&namespace)];
        }
        return Vec::new();
    }
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    sets.state()
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .filter(|s| is_member_of(s, pod))
        .filter(|s| {
            s.spec
                .as_ref()
                .and_then(|sp| controller_selector(&sp.selector).ok())
                .is_some_and(|sel| !sel.is_empty() && sel.matches(&labels))
        })
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

async fn reconcile(set: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(set.as_ref()), async {
            let action = SetSync::new(&set, &ctx).run().await?;
            ctx.retries.succeeded(&key_of(&set.metadata));
            Ok(action)
        })
        .await
}

fn error_policy(set: Arc<StatefulSet>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, statefulset = %key_of(&set.metadata), "sync failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&set.metadata)))
}

/// Waits (bounded) until `done` says the cache shows this sync's writes.
async fn await_cache(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + EXPECTATION_TIMEOUT;
    while !done() {
        if Instant::now() >= deadline {
            tracing::warn!(what, "cache did not show this controller's writes in time");
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn name_of<K: kube::Resource>(object: &K) -> String {
    object.meta().name.clone().unwrap_or_default()
}

/// What the writes of one sync left for the cache to show.
#[derive(Default)]
struct Written {
    pods: Vec<String>,
    pods_gone: Vec<String>,
    pods_updated: Vec<(String, Option<String>)>,
    claims: Vec<String>,
    claim_owners: Vec<(String, Vec<String>)>,
    /// A pod's name was taken: the cache is behind.
    name_taken: bool,
}

/// One sync of one StatefulSet.
struct SetSync<'a> {
    set: &'a StatefulSet,
    ctx: &'a Ctx,
    namespace: String,
    pods_api: Api<Pod>,
    claims_api: Api<PersistentVolumeClaim>,
    recorder: bosun_runtime::EventRecorder,
}

impl<'a> SetSync<'a> {
    fn new(set: &'a StatefulSet, ctx: &'a Ctx) -> Self {
        let namespace = set.metadata.namespace.clone().unwrap_or_default();
        Self {
            set,
            ctx,
            pods_api: Api::namespaced(ctx.shared.client.clone(), &namespace),
            claims_api: Api::namespaced(ctx.shared.client.clone(), &namespace),
            namespace,
            recorder: ctx.shared.recorder.with_component(COMPONENT),
        }
    }

    fn event(&self, kind: EventType, reason: &str, message: String) {
        self.recorder.publish(
            bosun_runtime::object_ref("apps/v1", "StatefulSet", &self.set.metadata),
            kind,
            reason,
            message,
        );
    }

    fn uid(&self) -> &str {
        self.set.metadata.uid.as_deref().unwrap_or_default()
    }

    async fn run(self) -> Result<Action, ReconcileError> {
        let _ = self.ctx.pods.wait_until_ready().await;
        let _ = self.ctx.claims.wait_until_ready().await;
        let _ = self.ctx.revisions.wait_until_ready().await;
        let set = self.set;
        let Some(spec) = set.spec.as_ref() else {
            return Ok(Action::await_change());
        };
        let selector = match controller_selector(&spec.selector) {
            Ok(s) => s,
            Err(error) => {
                self.event(
                    EventType::Warning,
                    "InvalidSelector",
                    format!("invalid selector: {error}"),
                );
                return Ok(Action::await_change());
            }
        };
        let owner = set_controller_ref(set).map_err(|e| ReconcileError::Invalid(e.to_string()))?;
        let client = &self.ctx.shared.client;
        let mut revisions = history::claim_revisions(
            client,
            &self.ctx.revisions,
            &set.metadata,
            &owner,
            &selector,
        )
        .await?;
        revisions.sort_by(cmp_revisions);
        let pods = self.claim_pods(&selector, &owner).await?;

        let (current, update, collision_count) = self.revisions(&mut revisions).await?;
        let update_template = spec.template.clone();
        let current_template = if current.metadata.name == update.metadata.name {
            update_template.clone()
        } else {
            template_of_revision(&current).ok_or_else(|| {
                ReconcileError::Invalid(format!(
                    "ControllerRevision {} holds no pod template",
                    name_of(&current)
                ))
            })?
        };
        let current_name = name_of(&current);
        let update_name = name_of(&update);
        let claims: BTreeMap<String, PersistentVolumeClaim> = self
            .ctx
            .claims
            .state()
            .into_iter()
            .filter(|c| c.metadata.namespace.as_deref() == Some(self.namespace.as_str()))
            .map(|c| (name_of(c.as_ref()), c.as_ref().clone()))
            .collect();
        let pod_refs: Vec<&Pod> = pods.iter().collect();
        let plan = plan_stateful_set(
            set,
            Revisions {
                current_name: &current_name,
                current_template: &current_template,
                update_name: &update_name,
                update_template: &update_template,
                collision_count,
            },
            &pod_refs,
            &claims,
            jiff::Timestamp::now(),
        )
        .map_err(|e| ReconcileError::Invalid(e.to_string()))?;

        let mut written = Written::default();
        let mut failure = None;
        for step in &plan.actions {
            if let Err(error) = self.execute(step, &claims, &mut written).await {
                failure = Some(error);
                break;
            }
            if written.name_taken {
                break;
            }
        }
        self.await_writes(&written).await;

        if let Some(patch) = status_patch(set, plan.status.clone()) {
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), &self.namespace);
            match api
                .patch_status(
                    &name_of(set),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let live = live_revisions(&plan.status, &pod_refs);
        let revision_refs: Vec<&ControllerRevision> = revisions.iter().collect();
        let limit = spec
            .revision_history_limit
            .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT);
        let doomed = stateful_set_revisions_to_trim(&revision_refs, &live, limit);
        history::delete_revisions(client, &doomed).await?;

        if let Some(error) = failure {
            return Err(error);
        }
        if written.name_taken {
            return Err(ReconcileError::Waiting(
                "a pod name is taken; waiting for the cache".into(),
            ));
        }
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let replicas = spec.replicas.unwrap_or(1);
        let mut after = None;
        if min_ready > 0 && plan.status.available_replicas != replicas {
            after = Some(Duration::from_secs(u64::try_from(min_ready).unwrap_or(0)));
        }
        if plan.recheck {
            after = Some(after.map_or(CLAIM_RECHECK, |a: Duration| a.min(CLAIM_RECHECK)));
        }
        Ok(after.map_or_else(Action::await_change, Action::requeue))
    }

    /// Adopts orphans that are members (name) and selected (labels);
    /// releases owned pods that are neither. Returns the owned members.
    async fn claim_pods(
        &self,
        selector: &bosun_types::labels::Selector,
        owner: &OwnerReference,
    ) -> Result<Vec<Pod>, ReconcileError> {
        let mut owned = Vec::new();
        for pod in self.ctx.pods.state() {
            if pod.metadata.namespace.as_deref() != Some(self.namespace.as_str()) {
                continue;
            }
            let member = is_member_of(self.set, &pod);
            let decision = match claim_decision(&self.set.metadata, selector, &pod.metadata) {
                ClaimDecision::Owned if !member => {
                    if self.set.metadata.deletion_timestamp.is_some() {
                        ClaimDecision::Ignore
                    } else {
                        ClaimDecision::Release
                    }
                }
                ClaimDecision::Adopt if !member => ClaimDecision::Ignore,
                d => d,
            };
            let patch = match decision {
                ClaimDecision::Owned => {
                    owned.push(pod.as_ref().clone());
                    continue;
                }
                ClaimDecision::Ignore => continue,
                ClaimDecision::Adopt => adopt_patch(&pod.metadata, owner),
                ClaimDecision::Release => release_patch(&pod.metadata, self.uid()),
            };
            match self
                .pods_api
                .patch(
                    &name_of(pod.as_ref()),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(written) => {
                    if decision == ClaimDecision::Adopt {
                        owned.push(written);
                    }
                }
                Err(e) if is_not_found(&e) || is_conflict(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        owned.sort_by_key(ordinal_of);
        Ok(owned)
    }

    /// Upstream's `getStatefulSetRevisions`: the current revision (the one
    /// `status.currentRevision` names, else the update revision), the
    /// update revision (the newest if it holds the template, an earlier
    /// identical one renumbered, or a new one), and the collision count.
    /// `revisions` gains any revision created.
    async fn revisions(
        &self,
        revisions: &mut Vec<ControllerRevision>,
    ) -> Result<(ControllerRevision, ControllerRevision, i32), ReconcileError> {
        let set = self.set;
        let client = &self.ctx.shared.client;
        let template = set
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let data = template_patch(&template);
        let mut collision_count = set
            .status
            .as_ref()
            .and_then(|s| s.collision_count)
            .unwrap_or(0);
        let refs: Vec<&ControllerRevision> = revisions.iter().collect();
        let next = next_revision(&refs);
        let newest_matches = revisions.last().is_some_and(|r| data_matches(r, &data));
        let equal = revisions.iter().rposition(|r| data_matches(r, &data));
        let update = match equal {
            Some(i) if newest_matches => revisions[i].clone(),
            Some(i) => {
                let renumbered = history::renumber_revision(client, &revisions[i], next).await?;
                revisions[i] = renumbered.clone();
                history::await_revision(&self.ctx.revisions, &renumbered).await;
                renumbered
            }
            None => {
                let mut tries = 0;
                let created = loop {
                    let created = history::create_revision(
                        client,
                        &set.metadata,
                        "StatefulSet",
                        template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
                        data.clone(),
                        next,
                        Some(collision_count),
                    )
                    .await?;
                    match created {
                        Created::Revision(r) => break *r,
                        Created::Collision => {
                            collision_count += 1;
                            tries += 1;
                            if tries >= MAX_COLLISIONS {
                                return Err(ReconcileError::Waiting(
                                    "too many ControllerRevision name collisions".into(),
                                ));
                            }
                        }
                    }
                };
                history::await_revision(&self.ctx.revisions, &created).await;
                revisions.push(created.clone());
                created
            }
        };
        revisions.sort_by(cmp_revisions);
        let current_name = set
            .status
            .as_ref()
            .and_then(|s| s.current_revision.as_deref())
            .unwrap_or_default();
        let current = revisions
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(current_name))
            .cloned()
            .unwrap_or_else(|| update.clone());
        Ok((current, update, collision_count))
    }

    async fn create_claims(
        &self,
        pod_name: &str,
        claims: &[PersistentVolumeClaim],
        written: &mut Written,
    ) -> Result<Vec<PersistentVolumeClaim>, ReconcileError> {
        let mut out = Vec::new();
        for claim in claims {
            let name = name_of(claim);
            match self.claims_api.create(&PostParams::default(), claim).await {
                Ok(created) => {
                    self.event(
                        EventType::Normal,
                        "SuccessfulCreate",
                        claim_event_message("create", &name, pod_name, self.set, None),
                    );
                    written.claims.push(name);
                    out.push(created);
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(error) => {
                    self.event(
                        EventType::Warning,
                        "FailedCreate",
                        claim_event_message(
                            "create",
                            &name,
                            pod_name,
                            self.set,
                            Some(&error.to_string()),
                        ),
                    );
                    return Err(error.into());
                }
            }
        }
        Ok(out)
    }

    async fn set_claim_owners(
        &self,
        pod_name: &str,
        claim: &str,
        resource_version: Option<&str>,
        owner_references: &[OwnerReference],
        written: &mut Written,
    ) -> Result<(), ReconcileError> {
        let patch = json!({"metadata": {
            "resourceVersion": resource_version,
            "ownerReferences": owner_references,
        }});
        match self
            .claims_api
            .patch(claim, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                let uids = owner_references.iter().map(|r| r.uid.clone()).collect();
                written.claim_owners.push((claim.to_owned(), uids));
                Ok(())
            }
            Err(e) if is_not_found(&e) => Ok(()),
            Err(error) => {
                self.event(
                    EventType::Warning,
                    "FailedUpdate",
                    pod_event_message("update", pod_name, self.set, Some(&error.to_string())),
                );
                Err(error.into())
            }
        }
    }

    async fn delete_pod(&self, pod: &PodRef, written: &mut Written) -> Result<(), ReconcileError> {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: pod.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match self.pods_api.delete(&pod.name, &params).await {
            Ok(_) => {
                self.event(
                    EventType::Normal,
                    "SuccessfulDelete",
                    pod_event_message("delete", &pod.name, self.set, None),
                );
                written.pods_gone.push(pod.name.clone());
                Ok(())
            }
            Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(()),
            Err(error) => {
                self.event(
                    EventType::Warning,
                    "FailedDelete",
                    pod_event_message("delete", &pod.name, self.set, Some(&error.to_string())),
                );
                Err(error.into())
            }
        }
    }

    async fn execute(
        &self,
        step: &Step,
        claims: &BTreeMap<String, PersistentVolumeClaim>,
        written: &mut Written,
    ) -> Result<(), ReconcileError> {
        match step {
            Step::Recreate { pod, failed } => {
                let (kind, reason) = if *failed {
                    (EventType::Warning, RECREATING_FAILED_POD)
                } else {
                    (EventType::Normal, RECREATING_TERMINATED_POD)
                };
                self.event(
                    kind,
                    reason,
                    recreating_message(self.set, &pod.name, *failed),
                );
                self.delete_pod(pod, written).await
            }
            Step::Delete { pod, reason } => {
                tracing::debug!(pod = %pod.name, ?reason, "deleting stateful pod");
                self.delete_pod(pod, written).await
            }
            Step::CreateClaims { pod_name, claims } => self
                .create_claims(pod_name, claims, written)
                .await
                .map(|_| ()),
            Step::Create {
                pod,
                claims: missing,
            } => {
                let pod_name = name_of(pod.as_ref());
                let fresh = self.create_claims(&pod_name, missing, written).await?;
                let created = match self.pods_api.create(&PostParams::default(), pod).await {
                    Ok(created) => created,
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        written.name_taken = true;
                        return Ok(());
                    }
                    Err(error) => {
                        self.event(
                            EventType::Warning,
                            "FailedCreate",
                            pod_event_message(
                                "create",
                                &pod_name,
                                self.set,
                                Some(&error.to_string()),
                            ),
                        );
                        return Err(error.into());
                    }
                };
                self.event(
                    EventType::Normal,
                    "SuccessfulCreate",
                    pod_event_message("create", &pod_name, self.set, None),
                );
                written.pods.push(pod_name.clone());
                // Retention policy owner references need the pod's UID.
                let Some(ordinal) = ordinal_of(&created) else {
                    return Ok(());
                };
                for (_, wanted) in claims_for(self.set, ordinal) {
                    let name = name_of(&wanted);
                    let claim = fresh
                        .iter()
                        .find(|c| name_of(*c) == name)
                        .or_else(|| claims.get(&name));
                    let Some(claim) = claim else {
                        continue;
                    };
                    if let Some(refs) = claim_owner_refs(self.set, &created, claim) {
                        self.set_claim_owners(
                            &pod_name,
                            &name,
                            claim.metadata.resource_version.as_deref(),
                            &refs,
                            written,
                        )
                        .await?;
                    }
                }
                Ok(())
            }
            Step::Update { pod } => {
                let name = name_of(pod.as_ref());
                match self
                    .pods_api
                    .replace(&name, &PostParams::default(), pod)
                    .await
                {
                    Ok(updated) => {
                        self.event(
                            EventType::Normal,
                            "SuccessfulUpdate",
                            pod_event_message("update", &name, self.set, None),
                        );
                        written
                            .pods_updated
                            .push((name, updated.metadata.resource_version.clone()));
                        Ok(())
                    }
                    Err(e) if is_not_found(&e) => Ok(()),
                    Err(error) => {
                        self.event(
                            EventType::Warning,
                            "FailedUpdate",
                            pod_event_message("update", &name, self.set, Some(&error.to_string())),
                        );
                        Err(error.into())
                    }
                }
            }
            Step::ClaimOwners {
                pod_name,
                claim,
                resource_version,
                owner_references,
            } => {
                self.set_claim_owners(
                    pod_name,
                    claim,
                    resource_version.as_deref(),
                    owner_references,
                    written,
                )
                .await
            }
        }
    }

    async fn await_writes(&self, written: &Written) {
        let pods = &self.ctx.pods;
        let claims = &self.ctx.claims;
        let ns = self.namespace.as_str();
        await_cache("stateful pods and claims", || {
            let pod = |n: &str| pods.get(&ObjectRef::new(n).within(ns));
            written.pods.iter().all(|n| pod(n).is_some())
                && written
                    .pods_gone
                    .iter()
                    .all(|n| pod(n).is_none_or(|p| p.metadata.deletion_timestamp.is_some()))
                && written
                    .pods_updated
                    .iter()
                    .all(|(n, rv)| pod(n).is_none_or(|p| p.metadata.resource_version == *rv))
                && written
                    .claims
                    .iter()
                    .all(|n| claims.get(&ObjectRef::new(n).within(ns)).is_some())
                && written.claim_owners.iter().all(|(n, uids)| {
                    claims.get(&ObjectRef::new(n).within(ns)).is_none_or(|c| {
                        let have: Vec<String> = c
                            .metadata
                            .owner_references
                            .iter()
                            .flatten()
                            .map(|r| r.uid.clone())
                            .collect();
                        have == *uids
                    })
                })
        })
        .await;
    }
}
