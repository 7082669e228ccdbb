//! The server's side of the field manager: the built-in schemas, the field
//! manager of a resource (and subresource), upstream's default manager
//! name and request option checks, apply bodies and the API errors of
//! apply, and the managedFields every create, update and patch records.

use super::{
    ApplyError, CAUSE_TYPE_FIELD_MANAGER_CONFLICT, FieldManager, FieldSet, OpenApiSchemas,
    go_format, is_reset_managed_fields, remove_managed_fields, reset_fields_for,
    sort_managed_fields, write_managed_fields,
};
use crate::registry::meta;
use crate::status::{ApiError, Cause};
use bosun_types::resources::ResourceInfo;
use serde_json::Value;
use std::sync::OnceLock;

/// Upstream's limit on the length of `fieldManager`, in bytes.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// The manager recorded for writes the server makes on its own authority
/// (system objects created at start-up, registry calls without a
/// manager), as upstream's loopback client names itself.
pub const SERVER_MANAGER: &str = "kube-apiserver";

/// The built-in schemas as server-side apply reads them, built on first use
/// over the shared OpenAPI catalog.
pub fn schemas() -> &'static OpenApiSchemas {
    static SCHEMAS: OnceLock<OpenApiSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| OpenApiSchemas::borrowed(crate::openapi::component_schemas()))
}

/// The manager upstream records when a request names none: the User-Agent
/// up to its first `/`, without unprintable characters, cut before it
/// would exceed [`FIELD_MANAGER_MAX_LENGTH`] bytes (`kubectl/v1.32.0
/// (linux/amd64) kubernetes/abc` → `kubectl`).
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars().filter(|c| is_printable(*c)) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// Go's `unicode.IsPrint` for the characters a field manager may hold:
/// letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_printable(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || is_format_or_unassigned(c))
}

/// Format characters and other invisibles Go does not print.
fn is_format_or_unassigned(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
        || ('\u{e000}'..='\u{f8ff}').contains(&c)
}

/// Which write options are being checked, for upstream's `Invalid` error
/// (`PatchOptions.meta.k8s.io "" is invalid: ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionsKind {
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH, of the given type.
    Patch {
        /// Whether the patch is a server-side apply.
        apply: bool,
        /// Whether the request had a `force` parameter.
        force_given: bool,
    },
}

/// Checks `fieldManager` (and, for patches, `force`) as upstream validates
/// `CreateOptions`, `UpdateOptions` and `PatchOptions`: apply needs a
/// manager, only apply takes `force`, a manager is at most 128 bytes of
/// printable characters. Problems are one 422 naming every cause.
pub fn validate_options(kind: OptionsKind, field_manager: Option<&str>) -> Result<(), ApiError> {
    let manager = field_manager.unwrap_or("");
    let mut causes = Vec::new();
    let options_kind = match kind {
        OptionsKind::Create => "CreateOptions",
        OptionsKind::Update => "UpdateOptions",
        OptionsKind::Patch { apply, force_given } => {
            if !apply && force_given {
                causes.push(Cause {
                    reason: "FieldValueForbidden".into(),
                    message: "Forbidden: may not be specified for non-apply patch".into(),
                    field: "force".into(),
                });
            }
            if apply && manager.is_empty() {
                causes.push(Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value: is required for apply patch".into(),
                    field: "fieldManager".into(),
                });
            }
            "PatchOptions"
        }
    };
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        causes.push(Cause {
            reason: "FieldValueTooLong".into(),
            message: format!("Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"),
            field: "fieldManager".into(),
        });
    }
    for (i, c) in manager.char_indices() {
        if !is_printable(c) {
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!(
                    "Invalid value: {}: invalid character U+{:04X} (at position {i})",
                    go_format::go_quote(manager),
                    u32::from(c)
                ),
                field: "fieldManager".into(),
            });
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_kind(
            "meta.k8s.io",
            options_kind,
            "",
            causes,
        ))
    }
}

/// The fields a write to `subresource` of `resource` never owns (upstream's
/// `GetResetFields`): `status` for the main resource of kinds with a status
/// subresource, `spec` (and a few metadata fields) for `status` writes.
fn reset_fields(resource: &ResourceInfo, subresource: Option<&str>) -> FieldSet {
    match subresource {
        None if crate::registry::strategy::for_resource(resource).status_subresource => {
            reset_fields_for(resource.kind, "")
        }
        None => FieldSet::new(),
        Some("status") => reset_fields_for(resource.kind, "status"),
        Some(_) => FieldSet::new(),
    }
}

