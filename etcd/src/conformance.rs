//! The conformance suite every [`Storage`] backend must pass.
//!
//! Each function is one behaviour, run against a fresh, empty store (compaction
//! is global, so stores are not shared between cases). The test targets in
//! `tests/` instantiate the whole list for every backend through
//! [`for_each_case!`](crate::for_each_case).
#![allow(clippy::unwrap_used, missing_docs)]

use crate::error::StorageError;
use crate::model::{EventKind, ListOptions, WatchEvent, WatchOptions};
use crate::storage::{Storage, WatchStream, guaranteed_update};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Calls `$m!(name)` for every case in this module, so a test file can
/// generate one `#[test]` per case and backend.
#[macro_export]
macro_rules! for_each_case {
    ($m:ident) => {
        $m!(create_get_update_delete_follow_etcd_semantics);
        $m!(guarded_writes_report_conflicts_and_missing_keys);
        $m!(keys_and_values_are_arbitrary_bytes);
        $m!(oversized_requests_are_refused_like_etcd);
        $m!(list_selects_exactly_the_prefix_in_key_order);
        $m!(list_pages_with_limit_and_continue);
        $m!(list_at_old_revision_sees_old_state);
        $m!(paged_list_is_a_consistent_snapshot_while_writes_continue);
        $m!(invalid_continue_token_is_invalid_argument);
        $m!(concurrent_guarded_updates_lose_nothing);
        $m!(watch_from_revision_sees_every_later_event_once_in_order);
        $m!(watch_events_carry_previous_values);
        $m!(watch_key_and_prefix_select_only_their_keys);
        $m!(watch_without_revision_starts_now);
        $m!(compaction_makes_old_revisions_unavailable);
        $m!(revisions_only_move_forward);
    };
}

const WAIT: Duration = Duration::from_secs(20);

async fn next_event(stream: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(err))) => panic!("watch failed: {err}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch event within {WAIT:?}"),
    }
}

/// Asserts nothing more arrives for a short while.
async fn assert_quiet(stream: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
        panic!("unexpected watch item: {item:?}");
    }
}

fn list_opts(prefix: &[u8]) -> ListOptions {
    ListOptions {
        prefix: prefix.to_vec(),
        ..ListOptions::default()
    }
}

pub async fn create_get_update_delete_follow_etcd_semantics(s: Arc<dyn Storage>) {
    let r0 = s.current_revision().await.unwrap();
    let r1 = s.create(b"/k/a", b"one".to_vec()).await.unwrap();
    assert!(r1 > r0, "create advances the revision");
    let kv = s.get(b"/k/a").await.unwrap();
    assert_eq!(
        (
            kv.value.as_slice(),
            kv.create_revision,
            kv.mod_revision,
            kv.version
        ),
        (&b"one"[..], r1, r1, 1)
    );
    assert!(matches!(
        s.create(b"/k/a", b"x".to_vec()).await,
        Err(StorageError::AlreadyExists { .. })
    ));
    let r2 = s.update(b"/k/a", b"two".to_vec(), r1).await.unwrap();
    assert!(r2 > r1);
    let kv = s.get(b"/k/a").await.unwrap();
    assert_eq!(
        (
            kv.value.as_slice(),
            kv.create_revision,
            kv.mod_revision,
            kv.version
        ),
        (&b"two"[..], r1, r2, 2)
    );
    let (r3, prev) = s.delete(b"/k/a", None).await.unwrap();
    assert!(r3 > r2);
    assert_eq!(
        (prev.value.as_slice(), prev.mod_revision),
        (&b"two"[..], r2)
    );
    assert!(matches!(
        s.get(b"/k/a").await,
        Err(StorageError::NotFound { .. })
    ));
    // A deleted key can be created again, with a fresh create revision.
    let r4 = s.create(b"/k/a", b"three".to_vec()).await.unwrap();
    let kv = s.get(b"/k/a").await.unwrap();
    assert_eq!((kv.create_revision, kv.version), (r4, 1));
    assert_eq!(s.current_revision().await.unwrap(), r4);
}

