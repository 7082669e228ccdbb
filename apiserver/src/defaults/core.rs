//! Core (`""` group) `v1` defaults: `pkg/apis/core/v1/defaults.go` and the
//! `+default` markers of `k8s.io/api/core/v1`.

use super::pod::{default_pod, default_pod_template, default_pvc, default_volume_sources};
use super::{
    array, child, child_or_insert, default_str, default_value, for_each_obj, is_unset,
    map_is_empty, str_of,
};
use serde_json::{Map, Value, json};

/// Dispatches on the core kind.
pub(super) fn apply(kind: &str, obj: &mut Map<String, Value>) {
    match kind {
        "Pod" => default_pod(obj),
        "PodTemplate" => {
            if let Some(template) = child(obj, "template") {
                default_pod_template(template);
            }
        }
        "ReplicationController" => replication_controller(obj),
        "Service" => service(obj),
        "Namespace" => namespace(obj),
        "Secret" => default_str(obj, "type", "Opaque"),
        "PersistentVolume" => persistent_volume(obj),
        "PersistentVolumeClaim" => default_pvc(obj),
        "Endpoints" => for_each_obj(obj, "subsets", |subset| {
            for_each_obj(subset, "ports", |p| default_str(p, "protocol", "TCP"));
        }),
        "Node" => node(obj),
        "LimitRange" => {
            if let Some(spec) = child(obj, "spec") {
                for_each_obj(spec, "limits", limit_range_item);
            }
        }
        _ => {}
    }
}

/// `SetDefaults_ReplicationController` plus the `replicas` marker: selector and
/// object labels come from the template labels when empty.
fn replication_controller(obj: &mut Map<String, Value>) {
    let template_labels = obj
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned();
    if let Some(labels) = template_labels {
        if let Some(spec) = child(obj, "spec")
            && map_is_empty(spec, "selector")
        {
            spec.insert("selector".to_owned(), labels.clone());
        }
        if let Some(meta) = child_or_insert(obj, "metadata")
            && map_is_empty(meta, "labels")
        {
            meta.insert("labels".to_owned(), labels);
        }
    }
    if let Some(spec) = child(obj, "spec") {
        default_value(spec, "replicas", json!(1));
        if let Some(template) = child(spec, "template") {
            default_pod_template(template);
        }
    }
}

/// `SetDefaults_Service` plus the ServicePort protocol marker.
///
/// Left to the caller (registry, not defaulting): clusterIP/clusterIPs,
/// ipFamilies/ipFamilyPolicy, nodePort and healthCheckNodePort allocation, and
/// the status reset on create.
fn service(obj: &mut Map<String, Value>) {
    if let Some(spec) = child(obj, "spec") {
        default_str(spec, "sessionAffinity", "None");
        match str_of(spec, "sessionAffinity") {
            Some("None") => {
                if matches!(
                    spec.get("sessionAffinityConfig"),
                    Some(Value::Object(_) | Value::Null)
                ) {
                    spec.remove("sessionAffinityConfig");
                }
            }
            Some("ClientIP") => {
                // Replace the config when config, clientIP or timeout is unset;
                // leave wrongly typed values for validation.
                let needs_default = match spec.get("sessionAffinityConfig") {
                    None | Some(Value::Null) => true,
                    Some(Value::Object(config)) => match config.get("clientIP") {
                        None | Some(Value::Null) => true,
                        Some(Value::Object(client_ip)) => {
                            matches!(client_ip.get("timeoutSeconds"), None | Some(Value::Null))
                        }
                        Some(_) => false,
                    },
                    Some(_) => false,
                };
                if needs_default {
                    spec.insert(
                        "sessionAffinityConfig".to_owned(),
                        json!({"clientIP": {"timeoutSeconds": 10800}}),
                    );
                }
            }
            _ => {}
        }
        default_str(spec, "type", "ClusterIP");
        for_each_obj(spec, "ports", |port| {
            default_str(port, "protocol", "TCP");
            let target_unset = match port.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Number(n)) => n.as_f64() == Some(0.0),
                Some(_) => false,
            };
            if target_unset
                && let Some(p) = port
                    .get("port")
                    .filter(|p| p.is_i64() || p.is_u64())
                    .cloned()
            {
                port.insert("targetPort".to_owned(), p);
            }
        });
        let service_type = str_of(spec, "type").map(str::to_owned);
        let has_external_ips = array(spec, "externalIPs").is_some_and(|ips| !ips.is_empty());
        let externally_accessible = match service_type.as_deref() {
            Some("LoadBalancer" | "NodePort") => true,
            Some("ClusterIP") => has_external_ips,
            _ => false,
        };
        if externally_accessible {
            default_str(spec, "externalTrafficPolicy", "Cluster");
        }
        if matches!(
            service_type.as_deref(),
            Some("NodePort" | "LoadBalancer" | "ClusterIP")
        ) {
            default_value(spec, "internalTrafficPolicy", json!("Cluster"));
        }
        if service_type.as_deref() == Some("LoadBalancer") {
            default_value(spec, "allocateLoadBalancerNodePorts", json!(true));
        }
    }
    let is_load_balancer = obj
        .get("spec")
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        == Some("LoadBalancer");
    if is_load_balancer
        && let Some(lb) = child(obj, "status").and_then(|s| child(s, "loadBalancer"))
    {
        for_each_obj(lb, "ingress", |ing| {
            if str_of(ing, "ip").is_some_and(|ip| !ip.is_empty()) {
                default_value(ing, "ipMode", json!("VIP"));
            }
        });
    }
}