/// The field manager of writes to `resource` (through `subresource`, if
/// any), over its built-in schema; kinds without one get a schema deduced
/// from their values.
pub fn field_manager(
    resource: &ResourceInfo,
    subresource: Option<&str>,
) -> FieldManager<'static, OpenApiSchemas> {
    FieldManager::new(
        schemas(),
        crate::patch::schema_for(resource),
        &resource.api_version(),
    )
    .with_kind(resource.kind)
    .with_subresource(subresource)
    .with_reset_fields(reset_fields(resource, subresource))
}

/// Records in `new`'s `metadata.managedFields` what `manager` changed from
/// `old` (`None` on create) through `subresource`: upstream's field
/// manager on create, update and every non-apply patch. Writes through
/// `scale` are recorded against the parent's `spec.replicas` without a
/// time, as upstream's scale handler does. When ownership cannot be
/// computed the entries are dropped, as upstream's `UpdateNoErrors` does.
pub fn record(
    resource: &ResourceInfo,
    subresource: Option<&str>,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
) {
    let now = meta::now_rfc3339();
    // A create is compared with Go's zero value of the kind, as upstream's
    // `New()` object: fields present there (non-pointer structs) are
    // modified, not added, so they carry no `.` member.
    let zero = match old {
        None => zero_value(resource),
        Some(_) => None,
    };
    let old = old.or(zero.as_deref());
    match field_manager(resource, subresource).record_update(old, new, manager, &now) {
        Ok(mut entries) => {
            if subresource == Some("scale") {
                for entry in entries.iter_mut().filter(|e| e.subresource == "scale") {
                    entry.time = None;
                }
                sort_managed_fields(&mut entries);
            }
            write_managed_fields(new, &entries);
        }
        Err(err) => {
            tracing::warn!(kind = resource.kind, name = meta::name(new), error = %err,
                "failed to update managedFields; dropping them");
            remove_managed_fields(new);
        }
    }
}

/// Turns a request's reset of managedFields (`[]`, or kubectl's documented
/// `[{}]`) into `[]` before validation sees it: the reset is the field
/// manager's business, as upstream's handlers apply it first.
pub fn normalize_reset(object: &mut Value) {
    if is_reset_managed_fields(object)
        && let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.insert("managedFields".into(), Value::Array(Vec::new()));
    }
}

