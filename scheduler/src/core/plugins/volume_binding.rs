//! VolumeBinding: the pod's PersistentVolumeClaims (`persistentVolumeClaim`
//! volumes and the claims of generic `ephemeral` volumes, named
//! `<pod>-<volume>`) must be usable on the node.
//!
//! * PreFilter ([`prefilter`]): every claim exists, is not being deleted
//!   or Lost, and is either bound or of a `WaitForFirstConsumer` class
//!   (unbound claims of other classes are the PV controller's to bind
//!   first).
//! * Filter ([`filter`]): a bound claim's volume must admit the node by its
//!   node affinity; an unbound claim needs an Available volume that fits it
//!   and the node, or a class that can provision on the node.
//! * Reserve ([`reserve`]): the chosen node's matches are recorded in
//!   [`Volumes`] (a volume's `claimRef`, a claim's
//!   `volume.kubernetes.io/selected-node`) so the next pods see them taken;
//!   [`unreserve`] undoes that. PreBind (the API writes and the wait for the
//!   PV controller) is the runtime's.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use bosun_types::labels::wire::selector_from_wire;
use k8s_openapi::api::core::v1::{
    ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod, TopologySelectorTerm,
};

use super::super::framework::{Code, Status};
use super::super::node_info::NodeInfo;
use super::super::pod_info::{pod_name, pod_namespace};
use super::super::snapshot::Snapshot;
use super::super::volumes::{
    ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE, CLAIM_LOST, NO_PROVISIONER, VOLUME_AVAILABLE,
    VolumeInfo, Volumes, WAIT_FOR_FIRST_CONSUMER, annotation, claim_class, claim_volume_name,
    is_fully_bound, is_volume_bound_to_claim, storage_request,
};

/// Plugin name.
pub const NAME: &str = "VolumeBinding";
/// Filter reason: an unbound claim finds no volume and cannot be provisioned.
pub const ERR_REASON_BIND_CONFLICT: &str =
    "node(s) didn't find available persistent volumes to bind";
/// Filter reason: a bound claim's volume does not admit the node.
pub const ERR_REASON_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
/// Filter reason: a bound claim names a volume that does not exist.
pub const ERR_REASON_PV_NOT_EXIST: &str =
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
/// PreFilter rejection: unbound claims the PV controller binds by itself.
pub const ERR_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";

/// A claim a pod mounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodClaim {
    /// The claim's name (in the pod's namespace).
    pub name: String,
    /// Whether it belongs to a generic ephemeral volume.
    pub ephemeral: bool,
}

/// The claims `pod` mounts, in volume order.
pub fn pod_claims(pod: &Pod) -> Vec<PodClaim> {
    let Some(volumes) = pod.spec.as_ref().and_then(|s| s.volumes.as_ref()) else {
        return Vec::new();
    };
    volumes
        .iter()
        .filter_map(|v| {
            if let Some(pvc) = &v.persistent_volume_claim {
                Some(PodClaim {
                    name: pvc.claim_name.clone(),
                    ephemeral: false,
                })
            } else {
                v.ephemeral.as_ref().map(|_| PodClaim {
                    name: format!("{}-{}", pod_name(pod), v.name),
                    ephemeral: true,
                })
            }
        })
        .collect()
}

/// Whether `pod` mounts any claim (cheap: no allocation).
pub fn has_claims(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| {
            vs.iter()
                .any(|v| v.persistent_volume_claim.is_some() || v.ephemeral.is_some())
        })
}

/// Whether `pod` mounts the claim `namespace/name` (upstream's queueing
/// hint for claim events).
pub fn uses_claim(pod: &Pod, namespace: &str, name: &str) -> bool {
    has_claims(pod)
        && pod_namespace(pod) == namespace
        && pod_claims(pod).iter().any(|c| c.name == name)
}

/// The pod's claims sorted out once per cycle (upstream's PreFilter state).
#[derive(Clone, Debug, Default)]
pub struct VolumeBindingState {
    /// Claims the PV controller has bound.
    bound: Vec<Arc<PersistentVolumeClaim>>,
    /// Unbound claims of `WaitForFirstConsumer` classes, smallest request
    /// first.
    delayed: Vec<Arc<PersistentVolumeClaim>>,
}

impl VolumeBindingState {
    /// Whether every claim is bound already (nothing to reserve).
    pub fn all_bound(&self) -> bool {
        self.delayed.is_empty()
    }
}

