//! Shared helpers: tolerant JSON access, timestamps, durations and the
//! label/selector formatting used by several printers.
//!
//! Every accessor here treats a missing field, a `null` and a value of the
//! wrong JSON type alike: as the Go zero value upstream would see after
//! decoding (empty string, 0, false, empty list, nil pointer).

use serde_json::Value;
use std::collections::BTreeSet;

/// Nanoseconds in one second.
const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Evaluation context shared by all printers of one row.
pub(crate) struct Ctx {
    /// "Now", in nanoseconds since the Unix epoch.
    pub now_ns: i128,
}

impl Ctx {
    /// Builds a context from "now" in whole seconds since the epoch.
    pub fn new(now_secs: i64) -> Self {
        Ctx {
            now_ns: i128::from(now_secs) * NANOS_PER_SEC,
        }
    }

    /// Elapsed time since `t` as a human duration, `<unknown>` for a zero or
    /// missing time (upstream's translateTimestampSince).
    pub fn since(&self, t: Option<i128>) -> String {
        match t {
            None => "<unknown>".to_string(),
            Some(t) => human_duration_ns(self.now_ns - t),
        }
    }

    /// Age of an object from `metadata.creationTimestamp`.
    pub fn age(&self, obj: &Value) -> String {
        self.since(time_at(obj, &["metadata", "creationTimestamp"]))
    }
}

// ---------------------------------------------------------------------------
// JSON access
// ---------------------------------------------------------------------------

/// The value at `path`, or `None` when any step is missing, not an object, or
/// the final value is `null`.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    if cur.is_null() { None } else { Some(cur) }
}

/// The JSON object at `path` (a non-nil Go pointer to a struct), if any.
pub(crate) fn obj<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    at(v, path).filter(|x| x.is_object())
}

/// The string at `path`, if present and a string.
pub(crate) fn opt_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

/// The string at `path`, or `""`.
pub(crate) fn string<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    opt_str(v, path).unwrap_or("")
}

/// Converts a JSON number to an integer the way a Go integer field would hold
/// it; non-integral or non-numeric values give `None`.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    if v.as_u64().is_some() {
        return Some(i64::MAX);
    }
    let f = v.as_f64()?;
    if f.fract() == 0.0 && f.is_finite() {
        // Saturating float-to-int conversion.
        Some(f as i64)
    } else {
        None
    }
}

/// The integer at `path`, if present and numeric.
pub(crate) fn opt_int(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(as_int)
}

/// The integer at `path`, or 0.
pub(crate) fn int(v: &Value, path: &[&str]) -> i64 {
    opt_int(v, path).unwrap_or(0)
}

/// The boolean at `path`, if present and boolean.
pub(crate) fn opt_bool(v: &Value, path: &[&str]) -> Option<bool> {
    at(v, path).and_then(Value::as_bool)
}

/// The boolean at `path`, or false.
pub(crate) fn boolean(v: &Value, path: &[&str]) -> bool {
    opt_bool(v, path).unwrap_or(false)
}

/// The array at `path`, or an empty slice.
pub(crate) fn arr<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    match at(v, path) {
        Some(Value::Array(a)) => a.as_slice(),
        _ => &[],
    }
}

/// The number of entries of the object (Go map) at `path`.
pub(crate) fn map_len(v: &Value, path: &[&str]) -> usize {
    at(v, path)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

/// Whether `metadata.deletionTimestamp` is set.
pub(crate) fn deleting(obj: &Value) -> bool {
    at(obj, &["metadata", "deletionTimestamp"]).is_some()
}

/// `metadata.name`.
pub(crate) fn name(obj: &Value) -> String {
    string(obj, &["metadata", "name"]).to_string()
}

/// The annotation `key`, if present (Go `value, found := m[key]`).
pub(crate) fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    at(obj, &["metadata", "annotations"])?
        .as_object()?
        .get(key)
        .map(|v| v.as_str().unwrap_or(""))
}

/// Renders a scalar the way it would appear once decoded into a Go string
/// (strings as-is, other scalars as their JSON text, anything else empty).
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A resource.Quantity as printed by `Quantity.String()`; a missing quantity
/// is the zero quantity, `"0"`. Served quantities are already canonical.
pub(crate) fn quantity(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}

/// A `*resource.Quantity` as printed by `String()` (nil prints `<nil>`).
pub(crate) fn quantity_ptr(v: Option<&Value>) -> String {
    match v {
        None => "<nil>".to_string(),
        some => quantity(some),
    }
}

/// An IntOrString as printed by its `String()`.
pub(crate) fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => as_int(other).unwrap_or(0).to_string(),
    }
}

/// Go's `%v` of a `[]string`: `[a b c]`.
pub(crate) fn go_string_slice(v: &[Value]) -> String {
    let items: Vec<String> = v.iter().map(scalar_text).collect();
    format!("[{}]", items.join(" "))
}

