//! The on-disk layout of the embedded store and the reads over it.
//!
//! Like kine, every write appends one row at the next revision:
//! - `history`: `(key, revision) → record`, every version of every key, the
//!   newest per key last; a delete appends a tombstone record.
//! - `log`: `revision → key`, the revision-ordered log that watches replay.
//! - `meta`: the current revision, the compacted revision, the format version.

use crate::error::{Result, StorageError};
use crate::model::{EventKind, KeyValue, WatchEvent, encode_continue, prefix_end};
use redb::{ReadableTable, TableDefinition};

/// Every version of every key.
pub(super) const HISTORY: TableDefinition<(&[u8], u64), &[u8]> = TableDefinition::new("history");
/// Revision → key, in revision order.
pub(super) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Counters that must survive restarts.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// `meta` key: the revision of the latest committed write.
pub(super) const META_REVISION: &str = "revision";
/// `meta` key: the newest compacted revision (0 if never compacted).
pub(super) const META_COMPACTED: &str = "compacted";
/// `meta` key: the layout version of this file.
pub(super) const META_FORMAT: &str = "format";
/// The layout version this code writes and reads.
pub(super) const FORMAT_VERSION: u64 = 1;
/// The revision of an empty store, as in etcd.
pub(super) const INITIAL_REVISION: u64 = 1;

const TAG_PUT: u8 = 1;
const TAG_DELETE: u8 = 2;
const HEADER_LEN: usize = 17;

/// One decoded `history` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    /// Whether this row is a tombstone.
    pub deleted: bool,
    /// The revision the key was created at (0 for tombstones).
    pub create_revision: u64,
    /// Writes since creation (0 for tombstones).
    pub version: u64,
    /// The value (empty for tombstones).
    pub value: Vec<u8>,
}

impl Record {
    /// Encodes the row: tag, create revision, version, then the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.value.len());
        out.push(if self.deleted { TAG_DELETE } else { TAG_PUT });
        out.extend_from_slice(&self.create_revision.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.value);
        out
    }

    /// Decodes a row, rejecting anything this code did not write.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let corrupt = || StorageError::Internal("corrupt record in embedded store".to_owned());
        if bytes.len() < HEADER_LEN {
            return Err(corrupt());
        }
        let deleted = match bytes[0] {
            TAG_PUT => false,
            TAG_DELETE => true,
            _ => return Err(corrupt()),
        };
        let word = |at: usize| -> Result<u64> {
            let raw: [u8; 8] = bytes[at..at + 8].try_into().map_err(|_| corrupt())?;
            Ok(u64::from_le_bytes(raw))
        };
        Ok(Self {
            deleted,
            create_revision: word(1)?,
            version: word(9)?,
            value: bytes[HEADER_LEN..].to_vec(),
        })
    }

    /// The pair this row represents at `revision`.
    pub fn into_kv(self, key: &[u8], revision: u64) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            value: self.value,
            create_revision: to_i64(self.create_revision),
            mod_revision: to_i64(revision),
            version: to_i64(self.version),
        }
    }
}

