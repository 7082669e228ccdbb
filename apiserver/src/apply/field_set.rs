//! Field paths and sets of field paths, and their `FieldsV1` wire form.
//!
//! A [`FieldSet`] is the trie structured-merge-diff calls `fieldpath.Set`:
//! every node has *members* (path elements that are themselves in the set)
//! and *children* (path elements under which deeper members live). Its
//! `FieldsV1` JSON writes `f:name` for struct/map fields, `k:{...}` for
//! associative-list items, `v:value` for set items and `i:N` for indices,
//! with `"."` marking a node that is both a member and a parent. Keys are
//! written in structured-merge-diff's path-element order, so
//! [`FieldSet::to_fields_v1_string`] reproduces upstream's bytes.

use super::go_format::{go_quote, json_value, value_to_string, write_json_string};
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// One step of a field path.
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A struct field or map key: `f:name`, printed `.name`. (Shared: field
    /// sets clone their elements a lot.)
    Field(Arc<str>),
    /// An associative-list item identified by its key fields (sorted by
    /// name): `k:{"name":"c"}`, printed `[name="c"]`.
    Key(Arc<[(String, Value)]>),
    /// A set item identified by its value: `v:"x"`, printed `[="x"]`.
    Value(Value),
    /// An item of an atomic list identified by position: `i:0`, printed `[0]`.
    Index(i64),
}

impl PathElement {
    /// A field element.
    pub fn field(name: &str) -> Self {
        PathElement::Field(Arc::from(name))
    }

    /// A key element; the fields are sorted by name as upstream does.
    pub fn key(mut fields: Vec<(String, Value)>) -> Self {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(Arc::from(fields))
    }

    /// The `FieldsV1` key text of this element (`f:…`, `k:…`, `v:…`, `i:…`).
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let mut out = String::from("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(&mut out, name, false);
                    out.push(':');
                    out.push_str(&json_value(value, true));
                }
                out.push('}');
                out
            }
            PathElement::Value(value) => format!("v:{}", json_value(value, true)),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key. `Ok(None)` is an unknown element type, which
    /// upstream skips.
    ///
    /// # Errors
    ///
    /// A key shorter than two bytes, without `:` second, or with an
    /// unparsable value.
    pub fn from_fields_v1_key(s: &str) -> Result<Option<Self>, FieldsV1Error> {
        let bytes = s.as_bytes();
        if bytes.len() < 2 {
            return Err(FieldsV1Error("key must be 2 characters long:".to_string()));
        }
        if bytes[1] != b':' {
            return Err(FieldsV1Error(format!("missing colon: {s}")));
        }
        let rest = &s[2..];
        match bytes[0] {
            b'f' => Ok(Some(PathElement::field(rest))),
            b'v' => {
                let v: Value = serde_json::from_str(rest).map_err(|e| {
                    FieldsV1Error(format!("parsing value element {}: {e}", go_quote(rest)))
                })?;
                Ok(Some(PathElement::Value(floats_only(v))))
            }
            b'k' => {
                let v: Value = serde_json::from_str(rest).map_err(|e| {
                    FieldsV1Error(format!("parsing key element {}: {e}", go_quote(rest)))
                })?;
                let Value::Object(map) = v else {
                    return Err(FieldsV1Error(format!(
                        "key element is not an object: {rest}"
                    )));
                };
                let fields = map.into_iter().map(|(k, v)| (k, floats_only(v))).collect();
                Ok(Some(PathElement::key(fields)))
            }
            b'i' => rest
                .parse::<i64>()
                .map(|i| Some(PathElement::Index(i)))
                .map_err(|e| {
                    FieldsV1Error(format!("parsing index element {}: {e}", go_quote(rest)))
                }),
            _ => Ok(None),
        }
    }
}

/// Numbers read back from FieldsV1 are float64 upstream (jsoniter decodes
/// every JSON number that way); keeping that makes `%v` rendering match.
fn floats_only(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => match n.as_f64().and_then(Number::from_f64)
        {
            Some(f) => Value::Number(f),
            None => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(floats_only).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, floats_only(v))).collect())
        }
        other => other,
    }
}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_to_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    /// structured-merge-diff's order: fields, then keys, then values, then
    /// indices.
    fn cmp(&self, other: &Self) -> Ordering {
        fn rank(pe: &PathElement) -> u8 {
            match pe {
                PathElement::Field(_) => 0,
                PathElement::Key(_) => 1,
                PathElement::Value(_) => 2,
                PathElement::Index(_) => 3,
            }
        }
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => compare_field_lists(a, b),
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

fn compare_field_lists(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
        let c = ka.cmp(kb).then_with(|| compare_values(va, vb));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// structured-merge-diff's total order over values: numbers (ints and
/// floats compared numerically) < strings < booleans < lists < maps < null.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let c = compare_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => compare_maps(x, y),
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => rank(a).cmp(&rank(b)),
    }
}

