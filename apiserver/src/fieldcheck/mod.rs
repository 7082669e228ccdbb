//! Server-side field validation (`fieldValidation=Strict|Warn|Ignore`) for request bodies,
//! matching upstream kube-apiserver.
//!
//! Upstream decodes create (POST) and update (PUT) bodies with a strict JSON decoder
//! (`sigs.k8s.io/json` `UnmarshalStrict` into the kind's Go struct). It reports
//!
//! * **unknown fields**: keys the kind's schema does not have, e.g.
//!   `unknown field "spec.template.spec.containers[0].imagePullPolicyy"`;
//! * **duplicate fields**: a key repeated within one JSON object, e.g.
//!   `duplicate field "metadata.name"`;
//!
//! in document order, each path once, at most 100. Paths join keys with `.` and list
//! indices as `[i]`; map keys (labels, annotations, data, …) are path segments too. Nothing
//! under an unknown field or under a free-form field (`RawExtension` such as
//! `ControllerRevision.data`, `managedFields[*].fieldsV1`) is reported. Each error's text is
//! `unknown field <Go-quoted path>` / `duplicate field <Go-quoted path>`
//! ([`unknown_field_error`], [`duplicate_field_error`]).
//!
//! What the server does with them (k8s.io/apiserver `pkg/endpoints/handlers`, create.go and
//! update.go; an empty `fieldValidation` means `Warn`):
//!
//! * `Strict`: 400 BadRequest, message
//!   `<Kind> in version "<version>" cannot be handled as a <Kind>: strict decoding error: <e1>, <e2>`
//!   (the part after the colon is [`strict_decoding_message`]);
//! * `Warn`: the request proceeds; one `Warning: 299 - "<e>"` header per error (the text is
//!   exactly the error, e.g. `unknown field "spec.foo"`, quoted as an HTTP quoted-string);
//! * `Ignore`: nothing.
//!
//! A known field with a value of the wrong JSON type is a decode error under every directive
//! and wins over strict errors: 400 BadRequest
//! `<Kind> in version "<version>" cannot be handled as a <Kind>: <decode error>` (see
//! [`prune_unknown`]).
//!
//! Kinds outside the built-in list below have no schema here: no unknown fields, object
//! unchanged; repeated keys are still found (upstream decodes such objects as untyped maps).
//!
//! Patches (patch.go), under `Strict`/`Warn`: repeated keys in a merge or strategic-merge
//! patch document are strict errors ([`duplicate_fields`] on the patch body), and unknown
//! fields are looked for in the *patched* object ([`unknown_fields`]); the patch's errors
//! come first. A JSON patch (`json-patch+json`) is itself checked as a list of
//! `{op, path, from, value}` and its errors are prefixed `json patch ` (e.g.
//! `json patch duplicate field "[0].op"`). `Warn` sends the same warnings; `Strict` fails with
//! 422 Invalid, not 400: ` "" is invalid: patch: Invalid value: "<patched object or patch>":
//! strict decoding error: …`. Server-side apply reports only repeated keys this way (400
//! `error strict decoding patch: …`); its unknown fields fail under every directive in the
//! field manager (`.spec.foo: field not declared in schema`).

mod gocompat;
mod gotypes;
mod rawjson;
mod schema;
mod walk;

use std::sync::OnceLock;

use serde_json::Value;

use schema::{Builder, Schema, Ty};
use walk::{Options, Strict};

macro_rules! builtin_kinds {
    ($($group:literal, $version:literal, $kind:literal => $ty:ty;)*) => {
        fn build_schema() -> Schema {
            let mut builder = Builder::default();
            $( builder.add::<$ty>($group, $version, $kind); )*
            builder.finish()
        }

        #[cfg(test)]
        const BUILTIN_KINDS: &[(&str, &str, &str)] = &[$(($group, $version, $kind)),*];
    };
}

