//! The one place objects become stored bytes and back. Stored objects carry no
//! `resourceVersion`: it is the storage revision, stamped on the way out.

use crate::registry::meta::metadata_mut;
use crate::status::ApiError;
use bosun_storage::KeyValue;
use bosun_types::resources::ResourceInfo;
use serde_json::Value;

/// `apiVersion` of the version a resource's objects are stored in.
fn storage_api_version(resource: &ResourceInfo) -> Option<String> {
    let storage = resource.storage?;
    if storage.group == resource.group && storage.version == resource.version {
        return None;
    }
    Some(if storage.group.is_empty() {
        storage.version.to_owned()
    } else {
        format!("{}/{}", storage.group, storage.version)
    })
}

/// Converts an object served as `resource` into its storage version (events
/// of events.k8s.io are stored as core Events, autoscaling/v1 HPAs as v2).
pub fn to_storage(resource: &ResourceInfo, object: Value) -> Value {
    match storage_api_version(resource) {
        Some(stored) => {
            crate::convert::convert(resource.kind, &resource.api_version(), &stored, object)
        }
        None => object,
    }
}

/// Converts a stored object into the version `resource` serves.
pub fn from_storage(resource: &ResourceInfo, object: Value) -> Value {
    match storage_api_version(resource) {
        Some(stored) => {
            crate::convert::convert(resource.kind, &stored, &resource.api_version(), object)
        }
        None => object,
    }
}

/// Serializes an object served as `resource` for storage, in the storage version.
pub fn encode_as(resource: &ResourceInfo, object: &Value) -> Result<Vec<u8>, ApiError> {
    if storage_api_version(resource).is_none() {
        return encode(object);
    }
    encode(&to_storage(resource, object.clone()))
}

/// Decodes a stored pair into the version `resource` serves.
pub fn decode_as(resource: &ResourceInfo, kv: &KeyValue) -> Result<Value, ApiError> {
    decode_as_at(resource, &kv.value, kv.mod_revision)
}

/// Decodes stored bytes at `revision` into the version `resource` serves.
pub fn decode_as_at(
    resource: &ResourceInfo,
    bytes: &[u8],
    revision: i64,
) -> Result<Value, ApiError> {
    Ok(from_storage(resource, decode_at(bytes, revision)?))
}

/// Re-expresses cached JSON (storage version, no type fields) as `wanted`
/// serves it; `with_type` adds `apiVersion`/`kind` (objects) or leaves them
/// out (list items).
pub fn convert_cached(
    json: &[u8],
    stored: &ResourceInfo,
    wanted: &ResourceInfo,
    with_type: bool,
) -> bytes::Bytes {
    let mut object: Value = serde_json::from_slice(json).unwrap_or(Value::Null);
    crate::registry::set_type_meta(&mut object, stored);
    let mut object = from_storage(wanted, object);
    crate::registry::set_type_meta(&mut object, wanted);
    if !with_type && let Some(map) = object.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    bytes::Bytes::from(serde_json::to_vec(&object).unwrap_or_default())
}

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
