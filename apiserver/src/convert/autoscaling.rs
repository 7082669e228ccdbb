//! `HorizontalPodAutoscaler`: `autoscaling/v1` ↔ `autoscaling/v2`.
//!
//! Upstream (1.33) stores autoscaling/v2 and converts through the internal type
//! (`k8s.io/kubernetes/pkg/apis/autoscaling`), which is shaped like v2. v2 ↔
//! internal is a plain copy that also strips the round-trip annotations below
//! (`pkg/apis/autoscaling/v2/conversion.go`). v1 ↔ internal
//! (`pkg/apis/autoscaling/v1/conversion.go`) maps:
//!
//! * `spec.targetCPUUtilizationPercentage` ↔ the first `Resource` metric named
//!   `cpu` with a `Utilization` target. Every such metric is left out of the
//!   annotation; all other metrics travel, in the autoscaling/v1 `MetricSpec`
//!   shape, in `autoscaling.alpha.kubernetes.io/metrics`. Coming back, the
//!   annotation's metrics come first and the CPU metric last; with no metric at
//!   all, an 80% CPU utilization metric is filled in.
//! * `status.currentCPUUtilizationPercentage` ← the last `Resource` `cpu`
//!   current metric with an `averageUtilization`. Every current metric (the CPU
//!   one included, for its raw value) travels in
//!   `autoscaling.alpha.kubernetes.io/current-metrics`, which wins over the
//!   percentage on the way back.
//! * `status.conditions` travel in `autoscaling.alpha.kubernetes.io/conditions`.
//! * `spec.behavior` travels in `autoscaling.alpha.kubernetes.io/behavior`, as
//!   Go marshals the *internal* type: no json tags, so Go field names
//!   (`ScaleUp`, `StabilizationWindowSeconds`, …, including 1.33's
//!   `Tolerance`), read back case-insensitively.
//! * everything else (`scaleTargetRef`, `minReplicas`, `maxReplicas`,
//!   `observedGeneration`, `lastScaleTime`, `currentReplicas`,
//!   `desiredReplicas`) is copied.
//!
//! Going to v1, round-trip annotations already on the object are dropped before
//! the fresh ones are written; coming from v1 they are consumed and dropped.
//! Annotations that do not parse are ignored (upstream moves only well-formed
//! data from annotations to fields).
//!
//! Where upstream is lossy this is lossy the same way: see the tests named
//! `upstream_…` at the bottom of this file.

use super::{
    GoObject, get, get_ci, go_array, go_string, int32, non_empty, object, quantity, string,
};
use serde_json::{Map, Value, json};

/// `autoscaling.MetricSpecsAnnotation`: v2 metrics autoscaling/v1 cannot express.
pub const METRIC_SPECS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
/// `autoscaling.MetricStatusesAnnotation`: v2 `status.currentMetrics`.
pub const METRIC_STATUSES_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
/// `autoscaling.HorizontalPodAutoscalerConditionsAnnotation`: v2 `status.conditions`.
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
/// `autoscaling.BehaviorSpecsAnnotation`: v2 `spec.behavior`.
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
/// `autoscaling.ToleranceScaleDownAnnotation` (autoscaling/v2beta2 only; dropped
/// with the others).
pub const TOLERANCE_SCALE_DOWN_ANNOTATION: &str =
    "autoscaling.alpha.kubernetes.io/scale-down-tolerance";
/// `autoscaling.ToleranceScaleUpAnnotation` (autoscaling/v2beta2 only; dropped
/// with the others).
pub const TOLERANCE_SCALE_UP_ANNOTATION: &str =
    "autoscaling.alpha.kubernetes.io/scale-up-tolerance";

/// The annotations `DropRoundTripHorizontalPodAutoscalerAnnotations` removes.
pub const ROUND_TRIP_ANNOTATIONS: [&str; 6] = [
    METRIC_SPECS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
    TOLERANCE_SCALE_DOWN_ANNOTATION,
    TOLERANCE_SCALE_UP_ANNOTATION,
    METRIC_STATUSES_ANNOTATION,
    CONDITIONS_ANNOTATION,
];

/// `autoscaling.DefaultCPUUtilization`, the CPU target v1 conversion fills in
/// when an HPA has no metric at all.
pub const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// Removes the round-trip annotations from an HPA's `metadata.annotations`,
/// and the annotations map itself if that empties it (Go's `omitempty`).
/// Returns whether anything was removed.
///
/// Upstream does this whenever a v2 object is decoded or encoded, so a request
/// body in autoscaling/v2 carrying these annotations is stored without them.
pub fn drop_round_trip_annotations(hpa: &mut Map<String, Value>) -> bool {
    let Some(Value::Object(metadata)) = hpa.get_mut("metadata") else {
        return false;
    };
    let Some(Value::Object(annotations)) = metadata.get_mut("annotations") else {
        return false;
    };
    let mut removed = false;
    for key in ROUND_TRIP_ANNOTATIONS {
        removed |= annotations.remove(key).is_some();
    }
    if removed && annotations.is_empty() {
        metadata.remove("annotations");
    }
    removed
}

/// A string annotation of an HPA.
fn annotation<'a>(hpa: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    hpa.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// Sets annotation `key`, creating `metadata`/`annotations` as needed. A
/// `metadata` or `annotations` that is not an object is left alone.
fn set_annotation(hpa: &mut Map<String, Value>, key: &str, value: String) {
    let metadata = hpa
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(metadata) = metadata else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(annotations) = annotations {
        annotations.insert(key.to_owned(), Value::String(value));
    }
}

/// Moves `key` from `from` to `to` when present.
fn carry(from: &mut Map<String, Value>, to: &mut Map<String, Value>, key: &str) {
    if let Some(value) = from.remove(key) {
        to.insert(key.to_owned(), value);
    }
}

