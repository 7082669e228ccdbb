//! Pod spec defaulting shared by Pod and every object embedding a pod
//! template (`SetDefaults_PodSpec`, `SetDefaults_Container`, volume and probe
//! defaulters of `pkg/apis/core/v1/defaults.go`, plus the `+default` markers
//! on ContainerPort, GRPCAction and the legacy volume sources).

use super::image::default_pull_policy;
use super::{
    child, child_or_insert, default_int_if_zero, default_str, default_value, for_each_obj,
    is_unset, str_is_empty, str_of,
};
use serde_json::{Map, Value, json};

/// Every field of `VolumeSource`; a volume with none of them set becomes an
/// `emptyDir` volume.
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// Octal 0644, the default file mode of secret/configMap/downwardAPI/projected volumes.
const DEFAULT_MODE: i64 = 0o644;

/// Defaults a whole Pod: the pod-only rules of `SetDefaults_Pod` plus the
/// spec-level rules every template also gets.
pub(super) fn default_pod(pod: &mut Map<String, Value>) {
    if let Some(spec) = child(pod, "spec") {
        for key in ["containers", "initContainers"] {
            for_each_obj(spec, key, requests_from_limits);
        }
        default_value(spec, "enableServiceLinks", Value::Bool(true));
        if spec.get("hostNetwork") == Some(&Value::Bool(true)) {
            for key in ["containers", "initContainers"] {
                for_each_obj(spec, key, |c| {
                    for_each_obj(c, "ports", host_port_from_container_port)
                });
            }
        }
        default_pod_spec(spec);
    }
}

/// Defaults a `PodTemplateSpec` object (`{metadata, spec}`): only the spec-level
/// rules — upstream deliberately keeps pod-only defaults such as
/// `enableServiceLinks` out of templates.
pub(super) fn default_pod_template(template: &mut Map<String, Value>) {
    if let Some(spec) = child(template, "spec") {
        default_pod_spec(spec);
    }
}

/// `SetDefaults_PodSpec` and everything nested in a PodSpec.
fn default_pod_spec(spec: &mut Map<String, Value>) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_value(spec, "securityContext", json!({}));
    default_value(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    service_account_alias(spec);
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for_each_obj(spec, key, default_container);
    }
    for_each_obj(spec, "volumes", default_volume);
}

/// `serviceAccount` is the deprecated alias of `serviceAccountName`: upstream
/// reads it when the new field is empty and always writes it back as a copy.
fn service_account_alias(spec: &mut Map<String, Value>) {
    if str_is_empty(spec, "serviceAccountName")
        && let Some(old) = str_of(spec, "serviceAccount").filter(|s| !s.is_empty())
    {
        let old = old.to_owned();
        spec.insert("serviceAccountName".to_owned(), Value::from(old));
    }
    if let Some(name) = str_of(spec, "serviceAccountName").filter(|s| !s.is_empty()) {
        let name = name.to_owned();
        spec.insert("serviceAccount".to_owned(), Value::from(name));
    }
}

/// `SetDefaults_Container` / `SetDefaults_EphemeralContainer` plus the nested
/// port, env, probe and lifecycle defaulters.
fn default_container(c: &mut Map<String, Value>) {
    if str_is_empty(c, "imagePullPolicy")
        && let Some(image) = match c.get("image") {
            None | Some(Value::Null) => Some(""),
            Some(v) => v.as_str(),
        }
    {
        let policy = default_pull_policy(image);
        c.insert("imagePullPolicy".to_owned(), Value::from(policy));
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    for_each_obj(c, "ports", |p| default_str(p, "protocol", "TCP"));
    for_each_obj(c, "env", |e| {
        if let Some(field_ref) = child(e, "valueFrom").and_then(|vf| child(vf, "fieldRef")) {
            default_field_ref(field_ref);
        }
    });
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = child(c, key) {
            default_probe(probe);
        }
    }
    if let Some(lifecycle) = child(c, "lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(http) = child(lifecycle, key).and_then(|h| child(h, "httpGet")) {
                default_http_get(http);
            }
        }
    }
    // ResourceRequirements is a non-pointer struct upstream, so it is always
    // serialised (as `{}` when empty); materialise it for wire parity.
    default_value(c, "resources", json!({}));
}

