//! One pass over a JSON document against a [`Ty`], mirroring what upstream's strict JSON
//! decoder (`sigs.k8s.io/json` `UnmarshalStrict` into the kind's Go struct) does:
//!
//! * object keys are matched case-sensitively against the struct's JSON field names; a key
//!   that matches nothing is an *unknown field* and its value is skipped unseen (nothing
//!   under an unknown field is reported);
//! * a key seen twice in one struct or map object is a *duplicate field* (the value is still
//!   decoded); free-form values (`RawExtension`, `FieldsV1`) are not looked into at all;
//! * strict errors carry the path of the key (`spec.containers[0].foo`), are deduplicated and
//!   capped at 100;
//! * a value of the wrong JSON type is a fatal decode error. Like upstream, the first such
//!   *saved* error (plain type mismatches, bad base64) lets decoding continue, while errors
//!   coming out of a custom unmarshaler (`Quantity`, `Time`, `IntOrString`) stop it and win.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::gocompat::{self, TimeLayout};
use super::rawjson::{MAX_DEPTH, RawNode};
use super::schema::{Schema, Ty};

/// What a JSON node looks like, independent of its representation.
pub(crate) enum Kind<'a> {
    Null,
    Bool(bool),
    Number,
    /// Unescaped value and the literal text between the quotes (the same when unknown).
    String {
        value: &'a str,
        raw: &'a str,
    },
    Array,
    Object,
}

/// A JSON tree the walker can read: `serde_json::Value` or [`RawNode`].
pub(crate) trait Node: Sized {
    fn kind(&self) -> Kind<'_>;
    /// The literal text of a number (empty for non-numbers).
    fn number_text(&self) -> Cow<'_, str>;
    fn items(&self) -> impl Iterator<Item = &Self>;
    fn members(&self) -> impl Iterator<Item = (&str, &Self)>;
    fn member_count(&self) -> usize;
    fn to_value(&self) -> Value;
}

