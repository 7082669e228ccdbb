//! The garbage collector: keeps a graph of every object's ownerReferences
//! (metadata-only watches of every listable, deletable resource) and
//!
//! * deletes dependents whose owners are all gone (verified against the
//!   API, since the graph may lag) — background cascading deletion;
//! * removes ownerReferences to owners that are gone while other owners
//!   remain (dangling references);
//! * for an owner deleted in the foreground (`foregroundDeletion`
//!   finalizer), deletes its dependents (in the foreground too) and removes
//!   the finalizer once no dependent with `blockOwnerDeletion` is left;
//! * for an owner deleted with `orphan` (finalizer `orphan`), removes its
//!   ownerReference from every dependent, then the finalizer.
//!
//! Events are ignored as upstream does. Every write is guarded by uid
//! preconditions or resourceVersion, so a recreated object of the same
//! name is never touched.

use crate::context::{ReconcileError, Shared, Stop};
use crate::informer::{Change, Informer};
use futures::{StreamExt, stream::BoxStream};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::core::PartialObjectMeta;
use kube::discovery::{ApiResource, Discovery, Scope, verbs};
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "garbage-collector";
/// Finalizer of owners deleted in the foreground.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer of owners deleted with orphaning.
pub const ORPHAN: &str = "orphan";
/// Items processed at once.
const WORKERS: usize = 32;
/// How often discovery is re-read for new resources.
const REDISCOVER: Duration = Duration::from_secs(30);

/// One object in the graph.
#[derive(Debug, Clone)]
struct Node {
    resource: Arc<ApiResource>,
    namespaced: bool,
    namespace: Option<String>,
    name: String,
    owners: Vec<OwnerReference>,
    deleting: bool,
    finalizers: Vec<String>,
    resource_version: Option<String>,
}

impl Node {
    fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }
}

/// The owner/dependent graph.
#[derive(Debug, Default)]
struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    /// Inserts or updates `uid`; returns the node it replaced.
    fn upsert(&mut self, uid: &str, node: Node) -> Option<Node> {
        let old = self.nodes.insert(uid.to_owned(), node);
        if let Some(old) = &old {
            for owner in &old.owners {
                if let Some(set) = self.dependents.get_mut(&owner.uid) {
                    set.remove(uid);
                }
            }
        }
        if let Some(node) = self.nodes.get(uid) {
            for owner in &node.owners {
                self.dependents
                    .entry(owner.uid.clone())
                    .or_default()
                    .insert(uid.to_owned());
            }
        }
        old
    }

    fn remove(&mut self, uid: &str) -> Option<Node> {
        let old = self.nodes.remove(uid)?;
        for owner in &old.owners {
            if let Some(set) = self.dependents.get_mut(&owner.uid) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(&owner.uid);
                }
            }
        }
        Some(old)
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// What a worker does with an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Work {
    /// Check a dependent's owners (delete it or drop dangling references),
    /// or finish a foreground deletion of an owner.
    AttemptToDelete(String),
    /// Orphan the dependents of an owner being deleted with `orphan`.
    AttemptToOrphan(String),
}

impl Work {
    /// The work's key in the queue metrics.
    fn key(&self) -> String {
        format!("{self:?}")
    }
}

/// `(apiVersion, kind)` → the resource and whether it is namespaced.
type KindMap = HashMap<(String, String), (Arc<ApiResource>, bool)>;

struct Gc {
    shared: Shared,
    graph: Mutex<Graph>,
    /// Discovery: `(apiVersion, kind)` → resource.
    kinds: Mutex<KindMap>,
    queue: mpsc::UnboundedSender<Work>,
    pending: Mutex<HashSet<Work>>,
    /// Stamps queued work for `workqueue_queue_duration_seconds`.
    stamps: crate::workqueue::Queue,
}

impl Gc {
    fn lock(&self) -> std::sync::MutexGuard<'_, Graph> {
        self.graph.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enqueue(&self, work: Work) {
        let fresh = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(work.clone());
        if fresh {
            self.stamps.add(&work.key());
            let _ = self.queue.send(work);
        }
    }

    fn resolve(&self, api_version: &str, kind: &str) -> Option<(Arc<ApiResource>, bool)> {
        self.kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(api_version.to_owned(), kind.to_owned()))
            .cloned()
    }

    fn api(&self, resource: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.shared.client.clone(), ns, resource),
            None => Api::all_with(self.shared.client.clone(), resource),
        }
    }
}

