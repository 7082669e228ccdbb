//! `networking.k8s.io/v1` (`pkg/apis/networking/v1/defaults.go`) and
//! `discovery.k8s.io/v1` (`pkg/apis/discovery/v1/defaults.go`) defaults.

use super::{array_is_empty, child, default_value, for_each_obj};
use serde_json::{Map, Value, json};

/// NetworkPolicy port protocols and policyTypes; IngressClass parameter scope.
/// Ingress has no defaults.
pub(super) fn apply(kind: &str, obj: &mut Map<String, Value>) {
    match kind {
        "NetworkPolicy" => {
            let Some(spec) = child(obj, "spec") else {
                return;
            };
            for direction in ["ingress", "egress"] {
                for_each_obj(spec, direction, |rule| {
                    for_each_obj(rule, "ports", |port| {
                        default_value(port, "protocol", json!("TCP"))
                    });
                });
            }
            if array_is_empty(spec, "policyTypes") {
                let mut types = vec![json!("Ingress")];
                if !array_is_empty(spec, "egress")
                    && spec.get("egress").is_some_and(Value::is_array)
                {
                    types.push(json!("Egress"));
                }
                spec.insert("policyTypes".to_owned(), Value::Array(types));
            }
        }
        "IngressClass" => {
            if let Some(parameters) = child(obj, "spec").and_then(|s| child(s, "parameters")) {
                default_value(parameters, "scope", json!("Cluster"));
            }
        }
        _ => {}
    }
}

/// EndpointSlice ports: `name` "" and `protocol` TCP.
pub(super) fn apply_discovery(kind: &str, obj: &mut Map<String, Value>) {
    if kind == "EndpointSlice" {
        for_each_obj(obj, "ports", |port| {
            default_value(port, "name", json!(""));
            default_value(port, "protocol", json!("TCP"));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::apply_defaults;
    use serde_json::json;

    #[test]
    fn network_policy_defaults_protocols_and_policy_types() {
        let mut np = json!({"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {}]}]}});
        apply_defaults("networking.k8s.io", "v1", "NetworkPolicy", &mut np);
        assert_eq!(np["spec"]["ingress"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "UDP");
        assert_eq!(np["spec"]["egress"][0]["ports"][1]["protocol"], "TCP");
        assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        let mut np = json!({"spec": {"podSelector": {}}});
        apply_defaults("networking.k8s.io", "v1", "NetworkPolicy", &mut np);
        assert_eq!(np["spec"]["policyTypes"], json!(["Ingress"]));
    }

    #[test]
    fn ingress_class_parameters_default_to_cluster_scope() {
        let mut ic =
            json!({"spec": {"controller": "x/y", "parameters": {"kind": "K", "name": "n"}}});
        apply_defaults("networking.k8s.io", "v1", "IngressClass", &mut ic);
        assert_eq!(ic["spec"]["parameters"]["scope"], "Cluster");
        let mut ic = json!({"spec": {"controller": "x/y"}});
        apply_defaults("networking.k8s.io", "v1", "IngressClass", &mut ic);
        assert!(ic["spec"].get("parameters").is_none());
    }

    #[test]
    fn endpoint_slice_ports_default_name_and_protocol() {
        let mut es = json!({"addressType": "IPv4", "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]});
        apply_defaults("discovery.k8s.io", "v1", "EndpointSlice", &mut es);
        assert_eq!(
            es["ports"][0],
            json!({"port": 80, "name": "", "protocol": "TCP"})
        );
        assert_eq!(
            es["ports"][1],
            json!({"name": "dns", "port": 53, "protocol": "UDP"})
        );
    }
}