/// `SetDefaults_Probe` plus its handler's defaulters.
fn default_probe(probe: &mut Map<String, Value>) {
    default_int_if_zero(probe, "timeoutSeconds", 1);
    default_int_if_zero(probe, "periodSeconds", 10);
    default_int_if_zero(probe, "successThreshold", 1);
    default_int_if_zero(probe, "failureThreshold", 3);
    if let Some(http) = child(probe, "httpGet") {
        default_http_get(http);
    }
    if let Some(grpc) = child(probe, "grpc") {
        default_value(grpc, "service", json!(""));
    }
}

/// `SetDefaults_HTTPGetAction`.
fn default_http_get(http: &mut Map<String, Value>) {
    default_str(http, "path", "/");
    default_str(http, "scheme", "HTTP");
}

/// `SetDefaults_ObjectFieldSelector`.
fn default_field_ref(field_ref: &mut Map<String, Value>) {
    default_str(field_ref, "apiVersion", "v1");
}

/// Copies every limit without a matching request into requests (pod-only).
fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(resources) = child(c, "resources") else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if limits.is_empty() {
        return;
    }
    let Some(requests) = child_or_insert(resources, "requests") else {
        return;
    };
    for (name, quantity) in limits {
        requests.entry(name).or_insert(quantity);
    }
}

/// With host networking, a container port's hostPort defaults to its containerPort.
fn host_port_from_container_port(port: &mut Map<String, Value>) {
    let Some(container_port) = port
        .get("containerPort")
        .filter(|v| (v.is_i64() || v.is_u64()) && v.as_i64() != Some(0))
        .cloned()
    else {
        return;
    };
    let unset = match port.get("hostPort") {
        None | Some(Value::Null) => true,
        Some(v) => v.as_f64() == Some(0.0),
    };
    if unset {
        port.insert("hostPort".to_owned(), container_port);
    }
}

/// `SetDefaults_Volume` and the per-source defaulters.
fn default_volume(volume: &mut Map<String, Value>) {
    if VOLUME_SOURCES.iter().all(|k| is_unset(volume, k)) {
        volume.insert("emptyDir".to_owned(), json!({}));
    }
    default_volume_sources(volume);
    for key in ["secret", "configMap"] {
        if let Some(src) = child(volume, key) {
            default_value(src, "defaultMode", json!(DEFAULT_MODE));
        }
    }
    if let Some(downward) = child(volume, "downwardAPI") {
        default_value(downward, "defaultMode", json!(DEFAULT_MODE));
        default_downward_items(downward);
    }
    if let Some(projected) = child(volume, "projected") {
        default_value(projected, "defaultMode", json!(DEFAULT_MODE));
        for_each_obj(projected, "sources", |source| {
            if let Some(downward) = child(source, "downwardAPI") {
                default_downward_items(downward);
            }
            if let Some(token) = child(source, "serviceAccountToken") {
                default_value(token, "expirationSeconds", json!(3600));
            }
        });
    }
    if let Some(spec) = child(volume, "ephemeral")
        .and_then(|e| child(e, "volumeClaimTemplate"))
        .and_then(|t| child(t, "spec"))
    {
        default_pvc_spec(spec);
    }
    if let Some(image) = child(volume, "image")
        && str_is_empty(image, "pullPolicy")
    {
        let reference = match image.get("reference") {
            None | Some(Value::Null) => Some(""),
            Some(v) => v.as_str(),
        };
        if let Some(reference) = reference {
            let policy = default_pull_policy(reference);
            image.insert("pullPolicy".to_owned(), Value::from(policy));
        }
    }
}

/// Defaults of the volume sources that exist both in `VolumeSource` and in
/// `PersistentVolumeSource` (hostPath, iscsi, rbd, azureDisk, scaleIO); `holder`
/// is the object carrying the source fields (a Volume or a PersistentVolumeSpec).
pub(super) fn default_volume_sources(holder: &mut Map<String, Value>) {
    if let Some(host_path) = child(holder, "hostPath") {
        default_value(host_path, "type", json!(""));
    }
    if let Some(iscsi) = child(holder, "iscsi") {
        default_str(iscsi, "iscsiInterface", "default");
    }
    if let Some(rbd) = child(holder, "rbd") {
        default_str(rbd, "pool", "rbd");
        default_str(rbd, "user", "admin");
        default_str(rbd, "keyring", "/etc/ceph/keyring");
    }
    if let Some(azure) = child(holder, "azureDisk") {
        default_value(azure, "cachingMode", json!("ReadWrite"));
        default_value(azure, "fsType", json!("ext4"));
        default_value(azure, "readOnly", json!(false));
        default_value(azure, "kind", json!("Shared"));
    }
    if let Some(scale_io) = child(holder, "scaleIO") {
        default_str(scale_io, "storageMode", "ThinProvisioned");
        default_str(scale_io, "fsType", "xfs");
    }
}