/// Runs the garbage collector until `stop`.
pub async fn run(shared: Shared, stop: Stop, informers: Fed) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let gc = Arc::new(Gc {
        stamps: shared.metrics.queue(NAME),
        shared,
        graph: Mutex::new(Graph::default()),
        kinds: Mutex::new(HashMap::new()),
        queue: tx,
        pending: Mutex::new(HashSet::new()),
    });
    let workers = Arc::new(Semaphore::new(WORKERS));
    let processor = {
        let gc = gc.clone();
        async move {
            while let Some(work) = rx.recv().await {
                let Ok(permit) = workers.clone().acquire_owned().await else {
                    break;
                };
                let gc = gc.clone();
                tokio::spawn(async move {
                    gc.pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&work);
                    let result = gc
                        .shared
                        .metrics
                        .measure(NAME, &work.key(), process(&gc, &work))
                        .await;
                    drop(permit);
                    if let Err(error) = result {
                        gc.shared.metrics.retry(NAME);
                        tracing::debug!(%error, ?work, "garbage collection failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        gc.enqueue(work);
                    }
                });
            }
        }
    };
    let watches = watch_everything(gc.clone(), informers);
    tokio::select! {
        _ = processor => {}
        _ = watches => {}
        _ = stop.wait() => {}
    }
}

/// The process's shared informers the collector reads instead of opening
/// watches of its own (upstream's collector also uses the shared
/// informers): pods and ReplicaSets, the kinds with the most changes.
pub struct Fed {
    /// Every pod.
    pub pods: Arc<Informer<Pod>>,
    /// Every ReplicaSet.
    pub replica_sets: Arc<Informer<ReplicaSet>>,
}

/// A change of some kind's object, as the collector reads it.
type GraphEvent = (
    Arc<ApiResource>,
    bool,
    Event<PartialObjectMeta<DynamicObject>>,
);

/// The `(group, plural)` of kind `K`, as the watched set names kinds.
fn key_of<K: kube::Resource<DynamicType = ()>>() -> (String, String) {
    (K::group(&()).into_owned(), K::plural(&()).into_owned())
}

impl Fed {
    /// The kinds these informers cover.
    fn covers() -> [(String, String); 2] {
        [key_of::<Pod>(), key_of::<ReplicaSet>()]
    }

    /// Starts feeding every informer into `events`.
    fn start(&self, events: &mpsc::Sender<GraphEvent>) {
        feed(&self.pods, events.clone());
        feed(&self.replica_sets, events.clone());
    }
}

/// Feeds `informer`'s objects (namespaced ones) into `events` as metadata
/// events.
fn feed<K>(informer: &Informer<K>, events: mpsc::Sender<GraphEvent>)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let resource = Arc::new(ApiResource::erase::<K>(&()));
    let mut changes = informer.snapshot_and_changes().boxed();
    let types = kube::core::TypeMeta {
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
    };
    tokio::spawn(async move {
        let metadata = |object: &K| PartialObjectMeta::<DynamicObject> {
            types: Some(types.clone()),
            metadata: object.meta().clone(),
            _phantom: std::marker::PhantomData,
        };
        while let Some(change) = changes.next().await {
            let event = match &change {
                Change::Applied(o) => Event::Apply(metadata(o)),
                Change::Deleted(o) => Event::Delete(metadata(o)),
            };
            if events.send((resource.clone(), true, event)).await.is_err() {
                return;
            }
        }
    });
}

