//! TaintToleration: NoSchedule/NoExecute taints must be tolerated (filter);
//! fewer untolerated PreferNoSchedule taints score higher.

use k8s_openapi::api::core::v1::{Taint, Toleration};

use super::super::framework::Status;
use super::super::node_info::NodeInfo;

/// Plugin name.
pub const NAME: &str = "TaintToleration";
/// Filter failure reason (upstream's current wording, which no longer names the taint).
pub const ERR_REASON_NOT_MATCH: &str = "node(s) had untolerated taint(s)";

/// `NoSchedule` effect.
pub const EFFECT_NO_SCHEDULE: &str = "NoSchedule";
/// `PreferNoSchedule` effect.
pub const EFFECT_PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";
/// `NoExecute` effect.
pub const EFFECT_NO_EXECUTE: &str = "NoExecute";

/// Whether toleration `t` tolerates `taint` (upstream `ToleratesTaint`): an
/// empty effect matches all effects, an empty key matches all keys, `Exists`
/// ignores the value and `Equal` (or empty) compares it.
pub fn toleration_tolerates_taint(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    if let Some(key) = t.key.as_deref().filter(|k| !k.is_empty())
        && key != taint.key
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// Whether any of `tolerations` tolerates `taint`.
pub fn tolerations_tolerate_taint<'a>(
    tolerations: impl IntoIterator<Item = &'a Toleration>,
    taint: &Taint,
) -> bool {
    tolerations
        .into_iter()
        .any(|t| toleration_tolerates_taint(t, taint))
}

/// Checks a pod's tolerations for operators and effects the API does not define.
///
/// # Errors
///
/// A description of the first invalid toleration.
pub fn validate_tolerations(tolerations: &[Toleration]) -> Result<(), String> {
    for (i, t) in tolerations.iter().enumerate() {
        let op = t.operator.as_deref().unwrap_or("");
        if !matches!(op, "" | "Equal" | "Exists") {
            return Err(format!(
                "spec.tolerations[{i}].operator: Unsupported value: {op:?}: supported values: \"Equal\", \"Exists\""
            ));
        }
        let effect = t.effect.as_deref().unwrap_or("");
        if !matches!(
            effect,
            "" | EFFECT_NO_SCHEDULE | EFFECT_PREFER_NO_SCHEDULE | EFFECT_NO_EXECUTE
        ) {
            return Err(format!(
                "spec.tolerations[{i}].effect: Unsupported value: {effect:?}: supported values: \"NoExecute\", \"NoSchedule\", \"PreferNoSchedule\""
            ));
        }
    }
    Ok(())
}

/// Taint effects that keep pods off a node. Unknown effects (a newer API or a
/// corrupt object) are treated like NoSchedule: refusing is the safe choice.
fn blocks_scheduling(effect: &str) -> bool {
    effect != EFFECT_PREFER_NO_SCHEDULE
}

/// The first taint that keeps the pod off the node, if any.
pub fn find_untolerated_taint<'a>(
    tolerations: &[Toleration],
    taints: &'a [Taint],
) -> Option<&'a Taint> {
    taints.iter().find(|taint| {
        blocks_scheduling(&taint.effect) && !tolerations_tolerate_taint(tolerations, taint)
    })
}

/// Filter: fails (unresolvable) when a NoSchedule/NoExecute taint is not tolerated.
pub fn filter(tolerations: &[Toleration], node: &NodeInfo) -> Option<Status> {
    find_untolerated_taint(tolerations, node.taints())
        .map(|_| Status::unresolvable(NAME, ERR_REASON_NOT_MATCH))
}

/// The tolerations relevant to scoring (effect PreferNoSchedule or empty).
pub fn prefer_no_schedule_tolerations(tolerations: &[Toleration]) -> Vec<&Toleration> {
    tolerations
        .iter()
        .filter(|t| {
            matches!(
                t.effect.as_deref(),
                None | Some("") | Some(EFFECT_PREFER_NO_SCHEDULE)
            )
        })
        .collect()
}

