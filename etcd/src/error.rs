//! The storage layer's one error type.

use thiserror::Error;

/// What can go wrong in a storage operation.
///
/// The set mirrors what the apiserver needs to tell apart: each variant maps to
/// exactly one API `Status` (404, 409 AlreadyExists, 409 Conflict, 410 Gone,
/// 503, 500, 400).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum StorageError {
    /// The key does not exist.
    #[error("key not found: {key}")]
    NotFound {
        /// The key, lossily decoded for display.
        key: String,
    },
    /// `create` found the key already present.
    #[error("key already exists: {key}")]
    AlreadyExists {
        /// The key, lossily decoded for display.
        key: String,
    },
    /// A guarded write found a different mod revision than expected.
    #[error("conflict on {key}: expected mod revision {expected}, found {actual}")]
    Conflict {
        /// The key, lossily decoded for display.
        key: String,
        /// The mod revision the caller expected.
        expected: i64,
        /// The mod revision the key has now.
        actual: i64,
    },
    /// The requested revision has been compacted away.
    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        /// The revision the caller asked for.
        requested: i64,
        /// The oldest revision still available.
        compacted: i64,
    },
    /// The request itself is malformed (for example a corrupt continue token).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The backend cannot be reached or did not answer in time.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: an I/O error, a corrupt record, a failed commit.
    #[error("internal storage error: {0}")]
    Internal(String),
}

impl StorageError {
    /// A `NotFound` for a byte key.
    pub fn not_found(key: &[u8]) -> Self {
        Self::NotFound {
            key: String::from_utf8_lossy(key).into_owned(),
        }
    }

    /// An `AlreadyExists` for a byte key.
    pub fn already_exists(key: &[u8]) -> Self {
        Self::AlreadyExists {
            key: String::from_utf8_lossy(key).into_owned(),
        }
    }

    /// A `Conflict` for a byte key.
    pub fn conflict(key: &[u8], expected: i64, actual: i64) -> Self {
        Self::Conflict {
            key: String::from_utf8_lossy(key).into_owned(),
            expected,
            actual,
        }
    }

    /// Whether a retry of a read-modify-write may succeed.
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(
            self,
            Self::Conflict { .. } | Self::AlreadyExists { .. } | Self::NotFound { .. }
        )
    }
}

/// Shorthand for results of storage operations.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
