//! Does a volume satisfy a claim, and which volume fits a claim best.
//!
//! A volume fits when its capacity is at least the claim's storage
//! request, it offers every access mode the claim asks for, its class is
//! the claim's class, its labels match the claim's `spec.selector`, its
//! volume mode is the claim's, it is not being deleted, it is Available
//! and nobody else claims it. Of the fitting volumes the one with the
//! fewest access modes wins, then the smallest, then the first by name. A
//! volume pre-bound to the claim (`spec.claimRef` naming it) wins over
//! everything, as long as it is big enough and of the right volume mode.
//!
//! With a `WaitForFirstConsumer` class, unbound volumes are only
//! considered once the node of the first consumer is known, and then only
//! those whose node affinity admits that node.

use super::class::{claim_class, volume_class};
use super::volume_phase;
use crate::workload::daemonset_placement::term_matches;
use bosun_types::labels::Selector;
use bosun_types::labels::wire::selector_from_wire;
use bosun_types::quantity::Quantity;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use std::collections::BTreeMap;

/// Why a requested volume cannot be bound to a claim (upstream's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Capacity below the request.
    TooSmall,
    /// Different class.
    Class,
    /// Block vs Filesystem.
    VolumeMode,
    /// A requested access mode is missing.
    AccessMode,
    /// The volume is being deleted.
    Deleting(String),
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::TooSmall => f.write_str("requested PV is too small"),
            Mismatch::Class => f.write_str("storageClassName does not match"),
            Mismatch::VolumeMode => f.write_str("incompatible volumeMode"),
            Mismatch::AccessMode => f.write_str("incompatible accessMode"),
            Mismatch::Deleting(name) => write!(f, "the volume is marked for deletion {name:?}"),
        }
    }
}

fn parse(q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> Quantity {
    q.and_then(|q| Quantity::parse(&q.0).ok())
        .unwrap_or(Quantity::ZERO)
}

/// The claim's `resources.requests.storage` (zero when unset).
pub fn storage_request(claim: &PersistentVolumeClaim) -> Quantity {
    parse(
        claim
            .spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage")),
    )
}

/// The volume's `capacity.storage` (zero when unset).
pub fn storage_capacity(volume: &PersistentVolume) -> Quantity {
    parse(
        volume
            .spec
            .as_ref()
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage")),
    )
}

fn access_modes_of_claim(claim: &PersistentVolumeClaim) -> &[String] {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or_default()
}

fn access_modes_of_volume(volume: &PersistentVolume) -> &[String] {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or_default()
}

/// Whether the volume offers every access mode the claim asks for.
pub fn access_modes_fit(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let offered = access_modes_of_volume(volume);
    access_modes_of_claim(claim)
        .iter()
        .all(|m| offered.contains(m))
}

/// Whether claim and volume disagree on Block vs Filesystem (unset is
/// Filesystem).
pub fn volume_mode_mismatch(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let claim_mode = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_mode.as_deref())
        .unwrap_or("Filesystem");
    let volume_mode = volume
        .spec
        .as_ref()
        .and_then(|s| s.volume_mode.as_deref())
        .unwrap_or("Filesystem");
    claim_mode != volume_mode
}

/// Whether `volume.spec.claimRef` names this claim (namespace and name,
/// and its UID when the reference carries one).
pub fn is_bound_to_claim(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
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

/// Whether the volume's required node affinity admits `node` (no affinity
/// admits every node).
pub fn node_affinity_fits(volume: &PersistentVolume, node: &Node) -> bool {
    match volume
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref())
    {
        Some(required) => required
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, node)),
        None => true,
    }
}

