//! A StatefulSet's pods and claims: stable identities (`<set>-<ordinal>`,
//! hostname and subdomain, the pod-name and pod-index labels), ordinal
//! ranges, one PersistentVolumeClaim per volume claim template and pod
//! (`<claim>-<set>-<ordinal>`), pod health as the controller judges it,
//! and the claim owner references `persistentVolumeClaimRetentionPolicy`
//! asks for.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::availability::{is_pod_available, is_pod_ready, pod_phase};
use super::controller_revision::CONTROLLER_REVISION_HASH_LABEL;
use super::error::WorkloadError;
use super::pod_template::{controller_ref, pod_from_template};

/// The label carrying a StatefulSet pod's name.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label carrying a StatefulSet pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// The StatefulSet's name.
pub fn set_name(set: &StatefulSet) -> &str {
    set.metadata.name.as_deref().unwrap_or_default()
}

/// Parent name and ordinal of a pod name `<parent>-<digits>` (the ordinal
/// must fit an `i32`).
pub fn parent_and_ordinal(pod_name: &str) -> Option<(&str, i32)> {
    let (parent, digits) = pod_name.rsplit_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((parent, digits.parse().ok()?))
}

/// The pod's ordinal, if its name has one.
pub fn ordinal_of(pod: &Pod) -> Option<i32> {
    parent_and_ordinal(pod.metadata.name.as_deref().unwrap_or_default()).map(|(_, o)| o)
}

/// `<set>-<ordinal>`.
pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// `<claim template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

/// Whether the pod's name makes it a member of the set.
pub fn is_member_of(set: &StatefulSet, pod: &Pod) -> bool {
    parent_and_ordinal(pod.metadata.name.as_deref().unwrap_or_default())
        .is_some_and(|(parent, _)| parent == set_name(set))
}

/// `spec.replicas` (default 1).
pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// `spec.ordinals.start` (default 0).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.ordinals.as_ref())
        .and_then(|o| o.start)
        .unwrap_or(0)
}

/// The highest ordinal in range (`start + replicas - 1`).
pub fn end_ordinal(set: &StatefulSet) -> i32 {
    start_ordinal(set) + replicas(set) - 1
}

/// Whether `ordinal` is one the set should run.
pub fn in_ordinal_range(set: &StatefulSet, ordinal: i32) -> bool {
    (start_ordinal(set)..=end_ordinal(set)).contains(&ordinal)
}

/// Whether the pod has the identity of its ordinal: name, namespace and the
/// pod-name label.
pub fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let Some((parent, ordinal)) = parent_and_ordinal(name) else {
        return false;
    };
    parent == set_name(set)
        && name == pod_name(parent, ordinal)
        && pod.metadata.namespace == set.metadata.namespace
        && label(pod, POD_NAME_LABEL) == Some(name)
}

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

/// Sets the pod-name and pod-index labels.
pub fn update_identity(set: &StatefulSet, pod: &mut Pod) {
    let Some(ordinal) = ordinal_of(pod) else {
        return;
    };
    let name = pod_name(set_name(set), ordinal);
    pod.metadata.name = Some(name.clone());
    pod.metadata.namespace = set.metadata.namespace.clone();
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.into(), name);
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
}

/// The claims of ordinal `ordinal`, by template name: each template's
/// claim renamed, in the set's namespace, with the selector's
/// `matchLabels` added to its labels.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<(String, PersistentVolumeClaim)> {
    let Some(spec) = set.spec.as_ref() else {
        return Vec::new();
    };
    let selector_labels = spec.selector.match_labels.clone().unwrap_or_default();
    spec.volume_claim_templates
        .iter()
        .flatten()
        .map(|template| {
            let template_name = template.metadata.name.clone().unwrap_or_default();
            let mut claim = template.clone();
            claim.metadata.name = Some(claim_name(&template_name, set_name(set), ordinal));
            claim.metadata.namespace = set.metadata.namespace.clone();
            let labels = claim.metadata.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(selector_labels.clone());
            claim.status = None;
            (template_name, claim)
        })
        .collect()
}

