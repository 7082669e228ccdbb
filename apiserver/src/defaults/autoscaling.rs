//! `autoscaling/v1` and `autoscaling/v2` HorizontalPodAutoscaler defaults
//! (`pkg/apis/autoscaling/v{1,2}/defaults.go`, plus the v1 CPU-target default
//! upstream applies during v1 conversion).

use super::{array_is_empty, child, default_value, is_unset};
use serde_json::{Map, Value, json};

/// Annotation in which autoscaling/v1 carries the v2 metrics it cannot express.
const V1_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";

/// Upstream's default CPU utilization target, in percent.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// autoscaling/v1: `minReplicas` 1, and (from conversion) an 80% CPU target
/// when neither a CPU target nor other metrics in the
/// `autoscaling.alpha.kubernetes.io/metrics` annotation are given.
pub(super) fn apply_v1(kind: &str, obj: &mut Map<String, Value>) {
    if kind != "HorizontalPodAutoscaler" {
        return;
    }
    let has_other_metrics = obj
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(V1_METRICS_ANNOTATION))
        .and_then(Value::as_str)
        .is_some_and(|s| !matches!(s.trim(), "" | "[]" | "null"));
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_value(spec, "minReplicas", json!(1));
    if !has_other_metrics {
        default_value(
            spec,
            "targetCPUUtilizationPercentage",
            json!(DEFAULT_CPU_UTILIZATION),
        );
    }
}

/// autoscaling/v2 `SetDefaults_HorizontalPodAutoscaler`: `minReplicas` 1, an
/// 80% CPU utilization metric when `metrics` is empty, and, only when
/// `behavior` is given, fully populated scale-up/scale-down rules.
pub(super) fn apply_v2(kind: &str, obj: &mut Map<String, Value>) {
    if kind != "HorizontalPodAutoscaler" {
        return;
    }
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_value(spec, "minReplicas", json!(1));
    if array_is_empty(spec, "metrics") {
        spec.insert(
            "metrics".to_owned(),
            json!([{
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}
            }]),
        );
    }
    if let Some(behavior) = child(spec, "behavior") {
        let scale_up = json!({
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}
            ]
        });
        // Scale-down deliberately has no stabilization window: the controller
        // flag supplies it.
        let scale_down = json!({
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]
        });
        fill_rules(behavior, "scaleUp", scale_up);
        fill_rules(behavior, "scaleDown", scale_down);
    }
}

/// Sets `behavior[key]` to `defaults` when unset, or fills its unset fields
/// from `defaults` when it is an object.
fn fill_rules(behavior: &mut Map<String, Value>, key: &str, defaults: Value) {
    if is_unset(behavior, key) {
        behavior.insert(key.to_owned(), defaults);
        return;
    }
    if let (Some(rules), Value::Object(defaults)) = (child(behavior, key), defaults) {
        for (field, value) in defaults {
            default_value(rules, &field, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::apply_defaults;
    use serde_json::{Value, json};

    fn defaulted(version: &str, mut obj: Value) -> Value {
        apply_defaults("autoscaling", version, "HorizontalPodAutoscaler", &mut obj);
        obj
    }

    #[test]
    fn v2_hpa_gets_min_replicas_and_cpu_metric_but_no_behavior() {
        let hpa = defaulted(
            "v2",
            json!({"spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}}}),
        );
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(
            hpa["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        assert!(hpa["spec"].get("behavior").is_none());
    }

    #[test]
    fn v2_hpa_behavior_is_completed_field_by_field() {
        let hpa = defaulted(
            "v2",
            json!({"spec": {"metrics": [{"type": "Pods"}], "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}),
        );
        assert_eq!(hpa["spec"]["metrics"], json!([{"type": "Pods"}]));
        assert_eq!(
            hpa["spec"]["behavior"],
            json!({
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15}]},
                "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max", "policies": [
                    {"type": "Percent", "value": 100, "periodSeconds": 15}]}
            })
        );
    }

    #[test]
    fn v1_hpa_gets_min_replicas_and_cpu_target_unless_other_metrics_exist() {
        let hpa = defaulted("v1", json!({"spec": {"maxReplicas": 3}}));
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(hpa["spec"]["targetCPUUtilizationPercentage"], 80);
        let hpa = defaulted(
            "v1",
            json!({"metadata": {"annotations": {"autoscaling.alpha.kubernetes.io/metrics": "[{\"type\":\"Pods\"}]"}}, "spec": {"minReplicas": 2}}),
        );
        assert_eq!(hpa["spec"]["minReplicas"], 2);
        assert!(hpa["spec"].get("targetCPUUtilizationPercentage").is_none());
    }
}
