//! What one sync of a claim or of a volume decides.
//!
//! Claims: a claim without `pv.kubernetes.io/bind-completed` is unbound.
//! If it names a volume (`spec.volumeName`) it binds to that volume once
//! the volume is free and fits; otherwise it binds to the best match
//! ([`find_best_match`]), else is provisioned when its class has a
//! provisioner (at once for `Immediate`, once a consumer's node is known
//! for `WaitForFirstConsumer`), else stays Pending. A bound claim stays
//! Bound while its volume points back at it, and is Lost for good when
//! the volume is gone or belongs to another claim.
//!
//! Volumes: without a `claimRef` (or reserved by name only) a volume is
//! Available; bound to a live claim that points back it is Bound; when its
//! claim is gone it is Released and its reclaim policy runs (Retain keeps
//! it, never to be bound again automatically; Delete removes it).
//!
//! A claim that names no class at all is given the default class first,
//! as upstream's DefaultStorageClass admission plugin would have done when
//! it was created (and upstream's controller does for claims created
//! before a default existed).

use super::class::{NO_PROVISIONER, claim_class, claim_has_class, default_class, is_delay_binding};
use super::local_path;
use super::matching::{check_volume_satisfies_claim, find_best_match, is_bound_to_claim};
use super::{
    ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_PROVISIONED_BY, ANN_SELECTED_NODE, Consumers,
    annotation, reasons, reclaim, volume_name_of, volume_phase,
};
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;

/// An Event to record about the object being synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Warning (else Normal).
    pub warning: bool,
    /// The reason.
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

impl Event {
    fn normal(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            warning: false,
            reason,
            message: message.into(),
        }
    }

    fn warning(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            warning: true,
            reason,
            message: message.into(),
        }
    }
}

/// A volume to provision for a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provision {
    /// The class.
    pub class: String,
    /// Its provisioner.
    pub provisioner: String,
    /// The node the volume must be reachable from (the first consumer's),
    /// when known.
    pub node: Option<String>,
}

/// What a claim sync does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimPlan {
    /// Write this (default) class into `spec.storageClassName`, then sync
    /// again.
    AssignClass(String),
    /// Bind (or finish binding) to this volume.
    Bind(String),
    /// Provision a volume (then bind to it).
    Provision(Provision),
    /// Stay (or become) Pending, recording the event if any.
    Pending(Option<Event>),
    /// Become Lost (a terminal phase), recording the event.
    Lost(Event),
    /// Something only a human can untangle; the event is recorded and the
    /// sync fails (to be retried).
    Refuse(Event),
}

/// What a claim sync sees besides the claim.
#[derive(Debug, Clone, Copy)]
pub struct ClaimWorld<'a> {
    /// Every volume.
    pub volumes: &'a [&'a PersistentVolume],
    /// Every StorageClass.
    pub classes: &'a [&'a StorageClass],
    /// The pods using the claim.
    pub consumers: &'a Consumers,
    /// The node [`consumer_node`] names, when it exists.
    pub node: Option<&'a Node>,
}

/// The node the claim's volume must serve: the scheduler's choice
/// (`volume.kubernetes.io/selected-node`) when set, else the node of a
/// pod using the claim that is bound already.
pub fn consumer_node(claim: &PersistentVolumeClaim, consumers: &Consumers) -> Option<String> {
    annotation(&claim.metadata, ANN_SELECTED_NODE)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .or_else(|| consumers.scheduled_node.clone())
}

fn find_class<'a>(classes: &[&'a StorageClass], name: &str) -> Option<&'a StorageClass> {
    classes
        .iter()
        .copied()
        .find(|c| c.metadata.name.as_deref() == Some(name))
}

fn find_volume<'a>(volumes: &[&'a PersistentVolume], name: &str) -> Option<&'a PersistentVolume> {
    volumes
        .iter()
        .copied()
        .find(|v| v.metadata.name.as_deref() == Some(name))
}

/// Decides one sync of `claim`.
pub fn plan_claim(claim: &PersistentVolumeClaim, world: ClaimWorld<'_>) -> ClaimPlan {
    if annotation(&claim.metadata, ANN_BIND_COMPLETED).is_none() {
        plan_unbound_claim(claim, world)
    } else {
        plan_bound_claim(claim, world)
    }
}

