//! Object validation in the manner of upstream kube-apiserver
//! (`pkg/apis/*/validation`, apimachinery's ObjectMeta and name rules, and
//! the `field.Error` message formats), over untyped JSON.
//!
//! Entry point: [`validate`]. The object is expected to be defaulted already
//! (as upstream validates after defaulting), and the caller is expected to
//! have done what upstream's REST layer does before validation:
//!
//! * set `metadata.namespace` from the request path for namespaced kinds,
//!   and clear it for cluster-scoped kinds;
//! * on create, generate `metadata.name` from `generateName` and fill
//!   `metadata.uid` / `creationTimestamp` (Jobs need the uid and their
//!   generated selector and pod-template labels);
//! * on update, keep system fields (`uid`, `generation`,
//!   `creationTimestamp`, `deletionTimestamp`) from the stored object, and
//!   carry allocated Service IPs/ports over;
//! * allocate what upstream allocates before validating (a Service's
//!   `healthCheckNodePort` for `LoadBalancer` + `externalTrafficPolicy:
//!   Local`), and generate a Job's `spec.selector` and its
//!   `controller-uid`/`job-name` (legacy and `batch.kubernetes.io/`)
//!   pod-template labels unless `manualSelector` is true.
//!
//! Messages follow Kubernetes 1.33 (Bosun's target): composite bad values
//! print Go-style (`map[string]string{"app":"web"}`), see [`render_value`].
//!
//! Anything in the object may be missing or of the wrong JSON type; wrong
//! types are reported as [`ErrorKind::TypeInvalid`] errors, never panics.

mod access;
mod apps;
mod batch;
mod core;
mod errors;
mod meta;
mod names;
mod networking;
mod other;
mod pod;
mod quantity;

pub use errors::{ErrorKind, FieldError, go_json, go_quote, render_value};
pub use meta::Scope;
pub use names::{
    NameRule, is_config_map_key, is_dns1035_label, is_dns1123_label, is_dns1123_subdomain,
    is_env_var_name, is_label_value, is_qualified_name, is_relaxed_env_var_name, validate_name,
};
pub use quantity::Quantity;

use serde_json::Value;

use access::{Errs, Obj};
use meta::{validate_generic_meta, validate_object_meta_update};

/// Cluster-scoped built-in kinds, by (group, kind).
const CLUSTER_SCOPED: [(&str, &str); 30] = [
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
];

/// Namespaced built-in kinds, by (group, kind).
const NAMESPACED: [(&str, &str); 38] = [
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "ReplicationController"),
    ("", "Service"),
    ("", "Endpoints"),
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "ServiceAccount"),
    ("", "PersistentVolumeClaim"),
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("", "Event"),
    ("", "Binding"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "DaemonSet"),
    ("apps", "StatefulSet"),
    ("apps", "ControllerRevision"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("coordination.k8s.io", "Lease"),
    ("coordination.k8s.io", "LeaseCandidate"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("events.k8s.io", "Event"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("storage.k8s.io", "CSIStorageCapacity"),
    ("resource.k8s.io", "ResourceClaim"),
    ("resource.k8s.io", "ResourceClaimTemplate"),
    ("authorization.k8s.io", "LocalSubjectAccessReview"),
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "HTTPRoute"),
    ("autoscaling", "Scale"),
    ("", "PodStatusResult"),
];

/// Whether a kind is namespaced, cluster-scoped, or not a known built-in.
pub fn scope_of(group: &str, kind: &str) -> Scope {
    if CLUSTER_SCOPED.contains(&(group, kind)) {
        Scope::Cluster
    } else if NAMESPACED.contains(&(group, kind)) {
        Scope::Namespaced
    } else {
        Scope::Unknown
    }
}

/// Validates an object on create (`old` = None) or update (`old` = Some(previous
/// stored object)) for `group`/`version`/`kind` (`""` group for core). The
/// object has already been defaulted. Returns every problem found, in
/// upstream's order where practical (map-valued fields are walked in sorted
/// key order, where upstream's order is random).
pub fn validate(
    group: &str,
    version: &str,
    kind: &str,
    object: &Value,
    old: Option<&Value>,
) -> Vec<FieldError> {
    if !object.is_object() {
        return vec![FieldError::new(
            ErrorKind::TypeInvalid,
            "",
            Some(object.clone()),
            "must be of type object",
        )];
    }
    let obj = Obj::of(object);
    let old = old.map(Obj::of);
    let scope = scope_of(group, kind);
    let mut e = Errs::new();
    match old {
        None => {
            let handled = dispatch(&mut e, group, version, kind, obj, None);
            if !handled || e.is_empty() {
                // Upstream's REST layer runs the generic ObjectMeta checks
                // after (and only if) the kind-specific ones pass.
                validate_generic_meta(&mut e, obj, scope);
            }
        }
        Some(o) => {
            // validateCommonFields, then the kind's ValidateUpdate.
            validate_generic_meta(&mut e, obj, scope);
            validate_object_meta_update(&mut e, obj, o, false);
            dispatch(&mut e, group, version, kind, obj, Some(o));
        }
    }
    dedupe(e.list)
}

fn dispatch(
    e: &mut Errs,
    group: &str,
    version: &str,
    kind: &str,
    obj: Obj<'_>,
    old: Option<Obj<'_>>,
) -> bool {
    match group {
        "" => core::validate_core(e, kind, obj, old),
        "apps" => apps::validate_apps(e, kind, obj, old),
        "batch" => batch::validate_batch(e, kind, obj, old),
        "networking.k8s.io" => networking::validate_networking(e, kind, obj, old),
        _ => other::validate_other(e, group, version, kind, obj, old),
    }
}

fn dedupe(list: Vec<FieldError>) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = Vec::with_capacity(list.len());
    for err in list {
        if !out.contains(&err) {
            out.push(err);
        }
    }
    out
}