/// `SetDefaults_Namespace` (the `kubernetes.io/metadata.name` label, always
/// overwritten with the name) and `SetDefaults_NamespaceStatus`.
///
/// A namespace created with `generateName` only gets the label once the
/// caller has generated the name and defaults again.
fn namespace(obj: &mut Map<String, Value>) {
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if let Some(name) = name
        && let Some(labels) = child(obj, "metadata").and_then(|m| child_or_insert(m, "labels"))
    {
        labels.insert("kubernetes.io/metadata.name".to_owned(), Value::from(name));
    }
    if let Some(status) = child_or_insert(obj, "status") {
        default_str(status, "phase", "Active");
    }
}

/// The create-only half of the namespace strategy: append the `kubernetes`
/// finalizer unless present.
pub(super) fn namespace_create(obj: &mut Map<String, Value>) {
    let Some(spec) = child_or_insert(obj, "spec") else {
        return;
    };
    if is_unset(spec, "finalizers") {
        spec.insert("finalizers".to_owned(), json!([]));
    }
    let Some(finalizers) = array(spec, "finalizers") else {
        return;
    };
    if !finalizers.iter().any(|f| f.as_str() == Some("kubernetes")) {
        finalizers.push(Value::from("kubernetes"));
    }
}

/// `SetDefaults_PersistentVolume` plus the PV-source defaulters.
fn persistent_volume(obj: &mut Map<String, Value>) {
    if let Some(status) = child_or_insert(obj, "status") {
        default_str(status, "phase", "Pending");
    }
    if let Some(spec) = child(obj, "spec") {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_value(spec, "volumeMode", json!("Filesystem"));
        default_volume_sources(spec);
    }
}

/// `SetDefaults_NodeStatus`: allocatable defaults to capacity.
fn node(obj: &mut Map<String, Value>) {
    if let Some(status) = child(obj, "status")
        && is_unset(status, "allocatable")
        && let Some(capacity) = status
            .get("capacity")
            .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()))
            .cloned()
    {
        status.insert("allocatable".to_owned(), capacity);
    }
}

