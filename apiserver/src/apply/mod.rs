//! Server-side apply and `metadata.managedFields`.
//!
//! A reimplementation of what Kubernetes' apiserver does with
//! sigs.k8s.io/structured-merge-diff and its `fieldmanager`:
//!
//! * [`FieldManager::apply`] handles `application/apply-patch+yaml`
//!   PATCH requests: it merges the applied configuration into the live
//!   object following the schema (associative lists by key, sets by value,
//!   atomic lists and maps replaced wholesale), removes what the applier
//!   stopped applying and nobody else owns, detects conflicts with other
//!   managers (or takes the fields over with `force`), and records the
//!   applier's fields in `metadata.managedFields`.
//! * [`FieldManager::record_update`] records ownership for create, update
//!   and non-apply patch requests: the writer owns what it changed.
//!
//! The library part is pure functions over `serde_json::Value`; no I/O.
//! Times are passed in as RFC 3339 strings. Submodule `server` ties it to
//! Bosun: the built-in schemas, the field manager of a resource and
//! subresource, upstream's default manager name, request option checks,
//! decoding of apply bodies and the API errors of apply. The registry calls
//! it on every create, update and patch.
//!
//! Files: `field_set` (paths, sets, FieldsV1), `schema` (OpenAPI v3 →
//! merge types), `typed` (validation, field sets, comparison, removal),
//! `merge` (merging), `managers` (managedFields entries), `conflict`
//! (conflicts and errors), `field_manager` (the apply/update pipeline),
//! `go_format` (Go-compatible text encodings), `tests` (scenarios on real
//! documents against the live schema catalog).

mod conflict;
mod field_manager;
mod field_set;
mod go_format;
mod managers;
mod merge;
mod schema;
mod server;
mod typed;

#[cfg(test)]
mod tests;

pub use conflict::{ApplyError, CAUSE_TYPE_FIELD_MANAGER_CONFLICT, Conflict, Conflicts};
pub use field_manager::{
    ANCIENT_CHANGES, ApplyOutcome, BEFORE_FIRST_APPLY, DEFAULT_MAX_UPDATE_MANAGERS, FieldManager,
    LAST_APPLIED_ANNOTATION, reset_fields_for,
};
pub use field_set::{FieldSet, FieldsV1Error, Path, PathElement, compare_values, values_equal};
pub use managers::{
    FIELDS_V1, ManagedFieldsEntry, ManagedFieldsError, Operation, is_reset_managed_fields,
    managed_fields_value, read_managed_fields, remove_managed_fields, sort_managed_fields,
    upgrade_managed_fields, write_managed_fields,
};
pub use schema::{ApplySchema, Atom, ListType, MapType, OpenApiSchemas, ScalarType, TypeRef};
pub use server::{
    FIELD_MANAGER_MAX_LENGTH, OptionsKind, SERVER_MANAGER, api_error, decode_applied,
    field_manager, manager_from_user_agent, normalize_reset, record, schemas, validate_options,
};
pub use typed::{Comparison, ValidationError, ValidationErrors};

use serde_json::Value;

/// Server-side applies `applied` by `manager` to `live` (`None` creates),
/// for objects of schema `root` served as `api_version`; see
/// [`FieldManager::apply`].
///
/// # Errors
///
/// As [`FieldManager::apply`].
#[allow(clippy::too_many_arguments)]
pub fn apply<S: ApplySchema + ?Sized>(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    schema: &S,
    root: Option<&str>,
    api_version: &str,
    now: &str,
) -> Result<ApplyOutcome, ApplyError> {
    FieldManager::new(schema, root, api_version).apply(live, applied, manager, force, now)
}

/// Managed fields after a create/update/patch by `manager` (operation
/// Update); see [`FieldManager::record_update`]. With `managed_fields`
/// `None` the starting entries are read from `new`/`old` as upstream does.
///
/// # Errors
///
/// As [`FieldManager::record_update`].
#[allow(clippy::too_many_arguments)]
pub fn record_update<S: ApplySchema + ?Sized>(
    old: Option<&Value>,
    new: &Value,
    managed_fields: Option<Vec<ManagedFieldsEntry>>,
    manager: &str,
    api_version: &str,
    now: &str,
    subresource: Option<&str>,
    schema: &S,
    root: Option<&str>,
) -> Result<Vec<ManagedFieldsEntry>, ApplyError> {
    let fm = FieldManager::new(schema, root, api_version).with_subresource(subresource);
    match managed_fields {
        Some(entries) => fm.update_managed(old, new, entries, manager, now),
        None => fm.record_update(old, new, manager, now),
    }
}
