//! `/openapi/v2`: the schemas of every served kind as one Swagger 2.0
//! document, in JSON and in the protobuf form (gnostic's `openapi.v2`
//! messages) that kubectl asks for.
//!
//! kubectl reads it for what OpenAPI v3 cannot answer: a `kind: List` file
//! given to `create -f` or `apply -f` is validated client side against the
//! v2 definitions of each item's kind (found through
//! `x-kubernetes-group-version-kind`), and without this document such
//! files fail before anything is sent. Paths are left empty: kubectl reads
//! operations from v3.
//!
//! The definitions are the v3 documents' component schemas rewritten into
//! v2 form, keeping what kube-openapi's v2 reader accepts: one `$ref` (to
//! `#/definitions/...`) with only a description and extensions beside it,
//! at most one `type`, exactly one `items` schema for arrays,
//! `additionalProperties` as a schema or a boolean, and `x-` extensions.
//! Composition keywords (`allOf` other than a described reference, `oneOf`,
//! `anyOf`), defaults, enums and examples are left out; the v2 reader
//! treats a schema without them as accepting any value.

use serde_json::{Map, Value, json};

use super::{OpenApi, SPEC_VERSION, content_hash};

/// Where definitions live in a Swagger 2.0 document.
const DEFINITIONS_PREFIX: &str = "#/definitions/";

/// The v2 document, in both encodings, with its hash (the ETag).
#[derive(Debug)]
pub struct OpenApiV2 {
    json: Vec<u8>,
    protobuf: Vec<u8>,
    hash: String,
}

impl OpenApiV2 {
    /// Builds the document from the definitions of every v3 document.
    pub fn new(v3: &OpenApi) -> OpenApiV2 {
        let mut definitions = Map::new();
        for path in v3.gv_paths() {
            let schemas = v3
                .document(path)
                .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
                .and_then(|mut doc| doc.pointer_mut("/components/schemas").map(Value::take));
            if let Some(Value::Object(schemas)) = schemas {
                for (name, schema) in schemas {
                    definitions
                        .entry(name)
                        .or_insert_with(|| to_swagger2(&schema));
                }
            }
        }
        let document = json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": SPEC_VERSION},
            "paths": {},
            "definitions": definitions,
        });
        let json = serde_json::to_vec(&document).unwrap_or_default();
        let hash = content_hash(&json);
        OpenApiV2 {
            protobuf: super::v2_proto::document(&document),
            json,
            hash,
        }
    }

    /// The document as JSON.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The document as gnostic's `openapi.v2.Document` protobuf message.
    pub fn protobuf(&self) -> &[u8] {
        &self.protobuf
    }

    /// A content hash of the document.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// One OpenAPI v3 schema (as the catalog holds them) in Swagger 2.0 form.
pub(crate) fn to_swagger2(schema: &Value) -> Value {
    let Value::Object(obj) = schema else {
        // `true`/`false` schemas: anything (v2 has no way to say nothing).
        return json!({});
    };
    let mut out = Map::new();
    let extensions = obj.iter().filter(|(k, _)| k.starts_with("x-"));
    if let Some(reference) = reference_of(obj) {
        out.insert("$ref".into(), Value::String(reference));
        if let Some(d) = obj.get("description") {
            out.insert("description".into(), d.clone());
        }
        out.extend(extensions.map(|(k, v)| (k.clone(), v.clone())));
        return Value::Object(out);
    }
    out.extend(extensions.map(|(k, v)| (k.clone(), v.clone())));
    for key in ["description", "format", "title"] {
        if let Some(v @ Value::String(_)) = obj.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Array(required)) = obj.get("required") {
        let names: Vec<Value> = required.iter().filter(|r| r.is_string()).cloned().collect();
        if !names.is_empty() {
            out.insert("required".into(), Value::Array(names));
        }
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) if t != "null" => Some(t.as_str()),
        // An int-or-string (v3: a format with a `oneOf`) is a string in v2,
        // as upstream publishes it.
        None if obj.get("format").and_then(Value::as_str) == Some("int-or-string") => {
            Some("string")
        }
        _ => None,
    };
    if let Some(t) = ty {
        out.insert("type".into(), Value::String(t.to_owned()));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        let converted: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), to_swagger2(v)))
            .collect();
        out.insert("properties".into(), Value::Object(converted));
    }
    match obj.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            out.insert("additionalProperties".into(), Value::Bool(*b));
        }
        Some(v @ Value::Object(_)) => {
            out.insert("additionalProperties".into(), to_swagger2(v));
        }
        _ => {}
    }
    if ty == Some("array") {
        let items = match obj.get("items") {
            Some(Value::Array(list)) => list.first().map(to_swagger2),
            Some(v) => Some(to_swagger2(v)),
            None => None,
        };
        // The v2 reader wants exactly one item schema.
        out.insert("items".into(), items.unwrap_or_else(|| json!({})));
    }
    Value::Object(out)
}

