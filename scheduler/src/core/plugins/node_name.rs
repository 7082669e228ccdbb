//! NodeName: a pod with `spec.nodeName` only fits that node.

use k8s_openapi::api::core::v1::Pod;

use super::super::framework::Status;
use super::super::node_info::NodeInfo;

/// Plugin name.
pub const NAME: &str = "NodeName";
/// Filter failure reason.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// Filter (unresolvable).
pub fn filter(pod: &Pod, node: &NodeInfo) -> Option<Status> {
    match pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
        Some(want) if !want.is_empty() && want != node.name() => {
            Some(Status::unresolvable(NAME, ERR_REASON))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_util::{node_json, pod};
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn only_the_named_node_fits() {
        let n = NodeInfo::new(Arc::new(node_json(json!({"metadata": {"name": "n1"}}))));
        let p =
            pod(json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n2", "containers": []}}));
        assert_eq!(
            filter(&p, &n).map(|s| s.reasons),
            Some(vec![ERR_REASON.into()])
        );
        let p =
            pod(json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": []}}));
        assert!(filter(&p, &n).is_none());
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": []}}));
        assert!(filter(&p, &n).is_none());
    }
}
