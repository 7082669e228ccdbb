//! The storage objects VolumeBinding reads — PersistentVolumeClaims,
//! PersistentVolumes and StorageClasses — as the watches last showed them,
//! with the scheduler's own reservations layered on top (upstream's
//! assume caches).
//!
//! A reservation replaces the object the algorithm sees (a volume with
//! `spec.claimRef` set, a claim with `volume.kubernetes.io/selected-node`)
//! until the watch delivers a newer version of the object (the write, or
//! someone else's) or the reservation is restored. The watch's own version
//! ("API object") stays readable for PreBind's checks.
//!
//! Volumes are kept per class with their capacity and node affinity parsed
//! once, so matching a claim walks only the volumes of its class.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use bosun_types::quantity::Quantity;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::node_info::NodeInfo;
use super::plugins::node_affinity::TermMatcher;

/// Claim annotation: the node the scheduler chose for the first consumer.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// Claim annotation: the PV controller finished binding the claim.
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Volume annotation: bound by a controller (or the scheduler), not the user.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// Claim / volume annotation naming a class (older than `storageClassName`).
pub const ANN_BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// The provisioner of classes whose volumes an administrator creates.
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
/// `volumeBindingMode` that leaves binding to the scheduler.
pub const WAIT_FOR_FIRST_CONSUMER: &str = "WaitForFirstConsumer";
/// The phase of a volume free to bind.
pub const VOLUME_AVAILABLE: &str = "Available";
/// The phase of a claim whose volume is gone.
pub const CLAIM_LOST: &str = "Lost";

/// `namespace/name`, the key claims are stored under.
pub fn claim_key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// An annotation of `meta`, if set.
pub fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
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

/// The class a volume belongs to (same rules as [`claim_class`]).
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

/// `spec.volumeName` of a claim (`""` when unset).
pub fn claim_volume_name(claim: &PersistentVolumeClaim) -> &str {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or_default()
}

/// Whether the PV controller finished binding the claim: it names a volume
/// and carries `pv.kubernetes.io/bind-completed`.
pub fn is_fully_bound(claim: &PersistentVolumeClaim) -> bool {
    !claim_volume_name(claim).is_empty()
        && annotation(&claim.metadata, ANN_BIND_COMPLETED).is_some()
}

/// Whether `volume.spec.claimRef` names the claim (namespace and name, and
/// its UID when the reference carries one).
pub fn is_volume_bound_to_claim(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(r) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    r.name == claim.metadata.name
        && r.namespace == claim.metadata.namespace
        && r.uid
            .as_deref()
            .filter(|u| !u.is_empty())
            .is_none_or(|u| Some(u) == claim.metadata.uid.as_deref())
}

/// The claim's `resources.requests.storage` (zero when unset or invalid).
pub fn storage_request(claim: &PersistentVolumeClaim) -> Quantity {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| Quantity::parse(&q.0).ok())
        .unwrap_or(Quantity::ZERO)
}

/// Whether `have` (a cached object's `resourceVersion`) is at least `want`
/// (one the scheduler wrote). Versions compare as numbers; when either is
/// not a number the cache counts as caught up, so an unusual store never
/// makes PreBind wait forever.
pub fn version_at_least(have: Option<&str>, want: Option<&str>) -> bool {
    match (
        have.and_then(|v| v.parse::<u64>().ok()),
        want.and_then(|v| v.parse::<u64>().ok()),
    ) {
        (Some(h), Some(w)) => h >= w,
        _ => true,
    }
}

/// Whether `new` is newer than `old` (numeric `resourceVersion`s; anything
/// unparseable counts as newer).
fn is_newer(new: &ObjectMeta, old: &ObjectMeta) -> bool {
    let parse = |m: &ObjectMeta| {
        m.resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
    };
    match (parse(new), parse(old)) {
        (Some(n), Some(o)) => n > o,
        _ => true,
    }
}

/// A volume with what matching needs parsed once.
#[derive(Clone, Debug)]
pub struct VolumeInfo {
    /// The object.
    pub pv: Arc<PersistentVolume>,
    /// Its class.
    pub class: String,
    /// `capacity.storage` (zero when unset or invalid).
    pub capacity: Quantity,
    /// Required node affinity: `None` admits every node; a term that does
    /// not compile matches no node.
    affinity: Option<Vec<Option<TermMatcher>>>,
}

