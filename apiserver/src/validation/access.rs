//! Field paths, an error collector, and type-checked readers over untrusted
//! JSON. Every reader tolerates missing fields (treated as Go's zero value)
//! and reports wrong JSON types as [`ErrorKind::TypeInvalid`] errors instead
//! of panicking.

use serde_json::{Map, Value};

use super::errors::{ErrorKind, FieldError, go_quote};
use super::quantity::{QUANTITY_FORMAT_ERROR, Quantity};

/// A field path such as `spec.containers[0].image`, built like upstream's
/// `field.Path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path(String);

impl Path {
    /// A path with a single root element (may be empty for the object root).
    pub fn root(name: &str) -> Path {
        Path(name.to_string())
    }

    /// `self.name`.
    pub fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{}", self.0, name))
        }
    }

    /// `self[i]`.
    pub fn index(&self, i: usize) -> Path {
        Path(format!("{}[{}]", self.0, i))
    }

    /// `self[key]` (unquoted, as upstream prints map keys).
    pub fn key(&self, k: &str) -> Path {
        Path(format!("{}[{}]", self.0, k))
    }

    /// The rendered path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A possibly-absent JSON object. Absent (or wrongly typed) objects read as
/// empty, like Go's zero value.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Obj<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Obj<'a> {
    /// Wraps a value if it is an object; anything else reads as absent.
    pub fn of(v: &'a Value) -> Obj<'a> {
        Obj { map: v.as_object() }
    }

    /// An absent object.
    pub fn none() -> Obj<'a> {
        Obj { map: None }
    }

    /// Whether the object itself was present.
    pub fn present(&self) -> bool {
        self.map.is_some()
    }

    /// The raw value of a field, `None` when missing or `null`.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// Whether a field is present and not `null`.
    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// The object as a JSON value (`null` when absent).
    pub fn to_value(self) -> Value {
        match self.map {
            Some(m) => Value::Object(m.clone()),
            None => Value::Null,
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.map.map(|m| m.len()).unwrap_or(0)
    }

    /// Field names, sorted.
    pub fn keys(&self) -> Vec<&'a str> {
        let mut keys: Vec<&'a str> = self
            .map
            .map(|m| m.keys().map(|k| k.as_str()).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }
}

/// An int-or-string value (upstream's `intstr.IntOrString`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IntOrStr<'a> {
    /// The integer form.
    Int(i64),
    /// The string form.
    Str(&'a str),
}

impl IntOrStr<'_> {
    /// The value as a bad value: upstream prints the Go struct
    /// (`intstr.IntOrString{Type:1, IntVal:0, StrVal:"25%"}`).
    pub fn to_value(&self) -> Value {
        match self {
            IntOrStr::Int(i) => serde_json::json!({"Type": 0, "IntVal": i, "StrVal": ""}),
            IntOrStr::Str(s) => serde_json::json!({"Type": 1, "IntVal": 0, "StrVal": s}),
        }
    }

    /// The zero value as a bad value.
    pub fn zero_value() -> Value {
        IntOrStr::Int(0).to_value()
    }
}

/// Collects errors; also hosts the type-checked field readers.
#[derive(Debug, Default)]
pub(crate) struct Errs {
    /// Errors in the order found.
    pub list: Vec<FieldError>,
}

impl Errs {
    /// Creates an empty collector.
    pub fn new() -> Errs {
        Errs { list: Vec::new() }
    }

    /// Whether no errors were collected.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Number of errors so far.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Appends all of another collector's errors.
    pub fn extend(&mut self, other: Errs) {
        self.list.extend(other.list);
    }

    fn push(&mut self, kind: ErrorKind, p: &Path, value: Option<Value>, detail: String) {
        self.list.push(FieldError {
            kind,
            field: p.as_str().to_string(),
            value,
            detail,
        });
    }

    /// `field.Required`.
    pub fn required(&mut self, p: &Path, detail: &str) {
        self.push(ErrorKind::Required, p, None, detail.to_string());
    }

    /// `field.Invalid`.
    pub fn invalid(&mut self, p: &Path, value: Value, detail: &str) {
        self.push(ErrorKind::Invalid, p, Some(value), detail.to_string());
    }