/// The array members of `parent[key]`, empty when absent or not an array.
fn elements<'a>(parent: Option<&'a Value>, key: &str) -> &'a [Value] {
    get(parent, key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

// ===========================================================================
// autoscaling/v2 → autoscaling/v1

/// autoscaling/v2 → autoscaling/v1 (`Convert_v2_…_To_autoscaling_…` then
/// `Convert_autoscaling_HorizontalPodAutoscaler_To_v1_HorizontalPodAutoscaler`).
pub(super) fn v2_to_v1(mut input: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    carry(&mut input, &mut out, "metadata");
    drop_round_trip_annotations(&mut out);

    let spec = input.remove("spec");
    let status = input.remove("status");

    let mut other_metrics = Vec::new();
    if let Some(Value::Object(mut spec_in)) = spec.clone() {
        let mut spec_out = Map::new();
        carry(&mut spec_in, &mut spec_out, "scaleTargetRef");
        carry(&mut spec_in, &mut spec_out, "minReplicas");
        carry(&mut spec_in, &mut spec_out, "maxReplicas");
        let metrics = elements(spec.as_ref(), "metrics");
        // Upstream (since #101370) takes the first CPU metric that has a
        // utilization target, skipping CPU metrics with other targets.
        if let Some(target) = metrics.iter().find_map(cpu_target_utilization) {
            spec_out.insert("targetCPUUtilizationPercentage".to_owned(), json!(target));
        }
        other_metrics = metrics
            .iter()
            .filter(|m| cpu_target_utilization(m).is_none())
            .filter_map(encode_v1_metric_spec)
            .collect();
        out.insert("spec".to_owned(), Value::Object(spec_out));
    }

    let mut current_metrics = Vec::new();
    let mut conditions = Vec::new();
    if let Some(Value::Object(mut status_in)) = status.clone() {
        let mut status_out = Map::new();
        carry(&mut status_in, &mut status_out, "observedGeneration");
        carry(&mut status_in, &mut status_out, "lastScaleTime");
        carry(&mut status_in, &mut status_out, "currentReplicas");
        carry(&mut status_in, &mut status_out, "desiredReplicas");
        let statuses = elements(status.as_ref(), "currentMetrics");
        // No `break` upstream: the last CPU utilization wins.
        if let Some(current) = statuses
            .iter()
            .filter_map(cpu_current_utilization)
            .next_back()
        {
            status_out.insert("currentCPUUtilizationPercentage".to_owned(), json!(current));
        }
        current_metrics = statuses
            .iter()
            .filter_map(encode_v1_metric_status)
            .collect();
        conditions = elements(status.as_ref(), "conditions")
            .iter()
            .filter_map(encode_v1_condition)
            .collect();
        out.insert("status".to_owned(), Value::Object(status_out));
    }

    if !other_metrics.is_empty() {
        set_annotation(&mut out, METRIC_SPECS_ANNOTATION, go_array(&other_metrics));
    }
    if !current_metrics.is_empty() {
        set_annotation(
            &mut out,
            METRIC_STATUSES_ANNOTATION,
            go_array(&current_metrics),
        );
    }
    if !conditions.is_empty() {
        set_annotation(&mut out, CONDITIONS_ANNOTATION, go_array(&conditions));
    }
    if let Some(behavior) = object(get(spec.as_ref(), "behavior")) {
        set_annotation(
            &mut out,
            BEHAVIOR_ANNOTATION,
            encode_internal_behavior(behavior),
        );
    }
    out
}

/// The target of a v2 metric that is a `Resource` `cpu` metric with an
/// `averageUtilization` target.
fn cpu_target_utilization(metric: &Value) -> Option<i64> {
    let resource = is_cpu_resource(metric)?;
    int32(get(get(Some(resource), "target"), "averageUtilization"))
}

/// The current utilization of a v2 `Resource` `cpu` metric status.
fn cpu_current_utilization(metric: &Value) -> Option<i64> {
    let resource = is_cpu_resource(metric)?;
    int32(get(get(Some(resource), "current"), "averageUtilization"))
}

/// The `resource` member of a v2 metric spec/status of type `Resource` for `cpu`.
fn is_cpu_resource(metric: &Value) -> Option<&Value> {
    if string(get(Some(metric), "type")) != Some("Resource") {
        return None;
    }
    let resource = object(get(Some(metric), "resource"))?;
    (string(get(Some(resource), "name")) == Some("cpu")).then_some(resource)
}

/// A v1 `CrossVersionObjectReference` from a v2 one (kind, name, apiVersion).
fn encode_v1_reference(reference: Option<&Value>) -> String {
    let mut o = GoObject::new();
    o.string("kind", string(get(reference, "kind")).unwrap_or(""));
    o.string("name", string(get(reference, "name")).unwrap_or(""));
    if let Some(api_version) = non_empty(get(reference, "apiVersion")) {
        o.string("apiVersion", api_version);
    }
    o.finish()
}

/// A `metav1.LabelSelector` as Go marshals it, or `None` when absent.
fn encode_selector(selector: Option<&Value>) -> Option<String> {
    let selector = object(selector)?;
    let mut o = GoObject::new();
    if let Some(labels) = get(Some(selector), "matchLabels").and_then(Value::as_object) {
        // Go marshals maps with sorted keys; serde_json may preserve order.
        let mut pairs: Vec<(&String, &str)> = labels
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v)))
            .collect();
        pairs.sort();
        if !pairs.is_empty() {
            let mut map = GoObject::new();
            for (k, v) in pairs {
                map.string(k, v);
            }
            o.raw("matchLabels", &map.finish());
        }
    }
    let expressions: Vec<String> = elements(Some(selector), "matchExpressions")
        .iter()
        .filter(|e| e.is_object())
        .map(|e| {
            let mut r = GoObject::new();
            r.string("key", string(get(Some(e), "key")).unwrap_or(""));
            r.string("operator", string(get(Some(e), "operator")).unwrap_or(""));
            let values: Vec<String> = elements(Some(e), "values")
                .iter()
                .filter_map(Value::as_str)
                .map(go_string)
                .collect();
            if !values.is_empty() {
                r.raw("values", &go_array(&values));
            }
            r.finish()
        })
        .collect();
    if !expressions.is_empty() {
        o.raw("matchExpressions", &go_array(&expressions));
    }
    Some(o.finish())
}

/// Adds `key` as a quantity string when present.
fn put_quantity(o: &mut GoObject, key: &str, value: Option<&Value>) {
    if let Some(q) = quantity(value) {
        o.string(key, &q);
    }
}

/// Adds `key` as a quantity string, `"0"` when absent (a non-pointer
/// `resource.Quantity` in Go always marshals).
fn put_quantity_or_zero(o: &mut GoObject, key: &str, value: Option<&Value>) {
    o.string(key, &quantity(value).unwrap_or_else(|| "0".to_owned()));
}

/// Adds `key` as an integer when present.
fn put_int(o: &mut GoObject, key: &str, value: Option<&Value>) {
    if let Some(n) = int32(value) {
        o.int(key, n);
    }
}

/// A v2 `MetricSpec` in the autoscaling/v1 `MetricSpec` shape, as JSON text
/// (`Convert_autoscaling_MetricSpec_To_v1_MetricSpec` and its per-source
/// functions). `None` for a non-object.
fn encode_v1_metric_spec(metric: &Value) -> Option<String> {
    let m = Some(metric).filter(|m| m.is_object());
    m?;
    let mut o = GoObject::new();
    o.string("type", string(get(m, "type")).unwrap_or(""));
    if let Some(src) = object(get(m, "object")) {
        let (target, id) = (get(Some(src), "target"), get(Some(src), "metric"));
        let mut s = GoObject::new();
        s.raw(
            "target",
            &encode_v1_reference(get(Some(src), "describedObject")),
        );
        s.string("metricName", string(get(id, "name")).unwrap_or(""));
        put_quantity_or_zero(&mut s, "targetValue", get(target, "value"));
        if let Some(selector) = encode_selector(get(id, "selector")) {
            s.raw("selector", &selector);
        }
        put_quantity(&mut s, "averageValue", get(target, "averageValue"));
        o.raw("object", &s.finish());
    }
    if let Some(src) = object(get(m, "pods")) {
        let (target, id) = (get(Some(src), "target"), get(Some(src), "metric"));
        let mut s = GoObject::new();
        s.string("metricName", string(get(id, "name")).unwrap_or(""));
        put_quantity_or_zero(&mut s, "targetAverageValue", get(target, "averageValue"));
        if let Some(selector) = encode_selector(get(id, "selector")) {
            s.raw("selector", &selector);
        }
        o.raw("pods", &s.finish());
    }
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(src) = object(get(m, key)) {
            let target = get(Some(src), "target");
            let mut s = GoObject::new();
            s.string("name", string(get(Some(src), "name")).unwrap_or(""));
            put_int(
                &mut s,
                "targetAverageUtilization",
                get(target, "averageUtilization"),
            );
            put_quantity(&mut s, "targetAverageValue", get(target, "averageValue"));
            if container {
                s.string(
                    "container",
                    string(get(Some(src), "container")).unwrap_or(""),
                );
            }
            o.raw(key, &s.finish());
        }
    }
    if let Some(src) = object(get(m, "external")) {
        let (target, id) = (get(Some(src), "target"), get(Some(src), "metric"));
        let mut s = GoObject::new();
        s.string("metricName", string(get(id, "name")).unwrap_or(""));
        if let Some(selector) = encode_selector(get(id, "selector")) {
            s.raw("metricSelector", &selector);
        }
        put_quantity(&mut s, "targetValue", get(target, "value"));
        put_quantity(&mut s, "targetAverageValue", get(target, "averageValue"));
        o.raw("external", &s.finish());
    }
    Some(o.finish())
}