impl VolumeInfo {
    /// Parses `pv`.
    pub fn new(pv: Arc<PersistentVolume>) -> Self {
        let spec = pv.spec.as_ref();
        let capacity = spec
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"))
            .and_then(|q| Quantity::parse(&q.0).ok())
            .unwrap_or(Quantity::ZERO);
        let affinity = spec
            .and_then(|s| s.node_affinity.as_ref())
            .and_then(|a| a.required.as_ref())
            .map(|required| {
                required
                    .node_selector_terms
                    .iter()
                    .map(|t| TermMatcher::compile(t).ok())
                    .collect()
            });
        VolumeInfo {
            class: volume_class(&pv).to_owned(),
            capacity,
            affinity,
            pv,
        }
    }

    /// The same volume with another version of its object whose class,
    /// capacity and node affinity are unchanged (a reservation).
    fn with_object(&self, pv: Arc<PersistentVolume>) -> Self {
        VolumeInfo { pv, ..self.clone() }
    }

    /// The volume's name.
    pub fn name(&self) -> &str {
        self.pv.metadata.name.as_deref().unwrap_or_default()
    }

    /// Whether the volume's required node affinity admits `node` (upstream's
    /// `CheckNodeAffinity`: one non-empty term must match).
    pub fn fits_node(&self, node: &NodeInfo) -> bool {
        match &self.affinity {
            None => true,
            Some(terms) => terms
                .iter()
                .flatten()
                .any(|t| !t.is_empty() && t.matches(node)),
        }
    }
}

/// An object as the watch shows it, and the scheduler's reservation of it.
#[derive(Clone, Debug)]
struct Assumable<T> {
    api: T,
    assumed: Option<T>,
}

impl<T> Assumable<T> {
    fn latest(&self) -> &T {
        self.assumed.as_ref().unwrap_or(&self.api)
    }
}

/// Claims, volumes and classes, with reservations.
#[derive(Clone, Debug, Default)]
pub struct Volumes {
    claims: HashMap<String, Assumable<Arc<PersistentVolumeClaim>>>,
    volumes: HashMap<String, Assumable<VolumeInfo>>,
    /// Volume names by class.
    by_class: HashMap<String, BTreeSet<String>>,
    classes: HashMap<String, Arc<StorageClass>>,
}

/// A reservation that could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssumeError {
    /// The claim is not (or no longer) known.
    #[error("persistentvolumeclaim {0:?} not found")]
    UnknownClaim(String),
    /// The volume is not (or no longer) known.
    #[error("persistentvolume {0:?} not found")]
    UnknownVolume(String),
}

