//! `metadata.managedFields` entries: reading and writing them on object
//! JSON, upstream's ordering, manager identities, and kubectl's
//! client-side → server-side apply upgrade of entries.

use super::field_set::{FieldSet, FieldsV1Error};
use super::go_format::{json_string, write_json_string};
use serde_json::{Map, Value};
use std::fmt;

/// The only `fieldsType` there is.
pub const FIELDS_V1: &str = "FieldsV1";

/// Which kind of request produced an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// A server-side apply patch.
    Apply,
    /// A create, update or non-apply patch.
    Update,
}

impl Operation {
    /// `"Apply"` or `"Update"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `metadata.managedFields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedFieldsEntry {
    /// The field manager's name.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// API version the fields are expressed in (e.g. `apps/v1`).
    pub api_version: String,
    /// RFC 3339 time of the manager's last change, if recorded.
    pub time: Option<String>,
    /// The owned fields.
    pub fields: FieldSet,
    /// Subresource the manager wrote through (`status`, `scale`…); empty
    /// for the main resource.
    pub subresource: String,
}

/// A malformed `managedFields` list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ManagedFieldsError(pub String);

impl From<FieldsV1Error> for ManagedFieldsError {
    fn from(e: FieldsV1Error) -> Self {
        ManagedFieldsError(e.0)
    }
}

fn string_field(
    obj: &Map<String, Value>,
    key: &str,
    index: usize,
) -> Result<String, ManagedFieldsError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ManagedFieldsError(format!(
            "managed fields entry {index}: {key} must be a string"
        ))),
    }
}

impl ManagedFieldsEntry {
    /// Reads entry number `index` of a `managedFields` list, checking it
    /// the way upstream's `DecodeManagedFields` does.
    ///
    /// # Errors
    ///
    /// Upstream's messages for a bad operation, an empty apiVersion, a
    /// missing or unknown fieldsType, or undecodable fieldsV1.
    pub fn from_value(v: &Value, index: usize) -> Result<Self, ManagedFieldsError> {
        let Value::Object(obj) = v else {
            return Err(ManagedFieldsError(format!(
                "managed fields entry {index} is not an object"
            )));
        };
        let operation = match string_field(obj, "operation", index)?.as_str() {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => {
                return Err(ManagedFieldsError(
                    "operation must be `Apply` or `Update`".to_string(),
                ));
            }
        };
        let api_version = string_field(obj, "apiVersion", index)?;
        if api_version.is_empty() {
            return Err(ManagedFieldsError(
                "apiVersion must not be empty".to_string(),
            ));
        }
        match string_field(obj, "fieldsType", index)?.as_str() {
            FIELDS_V1 => {}
            "" => {
                return Err(ManagedFieldsError(format!(
                    "missing fieldsType in managed fields entry {index}"
                )));
            }
            other => {
                return Err(ManagedFieldsError(format!(
                    "invalid fieldsType {} in managed fields entry {index}",
                    json_string(other, false)
                )));
            }
        }
        let fields = match obj.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(f) => FieldSet::from_fields_v1_value(f).map_err(|e| {
                ManagedFieldsError(format!(
                    "error decoding versioned set from managed fields entry {index}: error decoding set: {e}"
                ))
            })?,
        };
        let time = match obj.get("time") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ManagedFieldsError(format!(
                    "managed fields entry {index}: time must be a string"
                )));
            }
        };
        Ok(ManagedFieldsEntry {
            manager: string_field(obj, "manager", index)?,
            operation,
            api_version,
            time,
            fields,
            subresource: string_field(obj, "subresource", index)?,
        })
    }

    /// The entry as JSON (keys as the API writes them; `fieldsV1` as a
    /// nested object).
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("manager".into(), Value::String(self.manager.clone()));
        obj.insert(
            "operation".into(),
            Value::String(self.operation.as_str().into()),
        );
        obj.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            obj.insert("time".into(), Value::String(t.clone()));
        }
        obj.insert("fieldsType".into(), Value::String(FIELDS_V1.into()));
        obj.insert("fieldsV1".into(), self.fields.to_fields_v1_value());
        if !self.subresource.is_empty() {
            obj.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        Value::Object(obj)
    }

    /// The entry as the JSON text Kubernetes writes (field order of the Go
    /// struct, `fieldsV1` bytes exactly as upstream).
    pub fn to_json_string(&self) -> String {
        let mut out = String::from("{");
        let mut first = true;
        let mut field = |out: &mut String, name: &str, value: &str, raw: bool| {
            if !first {
                out.push(',');
            }
            first = false;
            write_json_string(out, name, true);
            out.push(':');
            if raw {
                out.push_str(value);
            } else {
                write_json_string(out, value, true);
            }
        };
        if !self.manager.is_empty() {
            field(&mut out, "manager", &self.manager, false);
        }
        field(&mut out, "operation", self.operation.as_str(), false);
        field(&mut out, "apiVersion", &self.api_version, false);
        if let Some(t) = &self.time {
            field(&mut out, "time", t, false);
        }
        field(&mut out, "fieldsType", FIELDS_V1, false);
        field(
            &mut out,
            "fieldsV1",
            &self.fields.to_fields_v1_string(),
            true,
        );
        if !self.subresource.is_empty() {
            field(&mut out, "subresource", &self.subresource, false);
        }
        out.push('}');
        out
    }

    /// Upstream's manager identifier: the entry's JSON without fields and
    /// time, and without the API version for appliers.
    pub fn identifier(&self) -> String {
        let version = match self.operation {
            Operation::Apply => "",
            Operation::Update => &self.api_version,
        };
        manager_identifier(&self.manager, self.operation, version, &self.subresource)
    }
}

