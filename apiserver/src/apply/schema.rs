//! Schema lookups for merging: which values are scalars, which lists are
//! atomic, sets or maps keyed by which fields, which maps are atomic, which
//! struct fields exist and their defaults.
//!
//! [`OpenApiSchemas`] reads OpenAPI v3 component schemas and converts them
//! with the rules of kube-openapi's `schemaconv` (the conversion the
//! apiserver uses to build structured-merge-diff schemas):
//!
//! * `x-kubernetes-list-type` `atomic` / `set` / `map` (+
//!   `x-kubernetes-list-map-keys`); without it, a list whose
//!   `x-kubernetes-patch-strategy` is `merge` (or `merge,retainKeys`) is
//!   associative on `x-kubernetes-patch-merge-key` (a set when there is no
//!   merge key), and every other list is atomic;
//! * `x-kubernetes-map-type: atomic` makes a map or struct atomic, also when
//!   written on a property that references a named type;
//! * objects with `properties` reject unknown fields unless they have
//!   `additionalProperties` or `x-kubernetes-preserve-unknown-fields`;
//!   objects without properties accept any field (deduced type);
//! * `Quantity`, `int-or-string`, `date-time` and other formatted strings are
//!   untyped scalars; `RawExtension` is untyped and atomic.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Name of the untyped-scalar component (`resource.Quantity`).
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
/// Name of the embedded-object component (`runtime.RawExtension`).
const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";

/// A reference to a type in a schema.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeRef {
    /// A named component schema. `map_atomic` carries an
    /// `x-kubernetes-map-type` written on the referencing property.
    Named {
        /// Component name, e.g. `io.k8s.api.core.v1.Pod`.
        name: Arc<str>,
        /// `Some(true)` for atomic, `Some(false)` for granular, `None` unset.
        map_atomic: Option<bool>,
    },
    /// A schema written inline inside a named component, located by a JSON
    /// pointer relative to that component.
    Inline {
        /// The component holding the inline schema.
        owner: Arc<str>,
        /// JSON pointer inside the component (e.g. `/properties/labels`).
        pointer: Arc<str>,
        /// Whether an enclosing schema set `x-kubernetes-preserve-unknown-fields`.
        preserve_unknown: bool,
    },
    /// No schema: maps are granular, lists atomic, anything is accepted.
    Deduced,
    /// Anything, and all of it atomic.
    UntypedAtomic,
}

impl TypeRef {
    /// A reference to a named component.
    pub fn named(name: &str) -> Self {
        TypeRef::Named {
            name: Arc::from(name),
            map_atomic: None,
        }
    }

    /// A name for messages (`schema error: no type found matching: …`).
    pub fn describe(&self) -> String {
        match self {
            TypeRef::Named { name, .. } => name.to_string(),
            TypeRef::Inline { owner, pointer, .. } => format!("inlined in {owner}{pointer}"),
            TypeRef::Deduced => "__untyped_deduced_".to_string(),
            TypeRef::UntypedAtomic => "__untyped_atomic_".to_string(),
        }
    }
}

/// Kinds of scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarType {
    /// JSON string.
    String,
    /// Integer or float.
    Numeric,
    /// Boolean.
    Boolean,
    /// Any scalar.
    Untyped,
}

/// A list type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListType {
    /// Type of the items.
    pub element: TypeRef,
    /// Replaced wholesale when true; otherwise associative.
    pub atomic: bool,
    /// Key fields of an associative list of maps; empty for a set.
    pub keys: Arc<[String]>,
}

/// A map or struct type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapType {
    /// Type of entries that are not declared fields; `None` rejects them.
    pub element: Option<TypeRef>,
    /// Replaced wholesale when true.
    pub atomic: bool,
}

/// What a type may be: a scalar, a list and/or a map (untyped schemas allow
/// several, picked by the value at hand).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Atom {
    /// Scalar form, if allowed.
    pub scalar: Option<ScalarType>,
    /// List form, if allowed.
    pub list: Option<ListType>,
    /// Map form, if allowed.
    pub map: Option<MapType>,
}

