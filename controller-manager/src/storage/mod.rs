//! Pure decision logic of the PersistentVolume controller (upstream's
//! `persistentvolume-binder`) and of the simulated local-path provisioner.
//!
//! Nothing in here performs I/O: every function takes the objects it needs
//! and returns what the controller should do — which volume a claim binds
//! to, whether to provision, which phase to write, which JSON merge patch
//! to send (always carrying the `resourceVersion` it was computed from, so
//! the API refuses it when someone else wrote first). The reconcile loops
//! in [`crate::controllers::persistent_volume`] own caching and writing.
//!
//! Layout:
//!
//! * [`class`]: StorageClass facts (default class, binding mode, which
//!   class a claim or volume belongs to).
//! * [`matching`]: does a volume satisfy a claim, and which available
//!   volume is the best match (pre-bound first, then the fewest access
//!   modes, then the smallest capacity).
//! * [`binding`]: the writes that bind a volume and a claim together, set
//!   phases and undo a binding.
//! * [`sync`]: what one sync of a claim or of a volume decides (the phase
//!   machine: claims Pending → Bound → Lost; volumes Pending → Available →
//!   Bound → Released → (deleted | Failed)).
//! * [`local_path`]: the simulated `rancher.io/local-path` provisioner
//!   (kind's default): the volume it creates for a claim on a node, and
//!   what it does when such a volume is released.

pub mod binding;
pub mod class;
pub mod local_path;
pub mod matching;
pub mod sync;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use std::collections::BTreeMap;

/// Claim annotation: the binding is complete (set once, never removed).
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Claim / volume annotation: the controller (not the user) bound it.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// Volume annotation: the provisioner that created it.
pub const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// Claim annotation: the provisioner asked to provision it.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// Claim annotation: the same, as older provisioners read it.
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// Claim annotation: the node the first consumer was scheduled to.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// Claim / volume annotation naming a class (older than `storageClassName`).
pub const ANN_BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// The node label local volumes are pinned by.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";

/// Claim phases.
pub mod claim_phase {
    /// Not bound yet.
    pub const PENDING: &str = "Pending";
    /// Bound to a volume.
    pub const BOUND: &str = "Bound";
    /// Was bound; the volume is gone or belongs to another claim.
    pub const LOST: &str = "Lost";
}

/// Volume phases.
pub mod volume_phase {
    /// Just created, not synced yet.
    pub const PENDING: &str = "Pending";
    /// Free (or reserved for a claim that has not bound yet).
    pub const AVAILABLE: &str = "Available";
    /// Bound to a claim.
    pub const BOUND: &str = "Bound";
    /// Its claim is gone; waiting for the reclaim policy.
    pub const RELEASED: &str = "Released";
    /// Reclaiming failed.
    pub const FAILED: &str = "Failed";
}

/// Reclaim policies.
pub mod reclaim {
    /// Keep the volume (Released) for an administrator.
    pub const RETAIN: &str = "Retain";
    /// Delete the volume and its storage.
    pub const DELETE: &str = "Delete";
    /// Scrub and make Available again (deprecated upstream).
    pub const RECYCLE: &str = "Recycle";
}

/// Event reasons, as upstream words them.
pub mod reasons {
    /// No volume and no class (Normal), or a requested volume is taken.
    pub const FAILED_BINDING: &str = "FailedBinding";
    /// A requested volume does not fit the claim.
    pub const VOLUME_MISMATCH: &str = "VolumeMismatch";
    /// WaitForFirstConsumer class, no pod uses the claim yet.
    pub const WAIT_FOR_FIRST_CONSUMER: &str = "WaitForFirstConsumer";
    /// WaitForFirstConsumer class, pods use the claim but none is scheduled.
    pub const WAIT_FOR_POD_SCHEDULED: &str = "WaitForPodScheduled";
    /// Handed to an external provisioner.
    pub const EXTERNAL_PROVISIONING: &str = "ExternalProvisioning";
    /// The provisioner started.
    pub const PROVISIONING: &str = "Provisioning";
    /// The provisioner created the volume.
    pub const PROVISIONING_SUCCEEDED: &str = "ProvisioningSucceeded";
    /// The provisioner could not create the volume.
    pub const PROVISIONING_FAILED: &str = "ProvisioningFailed";
    /// The claim's volume is gone or it never was bound properly.
    pub const CLAIM_LOST: &str = "ClaimLost";
    /// Two claims name one volume.
    pub const CLAIM_MISBOUND: &str = "ClaimMisbound";
    /// Deleting a released volume failed.
    pub const VOLUME_FAILED_DELETE: &str = "VolumeFailedDelete";
    /// Recycling a released volume failed.
    pub const VOLUME_FAILED_RECYCLE: &str = "VolumeFailedRecycle";
    /// The reclaim policy is not one of Retain, Delete, Recycle.
    pub const VOLUME_UNKNOWN_RECLAIM_POLICY: &str = "VolumeUnknownReclaimPolicy";
}

