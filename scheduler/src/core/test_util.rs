//! Builders for hand-written Node and Pod objects in tests.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

/// A pod from JSON.
pub fn pod(v: Value) -> Pod {
    serde_json::from_value(v).expect("valid pod JSON")
}

/// A node from JSON.
pub fn node_json(v: Value) -> Node {
    serde_json::from_value(v).expect("valid node JSON")
}

/// A node with allocatable cpu/memory/pods and the hostname label.
pub fn node(name: &str, cpu: &str, mem: &str, pods: i64) -> Node {
    node_json(json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": pods.to_string()}}
    }))
}

/// A node with extra labels (plus hostname) and room for 110 pods.
pub fn node_with_labels(name: &str, cpu: &str, mem: &str, labels: &[(&str, &str)]) -> Node {
    let mut n = node(name, cpu, mem, 110);
    if let Some(l) = n.metadata.labels.as_mut() {
        for (k, v) in labels {
            l.insert((*k).to_owned(), (*v).to_owned());
        }
    }
    n
}

/// An unbound pod with one container requesting cpu and memory; uid = name.
pub fn pod_with_requests(name: &str, cpu: &str, mem: &str) -> Pod {
    pod(
        json!({"metadata": {"name": name, "uid": name}, "spec": {"containers": [
        {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]}}),
    )
}
