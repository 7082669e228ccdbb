//! The watches that feed the cache and the queue. Handlers only update the
//! cache, enqueue or forget pods, and move unschedulable pods back on the
//! cluster events that may make them fit (a node added or changed, a
//! bound pod deleted or finished, a nominated pod deleted or its nomination
//! cleared or moved, a claim, volume or storage class added or changed).

use crate::cache::{Cache, is_terminal, uid};
use crate::core::ControllerKind;
use crate::core::pod_info::pod_priority;
use crate::queue::{SchedulingQueue, pod_key};
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ReplicationController, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use tokio::sync::watch as signal;

mod slim;
mod volumes;

pub use slim::{SlimNode, SlimPod};

/// Shared state the handlers write.
#[derive(Clone)]
pub struct Sinks {
    /// The cache.
    pub cache: Arc<Mutex<Cache>>,
    /// The queue.
    pub queue: Arc<SchedulingQueue>,
    /// This scheduler's name.
    pub scheduler_name: String,
    /// Bumped whenever a claim or volume changes (PreBind waits on it).
    pub volume_events: signal::Sender<u64>,
}

impl Sinks {
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn volumes_changed(&self) {
        self.volume_events.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Starts every watch; `synced` becomes true once nodes, pods, claims,
/// volumes and classes are listed.
pub fn start(
    client: kube::Client,
    sinks: Sinks,
    synced: signal::Sender<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (nodes_tx, nodes_rx) = signal::channel(false);
    let (pods_tx, pods_rx) = signal::channel(false);
    let (mut tasks, storage_synced) = volumes::start(&client, &sinks);
    {
        let sinks = sinks.clone();
        tasks.push(tokio::spawn(drive(
            Api::<SlimNode>::all(client.clone()),
            nodes_tx,
            move |batch| on_nodes(&sinks, batch),
        )));
    }
    {
        let sinks = sinks.clone();
        tasks.push(tokio::spawn(drive(
            Api::<SlimPod>::all(client.clone()),
            pods_tx,
            move |batch| on_pods(&sinks, batch),
        )));
    }
    {
        let sinks = sinks.clone();
        tasks.push(tokio::spawn(drive(
            Api::<Namespace>::all(client.clone()),
            signal::channel(false).0,
            move |batch| {
                let mut cache = sinks.cache();
                for change in batch {
                    match change {
                        Change::Upsert(ns) => cache.set_namespace(
                            ns.metadata.name.as_deref().unwrap_or_default(),
                            ns.metadata.labels.clone().unwrap_or_default(),
                        ),
                        Change::Delete(ns) => {
                            cache.remove_namespace(ns.metadata.name.as_deref().unwrap_or_default())
                        }
                        Change::Resynced(_) => {}
                    }
                }
            },
        )));
    }
    {
        let sinks = sinks.clone();
        tasks.push(tokio::spawn(drive(
            Api::<Service>::all(client.clone()),
            signal::channel(false).0,
            move |batch| {
                let mut cache = sinks.cache();
                for change in batch {
                    match change {
                        Change::Upsert(s) => cache.set_service(
                            s.metadata.namespace.as_deref().unwrap_or_default(),
                            s.metadata.name.as_deref().unwrap_or_default(),
                            s.spec.as_ref().and_then(|s| s.selector.clone()),
                        ),
                        Change::Delete(s) => cache.set_service(
                            s.metadata.namespace.as_deref().unwrap_or_default(),
                            s.metadata.name.as_deref().unwrap_or_default(),
                            None,
                        ),
                        Change::Resynced(_) => {}
                    }
                }
            },
        )));
    }
    tasks.push(controller_watch::<ReplicaSet>(
        &client,
        &sinks,
        ControllerKind::ReplicaSet,
        |rs| rs.spec.as_ref().map(|s| s.selector.clone()),
    ));
    tasks.push(controller_watch::<StatefulSet>(
        &client,
        &sinks,
        ControllerKind::StatefulSet,
        |s| s.spec.as_ref().map(|s| s.selector.clone()),
    ));
    tasks.push(controller_watch::<ReplicationController>(
        &client,
        &sinks,
        ControllerKind::ReplicationController,
        |rc| {
            rc.spec.as_ref().and_then(|s| s.selector.clone()).map(|m| {
                k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some(m),
                    match_expressions: None,
                }
            })
        },
    ));
    {
        let sinks = sinks.clone();
        tasks.push(tokio::spawn(drive(
            Api::<PodDisruptionBudget>::all(client),
            signal::channel(false).0,
            move |batch| {
                let mut cache = sinks.cache();
                for change in batch {
                    match change {
                        Change::Upsert(p) => {
                            let key = key_of(&p.metadata);
                            cache.set_pdb(&key, Some((*p).clone()));
                        }
                        Change::Delete(p) => cache.set_pdb(&key_of(&p.metadata), None),
                        Change::Resynced(_) => {}
                    }
                }
            },
        )));
    }
    tasks.push(tokio::spawn(async move {
        let mut nodes_rx = nodes_rx;
        let mut pods_rx = pods_rx;
        let _ = nodes_rx.wait_for(|s| *s).await;
        let _ = pods_rx.wait_for(|s| *s).await;
        for mut rx in storage_synced {
            let _ = rx.wait_for(|s| *s).await;
        }
        let _ = synced.send(true);
        // Keep the sender alive so receivers do not see a close.
        std::future::pending::<()>().await;
    }));
    tasks
}

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

fn controller_watch<K>(
    client: &kube::Client,
    sinks: &Sinks,
    kind: ControllerKind,
    selector: fn(&K) -> Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) -> tokio::task::JoinHandle<()>
where
    K: Decoded<Object = K> + kube::Resource<DynamicType = ()>,
{
    let sinks = sinks.clone();
    tokio::spawn(drive(
        Api::<K>::all(client.clone()),
        signal::channel(false).0,
        move |batch| {
            let mut cache = sinks.cache();
            for change in batch {
                let (object, present) = match &change {
                    Change::Upsert(o) => (o, true),
                    Change::Delete(o) => (o, false),
                    Change::Resynced(_) => continue,
                };
                let meta = object.meta();
                let parsed = present
                    .then(|| selector(object))
                    .flatten()
                    .and_then(|s| bosun_types::labels::wire::selector_from_wire(Some(&s)).ok());
                cache.set_controller(
                    kind,
                    meta.namespace.as_deref().unwrap_or_default(),
                    meta.name.as_deref().unwrap_or_default(),
                    parsed,
                );
            }
        },
    ))
}

/// One change seen by a watch.
pub enum Change<K> {
    /// Added or modified.
    Upsert(Arc<K>),
    /// Deleted.
    Delete(Arc<K>),
    /// A re-list finished: these are all the objects that exist.
    Resynced(Vec<Arc<K>>),
}

/// What a watch decodes, and the object its handler gets: the API type
/// itself without its managed fields, which nothing here reads (as
/// upstream's scheduler trims them from its informers' objects, so the
/// cache does not keep them for every object).
pub trait Decoded:
    kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
    /// The object handed on.
    type Object: Send + Sync + 'static;
    /// The object, without managed fields.
    fn into_object(self) -> Self::Object;
}

