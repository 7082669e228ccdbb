//! The schema catalog: every built-in schema, generated once from the
//! `k8s-openapi` types through `schemars`, converted to OpenAPI 3.0 form and
//! decorated with the Kubernetes extensions kubectl reads.
//!
//! Steps (see [`Catalog::build`]):
//! 1. `schemars` generates the schema of every [`BuiltinKind`] (and of the
//!    few meta types operations refer to) into one definitions map; refs point
//!    at `#/components/schemas/<name>`.
//! 2. [`to_openapi3`] rewrites each schema into OpenAPI 3.0 form: `$ref` with
//!    sibling keywords is wrapped as `allOf: [{$ref}]` (upstream's form, which
//!    `kubectl explain` and the strategic-merge-patch code both resolve),
//!    JSON-Schema-only keywords are translated, and the int-or-string types get
//!    upstream's `oneOf` form.
//! 3. List schemas (`PodList`, ...) are synthesized, since `k8s-openapi` has no
//!    schema for its generic `List<T>`.
//! 4. `x-kubernetes-group-version-kind` (a list) is set on every kind's schema,
//!    `metadata` is dropped from the kinds' `required` (upstream never requires
//!    it; `k8s-openapi` does because its field is not an `Option`), and the
//!    patch/list extensions of [`LIST_FACTS`] are put on their properties.

use std::collections::{BTreeSet, HashMap};

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::kinds::{BuiltinKind, builtin_kinds};
use super::list_facts::{LIST_FACTS, MAP_FACTS};

/// Where component schemas live in an OpenAPI 3 document.
pub(crate) const REF_PREFIX: &str = "#/components/schemas/";

/// Schema names of meta types that operations refer to.
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
/// `DeleteOptions`, the body of delete operations.
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
/// `Patch`, the body of patch operations.
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// `WatchEvent`, what watches stream.
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
/// `ObjectMeta`, the `metadata` of every object.
pub(crate) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
/// `ListMeta`, the `metadata` of every list.
pub(crate) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
/// `APIResourceList`, returned by `GET /apis/<group>/<version>/`.
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";

const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// Description of `apiVersion` on synthesized schemas (upstream's wording).
pub(crate) const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
/// Description of `kind` on synthesized schemas (upstream's wording).
pub(crate) const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// Schema names of one built-in kind.
#[derive(Debug, Clone)]
pub(crate) struct KindSchemas {
    /// The kind's schema, e.g. `io.k8s.api.core.v1.Pod`.
    pub kind: String,
    /// The list's schema, e.g. `io.k8s.api.core.v1.PodList`, if the kind has a list.
    pub list: Option<String>,
}

/// All built-in schemas in OpenAPI 3.0 form, keyed by name.
#[derive(Debug)]
pub(crate) struct Catalog {
    /// Schema name → schema (a JSON map, so the patch and apply code can
    /// borrow it as is).
    pub schemas: Map<String, Value>,
    /// (group, version, kind) → schema names.
    pub kinds: HashMap<(String, String, String), KindSchemas>,
}

