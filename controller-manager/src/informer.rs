//! Shared informers: one watch per kind for the whole process, a cache
//! (`kube-runtime` reflector store) every controller reads, and a fan-out
//! of every changed or deleted object to the controllers that subscribed,
//! which map it to the keys they reconcile (`Controller::reconcile_on`).
//!
//! (kube-runtime's own shared streams drop deletions; controllers need
//! them, e.g. a ReplicaSet must see its pod go.)
//!
//! Each informer also indexes its objects by controller (upstream's
//! controller-uid index), so a controller reads the pods it owns and the
//! orphans it may adopt without scanning every pod in the cluster.

use crate::workload::ownership::controller_of;
use futures::StreamExt;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// One kind's watch, cache and subscribers.
pub struct Informer<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    store: Store<K>,
    index: Arc<Mutex<ControllerIndex>>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Change<K>>>>,
    /// Set once the first full list is in the cache (see [`Informer::ready`]).
    ready: tokio::sync::watch::Sender<bool>,
}

impl<K> Informer<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// Starts watching `api` (with `config`) in the background.
    pub fn start(api: Api<K>, config: watcher::Config) -> Arc<Self> {
        let (store, writer) = reflector::store();
        let index = Arc::new(Mutex::new(ControllerIndex::default()));
        let informer = Arc::new(Self {
            store,
            index: index.clone(),
            subscribers: Mutex::new(Vec::new()),
            ready: tokio::sync::watch::channel(false).0,
        });
        let weak = Arc::downgrade(&informer);
        tokio::spawn(async move {
            // The index is updated before the store, so that it always
            // names at least what the store holds.
            let watch = watcher(api, config)
                .default_backoff()
                .inspect(move |event| {
                    if let Ok(event) = event {
                        index.lock().unwrap_or_else(|e| e.into_inner()).apply(event);
                    }
                });
            let mut events = reflector::reflector(writer, watch).boxed();
            while let Some(event) = events.next().await {
                let Some(informer) = weak.upgrade() else {
                    return;
                };
                if matches!(event, Ok(Event::InitDone)) {
                    informer.ready.send_replace(true);
                }
                let change = match event {
                    Ok(Event::Apply(o) | Event::InitApply(o)) => Change::Applied(Arc::new(o)),
                    Ok(Event::Delete(o)) => Change::Deleted(Arc::new(o)),
                    Ok(Event::Init | Event::InitDone) => continue,
                    Err(error) => {
                        tracing::debug!(%error, kind = %K::kind(&()), "watch error");
                        continue;
                    }
                };
                let mut subscribers = informer
                    .subscribers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                subscribers.retain(|tx| tx.send(change.clone()).is_ok());
            }
        });
        informer
    }

    /// The cache.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// The cached objects in `namespace` whose controller has `uid`, and
    /// the ones there with no controller (the candidates for adoption), as
    /// a scan of the whole cache would find them.
    pub fn controlled_or_orphaned(&self, uid: &str, namespace: &str) -> Vec<Arc<K>> {
        let keys: Vec<(String, String)> = {
            let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
            [uid.to_owned(), orphan_key(namespace)]
                .iter()
                .filter_map(|k| index.by_key.get(k))
                .flatten()
                .cloned()
                .collect()
        };
        keys.into_iter()
            .filter_map(|(ns, name)| self.store.get(&ObjectRef::new(&name).within(&ns)))
            .filter(|o| o.namespace().as_deref() == Some(namespace))
            .filter(|o| match controller_uid(o.as_ref()) {
                Some(owner) => owner == uid,
                None => true,
            })
            .collect()
    }

    /// Completes once the cache holds a full list. Safe for any number of
    /// concurrent waiters, unlike `Store::wait_until_ready`, whose future
    /// only wakes the task that polled it last (the others wait forever).
    pub async fn ready(&self) {
        let mut rx = self.ready.subscribe();
        let _ = rx.wait_for(|ready| *ready).await;
    }

    /// Every object changed or deleted from now on.
    pub fn subscribe(&self) -> impl futures::Stream<Item = Arc<K>> + Send + 'static {
        self.changes().map(Change::into_object)
    }

    /// Every change from now on, telling deletions apart.
    pub fn changes(&self) -> impl futures::Stream<Item = Change<K>> + Send + 'static {
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    /// Every object in the cache now, then every change from then on (an
    /// object changed meanwhile may come twice; the later one is current).
    pub fn snapshot_and_changes(&self) -> impl futures::Stream<Item = Change<K>> + Send + 'static {
        let changes = self.changes();
        let now: Vec<Change<K>> = self
            .store
            .state()
            .into_iter()
            .map(Change::Applied)
            .collect();
        futures::stream::iter(now).chain(changes)
    }
}