/// Types decoded in full, whose managed fields are dropped afterwards.
macro_rules! decoded_in_full {
    ($($t:ty),* $(,)?) => {
        $(impl Decoded for $t {
            type Object = $t;
            fn into_object(mut self) -> $t {
                kube::Resource::meta_mut(&mut self).managed_fields = None;
                self
            }
        })*
    };
}

decoded_in_full!(
    Namespace,
    Service,
    ReplicaSet,
    StatefulSet,
    ReplicationController,
    PodDisruptionBudget,
    k8s_openapi::api::core::v1::PersistentVolumeClaim,
    k8s_openapi::api::core::v1::PersistentVolume,
    k8s_openapi::api::storage::v1::StorageClass,
);

impl Decoded for SlimPod {
    type Object = Pod;
    fn into_object(self) -> Pod {
        self.0
    }
}

impl Decoded for SlimNode {
    type Object = Node;
    fn into_object(self) -> Node {
        self.0
    }
}

/// Runs a watch forever, handing each change (batched: a re-list arrives
/// as one `Resynced`, preceded by its objects as upserts) to `handle`.
async fn drive<K>(
    api: Api<K>,
    synced: signal::Sender<bool>,
    mut handle: impl FnMut(Vec<Change<K::Object>>) + Send + 'static,
) where
    K: Decoded,
{
    let mut stream = events(api).boxed();
    let mut relist: Option<Vec<Arc<K::Object>>> = None;
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => relist = Some(Vec::new()),
            Ok(Event::InitApply(object)) => {
                let object = Arc::new(object.into_object());
                if let Some(list) = relist.as_mut() {
                    list.push(object.clone());
                }
                handle(vec![Change::Upsert(object)]);
            }
            Ok(Event::InitDone) => {
                handle(vec![Change::Resynced(relist.take().unwrap_or_default())]);
                let _ = synced.send(true);
            }
            Ok(Event::Apply(object)) => {
                handle(vec![Change::Upsert(Arc::new(object.into_object()))])
            }
            Ok(Event::Delete(object)) => {
                handle(vec![Change::Delete(Arc::new(object.into_object()))])
            }
            Err(error) => tracing::debug!(%error, "watch error"),
        }
    }
}