impl Catalog {
    /// Generates and converts every built-in schema.
    pub(crate) fn build() -> Catalog {
        let settings = SchemaSettings::openapi3().with(|s| {
            s.meta_schema = None;
            // The conversion is done by `to_openapi3`, explicitly and testably.
            s.transforms.clear();
        });
        let mut generator = settings.into_generator();
        let builtins: Vec<BuiltinKind> = builtin_kinds();
        for b in &builtins {
            (b.generate)(&mut generator);
        }
        // Meta types that operations refer to but that are not kinds of their own.
        use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
        generator.subschema_for::<meta::DeleteOptions>();
        generator.subschema_for::<meta::WatchEvent<meta::Status>>();
        generator.subschema_for::<meta::Patch>();

        let mut schemas: Map<String, Value> = Map::new();
        for (name, mut schema) in generator.take_definitions(false) {
            to_openapi3(&mut schema);
            schemas.insert(name, schema);
        }
        if let Some(s) = schemas.get_mut(INT_OR_STRING) {
            set_one_of(s, &["integer", "string"], Some("int-or-string"));
        }
        if let Some(s) = schemas.get_mut(QUANTITY) {
            set_one_of(s, &["string", "number"], None);
        }

        let mut kinds = HashMap::new();
        for b in &builtins {
            let name = (b.schema_name)().into_owned();
            if let Some(schema) = schemas.get_mut(&name) {
                set_gvk_list(schema, &[(b.group, b.version, b.kind)]);
                remove_required(schema, "metadata");
            }
            let list = b.list_kind.map(|list_kind| {
                let prefix = name.strip_suffix(b.kind).unwrap_or(&name);
                let list_name = format!("{prefix}{list_kind}");
                schemas.insert(
                    list_name.clone(),
                    list_schema(&name, b.group, b.version, b.kind, list_kind),
                );
                list_name
            });
            kinds.insert(
                (b.group.to_owned(), b.version.to_owned(), b.kind.to_owned()),
                KindSchemas { kind: name, list },
            );
        }

        for fact in LIST_FACTS {
            let Some(prop_value) = schemas
                .get_mut(fact.schema)
                .and_then(|s| s.get_mut("properties"))
                .and_then(|p| p.get_mut(fact.property))
            else {
                continue;
            };
            let Some(prop) = prop_value.as_object_mut() else {
                continue;
            };
            if !fact.patch_strategy.is_empty() {
                prop.insert(
                    "x-kubernetes-patch-strategy".into(),
                    fact.patch_strategy.into(),
                );
            }
            if !fact.patch_merge_key.is_empty() {
                prop.insert(
                    "x-kubernetes-patch-merge-key".into(),
                    fact.patch_merge_key.into(),
                );
            }
            if !fact.list_type.is_empty() {
                prop.insert("x-kubernetes-list-type".into(), fact.list_type.into());
            }
            if !fact.list_map_keys.is_empty() {
                prop.insert(
                    "x-kubernetes-list-map-keys".into(),
                    json!(fact.list_map_keys),
                );
            }
            // A bare `$ref` that just got siblings must become `allOf`.
            to_openapi3(prop_value);
        }
        for fact in MAP_FACTS {
            let Some(schema) = schemas.get_mut(fact.schema) else {
                continue;
            };
            let property = !fact.property.is_empty();
            let target = if property {
                schema
                    .get_mut("properties")
                    .and_then(|p| p.get_mut(fact.property))
            } else {
                Some(schema)
            };
            if let Some(target) = target
                && let Some(map) = target.as_object_mut()
            {
                map.insert("x-kubernetes-map-type".into(), fact.map_type.into());
                if property {
                    // A bare `$ref` that just got a sibling must become `allOf`.
                    to_openapi3(target);
                }
            }
        }

        Catalog { schemas, kinds }
    }

    /// The schema names of a built-in kind.
    pub(crate) fn kind(&self, group: &str, version: &str, kind: &str) -> Option<&KindSchemas> {
        self.kinds
            .get(&(group.to_owned(), version.to_owned(), kind.to_owned()))
    }

    /// `roots` plus every schema they refer to, directly or not.
    pub(crate) fn closure<'a>(&self, roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = roots.into_iter().map(str::to_owned).collect();
        while let Some(name) = todo.pop() {
            if !self.schemas.contains_key(&name) || !seen.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = self.schemas.get(&name) {
                collect_refs(schema, &mut todo);
            }
        }
        seen
    }
}

/// Pushes the schema names of every `$ref` in `value` onto `out`.
pub(crate) fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(name) = v.as_str().and_then(|r| r.strip_prefix(REF_PREFIX)) {
                        out.push(name.to_owned());
                    }
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A `$ref` to a component schema.
pub(crate) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

/// The upstream form of a reference with a description beside it.
fn described_ref(name: &str, description: &str) -> Value {
    json!({ "allOf": [schema_ref(name)], "description": description })
}

/// Sets `x-kubernetes-group-version-kind` to the list of `gvks`.
pub(crate) fn set_gvk_list(schema: &mut Value, gvks: &[(&str, &str, &str)]) {
    if let Some(obj) = schema.as_object_mut() {
        let list: Vec<Value> = gvks
            .iter()
            .map(|(g, v, k)| json!({ "group": g, "version": v, "kind": k }))
            .collect();
        obj.insert("x-kubernetes-group-version-kind".into(), Value::Array(list));
    }
}

fn remove_required(schema: &mut Value, property: &str) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let now_empty = match obj.get_mut("required").and_then(Value::as_array_mut) {
        Some(required) => {
            required.retain(|r| r != property);
            required.is_empty()
        }
        None => false,
    };
    if now_empty {
        obj.remove("required");
    }
}

