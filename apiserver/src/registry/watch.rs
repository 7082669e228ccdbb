//! Watches: served by the watch cache once it is ready (and has reached
//! the revision the request needs); otherwise straight from storage: the
//! synthetic initial state for `resourceVersion=0` (or none), then storage
//! events mapped to ADDED/MODIFIED/DELETED with selector transitions
//! applied, as upstream's cacher does.

use super::meta::metadata_mut;
use super::options::WatchParams;
use super::{Registry, matches_selectors, set_type_meta};
use crate::cache::CacheWatch;
use crate::codec;
use crate::status::ApiError;
use bosun_storage::{EventKind, StorageError, WatchOptions};
use bosun_types::resources::ResourceInfo;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};

/// One event of a watch response.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    /// ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
    pub kind: &'static str,
    /// The object's JSON with apiVersion and kind (a `Status` for ERROR).
    pub object: bytes::Bytes,
    /// The whole `{"type":…,"object":…}` line, when already rendered (shared
    /// by every watcher of a cached change).
    pub line: Option<bytes::Bytes>,
}

impl WatchEvent {
    /// An event for an object value.
    pub fn from_value(kind: &'static str, object: &Value) -> Self {
        Self {
            kind,
            object: bytes::Bytes::from(serde_json::to_vec(object).unwrap_or_default()),
            line: None,
        }
    }

    /// The newline-terminated JSON line for this event.
    pub fn to_line(&self) -> bytes::Bytes {
        match &self.line {
            Some(line) => line.clone(),
            None => line(self.kind, &self.object),
        }
    }
}

/// A watch line is `LINE_HEAD` + type + `LINE_MIDDLE` + object + `LINE_TAIL`.
const LINE_HEAD: &[u8] = b"{\"type\":\"";
const LINE_MIDDLE: &[u8] = b"\",\"object\":";
const LINE_TAIL: &[u8] = b"}\n";

/// The newline-terminated watch line `{"type":KIND,"object":OBJECT}`.
pub fn line(kind: &str, object: &[u8]) -> bytes::Bytes {
    let mut line = Vec::with_capacity(
        LINE_HEAD.len() + kind.len() + LINE_MIDDLE.len() + object.len() + LINE_TAIL.len(),
    );
    line.extend_from_slice(LINE_HEAD);
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(LINE_MIDDLE);
    line.extend_from_slice(object);
    line.extend_from_slice(LINE_TAIL);
    bytes::Bytes::from(line)
}

/// Where the object sits in a [`line`] of `kind` that is `len` bytes long.
pub fn object_range(kind: &str, len: usize) -> std::ops::Range<usize> {
    LINE_HEAD.len() + kind.len() + LINE_MIDDLE.len()..len - LINE_TAIL.len()
}

/// The events of one watch, ending when the watch ends.
pub type WatchStream = BoxStream<'static, WatchEvent>;

fn expired(requested: i64) -> ApiError {
    ApiError::expired(format!("too old resource version: {requested}"))
}

