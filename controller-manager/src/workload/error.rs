//! Errors of the workload decision logic.

use bosun_types::labels::LabelSelectorError;

/// Why a decision could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkloadError {
    /// An `IntOrString` that should be an integer or a percentage is neither.
    #[error("invalid value for IntOrString: {0}")]
    InvalidIntOrPercent(String),
    /// A `deployment.kubernetes.io/revision` annotation is not an integer.
    #[error("invalid revision {0:?}")]
    InvalidRevision(String),
    /// The deployment's strategy type is not `RollingUpdate` or `Recreate`.
    #[error("deployment type {0:?} isn't supported")]
    UnsupportedStrategy(String),
    /// A label selector could not be converted.
    #[error("invalid label selector: {0}")]
    InvalidSelector(#[from] LabelSelectorError),
    /// An object lacks a field the decision needs (for example a UID).
    #[error("{object} has no {field}")]
    MissingField {
        /// What kind of object, for the message.
        object: &'static str,
        /// The missing field's path.
        field: &'static str,
    },
}
