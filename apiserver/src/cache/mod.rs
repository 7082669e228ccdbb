//! The watch cache: one storage watch over `/registry/` feeds an in-memory
//! copy of every object plus a window of recent changes per resource; lists
//! and watches are served from it and fanned out to any number of watchers
//! without a storage watch each, as upstream's cacher does.
//!
//! Consistency: the cache applies storage events in revision order, so its
//! revision is a point in storage history. A list without `resourceVersion`
//! waits until the cache has reached storage's current revision (a consistent
//! read from cache); `resourceVersion=0` is served at once; watches from a
//! revision older than the retained window get 410 Expired.

pub mod entry;
mod watch;

use crate::registry::options::ListParams;
use crate::status::ApiError;
use bosun_storage::{EventKind, ListOptions, Storage, WatchOptions, keys};
use bosun_types::resources::{self, ResourceInfo};
use bytes::Bytes;
use entry::{CacheEvent, Change, Entry};
use futures::StreamExt;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch as tokio_watch};

pub use watch::CacheWatch;

/// Changes kept per resource for watches that resume from a revision.
const WINDOW: usize = 10_000;
/// Bytes of object versions that only the window keeps alive (the versions
/// changes replaced, and deleted objects' last states) per resource: large
/// objects written often shorten the window instead of holding up to
/// `WINDOW` old versions of them.
const WINDOW_BYTES: usize = 32 << 20;
/// Changes kept per resource whatever their size.
const MIN_WINDOW: usize = 100;
/// What an [`Entry`] costs beyond its JSON, roughly, for `WINDOW_BYTES`.
const ENTRY_OVERHEAD: usize = 256;
/// Changes a slow watcher may fall behind the live feed before it catches up
/// from the window (or, past the window, is told to re-list).
const FEED_CAPACITY: usize = 4096;
/// How long a read waits for the cache to reach the revision it needs.
const FRESHNESS_WAIT: Duration = Duration::from_secs(3);
/// Objects read per page while loading.
const LOAD_PAGE: usize = 10_000;

/// One storage prefix (`/registry/<segment>/`) and what the cache holds for it.
pub struct Segment {
    /// The resource whose objects are stored there (its storage version).
    pub resource: &'static ResourceInfo,
    prefix: Vec<u8>,
    data: RwLock<SegmentData>,
}

struct SegmentData {
    objects: BTreeMap<Box<[u8]>, Arc<Entry>>,
    /// Every change with a revision above `window_start`, oldest first.
    window: VecDeque<Arc<CacheEvent>>,
    /// What the window alone keeps alive, as [`retained_bytes`] counts it.
    window_bytes: usize,
    window_start: i64,
    feed: broadcast::Sender<Arc<CacheEvent>>,
}

impl SegmentData {
    fn new(start: i64) -> Self {
        Self {
            objects: BTreeMap::new(),
            window: VecDeque::new(),
            window_bytes: 0,
            window_start: start,
            feed: broadcast::channel(FEED_CAPACITY).0,
        }
    }
}

/// The watch cache of every resource.
pub struct WatchCache {
    storage: Arc<dyn Storage>,
    segments: Vec<Segment>,
    revision: tokio_watch::Sender<i64>,
    ready: AtomicBool,
    runner: std::sync::OnceLock<tokio::task::AbortHandle>,
}

impl std::fmt::Debug for WatchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCache")
            .field("revision", &*self.revision.borrow())
            .finish_non_exhaustive()
    }
}

/// Whether an entry passes a watcher's or list's filters.
pub fn matches(entry: &Entry, namespace: Option<&str>, params: &ListParams) -> bool {
    namespace.is_none_or(|ns| &*entry.namespace == ns)
        && (params.labels.is_empty() || params.labels.matches(&entry.labels()))
        && (params.fields.is_empty() || params.fields.matches(&entry.fields()))
}

/// An entry's JSON as `resource` (a version sharing its storage) serves it.
fn served_json(entry: &Entry, segment: &Segment, resource: &ResourceInfo) -> Bytes {
    if std::ptr::eq(segment.resource, resource) {
        entry.json.clone()
    } else {
        crate::codec::convert_cached(&entry.json, segment.resource, resource, false)
    }
}