builtin_kinds! {
    "", "v1", "Namespace" => k8s_openapi::api::core::v1::Namespace;
    "", "v1", "Pod" => k8s_openapi::api::core::v1::Pod;
    "", "v1", "Node" => k8s_openapi::api::core::v1::Node;
    "", "v1", "Service" => k8s_openapi::api::core::v1::Service;
    "", "v1", "Endpoints" => k8s_openapi::api::core::v1::Endpoints;
    "", "v1", "ConfigMap" => k8s_openapi::api::core::v1::ConfigMap;
    "", "v1", "Secret" => k8s_openapi::api::core::v1::Secret;
    "", "v1", "ServiceAccount" => k8s_openapi::api::core::v1::ServiceAccount;
    "", "v1", "Event" => k8s_openapi::api::core::v1::Event;
    "", "v1", "PersistentVolume" => k8s_openapi::api::core::v1::PersistentVolume;
    "", "v1", "PersistentVolumeClaim" => k8s_openapi::api::core::v1::PersistentVolumeClaim;
    "", "v1", "ReplicationController" => k8s_openapi::api::core::v1::ReplicationController;
    "", "v1", "ResourceQuota" => k8s_openapi::api::core::v1::ResourceQuota;
    "", "v1", "LimitRange" => k8s_openapi::api::core::v1::LimitRange;
    "", "v1", "PodTemplate" => k8s_openapi::api::core::v1::PodTemplate;
    "", "v1", "Binding" => k8s_openapi::api::core::v1::Binding;
    "autoscaling", "v1", "HorizontalPodAutoscaler" => k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler;
    "autoscaling", "v1", "Scale" => k8s_openapi::api::autoscaling::v1::Scale;
    "autoscaling", "v2", "HorizontalPodAutoscaler" => k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    "apps", "v1", "Deployment" => k8s_openapi::api::apps::v1::Deployment;
    "apps", "v1", "ReplicaSet" => k8s_openapi::api::apps::v1::ReplicaSet;
    "apps", "v1", "DaemonSet" => k8s_openapi::api::apps::v1::DaemonSet;
    "apps", "v1", "StatefulSet" => k8s_openapi::api::apps::v1::StatefulSet;
    "apps", "v1", "ControllerRevision" => k8s_openapi::api::apps::v1::ControllerRevision;
    "batch", "v1", "Job" => k8s_openapi::api::batch::v1::Job;
    "batch", "v1", "CronJob" => k8s_openapi::api::batch::v1::CronJob;
    "coordination.k8s.io", "v1", "Lease" => k8s_openapi::api::coordination::v1::Lease;
    "events.k8s.io", "v1", "Event" => k8s_openapi::api::events::v1::Event;
    "discovery.k8s.io", "v1", "EndpointSlice" => k8s_openapi::api::discovery::v1::EndpointSlice;
    "networking.k8s.io", "v1", "Ingress" => k8s_openapi::api::networking::v1::Ingress;
    "networking.k8s.io", "v1", "IngressClass" => k8s_openapi::api::networking::v1::IngressClass;
    "networking.k8s.io", "v1", "NetworkPolicy" => k8s_openapi::api::networking::v1::NetworkPolicy;
    "policy", "v1", "PodDisruptionBudget" => k8s_openapi::api::policy::v1::PodDisruptionBudget;
    "policy", "v1", "Eviction" => k8s_openapi::api::policy::v1::Eviction;
    "scheduling.k8s.io", "v1", "PriorityClass" => k8s_openapi::api::scheduling::v1::PriorityClass;
    "rbac.authorization.k8s.io", "v1", "Role" => k8s_openapi::api::rbac::v1::Role;
    "rbac.authorization.k8s.io", "v1", "RoleBinding" => k8s_openapi::api::rbac::v1::RoleBinding;
    "rbac.authorization.k8s.io", "v1", "ClusterRole" => k8s_openapi::api::rbac::v1::ClusterRole;
    "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding" => k8s_openapi::api::rbac::v1::ClusterRoleBinding;
    "storage.k8s.io", "v1", "StorageClass" => k8s_openapi::api::storage::v1::StorageClass;
}

/// The schema of every built-in kind, built on first use (a few milliseconds, once).
fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(build_schema)
}

/// Builds the schemas now rather than on the first request (optional; call at startup).
pub fn warm_up() {
    schema();
}

/// The root type of a kind: its struct, or untyped JSON for kinds without a schema.
fn root_ty(group: &str, version: &str, kind: &str) -> Option<Ty> {
    schema().root(group, version, kind).map(Ty::Struct)
}

/// Fields of a JSON body that the kind's schema does not have, as upstream's paths (e.g.
/// `spec.template.spec.containers[0].imagePullPolicyy`), in document order.
///
/// `serde_json::Value` objects iterate in key order (no `preserve_order`), so that is the
/// order here; [`strict_decode`] on the raw body gives upstream's exact order. Each path
/// appears once, at most 100 are returned. Unknown kinds have no unknown fields. Values of
/// the wrong JSON type are not descended into (see [`prune_unknown`] for that error).
#[must_use]
pub fn unknown_fields(group: &str, version: &str, kind: &str, object: &Value) -> Vec<String> {
    let Some(ty) = root_ty(group, version, kind) else {
        return Vec::new();
    };
    let opts = Options {
        unknown: true,
        duplicates: false,
        build: false,
        keep_going: true,
    };
    walk::walk(schema(), &ty, object, opts)
        .strict
        .into_iter()
        .map(|(_, path)| path)
        .collect()
}