pub async fn guarded_writes_report_conflicts_and_missing_keys(s: Arc<dyn Storage>) {
    let r1 = s.create(b"/g/a", b"1".to_vec()).await.unwrap();
    let r2 = s.update(b"/g/a", b"2".to_vec(), r1).await.unwrap();
    match s.update(b"/g/a", b"3".to_vec(), r1).await {
        Err(StorageError::Conflict {
            expected, actual, ..
        }) => assert_eq!((expected, actual), (r1, r2)),
        other => panic!("stale update must conflict, got {other:?}"),
    }
    assert!(matches!(
        s.update(b"/g/missing", b"x".to_vec(), r1).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.update(b"/g/missing", b"x".to_vec(), 0).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete(b"/g/a", Some(r1)).await,
        Err(StorageError::Conflict { .. })
    ));
    assert!(matches!(
        s.delete(b"/g/missing", None).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete(b"/g/missing", Some(r2)).await,
        Err(StorageError::NotFound { .. })
    ));
    assert_eq!(s.get(b"/g/a").await.unwrap().value, b"2");
    s.delete(b"/g/a", Some(r2)).await.unwrap();
    assert!(matches!(
        s.get(b"/g/a").await,
        Err(StorageError::NotFound { .. })
    ));
}

pub async fn keys_and_values_are_arbitrary_bytes(s: Arc<dyn Storage>) {
    let keys: [&[u8]; 4] = [
        b"/b/\x00",
        b"/b/\xff\xfe",
        b"/b/\x01\x00\x02",
        b"/b/\xe2\x82",
    ];
    let values: [&[u8]; 4] = [b"", b"\x00\x00", &[0xffu8; 3000], b"\xc3\x28"];
    for (k, v) in keys.iter().zip(values) {
        s.create(k, v.to_vec()).await.unwrap();
    }
    for (k, v) in keys.iter().zip(values) {
        assert_eq!(s.get(k).await.unwrap().value, v);
    }
    let page = s.list(list_opts(b"/b/")).await.unwrap();
    let mut sorted: Vec<&[u8]> = keys.to_vec();
    sorted.sort();
    assert_eq!(
        page.kvs
            .iter()
            .map(|kv| kv.key.as_slice())
            .collect::<Vec<_>>(),
        sorted
    );
    // Paging over binary keys works too.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = s
            .list(ListOptions {
                limit: Some(1),
                continue_token: token.take(),
                ..list_opts(b"/b/")
            })
            .await
            .unwrap();
        seen.extend(page.kvs.into_iter().map(|kv| kv.key));
        match page.continue_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen.iter().map(Vec::as_slice).collect::<Vec<_>>(), sorted);
    // An empty key is refused as etcd refuses it; a prefix of all 0xff bytes
    // and the empty prefix are handled without panics.
    for result in [
        s.get(b"").await.map(|_| ()),
        s.create(b"", b"v".to_vec()).await.map(|_| ()),
        s.update(b"", b"v".to_vec(), 1).await.map(|_| ()),
        s.delete(b"", None).await.map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(StorageError::InvalidArgument(_))),
            "{result:?}"
        );
    }
    s.list(list_opts(b"\xff\xff")).await.unwrap();
    s.list(list_opts(b"")).await.unwrap();
}

pub async fn oversized_requests_are_refused_like_etcd(s: Arc<dyn Storage>) {
    let big = vec![b'x'; 2 * 1024 * 1024];
    let created = s.create(b"/big/a", big.clone()).await;
    assert!(
        matches!(created, Err(StorageError::InvalidArgument(_))),
        "{created:?}"
    );
    assert!(matches!(
        s.get(b"/big/a").await,
        Err(StorageError::NotFound { .. })
    ));
    // Just under etcd's default limit is fine, and so is replacing it.
    let rev = s.create(b"/big/a", vec![b'y'; 1024 * 1024]).await.unwrap();
    let updated = s.update(b"/big/a", big, rev).await;
    assert!(
        matches!(updated, Err(StorageError::InvalidArgument(_))),
        "{updated:?}"
    );
    assert_eq!(s.get(b"/big/a").await.unwrap().value.len(), 1024 * 1024);
}

