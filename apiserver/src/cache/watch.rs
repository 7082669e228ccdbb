//! Watches served from the cache: the initial state or the retained window,
//! then the live feed, with selector transitions, bookmarks, and catch-up for
//! watchers that fall behind.

use super::entry::{CacheEvent, Change};
use super::{WatchCache, matches, too_old};
use crate::codec;
use crate::registry::options::{ListParams, WatchParams};
use crate::registry::{WatchEvent, WatchStream, watch::bookmark, watch::error_event};
use crate::status::ApiError;
use bosun_types::resources::ResourceInfo;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// How often an idle watch that asked for bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);
/// Events buffered per watcher between its feeder task and the response.
const WATCHER_BUFFER: usize = 256;

/// Watch operations of the cache.
pub trait CacheWatch {
    /// Starts a watch of `resource` in `namespace` (or all).
    fn watch(
        &self,
        resource: &'static ResourceInfo,
        namespace: Option<String>,
        params: WatchParams,
    ) -> impl std::future::Future<Output = Result<WatchStream, ApiError>> + Send;
}

/// The watch event a change means for one watcher, if any: an object that
/// stops matching is DELETED for it, one that starts matching is ADDED.
fn translate(
    event: &CacheEvent,
    namespace: Option<&str>,
    params: &ListParams,
    resource: &ResourceInfo,
    canonical: bool,
) -> Option<WatchEvent> {
    let was = event
        .previous
        .as_ref()
        .is_some_and(|p| matches(p, namespace, params));
    let kind = match event.change {
        Change::Deleted => {
            if !was {
                return None;
            }
            "DELETED"
        }
        Change::Added | Change::Modified => match (was, matches(&event.current, namespace, params))
        {
            (true, true) => "MODIFIED",
            (false, true) => "ADDED",
            (true, false) => "DELETED",
            (false, false) => return None,
        },
    };
    if !canonical {
        // Another version of the stored kind: convert for this watcher.
        let stored = event.current.stored_as;
        let object = crate::codec::convert_cached(&event.current.json, stored, resource, true);
        return Some(WatchEvent {
            kind,
            object,
            line: None,
        });
    }
    // The line is rendered once per change; the object is a view into it.
    let (line, object) = event.line_and_object(kind, resource);
    Some(WatchEvent {
        kind,
        object,
        line: Some(line),
    })
}

impl CacheWatch for Arc<WatchCache> {
    async fn watch(
        &self,
        resource: &'static ResourceInfo,
        namespace: Option<String>,
        params: WatchParams,
    ) -> Result<WatchStream, ApiError> {
        let requested =
            codec::parse_resource_version(params.list.resource_version.as_deref().unwrap_or(""))?;
        let initial_events = match (params.send_initial_events, requested) {
            (Some(send), _) => send,
            (None, None | Some(0)) => true,
            (None, Some(_)) => false,
        };
        if let Some(rv) = requested.filter(|r| *r > 0 && !initial_events)
            && rv > self.revision()
            && !self.wait_for(rv).await
        {
            return Err(ApiError::too_large_resource_version(
                &rv.to_string(),
                self.revision(),
            ));
        }
        let segment = self
            .segment(resource)
            .ok_or_else(ApiError::path_not_found)?;
        let canonical = std::ptr::eq(segment.resource, resource);
        let list = params.list.clone();
        let ns = namespace.as_deref();
        // Under the segment's lock: the starting point and the subscription,
        // so nothing falls between the snapshot (or window) and the feed.
        let (first, feed, start) = {
            let data = segment
                .data
                .read()
                .map_err(|_| ApiError::internal("watch cache lock poisoned"))?;
            let revision = self.revision();
            let feed = data.feed.subscribe();
            if initial_events {
                let added: Vec<WatchEvent> = data
                    .objects
                    .values()
                    .filter(|e| matches(e, ns, &list))
                    .map(|e| WatchEvent {
                        kind: "ADDED",
                        object: e.with_type(resource),
                        line: None,
                    })
                    .collect();
                (added, feed, revision)
            } else {
                let from = requested.unwrap_or(revision);
                if from < data.window_start {
                    return Err(too_old(from, data.window_start));
                }
                let replay: Vec<WatchEvent> = data
                    .window
                    .iter()
                    .filter(|e| e.revision > from)
                    .filter_map(|e| translate(e, ns, &list, resource, canonical))
                    .collect();
                let last = data.window.back().map_or(from, |e| e.revision.max(from));
                (replay, feed, last)
            }
        };
        let (tx, rx) = mpsc::channel(WATCHER_BUFFER);
        let cache = self.clone();
        let end_of_initial = (params.send_initial_events == Some(true) && params.allow_bookmarks)
            .then(|| bookmark(resource, start, true));
        tokio::spawn(async move {
            let mut feeder = Feeder {
                cache,
                resource,
                canonical,
                namespace,
                list,
                tx,
                last: start,
            };
            feeder
                .run(first, end_of_initial, feed, params.allow_bookmarks)
                .await;
        });
        let timeout = tokio::time::sleep(params.timeout);
        Ok(ReceiverStream::new(rx).take_until(timeout).boxed())
    }
}