/// A v2 `MetricStatus` in the autoscaling/v1 `MetricStatus` shape, as JSON
/// text (`Convert_autoscaling_MetricStatus_To_v1_MetricStatus`). `None` for a
/// non-object.
fn encode_v1_metric_status(metric: &Value) -> Option<String> {
    let m = Some(metric).filter(|m| m.is_object());
    m?;
    let mut o = GoObject::new();
    o.string("type", string(get(m, "type")).unwrap_or(""));
    if let Some(src) = object(get(m, "object")) {
        let (current, id) = (get(Some(src), "current"), get(Some(src), "metric"));
        let mut s = GoObject::new();
        s.raw(
            "target",
            &encode_v1_reference(get(Some(src), "describedObject")),
        );
        s.string("metricName", string(get(id, "name")).unwrap_or(""));
        put_quantity_or_zero(&mut s, "currentValue", get(current, "value"));
        if let Some(selector) = encode_selector(get(id, "selector")) {
            s.raw("selector", &selector);
        }
        put_quantity(&mut s, "averageValue", get(current, "averageValue"));
        o.raw("object", &s.finish());
    }
    if let Some(src) = object(get(m, "pods")) {
        let (current, id) = (get(Some(src), "current"), get(Some(src), "metric"));
        let mut s = GoObject::new();
        s.string("metricName", string(get(id, "name")).unwrap_or(""));
        put_quantity_or_zero(&mut s, "currentAverageValue", get(current, "averageValue"));
        if let Some(selector) = encode_selector(get(id, "selector")) {
            s.raw("selector", &selector);
        }
        o.raw("pods", &s.finish());
    }
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(src) = object(get(m, key)) {
            let current = get(Some(src), "current");
            let mut s = GoObject::new();
            s.string("name", string(get(Some(src), "name")).unwrap_or(""));
            put_int(
                &mut s,
                "currentAverageUtilization",
                get(current, "averageUtilization"),
            );
            put_quantity_or_zero(&mut s, "currentAverageValue", get(current, "averageValue"));
            if container {
                s.string(
                    "container",
                    string(get(Some(src), "container")).unwrap_or(""),
                );
            }
            o.raw(key, &s.finish());
        }
    }
    if let Some(src) = object(get(m, "external")) {
        let (current, id) = (get(Some(src), "current"), get(Some(src), "metric"));
        let mut s = GoObject::new();
        s.string("metricName", string(get(id, "name")).unwrap_or(""));
        if let Some(selector) = encode_selector(get(id, "selector")) {
            s.raw("metricSelector", &selector);
        }
        put_quantity_or_zero(&mut s, "currentValue", get(current, "value"));
        put_quantity(&mut s, "currentAverageValue", get(current, "averageValue"));
        o.raw("external", &s.finish());
    }
    Some(o.finish())
}

/// A v2 condition as the v1 `HorizontalPodAutoscalerCondition` Go marshals
/// (a zero `lastTransitionTime` marshals as `null`).
fn encode_v1_condition(condition: &Value) -> Option<String> {
    let c = Some(condition).filter(|c| c.is_object());
    c?;
    let mut o = GoObject::new();
    o.string("type", string(get(c, "type")).unwrap_or(""));
    o.string("status", string(get(c, "status")).unwrap_or(""));
    match string(get(c, "lastTransitionTime")) {
        Some(time) => o.string("lastTransitionTime", time),
        None => o.raw("lastTransitionTime", "null"),
    }
    if let Some(reason) = non_empty(get(c, "reason")) {
        o.string("reason", reason);
    }
    if let Some(message) = non_empty(get(c, "message")) {
        o.string("message", message);
    }
    Some(o.finish())
}

/// `json.Marshal` of the internal `HorizontalPodAutoscalerBehavior` (no json
/// tags: Go field names, nil pointers and slices as `null`).
fn encode_internal_behavior(behavior: &Value) -> String {
    let rules = |key: &str| -> String {
        let Some(r) = object(get(Some(behavior), key)) else {
            return "null".to_owned();
        };
        let r = Some(r);
        let mut o = GoObject::new();
        match int32(get(r, "stabilizationWindowSeconds")) {
            Some(n) => o.int("StabilizationWindowSeconds", n),
            None => o.raw("StabilizationWindowSeconds", "null"),
        }
        match string(get(r, "selectPolicy")) {
            Some(s) => o.string("SelectPolicy", s),
            None => o.raw("SelectPolicy", "null"),
        }
        match get(r, "policies").and_then(Value::as_array) {
            Some(policies) => {
                let policies: Vec<String> = policies
                    .iter()
                    .filter(|p| p.is_object())
                    .map(|p| {
                        let p = Some(p);
                        let mut o = GoObject::new();
                        o.string("Type", string(get(p, "type")).unwrap_or(""));
                        o.int("Value", int32(get(p, "value")).unwrap_or(0));
                        o.int("PeriodSeconds", int32(get(p, "periodSeconds")).unwrap_or(0));
                        o.finish()
                    })
                    .collect();
                o.raw("Policies", &go_array(&policies));
            }
            None => o.raw("Policies", "null"),
        }
        match quantity(get(r, "tolerance")) {
            Some(q) => o.string("Tolerance", &q),
            None => o.raw("Tolerance", "null"),
        }
        o.finish()
    };
    let mut o = GoObject::new();
    o.raw("ScaleUp", &rules("scaleUp"));
    o.raw("ScaleDown", &rules("scaleDown"));
    o.finish()
}

// ===========================================================================
// autoscaling/v1 → autoscaling/v2