/// One change an informer saw.
#[derive(Debug, Clone)]
pub enum Change<K> {
    /// Created or updated (or listed).
    Applied(Arc<K>),
    /// Deleted, as last seen.
    Deleted(Arc<K>),
}

impl<K> Change<K> {
    /// The object, however it changed.
    pub fn into_object(self) -> Arc<K> {
        match self {
            Self::Applied(o) | Self::Deleted(o) => o,
        }
    }
}

fn watcher<K>(
    api: Api<K>,
    config: watcher::Config,
) -> impl futures::Stream<Item = watcher::Result<Event<K>>> + Send
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher::watcher(api, config)
}

/// Object keys (namespace, name) by controller: the controller's uid, or
/// [`orphan_key`] of the namespace for objects without one. It may name
/// objects the store no longer holds (readers look each up), never fewer.
#[derive(Default)]
struct ControllerIndex {
    by_key: HashMap<String, HashSet<(String, String)>>,
    key_of: HashMap<(String, String), String>,
    /// Filled during a re-list; replaces the index when the list is done,
    /// dropping objects deleted while the watch was down.
    relisting: Option<Box<ControllerIndex>>,
}

impl ControllerIndex {
    fn apply<K: kube::Resource>(&mut self, event: &Event<K>) {
        match event {
            Event::Init => self.relisting = Some(Box::default()),
            Event::InitApply(object) => {
                if let Some(next) = self.relisting.as_mut() {
                    next.insert(object);
                }
                self.insert(object);
            }
            Event::InitDone => {
                if let Some(next) = self.relisting.take() {
                    *self = *next;
                }
            }
            Event::Apply(object) => self.insert(object),
            Event::Delete(object) => {
                let key = object_key(object);
                if let Some(old) = self.key_of.remove(&key) {
                    self.remove_from(&old, &key);
                }
            }
        }
    }

    fn insert<K: kube::Resource>(&mut self, object: &K) {
        let key = object_key(object);
        let wanted = match controller_uid(object) {
            Some(uid) => uid.to_owned(),
            None => orphan_key(&key.0),
        };
        if let Some(old) = self.key_of.get(&key) {
            if *old == wanted {
                return;
            }
            let old = old.clone();
            self.remove_from(&old, &key);
        }
        self.by_key
            .entry(wanted.clone())
            .or_default()
            .insert(key.clone());
        self.key_of.insert(key, wanted);
    }

    fn remove_from(&mut self, index_key: &str, key: &(String, String)) {
        if let Some(set) = self.by_key.get_mut(index_key) {
            set.remove(key);
            if set.is_empty() {
                self.by_key.remove(index_key);
            }
        }
    }
}

fn object_key<K: kube::Resource>(object: &K) -> (String, String) {
    let meta = object.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// The index key of a namespace's objects without a controller (uids
/// never contain `/`).
fn orphan_key(namespace: &str) -> String {
    format!("orphan/{namespace}")
}

/// The uid of an object's controller.
fn controller_uid<K: kube::Resource>(object: &K) -> Option<&str> {
    controller_of(object.meta()).map(|r| r.uid.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    fn pod(name: &str, controller: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                owner_references: controller.map(|uid| {
                    vec![OwnerReference {
                        uid: uid.into(),
                        controller: Some(true),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn names(index: &ControllerIndex, key: &str) -> Vec<String> {
        let mut names: Vec<String> = index
            .by_key
            .get(key)
            .map(|s| s.iter().map(|(_, n)| n.clone()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn objects_move_between_controllers_and_relists_drop_the_missed_deletes() {
        let mut index = ControllerIndex::default();
        index.apply(&Event::Apply(pod("a", None)));
        index.apply(&Event::Apply(pod("b", Some("rs-1"))));
        assert_eq!(names(&index, "orphan/ns"), ["a"]);
        assert_eq!(names(&index, "rs-1"), ["b"]);
        // Adopted, then released.
        index.apply(&Event::Apply(pod("a", Some("rs-1"))));
        assert_eq!(names(&index, "rs-1"), ["a", "b"]);
        assert!(names(&index, "orphan/ns").is_empty());
        index.apply(&Event::Apply(pod("b", None)));
        assert_eq!(names(&index, "orphan/ns"), ["b"]);
        index.apply(&Event::Delete(pod("b", None)));
        assert!(names(&index, "orphan/ns").is_empty());
        // A re-list that no longer has "a": it is gone once the list is done,
        // and named until then.
        index.apply(&Event::<Pod>::Init);
        index.apply(&Event::InitApply(pod("c", Some("rs-2"))));
        assert_eq!(names(&index, "rs-1"), ["a"]);
        index.apply(&Event::<Pod>::InitDone);
        assert!(names(&index, "rs-1").is_empty());
        assert_eq!(names(&index, "rs-2"), ["c"]);
    }
}
