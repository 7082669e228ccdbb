//! Walks over JSON values guided by a schema: validation of applied
//! configurations, the field set a value sets, the comparison of two values
//! (added / modified / removed fields) and removal of a set of fields.
//! Together with `merge.rs` this is structured-merge-diff's `typed` package.

use super::field_set::{FieldSet, PathElement, values_equal};
use super::go_format::{go_quote, go_type_name, json_value};
use super::schema::{
    ApplySchema, Atom, ListType, MapType, ScalarType, TypeRef, field_type, resolve_atom,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One problem found while walking a value, at a printed field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Printed path (`.spec.containers[name="a"]`), empty at the root.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Problems found in a value; displayed like upstream's `ValidationErrors`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() == 1 {
            return write!(f, "{}", self.0[0]);
        }
        write!(f, "errors:")?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

fn err(message: impl Into<String>) -> Vec<ValidationError> {
    vec![ValidationError {
        path: String::new(),
        message: message.into(),
    }]
}

fn prefixed(mut errs: Vec<ValidationError>, prefix: &PathElement) -> Vec<ValidationError> {
    // Only errors pay for printing the path.
    for e in &mut errs {
        e.path = format!("{prefix}{}", e.path);
    }
    errs
}

/// Which form of an atom handles a value (structured-merge-diff's
/// `deduceAtom` + `handleAtom`: the value's own shape when the atom allows
/// it, else map, then scalar, then list).
#[derive(Clone, Debug)]
pub(crate) enum Form {
    Map(MapType),
    Scalar(ScalarType),
    List(ListType),
    Invalid,
}

impl Form {
    fn same_kind(&self, other: &Form) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

pub(crate) fn form_for(atom: &Atom, v: Option<&Value>) -> Form {
    match v {
        Some(Value::Number(_) | Value::String(_) | Value::Bool(_)) if atom.scalar.is_some() => {
            return Form::Scalar(atom.scalar.unwrap_or(ScalarType::Untyped));
        }
        Some(Value::Array(_)) if atom.list.is_some() => {
            if let Some(l) = &atom.list {
                return Form::List(l.clone());
            }
        }
        Some(Value::Object(_)) if atom.map.is_some() => {
            if let Some(m) = &atom.map {
                return Form::Map(m.clone());
            }
        }
        _ => {}
    }
    if let Some(m) = &atom.map {
        Form::Map(m.clone())
    } else if let Some(s) = atom.scalar {
        Form::Scalar(s)
    } else if let Some(l) = &atom.list {
        Form::List(l.clone())
    } else {
        Form::Invalid
    }
}

fn invalid_atom(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Named { name, .. } => format!("schema error: invalid atom: named type: {name}"),
        _ => "schema error: invalid atom: inlined".to_string(),
    }
}

fn no_type(ty: &TypeRef) -> String {
    format!("schema error: no type found matching: {}", ty.describe())
}

/// Schema-guided operations on values.
pub(crate) struct Typed<'s, S: ApplySchema + ?Sized> {
    pub(crate) schema: &'s S,
}

impl<'s, S: ApplySchema + ?Sized> Typed<'s, S> {
    pub(crate) fn new(schema: &'s S) -> Self {
        Typed { schema }
    }

    pub(crate) fn atom(&self, ty: &TypeRef) -> Option<Atom> {
        resolve_atom(self.schema, ty)
    }

    /// Type of map entry `key`: the declared field, else the element type;
    /// `None` when the map rejects unknown fields.
    pub(crate) fn entry_type(&self, ty: &TypeRef, map: &MapType, key: &str) -> Option<TypeRef> {
        field_type(self.schema, ty, key).or_else(|| map.element.clone())
    }

    /// Same, but unknown fields of a closed struct are treated as deduced
    /// (for live objects, which are not re-validated).
    pub(crate) fn entry_type_lenient(&self, ty: &TypeRef, map: &MapType, key: &str) -> TypeRef {
        self.entry_type(ty, map, key).unwrap_or(TypeRef::Deduced)
    }

