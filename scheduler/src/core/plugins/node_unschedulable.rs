//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`) only take pods
//! tolerating the `node.kubernetes.io/unschedulable:NoSchedule` taint.

use k8s_openapi::api::core::v1::{Taint, Toleration};

use super::super::framework::Status;
use super::super::node_info::NodeInfo;
use super::taint_toleration::{EFFECT_NO_SCHEDULE, tolerations_tolerate_taint};

/// Plugin name.
pub const NAME: &str = "NodeUnschedulable";
/// Filter failure reason.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// The taint key a pod must tolerate to land on a cordoned node.
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// Filter (unresolvable).
pub fn filter(tolerations: &[Toleration], node: &NodeInfo) -> Option<Status> {
    if !node.unschedulable() {
        return None;
    }
    let taint = Taint {
        key: TAINT_NODE_UNSCHEDULABLE.to_owned(),
        effect: EFFECT_NO_SCHEDULE.to_owned(),
        value: None,
        time_added: None,
    };
    if tolerations_tolerate_taint(tolerations, &taint) {
        None
    } else {
        Some(Status::unresolvable(NAME, ERR_REASON_UNSCHEDULABLE))
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_util::node_json;
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn cordoned_node_needs_toleration() {
        let n = NodeInfo::new(Arc::new(node_json(
            json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}}),
        )));
        assert_eq!(
            filter(&[], &n).map(|s| s.reasons),
            Some(vec![ERR_REASON_UNSCHEDULABLE.into()])
        );
        let tol: Toleration = serde_json::from_value(
            json!({"key": TAINT_NODE_UNSCHEDULABLE, "operator": "Exists", "effect": "NoSchedule"}),
        )
        .expect("toleration");
        assert!(filter(&[tol], &n).is_none());
        let open = NodeInfo::new(Arc::new(node_json(json!({"metadata": {"name": "m"}}))));
        assert!(filter(&[], &open).is_none());
    }
}