fn plan_unbound_claim(claim: &PersistentVolumeClaim, world: ClaimWorld<'_>) -> ClaimPlan {
    if !claim_has_class(claim)
        && let Some(default) = default_class(world.classes.iter().copied())
    {
        return ClaimPlan::AssignClass(default.metadata.name.clone().unwrap_or_default());
    }
    let requested = volume_name_of(claim);
    if !requested.is_empty() {
        return plan_requested_volume(claim, requested, world);
    }
    let class_name = claim_class(claim);
    let class = find_class(world.classes, class_name);
    let delay = is_delay_binding(class);
    let node_name = consumer_node(claim, world.consumers);
    let node = if delay { world.node } else { None };
    if let Some(volume) = find_best_match(claim, world.volumes.iter().copied(), delay, node) {
        return ClaimPlan::Bind(volume.metadata.name.clone().unwrap_or_default());
    }
    if delay && node_name.is_none() {
        return ClaimPlan::Pending(Some(wait_for_consumer_event(world.consumers)));
    }
    if class_name.is_empty() {
        return ClaimPlan::Pending(Some(Event::normal(
            reasons::FAILED_BINDING,
            "no persistent volumes available for this claim and no storage class is set",
        )));
    }
    let Some(class) = class else {
        return ClaimPlan::Pending(Some(Event::warning(
            reasons::PROVISIONING_FAILED,
            format!("storageclass.storage.k8s.io {class_name:?} not found"),
        )));
    };
    // Only a class with a provisioner, and only not an in-tree one (Bosun
    // has no in-tree volume plugins; `kubernetes.io/no-provisioner` means
    // "an administrator creates the volumes").
    if class.provisioner.starts_with("kubernetes.io/") || class.provisioner.is_empty() {
        let provisioner = if class.provisioner.is_empty() {
            NO_PROVISIONER
        } else {
            class.provisioner.as_str()
        };
        return ClaimPlan::Pending(Some(Event::warning(
            reasons::PROVISIONING_FAILED,
            format!("no volume plugin matched name: {provisioner}"),
        )));
    }
    // Without delayed binding only the scheduler's choice counts.
    let node = if delay {
        node_name
    } else {
        annotation(&claim.metadata, ANN_SELECTED_NODE)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
    };
    ClaimPlan::Provision(Provision {
        class: class_name.to_owned(),
        provisioner: class.provisioner.clone(),
        node,
    })
}

fn wait_for_consumer_event(consumers: &Consumers) -> Event {
    match consumers.unscheduled.as_slice() {
        [] => Event::normal(
            reasons::WAIT_FOR_FIRST_CONSUMER,
            "waiting for first consumer to be created before binding",
        ),
        [one] => Event::normal(
            reasons::WAIT_FOR_POD_SCHEDULED,
            format!("waiting for pod {one} to be scheduled"),
        ),
        many => Event::normal(
            reasons::WAIT_FOR_POD_SCHEDULED,
            format!("waiting for pods {} to be scheduled", many.join(",")),
        ),
    }
}

fn plan_requested_volume(
    claim: &PersistentVolumeClaim,
    requested: &str,
    world: ClaimWorld<'_>,
) -> ClaimPlan {
    let Some(volume) = find_volume(world.volumes, requested) else {
        // The user asked for a volume that does not exist (yet).
        return ClaimPlan::Pending(None);
    };
    let claim_ref = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    if claim_ref.is_none() {
        return match check_volume_satisfies_claim(volume, claim) {
            Ok(()) => ClaimPlan::Bind(requested.to_owned()),
            Err(why) => ClaimPlan::Pending(Some(Event::warning(
                reasons::VOLUME_MISMATCH,
                format!("Cannot bind to requested volume {requested:?}: {why}"),
            ))),
        };
    }
    if is_bound_to_claim(volume, claim) {
        return ClaimPlan::Bind(requested.to_owned());
    }
    let event = Event::warning(
        reasons::FAILED_BINDING,
        format!("volume {requested:?} already bound to a different claim."),
    );
    if annotation(&claim.metadata, ANN_BOUND_BY_CONTROLLER).is_none() {
        ClaimPlan::Pending(Some(event))
    } else {
        ClaimPlan::Refuse(event)
    }
}