/// Whether a volume the user asked for by name (`spec.volumeName`) can be
/// bound to the claim.
pub fn check_volume_satisfies_claim(
    volume: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Result<(), Mismatch> {
    if volume.metadata.deletion_timestamp.is_some() {
        return Err(Mismatch::Deleting(
            volume.metadata.name.clone().unwrap_or_default(),
        ));
    }
    if storage_capacity(volume) < storage_request(claim) {
        return Err(Mismatch::TooSmall);
    }
    if volume_class(volume) != claim_class(claim) {
        return Err(Mismatch::Class);
    }
    if volume_mode_mismatch(claim, volume) {
        return Err(Mismatch::VolumeMode);
    }
    if !access_modes_fit(claim, volume) {
        return Err(Mismatch::AccessMode);
    }
    Ok(())
}

fn claim_selector(claim: &PersistentVolumeClaim) -> Option<Selector> {
    match claim.spec.as_ref().and_then(|s| s.selector.as_ref()) {
        None => Some(Selector::everything()),
        Some(s) => selector_from_wire(Some(s)).ok(),
    }
}

/// The volume that should be bound to `claim`, if any: the one pre-bound
/// to it, else the best fitting Available one. `delay_binding` is whether
/// the claim's class waits for the first consumer; `node` is that
/// consumer's node once known.
pub fn find_best_match<'a>(
    claim: &PersistentVolumeClaim,
    volumes: impl IntoIterator<Item = &'a PersistentVolume>,
    delay_binding: bool,
    node: Option<&Node>,
) -> Option<&'a PersistentVolume> {
    let requested = storage_request(claim);
    let class = claim_class(claim);
    // An invalid selector matches no volume.
    let selector = claim_selector(claim);
    let empty = BTreeMap::new();
    let mut best: Option<(&PersistentVolume, (usize, Quantity, String))> = None;
    for volume in volumes {
        let claimed = volume
            .spec
            .as_ref()
            .and_then(|s| s.claim_ref.as_ref())
            .is_some();
        let pre_bound = is_bound_to_claim(volume, claim);
        if claimed && !pre_bound {
            continue;
        }
        let capacity = storage_capacity(volume);
        if capacity < requested
            || volume_mode_mismatch(claim, volume)
            || volume.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let affinity_fits = node.is_none_or(|n| node_affinity_fits(volume, n));
        if pre_bound {
            return affinity_fits.then_some(volume);
        }
        if delay_binding && node.is_none() {
            continue;
        }
        let labels = volume.metadata.labels.as_ref().unwrap_or(&empty);
        if super::volume_phase_of(volume) != volume_phase::AVAILABLE
            || !selector.as_ref().is_some_and(|s| s.matches(labels))
            || volume_class(volume) != class
            || !affinity_fits
            || !access_modes_fit(claim, volume)
        {
            continue;
        }
        let rank = (
            access_modes_of_volume(volume).len(),
            capacity,
            volume.metadata.name.clone().unwrap_or_default(),
        );
        if best.as_ref().is_none_or(|(_, r)| rank < *r) {
            best = Some((volume, rank));
        }
    }
    best.map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{claim, claimed, node, volume};
    use super::*;
    use k8s_openapi::api::core::v1::{
        NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, VolumeNodeAffinity,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};

    fn name(v: Option<&PersistentVolume>) -> Option<&str> {
        v.and_then(|v| v.metadata.name.as_deref())
    }

    fn with_modes(mut v: PersistentVolume, modes: &[&str]) -> PersistentVolume {
        if let Some(s) = v.spec.as_mut() {
            s.access_modes = Some(modes.iter().map(|m| (*m).to_owned()).collect());
        }
        v
    }

    fn pinned(mut v: PersistentVolume, host: &str) -> PersistentVolume {
        if let Some(s) = v.spec.as_mut() {
            s.node_affinity = Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![NodeSelectorRequirement {
                            key: "kubernetes.io/hostname".into(),
                            operator: "In".into(),
                            values: Some(vec![host.into()]),
                        }]),
                        match_fields: None,
                    }],
                }),
            });
        }
        v
    }

    #[test]
    fn smallest_fitting_volume_wins() {
        let c = claim("c", "1Gi", Some("manual"));
        let vols = [
            volume("big", "10Gi", "manual"),
            volume("small", "1Gi", "manual"),
            volume("tiny", "500Mi", "manual"),
            volume("mid", "2Gi", "manual"),
        ];
        assert_eq!(name(find_best_match(&c, &vols, false, None)), Some("small"));
    }

    #[test]
    fn quantities_compare_by_value_not_text() {
        let c = claim("c", "1000Mi", Some("manual"));
        let vols = [volume("a", "1Gi", "manual"), volume("b", "2G", "manual")];
        assert_eq!(name(find_best_match(&c, &vols, false, None)), Some("a"));
        let c = claim("c", "1.5Gi", Some("manual"));
        assert_eq!(name(find_best_match(&c, &vols, false, None)), Some("b"));
    }

    #[test]
    fn class_access_modes_and_volume_mode_must_match() {
        let mut c = claim("c", "1Gi", Some("manual"));
        let other_class = volume("other", "1Gi", "fast");
        let no_class = volume("none", "1Gi", "");
        let rox = with_modes(volume("rox", "1Gi", "manual"), &["ReadOnlyMany"]);
        let mut block = volume("block", "1Gi", "manual");
        if let Some(s) = block.spec.as_mut() {
            s.volume_mode = Some("Block".into());
        }
        let vols = [other_class, no_class, rox, block];
        assert!(find_best_match(&c, &vols, false, None).is_none());
        if let Some(s) = c.spec.as_mut() {
            s.storage_class_name = Some(String::new());
        }
        assert_eq!(name(find_best_match(&c, &vols, false, None)), Some("none"));
    }

    #[test]
    fn fewest_access_modes_win_over_smaller_capacity() {
        let c = claim("c", "1Gi", Some("manual"));
        let vols = [
            with_modes(
                volume("many", "1Gi", "manual"),
                &["ReadWriteOnce", "ReadWriteMany"],
            ),
            volume("one", "5Gi", "manual"),
        ];
        assert_eq!(name(find_best_match(&c, &vols, false, None)), Some("one"));
    }

    #[test]
    fn selector_must_match_volume_labels() {
        let mut c = claim("c", "1Gi", Some("manual"));
        if let Some(s) = c.spec.as_mut() {
            s.selector = Some(LabelSelector {
                match_labels: Some([("tier".to_owned(), "gold".to_owned())].into()),
                match_expressions: None,
            });
        }
        let mut gold = volume("gold", "5Gi", "manual");
        gold.metadata.labels = Some([("tier".to_owned(), "gold".to_owned())].into());
        let vols = [volume("plain", "1Gi", "manual"), gold];
        assert_eq!(name(find_best_match(&c, &vols, false, None)), Some("gold"));
    }

    #[test]
    fn only_available_unclaimed_volumes_bind() {
        let c = claim("c", "1Gi", Some("manual"));
        let other = claim("other", "1Gi", Some("manual"));
        let mut released = claimed(volume("released", "1Gi", "manual"), &other, true);
        if let Some(s) = released.status.as_mut() {
            s.phase = Some("Released".into());
        }
        let mut pending = volume("pending", "1Gi", "manual");
        if let Some(s) = pending.status.as_mut() {
            s.phase = Some("Pending".into());
        }
        let mut deleting = volume("deleting", "1Gi", "manual");
        deleting.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        let taken = claimed(volume("taken", "1Gi", "manual"), &other, true);
        let vols = [released, pending, deleting, taken];
        assert!(find_best_match(&c, &vols, false, None).is_none());
    }

    #[test]
    fn released_volume_of_a_deleted_claim_never_rebinds_to_its_namesake() {
        let old = claim("data", "1Gi", Some("manual"));
        let mut new = claim("data", "1Gi", Some("manual"));
        new.metadata.uid = Some("uid-data-2".into());
        let mut released = claimed(volume("released", "1Gi", "manual"), &old, true);
        if let Some(s) = released.status.as_mut() {
            s.phase = Some("Released".into());
        }
        assert!(find_best_match(&new, [&released], false, None).is_none());
    }

    #[test]
    fn pre_bound_volume_wins_even_when_bigger_or_of_another_class() {
        let c = claim("c", "1Gi", Some("manual"));
        let reserved = claimed(volume("reserved", "10Gi", "other"), &c, false);
        let vols = [volume("exact", "1Gi", "manual"), reserved];
        assert_eq!(
            name(find_best_match(&c, &vols, false, None)),
            Some("reserved")
        );
        let too_small = claimed(volume("small", "100Mi", "manual"), &c, false);
        assert!(find_best_match(&c, [&too_small], false, None).is_none());
    }

    #[test]
    fn delayed_binding_waits_for_a_node_and_honours_node_affinity() {
        let c = claim("c", "1Gi", Some("local"));
        let vols = [
            pinned(volume("on-a", "1Gi", "local"), "node-a"),
            pinned(volume("on-b", "1Gi", "local"), "node-b"),
        ];
        assert!(find_best_match(&c, &vols, true, None).is_none());
        let b = node("node-b");
        assert_eq!(
            name(find_best_match(&c, &vols, true, Some(&b))),
            Some("on-b")
        );
        let z = node("node-z");
        assert!(find_best_match(&c, &vols, true, Some(&z)).is_none());
    }

    #[test]
    fn requested_volume_checks_say_why() {
        let c = claim("c", "2Gi", Some("manual"));
        let v = volume("v", "1Gi", "manual");
        assert_eq!(
            check_volume_satisfies_claim(&v, &c),
            Err(Mismatch::TooSmall)
        );
        let v = volume("v", "2Gi", "fast");
        assert_eq!(
            check_volume_satisfies_claim(&v, &c).map_err(|e| e.to_string()),
            Err("storageClassName does not match".to_owned())
        );
        let v = with_modes(volume("v", "2Gi", "manual"), &["ReadOnlyMany"]);
        assert_eq!(
            check_volume_satisfies_claim(&v, &c),
            Err(Mismatch::AccessMode)
        );
        assert_eq!(
            check_volume_satisfies_claim(&volume("v", "3Gi", "manual"), &c),
            Ok(())
        );
    }

    #[test]
    fn claim_ref_without_uid_reserves_for_any_claim_of_that_name() {
        let c = claim("c", "1Gi", None);
        let mut other_uid = claim("c", "1Gi", None);
        other_uid.metadata.uid = Some("uid-other".into());
        let loose = claimed(volume("v", "1Gi", ""), &c, false);
        let strict = claimed(volume("v", "1Gi", ""), &c, true);
        assert!(is_bound_to_claim(&loose, &other_uid));
        assert!(is_bound_to_claim(&strict, &c));
        assert!(!is_bound_to_claim(&strict, &other_uid));
    }
}