pub async fn list_selects_exactly_the_prefix_in_key_order(s: Arc<dyn Storage>) {
    for key in [
        "/r/pods/b",
        "/r/pods/a",
        "/r/podsecurity/x",
        "/r/pod",
        "/r/pods/c/d",
    ] {
        s.create(key.as_bytes(), key.as_bytes().to_vec())
            .await
            .unwrap();
    }
    let page = s.list(list_opts(b"/r/pods/")).await.unwrap();
    let keys: Vec<_> = page
        .kvs
        .iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect();
    assert_eq!(keys, ["/r/pods/a", "/r/pods/b", "/r/pods/c/d"]);
    assert_eq!(page.continue_token, None);
    assert_eq!(page.revision, s.current_revision().await.unwrap());
    let empty = s.list(list_opts(b"/nothing/")).await.unwrap();
    assert!(empty.kvs.is_empty() && empty.continue_token.is_none());
    // Deleted keys disappear from lists.
    s.delete(b"/r/pods/b", None).await.unwrap();
    assert_eq!(s.list(list_opts(b"/r/pods/")).await.unwrap().kvs.len(), 2);
}

pub async fn list_pages_with_limit_and_continue(s: Arc<dyn Storage>) {
    for i in 0..25 {
        s.create(format!("/p/{i:03}").as_bytes(), vec![b'v'; i])
            .await
            .unwrap();
    }
    let mut all = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = s
            .list(ListOptions {
                limit: Some(10),
                continue_token: token.take(),
                ..list_opts(b"/p/")
            })
            .await
            .unwrap();
        pages += 1;
        assert!(page.kvs.len() <= 10);
        all.extend(page.kvs);
        match page.continue_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(all.len(), 25);
    assert!(all.windows(2).all(|w| w[0].key < w[1].key));
    // An exact fit leaves no continue token.
    let page = s
        .list(ListOptions {
            limit: Some(25),
            ..list_opts(b"/p/")
        })
        .await
        .unwrap();
    assert_eq!((page.kvs.len(), page.continue_token), (25, None));
}

pub async fn list_at_old_revision_sees_old_state(s: Arc<dyn Storage>) {
    let r1 = s.create(b"/o/a", b"a1".to_vec()).await.unwrap();
    let r2 = s.create(b"/o/b", b"b1".to_vec()).await.unwrap();
    s.update(b"/o/a", b"a2".to_vec(), r1).await.unwrap();
    s.delete(b"/o/b", None).await.unwrap();
    s.create(b"/o/c", b"c1".to_vec()).await.unwrap();
    let old = s
        .list(ListOptions {
            revision: Some(r2),
            ..list_opts(b"/o/")
        })
        .await
        .unwrap();
    assert_eq!(old.revision, r2);
    let got: Vec<_> = old
        .kvs
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (b"/o/a".to_vec(), b"a1".to_vec()),
            (b"/o/b".to_vec(), b"b1".to_vec())
        ]
    );
    let now = s.list(list_opts(b"/o/")).await.unwrap();
    let got: Vec<_> = now
        .kvs
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (b"/o/a".to_vec(), b"a2".to_vec()),
            (b"/o/c".to_vec(), b"c1".to_vec())
        ]
    );
    let future = now.revision + 1000;
    assert!(
        s.list(ListOptions {
            revision: Some(future),
            ..list_opts(b"/o/")
        })
        .await
        .is_err()
    );
}

