//! How long keys wait in a controller's work queue before their reconcile
//! starts (`workqueue_queue_duration_seconds`), kept the way client-go's
//! workqueue keeps it: a key's first trigger while it waits stamps it,
//! the start of its reconcile takes the stamp off and observes the wait;
//! a trigger during the reconcile stamps it for the next one.
//!
//! kube-runtime's `Controller` keeps its queue to itself, so the stamps
//! are taken where triggers enter it: the controller's own watch
//! ([`Queue::controller`], [`Queue::controller_for_shared_stream`]), the
//! streams given to `reconcile_on` ([`Queue::triggers`]) and `watches`
//! mappers ([`Queue::mapper`]); the wait is observed by
//! [`Metrics::measure`](crate::metrics::Metrics::measure), which every
//! reconcile runs in. Keys whose object is gone by the time their turn
//! comes are never reconciled; [`Queue::finished`] drops their stamps from
//! the controller's result stream. Time-driven requeues (`Action::requeue`,
//! error backoff) are not stamped: kube-runtime does not expose their
//! delay, and client-go, too, counts a delayed key as queued only once its
//! delay is over.

use futures::{Stream, StreamExt, TryStreamExt};
use kube::Resource;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller, Error as ControllerError};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The key of an object in the stamps (its `ObjectRef` as text: kind,
/// version, group, name, namespace).
pub fn object_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    ObjectRef::from_obj(object).to_string()
}

/// When each waiting key was queued, per controller name; cheap to clone,
/// shared by every controller of the process.
#[derive(Debug, Clone, Default)]
pub struct QueueTimes(Arc<Mutex<HashMap<String, HashMap<String, Instant>>>>);

impl QueueTimes {
    /// `key` of `controller` was queued at `at` (the earliest stamp wins:
    /// a waiting key is queued once).
    pub fn added(&self, controller: &str, key: &str, at: Instant) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let keys = map.entry(controller.to_owned()).or_default();
        match keys.get_mut(key) {
            Some(stamp) => *stamp = (*stamp).min(at),
            None => {
                keys.insert(key.to_owned(), at);
            }
        }
    }

    /// The reconcile of `key` starts at `at`: how long it waited, if it
    /// was stamped. The stamp goes.
    pub fn started(&self, controller: &str, key: &str, at: Instant) -> Option<Duration> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = map.get_mut(controller)?.remove(key)?;
        Some(at.saturating_duration_since(stamp))
    }

    /// Drops the stamp of `key`, which will not be reconciled.
    pub fn forget(&self, controller: &str, key: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(keys) = map.get_mut(controller) {
            keys.remove(key);
        }
    }

    /// Keys of `controller` waiting.
    pub fn waiting(&self, controller: &str) -> usize {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(controller).map_or(0, HashMap::len)
    }
}

/// One controller's side of [`QueueTimes`]: stamps what enters its queue.
#[derive(Debug, Clone)]
pub struct Queue {
    name: &'static str,
    times: QueueTimes,
}

impl Queue {
    /// The queue of controller `name` (the metrics' `name` label).
    pub fn new(name: &'static str, times: QueueTimes) -> Self {
        Self { name, times }
    }

    /// The controller's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Stamps `key` as queued now.
    pub fn add(&self, key: &str) {
        self.times.added(self.name, key, Instant::now());
    }

    fn add_ref<K: Resource<DynamicType = ()>>(&self, object: &ObjectRef<K>) {
        self.add(&object.to_string());
    }