/// A cached list: the items' JSON and the revision they reflect.
#[derive(Debug)]
pub struct CachedList {
    /// Items without apiVersion/kind, in key order.
    pub items: Vec<Bytes>,
    /// The cache revision the list reflects.
    pub revision: i64,
    /// Where the next page starts, for a paged list with more to come.
    pub continue_token: Option<String>,
}

/// Where a page of a paged list starts.
#[derive(Debug, Clone)]
pub enum PageStart {
    /// A new list: the first page, at the storage's current revision
    /// (the cache waits until it has reached `min_revision`).
    First {
        /// The revision the cache must have reached.
        min_revision: i64,
    },
    /// A continuation: from `key` (inclusive), at exactly `revision`.
    Continue {
        /// The absolute storage key to start at.
        key: Vec<u8>,
        /// The revision the first page was read at.
        revision: i64,
    },
}

impl WatchCache {
    /// Creates the cache and starts filling it in the background.
    pub fn start(storage: Arc<dyn Storage>) -> Arc<Self> {
        let mut segments: Vec<Segment> = Vec::new();
        for resource in resources::resources() {
            let Some(storage_info) = resource.storage else {
                continue;
            };
            if segments
                .iter()
                .any(|s| s.resource.storage.map(|i| i.key_prefix) == Some(storage_info.key_prefix))
            {
                continue;
            }
            // The storage version's entry describes the stored objects.
            let canonical = resources::resources()
                .iter()
                .find(|r| {
                    r.storage
                        .is_some_and(|i| i.key_prefix == storage_info.key_prefix)
                        && r.group == storage_info.group
                        && r.version == storage_info.version
                })
                .unwrap_or(resource);
            segments.push(Segment {
                resource: canonical,
                prefix: keys::resource_prefix(storage_info.key_prefix, None),
                data: RwLock::new(SegmentData::new(0)),
            });
        }
        // Longer prefixes first, so `services/specs/` wins over a shorter one.
        segments.sort_by_key(|s| std::cmp::Reverse(s.prefix.len()));
        let cache = Arc::new(Self {
            storage,
            segments,
            revision: tokio_watch::channel(0).0,
            ready: AtomicBool::new(false),
            runner: std::sync::OnceLock::new(),
        });
        let runner = cache.clone();
        let task = tokio::spawn(async move { runner.run().await });
        let _ = cache.runner.set(task.abort_handle());
        cache
    }

    /// The handle that stops the cache's background loop.
    pub fn runner(&self) -> tokio::task::AbortHandle {
        match self.runner.get() {
            Some(handle) => handle.clone(),
            // Not reachable: `start` sets it; an inert handle keeps callers simple.
            None => tokio::spawn(async {}).abort_handle(),
        }
    }

    /// Whether the cache has loaded and is following storage.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The revision the cache has applied.
    pub fn revision(&self) -> i64 {
        *self.revision.borrow()
    }

    /// Waits until the cache is ready (for start-up).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_ready() {
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    fn segment_for_key(&self, key: &[u8]) -> Option<&Segment> {
        self.segments.iter().find(|s| key.starts_with(&s.prefix))
    }

    /// The segment serving `resource`.
    pub fn segment(&self, resource: &ResourceInfo) -> Option<&Segment> {
        let prefix = resource.storage?.key_prefix;
        let wanted = keys::resource_prefix(prefix, None);
        self.segments.iter().find(|s| s.prefix == wanted)
    }

    /// Waits until the cache has applied `target` (bounded).
    pub async fn wait_for(&self, target: i64) -> bool {
        let mut rx = self.revision.subscribe();
        matches!(
            tokio::time::timeout(FRESHNESS_WAIT, rx.wait_for(|r| *r >= target)).await,
            Ok(Ok(_))
        )
    }

    /// Objects held per resource, labelled as upstream's
    /// `apiserver_storage_objects` (`pods`, `deployments.apps`).
    pub fn object_counts(&self) -> Vec<(String, usize)> {
        self.segments
            .iter()
            .filter_map(|s| {
                let count = s.data.read().ok()?.objects.len();
                Some((crate::status::qualified(s.resource), count))
            })
            .collect()
    }

    /// One cached object, if the cache holds it (it may lag storage slightly;
    /// callers treat a miss as "ask storage").
    pub fn get(&self, resource: &ResourceInfo, key: &[u8]) -> Option<Arc<Entry>> {
        if !self.is_ready() {
            return None;
        }
        let segment = self.segment(resource)?;
        let data = segment.data.read().ok()?;
        data.objects.get(key).cloned()
    }