fn controlled_by(claim: &PersistentVolumeClaim, pod: &Pod) -> bool {
    claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .is_some_and(|r| Some(r.uid.as_str()) == pod.metadata.uid.as_deref())
}

fn is_delay_binding(claim: &PersistentVolumeClaim, volumes: &Volumes) -> bool {
    let class = claim_class(claim);
    !class.is_empty()
        && volumes
            .class(class)
            .and_then(|c| c.volume_binding_mode.as_deref())
            == Some(WAIT_FOR_FIRST_CONSUMER)
}

/// PreFilter. `Ok(None)`: the pod mounts no claim and the plugin is
/// skipped. `Err`: the pod-level rejection message (unschedulable and
/// unresolvable on every node).
///
/// # Errors
///
/// A claim is missing, being deleted, Lost, an ephemeral volume's claim
/// belongs to another pod, or an unbound claim is not the scheduler's to
/// bind.
pub fn prefilter(pod: &Pod, volumes: &Volumes) -> Result<Option<VolumeBindingState>, String> {
    if !has_claims(pod) {
        return Ok(None);
    }
    let namespace = pod_namespace(pod);
    let mut seen = HashSet::new();
    let mut claims = Vec::new();
    for c in pod_claims(pod) {
        let Some(claim) = volumes.claim(namespace, &c.name) else {
            return Err(if c.ephemeral {
                format!(
                    "waiting for ephemeral volume controller to create the persistentvolumeclaim {:?}",
                    c.name
                )
            } else {
                format!("persistentvolumeclaim {:?} not found", c.name)
            });
        };
        let phase = claim.status.as_ref().and_then(|s| s.phase.as_deref());
        if phase == Some(CLAIM_LOST) {
            return Err(format!(
                "persistentvolumeclaim {:?} bound to non-existent persistentvolume {:?}",
                c.name,
                claim_volume_name(claim)
            ));
        }
        if claim.metadata.deletion_timestamp.is_some() {
            return Err(format!(
                "persistentvolumeclaim {:?} is being deleted",
                c.name
            ));
        }
        if c.ephemeral && !controlled_by(claim, pod) {
            return Err(format!(
                "PVC {namespace}/{} was not created for pod {namespace}/{} (pod is not owner)",
                c.name,
                pod_name(pod)
            ));
        }
        if seen.insert(c.name) {
            claims.push(claim.clone());
        }
    }
    let mut state = VolumeBindingState::default();
    for claim in claims {
        if is_fully_bound(&claim) {
            state.bound.push(claim);
        } else if claim_volume_name(&claim).is_empty() && is_delay_binding(&claim, volumes) {
            state.delayed.push(claim);
        } else {
            // Immediate binding (or pre-bound by name): the PV controller's.
            return Err(ERR_UNBOUND_IMMEDIATE.to_owned());
        }
    }
    state.delayed.sort_by_key(|c| storage_request(c));
    Ok(Some(state))
}

/// What the pod's unbound claims need on one node.
#[derive(Clone, Debug, Default)]
pub struct PodVolumes {
    /// Claims matched to existing volumes.
    pub static_bindings: Vec<(Arc<PersistentVolumeClaim>, Arc<PersistentVolume>)>,
    /// Claims to provision on the node.
    pub provisions: Vec<Arc<PersistentVolumeClaim>>,
}

/// Upstream's `FindPodVolumes`: what binding the pod's claims on `node`
/// takes, or the reasons (in upstream's order) why the node cannot serve
/// them.
///
/// # Errors
///
/// The node's rejection reasons.
pub fn find_pod_volumes(
    state: &VolumeBindingState,
    node: &NodeInfo,
    volumes: &Volumes,
) -> Result<PodVolumes, Vec<&'static str>> {
    let mut bound_satisfied = true;
    let mut bound_volumes_found = true;
    for claim in &state.bound {
        match volumes.volume(claim_volume_name(claim)) {
            None => {
                bound_volumes_found = false;
                break;
            }
            Some(v) if !v.fits_node(node) => {
                bound_satisfied = false;
                break;
            }
            Some(_) => {}
        }
    }
    let mut found = PodVolumes::default();
    let unbound_satisfied =
        state.delayed.is_empty() || find_unbound(state, node, volumes, &mut found);
    let mut reasons = Vec::new();
    if !bound_satisfied {
        reasons.push(ERR_REASON_NODE_CONFLICT);
    }
    if !unbound_satisfied {
        reasons.push(ERR_REASON_BIND_CONFLICT);
    }
    if !bound_volumes_found {
        reasons.push(ERR_REASON_PV_NOT_EXIST);
    }
    if reasons.is_empty() {
        Ok(found)
    } else {
        Err(reasons)
    }
}