/// Go's zero value of a resource's kind, built once per kind.
fn zero_value(resource: &ResourceInfo) -> Option<std::sync::Arc<Value>> {
    type Zeros = std::sync::RwLock<
        std::collections::HashMap<
            (&'static str, &'static str, &'static str),
            Option<std::sync::Arc<Value>>,
        >,
    >;
    static ZEROS: OnceLock<Zeros> = OnceLock::new();
    let zeros = ZEROS.get_or_init(Zeros::default);
    let key = (resource.group, resource.version, resource.kind);
    if let Ok(map) = zeros.read()
        && let Some(zero) = map.get(&key)
    {
        return zero.clone();
    }
    let zero = crate::protobuf::zero_value(&resource.api_version(), resource.kind)
        .map(std::sync::Arc::new);
    if let Ok(mut map) = zeros.write() {
        map.insert(key, zero.clone());
    }
    zero
}

/// Decodes an `application/apply-patch+yaml` body: YAML, of which JSON is a
/// subset (kubectl sends JSON). Malformed bodies are upstream's 400.
pub fn decode_applied(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<Value>(text)
    {
        return Ok(value);
    }
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

/// The API error of a failed apply: 409 `Conflict` with one
/// `FieldManagerConflict` cause per conflicting field; 400 for malformed
/// applied configurations; otherwise upstream's bare 500, whose message
/// kubectl prints as `Error from server: <message>`.
pub fn api_error(err: &ApplyError) -> ApiError {
    match err {
        ApplyError::Conflicts(conflicts) => ApiError::apply_conflict(
            err.to_string(),
            conflicts
                .iter()
                .map(|c| Cause {
                    reason: CAUSE_TYPE_FIELD_MANAGER_CONFLICT.into(),
                    message: c.cause_message(),
                    field: c.field(),
                })
                .collect(),
        ),
        _ if err.http_status() == 400 => ApiError::bad_request(err.to_string()),
        _ => ApiError::unknown(err.http_status(), err.to_string()),
    }
}

#[cfg(test)]
mod server_tests {
    use super::*;

    #[test]
    fn managers_default_to_the_user_agent_prefix() {
        assert_eq!(
            manager_from_user_agent("kubectl/v1.32.0 (linux/amd64) kubernetes/4cb5f07"),
            "kubectl"
        );
        assert_eq!(
            manager_from_user_agent("kubectl.1.32/v1.32.5 (linux/amd64)"),
            "kubectl.1.32"
        );
        assert_eq!(manager_from_user_agent("curl\u{7}x/8"), "curlx");
        assert_eq!(manager_from_user_agent(""), "");
        assert_eq!(manager_from_user_agent(&"é".repeat(100)).len(), 128);
    }

    #[test]
    fn options_follow_upstream_validation() {
        let apply = OptionsKind::Patch {
            apply: true,
            force_given: false,
        };
        let err = validate_options(apply, None).expect_err("required");
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
        );
        let forced = OptionsKind::Patch {
            apply: false,
            force_given: true,
        };
        assert!(
            validate_options(forced, Some("m"))
                .expect_err("force")
                .message
                .contains("force: Forbidden: may not be specified for non-apply patch")
        );
        assert!(
            validate_options(OptionsKind::Create, Some(&"x".repeat(129)))
                .expect_err("long")
                .message
                .starts_with("CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long")
        );
        assert!(validate_options(OptionsKind::Update, Some("kubectl-edit")).is_ok());
        assert!(validate_options(apply, Some("kubectl")).is_ok());
    }

    fn deployments() -> &'static ResourceInfo {
        bosun_types::resources::find_by_plural("apps", "v1", "deployments").expect("deployments")
    }

    fn fields_of(object: &Value, manager: &str) -> Value {
        object["metadata"]["managedFields"]
            .as_array()
            .and_then(|entries| entries.iter().find(|e| e["manager"] == manager))
            .map(|e| e["fieldsV1"].clone())
            .unwrap_or(Value::Null)
    }

    #[test]
    fn creates_own_what_they_sent_as_on_a_real_cluster() {
        let mut deployment = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}],
                        "restartPolicy": "Always"}}}
        });
        record(deployments(), None, None, &mut deployment, "kubectl-create");
        let entry = &deployment["metadata"]["managedFields"][0];
        assert_eq!(
            (&entry["manager"], &entry["operation"], &entry["apiVersion"]),
            (
                &serde_json::json!("kubectl-create"),
                &serde_json::json!("Update"),
                &serde_json::json!("apps/v1")
            )
        );
        assert!(entry["time"].is_string());
        assert_eq!(
            fields_of(&deployment, "kubectl-create"),
            serde_json::json!({
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
                    "f:template": {
                        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                        "f:spec": {
                            "f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}},
                            "f:restartPolicy": {}
                        }
                    }
                }
            })
        );
    }

    #[test]
    fn updates_that_change_nothing_keep_managed_fields_as_they_are() {
        let mut created = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "uid": "u", "labels": {"app": "web"}},
            "spec": {"replicas": 1}
        });
        record(deployments(), None, None, &mut created, "kubectl-create");
        let mut same = created.clone();
        record(
            deployments(),
            None,
            Some(&created),
            &mut same,
            "kubectl-edit",
        );
        assert_eq!(same, created);
        let mut scaled = created.clone();
        scaled["spec"]["replicas"] = serde_json::json!(3);
        record(
            deployments(),
            Some("scale"),
            Some(&created),
            &mut scaled,
            "kubectl",
        );
        let entries = scaled["metadata"]["managedFields"]
            .as_array()
            .expect("entries")
            .clone();
        let scale = entries
            .iter()
            .find(|e| e["subresource"] == "scale")
            .expect("scale entry");
        assert_eq!(
            scale["fieldsV1"],
            serde_json::json!({"f:spec": {"f:replicas": {}}})
        );
        assert!(scale.get("time").is_none(), "{scale}");
        // Stored in upstream's order (no time sorts first), so the same
        // scale again is a no-op.
        assert_eq!(entries[0]["subresource"], "scale");
        let mut again = scaled.clone();
        record(
            deployments(),
            Some("scale"),
            Some(&scaled),
            &mut again,
            "kubectl",
        );
        assert_eq!(again, scaled);
        assert_eq!(
            fields_of(&scaled, "kubectl-create"),
            serde_json::json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
        );
        // `managedFields: []` resets tracking.
        let mut reset = created.clone();
        reset["metadata"]["managedFields"] = serde_json::json!([]);
        reset["spec"]["replicas"] = serde_json::json!(2);
        record(deployments(), None, Some(&created), &mut reset, "kubectl");
        assert!(reset["metadata"].get("managedFields").is_none(), "{reset}");
    }

    #[test]
    fn apply_bodies_may_be_yaml_or_json() {
        let json = decode_applied(br#"{"kind": "ConfigMap", "data": {"a": "1"}}"#).expect("json");
        let yaml = decode_applied(b"kind: ConfigMap\ndata:\n  a: \"1\"\n").expect("yaml");
        assert_eq!(json, yaml);
        assert_eq!(decode_applied(b"kind: [").expect_err("bad").code, 400);
    }
}