/// Score (before reverse normalisation): number of PreferNoSchedule taints not tolerated.
pub fn score(prefer_tolerations: &[&Toleration], node: &NodeInfo) -> i64 {
    node.taints()
        .iter()
        .filter(|t| t.effect == EFFECT_PREFER_NO_SCHEDULE)
        .filter(|t| !tolerations_tolerate_taint(prefer_tolerations.iter().copied(), t))
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::super::super::test_util::node_json;
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: value.map(Into::into),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn tol(v: serde_json::Value) -> Toleration {
        serde_json::from_value(v).expect("toleration")
    }

    fn tainted(taints: serde_json::Value) -> NodeInfo {
        NodeInfo::new(Arc::new(node_json(
            json!({"metadata": {"name": "n"}, "spec": {"taints": taints}}),
        )))
    }

    #[test]
    fn operators_and_wildcards() {
        let t = taint("dedicated", Some("gpu"), EFFECT_NO_SCHEDULE);
        assert!(toleration_tolerates_taint(
            &tol(
                json!({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"})
            ),
            &t
        ));
        assert!(!toleration_tolerates_taint(
            &tol(json!({"key": "dedicated", "operator": "Equal", "value": "cpu"})),
            &t
        ));
        // Empty operator means Equal.
        assert!(toleration_tolerates_taint(
            &tol(json!({"key": "dedicated", "value": "gpu"})),
            &t
        ));
        assert!(toleration_tolerates_taint(
            &tol(json!({"key": "dedicated", "operator": "Exists"})),
            &t
        ));
        // Empty key with Exists tolerates everything.
        assert!(toleration_tolerates_taint(
            &tol(json!({"operator": "Exists"})),
            &t
        ));
        // Effect must match when set.
        assert!(!toleration_tolerates_taint(
            &tol(json!({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"})),
            &t
        ));
        // Unknown operator never tolerates.
        assert!(!toleration_tolerates_taint(
            &tol(json!({"key": "dedicated", "operator": "Gt"})),
            &t
        ));
    }

    #[test]
    fn filter_considers_no_schedule_and_no_execute_only() {
        let n = tainted(json!([{"key": "a", "value": "1", "effect": "PreferNoSchedule"}]));
        assert!(filter(&[], &n).is_none());
        let n = tainted(json!([{"key": "a", "value": "1", "effect": "NoExecute"}]));
        let st = filter(&[], &n).expect("fails");
        assert_eq!(st.reasons, [ERR_REASON_NOT_MATCH]);
        assert!(filter(&[tol(json!({"key": "a", "operator": "Exists"}))], &n).is_none());
        let n = tainted(
            json!([{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoSchedule"}]),
        );
        assert!(filter(&[tol(json!({"key": "a", "operator": "Exists"}))], &n).is_some());
        // Unknown effect: treated as blocking.
        let n = tainted(json!([{"key": "a", "effect": "Sometimes"}]));
        assert!(filter(&[], &n).is_some());
    }

    #[test]
    fn score_counts_untolerated_prefer_no_schedule() {
        let n = tainted(json!([
            {"key": "a", "effect": "PreferNoSchedule"},
            {"key": "b", "effect": "PreferNoSchedule"},
            {"key": "c", "effect": "NoSchedule"}]));
        assert_eq!(score(&[], &n), 2);
        let tols = [
            tol(json!({"key": "a", "operator": "Exists", "effect": "PreferNoSchedule"})),
            // NoSchedule-only tolerations do not count for scoring.
            tol(json!({"key": "b", "operator": "Exists", "effect": "NoSchedule"})),
        ];
        let prefer = prefer_no_schedule_tolerations(&tols);
        assert_eq!(score(&prefer, &n), 1);
    }

    #[test]
    fn invalid_tolerations_are_reported() {
        assert!(validate_tolerations(&[tol(json!({"key": "a", "operator": "Maybe"}))]).is_err());
        assert!(validate_tolerations(&[tol(json!({"key": "a", "effect": "Soon"}))]).is_err());
        assert!(validate_tolerations(&[tol(json!({"operator": "Exists"}))]).is_ok());
    }
}
