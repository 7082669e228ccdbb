//! The typed schema the checks walk, read out of `k8s-openapi`'s `Deserialize` impls.
//!
//! Nothing is hand-listed: for every registered kind the builder drives the kind's
//! `Deserialize` impl with a probing [`Deserializer`] that answers no data but records which
//! `deserialize_*` method each position asks for (`deserialize_struct` hands over the struct's
//! field names, `deserialize_seq` / `deserialize_map` mark containers, scalars and the
//! apimachinery wrappers `Quantity`, `Time`, `IntOrString`, `RawExtension`, … are recognised
//! by their newtype name or visitor type). One probe answers one path; a struct's field types
//! are learnt by probing `path + [field]` from the root again, once per distinct struct type.

use std::any::type_name;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use super::gotypes::NAMED_FIELD_TYPES;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};

/// The decoding behaviour of one position in an object, as upstream's Go types have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    /// A Go struct: index into [`Schema::structs`].
    Struct(usize),
    /// A Go slice.
    List(Box<Ty>),
    /// A Go map with string keys.
    Map(Box<Ty>),
    /// A Go named type over the inner type (`v1.PullPolicy` over `string`,
    /// `v1.ResourceList` over a map of quantities): only the name in type errors differs.
    Named(&'static str, Box<Ty>),
    /// `string` (and Go named string types).
    String,
    /// `int32`.
    Int32,
    /// `int64`.
    Int64,
    /// `float64`.
    Float64,
    /// `bool`.
    Bool,
    /// `resource.Quantity` (custom unmarshaler: any non-null value is parsed as a quantity).
    Quantity,
    /// `metav1.Time` (RFC 3339 string).
    Time,
    /// `metav1.MicroTime` (RFC 3339 with exactly six fractional digits).
    MicroTime,
    /// `intstr.IntOrString`.
    IntOrString,
    /// `[]byte` (base64 string).
    Bytes,
    /// Free-form JSON kept verbatim (`runtime.RawExtension`, `metav1.FieldsV1`, untyped JSON):
    /// nothing below it is checked, like upstream.
    FreeForm,
    /// Go `interface{}` (how upstream decodes objects of kinds it has no type for): any JSON,
    /// repeated keys still reported at every depth.
    Any,
}

/// One Go struct type.
#[derive(Debug)]
pub(crate) struct StructDef {
    /// Go struct name without package (`Container`), as upstream's type errors print it.
    pub name: &'static str,
    /// Go type as `reflect.Type.String()` prints it (`v1.Container`).
    pub go_type: String,
    /// JSON field names and their types, in the order `k8s-openapi` lists them.
    pub fields: Vec<(&'static str, Ty)>,
    /// Field name → index into `fields`.
    index: HashMap<&'static str, usize>,
}

impl StructDef {
    /// The index and type of the field named exactly `key` (case-sensitive, like upstream).
    pub fn field(&self, key: &str) -> Option<(usize, &Ty)> {
        let i = *self.index.get(key)?;
        self.fields.get(i).map(|(_, ty)| (i, ty))
    }
}

/// All struct types reachable from the registered kinds, and the kinds' root structs.
#[derive(Debug, Default)]
pub(crate) struct Schema {
    pub structs: Vec<StructDef>,
    kinds: Vec<(&'static str, &'static str, &'static str, usize)>,
}

impl Schema {
    /// The root struct of a registered group/version/kind.
    pub fn root(&self, group: &str, version: &str, kind: &str) -> Option<usize> {
        self.kinds
            .iter()
            .find(|(g, v, k, _)| *g == group && *v == version && *k == kind)
            .map(|(_, _, _, id)| *id)
    }

