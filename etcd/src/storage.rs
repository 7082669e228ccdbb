//! The storage trait every backend implements, and the read-modify-write helper.

use crate::error::{Result, StorageError};
use crate::model::{KeyValue, ListOptions, ListPage, WatchEvent, WatchOptions};
use async_trait::async_trait;
use futures::stream::BoxStream;

/// A stream of watch events; it ends after yielding an error.
pub type WatchStream = BoxStream<'static, Result<WatchEvent>>;

/// Key-value storage with etcd's semantics: every write gets the next global
/// revision, history is readable until compacted, and watches replay it.
///
/// Keys and values are opaque bytes. Revisions start at 1 for an empty store,
/// so the first write gets revision 2, as in etcd.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Creates `key`; fails with `AlreadyExists` if it exists. Returns the new pair's revision.
    async fn create(&self, key: &[u8], value: Vec<u8>) -> Result<i64>;

    /// Reads the latest value of `key`; `NotFound` if it does not exist.
    async fn get(&self, key: &[u8]) -> Result<KeyValue>;

    /// Reads one page of the keys under a prefix, all at one revision.
    async fn list(&self, options: ListOptions) -> Result<ListPage>;

    /// Replaces the value of `key` if its mod revision is still
    /// `expected_mod_revision`; `Conflict` if it changed, `NotFound` if it is gone.
    /// Returns the new revision.
    async fn update(&self, key: &[u8], value: Vec<u8>, expected_mod_revision: i64) -> Result<i64>;

    /// Deletes `key`, only if its mod revision equals `expected_mod_revision`
    /// when one is given. Returns the deletion's revision and the last value.
    async fn delete(
        &self,
        key: &[u8],
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue)>;

    /// Streams changes to a key or prefix, from a revision still in history
    /// (`Compacted` otherwise). Each event carries the previous value.
    async fn watch(&self, options: WatchOptions) -> Result<WatchStream>;

    /// The revision of the latest committed write.
    async fn current_revision(&self) -> Result<i64>;

    /// Discards history older than `revision`; reads and watches at older
    /// revisions fail with `Compacted` afterwards.
    async fn compact(&self, revision: i64) -> Result<()>;
}

/// The most attempts [`guaranteed_update`] makes before giving up.
const MAX_UPDATE_ATTEMPTS: u32 = 10_000;

/// A random pause that grows with the attempt number (up to about 8 ms), so
/// writers contending for one key do not retry in lockstep.
fn backoff(attempt: u32) -> std::time::Duration {
    use std::hash::{BuildHasher, Hasher};
    if attempt < 2 {
        return std::time::Duration::ZERO;
    }
    let ceiling_us = 250u64 << attempt.min(5);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    std::time::Duration::from_micros(random % ceiling_us)
}

/// Read-modify-write that retries on conflicts, as upstream's `GuaranteedUpdate`.
///
/// `modify` receives the current pair (`None` when the key does not exist) and
/// returns the new value, or an error that aborts the loop. When the key is
/// absent the new value is created. Returns the revision written.
pub async fn guaranteed_update<F>(store: &dyn Storage, key: &[u8], mut modify: F) -> Result<i64>
where
    F: FnMut(Option<&KeyValue>) -> Result<Vec<u8>> + Send,
{
    let mut last_error = None;
    for attempt in 0..MAX_UPDATE_ATTEMPTS {
        let current = match store.get(key).await {
            Ok(kv) => Some(kv),
            Err(StorageError::NotFound { .. }) => None,
            Err(other) => return Err(other),
        };
        let value = modify(current.as_ref())?;
        let written = match &current {
            Some(kv) => store.update(key, value, kv.mod_revision).await,
            None => store.create(key, value).await,
        };
        match written {
            Err(err) if err.is_retryable_conflict() => last_error = Some(err),
            other => return other,
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Err(last_error.unwrap_or_else(|| StorageError::Internal("update retries exhausted".into())))
}