/// Discovers resources and watches each (re-discovering periodically);
/// the kinds in `informers` come from those instead.
async fn watch_everything(gc: Arc<Gc>, informers: Fed) {
    let mut watched: HashSet<(String, String)> = HashSet::new();
    let (events_tx, mut events_rx) = mpsc::channel::<GraphEvent>(1024);
    watched.extend(Fed::covers());
    // Fed only once the first discovery is in: until then every owner's
    // kind would look unserved, and its dependents dangling.
    let mut informers = Some(informers);
    let consume = {
        let gc = gc.clone();
        async move {
            while let Some((resource, namespaced, event)) = events_rx.recv().await {
                handle_event(&gc, &resource, namespaced, event);
            }
        }
    };
    let discover = async move {
        loop {
            match Discovery::new(gc.shared.client.clone())
                .run_aggregated()
                .await
            {
                Ok(discovery) => {
                    let mut kinds = HashMap::new();
                    for group in discovery.groups() {
                        for version in group.versions() {
                            for (resource, caps) in group.versioned_resources(version) {
                                let namespaced = caps.scope == Scope::Namespaced;
                                let resource = Arc::new(resource);
                                kinds.insert(
                                    (resource.api_version.clone(), resource.kind.clone()),
                                    (resource.clone(), namespaced),
                                );
                            }
                        }
                        for (resource, caps) in group.recommended_resources() {
                            let key = (resource.group.clone(), resource.plural.clone());
                            let ignored = resource.plural == "events";
                            if ignored
                                || watched.contains(&key)
                                || !caps.supports_operation(verbs::LIST)
                                || !caps.supports_operation(verbs::WATCH)
                                || !caps.supports_operation(verbs::DELETE)
                            {
                                continue;
                            }
                            watched.insert(key);
                            let namespaced = caps.scope == Scope::Namespaced;
                            let resource = Arc::new(resource);
                            let api: Api<PartialObjectMeta<DynamicObject>> =
                                Api::all_with(gc.shared.client.clone(), resource.as_ref());
                            let tx = events_tx.clone();
                            tokio::spawn(async move {
                                let mut stream: BoxStream<'static, _> =
                                    watcher::watcher(api, watcher::Config::default()).boxed();
                                while let Some(event) = stream.next().await {
                                    match event {
                                        Ok(event) => {
                                            if tx
                                                .send((resource.clone(), namespaced, event))
                                                .await
                                                .is_err()
                                            {
                                                return;
                                            }
                                        }
                                        Err(error) => {
                                            tracing::debug!(%error, resource = %resource.plural, "gc watch error");
                                            tokio::time::sleep(Duration::from_secs(1)).await;
                                        }
                                    }
                                }
                            });
                        }
                    }
                    *gc.kinds.lock().unwrap_or_else(|e| e.into_inner()) = kinds;
                    if let Some(informers) = informers.take() {
                        informers.start(&events_tx);
                    }
                }
                Err(error) => tracing::warn!(%error, "garbage collector: discovery failed"),
            }
            tokio::time::sleep(REDISCOVER).await;
        }
    };
    tokio::join!(consume, discover);
}

fn node_of(
    resource: &Arc<ApiResource>,
    namespaced: bool,
    object: &PartialObjectMeta<DynamicObject>,
) -> Node {
    let meta = &object.metadata;
    Node {
        resource: resource.clone(),
        namespaced,
        namespace: meta.namespace.clone(),
        name: meta.name.clone().unwrap_or_default(),
        owners: meta.owner_references.clone().unwrap_or_default(),
        deleting: meta.deletion_timestamp.is_some(),
        finalizers: meta.finalizers.clone().unwrap_or_default(),
        resource_version: meta.resource_version.clone(),
    }
}

fn handle_event(
    gc: &Gc,
    resource: &Arc<ApiResource>,
    namespaced: bool,
    event: Event<PartialObjectMeta<DynamicObject>>,
) {
    match event {
        Event::Apply(object) | Event::InitApply(object) => {
            let Some(uid) = object.metadata.uid.clone() else {
                return;
            };
            let node = node_of(resource, namespaced, &object);
            let mut graph = gc.lock();
            let old = graph.upsert(&uid, node.clone());
            // A dependent whose owners may be gone.
            let owners_missing = node
                .owners
                .iter()
                .any(|o| graph.nodes.get(&o.uid).is_none_or(|n| n.deleting));
            let owners_changed = old.as_ref().is_some_and(|o| o.owners != node.owners);
            let started_deleting = node.deleting && old.as_ref().is_none_or(|o| !o.deleting);
            let dependents = graph.dependents_of(&uid);
            drop(graph);
            if owners_missing || owners_changed {
                gc.enqueue(Work::AttemptToDelete(uid.clone()));
            }
            if node.deleting && node.has_finalizer(ORPHAN) {
                gc.enqueue(Work::AttemptToOrphan(uid.clone()));
            }
            if node.deleting && node.has_finalizer(FOREGROUND) {
                gc.enqueue(Work::AttemptToDelete(uid.clone()));
                if started_deleting {
                    for dependent in dependents {
                        gc.enqueue(Work::AttemptToDelete(dependent));
                    }
                }
            }
        }
        Event::Delete(object) => {
            let Some(uid) = object.metadata.uid.clone() else {
                return;
            };
            let mut graph = gc.lock();
            let old = graph.remove(&uid);
            let dependents = graph.dependents_of(&uid);
            // Owners waiting for their dependents to go.
            let waiting_owners: Vec<String> = old
                .iter()
                .flat_map(|n| n.owners.iter())
                .filter(|o| {
                    graph
                        .nodes
                        .get(&o.uid)
                        .is_some_and(|n| n.deleting && n.has_finalizer(FOREGROUND))
                })
                .map(|o| o.uid.clone())
                .collect();
            drop(graph);
            for dependent in dependents {
                gc.enqueue(Work::AttemptToDelete(dependent));
            }
            for owner in waiting_owners {
                gc.enqueue(Work::AttemptToDelete(owner));
            }
        }
        Event::Init | Event::InitDone => {}
    }
}