impl Atom {
    /// The atom of [`TypeRef::Deduced`].
    pub fn deduced() -> Self {
        Atom {
            scalar: Some(ScalarType::Untyped),
            list: Some(ListType {
                element: TypeRef::UntypedAtomic,
                atomic: true,
                keys: Arc::from([]),
            }),
            map: Some(MapType {
                element: Some(TypeRef::Deduced),
                atomic: false,
            }),
        }
    }

    /// The atom of [`TypeRef::UntypedAtomic`].
    pub fn untyped_atomic() -> Self {
        Atom {
            scalar: Some(ScalarType::Untyped),
            list: Some(ListType {
                element: TypeRef::UntypedAtomic,
                atomic: true,
                keys: Arc::from([]),
            }),
            map: Some(MapType {
                element: Some(TypeRef::UntypedAtomic),
                atomic: true,
            }),
        }
    }
}

/// Type information the merge needs. Implementations only have to answer
/// for [`TypeRef::Named`] and [`TypeRef::Inline`] references they handed
/// out; [`TypeRef::Deduced`] and [`TypeRef::UntypedAtomic`] are handled by
/// the callers.
pub trait ApplySchema {
    /// What the type is; `None` when the reference does not resolve.
    fn resolve(&self, ty: &TypeRef) -> Option<Atom>;

    /// The type of declared field `field` of map/struct type `ty`; `None`
    /// when `ty` does not declare it.
    fn field(&self, ty: &TypeRef, field: &str) -> Option<TypeRef>;

    /// The declared default of field `field` of `ty` (used for missing list
    /// map keys).
    fn field_default(&self, ty: &TypeRef, field: &str) -> Option<Value>;

    /// The root type for a schema name; `None` is the deduced type.
    fn root(&self, name: Option<&str>) -> TypeRef {
        match name {
            Some(n) => TypeRef::named(n),
            None => TypeRef::Deduced,
        }
    }
}

/// Resolves `ty`, answering the built-in references itself.
pub(crate) fn resolve_atom<S: ApplySchema + ?Sized>(schema: &S, ty: &TypeRef) -> Option<Atom> {
    match ty {
        TypeRef::Deduced => Some(Atom::deduced()),
        TypeRef::UntypedAtomic => Some(Atom::untyped_atomic()),
        _ => schema.resolve(ty),
    }
}

/// Declared field lookup that answers the built-in references itself.
pub(crate) fn field_type<S: ApplySchema + ?Sized>(
    schema: &S,
    ty: &TypeRef,
    field: &str,
) -> Option<TypeRef> {
    match ty {
        TypeRef::Deduced | TypeRef::UntypedAtomic => None,
        _ => schema.field(ty, field),
    }
}

/// [`ApplySchema`] over OpenAPI v3 component schemas
/// (`components.schemas`), e.g. Kubernetes' `/openapi/v3` documents.
#[derive(Clone, Debug)]
pub struct OpenApiSchemas {
    schemas: Cow<'static, Map<String, Value>>,
    builtin_key_defaults: bool,
    /// Resolved types and declared fields, memoized: the schemas never
    /// change and every apply or update walks the same types.
    cache: Arc<Cache>,
}

/// Memoized answers of [`OpenApiSchemas`].
#[derive(Debug, Default)]
struct Cache {
    atoms: RwLock<HashMap<TypeRef, Option<Atom>>>,
    fields: RwLock<HashMap<TypeRef, HashMap<String, Option<TypeRef>>>>,
}

impl OpenApiSchemas {
    /// Wraps a map of component name → schema.
    ///
    /// Built-in key defaults are on: the `protocol` key of `ContainerPort`,
    /// `ServicePort` and `EndpointPort` defaults to `"TCP"` when the schema
    /// itself carries no `default` (Kubernetes' own schemas do, and a port
    /// applied without `protocol` must match the defaulted live item).
    pub fn new(schemas: Map<String, Value>) -> Self {
        OpenApiSchemas {
            schemas: Cow::Owned(schemas),
            builtin_key_defaults: true,
            cache: Arc::default(),
        }
    }

