//! What the watch cache holds per object and per change: the object's JSON
//! as served in lists (resourceVersion stamped, no apiVersion/kind), plus the
//! labels and field values selectors match on, computed once.

use crate::codec;
use crate::registry::{meta, strategy, watch};
use bosun_types::resources::ResourceInfo;
use bytes::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
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
        if let Some(entry) = Self::from_stored(resource, key, stored, revision) {
            return Some(entry);
        }
        let mut object = codec::decode_at(stored, revision).ok()?;
        Some(Self::from_value(resource, key, &mut object, revision))
    }

    /// [`Entry::new`] without building the object's tree, for bytes as
    /// [`codec::encode`] writes them (compact, members in key order): the
    /// top-level and `metadata` members are read as raw text and copied,
    /// `resourceVersion` is placed among `metadata`'s members, and only
    /// the name, namespace, labels and selectable fields are decoded. The
    /// result is byte for byte what decoding and re-encoding gives. `None`
    /// for anything unexpected (escaped member names, a missing or odd
    /// `metadata`, labels that are not all strings), which then takes the
    /// decoding path.
    fn from_stored(
        resource: &'static ResourceInfo,
        key: &[u8],
        stored: &[u8],
        revision: i64,
    ) -> Option<Self> {
        let top: BTreeMap<&str, &RawValue> = serde_json::from_slice(stored).ok()?;
        let meta: BTreeMap<&str, &RawValue> =
            serde_json::from_str(top.get("metadata")?.get()).ok()?;
        let string = |member: &str| -> Option<String> {
            meta.get(member).map_or(Some(String::new()), |raw| {
                serde_json::from_str(raw.get()).ok()
            })
        };
        let name = string("name")?;
        let namespace = string("namespace")?;
        let labels: BTreeMap<String, String> = match meta.get("labels") {
            Some(raw) => serde_json::from_str(raw.get()).ok()?,
            None => BTreeMap::new(),
        };
        let mut object = RawObject::new(&top);
        let fields =
            strategy::selectable_values(resource, |path| object.text(path).ok_or(())).ok()?;
        let resource_version = format!("\"{revision}\"");
        let mut meta_members: BTreeMap<&str, &[u8]> =
            meta.iter().map(|(k, v)| (*k, v.get().as_bytes())).collect();
        meta_members.insert("resourceVersion", resource_version.as_bytes());
        let mut metadata = Vec::new();
        push_object(&mut metadata, &meta_members);
        let mut members: BTreeMap<&str, &[u8]> = top
            .iter()
            .filter(|(k, _)| !matches!(**k, "apiVersion" | "kind"))
            .map(|(k, v)| (*k, v.get().as_bytes()))
            .collect();
        members.insert("metadata", &metadata);
        let json = with_scratch(|out| push_object(out, &members));
        Some(Self {
            key: key.into(),
            stored_as: resource,
            namespace: namespace.into(),
            revision,
            json,
            name: name.into(),
            labels_packed: pack(labels.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()])),
            fields_packed: pack(fields.iter().map(String::as_str)),
        })
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
        let fields = strategy::selectable_values_of(resource, object);
        let fields_packed = pack(fields.iter().map(String::as_str));
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
    let mut failed = false;
    let json = with_scratch(|buffer| failed = serde_json::to_writer(buffer, object).is_err());
    if failed {
        Bytes::from_static(b"{}")
    } else {
        json
    }
}

/// What `write` puts in a reused buffer, copied out at its exact length.
fn with_scratch(write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        let Ok(mut buffer) = scratch.try_borrow_mut() else {
            let mut own = Vec::new();
            write(&mut own);
            return Bytes::from(own);
        };
        buffer.clear();
        write(&mut buffer);
        let out = Bytes::copy_from_slice(&buffer);
        // Keep a modest scratch buffer, not the largest object ever seen.
        if buffer.capacity() > 1 << 20 {
            *buffer = Vec::new();
        }
        out
    })
}

/// Writes a JSON object of `members` (names read without escapes, so
/// they need none; values as raw JSON text), in their order.
fn push_object(out: &mut Vec<u8>, members: &BTreeMap<&str, &[u8]>) {
    out.push(b'{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(value);
    }
    out.push(b'}');
}

/// An object read as raw members, whose member objects are read (once
/// each) when a dotted path goes through them.
struct RawObject<'a> {
    top: &'a BTreeMap<&'a str, &'a RawValue>,
    /// Member objects already read, by the address of their text (`None`:
    /// not readable as raw members).
    read: HashMap<usize, Option<BTreeMap<&'a str, &'a RawValue>>>,
}