/// The state of one owner reference.
#[derive(Debug, PartialEq, Eq)]
enum OwnerState {
    /// The owner exists and is not being deleted in the foreground.
    Solid,
    /// The owner is gone (or was replaced by another object of that name).
    Dangling,
    /// The owner is being deleted in the foreground.
    WaitingForDependents,
}

async fn owner_state(
    gc: &Gc,
    dependent: &Node,
    owner: &OwnerReference,
) -> Result<OwnerState, ReconcileError> {
    let known = gc.lock().nodes.get(&owner.uid).cloned();
    if let Some(node) = known {
        return Ok(if node.deleting && node.has_finalizer(FOREGROUND) {
            OwnerState::WaitingForDependents
        } else {
            OwnerState::Solid
        });
    }
    // Not in the graph: ask the API (the graph may lag).
    let Some((resource, namespaced)) = gc.resolve(&owner.api_version, &owner.kind) else {
        // An owner of a kind the API does not serve cannot exist.
        return Ok(OwnerState::Dangling);
    };
    let namespace = if namespaced {
        dependent.namespace.as_deref()
    } else {
        None
    };
    if namespaced && namespace.is_none() {
        return Ok(OwnerState::Dangling);
    }
    match gc
        .api(&resource, namespace)
        .get_metadata_opt(&owner.name)
        .await?
    {
        Some(live) if live.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
            let deleting = live.metadata.deletion_timestamp.is_some()
                && live
                    .metadata
                    .finalizers
                    .iter()
                    .flatten()
                    .any(|f| f == FOREGROUND);
            Ok(if deleting {
                OwnerState::WaitingForDependents
            } else {
                OwnerState::Solid
            })
        }
        _ => Ok(OwnerState::Dangling),
    }
}

async fn process(gc: &Gc, work: &Work) -> Result<(), ReconcileError> {
    match work {
        Work::AttemptToDelete(uid) => attempt_to_delete(gc, uid).await,
        Work::AttemptToOrphan(uid) => attempt_to_orphan(gc, uid).await,
    }
}

async fn attempt_to_delete(gc: &Gc, uid: &str) -> Result<(), ReconcileError> {
    let Some(node) = gc.lock().nodes.get(uid).cloned() else {
        return Ok(());
    };
    if node.deleting {
        if node.has_finalizer(FOREGROUND) {
            return process_foreground_owner(gc, uid, &node).await;
        }
        return Ok(());
    }
    if node.owners.is_empty() {
        return Ok(());
    }
    let mut solid = Vec::new();
    let mut dangling = Vec::new();
    let mut waiting = Vec::new();
    for owner in &node.owners {
        match owner_state(gc, &node, owner).await? {
            OwnerState::Solid => solid.push(owner.uid.clone()),
            OwnerState::Dangling => dangling.push(owner.uid.clone()),
            OwnerState::WaitingForDependents => waiting.push(owner.uid.clone()),
        }
    }
    if !solid.is_empty() {
        if dangling.is_empty() && waiting.is_empty() {
            return Ok(());
        }
        // Keep the object; drop references to owners that are going.
        let drop_uids: HashSet<&String> = dangling.iter().chain(waiting.iter()).collect();
        return remove_owner_refs(gc, uid, &node, |o| drop_uids.contains(&o.uid)).await;
    }
    // Every owner is gone or going: the object goes too.
    let has_dependents = !gc.lock().dependents_of(uid).is_empty();
    let policy = if !waiting.is_empty() && has_dependents {
        "Foreground"
    } else if node.has_finalizer(ORPHAN) {
        "Orphan"
    } else {
        "Background"
    };
    tracing::debug!(name = %node.name, kind = %node.resource.kind, policy, "deleting object whose owners are gone");
    delete_node(gc, uid, &node, policy).await
}