fn plan_bound_claim(claim: &PersistentVolumeClaim, world: ClaimWorld<'_>) -> ClaimPlan {
    let name = volume_name_of(claim);
    if name.is_empty() {
        return ClaimPlan::Lost(Event::warning(
            reasons::CLAIM_LOST,
            "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
        ));
    }
    let Some(volume) = find_volume(world.volumes, name) else {
        return ClaimPlan::Lost(Event::warning(
            reasons::CLAIM_LOST,
            "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
        ));
    };
    match volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) {
        // Came unbound, or our own write is not in the cache yet: bind again.
        None => ClaimPlan::Bind(name.to_owned()),
        Some(r) if r.uid == claim.metadata.uid => ClaimPlan::Bind(name.to_owned()),
        Some(_) => ClaimPlan::Lost(Event::warning(
            reasons::CLAIM_MISBOUND,
            "Two claims are bound to the same volume, this one is bound incorrectly",
        )),
    }
}

/// What a volume sync does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumePlan {
    /// Make sure the volume is in this phase.
    Phase(&'static str),
    /// Nothing: the claim's sync finishes the binding.
    AwaitClaim,
    /// The claim is gone (or provisioned for a claim bound elsewhere):
    /// Released, then the reclaim policy ([`reclaim_action`]).
    Release,
    /// The claim is bound to another volume: undo this binding.
    Unbind,
}

/// Decides one sync of `volume`. `claim` is the claim its `claimRef`
/// names (namespace and name) if that exists; the caller makes sure a
/// claim missing from its cache is missing from the API too.
pub fn plan_volume(volume: &PersistentVolume, claim: Option<&PersistentVolumeClaim>) -> VolumePlan {
    let Some(r) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return VolumePlan::Phase(volume_phase::AVAILABLE);
    };
    let Some(uid) = r.uid.as_deref().filter(|u| !u.is_empty()) else {
        // Reserved for a claim that has not bound yet.
        return VolumePlan::Phase(volume_phase::AVAILABLE);
    };
    let claim = claim.filter(|c| c.metadata.uid.as_deref() == Some(uid));
    let Some(claim) = claim else {
        return VolumePlan::Release;
    };
    let name = volume.metadata.name.as_deref().unwrap_or_default();
    match volume_name_of(claim) {
        "" => VolumePlan::AwaitClaim,
        bound if bound == name => VolumePlan::Phase(volume_phase::BOUND),
        _ => {
            let provisioned = annotation(&volume.metadata, ANN_PROVISIONED_BY).is_some();
            if provisioned && reclaim_policy_of(volume) == reclaim::DELETE {
                VolumePlan::Release
            } else {
                VolumePlan::Unbind
            }
        }
    }
}

fn reclaim_policy_of(volume: &PersistentVolume) -> &str {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        .unwrap_or(reclaim::RETAIN)
}

/// How a released volume is reclaimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reclaim {
    /// Retain: it stays Released until an administrator acts.
    Keep,
    /// Delete, by the simulated local-path provisioner (which removes the
    /// directory), then the PersistentVolume object.
    DeleteByLocalPath,
    /// Delete a hostPath volume under `/tmp/` (upstream's in-tree hostPath
    /// deleter; nothing on disk is touched here).
    DeleteHostPath,
    /// Delete, by another (external) provisioner: wait for it.
    External(String),
    /// Cannot be reclaimed: the volume becomes Failed with this event.
    Fail(Event),
}