/// Moves one watcher's events from the cache to its response.
struct Feeder {
    cache: Arc<WatchCache>,
    resource: &'static ResourceInfo,
    canonical: bool,
    namespace: Option<String>,
    list: ListParams,
    tx: mpsc::Sender<WatchEvent>,
    /// The revision of the last change this watcher has been through.
    last: i64,
}

impl Feeder {
    async fn send(&self, event: WatchEvent) -> bool {
        self.tx.send(event).await.is_ok()
    }

    async fn deliver(&mut self, event: &CacheEvent) -> bool {
        if event.revision <= self.last {
            return true;
        }
        self.last = event.revision;
        match translate(
            event,
            self.namespace.as_deref(),
            &self.list,
            self.resource,
            self.canonical,
        ) {
            Some(out) => self.send(out).await,
            None => true,
        }
    }

    async fn run(
        &mut self,
        first: Vec<WatchEvent>,
        end_of_initial: Option<WatchEvent>,
        mut feed: broadcast::Receiver<Arc<CacheEvent>>,
        bookmarks: bool,
    ) {
        for event in first.into_iter().chain(end_of_initial) {
            if !self.send(event).await {
                return;
            }
        }
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + BOOKMARK_INTERVAL,
            BOOKMARK_INTERVAL,
        );
        loop {
            tokio::select! {
                received = feed.recv() => match received {
                    Ok(event) => {
                        if !self.deliver(&event).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if !self.catch_up().await {
                            return;
                        }
                    }
                    // The cache is reloading: end the watch; the client re-watches.
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick() => {
                    if bookmarks && feed.is_empty() {
                        let revision = self.cache.revision().max(self.last);
                        if !self.send(bookmark(self.resource, revision, false)).await {
                            return;
                        }
                    }
                }
                () = self.tx.closed() => return,
            }
        }
    }

    /// After falling behind the feed: replays the window past `last`, or,
    /// when the window has moved on, reports 410 so the client re-lists.
    async fn catch_up(&mut self) -> bool {
        let Some(segment) = self.cache.segment(self.resource) else {
            return false;
        };
        // Decide under the lock; act after releasing it.
        let missed: Result<Vec<Arc<CacheEvent>>, i64> = {
            let Ok(data) = segment.data.read() else {
                return false;
            };
            if self.last >= data.window_start {
                Ok(data
                    .window
                    .iter()
                    .filter(|e| e.revision > self.last)
                    .cloned()
                    .collect())
            } else {
                Err(data.window_start)
            }
        };
        let missed = match missed {
            Ok(events) => events,
            Err(oldest) => {
                let _ = self.send(error_event(&too_old(self.last, oldest))).await;
                return false;
            }
        };
        for event in missed {
            if !self.deliver(&event).await {
                return false;
            }
        }
        true
    }
}
