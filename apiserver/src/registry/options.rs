//! Options of registry operations, parsed from query parameters and bodies.

use crate::status::ApiError;
use bosun_types::fields::FieldSelector;
use bosun_types::labels::Selector;
use serde_json::Value;
use std::time::Duration;

/// How unknown or duplicate fields in a request body are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and answer with `Warning` headers.
    #[default]
    Warn,
    /// Reject the request.
    Strict,
}

impl FieldValidation {
    /// Parses the `fieldValidation` query parameter.
    pub fn parse(text: Option<&str>) -> Result<Self, ApiError> {
        match text {
            None | Some("") | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}. Valid values are Ignore, Warn, Strict"
            ))),
        }
    }
}

/// Options of create, update and patch.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: run everything but the write.
    pub dry_run: bool,
    /// `fieldManager`; routes fill in upstream's default (the User-Agent's
    /// first word) for writes other than apply. `None` (the server's own
    /// writes) records the server as the manager.
    pub field_manager: Option<String>,
    /// `fieldValidation`.
    pub field_validation: FieldValidation,
    /// `force` (server-side apply).
    pub force: bool,
    /// Internal writes the server makes on its own authority (bindings) skip
    /// update validation; never set from a request.
    pub skip_validation: bool,
}

/// Options of list (and the initial state of a watch).
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// `labelSelector`.
    pub labels: Selector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0 = none).
    pub limit: Option<usize>,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `resourceVersionMatch`.
    pub resource_version_match: Option<String>,
}

/// Options of watch.
#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    /// Selectors and resourceVersion.
    pub list: ListParams,
    /// `allowWatchBookmarks`.
    pub allow_bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `timeoutSeconds`, or the server's default.
    pub timeout: Duration,
}

/// `DeleteOptions`, from the body and the query.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `propagationPolicy`: Orphan, Background or Foreground.
    pub propagation_policy: Option<String>,
    /// `preconditions.uid`.
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub precondition_resource_version: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Reads a `DeleteOptions` body (any of its fields may be absent) over
    /// query-parameter defaults.
    pub fn merge_body(mut self, body: &Value) -> Result<Self, ApiError> {
        if body.is_null() {
            return Ok(self);
        }
        if !body.is_object() {
            return Err(ApiError::bad_request("DeleteOptions must be a JSON object"));
        }
        if let Some(v) = body.get("gracePeriodSeconds").filter(|v| !v.is_null()) {
            self.grace_period_seconds =
                Some(v.as_i64().ok_or_else(|| {
                    ApiError::bad_request("gracePeriodSeconds must be an integer")
                })?);
        }
        if let Some(v) = body.get("propagationPolicy").filter(|v| !v.is_null()) {
            self.propagation_policy = Some(
                v.as_str()
                    .ok_or_else(|| ApiError::bad_request("propagationPolicy must be a string"))?
                    .to_owned(),
            );
        }
        if body.get("orphanDependents").and_then(Value::as_bool) == Some(true)
            && self.propagation_policy.is_none()
        {
            self.propagation_policy = Some("Orphan".to_owned());
        }
        if let Some(pre) = body.get("preconditions").and_then(Value::as_object) {
            self.precondition_uid = pre.get("uid").and_then(Value::as_str).map(str::to_owned);
            self.precondition_resource_version = pre
                .get("resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        if let Some(dry) = body.get("dryRun").and_then(Value::as_array) {
            self.dry_run |= dry.iter().any(|v| v.as_str() == Some("All"));
        }
        self.validate()?;
        Ok(self)
    }

    /// Checks values as upstream does.
    pub fn validate(&self) -> Result<(), ApiError> {
        if let Some(p) = &self.propagation_policy
            && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
        {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
        if self.grace_period_seconds.is_some_and(|g| g < 0) {
            return Err(ApiError::bad_request(
                "gracePeriodSeconds: Invalid value: must be greater than or equal to 0",
            ));
        }
        Ok(())
    }
}
