//! The `pod-template-hash` and template equality.
//!
//! Upstream hashes a Go-specific dump of the template; Bosun hashes a
//! canonical JSON rendering instead (keys sorted, `null`s, empty lists and
//! empty maps dropped, resource quantities in canonical form), so the value
//! is stable across processes and independent of field order. Like
//! upstream, it is FNV-1a (32-bit), followed by the collision count as
//! eight little-endian bytes when there is one, and the decimal digits of
//! the sum are mapped through `SafeEncodeString`'s alphabet.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bosun_types::quantity::Quantity;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

use super::deployment_util::DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY;

/// The characters `SafeEncodeString` maps bytes to (no vowels, no 0/1/3).
pub const SAFE_ENCODE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV32_OFFSET: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

/// Keys whose empty object means the same as none: string maps, and
/// fields that are plain (non-pointer) structs upstream, where an absent
/// value reads back as the empty struct.
const MAP_KEYS: &[&str] = &[
    "metadata",
    "spec",
    "resources",
    "labels",
    "annotations",
    "nodeSelector",
    "matchLabels",
    "limits",
    "requests",
    "overhead",
];

/// Keys whose values are maps of resource quantities.
const QUANTITY_MAP_KEYS: &[&str] = &["limits", "requests", "overhead"];

/// Keys whose values are single resource quantities.
const QUANTITY_KEYS: &[&str] = &["sizeLimit"];

/// 32-bit FNV-1a, continuing from `state` (start with [`fnv1a32_start`]).
pub fn fnv1a32_update(mut state: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        state ^= u32::from(b);
        state = state.wrapping_mul(FNV32_PRIME);
    }
    state
}

/// The FNV-1a 32-bit offset basis.
pub fn fnv1a32_start() -> u32 {
    FNV32_OFFSET
}

/// Upstream's `rand.SafeEncodeString`: each byte of `s` picks
/// `alphabet[byte % 27]`.
pub fn safe_encode_string(s: &str) -> String {
    s.bytes()
        .map(|b| char::from(SAFE_ENCODE_ALPHABET[usize::from(b) % SAFE_ENCODE_ALPHABET.len()]))
        .collect()
}

/// A copy of `template` without the `pod-template-hash` label.
pub fn template_without_hash_label(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = template.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY);
    }
    t
}

/// The normalized JSON form of a template, hash label removed, used both
/// for hashing and for semantic equality.
pub fn normalized_template(template: &PodTemplateSpec) -> Value {
    let mut value =
        serde_json::to_value(template_without_hash_label(template)).unwrap_or(Value::Null);
    normalize(&mut value, None);
    value
}

/// Canonical JSON text of a template: [`normalized_template`] with object
/// keys in sorted order and no insignificant whitespace.
pub fn canonical_template_json(template: &PodTemplateSpec) -> String {
    let mut out = String::new();
    write_canonical(&normalized_template(template), &mut out);
    out
}

/// The `pod-template-hash` of `template` with an optional collision count.
///
/// The hash label itself is ignored, so a ReplicaSet's template hashes the
/// same as the deployment template it came from.
pub fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut state = fnv1a32_update(
        fnv1a32_start(),
        canonical_template_json(template).as_bytes(),
    );
    if let Some(count) = collision_count {
        let mut bytes = [0u8; 8];
        // Go's uint32(int32) conversion: the two's-complement bits.
        bytes[..4].copy_from_slice(&(count as u32).to_le_bytes());
        state = fnv1a32_update(state, &bytes);
    }
    safe_encode_string(&state.to_string())
}

/// Upstream's `EqualIgnoreHash`: whether two templates are semantically
/// equal once the `pod-template-hash` label is removed from both. Absent
/// and empty lists / maps compare equal, as do equal quantities written
/// differently (`1000m` and `1`).
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    normalized_template(a) == normalized_template(b)
}

fn normalize(value: &mut Value, key: Option<&str>) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let remove = match map.get_mut(&k) {
                    Some(child) => {
                        normalize(child, Some(&k));
                        match child {
                            Value::Null => true,
                            Value::Array(a) => a.is_empty(),
                            Value::Object(o) => o.is_empty() && MAP_KEYS.contains(&k.as_str()),
                            _ => false,
                        }
                    }
                    None => false,
                };
                if remove {
                    map.remove(&k);
                }
            }
            if key.is_some_and(|k| QUANTITY_MAP_KEYS.contains(&k)) {
                for v in map.values_mut() {
                    canonical_quantity(v);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                normalize(item, None);
            }
        }
        Value::String(_) if key.is_some_and(|k| QUANTITY_KEYS.contains(&k)) => {
            canonical_quantity(value);
        }
        _ => {}
    }
}

fn canonical_quantity(value: &mut Value) {
    if let Value::String(s) = value
        && let Ok(q) = Quantity::parse(s)
    {
        *s = q.to_canonical_string();
    }
}