/// What the reclaim policy of a Released volume does.
pub fn reclaim_action(volume: &PersistentVolume) -> Reclaim {
    let name = volume.metadata.name.as_deref().unwrap_or_default();
    match reclaim_policy_of(volume) {
        reclaim::RETAIN => Reclaim::Keep,
        reclaim::DELETE => match annotation(&volume.metadata, ANN_PROVISIONED_BY) {
            Some(local_path::PROVISIONER) => Reclaim::DeleteByLocalPath,
            Some(p) if !p.starts_with("kubernetes.io/") => Reclaim::External(p.to_owned()),
            _ => match volume.spec.as_ref().and_then(|s| s.host_path.as_ref()) {
                Some(h) if host_path_deletable(&h.path) => Reclaim::DeleteHostPath,
                Some(h) => Reclaim::Fail(Event::warning(
                    reasons::VOLUME_FAILED_DELETE,
                    format!(
                        "host_path deleter only supports /tmp/.+ but received provided {}",
                        h.path
                    ),
                )),
                None => Reclaim::Fail(Event::warning(
                    reasons::VOLUME_FAILED_DELETE,
                    format!(
                        "error getting deleter volume plugin for volume {name:?}: no deletable volume plugin matched"
                    ),
                )),
            },
        },
        reclaim::RECYCLE => Reclaim::Fail(Event::warning(
            reasons::VOLUME_FAILED_RECYCLE,
            "No recycler plugin found for the volume!",
        )),
        _ => Reclaim::Fail(Event::warning(
            reasons::VOLUME_UNKNOWN_RECLAIM_POLICY,
            "Volume has unrecognized PersistentVolumeReclaimPolicy",
        )),
    }
}

