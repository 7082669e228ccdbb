//! ControllerRevision I/O shared by the DaemonSet and StatefulSet
//! controllers (upstream's `history.Interface`): listing an owner's
//! revisions from the shared cache, adopting orphans its selector matches,
//! creating a revision (bumping the collision count on a name clash with
//! someone else's revision), renumbering and deleting.

use crate::context::{ReconcileError, is_not_found};
use crate::workload::controller_revision::{data_matches, new_revision};
use crate::workload::ownership::{adopt_patch, controller_of};
use bosun_types::labels::Selector;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::Store;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a sync waits for the cache to show a revision it wrote.
const CACHE_WAIT: Duration = Duration::from_secs(10);

/// The owner's revisions: those it controls, plus orphans in its namespace
/// that `selector` matches, which are adopted first (unless the owner is
/// being deleted).
pub async fn claim_revisions(
    client: &kube::Client,
    store: &Store<ControllerRevision>,
    owner: &ObjectMeta,
    controller: &OwnerReference,
    selector: &Selector,
) -> Result<Vec<ControllerRevision>, ReconcileError> {
    let namespace = owner.namespace.as_deref().unwrap_or_default();
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), namespace);
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for revision in store.state() {
        if revision.metadata.namespace.as_deref() != Some(namespace) {
            continue;
        }
        match controller_of(&revision.metadata) {
            Some(r) if r.uid == controller.uid => out.push(revision.as_ref().clone()),
            Some(_) => {}
            None => {
                let labels = revision.metadata.labels.as_ref().unwrap_or(&empty);
                if owner.deletion_timestamp.is_some()
                    || revision.metadata.deletion_timestamp.is_some()
                    || selector.is_empty()
                    || !selector.matches(labels)
                {
                    continue;
                }
                let patch = adopt_patch(&revision.metadata, controller);
                match api
                    .patch(
                        revision.metadata.name.as_deref().unwrap_or_default(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(adopted) => out.push(adopted),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(out)
}

/// What creating a revision came to.
pub enum Created {
    /// The revision (new, or an identical one of ours that already existed).
    Revision(Box<ControllerRevision>),
    /// Its name is taken by a different revision: the collision count must
    /// grow before another try.
    Collision,
}

/// Creates the revision of `data` numbered `revision` for `owner`, named
/// with `collision_count`. An existing identical revision of ours counts
/// as created.
pub async fn create_revision(
    client: &kube::Client,
    owner: &ObjectMeta,
    owner_kind: &'static str,
    template_labels: Option<&BTreeMap<String, String>>,
    data: Value,
    revision: i64,
    collision_count: Option<i32>,
) -> Result<Created, ReconcileError> {
    let namespace = owner.namespace.as_deref().unwrap_or_default();
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), namespace);
    let wanted = new_revision(
        owner,
        owner_kind,
        template_labels,
        data.clone(),
        revision,
        collision_count,
    )
    .map_err(|e| ReconcileError::Invalid(e.to_string()))?;
    match api.create(&PostParams::default(), &wanted).await {
        Ok(created) => Ok(Created::Revision(Box::new(created))),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let name = wanted.metadata.name.as_deref().unwrap_or_default();
            let existing = api.get(name).await?;
            let ours = controller_of(&existing.metadata)
                .is_some_and(|r| Some(r.uid.as_str()) == owner.uid.as_deref());
            if ours && data_matches(&existing, &data) {
                Ok(Created::Revision(Box::new(existing)))
            } else {
                Ok(Created::Collision)
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Renumbers `existing` to `revision` (a template returning to an earlier
/// revision makes that revision the newest).
pub async fn renumber_revision(
    client: &kube::Client,
    existing: &ControllerRevision,
    revision: i64,
) -> Result<ControllerRevision, ReconcileError> {
    let api: Api<ControllerRevision> = Api::namespaced(
        client.clone(),
        existing.metadata.namespace.as_deref().unwrap_or_default(),
    );
    let patch = json!({
        "metadata": {"resourceVersion": existing.metadata.resource_version},
        "revision": revision,
    });
    Ok(api
        .patch(
            existing.metadata.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?)
}

/// Deletes `revisions` (already-gone ones are fine).
pub async fn delete_revisions(
    client: &kube::Client,
    revisions: &[&ControllerRevision],
) -> Result<(), ReconcileError> {
    for revision in revisions {
        let api: Api<ControllerRevision> = Api::namespaced(
            client.clone(),
            revision.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: revision.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api
            .delete(
                revision.metadata.name.as_deref().unwrap_or_default(),
                &params,
            )
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) || crate::context::is_conflict(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Waits (bounded) until the cache holds `revision` with at least the
/// number written, so the next sync numbers revisions from what was written.
pub async fn await_revision(store: &Store<ControllerRevision>, revision: &ControllerRevision) {
    let key = kube::runtime::reflector::ObjectRef::new(
        revision.metadata.name.as_deref().unwrap_or_default(),
    )
    .within(revision.metadata.namespace.as_deref().unwrap_or_default());
    let deadline = Instant::now() + CACHE_WAIT;
    while Instant::now() < deadline {
        if store.get(&key).is_some_and(|r| {
            r.metadata.uid == revision.metadata.uid && r.revision >= revision.revision
        }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
