//! Bosun's pure scheduling core: the kube-scheduler algorithm over an
//! in-memory [`Snapshot`], with no I/O and no async.
//!
//! * [`snapshot`] / [`node_info`] / [`pod_info`]: the cluster view, updated
//!   incrementally (add/assume/remove pods, upsert/remove nodes).
//! * [`index`]: the snapshot's pod groups and node label columns, so that
//!   spreading and pod affinity count without visiting every pod.
//! * [`plugins`]: the default filter and score plugins, with upstream's
//!   failure reasons.
//! * [`schedule`](schedule::schedule): one scheduling cycle for one pod.
//! * [`preemption`]: DefaultPreemption victim selection.
//! * [`nominator`]: pods nominated to nodes by preemption, which filtering
//!   counts on their node for pods of lower or equal priority.
//! * [`framework`]: statuses, the plugin pipeline, and [`FitError`].
//! * [`volumes`]: claims, volumes and classes with the scheduler's
//!   reservations, for VolumeBinding.

pub mod config;
pub mod framework;
pub mod index;
pub mod node_info;
pub mod nominator;
pub mod plugins;
pub mod pod_info;
pub mod preemption;
pub mod resources;
pub mod rng;
pub mod schedule;
pub mod snapshot;
pub mod volumes;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod equivalence_tests;
#[cfg(test)]
mod nominated_tests;
#[cfg(test)]
mod test_util;

pub use config::{Config, DefaultSpreading, PluginWeights, ResourceWeight, ScoringStrategy};
pub use framework::{Code, Diagnosis, FitError, Status};
pub use node_info::NodeInfo;
pub use nominator::Nominator;
pub use plugins::volume_binding::VolumeReservation;
pub use pod_info::{PodFacts, PodInfo};
pub use preemption::{Preemption, PreemptionError, preempt};
pub use rng::XorShiftRng;
pub use schedule::{ScheduleResult, schedule};
pub use snapshot::{ControllerKind, Snapshot, SnapshotError};
pub use volumes::Volumes;
