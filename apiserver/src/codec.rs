//! The one place objects become stored bytes and back. Stored objects carry no
//! `resourceVersion`: it is the storage revision, stamped on the way out.

use crate::registry::meta::metadata_mut;
use crate::status::ApiError;
use bosun_storage::KeyValue;
use serde_json::Value;

/// Serializes an object for storage, dropping fields the revision supplies.
pub fn encode(object: &Value) -> Result<Vec<u8>, ApiError> {
    let mut stored = object.clone();
    let meta = metadata_mut(&mut stored);
    meta.remove("resourceVersion");
    meta.remove("selfLink");
    serde_json::to_vec(&stored).map_err(|e| ApiError::internal(format!("encoding object: {e}")))
}

/// Decodes stored bytes, stamping `resourceVersion` with `revision`.
pub fn decode_at(bytes: &[u8], revision: i64) -> Result<Value, ApiError> {
    let mut object: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("decoding stored object: {e}")))?;
    metadata_mut(&mut object).insert(
        "resourceVersion".into(),
        Value::String(revision.to_string()),
    );
    Ok(object)
}

/// Decodes a stored pair at its mod revision.
pub fn decode(kv: &KeyValue) -> Result<Value, ApiError> {
    decode_at(&kv.value, kv.mod_revision)
}

/// Parses a client-supplied `resourceVersion`; `None` for empty.
pub fn parse_resource_version(text: &str) -> Result<Option<i64>, ApiError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .map(Some)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_bytes_carry_no_resource_version_and_reads_stamp_it() {
        let obj = json!({"metadata": {"name": "a", "resourceVersion": "5", "selfLink": "/x"}});
        let bytes = encode(&obj).expect("encode");
        assert!(!String::from_utf8_lossy(&bytes).contains("resourceVersion"));
        let back = decode_at(&bytes, 42).expect("decode");
        assert_eq!(back["metadata"]["resourceVersion"], "42");
    }

    #[test]
    fn resource_versions_must_be_non_negative_integers() {
        assert_eq!(parse_resource_version("").ok(), Some(None));
        assert_eq!(parse_resource_version("12").ok(), Some(Some(12)));
        assert!(parse_resource_version("abc").is_err());
        assert!(parse_resource_version("-1").is_err());
    }
}
