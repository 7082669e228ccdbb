//! Pods and Nodes decoded without `metadata.managedFields`.
//!
//! Nothing in the scheduler reads managed fields, and upstream's scheduler
//! trims them from its informers' objects. Dropping them after decoding
//! (as the other watches do) still pays for building them: for a pod, the
//! `fieldsV1` trees were half of the decoding, which the scheduler does for
//! every pod listed and every pod change. These types are what the pod and
//! node watches decode into: the same objects, with the managed fields
//! skipped as unknown fields while parsing.

use k8s_openapi::api::core::v1::{Node, NodeSpec, NodeStatus, Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `ObjectMeta` without `managedFields` (which serde skips as unknown).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    annotations: Option<BTreeMap<String, String>>,
    creation_timestamp: Option<Time>,
    deletion_grace_period_seconds: Option<i64>,
    deletion_timestamp: Option<Time>,
    finalizers: Option<Vec<String>>,
    generate_name: Option<String>,
    generation: Option<i64>,
    labels: Option<BTreeMap<String, String>>,
    name: Option<String>,
    namespace: Option<String>,
    owner_references: Option<Vec<OwnerReference>>,
    resource_version: Option<String>,
    self_link: Option<String>,
    uid: Option<String>,
}

impl From<Meta> for ObjectMeta {
    fn from(m: Meta) -> Self {
        ObjectMeta {
            annotations: m.annotations,
            creation_timestamp: m.creation_timestamp,
            deletion_grace_period_seconds: m.deletion_grace_period_seconds,
            deletion_timestamp: m.deletion_timestamp,
            finalizers: m.finalizers,
            generate_name: m.generate_name,
            generation: m.generation,
            labels: m.labels,
            managed_fields: None,
            name: m.name,
            namespace: m.namespace,
            owner_references: m.owner_references,
            resource_version: m.resource_version,
            self_link: m.self_link,
            uid: m.uid,
        }
    }
}

/// Declares `$slim`, a `$full` decoded without managed fields, that the
/// API and the watcher treat as a `$full`.
macro_rules! slim {
    ($(#[$doc:meta])* $slim:ident, $full:ident, $spec:ident, $status:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default)]
        pub struct $slim(pub $full);

        impl<'de> Deserialize<'de> for $slim {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                struct Parts {
                    metadata: Option<Meta>,
                    spec: Option<$spec>,
                    status: Option<$status>,
                }
                let parts = Parts::deserialize(d)?;
                Ok($slim($full {
                    metadata: parts.metadata.map(ObjectMeta::from).unwrap_or_default(),
                    spec: parts.spec,
                    status: parts.status,
                }))
            }
        }

        impl k8s_openapi::Resource for $slim {
            const API_VERSION: &'static str = <$full as k8s_openapi::Resource>::API_VERSION;
            const GROUP: &'static str = <$full as k8s_openapi::Resource>::GROUP;
            const KIND: &'static str = <$full as k8s_openapi::Resource>::KIND;
            const VERSION: &'static str = <$full as k8s_openapi::Resource>::VERSION;
            const URL_PATH_SEGMENT: &'static str =
                <$full as k8s_openapi::Resource>::URL_PATH_SEGMENT;
            type Scope = <$full as k8s_openapi::Resource>::Scope;
        }

        impl k8s_openapi::Metadata for $slim {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.0.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.0.metadata
            }
        }
    };
}

slim!(
    /// A [`Pod`] decoded without managed fields.
    SlimPod, Pod, PodSpec, PodStatus
);
slim!(
    /// A [`Node`] decoded without managed fields.
    SlimNode, Node, NodeSpec, NodeStatus
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_as_the_full_type_without_managed_fields() {
        let wire = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "p", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                "labels": {"app": "a"}, "annotations": {"k": "v"},
                "creationTimestamp": "2026-11-23T00:00:00Z",
                "deletionTimestamp": "2026-11-23T00:01:00Z",
                "deletionGracePeriodSeconds": 30, "generation": 2,
                "finalizers": ["f"], "generateName": "p-",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "rs", "uid": "r", "controller": true}],
                "managedFields": [{"manager": "m", "operation": "Update",
                    "apiVersion": "v1", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:containers": {}}}}]
            },
            "spec": {"containers": [{"name": "c", "image": "i"}], "nodeName": "n"},
            "status": {"phase": "Pending"}
        });
        let slim: SlimPod = serde_json::from_value(wire.clone()).expect("slim pod");
        let mut full: Pod = serde_json::from_value(wire).expect("pod");
        assert!(full.metadata.managed_fields.take().is_some());
        assert_eq!(slim.0, full);

        let node: SlimNode = serde_json::from_value(json!({
            "metadata": {"name": "n", "managedFields": [{"manager": "m"}]},
            "status": {"allocatable": {"cpu": "2"}}
        }))
        .expect("slim node");
        assert_eq!(node.0.metadata.name.as_deref(), Some("n"));
        assert!(node.0.metadata.managed_fields.is_none());
        assert!(node.0.spec.is_none());
    }

    #[test]
    fn the_api_paths_are_the_full_types() {
        use kube::Resource;
        assert_eq!(
            SlimPod::url_path(&(), Some("ns")),
            "/api/v1/namespaces/ns/pods"
        );
        assert_eq!(SlimNode::url_path(&(), None), "/api/v1/nodes");
        assert_eq!(SlimPod::kind(&()), "Pod");
    }
}