/// Whether the pod's volumes mount every claim of its ordinal.
pub fn storage_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let Some(ordinal) = ordinal_of(pod) else {
        return false;
    };
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or_default();
    claims_for(set, ordinal).iter().all(|(template, claim)| {
        volumes.iter().any(|v| {
            &v.name == template
                && v.persistent_volume_claim.as_ref().map(|c| &c.claim_name)
                    == claim.metadata.name.as_ref()
        })
    })
}

/// Points the pod's volumes named after claim templates at its claims
/// (claim volumes first, then the pod's other volumes).
pub fn update_storage(set: &StatefulSet, pod: &mut Pod) {
    let Some(ordinal) = ordinal_of(pod) else {
        return;
    };
    let claims = claims_for(set, ordinal);
    let spec = pod.spec.get_or_insert_with(Default::default);
    let current = spec.volumes.take().unwrap_or_default();
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|(template, claim)| Volume {
            name: template.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.metadata.name.clone().unwrap_or_default(),
                read_only: None,
            }),
            ..Volume::default()
        })
        .collect();
    volumes.extend(
        current
            .into_iter()
            .filter(|v| !claims.iter().any(|(t, _)| *t == v.name)),
    );
    spec.volumes = Some(volumes).filter(|v| !v.is_empty());
}

/// The controller reference a StatefulSet puts on its pods.
pub fn set_controller_ref(set: &StatefulSet) -> Result<OwnerReference, WorkloadError> {
    let uid = set
        .metadata
        .uid
        .as_deref()
        .ok_or(WorkloadError::MissingField {
            object: "StatefulSet",
            field: "metadata.uid",
        })?;
    Ok(controller_ref("apps/v1", "StatefulSet", set_name(set), uid))
}

/// The pod of ordinal `ordinal` from `template` at revision `revision`:
/// name, identity labels, hostname = name, subdomain = `serviceName`,
/// claim volumes, the revision label and a controller reference.
pub fn new_stateful_pod(
    set: &StatefulSet,
    template: &PodTemplateSpec,
    ordinal: i32,
    revision: &str,
) -> Result<Pod, WorkloadError> {
    let mut pod = pod_from_template(
        template,
        set_name(set),
        set.metadata.namespace.as_deref(),
        Some(set_controller_ref(set)?),
    );
    pod.metadata.generate_name = None;
    pod.metadata.name = Some(pod_name(set_name(set), ordinal));
    update_identity(set, &mut pod);
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.hostname = pod.metadata.name.clone();
    spec.subdomain = set
        .spec
        .as_ref()
        .and_then(|s| s.service_name.clone())
        .filter(|s| !s.is_empty());
    update_storage(set, &mut pod);
    pod.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(CONTROLLER_REVISION_HASH_LABEL.into(), revision.to_owned());
    Ok(pod)
}

/// The revision a pod was made from (its `controller-revision-hash` label).
pub fn pod_revision(pod: &Pod) -> &str {
    label(pod, CONTROLLER_REVISION_HASH_LABEL).unwrap_or_default()
}

/// Whether the pod is being deleted.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Phase `Running` and condition `Ready`.
pub fn is_running_and_ready(pod: &Pod) -> bool {
    pod_phase(pod) == "Running" && is_pod_ready(pod)
}

/// Available: ready for at least `min_ready_seconds`.
pub fn is_running_and_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    is_pod_available(pod, min_ready_seconds, now)
}

/// Not available, or terminating.
pub fn is_unavailable(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    !is_pod_available(pod, min_ready_seconds, now) || is_terminating(pod)
}

/// `persistentVolumeClaimRetentionPolicy` as `(when_deleted_delete,
/// when_scaled_delete)`; anything but `Delete` retains.
pub fn retention_policy(set: &StatefulSet) -> (bool, bool) {
    let policy = set
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    let delete = |v: Option<&String>| v.map(String::as_str) == Some("Delete");
    (
        delete(policy.and_then(|p| p.when_deleted.as_ref())),
        delete(policy.and_then(|p| p.when_scaled.as_ref())),
    )
}

fn owner_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: None,
        block_owner_deletion: None,
    }
}

