//! Bosun's storage layer.
//!
//! One [`Storage`] trait over bytes with etcd's semantics (global revisions,
//! guarded writes, history, watches, compaction) and two backends that pass the
//! same conformance suite:
//! - [`EtcdStore`]: a real etcd cluster through `etcd-client`;
//! - [`EmbeddedStore`]: a local directory holding a `redb` database, the
//!   zero-setup default, laid out like kine (one revision-ordered log).
//!
//! [`keys`] owns the key layout `/registry/<resource>/<namespace>/<name>`.

pub mod conformance;
mod embedded;
mod error;
mod etcd3;
pub mod keys;
mod model;
mod storage;
pub mod testing;

pub use embedded::EmbeddedStore;
pub use error::{Result, StorageError};
pub use etcd3::{EtcdConfig, EtcdStore};
pub use model::{
    EventKind, KeyValue, ListOptions, ListPage, MAX_REQUEST_BYTES, WatchEvent, WatchOptions,
    check_request, decode_continue, encode_continue, key_matches, prefix_end,
};
pub use storage::{Storage, WatchStream, guaranteed_update};
