//! The writes that bind a volume and a claim, set their phases, undo a
//! binding and hand a claim to a provisioner.
//!
//! Each function returns the JSON merge patch to send, or `None` when the
//! object already is as wanted (so a repeated sync writes nothing). Every
//! patch carries the `resourceVersion` of the object it was computed
//! from: the API refuses it with a conflict when the object changed in
//! between, so a volume read as free can never be handed to two claims.
//!
//! Binding is four writes in upstream's order: the volume's `claimRef`
//! (with the claim's UID), the volume's phase, the claim's `volumeName`
//! and annotations, the claim's status. A sync that stops half-way is
//! finished by the next one: a volume whose `claimRef` names the claim is
//! always the claim's first choice.

use super::matching::is_bound_to_claim;
use super::{
    ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, annotation, claim_phase_of, volume_name_of,
    volume_phase_of,
};
use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume, PersistentVolumeClaim};
use serde_json::{Map, Value, json};

/// The volume already belongs to another claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("volume {volume:?} is already bound to claim {claim:?}")]
pub struct AlreadyClaimed {
    /// The volume.
    pub volume: String,
    /// `namespace/name` of the claim it belongs to.
    pub claim: String,
}

fn rv_meta(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "resourceVersion".into(),
        json!(meta.resource_version.clone().unwrap_or_default()),
    );
    m
}

/// The reference a volume keeps to its claim.
pub fn claim_ref(claim: &PersistentVolumeClaim) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("PersistentVolumeClaim".into()),
        namespace: claim.metadata.namespace.clone(),
        name: claim.metadata.name.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Binds the volume to the claim: `spec.claimRef` with the claim's UID,
