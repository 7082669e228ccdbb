//! The embedded backend: a local directory holding one redb database.
//!
//! Durable before it acknowledges (each commit fsyncs), with concurrent writes
//! grouped into one commit by the writer thread, MVCC history kept until
//! compaction, and watches that replay from any revision still in history.

mod tables;
mod watch;
mod writer;

use crate::error::{Result, StorageError};
use crate::model::{KeyValue, ListOptions, ListPage, WatchOptions, check_request, decode_continue};
use crate::storage::{Storage, WatchStream};
use async_trait::async_trait;
use futures::StreamExt;
use redb::{Database, ReadableDatabase, ReadableTable};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use tables::{
    FORMAT_VERSION, HISTORY, INITIAL_REVISION, LOG, META, META_COMPACTED, META_FORMAT,
    META_REVISION, db_err, list_at, live_at, read_meta, to_i64,
};
use tokio::sync::{broadcast, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use writer::{Op, Shared};

/// The database file inside the data directory.
const DB_FILE: &str = "bosun.redb";
/// redb's page cache. Reads of current state are mostly served by the
/// apiserver's watch cache, so a modest cache suffices (redb's default is 1 GiB).
const CACHE_BYTES: usize = 32 * 1024 * 1024;
/// Committed batches a watcher may fall behind before it replays from disk.
const BROADCAST_CAPACITY: usize = 4096;

/// The embedded store. Cheap to clone; all clones share one database and one
/// writer thread, which stops when the last clone is dropped or closed.
#[derive(Clone)]
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    ops: mpsc::Sender<Op>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in directory `dir`.
    ///
    /// Errors name the path: a directory that cannot be created, a file that is
    /// not a store, one written by an unknown format version, or one that
    /// another process holds open.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let fail = |what: &str, err: &dyn std::fmt::Display| {
            StorageError::Internal(format!(
                "embedded store at {}: {what}: {err}",
                dir.display()
            ))
        };
        std::fs::create_dir_all(dir).map_err(|e| fail("cannot create data directory", &e))?;
        let path = dir.join(DB_FILE);
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| fail("cannot open database", &e))?;
        let (revision, compacted) = initialise(&db).map_err(|e| fail("cannot initialise", &e))?;
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        let shared = Arc::new(Shared {
            db,
            revision: AtomicU64::new(revision),
            compacted: AtomicU64::new(compacted),
            events,
        });
        let (ops, rx) = mpsc::channel();
        let writer_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("bosun-store-writer".into())
            .spawn(move || writer::run(writer_shared, rx))
            .map_err(|e| fail("cannot start writer thread", &e))?;
        tracing::info!(path = %path.display(), revision, "embedded store opened");
        Ok(Self {
            shared,
            ops,
            writer: Arc::new(Mutex::new(Some(writer))),
            path: Arc::new(path),
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the writer after it finished every queued write and waits for it,
    /// so the directory can be reopened. Other clones stop working.
    pub async fn close(self) {
        let Self {
            shared,
            ops,
            writer,
            ..
        } = self;
        drop(ops);
        drop(shared);
        let handle = writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            // Other clones still hold senders; this waits for them to drop too.
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    async fn submit<T>(&self, op: impl FnOnce(oneshot::Sender<Result<T>>) -> Op) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.ops
            .send(op(tx))
            .map_err(|_| StorageError::Unavailable("embedded store writer stopped".into()))?;
        rx.await.map_err(|_| {
            StorageError::Unavailable("embedded store write was not committed".into())
        })?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|e| StorageError::Internal(format!("embedded store read task failed: {e}")))?
    }
}