    /// Borrows component schemas that live for the whole process (the
    /// server's built-in catalog); built-in key defaults are on, as with
    /// [`OpenApiSchemas::new`].
    pub fn borrowed(schemas: &'static Map<String, Value>) -> Self {
        OpenApiSchemas {
            schemas: Cow::Borrowed(schemas),
            builtin_key_defaults: true,
            cache: Arc::default(),
        }
    }

    /// Accepts a whole OpenAPI document (`{"components":{"schemas":…}}`) or
    /// the schemas map itself.
    pub fn from_value(doc: Value) -> Option<Self> {
        match doc {
            Value::Object(mut map) => {
                if let Some(Value::Object(components)) = map.get_mut("components")
                    && let Some(Value::Object(schemas)) = components.remove("schemas")
                {
                    return Some(OpenApiSchemas::new(schemas));
                }
                Some(OpenApiSchemas::new(map))
            }
            _ => None,
        }
    }

    /// Turns the built-in `protocol: TCP` key defaults off or on.
    pub fn with_builtin_key_defaults(mut self, on: bool) -> Self {
        self.builtin_key_defaults = on;
        self.cache = Arc::default();
        self
    }

    /// Whether a component of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.schemas.contains_key(name)
    }

    /// The schema a reference points at, with the preserve-unknown-fields
    /// flag in force there and the (owner, pointer) location.
    fn locate<'a>(&'a self, ty: &TypeRef) -> Option<Located<'a>> {
        match ty {
            TypeRef::Named { name, .. } => {
                let v = self.schemas.get(&**name)?;
                Some(Located {
                    schema: v,
                    owner: name.clone(),
                    pointer: Arc::from(""),
                    preserve: false,
                })
            }
            TypeRef::Inline {
                owner,
                pointer,
                preserve_unknown,
            } => {
                let root = self.schemas.get(&**owner)?;
                let v = if pointer.is_empty() {
                    root
                } else {
                    root.pointer(pointer)?
                };
                Some(Located {
                    schema: v,
                    owner: owner.clone(),
                    pointer: pointer.clone(),
                    preserve: *preserve_unknown,
                })
            }
            TypeRef::Deduced | TypeRef::UntypedAtomic => None,
        }
    }
}

struct Located<'a> {
    schema: &'a Value,
    owner: Arc<str>,
    pointer: Arc<str>,
    preserve: bool,
}

impl Located<'_> {
    fn preserve_unknown(&self) -> bool {
        self.preserve
            || self.schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
    }
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// kube-openapi's `makeOpenAPIRef`: a `$ref` (or a single-element `allOf`
/// holding one) names a component; anything else is an inline type.
fn make_ref(schema: &Value, owner: &Arc<str>, pointer: String, preserve: bool) -> TypeRef {
    let direct = schema.get("$ref").and_then(Value::as_str);
    let via_all_of = || match schema.get("allOf").and_then(Value::as_array) {
        Some(items) if items.len() == 1 => items[0].get("$ref").and_then(Value::as_str),
        _ => None,
    };
    if let Some(r) = direct.or_else(via_all_of) {
        let name = r.rsplit('/').next().unwrap_or(r);
        if !name.is_empty() {
            if name == RAW_EXTENSION {
                return TypeRef::UntypedAtomic;
            }
            return TypeRef::Named {
                name: Arc::from(name),
                map_atomic: map_relationship(schema),
            };
        }
    }
    TypeRef::Inline {
        owner: owner.clone(),
        pointer: Arc::from(pointer),
        preserve_unknown: preserve,
    }
}

fn map_relationship(schema: &Value) -> Option<bool> {
    match schema.get("x-kubernetes-map-type").and_then(Value::as_str) {
        Some("atomic") => Some(true),
        Some("granular") => Some(false),
        _ => None,
    }
}