impl<'a> RawObject<'a> {
    fn new(top: &'a BTreeMap<&'a str, &'a RawValue>) -> Self {
        Self {
            top,
            read: HashMap::new(),
        }
    }

    /// The field-selector text at dotted `path`: empty when absent or
    /// reached through a non-object; `None` when an object on the way
    /// cannot be read as raw members.
    fn text(&mut self, path: &str) -> Option<String> {
        let mut at: Option<&'a RawValue> = None;
        for segment in path.split('.') {
            let members = match at {
                None => self.top,
                Some(raw) if raw.get().starts_with('{') => self
                    .read
                    .entry(raw.get().as_ptr() as usize)
                    .or_insert_with(|| serde_json::from_str(raw.get()).ok())
                    .as_ref()?,
                Some(_) => return Some(String::new()),
            };
            match members.get(segment) {
                Some(&next) => at = Some(next),
                None => return Some(String::new()),
            }
        }
        let value: Value = serde_json::from_str(at?.get()).ok()?;
        Some(strategy::text(Some(&value)))
    }
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

    /// The entry built from raw members equals the one built by decoding.
    fn same_both_ways(plural: &str, object: Value) {
        let resource = bosun_types::resources::find_by_plural(
            if plural == "nodes" || plural == "pods" || plural == "events" {
                ""
            } else {
                "apps"
            },
            "v1",
            plural,
        )
        .expect("a resource");
        let stored = codec::encode(&object).expect("encodes");
        let fast = Entry::from_stored(resource, b"/k", &stored, 42).expect("read raw");
        let mut decoded = codec::decode_at(&stored, 42).expect("decodes");
        let slow = Entry::from_value(resource, b"/k", &mut decoded, 42);
        assert_eq!(fast.json, slow.json, "{plural}");
        assert_eq!(fast.name, slow.name);
        assert_eq!(fast.namespace, slow.namespace);
        assert_eq!(fast.labels_packed, slow.labels_packed);
        assert_eq!(fast.fields_packed, slow.fields_packed);
    }

    #[test]
    fn raw_reading_gives_what_decoding_gives() {
        same_both_ways(
            "pods",
            serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "1", "z": "é\"q"},
                    "annotations": {"x": "{\"y\": [1, 2.5, -3e5]}"}, "uid": "u", "zz": null},
                "spec": {"nodeName": "n1", "hostNetwork": true, "containers": [{"name": "c", "image": "i"}]},
                "status": {"phase": "Running", "podIP": "10.0.0.1"}
            }),
        );
        same_both_ways("pods", serde_json::json!({"metadata": {"name": "bare"}}));
        same_both_ways(
            "pods",
            serde_json::json!({"metadata": {"name": "p"}, "spec": "odd", "status": {"phase": 3}}),
        );
        same_both_ways(
            "nodes",
            serde_json::json!({"metadata": {"name": "n", "resourceVersion": "7"}, "spec": {}}),
        );
        same_both_ways(
            "events",
            serde_json::json!({"metadata": {"name": "e", "namespace": "d"},
                "source": {"component": "kubelet"}, "involvedObject": {"kind": "Pod", "name": "p"},
                "reason": "Started", "count": 2}),
        );
        same_both_ways(
            "replicasets",
            serde_json::json!({"metadata": {"name": "r", "namespace": "d"}, "status": {"replicas": 3}}),
        );
    }

    #[test]
    fn unusual_objects_take_the_decoding_path() {
        let pods = bosun_types::resources::find_by_plural("", "v1", "pods").expect("pods");
        for stored in [
            &br#"{"metadata":{"name":"p","labels":{"a":1}}}"#[..],
            br#"{"metadata":{"na\u006de":"p"}}"#,
            br#"{"spec":{}}"#,
            br#"[1]"#,
        ] {
            assert!(Entry::from_stored(pods, b"/k", stored, 1).is_none());
        }
        let entry = Entry::new(
            pods,
            b"/k",
            br#"{"metadata":{"name":"p","labels":{"a":1}}}"#,
            3,
        )
        .expect("decodes");
        assert_eq!(
            &entry.json[..],
            br#"{"metadata":{"labels":{"a":1},"name":"p","resourceVersion":"3"}}"#
        );
        assert!(entry.labels().is_empty());
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
