//! The etcd backend, on `etcd-client`. Works with etcd 3.4 and 3.5.
//!
//! Every guarded write is one transaction comparing the key's revision, as
//! upstream's etcd3 store does; every call is bounded by a timeout so an etcd
//! that is down yields `Unavailable` instead of a hang.

use crate::error::{Result, StorageError};
use crate::model::{
    EventKind, KeyValue, ListOptions, ListPage, WatchEvent, WatchOptions, decode_continue,
    encode_continue, prefix_end,
};
use crate::storage::{Storage, WatchStream};
use async_trait::async_trait;
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions,
    KvClient, Txn, TxnOp, TxnOpResponse, TxnResponse, WatchClient,
};
use futures::StreamExt;
use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;
use tonic::Code;

/// How to reach etcd.
#[derive(Debug, Clone)]
pub struct EtcdConfig {
    /// Client URLs, e.g. `http://127.0.0.1:2379`.
    pub endpoints: Vec<String>,
    /// Bound on every request (and on establishing a watch).
    pub request_timeout: Duration,
    /// Bound on establishing a connection.
    pub connect_timeout: Duration,
}

impl EtcdConfig {
    /// A config for these endpoints with default timeouts (10 s requests, 5 s connect).
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Storage on a real etcd cluster. Cheap to clone.
#[derive(Clone)]
pub struct EtcdStore {
    kv: KvClient,
    watch: WatchClient,
    timeout: Duration,
}

/// Largest response accepted from etcd. Like upstream's apiserver, lists of
/// any size must come back whole (gRPC's default of 4 MiB would cut them).
const MAX_RESPONSE_BYTES: usize = i32::MAX as usize;

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Maps an etcd client error onto the storage errors.
fn map_err(err: etcd_client::Error) -> StorageError {
    use etcd_client::Error as E;
    match err {
        E::GRpcStatus(status) => {
            let message = status.message().to_owned();
            if message.contains("required revision has been compacted") {
                StorageError::Compacted {
                    requested: 0,
                    compacted: 0,
                }
            } else if message.contains("required revision is a future revision") {
                StorageError::InvalidArgument("required revision is a future revision".into())
            } else {
                match status.code() {
                    Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                        StorageError::Unavailable(format!("etcd: {message}"))
                    }
                    Code::InvalidArgument | Code::OutOfRange | Code::ResourceExhausted => {
                        StorageError::InvalidArgument(
                            message.trim_start_matches("etcdserver: ").to_owned(),
                        )
                    }
                    _ => StorageError::Internal(format!("etcd: {message}")),
                }
            }
        }
        E::TransportError(e) => StorageError::Unavailable(format!("etcd transport: {e}")),
        E::IoError(e) => StorageError::Unavailable(format!("etcd io: {e}")),
        other => StorageError::Internal(format!("etcd: {other}")),
    }
}

fn kv_from(kv: &etcd_client::KeyValue) -> KeyValue {
    KeyValue {
        key: kv.key().to_vec(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
    }
}

fn header_revision(resp: &TxnResponse) -> i64 {
    resp.header().map_or(0, |h| h.revision())
}

/// The pair read by a transaction's `get` branch, if any.
fn txn_get(resp: &TxnResponse) -> Option<KeyValue> {
    resp.op_responses().into_iter().find_map(|op| match op {
        TxnOpResponse::Get(get) => get.kvs().first().map(kv_from),
        _ => None,
    })
}

impl EtcdStore {
    /// Connects to etcd. Fails with `Unavailable` if no endpoint answers in time.
    pub async fn connect(config: EtcdConfig) -> Result<Self> {
        let options = ConnectOptions::new()
            .with_connect_timeout(config.connect_timeout)
            .with_timeout(config.request_timeout)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let connect = Client::connect(config.endpoints.clone(), Some(options));
        let client = tokio::time::timeout(config.connect_timeout, connect)
            .await
            .map_err(|_| {
                StorageError::Unavailable(format!("etcd {:?}: connect timed out", config.endpoints))
            })?
            .map_err(map_err)?;
        Ok(Self {
            kv: client
                .kv_client()
                .max_decoding_message_size(MAX_RESPONSE_BYTES),
            watch: client
                .watch_client()
                .max_decoding_message_size(MAX_RESPONSE_BYTES),
            timeout: config.request_timeout,
        })
    }

    /// Runs one request with the request timeout.
    async fn call<T>(
        &self,
        request: impl Future<Output = std::result::Result<T, etcd_client::Error>>,
    ) -> Result<T> {
        tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| StorageError::Unavailable("etcd request timed out".into()))?
            .map_err(map_err)
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        let mut kv = self.kv.clone();
        self.call(kv.txn(txn)).await
    }

    /// Fails with `Compacted` if `revision` is no longer readable.
    async fn check_not_compacted(&self, key: &[u8], revision: i64) -> Result<()> {
        let mut kv = self.kv.clone();
        let options = GetOptions::new().with_revision(revision).with_count_only();
        match self.call(kv.get(key, Some(options))).await {
            Ok(_) | Err(StorageError::InvalidArgument(_)) => Ok(()),
            Err(StorageError::Compacted { .. }) => Err(StorageError::Compacted {
                requested: revision,
                compacted: 0,
            }),
            Err(other) => Err(other),
        }
    }
}