/// Keys that appear twice in the same JSON object of the raw body, as upstream's paths (e.g.
/// `metadata.name`, `spec.containers[0].env[1].name`), in document order.
///
/// Invalid JSON (including invalid UTF-8 or nesting deeper than 512) gives an empty vec; the
/// caller reports parse errors separately. Each path appears once, at most 100 are returned.
/// This looks at every object in the body; upstream skips what is under unknown fields and
/// free-form fields of built-in kinds, which [`strict_decode`] does too.
#[must_use]
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    let Some(node) = rawjson::parse(body) else {
        return Vec::new();
    };
    let opts = Options {
        unknown: false,
        duplicates: true,
        build: false,
        keep_going: true,
    };
    walk::walk(schema(), &Ty::Any, &node, opts)
        .strict
        .into_iter()
        .map(|(_, path)| path)
        .collect()
}

/// Normalizes an object through the kind's typed schema: returns the object with unknown
/// fields removed and every known value kept exactly (no defaults added, nothing
/// reformatted; `null` values are kept), or upstream's decode error when a known field has a
/// value it cannot decode. Respond to an error with 400 BadRequest,
/// `<Kind> in version "<version>" cannot be handled as a <Kind>: <error>`.
///
/// Error texts, as upstream's decoder produces them:
/// * wrong JSON type: `json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`
///   (the Go struct holding the field, then the JSON field names from the root without list
///   indices or map keys, then the Go type; a number that does not fit an integer field reads
///   `number 1.5`; outside any field: `… into Go value of type v1.Pod`);
/// * bad quantity: `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`
///   (or `unable to parse quantity's suffix`);
/// * bad timestamp: `parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"`;
/// * bad base64 in `Secret.data`/`ConfigMap.binaryData`: `illegal base64 data at input byte 4`.
///
/// Unknown kinds come back unchanged. An array of byte values given for a `[]byte` field is
/// returned as its base64 string, as upstream stores it.
///
/// # Errors
///
/// Upstream's decode error text when a known field's value cannot be decoded.
pub fn prune_unknown(
    group: &str,
    version: &str,
    kind: &str,
    object: &Value,
) -> Result<Value, String> {
    let Some(ty) = root_ty(group, version, kind) else {
        return Ok(object.clone());
    };
    let opts = Options {
        unknown: false,
        duplicates: false,
        build: true,
        keep_going: false,
    };
    let outcome = walk::walk(schema(), &ty, object, opts);
    match (outcome.error, outcome.value) {
        (Some(error), _) => Err(error),
        (None, Some(value)) => Ok(value),
        (None, None) => Ok(object.clone()),
    }
}

/// A create/update body decoded the way upstream's strict decoder does it.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictDecode {
    /// The object without unknown fields (as [`prune_unknown`] returns it). Where a key is
    /// repeated, later members are decoded over earlier ones like Go does: struct and map
    /// values merge, list elements merge index by index, anything else is replaced.
    pub object: Value,
    /// Unknown and duplicate field errors in upstream's order and wording
    /// (`unknown field "spec.foo"`, `duplicate field "metadata.name"`), deduplicated, at most
    /// 100: one `Warning` header each under `Warn`, [`strict_decoding_message`] under `Strict`.
    pub errors: Vec<String>,
}

/// Why [`strict_decode`] could not decode a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not one valid JSON document (or nested deeper than 512); report the parse error.
    InvalidJson,
    /// Upstream's decode error (wrong JSON type, bad quantity, …; see [`prune_unknown`]),
    /// for a 400 BadRequest under every field validation directive.
    Invalid(String),
}

/// Decodes a raw JSON create/update body for `group/version/kind` in one pass, finding
/// unknown and duplicate fields exactly as upstream does (interleaved in document order,
/// nothing reported under unknown or free-form fields) and the pruned object.
///
/// Kinds without a schema decode as untyped JSON: every repeated key is reported, the object
/// is returned whole (the later of repeated keys wins).
///
/// # Errors
///
/// [`DecodeError::InvalidJson`] for a body that is not one JSON document,
/// [`DecodeError::Invalid`] with upstream's decode error text otherwise.
pub fn strict_decode(
    group: &str,
    version: &str,
    kind: &str,
    body: &[u8],
) -> Result<StrictDecode, DecodeError> {
    let node = rawjson::parse(body).ok_or(DecodeError::InvalidJson)?;
    let ty = root_ty(group, version, kind).unwrap_or(Ty::Any);
    let opts = Options {
        unknown: true,
        duplicates: true,
        build: true,
        keep_going: false,
    };
    let outcome = walk::walk(schema(), &ty, &node, opts);
    if let Some(error) = outcome.error {
        return Err(DecodeError::Invalid(error));
    }
    let object = outcome.value.unwrap_or_else(|| walk::Node::to_value(&node));
    let errors = outcome
        .strict
        .into_iter()
        .map(|(kind, path)| kind.message(&path))
        .collect();
    Ok(StrictDecode { object, errors })
}

