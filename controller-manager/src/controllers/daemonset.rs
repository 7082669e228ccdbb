//! The DaemonSet controller: one pod per eligible node (node selector,
//! required node affinity, taints against tolerations), pinned to its node
//! by a required node affinity the default scheduler honours; pods on
//! nodes that stopped qualifying or no longer exist are deleted; template
//! changes roll out node by node (`RollingUpdate` with `maxUnavailable` or
//! `maxSurge`) or on deletion (`OnDelete`); every template is recorded as a
//! ControllerRevision; status counts let `kubectl rollout status` finish.
//! Decisions live in [`crate::workload::daemonset_sync`].
//!
//! Expectations: after creating or deleting pods a sync waits until the
//! shared pod cache shows those writes before it goes on, and the runtime
//! never runs two syncs of one DaemonSet at once.

use crate::context::{ReconcileError, Retries, Shared, Stop, is_conflict, is_not_found, key_of};
use crate::controllers::history::{self, Created};
use crate::informer::Informer;
use crate::workload::controller_revision::{
    CONTROLLER_REVISION_HASH_LABEL, DEFAULT_REVISION_HISTORY_LIMIT, cmp_revisions,
    daemon_set_revisions_to_trim, data_matches, template_patch,
};
use crate::workload::daemonset_sync::{
    DeleteReason, FAILED_DAEMON_POD, FAILED_PLACEMENT, PodRef, SELECTING_ALL, SUCCEEDED_DAEMON_POD,
    calculate_counts, daemon_pod_for_node, daemon_pod_template, group_by_node,
    insufficient_resources, plan_manage, plan_rolling_update, status_patch, template_generation,
};
use crate::workload::events as wevents;
use crate::workload::ownership::{
    ClaimDecision, adopt_patch, claim_decision, controller_of, controller_selector, release_patch,
};
use crate::workload::pod_template::controller_ref;
use crate::workload::replicaset_sync::slow_start_batches;
use crate::workqueue::object_key;
use bosun_runtime::EventType;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "daemonset";
/// `source.component` of its events.
pub const COMPONENT: &str = "daemonset-controller";
/// Pods created or deleted by one sync at most (upstream's `BurstReplicas`).
const BURST_REPLICAS: usize = 250;
/// How long a sync waits for the cache to show its own writes.
const EXPECTATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Failed-pod replacement backoff: first delay and cap.
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);

struct Ctx {
    shared: Shared,
    pods: Store<Pod>,
    nodes: Store<Node>,
    revisions: Store<ControllerRevision>,
    retries: Retries,
    /// `uid/observedGeneration/node` → (not before, last delay).
    failed_backoff: Mutex<HashMap<String, (Instant, Duration)>>,
}