fn find_unbound(
    state: &VolumeBindingState,
    node: &NodeInfo,
    volumes: &Volumes,
    found: &mut PodVolumes,
) -> bool {
    let mut to_match = Vec::new();
    let mut to_provision = Vec::new();
    for claim in &state.delayed {
        match annotation(&claim.metadata, ANN_SELECTED_NODE) {
            // Provisioning was started for another node.
            Some(selected) if selected != node.name() => return false,
            Some(_) => to_provision.push(claim.clone()),
            None => to_match.push(claim),
        }
    }
    let mut satisfied = true;
    let mut chosen: HashSet<&str> = HashSet::new();
    for claim in to_match {
        match find_matching_volume(claim, node, volumes, &chosen) {
            Some(v) => {
                chosen.insert(v.name());
                found.static_bindings.push((claim.clone(), v.pv.clone()));
            }
            None => {
                satisfied = false;
                to_provision.push(claim.clone());
            }
        }
    }
    if !to_provision.is_empty() {
        satisfied = to_provision.iter().all(|c| can_provision(c, node, volumes));
        if satisfied {
            found.provisions = to_provision;
        }
    }
    satisfied
}

fn volume_mode_mismatch(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
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

fn access_modes_fit(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let offered = volume
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or_default();
    claim
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or_default()
        .iter()
        .all(|m| offered.contains(m))
}

/// Upstream's `FindMatchingVolume` on the scheduler's path: the volume
/// pre-bound to the claim if it admits the node, else the smallest
/// Available volume of the claim's class that fits the claim (capacity,
/// volume mode, access modes, selector) and admits the node.
pub fn find_matching_volume<'a>(
    claim: &PersistentVolumeClaim,
    node: &NodeInfo,
    volumes: &'a Volumes,
    excluded: &HashSet<&str>,
) -> Option<&'a VolumeInfo> {
    let requested = storage_request(claim);
    let selector = match claim.spec.as_ref().and_then(|s| s.selector.as_ref()) {
        None => None,
        // An invalid selector matches nothing.
        Some(s) => Some(selector_from_wire(Some(s)).ok()?),
    };
    let mut smallest: Option<&VolumeInfo> = None;
    for info in volumes.volumes_of_class(claim_class(claim)) {
        let volume = &*info.pv;
        if excluded.contains(info.name()) {
            continue;
        }
        let claimed = volume
            .spec
            .as_ref()
            .and_then(|s| s.claim_ref.as_ref())
            .is_some();
        let pre_bound = is_volume_bound_to_claim(volume, claim);
        if claimed && !pre_bound {
            continue;
        }
        if info.capacity < requested
            || volume_mode_mismatch(claim, volume)
            || volume.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let fits_node = info.fits_node(node);
        if pre_bound {
            return fits_node.then_some(info);
        }
        let phase = volume.status.as_ref().and_then(|s| s.phase.as_deref());
        if phase != Some(VOLUME_AVAILABLE)
            || selector.as_ref().is_some_and(|s| {
                !s.matches(
                    volume
                        .metadata
                        .labels
                        .as_ref()
                        .unwrap_or(&Default::default()),
                )
            })
            || !fits_node
            || !access_modes_fit(claim, volume)
        {
            continue;
        }
        if smallest.is_none_or(|s| s.capacity > info.capacity) {
            smallest = Some(info);
        }
    }
    smallest
}

/// Whether the node's labels satisfy a class's `allowedTopologies` (none
/// admits every node; an empty term admits none).
fn topology_matches(terms: Option<&[TopologySelectorTerm]>, node: &NodeInfo) -> bool {
    let terms = terms.unwrap_or_default();
    terms.is_empty()
        || terms.iter().any(|term| {
            let exprs = term.match_label_expressions.as_deref().unwrap_or_default();
            !exprs.is_empty()
                && exprs.iter().all(|e| {
                    !e.values.is_empty()
                        && node
                            .labels()
                            .get(&e.key)
                            .is_some_and(|v| e.values.contains(v))
                })
        })
}