fn compare_numbers(x: &Number, y: &Number) -> Ordering {
    match (x.as_i64(), y.as_i64()) {
        (Some(p), Some(q)) => p.cmp(&q),
        _ => {
            let p = x.as_f64().unwrap_or(0.0);
            let q = y.as_f64().unwrap_or(0.0);
            p.partial_cmp(&q).unwrap_or(Ordering::Equal)
        }
    }
}

fn compare_maps(x: &Map<String, Value>, y: &Map<String, Value>) -> Ordering {
    if x.is_empty() && y.is_empty() {
        return Ordering::Equal;
    }
    let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    for (i, key) in keys.into_iter().enumerate() {
        let c = if i == x.len() {
            Ordering::Less
        } else if i == y.len() {
            Ordering::Greater
        } else {
            match (x.get(key), y.get(key)) {
                (None, _) => Ordering::Greater,
                (_, None) => Ordering::Less,
                (Some(p), Some(q)) => compare_values(p, q),
            }
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

/// Deep equality with numbers compared numerically (`1 == 1.0`), as
/// structured-merge-diff's `value.Equals`.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A field path, printed the way conflicts show it
/// (`.spec.template.spec.containers[name="nginx"].image`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// The path's elements.
    pub fn elements(&self) -> &[PathElement] {
        &self.0
    }

    /// A path of field names, e.g. `Path::fields(&["spec", "replicas"])`.
    pub fn fields(names: &[&str]) -> Self {
        Path(names.iter().map(|n| PathElement::field(n)).collect())
    }
}

impl From<Vec<PathElement>> for Path {
    fn from(v: Vec<PathElement>) -> Self {
        Path(v)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            write!(f, "{pe}")?;
        }
        Ok(())
    }
}

/// An error reading `FieldsV1`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldsV1Error(pub String);

/// A set of field paths (structured-merge-diff's `fieldpath.Set`).
///
/// Invariant: no child node is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// A set holding `paths`.
    pub fn from_paths<I: IntoIterator<Item = Path>>(paths: I) -> Self {
        let mut s = FieldSet::new();
        for p in paths {
            s.insert(p.elements());
        }
        s
    }

    /// Whether the set has no members anywhere.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Number of member paths.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.values().map(FieldSet::len).sum::<usize>()
    }

    /// Adds a path (its parents are not added). The empty path is ignored:
    /// nobody owns the whole object.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// Whether `pe` is a direct member.
    pub fn has_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    /// The direct members.
    pub fn members(&self) -> impl Iterator<Item = &PathElement> {
        self.members.iter()
    }

    /// The direct children and their subsets.
    pub fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    /// The subset below `pe` (without the prefix); empty when none.
    pub fn with_prefix(&self, pe: &PathElement) -> FieldSet {
        self.children.get(pe).cloned().unwrap_or_default()
    }

    /// Borrowing form of [`FieldSet::with_prefix`].
    pub(crate) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_in_place(other);
        out
    }

    /// Adds every path of `other`.
    pub fn union_in_place(&mut self, other: &FieldSet) {
        self.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            self.children
                .entry(pe.clone())
                .or_default()
                .union_in_place(child);
        }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            if let Some(o) = other.children.get(pe) {
                let c = child.intersection(o);
                if !c.is_empty() {
                    children.insert(pe.clone(), c);
                }
            }
        }
        FieldSet { members, children }
    }

    /// Paths of `self` not in `other`. A member of `other` does not remove
    /// `self`'s paths below it (parent − child = parent, child − parent =
    /// child).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            let c = match other.children.get(pe) {
                Some(o) => child.difference(o),
                None => child.clone(),
            };
            if !c.is_empty() {
                children.insert(pe.clone(), c);
            }
        }
        FieldSet { members, children }
    }

    /// Like [`FieldSet::difference`], but a member of `other` also removes
    /// everything below it.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            if other.members.contains(pe) {
                continue;
            }
            let c = match other.children.get(pe) {
                Some(o) => child.recursive_difference(o),
                None => child.clone(),
            };
            if !c.is_empty() {
                children.insert(pe.clone(), c);
            }
        }
        FieldSet { members, children }
    }

    /// [`FieldSet::difference`] in place.
    pub fn remove(&mut self, other: &FieldSet) {
        self.members.retain(|m| !other.members.contains(m));
        self.children.retain(|pe, child| {
            if let Some(o) = other.children.get(pe) {
                child.remove(o);
            }
            !child.is_empty()
        });
    }

    /// [`FieldSet::recursive_difference`] in place: drops the paths of
    /// `other` and everything below its members, without copying the rest.
    pub fn remove_recursive(&mut self, other: &FieldSet) {
        if other.members.is_empty() && other.children.is_empty() {
            return;
        }
        self.members.retain(|m| !other.members.contains(m));
        self.children.retain(|pe, child| {
            if other.members.contains(pe) {
                return false;
            }
            if let Some(o) = other.children.get(pe) {
                child.remove_recursive(o);
            }
            !child.is_empty()
        });
    }

    /// The members that have no members below them.
    pub fn leaves(&self) -> FieldSet {
        let members = self
            .members
            .iter()
            .filter(|m| !self.children.contains_key(*m))
            .cloned()
            .collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            let c = child.leaves();
            if !c.is_empty() {
                children.insert(pe.clone(), c);
            }
        }
        FieldSet { members, children }
    }

    /// Every member path, in upstream's iteration order (a node's members
    /// first, then its children depth-first).
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.collect_paths(&mut prefix, &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(Path(p));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    pub(crate) fn from_parts(
        members: BTreeSet<PathElement>,
        children: BTreeMap<PathElement, FieldSet>,
    ) -> Self {
        let children = children
            .into_iter()
            .filter(|(_, c)| !c.is_empty())
            .collect();
        FieldSet { members, children }
    }

    /// The exact `FieldsV1` JSON text upstream writes for this set.
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::from("{");
        self.emit(&mut out, false);
        out.push('}');
        out
    }

    fn emit(&self, out: &mut String, include_self: bool) {
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(',');
            }
            first = false;
        };
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            sep(out);
            out.push_str("\".\":{}");
        }
        let mut members = self.members.iter().peekable();
        let mut children = self.children.iter().peekable();
        loop {
            let order = match (members.peek(), children.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(m), Some((c, _))) => (*m).cmp(*c),
            };
            sep(out);
            match order {
                Ordering::Less => {
                    if let Some(m) = members.next() {
                        write_json_string(out, &m.to_fields_v1_key(), false);
                        out.push_str(":{}");
                    }
                }
                Ordering::Greater => {
                    if let Some((pe, child)) = children.next() {
                        write_json_string(out, &pe.to_fields_v1_key(), false);
                        out.push_str(":{");
                        child.emit(out, false);
                        out.push('}');
                    }
                }
                Ordering::Equal => {
                    members.next();
                    if let Some((pe, child)) = children.next() {
                        write_json_string(out, &pe.to_fields_v1_key(), false);
                        out.push_str(":{");
                        child.emit(out, true);
                        out.push('}');
                    }
                }
            }
        }
    }

    /// This set as a `FieldsV1` JSON value. (A `serde_json` map without
    /// `preserve_order` re-sorts keys as plain strings when written; use
    /// [`FieldSet::to_fields_v1_string`] for upstream's exact bytes.)
    pub fn to_fields_v1_value(&self) -> Value {
        Value::Object(self.value_contents(false))
    }

    fn value_contents(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        for m in &self.members {
            let nested = match self.children.get(m) {
                Some(child) => child.value_contents(true),
                None => Map::new(),
            };
            out.insert(m.to_fields_v1_key(), Value::Object(nested));
        }
        for (pe, child) in &self.children {
            if !self.members.contains(pe) {
                out.insert(
                    pe.to_fields_v1_key(),
                    Value::Object(child.value_contents(false)),
                );
            }
        }
        out
    }

    /// Parses `FieldsV1` JSON text.
    ///
    /// # Errors
    ///
    /// Invalid JSON, or see [`FieldSet::from_fields_v1_value`].
    pub fn from_fields_v1_str(s: &str) -> Result<FieldSet, FieldsV1Error> {
        let v: Value = serde_json::from_str(s).map_err(|e| FieldsV1Error(e.to_string()))?;
        FieldSet::from_fields_v1_value(&v)
    }

    /// Reads a `FieldsV1` JSON value (`null` is the empty set).
    ///
    /// # Errors
    ///
    /// A node that is not an object, or a malformed key.
    pub fn from_fields_v1_value(v: &Value) -> Result<FieldSet, FieldsV1Error> {
        let (set, _) = read_node(v)?;
        Ok(set.unwrap_or_default())
    }
}

