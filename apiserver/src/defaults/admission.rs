//! `admissionregistration.k8s.io/v1` defaults
//! (`pkg/apis/admissionregistration/v1/defaults.go`).

use super::{child, default_value, for_each_obj};
use serde_json::{Map, Value, json};

/// Webhook configurations and ValidatingAdmissionPolicy(Binding).
pub(super) fn apply(kind: &str, obj: &mut Map<String, Value>) {
    match kind {
        "ValidatingWebhookConfiguration" => for_each_obj(obj, "webhooks", |w| webhook(w, false)),
        "MutatingWebhookConfiguration" => for_each_obj(obj, "webhooks", |w| webhook(w, true)),
        "ValidatingAdmissionPolicy" => {
            if let Some(spec) = child(obj, "spec") {
                default_value(spec, "failurePolicy", json!("Fail"));
                if let Some(constraints) = child(spec, "matchConstraints") {
                    match_resources(constraints);
                }
            }
        }
        "ValidatingAdmissionPolicyBinding" => {
            if let Some(resources) = child(obj, "spec").and_then(|s| child(s, "matchResources")) {
                match_resources(resources);
            }
        }
        _ => {}
    }
}

/// `SetDefaults_{Validating,Mutating}Webhook` plus rules and service port.
fn webhook(w: &mut Map<String, Value>, mutating: bool) {
    default_value(w, "failurePolicy", json!("Fail"));
    default_value(w, "matchPolicy", json!("Equivalent"));
    default_value(w, "namespaceSelector", json!({}));
    default_value(w, "objectSelector", json!({}));
    default_value(w, "timeoutSeconds", json!(10));
    if mutating {
        default_value(w, "reinvocationPolicy", json!("Never"));
    }
    for_each_obj(w, "rules", default_rule);
    if let Some(service) = child(w, "clientConfig").and_then(|c| child(c, "service")) {
        default_value(service, "port", json!(443));
    }
}

/// `SetDefaults_MatchResources` plus the rules inside it.
fn match_resources(m: &mut Map<String, Value>) {
    default_value(m, "matchPolicy", json!("Equivalent"));
    default_value(m, "namespaceSelector", json!({}));
    default_value(m, "objectSelector", json!({}));
    for_each_obj(m, "resourceRules", default_rule);
    for_each_obj(m, "excludeResourceRules", default_rule);
}

/// `SetDefaults_Rule`: scope `*`.
fn default_rule(rule: &mut Map<String, Value>) {
    default_value(rule, "scope", json!("*"));
}

#[cfg(test)]
mod tests {
    use super::super::apply_defaults;
    use serde_json::json;

    #[test]
    fn mutating_webhooks_get_all_v1_defaults() {
        let mut cfg = json!({"webhooks": [{"name": "w.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"namespace": "ns", "name": "svc"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]});
        apply_defaults(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
            &mut cfg,
        );
        let w = &cfg["webhooks"][0];
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(w["matchPolicy"], "Equivalent");
        assert_eq!(w["namespaceSelector"], json!({}));
        assert_eq!(w["objectSelector"], json!({}));
        assert_eq!(w["timeoutSeconds"], 10);
        assert_eq!(w["reinvocationPolicy"], "Never");
        assert_eq!(w["rules"][0]["scope"], "*");
        assert_eq!(w["clientConfig"]["service"]["port"], 443);
        assert!(w.get("sideEffects").is_some_and(|s| s == "None"));
    }

    #[test]
    fn validating_webhooks_have_no_reinvocation_policy() {
        let mut cfg = json!({"webhooks": [{"name": "w", "clientConfig": {"url": "https://x"}}]});
        apply_defaults(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            &mut cfg,
        );
        assert!(cfg["webhooks"][0].get("reinvocationPolicy").is_none());
        assert_eq!(cfg["webhooks"][0]["timeoutSeconds"], 10);
    }

    #[test]
    fn admission_policies_and_bindings_default_match_resources() {
        let mut vap = json!({"spec": {"matchConstraints": {"resourceRules": [{"operations": ["*"]}]}, "validations": [{"expression": "true"}]}});
        apply_defaults(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicy",
            &mut vap,
        );
        assert_eq!(vap["spec"]["failurePolicy"], "Fail");
        assert_eq!(
            vap["spec"]["matchConstraints"],
            json!({"resourceRules": [{"operations": ["*"], "scope": "*"}], "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {}})
        );
        let mut binding = json!({"spec": {"policyName": "p", "validationActions": ["Deny"]}});
        apply_defaults(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicyBinding",
            &mut binding,
        );
        assert!(binding["spec"].get("matchResources").is_none());
        let mut binding = json!({"spec": {"matchResources": {}}});
        apply_defaults(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicyBinding",
            &mut binding,
        );
        assert_eq!(
            binding["spec"]["matchResources"]["matchPolicy"],
            "Equivalent"
        );
    }
}
