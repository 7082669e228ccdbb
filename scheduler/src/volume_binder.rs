//! VolumeBinding's PreBind, run in the asynchronous binding path before
//! `pods/binding` (upstream's `BindPodVolumes`): make the writes Reserve
//! decided — a matched volume's `spec.claimRef` (with
//! `pv.kubernetes.io/bound-by-controller`), a claim's
//! `volume.kubernetes.io/selected-node` for the PV controller to provision
//! on — then wait, at most [`BIND_TIMEOUT`], until the PV controller has
//! bound every claim. The wait reads the cache the watches keep (woken by
//! every claim or volume event), not the API.
//!
//! Every write carries the `resourceVersion` Reserve saw, so a volume
//! taken by someone else in between is refused (and the pod retried)
//! rather than handed out twice. Nothing is rolled back in the API on
//! failure: the PV controller owns claims and volumes from then on, as
//! upstream.

use crate::cache::Cache;
use crate::core::VolumeReservation;
use crate::core::volumes::{
    ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE, annotation, claim_volume_name, is_fully_bound,
    version_at_least,
};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Map, Value, json};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long PreBind waits for the claims to be bound (upstream's default
/// `bindTimeoutSeconds`).
pub const BIND_TIMEOUT: Duration = Duration::from_secs(600);
/// The claims are checked at least this often, events or not (upstream
/// polls every second).
const POLL: Duration = Duration::from_secs(1);

/// Why PreBind failed; the pod is unreserved and retried after a backoff.
#[derive(Debug, thiserror::Error)]
pub enum PreBindError {
    /// A write was refused (conflict: someone else changed the object).
    #[error("{}", api_message(.0))]
    Write(#[from] kube::Error),
    /// The pod was deleted meanwhile.
    #[error("binding volumes: pod does not exist any more")]
    PodGone,
    /// The node was deleted meanwhile.
    #[error("binding volumes: failed to get node {0:?}")]
    NodeGone(String),
    /// A volume being bound was deleted.
    #[error("binding volumes: failed to check binding: persistentvolume {0:?} not found")]
    VolumeGone(String),
    /// A claim being bound was deleted.
    #[error("binding volumes: failed to check binding: persistentvolumeclaim {0:?} not found")]
    ClaimGone(String),
    /// The claim's volume does not admit the node.
    #[error(
        "binding volumes: pv {volume:?} node affinity doesn't match node {node:?}: no matching NodeSelectorTerms"
    )]
    NodeAffinity {
        /// The volume.
        volume: String,
        /// The node.
        node: String,
    },
    /// The PV controller undid the volume's binding.
    #[error("binding volumes: ClaimRef got reset for pv {0:?}")]
    ClaimRefReset(String),
    /// The provisioner gave up (it removes `selected-node`).
    #[error("binding volumes: provisioning failed for PVC {0:?}")]
    ProvisioningFailed(String),
    /// The claims were not bound in time.
    #[error("binding volumes: timed out waiting for the condition")]
    Timeout,
}

/// The API's own message for a refused write (as upstream shows it), else
/// the client error.
fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    }
}

/// The patch that binds a reserved volume to its claim.
pub fn volume_patch(volume: &PersistentVolume) -> Value {
    let mut meta = Map::new();
    meta.insert(
        "resourceVersion".into(),
        json!(volume.metadata.resource_version),
    );
    if let Some(v) = annotation(&volume.metadata, ANN_BOUND_BY_CONTROLLER) {
        meta.insert("annotations".into(), json!({ANN_BOUND_BY_CONTROLLER: v}));
    }
    json!({
        "metadata": meta,
        "spec": {"claimRef": volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref())},
    })
}

/// The patch that asks the PV controller to provision a claim on `node`.
pub fn selected_node_patch(claim: &PersistentVolumeClaim, node: &str) -> Value {
    json!({
        "metadata": {
            "resourceVersion": claim.metadata.resource_version,
            "annotations": {ANN_SELECTED_NODE: node},
        }
    })
}

/// The `resourceVersion`s the writes produced, in reservation order.
#[derive(Debug, Default)]
struct Written {
    volumes: Vec<Option<String>>,
    claims: Vec<Option<String>>,
}