/// Runs the controller until `stop`.
pub async fn run(
    shared: Shared,
    stop: Stop,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    revisions: Arc<Informer<ControllerRevision>>,
) {
    // Caches first (safe with many waiters, unlike Store::wait_until_ready).
    pods.ready().await;
    nodes.ready().await;
    revisions.ready().await;
    let client = shared.client.clone();
    let queue = shared.metrics.queue(NAME);
    let controller = queue.controller(Api::<DaemonSet>::all(client), watcher::Config::default());
    let dss = controller.store();
    let pod_dss = dss.clone();
    let pod_triggers = pods
        .subscribe()
        .flat_map(move |pod| futures::stream::iter(daemon_sets_for_pod(&pod_dss, &pod)));
    let node_dss = dss.clone();
    let node_store = nodes.store();
    let mut seen: HashMap<String, String> = HashMap::new();
    let node_triggers = nodes.subscribe().flat_map(move |node| {
        let name = node.metadata.name.clone().unwrap_or_default();
        let changed = if node_store.get(&ObjectRef::new(&name)).is_none() {
            seen.remove(&name);
            true
        } else {
            let print = node_fingerprint(&node);
            seen.insert(name, print.clone()).as_deref() != Some(print.as_str())
        };
        let keys: Vec<ObjectRef<DaemonSet>> = if changed {
            node_dss
                .state()
                .iter()
                .map(|ds| ObjectRef::from_obj(ds.as_ref()))
                .collect()
        } else {
            Vec::new()
        };
        futures::stream::iter(keys)
    });
    let revision_triggers = revisions.subscribe().filter_map(|r| {
        let key = controller_of(&r.metadata)
            .filter(|o| o.kind == "DaemonSet")
            .map(|o| {
                ObjectRef::new(&o.name).within(r.metadata.namespace.as_deref().unwrap_or_default())
            });
        futures::future::ready(key)
    });
    let ctx = Arc::new(Ctx {
        shared,
        pods: pods.store(),
        nodes: nodes.store(),
        revisions: revisions.store(),
        retries: Retries::default(),
        failed_backoff: Mutex::new(HashMap::new()),
    });
    controller
        .reconcile_on(queue.triggers(pod_triggers))
        .reconcile_on(queue.triggers(node_triggers))
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

/// What of a node decides where daemon pods go: labels and taints.
fn node_fingerprint(node: &Node) -> String {
    serde_json::json!([
        node.metadata.labels,
        node.spec.as_ref().and_then(|s| s.taints.as_ref()),
    ])
    .to_string()
}

/// The DaemonSets a pod event concerns: its controller, or (orphans) every
/// DaemonSet of its namespace that selects it.
fn daemon_sets_for_pod(dss: &Store<DaemonSet>, pod: &Pod) -> Vec<ObjectRef<DaemonSet>> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    if let Some(owner) = controller_of(&pod.metadata) {
        if owner.kind == "DaemonSet" && owner.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&owner.name).within(&namespace)];
        }
        return Vec::new();
    }
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    dss.state()
        .iter()
        .filter(|ds| ds.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .filter(|ds| {
            ds.spec
                .as_ref()
                .and_then(|s| controller_selector(&s.selector).ok())
                .is_some_and(|sel| !sel.is_empty() && sel.matches(&labels))
        })
        .map(|ds| ObjectRef::from_obj(ds.as_ref()))
        .collect()
}

fn ds_ref(ds: &DaemonSet) -> k8s_openapi::api::core::v1::ObjectReference {
    bosun_runtime::object_ref("apps/v1", "DaemonSet", &ds.metadata)
}

fn name_of(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

async fn reconcile(ds: Arc<DaemonSet>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(ds.as_ref()), async {
            let action = DsSync::new(&ds, &ctx).run().await?;
            ctx.retries.succeeded(&key_of(&ds.metadata));
            Ok(action)
        })
        .await
}

fn error_policy(ds: Arc<DaemonSet>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, daemonset = %key_of(&ds.metadata), "sync failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&ds.metadata)))
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

/// One sync of one DaemonSet.
struct DsSync<'a> {
    ds: &'a DaemonSet,
    ctx: &'a Ctx,
    namespace: String,
    pods_api: Api<Pod>,
    recorder: bosun_runtime::EventRecorder,
    /// The first error met while creating or deleting pods.
    error: Option<String>,
    /// When the next failed-pod replacement is allowed, if one waits.
    requeue: Option<Duration>,
}

impl<'a> DsSync<'a> {
    fn new(ds: &'a DaemonSet, ctx: &'a Ctx) -> Self {
        let namespace = ds.metadata.namespace.clone().unwrap_or_default();
        Self {
            ds,
            ctx,
            pods_api: Api::namespaced(ctx.shared.client.clone(), &namespace),
            namespace,
            recorder: ctx.shared.recorder.with_component(COMPONENT),
            error: None,
            requeue: None,
        }
    }

    fn event(&self, kind: EventType, reason: &str, message: String) {
        self.recorder
            .publish(ds_ref(self.ds), kind, reason, message);
    }

    fn uid(&self) -> &str {
        self.ds.metadata.uid.as_deref().unwrap_or_default()
    }

