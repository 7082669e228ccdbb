//! Behaviour only the embedded backend has: its data directory, restarts,
//! and clear errors for directories it cannot use.

use bosun_storage::{EmbeddedStore, ListOptions, Storage, StorageError, WatchOptions};
use futures::StreamExt;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_data_history_and_revision() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let first = store.create(b"/r/a", b"1".to_vec()).await.expect("create");
    let second = store
        .update(b"/r/a", b"2".to_vec(), first)
        .await
        .expect("update");
    store.create(b"/r/b", b"b".to_vec()).await.expect("create");
    let (deleted, _) = store.delete(b"/r/b", None).await.expect("delete");
    let before = store.current_revision().await.expect("revision");
    assert_eq!(before, deleted);
    store.close().await;

    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    assert_eq!(store.current_revision().await.expect("revision"), before);
    let kv = store.get(b"/r/a").await.expect("get");
    assert_eq!(
        (kv.value.as_slice(), kv.mod_revision, kv.version),
        (&b"2"[..], second, 2)
    );
    assert!(matches!(
        store.get(b"/r/b").await,
        Err(StorageError::NotFound { .. })
    ));
    // History from before the restart is still listable and watchable.
    let old = store
        .list(ListOptions {
            prefix: b"/r/".to_vec(),
            revision: Some(first),
            ..Default::default()
        })
        .await
        .expect("old list");
    assert_eq!(old.kvs[0].value, b"1");
    let mut watch = store
        .watch(WatchOptions {
            key: b"/r/".to_vec(),
            prefix: true,
            start_revision: Some(first),
        })
        .await
        .expect("watch");
    let mut revisions = Vec::new();
    for _ in 0..4 {
        let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("event");
        revisions.push(event.revision());
    }
    assert_eq!(revisions, vec![first, second, second + 1, deleted]);
    // New writes continue after the old revision.
    let next = store
        .create(b"/r/c", b"c".to_vec())
        .await
        .expect("create after reopen");
    assert!(next > before);
    drop(watch);
    store.close().await;
}

#[tokio::test]
async fn compaction_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let r1 = store.create(b"/c/a", b"1".to_vec()).await.expect("create");
    let r2 = store
        .update(b"/c/a", b"2".to_vec(), r1)
        .await
        .expect("update");
    store.compact(r2).await.expect("compact");
    store.close().await;
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    let old = store
        .list(ListOptions {
            prefix: b"/c/".to_vec(),
            revision: Some(r1),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(old, Err(StorageError::Compacted { .. })),
        "{old:?}"
    );
    assert_eq!(store.get(b"/c/a").await.expect("get").value, b"2");
    store.close().await;
}

fn assert_names_path(result: Result<EmbeddedStore, StorageError>, path: &std::path::Path) {
    match result {
        Ok(_) => panic!("opening {} must fail", path.display()),
        Err(err) => {
            let message = err.to_string();
            assert!(
                message.contains(&path.display().to_string()),
                "error must name the path: {message}"
            );
        }
    }
}

#[tokio::test]
async fn corrupt_database_file_is_a_clear_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bosun.redb"), vec![0x5a; 64 * 1024]).expect("write garbage");
    assert_names_path(EmbeddedStore::open(dir.path()), dir.path());
    // The garbage is left as it was, not overwritten.
    assert_eq!(
        std::fs::read(dir.path().join("bosun.redb")).expect("read"),
        vec![0x5a; 64 * 1024]
    );
}

#[tokio::test]
async fn data_directory_that_is_a_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    assert_names_path(EmbeddedStore::open(&file), &file);
}

#[tokio::test]
async fn a_directory_open_elsewhere_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    assert_names_path(EmbeddedStore::open(dir.path()), dir.path());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_that_falls_behind_still_sees_every_event() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let start = store.current_revision().await.expect("revision") + 1;
    let mut watch = store
        .watch(WatchOptions {
            key: b"/s/".to_vec(),
            prefix: true,
            start_revision: Some(start),
        })
        .await
        .expect("watch");
    // Far more batches than the broadcast holds, while nobody reads the watch.
    let mut last = 0;
    for i in 0..6000 {
        last = store
            .create(format!("/s/{i:05}").as_bytes(), b"v".to_vec())
            .await
            .expect("create");
    }
    let mut expected = start;
    while expected <= last {
        let event = tokio::time::timeout(Duration::from_secs(20), watch.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("event");
        assert_eq!(event.revision(), expected);
        expected += 1;
    }
    drop(watch);
    store.close().await;
}