async fn delete_node(gc: &Gc, uid: &str, node: &Node, policy: &str) -> Result<(), ReconcileError> {
    let params = DeleteParams {
        propagation_policy: Some(match policy {
            "Foreground" => kube::api::PropagationPolicy::Foreground,
            "Orphan" => kube::api::PropagationPolicy::Orphan,
            _ => kube::api::PropagationPolicy::Background,
        }),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_owned()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let namespace = node
        .namespaced
        .then_some(node.namespace.as_deref())
        .flatten();
    match gc
        .api(&node.resource, namespace)
        .delete(&node.name, &params)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::context::is_not_found(&e) || crate::context::is_conflict(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An owner deleted in the foreground: delete its dependents; once none
/// that blocks is left, remove its finalizer.
async fn process_foreground_owner(gc: &Gc, uid: &str, node: &Node) -> Result<(), ReconcileError> {
    let dependents: Vec<(String, Node)> = {
        let graph = gc.lock();
        graph
            .dependents_of(uid)
            .into_iter()
            .filter_map(|d| graph.nodes.get(&d).cloned().map(|n| (d, n)))
            .collect()
    };
    let blocking: Vec<&(String, Node)> = dependents
        .iter()
        .filter(|(_, d)| {
            d.owners
                .iter()
                .any(|o| o.uid == uid && o.block_owner_deletion == Some(true))
        })
        .collect();
    for (dep_uid, dep) in &dependents {
        if !dep.deleting {
            let has_own = !gc.lock().dependents_of(dep_uid).is_empty();
            let policy = if has_own { "Foreground" } else { "Background" };
            delete_node(gc, dep_uid, dep, policy).await?;
        }
    }
    if !blocking.is_empty() {
        // Their deletion events bring this owner back.
        return Ok(());
    }
    remove_finalizer(gc, node, FOREGROUND).await
}

/// An owner deleted with `orphan`: release every dependent, then remove
/// the finalizer.
async fn attempt_to_orphan(gc: &Gc, uid: &str) -> Result<(), ReconcileError> {
    let Some(node) = gc.lock().nodes.get(uid).cloned() else {
        return Ok(());
    };
    if !node.deleting || !node.has_finalizer(ORPHAN) {
        return Ok(());
    }
    let dependents: Vec<(String, Node)> = {
        let graph = gc.lock();
        graph
            .dependents_of(uid)
            .into_iter()
            .filter_map(|d| graph.nodes.get(&d).cloned().map(|n| (d, n)))
            .collect()
    };
    for (dep_uid, dep) in &dependents {
        remove_owner_refs(gc, dep_uid, dep, |o| o.uid == uid).await?;
    }
    remove_finalizer(gc, &node, ORPHAN).await
}

/// Removes the ownerReferences `drop` selects from `node` (a merge patch
/// guarded by its resourceVersion).
async fn remove_owner_refs(
    gc: &Gc,
    uid: &str,
    node: &Node,
    drop: impl Fn(&OwnerReference) -> bool,
) -> Result<(), ReconcileError> {
    let kept: Vec<&OwnerReference> = node.owners.iter().filter(|o| !drop(o)).collect();
    if kept.len() == node.owners.len() {
        return Ok(());
    }
    let patch = json!({
        "metadata": {
            "uid": uid,
            "resourceVersion": node.resource_version,
            "ownerReferences": if kept.is_empty() { serde_json::Value::Null } else { json!(kept) },
        }
    });
    let namespace = node
        .namespaced
        .then_some(node.namespace.as_deref())
        .flatten();
    match gc
        .api(&node.resource, namespace)
        .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::context::is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes `finalizer` from `node` (guarded by its resourceVersion).
async fn remove_finalizer(gc: &Gc, node: &Node, finalizer: &str) -> Result<(), ReconcileError> {
    let kept: Vec<&String> = node.finalizers.iter().filter(|f| *f != finalizer).collect();
    let patch = json!({
        "metadata": {
            "resourceVersion": node.resource_version,
            "finalizers": if kept.is_empty() { serde_json::Value::Null } else { json!(kept) },
        }
    });
    let namespace = node
        .namespaced
        .then_some(node.namespace.as_deref())
        .flatten();
    match gc
        .api(&node.resource, namespace)
        .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::context::is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(owners: &[&str]) -> Node {
        Node {
            resource: Arc::new(ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&())),
            namespaced: true,
            namespace: Some("default".into()),
            name: "x".into(),
            owners: owners
                .iter()
                .map(|uid| OwnerReference {
                    uid: (*uid).into(),
                    ..Default::default()
                })
                .collect(),
            deleting: false,
            finalizers: vec![],
            resource_version: None,
        }
    }

    #[test]
    fn graph_tracks_dependents_through_updates_and_removals() {
        let mut graph = Graph::default();
        graph.upsert("pod-1", node(&["rs-1"]));
        graph.upsert("pod-2", node(&["rs-1", "rs-2"]));
        let mut deps = graph.dependents_of("rs-1");
        deps.sort();
        assert_eq!(deps, ["pod-1", "pod-2"]);
        graph.upsert("pod-2", node(&["rs-2"]));
        assert_eq!(graph.dependents_of("rs-1"), ["pod-1"]);
        graph.remove("pod-1");
        assert!(graph.dependents_of("rs-1").is_empty());
        assert_eq!(graph.dependents_of("rs-2"), ["pod-2"]);
    }
}