/// Renders errors the way upstream's `StatusError` message does:
/// `<Kind> "<name>" is invalid: [<err>, <err>]` (no brackets for one error).
pub fn invalid_message(kind: &str, name: &str, errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let body = match parts.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", parts.join(", ")),
    };
    format!("{kind} {} is invalid: {body}", go_quote(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                    "containers": [{"name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent", "terminationMessagePolicy": "File",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler"}}
            }
        })
    }

    #[test]
    fn valid_deployment_has_no_errors() {
        assert!(validate("apps", "v1", "Deployment", &deployment(), None).is_empty());
    }

    #[test]
    fn deployment_selector_mismatch_uses_upstream_field_and_message() {
        let mut d = deployment();
        d["spec"]["template"]["metadata"]["labels"] = json!({"app": "api"});
        let errs = validate("apps", "v1", "Deployment", &d, None);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.template.metadata.labels");
        assert_eq!(errs[0].kind, ErrorKind::Invalid);
        assert_eq!(
            errs[0].body(),
            "Invalid value: map[string]string{\"app\":\"api\"}: `selector` does not match template `labels`"
        );
        assert_eq!(
            invalid_message("Deployment.apps", "web", &errs),
            "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"api\"}: `selector` does not match template `labels`"
        );
    }

    #[test]
    fn missing_container_image_is_required() {
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .map(|m| m.remove("image"));
        let errs = validate("apps", "v1", "Deployment", &d, None);
        assert_eq!(
            strings(&errs),
            vec!["spec.template.spec.containers[0].image: Required value".to_string()]
        );
        assert_eq!(errs[0].kind.cause_type(), "FieldValueRequired");
    }

    #[test]
    fn duplicate_container_names_are_duplicates() {
        let mut d = deployment();
        let c = d["spec"]["template"]["spec"]["containers"][0].clone();
        let mut c2 = c.clone();
        c2["ports"] = json!([]);
        d["spec"]["template"]["spec"]["containers"] = json!([c, c2]);
        let errs = validate("apps", "v1", "Deployment", &d, None);
        assert_eq!(
            strings(&errs),
            vec!["spec.template.spec.containers[1].name: Duplicate value: \"web\"".to_string()]
        );
        assert_eq!(errs[0].kind.cause_type(), "FieldValueDuplicate");
    }

    #[test]
    fn bad_port_reports_range() {
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = json!(0);
        d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("HTTP");
        assert_eq!(strings(&validate("apps", "v1", "Deployment", &d, None)), vec![
            "spec.template.spec.containers[0].ports[0].containerPort: Required value".to_string(),
            "spec.template.spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"".to_string(),
        ]);
    }

    #[test]
    fn invalid_label_value_message_matches_upstream() {
        let mut d = deployment();
        d["metadata"]["labels"] = json!({"tier": "front end"});
        assert_eq!(strings(&validate("apps", "v1", "Deployment", &d, None)), vec![
            "metadata.labels: Invalid value: \"front end\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string()
        ]);
    }

    #[test]
    fn names_follow_kind_rules() {
        let ns = json!({"metadata": {"name": "Team-A"}});
        let errs = validate("", "v1", "Namespace", &ns, None);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().starts_with(
            "metadata.name: Invalid value: \"Team-A\": a lowercase RFC 1123 label must consist of"
        ));
        let cm = json!({"metadata": {"name": "a.b.c", "namespace": "default"}});
        assert!(validate("", "v1", "ConfigMap", &cm, None).is_empty());
        let svc = json!({"metadata": {"name": "a.b", "namespace": "default"}, "spec": {"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster", "clusterIP": "None"}});
        assert!(
            validate("", "v1", "Service", &svc, None)[0]
                .detail
                .starts_with("a DNS-1035 label must consist of")
        );
    }

    #[test]
    fn name_or_generate_name_required() {
        let cm = json!({"metadata": {"namespace": "default"}});
        assert_eq!(
            strings(&validate("", "v1", "ConfigMap", &cm, None)),
            vec!["metadata.name: Required value: name or generateName is required".to_string()]
        );
    }

    #[test]
    fn update_immutability_messages() {
        let old = json!({"metadata": {"name": "c", "namespace": "default", "uid": "1", "resourceVersion": "5"}, "data": {"a": "b"}});
        let mut new = old.clone();
        new["metadata"]["uid"] = json!("2");
        new["metadata"]["name"] = json!("d");
        assert_eq!(
            strings(&validate("", "v1", "ConfigMap", &new, Some(&old))),
            vec![
                "metadata.name: Invalid value: \"d\": field is immutable".to_string(),
                "metadata.uid: Invalid value: \"2\": field is immutable".to_string(),
            ]
        );
    }

    #[test]
    fn unconditional_update_without_resource_version_is_accepted() {
        let old =
            json!({"metadata": {"name": "c", "namespace": "default", "resourceVersion": "5"}});
        let new = json!({"metadata": {"name": "c", "namespace": "default"}});
        assert!(validate("", "v1", "ConfigMap", &new, Some(&old)).is_empty());
    }

    #[test]
    fn garbage_never_panics() {
        let cases = [
            json!(5),
            json!(null),
            json!({"spec": 5}),
            json!({"metadata": "x", "spec": {"template": {"spec": {"containers": "x"}}}}),
            json!({"metadata": {"name": 7, "labels": ["a"], "annotations": {"a": 1}}, "spec": {"selector": 3, "replicas": "two"}}),
            json!({"spec": {"containers": [5, null, {"name": {}}], "volumes": [1], "tolerations": {"a": 1}}}),
            json!({"spec": {"ports": [{"port": 1e30, "targetPort": true}], "type": []}}),
            json!({"data": {"k": 1}, "binaryData": {"k": "###"}, "stringData": 1}),
            json!({"spec": {"template": {"metadata": {"labels": 1}}, "strategy": {"rollingUpdate": {"maxSurge": {}}}}}),
            json!({"spec": {"jobTemplate": 1, "schedule": 5}}),
        ];
        let kinds = [
            ("", "Pod"),
            ("", "Service"),
            ("", "ConfigMap"),
            ("", "Secret"),
            ("", "Namespace"),
            ("", "Node"),
            ("", "PersistentVolume"),
            ("", "PersistentVolumeClaim"),
            ("", "ResourceQuota"),
            ("", "LimitRange"),
            ("", "Endpoints"),
            ("", "ReplicationController"),
            ("", "PodTemplate"),
            ("", "Event"),
            ("", "ServiceAccount"),
            ("apps", "Deployment"),
            ("apps", "ReplicaSet"),
            ("apps", "DaemonSet"),
            ("apps", "StatefulSet"),
            ("apps", "ControllerRevision"),
            ("batch", "Job"),
            ("batch", "CronJob"),
            ("policy", "PodDisruptionBudget"),
            ("rbac.authorization.k8s.io", "ClusterRole"),
            ("rbac.authorization.k8s.io", "RoleBinding"),
            ("storage.k8s.io", "StorageClass"),
            ("autoscaling", "HorizontalPodAutoscaler"),
            ("coordination.k8s.io", "Lease"),
            ("scheduling.k8s.io", "PriorityClass"),
            ("discovery.k8s.io", "EndpointSlice"),
            ("events.k8s.io", "Event"),
            ("example.com", "Widget"),
        ];
        for (g, k) in kinds {
            for c in &cases {
                let errs = validate(g, "v1", k, c, None);
                assert!(!errs.is_empty(), "{g}/{k} accepted {c}");
                let _ = validate(g, "v2", k, c, Some(c));
                let _ = validate(g, "v1", k, &deployment(), Some(c));
                for e in &errs {
                    let _ = e.to_string();
                }
            }
        }
    }

    #[test]
    fn wrong_types_are_reported_with_paths() {
        let mut d = deployment();
        d["spec"]["replicas"] = json!("two");
        d["spec"]["template"]["spec"]["containers"] = json!("x");
        let out = strings(&validate("apps", "v1", "Deployment", &d, None));
        assert!(
            out.contains(
                &"spec.replicas: Invalid value: \"two\": must be of type int32".to_string()
            ),
            "{out:?}"
        );
        assert!(
            out.contains(
                &"spec.template.spec.containers: Invalid value: \"x\": must be of type array"
                    .to_string()
            ),
            "{out:?}"
        );
        assert_eq!(
            validate("apps", "v1", "Deployment", &d, None)[0]
                .kind
                .cause_type(),
            "FieldValueTypeInvalid"
        );
    }

    #[test]
    fn unknown_kinds_get_generic_meta_checks() {
        let w = json!({"metadata": {"name": "Bad_Name", "labels": {"x": "ok"}}});
        let out = strings(&validate("example.com", "v1", "Widget", &w, None));
        assert_eq!(out.len(), 1);
        assert!(
            out[0].starts_with(
                "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"
            ),
            "{out:?}"
        );
        // Built-ins without kind-specific name rules only need path-segment names.
        let pdb =
            json!({"metadata": {"name": "a/b", "namespace": "d"}, "spec": {"maxUnavailable": 1}});
        assert_eq!(
            strings(&validate("policy", "v1", "PodDisruptionBudget", &pdb, None)),
            vec!["metadata.name: Invalid value: \"a/b\": may not contain '/'".to_string()]
        );
    }

    #[test]
    fn cluster_scoped_kinds_ignore_namespace() {
        let ns = json!({"metadata": {"name": "team-a", "namespace": "whatever"}});
        assert!(validate("", "v1", "Namespace", &ns, None).is_empty());
        assert_eq!(scope_of("", "Pod"), Scope::Namespaced);
        assert_eq!(scope_of("", "Node"), Scope::Cluster);
    }
}

