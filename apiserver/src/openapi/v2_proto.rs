//! The protobuf encoding of a Swagger 2.0 document (as JSON in the form
//! [`super::v2`] builds) as gnostic's `openapi.v2.Document` message, the
//! form kubectl requests (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).
//!
//! Only the messages and fields such a document uses are written:
//! `Document` (swagger 1, info 2, paths 8, definitions 9), `Info` (title 1,
//! version 2), `Definitions`/`Properties` (named schemas 1), `NamedSchema`
//! (name 1, value 2), `Schema` (`$ref` 1, format 2, title 3, description 4,
//! required 19, additionalProperties 21, type 22, items 23, properties 25,
//! vendor extensions 31), `AdditionalPropertiesItem` (schema 1, boolean 2),
//! `TypeItem`/`ItemsItem` (1), `NamedAny` (name 1, value 2) and `Any`
//! (yaml 2; JSON text is valid YAML).

use serde_json::{Map, Value};

/// Wire type of varints.
const VARINT: u64 = 0;
/// Wire type of length-delimited fields (strings, bytes, messages).
const LEN: u64 = 2;

/// A protobuf message being written.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u64, wire: u64) {
        self.varint((field << 3) | wire);
    }

    fn bytes(&mut self, field: u64, bytes: &[u8]) {
        self.key(field, LEN);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    /// A string field; proto3 leaves empty ones out.
    fn string(&mut self, field: u64, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    /// An embedded message, written even when empty (so it is present).
    fn message(&mut self, field: u64, build: impl FnOnce(&mut Message)) {
        let mut inner = Message::default();
        build(&mut inner);
        self.bytes(field, &inner.0);
    }

    fn bool(&mut self, field: u64, b: bool) {
        if b {
            self.key(field, VARINT);
            self.varint(1);
        }
    }
}

/// Encodes `document` (`swagger`, `info`, `paths`, `definitions`).
pub(crate) fn document(document: &Value) -> Vec<u8> {
    let mut m = Message::default();
    m.string(1, str_at(document, "swagger"));
    if let Some(info) = document.get("info") {
        m.message(2, |i| {
            i.string(1, str_at(info, "title"));
            i.string(2, str_at(info, "version"));
        });
    }
    m.message(8, |_| {});
    if let Some(Value::Object(definitions)) = document.get("definitions") {
        m.message(9, |d| named_schemas(d, definitions));
    }
    m.0
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `repeated NamedSchema additional_properties = 1`.
fn named_schemas(m: &mut Message, schemas: &Map<String, Value>) {
    for (name, schema) in schemas {
        m.message(1, |n| {
            n.string(1, name);
            n.message(2, |s| self::schema(s, schema));
        });
    }
}

fn schema(m: &mut Message, schema: &Value) {
    let Value::Object(obj) = schema else {
        return;
    };
    m.string(1, str_at(schema, "$ref"));
    m.string(2, str_at(schema, "format"));
    m.string(3, str_at(schema, "title"));
    m.string(4, str_at(schema, "description"));
    if let Some(Value::Array(required)) = obj.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            // Repeated strings are written even when empty.
            m.bytes(19, name.as_bytes());
        }
    }
    match obj.get("additionalProperties") {
        Some(Value::Bool(b)) => m.message(21, |a| a.bool(2, *b)),
        Some(v @ Value::Object(_)) => m.message(21, |a| a.message(1, |s| self::schema(s, v))),
        _ => {}
    }
    if let Some(t) = obj.get("type").and_then(Value::as_str) {
        m.message(22, |ty| ty.bytes(1, t.as_bytes()));
    }
    if let Some(items) = obj.get("items") {
        m.message(23, |i| i.message(1, |s| self::schema(s, items)));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        m.message(25, |p| named_schemas(p, props));
    }
    for (name, value) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
        let yaml = serde_json::to_string(value).unwrap_or_default();
        m.message(31, |n| {
            n.string(1, name);
            n.message(2, |any| any.string(2, &yaml));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `key` (already encoded) followed by the length of `content` and it.
    fn field(key: &[u8], content: &[u8]) -> Vec<u8> {
        let mut out = key.to_vec();
        out.push(u8::try_from(content.len()).expect("short"));
        out.extend_from_slice(content);
        out
    }

    #[test]
    fn encodes_gnostic_field_numbers() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "T", "version": "v"},
            "definitions": {"a": {"type": "object", "required": ["x"],
                "properties": {"x": {"$ref": "#/definitions/b"}},
                "x-k": [1]}},
        });
        let reference = field(&[0x0a], b"#/definitions/b"); // Schema.$ref = 1
        let x = [field(&[0x0a], b"x"), field(&[0x12], &reference)].concat();
        let properties = field(&[0x0a], &x); // Properties: NamedSchema = 1
        let extension = [
            field(&[0x0a], b"x-k"),                  // NamedAny.name = 1
            field(&[0x12], &field(&[0x12], b"[1]")), // value = 2 { yaml = 2 }
        ]
        .concat();
        let a = [
            field(&[0x9a, 0x01], b"x"),                       // required = 19
            field(&[0xb2, 0x01], &field(&[0x0a], b"object")), // type = 22
            field(&[0xca, 0x01], &properties),                // properties = 25
            field(&[0xfa, 0x01], &extension),                 // vendor_extension = 31
        ]
        .concat();
        let named_a = [field(&[0x0a], b"a"), field(&[0x12], &a)].concat();
        let expected = [
            field(&[0x0a], b"2.0"), // swagger = 1
            field(
                &[0x12],
                &[field(&[0x0a], b"T"), field(&[0x12], b"v")].concat(),
            ), // info = 2
            field(&[0x42], &[]),    // paths = 8
            field(&[0x4a], &field(&[0x0a], &named_a)), // definitions = 9
        ]
        .concat();
        assert_eq!(document(&doc), expected);
    }

    #[test]
    fn booleans_and_long_varints() {
        let mut m = Message::default();
        m.varint(300);
        assert_eq!(m.0, vec![0xac, 0x02]);
        let s = json!({"type": "object", "additionalProperties": false});
        let mut m = Message::default();
        schema(&mut m, &s);
        // additionalProperties = 21 {} (false is proto3's default), then type.
        assert_eq!(&m.0[..3], &[0xaa, 0x01, 0]);
        let s = json!({"additionalProperties": true});
        let mut m = Message::default();
        schema(&mut m, &s);
        assert_eq!(m.0, vec![0xaa, 0x01, 2, 0x10, 1]);
    }
}