fn set_one_of(schema: &mut Value, types: &[&str], format: Option<&str>) {
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("x-kubernetes-int-or-string");
        obj.remove("type");
        if let Some(format) = format {
            obj.insert("format".into(), format.into());
        }
        let one_of: Vec<Value> = types.iter().map(|t| json!({ "type": t })).collect();
        obj.insert("oneOf".into(), Value::Array(one_of));
    }
}

/// The schema of `<Kind>List`, the shape every Kubernetes list has.
fn list_schema(item: &str, group: &str, version: &str, kind: &str, list_kind: &str) -> Value {
    let mut schema = json!({
        "description": format!("{list_kind} is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": { "description": API_VERSION_DESCRIPTION, "type": "string" },
            "items": {
                "description": format!("Items is the list of {kind} objects."),
                "type": "array",
                "items": schema_ref(item),
            },
            "kind": { "description": KIND_DESCRIPTION, "type": "string" },
            "metadata": described_ref(LIST_META, "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"),
        },
        "required": ["items"],
    });
    set_gvk_list(&mut schema, &[(group, version, list_kind)]);
    schema
}

/// The schema published for a kind that has no built-in type (a custom
/// resource): any object, with the usual `apiVersion`, `kind` and `metadata`.
pub(crate) fn custom_kind_schema(group: &str, version: &str, kind: &str) -> Value {
    let mut schema = json!({
        "description": format!("{kind} is a custom resource; its fields are not described by this server."),
        "type": "object",
        "properties": {
            "apiVersion": { "description": API_VERSION_DESCRIPTION, "type": "string" },
            "kind": { "description": KIND_DESCRIPTION, "type": "string" },
            "metadata": described_ref(OBJECT_META, "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"),
        },
        "x-kubernetes-preserve-unknown-fields": true,
    });
    set_gvk_list(&mut schema, &[(group, version, kind)]);
    schema
}

/// The list schema for a custom kind.
pub(crate) fn custom_list_schema(item: &str, group: &str, version: &str, kind: &str) -> Value {
    list_schema(item, group, version, kind, &format!("{kind}List"))
}

/// Rewrites a JSON-Schema (as `schemars` emits it) into OpenAPI 3.0 form, in place.
///
/// * `$ref` into `#/definitions/` or `#/$defs/` is pointed at `#/components/schemas/`;
///   a `$ref` with sibling keywords (a description, an extension) becomes
///   `allOf: [{"$ref": ..}]` beside those keywords, as upstream publishes it.
/// * `type: [T, "null"]` becomes `type: T, nullable: true`.
/// * `const: v` becomes `enum: [v]`; `examples: [..]` becomes `example`.
/// * `$schema`, `$id`, `definitions` and `$defs` are dropped.
/// * `true`/`false` subschemas become `{}` / `{"not": {}}` (except
///   `additionalProperties`, where booleans are valid OpenAPI 3.0).
/// * `x-kubernetes-int-or-string: true` without a type becomes
///   `format: int-or-string, oneOf: [integer, string]`.
pub(crate) fn to_openapi3(schema: &mut Value) {
    match schema {
        Value::Bool(true) => *schema = json!({}),
        Value::Bool(false) => *schema = json!({ "not": {} }),
        Value::Object(obj) => convert_object(obj),
        _ => {}
    }
}