/// The owner references `claim` should have for the set's retention
/// policy and the pod it belongs to (upstream's
/// `updateClaimOwnerRefForSetAndPod`): `whenDeleted: Delete` makes the set
/// an owner while the pod is in range; `whenScaled: Delete` makes the pod
/// an owner once it is scaled away. `None` when nothing changes (or the
/// set or pod has no UID yet).
pub fn claim_owner_refs(
    set: &StatefulSet,
    pod: &Pod,
    claim: &PersistentVolumeClaim,
) -> Option<Vec<OwnerReference>> {
    let set_uid = set.metadata.uid.as_deref()?;
    let pod_uid = pod.metadata.uid.as_deref()?;
    let ordinal = ordinal_of(pod)?;
    let scaled_down = !in_ordinal_range(set, ordinal);
    let (when_deleted, when_scaled) = retention_policy(set);
    let want_set = when_deleted && !(when_scaled && scaled_down);
    let want_pod = when_scaled && scaled_down;
    let current = claim.metadata.owner_references.clone().unwrap_or_default();
    let has = |uid: &str| current.iter().any(|r| r.uid == uid);
    if has(set_uid) == want_set && has(pod_uid) == want_pod {
        return None;
    }
    let mut refs: Vec<OwnerReference> = current
        .into_iter()
        .filter(|r| r.uid != set_uid && r.uid != pod_uid)
        .collect();
    if want_set {
        refs.push(owner_ref("apps/v1", "StatefulSet", set_name(set), set_uid));
    }
    if want_pod {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        refs.push(owner_ref("v1", "Pod", name, pod_uid));
    }
    Some(refs)
}