    /// The Go spelling of a type, as `reflect.Type.String()` would print it for the
    /// corresponding upstream type (named string/map types such as `v1.PullPolicy` or
    /// `v1.ResourceList` are not known here and print as their underlying type).
    pub fn go_type(&self, ty: &Ty) -> String {
        match ty {
            Ty::Struct(id) => self
                .structs
                .get(*id)
                .map_or_else(|| "struct".to_owned(), |s| s.go_type.clone()),
            Ty::Named(name, _) => (*name).to_owned(),
            Ty::List(elem) => format!("[]{}", self.go_type(elem)),
            Ty::Map(elem) => format!("map[string]{}", self.go_type(elem)),
            Ty::String => "string".to_owned(),
            Ty::Int32 => "int32".to_owned(),
            Ty::Int64 => "int64".to_owned(),
            Ty::Float64 => "float64".to_owned(),
            Ty::Bool => "bool".to_owned(),
            Ty::Quantity => "resource.Quantity".to_owned(),
            Ty::Time => "v1.Time".to_owned(),
            Ty::MicroTime => "v1.MicroTime".to_owned(),
            Ty::IntOrString => "intstr.IntOrString".to_owned(),
            Ty::Bytes => "[]uint8".to_owned(),
            Ty::FreeForm => "runtime.RawExtension".to_owned(),
            Ty::Any => "interface {}".to_owned(),
        }
    }
}

/// Builds a [`Schema`] kind by kind.
pub(crate) struct Builder {
    schema: Schema,
    /// Visitor type name (unique per Rust struct type) → struct index.
    by_key: HashMap<&'static str, usize>,
    /// (struct key, JSON field) → Go type spelled with its named types.
    named: HashMap<(&'static str, &'static str), &'static str>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            schema: Schema::default(),
            by_key: HashMap::new(),
            named: NAMED_FIELD_TYPES
                .iter()
                .map(|(s, f, go)| ((*s, *f), *go))
                .collect(),
        }
    }
}

impl Builder {
    /// Registers `T` as the type of `group/version/kind`. Kinds whose root does not probe as a
    /// struct are skipped (they then behave as unknown kinds).
    pub fn add<T: DeserializeOwned>(
        &mut self,
        group: &'static str,
        version: &'static str,
        kind: &'static str,
    ) {
        let steps = probe::<T>(&[]);
        if let Ty::Struct(id) = self.ty_from_steps::<T>(&[], steps) {
            self.schema.kinds.push((group, version, kind, id));
        }
    }

    /// The finished schema.
    pub fn finish(self) -> Schema {
        self.schema
    }