    /// Serves a list from memory, or `None` when the cache cannot (not ready,
    /// or not fresh enough in time) and storage should answer instead.
    pub async fn list(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        params: &ListParams,
        min_revision: Option<i64>,
    ) -> Option<CachedList> {
        if !self.is_ready() {
            return None;
        }
        if let Some(target) = min_revision
            && !self.wait_for(target).await
        {
            return None;
        }
        let segment = self.segment(resource)?;
        let data = segment.data.read().ok()?;
        let revision = self.revision();
        let items = data
            .objects
            .values()
            .filter(|e| matches(e, namespace, params))
            .map(|e| served_json(e, segment, resource))
            .collect();
        Some(CachedList {
            items,
            revision,
            continue_token: None,
        })
    }

    /// Serves one page of a paged list (`limit`, `continue`) from memory,
    /// or `None` when storage must answer. A page can be served only at the
    /// revision the list started at: a continuation is served here while
    /// nothing under the resource's prefix has changed since, and goes to
    /// storage (which reads at that revision) otherwise. Tokens are the
    /// storage's own, so a list may move between the two page by page.
    pub async fn list_page(
        &self,
        resource: &ResourceInfo,
        prefix: &[u8],
        namespace: Option<&str>,
        params: &ListParams,
        limit: usize,
        start: PageStart,
    ) -> Option<CachedList> {
        if !self.is_ready() {
            return None;
        }
        let wait = match &start {
            PageStart::First { min_revision } => *min_revision,
            PageStart::Continue { revision, .. } => *revision,
        };
        if !self.wait_for(wait).await {
            return None;
        }
        let segment = self.segment(resource)?;
        let data = segment.data.read().ok()?;
        let last_change = data.window.back().map_or(data.window_start, |e| e.revision);
        // The segment holds every change up to its last one; changes to
        // other resources since do not alter it.
        let (from, revision) = match start {
            PageStart::First { .. } => (prefix.to_vec(), self.revision().max(last_change)),
            PageStart::Continue { key, revision } => {
                if last_change > revision {
                    return None;
                }
                (key, revision)
            }
        };
        let end = bosun_storage::prefix_end(prefix);
        if from.as_slice() >= end.as_slice() {
            return None;
        }
        let mut range = data
            .objects
            .range::<[u8], _>((
                std::ops::Bound::Included(from.as_slice()),
                std::ops::Bound::Excluded(end.as_slice()),
            ))
            .peekable();
        let mut items = Vec::new();
        let mut last_key: Option<&[u8]> = None;
        while items.len() < limit {
            let Some((key, entry)) = range.next() else {
                break;
            };
            last_key = Some(key);
            if matches(entry, namespace, params) {
                items.push(served_json(entry, segment, resource));
            }
        }
        let continue_token = match (range.peek(), last_key) {
            (Some(_), Some(last)) => Some(bosun_storage::encode_continue(prefix, last, revision)),
            _ => None,
        };
        Some(CachedList {
            items,
            revision,
            continue_token,
        })
    }