    /// `field.Invalid` with the value omitted.
    pub fn invalid_omit(&mut self, p: &Path, detail: &str) {
        self.push(ErrorKind::Invalid, p, None, detail.to_string());
    }

    /// `field.NotSupported`: detail lists the supported values, Go-quoted.
    pub fn not_supported(&mut self, p: &Path, value: Value, valid: &[&str]) {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| go_quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        self.push(ErrorKind::NotSupported, p, Some(value), detail);
    }

    /// `field.Duplicate`.
    pub fn duplicate(&mut self, p: &Path, value: Value) {
        self.push(ErrorKind::Duplicate, p, Some(value), String::new());
    }

    /// `field.Duplicate` with a detail.
    pub fn duplicate_detail(&mut self, p: &Path, value: Value, detail: &str) {
        self.push(ErrorKind::Duplicate, p, Some(value), detail.to_string());
    }

    /// `field.Forbidden`.
    pub fn forbidden(&mut self, p: &Path, detail: &str) {
        self.push(ErrorKind::Forbidden, p, None, detail.to_string());
    }

    /// `field.TooLong` with a byte limit.
    pub fn too_long(&mut self, p: &Path, max: usize) {
        let unit = if max == 1 { "byte" } else { "bytes" };
        self.push(
            ErrorKind::TooLong,
            p,
            None,
            format!("may not be more than {max} {unit}"),
        );
    }

    /// `field.TooMany`.
    pub fn too_many(&mut self, p: &Path, actual: usize, max: usize) {
        let unit = if max == 1 { "item" } else { "items" };
        self.push(
            ErrorKind::TooMany,
            p,
            Some(Value::from(actual)),
            format!("must have at most {max} {unit}"),
        );
    }

    /// `field.NotFound`.
    pub fn not_found(&mut self, p: &Path, value: Value) {
        self.push(ErrorKind::NotFound, p, Some(value), String::new());
    }

    /// `field.NotFound` with a detail.
    pub fn not_found_detail(&mut self, p: &Path, value: Value, detail: &str) {
        self.push(ErrorKind::NotFound, p, Some(value), detail.to_string());
    }

    /// A wrong JSON type.
    pub fn type_invalid(&mut self, p: &Path, value: &Value, expected: &str) {
        self.push(
            ErrorKind::TypeInvalid,
            p,
            Some(value.clone()),
            format!("must be of type {expected}"),
        );
    }

    /// `ValidateNonnegativeField`.
    pub fn nonnegative(&mut self, p: &Path, value: Option<i64>) {
        if let Some(v) = value
            && v < 0
        {
            self.invalid(p, Value::from(v), "must be greater than or equal to 0");
        }
    }

    // ---- readers -------------------------------------------------------

