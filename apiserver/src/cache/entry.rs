//! What the watch cache holds per object and per change: the object's JSON
//! as served in lists (resourceVersion stamped, no apiVersion/kind), plus the
//! labels and field values selectors match on, computed once.

use crate::codec;
use crate::registry::{meta, strategy, watch};
use bosun_types::resources::ResourceInfo;
use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// One cached object.
#[derive(Debug)]
pub struct Entry {
    /// The storage key.
    pub key: Box<[u8]>,
    /// The resource (storage version) the JSON is in.
    pub stored_as: &'static ResourceInfo,
    /// Its namespace (empty for cluster-scoped objects).
    pub namespace: Box<str>,
    /// The revision of this version.
    pub revision: i64,
    /// JSON with `resourceVersion`, without `apiVersion`/`kind`.
    pub json: Bytes,
    /// The object's name.
    pub name: Box<str>,
    /// Labels as `key\0value\0key\0value`: one allocation per object (the
    /// map a selector matches on is built only when one is used).
    labels_packed: Box<str>,
    /// Values of the resource's selectable fields beyond name and namespace,
    /// in [`strategy::selectable_fields`] order, `\0`-separated.
    fields_packed: Box<str>,
}

/// Joins strings with NUL, which label keys, values and field values cannot
/// hold (a value that did would only split differently, never panic).
fn pack<'a>(parts: impl Iterator<Item = &'a str>) -> Box<str> {
    let mut packed = String::new();
    for (i, part) in parts.enumerate() {
        if i > 0 {
            packed.push('\0');
        }
        packed.push_str(part);
    }
    packed.into_boxed_str()
}

impl Entry {
    /// Builds an entry from stored bytes at `revision`; `None` if the bytes
    /// are not a JSON object (logged by the caller).
    pub fn new(
        resource: &'static ResourceInfo,
        key: &[u8],
        stored: &[u8],
        revision: i64,
    ) -> Option<Self> {
        let mut object = codec::decode_at(stored, revision).ok()?;
        Some(Self::from_value(resource, key, &mut object, revision))
    }

    /// Builds an entry from a decoded object (which loses apiVersion/kind).
    pub fn from_value(
        resource: &'static ResourceInfo,
        key: &[u8],
        object: &mut Value,
        revision: i64,
    ) -> Self {
        if let Some(map) = object.as_object_mut() {
            map.remove("apiVersion");
            map.remove("kind");
        }
        let labels = meta::labels(object);
        let labels_packed = pack(labels.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
        let fields = strategy::field_set(resource, object, resource.is_namespaced());
        let fields_packed = pack(
            strategy::selectable_fields(resource)
                .iter()
                .map(|f| fields.get(*f).map_or("", String::as_str)),
        );
        let namespace = meta::namespace(object).into();
        let name = meta::name(object).into();
        let json = exact_json(object);
        Self {
            key: key.into(),
            stored_as: resource,
            namespace,
            revision,
            json,
            name,
            labels_packed,
            fields_packed,
        }
    }

    /// The field values a field selector matches on, as
    /// [`strategy::field_set`] computes them.
    pub fn fields(&self) -> BTreeMap<String, String> {
        let mut fields = BTreeMap::new();
        fields.insert("metadata.name".to_owned(), self.name.to_string());
        if self.stored_as.is_namespaced() {
            fields.insert("metadata.namespace".to_owned(), self.namespace.to_string());
        }
        let selectable = strategy::selectable_fields(self.stored_as);
        if !selectable.is_empty() {
            for (field, value) in selectable.iter().zip(self.fields_packed.split('\0')) {
                fields.insert((*field).to_owned(), value.to_owned());
            }
        }
        fields
    }

    /// The labels, for label selectors.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        if self.labels_packed.is_empty() {
            return labels;
        }
        let mut parts = self.labels_packed.split('\0');
        while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
            labels.insert(k.to_owned(), v.to_owned());
        }
        labels
    }

    /// The object with `apiVersion` and `kind` of `resource` spliced in front.
    pub fn with_type(&self, resource: &ResourceInfo) -> Bytes {
        with_type(&self.json, resource)
    }

    /// The object as a JSON value, with type fields.
    pub fn to_value(&self, resource: &ResourceInfo) -> Value {
        let mut value: Value = serde_json::from_slice(&self.json).unwrap_or(Value::Null);
        crate::registry::set_type_meta(&mut value, resource);
        value
    }
}

/// Serializes `object` into a buffer of exactly its length: cached objects
/// live long, and a growing `Vec`'s spare capacity (up to half of it) would
/// live with them.
fn exact_json(object: &Value) -> Bytes {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        let Ok(mut buffer) = scratch.try_borrow_mut() else {
            return Bytes::from(serde_json::to_vec(object).unwrap_or_else(|_| b"{}".to_vec()));
        };
        buffer.clear();
        let json = match serde_json::to_writer(&mut *buffer, object) {
            Ok(()) => Bytes::copy_from_slice(&buffer),
            Err(_) => Bytes::from_static(b"{}"),
        };
        // Keep a modest scratch buffer, not the largest object ever seen.
        if buffer.capacity() > 1 << 20 {
            *buffer = Vec::new();
        }
        json
    })
}

