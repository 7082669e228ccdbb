//! NodePorts: a pod's host ports must be free on the node.

use super::super::framework::Status;
use super::super::node_info::NodeInfo;
use super::super::pod_info::HostPort;

/// Plugin name.
pub const NAME: &str = "NodePorts";
/// Filter failure reason.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// Filter (resolvable by preemption).
pub fn filter(wanted: &[HostPort], node: &NodeInfo) -> Option<Status> {
    if wanted.iter().any(|p| node.port_conflicts(p)) {
        Some(Status::unschedulable(NAME, ERR_REASON))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::framework::Code;
    use super::super::super::test_util::{node, pod};
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn with_port(ip: Option<&str>, proto: Option<&str>, port: i32) -> NodeInfo {
        let mut ni = NodeInfo::new(Arc::new(node("n", "4", "8Gi", 110)));
        let mut p = json!({"containerPort": 1, "hostPort": port});
        if let Some(ip) = ip {
            p["hostIP"] = json!(ip);
        }
        if let Some(proto) = proto {
            p["protocol"] = json!(proto);
        }
        ni.add_pod(&pod(json!({"metadata": {"name": "x", "uid": "x"},
            "spec": {"containers": [{"name": "c", "ports": [p]}]}})));
        ni
    }

    #[test]
    fn conflicts_follow_ip_and_protocol_rules() {
        let hp = |ip: Option<&str>, proto: Option<&str>, port| vec![HostPort::new(ip, proto, port)];
        let n = with_port(None, None, 8080);
        let st = filter(&hp(None, None, 8080), &n).expect("conflict");
        assert_eq!(st.code, Code::Unschedulable);
        assert_eq!(st.reasons, [ERR_REASON]);
        assert!(filter(&hp(None, Some("UDP"), 8080), &n).is_none());
        assert!(filter(&hp(None, None, 8081), &n).is_none());
        // Used on 0.0.0.0 conflicts with any specific IP.
        assert!(filter(&hp(Some("10.0.0.1"), None, 8080), &n).is_some());
        // Used on a specific IP: conflicts with the same IP and with 0.0.0.0.
        let n = with_port(Some("10.0.0.1"), Some("TCP"), 9090);
        assert!(filter(&hp(Some("10.0.0.1"), None, 9090), &n).is_some());
        assert!(filter(&hp(Some("10.0.0.2"), None, 9090), &n).is_none());
        assert!(filter(&hp(None, None, 9090), &n).is_some());
    }

    #[test]
    fn sidecar_host_ports_count() {
        let p = pod(json!({"metadata": {"name": "x"}, "spec": {
            "initContainers": [
                {"name": "s", "restartPolicy": "Always", "ports": [{"containerPort": 1, "hostPort": 7000}]},
                {"name": "i", "ports": [{"containerPort": 1, "hostPort": 7001}]}],
            "containers": []}}));
        let ports = super::super::super::pod_info::pod_host_ports(&p);
        assert_eq!(ports, vec![HostPort::new(None, None, 7000)]);
    }
}
