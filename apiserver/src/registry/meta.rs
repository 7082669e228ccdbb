//! Helpers over objects in their JSON wire form: reading and writing
//! `metadata` fields, timestamps, generated names.

use serde_json::{Map, Value};

/// `metadata` of an object, if it is a JSON object.
pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.as_object()
}

/// `metadata`, created empty if missing or not an object.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let map = obj.as_object_mut().expect("object ensured above");
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("object ensured above")
}

/// A string field of `metadata` (`""` if absent or not a string).
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    metadata(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The object's name.
pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name")
}

/// The object's namespace.
pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace")
}

/// The object's labels as a map (empty if absent or malformed).
pub fn labels(obj: &Value) -> std::collections::BTreeMap<String, String> {
    string_map(metadata(obj).and_then(|m| m.get("labels")))
}

/// A JSON object of strings as a map; other values are skipped.
pub fn string_map(value: Option<&Value>) -> std::collections::BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The finalizers (strings only).
pub fn finalizers(obj: &Value) -> Vec<String> {
    metadata(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    metadata(obj)
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
}

/// Reads a nested field by path.
pub fn get_path<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

/// Now, as the RFC 3339 seconds-precision UTC string Kubernetes uses.
pub fn now_rfc3339() -> String {
    format_timestamp(jiff::Timestamp::now().as_second())
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_timestamp(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Parses an RFC 3339 timestamp to seconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Seconds since the epoch now.
pub fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Upstream's generated-name suffix: 5 characters from an alphabet without
/// vowels and look-alikes.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4().as_bytes()[..5]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A new object UID.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_are_seconds_precision_utc() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_timestamp("2024-01-02T03:04:05Z"), Some(1_704_164_645));
        assert_eq!(format_timestamp(1_704_164_645), "2024-01-02T03:04:05Z");
    }

    #[test]
    fn metadata_mut_repairs_non_objects() {
        let mut v = json!({"metadata": 5});
        metadata_mut(&mut v).insert("name".into(), json!("x"));
        assert_eq!(name(&v), "x");
        let mut v = json!("scalar");
        metadata_mut(&mut v);
        assert!(v["metadata"].is_object());
    }

    #[test]
    fn random_suffix_has_five_safe_characters() {
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(s.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    }
}