pub async fn paged_list_is_a_consistent_snapshot_while_writes_continue(s: Arc<dyn Storage>) {
    for i in 0..200 {
        s.create(format!("/s/{i:04}").as_bytes(), b"0".to_vec())
            .await
            .unwrap();
    }
    let store = s.clone();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 1..=3u8 {
                for i in (0..200).step_by(7) {
                    let key = format!("/s/{i:04}");
                    let kv = store.get(key.as_bytes()).await.unwrap();
                    store
                        .update(key.as_bytes(), vec![b'0' + round], kv.mod_revision)
                        .await
                        .unwrap();
                }
                store
                    .create(format!("/s/new{round}").as_bytes(), b"n".to_vec())
                    .await
                    .unwrap();
                store
                    .delete(format!("/s/{:04}", round).as_bytes(), None)
                    .await
                    .unwrap();
            }
        })
    };
    let first = s
        .list(ListOptions {
            limit: Some(16),
            ..list_opts(b"/s/")
        })
        .await
        .unwrap();
    let snapshot = first.revision;
    let mut all = first.kvs;
    let mut token = first.continue_token;
    while let Some(t) = token.take() {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let page = s
            .list(ListOptions {
                limit: Some(16),
                continue_token: Some(t),
                ..list_opts(b"/s/")
            })
            .await
            .unwrap();
        assert_eq!(
            page.revision, snapshot,
            "every page is read at the first page's revision"
        );
        all.extend(page.kvs);
        token = page.continue_token;
    }
    writer.await.unwrap();
    let exact = s
        .list(ListOptions {
            revision: Some(snapshot),
            ..list_opts(b"/s/")
        })
        .await
        .unwrap();
    assert_eq!(
        all, exact.kvs,
        "the pages together equal the list at their revision"
    );
    assert!(all.iter().all(|kv| kv.mod_revision <= snapshot));
}

pub async fn invalid_continue_token_is_invalid_argument(s: Arc<dyn Storage>) {
    for token in ["garbage", "", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MX0"] {
        let result = s
            .list(ListOptions {
                continue_token: Some(token.to_owned()),
                ..list_opts(b"/x/")
            })
            .await;
        assert!(
            matches!(result, Err(StorageError::InvalidArgument(_))),
            "{token:?} gave {result:?}"
        );
    }
}

pub async fn concurrent_guarded_updates_lose_nothing(s: Arc<dyn Storage>) {
    const TASKS: usize = 16;
    const INCREMENTS: usize = 200;
    let store = s.clone();
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..INCREMENTS {
                guaranteed_update(store.as_ref(), b"/c/counter", |current| {
                    let n: u64 = current
                        .map(|kv| String::from_utf8_lossy(&kv.value).parse().unwrap_or(0))
                        .unwrap_or(0);
                    Ok((n + 1).to_string().into_bytes())
                })
                .await
                .unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let kv = s.get(b"/c/counter").await.unwrap();
    assert_eq!(kv.value, (TASKS * INCREMENTS).to_string().into_bytes());
    assert_eq!(kv.version as usize, TASKS * INCREMENTS);
}

pub async fn watch_from_revision_sees_every_later_event_once_in_order(s: Arc<dyn Storage>) {
    let base = s.create(b"/w/seed", b"0".to_vec()).await.unwrap();
    let store = s.clone();
    // Writers run before and while the watch starts.
    let mut writers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut revs = Vec::new();
            for i in 0..50 {
                let key = format!("/w/{w}/{i}");
                revs.push(store.create(key.as_bytes(), b"v".to_vec()).await.unwrap());
                if i % 5 == 0 {
                    revs.push(store.delete(key.as_bytes(), None).await.unwrap().0);
                }
            }
            revs
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut stream = s
        .watch(WatchOptions {
            key: b"/w/".to_vec(),
            prefix: true,
            start_revision: Some(base + 1),
        })
        .await
        .unwrap();
    let mut expected = Vec::new();
    for writer in writers {
        expected.extend(writer.await.unwrap());
    }
    expected.sort_unstable();
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        seen.push(next_event(&mut stream).await.revision());
    }
    assert_eq!(
        seen, expected,
        "every event after the start revision, once, in revision order"
    );
    assert_quiet(&mut stream).await;
}