/// `{"manager":…,"operation":…,"apiVersion":…,"subresource":…}` with empty
/// values left out, as Go marshals the trimmed `ManagedFieldsEntry`.
pub(crate) fn manager_identifier(
    manager: &str,
    operation: Operation,
    api_version: &str,
    subresource: &str,
) -> String {
    let mut parts = Vec::new();
    if !manager.is_empty() {
        parts.push(format!("\"manager\":{}", json_string(manager, true)));
    }
    parts.push(format!(
        "\"operation\":{}",
        json_string(operation.as_str(), true)
    ));
    if !api_version.is_empty() {
        parts.push(format!("\"apiVersion\":{}", json_string(api_version, true)));
    }
    if !subresource.is_empty() {
        parts.push(format!(
            "\"subresource\":{}",
            json_string(subresource, true)
        ));
    }
    format!("{{{}}}", parts.join(","))
}

/// Reads `metadata.managedFields` of an object (absent or `null` → empty).
///
/// # Errors
///
/// When the list or one of its entries is malformed.
pub fn read_managed_fields(obj: &Value) -> Result<Vec<ManagedFieldsEntry>, ManagedFieldsError> {
    match managed_fields_value(obj) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| ManagedFieldsEntry::from_value(v, i))
            .collect(),
        Some(_) => Err(ManagedFieldsError(
            "metadata.managedFields must be a list".to_string(),
        )),
    }
}

/// The raw `metadata.managedFields` value, if any.
pub fn managed_fields_value(obj: &Value) -> Option<&Value> {
    obj.get("metadata")?.get("managedFields")
}

/// Replaces `metadata.managedFields` (removing it when `entries` is empty,
/// as upstream encodes no managers as a nil list).
pub fn write_managed_fields(obj: &mut Value, entries: &[ManagedFieldsEntry]) {
    if entries.is_empty() {
        remove_managed_fields(obj);
        return;
    }
    let Value::Object(root) = obj else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(ManagedFieldsEntry::to_value).collect()),
        );
    }
}

/// Removes `metadata.managedFields`.
pub fn remove_managed_fields(obj: &mut Value) {
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.remove("managedFields");
    }
}

/// Whether a request's `managedFields` asks to reset tracking: an empty
/// list, or a list of one empty entry.
pub fn is_reset_managed_fields(obj: &Value) -> bool {
    match managed_fields_value(obj) {
        Some(Value::Array(items)) => match items.as_slice() {
            [] => true,
            [Value::Object(o)] => o.values().all(|v| match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Object(m) => m.is_empty(),
                _ => false,
            }),
            _ => false,
        },
        _ => false,
    }
}