fn host_path_deletable(path: &str) -> bool {
    path.strip_prefix("/tmp/")
        .is_some_and(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::super::class::{IMMEDIATE, WAIT_FOR_FIRST_CONSUMER};
    use super::super::test_support::{annotate, claim, claimed, class, node, volume};
    use super::*;

    fn world<'a>(
        volumes: &'a [&'a PersistentVolume],
        classes: &'a [&'a StorageClass],
        consumers: &'a Consumers,
        node: Option<&'a Node>,
    ) -> ClaimWorld<'a> {
        ClaimWorld {
            volumes,
            classes,
            consumers,
            node,
        }
    }

    fn bound(mut c: PersistentVolumeClaim, volume: &str) -> PersistentVolumeClaim {
        annotate(&mut c.metadata, ANN_BIND_COMPLETED, "yes");
        if let Some(s) = c.spec.as_mut() {
            s.volume_name = Some(volume.into());
        }
        c
    }

    #[test]
    fn claim_without_class_gets_the_default_class_first() {
        let standard = class(
            "standard",
            "rancher.io/local-path",
            WAIT_FOR_FIRST_CONSUMER,
            true,
        );
        let none = Consumers::default();
        let c = claim("data", "1Gi", None);
        assert_eq!(
            plan_claim(&c, world(&[], &[&standard], &none, None)),
            ClaimPlan::AssignClass("standard".into())
        );
        // Also when it names its volume (admission would have set it).
        let mut named = c.clone();
        if let Some(s) = named.spec.as_mut() {
            s.volume_name = Some("pv".into());
        }
        assert_eq!(
            plan_claim(&named, world(&[], &[&standard], &none, None)),
            ClaimPlan::AssignClass("standard".into())
        );
        // No default: a class-less claim binds class-less volumes only.
        let v = volume("pv", "1Gi", "");
        assert_eq!(
            plan_claim(&c, world(&[&v], &[], &none, None)),
            ClaimPlan::Bind("pv".into())
        );
        assert_eq!(
            plan_claim(&c, world(&[], &[], &none, None)),
            ClaimPlan::Pending(Some(Event::normal(
                reasons::FAILED_BINDING,
                "no persistent volumes available for this claim and no storage class is set"
            )))
        );
    }

    #[test]
    fn immediate_class_provisions_at_once() {
        let fast = class("fast", "rancher.io/local-path", IMMEDIATE, false);
        let none = Consumers::default();
        let c = claim("data", "1Gi", Some("fast"));
        assert_eq!(
            plan_claim(&c, world(&[], &[&fast], &none, None)),
            ClaimPlan::Provision(Provision {
                class: "fast".into(),
                provisioner: "rancher.io/local-path".into(),
                node: None,
            })
        );
    }

    #[test]
    fn wait_for_first_consumer_waits_then_provisions_on_the_consumers_node() {
        let standard = class(
            "standard",
            "rancher.io/local-path",
            WAIT_FOR_FIRST_CONSUMER,
            true,
        );
        let c = claim("data", "1Gi", Some("standard"));
        let none = Consumers::default();
        assert_eq!(
            plan_claim(&c, world(&[], &[&standard], &none, None)),
            ClaimPlan::Pending(Some(Event::normal(
                reasons::WAIT_FOR_FIRST_CONSUMER,
                "waiting for first consumer to be created before binding"
            )))
        );
        let waiting = Consumers {
            scheduled_node: None,
            unscheduled: vec!["web-0".into()],
        };
        assert_eq!(
            plan_claim(&c, world(&[], &[&standard], &waiting, None)),
            ClaimPlan::Pending(Some(Event::normal(
                reasons::WAIT_FOR_POD_SCHEDULED,
                "waiting for pod web-0 to be scheduled"
            )))
        );
        let running = Consumers {
            scheduled_node: Some("node-a".into()),
            unscheduled: vec![],
        };
        let a = node("node-a");
        assert_eq!(
            plan_claim(&c, world(&[], &[&standard], &running, Some(&a))),
            ClaimPlan::Provision(Provision {
                class: "standard".into(),
                provisioner: "rancher.io/local-path".into(),
                node: Some("node-a".into()),
            })
        );
        // The scheduler's choice wins over where pods run.
        let mut chosen = c.clone();
        annotate(&mut chosen.metadata, ANN_SELECTED_NODE, "node-b");
        assert_eq!(consumer_node(&chosen, &running).as_deref(), Some("node-b"));
    }

    #[test]
    fn static_volume_beats_provisioning() {
        let standard = class("standard", "rancher.io/local-path", IMMEDIATE, true);
        let c = claim("data", "1Gi", Some("standard"));
        let v = volume("static", "2Gi", "standard");
        let none = Consumers::default();
        assert_eq!(
            plan_claim(&c, world(&[&v], &[&standard], &none, None)),
            ClaimPlan::Bind("static".into())
        );
    }

    #[test]
    fn classes_that_cannot_provision_leave_the_claim_pending() {
        let manual = class("manual", "kubernetes.io/no-provisioner", IMMEDIATE, false);
        let none = Consumers::default();
        let c = claim("data", "1Gi", Some("manual"));
        assert!(matches!(
            plan_claim(&c, world(&[], &[&manual], &none, None)),
            ClaimPlan::Pending(Some(Event {
                warning: true,
                reason: reasons::PROVISIONING_FAILED,
                ..
            }))
        ));
        let missing = claim("data", "1Gi", Some("gold"));
        assert_eq!(
            plan_claim(&missing, world(&[], &[&manual], &none, None)),
            ClaimPlan::Pending(Some(Event::warning(
                reasons::PROVISIONING_FAILED,
                "storageclass.storage.k8s.io \"gold\" not found"
            )))
        );
    }

    #[test]
    fn requested_volume_binds_only_when_free_and_fitting() {
        let mut c = claim("data", "1Gi", Some(""));
        if let Some(s) = c.spec.as_mut() {
            s.volume_name = Some("pv".into());
        }
        let none = Consumers::default();
        assert_eq!(
            plan_claim(&c, world(&[], &[], &none, None)),
            ClaimPlan::Pending(None)
        );
        let free = volume("pv", "1Gi", "");
        assert_eq!(
            plan_claim(&c, world(&[&free], &[], &none, None)),
            ClaimPlan::Bind("pv".into())
        );
        let small = volume("pv", "100Mi", "");
        assert_eq!(
            plan_claim(&c, world(&[&small], &[], &none, None)),
            ClaimPlan::Pending(Some(Event::warning(
                reasons::VOLUME_MISMATCH,
                "Cannot bind to requested volume \"pv\": requested PV is too small"
            )))
        );
        let other = claim("other", "1Gi", None);
        let taken = claimed(volume("pv", "1Gi", ""), &other, true);
        assert!(matches!(
            plan_claim(&c, world(&[&taken], &[], &none, None)),
            ClaimPlan::Pending(Some(Event {
                reason: reasons::FAILED_BINDING,
                ..
            }))
        ));
    }

    #[test]
    fn bound_claims_stay_bound_or_are_lost() {
        let none = Consumers::default();
        let c = bound(claim("data", "1Gi", None), "pv");
        let v = claimed(volume("pv", "1Gi", ""), &c, true);
        assert_eq!(
            plan_claim(&c, world(&[&v], &[], &none, None)),
            ClaimPlan::Bind("pv".into())
        );
        assert!(matches!(
            plan_claim(&c, world(&[], &[], &none, None)),
            ClaimPlan::Lost(Event {
                reason: reasons::CLAIM_LOST,
                ..
            })
        ));
        let other = claim("other", "1Gi", None);
        let stolen = claimed(volume("pv", "1Gi", ""), &other, true);
        assert!(matches!(
            plan_claim(&c, world(&[&stolen], &[], &none, None)),
            ClaimPlan::Lost(Event {
                reason: reasons::CLAIM_MISBOUND,
                ..
            })
        ));
        let unbound_volume = volume("pv", "1Gi", "");
        assert_eq!(
            plan_claim(&c, world(&[&unbound_volume], &[], &none, None)),
            ClaimPlan::Bind("pv".into())
        );
    }

    #[test]
    fn volume_phases_follow_their_claim() {
        let c = claim("data", "1Gi", None);
        let free = volume("pv", "1Gi", "");
        assert_eq!(
            plan_volume(&free, None),
            VolumePlan::Phase(volume_phase::AVAILABLE)
        );
        let reserved = claimed(volume("pv", "1Gi", ""), &c, false);
        assert_eq!(
            plan_volume(&reserved, None),
            VolumePlan::Phase(volume_phase::AVAILABLE)
        );
        let taken = claimed(volume("pv", "1Gi", ""), &c, true);
        assert_eq!(plan_volume(&taken, Some(&c)), VolumePlan::AwaitClaim);
        let b = bound(c.clone(), "pv");
        assert_eq!(
            plan_volume(&taken, Some(&b)),
            VolumePlan::Phase(volume_phase::BOUND)
        );
        assert_eq!(plan_volume(&taken, None), VolumePlan::Release);
        // A new claim of the same name is not the old one.
        let mut namesake = b.clone();
        namesake.metadata.uid = Some("uid-new".into());
        assert_eq!(plan_volume(&taken, Some(&namesake)), VolumePlan::Release);
        // The claim went to another volume.
        let elsewhere = bound(c.clone(), "pv-2");
        assert_eq!(plan_volume(&taken, Some(&elsewhere)), VolumePlan::Unbind);
        let mut provisioned = taken.clone();
        annotate(
            &mut provisioned.metadata,
            ANN_PROVISIONED_BY,
            "rancher.io/local-path",
        );
        if let Some(s) = provisioned.spec.as_mut() {
            s.persistent_volume_reclaim_policy = Some("Delete".into());
        }
        assert_eq!(
            plan_volume(&provisioned, Some(&elsewhere)),
            VolumePlan::Release
        );
    }

    #[test]
    fn reclaim_follows_the_policy_and_the_provisioner() {
        let mut v = volume("pv", "1Gi", "");
        assert_eq!(reclaim_action(&v), Reclaim::Keep);
        if let Some(s) = v.spec.as_mut() {
            s.persistent_volume_reclaim_policy = Some("Delete".into());
        }
        assert_eq!(
            reclaim_action(&v),
            Reclaim::Fail(Event::warning(
                reasons::VOLUME_FAILED_DELETE,
                "host_path deleter only supports /tmp/.+ but received provided /mnt/pv"
            ))
        );
        let mut ours = v.clone();
        annotate(
            &mut ours.metadata,
            ANN_PROVISIONED_BY,
            "rancher.io/local-path",
        );
        assert_eq!(reclaim_action(&ours), Reclaim::DeleteByLocalPath);
        let mut theirs = v.clone();
        annotate(&mut theirs.metadata, ANN_PROVISIONED_BY, "ebs.csi.aws.com");
        assert_eq!(
            reclaim_action(&theirs),
            Reclaim::External("ebs.csi.aws.com".into())
        );
        if let Some(h) = v.spec.as_mut().and_then(|s| s.host_path.as_mut()) {
            h.path = "/tmp/data".into();
        }
        assert_eq!(reclaim_action(&v), Reclaim::DeleteHostPath);
        if let Some(s) = v.spec.as_mut() {
            s.persistent_volume_reclaim_policy = Some("Recycle".into());
        }
        assert!(matches!(
            reclaim_action(&v),
            Reclaim::Fail(Event {
                reason: reasons::VOLUME_FAILED_RECYCLE,
                ..
            })
        ));
    }
}
