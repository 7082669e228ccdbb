//! Field errors in the shape of upstream's `field.Error`
//! (`k8s.io/apimachinery/pkg/util/validation/field/errors.go`), and the
//! Go-style value rendering their messages use.

use std::fmt;

use serde_json::Value;

/// One problem, as upstream's `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// What kind of problem this is.
    pub kind: ErrorKind,
    /// The JSON path of the offending field, e.g. `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The bad value, when upstream prints it (`None` prints no value).
    pub value: Option<Value>,
    /// Free-form detail appended after the value.
    pub detail: String,
}

/// The kind of a [`FieldError`], mirroring upstream's `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A required value is missing (`FieldValueRequired`).
    Required,
    /// A value is malformed or out of range (`FieldValueInvalid`).
    Invalid,
    /// A value is not one of an enumerated set (`FieldValueNotSupported`).
    NotSupported,
    /// A value that must be unique is repeated (`FieldValueDuplicate`).
    Duplicate,
    /// A value is valid in form but not allowed here (`FieldValueForbidden`).
    Forbidden,
    /// A value is too long; the value itself is not printed (`FieldValueTooLong`).
    TooLong,
    /// A list has too many items (`FieldValueTooMany`).
    TooMany,
    /// Something went wrong that is not the user's fault (`InternalError`).
    Internal,
    /// A referenced item does not exist (`FieldValueNotFound`), e.g. a
    /// volumeMount naming a volume that is not declared.
    NotFound,
    /// A value has the wrong JSON type (`FieldValueTypeInvalid`). Upstream's
    /// typed decoder rejects these before validation runs; here they are
    /// reported as field errors instead.
    TypeInvalid,
}

impl ErrorKind {
    /// Upstream's `CauseType` string, e.g. `"FieldValueRequired"`.
    pub fn cause_type(&self) -> &'static str {
        match self {
            ErrorKind::Required => "FieldValueRequired",
            ErrorKind::Invalid => "FieldValueInvalid",
            ErrorKind::NotSupported => "FieldValueNotSupported",
            ErrorKind::Duplicate => "FieldValueDuplicate",
            ErrorKind::Forbidden => "FieldValueForbidden",
            ErrorKind::TooLong => "FieldValueTooLong",
            ErrorKind::TooMany => "FieldValueTooMany",
            ErrorKind::Internal => "InternalError",
            ErrorKind::NotFound => "FieldValueNotFound",
            ErrorKind::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// Upstream's human-readable label for the kind, e.g. `"Required value"`.
    pub fn label(&self) -> &'static str {
        match self {
            ErrorKind::Required => "Required value",
            ErrorKind::Invalid | ErrorKind::TypeInvalid => "Invalid value",
            ErrorKind::NotSupported => "Unsupported value",
            ErrorKind::Duplicate => "Duplicate value",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::TooLong => "Too long",
            ErrorKind::TooMany => "Too many",
            ErrorKind::Internal => "Internal error",
            ErrorKind::NotFound => "Not found",
        }
    }
}

impl FieldError {
    /// Builds an error from its parts.
    pub fn new(
        kind: ErrorKind,
        field: impl Into<String>,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            kind,
            field: field.into(),
            value,
            detail: detail.into(),
        }
    }

    /// Upstream's `ErrorBody()`: the message without the field name, e.g.
    /// `Required value`, `Invalid value: "Foo": a lowercase RFC 1123 ...`,
    /// `Unsupported value: "X": supported values: "A", "B"`.
    pub fn body(&self) -> String {
        let mut s = match self.kind {
            ErrorKind::Required
            | ErrorKind::Forbidden
            | ErrorKind::TooLong
            | ErrorKind::Internal => self.kind.label().to_string(),
            _ => match &self.value {
                None => self.kind.label().to_string(),
                Some(v) => format!("{}: {}", self.kind.label(), render_value(v)),
            },
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Renders a bad value the way Kubernetes 1.33's `ErrorBody` does: strings
/// with Go's `%q`, numbers and booleans bare, nil pointers (`null`) as
/// `"null"`, and composite values with Go's `%#v` for the shapes that can be
/// recognised from JSON: string maps (`map[string]string{"app":"web"}`), an
/// empty object (`map[string]string(nil)`), string and integer lists
/// (`[]string{"a", "b"}`, `[]int32{1}`), label selectors
/// (`v1.LabelSelector{...}`) and int-or-string values encoded as
/// `{"Type":0,"IntVal":1,"StrVal":""}` (`intstr.IntOrString{...}`). Any
/// other composite value (upstream prints an internal Go struct there) is
/// rendered as compact JSON.
pub fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Number(n) => go_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => go_quote("null"),
        Value::Array(items) => render_array(items).unwrap_or_else(|| go_json(v)),
        Value::Object(m) => render_object(m).unwrap_or_else(|| go_json(v)),
    }
}