    /// The path element identifying `item` in associative list `list`.
    pub(crate) fn list_item_pe(
        &self,
        list: &ListType,
        item: &Value,
    ) -> Result<PathElement, String> {
        if list.atomic {
            return Err("invalid indexing of non-associative list".to_string());
        }
        if !list.keys.is_empty() {
            let obj = match item {
                Value::Null => {
                    return Err(
                        "associative list with keys may not have a null element".to_string()
                    );
                }
                Value::Object(obj) => obj,
                _ => {
                    return Err(
                        "associative list with keys may not have non-map elements".to_string()
                    );
                }
            };
            let mut fields = Vec::with_capacity(list.keys.len());
            for key in list.keys.iter() {
                if let Some(v) = obj.get(key) {
                    fields.push((key.clone(), v.clone()));
                } else if let Some(def) = self.key_default(list, key)? {
                    fields.push((key.clone(), def));
                } else {
                    return Err(format!(
                        "associative list with keys has an element that omits key field {} (and doesn't have default value)",
                        go_quote(key)
                    ));
                }
            }
            return Ok(PathElement::key(fields));
        }
        match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".to_string())
            }
            Value::Array(_) => {
                Err("not supported: associative list with lists as elements".to_string())
            }
            Value::Null => Err(
                "associative list without keys has an element that's an explicit null".to_string(),
            ),
            v => Ok(PathElement::Value(v.clone())),
        }
    }

    fn key_default(&self, list: &ListType, key: &str) -> Result<Option<Value>, String> {
        let Some(atom) = self.atom(&list.element) else {
            return Err(format!(
                "couldn't find default value for {key}: invalid elementType for list"
            ));
        };
        if atom.map.is_none() {
            return Err(format!(
                "couldn't find default value for {key}: associative list may not have non-map types"
            ));
        }
        Ok(match &list.element {
            TypeRef::Deduced | TypeRef::UntypedAtomic => None,
            ty => self.schema.field_default(ty, key),
        })
    }

    // ---- validation ------------------------------------------------------

    /// Validates an applied configuration: scalar kinds, list keys, duplicate
    /// items (unless `allow_duplicates`) and undeclared fields.
    pub(crate) fn validate(
        &self,
        ty: &TypeRef,
        v: &Value,
        allow_duplicates: bool,
    ) -> ValidationErrors {
        ValidationErrors(self.validate_node(ty, v, allow_duplicates))
    }

    fn validate_node(&self, ty: &TypeRef, v: &Value, dups: bool) -> Vec<ValidationError> {
        let Some(atom) = self.atom(ty) else {
            return err(no_type(ty));
        };
        match form_for(&atom, Some(v)) {
            Form::Scalar(s) => validate_scalar(s, v, ""),
            Form::List(list) => {
                let items = match v {
                    Value::Null => return Vec::new(),
                    Value::Array(items) => items,
                    other => {
                        return err(format!("expected list, got {}", json_value(other, false)));
                    }
                };
                let mut errs = Vec::new();
                let mut seen = BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    let pe = if list.atomic {
                        PathElement::Index(i as i64)
                    } else {
                        match self.list_item_pe(&list, item) {
                            Ok(pe) => pe,
                            Err(e) => {
                                errs.extend(err(format!("element {i}: {e}")));
                                return errs;
                            }
                        }
                    };
                    if !list.atomic {
                        if seen.contains(&pe) && !dups {
                            errs.extend(err(format!("duplicate entries for key {pe}")));
                        }
                        seen.insert(pe.clone());
                    }
                    let child = self.validate_node(&list.element, item, dups);
                    errs.extend(prefixed(child, &pe));
                }
                errs
            }
            Form::Map(map) => {
                let obj = match v {
                    Value::Null => return Vec::new(),
                    Value::Object(obj) => obj,
                    other => return err(format!("expected map, got {}", json_value(other, false))),
                };
                let mut errs = Vec::new();
                for (key, val) in obj {
                    let prefix = PathElement::field(key);
                    let Some(fty) = self.entry_type(ty, &map, key) else {
                        errs.extend(prefixed(err("field not declared in schema"), &prefix));
                        break;
                    };
                    errs.extend(prefixed(self.validate_node(&fty, val, dups), &prefix));
                }
                errs
            }
            Form::Invalid => err(invalid_atom(ty)),
        }
    }

    // ---- field sets --------------------------------------------------------

    /// The set of fields `v` sets (structured-merge-diff's `ToFieldSet`).
    pub(crate) fn to_field_set(&self, ty: &TypeRef, v: &Value) -> FieldSet {
        let mut set = FieldSet::new();
        let mut path = Vec::new();
        self.tfs(ty, v, &mut path, &mut set);
        set
    }

    fn tfs(&self, ty: &TypeRef, v: &Value, path: &mut Vec<PathElement>, set: &mut FieldSet) {
        let Some(atom) = self.atom(ty) else {
            return;
        };
        match form_for(&atom, Some(v)) {
            Form::Scalar(_) => set.insert(path),
            Form::List(list) => {
                if list.atomic {
                    set.insert(path);
                    return;
                }
                let Value::Array(items) = v else {
                    return;
                };
                let pes: Vec<Option<PathElement>> = items
                    .iter()
                    .map(|i| self.list_item_pe(&list, i).ok())
                    .collect();
                let mut seen = BTreeSet::new();
                let mut duplicates = BTreeSet::new();
                for pe in pes.iter().flatten() {
                    if !seen.insert(pe.clone()) && duplicates.insert(pe.clone()) {
                        path.push(pe.clone());
                        set.insert(path);
                        path.pop();
                    }
                }
                for (item, pe) in items.iter().zip(pes) {
                    let Some(pe) = pe else { continue };
                    if duplicates.contains(&pe) {
                        continue;
                    }
                    path.push(pe);
                    self.tfs(&list.element, item, path, set);
                    set.insert(path);
                    path.pop();
                }
            }
            Form::Map(map) => {
                if map.atomic {
                    set.insert(path);
                    return;
                }
                let Value::Object(obj) = v else {
                    return;
                };
                for (key, val) in obj {
                    let declared = field_type(self.schema, ty, key);
                    let fty = declared
                        .clone()
                        .or_else(|| map.element.clone())
                        .unwrap_or(TypeRef::Deduced);
                    path.push(PathElement::field(key));
                    self.tfs(&fty, val, path, set);
                    let empty_map = matches!(val, Value::Object(o) if o.is_empty());
                    if val.is_null() || empty_map || declared.is_none() {
                        set.insert(path);
                    }
                    path.pop();
                }
            }
            Form::Invalid => {}
        }
    }

    /// Adds named struct fields that are parents of members as members
    /// themselves (`EnsureNamedFieldsAreMembers`), so pruning can remove a
    /// struct field whose children were all removed.
    pub(crate) fn ensure_named_fields_are_members(
        &self,
        set: &FieldSet,
        ty: Option<&TypeRef>,
    ) -> FieldSet {
        let atom = ty.and_then(|t| self.atom(t));
        let map = atom.as_ref().and_then(|a| a.map.as_ref());
        let list = atom.as_ref().and_then(|a| a.list.as_ref());
        let mut members: BTreeSet<PathElement> = set.members().cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in set.children() {
            let child_ty = match pe {
                PathElement::Field(name) => match (map, ty) {
                    (Some(m), Some(t)) => {
                        let declared = field_type(self.schema, t, name);
                        if declared.is_some() {
                            members.insert(pe.clone());
                        }
                        declared.or_else(|| m.element.clone())
                    }
                    _ => None,
                },
                PathElement::Key(_) => list.map(|l| l.element.clone()),
                _ => None,
            };
            children.insert(
                pe.clone(),
                self.ensure_named_fields_are_members(child, child_ty.as_ref()),
            );
        }
        FieldSet::from_parts(members, children)
    }

    // ---- comparison --------------------------------------------------------

    /// Compares `lhs` (before) with `rhs` (after).
    pub(crate) fn compare(
        &self,
        ty: &TypeRef,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
    ) -> Result<Comparison, ValidationErrors> {
        let mut cmp = Comparison::default();
        let mut path = Vec::new();
        let errs = self.compare_node(ty, lhs, rhs, &mut path, &mut cmp);
        if errs.is_empty() {
            Ok(cmp)
        } else {
            Err(ValidationErrors(errs))
        }
    }

    fn compare_node(
        &self,
        ty: &TypeRef,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        path: &mut Vec<PathElement>,
        cmp: &mut Comparison,
    ) -> Vec<ValidationError> {
        if lhs.is_none() && rhs.is_none() {
            return err("at least one of lhs and rhs must be provided");
        }
        // Identical subtrees add, modify and remove nothing: skip them (the
        // usual update changes a few fields of a large object).
        if let (Some(l), Some(r)) = (lhs, rhs)
            && (std::ptr::eq(l, r) || values_equal(l, r))
        {
            return Vec::new();
        }
        let Some(atom) = self.atom(ty) else {
            return err(no_type(ty));
        };
        let fl = form_for(&atom, lhs);
        let fr = form_for(&atom, rhs);
        let mut errs = Vec::new();
        let in_leaf = if rhs.is_none() {
            self.compare_form(ty, &fl, lhs, rhs, path, cmp, &mut errs)
        } else if lhs.is_none() || fl.same_kind(&fr) {
            self.compare_form(ty, &fr, lhs, rhs, path, cmp, &mut errs)
        } else {
            self.compare_form(ty, &fl, lhs, rhs, path, cmp, &mut errs);
            self.compare_form(ty, &fr, lhs, rhs, path, cmp, &mut errs)
        };
        if !in_leaf {
            if lhs.is_none() {
                cmp.added.insert(path);
            } else if rhs.is_none() {
                cmp.removed.insert(path);
            }
        }
        errs
    }

    /// Handles one form; returns whether the node was treated as a leaf.
    #[allow(clippy::too_many_arguments)]
    fn compare_form(
        &self,
        ty: &TypeRef,
        form: &Form,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        path: &mut Vec<PathElement>,
        cmp: &mut Comparison,
        errs: &mut Vec<ValidationError>,
    ) -> bool {
        let leaf = |cmp: &mut Comparison, path: &[PathElement]| {
            match (lhs, rhs) {
                (None, _) => cmp.added.insert(path),
                (_, None) => cmp.removed.insert(path),
                (Some(l), Some(r)) => {
                    if !values_equal(l, r) {
                        cmp.modified.insert(path);
                    }
                }
            }
            true
        };
        match form {
            Form::Scalar(s) => {
                let le = lhs
                    .map(|v| validate_scalar(*s, v, "lhs: "))
                    .unwrap_or_default();
                let re = rhs
                    .map(|v| validate_scalar(*s, v, "rhs: "))
                    .unwrap_or_default();
                if !le.is_empty() && !re.is_empty() {
                    errs.extend(le);
                    errs.extend(re);
                    return false;
                }
                leaf(cmp, path)
            }
            Form::List(list) => {
                let l = lhs.and_then(Value::as_array);
                let r = rhs.and_then(Value::as_array);
                let empty = l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty);
                if list.atomic || empty {
                    return leaf(cmp, path);
                }
                self.compare_list_items(list, l, r, path, cmp, errs);
                false
            }
            Form::Map(map) => {
                let l = lhs.and_then(Value::as_object);
                let r = rhs.and_then(Value::as_object);
                let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
                if map.atomic || empty {
                    return leaf(cmp, path);
                }
                let keys: BTreeSet<&String> = l
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .chain(r.into_iter().flat_map(|m| m.keys()))
                    .collect();
                for key in keys {
                    let fty = self.entry_type_lenient(ty, map, key);
                    let pe = PathElement::field(key);
                    path.push(pe.clone());
                    let child = self.compare_node(
                        &fty,
                        l.and_then(|m| m.get(key)),
                        r.and_then(|m| m.get(key)),
                        path,
                        cmp,
                    );
                    path.pop();
                    errs.extend(prefixed(child, &pe));
                }
                false
            }
            Form::Invalid => {
                errs.extend(err(invalid_atom(ty)));
                false
            }
        }
    }

    fn compare_list_items(
        &self,
        list: &ListType,
        lhs: Option<&Vec<Value>>,
        rhs: Option<&Vec<Value>>,
        path: &mut Vec<PathElement>,
        cmp: &mut Comparison,
        errs: &mut Vec<ValidationError>,
    ) {
        let mut order: Vec<PathElement> = Vec::new();
        let mut lvals: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
        let mut rvals: BTreeMap<PathElement, Vec<&Value>> = BTreeMap::new();
        for (i, item) in lhs.into_iter().flatten().enumerate() {
            match self.list_item_pe(list, item) {
                Ok(pe) => {
                    let e = lvals.entry(pe.clone()).or_default();
                    if e.is_empty() {
                        order.push(pe);
                    }
                    e.push(item);
                }
                Err(e) => errs.extend(err(format!("element {i}: {e}"))),
            }
        }
        for (i, item) in rhs.into_iter().flatten().enumerate() {
            match self.list_item_pe(list, item) {
                Ok(pe) => {
                    let e = rvals.entry(pe.clone()).or_default();
                    if e.is_empty() && !lvals.contains_key(&pe) {
                        order.push(pe.clone());
                    }
                    e.push(item);
                }
                Err(e) => errs.extend(err(format!("element {i}: {e}"))),
            }
        }
        for pe in order {
            let l = lvals.get(&pe).map(Vec::as_slice).unwrap_or_default();
            let r = rvals.get(&pe).map(Vec::as_slice).unwrap_or_default();
            path.push(pe.clone());
            match (l.len(), r.len()) {
                (0, 0) => {}
                (a, b) if a <= 1 && b <= 1 => {
                    let child = self.compare_node(
                        &list.element,
                        l.first().copied(),
                        r.first().copied(),
                        path,
                        cmp,
                    );
                    errs.extend(prefixed(child, &pe));
                }
                (a, b) if a >= 2 && b >= 2 => {
                    let same = l.len() == r.len()
                        && l.iter().zip(r.iter()).all(|(x, y)| values_equal(x, y));
                    if !same {
                        cmp.modified.insert(path);
                    }
                }
                (a, _) if a >= 2 => {
                    if let Some(first) = r.first() {
                        let child = self.compare_node(&list.element, None, Some(first), path, cmp);
                        errs.extend(prefixed(child, &pe));
                    }
                    cmp.removed.insert(path);
                }
                _ => {
                    if let Some(first) = l.first() {
                        let child = self.compare_node(&list.element, Some(first), None, path, cmp);
                        errs.extend(prefixed(child, &pe));
                    }
                    cmp.added.insert(path);
                }
            }
            path.pop();
        }
    }

    // ---- removal -----------------------------------------------------------

    /// `v` without the fields in `to_remove` (structured-merge-diff's
    /// `RemoveItems`). A map or list emptied by the removal disappears.
    pub(crate) fn remove_items(&self, ty: &TypeRef, v: &Value, to_remove: &FieldSet) -> Value {
        self.remove_node(ty, v, to_remove)
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    fn remove_node(&self, ty: &TypeRef, v: &Value, to_remove: &FieldSet) -> Option<Value> {
        let Some(atom) = self.atom(ty) else {
            return Some(v.clone());
        };
        match form_for(&atom, Some(v)) {
            Form::Scalar(_) | Form::Invalid => Some(v.clone()),
            Form::List(list) => {
                let Value::Array(items) = v else {
                    return Some(v.clone());
                };
                if items.is_empty() || list.atomic {
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let Ok(pe) = self.list_item_pe(&list, item) else {
                        out.push(item.clone());
                        continue;
                    };
                    if to_remove.has(std::slice::from_ref(&pe)) {
                        continue;
                    }
                    match to_remove.child(&pe) {
                        Some(sub) if !sub.is_empty() => {
                            out.push(
                                self.remove_node(&list.element, item, sub)
                                    .unwrap_or_else(|| Value::Object(Map::new())),
                            );
                        }
                        _ => out.push(item.clone()),
                    }
                }
                if out.is_empty() {
                    None
                } else {
                    Some(Value::Array(out))
                }
            }
            Form::Map(map) => {
                let Value::Object(obj) = v else {
                    return Some(v.clone());
                };
                if obj.is_empty() || map.atomic {
                    return None;
                }
                let mut out = Map::new();
                for (key, val) in obj {
                    let pe = PathElement::field(key);
                    if to_remove.has_member(&pe) {
                        continue;
                    }
                    match to_remove.child(&pe) {
                        Some(sub) if !sub.is_empty() => {
                            let fty = self.entry_type_lenient(ty, &map, key);
                            if let Some(kept) = self.remove_node(&fty, val, sub) {
                                out.insert(key.clone(), kept);
                            }
                        }
                        _ => {
                            out.insert(key.clone(), val.clone());
                        }
                    }
                }
                if out.is_empty() {
                    None
                } else {
                    Some(Value::Object(out))
                }
            }
        }
    }
}

