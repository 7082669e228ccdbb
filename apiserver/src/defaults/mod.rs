//! Upstream Kubernetes API defaulting, applied to objects in their JSON wire
//! form.
//!
//! This mirrors what kube-apiserver 1.33 does when it decodes a request body:
//! the hand-written `SetDefaults_*` functions of `pkg/apis/<group>/<version>/defaults.go`
//! plus the `+default=` markers of `k8s.io/api` types, walked through every
//! nested type the way the generated `zz_generated.defaults.go` files do.
//! Feature gates are taken at their 1.33 default state.
//!
//! Rules shared by every group:
//! * a field counts as unset when it is absent or `null`; for fields that are
//!   plain (non-pointer) strings or integers upstream, the empty string / `0`
//!   also counts as unset, exactly as the Go zero value would;
//! * a field of the wrong JSON type is left untouched (validation rejects it
//!   later), and nothing below it is defaulted;
//! * defaulting is idempotent.
//!
//! Beyond strict defaulting, two wire-visible effects of upstream's v1
//! conversion are reproduced: the deprecated pod `serviceAccount` alias is kept
//! equal to `serviceAccountName`, and an autoscaling/v1 HPA without a CPU target
//! (and without other metrics in its annotation) shows 80%. Containers also get
//! `resources: {}` when absent, because upstream always serialises that struct.
//!
//! Not done here (left to the caller, see each item's docs): anything the
//! registries or admission plugins compute from cluster state or time (Service
//! IP / node-port allocation and `ipFamilies`/`ipFamilyPolicy`, Job selector
//! generation, Pod priority / service account / default tolerations, status
//! resets, `metadata.generation`, name generation), and the milli-scale rounding
//! of resource quantities. (Pod priority, default tolerations and a claim's
//! default StorageClass are [`crate::admission`]'s.)
//!
//! Upstream defaults at decode time, i.e. *before* `PrepareForCreate` resets
//! status, and again whenever it reads an object back from storage. A caller
//! that resets status (or generates names/selectors) should therefore default
//! after doing so, or default on read, to get the same wire result (e.g. a
//! PVC's `status.phase: Pending`).

mod admission;
mod apps;
mod autoscaling;
mod batch;
mod core;
mod image;
mod networking;
mod other;
mod pod;
mod rbac;
mod storage;

use serde_json::{Map, Value};

/// Applies upstream's defaults for `group`/`version`/`kind` ("" group for core) to `object` (the full object JSON, apiVersion/kind/metadata/spec/...), in place. Idempotent: defaulting twice equals defaulting once.
///
/// Kinds ending in `List` have every element of `items` defaulted as the item
/// kind. Unknown group/version/kind combinations, and objects that are not
/// JSON objects, are left unchanged.
pub fn apply_defaults(group: &str, version: &str, kind: &str, object: &mut Value) {
    let Some(obj) = object.as_object_mut() else {
        return;
    };
    if let Some(item_kind) = kind.strip_suffix("List") {
        if let Some(items) = array(obj, "items") {
            for item in items.iter_mut() {
                apply_defaults(group, version, item_kind, item);
            }
        }
        return;
    }
    match (group, version) {
        ("", "v1") => core::apply(kind, obj),
        ("apps", "v1") => apps::apply(kind, obj),
        ("batch", "v1") => batch::apply(kind, obj),
        ("autoscaling", "v1") => autoscaling::apply_v1(kind, obj),
        ("autoscaling", "v2") => autoscaling::apply_v2(kind, obj),
        ("rbac.authorization.k8s.io", "v1") => rbac::apply(kind, obj),
        ("storage.k8s.io", "v1") => storage::apply(kind, obj),
        ("networking.k8s.io", "v1") => networking::apply(kind, obj),
        ("discovery.k8s.io", "v1") => networking::apply_discovery(kind, obj),
        ("admissionregistration.k8s.io", "v1") => admission::apply(kind, obj),
        ("scheduling.k8s.io", "v1") => other::apply_scheduling(kind, obj),
        ("flowcontrol.apiserver.k8s.io", "v1") => other::apply_flowcontrol(kind, obj),
        ("apiextensions.k8s.io", "v1") => other::apply_apiextensions(kind, obj),
        ("apiregistration.k8s.io", "v1") => other::apply_apiregistration(kind, obj),
        _ => {}
    }
}

