//! API errors as Kubernetes `Status` objects, and the one place storage
//! errors become them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bosun_storage::StorageError;
use bosun_types::resources::ResourceInfo;
use serde_json::{Value, json};

/// One `details.causes` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Upstream's cause type, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// The human message.
    pub message: String,
    /// The field path, e.g. `spec.replicas`.
    pub field: String,
}

/// An error answered as a `Status` object with matching HTTP code.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code (also `Status.code`).
    pub code: u16,
    /// `Status.reason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// `Status.message`.
    pub message: String,
    /// `Status.details`, when upstream sends them.
    pub details: Option<Value>,
    /// Seconds for a `Retry-After` header (429 answers).
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// `pods` for core resources, `deployments.apps` otherwise: how upstream names
/// a resource in messages.
pub fn qualified(resource: &ResourceInfo) -> String {
    if resource.group.is_empty() {
        resource.plural.to_owned()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    }
}

/// `Pod` for core kinds, `Deployment.apps` otherwise: how upstream names a
/// kind in `Invalid` messages.
pub fn qualified_kind(resource: &ResourceInfo) -> String {
    if resource.group.is_empty() {
        resource.kind.to_owned()
    } else {
        format!("{}.{}", resource.kind, resource.group)
    }
}

fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = serde_json::Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    if !kind.is_empty() {
        d.insert("kind".into(), json!(kind));
    }
    Value::Object(d)
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 404 for a named object.
    pub fn not_found(resource: &ResourceInfo, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(resource)),
        )
        .with_details(details(name, resource.group, resource.plural))
    }

    /// 404 for a path the server does not serve.
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// 409 on create of an existing object.
    pub fn already_exists(resource: &ResourceInfo, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(resource)),
        )
        .with_details(details(name, resource.group, resource.plural))
    }

    /// 409 on a stale write.
    pub fn conflict(resource: &ResourceInfo, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(resource)
            ),
        )
        .with_details(details(name, resource.group, resource.plural))
    }

    /// The conflict upstream reports when `resourceVersion` is stale.
    pub fn stale(resource: &ResourceInfo, name: &str) -> Self {
        Self::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with one cause per field problem.
    pub fn invalid(resource: &ResourceInfo, name: &str, causes: Vec<Cause>) -> Self {
        Self::invalid_kind(resource.group, resource.kind, name, causes)
    }

    /// 422 with one cause per field problem, for an object of `kind` in
    /// `group` (`PatchOptions` in `meta.k8s.io` for bad request options).
    pub fn invalid_kind(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let summary = match causes.as_slice() {
            [one] => format_cause(one),
            many => format!(
                "[{}]",
                many.iter().map(format_cause).collect::<Vec<_>>().join(", ")
            ),
        };
        let mut d = details(name, group, kind);
        if let Some(map) = d.as_object_mut() {
            map.insert("causes".into(), causes_value(&causes));
        }
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        Self::new(
            422,
            "Invalid",
            format!("{qualified} \"{name}\" is invalid: {summary}"),
        )
        .with_details(d)
    }

    /// 409 for a server-side apply whose fields other managers own: the
    /// conflicts' text and one cause per conflicting field, no name or kind,
    /// as upstream's `NewApplyConflict`.
    pub fn apply_conflict(message: impl Into<String>, causes: Vec<Cause>) -> Self {
        Self::new(409, "Conflict", message).with_details(json!({"causes": causes_value(&causes)}))
    }

    /// An error upstream reports without a reason (`StatusReasonUnknown`):
    /// kubectl prints it as `Error from server: <message>`.
    pub fn unknown(code: u16, message: impl Into<String>) -> Self {
        Self::new(code, "", message)
    }

    /// 422 for a patch that cannot be applied to the object.
    pub fn invalid_patch(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 403 for a request about one object, as upstream's `NewForbidden`
    /// (what admission plugins answer): `pods "web" is forbidden: <why>`,
    /// or `pods is forbidden: <why>` without a name.
    pub fn forbidden_object(
        resource: &ResourceInfo,
        name: &str,
        why: impl std::fmt::Display,
    ) -> Self {
        let message = if name.is_empty() {
            format!("{} is forbidden: {why}", qualified(resource))
        } else {
            format!("{} \"{name}\" is forbidden: {why}", qualified(resource))
        };
        Self::new(403, "Forbidden", message).with_details(details(
            name,
            resource.group,
            resource.plural,
        ))
    }

    /// 403 for writes into a namespace being deleted.
    pub fn namespace_terminating(namespace: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!("unable to create new content in namespace {namespace} because it is being terminated"),
        )
        .with_details(json!({"name": namespace, "kind": "namespaces", "causes": [{
            "reason": "NamespaceTerminating",
            "message": format!("namespace {namespace} is being terminated"),
            "field": "metadata.namespace"
        }]}))
    }

    /// 401 for requests without a valid client certificate.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    /// 406 when no acceptable response type exists.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    /// 415 for bodies in a format the endpoint does not take.
    pub fn unsupported_media_type(content_type: &str, accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
        .with_details(json!({"causes": [{"reason": "UnsupportedMediaType", "message": content_type}]}))
    }

    /// 410 for watches and lists of history no longer held.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 413 for bodies over the limit.
    pub fn too_large() -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            "the server has received too large of a request body",
        )
    }

    /// 429 with a retry hint.
    pub fn too_many_requests() -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "too many requests, please try again later",
        );
        e.retry_after = Some(1);
        e.details = Some(json!({"retryAfterSeconds": 1}));
        e
    }

    /// 429 for a request a policy refuses for now, as upstream's
    /// `NewTooManyRequests`: the message as given, one cause of
    /// `cause_type`, and `retryAfterSeconds` with a `Retry-After` header
    /// only when `retry_after` is positive.
    pub fn too_many_requests_because(
        message: impl Into<String>,
        retry_after: u64,
        cause_type: &str,
        cause: String,
    ) -> Self {
        let mut details = json!({"causes": [{"reason": cause_type, "message": cause}]});
        if retry_after > 0 {
            details["retryAfterSeconds"] = json!(retry_after);
        }
        let mut e = Self::new(429, "TooManyRequests", message).with_details(details);
        e.retry_after = (retry_after > 0).then_some(retry_after);
        e
    }

    /// A failure `Status` with only a code and a message (no reason), as
    /// upstream answers when a handler returns such a `Status` itself.
    pub fn failure(code: u16, message: impl Into<String>) -> Self {
        Self::new(code, "", message)
    }

    /// 500 with a message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
        .with_details(json!({"causes": [{"message": "internal error"}]}))
    }

    /// 503 when storage is unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message.into())
    }

    /// 504 for reads at a revision the server has not reached.
    pub fn too_large_resource_version(requested: &str, current: i64) -> Self {
        Self::new(504, "Timeout", format!("Too large resource version: {requested}, current: {current}"))
            .with_details(json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}))
    }

    /// The `Status` object body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if self.reason.is_empty()
            && let Some(map) = status.as_object_mut()
        {
            map.remove("reason");
        }
        if let (Some(details), Some(map)) = (&self.details, status.as_object_mut()) {
            map.insert("details".into(), details.clone());
        }
        status
    }

    /// Maps a storage error for an operation on `name` of `resource`. This is
    /// the single place storage errors become API errors.
    pub fn from_storage(err: StorageError, resource: &ResourceInfo, name: &str) -> Self {
        match err {
            StorageError::NotFound { .. } => Self::not_found(resource, name),
            StorageError::AlreadyExists { .. } => Self::already_exists(resource, name),
            StorageError::Conflict { .. } => Self::stale(resource, name),
            StorageError::Compacted { .. } => {
                Self::expired("The resourceVersion for the provided list is too old.")
            }
            StorageError::InvalidArgument(msg) if msg.contains("continue") => {
                Self::bad_request(format!("continue key is not valid: {msg}"))
            }
            StorageError::InvalidArgument(msg) if msg.contains("too large") => {
                Self::too_large_request_for_storage()
            }
            StorageError::InvalidArgument(msg) => Self::bad_request(msg),
            StorageError::Unavailable(msg) => Self::unavailable(msg),
            StorageError::Internal(msg) => Self::internal(msg),
        }
    }

    fn too_large_request_for_storage() -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
        )
    }
}

