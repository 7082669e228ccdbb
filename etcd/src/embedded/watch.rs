//! Watches on the embedded store: replay history from the log, then follow
//! the writer's broadcast of committed batches.

use super::tables::{HISTORY, LOG, META, META_COMPACTED, db_err, event_at, read_meta, to_i64};
use super::writer::Shared;
use crate::error::{Result, StorageError};
use crate::model::{WatchEvent, WatchOptions, key_matches};
use redb::ReadableDatabase;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::{broadcast, mpsc};

/// Events buffered between the watch task and its consumer.
const CHANNEL_CAPACITY: usize = 256;
/// Events read from disk per replay step.
const REPLAY_CHUNK: usize = 512;

/// Starts a watch task and returns the receiving end of its events.
pub(super) fn start(
    shared: Arc<Shared>,
    options: WatchOptions,
) -> Result<mpsc::Receiver<Result<WatchEvent>>> {
    // Subscribe before reading the revision so no committed batch is missed:
    // anything committed earlier is on disk, anything later is in `live`.
    let live = shared.events.subscribe();
    let current = shared.revision.load(Ordering::Acquire);
    let compacted = shared.compacted.load(Ordering::Acquire);
    let start = match options.start_revision {
        None | Some(0) => current + 1,
        Some(r) if r < 0 => {
            return Err(StorageError::InvalidArgument(format!(
                "invalid watch start revision {r}"
            )));
        }
        Some(r) => u64::try_from(r).unwrap_or(u64::MAX),
    };
    if start < compacted {
        return Err(StorageError::Compacted {
            requested: to_i64(start),
            compacted: to_i64(compacted),
        });
    }
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    tokio::spawn(async move {
        let mut watcher = Watcher {
            shared,
            options,
            live,
            tx,
            delivered: start - 1,
        };
        if let Err(err) = watcher.run().await {
            let _ = watcher.tx.send(Err(err)).await;
        }
    });
    Ok(rx)
}

/// One watch's state: the highest revision handed to the consumer so far.
struct Watcher {
    shared: Arc<Shared>,
    options: WatchOptions,
    live: broadcast::Receiver<Arc<Vec<WatchEvent>>>,
    tx: mpsc::Sender<Result<WatchEvent>>,
    delivered: u64,
}

/// Why the watch loop stopped without an error to report.
struct ConsumerGone;

impl Watcher {
    async fn run(&mut self) -> Result<()> {
        if self.replay().await?.is_err() {
            return Ok(());
        }
        loop {
            let batch = tokio::select! {
                received = self.live.recv() => received,
                () = self.tx.closed() => return Ok(()),
            };
            match batch {
                Ok(events) => {
                    for event in events.iter() {
                        if self.forward(event.clone()).await.is_err() {
                            return Ok(());
                        }
                    }
                }
                // Fell behind the broadcast: the missed events are on disk.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if self.replay().await?.is_err() {
                        return Ok(());
                    }
                }
                // The store is closing.
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(StorageError::Unavailable("embedded store closed".into()));
                }
            }
        }
    }

    /// Sends an event if it is new and selected.
    async fn forward(&mut self, event: WatchEvent) -> std::result::Result<(), ConsumerGone> {
        let rev = u64::try_from(event.revision()).unwrap_or(0);
        if rev <= self.delivered {
            return Ok(());
        }
        self.delivered = rev;
        if !key_matches(&event.kv.key, &self.options.key, self.options.prefix) {
            return Ok(());
        }
        self.tx.send(Ok(event)).await.map_err(|_| ConsumerGone)
    }

    /// Delivers every committed event after `delivered`, from disk.
    async fn replay(&mut self) -> Result<std::result::Result<(), ConsumerGone>> {
        loop {
            let shared = self.shared.clone();
            let from = self.delivered + 1;
            let chunk = tokio::task::spawn_blocking(move || read_log(&shared, from))
                .await
                .map_err(|e| StorageError::Internal(format!("watch replay task failed: {e}")))??;
            let done = chunk.len() < REPLAY_CHUNK;
            for event in chunk {
                if self.forward(event).await.is_err() {
                    return Ok(Err(ConsumerGone));
                }
            }
            if done {
                return Ok(Ok(()));
            }
        }
    }
}

/// Reads up to [`REPLAY_CHUNK`] events from revision `from` on.
fn read_log(shared: &Shared, from: u64) -> Result<Vec<WatchEvent>> {
    let txn = shared.db.begin_read().map_err(db_err)?;
    let meta = txn.open_table(META).map_err(db_err)?;
    let compacted = read_meta(&meta, META_COMPACTED, 0)?;
    if from < compacted {
        return Err(StorageError::Compacted {
            requested: to_i64(from),
            compacted: to_i64(compacted),
        });
    }
    let log = txn.open_table(LOG).map_err(db_err)?;
    let history = txn.open_table(HISTORY).map_err(db_err)?;
    let mut events = Vec::new();
    for entry in log.range(from..).map_err(db_err)?.take(REPLAY_CHUNK) {
        let (rev, key) = entry.map_err(db_err)?;
        events.push(event_at(&history, key.value(), rev.value())?);
    }
    Ok(events)
}