/// Applies the create-only defaults that upstream's registry strategies set in
/// `PrepareForCreate` and that must *not* be re-applied on update or read
/// (so they cannot live in [`apply_defaults`]).
///
/// Currently: a Namespace gets the `kubernetes` finalizer appended to
/// `spec.finalizers` (the namespace controller removes it during deletion, so
/// re-adding it later would wedge deletion). Call this on create, in addition to
/// [`apply_defaults`]. Status resets, generation, and name generation remain
/// the caller's job.
pub fn apply_create_defaults(group: &str, version: &str, kind: &str, object: &mut Value) {
    let Some(obj) = object.as_object_mut() else {
        return;
    };
    if let ("", "v1", "Namespace") = (group, version, kind) {
        core::namespace_create(obj);
    }
}

// ---------------------------------------------------------------------------
// JSON helpers shared by the group files. A "map" below is a JSON object.

/// True when `key` is absent from `map` or is `null` (Go: nil pointer/zero).
fn is_unset(map: &Map<String, Value>, key: &str) -> bool {
    matches!(map.get(key), None | Some(Value::Null))
}

/// Pointer-field default: sets `key` to `value` when absent or `null`.
fn default_value(map: &mut Map<String, Value>, key: &str, value: Value) {
    if is_unset(map, key) {
        map.insert(key.to_owned(), value);
    }
}

/// Plain-string default: sets `key` when absent, `null` or `""`. A value of
/// another type is left alone.
fn default_str(map: &mut Map<String, Value>, key: &str, value: &str) {
    if is_unset(map, key) || str_of(map, key) == Some("") {
        map.insert(key.to_owned(), Value::from(value));
    }
}

/// Plain-integer default: sets `key` when absent, `null` or `0`. A value of
/// another type is left alone.
fn default_int_if_zero(map: &mut Map<String, Value>, key: &str, value: i64) {
    let zero = match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(_) => false,
    };
    if zero {
        map.insert(key.to_owned(), Value::from(value));
    }
}

/// The string stored at `key`, if it is a string.
fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// Go's `field == ""` for a plain string field: absent, `null` or `""`.
/// A value of another type is not considered empty.
fn str_is_empty(map: &Map<String, Value>, key: &str) -> bool {
    is_unset(map, key) || str_of(map, key) == Some("")
}

/// The object stored at `key`, if it is an object.
fn child<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// The object stored at `key`, inserting `{}` first when absent or `null`.
/// `None` when the value has another type.
fn child_or_insert<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    if is_unset(map, key) {
        map.insert(key.to_owned(), Value::Object(Map::new()));
    }
    child(map, key)
}

/// The array stored at `key`, if it is an array.
fn array<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Vec<Value>> {
    map.get_mut(key).and_then(Value::as_array_mut)
}

/// Calls `f` on every object element of the array at `key` (non-object
/// elements are skipped).
fn for_each_obj(
    map: &mut Map<String, Value>,
    key: &str,
    mut f: impl FnMut(&mut Map<String, Value>),
) {
    if let Some(items) = array(map, key) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            f(item);
        }
    }
}

/// Go's `len(m) == 0` for a map field: absent, `null` or `{}`.
fn map_is_empty(map: &Map<String, Value>, key: &str) -> bool {
    match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(_) => false,
    }
}

