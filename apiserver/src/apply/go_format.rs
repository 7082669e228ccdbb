//! Text encodings that must match what the Go implementation emits byte for
//! byte: JSON strings and numbers as written by `encoding/json` (and the
//! standard-library-compatible jsoniter configuration upstream uses for
//! FieldsV1), `%q` quoting and the `%v` rendering of values used in field
//! paths and conflict messages.

use serde_json::{Number, Value};
use std::fmt::Write as _;

/// Appends `s` as a JSON string literal.
///
/// With `escape_html`, `<`, `>`, `&`, U+2028 and U+2029 are written as
/// `\u` escapes, as Go does for values; without it only quotes, backslashes
/// and control characters are escaped (jsoniter's object-key writer).
pub(crate) fn write_json_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if escape_html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Returns `s` as a JSON string literal (see [`write_json_string`]).
pub(crate) fn json_string(s: &str, escape_html: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_json_string(&mut out, s, escape_html);
    out
}

/// Appends `v` as compact JSON the way Go marshals an unstructured value:
/// object keys sorted, numbers in Go's float/int format.
pub(crate) fn write_json_value(out: &mut String, v: &Value, escape_html: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => write_json_string(out, s, escape_html),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_value(out, item, escape_html);
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
                write_json_string(out, k, escape_html);
                out.push(':');
                if let Some(item) = map.get(k) {
                    write_json_value(out, item, escape_html);
                }
            }
            out.push('}');
        }
    }
}

/// Returns `v` as compact Go-style JSON (see [`write_json_value`]).
pub(crate) fn json_value(v: &Value, escape_html: bool) -> String {
    let mut out = String::new();
    write_json_value(&mut out, v, escape_html);
    out
}

/// A JSON number as Go writes it: integers verbatim, floats in the shortest
/// form, with an exponent only below 1e-6 or from 1e21 on.
pub(crate) fn json_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (mantissa, exp) = split_exponent(f);
        if exp < 0 {
            format!("{mantissa}e-{}", -exp)
        } else {
            format!("{mantissa}e+{exp:02}")
        }
    } else {
        format!("{f}")
    }
}

/// Shortest decimal mantissa and base-10 exponent of `f`.
fn split_exponent(f: f64) -> (String, i32) {
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse().unwrap_or(0)),
        None => (s, 0),
    }
}

/// Go's `%v` for a float64: shortest digits, exponent form when the decimal
/// exponent is below -4 or at least 6 (e.g. `1e+06`, `1.5e-05`).
pub(crate) fn go_float_v(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (mantissa, exp) = split_exponent(f);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Go's `strconv.Quote`: a double-quoted string with Go escapes.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%v` of a number the way structured-merge-diff prints it: integers
/// as integers, floats with `%v`.
pub(crate) fn go_number_v(n: &Number) -> String {
    match n.as_i64() {
        Some(i) => i.to_string(),
        None => go_float_v(n.as_f64().unwrap_or(0.0)),
    }
}

/// structured-merge-diff's `value.ToString`: scalars with Go `%v`/`%q`,
/// lists as `[a,b]`, maps as concatenated `k=v`.
pub(crate) fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number_v(n),
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_to_string).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.into_iter()
                .filter_map(|k| {
                    map.get(k)
                        .map(|item| format!("{k}={}", value_to_string(item)))
                })
                .collect()
        }
    }
}

/// Go's `%T` of the unstructured form of `v`, for validation messages.
pub(crate) fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_strings_escape_like_go() {
        assert_eq!(
            json_string("a<b>&\"\\\n\u{1}", true),
            r#""a\u003cb\u003e\u0026\"\\\n\u0001""#
        );
        assert_eq!(json_string("a<b", false), r#""a<b""#);
    }

    #[test]
    fn json_numbers_match_go() {
        let n = |v: Value| match v {
            Value::Number(n) => json_number(&n),
            _ => String::new(),
        };
        assert_eq!(n(json!(80)), "80");
        assert_eq!(n(json!(80.0)), "80");
        assert_eq!(n(json!(1.5)), "1.5");
        assert_eq!(n(json!(1e21)), "1e+21");
        assert_eq!(n(json!(1.5e-7)), "1.5e-7");
        assert_eq!(n(json!(1e20)), "100000000000000000000");
    }

    #[test]
    fn go_v_formatting() {
        assert_eq!(go_float_v(80.0), "80");
        assert_eq!(go_float_v(1e6), "1e+06");
        assert_eq!(go_float_v(123456.0), "123456");
        assert_eq!(go_float_v(0.00001), "1e-05");
        assert_eq!(go_float_v(0.5), "0.5");
        assert_eq!(value_to_string(&json!("nginx")), "\"nginx\"");
        assert_eq!(go_quote("a\tb\u{1}"), "\"a\\tb\\x01\"");
    }

    #[test]
    fn values_sort_object_keys() {
        assert_eq!(
            json_value(&json!({"b": 1, "a": [true, null]}), true),
            r#"{"a":[true,null],"b":1}"#
        );
    }
}