fn scalar_of(typ: &str, format: &str) -> ScalarType {
    match typ {
        "integer" | "number" => ScalarType::Numeric,
        "boolean" => ScalarType::Boolean,
        "string" => match format {
            "" | "byte" => ScalarType::String,
            _ => ScalarType::Untyped,
        },
        _ => ScalarType::Untyped,
    }
}

fn parse_list(loc: &Located<'_>, preserve: bool) -> ListType {
    let s = loc.schema;
    let str_ext = |k: &str| s.get(k).and_then(Value::as_str);
    let (atomic, keys): (bool, Vec<String>) = match str_ext("x-kubernetes-list-type") {
        Some("set") => (false, Vec::new()),
        Some("map") => {
            let keys = s
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (false, keys)
        }
        Some(_) => (true, Vec::new()),
        None => match str_ext("x-kubernetes-patch-strategy") {
            Some("merge") | Some("merge,retainKeys") => {
                match str_ext("x-kubernetes-patch-merge-key") {
                    Some(k) => (false, vec![k.to_string()]),
                    None => (false, Vec::new()),
                }
            }
            _ => (true, Vec::new()),
        },
    };
    let element = match s.get("items") {
        Some(items) if items.is_object() => make_ref(
            items,
            &loc.owner,
            format!("{}/items", loc.pointer),
            preserve,
        ),
        _ => TypeRef::UntypedAtomic,
    };
    ListType {
        element,
        atomic,
        keys: Arc::from(keys),
    }
}

fn parse_object(loc: &Located<'_>, preserve: bool) -> MapType {
    let s = loc.schema;
    let has_properties = s
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    let element = match s.get("additionalProperties") {
        None | Some(Value::Null) => {
            if preserve || !has_properties {
                Some(TypeRef::Deduced)
            } else {
                None
            }
        }
        Some(Value::Bool(true)) => Some(TypeRef::Deduced),
        Some(Value::Bool(false)) => None,
        Some(ap) => Some(make_ref(
            ap,
            &loc.owner,
            format!("{}/additionalProperties", loc.pointer),
            preserve,
        )),
    };
    MapType {
        element,
        atomic: map_relationship(s) == Some(true),
    }
}

impl ApplySchema for OpenApiSchemas {
    fn resolve(&self, ty: &TypeRef) -> Option<Atom> {
        if let Ok(atoms) = self.cache.atoms.read()
            && let Some(atom) = atoms.get(ty)
        {
            return atom.clone();
        }
        let atom = self.resolve_uncached(ty);
        if let Ok(mut atoms) = self.cache.atoms.write() {
            atoms.insert(ty.clone(), atom.clone());
        }
        atom
    }

    fn field(&self, ty: &TypeRef, field: &str) -> Option<TypeRef> {
        if let Ok(fields) = self.cache.fields.read()
            && let Some(found) = fields.get(ty).and_then(|f| f.get(field))
        {
            return found.clone();
        }
        let found = self.field_uncached(ty, field);
        if let Ok(mut fields) = self.cache.fields.write() {
            fields
                .entry(ty.clone())
                .or_default()
                .insert(field.to_owned(), found.clone());
        }
        found
    }

    fn field_default(&self, ty: &TypeRef, field: &str) -> Option<Value> {
        let loc = self.locate(ty)?;
        if let Some(d) = loc
            .schema
            .get("properties")
            .and_then(|p| p.get(field))
            .and_then(|p| p.get("default"))
        {
            return Some(d.clone());
        }
        if self.builtin_key_defaults
            && field == "protocol"
            && let TypeRef::Named { name, .. } = ty
            && (name.ends_with(".ContainerPort")
                || name.ends_with(".ServicePort")
                || name.ends_with(".EndpointPort"))
        {
            return Some(Value::String("TCP".to_string()));
        }
        None
    }
}