/// Creates the tables of a new store and checks the format of an existing one.
/// Returns the current and compacted revisions.
fn initialise(db: &Database) -> std::result::Result<(u64, u64), StorageError> {
    let txn = db.begin_write().map_err(db_err)?;
    let revisions = {
        let mut meta = txn.open_table(META).map_err(db_err)?;
        txn.open_table(HISTORY).map_err(db_err)?;
        txn.open_table(LOG).map_err(db_err)?;
        let format = meta.get(META_FORMAT).map_err(db_err)?.map(|v| v.value());
        match format {
            None => {
                meta.insert(META_FORMAT, FORMAT_VERSION).map_err(db_err)?;
                meta.insert(META_REVISION, INITIAL_REVISION)
                    .map_err(db_err)?;
            }
            Some(FORMAT_VERSION) => {}
            Some(other) => {
                return Err(StorageError::Internal(format!(
                    "unknown store format version {other} (this build reads {FORMAT_VERSION})"
                )));
            }
        }
        (
            read_meta(&meta, META_REVISION, INITIAL_REVISION)?,
            read_meta(&meta, META_COMPACTED, 0)?,
        )
    };
    txn.commit().map_err(db_err)?;
    Ok(revisions)
}

/// Resolves a requested list revision against the store's current and
/// compacted revisions, as etcd does.
fn resolve_revision(requested: Option<i64>, current: u64, compacted: u64) -> Result<u64> {
    match requested {
        None | Some(0) => Ok(current),
        Some(r) if r < 0 => Err(StorageError::InvalidArgument(format!(
            "invalid revision {r}"
        ))),
        Some(r) => {
            let r = u64::try_from(r).unwrap_or(u64::MAX);
            if r < compacted {
                Err(StorageError::Compacted {
                    requested: to_i64(r),
                    compacted: to_i64(compacted),
                })
            } else if r > current {
                Err(StorageError::InvalidArgument(
                    "required revision is a future revision".into(),
                ))
            } else {
                Ok(r)
            }
        }
    }
}

#[async_trait]
impl Storage for EmbeddedStore {
    async fn create(&self, key: &[u8], value: Vec<u8>) -> Result<i64> {
        check_request(key, &value)?;
        let key = key.to_vec();
        self.submit(|reply| Op::Create { key, value, reply }).await
    }

    async fn get(&self, key: &[u8]) -> Result<KeyValue> {
        check_request(key, &[])?;
        // A point read is a few B-tree pages, almost always in redb's or
        // the OS's page cache: it runs in place, because handing it to a
        // blocking thread and back costs more than the read itself (two
        // thread wake-ups per read, measured in the scheduling benchmark).
        let txn = self.shared.db.begin_read().map_err(db_err)?;
        let history = txn.open_table(HISTORY).map_err(db_err)?;
        live_at(&history, key, u64::MAX)?.ok_or_else(|| StorageError::not_found(key))
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage> {
        self.read(move |shared| {
            let (start, requested) = match &options.continue_token {
                Some(token) => {
                    let (start, rev) = decode_continue(&options.prefix, token)?;
                    (start, Some(rev))
                }
                None => (options.prefix.clone(), options.revision),
            };
            let txn = shared.db.begin_read().map_err(db_err)?;
            let meta = txn.open_table(META).map_err(db_err)?;
            let current = read_meta(&meta, META_REVISION, INITIAL_REVISION)?;
            let compacted = read_meta(&meta, META_COMPACTED, 0)?;
            let revision = resolve_revision(requested, current, compacted)?;
            let history = txn.open_table(HISTORY).map_err(db_err)?;
            let (kvs, continue_token) =
                list_at(&history, &options.prefix, &start, revision, options.limit)?;
            Ok(ListPage {
                kvs,
                revision: to_i64(revision),
                continue_token,
            })
        })
        .await
    }

    async fn update(&self, key: &[u8], value: Vec<u8>, expected_mod_revision: i64) -> Result<i64> {
        check_request(key, &value)?;
        let key = key.to_vec();
        self.submit(|reply| Op::Update {
            key,
            value,
            expected: expected_mod_revision,
            reply,
        })
        .await
    }

    async fn delete(
        &self,
        key: &[u8],
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue)> {
        check_request(key, &[])?;
        let key = key.to_vec();
        self.submit(|reply| Op::Delete {
            key,
            expected: expected_mod_revision,
            reply,
        })
        .await
    }

    async fn watch(&self, options: WatchOptions) -> Result<crate::storage::WatchStream> {
        let rx = watch::start(self.shared.clone(), options)?;
        let stream: WatchStream = ReceiverStream::new(rx).boxed();
        Ok(stream)
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(to_i64(self.shared.revision.load(Ordering::Acquire)))
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.submit(|reply| Op::Compact { revision, reply }).await
    }
}
