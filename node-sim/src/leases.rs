//! Node Leases in `kube-node-lease`: created on a node's first heartbeat
//! (holder = node name, 40 s duration, owned by the Node) and renewed by
//! replacing the last copy read, so a renewal is one PUT; a conflict or a
//! missing Lease costs one extra read or create.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::api::{Api, PostParams};

/// The namespace of node Leases.
pub const NAMESPACE: &str = "kube-node-lease";
/// `leaseDurationSeconds`, as the kubelet sets it.
pub const DURATION_SECONDS: i32 = 40;

/// A fresh Lease for `node` (uid `node_uid`) renewed now.
pub fn lease_object(node: &str, node_uid: &str) -> Lease {
    let owner = (!node_uid.is_empty()).then(|| {
        vec![OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: node.into(),
            uid: node_uid.into(),
            ..Default::default()
        }]
    });
    Lease {
        metadata: ObjectMeta {
            name: Some(node.into()),
            namespace: Some(NAMESPACE.into()),
            owner_references: owner,
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.into()),
            lease_duration_seconds: Some(DURATION_SECONDS),
            renew_time: Some(MicroTime(jiff::Timestamp::now())),
            ..Default::default()
        }),
    }
}

/// One node's Lease and the copy of it last read.
#[derive(Debug)]
pub struct NodeLease {
    node: String,
    node_uid: String,
    last: Option<Lease>,
}

impl NodeLease {
    /// The Lease of `node`, not yet read.
    pub fn new(node: &str, node_uid: &str) -> Self {
        Self {
            node: node.into(),
            node_uid: node_uid.into(),
            last: None,
        }
    }

    /// Sets renewTime to now (creating the Lease when needed).
    pub async fn renew(&mut self, api: &Api<Lease>) -> Result<(), kube::Error> {
        let mut lease = match self.last.take() {
            Some(lease) => lease,
            None => match api.create(&PostParams::default(), &self.fresh()).await {
                Ok(created) => {
                    self.last = Some(created);
                    return Ok(());
                }
                Err(kube::Error::Api(s)) if s.code == 409 => api.get(&self.node).await?,
                Err(e) => return Err(e),
            },
        };
        for _ in 0..3 {
            self.stamp(&mut lease);
            match api
                .replace(&self.node, &PostParams::default(), &lease)
                .await
            {
                Ok(renewed) => {
                    self.last = Some(renewed);
                    return Ok(());
                }
                Err(kube::Error::Api(s)) if s.code == 409 => lease = api.get(&self.node).await?,
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    self.last = Some(api.create(&PostParams::default(), &self.fresh()).await?);
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn fresh(&self) -> Lease {
        lease_object(&self.node, &self.node_uid)
    }

    fn stamp(&self, lease: &mut Lease) {
        let spec = lease.spec.get_or_insert_with(Default::default);
        spec.holder_identity = Some(self.node.clone());
        spec.lease_duration_seconds = Some(DURATION_SECONDS);
        spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_is_held_by_its_node() {
        let lease = lease_object("n1", "uid-1");
        let value = serde_json::to_value(&lease).expect("json");
        assert_eq!(value["metadata"]["namespace"], "kube-node-lease");
        assert_eq!(value["spec"]["holderIdentity"], "n1");
        assert_eq!(value["spec"]["leaseDurationSeconds"], 40);
        assert_eq!(value["metadata"]["ownerReferences"][0]["kind"], "Node");
        assert!(value["spec"]["renewTime"].is_string());
    }
}