fn causes_value(causes: &[Cause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect(),
    )
}

fn format_cause(cause: &Cause) -> String {
    if cause.field.is_empty() {
        cause.message.clone()
    } else {
        format!("{}: {}", cause.field, cause.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.to_status()).unwrap_or_default();
        let mut response = (code, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_types::resources::find_by_plural;

    fn res(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
        find_by_plural(group, version, plural).expect("known resource")
    }

    #[test]
    fn not_found_reads_like_upstream() {
        let status = ApiError::not_found(res("", "v1", "pods"), "nosuch").to_status();
        assert_eq!(status["message"], "pods \"nosuch\" not found");
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["details"], json!({"name": "nosuch", "kind": "pods"}));
        let status = ApiError::already_exists(res("apps", "v1", "deployments"), "web").to_status();
        assert_eq!(status["message"], "deployments.apps \"web\" already exists");
        assert_eq!(status["details"]["group"], "apps");
    }

    #[test]
    fn forbidden_object_names_the_resource_and_object() {
        let status = ApiError::forbidden_object(
            res("", "v1", "pods"),
            "web",
            "no PriorityClass with name x was found",
        )
        .to_status();
        assert_eq!(
            status["message"],
            "pods \"web\" is forbidden: no PriorityClass with name x was found"
        );
        assert_eq!(
            (status["code"].clone(), status["reason"].clone()),
            (json!(403), json!("Forbidden"))
        );
        assert_eq!(status["details"], json!({"name": "web", "kind": "pods"}));
        let status = ApiError::forbidden_object(
            res("scheduling.k8s.io", "v1", "priorityclasses"),
            "",
            "why",
        )
        .to_status();
        assert_eq!(
            status["message"],
            "priorityclasses.scheduling.k8s.io is forbidden: why"
        );
        assert_eq!(status["details"]["group"], "scheduling.k8s.io");
    }

    #[test]
    fn invalid_lists_causes_and_qualified_kind() {
        let causes = vec![
            Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "spec.a".into(),
            },
            Cause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: 1".into(),
                field: "spec.b".into(),
            },
        ];
        let status = ApiError::invalid(res("apps", "v1", "deployments"), "web", causes).to_status();
        assert_eq!(
            status["message"],
            "Deployment.apps \"web\" is invalid: [spec.a: Required value, spec.b: Invalid value: 1]"
        );
        assert_eq!(status["code"], 422);
        assert_eq!(status["details"]["kind"], "Deployment");
        assert_eq!(status["details"]["causes"][1]["field"], "spec.b");
    }
}