async fn write(
    client: &kube::Client,
    reservation: &VolumeReservation,
) -> Result<Written, kube::Error> {
    let params = PatchParams::default();
    let mut written = Written::default();
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    for binding in &reservation.bindings {
        let volume = &binding.volume;
        let name = volume.metadata.name.as_deref().unwrap_or_default();
        if !binding.changed {
            written
                .volumes
                .push(volume.metadata.resource_version.clone());
            continue;
        }
        tracing::debug!(
            pv = name,
            pvc = binding.claim.metadata.name.as_deref().unwrap_or_default(),
            "binding volume to claim"
        );
        let out = volumes
            .patch(name, &params, &Patch::Merge(volume_patch(volume)))
            .await?;
        written.volumes.push(out.metadata.resource_version);
    }
    for provision in &reservation.provisions {
        let claim = &provision.claim;
        if !provision.changed {
            written.claims.push(claim.metadata.resource_version.clone());
            continue;
        }
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(
            client.clone(),
            claim.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let name = claim.metadata.name.as_deref().unwrap_or_default();
        tracing::debug!(pvc = name, node = %reservation.node, "selecting node for provisioning");
        let out = claims
            .patch(
                name,
                &params,
                &Patch::Merge(selected_node_patch(claim, &reservation.node)),
            )
            .await?;
        written.claims.push(out.metadata.resource_version);
    }
    Ok(written)
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (&str, &str) {
    (
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// Upstream's `checkBindings` over the cache: `Ok(true)` once every claim
/// of the reservation is bound, `Ok(false)` while the PV controller is at
/// work, an error when binding cannot succeed any more.
fn check(
    cache: &Cache,
    pod_key: &str,
    reservation: &VolumeReservation,
    written: &Written,
) -> Result<bool, PreBindError> {
    let node_name = reservation.node.as_str();
    let node = cache
        .snapshot
        .node_info(node_name)
        .ok_or_else(|| PreBindError::NodeGone(node_name.to_owned()))?;
    if !cache.knows(pod_key) {
        return Err(PreBindError::PodGone);
    }
    let volumes = cache.snapshot.volumes();
    let affinity_error = |volume: &str| PreBindError::NodeAffinity {
        volume: volume.to_owned(),
        node: node_name.to_owned(),
    };
    let mut done = true;
    for (binding, version) in reservation.bindings.iter().zip(&written.volumes) {
        let name = binding.volume.metadata.name.as_deref().unwrap_or_default();
        let info = volumes
            .api_volume(name)
            .ok_or_else(|| PreBindError::VolumeGone(name.to_owned()))?;
        let (namespace, claim_name) = name_of(&binding.claim.metadata);
        let claim = volumes
            .api_claim(namespace, claim_name)
            .ok_or_else(|| PreBindError::ClaimGone(claim_name.to_owned()))?;
        // The watch has not shown our write yet.
        if !version_at_least(
            info.pv.metadata.resource_version.as_deref(),
            version.as_deref(),
        ) {
            done = false;
            continue;
        }
        if !info.fits_node(node) {
            return Err(affinity_error(name));
        }
        let claim_ref = info.pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
        if claim_ref.is_none_or(|r| r.uid.as_deref().unwrap_or_default().is_empty()) {
            return Err(PreBindError::ClaimRefReset(name.to_owned()));
        }
        done &= is_fully_bound(claim);
    }
    for (provision, version) in reservation.provisions.iter().zip(&written.claims) {
        let (namespace, name) = name_of(&provision.claim.metadata);
        let claim = volumes
            .api_claim(namespace, name)
            .ok_or_else(|| PreBindError::ClaimGone(name.to_owned()))?;
        if !version_at_least(
            claim.metadata.resource_version.as_deref(),
            version.as_deref(),
        ) {
            done = false;
            continue;
        }
        // A provisioner that gives up removes the annotation.
        if annotation(&claim.metadata, ANN_SELECTED_NODE) != Some(node_name) {
            return Err(PreBindError::ProvisioningFailed(name.to_owned()));
        }
        let volume_name = claim_volume_name(claim);
        if !volume_name.is_empty() {
            match volumes.api_volume(volume_name) {
                // Not in the cache yet.
                None => {
                    done = false;
                    continue;
                }
                Some(info) if !info.fits_node(node) => return Err(affinity_error(volume_name)),
                Some(_) => {}
            }
        }
        done &= is_fully_bound(claim);
    }
    Ok(done)
}

/// Writes the reservation and waits until its claims are bound (or
/// `timeout` passes). `pod_key` is the pod's cache key; `events` changes on
/// every claim or volume event.
///
/// # Errors
///
/// [`PreBindError`]: a refused write, or why the claims will not be bound.
pub async fn bind_pod_volumes(
    client: &kube::Client,
    cache: &Mutex<Cache>,
    mut events: watch::Receiver<u64>,
    pod_key: &str,
    reservation: &VolumeReservation,
    timeout: Duration,
) -> Result<(), PreBindError> {
    let written = write(client, reservation).await?;
    let deadline = Instant::now() + timeout;
    loop {
        events.borrow_and_update();
        {
            let cache = cache.lock().unwrap_or_else(|e| e.into_inner());
            if check(&cache, pod_key, reservation, &written)? {
                return Ok(());
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(PreBindError::Timeout);
        }
        let wake = (now + POLL).min(deadline);
        if tokio::time::timeout_at(wake, events.changed())
            .await
            .is_ok_and(|r| r.is_err())
        {
            // No more events (shutting down): poll.
            tokio::time::sleep_until(wake).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plugins::volume_binding::bind_volume_to_claim;

    fn claim() -> PersistentVolumeClaim {
        serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "default", "uid": "uid-data", "resourceVersion": "7"}
        }))
        .expect("claim")
    }

    #[test]
    fn writes_carry_the_version_reserve_saw() {
        let volume: PersistentVolume = serde_json::from_value(json!({
            "metadata": {"name": "pv-1", "resourceVersion": "3"},
            "spec": {"capacity": {"storage": "1Gi"}}
        }))
        .expect("volume");
        let bound = bind_volume_to_claim(&volume, &claim()).expect("changed");
        assert_eq!(
            volume_patch(&bound),
            json!({
                "metadata": {"resourceVersion": "3",
                    "annotations": {"pv.kubernetes.io/bound-by-controller": "yes"}},
                "spec": {"claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "namespace": "default", "name": "data", "uid": "uid-data", "resourceVersion": "7"}},
            })
        );
        assert_eq!(
            selected_node_patch(&claim(), "node-1"),
            json!({"metadata": {"resourceVersion": "7",
                "annotations": {"volume.kubernetes.io/selected-node": "node-1"}}})
        );
    }
}
