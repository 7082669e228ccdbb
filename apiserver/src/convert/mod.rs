//! Conversions between served API versions that share one storage version.
//!
//! Two pairs of versions are served from one storage location, as in upstream
//! kube-apiserver:
//!
//! * core `v1` and `events.k8s.io/v1` `Event`, stored as core/v1 (see
//!   [`events`]);
//! * `autoscaling/v1` and `autoscaling/v2` `HorizontalPodAutoscaler`, stored as
//!   autoscaling/v2 (see [`autoscaling`]).
//!
//! Objects are converted on their JSON wire form: the request body from the
//! served version into the storage version, and the stored object back into
//! the version the client asked for. Nothing here panics on any input; fields
//! that have to be interpreted and are missing or wrongly typed are left out,
//! fields that are only moved are moved untouched (validation judges them).

pub mod autoscaling;
pub mod events;

use serde_json::{Map, Value};

pub use autoscaling::{ROUND_TRIP_ANNOTATIONS, drop_round_trip_annotations};

/// Converts `object` (JSON wire form, with apiVersion/kind) from `from` ("v1",
/// "events.k8s.io/v1", "autoscaling/v1", "autoscaling/v2") to `to` for `kind`
/// ("Event" | "HorizontalPodAutoscaler"). Identity when from == to. Sets
/// apiVersion (and kind) of the result. Unknown pairs return the object
/// unchanged with apiVersion set to `to`.
///
/// A list (`kind` is `<kind>List`, e.g. `EventList`) has each of its `items`
/// converted; items keep `apiVersion`/`kind` only if they carried them, and the
/// list itself keeps its kind. Input that is not a JSON object comes back as
/// it was.
pub fn convert(kind: &str, from: &str, to: &str, object: Value) -> Value {
    let Value::Object(map) = object else {
        return object;
    };
    let converter = if from == to {
        None
    } else {
        converter_for(kind, from, to)
    };
    let list_kind = format!("{kind}List");
    if map.get("kind").and_then(Value::as_str) == Some(list_kind.as_str()) {
        return Value::Object(convert_list(map, kind, to, converter));
    }
    let Some(converter) = converter else {
        let known = from == to && converter_for(kind, from, other_version(kind, from)).is_some();
        return Value::Object(with_type_meta(map, to, known.then_some(kind)));
    };
    Value::Object(with_type_meta(converter(map), to, Some(kind)))
}

/// A conversion of one object's fields, apiVersion/kind aside.
type Converter = fn(Map<String, Value>) -> Map<String, Value>;

/// The conversion for `kind` from `from` to `to`, if the pair is one of ours.
fn converter_for(kind: &str, from: &str, to: &str) -> Option<Converter> {
    match (kind, from, to) {
        ("Event", "v1", "events.k8s.io/v1") => Some(events::core_to_events),
        ("Event", "events.k8s.io/v1", "v1") => Some(events::events_to_core),
        ("HorizontalPodAutoscaler", "autoscaling/v2", "autoscaling/v1") => {
            Some(autoscaling::v2_to_v1)
        }
        ("HorizontalPodAutoscaler", "autoscaling/v1", "autoscaling/v2") => {
            Some(autoscaling::v1_to_v2)
        }
        _ => None,
    }
}

/// The other served version of `kind` (used to tell a known identity
/// conversion from an unknown pair).
fn other_version<'a>(kind: &str, version: &'a str) -> &'a str {
    match (kind, version) {
        ("Event", "v1") => "events.k8s.io/v1",
        ("Event", "events.k8s.io/v1") => "v1",
        ("HorizontalPodAutoscaler", "autoscaling/v1") => "autoscaling/v2",
        ("HorizontalPodAutoscaler", "autoscaling/v2") => "autoscaling/v1",
        _ => version,
    }
}