pub async fn watch_events_carry_previous_values(s: Arc<dyn Storage>) {
    let start = s.current_revision().await.unwrap() + 1;
    let r1 = s.create(b"/e/a", b"1".to_vec()).await.unwrap();
    let r2 = s.update(b"/e/a", b"2".to_vec(), r1).await.unwrap();
    let (r3, _) = s.delete(b"/e/a", None).await.unwrap();
    let mut stream = s
        .watch(WatchOptions {
            key: b"/e/a".to_vec(),
            prefix: false,
            start_revision: Some(start),
        })
        .await
        .unwrap();
    let created = next_event(&mut stream).await;
    assert_eq!(
        (
            created.kind,
            created.kv.value.as_slice(),
            created.kv.mod_revision
        ),
        (EventKind::Put, &b"1"[..], r1)
    );
    assert_eq!((created.kv.create_revision, created.kv.version), (r1, 1));
    assert_eq!(created.prev, None);
    let updated = next_event(&mut stream).await;
    assert_eq!(
        (
            updated.kind,
            updated.kv.value.as_slice(),
            updated.kv.mod_revision
        ),
        (EventKind::Put, &b"2"[..], r2)
    );
    assert_eq!(
        updated.prev.map(|p| (p.value, p.mod_revision)),
        Some((b"1".to_vec(), r1))
    );
    let deleted = next_event(&mut stream).await;
    assert_eq!(
        (
            deleted.kind,
            deleted.kv.key.as_slice(),
            deleted.kv.mod_revision
        ),
        (EventKind::Delete, &b"/e/a"[..], r3)
    );
    assert!(deleted.kv.value.is_empty());
    assert_eq!(
        deleted.prev.map(|p| (p.value, p.mod_revision)),
        Some((b"2".to_vec(), r2))
    );
    // Live events carry previous values too.
    let r4 = s.create(b"/e/a", b"4".to_vec()).await.unwrap();
    s.update(b"/e/a", b"5".to_vec(), r4).await.unwrap();
    let live_create = next_event(&mut stream).await;
    assert_eq!(live_create.prev, None);
    let live_update = next_event(&mut stream).await;
    assert_eq!(live_update.prev.map(|p| p.value), Some(b"4".to_vec()));
}

pub async fn watch_key_and_prefix_select_only_their_keys(s: Arc<dyn Storage>) {
    let start = s.current_revision().await.unwrap() + 1;
    let mut key_watch = s
        .watch(WatchOptions {
            key: b"/q/a".to_vec(),
            prefix: false,
            start_revision: Some(start),
        })
        .await
        .unwrap();
    let mut prefix_watch = s
        .watch(WatchOptions {
            key: b"/q/".to_vec(),
            prefix: true,
            start_revision: Some(start),
        })
        .await
        .unwrap();
    for key in ["/q/a", "/q/ab", "/qq/a", "/q/b"] {
        s.create(key.as_bytes(), b"v".to_vec()).await.unwrap();
    }
    assert_eq!(next_event(&mut key_watch).await.kv.key, b"/q/a");
    assert_quiet(&mut key_watch).await;
    let mut keys = BTreeMap::new();
    for _ in 0..3 {
        keys.insert(next_event(&mut prefix_watch).await.kv.key, ());
    }
    assert_eq!(
        keys.into_keys().collect::<Vec<_>>(),
        [b"/q/a".to_vec(), b"/q/ab".to_vec(), b"/q/b".to_vec()]
    );
    assert_quiet(&mut prefix_watch).await;
}

pub async fn watch_without_revision_starts_now(s: Arc<dyn Storage>) {
    s.create(b"/n/old", b"v".to_vec()).await.unwrap();
    let mut stream = s
        .watch(WatchOptions {
            key: b"/n/".to_vec(),
            prefix: true,
            start_revision: None,
        })
        .await
        .unwrap();
    // Give a remote watch time to be registered before writing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rev = s.create(b"/n/new", b"v".to_vec()).await.unwrap();
    let event = next_event(&mut stream).await;
    assert_eq!(
        (event.kv.key.as_slice(), event.revision()),
        (&b"/n/new"[..], rev)
    );
    assert_quiet(&mut stream).await;
}