/// Upstream's text for an unknown field at `path`: `unknown field "spec.foo"` (the path
/// quoted like Go's `strconv.Quote`).
#[must_use]
pub fn unknown_field_error(path: &str) -> String {
    Strict::Unknown.message(path)
}

/// Upstream's text for a repeated key at `path`: `duplicate field "metadata.name"`.
#[must_use]
pub fn duplicate_field_error(path: &str) -> String {
    Strict::Duplicate.message(path)
}

/// Upstream's `strict decoding error: <e1>, <e2>, …` for strict errors as
/// [`unknown_field_error`] / [`duplicate_field_error`] / [`StrictDecode::errors`] give them.
#[must_use]
pub fn strict_decoding_message(errors: &[String]) -> String {
    format!("strict decoding error: {}", errors.join(", "))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use serde_json::json;

    fn deployment(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec})
    }

    fn pod(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
    }

    fn decode(
        group: &str,
        version: &str,
        kind: &str,
        body: &str,
    ) -> Result<StrictDecode, DecodeError> {
        strict_decode(group, version, kind, body.as_bytes())
    }

    #[test]
    fn every_builtin_kind_has_a_schema() {
        for (g, v, k) in BUILTIN_KINDS {
            assert!(schema().root(g, v, k).is_some(), "{g}/{v} {k}");
        }
    }

    #[test]
    fn top_level_unknown_field_is_reported() {
        let obj =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "foo": 1});
        assert_eq!(unknown_fields("", "v1", "ConfigMap", &obj), ["foo"]);
    }

    #[test]
    fn unknown_field_in_list_item_path_has_the_index() {
        let obj = deployment(json!({"template": {"spec": {"containers": [
            {"name": "a", "image": "nginx"},
            {"name": "b", "image": "nginx", "imagePullPolicyy": "Always"}
        ]}}}));
        assert_eq!(
            unknown_fields("apps", "v1", "Deployment", &obj),
            ["spec.template.spec.containers[1].imagePullPolicyy"]
        );
    }

    #[test]
    fn keys_of_map_typed_fields_are_never_unknown() {
        let obj = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"anything.example/x": "1"}, "annotations": {"whatever": "y"}},
            "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "i",
                "resources": {"limits": {"cpu": "1", "example.com/gpu": "2"}}}]}
        });
        assert!(unknown_fields("", "v1", "Pod", &obj).is_empty());
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"spec": "x", "foo": "y"}});
        assert!(unknown_fields("", "v1", "ConfigMap", &cm).is_empty());
    }

    #[test]
    fn several_unknown_fields_come_in_key_order_for_values_and_document_order_for_bodies() {
        let body = r#"{"apiVersion":"apps/v1","kind":"Deployment","zeta":1,"metadata":{"name":"w","bogus":true},
            "spec":{"replicass":2,"template":{"spec":{"containers":[{"name":"a","image":"i","foo":1}]}}},"alpha":2}"#;
        let value: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            unknown_fields("apps", "v1", "Deployment", &value),
            [
                "alpha",
                "metadata.bogus",
                "spec.replicass",
                "spec.template.spec.containers[0].foo",
                "zeta"
            ]
        );
        let decoded = decode("apps", "v1", "Deployment", body).unwrap();
        assert_eq!(
            decoded.errors,
            [
                r#"unknown field "zeta""#,
                r#"unknown field "metadata.bogus""#,
                r#"unknown field "spec.replicass""#,
                r#"unknown field "spec.template.spec.containers[0].foo""#,
                r#"unknown field "alpha""#,
            ]
        );
    }

    #[test]
    fn nothing_under_an_unknown_field_is_reported() {
        let obj = deployment(json!({"strategyy": {"type": "Recreate", "nested": {"more": 1}}}));
        assert_eq!(
            unknown_fields("apps", "v1", "Deployment", &obj),
            ["spec.strategyy"]
        );
        let body = r#"{"kind":"Deployment","spec":{"extra":{"a":1,"a":2}}}"#;
        assert_eq!(
            decode("apps", "v1", "Deployment", body).unwrap().errors,
            [r#"unknown field "spec.extra""#]
        );
    }

    #[test]
    fn null_values_of_known_fields_are_not_reported_but_unknown_keys_with_null_are() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "w", "creationTimestamp": null, "labels": null},
            "spec": {"replicas": null, "selector": null, "template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": null}}},
            "status": {}});
        assert!(unknown_fields("apps", "v1", "Deployment", &obj).is_empty());
        assert_eq!(
            prune_unknown("apps", "v1", "Deployment", &obj),
            Ok(obj.clone())
        );
        // Upstream checks the key before looking at the value.
        let obj = deployment(json!({"paused": false, "foo": null}));
        assert_eq!(
            unknown_fields("apps", "v1", "Deployment", &obj),
            ["spec.foo"]
        );
    }

    #[test]
    fn empty_objects_and_lists_are_not_unknown_but_unknown_keys_holding_them_are() {
        let obj = pod(
            json!({"containers": [], "volumes": [], "securityContext": {}, "bogus": {}, "bogus2": []}),
        );
        assert_eq!(
            unknown_fields("", "v1", "Pod", &obj),
            ["spec.bogus", "spec.bogus2"]
        );
    }

    #[test]
    fn free_form_fields_are_not_looked_into() {
        let rev = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r",
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}, "anything": 1}}]},
            "revision": 1, "data": {"spec": {"template": {"whatever": true}}, "x": [1, {"y": 2}]}});
        assert!(unknown_fields("apps", "v1", "ControllerRevision", &rev).is_empty());
        assert_eq!(
            prune_unknown("apps", "v1", "ControllerRevision", &rev),
            Ok(rev.clone())
        );
        let body = r#"{"kind":"ControllerRevision","revision":1,"data":{"a":1,"a":2},"metadata":{"managedFields":[{"fieldsV1":{"f:x":{},"f:x":{}}}]}}"#;
        assert!(
            decode("apps", "v1", "ControllerRevision", body)
                .unwrap()
                .errors
                .is_empty()
        );
    }

    #[test]
    fn int_or_string_and_quantities_accept_both_json_forms() {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]}});
        assert_eq!(prune_unknown("", "v1", "Service", &svc), Ok(svc.clone()));
        let p = pod(json!({"containers": [{"name": "c", "image": "i",
            "resources": {"limits": {"cpu": 1, "memory": "1.50Gi"}, "requests": {"cpu": "100m"}}}]}));
        assert_eq!(prune_unknown("", "v1", "Pod", &p), Ok(p.clone()));
    }

    #[test]
    fn unknown_kinds_pass_through_unchanged() {
        let obj =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"anything": [1, 2]}});
        assert!(unknown_fields("example.com", "v1", "Widget", &obj).is_empty());
        assert_eq!(
            prune_unknown("example.com", "v1", "Widget", &obj),
            Ok(obj.clone())
        );
        assert!(unknown_fields("apps", "v2", "Deployment", &obj).is_empty());
        let decoded = decode(
            "example.com",
            "v1",
            "Widget",
            r#"{"kind":"Widget","spec":{"a":1,"a":2}}"#,
        )
        .unwrap();
        assert_eq!(decoded.errors, [r#"duplicate field "spec.a""#]);
        assert_eq!(decoded.object, json!({"kind": "Widget", "spec": {"a": 2}}));
    }

    #[test]
    fn prune_unknown_removes_unknown_fields_and_keeps_known_values_verbatim() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "bogus": 1,
            "metadata": {"name": "w", "creationTimestamp": "2024-01-02T03:04:05.5+01:00", "labels": {"a": "b"}},
            "spec": {"replicas": 3, "typo": "x", "template": {"spec": {"containers": [
                {"name": "c", "image": "i", "foo": {"bar": 1}, "resources": {"limits": {"memory": "0.5Gi"}},
                 "ports": [{"containerPort": 80, "protocoll": "TCP"}]}]}}}});
        let expected = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "w", "creationTimestamp": "2024-01-02T03:04:05.5+01:00", "labels": {"a": "b"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [
                {"name": "c", "image": "i", "resources": {"limits": {"memory": "0.5Gi"}},
                 "ports": [{"containerPort": 80}]}]}}}});
        assert_eq!(
            prune_unknown("apps", "v1", "Deployment", &obj),
            Ok(expected)
        );
    }

    #[test]
    fn byte_arrays_for_bytes_fields_become_base64_like_upstream_stores_them() {
        let secret =
            json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "aGk=", "b": [104, 105]}});
        let pruned = prune_unknown("", "v1", "Secret", &secret).unwrap();
        assert_eq!(pruned["data"], json!({"a": "aGk=", "b": "aGk="}));
    }

    #[test]
    fn wrong_json_type_for_a_list_field_uses_go_unmarshal_wording() {
        let obj = deployment(json!({"template": {"spec": {"containers": "nginx"}}}));
        assert_eq!(
            prune_unknown("apps", "v1", "Deployment", &obj),
            Err("json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container".to_owned())
        );
    }

    #[test]
    fn wrong_json_types_name_the_innermost_struct_and_the_field_names_from_the_root() {
        let cases = [
            (
                deployment(json!({"replicas": "3"})),
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
            ),
            (
                deployment(json!({"replicas": 1.5})),
                "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32",
            ),
            (
                deployment(json!({"replicas": 3_000_000_000_u64})),
                "json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32",
            ),
            (
                deployment(json!("oops")),
                "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec",
            ),
            (
                deployment(
                    json!({"template": {"spec": {"containers": [{"name": "c", "image": 5}]}}}),
                ),
                "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.image of type string",
            ),
            (
                deployment(
                    json!({"template": {"spec": {"containers": [{"name": "c", "args": ["a", true]}]}}}),
                ),
                "json: cannot unmarshal bool into Go struct field Container.spec.template.spec.containers.args of type string",
            ),
            (
                deployment(json!({"template": {"spec": {"containers": ["nginx"]}}})),
                "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.containers of type v1.Container",
            ),
            (
                json!({"kind": "Deployment", "metadata": {"labels": {"a": 1}}}),
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
            ),
            (
                json!({"kind": "Deployment", "metadata": {"labels": ["a"]}}),
                "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string",
            ),
            (
                json!(["not", "an", "object"]),
                "json: cannot unmarshal array into Go value of type v1.Deployment",
            ),
        ];
        for (obj, expected) in cases {
            assert_eq!(
                prune_unknown("apps", "v1", "Deployment", &obj),
                Err(expected.to_owned()),
                "{obj}"
            );
        }
    }

    #[test]
    fn type_errors_print_go_named_types() {
        let container = |c: Value| pod(json!({"containers": [c]}));
        let cases = [
            (
                container(json!({"name": "c", "imagePullPolicy": 1})),
                "json: cannot unmarshal number into Go struct field Container.spec.containers.imagePullPolicy of type v1.PullPolicy",
            ),
            (
                container(json!({"name": "c", "resources": {"limits": "1"}})),
                "json: cannot unmarshal string into Go struct field ResourceRequirements.spec.containers.resources.limits of type v1.ResourceList",
            ),
            (
                container(
                    json!({"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN", 7]}}}),
                ),
                "json: cannot unmarshal number into Go struct field Capabilities.spec.containers.securityContext.capabilities.add of type v1.Capability",
            ),
            (
                container(
                    json!({"name": "c", "ports": [{"containerPort": 80, "protocol": false}]}),
                ),
                "json: cannot unmarshal bool into Go struct field ContainerPort.spec.containers.ports.protocol of type v1.Protocol",
            ),
            (
                json!({"kind": "Pod", "metadata": {"uid": 5}}),
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.uid of type types.UID",
            ),
        ];
        for (obj, expected) in cases {
            assert_eq!(
                prune_unknown("", "v1", "Pod", &obj),
                Err(expected.to_owned()),
                "{obj}"
            );
        }
    }

    #[test]
    fn custom_unmarshaler_errors_use_their_own_wording() {
        let svc = json!({"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": true}]}});
        assert_eq!(
            prune_unknown("", "v1", "Service", &svc),
            Err("json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32".to_owned())
        );
        let p =
            pod(json!({"containers": [{"name": "c", "resources": {"limits": {"cpu": "lots"}}}]}));
        assert_eq!(
            prune_unknown("", "v1", "Pod", &p),
            Err("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".to_owned())
        );
        let cm = json!({"kind": "ConfigMap", "metadata": {"creationTimestamp": "yesterday"}});
        assert_eq!(
            prune_unknown("", "v1", "ConfigMap", &cm),
            Err("parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\"".to_owned())
        );
        let cm = json!({"kind": "ConfigMap", "metadata": {"creationTimestamp": 5}});
        assert_eq!(
            prune_unknown("", "v1", "ConfigMap", &cm),
            Err("json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string".to_owned())
        );
        let secret = json!({"kind": "Secret", "data": {"k": "not base64!"}});
        assert_eq!(
            prune_unknown("", "v1", "Secret", &secret),
            Err("illegal base64 data at input byte 3".to_owned())
        );
    }

    #[test]
    fn first_type_error_is_kept_but_a_later_custom_unmarshaler_error_wins() {
        let p = pod(json!({"hostname": 1, "priority": "x"}));
        assert_eq!(
            prune_unknown("", "v1", "Pod", &p),
            Err("json: cannot unmarshal number into Go struct field PodSpec.spec.hostname of type string".to_owned())
        );
        let body = r#"{"kind":"Pod","spec":{"hostname":1,"overhead":{"cpu":"x"}}}"#;
        assert_eq!(
            decode("", "v1", "Pod", body),
            Err(DecodeError::Invalid(
                gocompat::QUANTITY_FORMAT_WRONG.to_owned()
            ))
        );
    }

    #[test]
    fn type_errors_win_over_strict_errors() {
        let body = r#"{"kind":"Deployment","foo":1,"spec":{"replicas":"x"}}"#;
        assert_eq!(
            decode("apps", "v1", "Deployment", body),
            Err(DecodeError::Invalid(
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32".to_owned()
            ))
        );
    }

    #[test]
    fn duplicate_keys_are_found_at_every_depth_including_list_items() {
        let body = br#"{
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "name": "b", "labels": {"x": "1", "x": "2"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "c", "image": "i"},
                {"name": "d", "env": [{"name": "A", "value": "1"}, {"name": "B", "name": "C"}], "image": "i", "image": "j"}
            ]}}},
            "kind": "Deployment"
        }"#;
        assert_eq!(
            duplicate_fields(body),
            [
                "metadata.name",
                "metadata.labels.x",
                "spec.template.spec.containers[1].env[1].name",
                "spec.template.spec.containers[1].image",
                "kind",
            ]
        );
    }

    #[test]
    fn a_key_repeated_three_times_is_reported_once() {
        assert_eq!(duplicate_fields(br#"{"a":1,"a":2,"a":3}"#), ["a"]);
    }

    #[test]
    fn escaped_keys_are_compared_after_unescaping() {
        assert_eq!(
            duplicate_fields(br#"{"metadata":{"name":"a","n\u0061me":"b"}}"#),
            ["metadata.name"]
        );
        assert_eq!(duplicate_fields(br#"[{"a":1},{"a":1,"a":2}]"#), ["[1].a"]);
    }

    #[test]
    fn duplicate_fields_of_invalid_json_is_empty() {
        assert!(duplicate_fields(br#"{"a":1,"a":2"#).is_empty());
        assert!(duplicate_fields(b"\xff\xfe").is_empty());
        assert!(duplicate_fields(b"").is_empty());
        assert_eq!(
            strict_decode("", "v1", "Pod", b"{"),
            Err(DecodeError::InvalidJson)
        );
    }

    #[test]
    fn strict_decode_interleaves_unknown_and_duplicate_errors_in_document_order() {
        let body = r#"{"kind":"Deployment","spec":{"foo":1,"replicas":1},"metadata":{"name":"a","name":"b"},"spec":{"paused":true}}"#;
        let decoded = decode("apps", "v1", "Deployment", body).unwrap();
        assert_eq!(
            decoded.errors,
            [
                r#"unknown field "spec.foo""#,
                r#"duplicate field "metadata.name""#,
                r#"duplicate field "spec""#
            ]
        );
        assert_eq!(
            strict_decoding_message(&decoded.errors),
            r#"strict decoding error: unknown field "spec.foo", duplicate field "metadata.name", duplicate field "spec""#
        );
        // Go decodes the repeated struct over the first one: the members merge.
        assert_eq!(
            decoded.object,
            json!({"kind": "Deployment", "metadata": {"name": "b"}, "spec": {"replicas": 1, "paused": true}})
        );
    }

    #[test]
    fn unknown_keys_repeated_are_one_unknown_field_not_a_duplicate() {
        let body = r#"{"kind":"Pod","spec":{"foo":1,"foo":2}}"#;
        assert_eq!(
            decode("", "v1", "Pod", body).unwrap().errors,
            [r#"unknown field "spec.foo""#]
        );
    }

    #[test]
    fn strict_errors_are_capped_at_one_hundred() {
        let members: Vec<String> = (0..150).map(|i| format!("\"f{i}\":1")).collect();
        let body = format!("{{\"kind\":\"ConfigMap\",{}}}", members.join(","));
        assert_eq!(
            decode("", "v1", "ConfigMap", &body).unwrap().errors.len(),
            100
        );
    }

    #[test]
    fn unusual_keys_appear_go_quoted_in_strict_errors() {
        let body = r#"{"kind":"Pod","spec":{"fo\no":1,"ü\"x":2}}"#;
        assert_eq!(
            decode("", "v1", "Pod", body).unwrap().errors,
            [
                r#"unknown field "spec.fo\no""#,
                r#"unknown field "spec.ü\"x""#
            ]
        );
    }

    #[test]
    fn repeated_keys_inside_list_items_are_reported_with_the_index() {
        let body = r#"{"kind":"Pod","spec":{"containers":[{"name":"a"},{"name":"b","ports":[{"containerPort":1,"containerPort":2}]}]}}"#;
        let decoded = decode("", "v1", "Pod", body).unwrap();
        assert_eq!(
            decoded.errors,
            [r#"duplicate field "spec.containers[1].ports[0].containerPort""#]
        );
        assert_eq!(
            decoded.object["spec"]["containers"][1]["ports"][0]["containerPort"],
            json!(2)
        );
    }

    #[test]
    fn int_or_string_rejects_fractions_and_micro_time_needs_six_digits() {
        let svc = json!({"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 1.5}]}});
        assert_eq!(
            prune_unknown("", "v1", "Service", &svc),
            Err("json: cannot unmarshal number 1.5 into Go struct field ServicePort.spec.ports.targetPort of type int32".to_owned())
        );
        let lease = json!({"kind": "Lease", "spec": {"renewTime": "2024-01-02T03:04:05.123456Z"}});
        assert!(prune_unknown("coordination.k8s.io", "v1", "Lease", &lease).is_ok());
        let lease = json!({"kind": "Lease", "spec": {"renewTime": "2024-01-02T03:04:05Z"}});
        assert_eq!(
            prune_unknown("coordination.k8s.io", "v1", "Lease", &lease),
            Err("parsing time \"2024-01-02T03:04:05Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"Z\" as \".000000\"".to_owned())
        );
    }

    #[test]
    fn error_texts_quote_paths_like_go() {
        assert_eq!(
            unknown_field_error("spec.foo"),
            r#"unknown field "spec.foo""#
        );
        assert_eq!(
            duplicate_field_error("metadata.labels.a\"b"),
            r#"duplicate field "metadata.labels.a\"b""#
        );
        assert_eq!(unknown_field_error("x\ny"), r#"unknown field "x\ny""#);
    }

    /// A tiny deterministic generator, so the garbage tests need no extra crates.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    #[test]
    fn garbage_input_never_panics() {
        let mut rng = Lcg(42);
        let alphabet = b"{}[]\":,\\ntrufalse0123456789.-eE+ \t\nabc\xff\xc3\xa9u";
        let seeds: Vec<Vec<u8>> = vec![
            br#"{"kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"a"}]}}}}"#.to_vec(),
            br#"{"kind":"Secret","data":{"a":"aGk=","b":[1,2,300]},"metadata":{"creationTimestamp":"2024-01-01T00:00:00Z"}}"#.to_vec(),
        ];
        for round in 0..4000 {
            let mut input = if round % 2 == 0 {
                seeds[round % seeds.len()].clone()
            } else {
                (0..(rng.next() % 64))
                    .map(|_| alphabet[(rng.next() as usize) % alphabet.len()])
                    .collect()
            };
            if !input.is_empty() {
                for _ in 0..(rng.next() % 4) {
                    let at = (rng.next() as usize) % input.len();
                    input[at] = alphabet[(rng.next() as usize) % alphabet.len()];
                }
            }
            let _ = duplicate_fields(&input);
            for (g, v, k) in [
                ("apps", "v1", "Deployment"),
                ("", "v1", "Secret"),
                ("", "v1", "Widget"),
            ] {
                let _ = strict_decode(g, v, k, &input);
                if let Ok(value) = serde_json::from_slice::<Value>(&input) {
                    let _ = unknown_fields(g, v, k, &value);
                    let _ = prune_unknown(g, v, k, &value);
                }
            }
        }
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(duplicate_fields(deep.as_bytes()).is_empty());
        let deep_value = (0..400).fold(json!(1), |acc, _| json!({"a": acc}));
        let _ = unknown_fields("", "v1", "Widget", &deep_value);
        let mut obj = json!({"kind": "ConfigMap"});
        obj["data"] = deep_value;
        assert!(prune_unknown("", "v1", "ConfigMap", &obj).is_err());
    }

    #[test]
    fn odd_but_valid_scalar_shapes_do_not_panic() {
        for body in [
            r#"{"metadata":{"creationTimestamp":"2024-01-01T00:00:00+é:00"}}"#,
            r#"{"metadata":{"creationTimestamp":"2é24-01-01T00:00:00Z"}}"#,
            r#"{"metadata":{"creationTimestamp":"2024-01-01T00:00:00.ééééééZ"}}"#,
            r#"{"data":{"a":"é","b":"====","c":"\n"}}"#,
        ] {
            let _ = strict_decode("", "v1", "Secret", body.as_bytes());
            let _ = strict_decode("events.k8s.io", "v1", "Event", body.as_bytes());
        }
    }
}