/// Whether the claim's class can provision a volume reachable from `node`.
fn can_provision(claim: &PersistentVolumeClaim, node: &NodeInfo, volumes: &Volumes) -> bool {
    let Some(class) = volumes.class(claim_class(claim)) else {
        return false;
    };
    !class.provisioner.is_empty()
        && class.provisioner != NO_PROVISIONER
        && topology_matches(class.allowed_topologies.as_deref(), node)
}

/// Filter: `None` when the pod's claims can be served on `node`.
pub fn filter(state: &VolumeBindingState, node: &NodeInfo, volumes: &Volumes) -> Option<Status> {
    find_pod_volumes(state, node, volumes)
        .err()
        .map(|reasons| Status {
            code: Code::UnschedulableAndUnresolvable,
            reasons: reasons.into_iter().map(Cow::Borrowed).collect(),
            plugin: NAME,
        })
}

/// A claim matched to an existing volume by Reserve.
#[derive(Clone, Debug)]
pub struct StaticBinding {
    /// The claim.
    pub claim: Arc<PersistentVolumeClaim>,
    /// The volume as reserved (`spec.claimRef` naming the claim).
    pub volume: Arc<PersistentVolume>,
    /// Whether that differs from the volume as stored (PreBind writes it).
    pub changed: bool,
}

/// A claim Reserve asks the PV controller to provision on the node.
#[derive(Clone, Debug)]
pub struct Provision {
    /// The claim as reserved (`volume.kubernetes.io/selected-node` set).
    pub claim: Arc<PersistentVolumeClaim>,
    /// Whether that differs from the claim as stored (PreBind writes it;
    /// not when a pod sharing the claim selected the node already).
    pub changed: bool,
}

/// What Reserve recorded for the chosen node: the writes PreBind makes and
/// the claims it then waits for.
#[derive(Clone, Debug, Default)]
pub struct VolumeReservation {
    /// The chosen node.
    pub node: String,
    /// Claims matched to volumes.
    pub bindings: Vec<StaticBinding>,
    /// Claims to provision.
    pub provisions: Vec<Provision>,
}

/// The volume bound to the claim as upstream's binder writes it:
/// `spec.claimRef` naming the claim with its UID, and
/// `pv.kubernetes.io/bound-by-controller` unless the user had reserved the
/// volume for the claim. `None` when nothing would change.
pub fn bind_volume_to_claim(
    volume: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Option<PersistentVolume> {
    let set_bound_by_controller = !is_volume_bound_to_claim(volume, claim);
    let mut out = volume.clone();
    let mut dirty = false;
    let current = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    let complete = current.is_some_and(|r| {
        r.name == claim.metadata.name
            && r.namespace == claim.metadata.namespace
            && r.uid == claim.metadata.uid
    });
    if !complete {
        out.spec.get_or_insert_with(Default::default).claim_ref = Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("PersistentVolumeClaim".into()),
            namespace: claim.metadata.namespace.clone(),
            name: claim.metadata.name.clone(),
            uid: claim.metadata.uid.clone(),
            resource_version: claim.metadata.resource_version.clone(),
            field_path: None,
        });
        dirty = true;
    }
    if set_bound_by_controller && annotation(&volume.metadata, ANN_BOUND_BY_CONTROLLER).is_none() {
        out.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(ANN_BOUND_BY_CONTROLLER.into(), "yes".into());
        dirty = true;
    }
    dirty.then_some(out)
}

/// Reserve: finds the pod's volumes on the chosen `node` again and records
/// them in the snapshot's [`Volumes`]. `Ok(None)`: every claim is bound
/// already (or the pod has none), nothing to do before binding the pod.
///
/// # Errors
///
/// The node is unknown or no longer serves the pod's claims.
pub fn reserve(
    pod: &Pod,
    snapshot: &mut Snapshot,
    node: &str,
) -> Result<Option<VolumeReservation>, String> {
    let Some(state) = prefilter(pod, snapshot.volumes())? else {
        return Ok(None);
    };
    if state.all_bound() {
        return Ok(None);
    }
    let info = snapshot
        .node_info(node)
        .ok_or_else(|| format!("node {node:?} not found"))?;
    let found =
        find_pod_volumes(&state, info, snapshot.volumes()).map_err(|reasons| reasons.join(", "))?;
    let mut reservation = VolumeReservation {
        node: node.to_owned(),
        ..Default::default()
    };
    let volumes = snapshot.volumes_mut();
    for (claim, volume) in found.static_bindings {
        let (volume, changed) = match bind_volume_to_claim(&volume, &claim) {
            Some(bound) => (Arc::new(bound), true),
            None => (volume, false),
        };
        if changed && let Err(e) = volumes.assume_volume(volume.clone()) {
            unreserve(volumes, &reservation);
            return Err(e.to_string());
        }
        reservation.bindings.push(StaticBinding {
            claim,
            volume,
            changed,
        });
    }
    for claim in found.provisions {
        if annotation(&claim.metadata, ANN_SELECTED_NODE) == Some(node) {
            reservation.provisions.push(Provision {
                claim,
                changed: false,
            });
            continue;
        }
        let mut selected = (*claim).clone();
        selected
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(ANN_SELECTED_NODE.into(), node.to_owned());
        let selected = Arc::new(selected);
        if let Err(e) = volumes.assume_claim(selected.clone()) {
            unreserve(volumes, &reservation);
            return Err(e.to_string());
        }
        reservation.provisions.push(Provision {
            claim: selected,
            changed: true,
        });
    }
    Ok(Some(reservation))
}

