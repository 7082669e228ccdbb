//! Patch documents: JSON patch (RFC 6902) and JSON merge patch (RFC 7386).
//! Strategic merge patch and server-side apply arrive with the
//! kubectl-mutations work.

use crate::status::ApiError;
use serde_json::Value;

/// The patch types, by request Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/json-patch+json`.
    Json,
    /// `application/merge-patch+json`.
    Merge,
}

/// A patch document and its type.
#[derive(Debug, Clone, Copy)]
pub struct Patch<'a> {
    /// The type, from the Content-Type.
    pub kind: PatchKind,
    /// The document.
    pub body: &'a [u8],
}

/// Patch content types this server accepts, for 415 answers.
pub const ACCEPTED: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
];

impl PatchKind {
    /// The patch type of a Content-Type header value.
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
            _ => Err(ApiError::unsupported_media_type(content_type, ACCEPTED)),
        }
    }
}

/// Applies a patch document to `current`.
pub fn apply(kind: PatchKind, current: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let mut document = current.clone();
    match kind {
        PatchKind::Json => {
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut document, &patch).map_err(|e| {
                ApiError::invalid_patch(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
        }
        PatchKind::Merge => {
            let patch: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(&mut document, &patch);
        }
    }
    Ok(document)
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
        )
        .expect("patch");
        assert_eq!(patched["spec"]["replicas"], 3);
        let err = apply(
            PatchKind::Json,
            &current,
            br#"[{"op":"remove","path":"/nope"}]"#,
        )
        .expect_err("bad path");
        assert_eq!(err.code, 422);
        assert_eq!(
            apply(PatchKind::Json, &current, b"{")
                .expect_err("malformed")
                .code,
            400
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