/// Converts every object in `items` of a list and stamps the list's apiVersion.
fn convert_list(
    mut list: Map<String, Value>,
    kind: &str,
    to: &str,
    converter: Option<Converter>,
) -> Map<String, Value> {
    if let Some(Value::Array(items)) = list.get_mut("items") {
        for item in items.iter_mut() {
            match std::mem::take(item) {
                Value::Object(map) => {
                    let had_version = map.contains_key("apiVersion");
                    let had_kind = map.contains_key("kind");
                    let mut converted = match converter {
                        Some(converter) => converter(map),
                        None => map,
                    };
                    if had_version {
                        converted.insert("apiVersion".to_owned(), Value::from(to));
                    }
                    if had_kind {
                        converted.insert("kind".to_owned(), Value::from(kind));
                    }
                    *item = Value::Object(converted);
                }
                other => *item = other,
            }
        }
    }
    list.insert("apiVersion".to_owned(), Value::from(to));
    list
}

/// `map` with `apiVersion` (and `kind`, when given) set, those two first.
fn with_type_meta(
    mut map: Map<String, Value>,
    api_version: &str,
    kind: Option<&str>,
) -> Map<String, Value> {
    let mut out = Map::new();
    map.remove("apiVersion");
    out.insert("apiVersion".to_owned(), Value::from(api_version));
    match kind {
        Some(kind) => {
            map.remove("kind");
            out.insert("kind".to_owned(), Value::from(kind));
        }
        None => {
            if let Some(kind) = map.remove("kind") {
                out.insert("kind".to_owned(), kind);
            }
        }
    }
    out.extend(map);
    out
}

// ---------------------------------------------------------------------------
// Reading helpers. `None` stands for "absent": JSON `null` counts as absent,
// as it does for Go's decoder.

/// `value[key]` when `value` is an object and the member is present and not null.
fn get<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    value?.as_object()?.get(key).filter(|v| !v.is_null())
}