#[async_trait]
impl Storage for EtcdStore {
    async fn create(&self, key: &[u8], value: Vec<u8>) -> Result<i64> {
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value, None)]);
        let resp = self.txn(txn).await?;
        if resp.succeeded() {
            Ok(header_revision(&resp))
        } else {
            Err(StorageError::already_exists(key))
        }
    }

    async fn get(&self, key: &[u8]) -> Result<KeyValue> {
        let mut kv = self.kv.clone();
        let resp = self.call(kv.get(key, None)).await?;
        resp.kvs()
            .first()
            .map(kv_from)
            .ok_or_else(|| StorageError::not_found(key))
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage> {
        let (start, requested) = match &options.continue_token {
            Some(token) => {
                let (start, rev) = decode_continue(&options.prefix, token)?;
                (start, Some(rev))
            }
            None => (options.prefix.clone(), options.revision),
        };
        if let Some(r) = requested.filter(|r| *r < 0) {
            return Err(StorageError::InvalidArgument(format!(
                "invalid revision {r}"
            )));
        }
        let end = prefix_end(&options.prefix);
        let mut get = if end.is_empty() {
            GetOptions::new().with_from_key()
        } else {
            GetOptions::new().with_range(end)
        };
        if let Some(limit) = options.limit.filter(|l| *l > 0) {
            get = get.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        if let Some(rev) = requested.filter(|r| *r > 0) {
            get = get.with_revision(rev);
        }
        let mut kv = self.kv.clone();
        let resp = match self.call(kv.get(start, Some(get))).await {
            Err(StorageError::Compacted { .. }) => {
                return Err(StorageError::Compacted {
                    requested: requested.unwrap_or(0),
                    compacted: 0,
                });
            }
            other => other?,
        };
        let revision = requested
            .filter(|r| *r > 0)
            .unwrap_or_else(|| resp.header().map_or(0, |h| h.revision()));
        let kvs: Vec<KeyValue> = resp.kvs().iter().map(kv_from).collect();
        let continue_token = if resp.more() {
            kvs.last()
                .map(|last| encode_continue(&options.prefix, &last.key, revision))
        } else {
            None
        };
        Ok(ListPage {
            kvs,
            revision,
            continue_token,
        })
    }

    async fn update(&self, key: &[u8], value: Vec<u8>, expected_mod_revision: i64) -> Result<i64> {
        let txn = Txn::new()
            .when([
                Compare::version(key, CompareOp::Greater, 0),
                Compare::mod_revision(key, CompareOp::Equal, expected_mod_revision),
            ])
            .and_then([TxnOp::put(key, value, None)])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.txn(txn).await?;
        if resp.succeeded() {
            return Ok(header_revision(&resp));
        }
        match txn_get(&resp) {
            None => Err(StorageError::not_found(key)),
            Some(current) => Err(StorageError::conflict(
                key,
                expected_mod_revision,
                current.mod_revision,
            )),
        }
    }

    async fn delete(
        &self,
        key: &[u8],
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue)> {
        let mut compares = vec![Compare::version(key, CompareOp::Greater, 0)];
        if let Some(expected) = expected_mod_revision {
            compares.push(Compare::mod_revision(key, CompareOp::Equal, expected));
        }
        let txn = Txn::new()
            .when(compares)
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.txn(txn).await?;
        if resp.succeeded() {
            let prev = resp.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Delete(del) => del.prev_kvs().first().map(kv_from),
                _ => None,
            });
            return prev
                .map(|prev| (header_revision(&resp), prev))
                .ok_or_else(|| StorageError::not_found(key));
        }
        match txn_get(&resp) {
            None => Err(StorageError::not_found(key)),
            Some(current) => Err(StorageError::conflict(
                key,
                expected_mod_revision.unwrap_or_default(),
                current.mod_revision,
            )),
        }
    }

    async fn watch(&self, options: WatchOptions) -> Result<WatchStream> {
        let mut watch_options = etcd_client::WatchOptions::new().with_prev_key();
        if options.prefix {
            let end = prefix_end(&options.key);
            watch_options = if end.is_empty() {
                watch_options.with_from_key()
            } else {
                watch_options.with_range(end)
            };
        }
        let start = options.start_revision.unwrap_or(0);
        if start < 0 {
            return Err(StorageError::InvalidArgument(format!(
                "invalid watch start revision {start}"
            )));
        }
        if start > 0 {
            self.check_not_compacted(&options.key, start).await?;
            watch_options = watch_options.with_start_revision(start);
        }
        let mut client = self.watch.clone();
        let stream = self
            .call(client.watch(options.key.clone(), Some(watch_options)))
            .await?;
        let state = (stream, VecDeque::<Result<WatchEvent>>::new(), false);
        let events = futures::stream::unfold(
            state,
            move |(mut stream, mut pending, mut done)| async move {
                loop {
                    if let Some(item) = pending.pop_front() {
                        return Some((item, (stream, pending, done)));
                    }
                    if done {
                        return None;
                    }
                    match stream.message().await {
                        Ok(Some(resp)) => {
                            if resp.compact_revision() > 0 {
                                pending.push_back(Err(StorageError::Compacted {
                                    requested: start,
                                    compacted: resp.compact_revision(),
                                }));
                                done = true;
                            } else if resp.canceled() {
                                pending.push_back(Err(StorageError::Unavailable(format!(
                                    "etcd canceled the watch: {}",
                                    resp.cancel_reason()
                                ))));
                                done = true;
                            } else {
                                pending.extend(resp.events().iter().filter_map(|event| {
                                    let kv = event.kv().map(kv_from)?;
                                    let kind = match event.event_type() {
                                        etcd_client::EventType::Put => EventKind::Put,
                                        etcd_client::EventType::Delete => EventKind::Delete,
                                    };
                                    Some(Ok(WatchEvent {
                                        kind,
                                        kv,
                                        prev: event.prev_kv().map(kv_from),
                                    }))
                                }));
                            }
                        }
                        Ok(None) => {
                            pending.push_back(Err(StorageError::Unavailable(
                                "etcd closed the watch".into(),
                            )));
                            done = true;
                        }
                        Err(err) => {
                            pending.push_back(Err(map_err(err)));
                            done = true;
                        }
                    }
                }
            },
        );
        Ok(events.boxed())
    }

    async fn current_revision(&self) -> Result<i64> {
        let mut kv = self.kv.clone();
        let resp = self
            .call(kv.get(vec![0u8], Some(GetOptions::new().with_count_only())))
            .await?;
        Ok(resp.header().map_or(0, |h| h.revision()))
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        let mut kv = self.kv.clone();
        match self
            .call(kv.compact(revision, Some(CompactionOptions::new().with_physical())))
            .await
        {
            Ok(_) => Ok(()),
            Err(StorageError::Compacted { .. }) => Err(StorageError::Compacted {
                requested: revision,
                compacted: 0,
            }),
            Err(other) => Err(other),
        }
    }
}
