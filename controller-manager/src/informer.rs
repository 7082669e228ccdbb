//! Shared informers: one watch per kind for the whole process, a cache
//! (`kube-runtime` reflector store) every controller reads, and a fan-out
//! of every changed or deleted object to the controllers that subscribed,
//! which map it to the keys they reconcile (`Controller::reconcile_on`).
//!
//! (kube-runtime's own shared streams drop deletions; controllers need
//! them, e.g. a ReplicaSet must see its pod go.)

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// One kind's watch, cache and subscribers.
pub struct Informer<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    store: Store<K>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Arc<K>>>>,
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
        let informer = Arc::new(Self {
            store,
            subscribers: Mutex::new(Vec::new()),
            ready: tokio::sync::watch::channel(false).0,
        });
        let weak = Arc::downgrade(&informer);
        tokio::spawn(async move {
            let mut events =
                reflector::reflector(writer, watcher(api, config).default_backoff()).boxed();
            while let Some(event) = events.next().await {
                let Some(informer) = weak.upgrade() else {
                    return;
                };
                if matches!(event, Ok(Event::InitDone)) {
                    informer.ready.send_replace(true);
                }
                let object = match event {
                    Ok(Event::Apply(o) | Event::InitApply(o) | Event::Delete(o)) => Arc::new(o),
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
                subscribers.retain(|tx| tx.send(object.clone()).is_ok());
            }
        });
        informer
    }

    /// The cache.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
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
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
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