/// A watch from a compacted revision fails with `Compacted`, either when it is
/// started or as its first item (etcd may report a racing compaction in-stream).
async fn assert_watch_compacted(s: &dyn Storage, start: i64) {
    match s
        .watch(WatchOptions {
            key: b"/m/".to_vec(),
            prefix: true,
            start_revision: Some(start),
        })
        .await
    {
        Err(StorageError::Compacted { .. }) => {}
        Err(other) => panic!("expected Compacted, got {other}"),
        Ok(mut stream) => match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Err(StorageError::Compacted { .. }))) => {}
            other => panic!("expected a Compacted error, got {other:?}"),
        },
    }
}

pub async fn compaction_makes_old_revisions_unavailable(s: Arc<dyn Storage>) {
    let r1 = s.create(b"/m/a", b"1".to_vec()).await.unwrap();
    let r2 = s.update(b"/m/a", b"2".to_vec(), r1).await.unwrap();
    s.create(b"/m/gone", b"g".to_vec()).await.unwrap();
    s.delete(b"/m/gone", None).await.unwrap();
    for i in 0..5 {
        s.create(format!("/m/p{i}").as_bytes(), b"p".to_vec())
            .await
            .unwrap();
    }
    let paged = s
        .list(ListOptions {
            limit: Some(2),
            ..list_opts(b"/m/")
        })
        .await
        .unwrap();
    let stale_token = paged.continue_token.clone().unwrap();
    let r3 = s.update(b"/m/a", b"3".to_vec(), r2).await.unwrap();
    let after = s.create(b"/m/b", b"b".to_vec()).await.unwrap();
    s.compact(r3).await.unwrap();

    assert_watch_compacted(s.as_ref(), r1).await;
    assert_watch_compacted(s.as_ref(), r3 - 1).await;
    let old = s
        .list(ListOptions {
            revision: Some(r2),
            ..list_opts(b"/m/")
        })
        .await;
    assert!(
        matches!(old, Err(StorageError::Compacted { .. })),
        "{old:?}"
    );
    let resumed = s
        .list(ListOptions {
            continue_token: Some(stale_token),
            ..list_opts(b"/m/")
        })
        .await;
    assert!(
        matches!(resumed, Err(StorageError::Compacted { .. })),
        "{resumed:?}"
    );
    assert!(matches!(
        s.compact(r2).await,
        Err(StorageError::Compacted { .. })
    ));

    // The compacted revision itself and everything after stay readable.
    let at = s
        .list(ListOptions {
            revision: Some(r3),
            ..list_opts(b"/m/")
        })
        .await
        .unwrap();
    let keys: Vec<_> = at.kvs.iter().map(|kv| kv.key.clone()).collect();
    assert!(
        keys.contains(&b"/m/a".to_vec())
            && !keys.contains(&b"/m/gone".to_vec())
            && !keys.contains(&b"/m/b".to_vec())
    );
    assert_eq!(s.get(b"/m/a").await.unwrap().value, b"3");
    let mut stream = s
        .watch(WatchOptions {
            key: b"/m/".to_vec(),
            prefix: true,
            start_revision: Some(r3),
        })
        .await
        .unwrap();
    let first = next_event(&mut stream).await;
    // As in etcd, the version before the compacted revision is gone, so the
    // event at that revision has no previous value.
    assert_eq!((first.revision(), first.prev), (r3, None));
    assert_eq!(next_event(&mut stream).await.revision(), after);
    // Writes after compaction work, and reach the watch.
    let r4 = s.update(b"/m/a", b"4".to_vec(), r3).await.unwrap();
    assert_eq!(next_event(&mut stream).await.revision(), r4);
}

pub async fn revisions_only_move_forward(s: Arc<dyn Storage>) {
    let mut last = s.current_revision().await.unwrap();
    assert!(last >= 1);
    for i in 0..20 {
        let key = format!("/v/{i}");
        let rev = s.create(key.as_bytes(), b"v".to_vec()).await.unwrap();
        assert!(rev > last);
        last = rev;
        // Failed writes do not consume revisions.
        assert!(s.create(key.as_bytes(), b"v".to_vec()).await.is_err());
        assert_eq!(s.current_revision().await.unwrap(), last);
    }
}