    fn ty_from_steps<T: DeserializeOwned>(
        &mut self,
        path: &[&'static str],
        steps: Vec<Step>,
    ) -> Ty {
        let mut wrappers = Vec::new();
        let mut leaf = None;
        for step in steps {
            match step {
                Step::List => wrappers.push(true),
                Step::Map => wrappers.push(false),
                Step::Leaf(l) => {
                    leaf = Some(l);
                    break;
                }
            }
        }
        let mut ty = match leaf {
            // A probe that recorded nothing usable: accept anything below this point.
            None => Ty::FreeForm,
            Some(Leaf::Scalar(ty)) => ty,
            Some(Leaf::Struct { key, name, fields }) => {
                Ty::Struct(self.struct_id::<T>(path, key, name, fields))
            }
        };
        while let Some(is_list) = wrappers.pop() {
            ty = if is_list {
                Ty::List(Box::new(ty))
            } else {
                Ty::Map(Box::new(ty))
            };
        }
        ty
    }

    /// Wraps the parts of `ty` whose Go spelling `go` uses named types in [`Ty::Named`].
    fn apply_go_name(&self, go: &'static str, ty: Ty) -> Ty {
        match ty {
            Ty::List(inner) if go.starts_with("[]") => {
                let elem = go.get(2..).unwrap_or("");
                Ty::List(Box::new(self.apply_go_name(elem, *inner)))
            }
            Ty::Map(inner) if go.starts_with("map[string]") => {
                let value = go.get("map[string]".len()..).unwrap_or("");
                Ty::Map(Box::new(self.apply_go_name(value, *inner)))
            }
            ty if self.schema.go_type(&ty) == go => ty,
            ty => Ty::Named(go, Box::new(ty)),
        }
    }

    fn struct_id<T: DeserializeOwned>(
        &mut self,
        path: &[&'static str],
        key: &'static str,
        name: &'static str,
        fields: &'static [&'static str],
    ) -> usize {
        if let Some(id) = self.by_key.get(key) {
            return *id;
        }
        let id = self.schema.structs.len();
        self.by_key.insert(key, id);
        self.schema.structs.push(StructDef {
            name,
            go_type: format!("{}.{}", go_package(key), name),
            fields: Vec::new(),
            index: HashMap::new(),
        });
        let struct_key = struct_key(key, name);
        let mut defs = Vec::with_capacity(fields.len());
        let mut sub = path.to_vec();
        for field in fields {
            sub.push(*field);
            let steps = probe::<T>(&sub);
            let mut ty = self.ty_from_steps::<T>(&sub, steps);
            if let Some(go) = self.named.get(&(struct_key.as_str(), *field)) {
                ty = self.apply_go_name(go, ty);
            }
            defs.push((*field, ty));
            sub.pop();
        }
        if let Some(def) = self.schema.structs.get_mut(id) {
            def.index = defs.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
            def.fields = defs;
        }
        id
    }
}

/// `group/version.Name` of the type whose `Deserialize` impl owns visitor `key`
/// (`…::api::core::v1::container::Container` → `core/v1.Container`).
fn struct_key(key: &str, name: &str) -> String {
    let segments: Vec<&str> = visitor_owner(key)
        .map(|p| p.split("::").collect())
        .unwrap_or_default();
    let at = |back: usize| {
        segments
            .len()
            .checked_sub(back)
            .and_then(|i| segments.get(i).copied())
            .unwrap_or("")
    };
    format!("{}/{}.{name}", at(4), at(3))
}

/// The Go package name of the type whose `Deserialize` impl owns visitor `key`
/// (`<k8s_openapi::v1_33::api::core::v1::container::Container as …>::deserialize::Visitor`
/// → `v1`): the module two levels above the type.
fn go_package(key: &str) -> &str {
    visitor_owner(key)
        .and_then(|path| {
            let segments: Vec<&str> = path.split("::").collect();
            segments
                .len()
                .checked_sub(3)
                .and_then(|i| segments.get(i).copied())
        })
        .unwrap_or("v1")
}

/// The type path in a visitor type name of the form `<path as Trait>::deserialize::Visitor`.
fn visitor_owner(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('<')?;
    let end = rest.find(" as ")?;
    rest.get(..end)
}

/// Whether visitor type `name` is the own visitor of a type whose path ends in `::last`.
fn visitor_of(name: &str, last: &str) -> bool {
    visitor_owner(name).is_some_and(|p| p.rsplit("::").next() == Some(last))
}

/// What one probe saw, outermost first.
#[derive(Debug)]
enum Step {
    List,
    Map,
    Leaf(Leaf),
}

#[derive(Debug)]
enum Leaf {
    Struct {
        key: &'static str,
        name: &'static str,
        fields: &'static [&'static str],
    },
    Scalar(Ty),
}

/// Runs `T`'s `Deserialize` impl down `path` (struct field names; containers are passed
/// through) and returns what the position at the end of the path asked for.
fn probe<T: DeserializeOwned>(path: &[&'static str]) -> Vec<Step> {
    let rec = RefCell::new(Vec::new());
    // The probe always ends in an error once it has recorded; the result itself is unused.
    let _ = T::deserialize(Probe { path, rec: &rec });
    rec.into_inner()
}

/// The error every probe ends with.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("schema probe stop")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Stop
    }
}

#[derive(Clone, Copy)]
struct Probe<'a> {
    path: &'a [&'static str],
    rec: &'a RefCell<Vec<Step>>,
}