impl OpenApiSchemas {
    fn resolve_uncached(&self, ty: &TypeRef) -> Option<Atom> {
        if let TypeRef::Named { name, .. } = ty {
            let name: &str = name;
            if name == QUANTITY {
                return Some(Atom {
                    scalar: Some(ScalarType::Untyped),
                    ..Atom::default()
                });
            }
            if name == RAW_EXTENSION {
                return Some(Atom::untyped_atomic());
            }
        }
        let loc = self.locate(ty)?;
        let preserve = loc.preserve_unknown();
        let s = loc.schema;
        let typ = s.get("type").and_then(Value::as_str).unwrap_or("");
        let format = s.get("format").and_then(Value::as_str).unwrap_or("");
        let mut atom = match typ {
            "" => Atom {
                scalar: Some(ScalarType::Untyped),
                list: Some(parse_list(&loc, preserve)),
                map: Some(parse_object(&loc, preserve)),
            },
            "object" => Atom {
                map: Some(parse_object(&loc, preserve)),
                ..Atom::default()
            },
            "array" => Atom {
                list: Some(parse_list(&loc, preserve)),
                ..Atom::default()
            },
            other => Atom {
                scalar: Some(scalar_of(other, format)),
                ..Atom::default()
            },
        };
        if let (
            TypeRef::Named {
                map_atomic: Some(a),
                ..
            },
            Some(m),
        ) = (ty, atom.map.as_mut())
        {
            m.atomic = *a;
        }
        Some(atom)
    }

    fn field_uncached(&self, ty: &TypeRef, field: &str) -> Option<TypeRef> {
        let loc = self.locate(ty)?;
        let typ = loc.schema.get("type").and_then(Value::as_str).unwrap_or("");
        if !(typ.is_empty() || typ == "object") {
            return None;
        }
        let prop = loc.schema.get("properties")?.get(field)?;
        let pointer = format!("{}/properties/{}", loc.pointer, escape_pointer(field));
        Some(make_ref(prop, &loc.owner, pointer, loc.preserve_unknown()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schemas() -> OpenApiSchemas {
        let doc = json!({
            "T": {"type": "object", "properties": {
                "a": {"type": "array", "items": {"type": "string"}},
                "b": {"type": "array", "items": {"$ref": "#/components/schemas/I"},
                      "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "c": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
                "d": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "m": {"type": "object", "additionalProperties": {"type": "string"}},
                "r": {"allOf": [{"$ref": "#/components/schemas/I"}], "x-kubernetes-map-type": "atomic"},
                "free": {"type": "object"}
            }},
            "I": {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer", "default": 3}}}
        });
        OpenApiSchemas::from_value(doc).expect("schemas")
    }

    #[test]
    fn list_relationships_follow_schemaconv() {
        let s = schemas();
        let t = TypeRef::named("T");
        let list = |f: &str| {
            let ty = s.field(&t, f).expect("field");
            s.resolve(&ty).and_then(|a| a.list).expect("list")
        };
        assert!(list("a").atomic);
        assert_eq!(
            (list("b").atomic, list("b").keys.clone()),
            (false, vec!["name".to_string()].into())
        );
        assert_eq!(list("b").element, TypeRef::named("I"));
        assert!(!list("c").atomic && list("c").keys.is_empty());
        assert!(!list("d").atomic);
    }

    #[test]
    fn maps_and_overrides() {
        let s = schemas();
        let t = TypeRef::named("T");
        let atom = |f: &str| s.resolve(&s.field(&t, f).expect("field")).expect("atom");
        assert_eq!(
            atom("m").map.and_then(|m| m.element).map(|e| s.resolve(&e)),
            Some(Some(Atom {
                scalar: Some(ScalarType::String),
                ..Atom::default()
            }))
        );
        assert!(atom("r").map.expect("map").atomic);
        assert_eq!(
            atom("free").map.expect("map").element,
            Some(TypeRef::Deduced)
        );
        assert_eq!(
            s.resolve(&t).and_then(|a| a.map).expect("map").element,
            None
        );
        assert_eq!(s.field_default(&TypeRef::named("I"), "n"), Some(json!(3)));
        assert!(s.field(&t, "nope").is_none());
    }
}