/// The v2 reference a schema stands for: its own `$ref`, or the single
/// reference of an `allOf` (v3's form of a reference with a description).
fn reference_of(obj: &Map<String, Value>) -> Option<String> {
    let reference = match (obj.get("$ref"), obj.get("allOf")) {
        (Some(Value::String(r)), _) => r.as_str(),
        (None, Some(Value::Array(all))) if all.len() == 1 => all[0].get("$ref")?.as_str()?,
        _ => return None,
    };
    let name = reference.rsplit('/').next()?;
    Some(format!("{DEFINITIONS_PREFIX}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn document() -> Value {
        let v3 = crate::routes::openapi::documents();
        serde_json::from_slice(OpenApiV2::new(v3).json()).expect("v2 json")
    }

    /// The rules kube-openapi's v2 reader (kubectl's) enforces on every
    /// definition; breaking one fails the whole document for kubectl.
    fn check(schema: &Value, path: &str, names: &BTreeSet<String>, errors: &mut Vec<String>) {
        let Some(obj) = schema.as_object() else {
            errors.push(format!("{path}: not an object"));
            return;
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            if obj.contains_key("type") || obj.contains_key("properties") {
                errors.push(format!("{path}: $ref beside a type or properties"));
            }
            match r.strip_prefix(DEFINITIONS_PREFIX) {
                Some(name) if names.contains(name) => {}
                _ => errors.push(format!("{path}: dangling reference {r}")),
            }
            return;
        }
        let ty = obj.get("type").and_then(Value::as_str);
        match ty {
            None | Some("object" | "array" | "string" | "number" | "integer" | "boolean") => {}
            Some(other) => errors.push(format!("{path}: unknown type {other}")),
        }
        if ty == Some("array") {
            match obj.get("items") {
                Some(items @ Value::Object(_)) => check(items, &format!("{path}[]"), names, errors),
                _ => errors.push(format!("{path}: array without one item schema")),
            }
        }
        if let Some(Value::Object(props)) = obj.get("properties") {
            for (name, prop) in props {
                check(prop, &format!("{path}.{name}"), names, errors);
            }
        }
        if let Some(additional @ Value::Object(_)) = obj.get("additionalProperties") {
            check(additional, &format!("{path}{{}}"), names, errors);
        }
    }

    #[test]
    fn every_definition_reads_as_kubectl_reads_v2() {
        let doc = document();
        let definitions = doc["definitions"].as_object().expect("definitions");
        let names: BTreeSet<String> = definitions.keys().cloned().collect();
        let mut errors = Vec::new();
        for (name, schema) in definitions {
            check(schema, name, &names, &mut errors);
        }
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn kinds_carry_their_group_version_kind_and_fields() {
        let doc = document();
        let pod = &doc["definitions"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!([{"group": "", "version": "v1", "kind": "Pod"}])
        );
        assert_eq!(
            pod["properties"]["metadata"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        let deployment = &doc["definitions"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        assert_eq!(
            doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"],
            "string"
        );
    }

    #[test]
    fn described_references_become_v2_references() {
        let v3 = json!({"allOf": [{"$ref": "#/components/schemas/a.B"}], "description": "d"});
        assert_eq!(
            to_swagger2(&v3),
            json!({"$ref": "#/definitions/a.B", "description": "d"})
        );
        let array = json!({"type": "array", "items": {"type": "string"}, "nullable": true});
        assert_eq!(
            to_swagger2(&array),
            json!({"type": "array", "items": {"type": "string"}})
        );
        assert_eq!(
            to_swagger2(&json!({"type": "array"})),
            json!({"type": "array", "items": {}})
        );
    }
}
