//! Periodic compaction of storage history, as kube-apiserver's compactor:
//! every interval, compact to the revision seen one interval earlier, so
//! watches can resume from anything newer than about one interval.

use bosun_storage::{Storage, StorageError};
use std::sync::Arc;
use std::time::Duration;

/// Upstream's `--etcd-compaction-interval` default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// Runs until the task is dropped.
pub async fn run(storage: Arc<dyn Storage>, interval: Duration) {
    let mut previous: Option<i64> = None;
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        if let Some(target) = previous {
            match storage.compact(target).await {
                Ok(()) => tracing::debug!(revision = target, "compacted storage history"),
                // Someone (another apiserver) compacted further already.
                Err(StorageError::Compacted { .. }) => {}
                Err(err) => {
                    tracing::warn!(error = %err, revision = target, "storage compaction failed")
                }
            }
        }
        previous = storage.current_revision().await.ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_storage::{EmbeddedStore, ListOptions};

    #[tokio::test]
    async fn history_older_than_one_interval_is_compacted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let storage: Arc<dyn Storage> = Arc::new(store.clone());
        let first = storage
            .create(b"/registry/x/a", b"1".to_vec())
            .await
            .expect("create");
        let task = tokio::spawn(run(storage.clone(), Duration::from_millis(100)));
        tokio::time::sleep(Duration::from_millis(50)).await;
        storage
            .update(b"/registry/x/a", b"2".to_vec(), first)
            .await
            .expect("update");
        // Two ticks later the revision seen at the first tick is compacted.
        tokio::time::sleep(Duration::from_millis(300)).await;
        task.abort();
        let old = storage
            .list(ListOptions {
                prefix: b"/registry/x/".to_vec(),
                revision: Some(first - 1),
                ..Default::default()
            })
            .await;
        assert!(
            matches!(old, Err(StorageError::Compacted { .. })),
            "{old:?}"
        );
        assert_eq!(
            storage.get(b"/registry/x/a").await.expect("get").value,
            b"2"
        );
        drop(storage);
        store.close().await;
    }
}