/// Joins `list` with `,`, appending ` + N more...` when truncated, and
/// printing `<unset>` for an empty list (upstream's listWithMoreString).
pub(crate) fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let ret = list.join(",");
    if more {
        return format!("{} + {} more...", ret, count.saturating_sub(max));
    }
    if ret.is_empty() {
        "<unset>".to_string()
    } else {
        ret
    }
}

/// Comma-joined container names and images of a pod spec's `containers`.
pub(crate) fn layout_containers(containers: &[Value]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| string(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| string(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

/// A sorted, de-duplicated set of strings joined with `sep` (Go's
/// `sets.String.List()` then `strings.Join`).
pub(crate) fn sorted_unique_join<I: IntoIterator<Item = String>>(items: I, sep: &str) -> String {
    let set: BTreeSet<String> = items.into_iter().collect();
    set.into_iter().collect::<Vec<_>>().join(sep)
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in nanoseconds since the epoch.
fn zero_time_ns() -> i128 {
    i128::from(days_from_civil(1, 1, 1)) * 86_400 * NANOS_PER_SEC
}

/// Parses an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) into
/// nanoseconds since the epoch.
pub(crate) fn parse_time(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |start: usize, len: usize| -> Option<i64> {
        let digits = b.get(start..start + len)?;
        let mut n = 0i64;
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    let hour = num(11, 2)?;
    let min = num(14, 2)?;
    let sec = num(17, 2)?;
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if sep(i, b".") {
        i += 1;
        let start = i;
        let mut scale: i128 = 100_000_000;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            nanos += i128::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let oh = num(i + 1, 2)?;
            let om = num(i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    Some(i128::from(secs) * NANOS_PER_SEC + nanos)
}

/// The timestamp at `path`; `None` when missing, unparsable or Go's zero time
/// (all of which upstream treats as `IsZero()`).
pub(crate) fn time_at(v: &Value, path: &[&str]) -> Option<i128> {
    let t = parse_time(opt_str(v, path)?)?;
    if t == zero_time_ns() { None } else { Some(t) }
}

/// The later of two optional timestamps.
pub(crate) fn later(a: Option<i128>, b: Option<i128>) -> Option<i128> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Formats a timestamp as RFC 3339 in UTC with whole seconds, Go's zero time
/// for `None` (what `time.Time{}.UTC().Format(time.RFC3339)` prints).
pub(crate) fn format_rfc3339_utc(t: Option<i128>) -> String {
    let ns = t.unwrap_or_else(zero_time_ns);
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let days = i64::try_from(secs.div_euclid(86_400)).unwrap_or(0);
    let rem = i64::try_from(secs.rem_euclid(86_400)).unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        y,
        m,
        d,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Upstream's `duration.HumanDuration` for a duration in nanoseconds.
pub(crate) fn human_duration_ns(d: i128) -> String {
    // time.Duration is an int64; time.Since/Sub saturate at its bounds.
    let d = i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX });
    let seconds = d / 1_000_000_000;
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = d / 60_000_000_000;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = d / 3_600_000_000_000;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{}h", hours / 24, h);
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{}d", hours / 24 / 365, dy);
    }
    format!("{}y", hours / 24 / 365)
}

// ---------------------------------------------------------------------------
// Labels and selectors
// ---------------------------------------------------------------------------

/// `labels.FormatLabels`: `k=v` pairs sorted as strings, `<none>` when empty.
pub(crate) fn format_labels(v: Option<&Value>) -> String {
    let mut pairs: Vec<String> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", scalar_text(v)))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    let s = pairs.join(",");
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s
    }
}

/// Label selector operators, as upstream's `selection.Operator`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// One selector requirement.
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

impl Requirement {
    fn render(&self) -> String {
        let mut out = String::new();
        if self.op == Op::DoesNotExist {
            out.push('!');
        }
        out.push_str(&self.key);
        match self.op {
            Op::Exists | Op::DoesNotExist => return out,
            Op::Equals => out.push('='),
            Op::In => out.push_str(" in ("),
            Op::NotIn => out.push_str(" notin ("),
        }
        let mut values = self.values.clone();
        values.sort();
        out.push_str(&values.join(","));
        if matches!(self.op, Op::In | Op::NotIn) {
            out.push(')');
        }
        out
    }
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?` (upstream's qualified name part).
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// RFC 1123 DNS subdomain, at most 253 characters.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            match (b.first(), b.last()) {
                (Some(f), Some(l)) => {
                    (f.is_ascii_lowercase() || f.is_ascii_digit())
                        && (l.is_ascii_lowercase() || l.is_ascii_digit())
                        && b.iter()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                }
                _ => false,
            }
        })
}

/// `validation.IsQualifiedName` (label keys).
fn is_qualified_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() || !is_dns1123_subdomain(prefix) {
                return false;
            }
            *name
        }
        _ => return false,
    };
    name.len() <= 63 && is_qualified_name_part(name)
}

/// `validation.IsValidLabelValue`.
fn is_label_value(s: &str) -> bool {
    s.is_empty() || (s.len() <= 63 && is_qualified_name_part(s))
}

/// `metav1.LabelSelectorAsSelector(sel).String()`; `Err` when upstream's
/// conversion fails (bad operator, key or value). A nil selector and an
/// empty selector both print as the empty string.
pub(crate) fn label_selector_string(sel: Option<&Value>) -> Result<String, ()> {
    let Some(sel) = sel.filter(|v| v.is_object()) else {
        return Ok(String::new());
    };
    let labels = at(sel, &["matchLabels"]).and_then(Value::as_object);
    let exprs = arr(sel, &["matchExpressions"]);
    let mut reqs = Vec::new();
    if let Some(labels) = labels {
        for (k, v) in labels {
            let v = scalar_text(v);
            if !is_qualified_name(k) || !is_label_value(&v) {
                return Err(());
            }
            reqs.push(Requirement {
                key: k.clone(),
                op: Op::Equals,
                values: vec![v],
            });
        }
    }
    for e in exprs {
        let key = string(e, &["key"]).to_string();
        let op = match string(e, &["operator"]) {
            "In" => Op::In,
            "NotIn" => Op::NotIn,
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::DoesNotExist,
            _ => return Err(()),
        };
        let values: Vec<String> = arr(e, &["values"]).iter().map(scalar_text).collect();
        let count_ok = match op {
            Op::In | Op::NotIn => !values.is_empty(),
            Op::Exists | Op::DoesNotExist => values.is_empty(),
            Op::Equals => values.len() == 1,
        };
        if !count_ok || !is_qualified_name(&key) || !values.iter().all(|v| is_label_value(v)) {
            return Err(());
        }
        reqs.push(Requirement { key, op, values });
    }
    reqs.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(reqs
        .iter()
        .map(Requirement::render)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: `<error>` on an invalid selector, `<none>`
/// when it selects without requirements.
pub(crate) fn format_label_selector(sel: Option<&Value>) -> String {
    match label_selector_string(sel) {
        Err(()) => "<error>".to_string(),
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
    }
}

/// The Go `String()` of a `*metav1.LabelSelector` (its generated debug form).
pub(crate) fn label_selector_debug_string(sel: &Value) -> String {
    let mut exprs = String::from("[]LabelSelectorRequirement{");
    for e in arr(sel, &["matchExpressions"]) {
        exprs.push_str(&format!(
            "LabelSelectorRequirement{{Key:{},Operator:{},Values:{},}},",
            string(e, &["key"]),
            string(e, &["operator"]),
            go_string_slice(arr(e, &["values"]))
        ));
    }
    exprs.push('}');
    let mut labels: Vec<(String, String)> = at(sel, &["matchLabels"])
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect())
        .unwrap_or_default();
    labels.sort();
    let mut map = String::from("map[string]string{");
    for (k, v) in labels {
        map.push_str(&format!("{k}: {v},"));
    }
    map.push('}');
    format!("&LabelSelector{{MatchLabels:{map},MatchExpressions:{exprs},}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_time_accepts_utc_fractional_and_offset_forms() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_time("2024-02-29T12:00:00Z"),
            Some(1_709_208_000 * NANOS_PER_SEC)
        );
    }

    #[test]
    fn parse_time_rejects_malformed_input() {
        for bad in [
            "",
            "2024",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn go_zero_time_counts_as_unset() {
        let v = json!({"t": "0001-01-01T00:00:00Z"});
        assert_eq!(time_at(&v, &["t"]), None);
        assert_eq!(format_rfc3339_utc(None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn rfc3339_formatting_round_trips_in_utc() {
        let t = parse_time("2024-05-06T09:08:07.999+02:00");
        assert_eq!(format_rfc3339_utc(t), "2024-05-06T07:08:07Z");
    }

    #[test]
    fn format_labels_sorts_pairs_and_prints_none_when_empty() {
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
        assert_eq!(format_labels(None), "<none>");
    }

    #[test]
    fn label_selectors_format_like_upstream() {
        let sel = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "Exists"}
            ]
        });
        assert_eq!(
            format_label_selector(Some(&sel)),
            "app=web,!canary,env notin (prod),tier in (a,b),zone"
        );
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_label_selector(None), "<none>");
        let bad = json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]});
        assert_eq!(format_label_selector(Some(&bad)), "<error>");
        let bad_key = json!({"matchLabels": {"-bad": "x"}});
        assert_eq!(label_selector_string(Some(&bad_key)), Err(()));
    }

    #[test]
    fn label_selector_debug_string_matches_go_generated_form() {
        let sel = json!({"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "y"]}]});
        assert_eq!(
            label_selector_debug_string(&sel),
            "&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}"
        );
    }
}