/// Whether a claim of a pod that is about to be created still belongs to a
/// previous pod of that ordinal (a Pod owner reference that garbage
/// collection has yet to act on): the pod must wait.
pub fn claim_is_stale(claim: &PersistentVolumeClaim, pod_uid: Option<&str>) -> bool {
    claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.kind == "Pod" && Some(r.uid.as_str()) != pod_uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::labels;
    use k8s_openapi::api::apps::v1::{
        StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    };
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    fn set(replicas: i32) -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("uid-web".into()),
                ..ObjectMeta::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(replicas),
                service_name: Some("nginx".into()),
                selector: LabelSelector {
                    match_labels: Some(labels(&[("app", "web")])),
                    ..LabelSelector::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(&[("app", "web")])),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "nginx".into(),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                },
                volume_claim_templates: Some(vec![PersistentVolumeClaim {
                    metadata: ObjectMeta {
                        name: Some("data".into()),
                        ..ObjectMeta::default()
                    },
                    ..PersistentVolumeClaim::default()
                }]),
                ..StatefulSetSpec::default()
            }),
            status: None,
        }
    }

    #[test]
    fn ordinals_parse_from_names() {
        assert_eq!(parent_and_ordinal("web-0"), Some(("web", 0)));
        assert_eq!(parent_and_ordinal("my-web-12"), Some(("my-web", 12)));
        assert_eq!(parent_and_ordinal("web"), None);
        assert_eq!(parent_and_ordinal("web-"), None);
        assert_eq!(parent_and_ordinal("web-1a"), None);
        assert_eq!(parent_and_ordinal("web-99999999999"), None);
    }

    #[test]
    fn ranges_follow_replicas_and_start() {
        let mut s = set(3);
        assert!(in_ordinal_range(&s, 0) && in_ordinal_range(&s, 2));
        assert!(!in_ordinal_range(&s, 3));
        if let Some(spec) = s.spec.as_mut() {
            spec.ordinals =
                Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(5) });
        }
        assert_eq!((start_ordinal(&s), end_ordinal(&s)), (5, 7));
        assert!(!in_ordinal_range(&s, 0));
    }

    #[test]
    fn new_pod_has_identity_storage_and_revision() {
        let s = set(3);
        let template = s.spec.as_ref().expect("spec").template.clone();
        let pod = new_stateful_pod(&s, &template, 1, "web-abc").expect("pod");
        assert_eq!(pod.metadata.name.as_deref(), Some("web-1"));
        assert!(pod.metadata.generate_name.is_none());
        let l = pod.metadata.labels.as_ref().expect("labels");
        assert_eq!(l[POD_NAME_LABEL], "web-1");
        assert_eq!(l[POD_INDEX_LABEL], "1");
        assert_eq!(l[CONTROLLER_REVISION_HASH_LABEL], "web-abc");
        assert_eq!(l["app"], "web");
        let spec = pod.spec.as_ref().expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some("web-1"));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let vol = &spec.volumes.as_ref().expect("volumes")[0];
        assert_eq!(vol.name, "data");
        assert_eq!(
            vol.persistent_volume_claim
                .as_ref()
                .expect("pvc")
                .claim_name,
            "data-web-1"
        );
        assert!(identity_matches(&s, &pod));
        assert!(storage_matches(&s, &pod));
        assert_eq!(pod_revision(&pod), "web-abc");
        let mut stripped = pod.clone();
        stripped.metadata.labels = None;
        stripped.spec.as_mut().expect("spec").volumes = None;
        assert!(!identity_matches(&s, &stripped));
        assert!(!storage_matches(&s, &stripped));
        update_identity(&s, &mut stripped);
        update_storage(&s, &mut stripped);
        assert!(identity_matches(&s, &stripped) && storage_matches(&s, &stripped));
    }

    #[test]
    fn claims_are_named_and_labelled() {
        let claims = claims_for(&set(3), 2);
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].0, "data");
        assert_eq!(claims[0].1.metadata.name.as_deref(), Some("data-web-2"));
        assert_eq!(
            claims[0].1.metadata.labels.as_ref().expect("labels")["app"],
            "web"
        );
    }

    fn with_policy(mut s: StatefulSet, deleted: &str, scaled: &str) -> StatefulSet {
        if let Some(spec) = s.spec.as_mut() {
            spec.persistent_volume_claim_retention_policy =
                Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(deleted.into()),
                    when_scaled: Some(scaled.into()),
                });
        }
        s
    }

    fn uids(refs: &Option<Vec<OwnerReference>>) -> Vec<String> {
        refs.iter().flatten().map(|r| r.uid.clone()).collect()
    }

    #[test]
    fn retention_policy_sets_claim_owners() {
        let template = set(3).spec.expect("spec").template;
        let mut pod = new_stateful_pod(&set(3), &template, 2, "r").expect("pod");
        pod.metadata.uid = Some("uid-pod".into());
        let claim = claims_for(&set(3), 2).remove(0).1;
        // Retain / Retain: no owners, nothing to do.
        assert!(claim_owner_refs(&with_policy(set(3), "Retain", "Retain"), &pod, &claim).is_none());
        // Delete on set deletion: the set owns the claim.
        let refs = claim_owner_refs(&with_policy(set(3), "Delete", "Retain"), &pod, &claim);
        assert_eq!(uids(&refs), vec!["uid-web"]);
        let owned = PersistentVolumeClaim {
            metadata: ObjectMeta {
                owner_references: refs.clone(),
                ..claim.metadata.clone()
            },
            ..claim.clone()
        };
        assert!(claim_owner_refs(&with_policy(set(3), "Delete", "Retain"), &pod, &owned).is_none());
        // Scaled away with whenScaled Delete: the pod owns it, not the set.
        let scaled = with_policy(set(2), "Delete", "Delete");
        assert_eq!(
            uids(&claim_owner_refs(&scaled, &pod, &owned)),
            vec!["uid-pod"]
        );
        // Back to Retain: owners removed.
        let back = claim_owner_refs(&with_policy(set(3), "Retain", "Retain"), &pod, &owned);
        assert_eq!(back, Some(vec![]));
        // Still in range with whenScaled Delete only: nothing.
        assert!(claim_owner_refs(&with_policy(set(3), "Retain", "Delete"), &pod, &claim).is_none());
    }

    #[test]
    fn stale_claims_name_another_pod() {
        let mut claim = claims_for(&set(1), 0).remove(0).1;
        assert!(!claim_is_stale(&claim, None));
        claim.metadata.owner_references = Some(vec![owner_ref("v1", "Pod", "web-0", "old")]);
        assert!(claim_is_stale(&claim, None));
        assert!(!claim_is_stale(&claim, Some("old")));
    }
}
