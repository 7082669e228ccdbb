//! StorageClass facts: the default class, binding modes, and which class
//! a claim asks for or a volume belongs to.

use super::{ANN_BETA_STORAGE_CLASS, annotation};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;

/// Marks the default class.
pub const ANN_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// Marks the default class (older spelling).
pub const ANN_BETA_DEFAULT_CLASS: &str = "storageclass.beta.kubernetes.io/is-default-class";
/// The provisioner of classes whose volumes an administrator creates.
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
/// `volumeBindingMode`: bind once a pod using the claim is scheduled.
pub const WAIT_FOR_FIRST_CONSUMER: &str = "WaitForFirstConsumer";
/// `volumeBindingMode`: bind (and provision) as soon as the claim exists.
pub const IMMEDIATE: &str = "Immediate";

/// Whether `class` is marked as the default.
pub fn is_default(class: &StorageClass) -> bool {
    [ANN_DEFAULT_CLASS, ANN_BETA_DEFAULT_CLASS]
        .iter()
        .any(|k| annotation(&class.metadata, k) == Some("true"))
}

/// The default class: of several marked ones the most recently created
/// (then the first by name), as upstream chooses.
pub fn default_class<'a>(
    classes: impl IntoIterator<Item = &'a StorageClass>,
) -> Option<&'a StorageClass> {
    classes
        .into_iter()
        .filter(|c| is_default(c))
        .min_by(|a, b| {
            let created = |c: &StorageClass| c.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(b)
                .cmp(&created(a))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        })
}

/// Whether the claim names a class at all (`""` counts: "no class").
pub fn claim_has_class(claim: &PersistentVolumeClaim) -> bool {
    annotation(&claim.metadata, ANN_BETA_STORAGE_CLASS).is_some()
        || claim
            .spec
            .as_ref()
            .and_then(|s| s.storage_class_name.as_ref())
            .is_some()
}

/// The class a claim asks for: the beta annotation, else
/// `spec.storageClassName`, else `""`.
pub fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    annotation(&claim.metadata, ANN_BETA_STORAGE_CLASS)
        .or_else(|| {
            claim
                .spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
        })
        .unwrap_or_default()
}

/// The class a volume belongs to: the beta annotation, else
/// `spec.storageClassName`, else `""`.
pub fn volume_class(volume: &PersistentVolume) -> &str {
    annotation(&volume.metadata, ANN_BETA_STORAGE_CLASS)
        .or_else(|| {
            volume
                .spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
        })
        .unwrap_or_default()
}

/// Whether binding waits for the first consumer (a missing class never
/// delays).
pub fn is_delay_binding(class: Option<&StorageClass>) -> bool {
    class.is_some_and(|c| c.volume_binding_mode.as_deref() == Some(WAIT_FOR_FIRST_CONSUMER))
}

/// The class's reclaim policy for the volumes it provisions (`Delete` when
/// unset, as the API defaults it).
pub fn reclaim_policy(class: &StorageClass) -> &str {
    class
        .reclaim_policy
        .as_deref()
        .unwrap_or(super::reclaim::DELETE)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{annotate, claim, class, volume};
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn created(mut c: StorageClass, secs: i64) -> StorageClass {
        c.metadata.creation_timestamp = Some(Time(
            jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap_or_default(),
        ));
        c
    }

    #[test]
    fn newest_default_class_wins_and_unmarked_classes_never_do() {
        let old = created(class("old", "p", IMMEDIATE, true), 0);
        let new = created(class("new", "p", IMMEDIATE, true), 10);
        let plain = created(class("plain", "p", IMMEDIATE, false), 20);
        let all = [old.clone(), new, plain.clone()];
        assert_eq!(
            default_class(&all).and_then(|c| c.metadata.name.as_deref()),
            Some("new")
        );
        assert!(default_class([&plain]).is_none());
        let mut beta = class("beta", "p", IMMEDIATE, false);
        annotate(&mut beta.metadata, ANN_BETA_DEFAULT_CLASS, "true");
        assert!(is_default(&beta));
        let tie = created(class("a-tie", "p", IMMEDIATE, true), 0);
        assert_eq!(
            default_class([&old, &tie]).and_then(|c| c.metadata.name.as_deref()),
            Some("a-tie")
        );
    }

    #[test]
    fn annotation_beats_storage_class_name_and_empty_is_a_class_choice() {
        let mut c = claim("c", "1Gi", Some("fast"));
        assert_eq!(claim_class(&c), "fast");
        annotate(&mut c.metadata, ANN_BETA_STORAGE_CLASS, "slow");
        assert_eq!(claim_class(&c), "slow");
        let none = claim("n", "1Gi", None);
        assert!(!claim_has_class(&none));
        assert_eq!(claim_class(&none), "");
        assert!(claim_has_class(&claim("e", "1Gi", Some(""))));
        assert_eq!(volume_class(&volume("v", "1Gi", "fast")), "fast");
        assert_eq!(volume_class(&volume("v", "1Gi", "")), "");
    }

    #[test]
    fn only_wait_for_first_consumer_delays() {
        let wffc = class("s", "p", WAIT_FOR_FIRST_CONSUMER, false);
        assert!(is_delay_binding(Some(&wffc)));
        assert!(!is_delay_binding(Some(&class("s", "p", IMMEDIATE, false))));
        assert!(!is_delay_binding(None));
    }
}
