//! The newest revision this apiserver has written, tracked by wrapping the
//! storage the registry writes through.
//!
//! Lists with `resourceVersion=0` may be served from the watch cache at any
//! revision (upstream's semantics), and clients rely on that: client-go's
//! reflectors, so kubectl's `rollout status` and `wait`, start with such a
//! list. The cache follows storage through a watch and can trail a write
//! that was just acknowledged; a `rollout status` started right after
//! `rollout undo` could then see the deployment as it was before and report
//! the old rollout finished. Waiting (briefly, only when it trails) until the
//! cache has applied this apiserver's own latest write keeps such reads from
//! going back in time for everyone talking to this apiserver, at no storage
//! round trip.

use async_trait::async_trait;
use bosun_storage::{KeyValue, ListOptions, ListPage, Result, Storage, WatchOptions, WatchStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Storage that remembers the newest revision written through it.
pub struct WriteTracking {
    inner: Arc<dyn Storage>,
    written: AtomicI64,
}

impl WriteTracking {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        Self {
            inner,
            written: AtomicI64::new(0),
        }
    }

    /// The newest revision written through this storage (0 before any).
    pub fn written(&self) -> i64 {
        self.written.load(Ordering::Acquire)
    }

    fn note(&self, revision: i64) -> i64 {
        self.written.fetch_max(revision, Ordering::AcqRel);
        revision
    }
}

#[async_trait]
impl Storage for WriteTracking {
    async fn create(&self, key: &[u8], value: Vec<u8>) -> Result<i64> {
        self.inner.create(key, value).await.map(|r| self.note(r))
    }

    async fn get(&self, key: &[u8]) -> Result<KeyValue> {
        self.inner.get(key).await
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage> {
        self.inner.list(options).await
    }

    async fn update(&self, key: &[u8], value: Vec<u8>, expected_mod_revision: i64) -> Result<i64> {
        self.inner
            .update(key, value, expected_mod_revision)
            .await
            .map(|r| self.note(r))
    }

    async fn delete(
        &self,
        key: &[u8],
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue)> {
        self.inner
            .delete(key, expected_mod_revision)
            .await
            .map(|(r, kv)| (self.note(r), kv))
    }

    async fn watch(&self, options: WatchOptions) -> Result<WatchStream> {
        self.inner.watch(options).await
    }

    async fn current_revision(&self) -> Result<i64> {
        self.inner.current_revision().await
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.inner.compact(revision).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn remembers_the_newest_write() {
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn Storage> =
            Arc::new(bosun_storage::EmbeddedStore::open(dir.path()).expect("open"));
        let tracked = WriteTracking::new(store);
        assert_eq!(tracked.written(), 0);
        let created = tracked
            .create(b"/registry/a", b"1".to_vec())
            .await
            .expect("create");
        assert_eq!(tracked.written(), created);
        let updated = tracked
            .update(b"/registry/a", b"2".to_vec(), created)
            .await
            .expect("update");
        assert!(updated > created);
        let (deleted, _) = tracked.delete(b"/registry/a", None).await.expect("delete");
        assert_eq!(tracked.written(), deleted);
        let _ = tracked.get(b"/registry/a").await;
        assert_eq!(tracked.written(), deleted);
    }
}