/// Sorts entries as the apiserver stores them: Apply before Update, then
/// oldest first, then by manager, API version and subresource.
pub fn sort_managed_fields(entries: &mut [ManagedFieldsEntry]) {
    entries.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| time_seconds(p.time.as_deref()).cmp(&time_seconds(q.time.as_deref())))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
}

/// Seconds since the Unix epoch of an RFC 3339 time; 0 when absent or
/// unreadable (upstream treats a nil time as 0).
pub(crate) fn time_seconds(t: Option<&str>) -> i64 {
    t.and_then(parse_rfc3339).unwrap_or(0)
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h = rest.get(1..3)?.parse::<i64>().ok()?;
            let m = rest.get(4..6)?.parse::<i64>().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// kubectl's `csaupgrade.UpgradeManagedFields`: folds the client-side apply
/// manager's `Update` ownership (main resource) into the server-side
/// manager's `Apply` entry, creating that entry from the most recent
/// client-side one when it does not exist yet, and drops the client-side
/// entries. Returns `None` when there is nothing to do.
pub fn upgrade_managed_fields(
    entries: &[ManagedFieldsEntry],
    csa_manager: &str,
    ssa_manager: &str,
) -> Option<Vec<ManagedFieldsEntry>> {
    let mut entries = entries.to_vec();
    let is_csa = |e: &ManagedFieldsEntry| {
        e.manager == csa_manager && e.operation == Operation::Update && e.subresource.is_empty()
    };
    let target = match entries.iter().position(|e| {
        e.manager == ssa_manager && e.operation == Operation::Apply && e.subresource.is_empty()
    }) {
        Some(i) => i,
        None => {
            let i = entries.iter().position(is_csa)?;
            entries[i].operation = Operation::Apply;
            entries[i].manager = ssa_manager.to_string();
            i
        }
    };
    let version = entries[target].api_version.clone();
    if let Some(csa) = entries
        .iter()
        .find(|e| is_csa(e) && e.api_version == version)
    {
        let union = entries[target].fields.union(&csa.fields);
        entries[target].fields = union;
    }
    let kept: Vec<ManagedFieldsEntry> = entries.into_iter().filter(|e| !is_csa(e)).collect();
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-03-01T12:30:15Z"), Some(1_709_296_215));
        assert_eq!(
            parse_rfc3339("2024-03-01T13:30:15+01:00"),
            Some(1_709_296_215)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T12:30:15.123Z"),
            Some(1_709_296_215)
        );
        assert_eq!(parse_rfc3339("nope"), None);
    }

    #[test]
    fn identifiers_match_go_marshalling() {
        assert_eq!(
            manager_identifier("kubectl", Operation::Update, "apps/v1", ""),
            r#"{"manager":"kubectl","operation":"Update","apiVersion":"apps/v1"}"#
        );
        assert_eq!(
            manager_identifier("k", Operation::Apply, "", "status"),
            r#"{"manager":"k","operation":"Apply","subresource":"status"}"#
        );
    }

    #[test]
    fn decodes_and_rejects_entries() {
        let good = json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Update", "apiVersion": "v1",
            "time": "2024-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}]}});
        let entries = read_managed_fields(&good).expect("decode");
        assert_eq!(
            entries[0].fields.to_fields_v1_string(),
            r#"{"f:data":{"f:a":{}}}"#
        );
        assert_eq!(
            entries[0].to_json_string(),
            r#"{"manager":"m","operation":"Update","apiVersion":"v1","time":"2024-01-01T00:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}}"#
        );
        let bad_op = json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}]}});
        assert_eq!(
            read_managed_fields(&bad_op).map_err(|e| e.0),
            Err("operation must be `Apply` or `Update`".into())
        );
        let no_type = json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Apply", "apiVersion": "v1"}]}});
        assert_eq!(
            read_managed_fields(&no_type).map_err(|e| e.0),
            Err("missing fieldsType in managed fields entry 0".into())
        );
    }

    #[test]
    fn reset_forms() {
        assert!(is_reset_managed_fields(
            &json!({"metadata": {"managedFields": []}})
        ));
        assert!(is_reset_managed_fields(
            &json!({"metadata": {"managedFields": [{}]}})
        ));
        assert!(!is_reset_managed_fields(&json!({"metadata": {}})));
    }
}