    /// A string field; `None` when missing/null or of the wrong type (reported).
    pub fn opt_str<'a>(&mut self, o: Obj<'a>, key: &str, parent: &Path) -> Option<&'a str> {
        let v = o.raw(key)?;
        match v.as_str() {
            Some(s) => Some(s),
            None => {
                self.type_invalid(&parent.child(key), v, "string");
                None
            }
        }
    }

    /// A string field, `""` when missing.
    pub fn str<'a>(&mut self, o: Obj<'a>, key: &str, parent: &Path) -> &'a str {
        self.opt_str(o, key, parent).unwrap_or("")
    }

    /// An integer field (JSON number with no fraction).
    pub fn opt_int(&mut self, o: Obj<'_>, key: &str, parent: &Path) -> Option<i64> {
        let v = o.raw(key)?;
        match as_int(v) {
            Some(i) => Some(i),
            None => {
                self.type_invalid(&parent.child(key), v, "integer");
                None
            }
        }
    }

    /// An int32 field.
    pub fn opt_i32(&mut self, o: Obj<'_>, key: &str, parent: &Path) -> Option<i64> {
        let v = o.raw(key)?;
        match as_int(v) {
            Some(i) if i >= i64::from(i32::MIN) && i <= i64::from(i32::MAX) => Some(i),
            _ => {
                self.type_invalid(&parent.child(key), v, "int32");
                None
            }
        }
    }

    /// A boolean field.
    pub fn opt_bool(&mut self, o: Obj<'_>, key: &str, parent: &Path) -> Option<bool> {
        let v = o.raw(key)?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                self.type_invalid(&parent.child(key), v, "boolean");
                None
            }
        }
    }

    /// A boolean field, `false` when missing.
    pub fn bool(&mut self, o: Obj<'_>, key: &str, parent: &Path) -> bool {
        self.opt_bool(o, key, parent).unwrap_or(false)
    }

    /// An object field; `None` when missing/null or wrongly typed (reported).
    pub fn opt_obj<'a>(&mut self, o: Obj<'a>, key: &str, parent: &Path) -> Option<Obj<'a>> {
        let v = o.raw(key)?;
        if v.is_object() {
            Some(Obj::of(v))
        } else {
            self.type_invalid(&parent.child(key), v, "object");
            None
        }
    }

    /// An object field, absent-reading when missing.
    pub fn obj<'a>(&mut self, o: Obj<'a>, key: &str, parent: &Path) -> Obj<'a> {
        self.opt_obj(o, key, parent).unwrap_or_default()
    }

    /// An array field; `None` when missing/null or wrongly typed (reported).
    pub fn opt_arr<'a>(&mut self, o: Obj<'a>, key: &str, parent: &Path) -> Option<&'a [Value]> {
        let v = o.raw(key)?;
        match v.as_array() {
            Some(a) => Some(a.as_slice()),
            None => {
                self.type_invalid(&parent.child(key), v, "array");
                None
            }
        }
    }

    /// An array field, empty when missing.
    pub fn arr<'a>(&mut self, o: Obj<'a>, key: &str, parent: &Path) -> &'a [Value] {
        self.opt_arr(o, key, parent).unwrap_or(&[])
    }

    /// An array element that must be an object.
    pub fn elem_obj<'a>(&mut self, v: &'a Value, p: &Path) -> Obj<'a> {
        if v.is_object() {
            Obj::of(v)
        } else {
            if !v.is_null() {
                self.type_invalid(p, v, "object");
            }
            Obj::none()
        }
    }

    /// An array element that must be a string (`None` when not, reported).
    pub fn elem_str<'a>(&mut self, v: &'a Value, p: &Path) -> Option<&'a str> {
        match v.as_str() {
            Some(s) => Some(s),
            None => {
                self.type_invalid(p, v, "string");
                None
            }
        }
    }

    /// An array of strings; wrongly typed elements are reported and skipped
    /// (their index is kept in the returned pairs).
    pub fn str_list<'a>(&mut self, o: Obj<'a>, key: &str, parent: &Path) -> Vec<&'a str> {
        let p = parent.child(key);
        let mut out = Vec::new();
        for (i, v) in self.arr(o, key, parent).iter().enumerate() {
            if let Some(s) = self.elem_str(v, &p.index(i)) {
                out.push(s);
            }
        }
        out
    }

    /// A `map[string]string` field, sorted by key.
    pub fn str_map<'a>(&mut self, o: Obj<'a>, key: &str, parent: &Path) -> Vec<(&'a str, &'a str)> {
        let p = parent.child(key);
        let Some(m) = self.opt_obj(o, key, parent) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for k in m.keys() {
            match m.raw(k) {
                None => out.push((k, "")),
                Some(v) => match v.as_str() {
                    Some(s) => out.push((k, s)),
                    None => self.type_invalid(&p.key(k), v, "string"),
                },
            }
        }
        out
    }

    /// An int-or-string field.
    pub fn opt_int_or_str<'a>(
        &mut self,
        o: Obj<'a>,
        key: &str,
        parent: &Path,
    ) -> Option<IntOrStr<'a>> {
        let v = o.raw(key)?;
        if let Some(s) = v.as_str() {
            return Some(IntOrStr::Str(s));
        }
        match as_int(v) {
            Some(i) if i >= i64::from(i32::MIN) && i <= i64::from(i32::MAX) => {
                Some(IntOrStr::Int(i))
            }
            _ => {
                self.type_invalid(&parent.child(key), v, "integer or string");
                None
            }
        }
    }

    /// A quantity field; unparseable values are reported as upstream's
    /// decoder error text.
    pub fn opt_quantity(&mut self, o: Obj<'_>, key: &str, parent: &Path) -> Option<Quantity> {
        let v = o.raw(key)?;
        self.quantity_value(v, &parent.child(key))
    }

    /// Parses a quantity from a raw value (string or number).
    pub fn quantity_value(&mut self, v: &Value, p: &Path) -> Option<Quantity> {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                self.type_invalid(p, v, "string");
                return None;
            }
        };
        match Quantity::parse(&text) {
            Ok(q) => Some(q),
            Err(msg) => {
                let detail = if msg.is_empty() {
                    QUANTITY_FORMAT_ERROR
                } else {
                    msg
                };
                self.invalid(p, v.clone(), detail);
                None
            }
        }
    }

    /// A `map[string]Quantity` field (e.g. `resources.limits`), sorted by key.
    pub fn quantity_map<'a>(
        &mut self,
        o: Obj<'a>,
        key: &str,
        parent: &Path,
    ) -> Vec<(&'a str, Quantity)> {
        let p = parent.child(key);
        let Some(m) = self.opt_obj(o, key, parent) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for k in m.keys() {
            if let Some(v) = m.raw(k)
                && let Some(q) = self.quantity_value(v, &p.key(k))
            {
                out.push((k, q));
            }
        }
        out
    }
}