impl Node for Value {
    fn kind(&self) -> Kind<'_> {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(_) => Kind::Number,
            Value::String(s) => Kind::String { value: s, raw: s },
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    fn number_text(&self) -> Cow<'_, str> {
        match self {
            Value::Number(n) => Cow::Owned(n.to_string()),
            _ => Cow::Borrowed(""),
        }
    }

    fn items(&self) -> impl Iterator<Item = &Self> {
        self.as_array().into_iter().flatten()
    }

    fn members(&self) -> impl Iterator<Item = (&str, &Self)> {
        self.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v))
    }

    fn member_count(&self) -> usize {
        self.as_object().map_or(0, Map::len)
    }

    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl Node for RawNode<'_> {
    fn kind(&self) -> Kind<'_> {
        match self {
            RawNode::Null => Kind::Null,
            RawNode::Bool(b) => Kind::Bool(*b),
            RawNode::Number(_) => Kind::Number,
            RawNode::String(value, raw) => Kind::String { value, raw },
            RawNode::Array(_) => Kind::Array,
            RawNode::Object(_) => Kind::Object,
        }
    }

    fn number_text(&self) -> Cow<'_, str> {
        match self {
            RawNode::Number(text) => Cow::Borrowed(text),
            _ => Cow::Borrowed(""),
        }
    }

    fn items(&self) -> impl Iterator<Item = &Self> {
        let items: &[RawNode<'_>] = match self {
            RawNode::Array(items) => items,
            _ => &[],
        };
        items.iter()
    }

    fn members(&self) -> impl Iterator<Item = (&str, &Self)> {
        let members: &[(Cow<'_, str>, RawNode<'_>)] = match self {
            RawNode::Object(members) => members,
            _ => &[],
        };
        members.iter().map(|(k, v)| (k.as_ref(), v))
    }

    fn member_count(&self) -> usize {
        match self {
            RawNode::Object(members) => members.len(),
            _ => 0,
        }
    }

    fn to_value(&self) -> Value {
        match self {
            RawNode::Null => Value::Null,
            RawNode::Bool(b) => Value::Bool(*b),
            RawNode::Number(text) => text
                .parse::<serde_json::Number>()
                .map_or(Value::Null, Value::Number),
            RawNode::String(value, _) => Value::String(value.clone().into_owned()),
            RawNode::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            RawNode::Object(members) => {
                let mut map = Map::new();
                for (k, v) in members {
                    map.insert(k.clone().into_owned(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// What to look for during a walk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Options {
    /// Report unknown fields.
    pub unknown: bool,
    /// Report repeated keys.
    pub duplicates: bool,
    /// Build the pruned output value.
    pub build: bool,
    /// Keep walking after a fatal error (to list every unknown field regardless).
    pub keep_going: bool,
}

/// The two kinds of strict decoding error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Strict {
    Unknown,
    Duplicate,
}

impl Strict {
    /// Upstream's text for one strict error: `unknown field "spec.foo"`.
    pub fn message(self, path: &str) -> String {
        let what = match self {
            Strict::Unknown => "unknown field",
            Strict::Duplicate => "duplicate field",
        };
        format!("{what} {}", gocompat::go_quote(path))
    }
}

/// Upstream stops recording strict errors after this many.
const MAX_STRICT_ERRORS: usize = 100;

/// Everything one walk found.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Strict errors in document order, deduplicated, at most 100.
    pub strict: Vec<(Strict, String)>,
    /// The fatal decode error upstream would return, if any.
    pub error: Option<String>,
    /// The pruned value (when [`Options::build`] was set and the walk completed).
    pub value: Option<Value>,
}

/// Walks `node` as type `ty`.
pub(crate) fn walk<N: Node>(schema: &Schema, ty: &Ty, node: &N, opts: Options) -> Outcome {
    let mut w = Walker {
        schema,
        opts,
        path: String::new(),
        err_struct: None,
        err_fields: Vec::new(),
        strict: Vec::new(),
        seen: HashSet::new(),
        saved: None,
        returned: None,
        depth: 0,
    };
    let value = w.walk(node, ty);
    Outcome {
        strict: w.strict,
        error: w.returned.or(w.saved),
        value,
    }
}

struct Walker<'s> {
    schema: &'s Schema,
    opts: Options,
    /// Path of the current position, upstream-style (`spec.containers[0]`).
    path: String,
    /// Go struct whose field is being decoded (upstream's `errorContext.Struct`).
    err_struct: Option<&'static str>,
    /// Struct field names from the root (upstream's `errorContext.FieldStack`).
    err_fields: Vec<&'static str>,
    strict: Vec<(Strict, String)>,
    seen: HashSet<(Strict, String)>,
    /// First error upstream saves and reports after decoding the rest.
    saved: Option<String>,
    /// First error upstream returns at once (from custom unmarshalers).
    returned: Option<String>,
    depth: usize,
}

/// Which struct fields one object has set, to spot repeats.
enum SeenFields {
    Small(u128),
    Large(Vec<bool>),
}

impl SeenFields {
    fn new(count: usize) -> Self {
        if count <= 128 {
            SeenFields::Small(0)
        } else {
            SeenFields::Large(vec![false; count])
        }
    }

    /// Marks field `i`; true when it was already marked.
    fn mark(&mut self, i: usize) -> bool {
        match self {
            SeenFields::Small(bits) => {
                let bit = 1u128 << (i % 128);
                let was = *bits & bit != 0;
                *bits |= bit;
                was
            }
            SeenFields::Large(flags) => match flags.get_mut(i) {
                Some(flag) => std::mem::replace(flag, true),
                None => false,
            },
        }
    }
}

/// Which keys one map object has had, to spot repeats.
struct SeenKeys<'n> {
    small: Vec<&'n str>,
    large: Option<HashSet<&'n str>>,
}

impl<'n> SeenKeys<'n> {
    fn new(count: usize) -> Self {
        if count > 16 {
            SeenKeys {
                small: Vec::new(),
                large: Some(HashSet::with_capacity(count)),
            }
        } else {
            SeenKeys {
                small: Vec::with_capacity(count),
                large: None,
            }
        }
    }

    /// Records `key`; true when it was already there.
    fn mark(&mut self, key: &'n str) -> bool {
        match &mut self.large {
            Some(set) => !set.insert(key),
            None => {
                if self.small.contains(&key) {
                    true
                } else {
                    self.small.push(key);
                    false
                }
            }
        }
    }
}

fn describe(kind: &Kind<'_>) -> &'static str {
    match kind {
        Kind::Null => "null",
        Kind::Bool(_) => "bool",
        Kind::Number => "number",
        Kind::String { .. } => "string",
        Kind::Array => "array",
        Kind::Object => "object",
    }
}

impl<'s> Walker<'s> {
    fn stopped(&self) -> bool {
        self.returned.is_some() && !self.opts.keep_going
    }

    fn record(&mut self, kind: Strict, key: &str) {
        let enabled = match kind {
            Strict::Unknown => self.opts.unknown,
            Strict::Duplicate => self.opts.duplicates,
        };
        if !enabled || self.strict.len() >= MAX_STRICT_ERRORS {
            return;
        }
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        if self.seen.insert((kind, path.clone())) {
            self.strict.push((kind, path));
        }
    }

    /// `json: cannot unmarshal <what> into Go struct field <S>.<a.b.c> of type <T>`, or
    /// `… into Go value of type <T>` outside any struct field.
    fn type_error(&self, what: &str, go_type: &str) -> String {
        match self.err_struct {
            Some(name) => format!(
                "json: cannot unmarshal {what} into Go struct field {name}.{} of type {go_type}",
                self.err_fields.join(".")
            ),
            None => format!("json: cannot unmarshal {what} into Go value of type {go_type}"),
        }
    }

    fn save(&mut self, message: String) {
        if self.saved.is_none() {
            self.saved = Some(message);
        }
    }

    fn ret(&mut self, message: String) {
        if self.returned.is_none() {
            self.returned = Some(message);
        }
    }

    fn push_key(&mut self, key: &str) -> usize {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(key);
        len
    }

    fn push_index(&mut self, i: usize) -> usize {
        let len = self.path.len();
        self.path.push('[');
        self.path.push_str(&i.to_string());
        self.path.push(']');
        len
    }

    fn out<N: Node>(&self, node: &N) -> Option<Value> {
        self.opts.build.then(|| node.to_value())
    }

    fn walk<N: Node>(&mut self, node: &N, ty: &Ty) -> Option<Value> {
        if self.depth >= MAX_DEPTH || self.stopped() {
            return self.out(node);
        }
        self.depth += 1;
        let result = self.walk_inner(node, ty);
        self.depth -= 1;
        result
    }

    fn walk_inner<N: Node>(&mut self, node: &N, ty: &Ty) -> Option<Value> {
        let kind = node.kind();
        if matches!(kind, Kind::Null) {
            // null is accepted for every type (ignored for values, clears pointers/maps/slices).
            return self.out(node);
        }
        // A Go named type decodes like its underlying type; only type errors name it.
        let (ty, named) = match ty {
            Ty::Named(name, inner) => (&**inner, Some(*name)),
            ty => (ty, None),
        };
        let go_type = |fallback: &str| named.unwrap_or(fallback).to_owned();
        match ty {
            Ty::Struct(id) => match kind {
                Kind::Object => self.walk_struct(node, *id),
                other => {
                    let go = named.map_or_else(|| self.schema.go_type(ty), str::to_owned);
                    let msg = self.type_error(describe(&other), &go);
                    self.save(msg);
                    None
                }
            },
            Ty::List(elem) => match kind {
                Kind::Array => self.walk_list(node, elem),
                other => {
                    let go = named.map_or_else(|| self.schema.go_type(ty), str::to_owned);
                    let msg = self.type_error(describe(&other), &go);
                    self.save(msg);
                    None
                }
            },
            Ty::Map(elem) => match kind {
                Kind::Object => self.walk_map(node, elem),
                other => {
                    let go = named.map_or_else(|| self.schema.go_type(ty), str::to_owned);
                    let msg = self.type_error(describe(&other), &go);
                    self.save(msg);
                    None
                }
            },
            Ty::Named(_, inner) => self.walk_inner(node, inner),
            Ty::Any => match kind {
                Kind::Object => self.walk_map(node, &Ty::Any),
                Kind::Array => self.walk_list(node, &Ty::Any),
                _ => self.out(node),
            },
            Ty::FreeForm => self.out(node),
            Ty::String => {
                if !matches!(kind, Kind::String { .. }) {
                    let msg = self.type_error(describe(&kind), &go_type("string"));
                    self.save(msg);
                }
                self.out(node)
            }
            Ty::Bool => {
                if !matches!(kind, Kind::Bool(_)) {
                    let msg = self.type_error(describe(&kind), &go_type("bool"));
                    self.save(msg);
                }
                self.out(node)
            }
            Ty::Int32 | Ty::Int64 | Ty::Float64 => {
                let go = go_type(match ty {
                    Ty::Int32 => "int32",
                    Ty::Int64 => "int64",
                    _ => "float64",
                });
                match kind {
                    Kind::Number => {
                        let text = node.number_text();
                        let fits = match ty {
                            Ty::Int32 => text.parse::<i32>().is_ok(),
                            Ty::Int64 => text.parse::<i64>().is_ok(),
                            _ => text.parse::<f64>().is_ok_and(f64::is_finite),
                        };
                        if !fits {
                            let msg = self.type_error(&format!("number {text}"), &go);
                            self.save(msg);
                        }
                    }
                    other => {
                        let msg = self.type_error(describe(&other), &go);
                        self.save(msg);
                    }
                }
                self.out(node)
            }
            Ty::IntOrString => {
                match kind {
                    Kind::String { .. } => {}
                    Kind::Number => {
                        let text = node.number_text();
                        if text.parse::<i32>().is_err() {
                            let msg = self.type_error(&format!("number {text}"), "int32");
                            self.ret(msg);
                        }
                    }
                    other => {
                        let msg = self.type_error(describe(&other), "int32");
                        self.ret(msg);
                    }
                }
                self.out(node)
            }
            Ty::Quantity => {
                let number;
                let text: &str = match kind {
                    Kind::String { raw, .. } => raw,
                    Kind::Number => {
                        number = node.number_text();
                        &number
                    }
                    Kind::Bool(true) => "true",
                    Kind::Bool(false) => "false",
                    Kind::Array => "[",
                    Kind::Object | Kind::Null => "{",
                };
                if let Err(msg) = gocompat::check_quantity(text) {
                    self.ret(msg.to_owned());
                }
                self.out(node)
            }
            Ty::Time | Ty::MicroTime => {
                match kind {
                    Kind::String { value, .. } => {
                        let layout = if *ty == Ty::Time {
                            TimeLayout::Rfc3339
                        } else {
                            TimeLayout::Rfc3339Micro
                        };
                        if let Err(msg) = gocompat::check_time(layout, value) {
                            self.ret(msg);
                        }
                    }
                    other => {
                        let msg = self.type_error(describe(&other), "string");
                        self.ret(msg);
                    }
                }
                self.out(node)
            }
            Ty::Bytes => self.walk_bytes(node, kind),
        }
    }

    fn walk_struct<N: Node>(&mut self, node: &N, id: usize) -> Option<Value> {
        let schema = self.schema;
        let Some(def) = schema.structs.get(id) else {
            return self.out(node);
        };
        let mut out = self.opts.build.then(Map::new);
        let mut seen = SeenFields::new(def.fields.len());
        for (key, child) in node.members() {
            if self.stopped() {
                break;
            }
            let Some((index, field_ty)) = def.field(key) else {
                self.record(Strict::Unknown, key);
                continue;
            };
            if seen.mark(index) {
                self.record(Strict::Duplicate, key);
            }
            let field_name = def.fields.get(index).map_or("", |(name, _)| *name);
            let outer_struct = self.err_struct.replace(def.name);
            self.err_fields.push(field_name);
            let len = self.push_key(key);
            let value = self.walk(child, field_ty);
            self.path.truncate(len);
            self.err_fields.pop();
            self.err_struct = outer_struct;
            if let (Some(out), Some(value)) = (out.as_mut(), value) {
                match out.get_mut(key) {
                    Some(existing) => merge(schema, existing, value, field_ty),
                    None => {
                        out.insert(key.to_owned(), value);
                    }
                }
            }
        }
        out.map(Value::Object)
    }

    fn walk_list<N: Node>(&mut self, node: &N, elem: &Ty) -> Option<Value> {
        let mut out = self.opts.build.then(Vec::new);
        for (i, item) in node.items().enumerate() {
            if self.stopped() {
                break;
            }
            let len = self.push_index(i);
            let value = self.walk(item, elem);
            self.path.truncate(len);
            if let (Some(out), Some(value)) = (out.as_mut(), value) {
                out.push(value);
            }
        }
        out.map(Value::Array)
    }

    fn walk_map<N: Node>(&mut self, node: &N, elem: &Ty) -> Option<Value> {
        let mut out = self.opts.build.then(Map::new);
        let mut seen = SeenKeys::new(if self.opts.duplicates {
            node.member_count()
        } else {
            0
        });
        for (key, child) in node.members() {
            if self.stopped() {
                break;
            }
            if self.opts.duplicates && seen.mark(key) {
                self.record(Strict::Duplicate, key);
            }
            let len = self.push_key(key);
            let value = self.walk(child, elem);
            self.path.truncate(len);
            if let (Some(out), Some(value)) = (out.as_mut(), value) {
                out.insert(key.to_owned(), value);
            }
        }
        out.map(Value::Object)
    }

    /// `[]byte`: a base64 string, or (as Go also accepts) an array of small integers.
    fn walk_bytes<N: Node>(&mut self, node: &N, kind: Kind<'_>) -> Option<Value> {
        match kind {
            Kind::String { value, .. } => {
                if let Err(msg) = gocompat::go_base64_decode(value.as_bytes()) {
                    self.save(msg);
                }
                self.out(node)
            }
            Kind::Array => {
                let mut bytes = Vec::new();
                for item in node.items() {
                    match item.kind() {
                        Kind::Null => bytes.push(0),
                        Kind::Number => {
                            let text = item.number_text();
                            match text.parse::<u8>() {
                                Ok(b) => bytes.push(b),
                                Err(_) => {
                                    let msg = self.type_error(&format!("number {text}"), "uint8");
                                    self.save(msg);
                                }
                            }
                        }
                        other => {
                            let msg = self.type_error(describe(&other), "uint8");
                            self.save(msg);
                        }
                    }
                }
                self.opts
                    .build
                    .then(|| Value::String(gocompat::base64_encode(&bytes)))
            }
            other => {
                let msg = self.type_error(describe(&other), "[]uint8");
                self.save(msg);
                self.out(node)
            }
        }
    }
}

/// Go's decoding of a repeated key into a value already decoded: struct and map values take
/// the new members over the old ones (struct members recursively), list elements are decoded
/// into the existing elements index by index, everything else is replaced.
fn merge(schema: &Schema, existing: &mut Value, new: Value, ty: &Ty) {
    match (ty, existing, new) {
        (Ty::Named(_, inner), existing, new) => merge(schema, existing, new, inner),
        (Ty::Struct(id), Value::Object(old), Value::Object(new)) => {
            for (key, value) in new {
                let field_ty = schema
                    .structs
                    .get(*id)
                    .and_then(|d| d.field(&key))
                    .map(|(_, t)| t);
                match (old.get_mut(&key), field_ty) {
                    (Some(slot), Some(field_ty)) => merge(schema, slot, value, field_ty),
                    _ => {
                        old.insert(key, value);
                    }
                }
            }
        }
        (Ty::Map(_), Value::Object(old), Value::Object(new)) => old.extend(new),
        (Ty::List(elem), Value::Array(old), Value::Array(new)) => {
            let len = new.len();
            for (i, value) in new.into_iter().enumerate() {
                match old.get_mut(i) {
                    Some(slot) => merge(schema, slot, value, elem),
                    None => old.push(value),
                }
            }
            old.truncate(len);
        }
        (_, slot, new) => *slot = new,
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
    use serde_json::json;

    #[test]
    fn repeated_list_merges_elements_index_by_index_and_takes_the_new_length() {
        let schema = Schema::default();
        let ty = Ty::List(Box::new(Ty::Map(Box::new(Ty::String))));
        let mut old = json!([{"a": "1"}, {"b": "2"}]);
        merge(&schema, &mut old, json!([{"c": "3"}]), &ty);
        assert_eq!(old, json!([{"a": "1", "c": "3"}]));
    }

    #[test]
    fn repeated_scalar_is_replaced() {
        let schema = Schema::default();
        let mut old = json!("a");
        merge(&schema, &mut old, json!("b"), &Ty::String);
        assert_eq!(old, json!("b"));
    }

    #[test]
    fn seen_keys_switch_to_a_set_for_large_objects() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let mut seen = SeenKeys::new(keys.len() + 1);
        assert!(keys.iter().all(|k| !seen.mark(k)));
        assert!(seen.mark("k7"));
        let mut fields = SeenFields::new(300);
        assert!(!fields.mark(299));
        assert!(fields.mark(299));
        assert!(!fields.mark(1000));
    }
}
