//! The simulated `rancher.io/local-path` provisioner, kind's default.
//!
//! For a claim of a class it serves it creates the volume `pvc-<claim
//! UID>`: a `hostPath` directory `/var/local-path-provisioner/pvc-<claim
//! UID>_<namespace>_<claim name>` on the consumer's node (required node
//! affinity on `kubernetes.io/hostname`), the claim's access modes and
//! request as capacity, the class's reclaim policy and mount options, and
//! `pv.kubernetes.io/provisioned-by: rancher.io/local-path`. The volume
//! already names its claim (`claimRef` with the UID), so the controller
//! binds exactly that claim to it. Nothing is written to any disk: the
//! directory exists only in the volume's spec.
//!
//! Unlike the real provisioner, which refuses to provision without a node
//! unless it was configured with a shared filesystem, a claim of an
//! `Immediate` class gets a volume without node affinity (as the shared
//! filesystem mode does).

use super::binding::claim_ref;
use super::class::reclaim_policy;
use super::{ANN_PROVISIONED_BY, LABEL_HOSTNAME};
use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// The provisioner's name (a class's `provisioner`).
pub const PROVISIONER: &str = "rancher.io/local-path";
/// Where volumes live on a node.
pub const BASE_PATH: &str = "/var/local-path-provisioner";
/// `source.component` of its events, as the real one reports itself
/// (`<provisioner>_<pod>`, without the pod's hash and identity).
pub const COMPONENT: &str = "rancher.io/local-path_local-path-provisioner";

/// Why the provisioner refuses a claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    /// Claims with a label selector cannot be provisioned.
    #[error("claim.Spec.Selector is not supported")]
    Selector,
    /// A node-local directory cannot be shared between nodes.
    #[error("NodePath only supports ReadWriteOnce and ReadWriteOncePod access modes")]
    AccessMode,
    /// Directories are filesystems.
    #[error("the local-path provisioner only provisions Filesystem volumes")]
    Block,
}

/// The volume's name: `pvc-<claim UID>`, so that provisioning twice (two
/// syncs, a restart) can never create two volumes for one claim.
pub fn volume_name(claim: &PersistentVolumeClaim) -> String {
    format!("pvc-{}", claim.metadata.uid.as_deref().unwrap_or_default())
}

