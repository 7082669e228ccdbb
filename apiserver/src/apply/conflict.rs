//! Apply conflicts and the errors apply and update can return.

use super::field_set::Path;
use super::go_format::go_quote;
use super::managers::{ManagedFieldsError, Operation};
use super::typed::ValidationErrors;
use std::collections::BTreeMap;
use std::fmt;

/// A field another manager owns with a different value than the applier
/// wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// How the other manager wrote the field.
    pub operation: Operation,
    /// API version in the other manager's identity (Update managers only).
    pub api_version: String,
    /// Subresource of the other manager, empty for the main resource.
    pub subresource: String,
    /// The contested field.
    pub path: Path,
    /// Upstream's manager identifier (groups and orders conflicts).
    pub(crate) identifier: String,
}

impl Conflict {
    /// The manager as upstream prints it: `"kubectl" using apps/v1` for an
    /// Update manager, `"kubectl"` for an applier, with `with subresource
    /// "status"` when there is one.
    pub fn manager_description(&self) -> String {
        let mut s = go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {}", go_quote(&self.subresource));
        }
        if self.operation == Operation::Update {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }

    /// The cause message of the 409 response: `conflict with "kubectl"
    /// using apps/v1`.
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.manager_description())
    }

    /// The cause's `field`: the printed path, e.g. `.spec.replicas`.
    pub fn field(&self) -> String {
        self.path.to_string()
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conflict with {}: {}",
            self.manager_description(),
            self.path
        )
    }
}

/// All conflicts of one apply, ordered by manager identifier and then by
/// path. `Display` is the message of upstream's 409 Status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conflicts(pub Vec<Conflict>);

impl Conflicts {
    /// Number of conflicts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the conflicts.
    pub fn iter(&self) -> std::slice::Iter<'_, Conflict> {
        self.0.iter()
    }
}

impl fmt::Display for Conflicts {
    /// `Apply failed with 1 conflict: conflict with "m" using v1: .a`, or
    /// for several, one `conflicts with "m":` block per manager (sorted)
    /// with `- .path` lines, joined by newlines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() == 1 {
            let c = &self.0[0];
            return write!(
                f,
                "Apply failed with 1 conflict: conflict with {}: {}",
                c.manager_description(),
                c.path
            );
        }
        let mut by_manager: BTreeMap<&str, Vec<&Conflict>> = BTreeMap::new();
        for c in &self.0 {
            by_manager.entry(c.identifier.as_str()).or_default().push(c);
        }
        let mut lines = Vec::new();
        for conflicts in by_manager.values() {
            if let Some(first) = conflicts.first() {
                lines.push(format!("conflicts with {}:", first.manager_description()));
            }
            for c in conflicts {
                lines.push(format!("- {}", c.path));
            }
        }
        write!(
            f,
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }
}

/// `type` of the causes in a 409 apply-conflict Status (one per conflict,
/// with [`Conflict::cause_message`] and [`Conflict::field`]); the Status
/// itself has reason `Conflict` and [`Conflicts`]' text as message.
pub const CAUSE_TYPE_FIELD_MANAGER_CONFLICT: &str = "FieldManagerConflict";

/// Why an apply or a managed-fields update failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Fields owned by other managers would change (409 Conflict, reason
    /// `Conflict`, one cause of type `FieldManagerConflict` per conflict).
    #[error("{0}")]
    Conflicts(Conflicts),
    /// The applied configuration is not a JSON object (400).
    #[error("error decoding patch: expected an object, got {0}")]
    NotAnObject(String),
    /// The applied configuration's apiVersion/kind is not the resource's
    /// (400). Holds Go's `group/version, Kind=kind` rendering.
    #[error("invalid object type: {0}")]
    InvalidObjectType(String),
    /// The applied configuration sets `metadata.managedFields` (400).
    #[error("metadata.managedFields must be nil")]
    ManagedFieldsInPatch,
    /// The applied configuration does not fit the schema (upstream answers
    /// 500 with this message; newer servers 400).
    #[error("failed to create typed patch object ({object}): {errors}")]
    InvalidPatch {
        /// `namespace/name; group/version, Kind=kind` of the patch.
        object: String,
        /// What does not fit.
        errors: ValidationErrors,
    },
    /// Merging failed (500).
    #[error("failed to merge config: {0}")]
    Merge(ValidationErrors),
    /// Comparing old and new failed (500).
    #[error("failed to compare objects: {0}")]
    Compare(ValidationErrors),
    /// The live object's `managedFields` cannot be decoded (500).
    #[error("failed to decode managed fields: {0}")]
    DecodeManagedFields(ManagedFieldsError),
}

impl ApplyError {
    /// The HTTP status upstream answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            ApplyError::Conflicts(_) => 409,
            ApplyError::NotAnObject(_)
            | ApplyError::InvalidObjectType(_)
            | ApplyError::ManagedFieldsInPatch => 400,
            _ => 500,
        }
    }
}
