//! Adoption and release: which objects a controller claims, and the JSON
//! merge patches that adopt or release them.
//!
//! Bosun's apiserver takes JSON merge patches, which replace lists whole,
//! so the patches carry the complete new `ownerReferences` list together
//! with the object's `uid` and `resourceVersion` as preconditions: a
//! concurrent change makes the patch fail with a conflict instead of being
//! overwritten.

use std::collections::BTreeMap;

use bosun_types::labels::Selector;
use bosun_types::labels::wire::selector_from_wire;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use serde_json::{Value, json};

use super::error::WorkloadError;

/// The owner reference with `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// Whether `object` is controlled by the object with metadata `owner`.
pub fn is_controlled_by(object: &ObjectMeta, owner: &ObjectMeta) -> bool {
    match (controller_of(object), owner.uid.as_deref()) {
        (Some(r), Some(uid)) => r.uid == uid,
        _ => false,
    }
}

/// A controller's selector as a [`Selector`] (an empty one selects everything).
pub fn controller_selector(selector: &LabelSelector) -> Result<Selector, WorkloadError> {
    Ok(selector_from_wire(Some(selector))?)
}

/// What a controller should do about one object it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Already controlled by this controller and still selected: keep it.
    Owned,
    /// An orphan the controller selects: adopt it (see [`adopt_patch`]).
    Adopt,
    /// Controlled by this controller but no longer selected: release it
    /// (see [`release_patch`]).
    Release,
    /// Not this controller's business (another controller owns it, it is
    /// being deleted, lives elsewhere, or is not selected).
    Ignore,
}

impl ClaimDecision {
    /// Whether the object belongs to the controller after the decision
    /// is carried out (owned or adopted).
    pub fn claims(self) -> bool {
        matches!(self, ClaimDecision::Owned | ClaimDecision::Adopt)
    }
}

/// Upstream's `ClaimObject`, as a decision: the controller with metadata
/// `owner` and selector `selector` looks at `object`.
///
/// * Controlled by the owner: [`Owned`](ClaimDecision::Owned) while the
///   selector matches; otherwise [`Release`](ClaimDecision::Release),
///   unless the owner is being deleted.
/// * Controlled by someone else: [`Ignore`](ClaimDecision::Ignore).
/// * Orphan: [`Adopt`](ClaimDecision::Adopt) when the selector matches,
///   neither the owner nor the object is being deleted, and both are in
///   the same namespace. (Upstream re-reads the owner before adopting to
///   make sure it is not being deleted; the caller should do the same.)
pub fn claim_decision(
    owner: &ObjectMeta,
    selector: &Selector,
    object: &ObjectMeta,
) -> ClaimDecision {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    let matches = selector.matches(object.labels.as_ref().unwrap_or(&EMPTY));
    let owner_deleting = owner.deletion_timestamp.is_some();
    if let Some(controller) = controller_of(object) {
        if owner.uid.as_deref() != Some(controller.uid.as_str()) {
            return ClaimDecision::Ignore;
        }
        if matches {
            return ClaimDecision::Owned;
        }
        if owner_deleting {
            return ClaimDecision::Ignore;
        }
        return ClaimDecision::Release;
    }
    if owner_deleting || !matches || object.deletion_timestamp.is_some() {
        return ClaimDecision::Ignore;
    }
    let owner_ns = owner.namespace.as_deref().unwrap_or("");
    if !owner_ns.is_empty() && Some(owner_ns) != object.namespace.as_deref() {
        return ClaimDecision::Ignore;
    }
    ClaimDecision::Adopt
}

fn preconditions(object: &ObjectMeta, metadata: &mut serde_json::Map<String, Value>) {
    if let Some(uid) = &object.uid {
        metadata.insert("uid".into(), json!(uid));
    }
    if let Some(rv) = &object.resource_version {
        metadata.insert("resourceVersion".into(), json!(rv));
    }
}

/// A JSON merge patch making `controller` the object's controller: its
/// other owner references kept, any stale reference to the same owner UID
/// replaced.
pub fn adopt_patch(object: &ObjectMeta, controller: &OwnerReference) -> Value {
    let mut refs: Vec<OwnerReference> = object
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.uid != controller.uid)
        .cloned()
        .collect();
    refs.push(controller.clone());
    let mut metadata = serde_json::Map::new();
    metadata.insert(
        "ownerReferences".into(),
        serde_json::to_value(refs).unwrap_or(Value::Null),
    );
    preconditions(object, &mut metadata);
    json!({ "metadata": metadata })
}

