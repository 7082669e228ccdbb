//! Runs the storage conformance suite against both backends: the embedded
//! store in a temporary directory and a real etcd process per case.

use bosun_storage::testing::EtcdProcess;
use bosun_storage::{EmbeddedStore, Storage, conformance, for_each_case};
use std::sync::Arc;

mod embedded {
    use super::*;

    macro_rules! case {
        ($name:ident) => {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = EmbeddedStore::open(dir.path()).expect("open embedded store");
                conformance::$name(Arc::new(store.clone()) as Arc<dyn Storage>).await;
                store.close().await;
            }
        };
    }
    for_each_case!(case);
}

mod etcd {
    use super::*;

    macro_rules! case {
        ($name:ident) => {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let etcd = EtcdProcess::start().await.expect("start etcd");
                let store = etcd.store().await.expect("connect to etcd");
                conformance::$name(Arc::new(store) as Arc<dyn Storage>).await;
            }
        };
    }
    for_each_case!(case);
}
