//! Taint-based eviction: when a pod must leave a node with `NoExecute`
//! taints, given its tolerations.

use super::taints::NO_EXECUTE;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, Taint, Toleration};

/// Whether `toleration` tolerates `taint`.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if toleration
        .effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        _ => {
            key == taint.key
                && toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
    }
}

/// When a pod must go from a node with `taints`: `None` never, `Some(t)`
/// at `t` (now or earlier: at once).
pub fn eviction_time(pod: &Pod, taints: &[Taint], now: Timestamp) -> Option<Timestamp> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let mut when: Option<Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == NO_EXECUTE) {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(now);
        }
        // The shortest finite tolerationSeconds among the matching ones.
        let seconds = matching.iter().filter_map(|t| t.toleration_seconds).min();
        if let Some(seconds) = seconds {
            let added = taint.time_added.as_ref().map(|t| t.0).unwrap_or(now);
            let at = added
                .checked_add(jiff::SignedDuration::from_secs(seconds.max(0)))
                .unwrap_or(added);
            when = Some(when.map_or(at, |w: Timestamp| w.min(at)));
        }
    }
    when
}

#[cfg(test)]
mod tests {
    use super::super::taints::{NO_SCHEDULE, UNREACHABLE, with_taint};
    use super::*;
    use serde_json::json;

    fn pod(tolerations: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [], "tolerations": tolerations}}))
            .expect("pod")
    }

    #[test]
    fn eviction_honours_tolerations_and_their_seconds() {
        let now = Timestamp::now();
        let taints = with_taint(
            &with_taint(&[], NO_SCHEDULE, Some(UNREACHABLE), now),
            NO_EXECUTE,
            Some(UNREACHABLE),
            now,
        );
        assert_eq!(eviction_time(&pod(json!([])), &taints, now), Some(now));
        let forever =
            pod(json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]));
        assert_eq!(eviction_time(&forever, &taints, now), None);
        let five = pod(
            json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]),
        );
        let at = eviction_time(&five, &taints, now).expect("deadline");
        assert_eq!(at.duration_since(now).as_secs(), 5);
        let everything = pod(json!([{"operator": "Exists"}]));
        assert_eq!(eviction_time(&everything, &taints, now), None);
    }

    #[test]
    fn no_schedule_taints_alone_evict_nothing() {
        let now = Timestamp::now();
        let taints = with_taint(&[], NO_SCHEDULE, Some(UNREACHABLE), now);
        assert_eq!(eviction_time(&pod(json!([])), &taints, now), None);
    }

    #[test]
    fn equal_tolerations_match_the_value() {
        let taint = Taint {
            key: "k".into(),
            value: Some("v".into()),
            effect: NO_EXECUTE.into(),
            time_added: None,
        };
        let equal = |value: &str| Toleration {
            key: Some("k".into()),
            operator: Some("Equal".into()),
            value: Some(value.into()),
            ..Default::default()
        };
        assert!(tolerates(&equal("v"), &taint));
        assert!(!tolerates(&equal("w"), &taint));
    }
}