fn meta_key(meta: &ObjectMeta) -> String {
    claim_key(
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

impl Volumes {
    /// Nothing known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a claim seen by the watch. An older or equal version than
    /// the one stored is ignored (a replay must not undo a reservation); a
    /// newer one replaces the reservation too.
    pub fn upsert_claim(&mut self, claim: Arc<PersistentVolumeClaim>) {
        let key = meta_key(&claim.metadata);
        match self.claims.get_mut(&key) {
            Some(entry) if !is_newer(&claim.metadata, &entry.latest().metadata) => {}
            Some(entry) => {
                entry.api = claim;
                entry.assumed = None;
            }
            None => {
                self.claims.insert(
                    key,
                    Assumable {
                        api: claim,
                        assumed: None,
                    },
                );
            }
        }
    }

    /// Forgets a deleted claim.
    pub fn remove_claim(&mut self, namespace: &str, name: &str) {
        self.claims.remove(&claim_key(namespace, name));
    }

    /// After a re-list: forgets every claim whose key is not in `present`.
    pub fn retain_claims(&mut self, present: &HashSet<String>) {
        self.claims.retain(|k, _| present.contains(k));
    }

    /// The claim `namespace/name` as the scheduler sees it (reserved or not).
    pub fn claim(&self, namespace: &str, name: &str) -> Option<&Arc<PersistentVolumeClaim>> {
        self.claims
            .get(&claim_key(namespace, name))
            .map(Assumable::latest)
    }

    /// The claim as the watch last showed it.
    pub fn api_claim(&self, namespace: &str, name: &str) -> Option<&Arc<PersistentVolumeClaim>> {
        self.claims.get(&claim_key(namespace, name)).map(|e| &e.api)
    }

    /// Records a volume seen by the watch (same version rules as
    /// [`upsert_claim`](Self::upsert_claim)).
    pub fn upsert_volume(&mut self, volume: Arc<PersistentVolume>) {
        let Some(name) = volume.metadata.name.clone() else {
            return;
        };
        if let Some(entry) = self.volumes.get(&name)
            && !is_newer(&volume.metadata, &entry.latest().pv.metadata)
        {
            return;
        }
        let info = VolumeInfo::new(volume);
        self.unindex(&name);
        self.by_class
            .entry(info.class.clone())
            .or_default()
            .insert(name.clone());
        self.volumes.insert(
            name,
            Assumable {
                api: info,
                assumed: None,
            },
        );
    }

    fn unindex(&mut self, name: &str) {
        if let Some(old) = self.volumes.get(name)
            && let Some(names) = self.by_class.get_mut(&old.api.class)
        {
            names.remove(name);
            if names.is_empty() {
                self.by_class.remove(&old.api.class);
            }
        }
    }

    /// Forgets a deleted volume.
    pub fn remove_volume(&mut self, name: &str) {
        self.unindex(name);
        self.volumes.remove(name);
    }

    /// After a re-list: forgets every volume whose name is not in `present`.
    pub fn retain_volumes(&mut self, present: &HashSet<String>) {
        let gone: Vec<String> = self
            .volumes
            .keys()
            .filter(|k| !present.contains(*k))
            .cloned()
            .collect();
        for name in gone {
            self.remove_volume(&name);
        }
    }

    /// The volume as the scheduler sees it (reserved or not).
    pub fn volume(&self, name: &str) -> Option<&VolumeInfo> {
        self.volumes.get(name).map(Assumable::latest)
    }

    /// The volume as the watch last showed it.
    pub fn api_volume(&self, name: &str) -> Option<&VolumeInfo> {
        self.volumes.get(name).map(|e| &e.api)
    }

    /// Every volume of `class`, as the scheduler sees them, by name.
    pub fn volumes_of_class<'a>(&'a self, class: &str) -> impl Iterator<Item = &'a VolumeInfo> {
        self.by_class
            .get(class)
            .into_iter()
            .flatten()
            .filter_map(|name| self.volume(name))
    }

    /// Records a class; returns whether it is new or its `allowedTopologies`
    /// changed (the only updates that may make a pod schedulable).
    pub fn upsert_class(&mut self, class: Arc<StorageClass>) -> bool {
        let Some(name) = class.metadata.name.clone() else {
            return false;
        };
        let relevant = self
            .classes
            .get(&name)
            .is_none_or(|old| old.allowed_topologies != class.allowed_topologies);
        self.classes.insert(name, class);
        relevant
    }

    /// Forgets a deleted class.
    pub fn remove_class(&mut self, name: &str) {
        self.classes.remove(name);
    }

    /// After a re-list: forgets every class whose name is not in `present`.
    pub fn retain_classes(&mut self, present: &HashSet<String>) {
        self.classes.retain(|k, _| present.contains(k));
    }

    /// The class named `name`.
    pub fn class(&self, name: &str) -> Option<&StorageClass> {
        self.classes.get(name).map(|c| &**c)
    }

    /// Reserves a claim: the scheduler sees `claim` until the watch shows a
    /// newer version or [`restore_claim`](Self::restore_claim).
    ///
    /// # Errors
    ///
    /// The claim is unknown.
    pub fn assume_claim(&mut self, claim: Arc<PersistentVolumeClaim>) -> Result<(), AssumeError> {
        let key = meta_key(&claim.metadata);
        let entry = self
            .claims
            .get_mut(&key)
            .ok_or(AssumeError::UnknownClaim(key))?;
        entry.assumed = Some(claim);
        Ok(())
    }

    /// Drops the reservation of claim `namespace/name`.
    pub fn restore_claim(&mut self, namespace: &str, name: &str) {
        if let Some(entry) = self.claims.get_mut(&claim_key(namespace, name)) {
            entry.assumed = None;
        }
    }

    /// Reserves a volume (same rules as [`assume_claim`](Self::assume_claim)).
    ///
    /// # Errors
    ///
    /// The volume is unknown.
    pub fn assume_volume(&mut self, volume: Arc<PersistentVolume>) -> Result<(), AssumeError> {
        let name = volume.metadata.name.clone().unwrap_or_default();
        let entry = self
            .volumes
            .get_mut(&name)
            .ok_or(AssumeError::UnknownVolume(name))?;
        entry.assumed = Some(entry.api.with_object(volume));
        Ok(())
    }

    /// Drops the reservation of volume `name`.
    pub fn restore_volume(&mut self, name: &str) {
        if let Some(entry) = self.volumes.get_mut(name) {
            entry.assumed = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim(name: &str, rv: &str) -> Arc<PersistentVolumeClaim> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
                    "resourceVersion": rv},
                "spec": {"storageClassName": "standard", "resources": {"requests": {"storage": "1Gi"}}}
            }))
            .expect("claim"),
        )
    }

    fn volume(name: &str, class: &str, rv: &str) -> Arc<PersistentVolume> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "resourceVersion": rv},
                "spec": {"storageClassName": class, "capacity": {"storage": "2Gi"}}
            }))
            .expect("volume"),
        )
    }

    fn annotated(c: &PersistentVolumeClaim, key: &str, value: &str) -> Arc<PersistentVolumeClaim> {
        let mut c = c.clone();
        c.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(key.into(), value.into());
        Arc::new(c)
    }

    #[test]
    fn a_reservation_lasts_until_a_newer_version_or_a_restore() {
        let mut v = Volumes::new();
        let c = claim("data", "5");
        v.upsert_claim(c.clone());
        v.assume_claim(annotated(&c, ANN_SELECTED_NODE, "n1"))
            .expect("known");
        let seen = |v: &Volumes| {
            v.claim("default", "data")
                .and_then(|c| annotation(&c.metadata, ANN_SELECTED_NODE).map(str::to_owned))
        };
        assert_eq!(seen(&v).as_deref(), Some("n1"));
        assert!(
            v.api_claim("default", "data").is_some_and(|c| annotation(
                &c.metadata,
                ANN_SELECTED_NODE
            )
            .is_none())
        );
        // A replay of the same version keeps the reservation.
        v.upsert_claim(c.clone());
        assert_eq!(seen(&v).as_deref(), Some("n1"));
        v.restore_claim("default", "data");
        assert_eq!(seen(&v), None);
        // A newer version replaces it.
        v.assume_claim(annotated(&c, ANN_SELECTED_NODE, "n1"))
            .expect("known");
        v.upsert_claim(claim("data", "6"));
        assert_eq!(seen(&v), None);
        assert!(v.assume_claim(claim("other", "1")).is_err());
    }

    #[test]
    fn volumes_are_listed_by_class_and_follow_class_changes() {
        let mut v = Volumes::new();
        v.upsert_volume(volume("a", "fast", "1"));
        v.upsert_volume(volume("b", "fast", "1"));
        v.upsert_volume(volume("c", "slow", "1"));
        let names = |v: &Volumes, class: &str| {
            v.volumes_of_class(class)
                .map(|i| i.name().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&v, "fast"), ["a", "b"]);
        v.upsert_volume(volume("a", "slow", "2"));
        assert_eq!(names(&v, "fast"), ["b"]);
        assert_eq!(names(&v, "slow"), ["a", "c"]);
        v.retain_volumes(&["a".to_owned()].into());
        assert_eq!(names(&v, "slow"), ["a"]);
        assert!(names(&v, "fast").is_empty());
        assert_eq!(
            v.volume("a").map(|i| i.capacity),
            Quantity::parse("2Gi").ok()
        );
    }

    #[test]
    fn only_new_classes_and_topology_changes_count() {
        let mut v = Volumes::new();
        let class: StorageClass = serde_json::from_value(json!({
            "metadata": {"name": "standard"}, "provisioner": "rancher.io/local-path"
        }))
        .expect("class");
        assert!(v.upsert_class(Arc::new(class.clone())));
        let mut labelled = class.clone();
        labelled.metadata.labels = Some([("a".to_owned(), "b".to_owned())].into());
        assert!(!v.upsert_class(Arc::new(labelled)));
        let mut zoned = class;
        zoned.allowed_topologies = Some(vec![Default::default()]);
        assert!(v.upsert_class(Arc::new(zoned)));
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert!(version_at_least(Some("10"), Some("9")));
        assert!(!version_at_least(Some("9"), Some("10")));
        assert!(version_at_least(Some("x"), Some("10")));
    }
}