/// Unreserve: drops what [`reserve`] recorded (only its own changes: a
/// claim another pod's reservation selected the node of is left alone).
pub fn unreserve(volumes: &mut Volumes, reservation: &VolumeReservation) {
    for binding in reservation.bindings.iter().filter(|b| b.changed) {
        volumes.restore_volume(binding.volume.metadata.name.as_deref().unwrap_or_default());
    }
    for provision in reservation.provisions.iter().filter(|p| p.changed) {
        let meta = &provision.claim.metadata;
        volumes.restore_claim(
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::config::Config;
    use super::super::super::rng::XorShiftRng;
    use super::super::super::schedule::schedule;
    use super::super::super::test_util::{node, pod};
    use super::super::super::volumes::ANN_BIND_COMPLETED;
    use super::*;
    use serde_json::{Value, json};

    fn cluster() -> Snapshot {
        let mut s = Snapshot::new();
        for n in ["n1", "n2"] {
            s.upsert_node(node(n, "4", "8Gi", 110)).expect("node");
        }
        s
    }

    fn class(s: &mut Snapshot, name: &str, mode: &str, provisioner: &str, extra: Value) {
        let mut v = json!({"metadata": {"name": name}, "provisioner": provisioner,
            "volumeBindingMode": mode});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        s.volumes_mut()
            .upsert_class(Arc::new(serde_json::from_value(v).expect("class")));
    }

    fn claim(s: &mut Snapshot, name: &str, class: &str, size: &str, meta: Value) {
        let mut metadata = json!({"name": name, "namespace": "default", "uid": format!("uid-{name}"),
            "resourceVersion": "1"});
        if let (Some(o), Some(e)) = (metadata.as_object_mut(), meta.as_object()) {
            o.extend(e.clone());
        }
        let c: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": metadata,
            "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": size}}}
        }))
        .expect("claim");
        s.volumes_mut().upsert_claim(Arc::new(c));
    }

    /// A claim the PV controller has bound to `volume`.
    fn bound_claim(s: &mut Snapshot, name: &str, volume: &str) {
        claim(
            s,
            name,
            "manual",
            "1Gi",
            json!({"annotations": {ANN_BIND_COMPLETED: "yes"}}),
        );
        let mut c = (**s.volumes().claim("default", name).expect("claim")).clone();
        c.spec.as_mut().expect("spec").volume_name = Some(volume.into());
        c.metadata.resource_version = Some("2".into());
        s.volumes_mut().upsert_claim(Arc::new(c));
    }

    fn volume(s: &mut Snapshot, name: &str, class: &str, size: &str, host: Option<&str>) {
        let mut v = json!({
            "metadata": {"name": name, "resourceVersion": "1"},
            "spec": {"storageClassName": class, "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce"]},
            "status": {"phase": "Available"}
        });
        if let Some(host) = host {
            v["spec"]["nodeAffinity"] = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}});
        }
        s.volumes_mut()
            .upsert_volume(Arc::new(serde_json::from_value(v).expect("volume")));
    }

    fn pod_with(name: &str, claims: &[&str]) -> Pod {
        let volumes: Vec<Value> = claims
            .iter()
            .map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": c}}))
            .collect();
        pod(
            json!({"metadata": {"name": name, "namespace": "default", "uid": name},
            "spec": {"containers": [{"name": "c"}], "volumes": volumes}}),
        )
    }

    fn run(p: &Pod, s: &Snapshot) -> Result<String, String> {
        schedule(p, s, &Config::default(), &mut XorShiftRng::new(1), 0)
            .map(|r| r.node_name)
            .map_err(|e| e.to_string())
    }

    fn rejections(p: &Pod, s: &Snapshot) -> Vec<(String, Vec<String>)> {
        let state = prefilter(p, s.volumes())
            .expect("prefilter")
            .expect("claims");
        s.nodes()
            .iter()
            .map(|n| {
                let reasons = filter(&state, n, s.volumes())
                    .map(|st| st.reasons.iter().map(|r| r.to_string()).collect())
                    .unwrap_or_default();
                (n.name().to_owned(), reasons)
            })
            .collect()
    }

    #[test]
    fn pods_without_claims_skip_the_plugin() {
        let s = cluster();
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [], "volumes": [
            {"name": "cfg", "configMap": {"name": "cfg"}}]}}),
        );
        assert!(!has_claims(&p));
        assert!(prefilter(&p, s.volumes()).expect("ok").is_none());
    }

    #[test]
    fn prefilter_rejects_missing_deleting_lost_and_unbound_immediate_claims() {
        let mut s = cluster();
        class(&mut s, "fast", "Immediate", "example.com/fast", json!({}));
        assert_eq!(
            run(&pod_with("p", &["missing"]), &s).expect_err("missing"),
            "0/2 nodes are available: persistentvolumeclaim \"missing\" not found."
        );
        claim(
            &mut s,
            "going",
            "fast",
            "1Gi",
            json!({"deletionTimestamp": "2024-01-01T00:00:00Z"}),
        );
        assert_eq!(
            prefilter(&pod_with("p", &["going"]), s.volumes()).expect_err("deleting"),
            "persistentvolumeclaim \"going\" is being deleted"
        );
        claim(&mut s, "lost", "fast", "1Gi", json!({}));
        let mut lost = (**s.volumes().claim("default", "lost").expect("claim")).clone();
        lost.spec.as_mut().expect("spec").volume_name = Some("pv-gone".into());
        lost.status = Some(k8s_openapi::api::core::v1::PersistentVolumeClaimStatus {
            phase: Some("Lost".into()),
            ..Default::default()
        });
        lost.metadata.resource_version = Some("2".into());
        s.volumes_mut().upsert_claim(Arc::new(lost));
        assert_eq!(
            prefilter(&pod_with("p", &["lost"]), s.volumes()).expect_err("lost"),
            "persistentvolumeclaim \"lost\" bound to non-existent persistentvolume \"pv-gone\""
        );
        // Immediate class, no class, unknown class: the PV controller's.
        claim(&mut s, "immediate", "fast", "1Gi", json!({}));
        claim(&mut s, "classless", "", "1Gi", json!({}));
        claim(&mut s, "unknown", "nope", "1Gi", json!({}));
        for c in ["immediate", "classless", "unknown"] {
            assert_eq!(
                run(&pod_with("p", &[c]), &s).expect_err(c),
                "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."
            );
        }
    }

    #[test]
    fn ephemeral_volumes_use_the_claim_their_pod_owns() {
        let mut s = cluster();
        class(
            &mut s,
            "standard",
            WAIT_FOR_FIRST_CONSUMER,
            "rancher.io/local-path",
            json!({}),
        );
        let p = pod(
            json!({"metadata": {"name": "p", "namespace": "default", "uid": "uid-p"},
            "spec": {"containers": [], "volumes": [{"name": "scratch", "ephemeral": {}}]}}),
        );
        assert_eq!(
            pod_claims(&p),
            [PodClaim {
                name: "p-scratch".into(),
                ephemeral: true
            }]
        );
        assert_eq!(
            prefilter(&p, s.volumes()).expect_err("not created yet"),
            "waiting for ephemeral volume controller to create the persistentvolumeclaim \"p-scratch\""
        );
        claim(&mut s, "p-scratch", "standard", "1Gi", json!({}));
        assert_eq!(
            prefilter(&p, s.volumes()).expect_err("not the owner"),
            "PVC default/p-scratch was not created for pod default/p (pod is not owner)"
        );
        claim(
            &mut s,
            "p-scratch",
            "standard",
            "1Gi",
            json!({"resourceVersion": "2", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod",
                "name": "p", "uid": "uid-p", "controller": true}]}),
        );
        assert!(prefilter(&p, s.volumes()).expect("owned").is_some());
    }

    #[test]
    fn bound_claims_need_their_volume_to_admit_the_node() {
        let mut s = cluster();
        volume(&mut s, "pv-1", "manual", "1Gi", Some("n1"));
        bound_claim(&mut s, "data", "pv-1");
        let p = pod_with("p", &["data"]);
        assert_eq!(run(&p, &s).expect("fits"), "n1");
        assert_eq!(
            rejections(&p, &s),
            [
                ("n1".to_owned(), vec![]),
                ("n2".to_owned(), vec![ERR_REASON_NODE_CONFLICT.to_owned()])
            ]
        );
        // Messages compose with the other filters' reasons.
        let big = pod(
            json!({"metadata": {"name": "big", "namespace": "default", "uid": "big"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "8"}}}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}),
        );
        assert_eq!(
            run(&big, &s).expect_err("too big"),
            "0/2 nodes are available: 2 Insufficient cpu."
        );
        let mut s2 = cluster();
        bound_claim(&mut s2, "data", "pv-gone");
        assert_eq!(
            run(&p, &s2).expect_err("no volume"),
            "0/2 nodes are available: 2 node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)."
        );
    }

    #[test]
    fn unbound_claims_match_the_smallest_available_volume_on_the_node() {
        let mut s = cluster();
        class(
            &mut s,
            "local",
            WAIT_FOR_FIRST_CONSUMER,
            NO_PROVISIONER,
            json!({}),
        );
        volume(&mut s, "big-n1", "local", "10Gi", Some("n1"));
        volume(&mut s, "small-n1", "local", "2Gi", Some("n1"));
        volume(&mut s, "tiny-n1", "local", "500Mi", Some("n1"));
        volume(&mut s, "other-class", "fast", "2Gi", Some("n2"));
        claim(&mut s, "data", "local", "1Gi", json!({}));
        claim(&mut s, "logs", "local", "1Gi", json!({}));
        let p = pod_with("p", &["data"]);
        assert_eq!(
            rejections(&p, &s),
            [
                ("n1".to_owned(), vec![]),
                ("n2".to_owned(), vec![ERR_REASON_BIND_CONFLICT.to_owned()])
            ]
        );
        let state = prefilter(&p, s.volumes()).expect("ok").expect("claims");
        let n1 = s.node_info("n1").expect("n1");
        let found = find_pod_volumes(&state, n1, s.volumes()).expect("fits");
        assert_eq!(
            found.static_bindings[0].1.metadata.name.as_deref(),
            Some("small-n1")
        );
        // Two claims never share a volume.
        let both = pod_with("q", &["data", "logs"]);
        let state = prefilter(&both, s.volumes()).expect("ok").expect("claims");
        let found = find_pod_volumes(&state, n1, s.volumes()).expect("fits");
        let names: Vec<_> = found
            .static_bindings
            .iter()
            .map(|(_, v)| v.metadata.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["small-n1", "big-n1"]);
        assert_eq!(
            run(&pod_with("r", &["data", "logs"]), &s).expect("fits"),
            "n1"
        );
    }

    #[test]
    fn unbound_claims_are_provisioned_where_the_class_allows() {
        let mut s = cluster();
        class(
            &mut s,
            "zonal",
            WAIT_FOR_FIRST_CONSUMER,
            "example.com/zonal",
            json!({"allowedTopologies": [{"matchLabelExpressions": [
                {"key": "kubernetes.io/hostname", "values": ["n2"]}]}]}),
        );
        claim(&mut s, "data", "zonal", "1Gi", json!({}));
        let p = pod_with("p", &["data"]);
        assert_eq!(run(&p, &s).expect("fits"), "n2");
        assert_eq!(
            rejections(&p, &s)[0],
            ("n1".to_owned(), vec![ERR_REASON_BIND_CONFLICT.to_owned()])
        );
        // Provisioning started for a node: only that node.
        claim(
            &mut s,
            "data",
            "zonal",
            "1Gi",
            json!({"resourceVersion": "2", "annotations": {ANN_SELECTED_NODE: "n1"}}),
        );
        assert_eq!(
            run(&p, &s).expect_err("n1 is outside the class's topology"),
            "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind."
        );
    }

    #[test]
    fn reserve_takes_the_volume_and_unreserve_gives_it_back() {
        let mut s = cluster();
        class(
            &mut s,
            "local",
            WAIT_FOR_FIRST_CONSUMER,
            NO_PROVISIONER,
            json!({}),
        );
        volume(&mut s, "only", "local", "1Gi", None);
        claim(&mut s, "a", "local", "1Gi", json!({}));
        claim(&mut s, "b", "local", "1Gi", json!({}));
        let first = reserve(&pod_with("p", &["a"]), &mut s, "n1")
            .expect("reserved")
            .expect("something to bind");
        let StaticBinding {
            volume: reserved,
            changed,
            ..
        } = &first.bindings[0];
        assert!(changed);
        let claim_ref = reserved
            .spec
            .as_ref()
            .and_then(|s| s.claim_ref.clone())
            .expect("claimRef");
        assert_eq!(
            (claim_ref.name.as_deref(), claim_ref.uid.as_deref()),
            (Some("a"), Some("uid-a"))
        );
        assert_eq!(
            annotation(&reserved.metadata, ANN_BOUND_BY_CONTROLLER),
            Some("yes")
        );
        // The next pod sees the volume taken.
        let other = pod_with("q", &["b"]);
        assert_eq!(
            run(&other, &s).expect_err("taken"),
            "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind."
        );
        unreserve(s.volumes_mut(), &first);
        assert!(run(&other, &s).is_ok());
    }

    #[test]
    fn reserve_selects_the_node_of_claims_to_provision() {
        let mut s = cluster();
        class(
            &mut s,
            "standard",
            WAIT_FOR_FIRST_CONSUMER,
            "rancher.io/local-path",
            json!({}),
        );
        claim(&mut s, "data", "standard", "1Gi", json!({}));
        let p = pod_with("p", &["data"]);
        let r = reserve(&p, &mut s, "n2")
            .expect("reserved")
            .expect("something to bind");
        assert_eq!(r.provisions.len(), 1);
        assert!(r.provisions[0].changed);
        let seen = |s: &Snapshot| {
            s.volumes()
                .claim("default", "data")
                .and_then(|c| annotation(&c.metadata, ANN_SELECTED_NODE).map(str::to_owned))
        };
        assert_eq!(seen(&s).as_deref(), Some("n2"));
        // Another pod sharing the claim follows it to n2, and has nothing
        // to write or undo.
        let q = pod_with("q", &["data"]);
        assert_eq!(run(&q, &s).expect("fits"), "n2");
        let shared = reserve(&q, &mut s, "n2")
            .expect("reserved")
            .expect("still to bind");
        assert!(!shared.provisions[0].changed);
        unreserve(s.volumes_mut(), &shared);
        assert_eq!(seen(&s).as_deref(), Some("n2"));
        unreserve(s.volumes_mut(), &r);
        assert_eq!(seen(&s), None);
        // Bound claims need nothing.
        volume(&mut s, "pv-1", "manual", "1Gi", None);
        bound_claim(&mut s, "done", "pv-1");
        assert!(
            reserve(&pod_with("r", &["done"]), &mut s, "n1")
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn a_user_reserved_volume_is_bound_without_the_controller_mark() {
        let mut s = cluster();
        class(
            &mut s,
            "local",
            WAIT_FOR_FIRST_CONSUMER,
            NO_PROVISIONER,
            json!({}),
        );
        claim(&mut s, "data", "local", "1Gi", json!({}));
        volume(&mut s, "big", "local", "5Gi", None);
        let mut reserved = (*s.volumes().volume("big").expect("pv").pv).clone();
        reserved.spec.as_mut().expect("spec").claim_ref = Some(ObjectReference {
            name: Some("data".into()),
            namespace: Some("default".into()),
            ..Default::default()
        });
        reserved.metadata.resource_version = Some("2".into());
        s.volumes_mut().upsert_volume(Arc::new(reserved));
        volume(&mut s, "exact", "local", "1Gi", None);
        let r = reserve(&pod_with("p", &["data"]), &mut s, "n1")
            .expect("reserved")
            .expect("something to bind");
        let bound = &r.bindings[0].volume;
        assert_eq!(bound.metadata.name.as_deref(), Some("big"));
        assert_eq!(annotation(&bound.metadata, ANN_BOUND_BY_CONTROLLER), None);
        assert_eq!(
            bound
                .spec
                .as_ref()
                .and_then(|s| s.claim_ref.as_ref())
                .and_then(|r| r.uid.as_deref()),
            Some("uid-data")
        );
    }
}