/// A watch whose (re)lists ask for `resourceVersion=0`, as client-go's
/// reflectors do: the apiserver answers from its watch cache in one
/// response, not in pages of 500 fetched one after another.
fn events<K>(api: Api<K>) -> impl Stream<Item = watcher::Result<Event<K>>> + Send
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher::watcher(api, watcher::Config::default().any_semantic()).default_backoff()
}

fn on_nodes(sinks: &Sinks, batch: Vec<Change<Node>>) {
    let mut moved = false;
    {
        let mut cache = sinks.cache();
        for change in batch {
            match change {
                Change::Upsert(node) => {
                    cache.upsert_node((*node).clone());
                    moved = true;
                }
                Change::Delete(node) => {
                    cache.remove_node(node.metadata.name.as_deref().unwrap_or_default());
                }
                Change::Resynced(all) => {
                    let present: HashSet<&str> = all
                        .iter()
                        .filter_map(|n| n.metadata.name.as_deref())
                        .collect();
                    for name in cache.node_names() {
                        if !present.contains(name.as_str()) {
                            cache.remove_node(&name);
                        }
                    }
                }
            }
        }
    }
    if moved {
        sinks.queue.move_all("NodeChange");
    }
}

fn on_pods(sinks: &Sinks, batch: Vec<Change<Pod>>) {
    let mut freed = false;
    // The highest priority of the nominations that ended or moved: pods of
    // lower or equal priority saw those pods on their nominated node.
    let mut unnominated: Option<i32> = None;
    for change in batch {
        match change {
            Change::Upsert(pod) => {
                let bound = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_some_and(|n| !n.is_empty());
                if bound {
                    sinks.queue.delete(&pod_key(&pod));
                    freed |= sinks.cache().bound_pod(pod);
                } else if pod.metadata.deletion_timestamp.is_some() || is_terminal(&pod) {
                    sinks.queue.delete(&pod_key(&pod));
                    unnominated = unnominated.max(sinks.cache().drop_nomination(&uid(&pod)));
                } else if pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.scheduler_name.as_deref())
                    .unwrap_or("default-scheduler")
                    == sinks.scheduler_name
                {
                    {
                        let mut cache = sinks.cache();
                        // A stale event of a pod this scheduler already placed.
                        if cache.knows(&uid(&pod)) {
                            continue;
                        }
                        unnominated = unnominated.max(cache.observe_pending(pod.clone()));
                    }
                    sinks.queue.add_or_update(pod);
                }
            }
            Change::Delete(pod) => {
                sinks.queue.delete(&pod_key(&pod));
                let mut cache = sinks.cache();
                let key = uid(&pod);
                unnominated = unnominated.max(cache.drop_nomination(&key));
                freed |= cache.remove_pod(&key);
            }
            // Pods deleted while the watch was down get no Delete event.
            Change::Resynced(all) => {
                let present: HashSet<String> = all.iter().map(|p| uid(p)).collect();
                freed |= sinks.cache().retain_pods(&present);
            }
        }
    }
    if freed {
        sinks.queue.move_all("AssignedPodDelete");
    } else if let Some(priority) = unnominated {
        // As upstream: only pods that had to leave room for the nominated
        // pod may fit now.
        sinks
            .queue
            .move_matching("NominatedPodDelete", |p| pod_priority(p) <= priority);
    }
}
