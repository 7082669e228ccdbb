//! Smaller groups: `scheduling.k8s.io/v1`, `flowcontrol.apiserver.k8s.io/v1`,
//! `apiextensions.k8s.io/v1` and `apiregistration.k8s.io/v1`.
//!
//! Groups with no defaulting upstream (policy/v1 PodDisruptionBudget,
//! coordination/v1 Lease, events.k8s.io/v1 and core Events, certificates/v1,
//! node/v1 RuntimeClass, ...) need nothing here.

use super::{
    array, child, child_or_insert, default_int_if_zero, default_value, str_is_empty, str_of,
};
use serde_json::{Map, Value, json};

/// PriorityClass: `preemptionPolicy` PreemptLowerPriority.
pub(super) fn apply_scheduling(kind: &str, obj: &mut Map<String, Value>) {
    if kind == "PriorityClass" {
        default_value(obj, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
}

/// FlowSchema `matchingPrecedence` 1000; PriorityLevelConfiguration limited /
/// exempt shares, lendable percent and queuing parameters.
pub(super) fn apply_flowcontrol(kind: &str, obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    match kind {
        "FlowSchema" => default_int_if_zero(spec, "matchingPrecedence", 1000),
        "PriorityLevelConfiguration" => {
            if let Some(exempt) = child(spec, "exempt") {
                default_value(exempt, "nominalConcurrencyShares", json!(0));
                default_value(exempt, "lendablePercent", json!(0));
            }
            if let Some(limited) = child(spec, "limited") {
                default_value(limited, "nominalConcurrencyShares", json!(30));
                default_value(limited, "lendablePercent", json!(0));
                if let Some(queuing) =
                    child(limited, "limitResponse").and_then(|r| child(r, "queuing"))
                {
                    default_int_if_zero(queuing, "handSize", 8);
                    default_int_if_zero(queuing, "queues", 64);
                    default_int_if_zero(queuing, "queueLengthLimit", 50);
                }
            }
        }
        _ => {}
    }
}

/// CustomResourceDefinition: `names.singular`/`names.listKind`, `conversion`
/// strategy None, webhook service port 443, and `status.storedVersions` from
/// the storage version.
pub(super) fn apply_apiextensions(kind: &str, obj: &mut Map<String, Value>) {
    if kind != "CustomResourceDefinition" {
        return;
    }
    let mut storage_version = None;
    if let Some(spec) = child(obj, "spec") {
        if let Some(names) = child(spec, "names") {
            let kind_name = str_of(names, "kind").unwrap_or_default().to_owned();
            if str_is_empty(names, "singular") && names.get("kind").is_none_or(Value::is_string) {
                names.insert("singular".to_owned(), Value::from(kind_name.to_lowercase()));
            }
            if str_is_empty(names, "listKind") && !kind_name.is_empty() {
                names.insert(
                    "listKind".to_owned(),
                    Value::from(format!("{kind_name}List")),
                );
            }
        }
        default_value(spec, "conversion", json!({"strategy": "None"}));
        if let Some(service) = child(spec, "conversion")
            .and_then(|c| child(c, "webhook"))
            .and_then(|w| child(w, "clientConfig"))
            .and_then(|c| child(c, "service"))
        {
            default_value(service, "port", json!(443));
        }
        storage_version = array(spec, "versions").and_then(|versions| {
            versions
                .iter()
                .find(|v| v.get("storage") == Some(&Value::Bool(true)))
                .and_then(|v| v.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    }
    if let Some(version) = storage_version
        && let Some(status) = child_or_insert(obj, "status")
    {
        let empty = match status.get("storedVersions") {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if empty {
            status.insert("storedVersions".to_owned(), json!([version]));
        }
    }
}

/// APIService: `spec.service.port` 443.
pub(super) fn apply_apiregistration(kind: &str, obj: &mut Map<String, Value>) {
    if kind == "APIService"
        && let Some(service) = child(obj, "spec").and_then(|s| child(s, "service"))
    {
        default_value(service, "port", json!(443));
    }
}

#[cfg(test)]
mod tests {
    use super::super::apply_defaults;
    use serde_json::json;

    #[test]
    fn priority_class_defaults_preemption_policy() {
        let mut pc = json!({"value": 1000});
        apply_defaults("scheduling.k8s.io", "v1", "PriorityClass", &mut pc);
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
        let mut pc = json!({"value": 1000, "preemptionPolicy": "Never"});
        apply_defaults("scheduling.k8s.io", "v1", "PriorityClass", &mut pc);
        assert_eq!(pc["preemptionPolicy"], "Never");
    }

    #[test]
    fn flow_control_objects_are_defaulted() {
        let mut fs = json!({"spec": {"priorityLevelConfiguration": {"name": "x"}}});
        apply_defaults("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", &mut fs);
        assert_eq!(fs["spec"]["matchingPrecedence"], 1000);
        let mut pl = json!({"spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Queue", "queuing": {}}}}});
        apply_defaults(
            "flowcontrol.apiserver.k8s.io",
            "v1",
            "PriorityLevelConfiguration",
            &mut pl,
        );
        assert_eq!(
            pl["spec"]["limited"],
            json!({"nominalConcurrencyShares": 30, "lendablePercent": 0,
                   "limitResponse": {"type": "Queue", "queuing": {"handSize": 8, "queues": 64, "queueLengthLimit": 50}}})
        );
        let mut pl =
            json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 0}}});
        apply_defaults(
            "flowcontrol.apiserver.k8s.io",
            "v1",
            "PriorityLevelConfiguration",
            &mut pl,
        );
        assert_eq!(pl["spec"]["limited"]["nominalConcurrencyShares"], 0);
        let mut pl = json!({"spec": {"type": "Exempt", "exempt": {}}});
        apply_defaults(
            "flowcontrol.apiserver.k8s.io",
            "v1",
            "PriorityLevelConfiguration",
            &mut pl,
        );
        assert_eq!(
            pl["spec"]["exempt"],
            json!({"nominalConcurrencyShares": 0, "lendablePercent": 0})
        );
    }

    #[test]
    fn crd_gets_names_conversion_and_stored_versions() {
        let mut crd = json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1beta1", "served": true, "storage": false}, {"name": "v1", "served": true, "storage": true}]}});
        apply_defaults(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            &mut crd,
        );
        assert_eq!(crd["spec"]["names"]["singular"], "widget");
        assert_eq!(crd["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
        assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
        let mut crd = json!({"spec": {"conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"name": "s", "namespace": "n"}}}}}});
        apply_defaults(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            &mut crd,
        );
        assert_eq!(
            crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"],
            443
        );
    }

    #[test]
    fn api_service_port_defaults_to_443() {
        let mut svc = json!({"spec": {"group": "metrics.k8s.io", "version": "v1beta1", "service": {"name": "m", "namespace": "kube-system"}}});
        apply_defaults("apiregistration.k8s.io", "v1", "APIService", &mut svc);
        assert_eq!(svc["spec"]["service"]["port"], 443);
    }
}