fn validate_scalar(t: ScalarType, v: &Value, prefix: &str) -> Vec<ValidationError> {
    if v.is_null() {
        return Vec::new();
    }
    let ok = match t {
        ScalarType::Numeric => v.is_number(),
        ScalarType::String => v.is_string(),
        ScalarType::Boolean => v.is_boolean(),
        ScalarType::Untyped => v.is_number() || v.is_string() || v.is_boolean(),
    };
    if ok {
        return Vec::new();
    }
    let msg = match t {
        ScalarType::Numeric => format!(
            "{prefix}expected numeric (int or float), got {}",
            go_type_name(v)
        ),
        ScalarType::String => format!("{prefix}expected string, got {}", json_value(v, false)),
        ScalarType::Boolean => format!("{prefix}expected boolean, got {}", json_value(v, false)),
        ScalarType::Untyped => format!("{prefix}expected any scalar, got {}", json_value(v, false)),
    };
    err(msg)
}

/// Fields added, modified and removed between two values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Present before, absent after.
    pub removed: FieldSet,
    /// Present in both with different values.
    pub modified: FieldSet,
    /// Absent before, present after.
    pub added: FieldSet,
}

impl Comparison {
    /// Drops `fields` and everything below them from all three sets.
    pub fn exclude(&mut self, fields: &FieldSet) {
        if fields.is_empty() {
            return;
        }
        self.removed.remove_recursive(fields);
        self.modified.remove_recursive(fields);
        self.added.remove_recursive(fields);
    }

    /// Whether nothing changed.
    pub fn is_same(&self) -> bool {
        self.removed.is_empty() && self.modified.is_empty() && self.added.is_empty()
    }
}
