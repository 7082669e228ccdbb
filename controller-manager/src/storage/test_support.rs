//! Builders shared by the storage unit tests.

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, Node, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, PersistentVolumeSpec,
    PersistentVolumeStatus, Pod, PodSpec, Volume, VolumeResourceRequirements,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// A Pending claim `default/<name>` (uid `uid-<name>`, RWO) asking for
/// `size` of `class` (`None`: no class set).
pub fn claim(name: &str, size: &str, class: Option<&str>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            resource_version: Some("10".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".into(), Quantity(size.into()))])),
                ..Default::default()
            }),
            storage_class_name: class.map(str::to_owned),
            volume_mode: Some("Filesystem".into()),
            ..Default::default()
        }),
        status: Some(PersistentVolumeClaimStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        }),
    }
}

/// An Available hostPath volume `<name>` of `size` and `class` (`""`: none),
/// RWO, Retain.
pub fn volume(name: &str, size: &str, class: &str) -> PersistentVolume {
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            resource_version: Some("20".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            capacity: Some(BTreeMap::from([("storage".into(), Quantity(size.into()))])),
            host_path: Some(HostPathVolumeSource {
                path: format!("/mnt/{name}"),
                type_: None,
            }),
            persistent_volume_reclaim_policy: Some("Retain".into()),
            storage_class_name: (!class.is_empty()).then(|| class.to_owned()),
            volume_mode: Some("Filesystem".into()),
            ..Default::default()
        }),
        status: Some(PersistentVolumeStatus {
            phase: Some("Available".into()),
            ..Default::default()
        }),
    }
}

/// `volume` with its claimRef pointing at `claim` (with its uid when `uid`).
pub fn claimed(
    mut volume: PersistentVolume,
    claim: &PersistentVolumeClaim,
    uid: bool,
) -> PersistentVolume {
    if let Some(spec) = volume.spec.as_mut() {
        spec.claim_ref = Some(ObjectReference {
            kind: Some("PersistentVolumeClaim".into()),
            api_version: Some("v1".into()),
            namespace: claim.metadata.namespace.clone(),
            name: claim.metadata.name.clone(),
            uid: if uid {
                claim.metadata.uid.clone()
            } else {
                None
            },
            ..Default::default()
        });
    }
    volume
}

/// Sets an annotation.
pub fn annotate(meta: &mut ObjectMeta, key: &str, value: &str) {
    meta.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), value.into());
}

/// A StorageClass.
pub fn class(name: &str, provisioner: &str, mode: &str, default: bool) -> StorageClass {
    let mut meta = ObjectMeta {
        name: Some(name.into()),
        ..ObjectMeta::default()
    };
    if default {
        annotate(
            &mut meta,
            "storageclass.kubernetes.io/is-default-class",
            "true",
        );
    }
    StorageClass {
        metadata: meta,
        provisioner: provisioner.into(),
        reclaim_policy: Some("Delete".into()),
        volume_binding_mode: Some(mode.into()),
        ..Default::default()
    }
}

/// A node with its hostname label.
pub fn node(name: &str) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(
                "kubernetes.io/hostname".into(),
                name.into(),
            )])),
            ..ObjectMeta::default()
        },
        ..Node::default()
    }
}

/// A pod in `default` mounting `claims`, bound to `node` when given.
pub fn pod_using(name: &str, claims: &[&str], node: Option<&str>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: node.map(str::to_owned),
            volumes: Some(
                claims
                    .iter()
                    .map(|c| Volume {
                        name: format!("v-{c}"),
                        persistent_volume_claim: Some(
                            k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource {
                                claim_name: (*c).into(),
                                read_only: None,
                            },
                        ),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..PodSpec::default()
        }),
        status: None,
    }
}