/// Writes `value` as JSON with object keys sorted, whatever map order
/// `serde_json` was built with.
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_json_string(s, out),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push_str(&Value::String(s.to_owned()).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::template;
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;

    #[test]
    fn safe_encode_uses_upstream_alphabet() {
        // '0' is 48: 48 % 27 = 21 -> '4'; '9' is 57: 57 % 27 = 3 -> 'f'.
        assert_eq!(safe_encode_string("0"), "4");
        assert_eq!(safe_encode_string("9"), "f");
    }

    #[test]
    fn safe_encode_digits_table() {
        let digits: String = "0123456789"
            .chars()
            .map(|c| safe_encode_string(&c.to_string()))
            .collect();
        // 48..=57 mod 27 = 21..=26, 0..=3
        assert_eq!(digits, "456789bcdf");
    }

    #[test]
    fn fnv1a_known_vectors() {
        assert_eq!(fnv1a32_update(fnv1a32_start(), b""), 0x811c_9dc5);
        assert_eq!(fnv1a32_update(fnv1a32_start(), b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32_update(fnv1a32_start(), b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn hash_is_stable_and_tracks_template() {
        let a = template("nginx:1");
        let h1 = compute_hash(&a, None);
        assert_eq!(h1, compute_hash(&a.clone(), None));
        assert!(
            h1.chars()
                .all(|c| SAFE_ENCODE_ALPHABET.contains(&(c as u8)))
        );
        assert!(!h1.is_empty() && h1.len() <= 10);
        let b = template("nginx:2");
        assert_ne!(h1, compute_hash(&b, None));
    }

    #[test]
    fn hash_ignores_the_hash_label() {
        let a = template("nginx:1");
        let mut labelled = a.clone();
        if let Some(l) = labelled.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            l.insert(
                DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY.into(),
                "whatever".into(),
            );
        }
        assert_eq!(compute_hash(&a, None), compute_hash(&labelled, None));
        assert!(equal_ignore_hash(&a, &labelled));
    }

    #[test]
    fn collision_count_changes_hash() {
        let a = template("nginx:1");
        let none = compute_hash(&a, None);
        let zero = compute_hash(&a, Some(0));
        let one = compute_hash(&a, Some(1));
        assert_ne!(none, zero);
        assert_ne!(zero, one);
    }

    #[test]
    fn semantic_equality() {
        let a = template("nginx:1");
        let mut b = a.clone();
        // Empty annotations map and empty env list mean nothing.
        if let Some(m) = b.metadata.as_mut() {
            m.annotations = Some(BTreeMap::new());
        }
        if let Some(c) = b.spec.as_mut().and_then(|s| s.containers.first_mut()) {
            c.env = Some(vec![]);
        }
        assert!(equal_ignore_hash(&a, &b));
        assert!(!equal_ignore_hash(&a, &template("nginx:2")));
    }

    #[test]
    fn quantities_compare_by_value() {
        let with_cpu = |cpu: &str| {
            let mut t = template("nginx:1");
            if let Some(c) = t.spec.as_mut().and_then(|s| s.containers.first_mut()) {
                c.resources = Some(ResourceRequirements {
                    limits: Some(BTreeMap::from([(
                        "cpu".to_owned(),
                        WireQuantity(cpu.to_owned()),
                    )])),
                    ..ResourceRequirements::default()
                });
            }
            t
        };
        assert!(equal_ignore_hash(&with_cpu("1"), &with_cpu("1000m")));
        assert!(!equal_ignore_hash(&with_cpu("1"), &with_cpu("2")));
        assert_eq!(
            compute_hash(&with_cpu("1"), None),
            compute_hash(&with_cpu("1000m"), None)
        );
    }

    #[test]
    fn hash_is_pinned() {
        // Changing the canonical form renames every ReplicaSet: keep it fixed.
        let t = template("nginx:1");
        assert_eq!(
            canonical_template_json(&t),
            r#"{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx:1","name":"app"}]}}"#
        );
        let expected = safe_encode_string(
            &fnv1a32_update(fnv1a32_start(), canonical_template_json(&t).as_bytes()).to_string(),
        );
        assert_eq!(compute_hash(&t, None), expected);
        assert_eq!(compute_hash(&t, None), PINNED_HASH);
    }

    const PINNED_HASH: &str = "f6c9c4f89";

    #[test]
    fn empty_metadata_equals_none() {
        let mut a = template("nginx:1");
        a.metadata = None;
        let mut b = a.clone();
        b.metadata = Some(Default::default());
        assert!(equal_ignore_hash(&a, &b));
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v: Value = serde_json::json!({"b": 1, "a": {"d": [1, "x"], "c": true}});
        let mut out = String::new();
        write_canonical(&v, &mut out);
        assert_eq!(out, r#"{"a":{"c":true,"d":[1,"x"]},"b":1}"#);
    }
}