/// A JSON merge patch removing the owner reference to `owner_uid` (the
/// field is removed when no reference is left).
pub fn release_patch(object: &ObjectMeta, owner_uid: &str) -> Value {
    let refs: Vec<OwnerReference> = object
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.uid != owner_uid)
        .cloned()
        .collect();
    let mut metadata = serde_json::Map::new();
    metadata.insert(
        "ownerReferences".into(),
        if refs.is_empty() {
            Value::Null
        } else {
            serde_json::to_value(refs).unwrap_or(Value::Null)
        },
    );
    preconditions(object, &mut metadata);
    json!({ "metadata": metadata })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::pod_template::controller_ref;
    use crate::workload::test_support::{labels, ts};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn owner() -> ObjectMeta {
        ObjectMeta {
            name: Some("rs".into()),
            namespace: Some("default".into()),
            uid: Some("rs-uid".into()),
            ..ObjectMeta::default()
        }
    }

    fn object(app: &str, controller_uid: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some("p".into()),
            namespace: Some("default".into()),
            uid: Some("p-uid".into()),
            resource_version: Some("7".into()),
            labels: Some(labels(&[("app", app)])),
            owner_references: controller_uid
                .map(|uid| vec![controller_ref("apps/v1", "ReplicaSet", "x", uid)]),
            ..ObjectMeta::default()
        }
    }

    fn selector() -> Selector {
        Selector::from_set(&labels(&[("app", "web")]))
    }

    #[test]
    fn decisions() {
        let o = owner();
        let s = selector();
        assert_eq!(
            claim_decision(&o, &s, &object("web", Some("rs-uid"))),
            ClaimDecision::Owned
        );
        assert_eq!(
            claim_decision(&o, &s, &object("db", Some("rs-uid"))),
            ClaimDecision::Release
        );
        assert_eq!(
            claim_decision(&o, &s, &object("web", Some("other"))),
            ClaimDecision::Ignore
        );
        assert_eq!(
            claim_decision(&o, &s, &object("web", None)),
            ClaimDecision::Adopt
        );
        assert_eq!(
            claim_decision(&o, &s, &object("db", None)),
            ClaimDecision::Ignore
        );
        let mut deleting = object("web", None);
        deleting.deletion_timestamp = Some(Time(ts(1)));
        assert_eq!(claim_decision(&o, &s, &deleting), ClaimDecision::Ignore);
        let mut elsewhere = object("web", None);
        elsewhere.namespace = Some("other".into());
        assert_eq!(claim_decision(&o, &s, &elsewhere), ClaimDecision::Ignore);
        let mut owner_deleting = owner();
        owner_deleting.deletion_timestamp = Some(Time(ts(1)));
        assert_eq!(
            claim_decision(&owner_deleting, &s, &object("web", None)),
            ClaimDecision::Ignore
        );
        assert_eq!(
            claim_decision(&owner_deleting, &s, &object("db", Some("rs-uid"))),
            ClaimDecision::Ignore
        );
        assert!(ClaimDecision::Adopt.claims() && !ClaimDecision::Release.claims());
    }

    #[test]
    fn patches() {
        let mut orphan = object("web", None);
        orphan.owner_references = Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "cm".into(),
            uid: "cm-uid".into(),
            ..OwnerReference::default()
        }]);
        let ours = controller_ref("apps/v1", "ReplicaSet", "rs", "rs-uid");
        let patch = adopt_patch(&orphan, &ours);
        assert_eq!(patch["metadata"]["uid"], "p-uid");
        assert_eq!(patch["metadata"]["resourceVersion"], "7");
        let refs = patch["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1]["uid"], "rs-uid");
        assert_eq!(refs[1]["controller"], true);
        assert_eq!(refs[1]["blockOwnerDeletion"], true);

        let owned = object("db", Some("rs-uid"));
        let patch = release_patch(&owned, "rs-uid");
        assert!(patch["metadata"]["ownerReferences"].is_null());
        assert_eq!(patch["metadata"]["uid"], "p-uid");
    }

    #[test]
    fn wire_selector() {
        let ls = LabelSelector {
            match_labels: Some(labels(&[("app", "web")])),
            ..LabelSelector::default()
        };
        let s = controller_selector(&ls).expect("selector");
        assert!(s.matches(&labels(&[("app", "web"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("app", "db")])));
    }
}