    /// The DaemonSet's pods in the cache (controlled by it).
    fn owned_pods(&self) -> Vec<Arc<Pod>> {
        self.ctx
            .pods
            .state()
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(self.namespace.as_str()))
            .filter(|p| controller_of(&p.metadata).is_some_and(|r| r.uid == self.uid()))
            .collect()
    }

    fn nodes(&self) -> Vec<Arc<Node>> {
        let mut nodes = self.ctx.nodes.state();
        nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        nodes
    }

    async fn run(mut self) -> Result<Action, ReconcileError> {
        let _ = self.ctx.pods.wait_until_ready().await;
        let _ = self.ctx.nodes.wait_until_ready().await;
        let _ = self.ctx.revisions.wait_until_ready().await;
        let ds = self.ds;
        let Some(spec) = ds.spec.as_ref() else {
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
        if selector.is_empty() {
            self.event(
                EventType::Warning,
                SELECTING_ALL,
                "This daemon set is selecting all pods. A non-empty selector is required.".into(),
            );
            return Ok(Action::await_change());
        }
        // Status of a DaemonSet being deleted cannot be trusted: leave it.
        if ds.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        let owner = controller_ref(
            "apps/v1",
            "DaemonSet",
            ds.metadata.name.as_deref().unwrap_or_default(),
            self.uid(),
        );
        self.claim_pods(&selector, &owner).await?;
        let (hash, old) = self.construct_history(&selector, &owner).await?;
        let generation = template_generation(ds);

        self.manage(&hash, generation, &owner).await?;
        let strategy = spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.type_.as_deref())
            .unwrap_or("RollingUpdate");
        if strategy == "RollingUpdate" && self.error.is_none() {
            self.rolling_update(&hash, generation, &owner).await?;
        }
        self.cleanup_history(&old).await?;
        let requeue = self.write_status(&hash, generation).await?;
        if let Some(error) = self.error.take() {
            return Err(ReconcileError::Waiting(error));
        }
        let after = [requeue, self.requeue].into_iter().flatten().min();
        Ok(after.map_or_else(Action::await_change, Action::requeue))
    }

    /// Adopts matching orphans and releases pods that stopped matching.
    async fn claim_pods(
        &self,
        selector: &bosun_types::labels::Selector,
        owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    ) -> Result<(), ReconcileError> {
        for pod in self.ctx.pods.state() {
            if pod.metadata.namespace.as_deref() != Some(self.namespace.as_str()) {
                continue;
            }
            let patch = match claim_decision(&self.ds.metadata, selector, &pod.metadata) {
                ClaimDecision::Adopt => adopt_patch(&pod.metadata, owner),
                ClaimDecision::Release => release_patch(&pod.metadata, self.uid()),
                ClaimDecision::Owned | ClaimDecision::Ignore => continue,
            };
            match self
                .pods_api
                .patch(
                    &name_of(&pod),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(written) => {
                    let rv = written.metadata.resource_version.clone();
                    let key = ObjectRef::from_obj(&written);
                    let store = &self.ctx.pods;
                    await_cache("claimed pod", || {
                        store
                            .get(&key)
                            .is_none_or(|p| p.metadata.resource_version == rv)
                    })
                    .await;
                }
                Err(e) if is_not_found(&e) || is_conflict(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Upstream's `constructHistory`: the revision of the current template
    /// (created, or an earlier identical one renumbered to the newest) and
    /// the old ones. Returns the current hash.
    async fn construct_history(
        &self,
        selector: &bosun_types::labels::Selector,
        owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    ) -> Result<(String, Vec<ControllerRevision>), ReconcileError> {
        let client = &self.ctx.shared.client;
        let ds = self.ds;
        let template = ds
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let data = template_patch(&template);
        let revisions =
            history::claim_revisions(client, &self.ctx.revisions, &ds.metadata, owner, selector)
                .await?;
        let (mut current, old): (Vec<ControllerRevision>, Vec<ControllerRevision>) =
            revisions.into_iter().partition(|r| data_matches(r, &data));
        let next = old.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
        current.sort_by(cmp_revisions);
        let cur = match current.pop() {
            None => {
                let created = history::create_revision(
                    client,
                    &ds.metadata,
                    "DaemonSet",
                    template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
                    data,
                    next,
                    ds.status.as_ref().and_then(|s| s.collision_count),
                )
                .await?;
                match created {
                    Created::Revision(r) => *r,
                    Created::Collision => {
                        let count = ds
                            .status
                            .as_ref()
                            .and_then(|s| s.collision_count)
                            .unwrap_or(0);
                        let api: Api<DaemonSet> = Api::namespaced(client.clone(), &self.namespace);
                        api.patch_status(
                            ds.metadata.name.as_deref().unwrap_or_default(),
                            &PatchParams::default(),
                            &Patch::Merge(serde_json::json!({
                                "metadata": {"resourceVersion": ds.metadata.resource_version},
                                "status": {"collisionCount": count + 1},
                            })),
                        )
                        .await?;
                        return Err(ReconcileError::Waiting(
                            "hash collision of a ControllerRevision; collisionCount raised".into(),
                        ));
                    }
                }
            }
            Some(newest) => {
                // Duplicates of the current revision can only come from
                // races: keep the newest.
                let dups: Vec<&ControllerRevision> = current.iter().collect();
                history::delete_revisions(client, &dups).await?;
                if newest.revision < next {
                    history::renumber_revision(client, &newest, next).await?
                } else {
                    newest
                }
            }
        };
        history::await_revision(&self.ctx.revisions, &cur).await;
        let hash = cur
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL))
            .cloned()
            .or_else(|| cur.metadata.name.clone())
            .unwrap_or_default();
        Ok((hash, old))
    }

    fn backoff_key(&self, node: &str) -> String {
        let observed = self
            .ds
            .status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or(0);
        format!("{}/{observed}/{node}", self.uid())
    }

    /// Upstream's `manage`: create on nodes missing a pod, delete pods that
    /// must go.
    async fn manage(
        &mut self,
        hash: &str,
        generation: Option<i64>,
        owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    ) -> Result<(), ReconcileError> {
        let pods = self.owned_pods();
        let refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let by_node = group_by_node(&refs, false);
        let nodes = self.nodes();
        let node_refs: Vec<&Node> = nodes.iter().map(|n| n.as_ref()).collect();
        let now = Instant::now();
        let plan = {
            let backoff = self
                .ctx
                .failed_backoff
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            plan_manage(
                self.ds,
                &node_refs,
                &by_node,
                hash,
                jiff::Timestamp::now(),
                |node| {
                    backoff
                        .get(&self.backoff_key(node))
                        .is_some_and(|(until, _)| *until > now)
                },
            )
        };
        // Failed pods waiting for their backoff: come back when it ends.
        {
            let mut backoff = self
                .ctx
                .failed_backoff
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            backoff.retain(|_, (until, delay)| *until + *delay * 2 > now);
            for deletion in &plan.delete {
                if let DeleteReason::Failed { node } = &deletion.reason {
                    let key = self.backoff_key(node);
                    let delay = backoff
                        .get(&key)
                        .map_or(BACKOFF_START, |(_, d)| (*d * 2).min(BACKOFF_MAX));
                    backoff.insert(key, (now + delay, delay));
                }
            }
            for (node, pods) in &by_node {
                let failed = pods
                    .iter()
                    .any(|p| crate::workload::availability::pod_phase(p) == "Failed");
                if let Some((until, _)) = backoff.get(&self.backoff_key(node))
                    && failed
                    && *until > now
                {
                    let wait = *until - now;
                    self.requeue = Some(self.requeue.map_or(wait, |r| r.min(wait)));
                }
            }
        }
        for deletion in &plan.delete {
            let pod_name = &deletion.pod.name;
            match &deletion.reason {
                DeleteReason::Failed { node } => self.event(
                    EventType::Warning,
                    FAILED_DAEMON_POD,
                    format!(
                        "Found failed daemon pod {}/{pod_name} on node {node}, will try to kill it",
                        self.namespace
                    ),
                ),
                DeleteReason::Succeeded { node } => self.event(
                    EventType::Normal,
                    SUCCEEDED_DAEMON_POD,
                    format!(
                        "Found succeeded daemon pod {}/{pod_name} on node {node}, will try to delete it",
                        self.namespace
                    ),
                ),
                _ => {}
            }
        }
        let deletions: Vec<PodRef> = plan.delete.iter().map(|d| d.pod.clone()).collect();
        self.sync_nodes(
            &deletions,
            &plan.create_on,
            hash,
            generation,
            owner,
            &by_node,
        )
        .await;
        Ok(())
    }

    /// Upstream's `rollingUpdate`, run once `manage`'s writes are in the cache.
    async fn rolling_update(
        &mut self,
        hash: &str,
        generation: Option<i64>,
        owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    ) -> Result<(), ReconcileError> {
        let pods = self.owned_pods();
        let refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let by_node = group_by_node(&refs, false);
        let nodes = self.nodes();
        let node_refs: Vec<&Node> = nodes.iter().map(|n| n.as_ref()).collect();
        let plan = plan_rolling_update(
            self.ds,
            &node_refs,
            &by_node,
            hash,
            generation,
            jiff::Timestamp::now(),
        )
        .map_err(|e| ReconcileError::Invalid(e.to_string()))?;
        let deletions = plan.delete;
        self.sync_nodes(
            &deletions,
            &plan.create_on,
            hash,
            generation,
            owner,
            &by_node,
        )
        .await;
        Ok(())
    }

    /// Upstream's `syncNodes`: creates pods for `create_on` in slow-start
    /// batches, deletes `delete`, then waits for the cache to show it all.
    async fn sync_nodes(
        &mut self,
        delete: &[PodRef],
        create_on: &[String],
        hash: &str,
        generation: Option<i64>,
        owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
        by_node: &BTreeMap<String, Vec<&Pod>>,
    ) {
        let create_on = &create_on[..create_on.len().min(BURST_REPLICAS)];
        let delete = &delete[..delete.len().min(BURST_REPLICAS)];
        let template = daemon_pod_template(self.ds, generation, hash);
        let mut created: HashSet<String> = HashSet::new();
        let mut offset = 0;
        'batches: for size in slow_start_batches(create_on.len(), 1) {
            let batch = &create_on[offset..offset + size];
            offset += size;
            for node in batch {
                self.warn_if_it_cannot_fit(&template, node, by_node);
            }
            let results = futures::future::join_all(batch.iter().map(|node| {
                let pod = daemon_pod_for_node(self.ds, &template, node, owner.clone());
                let api = self.pods_api.clone();
                async move { api.create(&PostParams::default(), &pod).await }
            }))
            .await;
            let mut failed = false;
            for result in results {
                match result {
                    Ok(pod) => {
                        let name = name_of(&pod);
                        self.event(
                            EventType::Normal,
                            wevents::SUCCESSFUL_CREATE,
                            format!("Created pod: {name}"),
                        );
                        created.insert(name);
                    }
                    Err(kube::Error::Api(s)) if s.code == 403 && s.message.contains("terminat") => {
                        break 'batches;
                    }
                    Err(error) => {
                        let message = error.to_string();
                        self.event(
                            EventType::Warning,
                            wevents::FAILED_CREATE,
                            format!("Error creating: {message}"),
                        );
                        self.error.get_or_insert(message);
                        failed = true;
                    }
                }
            }
            if failed {
                break;
            }
        }
        let results = futures::future::join_all(delete.iter().map(|pod| {
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: pod.uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            let api = self.pods_api.clone();
            async move { (pod.name.clone(), api.delete(&pod.name, &params).await) }
        }))
        .await;
        let mut deleted = Vec::new();
        for (name, result) in results {
            match result {
                Ok(_) => {
                    self.event(
                        EventType::Normal,
                        wevents::SUCCESSFUL_DELETE,
                        format!("Deleted pod: {name}"),
                    );
                    deleted.push(name);
                }
                Err(e) if is_not_found(&e) || is_conflict(&e) => {}
                Err(error) => {
                    let message = error.to_string();
                    self.event(
                        EventType::Warning,
                        wevents::FAILED_DELETE,
                        format!("Error deleting: {message}"),
                    );
                    self.error.get_or_insert(message);
                }
            }
        }
        let store = &self.ctx.pods;
        let namespace = self.namespace.as_str();
        await_cache("daemon pods", || {
            created
                .iter()
                .all(|n| store.get(&ObjectRef::new(n).within(namespace)).is_some())
                && deleted.iter().all(|n| {
                    store
                        .get(&ObjectRef::new(n).within(namespace))
                        .is_none_or(|p| p.metadata.deletion_timestamp.is_some())
                })
        })
        .await;
    }

    /// `FailedPlacement` when `node` reports too little room for the pod
    /// next to the pods bound there (the pod is created all the same; the
    /// scheduler decides).
    fn warn_if_it_cannot_fit(
        &self,
        template: &k8s_openapi::api::core::v1::PodTemplateSpec,
        node: &str,
        by_node: &BTreeMap<String, Vec<&Pod>>,
    ) {
        let Some(node_obj) = self.ctx.nodes.get(&ObjectRef::new(node)) else {
            return;
        };
        let ours: HashSet<&str> = by_node
            .get(node)
            .into_iter()
            .flatten()
            .filter_map(|p| p.metadata.uid.as_deref())
            .collect();
        let all = self.ctx.pods.state();
        let others: Vec<&Pod> = all
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| {
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node)
                    && crate::workload::availability::is_pod_active(p)
                    && !p.metadata.uid.as_deref().is_some_and(|u| ours.contains(u))
            })
            .collect();
        let spec = template.spec.clone().unwrap_or_default();
        if let Some(reason) = insufficient_resources(&spec, &node_obj, &others).first() {
            self.event(
                EventType::Warning,
                FAILED_PLACEMENT,
                format!("failed to place pod on {node:?}: {reason}"),
            );
        }
    }

    /// Upstream's `cleanupHistory`: old revisions beyond
    /// `revisionHistoryLimit`, except those live pods still carry.
    async fn cleanup_history(&self, old: &[ControllerRevision]) -> Result<(), ReconcileError> {
        let limit = self
            .ds
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT);
        let pods = self.owned_pods();
        let live: HashSet<&str> = pods
            .iter()
            .filter_map(|p| p.metadata.labels.as_ref())
            .filter_map(|l| l.get(CONTROLLER_REVISION_HASH_LABEL))
            .map(String::as_str)
            .collect();
        let old_refs: Vec<&ControllerRevision> = old.iter().collect();
        let doomed = daemon_set_revisions_to_trim(&old_refs, &live, limit);
        history::delete_revisions(&self.ctx.shared.client, &doomed).await
    }

    /// Writes the status counts; returns when to look again for pods that
    /// are ready but not yet available.
    async fn write_status(
        &self,
        hash: &str,
        generation: Option<i64>,
    ) -> Result<Option<Duration>, ReconcileError> {
        let pods = self.owned_pods();
        let refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let by_node = group_by_node(&refs, false);
        let nodes = self.nodes();
        let node_refs: Vec<&Node> = nodes.iter().map(|n| n.as_ref()).collect();
        let counts = calculate_counts(
            self.ds,
            &node_refs,
            &by_node,
            hash,
            generation,
            jiff::Timestamp::now(),
        );
        if let Some(patch) = status_patch(self.ds, &counts, true) {
            let api: Api<DaemonSet> =
                Api::namespaced(self.ctx.shared.client.clone(), &self.namespace);
            match api
                .patch_status(
                    self.ds.metadata.name.as_deref().unwrap_or_default(),
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
        let min_ready = self
            .ds
            .spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0);
        Ok(
            (min_ready > 0 && counts.number_ready != counts.number_available)
                .then(|| Duration::from_secs(u64::try_from(min_ready).unwrap_or(0))),
        )
    }
}