    /// `Controller::new(api, config)` whose watch events are stamped.
    pub fn controller<K>(&self, api: Api<K>, config: watcher::Config) -> Controller<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let (reader, writer) = reflector::store();
        let queue = self.clone();
        let objects = reflector::reflector(writer, watcher::watcher(api, config))
            .applied_objects()
            .inspect_ok(move |object| queue.add(&object_key(object)));
        Controller::for_stream(objects, reader)
    }

    /// `Controller::for_shared_stream(objects, store)` whose objects are
    /// stamped.
    pub fn controller_for_shared_stream<K>(
        &self,
        objects: impl Stream<Item = Arc<K>> + Send + 'static,
        store: Store<K>,
    ) -> Controller<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let queue = self.clone();
        let objects = objects.inspect(move |object| queue.add(&object_key(object.as_ref())));
        Controller::for_shared_stream(objects, store)
    }

    /// `triggers` for `reconcile_on`, stamped.
    pub fn triggers<K>(
        &self,
        triggers: impl Stream<Item = ObjectRef<K>> + Send + 'static,
    ) -> impl Stream<Item = ObjectRef<K>> + Send + 'static
    where
        K: Resource<DynamicType = ()> + 'static,
    {
        let queue = self.clone();
        triggers.inspect(move |object| queue.add_ref(object))
    }

    /// A `watches` mapper whose keys are stamped.
    pub fn mapper<T, K, I>(
        &self,
        mapper: impl Fn(T) -> I + Send + Sync + 'static,
    ) -> impl Fn(T) -> Vec<ObjectRef<K>> + Send + Sync + 'static
    where
        K: Resource<DynamicType = ()> + 'static,
        I: IntoIterator<Item = ObjectRef<K>>,
    {
        let queue = self.clone();
        move |object| {
            let keys: Vec<ObjectRef<K>> = mapper(object).into_iter().collect();
            for key in &keys {
                queue.add_ref(key);
            }
            keys
        }
    }

    /// Looks at one result of `Controller::run`: a key whose object was
    /// gone was not reconciled, so its stamp goes.
    pub fn finished<K, E, Q>(&self, result: &Result<(ObjectRef<K>, Action), ControllerError<E, Q>>)
    where
        K: Resource<DynamicType = ()>,
    {
        if let Err(ControllerError::ObjectNotFound(object)) = result {
            self.times.forget(self.name, &object.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::ObjectMeta;

    fn rs(namespace: &str, name: &str) -> ReplicaSet {
        ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_waiting_key_keeps_its_first_stamp_until_its_reconcile_starts() {
        let times = QueueTimes::default();
        let t0 = Instant::now();
        times.added("rs", "a", t0 + Duration::from_secs(1));
        times.added("rs", "a", t0);
        times.added("rs", "a", t0 + Duration::from_secs(2));
        assert_eq!(times.waiting("rs"), 1);
        let waited = times.started("rs", "a", t0 + Duration::from_secs(3));
        assert_eq!(waited, Some(Duration::from_secs(3)));
        assert_eq!(times.started("rs", "a", t0 + Duration::from_secs(4)), None);
        assert_eq!(times.waiting("rs"), 0);
    }

    #[test]
    fn controllers_and_keys_are_kept_apart() {
        let times = QueueTimes::default();
        let t0 = Instant::now();
        times.added("rs", "a", t0);
        times.added("deploy", "a", t0);
        times.added("rs", "b", t0);
        times.forget("rs", "b");
        assert_eq!(times.waiting("rs"), 1);
        assert_eq!(times.waiting("deploy"), 1);
        assert_eq!(times.started("rs", "b", t0), None);
        assert_eq!(times.waiting("nobody"), 0);
        // A start before the stamp (clock races) waits zero, not forever.
        times.added("rs", "c", t0 + Duration::from_secs(1));
        assert_eq!(times.started("rs", "c", t0), Some(Duration::ZERO));
    }

    #[test]
    fn object_keys_match_the_keys_of_their_triggers() {
        let object = rs("ns", "web");
        let key = object_key(&object);
        assert_eq!(
            key,
            ObjectRef::<ReplicaSet>::new("web").within("ns").to_string()
        );
        assert_ne!(key, object_key(&rs("other", "web")));
        let erased = ObjectRef::from_obj(&object).erase().to_string();
        assert_eq!(erased, key, "gone objects come back erased");
    }

    #[tokio::test]
    async fn triggers_and_mapped_keys_are_stamped_as_they_pass() {
        let times = QueueTimes::default();
        let queue = Queue::new("rs", times.clone());
        let refs = vec![
            ObjectRef::<ReplicaSet>::new("a").within("ns"),
            ObjectRef::<ReplicaSet>::new("b").within("ns"),
        ];
        let passed: Vec<_> = queue
            .triggers(futures::stream::iter(refs.clone()))
            .collect()
            .await;
        assert_eq!(passed, refs);
        assert_eq!(times.waiting("rs"), 2);
        let mapper = queue.mapper(|ns: Namespace| {
            ns.metadata
                .name
                .map(|n| ObjectRef::<ReplicaSet>::new("c").within(&n))
        });
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some("ns".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(mapper(namespace).len(), 1);
        assert_eq!(times.waiting("rs"), 3);
        assert_eq!(queue.name(), "rs");
    }

    #[tokio::test]
    async fn shared_stream_objects_are_stamped() {
        let times = QueueTimes::default();
        let queue = Queue::new("rs", times.clone());
        let (store, mut writer) = reflector::store::<ReplicaSet>();
        let object = rs("ns", "a");
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitApply(object.clone()));
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let controller = queue.controller_for_shared_stream(
            // Never ends: an ended trigger stream shuts the controller down.
            futures::stream::iter(vec![Arc::new(object.clone())]).chain(futures::stream::pending()),
            store,
        );
        let reconciled = Arc::new(Mutex::new(Vec::new()));
        let seen = reconciled.clone();
        let stamps = times.clone();
        controller
            .run(
                move |object: Arc<ReplicaSet>, _ctx: Arc<()>| {
                    let waited = stamps.started("rs", &object_key(object.as_ref()), Instant::now());
                    seen.lock().unwrap_or_else(|e| e.into_inner()).push(waited);
                    async { Ok::<_, kube::Error>(Action::await_change()) }
                },
                |_, _, _| Action::await_change(),
                Arc::new(()),
            )
            .take(1)
            .for_each(|_| async {})
            .await;
        let reconciled = reconciled.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(reconciled.len(), 1);
        assert!(reconciled[0].is_some(), "the watch event stamped the key");
        assert_eq!(times.waiting("rs"), 0);
    }

    #[tokio::test]
    async fn keys_of_vanished_objects_are_forgotten() {
        let times = QueueTimes::default();
        let queue = Queue::new("rs", times.clone());
        let (store, mut writer) = reflector::store::<ReplicaSet>();
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let gone = ObjectRef::<ReplicaSet>::new("gone").within("ns");
        let triggers = futures::stream::iter(vec![gone]).chain(futures::stream::pending());
        let results: Vec<_> = Controller::for_shared_stream(futures::stream::pending(), store)
            .reconcile_on(queue.triggers(triggers))
            .run(
                |_: Arc<ReplicaSet>, _: Arc<()>| async {
                    Ok::<_, kube::Error>(Action::await_change())
                },
                |_, _, _| Action::await_change(),
                Arc::new(()),
            )
            .take(1)
            .collect()
            .await;
        assert_eq!(times.waiting("rs"), 1);
        for result in &results {
            queue.finished(result);
        }
        assert!(matches!(
            results.first(),
            Some(Err(ControllerError::ObjectNotFound(_)))
        ));
        assert_eq!(times.waiting("rs"), 0);
    }
}
