//! `DefaultTolerationSeconds`: every pod tolerates a node going not-ready
//! or unreachable for five minutes before the node lifecycle controller
//! evicts it — unless the pod already says how it tolerates those taints.
//!
//! Runs on pod create and update (the main resource only). A pod is left
//! alone for a taint when any of its tolerations covers that taint's key
//! (or has no key, matching every key) with effect `NoExecute` (or no
//! effect, matching every effect); the operator and value are not looked
//! at, as upstream.

use serde_json::{Map, Value, json};

/// The taint a node gets while its Ready condition is False.
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
/// The taint a node gets while its Ready condition is Unknown.
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
/// How long the added tolerations last (upstream's flag defaults).
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Whether `toleration` covers the `NoExecute` taint with key `taint_key`
/// in the sense of this plugin.
fn covers(toleration: &Value, taint_key: &str) -> bool {
    let field = |name: &str| toleration.get(name).and_then(Value::as_str).unwrap_or("");
    let key = field("key");
    let effect = field("effect");
    (key.is_empty() || key == taint_key) && (effect.is_empty() || effect == "NoExecute")
}

/// The toleration this plugin adds for `taint_key`.
fn default_toleration(taint_key: &str) -> Value {
    json!({
        "key": taint_key,
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
    })
}

/// Appends the not-ready and unreachable tolerations a pod lacks. A pod
/// without a `spec` object, or whose `spec.tolerations` is not a list, is
/// left for validation to reject.
pub fn admit(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(tolerations) = tolerations_mut(spec) else {
        return;
    };
    let missing: Vec<&str> = [NOT_READY_TAINT, UNREACHABLE_TAINT]
        .into_iter()
        .filter(|taint| !tolerations.iter().any(|t| covers(t, taint)))
        .collect();
    tolerations.extend(missing.into_iter().map(default_toleration));
}

/// `spec.tolerations`, created empty when absent or null.
fn tolerations_mut(spec: &mut Map<String, Value>) -> Option<&mut Vec<Value>> {
    let tolerations = spec.entry("tolerations").or_insert(Value::Null);
    if tolerations.is_null() {
        *tolerations = Value::Array(Vec::new());
    }
    tolerations.as_array_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_with(tolerations: Value) -> Value {
        json!({"spec": {"containers": [{"name": "c", "image": "i"}], "tolerations": tolerations}})
    }

    fn keys_and_seconds(pod: &Value) -> Vec<(String, Option<i64>)> {
        pod["spec"]["tolerations"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|t| {
                        (
                            t["key"].as_str().unwrap_or("").to_owned(),
                            t["tolerationSeconds"].as_i64(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_pod_without_tolerations_gets_both_for_five_minutes() {
        let mut pod = json!({"spec": {"containers": [{"name": "c", "image": "i"}]}});
        admit(&mut pod);
        assert_eq!(
            pod["spec"]["tolerations"],
            json!([
                {"key": NOT_READY_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ])
        );
    }

    #[test]
    fn admitting_twice_adds_nothing_more() {
        let mut pod = pod_with(Value::Null);
        admit(&mut pod);
        let once = pod.clone();
        admit(&mut pod);
        assert_eq!(pod, once);
    }

    #[test]
    fn an_own_no_execute_toleration_for_one_taint_keeps_only_the_other_default() {
        let mut pod = pod_with(json!([
            {"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}
        ]));
        admit(&mut pod);
        assert_eq!(
            keys_and_seconds(&pod),
            vec![
                (UNREACHABLE_TAINT.to_owned(), Some(2)),
                (NOT_READY_TAINT.to_owned(), Some(300)),
            ]
        );
    }

    #[test]
    fn an_empty_effect_or_empty_key_covers_the_taints() {
        let mut any_effect = pod_with(json!([{"key": NOT_READY_TAINT, "operator": "Exists"}]));
        admit(&mut any_effect);
        assert_eq!(
            keys_and_seconds(&any_effect),
            vec![
                (NOT_READY_TAINT.to_owned(), None),
                (UNREACHABLE_TAINT.to_owned(), Some(300)),
            ]
        );
        let mut wildcard = pod_with(json!([{"operator": "Exists"}]));
        admit(&mut wildcard);
        assert_eq!(keys_and_seconds(&wildcard), vec![(String::new(), None)]);
        let mut wildcard_no_execute =
            pod_with(json!([{"operator": "Exists", "effect": "NoExecute"}]));
        admit(&mut wildcard_no_execute);
        assert_eq!(keys_and_seconds(&wildcard_no_execute).len(), 1);
    }

    #[test]
    fn tolerations_with_other_effects_or_keys_do_not_count() {
        let mut pod = pod_with(json!([
            {"key": NOT_READY_TAINT, "operator": "Exists", "effect": "NoSchedule"},
            {"operator": "Exists", "effect": "PreferNoSchedule"},
            {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoExecute"},
        ]));
        admit(&mut pod);
        let list = keys_and_seconds(&pod);
        assert_eq!(list.len(), 5);
        assert_eq!(list[3], (NOT_READY_TAINT.to_owned(), Some(300)));
        assert_eq!(list[4], (UNREACHABLE_TAINT.to_owned(), Some(300)));
    }

    #[test]
    fn malformed_specs_are_left_for_validation() {
        let mut no_spec = json!({"metadata": {"name": "p"}});
        admit(&mut no_spec);
        assert_eq!(no_spec, json!({"metadata": {"name": "p"}}));
        let mut not_a_list = json!({"spec": {"tolerations": "x"}});
        admit(&mut not_a_list);
        assert_eq!(not_a_list["spec"]["tolerations"], "x");
    }
}