/// `fieldRef.apiVersion` of downward API items.
fn default_downward_items(downward: &mut Map<String, Value>) {
    for_each_obj(downward, "items", |item| {
        if let Some(field_ref) = child(item, "fieldRef") {
            default_field_ref(field_ref);
        }
    });
}

/// `SetDefaults_PersistentVolumeClaimSpec`.
pub(super) fn default_pvc_spec(spec: &mut Map<String, Value>) {
    default_value(spec, "volumeMode", json!("Filesystem"));
}

/// `SetDefaults_PersistentVolumeClaim` + spec defaults for a whole PVC object
/// (also used for StatefulSet `volumeClaimTemplates`).
pub(super) fn default_pvc(pvc: &mut Map<String, Value>) {
    if let Some(status) = child_or_insert(pvc, "status") {
        default_str(status, "phase", "Pending");
    }
    if let Some(spec) = child(pvc, "spec") {
        default_pvc_spec(spec);
    }
}

/// Helper for callers holding a `template` key: defaults `obj.template` when
/// it is an object.
pub(super) fn default_template_at(obj: &mut Map<String, Value>, key: &str) {
    if let Some(template) = child(obj, key) {
        default_pod_template(template);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted_pod(pod: Value) -> Value {
        let mut pod = pod;
        if let Some(obj) = pod.as_object_mut() {
            default_pod(obj);
        }
        pod
    }

    #[test]
    fn minimal_pod_gets_upstream_spec_defaults() {
        let pod = defaulted_pod(json!({"spec": {"containers": [{"name": "c", "image": "nginx"}]}}));
        assert_eq!(
            pod["spec"],
            json!({
                "containers": [{
                    "name": "c",
                    "image": "nginx",
                    "imagePullPolicy": "Always",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"
                }],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30
            })
        );
    }

    #[test]
    fn pod_templates_do_not_get_pod_only_defaults() {
        let mut template = json!({"spec": {
            "containers": [{"name": "c", "image": "nginx:1.25", "resources": {"limits": {"cpu": "1"}}}]
        }});
        if let Some(t) = template.as_object_mut() {
            default_pod_template(t);
        }
        assert!(template["spec"].get("enableServiceLinks").is_none());
        assert!(
            template["spec"]["containers"][0]["resources"]
                .get("requests")
                .is_none()
        );
        assert_eq!(
            template["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    #[test]
    fn pod_limits_fill_missing_requests_without_overriding_given_ones() {
        let pod = defaulted_pod(
            json!({"spec": {"initContainers": [{"name": "i", "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "1"}}}],
            "containers": [{"name": "c", "resources": {"limits": {}}}]}}),
        );
        assert_eq!(
            pod["spec"]["initContainers"][0]["resources"]["requests"],
            json!({"cpu": "1", "memory": "1Gi"})
        );
        assert_eq!(
            pod["spec"]["containers"][0]["resources"],
            json!({"limits": {}})
        );
    }

    #[test]
    fn probes_ports_env_and_lifecycle_are_defaulted() {
        let pod = defaulted_pod(json!({"spec": {"containers": [{
            "name": "c", "image": "x:1",
            "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
            "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "livenessProbe": {"httpGet": {"port": 8080}, "timeoutSeconds": 0},
            "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
            "startupProbe": {"tcpSocket": {"port": 1}},
            "lifecycle": {"preStop": {"httpGet": {"port": 1, "path": "/stop"}}}
        }]}}));
        let c = &pod["spec"]["containers"][0];
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}])
        );
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(
            c["readinessProbe"]["grpc"],
            json!({"port": 9000, "service": ""})
        );
        assert_eq!(c["readinessProbe"]["periodSeconds"], 5);
        assert_eq!(c["startupProbe"]["failureThreshold"], 3);
        assert_eq!(
            c["lifecycle"]["preStop"]["httpGet"],
            json!({"port": 1, "path": "/stop", "scheme": "HTTP"})
        );
    }

    #[test]
    fn volumes_get_source_defaults_and_sourceless_volumes_become_empty_dir() {
        let pod = defaulted_pod(json!({"spec": {"volumes": [
            {"name": "a"},
            {"name": "b", "secret": {"secretName": "s"}},
            {"name": "c", "configMap": {"name": "cm", "defaultMode": 256}},
            {"name": "d", "hostPath": {"path": "/x"}},
            {"name": "e", "projected": {"sources": [
                {"serviceAccountToken": {"path": "t"}},
                {"downwardAPI": {"items": [{"path": "p", "fieldRef": {"fieldPath": "metadata.name"}}]}}
            ]}},
            {"name": "f", "downwardAPI": {"items": [{"path": "p", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {"name": "g", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
            {"name": "h", "rbd": {"monitors": ["m"], "image": "i"}},
            {"name": "i", "iscsi": {"targetPortal": "t", "iqn": "q", "lun": 0}},
            {"name": "j", "azureDisk": {"diskName": "d", "diskURI": "u"}},
            {"name": "k", "scaleIO": {"gateway": "g", "system": "s", "secretRef": {"name": "n"}}},
            {"name": "l", "image": {"reference": "repo/img"}},
            {"name": "m", "emptyDir": null}
        ]}}));
        let v = &pod["spec"]["volumes"];
        assert_eq!(v[0], json!({"name": "a", "emptyDir": {}}));
        assert_eq!(v[1]["secret"]["defaultMode"], 420);
        assert_eq!(v[2]["configMap"]["defaultMode"], 256);
        assert_eq!(v[3]["hostPath"]["type"], "");
        assert_eq!(v[4]["projected"]["defaultMode"], 420);
        assert_eq!(
            v[4]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3600
        );
        assert_eq!(
            v[4]["projected"]["sources"][1]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"],
            "v1"
        );
        assert_eq!(v[5]["downwardAPI"]["defaultMode"], 420);
        assert_eq!(
            v[5]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"],
            "v1"
        );
        assert_eq!(
            v[6]["ephemeral"]["volumeClaimTemplate"]["spec"]["volumeMode"],
            "Filesystem"
        );
        assert_eq!(v[7]["rbd"]["pool"], "rbd");
        assert_eq!(v[7]["rbd"]["user"], "admin");
        assert_eq!(v[7]["rbd"]["keyring"], "/etc/ceph/keyring");
        assert_eq!(v[8]["iscsi"]["iscsiInterface"], "default");
        assert_eq!(
            v[9]["azureDisk"],
            json!({"diskName": "d", "diskURI": "u", "cachingMode": "ReadWrite", "fsType": "ext4", "readOnly": false, "kind": "Shared"})
        );
        assert_eq!(v[10]["scaleIO"]["storageMode"], "ThinProvisioned");
        assert_eq!(v[10]["scaleIO"]["fsType"], "xfs");
        assert_eq!(v[11]["image"]["pullPolicy"], "Always");
        assert_eq!(v[12]["emptyDir"], json!({}));
    }

    #[test]
    fn host_network_pods_default_host_ports() {
        let pod = defaulted_pod(
            json!({"spec": {"hostNetwork": true, "containers": [{"name": "c", "ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 9}]}]}}),
        );
        assert_eq!(pod["spec"]["containers"][0]["ports"][0]["hostPort"], 80);
        assert_eq!(pod["spec"]["containers"][0]["ports"][1]["hostPort"], 9);
    }

    #[test]
    fn deprecated_service_account_alias_is_kept_in_sync() {
        let pod = defaulted_pod(json!({"spec": {"serviceAccount": "old"}}));
        assert_eq!(pod["spec"]["serviceAccountName"], "old");
        assert_eq!(pod["spec"]["serviceAccount"], "old");
        let pod =
            defaulted_pod(json!({"spec": {"serviceAccount": "old", "serviceAccountName": "new"}}));
        assert_eq!(pod["spec"]["serviceAccountName"], "new");
        assert_eq!(pod["spec"]["serviceAccount"], "new");
    }

    #[test]
    fn explicit_values_and_wrong_types_are_left_alone() {
        let mut original = json!({"spec": {
            "dnsPolicy": "Default", "restartPolicy": 5, "securityContext": "x", "terminationGracePeriodSeconds": 0,
            "enableServiceLinks": false, "schedulerName": ["x"], "hostNetwork": "yes",
            "containers": [7, {"name": "c", "image": 3, "ports": "x", "env": [{"valueFrom": "x"}], "livenessProbe": [], "resources": "big"}],
            "volumes": "nope"
        }});
        let pod = defaulted_pod(original.clone());
        // Only the missing string-typed fields of the object container are added.
        if let Some(c) = original["spec"]["containers"][1].as_object_mut() {
            c.insert(
                "terminationMessagePath".into(),
                json!("/dev/termination-log"),
            );
            c.insert("terminationMessagePolicy".into(), json!("File"));
        }
        assert_eq!(pod, original);
    }
}