/// The directory of the claim's volume on its node.
pub fn directory(claim: &PersistentVolumeClaim) -> String {
    format!(
        "{BASE_PATH}/{}_{}_{}",
        volume_name(claim),
        claim.metadata.namespace.as_deref().unwrap_or_default(),
        claim.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The volume for `claim` of `class` on `node` (`None`: reachable from
/// every node).
pub fn provision(
    claim: &PersistentVolumeClaim,
    class: &StorageClass,
    node: Option<&Node>,
) -> Result<PersistentVolume, ProvisionError> {
    let spec = claim.spec.clone().unwrap_or_default();
    if spec.selector.as_ref().is_some_and(|s| {
        s.match_labels.as_ref().is_some_and(|m| !m.is_empty())
            || s.match_expressions.as_ref().is_some_and(|m| !m.is_empty())
    }) {
        return Err(ProvisionError::Selector);
    }
    let modes = spec.access_modes.clone().unwrap_or_default();
    if node.is_some()
        && modes
            .iter()
            .any(|m| m != "ReadWriteOnce" && m != "ReadWriteOncePod")
    {
        return Err(ProvisionError::AccessMode);
    }
    if spec.volume_mode.as_deref() == Some("Block") {
        return Err(ProvisionError::Block);
    }
    let storage = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .cloned();
    let node_affinity = node.map(|node| {
        let name = node.metadata.name.clone().unwrap_or_default();
        let host = node
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_HOSTNAME))
            .cloned()
            .unwrap_or(name);
        VolumeNodeAffinity {
            required: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: LABEL_HOSTNAME.into(),
                        operator: "In".into(),
                        values: Some(vec![host]),
                    }]),
                    match_fields: None,
                }],
            }),
        }
    });
    Ok(PersistentVolume {
        metadata: ObjectMeta {
            name: Some(volume_name(claim)),
            annotations: Some(BTreeMap::from([(
                ANN_PROVISIONED_BY.to_owned(),
                PROVISIONER.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: Some(modes),
            capacity: storage.map(|s| BTreeMap::from([("storage".to_owned(), s)])),
            claim_ref: Some(claim_ref(claim)),
            host_path: Some(HostPathVolumeSource {
                path: directory(claim),
                type_: Some("DirectoryOrCreate".into()),
            }),
            mount_options: class.mount_options.clone(),
            node_affinity,
            persistent_volume_reclaim_policy: Some(reclaim_policy(class).to_owned()),
            storage_class_name: class.metadata.name.clone(),
            volume_mode: Some("Filesystem".into()),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    })
}

/// The node a volume's directory is on (its `kubernetes.io/hostname`
/// affinity), for logs.
pub fn node_of(volume: &PersistentVolume) -> Option<&str> {
    volume
        .spec
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_expressions.iter().flatten())
        .find(|r| r.key == LABEL_HOSTNAME && r.operator == "In")
        .and_then(|r| r.values.as_ref()?.first())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::super::class::WAIT_FOR_FIRST_CONSUMER;
    use super::super::matching::{find_best_match, is_bound_to_claim, node_affinity_fits};
    use super::super::test_support::{claim, class, node};
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    #[test]
    fn volume_is_named_after_the_claim_and_pinned_to_the_node() {
        let c = claim("data-web-0", "1Gi", Some("standard"));
        let mut standard = class("standard", PROVISIONER, WAIT_FOR_FIRST_CONSUMER, true);
        standard.reclaim_policy = Some("Retain".into());
        let n = node("worker-1");
        let pv = provision(&c, &standard, Some(&n)).ok();
        let spec = pv.as_ref().and_then(|p| p.spec.as_ref());
        assert_eq!(
            pv.as_ref().and_then(|p| p.metadata.name.as_deref()),
            Some("pvc-uid-data-web-0")
        );
        assert_eq!(
            spec.and_then(|s| s.host_path.as_ref())
                .map(|h| h.path.as_str()),
            Some("/var/local-path-provisioner/pvc-uid-data-web-0_default_data-web-0")
        );
        assert_eq!(
            spec.and_then(|s| s.persistent_volume_reclaim_policy.as_deref()),
            Some("Retain")
        );
        assert_eq!(
            spec.and_then(|s| s.capacity.as_ref())
                .and_then(|c| c.get("storage"))
                .map(|q| q.0.as_str()),
            Some("1Gi")
        );
        assert_eq!(pv.as_ref().and_then(node_of), Some("worker-1"));
        assert!(pv.as_ref().is_some_and(|p| node_affinity_fits(p, &n)));
        assert!(
            pv.as_ref()
                .is_some_and(|p| !node_affinity_fits(p, &node("worker-2")))
        );
        assert!(pv.as_ref().is_some_and(|p| is_bound_to_claim(p, &c)));
        // The claim's own matching finds it (pre-bound), on that node.
        let pvs: Vec<&PersistentVolume> = pv.iter().collect();
        assert!(find_best_match(&c, pvs, true, Some(&n)).is_some());
    }

    #[test]
    fn immediate_volumes_have_no_node_affinity() {
        let c = claim("data", "1Gi", Some("fast"));
        let fast = class("fast", PROVISIONER, "Immediate", false);
        let pv = provision(&c, &fast, None).ok();
        assert!(
            pv.as_ref()
                .and_then(|p| p.spec.as_ref())
                .is_some_and(|s| s.node_affinity.is_none())
        );
    }

    #[test]
    fn selectors_shared_modes_and_blocks_are_refused() {
        let standard = class("standard", PROVISIONER, WAIT_FOR_FIRST_CONSUMER, true);
        let n = node("n");
        let mut c = claim("data", "1Gi", Some("standard"));
        if let Some(s) = c.spec.as_mut() {
            s.selector = Some(LabelSelector {
                match_labels: Some([("a".to_owned(), "b".to_owned())].into()),
                match_expressions: None,
            });
        }
        assert_eq!(
            provision(&c, &standard, Some(&n)).err(),
            Some(ProvisionError::Selector)
        );
        let mut c = claim("data", "1Gi", Some("standard"));
        if let Some(s) = c.spec.as_mut() {
            s.access_modes = Some(vec!["ReadWriteMany".into()]);
        }
        assert_eq!(
            provision(&c, &standard, Some(&n)).err(),
            Some(ProvisionError::AccessMode)
        );
        let mut c = claim("data", "1Gi", Some("standard"));
        if let Some(s) = c.spec.as_mut() {
            s.volume_mode = Some("Block".into());
        }
        assert_eq!(
            provision(&c, &standard, Some(&n)).err(),
            Some(ProvisionError::Block)
        );
    }
}