/// autoscaling/v1 → autoscaling/v2
/// (`Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler`
/// then `Convert_autoscaling_…_To_v2_…`).
pub(super) fn v1_to_v2(mut input: Map<String, Value>) -> Map<String, Value> {
    let annotated_metrics = annotation(&input, METRIC_SPECS_ANNOTATION)
        .and_then(|text| parse_annotation_list(text, decode_v1_metric_spec));
    let annotated_statuses = annotation(&input, METRIC_STATUSES_ANNOTATION)
        .and_then(|text| parse_annotation_list(text, decode_v1_metric_status));
    let annotated_conditions = annotation(&input, CONDITIONS_ANNOTATION)
        .and_then(|text| parse_annotation_list(text, decode_v1_condition));
    let behavior = annotation(&input, BEHAVIOR_ANNOTATION).and_then(decode_internal_behavior);

    let mut out = Map::new();
    carry(&mut input, &mut out, "metadata");
    drop_round_trip_annotations(&mut out);

    // spec
    let spec = input.remove("spec");
    let mut spec_in = match spec.clone() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut spec_out = Map::new();
    carry(&mut spec_in, &mut spec_out, "scaleTargetRef");
    carry(&mut spec_in, &mut spec_out, "minReplicas");
    carry(&mut spec_in, &mut spec_out, "maxReplicas");
    let mut metrics = annotated_metrics.unwrap_or_default();
    if let Some(target) = int32(get(spec.as_ref(), "targetCPUUtilizationPercentage")) {
        metrics.push(cpu_utilization_metric(target));
    }
    if metrics.is_empty() {
        // autoscaling/v1 formerly had an implicit default in the controller;
        // upstream makes it explicit here.
        metrics.push(cpu_utilization_metric(DEFAULT_CPU_UTILIZATION));
    }
    spec_out.insert("metrics".to_owned(), Value::Array(metrics));
    if let Some(behavior) = behavior {
        spec_out.insert("behavior".to_owned(), behavior);
    }
    out.insert("spec".to_owned(), Value::Object(spec_out));

    // status
    let status = input.remove("status");
    let status_present = matches!(status, Some(Value::Object(_)));
    let mut status_in = match status.clone() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut status_out = Map::new();
    carry(&mut status_in, &mut status_out, "observedGeneration");
    carry(&mut status_in, &mut status_out, "lastScaleTime");
    carry(&mut status_in, &mut status_out, "currentReplicas");
    carry(&mut status_in, &mut status_out, "desiredReplicas");
    // The annotation, when well-formed, has more information than the
    // percentage and replaces it.
    let current_metrics = annotated_statuses.or_else(|| {
        int32(get(status.as_ref(), "currentCPUUtilizationPercentage")).map(|current| {
            vec![json!({
                "type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": current}}
            })]
        })
    });
    if let Some(current_metrics) = current_metrics {
        status_out.insert("currentMetrics".to_owned(), Value::Array(current_metrics));
    }
    if let Some(conditions) = annotated_conditions.filter(|c| !c.is_empty()) {
        status_out.insert("conditions".to_owned(), Value::Array(conditions));
    }
    if status_present || !status_out.is_empty() {
        out.insert("status".to_owned(), Value::Object(status_out));
    }
    out
}

/// The v2 metric v1's CPU percentage stands for.
fn cpu_utilization_metric(target: i64) -> Value {
    json!({
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}
    })
}

/// Parses a round-trip annotation holding a JSON array; `None` when it is not
/// one (upstream ignores an annotation it cannot unmarshal). `null` is an
/// empty list, as Go's decoder has it. Non-object elements are skipped.
fn parse_annotation_list(text: &str, decode: fn(&Value) -> Option<Value>) -> Option<Vec<Value>> {
    match serde_json::from_str::<Value>(text).ok()? {
        Value::Array(items) => Some(items.iter().filter_map(decode).collect()),
        Value::Null => Some(Vec::new()),
        _ => None,
    }
}

/// A v2 `CrossVersionObjectReference` from a v1 one read from an annotation.
fn decode_reference(reference: Option<&Value>) -> Value {
    let mut out = Map::new();
    out.insert(
        "kind".to_owned(),
        json!(string(get_ci(reference, "kind")).unwrap_or("")),
    );
    out.insert(
        "name".to_owned(),
        json!(string(get_ci(reference, "name")).unwrap_or("")),
    );
    if let Some(api_version) = non_empty(get_ci(reference, "apiVersion")) {
        out.insert("apiVersion".to_owned(), json!(api_version));
    }
    Value::Object(out)
}

/// A `metav1.LabelSelector` read from an annotation, keeping what Go's decoder
/// would keep.
fn decode_selector(selector: Option<&Value>) -> Option<Value> {
    let selector = object(selector)?;
    let mut out = Map::new();
    if let Some(labels) = get_ci(Some(selector), "matchLabels").and_then(Value::as_object) {
        let labels: Map<String, Value> = labels
            .iter()
            .filter(|(_, v)| v.is_string())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !labels.is_empty() {
            out.insert("matchLabels".to_owned(), Value::Object(labels));
        }
    }
    if let Some(expressions) = get_ci(Some(selector), "matchExpressions").and_then(Value::as_array)
    {
        let expressions: Vec<Value> = expressions
            .iter()
            .filter(|e| e.is_object())
            .map(|e| {
                let e = Some(e);
                let mut r = Map::new();
                r.insert(
                    "key".to_owned(),
                    json!(string(get_ci(e, "key")).unwrap_or("")),
                );
                r.insert(
                    "operator".to_owned(),
                    json!(string(get_ci(e, "operator")).unwrap_or("")),
                );
                let values: Vec<Value> = get_ci(e, "values")
                    .and_then(Value::as_array)
                    .map(|vs| vs.iter().filter(|v| v.is_string()).cloned().collect())
                    .unwrap_or_default();
                if !values.is_empty() {
                    r.insert("values".to_owned(), Value::Array(values));
                }
                Value::Object(r)
            })
            .collect();
        if !expressions.is_empty() {
            out.insert("matchExpressions".to_owned(), Value::Array(expressions));
        }
    }
    Some(Value::Object(out))
}

/// A v2 `MetricIdentifier` from a v1 metric name and selector.
fn decode_identifier(source: Option<&Value>, selector_key: &str) -> Value {
    let mut out = Map::new();
    out.insert(
        "name".to_owned(),
        json!(string(get_ci(source, "metricName")).unwrap_or("")),
    );
    if let Some(selector) = decode_selector(get_ci(source, selector_key)) {
        out.insert("selector".to_owned(), selector);
    }
    Value::Object(out)
}

/// Inserts `key` as a quantity when present.
fn insert_quantity(out: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    if let Some(q) = quantity(value) {
        out.insert(key.to_owned(), Value::String(q));
    }
}

/// Inserts `key` as a quantity, `"0"` when absent: upstream points the v2
/// field at v1's non-pointer quantity, so it is always set.
fn insert_quantity_or_zero(out: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    let q = quantity(value).unwrap_or_else(|| "0".to_owned());
    out.insert(key.to_owned(), Value::String(q));
}

/// Inserts `key` as an integer when present.
fn insert_int(out: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    if let Some(n) = int32(value) {
        out.insert(key.to_owned(), json!(n));
    }
}

