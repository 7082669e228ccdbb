//! Patch documents: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch (submodule [`strategic`], steered by the built-in
//! OpenAPI schemas). Server-side apply (`application/apply-patch+yaml`) is
//! a patch type too, but it merges by field ownership: [`crate::apply`]
//! owns it.

pub mod strategic;

use crate::status::ApiError;
use bosun_types::resources::ResourceInfo;
use serde_json::Value;
use std::sync::OnceLock;

/// The patch types, by request Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/json-patch+json`.
    Json,
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json` (built-in kinds only).
    Strategic,
    /// `application/apply-patch+yaml`: server-side apply.
    Apply,
}

/// A patch document and its type.
#[derive(Debug, Clone, Copy)]
pub struct Patch<'a> {
    /// The type, from the Content-Type.
    pub kind: PatchKind,
    /// The document.
    pub body: &'a [u8],
}

/// Patch content types of built-in kinds, in upstream's order, for 415
/// answers.
pub const ACCEPTED: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// Patch content types of kinds without a built-in type (custom
/// resources): no strategic merge patch, as upstream.
pub const ACCEPTED_CUSTOM: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

/// The component schema of `deployments/scale` and the other `scale`
/// subresources.
pub const SCALE_SCHEMA: &str = "io.k8s.api.autoscaling.v1.Scale";

impl PatchKind {
    /// The patch type of a Content-Type header value (any patch type).
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" => Ok(Self::Apply),
            _ => Err(ApiError::unsupported_media_type(content_type, ACCEPTED)),
        }
    }

    /// The patch type of a request to `resource`: strategic merge patch is
    /// 415 for kinds without a built-in schema, as for upstream's custom
    /// resources.
    pub fn for_resource(content_type: &str, resource: &ResourceInfo) -> Result<Self, ApiError> {
        let builtin = schema_for(resource).is_some();
        let accepted = if builtin { ACCEPTED } else { ACCEPTED_CUSTOM };
        match Self::from_content_type(content_type) {
            Ok(Self::Strategic) if !builtin => Err(ApiError::unsupported_media_type(
                content_type,
                ACCEPTED_CUSTOM,
            )),
            Ok(kind) => Ok(kind),
            Err(_) => Err(ApiError::unsupported_media_type(content_type, accepted)),
        }
    }
}

/// The component schema of a resource's kind (e.g.
/// `io.k8s.api.apps.v1.Deployment`); `None` for kinds without a built-in
/// type.
pub fn schema_for(resource: &ResourceInfo) -> Option<&'static str> {
    crate::openapi::kind_schema(resource.group, resource.version, resource.kind)
}

/// The built-in schemas as strategic merge patch reads them, built on first
/// use over the shared OpenAPI catalog.
pub fn strategic_schemas() -> &'static strategic::OpenApiSchemas {
    static SCHEMAS: OnceLock<strategic::OpenApiSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| strategic::OpenApiSchemas::borrowed(crate::openapi::component_schemas()))
}

fn decode_patch(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// Applies a JSON, merge or strategic merge patch to `current`; `schema`
/// names the document's component schema (strategic merge patch merges
/// lists by it; without one it behaves as a merge patch).
pub fn apply(
    kind: PatchKind,
    current: &Value,
    body: &[u8],
    schema: Option<&str>,
) -> Result<Value, ApiError> {
    match kind {
        PatchKind::Json => {
            let mut document = current.clone();
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut document, &patch).map_err(|e| {
                ApiError::invalid_patch(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            Ok(document)
        }
        PatchKind::Merge => {
            let mut document = current.clone();
            let patch = decode_patch(body)?;
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(&mut document, &patch);
            Ok(document)
        }
        PatchKind::Strategic => {
            let patch = decode_patch(body)?;
            strategic::apply_strategic(current, &patch, strategic_schemas(), schema).map_err(|e| {
                if e.is_bad_request() {
                    ApiError::bad_request(e.to_string())
                } else {
                    ApiError::invalid_patch(format!(
                        "the server rejected our request due to an error in our request: {e}"
                    ))
                }
            })
        }
        PatchKind::Apply => Err(ApiError::internal(
            "apply patches are merged by the field manager",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_sets_and_removes_fields() {
        let current = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let patched = apply(
            PatchKind::Merge,
            &current,
            br#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#,
            None,
        )
        .expect("patch");
        assert_eq!(
            patched,
            json!({"metadata": {"labels": {"b": "2", "c": "3"}}})
        );
    }

    #[test]
    fn json_patch_applies_ops_and_reports_failures() {
        let current = json!({"spec": {"replicas": 1}});
        let patched = apply(
            PatchKind::Json,
            &current,
            br#"[{"op":"replace","path":"/spec/replicas","value":3}]"#,
            None,
        )
        .expect("patch");
        assert_eq!(patched["spec"]["replicas"], 3);
        let err = apply(
            PatchKind::Json,
            &current,
            br#"[{"op":"remove","path":"/nope"}]"#,
            None,
        )
        .expect_err("bad path");
        assert_eq!(err.code, 422);
        assert_eq!(
            apply(PatchKind::Json, &current, b"{", None)
                .expect_err("malformed")
                .code,
            400
        );
    }

    #[test]
    fn strategic_merge_patches_follow_the_kinds_schema() {
        let current = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let body = br#"{"spec":{"containers":[{"name":"b","image":"z"}]}}"#;
        let merged = apply(
            PatchKind::Strategic,
            &current,
            body,
            Some("io.k8s.api.core.v1.Pod"),
        )
        .expect("patch");
        assert_eq!(
            merged["spec"]["containers"],
            json!([{"name": "a", "image": "x"}, {"name": "b", "image": "z"}])
        );
        // Without a schema, lists are replaced as in a merge patch.
        let replaced = apply(PatchKind::Strategic, &current, body, None).expect("patch");
        assert_eq!(
            replaced["spec"]["containers"],
            json!([{"name": "b", "image": "z"}])
        );
        let bad = apply(
            PatchKind::Strategic,
            &current,
            br#"{"$retainKeys":"spec"}"#,
            Some("io.k8s.api.core.v1.Pod"),
        )
        .expect_err("bad directive");
        assert_eq!(bad.code, 400, "{}", bad.message);
    }

    #[test]
    fn patch_types_by_resource() {
        let deployments = bosun_types::resources::find_by_plural("apps", "v1", "deployments")
            .expect("deployments");
        assert_eq!(
            PatchKind::for_resource("application/strategic-merge-patch+json", deployments).ok(),
            Some(PatchKind::Strategic)
        );
        assert_eq!(
            PatchKind::for_resource("application/apply-patch+yaml; charset=utf-8", deployments)
                .ok(),
            Some(PatchKind::Apply)
        );
        let cbor =
            PatchKind::for_resource("application/apply-patch+cbor", deployments).expect_err("cbor");
        assert_eq!(cbor.code, 415);
        assert!(
            cbor.message.ends_with("application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"),
            "{}",
            cbor.message
        );
        // A kind without a built-in type, as a custom resource: no
        // strategic merge patch.
        let widgets = ResourceInfo {
            group: "example.com",
            kind: "Widget",
            plural: "widgets",
            ..*deployments
        };
        assert_eq!(schema_for(&widgets), None);
        let err = PatchKind::for_resource("application/strategic-merge-patch+json", &widgets)
            .expect_err("415");
        assert_eq!(err.code, 415);
        assert!(
            err.message.ends_with("application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
            "{}",
            err.message
        );
        assert_eq!(
            PatchKind::for_resource("application/merge-patch+json", &widgets).ok(),
            Some(PatchKind::Merge)
        );
    }

    #[test]
    fn unknown_content_types_are_415() {
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json; charset=utf-8").ok(),
            Some(PatchKind::Merge)
        );
        assert_eq!(
            PatchKind::from_content_type("text/plain")
                .expect_err("415")
                .code,
            415
        );
    }
}