impl<'a> Probe<'a> {
    fn recording(&self) -> bool {
        self.path.is_empty()
    }

    fn push(&self, step: Step) {
        if self.recording() {
            self.rec.borrow_mut().push(step);
        }
    }

    fn leaf<T>(self, ty: Ty) -> Result<T, Stop> {
        self.push(Step::Leaf(Leaf::Scalar(ty)));
        Err(Stop)
    }
}

macro_rules! probe_leaf {
    ($($method:ident => $ty:expr),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
                self.leaf($ty)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    probe_leaf! {
        deserialize_bool => Ty::Bool,
        deserialize_i8 => Ty::Int64,
        deserialize_i16 => Ty::Int64,
        deserialize_i32 => Ty::Int32,
        deserialize_i64 => Ty::Int64,
        deserialize_u8 => Ty::Int64,
        deserialize_u16 => Ty::Int64,
        deserialize_u32 => Ty::Int64,
        deserialize_u64 => Ty::Int64,
        deserialize_f32 => Ty::Float64,
        deserialize_f64 => Ty::Float64,
        deserialize_char => Ty::String,
        deserialize_str => Ty::String,
        deserialize_string => Ty::String,
        deserialize_bytes => Ty::FreeForm,
        deserialize_byte_buf => Ty::FreeForm,
        deserialize_unit => Ty::FreeForm,
        deserialize_identifier => Ty::String,
        deserialize_ignored_any => Ty::FreeForm,
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        if visitor_of(type_name::<V>(), "IntOrString") {
            self.leaf(Ty::IntOrString)
        } else {
            self.leaf(Ty::FreeForm)
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        if visitor_of(type_name::<V>(), "ByteString") {
            return self.leaf(Ty::Bytes);
        }
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf(Ty::FreeForm)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        match name {
            "Quantity" => self.leaf(Ty::Quantity),
            "Time" => self.leaf(Ty::Time),
            "MicroTime" => self.leaf(Ty::MicroTime),
            "FieldsV1" | "RawExtension" => self.leaf(Ty::FreeForm),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.push(Step::List);
        visitor.visit_seq(OneElement { probe: Some(self) })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf(Ty::FreeForm)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf(Ty::FreeForm)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.push(Step::Map);
        visitor.visit_map(OneEntry {
            key: Some("k"),
            value: Some(self),
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        match self.path.split_first() {
            None => {
                self.push(Step::Leaf(Leaf::Struct {
                    key: type_name::<V>(),
                    name,
                    fields,
                }));
                Err(Stop)
            }
            Some((first, rest)) => visitor.visit_map(OneEntry {
                key: Some(*first),
                value: Some(Probe {
                    path: rest,
                    rec: self.rec,
                }),
            }),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf(Ty::String)
    }
}

/// A sequence of one element: the probe.
struct OneElement<'a> {
    probe: Option<Probe<'a>>,
}

impl<'de> SeqAccess<'de> for OneElement<'_> {
    type Error = Stop;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Stop> {
        match self.probe.take() {
            Some(probe) => seed.deserialize(probe).map(Some),
            None => Ok(None),
        }
    }
}

/// A map of one entry: `key` → the probe.
struct OneEntry<'a> {
    key: Option<&'static str>,
    value: Option<Probe<'a>>,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        match self.key.take() {
            Some(key) => seed.deserialize(KeyName(key)).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Stop> {
        match self.value.take() {
            Some(probe) => seed.deserialize(probe),
            None => Err(Stop),
        }
    }
}

/// A map key: answers every request with the name as a string.
struct KeyName(&'static str);

impl<'de> Deserializer<'de> for KeyName {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_str(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};

    fn schema_of<T: DeserializeOwned>(kind: &'static str) -> (Schema, usize) {
        let mut b = Builder::default();
        b.add::<T>("g", "v", kind);
        let s = b.finish();
        let root = s.root("g", "v", kind).unwrap();
        (s, root)
    }

    fn field<'s>(s: &'s Schema, id: usize, name: &str) -> &'s Ty {
        s.structs[id].field(name).unwrap().1
    }

    fn struct_of(ty: &Ty) -> usize {
        match ty {
            Ty::Struct(id) => *id,
            Ty::List(inner) | Ty::Map(inner) => struct_of(inner),
            Ty::Named(_, inner) => struct_of(inner),
            other => panic!("not a struct: {other:?}"),
        }
    }

    #[test]
    fn deployment_probes_to_nested_struct_list_and_scalar_fields() {
        let (s, root) = schema_of::<Deployment>("Deployment");
        assert_eq!(s.structs[root].name, "Deployment");
        assert_eq!(s.structs[root].go_type, "v1.Deployment");
        assert_eq!(field(&s, root, "apiVersion"), &Ty::String);
        let spec = struct_of(field(&s, root, "spec"));
        assert_eq!(s.structs[spec].go_type, "v1.DeploymentSpec");
        assert_eq!(field(&s, spec, "replicas"), &Ty::Int32);
        let template = struct_of(field(&s, spec, "template"));
        let pod_spec = struct_of(field(&s, template, "spec"));
        let containers = field(&s, pod_spec, "containers");
        assert_eq!(s.go_type(containers), "[]v1.Container");
        let container = struct_of(containers);
        assert_eq!(s.go_type(field(&s, container, "args")), "[]string");
        let resources = struct_of(field(&s, container, "resources"));
        assert_eq!(s.go_type(field(&s, resources, "limits")), "v1.ResourceList");
        assert_eq!(
            s.go_type(field(&s, container, "imagePullPolicy")),
            "v1.PullPolicy"
        );
        let security = struct_of(field(&s, container, "securityContext"));
        let caps = struct_of(field(&s, security, "capabilities"));
        assert_eq!(s.go_type(field(&s, caps, "add")), "[]v1.Capability");
        let meta = struct_of(field(&s, root, "metadata"));
        assert_eq!(s.go_type(field(&s, meta, "labels")), "map[string]string");
        assert_eq!(field(&s, meta, "creationTimestamp"), &Ty::Time);
        let managed = struct_of(field(&s, meta, "managedFields"));
        assert_eq!(field(&s, managed, "fieldsV1"), &Ty::FreeForm);
    }

    #[test]
    fn special_scalars_are_recognised() {
        let (s, root) = schema_of::<Secret>("Secret");
        assert_eq!(s.go_type(field(&s, root, "data")), "map[string][]uint8");
        let (s, root) = schema_of::<ConfigMap>("ConfigMap");
        assert_eq!(field(&s, root, "binaryData"), &Ty::Map(Box::new(Ty::Bytes)));
        let (s, root) = schema_of::<Service>("Service");
        let spec = struct_of(field(&s, root, "spec"));
        let port = struct_of(field(&s, spec, "ports"));
        assert_eq!(field(&s, port, "targetPort"), &Ty::IntOrString);
        assert_eq!(s.structs[port].name, "ServicePort");
        let (s, root) = schema_of::<Pod>("Pod");
        let status = struct_of(field(&s, root, "status"));
        assert_eq!(s.go_type(field(&s, status, "startTime")), "v1.Time");
    }

    #[test]
    fn go_package_is_the_module_above_the_type_module() {
        assert_eq!(
            go_package(
                "<k8s_openapi::v1_33::api::autoscaling::v2::metric_spec::MetricSpec as serde_core::de::Deserialize<'_>>::deserialize::Visitor"
            ),
            "v2"
        );
        assert_eq!(go_package("garbage"), "v1");
        assert_eq!(
            struct_key(
                "<k8s_openapi::v1_33::apimachinery::pkg::apis::meta::v1::object_meta::ObjectMeta as serde_core::de::Deserialize<'_>>::deserialize::Visitor",
                "ObjectMeta"
            ),
            "meta/v1.ObjectMeta"
        );
    }
}
