//! The storage watches VolumeBinding needs: PersistentVolumeClaims,
//! PersistentVolumes and StorageClasses feed the snapshot's
//! [`Volumes`](crate::core::Volumes), wake the PreBind waits
//! ([`Sinks::volume_events`]), and move the unschedulable pods the change
//! may help back to the active queue, as upstream's cluster events with
//! their queueing hints do: a claim added or changed moves the pods that
//! mount it; a volume added or changed, or a class added or with new
//! `allowedTopologies`, moves the pods that mount any claim.

use super::{Change, Sinks, drive, signal};
use crate::core::plugins::volume_binding::{has_claims, uses_claim};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use std::collections::HashSet;
use tokio::task::JoinHandle;

/// Starts the three watches; each receiver turns true once its first list
/// is in the cache.
pub(super) fn start(
    client: &kube::Client,
    sinks: &Sinks,
) -> (Vec<JoinHandle<()>>, Vec<signal::Receiver<bool>>) {
    let mut tasks = Vec::new();
    let mut synced = Vec::new();
    {
        let (tx, rx) = signal::channel(false);
        let sinks = sinks.clone();
        tasks.push(tokio::spawn(drive(
            Api::<PersistentVolumeClaim>::all(client.clone()),
            tx,
            move |batch| on_claims(&sinks, batch),
        )));
        synced.push(rx);
    }
    {
        let (tx, rx) = signal::channel(false);
        let sinks = sinks.clone();
        tasks.push(tokio::spawn(drive(
            Api::<PersistentVolume>::all(client.clone()),
            tx,
            move |batch| on_volumes(&sinks, batch),
        )));
        synced.push(rx);
    }
    {
        let (tx, rx) = signal::channel(false);
        let sinks = sinks.clone();
        tasks.push(tokio::spawn(drive(
            Api::<StorageClass>::all(client.clone()),
            tx,
            move |batch| on_classes(&sinks, batch),
        )));
        synced.push(rx);
    }
    (tasks, synced)
}

fn namespace_and_name(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn on_claims(sinks: &Sinks, batch: Vec<Change<PersistentVolumeClaim>>) {
    let mut changed = Vec::new();
    {
        let mut cache = sinks.cache();
        let volumes = cache.snapshot.volumes_mut();
        for change in batch {
            match change {
                Change::Upsert(claim) => {
                    changed.push(namespace_and_name(&claim.metadata));
                    volumes.upsert_claim(claim);
                }
                Change::Delete(claim) => {
                    let (namespace, name) = namespace_and_name(&claim.metadata);
                    volumes.remove_claim(&namespace, &name);
                }
                Change::Resynced(all) => {
                    let present: HashSet<String> = all
                        .iter()
                        .map(|c| {
                            let (namespace, name) = namespace_and_name(&c.metadata);
                            crate::core::volumes::claim_key(&namespace, &name)
                        })
                        .collect();
                    volumes.retain_claims(&present);
                }
            }
        }
    }
    sinks.volumes_changed();
    for (namespace, name) in changed {
        sinks
            .queue
            .move_matching("PersistentVolumeClaimChange", |pod| {
                uses_claim(pod, &namespace, &name)
            });
    }
}

fn on_volumes(sinks: &Sinks, batch: Vec<Change<PersistentVolume>>) {
    let mut moved = false;
    {
        let mut cache = sinks.cache();
        let volumes = cache.snapshot.volumes_mut();
        for change in batch {
            match change {
                Change::Upsert(volume) => {
                    volumes.upsert_volume(volume);
                    moved = true;
                }
                Change::Delete(volume) => {
                    volumes.remove_volume(volume.metadata.name.as_deref().unwrap_or_default());
                }
                Change::Resynced(all) => {
                    let present: HashSet<String> =
                        all.iter().filter_map(|v| v.metadata.name.clone()).collect();
                    volumes.retain_volumes(&present);
                }
            }
        }
    }
    sinks.volumes_changed();
    if moved {
        sinks
            .queue
            .move_matching("PersistentVolumeChange", has_claims);
    }
}

fn on_classes(sinks: &Sinks, batch: Vec<Change<StorageClass>>) {
    let mut moved = false;
    {
        let mut cache = sinks.cache();
        let volumes = cache.snapshot.volumes_mut();
        for change in batch {
            match change {
                Change::Upsert(class) => moved |= volumes.upsert_class(class),
                Change::Delete(class) => {
                    volumes.remove_class(class.metadata.name.as_deref().unwrap_or_default());
                }
                Change::Resynced(all) => {
                    let present: HashSet<String> =
                        all.iter().filter_map(|c| c.metadata.name.clone()).collect();
                    volumes.retain_classes(&present);
                }
            }
        }
    }
    if moved {
        sinks.queue.move_matching("StorageClassChange", has_claims);
    }
}