/// `SetDefaults_LimitRangeItem`: for `Container` items, default ← max,
/// defaultRequest ← default, then defaultRequest ← min, key by key.
fn limit_range_item(item: &mut Map<String, Value>) {
    if str_of(item, "type") != Some("Container") {
        return;
    }
    let resource_map = |item: &Map<String, Value>, key: &str| -> Option<Map<String, Value>> {
        match item.get(key) {
            None | Some(Value::Null) => Some(Map::new()),
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => None,
        }
    };
    let (Some(max), Some(min), Some(mut default), Some(mut default_request)) = (
        resource_map(item, "max"),
        resource_map(item, "min"),
        resource_map(item, "default"),
        resource_map(item, "defaultRequest"),
    ) else {
        return;
    };
    for (k, v) in max {
        default.entry(k).or_insert(v);
    }
    for (k, v) in &default {
        default_request
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    for (k, v) in min {
        default_request.entry(k).or_insert(v);
    }
    if !default.is_empty() {
        item.insert("default".to_owned(), Value::Object(default));
    }
    if !default_request.is_empty() {
        item.insert("defaultRequest".to_owned(), Value::Object(default_request));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{apply_create_defaults, apply_defaults};
    use serde_json::{Value, json};

    fn defaulted(kind: &str, mut obj: Value) -> Value {
        apply_defaults("", "v1", kind, &mut obj);
        obj
    }

    #[test]
    fn pod_image_pull_policy_depends_on_the_tag() {
        let pod = defaulted(
            "Pod",
            json!({"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "nginx:1.25"}, {"name": "c", "image": "nginx", "imagePullPolicy": "Never"}],
                "ephemeralContainers": [{"name": "d", "image": "busybox:latest"}]}}),
        );
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(
            pod["spec"]["containers"][1]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(pod["spec"]["containers"][2]["imagePullPolicy"], "Never");
        assert_eq!(
            pod["spec"]["ephemeralContainers"][0]["imagePullPolicy"],
            "Always"
        );
    }

    #[test]
    fn pod_template_object_defaults_its_template() {
        let t = defaulted(
            "PodTemplate",
            json!({"template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}}}),
        );
        assert_eq!(t["template"]["spec"]["restartPolicy"], "Always");
        assert!(t["template"]["spec"].get("enableServiceLinks").is_none());
    }

    #[test]
    fn replication_controller_copies_template_labels_and_defaults_replicas() {
        let rc = defaulted(
            "ReplicationController",
            json!({"metadata": {"name": "rc"}, "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": []}}}}),
        );
        assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
        assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
        assert_eq!(rc["spec"]["replicas"], 1);
        assert_eq!(rc["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");

        let rc = defaulted(
            "ReplicationController",
            json!({"metadata": {"labels": {"own": "y"}}, "spec": {"replicas": 0, "selector": {"app": "z"}, "template": {"metadata": {"labels": {"app": "x"}}}}}),
        );
        assert_eq!(rc["spec"]["selector"], json!({"app": "z"}));
        assert_eq!(rc["metadata"]["labels"], json!({"own": "y"}));
        assert_eq!(rc["spec"]["replicas"], 0);
    }

    #[test]
    fn empty_template_labels_or_capacity_add_nothing_visible() {
        let rc = defaulted(
            "ReplicationController",
            json!({"spec": {"template": {"metadata": {"labels": {}}}}}),
        );
        assert!(rc["spec"].get("selector").is_none());
        assert!(rc.get("metadata").is_none());
        let node = defaulted("Node", json!({"status": {"capacity": {}}}));
        assert!(node["status"].get("allocatable").is_none());
    }

    #[test]
    fn cluster_ip_service_gets_upstream_defaults() {
        let svc = defaulted(
            "Service",
            json!({"spec": {"selector": {"app": "x"}, "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}}),
        );
        assert_eq!(
            svc["spec"],
            json!({
                "selector": {"app": "x"},
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}],
                "sessionAffinity": "None",
                "type": "ClusterIP",
                "internalTrafficPolicy": "Cluster"
            })
        );
    }

    #[test]
    fn load_balancer_service_gets_external_policy_node_ports_flag_and_ip_mode() {
        let svc = defaulted(
            "Service",
            json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 443, "targetPort": 0}]},
                   "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "lb.example"}]}}}),
        );
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(svc["spec"]["internalTrafficPolicy"], "Cluster");
        assert_eq!(svc["spec"]["allocateLoadBalancerNodePorts"], true);
        assert_eq!(
            svc["spec"]["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 10800}})
        );
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 443);
        assert_eq!(svc["status"]["loadBalancer"]["ingress"][0]["ipMode"], "VIP");
        assert!(
            svc["status"]["loadBalancer"]["ingress"][1]
                .get("ipMode")
                .is_none()
        );
    }

    #[test]
    fn service_affinity_none_drops_affinity_config_and_external_name_gets_no_traffic_policies() {
        let svc = defaulted(
            "Service",
            json!({"spec": {"type": "ExternalName", "externalName": "x.example", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}}}),
        );
        assert!(svc["spec"].get("sessionAffinityConfig").is_none());
        assert!(svc["spec"].get("internalTrafficPolicy").is_none());
        assert!(svc["spec"].get("externalTrafficPolicy").is_none());
        let svc = defaulted("Service", json!({"spec": {"externalIPs": ["5.6.7.8"]}}));
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Cluster");
    }

    #[test]
    fn namespace_gets_name_label_and_active_phase_but_finalizer_only_on_create() {
        let mut ns = json!({"metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "spoofed"}}});
        apply_defaults("", "v1", "Namespace", &mut ns);
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team-a"
        );
        assert_eq!(ns["status"]["phase"], "Active");
        assert!(ns.get("spec").is_none());
        apply_create_defaults("", "v1", "Namespace", &mut ns);
        apply_create_defaults("", "v1", "Namespace", &mut ns);
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        let mut ns = json!({"metadata": {"name": "b"}, "spec": {"finalizers": ["example.com/x"]}});
        apply_create_defaults("", "v1", "Namespace", &mut ns);
        assert_eq!(
            ns["spec"]["finalizers"],
            json!(["example.com/x", "kubernetes"])
        );
    }

    #[test]
    fn secret_type_defaults_to_opaque() {
        assert_eq!(defaulted("Secret", json!({"data": {}}))["type"], "Opaque");
        assert_eq!(defaulted("Secret", json!({"type": ""}))["type"], "Opaque");
    }

    #[test]
    fn persistent_volumes_and_claims_are_defaulted() {
        let pv = defaulted(
            "PersistentVolume",
            json!({"spec": {"hostPath": {"path": "/d"}, "capacity": {"storage": "1Gi"}}}),
        );
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pv["spec"]["hostPath"]["type"], "");
        assert_eq!(pv["status"]["phase"], "Pending");
        let pvc = defaulted(
            "PersistentVolumeClaim",
            json!({"spec": {"accessModes": ["ReadWriteOnce"]}}),
        );
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pvc["status"]["phase"], "Pending");
    }

    #[test]
    fn endpoints_ports_default_to_tcp() {
        let ep = defaulted(
            "Endpoints",
            json!({"subsets": [{"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}]}),
        );
        assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(ep["subsets"][0]["ports"][1]["protocol"], "UDP");
    }

    #[test]
    fn node_allocatable_defaults_to_capacity() {
        let node = defaulted("Node", json!({"status": {"capacity": {"cpu": "4"}}}));
        assert_eq!(node["status"]["allocatable"], json!({"cpu": "4"}));
        let node = defaulted(
            "Node",
            json!({"status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "3"}}}),
        );
        assert_eq!(node["status"]["allocatable"], json!({"cpu": "3"}));
    }

    #[test]
    fn limit_range_container_items_chain_max_default_and_min() {
        let lr = defaulted(
            "LimitRange",
            json!({"spec": {"limits": [
                {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m", "ephemeral-storage": "1Gi"}, "default": {"memory": "512Mi"}},
                {"type": "Pod", "max": {"cpu": "4"}}
            ]}}),
        );
        assert_eq!(
            lr["spec"]["limits"][0]["default"],
            json!({"cpu": "2", "memory": "512Mi"})
        );
        assert_eq!(
            lr["spec"]["limits"][0]["defaultRequest"],
            json!({"cpu": "2", "memory": "512Mi", "ephemeral-storage": "1Gi"})
        );
        assert_eq!(
            lr["spec"]["limits"][1],
            json!({"type": "Pod", "max": {"cpu": "4"}})
        );
    }
}