/// Revisions are `u64` on disk and `i64` at the API, as etcd's are.
pub(super) fn to_i64(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

/// Turns any redb error into an `Internal` storage error.
pub(super) fn db_err(err: impl Into<redb::Error>) -> StorageError {
    StorageError::Internal(format!("embedded store: {}", err.into()))
}

/// Reads a `meta` counter, with a default for a new store.
pub(super) fn read_meta(
    table: &impl ReadableTable<&'static str, u64>,
    name: &str,
    default: u64,
) -> Result<u64> {
    Ok(table
        .get(name)
        .map_err(db_err)?
        .map_or(default, |v| v.value()))
}

/// The newest row of `key` at or before `at_revision`, with its revision.
pub(super) fn version_at(
    history: &impl ReadableTable<(&'static [u8], u64), &'static [u8]>,
    key: &[u8],
    at_revision: u64,
) -> Result<Option<(u64, Record)>> {
    let mut range = history
        .range((key, 0u64)..=(key, at_revision))
        .map_err(db_err)?;
    match range.next_back() {
        Some(entry) => {
            let (k, v) = entry.map_err(db_err)?;
            Ok(Some((k.value().1, Record::decode(v.value())?)))
        }
        None => Ok(None),
    }
}

/// The live pair of `key` at `at_revision`, skipping tombstones.
pub(super) fn live_at(
    history: &impl ReadableTable<(&'static [u8], u64), &'static [u8]>,
    key: &[u8],
    at_revision: u64,
) -> Result<Option<KeyValue>> {
    Ok(version_at(history, key, at_revision)?
        .filter(|(_, record)| !record.deleted)
        .map(|(revision, record)| record.into_kv(key, revision)))
}

/// One page of the live keys in `[start, end_of(prefix))` at `revision`.
/// Returns the pairs and a continue token when more keys remain.
pub(super) fn list_at(
    history: &impl ReadableTable<(&'static [u8], u64), &'static [u8]>,
    prefix: &[u8],
    start: &[u8],
    revision: u64,
    limit: Option<usize>,
) -> Result<(Vec<KeyValue>, Option<String>)> {
    let end = prefix_end(prefix);
    let lower = (start, 0u64);
    let range = if end.is_empty() {
        history.range(lower..).map_err(db_err)?
    } else {
        history
            .range(lower..(end.as_slice(), 0u64))
            .map_err(db_err)?
    };
    let limit = limit.filter(|l| *l > 0);
    let mut kvs: Vec<KeyValue> = Vec::new();
    // The newest version at or before `revision` of the key being scanned.
    let mut current: Option<(Vec<u8>, u64, Vec<u8>)> = None;
    let mut more = false;
    let flush =
        |candidate: Option<(Vec<u8>, u64, Vec<u8>)>, kvs: &mut Vec<KeyValue>| -> Result<bool> {
            if let Some((key, rev, raw)) = candidate {
                let record = Record::decode(&raw)?;
                if !record.deleted {
                    if limit.is_some_and(|l| kvs.len() >= l) {
                        return Ok(true);
                    }
                    kvs.push(record.into_kv(&key, rev));
                }
            }
            Ok(false)
        };
    for entry in range {
        let (k, v) = entry.map_err(db_err)?;
        let (key, rev) = k.value();
        if !key.starts_with(prefix) {
            continue;
        }
        let same_key = current
            .as_ref()
            .is_some_and(|(ck, _, _)| ck.as_slice() == key);
        if !same_key && flush(current.take(), &mut kvs)? {
            more = true;
            break;
        }
        if rev <= revision {
            match &mut current {
                Some((_, crev, raw)) => {
                    *crev = rev;
                    raw.clear();
                    raw.extend_from_slice(v.value());
                }
                None => current = Some((key.to_vec(), rev, v.value().to_vec())),
            }
        }
    }
    if !more && flush(current.take(), &mut kvs)? {
        more = true;
    }
    let token = if more {
        kvs.last()
            .map(|last| encode_continue(prefix, &last.key, to_i64(revision)))
    } else {
        None
    };
    Ok((kvs, token))
}

/// Rebuilds the watch event written at `revision` from the log and history.
pub(super) fn event_at(
    history: &impl ReadableTable<(&'static [u8], u64), &'static [u8]>,
    key: &[u8],
    revision: u64,
) -> Result<WatchEvent> {
    let missing = || {
        StorageError::Internal(format!(
            "embedded store: log names revision {revision} but history lacks it"
        ))
    };
    let (rev, record) = version_at(history, key, revision)?
        .filter(|(r, _)| *r == revision)
        .ok_or_else(missing)?;
    let prev = match revision.checked_sub(1) {
        Some(before) => live_at(history, key, before)?,
        None => None,
    };
    Ok(if record.deleted {
        WatchEvent {
            kind: EventKind::Delete,
            kv: KeyValue {
                key: key.to_vec(),
                value: Vec::new(),
                create_revision: 0,
                mod_revision: to_i64(rev),
                version: 0,
            },
            prev,
        }
    } else {
        WatchEvent {
            kind: EventKind::Put,
            kv: record.into_kv(key, rev),
            prev,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        let record = Record {
            deleted: false,
            create_revision: 7,
            version: 3,
            value: b"v".to_vec(),
        };
        assert_eq!(Record::decode(&record.encode()), Ok(record));
    }

    #[test]
    fn short_or_unknown_records_are_corrupt_not_panics() {
        assert!(Record::decode(b"").is_err());
        assert!(Record::decode(&[9u8; 20]).is_err());
        assert!(Record::decode(&[1u8; 16]).is_err());
    }
}
