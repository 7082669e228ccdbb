//! Which path one deployment sync takes (upstream's `syncDeployment`).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::deployment_util::{RECREATE, ROLLING_UPDATE, is_paused, strategy_type};
use super::error::WorkloadError;
use super::ownership::controller_selector;
use super::rollback::requested_rollback;
use super::scaling::is_scaling_event;

/// The path a deployment sync takes, in upstream's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPath {
    /// The selector selects everything: record a `SelectingAll` warning
    /// (see [`selecting_all`](super::events::selecting_all)), bump
    /// `observedGeneration` if behind, do nothing else.
    SelectingAll,
    /// Being deleted: only recompute the status.
    StatusOnly,
    /// Paused or resized: proportional [`scale`](super::scaling::scale),
    /// history cleanup, then the plain status.
    Scale,
    /// A deprecated rollback request to this revision (0: previous).
    Rollback(i64),
    /// Roll out with [`rollout_recreate`](super::recreate::rollout_recreate).
    Recreate,
    /// Roll out with [`rollout_rolling`](super::rolling::rollout_rolling).
    RollingUpdate,
}

/// Chooses the sync path. Before acting on [`SyncPath::Scale`] and the
/// rollouts, upstream records pause / resume with
/// [`paused_condition_update`](super::progress::paused_condition_update).
pub fn choose_sync_path(
    d: &Deployment,
    new_rs: Option<&ReplicaSet>,
    old_rses: &[&ReplicaSet],
) -> Result<SyncPath, WorkloadError> {
    let selector = d
        .spec
        .as_ref()
        .map(|s| controller_selector(&s.selector))
        .transpose()?;
    if selector.is_none_or(|s| s.is_empty()) {
        return Ok(SyncPath::SelectingAll);
    }
    if d.metadata.deletion_timestamp.is_some() {
        return Ok(SyncPath::StatusOnly);
    }
    if is_paused(d) {
        return Ok(SyncPath::Scale);
    }
    if let Some(revision) = requested_rollback(d) {
        return Ok(SyncPath::Rollback(revision));
    }
    if is_scaling_event(d, new_rs, old_rses) {
        return Ok(SyncPath::Scale);
    }
    match strategy_type(d) {
        RECREATE => Ok(SyncPath::Recreate),
        ROLLING_UPDATE => Ok(SyncPath::RollingUpdate),
        other => Err(WorkloadError::UnsupportedStrategy(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::deployment_util::{
        DEPRECATED_ROLLBACK_TO_ANNOTATION, set_replicas_annotations,
    };
    use crate::workload::test_support::{
        pct, recreate_deployment, replica_set, rolling_deployment, template, ts,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
    use std::collections::BTreeMap;

    #[test]
    fn precedence() {
        let t = template("v1");
        let mut d = rolling_deployment("web", 3, &t, pct("25%"), pct("25%"));
        let mut rs = replica_set("web-a", 3, 3, &t);
        set_replicas_annotations(&mut rs, 3, 4);
        assert_eq!(
            choose_sync_path(&d, Some(&rs), &[]),
            Ok(SyncPath::RollingUpdate)
        );
        assert_eq!(
            choose_sync_path(&recreate_deployment("web", 3, &t), Some(&rs), &[]),
            Ok(SyncPath::Recreate)
        );
        // Resized: scale.
        if let Some(s) = d.spec.as_mut() {
            s.replicas = Some(5);
        }
        assert_eq!(choose_sync_path(&d, Some(&rs), &[]), Ok(SyncPath::Scale));
        // Rollback request beats the scaling event.
        d.metadata.annotations = Some(BTreeMap::from([(
            DEPRECATED_ROLLBACK_TO_ANNOTATION.to_owned(),
            "2".to_owned(),
        )]));
        assert_eq!(
            choose_sync_path(&d, Some(&rs), &[]),
            Ok(SyncPath::Rollback(2))
        );
        // Paused beats rollback.
        if let Some(s) = d.spec.as_mut() {
            s.paused = Some(true);
        }
        assert_eq!(choose_sync_path(&d, Some(&rs), &[]), Ok(SyncPath::Scale));
        // Deleting beats paused.
        d.metadata.deletion_timestamp = Some(Time(ts(0)));
        assert_eq!(
            choose_sync_path(&d, Some(&rs), &[]),
            Ok(SyncPath::StatusOnly)
        );
        // Empty selector beats everything.
        if let Some(s) = d.spec.as_mut() {
            s.selector = LabelSelector::default();
        }
        assert_eq!(
            choose_sync_path(&d, Some(&rs), &[]),
            Ok(SyncPath::SelectingAll)
        );
    }
}
