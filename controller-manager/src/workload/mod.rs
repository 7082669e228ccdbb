//! Pure decision logic of the Deployment and ReplicaSet controllers.
//!
//! Nothing in here performs I/O, spawns tasks or reads the clock: every
//! function takes the objects it needs (and `now` as a [`jiff::Timestamp`]
//! where time matters) and returns what the controller should do — scale
//! actions, pods to create or delete, statuses, conditions, patches and
//! events. The controller-manager's reconcile loops own listing, caching,
//! expectations and writing.
//!
//! Layout, by what each module owns:
//!
//! * ReplicaSet controller: [`pod_template`] (template → pod),
//!   [`availability`] (ready / available / active pods), [`pod_ranking`]
//!   (which pods to delete first), [`ownership`] (adopt / release),
//!   [`replicaset_sync`] (create / delete decision, slow start),
//!   [`replicaset_status`] (status and the `ReplicaFailure` condition).
//! * Deployment controller: [`deployment_util`] (annotations, revisions,
//!   surge / unavailable, counting), [`template_hash`] (`pod-template-hash`,
//!   template equality), [`new_replicaset`] (finding and building the new
//!   ReplicaSet), [`scaling`] (scale actions, proportional scaling, scaling
//!   events), [`rolling`], [`recreate`], [`progress`] (conditions and the
//!   progress deadline), [`status`], [`history`] (old ReplicaSet cleanup),
//!   [`rollback`], [`deployment_sync`] (which path a sync takes).
//! * Disruption controller: [`budget`] (PodDisruptionBudget status).
//! * HorizontalPodAutoscaler controller: [`autoscaling`] (bounds, status,
//!   conditions without a metrics API).
//! * Shared: [`events`] (event reasons and messages), [`error`].

pub mod autoscaling;
pub mod availability;
pub mod budget;
pub mod controller_revision;
pub mod daemonset_placement;
pub mod daemonset_sync;
pub mod deployment_sync;
pub mod deployment_util;
pub mod error;
pub mod events;
pub mod history;
pub mod new_replicaset;
pub mod ownership;
pub mod pod_ranking;
pub mod pod_template;
pub mod progress;
pub mod recreate;
pub mod replicaset_status;
pub mod replicaset_sync;
pub mod rollback;
pub mod rolling;
pub mod scaling;
pub mod statefulset_pods;
pub mod statefulset_sync;
pub mod status;
pub mod template_hash;

#[cfg(test)]
pub(crate) mod test_support;

pub use error::WorkloadError;