/// Stored-shape objects (as a defaulting apiserver would hold them) must
/// validate cleanly, on create and as a no-op update.
#[cfg(test)]
mod realistic_tests {
    use super::*;
    use serde_json::json;

    fn pod_spec() -> Value {
        json!({
            "containers": [{
                "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}],
                "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "250m", "memory": "128Mi"}},
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                        {"name": "CFG", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "app.properties"}}}],
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                    "initialDelaySeconds": 3, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
                "readinessProbe": {"tcpSocket": {"port": 80}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
                "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "kube-api-access-x", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true, "runAsUser": 1000, "capabilities": {"drop": ["ALL"]}}
            }],
            "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"], "imagePullPolicy": "Always",
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "resources": {}}],
            "volumes": [
                {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
                {"name": "kube-api-access-x", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}
            ],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "serviceAccount": "default", "securityContext": {"fsGroup": 2000},
            "schedulerName": "default-scheduler", "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}],
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
                "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}}]}},
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app": "web"}}}]
        })
    }

    fn meta(name: &str) -> Value {
        json!({"name": name, "namespace": "default", "uid": "0b6f3e1c-1111-2222-3333-444455556666", "resourceVersion": "42",
               "generation": 1, "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"app": "web"},
               "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
               "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {}}]})
    }

    fn template() -> Value {
        json!({"metadata": {"creationTimestamp": null, "labels": {"app": "web"}}, "spec": pod_spec()})
    }

    fn check(group: &str, kind: &str, obj: Value) {
        let errs = validate(group, "v1", kind, &obj, None);
        assert!(
            errs.is_empty(),
            "{kind} create: {:?}",
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        );
        let errs = validate(group, "v1", kind, &obj, Some(&obj));
        assert!(
            errs.is_empty(),
            "{kind} update: {:?}",
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn stored_pod_validates() {
        let mut spec = pod_spec();
        spec["nodeName"] = json!("node-1");
        check(
            "",
            "Pod",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta("web-0"), "spec": spec,
            "status": {"phase": "Running", "qosClass": "Burstable"}}),
        );
    }

    #[test]
    fn stored_workloads_validate() {
        check(
            "apps",
            "Deployment",
            json!({"metadata": meta("web"), "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": template(), "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}, "status": {}}),
        );
        check(
            "apps",
            "ReplicaSet",
            json!({"metadata": meta("web-5d9c"), "spec": {"replicas": 3,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d9c"}},
            "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "5d9c"}}, "spec": pod_spec()}}}),
        );
        check(
            "apps",
            "DaemonSet",
            json!({"metadata": meta("agent"), "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}, "revisionHistoryLimit": 10}}),
        );
        check(
            "apps",
            "StatefulSet",
            json!({"metadata": meta("db"), "spec": {"replicas": 3, "serviceName": "db",
            "selector": {"matchLabels": {"app": "web"}}, "template": template(), "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}, "revisionHistoryLimit": 10,
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "pgdata", "creationTimestamp": null},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}, "volumeMode": "Filesystem"},
                "status": {"phase": "Pending"}}]}}),
        );
        let mut rc_tmpl = template();
        rc_tmpl["metadata"]["labels"] = json!({"app": "web"});
        check(
            "",
            "ReplicationController",
            json!({"metadata": meta("rc"), "spec": {"replicas": 1, "selector": {"app": "web"}, "template": rc_tmpl}}),
        );
    }

    #[test]
    fn stored_batch_validates() {
        let uid = "0b6f3e1c-1111-2222-3333-444455556666";
        let mut tmpl = template();
        tmpl["metadata"]["labels"] = json!({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
            "controller-uid": uid, "job-name": "pi"});
        tmpl["spec"]["restartPolicy"] = json!("Never");
        let mut m = meta("pi");
        m["labels"] = json!({"batch.kubernetes.io/controller-uid": uid});
        check(
            "batch",
            "Job",
            json!({"metadata": m, "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 6,
            "completionMode": "NonIndexed", "suspend": false, "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": false,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}, "template": tmpl}}),
        );
        let mut jt = template();
        jt["spec"]["restartPolicy"] = json!("OnFailure");
        check(
            "batch",
            "CronJob",
            json!({"metadata": meta("hello"), "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow",
            "suspend": false, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"creationTimestamp": null}, "spec": {"backoffLimit": 6, "completionMode": "NonIndexed", "template": jt}}}}),
        );
    }

    #[test]
    fn stored_core_objects_validate() {
        check(
            "",
            "Service",
            json!({"metadata": meta("web"), "spec": {"type": "NodePort", "selector": {"app": "web"},
            "clusterIP": "10.96.12.34", "clusterIPs": ["10.96.12.34"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Cluster", "sessionAffinity": "None",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http", "nodePort": 30080},
                      {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443, "nodePort": 30443}]}}),
        );
        check(
            "",
            "Service",
            json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": true,
            "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Local", "healthCheckNodePort": 31000, "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30001}]}}),
        );
        check(
            "",
            "Service",
            json!({"metadata": meta("ext"), "spec": {"type": "ExternalName", "externalName": "example.com.", "sessionAffinity": "None"}}),
        );
        check(
            "",
            "ConfigMap",
            json!({"metadata": meta("cfg"), "data": {"app.properties": "a=b"}, "binaryData": {"logo.png": "iVBORw0KGgo="}}),
        );
        check(
            "",
            "Secret",
            json!({"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "Y3J0", "tls.key": "a2V5"}}),
        );
        check(
            "",
            "Secret",
            json!({"metadata": meta("reg"), "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "eyJhdXRocyI6e319"}}),
        );
        check(
            "",
            "ServiceAccount",
            json!({"metadata": meta("builder"), "automountServiceAccountToken": false}),
        );
        check(
            "",
            "PersistentVolumeClaim",
            json!({"metadata": meta("data"), "spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "standard", "volumeMode": "Filesystem", "volumeName": "pv-1"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}}),
        );
        let mut ns_meta = meta("team-a");
        ns_meta.as_object_mut().map(|m| m.remove("namespace"));
        check(
            "",
            "Namespace",
            json!({"metadata": ns_meta, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        );
        let mut node_meta = meta("node-1");
        node_meta.as_object_mut().map(|m| m.remove("namespace"));
        check(
            "",
            "Node",
            json!({"metadata": node_meta, "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"],
            "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
            "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}, "allocatable": {"cpu": "3800m", "memory": "7Gi", "pods": "110"},
                "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "node-1"}]}}),
        );
        let mut pv_meta = meta("pv-1");
        pv_meta.as_object_mut().map(|m| m.remove("namespace"));
        check(
            "",
            "PersistentVolume",
            json!({"metadata": pv_meta, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/mnt/data", "type": ""}, "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "standard", "volumeMode": "Filesystem"}}),
        );
        check(
            "",
            "ResourceQuota",
            json!({"metadata": meta("quota"), "spec": {"hard": {"pods": "10", "requests.cpu": "4", "limits.memory": "8Gi", "count/deployments.apps": "5"}}}),
        );
        check(
            "",
            "LimitRange",
            json!({"metadata": meta("limits"), "spec": {"limits": [{"type": "Container",
            "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "250m"}, "max": {"cpu": "2"}, "min": {"cpu": "100m"}}]}}),
        );
        check(
            "",
            "Endpoints",
            json!({"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "10.244.0.5", "nodeName": "node-1",
            "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "default"}}], "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]}),
        );
        check(
            "",
            "Event",
            json!({"metadata": meta("web.1"), "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default"},
            "reason": "Scheduled", "message": "ok", "type": "Normal", "count": 1, "source": {"component": "default-scheduler"}}),
        );
    }

    #[test]
    fn stored_cluster_objects_validate() {
        let cluster = |name: &str| {
            let mut m = meta(name);
            m.as_object_mut().map(|x| x.remove("namespace"));
            m
        };
        check(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            json!({"metadata": cluster("view-pods"), "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}, {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]}),
        );
        check(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            json!({"metadata": meta("rb"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view-pods"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}, {"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]}),
        );
        check(
            "storage.k8s.io",
            "StorageClass",
            json!({"metadata": cluster("standard"), "provisioner": "rancher.io/local-path",
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}),
        );
        check(
            "scheduling.k8s.io",
            "PriorityClass",
            json!({"metadata": cluster("high"), "value": 1000000, "preemptionPolicy": "PreemptLowerPriority"}),
        );
        check(
            "policy",
            "PodDisruptionBudget",
            json!({"metadata": meta("pdb"), "spec": {"minAvailable": "50%",
            "selector": {"matchLabels": {"app": "web"}}, "unhealthyPodEvictionPolicy": "IfHealthyBudget"}}),
        );
        check(
            "autoscaling",
            "HorizontalPodAutoscaler",
            json!({"metadata": meta("hpa"), "spec": {"minReplicas": 1, "maxReplicas": 5,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}}),
        );
        check(
            "coordination.k8s.io",
            "Lease",
            json!({"metadata": meta("leader"), "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "leaseTransitions": 2}}),
        );
        check(
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"metadata": meta("web-abc"), "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": true}, "nodeName": "node-1"}],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}),
        );
        check(
            "networking.k8s.io",
            "Ingress",
            json!({"metadata": meta("web"), "spec": {"rules": [{"host": "example.com"}]}}),
        );
        check(
            "example.com",
            "Widget",
            json!({"metadata": meta("w1"), "spec": {"anything": true}}),
        );
    }
}
