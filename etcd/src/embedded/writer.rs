//! The single writer thread: group commit of concurrent writes.
//!
//! Callers send operations over a channel; the thread drains every operation
//! waiting (and briefly waits for more when the previous batch was larger),
//! applies them in order inside one redb write transaction, commits it with
//! one fsync, and only then answers each caller and publishes the batch's
//! events. Concurrent writers therefore share one sync.

use super::tables::{
    HISTORY, LOG, META, META_COMPACTED, META_REVISION, Record, db_err, read_meta, to_i64,
    version_at,
};
use crate::error::{Result, StorageError};
use crate::model::{EventKind, KeyValue, WatchEvent};
use redb::{Database, Durability, ReadableTable, Table};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, oneshot};

/// The most operations committed in one transaction.
const MAX_BATCH: usize = 1024;

/// How long a batch may wait for the writes expected to join it (see
/// [`gather`]). Measured with the controller-manager workload benchmark
/// (BENCHMARKS.md): about 8 % less apiserver CPU for 10,000 pods.
const GATHER_WINDOW: Duration = Duration::from_millis(2);

/// A write waiting for the writer thread.
pub(super) enum Op {
    /// Create a key that must not exist.
    Create {
        key: Vec<u8>,
        value: Vec<u8>,
        reply: oneshot::Sender<Result<i64>>,
    },
    /// Replace a key whose mod revision must be `expected`.
    Update {
        key: Vec<u8>,
        value: Vec<u8>,
        expected: i64,
        reply: oneshot::Sender<Result<i64>>,
    },
    /// Delete a key, optionally guarded by its mod revision.
    Delete {
        key: Vec<u8>,
        expected: Option<i64>,
        reply: oneshot::Sender<Result<(i64, KeyValue)>>,
    },
    /// Drop history older than a revision.
    Compact {
        revision: i64,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// State shared by the writer, readers and watchers.
pub(super) struct Shared {
    /// The database file.
    pub db: Database,
    /// The revision of the latest committed write.
    pub revision: AtomicU64,
    /// The newest compacted revision.
    pub compacted: AtomicU64,
    /// Every committed batch's events, in revision order.
    pub events: broadcast::Sender<Arc<Vec<WatchEvent>>>,
}

/// What one operation produced, held until its batch commits.
enum Outcome {
    Revision(oneshot::Sender<Result<i64>>, Result<i64>),
    Deleted(
        oneshot::Sender<Result<(i64, KeyValue)>>,
        Result<(i64, KeyValue)>,
    ),
    Compacted(oneshot::Sender<Result<()>>, Result<()>),
}

impl Outcome {
    fn send(self) {
        // A caller that gave up waiting is not an error for the writer.
        match self {
            Self::Revision(tx, r) => drop(tx.send(r)),
            Self::Deleted(tx, r) => drop(tx.send(r)),
            Self::Compacted(tx, r) => drop(tx.send(r)),
        }
    }

    fn fail(self, err: StorageError) {
        match self {
            Self::Revision(tx, _) => drop(tx.send(Err(err))),
            Self::Deleted(tx, _) => drop(tx.send(Err(err))),
            Self::Compacted(tx, _) => drop(tx.send(Err(err))),
        }
    }
}

/// Runs until every sender of `ops` is gone.
pub(super) fn run(shared: Arc<Shared>, ops: Receiver<Op>) {
    let mut previous = 0;
    while let Ok(first) = ops.recv() {
        let batch = gather(&ops, first, previous);
        previous = batch.len();
        commit_batch(&shared, batch);
    }
}

/// The batch that starts with `first`: every operation already waiting,
/// and, while it is smaller than the previous batch (`previous`), those
/// arriving within [`GATHER_WINDOW`] of the start. Callers answered by one
/// commit tend to send their next writes together; waiting briefly for
/// them keeps them in one commit instead of spreading them over several
/// small ones. A lone writer (previous batch of one) never waits.
fn gather(ops: &Receiver<Op>, first: Op, previous: usize) -> Vec<Op> {
    let deadline = Instant::now() + GATHER_WINDOW;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match ops.try_recv() {
            Ok(op) => batch.push(op),
            Err(TryRecvError::Empty) if batch.len() < previous => {
                let left = deadline.saturating_duration_since(Instant::now());
                match ops.recv_timeout(left) {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            Err(_) => break,
        }
    }
    batch
}

/// The tables a batch writes.
struct Tables<'t> {
    history: Table<'t, (&'static [u8], u64), &'static [u8]>,
    log: Table<'t, u64, &'static [u8]>,
    meta: Table<'t, &'static str, u64>,
}

/// Applies a batch in one transaction and answers its callers.
fn commit_batch(shared: &Shared, batch: Vec<Op>) {
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut events = Vec::new();
    let mut compacted_to = None;
    let result = (|| -> Result<u64> {
        let mut txn = shared.db.begin_write().map_err(db_err)?;
        // Durable before anyone is answered: commit returns after the fsync.
        txn.set_durability(Durability::Immediate)
            .map_err(|e| StorageError::Internal(e.to_string()))?;
        let mut next = shared.revision.load(Ordering::Acquire);
        {
            let mut tables = Tables {
                history: txn.open_table(HISTORY).map_err(db_err)?,
                log: txn.open_table(LOG).map_err(db_err)?,
                meta: txn.open_table(META).map_err(db_err)?,
            };
            for op in batch.into_iter() {
                outcomes.push(apply(
                    &mut tables,
                    op,
                    &mut next,
                    &mut events,
                    &mut compacted_to,
                )?);
            }
            tables.meta.insert(META_REVISION, next).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;
        Ok(next)
    })();
    match result {
        Ok(revision) => {
            shared.revision.store(revision, Ordering::Release);
            if let Some(c) = compacted_to {
                shared.compacted.store(c, Ordering::Release);
            }
            for outcome in outcomes {
                outcome.send();
            }
            if !events.is_empty() {
                // No subscribers is fine: nobody is watching.
                let _ = shared.events.send(Arc::new(events));
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "embedded store commit failed");
            // Operations applied before the failure answer with the error; the
            // ones never reached were dropped with the batch, which closes their
            // reply channels, and their callers see Unavailable.
            for outcome in outcomes {
                outcome.fail(err.clone());
            }
        }
    }
}

/// Applies one operation. Logical failures (conflicts…) become the
/// operation's answer; database failures abort the whole batch.
fn apply(
    t: &mut Tables<'_>,
    op: Op,
    next: &mut u64,
    events: &mut Vec<WatchEvent>,
    compacted_to: &mut Option<u64>,
) -> Result<Outcome> {
    Ok(match op {
        Op::Create { key, value, reply } => {
            let result = match latest_live(t, &key)? {
                Some(_) => Err(StorageError::already_exists(&key)),
                None => {
                    let rev = *next + 1;
                    let record = Record {
                        deleted: false,
                        create_revision: rev,
                        version: 1,
                        value,
                    };
                    append(t, &key, rev, &record)?;
                    events.push(WatchEvent {
                        kind: EventKind::Put,
                        kv: record.into_kv(&key, rev),
                        prev: None,
                    });
                    *next = rev;
                    Ok(to_i64(rev))
                }
            };
            Outcome::Revision(reply, result)
        }
        Op::Update {
            key,
            value,
            expected,
            reply,
        } => {
            let result = match latest_live(t, &key)? {
                None => Err(StorageError::not_found(&key)),
                Some(prev) if prev.mod_revision != expected => {
                    Err(StorageError::conflict(&key, expected, prev.mod_revision))
                }
                Some(prev) => {
                    let rev = *next + 1;
                    let record = Record {
                        deleted: false,
                        create_revision: u64::try_from(prev.create_revision).unwrap_or(0),
                        version: u64::try_from(prev.version).unwrap_or(0) + 1,
                        value,
                    };
                    append(t, &key, rev, &record)?;
                    events.push(WatchEvent {
                        kind: EventKind::Put,
                        kv: record.into_kv(&key, rev),
                        prev: Some(prev),
                    });
                    *next = rev;
                    Ok(to_i64(rev))
                }
            };
            Outcome::Revision(reply, result)
        }
        Op::Delete {
            key,
            expected,
            reply,
        } => {
            let result = match latest_live(t, &key)? {
                None => Err(StorageError::not_found(&key)),
                Some(prev) if expected.is_some_and(|e| e != prev.mod_revision) => Err(
                    StorageError::conflict(&key, expected.unwrap_or_default(), prev.mod_revision),
                ),
                Some(prev) => {
                    let rev = *next + 1;
                    let tombstone = Record {
                        deleted: true,
                        create_revision: 0,
                        version: 0,
                        value: Vec::new(),
                    };
                    append(t, &key, rev, &tombstone)?;
                    events.push(WatchEvent {
                        kind: EventKind::Delete,
                        kv: KeyValue {
                            key: key.clone(),
                            value: Vec::new(),
                            create_revision: 0,
                            mod_revision: to_i64(rev),
                            version: 0,
                        },
                        prev: Some(prev.clone()),
                    });
                    *next = rev;
                    Ok((to_i64(rev), prev))
                }
            };
            Outcome::Deleted(reply, result)
        }
        Op::Compact { revision, reply } => {
            let result = compact(t, revision, *next)?;
            if let Ok(c) = &result {
                *compacted_to = Some(*c);
            }
            Outcome::Compacted(reply, result.map(|_| ()))
        }
    })
}

/// The live pair of `key` as of this transaction, if any.
fn latest_live(t: &Tables<'_>, key: &[u8]) -> Result<Option<KeyValue>> {
    Ok(version_at(&t.history, key, u64::MAX)?
        .filter(|(_, r)| !r.deleted)
        .map(|(rev, r)| r.into_kv(key, rev)))
}

/// Appends one row to the history and the log.
fn append(t: &mut Tables<'_>, key: &[u8], rev: u64, record: &Record) -> Result<()> {
    t.history
        .insert((key, rev), record.encode().as_slice())
        .map_err(db_err)?;
    t.log.insert(rev, key).map_err(db_err)?;
    Ok(())
}

/// Compacts history to `revision`: per key, keeps the newest version at or
/// before it (unless that is a tombstone older than it) and everything after.
/// Only keys written since the last compaction can have anything to drop.
/// The outer error aborts the batch; the inner one answers the caller.
fn compact(t: &mut Tables<'_>, revision: i64, current: u64) -> Result<Result<u64>> {
    let old = read_meta(&t.meta, META_COMPACTED, 0)?;
    let Ok(target) = u64::try_from(revision) else {
        return Ok(Err(StorageError::InvalidArgument(format!(
            "invalid compaction revision {revision}"
        ))));
    };
    if target <= old {
        return Ok(Err(StorageError::Compacted {
            requested: revision,
            compacted: to_i64(old),
        }));
    }
    if target > current {
        return Ok(Err(StorageError::InvalidArgument(
            "required revision is a future revision".into(),
        )));
    }
    let mut touched = BTreeSet::new();
    for entry in t.log.range(old..target).map_err(db_err)? {
        let (_, key) = entry.map_err(db_err)?;
        touched.insert(key.value().to_vec());
    }
    for key in &touched {
        let mut versions = Vec::new();
        for entry in t
            .history
            .range((key.as_slice(), 0u64)..=(key.as_slice(), target))
            .map_err(db_err)?
        {
            let (k, v) = entry.map_err(db_err)?;
            versions.push((k.value().1, Record::decode(v.value())?.deleted));
        }
        let Some(&(newest, newest_deleted)) = versions.last() else {
            continue;
        };
        for (rev, _) in &versions {
            let drop_tombstone = *rev == newest && newest_deleted && newest < target;
            if *rev < newest || drop_tombstone {
                t.history.remove((key.as_slice(), *rev)).map_err(db_err)?;
            }
        }
    }
    t.log.retain_in(old..target, |_, _| false).map_err(db_err)?;
    t.meta.insert(META_COMPACTED, target).map_err(db_err)?;
    Ok(Ok(target))
}