fn render_array(items: &[Value]) -> Option<String> {
    if items.iter().all(|i| i.is_string()) {
        let parts: Vec<String> = items
            .iter()
            .filter_map(|i| i.as_str())
            .map(go_quote)
            .collect();
        return Some(format!("[]string{{{}}}", parts.join(", ")));
    }
    if items.iter().all(|i| i.as_i64().is_some()) {
        let parts: Vec<String> = items
            .iter()
            .filter_map(|i| i.as_i64())
            .map(|i| i.to_string())
            .collect();
        return Some(format!("[]int32{{{}}}", parts.join(", ")));
    }
    None
}

fn render_string_map(m: &serde_json::Map<String, Value>) -> Option<String> {
    if m.is_empty() {
        return Some("map[string]string(nil)".to_string());
    }
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let mut parts = Vec::with_capacity(keys.len());
    for k in keys {
        let v = m.get(k)?.as_str()?;
        parts.push(format!("{}:{}", go_quote(k), go_quote(v)));
    }
    Some(format!("map[string]string{{{}}}", parts.join(", ")))
}

fn render_string_list(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => Some("[]string(nil)".to_string()),
        Some(Value::Array(a)) if a.iter().all(|x| x.is_string()) => render_array(a),
        _ => None,
    }
}

fn render_object(m: &serde_json::Map<String, Value>) -> Option<String> {
    // intstr.IntOrString
    if m.len() == 3
        && let (Some(t), Some(i), Some(s)) = (m.get("Type"), m.get("IntVal"), m.get("StrVal"))
    {
        return Some(format!(
            "intstr.IntOrString{{Type:{}, IntVal:{}, StrVal:{}}}",
            t.as_i64()?,
            i.as_i64()?,
            go_quote(s.as_str()?)
        ));
    }
    // rbac.RoleRef
    if m.len() == 3
        && let (Some(g), Some(k), Some(n)) = (m.get("apiGroup"), m.get("kind"), m.get("name"))
    {
        return Some(format!(
            "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
            go_quote(g.as_str()?),
            go_quote(k.as_str()?),
            go_quote(n.as_str()?)
        ));
    }
    // metav1.LabelSelector
    let selector_keys = !m.is_empty()
        && m.keys()
            .all(|k| k == "matchLabels" || k == "matchExpressions");
    let selector_values = m
        .values()
        .all(|v| v.is_null() || v.is_object() || v.is_array());
    if selector_keys && selector_values {
        let labels = match m.get("matchLabels") {
            None | Some(Value::Null) => "map[string]string(nil)".to_string(),
            Some(Value::Object(l)) if l.is_empty() => "map[string]string{}".to_string(),
            Some(Value::Object(l)) => render_string_map(l)?,
            _ => return None,
        };
        let exprs = match m.get("matchExpressions") {
            None | Some(Value::Null) => "[]v1.LabelSelectorRequirement(nil)".to_string(),
            Some(Value::Array(a)) => {
                let mut parts = Vec::with_capacity(a.len());
                for r in a {
                    let r = r.as_object()?;
                    let key = r.get("key").and_then(|v| v.as_str()).unwrap_or("");
                    let op = r.get("operator").and_then(|v| v.as_str()).unwrap_or("");
                    let values = render_string_list(r.get("values"))?;
                    parts.push(format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{values}}}",
                        go_quote(key),
                        go_quote(op)
                    ));
                }
                format!("[]v1.LabelSelectorRequirement{{{}}}", parts.join(", "))
            }
            _ => return None,
        };
        return Some(format!(
            "v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{exprs}}}"
        ));
    }
    render_string_map(m)
}

/// Formats a JSON number like Go's `%v` does for int64/float64.
pub(crate) fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) => go_float(f),
        None => n.to_string(),
    }
}

/// Go's `%v` for a float64: shortest representation, exponent form when the
/// exponent is < -4 or >= 21, exponent with a sign and at least two digits.
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    let abs = f.abs();
    if (1e-4..1e21).contains(&abs) {
        return format!("{f}");
    }
    let e = format!("{f:e}");
    match e.split_once('e') {
        Some((mant, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            let digits = if digits.len() < 2 {
                format!("0{digits}")
            } else {
                digits.to_string()
            };
            format!("{mant}e{sign}{digits}")
        }
        None => e,
    }
}