    /// Loads everything, then follows storage; reloads after a broken watch.
    async fn run(self: Arc<Self>) {
        loop {
            match self.load().await {
                Ok(revision) => {
                    self.ready.store(true, Ordering::Release);
                    tracing::info!(revision, "watch cache ready");
                    self.follow(revision).await;
                    self.ready.store(false, Ordering::Release);
                }
                Err(err) => tracing::warn!(error = %err, "watch cache load failed"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Reads every object at one revision and replaces the cached state.
    /// Watchers of the previous state are cut off (they re-watch).
    async fn load(&self) -> Result<i64, bosun_storage::StorageError> {
        let mut fresh: Vec<BTreeMap<Box<[u8]>, Arc<Entry>>> =
            self.segments.iter().map(|_| BTreeMap::new()).collect();
        let mut token = None;
        let mut revision = None;
        loop {
            let page = self
                .storage
                .list(ListOptions {
                    prefix: keys::ROOT.as_bytes().to_vec(),
                    limit: Some(LOAD_PAGE),
                    continue_token: token.take(),
                    revision: None,
                })
                .await?;
            revision.get_or_insert(page.revision);
            for kv in &page.kvs {
                if let Some(index) = self
                    .segments
                    .iter()
                    .position(|s| kv.key.starts_with(&s.prefix))
                {
                    let resource = self.segments[index].resource;
                    match Entry::new(resource, &kv.key, &kv.value, kv.mod_revision) {
                        Some(entry) => {
                            fresh[index].insert(kv.key.clone().into_boxed_slice(), Arc::new(entry));
                        }
                        None => {
                            tracing::warn!(key = %String::from_utf8_lossy(&kv.key), "skipping undecodable object")
                        }
                    }
                }
            }
            match page.continue_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let revision = revision.unwrap_or(0);
        for (segment, objects) in self.segments.iter().zip(fresh) {
            if let Ok(mut data) = segment.data.write() {
                *data = SegmentData::new(revision);
                data.objects = objects;
            }
        }
        self.revision.send_replace(revision);
        Ok(revision)
    }

    /// Applies storage events from `revision + 1` until the watch breaks.
    async fn follow(&self, revision: i64) {
        let options = WatchOptions {
            key: keys::ROOT.as_bytes().to_vec(),
            prefix: true,
            start_revision: Some(revision + 1),
        };
        let mut events = match self.storage.watch(options).await {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(error = %err, "watch cache could not watch storage");
                return;
            }
        };
        while let Some(item) = events.next().await {
            match item {
                Ok(event) => self.apply(event),
                Err(err) => {
                    tracing::warn!(error = %err, "watch cache lost its storage watch; reloading");
                    return;
                }
            }
        }
    }

    fn apply(&self, event: bosun_storage::WatchEvent) {
        let revision = event.revision();
        if let Some(segment) = self.segment_for_key(&event.kv.key)
            && let Ok(mut data) = segment.data.write()
        {
            let key: Box<[u8]> = event.kv.key.clone().into_boxed_slice();
            let change = match event.kind {
                EventKind::Put => {
                    match Entry::new(segment.resource, &key, &event.kv.value, revision) {
                        Some(entry) => {
                            let entry = Arc::new(entry);
                            let previous = data.objects.insert(key, entry.clone());
                            let change = if previous.is_some() {
                                Change::Modified
                            } else {
                                Change::Added
                            };
                            Some(CacheEvent::new(revision, change, entry, previous))
                        }
                        None => None,
                    }
                }
                EventKind::Delete => data.objects.remove(&key).map(|previous| {
                    let mut last: serde_json::Value =
                        serde_json::from_slice(&previous.json).unwrap_or_default();
                    crate::registry::meta::metadata_mut(&mut last).insert(
                        "resourceVersion".into(),
                        serde_json::json!(revision.to_string()),
                    );
                    let gone = Entry::from_value(segment.resource, &key, &mut last, revision);
                    CacheEvent::new(revision, Change::Deleted, Arc::new(gone), Some(previous))
                }),
            };
            if let Some(change) = change {
                let change = Arc::new(change);
                data.window_bytes += retained_bytes(&change);
                data.window.push_back(change.clone());
                while data.window.len() > WINDOW
                    || (data.window_bytes > WINDOW_BYTES && data.window.len() > MIN_WINDOW)
                {
                    if let Some(dropped) = data.window.pop_front() {
                        data.window_bytes =
                            data.window_bytes.saturating_sub(retained_bytes(&dropped));
                        data.window_start = dropped.revision;
                    }
                }
                // No receivers is fine.
                let _ = data.feed.send(change);
            }
            // Advanced under the segment's lock, so a reader holding it
            // sees a revision covering everything applied to the segment.
            self.revision.send_replace(revision);
            return;
        }
        self.revision.send_replace(revision);
    }
}

/// The memory a change in the window keeps alive that the cached objects do
/// not: the version it replaced (held by no one else once the change before
/// it left the window), and for a delete the object's last state.
fn retained_bytes(change: &CacheEvent) -> usize {
    let replaced = change
        .previous
        .as_ref()
        .map_or(0, |p| p.json.len() + ENTRY_OVERHEAD);
    let gone = if change.change == Change::Deleted {
        change.current.json.len() + ENTRY_OVERHEAD
    } else {
        0
    };
    replaced + gone
}

/// 410 Expired for a watch from a revision older than the retained window
/// (the client re-lists), worded as upstream's cacher.
pub fn too_old(requested: i64, oldest: i64) -> ApiError {
    ApiError::expired(format!("too old resource version: {requested} ({oldest})"))
}