/// Like [`get`], but matching `key` the way Go's `encoding/json` matches struct
/// fields: the exact name first, otherwise any ASCII-case-insensitive match.
/// Upstream reads its round-trip annotations with `encoding/json`.
fn get_ci<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    let map = value?.as_object()?;
    map.get(key)
        .or_else(|| {
            map.iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// `value` when it is a JSON object.
fn object(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| v.is_object())
}

/// A string value.
fn string(value: Option<&Value>) -> Option<&str> {
    value?.as_str()
}

/// A string value, with Go's `omitempty` treatment: the empty string is absent.
fn non_empty(value: Option<&Value>) -> Option<&str> {
    string(value).filter(|s| !s.is_empty())
}

/// An `int32` value: an integral JSON number in range.
fn int32(value: Option<&Value>) -> Option<i64> {
    let n = value?.as_i64()?;
    (i64::from(i32::MIN)..=i64::from(i32::MAX))
        .contains(&n)
        .then_some(n)
}

/// A `resource.Quantity` value: a string, or a bare number as Go's decoder
/// also accepts. Not canonicalised.
fn quantity(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Writing JSON text the way Go's `encoding/json` marshals a struct: fields in
// declaration order, map keys sorted, `<`, `>`, `&`, U+2028 and U+2029
// escaped. Used for the annotation values upstream produces with
// `json.Marshal`, so that they read byte for byte as upstream's do.

/// A JSON object under construction, members in insertion order.
struct GoObject {
    text: String,
}

impl GoObject {
    /// An empty object.
    fn new() -> Self {
        GoObject {
            text: String::from("{"),
        }
    }

    /// Adds a member whose value is already JSON text.
    fn raw(&mut self, key: &str, json: &str) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        push_go_string(&mut self.text, key);
        self.text.push(':');
        self.text.push_str(json);
    }

    /// Adds a string member.
    fn string(&mut self, key: &str, value: &str) {
        self.raw(key, &go_string(value));
    }

    /// Adds an integer member.
    fn int(&mut self, key: &str, value: i64) {
        self.raw(key, &value.to_string());
    }

    /// The finished object's text.
    fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// A JSON array of already-encoded elements.
fn go_array(elements: &[String]) -> String {
    format!("[{}]", elements.join(","))
}

/// `s` as a Go-encoded JSON string literal.
fn go_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_go_string(&mut out, s);
    out
}

/// Appends `s` as a JSON string literal escaped as Go's `encoding/json` does.
fn push_go_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                let code = u32::from(c);
                out.push_str("\\u");
                for shift in [12u32, 8, 4, 0] {
                    let digit = HEX
                        .get(((code >> shift) & 0xf) as usize)
                        .copied()
                        .unwrap_or(b'0');
                    out.push(char::from(digit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_version_is_identity_apart_from_type_meta() {
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a", "annotations": {"autoscaling.alpha.kubernetes.io/metrics": "[]"}}, "spec": {"x": 1}});
        assert_eq!(
            convert(
                "HorizontalPodAutoscaler",
                "autoscaling/v2",
                "autoscaling/v2",
                hpa.clone()
            ),
            hpa
        );
        let event = json!({"metadata": {"name": "e"}, "message": "m"});
        assert_eq!(
            convert("Event", "v1", "v1", event),
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "message": "m"})
        );
    }

    #[test]
    fn unknown_pair_only_sets_api_version() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 2}});
        assert_eq!(
            convert("Deployment", "apps/v1", "apps/v1beta2", obj),
            json!({"apiVersion": "apps/v1beta2", "kind": "Deployment", "spec": {"replicas": 2}})
        );
        let event = json!({"kind": "Event", "message": "m"});
        assert_eq!(
            convert("Event", "v1", "autoscaling/v2", event),
            json!({"apiVersion": "autoscaling/v2", "kind": "Event", "message": "m"})
        );
    }

    #[test]
    fn list_items_are_converted_and_keep_their_type_meta_only_if_they_had_it() {
        let list = json!({
            "apiVersion": "v1", "kind": "EventList", "metadata": {"resourceVersion": "9"},
            "items": [
                {"metadata": {"name": "a"}, "message": "one"},
                {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "b"}, "involvedObject": {"name": "p"}},
                "garbage"
            ]
        });
        assert_eq!(
            convert("Event", "v1", "events.k8s.io/v1", list),
            json!({
                "apiVersion": "events.k8s.io/v1", "kind": "EventList", "metadata": {"resourceVersion": "9"},
                "items": [
                    {"metadata": {"name": "a"}, "note": "one"},
                    {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "b"}, "regarding": {"name": "p"}},
                    "garbage"
                ]
            })
        );
    }

    #[test]
    fn non_object_input_comes_back_unchanged() {
        for garbage in [
            Value::Null,
            json!(1),
            json!("x"),
            json!([1, {"kind": "Event"}]),
            json!(true),
        ] {
            for (kind, from, to) in [
                ("Event", "v1", "events.k8s.io/v1"),
                ("Event", "events.k8s.io/v1", "v1"),
                (
                    "HorizontalPodAutoscaler",
                    "autoscaling/v1",
                    "autoscaling/v2",
                ),
                (
                    "HorizontalPodAutoscaler",
                    "autoscaling/v2",
                    "autoscaling/v1",
                ),
            ] {
                assert_eq!(convert(kind, from, to, garbage.clone()), garbage);
            }
        }
    }

    #[test]
    fn go_string_escapes_like_encoding_json() {
        assert_eq!(
            go_string("a<b>&\"\\\n\t\u{1}\u{8}\u{c}\u{2028}é"),
            r#""a\u003cb\u003e\u0026\"\\\n\t\u0001\b\f\u2028é""#
        );
    }

    #[test]
    fn get_ci_prefers_the_exact_name_and_ignores_null() {
        let v = json!({"ScaleUp": 1, "scaleup": 2, "Other": null});
        assert_eq!(get_ci(Some(&v), "ScaleUp"), Some(&json!(1)));
        assert!(
            get_ci(Some(&v), "scaleUp")
                .and_then(Value::as_i64)
                .is_some()
        );
        assert_eq!(get_ci(Some(&v), "other"), None);
        assert_eq!(get_ci(Some(&json!([1])), "x"), None);
    }

    #[test]
    fn int32_rejects_fractions_strings_and_out_of_range_numbers() {
        assert_eq!(int32(Some(&json!(80))), Some(80));
        assert_eq!(int32(Some(&json!(80.5))), None);
        assert_eq!(int32(Some(&json!("80"))), None);
        assert_eq!(int32(Some(&json!(4_294_967_296u64))), None);
        assert_eq!(int32(Some(&json!(-2_147_483_648i64))), Some(-2_147_483_648));
    }
}