/// Splices `"kind":…,"apiVersion":…` into the front of a JSON object.
pub fn with_type(json: &[u8], resource: &ResourceInfo) -> Bytes {
    let head = format!(
        "{{\"kind\":\"{}\",\"apiVersion\":\"{}\"",
        resource.kind,
        resource.api_version()
    );
    let mut out = Vec::with_capacity(head.len() + json.len() + 1);
    out.extend_from_slice(head.as_bytes());
    match json {
        [b'{', b'}'] | [] => out.push(b'}'),
        [b'{', rest @ ..] => {
            out.push(b',');
            out.extend_from_slice(rest);
        }
        other => {
            out.push(b'}');
            tracing::warn!(len = other.len(), "cached object is not a JSON object");
        }
    }
    Bytes::from(out)
}

/// Whether a change created, updated or removed the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Put of a new key.
    Added,
    /// Put of an existing key.
    Modified,
    /// Delete.
    Deleted,
}

/// One change of a segment, shared by every watcher.
#[derive(Debug)]
pub struct CacheEvent {
    /// The revision of the change.
    pub revision: i64,
    /// What happened.
    pub change: Change,
    /// The object after the change (for deletes: the last state stamped with
    /// the deletion's revision).
    pub current: Arc<Entry>,
    /// The object before the change.
    pub previous: Option<Arc<Entry>>,
    /// Rendered event lines for the segment's own resource, per event type.
    lines: [OnceLock<Bytes>; 3],
}

impl CacheEvent {
    /// A new event.
    pub fn new(
        revision: i64,
        change: Change,
        current: Arc<Entry>,
        previous: Option<Arc<Entry>>,
    ) -> Self {
        Self {
            revision,
            change,
            current,
            previous,
            lines: Default::default(),
        }
    }

    /// The watch line for `kind` and, sharing its bytes, the object with its
    /// type fields (the line is `{"type":"KIND","object":OBJECT}\n`): no
    /// per-watcher copy of the object.
    pub fn line_and_object(&self, kind: &'static str, resource: &ResourceInfo) -> (Bytes, Bytes) {
        let line = self.line(kind, resource, true);
        let object = line.slice(watch::object_range(kind, line.len()));
        (line, object)
    }

    /// The newline-terminated watch line `{"type":…,"object":…}` for
    /// `kind` (ADDED/MODIFIED/DELETED), rendered once per event for the
    /// segment's canonical resource.
    pub fn line(&self, kind: &'static str, resource: &ResourceInfo, canonical: bool) -> Bytes {
        let slot = match kind {
            "ADDED" => 0,
            "MODIFIED" => 1,
            _ => 2,
        };
        let render = || watch::line(kind, &self.current.with_type(resource));
        if canonical {
            self.lines[slot].get_or_init(render).clone()
        } else {
            render()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_fields_unpack_as_they_were() {
        let pods = bosun_types::resources::find_by_plural("", "v1", "pods").expect("pods");
        let mut pod = serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "1", "b": ""}},
            "spec": {"nodeName": "n1"},
            "status": {"phase": "Running"}
        });
        let entry = Entry::from_value(pods, b"/registry/pods/ns/p", &mut pod, 5);
        let labels = entry.labels();
        assert_eq!(labels.len(), 2);
        assert_eq!(labels["b"], "");
        let fields = entry.fields();
        assert_eq!(fields["spec.nodeName"], "n1");
        assert_eq!(fields["status.phase"], "Running");
        assert_eq!(fields["metadata.namespace"], "ns");
        assert_eq!(fields, strategy::field_set(pods, &pod, true));
        let mut bare = serde_json::json!({"metadata": {"name": "c"}});
        let cm =
            bosun_types::resources::find_by_plural("", "v1", "configmaps").expect("configmaps");
        assert!(
            Entry::from_value(cm, b"/k", &mut bare, 1)
                .labels()
                .is_empty()
        );
    }

    #[test]
    fn type_fields_are_spliced_in_front() {
        let pods = bosun_types::resources::find_by_plural("", "v1", "pods").expect("pods");
        assert_eq!(
            &with_type(b"{\"a\":1}", pods)[..],
            br#"{"kind":"Pod","apiVersion":"v1","a":1}"#
        );
        assert_eq!(
            &with_type(b"{}", pods)[..],
            br#"{"kind":"Pod","apiVersion":"v1"}"#
        );
        let parsed: Value =
            serde_json::from_slice(&with_type(b"{\"metadata\":{}}", pods)).expect("valid json");
        assert_eq!(parsed["kind"], "Pod");
    }
}