/// A v2 `MetricSpec` from an autoscaling/v1 `MetricSpec` read from the
/// metrics annotation (`Convert_v1_MetricSpec_To_autoscaling_MetricSpec`).
fn decode_v1_metric_spec(metric: &Value) -> Option<Value> {
    let m = Some(metric).filter(|m| m.is_object());
    m?;
    let mut out = Map::new();
    out.insert(
        "type".to_owned(),
        json!(string(get_ci(m, "type")).unwrap_or("")),
    );
    if let Some(src) = object(get_ci(m, "object")) {
        let src = Some(src);
        let average = get_ci(src, "averageValue");
        let mut target = Map::new();
        let kind = if quantity(average).is_some() {
            "AverageValue"
        } else {
            "Value"
        };
        target.insert("type".to_owned(), json!(kind));
        insert_quantity_or_zero(&mut target, "value", get_ci(src, "targetValue"));
        insert_quantity(&mut target, "averageValue", average);
        out.insert(
            "object".to_owned(),
            json!({
                "describedObject": decode_reference(get_ci(src, "target")),
                "target": target,
                "metric": decode_identifier(src, "selector"),
            }),
        );
    }
    if let Some(src) = object(get_ci(m, "pods")) {
        let src = Some(src);
        let mut target = Map::new();
        target.insert("type".to_owned(), json!("AverageValue"));
        insert_quantity_or_zero(
            &mut target,
            "averageValue",
            get_ci(src, "targetAverageValue"),
        );
        out.insert(
            "pods".to_owned(),
            json!({"metric": decode_identifier(src, "selector"), "target": target}),
        );
    }
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(src) = object(get_ci(m, key)) {
            let src = Some(src);
            let utilization = int32(get_ci(src, "targetAverageUtilization"));
            let mut target = Map::new();
            let kind = if utilization.is_some() {
                "Utilization"
            } else {
                "AverageValue"
            };
            target.insert("type".to_owned(), json!(kind));
            insert_quantity(
                &mut target,
                "averageValue",
                get_ci(src, "targetAverageValue"),
            );
            if let Some(utilization) = utilization {
                target.insert("averageUtilization".to_owned(), json!(utilization));
            }
            let mut s = Map::new();
            s.insert(
                "name".to_owned(),
                json!(string(get_ci(src, "name")).unwrap_or("")),
            );
            s.insert("target".to_owned(), Value::Object(target));
            if container {
                s.insert(
                    "container".to_owned(),
                    json!(string(get_ci(src, "container")).unwrap_or("")),
                );
            }
            out.insert(key.to_owned(), Value::Object(s));
        }
    }
    if let Some(src) = object(get_ci(m, "external")) {
        let src = Some(src);
        let value = get_ci(src, "targetValue");
        let mut target = Map::new();
        let kind = if quantity(value).is_some() {
            "Value"
        } else {
            "AverageValue"
        };
        target.insert("type".to_owned(), json!(kind));
        insert_quantity(&mut target, "value", value);
        insert_quantity(
            &mut target,
            "averageValue",
            get_ci(src, "targetAverageValue"),
        );
        out.insert(
            "external".to_owned(),
            json!({"metric": decode_identifier(src, "metricSelector"), "target": target}),
        );
    }
    Some(Value::Object(out))
}

/// A v2 `MetricStatus` from an autoscaling/v1 `MetricStatus` read from the
/// current-metrics annotation (`Convert_v1_MetricStatus_To_autoscaling_MetricStatus`).
fn decode_v1_metric_status(metric: &Value) -> Option<Value> {
    let m = Some(metric).filter(|m| m.is_object());
    m?;
    let mut out = Map::new();
    out.insert(
        "type".to_owned(),
        json!(string(get_ci(m, "type")).unwrap_or("")),
    );
    if let Some(src) = object(get_ci(m, "object")) {
        let src = Some(src);
        let mut current = Map::new();
        insert_quantity_or_zero(&mut current, "value", get_ci(src, "currentValue"));
        insert_quantity(&mut current, "averageValue", get_ci(src, "averageValue"));
        out.insert(
            "object".to_owned(),
            json!({
                "metric": decode_identifier(src, "selector"),
                "current": current,
                "describedObject": decode_reference(get_ci(src, "target")),
            }),
        );
    }
    if let Some(src) = object(get_ci(m, "pods")) {
        let src = Some(src);
        let mut current = Map::new();
        insert_quantity_or_zero(
            &mut current,
            "averageValue",
            get_ci(src, "currentAverageValue"),
        );
        out.insert(
            "pods".to_owned(),
            json!({"metric": decode_identifier(src, "selector"), "current": current}),
        );
    }
    for (key, container) in [("resource", false), ("containerResource", true)] {
        if let Some(src) = object(get_ci(m, key)) {
            let src = Some(src);
            let mut current = Map::new();
            insert_quantity_or_zero(
                &mut current,
                "averageValue",
                get_ci(src, "currentAverageValue"),
            );
            insert_int(
                &mut current,
                "averageUtilization",
                get_ci(src, "currentAverageUtilization"),
            );
            let mut s = Map::new();
            s.insert(
                "name".to_owned(),
                json!(string(get_ci(src, "name")).unwrap_or("")),
            );
            s.insert("current".to_owned(), Value::Object(current));
            if container {
                s.insert(
                    "container".to_owned(),
                    json!(string(get_ci(src, "container")).unwrap_or("")),
                );
            }
            out.insert(key.to_owned(), Value::Object(s));
        }
    }
    if let Some(src) = object(get_ci(m, "external")) {
        let src = Some(src);
        let mut current = Map::new();
        insert_quantity_or_zero(&mut current, "value", get_ci(src, "currentValue"));
        insert_quantity(
            &mut current,
            "averageValue",
            get_ci(src, "currentAverageValue"),
        );
        out.insert(
            "external".to_owned(),
            json!({"metric": decode_identifier(src, "metricSelector"), "current": current}),
        );
    }
    Some(Value::Object(out))
}

/// A v2 condition from a v1 condition read from the conditions annotation.
fn decode_v1_condition(condition: &Value) -> Option<Value> {
    let c = Some(condition).filter(|c| c.is_object());
    c?;
    let mut out = Map::new();
    out.insert(
        "type".to_owned(),
        json!(string(get_ci(c, "type")).unwrap_or("")),
    );
    out.insert(
        "status".to_owned(),
        json!(string(get_ci(c, "status")).unwrap_or("")),
    );
    if let Some(time) = string(get_ci(c, "lastTransitionTime")) {
        out.insert("lastTransitionTime".to_owned(), json!(time));
    }
    if let Some(reason) = non_empty(get_ci(c, "reason")) {
        out.insert("reason".to_owned(), json!(reason));
    }
    if let Some(message) = non_empty(get_ci(c, "message")) {
        out.insert("message".to_owned(), json!(message));
    }
    Some(Value::Object(out))
}