fn convert_object(obj: &mut Map<String, Value>) {
    for key in ["$schema", "$id", "definitions", "$defs"] {
        obj.remove(key);
    }
    if let Some(Value::String(r)) = obj.get_mut("$ref") {
        for old in ["#/definitions/", "#/$defs/"] {
            if let Some(name) = r.strip_prefix(old) {
                *r = format!("{REF_PREFIX}{name}");
            }
        }
    }
    if obj.len() > 1
        && let Some(r) = obj.remove("$ref")
        && let Value::Array(all_of) = obj
            .entry("allOf")
            .or_insert_with(|| Value::Array(Vec::new()))
    {
        all_of.insert(0, json!({ "$ref": r }));
    }
    if let Some(Value::Array(types)) = obj.get("type") {
        let has_null = types.iter().any(|t| t == "null");
        let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if has_null {
            obj.insert("nullable".into(), Value::Bool(true));
        }
        match rest.len() {
            0 => {
                obj.remove("type");
            }
            1 => {
                obj.insert("type".into(), rest[0].clone());
            }
            _ => {
                obj.remove("type");
                let one_of: Vec<Value> = rest.into_iter().map(|t| json!({ "type": t })).collect();
                obj.insert("oneOf".into(), Value::Array(one_of));
            }
        }
    }
    if let Some(c) = obj.remove("const") {
        obj.insert("enum".into(), Value::Array(vec![c]));
    }
    if let Some(Value::Array(mut examples)) = obj.remove("examples")
        && !examples.is_empty()
    {
        obj.insert("example".into(), examples.swap_remove(0));
    }
    if obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        && !obj.contains_key("type")
        && !obj.contains_key("oneOf")
        && !obj.contains_key("anyOf")
        && !obj.contains_key("allOf")
    {
        obj.remove("x-kubernetes-int-or-string");
        obj.insert("format".into(), "int-or-string".into());
        obj.insert(
            "oneOf".into(),
            json!([{ "type": "integer" }, { "type": "string" }]),
        );
    }

    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = obj.get_mut(key) {
            props.values_mut().for_each(to_openapi3);
        }
    }
    for key in ["items", "not"] {
        match obj.get_mut(key) {
            Some(Value::Array(items)) => items.iter_mut().for_each(to_openapi3),
            Some(v) => to_openapi3(v),
            None => {}
        }
    }
    if let Some(v @ Value::Object(_)) = obj.get_mut("additionalProperties") {
        to_openapi3(v);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(items)) = obj.get_mut(key) {
            items.iter_mut().for_each(to_openapi3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> &'static Catalog {
        super::super::catalog()
    }

    #[test]
    fn ref_with_siblings_becomes_all_of() {
        let mut v = json!({
            "type": "object",
            "properties": {
                "a": { "$ref": "#/definitions/X", "description": "d" },
                "b": { "$ref": "#/$defs/Y" },
                "c": { "type": ["string", "null"], "const": "q" },
                "d": { "type": "array", "items": true },
            },
            "definitions": {},
        });
        to_openapi3(&mut v);
        assert_eq!(
            v,
            json!({
                "type": "object",
                "properties": {
                    "a": { "allOf": [{ "$ref": "#/components/schemas/X" }], "description": "d" },
                    "b": { "$ref": "#/components/schemas/Y" },
                    "c": { "type": "string", "nullable": true, "enum": ["q"] },
                    "d": { "type": "array", "items": {} },
                },
            })
        );
    }

    #[test]
    fn int_or_string_and_quantity_use_upstream_v3_form() {
        let c = catalog();
        let ios = &c.schemas[INT_OR_STRING];
        assert_eq!(ios["format"], "int-or-string");
        assert_eq!(
            ios["oneOf"],
            json!([{ "type": "integer" }, { "type": "string" }])
        );
        assert!(ios.get("x-kubernetes-int-or-string").is_none());
        let q = &c.schemas[QUANTITY];
        assert_eq!(
            q["oneOf"],
            json!([{ "type": "string" }, { "type": "number" }])
        );
    }

    #[test]
    fn no_draft_leftovers_anywhere() {
        let text = serde_json::to_string(&catalog().schemas).unwrap_or_default();
        assert!(!text.contains("#/definitions/"));
        assert!(!text.contains("#/$defs/"));
        // Every $ref stands alone (property maps, whose keys are field names
        // such as JSONSchemaProps' "$ref", are not schemas and are skipped).
        fn check(v: &Value) {
            match v {
                Value::Object(m) => {
                    assert!(!m.contains_key("$schema") && !m.contains_key("definitions"));
                    if m.get("$ref").is_some_and(Value::is_string) {
                        assert_eq!(m.len(), 1, "{m:?}");
                    }
                    for (k, v) in m {
                        if k == "properties" {
                            v.as_object()
                                .into_iter()
                                .flat_map(|p| p.values())
                                .for_each(check);
                        } else {
                            check(v);
                        }
                    }
                }
                Value::Array(a) => a.iter().for_each(check),
                _ => {}
            }
        }
        catalog().schemas.values().for_each(check);
    }

    #[test]
    fn every_ref_resolves() {
        let c = catalog();
        let mut refs = Vec::new();
        c.schemas.values().for_each(|s| collect_refs(s, &mut refs));
        for r in refs {
            assert!(c.schemas.contains_key(&r), "dangling ref {r}");
        }
    }

    #[test]
    fn every_fact_names_an_existing_property() {
        let c = catalog();
        for fact in LIST_FACTS {
            let prop = &c.schemas[fact.schema]["properties"][fact.property];
            assert!(
                prop.is_object(),
                "{}.{} missing",
                fact.schema,
                fact.property
            );
            if !fact.patch_merge_key.is_empty() {
                assert_eq!(prop["type"], "array", "{}.{}", fact.schema, fact.property);
            }
            if !fact.list_type.is_empty() {
                // Lists, or Go byte slices (base64 strings) marked atomic.
                let is_bytes = prop["type"] == "string" && prop["format"] == "byte";
                assert!(
                    prop["type"] == "array" || is_bytes,
                    "{}.{}",
                    fact.schema,
                    fact.property
                );
            }
        }
    }

    #[test]
    fn every_map_fact_names_an_existing_schema_or_property() {
        let c = catalog();
        for fact in MAP_FACTS {
            let schema = &c.schemas[fact.schema];
            let target = if fact.property.is_empty() {
                schema
            } else {
                &schema["properties"][fact.property]
            };
            assert_eq!(
                target["x-kubernetes-map-type"], fact.map_type,
                "{}.{}",
                fact.schema, fact.property
            );
        }
        let claim_ref =
            &c.schemas["io.k8s.api.core.v1.PersistentVolumeSpec"]["properties"]["claimRef"];
        assert!(claim_ref["allOf"].is_array(), "{claim_ref}");
    }

    #[test]
    fn pod_patch_strategies() {
        let c = catalog();
        let spec = &c.schemas["io.k8s.api.core.v1.PodSpec"]["properties"];
        assert_eq!(spec["containers"]["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(spec["containers"]["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(
            spec["volumes"]["x-kubernetes-patch-strategy"],
            "merge,retainKeys"
        );
        assert_eq!(
            spec["imagePullSecrets"]["x-kubernetes-patch-merge-key"],
            "name"
        );
        assert_eq!(spec["tolerations"]["x-kubernetes-list-type"], "atomic");
        assert!(
            spec["tolerations"]
                .get("x-kubernetes-patch-strategy")
                .is_none()
        );
        let container = &c.schemas["io.k8s.api.core.v1.Container"]["properties"];
        assert_eq!(
            container["ports"]["x-kubernetes-patch-merge-key"],
            "containerPort"
        );
        assert_eq!(
            container["ports"]["x-kubernetes-list-map-keys"],
            json!(["containerPort", "protocol"])
        );
        assert_eq!(container["env"]["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(
            container["volumeMounts"]["x-kubernetes-patch-merge-key"],
            "mountPath"
        );
        let eph = &c.schemas["io.k8s.api.core.v1.EphemeralContainer"]["properties"];
        assert_eq!(eph["env"]["x-kubernetes-patch-merge-key"], "name");
        let meta = &c.schemas[OBJECT_META]["properties"];
        assert_eq!(meta["finalizers"]["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(
            meta["ownerReferences"]["x-kubernetes-patch-merge-key"],
            "uid"
        );
        let svc = &c.schemas["io.k8s.api.core.v1.ServiceSpec"]["properties"];
        assert_eq!(svc["ports"]["x-kubernetes-patch-merge-key"], "port");
        let dep = &c.schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"];
        assert_eq!(dep["strategy"]["x-kubernetes-patch-strategy"], "retainKeys");
        assert!(dep["strategy"]["allOf"].is_array());
        let cond = &c.schemas["io.k8s.api.apps.v1.DeploymentStatus"]["properties"]["conditions"];
        assert_eq!(cond["x-kubernetes-patch-merge-key"], "type");
    }

    #[test]
    fn kinds_carry_gvk_lists_and_lists_are_synthesized() {
        let c = catalog();
        let pod = &c.schemas["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!([{ "group": "", "version": "v1", "kind": "Pod" }])
        );
        assert!(
            pod.get("required").is_none(),
            "metadata must not be required"
        );
        let names = c.kind("apps", "v1", "Deployment").map(|k| k.list.clone());
        assert_eq!(
            names,
            Some(Some("io.k8s.api.apps.v1.DeploymentList".to_owned()))
        );
        let list = &c.schemas["io.k8s.api.apps.v1.DeploymentList"];
        assert_eq!(
            list["x-kubernetes-group-version-kind"][0]["kind"],
            "DeploymentList"
        );
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.Deployment"
        );
        assert_eq!(
            c.schemas["io.k8s.api.core.v1.PodSpec"]["required"],
            json!(["containers"])
        );
        let scale = c.kind("autoscaling", "v1", "Scale").map(|k| k.kind.clone());
        assert_eq!(scale.as_deref(), Some("io.k8s.api.autoscaling.v1.Scale"));
    }
}
