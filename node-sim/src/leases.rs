//! Node Leases in `kube-node-lease`: created on a node's first heartbeat
//! (holder = node name, 40 s duration, owned by the Node) and renewed by
//! replacing the last copy read, so a renewal is one PUT; a conflict or a
//! missing Lease costs one extra read or create. A Lease left over from an
//! earlier Node object of the same name is taken over: its owner reference
//! is pointed at the current Node.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::api::{Api, PostParams};

/// The namespace of node Leases.
pub const NAMESPACE: &str = "kube-node-lease";
/// `leaseDurationSeconds`, as the kubelet sets it.
pub const DURATION_SECONDS: i32 = 40;

/// The owner reference of a Lease to Node `node` (uid `node_uid`).
fn node_owner(node: &str, node_uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Node".into(),
        name: node.into(),
        uid: node_uid.into(),
        ..Default::default()
    }
}

/// Makes `lease` owned by Node `node` as uid `node_uid` (unless that uid is
/// unknown): a reference to an earlier Node object of that name is
/// replaced, other owners are kept. Returns whether anything changed.
pub fn set_owner(lease: &mut Lease, node: &str, node_uid: &str) -> bool {
    if node_uid.is_empty() {
        return false;
    }
    let refs = lease.metadata.owner_references.get_or_insert_with(Vec::new);
    let is_node = |r: &OwnerReference| r.kind == "Node" && r.name == node;
    if refs.iter().any(|r| is_node(r) && r.uid == node_uid) {
        return false;
    }
    refs.retain(|r| !is_node(r));
    refs.push(node_owner(node, node_uid));
    true
}

/// A fresh Lease for `node` (uid `node_uid`) renewed now.
pub fn lease_object(node: &str, node_uid: &str) -> Lease {
    let owner = (!node_uid.is_empty()).then(|| vec![node_owner(node, node_uid)]);
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
        set_owner(lease, &self.node, &self.node_uid);
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

    #[test]
    fn a_lease_of_an_earlier_node_object_is_taken_over() {
        let mut lease = lease_object("n1", "old");
        lease
            .metadata
            .owner_references
            .get_or_insert_with(Vec::new)
            .push(OwnerReference {
                kind: "Other".into(),
                name: "x".into(),
                uid: "u".into(),
                ..Default::default()
            });
        assert!(set_owner(&mut lease, "n1", "new"));
        let owners = lease.metadata.owner_references.clone().expect("owners");
        let uids: Vec<&str> = owners.iter().map(|r| r.uid.as_str()).collect();
        assert_eq!(uids, ["u", "new"]);
        assert!(!set_owner(&mut lease, "n1", "new"), "already owned");
        assert!(
            !set_owner(&mut lease, "n1", ""),
            "unknown uid changes nothing"
        );

        let mut bare = Lease::default();
        assert!(set_owner(&mut bare, "n1", "uid"));
        assert_eq!(
            bare.metadata.owner_references.expect("owners")[0].name,
            "n1"
        );
    }
}