/// `namespace/name` of a claim.
pub fn claim_key(claim: &PersistentVolumeClaim) -> String {
    format!(
        "{}/{}",
        claim.metadata.namespace.as_deref().unwrap_or_default(),
        claim.metadata.name.as_deref().unwrap_or_default()
    )
}

/// An annotation of `meta`, if set.
pub fn annotation<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'a str> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// The volume's phase (`""` when unset).
pub fn volume_phase_of(volume: &PersistentVolume) -> &str {
    volume
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// The claim's phase (`""` when unset).
pub fn claim_phase_of(claim: &PersistentVolumeClaim) -> &str {
    claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// `spec.volumeName` of a claim (`""` when unset).
pub fn volume_name_of(claim: &PersistentVolumeClaim) -> &str {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or_default()
}

/// The claims a pod mounts, by name (its namespace's): `persistentVolumeClaim`
/// volumes and the claims of generic ephemeral volumes (`<pod>-<volume>`).
pub fn claims_of_pod(pod: &Pod) -> Vec<String> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| {
            if let Some(pvc) = &v.persistent_volume_claim {
                Some(pvc.claim_name.clone())
            } else {
                v.ephemeral
                    .as_ref()
                    .map(|_| format!("{pod_name}-{}", v.name))
            }
        })
        .collect()
}

/// Who uses a claim: the node of the first scheduled pod (by name) and the
/// names of the pods not scheduled yet. Finished pods do not count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumers {
    /// The node a pod using the claim is bound to.
    pub scheduled_node: Option<String>,
    /// Pods using the claim that wait for a node.
    pub unscheduled: Vec<String>,
}

/// The [`Consumers`] of `claim` among `pods`.
pub fn consumers<'a>(
    claim: &PersistentVolumeClaim,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Consumers {
    let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
    let name = claim.metadata.name.as_deref().unwrap_or_default();
    let mut scheduled: BTreeMap<String, String> = BTreeMap::new();
    let mut unscheduled = Vec::new();
    for pod in pods {
        if pod.metadata.namespace.as_deref() != Some(namespace) {
            continue;
        }
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        if !claims_of_pod(pod).iter().any(|c| c == name) {
            continue;
        }
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        match pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .filter(|n| !n.is_empty())
        {
            Some(node) => {
                scheduled.insert(pod_name, node.to_owned());
            }
            None => unscheduled.push(pod_name),
        }
    }
    unscheduled.sort();
    Consumers {
        scheduled_node: scheduled.into_values().next(),
        unscheduled,
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::test_support::{claim, pod_using};
    use super::*;

    #[test]
    fn pods_mount_claims_and_ephemeral_claims() {
        let mut pod = pod_using("web-0", &["data-web-0"], None);
        if let Some(spec) = pod.spec.as_mut() {
            spec.volumes
                .get_or_insert_with(Vec::new)
                .push(k8s_openapi::api::core::v1::Volume {
                    name: "scratch".into(),
                    ephemeral: Some(Default::default()),
                    ..Default::default()
                });
        }
        assert_eq!(claims_of_pod(&pod), ["data-web-0", "web-0-scratch"]);
    }

    #[test]
    fn consumers_are_scheduled_first_by_name_and_finished_pods_do_not_count() {
        let c = claim("data", "1Gi", Some("standard"));
        let a = pod_using("b", &["data"], Some("node-b"));
        let b = pod_using("a", &["data"], Some("node-a"));
        let waiting = pod_using("c", &["data"], None);
        let mut done = pod_using("0", &["data"], Some("node-0"));
        done.status = Some(k8s_openapi::api::core::v1::PodStatus {
            phase: Some("Succeeded".into()),
            ..Default::default()
        });
        let other = pod_using("d", &["other"], Some("node-d"));
        let found = consumers(&c, [&a, &b, &waiting, &done, &other]);
        assert_eq!(found.scheduled_node.as_deref(), Some("node-a"));
        assert_eq!(found.unscheduled, ["c"]);
    }
}