/// v2 `spec.behavior` from the behavior annotation (the internal type as Go
/// marshals it; field names matched case-insensitively). `None` when it does
/// not parse or sets neither direction: upstream moves only well-formed,
/// non-empty behavior into the spec.
fn decode_internal_behavior(text: &str) -> Option<Value> {
    let behavior = serde_json::from_str::<Value>(text).ok()?;
    let behavior = object(Some(&behavior))?;
    let mut out = Map::new();
    for key in ["scaleUp", "scaleDown"] {
        if let Some(rules) = object(get_ci(Some(behavior), key)) {
            out.insert(key.to_owned(), decode_internal_rules(rules));
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// v2 `HPAScalingRules` from the internal type's Go marshalling.
fn decode_internal_rules(rules: &Value) -> Value {
    let r = Some(rules);
    let mut out = Map::new();
    insert_int(
        &mut out,
        "stabilizationWindowSeconds",
        get_ci(r, "stabilizationWindowSeconds"),
    );
    if let Some(policy) = string(get_ci(r, "selectPolicy")) {
        out.insert("selectPolicy".to_owned(), json!(policy));
    }
    let policies: Vec<Value> = get_ci(r, "policies")
        .and_then(Value::as_array)
        .map(|policies| {
            policies
                .iter()
                .filter(|p| p.is_object())
                .map(|p| {
                    let p = Some(p);
                    json!({
                        "type": string(get_ci(p, "type")).unwrap_or(""),
                        "value": int32(get_ci(p, "value")).unwrap_or(0),
                        "periodSeconds": int32(get_ci(p, "periodSeconds")).unwrap_or(0),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    // `omitempty` on a slice drops an empty one.
    if !policies.is_empty() {
        out.insert("policies".to_owned(), Value::Array(policies));
    }
    insert_quantity(&mut out, "tolerance", get_ci(r, "tolerance"));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::super::convert;
    use super::*;

    const V1: &str = "autoscaling/v1";
    const V2: &str = "autoscaling/v2";
    const HPA: &str = "HorizontalPodAutoscaler";

    fn to_v1(v: Value) -> Value {
        convert(HPA, V2, V1, v)
    }

    fn to_v2(v: Value) -> Value {
        convert(HPA, V1, V2, v)
    }

    /// `object[path…]`, `Null` when any step is missing.
    fn at(object: &Value, path: &[&str]) -> Value {
        let mut cur = object;
        for key in path {
            match cur.get(key) {
                Some(next) => cur = next,
                None => return Value::Null,
            }
        }
        cur.clone()
    }

    /// The parsed value of an annotation of a converted object.
    fn annotation_json(object: &Value, key: &str) -> Value {
        at(object, &["metadata", "annotations", key])
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null)
    }

    /// The HPA from the upstream walkthrough
    /// (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale-walkthrough),
    /// autoscaling/v1 form, as the server returns it once the controller ran.
    fn walkthrough_v1() -> Value {
        json!({
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "php-apache", "namespace": "default", "resourceVersion": "12", "uid": "u"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
                "minReplicas": 1,
                "maxReplicas": 10,
                "targetCPUUtilizationPercentage": 50
            },
            "status": {
                "observedGeneration": 1,
                "lastScaleTime": "2024-01-01T00:10:00Z",
                "currentReplicas": 1,
                "desiredReplicas": 1,
                "currentCPUUtilizationPercentage": 0
            }
        })
    }

    /// A v2 HPA using every part v1 cannot express: the walkthrough's
    /// multi-metric example plus behavior (from the "configurable scaling
    /// behavior" docs), current metrics and conditions. The CPU utilization
    /// metric is last, where v1 → v2 puts it back.
    fn full_v2() -> Value {
        json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "php-apache", "namespace": "default", "annotations": {"team": "web"}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
                "minReplicas": 1,
                "maxReplicas": 10,
                "metrics": [
                    {"type": "Pods", "pods": {"metric": {"name": "packets-per-second"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
                    {"type": "Object", "object": {"metric": {"name": "requests-per-second"}, "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main-route"}, "target": {"type": "Value", "value": "10k"}}},
                    {"type": "External", "external": {"metric": {"name": "queue_messages_ready", "selector": {"matchLabels": {"queue": "worker_tasks"}}}, "target": {"type": "AverageValue", "averageValue": "30"}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                    {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "application", "target": {"type": "Utilization", "averageUtilization": 60}}},
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
                ],
                "behavior": {
                    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min", "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}, {"type": "Pods", "value": 5, "periodSeconds": 60}]},
                    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}], "tolerance": "50m"}
                }
            },
            "status": {
                "observedGeneration": 3,
                "lastScaleTime": "2024-01-01T00:10:00Z",
                "currentReplicas": 2,
                "desiredReplicas": 3,
                "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "250m", "averageUtilization": 62}}},
                    {"type": "Pods", "pods": {"metric": {"name": "packets-per-second"}, "current": {"averageValue": "1200"}}},
                    {"type": "Object", "object": {"metric": {"name": "requests-per-second"}, "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main-route"}, "current": {"value": "12k"}}},
                    {"type": "External", "external": {"metric": {"name": "queue_messages_ready", "selector": {"matchLabels": {"queue": "worker_tasks"}}}, "current": {"value": "0", "averageValue": "31"}}},
                    {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "application", "current": {"averageValue": "120m", "averageUtilization": 58}}}
                ],
                "conditions": [
                    {"type": "AbleToScale", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
                    {"type": "ScalingActive", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "ValidMetricFound", "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"},
                    {"type": "ScalingLimited", "status": "False", "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "DesiredWithinRange", "message": "the desired count is within the acceptable range"}
                ]
            }
        })
    }

    #[test]
    fn v2_round_trips_through_v1_unchanged() {
        let there = to_v1(full_v2());
        assert_eq!(to_v2(there), full_v2());
    }

    #[test]
    fn v2_to_v1_maps_cpu_target_and_replica_fields_directly() {
        let v1 = to_v1(full_v2());
        assert_eq!(at(&v1, &["apiVersion"]), json!("autoscaling/v1"));
        assert_eq!(at(&v1, &["kind"]), json!("HorizontalPodAutoscaler"));
        assert_eq!(
            at(&v1, &["spec"]),
            json!({
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
                "minReplicas": 1, "maxReplicas": 10, "targetCPUUtilizationPercentage": 50
            })
        );
        assert_eq!(
            at(&v1, &["status"]),
            json!({"observedGeneration": 3, "lastScaleTime": "2024-01-01T00:10:00Z", "currentReplicas": 2, "desiredReplicas": 3, "currentCPUUtilizationPercentage": 62})
        );
        assert_eq!(at(&v1, &["metadata", "annotations", "team"]), json!("web"));
    }

    #[test]
    fn v2_to_v1_annotations_are_byte_for_byte_what_go_marshals() {
        let v1 = to_v1(full_v2());
        let annotations = at(&v1, &["metadata", "annotations"]);
        assert_eq!(
            at(&annotations, &[METRIC_SPECS_ANNOTATION]),
            json!(concat!(
                r#"[{"type":"Pods","pods":{"metricName":"packets-per-second","targetAverageValue":"1k"}},"#,
                r#"{"type":"Object","object":{"target":{"kind":"Ingress","name":"main-route","apiVersion":"networking.k8s.io/v1"},"metricName":"requests-per-second","targetValue":"10k"}},"#,
                r#"{"type":"External","external":{"metricName":"queue_messages_ready","metricSelector":{"matchLabels":{"queue":"worker_tasks"}},"targetAverageValue":"30"}},"#,
                r#"{"type":"Resource","resource":{"name":"memory","targetAverageValue":"500Mi"}},"#,
                r#"{"type":"ContainerResource","containerResource":{"name":"cpu","targetAverageUtilization":60,"container":"application"}}]"#
            ))
        );
        assert_eq!(
            at(&annotations, &[METRIC_STATUSES_ANNOTATION]),
            json!(concat!(
                r#"[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":62,"currentAverageValue":"250m"}},"#,
                r#"{"type":"Pods","pods":{"metricName":"packets-per-second","currentAverageValue":"1200"}},"#,
                r#"{"type":"Object","object":{"target":{"kind":"Ingress","name":"main-route","apiVersion":"networking.k8s.io/v1"},"metricName":"requests-per-second","currentValue":"12k"}},"#,
                r#"{"type":"External","external":{"metricName":"queue_messages_ready","metricSelector":{"matchLabels":{"queue":"worker_tasks"}},"currentValue":"0","currentAverageValue":"31"}},"#,
                r#"{"type":"ContainerResource","containerResource":{"name":"cpu","currentAverageUtilization":58,"currentAverageValue":"120m","container":"application"}}]"#
            ))
        );
        assert_eq!(
            at(&annotations, &[BEHAVIOR_ANNOTATION]),
            json!(concat!(
                r#"{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":"50m"},"#,
                r#""ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":"Min","Policies":[{"Type":"Percent","Value":10,"PeriodSeconds":60},{"Type":"Pods","Value":5,"PeriodSeconds":60}],"Tolerance":null}}"#
            ))
        );
        assert_eq!(
            at(&annotations, &[CONDITIONS_ANNOTATION]),
            json!(concat!(
                r#"[{"type":"AbleToScale","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z","reason":"ReadyForNewScale","message":"recommended size matches current size"},"#,
                r#"{"type":"ScalingActive","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z","reason":"ValidMetricFound","message":"the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"},"#,
                r#"{"type":"ScalingLimited","status":"False","lastTransitionTime":"2024-01-01T00:00:00Z","reason":"DesiredWithinRange","message":"the desired count is within the acceptable range"}]"#
            ))
        );
    }

    #[test]
    fn v1_to_v2_turns_cpu_percentages_into_metrics() {
        let v2 = to_v2(walkthrough_v1());
        assert_eq!(
            v2,
            json!({
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "php-apache", "namespace": "default", "resourceVersion": "12", "uid": "u"},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
                    "minReplicas": 1,
                    "maxReplicas": 10,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
                },
                "status": {
                    "observedGeneration": 1,
                    "lastScaleTime": "2024-01-01T00:10:00Z",
                    "currentReplicas": 1,
                    "desiredReplicas": 1,
                    "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 0}}}]
                }
            })
        );
    }

    #[test]
    fn v1_without_status_percentage_round_trips_through_v2_unchanged() {
        let mut v1 = walkthrough_v1();
        if let Some(status) = v1.get_mut("status").and_then(Value::as_object_mut) {
            status.remove("currentCPUUtilizationPercentage");
        }
        assert_eq!(to_v1(to_v2(v1.clone())), v1);
    }

    #[test]
    fn v1_with_round_trip_annotations_round_trips_through_v2_unchanged() {
        // A v1 object as upstream serves it: annotations written by v2 → v1.
        let v1 = to_v1(full_v2());
        assert_eq!(to_v1(to_v2(v1.clone())), v1);
    }

    #[test]
    fn v1_to_v2_consumes_and_drops_the_round_trip_annotations() {
        let v2 = to_v2(to_v1(full_v2()));
        assert_eq!(
            at(&v2, &["metadata", "annotations"]),
            json!({"team": "web"})
        );
        let only_ours = to_v2(
            json!({"metadata": {"annotations": {BEHAVIOR_ANNOTATION: "{\"ScaleUp\":{}}"}}, "spec": {"targetCPUUtilizationPercentage": 70}}),
        );
        assert_eq!(at(&only_ours, &["metadata"]), json!({}));
        assert_eq!(
            at(&only_ours, &["spec", "behavior"]),
            json!({"scaleUp": {}})
        );
    }

    #[test]
    fn v2_to_v1_replaces_stale_round_trip_annotations() {
        let mut v2 = full_v2();
        if let Some(annotations) = v2
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            annotations.insert(
                METRIC_SPECS_ANNOTATION.to_owned(),
                json!("[{\"type\":\"Stale\"}]"),
            );
            annotations.insert(TOLERANCE_SCALE_UP_ANNOTATION.to_owned(), json!("1"));
        }
        if let Some(spec) = v2.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("behavior");
            spec.insert("metrics".to_owned(), json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]));
        }
        let v1 = to_v1(v2);
        let annotations = at(&v1, &["metadata", "annotations"]);
        assert_eq!(annotations.get(METRIC_SPECS_ANNOTATION), None);
        assert_eq!(annotations.get(TOLERANCE_SCALE_UP_ANNOTATION), None);
        assert_eq!(annotations.get(BEHAVIOR_ANNOTATION), None);
        assert!(annotations.get(METRIC_STATUSES_ANNOTATION).is_some());
    }

    #[test]
    fn v2_with_only_a_cpu_target_gets_no_annotations_in_v1() {
        let v2 = json!({"metadata": {"name": "a"}, "spec": {"maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}});
        assert_eq!(
            to_v1(v2.clone()),
            json!({"apiVersion": V1, "kind": HPA, "metadata": {"name": "a"}, "spec": {"maxReplicas": 3, "targetCPUUtilizationPercentage": 70}})
        );
        assert_eq!(
            to_v2(to_v1(v2)),
            json!({"apiVersion": V2, "kind": HPA, "metadata": {"name": "a"}, "spec": {"maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}})
        );
    }

    #[test]
    fn v1_without_any_metric_gets_the_default_cpu_target() {
        let v2 = to_v2(json!({"spec": {"maxReplicas": 4}}));
        assert_eq!(
            at(&v2, &["spec", "metrics"]),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        let no_spec = to_v2(json!({"metadata": {"name": "a"}}));
        assert_eq!(
            at(&no_spec, &["spec", "metrics"]),
            at(&v2, &["spec", "metrics"])
        );
    }

    #[test]
    fn v1_with_only_other_metrics_gets_no_default_cpu_target() {
        let annotation =
            r#"[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]"#;
        let v2 = to_v2(
            json!({"metadata": {"annotations": {METRIC_SPECS_ANNOTATION: annotation}}, "spec": {"maxReplicas": 4}}),
        );
        assert_eq!(
            at(&v2, &["spec", "metrics"]),
            json!([{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}])
        );
    }

    #[test]
    fn first_cpu_utilization_metric_becomes_the_v1_target_even_after_a_cpu_value_metric() {
        let v2 = json!({"spec": {"metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "300m"}}},
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
        ]}});
        let v1 = to_v1(v2);
        assert_eq!(
            at(&v1, &["spec", "targetCPUUtilizationPercentage"]),
            json!(70)
        );
        assert_eq!(
            annotation_json(&v1, METRIC_SPECS_ANNOTATION),
            json!([{"type": "Resource", "resource": {"name": "cpu", "targetAverageValue": "300m"}}])
        );
    }

    #[test]
    fn v1_annotations_are_read_case_insensitively_like_encoding_json() {
        let v1 = json!({
            "metadata": {"annotations": {
                BEHAVIOR_ANNOTATION: r#"{"scaleDown":{"stabilizationWindowSeconds":60,"POLICIES":[{"type":"Pods","value":1,"periodSeconds":30}]}}"#,
                METRIC_SPECS_ANNOTATION: r#"[{"Type":"Resource","Resource":{"Name":"memory","TargetAverageUtilization":75}}]"#
            }},
            "spec": {"maxReplicas": 2}
        });
        let v2 = to_v2(v1);
        assert_eq!(
            at(&v2, &["spec", "behavior"]),
            json!({"scaleDown": {"stabilizationWindowSeconds": 60, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}]}})
        );
        assert_eq!(
            at(&v2, &["spec", "metrics"]),
            json!([{"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 75}}}])
        );
    }

    #[test]
    fn malformed_round_trip_annotations_are_ignored_and_dropped() {
        let v1 = json!({
            "metadata": {"annotations": {
                METRIC_SPECS_ANNOTATION: "not json",
                METRIC_STATUSES_ANNOTATION: "{\"an\":\"object\"}",
                CONDITIONS_ANNOTATION: "42",
                BEHAVIOR_ANNOTATION: "{}",
                "keep": "me"
            }},
            "spec": {"maxReplicas": 2, "targetCPUUtilizationPercentage": 40},
            "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 35}
        });
        assert_eq!(
            to_v2(v1),
            json!({
                "apiVersion": V2, "kind": HPA,
                "metadata": {"annotations": {"keep": "me"}},
                "spec": {"maxReplicas": 2, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 40}}}]},
                "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 35}}}]}
            })
        );
    }

    #[test]
    fn dropping_round_trip_annotations_removes_an_emptied_map_only() {
        let mut hpa = json!({"metadata": {"annotations": {METRIC_SPECS_ANNOTATION: "[]"}}});
        if let Some(map) = hpa.as_object_mut() {
            assert!(drop_round_trip_annotations(map));
        }
        assert_eq!(hpa, json!({"metadata": {}}));
        let mut untouched = json!({"metadata": {"annotations": {}}});
        if let Some(map) = untouched.as_object_mut() {
            assert!(!drop_round_trip_annotations(map));
        }
        assert_eq!(untouched, json!({"metadata": {"annotations": {}}}));
    }

    #[test]
    fn condition_messages_are_escaped_like_go_in_the_annotation() {
        let v2 = json!({"status": {"conditions": [{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric", "message": "<none> & \"quoted\""}]}});
        let v1 = to_v1(v2.clone());
        assert_eq!(
            at(&v1, &["metadata", "annotations", CONDITIONS_ANNOTATION]),
            json!(
                r#"[{"type":"ScalingActive","status":"False","lastTransitionTime":null,"reason":"FailedGetResourceMetric","message":"\u003cnone\u003e \u0026 \"quoted\""}]"#
            )
        );
        assert_eq!(
            at(&to_v2(v1), &["status", "conditions"]),
            at(&v2, &["status", "conditions"])
        );
    }

    #[test]
    fn selectors_are_encoded_with_go_field_order_and_sorted_labels() {
        let v2 = json!({"spec": {"metrics": [{"type": "External", "external": {
            "metric": {"name": "q", "selector": {"matchExpressions": [{"key": "b", "operator": "In", "values": ["x", "y"]}], "matchLabels": {"z": "1", "a": "2"}}},
            "target": {"type": "Value", "value": "5"}
        }}]}});
        let v1 = to_v1(v2.clone());
        assert_eq!(
            at(&v1, &["metadata", "annotations", METRIC_SPECS_ANNOTATION]),
            json!(
                r#"[{"type":"External","external":{"metricName":"q","metricSelector":{"matchLabels":{"a":"2","z":"1"},"matchExpressions":[{"key":"b","operator":"In","values":["x","y"]}]},"targetValue":"5"}}]"#
            )
        );
        let back = to_v2(v1);
        assert_eq!(
            back.pointer("/spec/metrics/0").cloned(),
            v2.pointer("/spec/metrics/0").cloned()
        );
    }

    #[test]
    fn empty_behavior_rules_survive_the_round_trip() {
        let v2 = json!({"spec": {"maxReplicas": 1, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}], "behavior": {"scaleUp": {}}}});
        let v1 = to_v1(v2.clone());
        assert_eq!(
            at(&v1, &["metadata", "annotations", BEHAVIOR_ANNOTATION]),
            json!(
                r#"{"ScaleUp":{"StabilizationWindowSeconds":null,"SelectPolicy":null,"Policies":null,"Tolerance":null},"ScaleDown":null}"#
            )
        );
        assert_eq!(at(&to_v2(v1), &["spec"]), at(&v2, &["spec"]));
    }

    // --- Where upstream 1.33 itself is lossy, so is this. ---

    #[test]
    fn upstream_moves_the_cpu_utilization_metric_to_the_end() {
        let v2 = json!({"spec": {"metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 60}}}
        ]}});
        let back = to_v2(to_v1(v2));
        assert_eq!(
            at(&back, &["spec", "metrics"]),
            json!([
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 60}}},
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
            ])
        );
    }

    #[test]
    fn upstream_keeps_only_the_first_of_several_cpu_utilization_metrics() {
        let v2 = json!({"spec": {"metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}}
        ]}});
        let back = to_v2(to_v1(v2));
        assert_eq!(
            at(&back, &["spec", "metrics"]),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}])
        );
    }

    #[test]
    fn upstream_fills_zero_quantities_for_v1_non_pointer_fields() {
        let v2 = json!({
            "spec": {"metrics": [{"type": "Object", "object": {"metric": {"name": "rps"}, "describedObject": {"kind": "Service", "name": "s"}, "target": {"type": "AverageValue", "averageValue": "100"}}}]},
            "status": {"currentMetrics": [
                {"type": "Resource", "resource": {"name": "memory", "current": {"averageUtilization": 40}}},
                {"type": "External", "external": {"metric": {"name": "q"}, "current": {"averageValue": "3"}}}
            ]}
        });
        let back = to_v2(to_v1(v2));
        assert_eq!(
            back.pointer("/spec/metrics/0/object/target").cloned(),
            Some(json!({"type": "AverageValue", "value": "0", "averageValue": "100"}))
        );
        assert_eq!(
            back.pointer("/status/currentMetrics/0/resource/current")
                .cloned(),
            Some(json!({"averageValue": "0", "averageUtilization": 40}))
        );
        assert_eq!(
            back.pointer("/status/currentMetrics/1/external/current")
                .cloned(),
            Some(json!({"value": "0", "averageValue": "3"}))
        );
    }

    #[test]
    fn upstream_adds_a_current_metrics_annotation_for_a_v1_status_percentage() {
        let back = to_v1(to_v2(walkthrough_v1()));
        assert_eq!(
            at(&back, &["status", "currentCPUUtilizationPercentage"]),
            json!(0)
        );
        assert_eq!(
            at(
                &back,
                &["metadata", "annotations", METRIC_STATUSES_ANNOTATION]
            ),
            json!(
                r#"[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":0,"currentAverageValue":"0"}}]"#
            )
        );
    }

    // --- Garbage in, no panic. ---

    #[test]
    fn garbage_hpas_convert_without_panicking() {
        let garbage = [
            json!({}),
            json!({"metadata": 5, "spec": [], "status": "x"}),
            json!({"metadata": {"annotations": 7}, "spec": {"metrics": 3, "behavior": []}}),
            json!({"metadata": {"annotations": {METRIC_SPECS_ANNOTATION: 3, BEHAVIOR_ANNOTATION: "[1,2]"}}}),
            json!({"spec": {"targetCPUUtilizationPercentage": "fifty", "metrics": [null, 1, "a", [], {"type": 5, "resource": "cpu"}]}}),
            json!({"spec": {"targetCPUUtilizationPercentage": 1e300, "behavior": {"scaleUp": {"policies": [null, {"value": "x"}], "tolerance": []}}}}),
            json!({"status": {"currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 99999999999u64}}}], "conditions": [5, {"type": []}]}}),
            json!({"metadata": {"annotations": {
                METRIC_SPECS_ANNOTATION: "[null,1,{\"type\":\"Object\",\"object\":{\"target\":7,\"selector\":{\"matchLabels\":[1],\"matchExpressions\":{}}}}]",
                METRIC_STATUSES_ANNOTATION: "[{\"external\":{\"metricSelector\":{\"matchExpressions\":[1,{\"values\":[1,\"a\"]}]}}}]",
                CONDITIONS_ANNOTATION: "[{\"lastTransitionTime\":5}]",
                BEHAVIOR_ANNOTATION: "{\"ScaleUp\":5,\"ScaleDown\":{\"Policies\":{}}}"
            }}}),
        ];
        for g in garbage {
            let v1 = to_v1(g.clone());
            let v2 = to_v2(g.clone());
            let _ = to_v2(v1);
            let _ = to_v1(v2);
        }
    }

    #[test]
    fn garbage_annotation_entries_decode_to_go_zero_values() {
        let v1 = json!({"metadata": {"annotations": {
            METRIC_SPECS_ANNOTATION: "[null,{\"type\":\"Object\",\"object\":{\"target\":7}}]",
            CONDITIONS_ANNOTATION: "[{\"lastTransitionTime\":5}]"
        }}});
        let v2 = to_v2(v1);
        assert_eq!(
            at(&v2, &["spec", "metrics"]),
            json!([{"type": "Object", "object": {"describedObject": {"kind": "", "name": ""}, "metric": {"name": ""}, "target": {"type": "Value", "value": "0"}}}])
        );
        assert_eq!(
            at(&v2, &["status", "conditions"]),
            json!([{"type": "", "status": ""}])
        );
    }
}
