//! The values that cross the storage trait: stored pairs, list pages, watch events.

use crate::error::{Result, StorageError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// One stored key and its value at some revision, as etcd reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Vec<u8>,
    /// The value; empty in the `kv` of a delete event.
    pub value: Vec<u8>,
    /// The revision at which the key was last created.
    pub create_revision: i64,
    /// The revision of the last change to the key (its `resourceVersion`).
    pub mod_revision: i64,
    /// How many times the key was written since it was created (1 after create).
    pub version: i64,
}

/// What `list` returns: one page of pairs, all read at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The pairs, ordered by key.
    pub kvs: Vec<KeyValue>,
    /// The revision the page was read at; later pages of the same list use it too.
    pub revision: i64,
    /// Set when more keys remain: pass it back as [`ListOptions::continue_token`].
    pub continue_token: Option<String>,
}

/// Options of `list`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// List every key that starts with these bytes.
    pub prefix: Vec<u8>,
    /// At most this many pairs; `None` or `Some(0)` means no limit.
    pub limit: Option<usize>,
    /// Resume a paged list; fixes both the revision and the start key.
    pub continue_token: Option<String>,
    /// Read at exactly this revision; `None` reads the latest.
    pub revision: Option<i64>,
}

/// Options of `watch`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchOptions {
    /// The key to watch, or the prefix when `prefix` is set.
    pub key: Vec<u8>,
    /// Watch every key starting with `key`.
    pub prefix: bool,
    /// Deliver events at this revision and later (inclusive, as etcd does);
    /// `None` means only changes made after the watch starts.
    pub start_revision: Option<i64>,
}

/// The kind of change a watch event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The key was created or updated.
    Put,
    /// The key was deleted.
    Delete,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// Put or delete.
    pub kind: EventKind,
    /// The key after the change; for a delete, the key with an empty value and
    /// `mod_revision` set to the deletion's revision.
    pub kv: KeyValue,
    /// The key's value before the change, when it existed.
    pub prev: Option<KeyValue>,
}

impl WatchEvent {
    /// The revision at which this change happened.
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}

/// The largest request etcd accepts by default (`--max-request-bytes`,
/// 1.5 MiB); the embedded store enforces the same bound so that both backends
/// reject the same oversized objects.
pub const MAX_REQUEST_BYTES: usize = 1536 * 1024;

/// Checks a key (and value) the way etcd does before it accepts a write:
/// the key must be present and the request no larger than
/// [`MAX_REQUEST_BYTES`].
pub fn check_request(key: &[u8], value: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(StorageError::InvalidArgument("key is not provided".into()));
    }
    if key.len() + value.len() > MAX_REQUEST_BYTES {
        return Err(StorageError::InvalidArgument("request is too large".into()));
    }
    Ok(())
}

/// The smallest key greater than every key starting with `prefix`, as etcd
/// computes range ends; an empty vector means "no upper bound".
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    Vec::new()
}

/// Whether `key` falls in the range a watch or list selects.
pub fn key_matches(key: &[u8], wanted: &[u8], prefix: bool) -> bool {
    if prefix {
        key.starts_with(wanted)
    } else {
        key == wanted
    }
}

/// The body of a continue token, versioned like upstream's so it can evolve.
#[derive(Serialize, Deserialize)]
struct ContinueBody {
    v: String,
    rv: i64,
    /// The key to resume at, relative to the list prefix, base64url.
    start: String,
}

const CONTINUE_VERSION: &str = "meta.k8s.io/v1";

/// Builds the opaque token that resumes a list after `last_key`, at `revision`.
pub fn encode_continue(prefix: &[u8], last_key: &[u8], revision: i64) -> String {
    let mut start = last_key.strip_prefix(prefix).unwrap_or(last_key).to_vec();
    // Resume at the first key after the last one returned.
    start.push(0);
    let body = ContinueBody {
        v: CONTINUE_VERSION.to_owned(),
        rv: revision,
        start: URL_SAFE_NO_PAD.encode(start),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a continue token into (the absolute key to start at, the revision).
pub fn decode_continue(prefix: &[u8], token: &str) -> Result<(Vec<u8>, i64)> {
    let invalid = || StorageError::InvalidArgument("continue key is not valid".to_owned());
    let json = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let body: ContinueBody = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if body.v != CONTINUE_VERSION || body.rv <= 0 {
        return Err(invalid());
    }
    let suffix = URL_SAFE_NO_PAD.decode(body.start).map_err(|_| invalid())?;
    let mut key = prefix.to_vec();
    key.extend_from_slice(&suffix);
    Ok((key, body.rv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_end(b"/registry/pods/"), b"/registry/pods0".to_vec());
        assert_eq!(prefix_end(b"a\xff\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff"), Vec::<u8>::new());
        assert_eq!(prefix_end(b""), Vec::<u8>::new());
    }

    #[test]
    fn continue_token_round_trips_binary_keys() {
        let token = encode_continue(b"/p/", b"/p/\xff\x00x", 42);
        let (key, rv) = decode_continue(b"/p/", &token).expect("valid token");
        assert_eq!(key, b"/p/\xff\x00x\x00".to_vec());
        assert_eq!(rv, 42);
    }

    #[test]
    fn garbage_continue_token_is_invalid_argument() {
        for bad in [
            "",
            "!!!",
            "eyJ2IjoieCJ9",
            &URL_SAFE_NO_PAD.encode(b"{\"v\":\"meta.k8s.io/v1\",\"rv\":-1,\"start\":\"\"}"),
        ] {
            assert!(matches!(
                decode_continue(b"/p/", bad),
                Err(StorageError::InvalidArgument(_))
            ));
        }
    }
}