/// Reads one FieldsV1 node: its children (if any) and whether it is itself a
/// member (it is when it is `{}`, `null`, or contains `"."`).
fn read_node(v: &Value) -> Result<(Option<FieldSet>, bool), FieldsV1Error> {
    let obj = match v {
        Value::Object(obj) => obj,
        Value::Null => return Ok((None, true)),
        other => {
            return Err(FieldsV1Error(format!(
                "expected an object in FieldsV1, found {}",
                json_value(other, false)
            )));
        }
    };
    let mut children: Option<FieldSet> = None;
    let mut is_member = false;
    for (key, sub) in obj {
        if key == "." {
            is_member = true;
            continue;
        }
        let Some(pe) = PathElement::from_fields_v1_key(key)? else {
            continue;
        };
        let (grand, child_is_member) = read_node(sub)?;
        if child_is_member {
            children
                .get_or_insert_with(FieldSet::new)
                .members
                .insert(pe.clone());
        }
        if let Some(g) = grand {
            children
                .get_or_insert_with(FieldSet::new)
                .children
                .insert(pe, g);
        }
    }
    if children.is_none() {
        is_member = true;
    }
    Ok((children, is_member))
}

impl fmt::Display for FieldSet {
    /// One path per line, as upstream's `Set.String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.paths().iter().map(Path::to_string).collect();
        write!(f, "{}", lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(n: &str) -> PathElement {
        PathElement::field(n)
    }

    #[test]
    fn round_trips_typical_deployment_bytes() {
        let text = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#;
        let set = FieldSet::from_fields_v1_str(text).expect("parse");
        assert_eq!(set.to_fields_v1_string(), text);
        assert!(set.has(&[f("metadata"), f("labels")]));
        assert!(set.has(&[f("metadata"), f("labels"), f("app")]));
        assert!(!set.has(&[f("metadata")]));
        let again = FieldSet::from_fields_v1_value(&set.to_fields_v1_value()).expect("value");
        assert_eq!(again, set);
    }

    #[test]
    fn orders_elements_like_upstream() {
        let mut s = FieldSet::new();
        s.insert(&[f("x"), PathElement::Index(1)]);
        s.insert(&[f("x"), PathElement::Value(json!("b"))]);
        s.insert(&[f("x"), PathElement::Value(json!(2))]);
        s.insert(&[
            f("x"),
            PathElement::key(vec![
                ("port".into(), json!(80)),
                ("protocol".into(), json!("TCP")),
            ]),
        ]);
        s.insert(&[f("x"), f("z")]);
        assert_eq!(
            s.to_fields_v1_string(),
            r#"{"f:x":{"f:z":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{},"v:2":{},"v:\"b\"":{},"i:1":{}}}"#
        );
    }

    #[test]
    fn set_operations() {
        let a = FieldSet::from_paths([
            Path::fields(&["a", "b"]),
            Path::fields(&["a", "c"]),
            Path::fields(&["d"]),
        ]);
        let b = FieldSet::from_paths([Path::fields(&["a", "b"]), Path::fields(&["a"])]);
        assert_eq!(
            a.intersection(&b),
            FieldSet::from_paths([Path::fields(&["a", "b"])])
        );
        assert_eq!(
            a.difference(&b),
            FieldSet::from_paths([Path::fields(&["a", "c"]), Path::fields(&["d"])])
        );
        assert_eq!(
            a.recursive_difference(&b),
            FieldSet::from_paths([Path::fields(&["d"])])
        );
        assert_eq!(a.union(&b).len(), 4);
        let paths: Vec<String> = a.union(&b).paths().iter().map(Path::to_string).collect();
        assert_eq!(paths, vec![".a", ".d", ".a.b", ".a.c"]);
    }

    #[test]
    fn parses_errors_and_skips_unknown_types() {
        assert!(FieldSet::from_fields_v1_str(r#"{"x":{}}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"fx":{}}"#).is_err());
        let s = FieldSet::from_fields_v1_str(r#"{"z:abc":{},"f:a":{}}"#).expect("parse");
        assert_eq!(s.to_fields_v1_string(), r#"{"f:a":{}}"#);
        assert_eq!(
            FieldSet::from_fields_v1_str("{}").expect("empty"),
            FieldSet::new()
        );
    }

    #[test]
    fn key_numbers_print_like_go() {
        let s = FieldSet::from_fields_v1_str(
            r#"{"f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{}}}"#,
        )
        .expect("parse");
        let paths = s.paths();
        assert_eq!(
            paths[0].to_string(),
            r#".ports[containerPort=8080,protocol="TCP"]"#
        );
        assert_eq!(
            s.to_fields_v1_string(),
            r#"{"f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{}}}"#
        );
    }
}