impl Registry {
    /// Starts a watch of `resource` (in `namespace`, or all).
    pub async fn watch(
        &self,
        resource: &'static ResourceInfo,
        namespace: Option<String>,
        params: WatchParams,
    ) -> Result<WatchStream, ApiError> {
        let requested =
            codec::parse_resource_version(params.list.resource_version.as_deref().unwrap_or(""))?;
        if let Some(cache) = self.cache.as_ref().filter(|c| c.is_ready()) {
            // As for lists, a watch from "now" or from `0` starts no earlier
            // than `cache_floor`; one from a given revision waits for it in
            // the cache's own watch.
            let fresh = match requested {
                Some(n) if n > 0 => None,
                _ => self.cache_floor(requested).await?,
            };
            let caught_up = match fresh {
                Some(target) => cache.wait_for(target).await,
                None => true,
            };
            if caught_up {
                return CacheWatch::watch(cache, resource, namespace, params).await;
            }
        }
        let initial_events = match (params.send_initial_events, requested) {
            (Some(send), _) => send,
            (None, None | Some(0)) => true,
            (None, Some(_)) => false,
        };
        let mut initial = Vec::new();
        let start = if initial_events || requested.is_none() || requested == Some(0) {
            let mut list = params.list.clone();
            list.limit = None;
            list.continue_token = None;
            list.resource_version = None;
            list.resource_version_match = None;
            let (items, revision, _) = self
                .list_items(resource, namespace.as_deref(), &list)
                .await?;
            if initial_events {
                for mut object in items {
                    set_type_meta(&mut object, resource);
                    initial.push(WatchEvent::from_value("ADDED", &object));
                }
                if params.send_initial_events == Some(true) && params.allow_bookmarks {
                    initial.push(bookmark(resource, revision, true));
                }
            }
            revision + 1
        } else {
            requested.unwrap_or(0) + 1
        };
        let options = WatchOptions {
            key: Self::prefix(resource, namespace.as_deref()),
            prefix: true,
            start_revision: Some(start),
        };
        let events = self.storage.watch(options).await.map_err(|e| match e {
            StorageError::Compacted { .. } => expired(start - 1),
            other => ApiError::from_storage(other, resource, ""),
        })?;
        let list = params.list.clone();
        let live = events
            .map(move |item| match item {
                Ok(event) => translate(resource, &list, event),
                Err(StorageError::Compacted { .. }) => Some(error_event(&expired(start - 1))),
                Err(other) => Some(error_event(&ApiError::from_storage(other, resource, ""))),
            })
            .filter_map(futures::future::ready);
        let timeout = tokio::time::sleep(params.timeout);
        Ok(futures::stream::iter(initial)
            .chain(live)
            .take_until(timeout)
            .boxed())
    }
}

/// A BOOKMARK event at `revision`.
pub fn bookmark(resource: &ResourceInfo, revision: i64, initial_events_end: bool) -> WatchEvent {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    WatchEvent::from_value(
        "BOOKMARK",
        &json!({"kind": resource.kind, "apiVersion": resource.api_version(), "metadata": metadata}),
    )
}

/// An ERROR event carrying a Status.
pub fn error_event(error: &ApiError) -> WatchEvent {
    WatchEvent::from_value("ERROR", &error.to_status())
}

/// Maps one storage event to at most one watch event, applying selector
/// transitions: an object that stops matching is DELETED for this watcher,
/// one that starts matching is ADDED.
fn translate(
    resource: &ResourceInfo,
    params: &super::options::ListParams,
    event: bosun_storage::WatchEvent,
) -> Option<WatchEvent> {
    let decode = |bytes: &[u8], revision: i64| -> Option<Value> {
        let mut object = codec::decode_as_at(resource, bytes, revision).ok()?;
        set_type_meta(&mut object, resource);
        Some(object)
    };
    let revision = event.revision();
    let previous = event
        .prev
        .as_ref()
        .and_then(|p| decode(&p.value, p.mod_revision));
    let was = previous
        .as_ref()
        .is_some_and(|p| matches_selectors(resource, p, params));
    match event.kind {
        EventKind::Put => {
            let current = decode(&event.kv.value, revision)?;
            let is = matches_selectors(resource, &current, params);
            match (was, is) {
                (true, true) => Some(WatchEvent::from_value("MODIFIED", &current)),
                (false, true) => Some(WatchEvent::from_value("ADDED", &current)),
                (true, false) => Some(WatchEvent::from_value("DELETED", &current)),
                (false, false) => None,
            }
        }
        EventKind::Delete => {
            let mut last = previous.filter(|_| was)?;
            // The DELETED object carries the deletion's revision.
            metadata_mut(&mut last).insert("resourceVersion".into(), json!(revision.to_string()));
            Some(WatchEvent::from_value("DELETED", &last))
        }
    }
}