/// and `pv.kubernetes.io/bound-by-controller` unless the user had
/// reserved the volume for this claim. Refuses a volume another claim
/// holds.
pub fn volume_bind_patch(
    volume: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Result<Option<Value>, AlreadyClaimed> {
    let current = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    let reserved = is_bound_to_claim(volume, claim);
    if let Some(r) = current
        && !reserved
    {
        return Err(AlreadyClaimed {
            volume: volume.metadata.name.clone().unwrap_or_default(),
            claim: format!(
                "{}/{}",
                r.namespace.as_deref().unwrap_or_default(),
                r.name.as_deref().unwrap_or_default()
            ),
        });
    }
    let mut meta = rv_meta(&volume.metadata);
    let mut dirty = false;
    let mut patch = Map::new();
    let complete = current.is_some_and(|r| {
        r.name == claim.metadata.name
            && r.namespace == claim.metadata.namespace
            && r.uid == claim.metadata.uid
    });
    if !complete {
        patch.insert("spec".into(), json!({"claimRef": claim_ref(claim)}));
        dirty = true;
    }
    if !reserved && annotation(&volume.metadata, ANN_BOUND_BY_CONTROLLER).is_none() {
        meta.insert(
            "annotations".into(),
            json!({ANN_BOUND_BY_CONTROLLER: "yes"}),
        );
        dirty = true;
    }
    if !dirty {
        return Ok(None);
    }
    patch.insert("metadata".into(), Value::Object(meta));
    Ok(Some(Value::Object(patch)))
}

/// Sets the volume's phase (and message; `None` clears it). Nothing when
/// the phase already is `phase`.
pub fn volume_phase_patch(
    volume: &PersistentVolume,
    phase: &str,
    message: Option<&str>,
) -> Option<Value> {
    if volume_phase_of(volume) == phase {
        return None;
    }
    Some(json!({
        "metadata": rv_meta(&volume.metadata),
        "status": {"phase": phase, "message": message},
    }))
}

/// Rolls a binding back: a volume the controller bound becomes free again
/// (`claimRef` and the annotation removed); a volume the user reserved
/// keeps its reservation but loses the claim's UID.
pub fn volume_unbind_patch(volume: &PersistentVolume) -> Value {
    let mut meta = rv_meta(&volume.metadata);
    if annotation(&volume.metadata, ANN_BOUND_BY_CONTROLLER).is_some() {
        meta.insert("annotations".into(), json!({ANN_BOUND_BY_CONTROLLER: null}));
        json!({"metadata": meta, "spec": {"claimRef": null}})
    } else {
        json!({"metadata": meta, "spec": {"claimRef": {"uid": null}}})
    }
}

/// Binds the claim to the volume: `spec.volumeName`,
/// `pv.kubernetes.io/bound-by-controller` when the controller chose the
/// volume, and `pv.kubernetes.io/bind-completed`.
pub fn claim_bind_patch(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> Option<Value> {
    let volume_name = volume.metadata.name.as_deref().unwrap_or_default();
    let mut annotations = Map::new();
    let mut patch = Map::new();
    if volume_name_of(claim) != volume_name {
        patch.insert("spec".into(), json!({"volumeName": volume_name}));
        if annotation(&claim.metadata, ANN_BOUND_BY_CONTROLLER).is_none() {
            annotations.insert(ANN_BOUND_BY_CONTROLLER.into(), json!("yes"));
        }
    }
    if annotation(&claim.metadata, ANN_BIND_COMPLETED).is_none() {
        annotations.insert(ANN_BIND_COMPLETED.into(), json!("yes"));
    }
    if patch.is_empty() && annotations.is_empty() {
        return None;
    }
    let mut meta = rv_meta(&claim.metadata);
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    patch.insert("metadata".into(), Value::Object(meta));
    Some(Value::Object(patch))
}

/// Sets the claim's phase. With a volume, `accessModes` follow the
/// volume's and `capacity` is copied when the claim becomes bound (a
/// bound claim's capacity is never overwritten); without one both are
/// cleared.
pub fn claim_status_patch(
    claim: &PersistentVolumeClaim,
    phase: &str,
    volume: Option<&PersistentVolume>,
) -> Option<Value> {
    let status = claim.status.as_ref();
    let mut changes = Map::new();
    if claim_phase_of(claim) != phase {
        changes.insert("phase".into(), json!(phase));
    }
    let modes = status.and_then(|s| s.access_modes.as_ref());
    let capacity = status.and_then(|s| s.capacity.as_ref());
    match volume {
        None => {
            if modes.is_some() {
                changes.insert("accessModes".into(), Value::Null);
            }
            if capacity.is_some() {
                changes.insert("capacity".into(), Value::Null);
            }
        }
        Some(volume) => {
            let spec = volume.spec.as_ref();
            let volume_modes = spec.and_then(|s| s.access_modes.as_ref());
            if modes != volume_modes {
                changes.insert("accessModes".into(), json!(volume_modes));
            }
            if claim_phase_of(claim) != phase {
                let volume_capacity = spec
                    .and_then(|s| s.capacity.as_ref())
                    .and_then(|c| c.get("storage"));
                let claim_capacity = capacity.and_then(|c| c.get("storage"));
                if let Some(storage) = volume_capacity
                    && claim_capacity != Some(storage)
                {
                    changes.insert("capacity".into(), json!({"storage": storage}));
                }
            }
        }
    }
    if changes.is_empty() {
        return None;
    }
    Some(json!({"metadata": rv_meta(&claim.metadata), "status": changes}))
}

/// Sets claim annotations; nothing when each already has its value.
pub fn claim_annotations_patch(
    claim: &PersistentVolumeClaim,
    wanted: &[(&str, &str)],
) -> Option<Value> {
    let missing: Map<String, Value> = wanted
        .iter()
        .filter(|(k, v)| annotation(&claim.metadata, k) != Some(*v))
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut meta = rv_meta(&claim.metadata);
    meta.insert("annotations".into(), Value::Object(missing));
    Some(json!({"metadata": meta}))
}

/// Writes `class` into a claim that named none, as upstream's
/// DefaultStorageClass admission (at create) or its controller (for
/// claims created before a default existed) does.
pub fn claim_class_patch(claim: &PersistentVolumeClaim, class: &str) -> Value {
    json!({"metadata": rv_meta(&claim.metadata), "spec": {"storageClassName": class}})
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{annotate, claim, claimed, volume};
    use super::*;

    #[test]
    fn controller_binding_marks_both_sides_and_is_guarded() {
        let c = claim("data", "1Gi", Some("manual"));
        let v = volume("pv-1", "5Gi", "manual");
        let patch = volume_bind_patch(&v, &c).ok().flatten();
        assert_eq!(
            patch,
            Some(json!({
                "metadata": {"resourceVersion": "20", "annotations": {"pv.kubernetes.io/bound-by-controller": "yes"}},
                "spec": {"claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "default",
                                      "name": "data", "uid": "uid-data", "resourceVersion": "10"}},
            }))
        );
        let bound = claimed(v.clone(), &c, true);
        let mut bound = bound;
        annotate(&mut bound.metadata, ANN_BOUND_BY_CONTROLLER, "yes");
        assert_eq!(volume_bind_patch(&bound, &c), Ok(None));

        let patch = claim_bind_patch(&c, &v);
        assert_eq!(
            patch,
            Some(json!({
                "metadata": {"resourceVersion": "10", "annotations": {
                    "pv.kubernetes.io/bound-by-controller": "yes", "pv.kubernetes.io/bind-completed": "yes"}},
                "spec": {"volumeName": "pv-1"},
            }))
        );
    }

    #[test]
    fn a_volume_held_by_another_claim_is_never_rebound() {
        let c = claim("data", "1Gi", None);
        let other = claim("other", "1Gi", None);
        let v = claimed(volume("pv-1", "1Gi", ""), &other, true);
        assert!(volume_bind_patch(&v, &c).is_err());
    }

    #[test]
    fn user_reservations_get_the_uid_but_no_controller_mark() {
        let c = claim("data", "1Gi", None);
        let reserved = claimed(volume("pv-1", "1Gi", ""), &c, false);
        let patch = volume_bind_patch(&reserved, &c).ok().flatten();
        assert!(
            patch
                .as_ref()
                .is_some_and(|p| p["metadata"].get("annotations").is_none()
                    && p["spec"]["claimRef"]["uid"] == "uid-data")
        );
        let mut user_bound = claim("data", "1Gi", None);
        if let Some(s) = user_bound.spec.as_mut() {
            s.volume_name = Some("pv-1".into());
        }
        assert_eq!(
            claim_bind_patch(&user_bound, &reserved),
            Some(
                json!({"metadata": {"resourceVersion": "10", "annotations": {"pv.kubernetes.io/bind-completed": "yes"}}})
            )
        );
    }

    #[test]
    fn claim_status_copies_capacity_only_when_becoming_bound() {
        let c = claim("data", "1Gi", None);
        let v = volume("pv-1", "5Gi", "");
        assert_eq!(
            claim_status_patch(&c, "Bound", Some(&v)),
            Some(json!({"metadata": {"resourceVersion": "10"}, "status": {
                "phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}}}))
        );
        let mut bound = c.clone();
        if let Some(s) = bound.status.as_mut() {
            s.phase = Some("Bound".into());
            s.access_modes = Some(vec!["ReadWriteOnce".into()]);
            s.capacity = Some([("storage".to_owned(), Quantity("4Gi".into()))].into());
        }
        assert_eq!(claim_status_patch(&bound, "Bound", Some(&v)), None);
        assert_eq!(
            claim_status_patch(&bound, "Lost", None),
            Some(json!({"metadata": {"resourceVersion": "10"}, "status": {
                "phase": "Lost", "accessModes": null, "capacity": null}}))
        );
    }

    #[test]
    fn phases_are_written_only_when_they_change() {
        let v = volume("pv-1", "1Gi", "");
        assert_eq!(volume_phase_patch(&v, "Available", None), None);
        assert_eq!(
            volume_phase_patch(&v, "Released", None),
            Some(
                json!({"metadata": {"resourceVersion": "20"}, "status": {"phase": "Released", "message": null}})
            )
        );
    }

    #[test]
    fn unbinding_frees_controller_bindings_and_keeps_user_reservations() {
        let c = claim("data", "1Gi", None);
        let mut by_controller = claimed(volume("pv-1", "1Gi", ""), &c, true);
        annotate(&mut by_controller.metadata, ANN_BOUND_BY_CONTROLLER, "yes");
        assert_eq!(
            volume_unbind_patch(&by_controller),
            json!({"metadata": {"resourceVersion": "20", "annotations": {"pv.kubernetes.io/bound-by-controller": null}},
                   "spec": {"claimRef": null}})
        );
        let by_user = claimed(volume("pv-1", "1Gi", ""), &c, true);
        assert_eq!(
            volume_unbind_patch(&by_user),
            json!({"metadata": {"resourceVersion": "20"}, "spec": {"claimRef": {"uid": null}}})
        );
    }

    #[test]
    fn annotations_are_added_once() {
        let mut c = claim("data", "1Gi", None);
        let wanted = [("a", "1"), ("b", "2")];
        assert_eq!(
            claim_annotations_patch(&c, &wanted),
            Some(
                json!({"metadata": {"resourceVersion": "10", "annotations": {"a": "1", "b": "2"}}})
            )
        );
        annotate(&mut c.metadata, "a", "1");
        annotate(&mut c.metadata, "b", "2");
        assert_eq!(claim_annotations_patch(&c, &wanted), None);
    }

    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
}