/// A JSON number with no fractional part, as i64.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    if let Some(f) = v.as_f64()
        && f.fract() == 0.0
        && (-9.2e18..=9.2e18).contains(&f)
    {
        return Some(f as i64);
    }
    None
}

/// Reads `obj[key]` as a string without reporting anything.
pub(crate) fn peek_str<'a>(o: Obj<'a>, key: &str) -> &'a str {
    o.raw(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// Reads `obj[key]` as an object without reporting anything.
pub(crate) fn peek_obj<'a>(o: Obj<'a>, key: &str) -> Obj<'a> {
    o.raw(key).map(Obj::of).unwrap_or_default()
}

/// Reads `obj[key]` as an array without reporting anything.
pub(crate) fn peek_arr<'a>(o: Obj<'a>, key: &str) -> &'a [Value] {
    o.raw(key)
        .and_then(|v| v.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
}

/// Semantic equality of two optional JSON values where `null`, missing,
/// and empty objects/arrays/strings compare equal (Go's zero values are
/// omitted on the wire, so both spellings reach the validator).
pub(crate) fn sem_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn is_zero(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::Object(m)) => m.values().all(|x| is_zero(Some(x))),
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Bool(b)) => !b,
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        }
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().all(|k| sem_eq(x.get(k), y.get(k)))
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| sem_eq(Some(p), Some(q)))
        }
        (Some(Value::Number(x)), Some(Value::Number(y))) => x == y || x.as_f64() == y.as_f64(),
        (Some(x), Some(y)) if x == y => true,
        (x, y) => is_zero(x) && is_zero(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_renders_like_upstream() {
        let p = Path::root("spec")
            .child("containers")
            .index(0)
            .child("image");
        assert_eq!(p.as_str(), "spec.containers[0].image");
        assert_eq!(Path::root("data").key("a.b").as_str(), "data[a.b]");
        assert_eq!(Path::root("").child("x").as_str(), "x");
    }

    #[test]
    fn wrong_type_is_reported_not_panicking() {
        let v = json!({"name": 5, "spec": "x", "items": {"a": 1}});
        let o = Obj::of(&v);
        let mut e = Errs::new();
        assert_eq!(e.str(o, "name", &Path::root("metadata")), "");
        assert!(!e.obj(o, "spec", &Path::root("")).present());
        assert!(e.arr(o, "items", &Path::root("")).is_empty());
        assert_eq!(e.len(), 3);
        assert_eq!(
            e.list[0].to_string(),
            "metadata.name: Invalid value: 5: must be of type string"
        );
    }

    #[test]
    fn semantic_equality_treats_empty_as_missing() {
        assert!(sem_eq(Some(&json!({})), None));
        assert!(sem_eq(Some(&json!({"a": null, "b": []})), Some(&json!({}))));
        assert!(!sem_eq(Some(&json!({"a": 1})), Some(&json!({"a": 2}))));
        assert!(sem_eq(Some(&json!(1)), Some(&json!(1.0))));
    }
}
