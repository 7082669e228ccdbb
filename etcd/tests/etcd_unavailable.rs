//! An etcd that is down gives `Unavailable` within the configured timeouts,
//! never a hang.

use bosun_storage::testing::EtcdProcess;
use bosun_storage::{EtcdConfig, EtcdStore, Storage, StorageError};
use std::net::TcpListener;
use std::time::Duration;

/// Generous outer bound that only catches hangs; not a performance check.
const HANG: Duration = Duration::from_secs(60);

fn short_timeouts(endpoint: String) -> EtcdConfig {
    let mut config = EtcdConfig::new([endpoint]);
    config.request_timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(2);
    config
}

#[tokio::test]
async fn nothing_listening_is_unavailable() {
    // A port that was free a moment ago and has no listener now.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let result = tokio::time::timeout(HANG, async {
        match EtcdStore::connect(short_timeouts(endpoint)).await {
            Err(err) => Err(err),
            Ok(store) => store.get(b"/k").await.map(|_| ()),
        }
    })
    .await
    .expect("no hang");
    assert!(
        matches!(result, Err(StorageError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_that_dies_is_unavailable() {
    let etcd = EtcdProcess::start().await.expect("start etcd");
    let store = EtcdStore::connect(short_timeouts(etcd.endpoint.clone()))
        .await
        .expect("connect");
    store
        .create(b"/k", b"v".to_vec())
        .await
        .expect("create while up");
    drop(etcd);
    for attempt in [
        tokio::time::timeout(HANG, store.get(b"/k"))
            .await
            .expect("no hang")
            .map(|_| ()),
        tokio::time::timeout(HANG, store.create(b"/k2", b"v".to_vec()))
            .await
            .expect("no hang")
            .map(|_| ()),
    ] {
        assert!(
            matches!(attempt, Err(StorageError::Unavailable(_))),
            "{attempt:?}"
        );
    }
}