/// Go's `len(s) == 0` for a slice field: absent, `null` or `[]`.
fn array_is_empty(map: &Map<String, Value>, key: &str) -> bool {
    match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_kinds_default_each_item() {
        let mut list = json!({
            "apiVersion": "v1",
            "kind": "SecretList",
            "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}, "type": "kubernetes.io/tls"}, 7]
        });
        apply_defaults("", "v1", "SecretList", &mut list);
        assert_eq!(list["items"][0]["type"], "Opaque");
        assert_eq!(list["items"][1]["type"], "kubernetes.io/tls");
        assert_eq!(list["items"][2], 7);
    }

    #[test]
    fn unknown_kinds_and_versions_are_left_unchanged() {
        let original = json!({"spec": {"replicas": null}});
        for (g, v, k) in [
            ("apps", "v1beta1", "Deployment"),
            ("example.com", "v1", "Widget"),
            ("", "v1", "Nope"),
        ] {
            let mut obj = original.clone();
            apply_defaults(g, v, k, &mut obj);
            assert_eq!(obj, original, "{g}/{v} {k}");
        }
    }

    #[test]
    fn non_object_values_do_not_panic() {
        for mut v in [json!(null), json!(3), json!("x"), json!([1, 2])] {
            let before = v.clone();
            apply_defaults("apps", "v1", "Deployment", &mut v);
            apply_create_defaults("", "v1", "Namespace", &mut v);
            assert_eq!(v, before);
        }
    }

    /// One representative, fairly complete object per defaulted kind.
    fn samples() -> Vec<(&'static str, &'static str, &'static str, Value)> {
        let pod_spec = json!({
            "hostNetwork": true,
            "serviceAccount": "sa",
            "containers": [{
                "name": "c", "image": "nginx",
                "ports": [{"containerPort": 80}],
                "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "resources": {"limits": {"cpu": "1"}},
                "livenessProbe": {"httpGet": {"port": 80}},
                "readinessProbe": {"grpc": {"port": 1}},
                "lifecycle": {"postStart": {"httpGet": {"port": 1}}}
            }],
            "initContainers": [{"name": "i", "image": "busybox:1.36"}],
            "ephemeralContainers": [{"name": "e", "image": "busybox"}],
            "volumes": [
                {"name": "a"},
                {"name": "b", "secret": {}},
                {"name": "c", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}, {"downwardAPI": {"items": [{"path": "p", "fieldRef": {}}]}}]}},
                {"name": "d", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                {"name": "e", "azureDisk": {}}, {"name": "f", "image": {"reference": "x:1"}}
            ]
        });
        let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": pod_spec.clone()});
        vec![
            (
                "",
                "v1",
                "Pod",
                json!({"metadata": {"name": "p"}, "spec": pod_spec}),
            ),
            (
                "",
                "v1",
                "PodTemplate",
                json!({"template": template.clone()}),
            ),
            (
                "",
                "v1",
                "ReplicationController",
                json!({"spec": {"template": template.clone()}}),
            ),
            (
                "",
                "v1",
                "Service",
                json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}}}),
            ),
            ("", "v1", "Namespace", json!({"metadata": {"name": "n"}})),
            ("", "v1", "Secret", json!({})),
            (
                "",
                "v1",
                "PersistentVolume",
                json!({"spec": {"rbd": {}, "iscsi": {}, "scaleIO": {}, "hostPath": {}}}),
            ),
            ("", "v1", "PersistentVolumeClaim", json!({"spec": {}})),
            (
                "",
                "v1",
                "Endpoints",
                json!({"subsets": [{"ports": [{"port": 1}]}]}),
            ),
            (
                "",
                "v1",
                "Node",
                json!({"status": {"capacity": {"cpu": "1"}}}),
            ),
            (
                "",
                "v1",
                "LimitRange",
                json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "1Mi"}}]}}),
            ),
            (
                "apps",
                "v1",
                "Deployment",
                json!({"spec": {"template": template.clone()}}),
            ),
            (
                "apps",
                "v1",
                "ReplicaSet",
                json!({"spec": {"template": template.clone()}}),
            ),
            (
                "apps",
                "v1",
                "DaemonSet",
                json!({"spec": {"template": template.clone()}}),
            ),
            (
                "apps",
                "v1",
                "StatefulSet",
                json!({"spec": {"template": template.clone(), "volumeClaimTemplates": [{"spec": {}}]}}),
            ),
            (
                "batch",
                "v1",
                "Job",
                json!({"spec": {"template": template.clone(), "podFailurePolicy": {"rules": [{"onPodConditions": [{}]}]}}}),
            ),
            (
                "batch",
                "v1",
                "CronJob",
                json!({"spec": {"jobTemplate": {"spec": {"template": template}}}}),
            ),
            (
                "autoscaling",
                "v1",
                "HorizontalPodAutoscaler",
                json!({"spec": {}}),
            ),
            (
                "autoscaling",
                "v2",
                "HorizontalPodAutoscaler",
                json!({"spec": {"behavior": {"scaleUp": {}}}}),
            ),
            (
                "rbac.authorization.k8s.io",
                "v1",
                "RoleBinding",
                json!({"roleRef": {}, "subjects": [{"kind": "User"}]}),
            ),
            ("storage.k8s.io", "v1", "StorageClass", json!({})),
            ("storage.k8s.io", "v1", "CSIDriver", json!({"spec": {}})),
            (
                "storage.k8s.io",
                "v1",
                "VolumeAttachment",
                json!({"spec": {"source": {"inlineVolumeSpec": {"azureDisk": {}}}}}),
            ),
            (
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                json!({"spec": {"egress": [{"ports": [{}]}]}}),
            ),
            (
                "networking.k8s.io",
                "v1",
                "IngressClass",
                json!({"spec": {"parameters": {}}}),
            ),
            (
                "discovery.k8s.io",
                "v1",
                "EndpointSlice",
                json!({"ports": [{}]}),
            ),
            (
                "admissionregistration.k8s.io",
                "v1",
                "MutatingWebhookConfiguration",
                json!({"webhooks": [{"rules": [{}], "clientConfig": {"service": {}}}]}),
            ),
            (
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingAdmissionPolicy",
                json!({"spec": {"matchConstraints": {"resourceRules": [{}]}}}),
            ),
            (
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingAdmissionPolicyBinding",
                json!({"spec": {"matchResources": {}}}),
            ),
            ("scheduling.k8s.io", "v1", "PriorityClass", json!({})),
            (
                "flowcontrol.apiserver.k8s.io",
                "v1",
                "FlowSchema",
                json!({"spec": {}}),
            ),
            (
                "flowcontrol.apiserver.k8s.io",
                "v1",
                "PriorityLevelConfiguration",
                json!({"spec": {"limited": {"limitResponse": {"queuing": {}}}, "exempt": {}}}),
            ),
            (
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                json!({"spec": {"names": {"kind": "W"}, "versions": [{"name": "v1", "storage": true}]}}),
            ),
            (
                "apiregistration.k8s.io",
                "v1",
                "APIService",
                json!({"spec": {"service": {}}}),
            ),
        ]
    }

    fn defaulted(g: &str, v: &str, k: &str, obj: &Value) -> Value {
        let mut out = obj.clone();
        apply_defaults(g, v, k, &mut out);
        out
    }

    #[test]
    fn defaulting_twice_equals_defaulting_once_for_every_kind() {
        for (g, v, k, obj) in samples() {
            let once = defaulted(g, v, k, &obj);
            assert_ne!(once, obj, "{g}/{v} {k} sample should change");
            assert_eq!(defaulted(g, v, k, &once), once, "{g}/{v} {k}");
        }
    }

    /// Every JSON pointer inside `v` (excluding the root).
    fn pointers(v: &Value, prefix: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(p.clone());
                    pointers(child, p, out);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    let p = format!("{prefix}/{i}");
                    out.push(p.clone());
                    pointers(child, p, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn wrong_typed_fields_anywhere_neither_panic_nor_break_idempotence() {
        let replacements = [
            json!(null),
            json!(0),
            json!(-1),
            json!(1.5),
            json!("x"),
            json!(""),
            json!(true),
            json!([]),
            json!({}),
            json!([1]),
            json!({"k": 1}),
        ];
        for (g, v, k, obj) in samples() {
            // Also mutate the defaulted form, so fields defaulting adds get covered.
            for base in [obj.clone(), defaulted(g, v, k, &obj)] {
                let mut paths = Vec::new();
                pointers(&base, String::new(), &mut paths);
                for path in &paths {
                    for replacement in &replacements {
                        let mut mutated = base.clone();
                        if let Some(slot) = mutated.pointer_mut(path) {
                            *slot = replacement.clone();
                        }
                        let once = defaulted(g, v, k, &mutated);
                        assert_eq!(
                            defaulted(g, v, k, &once),
                            once,
                            "{g}/{v} {k} with {path} = {replacement}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn int_default_treats_zero_and_null_as_unset_but_not_wrong_types() {
        let mut m = json!({"a": 0, "b": null, "c": "0", "d": 5, "e": 0.0})
            .as_object()
            .cloned()
            .unwrap_or_default();
        for k in ["a", "b", "c", "d", "e", "f"] {
            default_int_if_zero(&mut m, k, 9);
        }
        assert_eq!(
            Value::Object(m),
            json!({"a": 9, "b": 9, "c": "0", "d": 5, "e": 9, "f": 9})
        );
    }
}
