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
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often an idle watch that asked for bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

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
        let end_of_initial = (params.send_initial_events == Some(true) && params.allow_bookmarks)
            .then(|| bookmark(resource, start, true));
        let mut pending: VecDeque<WatchEvent> = first.into();
        pending.extend(end_of_initial);
        let feeder = Feeder {
            cache: self.clone(),
            resource,
            canonical,
            namespace,
            list,
            last: start,
            pending,
            feed,
            bookmarks: params.allow_bookmarks,
            ticker: tokio::time::interval_at(
                tokio::time::Instant::now() + BOOKMARK_INTERVAL,
                BOOKMARK_INTERVAL,
            ),
            ended: false,
        };
        // The watcher's response pulls straight from the cache's feed: no
        // task or channel of its own between the two.
        let events = futures::stream::unfold(feeder, |mut feeder| async move {
            let event = feeder.next().await?;
            Some((event, feeder))
        });
        let timeout = tokio::time::sleep(params.timeout);
        Ok(events.take_until(timeout).boxed())
    }
}

/// One watcher's events, pulled from the cache by its response.
struct Feeder {
    cache: Arc<WatchCache>,
    resource: &'static ResourceInfo,
    canonical: bool,
    namespace: Option<String>,
    list: ListParams,
    /// The revision of the last change this watcher has been through.
    last: i64,
    /// Events to send before reading the feed again (the initial state or
    /// replayed window, a catch-up, a final error).
    pending: VecDeque<WatchEvent>,
    feed: broadcast::Receiver<Arc<CacheEvent>>,
    bookmarks: bool,
    ticker: tokio::time::Interval,
    /// Set once the watch must end after `pending` is sent.
    ended: bool,
}

impl Feeder {
    /// The watch event a change means for this watcher, if any (changes it
    /// has already been through mean none).
    fn deliver(&mut self, event: &CacheEvent) -> Option<WatchEvent> {
        if event.revision <= self.last {
            return None;
        }
        self.last = event.revision;
        translate(
            event,
            self.namespace.as_deref(),
            &self.list,
            self.resource,
            self.canonical,
        )
    }

    /// The next event of the watch; `None` ends it.
    async fn next(&mut self) -> Option<WatchEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            tokio::select! {
                received = self.feed.recv() => match received {
                    Ok(event) => {
                        if let Some(out) = self.deliver(&event) {
                            return Some(out);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up(),
                    // The cache is reloading: end the watch; the client re-watches.
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.ticker.tick() => {
                    if self.bookmarks && self.feed.is_empty() {
                        let revision = self.cache.revision().max(self.last);
                        return Some(bookmark(self.resource, revision, false));
                    }
                }
            }
        }
    }

    /// After falling behind the feed: queues the window past `last`, or,
    /// when the window has moved on, a 410 that ends the watch so the
    /// client re-lists.
    fn catch_up(&mut self) {
        let Some(segment) = self.cache.segment(self.resource) else {
            self.ended = true;
            return;
        };
        let missed: Result<Vec<Arc<CacheEvent>>, i64> = {
            let Ok(data) = segment.data.read() else {
                self.ended = true;
                return;
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
        match missed {
            Ok(events) => {
                for event in events {
                    if let Some(out) = self.deliver(&event) {
                        self.pending.push_back(out);
                    }
                }
            }
            Err(oldest) => {
                self.pending
                    .push_back(error_event(&too_old(self.last, oldest)));
                self.ended = true;
            }
        }
    }
}