/// Go's `strconv.Quote`: double-quoted, Go escape sequences, printable
/// Unicode kept as is.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Approximates Go's `unicode.IsPrint`: graphic characters plus ASCII space.
fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

/// Go's `json.Marshal` output for a JSON value: compact, object keys sorted,
/// `<`, `>`, `&`, U+2028 and U+2029 escaped.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_go_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(k, out);
                out.push(':');
                if let Some(val) = map.get(k) {
                    write_go_json(val, out);
                }
            }
            out.push('}');
        }
    }
}

fn write_go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
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
    fn required_body_is_label_only() {
        let e = FieldError::new(ErrorKind::Required, "spec.containers[0].image", None, "");
        assert_eq!(e.body(), "Required value");
        assert_eq!(e.to_string(), "spec.containers[0].image: Required value");
    }

    #[test]
    fn invalid_string_value_is_go_quoted() {
        let e = FieldError::new(
            ErrorKind::Invalid,
            "metadata.name",
            Some(json!("Foo")),
            "bad",
        );
        assert_eq!(e.body(), "Invalid value: \"Foo\": bad");
    }

    #[test]
    fn invalid_map_value_renders_like_go() {
        let e = FieldError::new(
            ErrorKind::Invalid,
            "x",
            Some(json!({"b": "2", "a": "1"})),
            "d",
        );
        assert_eq!(
            e.body(),
            "Invalid value: map[string]string{\"a\":\"1\", \"b\":\"2\"}: d"
        );
        assert_eq!(render_value(&json!({})), "map[string]string(nil)");
    }

    #[test]
    fn lists_selectors_and_int_or_strings_render_like_go() {
        assert_eq!(render_value(&json!(["10.0.0.2"])), "[]string{\"10.0.0.2\"}");
        assert_eq!(render_value(&json!([3, 1])), "[]int32{3, 1}");
        assert_eq!(
            render_value(&json!({"matchLabels": {"app": "web"}})),
            "v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
        assert_eq!(
            render_value(&json!({"matchExpressions": [{"key": "a", "operator": "Exists"}]})),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"a\", Operator:\"Exists\", Values:[]string(nil)}}}"
        );
        assert_eq!(
            render_value(&json!({"Type": 1, "IntVal": 0, "StrVal": "25%"})),
            "intstr.IntOrString{Type:1, IntVal:0, StrVal:\"25%\"}"
        );
        assert_eq!(render_value(&json!(null)), "\"null\"");
        assert_eq!(
            render_value(
                &json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "a"})
            ),
            "rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"a\"}"
        );
        assert_eq!(render_value(&json!({"a": 1})), "{\"a\":1}");
    }

    #[test]
    fn not_supported_lists_values() {
        let e = FieldError::new(
            ErrorKind::NotSupported,
            "p",
            Some(json!("X")),
            "supported values: \"A\", \"B\"",
        );
        assert_eq!(
            e.body(),
            "Unsupported value: \"X\": supported values: \"A\", \"B\""
        );
    }

    #[test]
    fn too_long_omits_value() {
        let e = FieldError::new(
            ErrorKind::TooLong,
            "data",
            Some(json!("big")),
            "may not be more than 1048576 bytes",
        );
        assert_eq!(e.body(), "Too long: may not be more than 1048576 bytes");
    }

    #[test]
    fn numbers_and_bools_print_bare() {
        assert_eq!(render_value(&json!(70000)), "70000");
        assert_eq!(render_value(&json!(-1)), "-1");
        assert_eq!(render_value(&json!(true)), "true");
        assert_eq!(render_value(&json!(0.5)), "0.5");
        assert_eq!(render_value(&json!(1e25)), "1e+25");
    }

    #[test]
    fn go_quote_escapes_control_characters() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }

    #[test]
    fn go_json_escapes_html_characters() {
        assert_eq!(go_json(&json!(["<a&b>"])), "[\"\\u003ca\\u0026b\\u003e\"]");
    }

    #[test]
    fn cause_types_match_upstream() {
        assert_eq!(ErrorKind::Required.cause_type(), "FieldValueRequired");
        assert_eq!(ErrorKind::Internal.cause_type(), "InternalError");
        assert_eq!(ErrorKind::TooMany.cause_type(), "FieldValueTooMany");
    }
}
