//! What Bosun's API clients share: building a [`kube::Client`] from a
//! kubeconfig, leader election on a `coordination.k8s.io/v1` Lease, the
//! `/livez` `/readyz` `/metrics` endpoints, an event recorder that
//! aggregates repeats, and the shutdown signal of the binaries.
//!
//! Nothing here touches storage: these are pure API clients, like
//! upstream's kube-scheduler and kube-controller-manager.

pub mod client;
pub mod events;
pub mod leader;
pub mod serve;
pub mod signal;
#[cfg(feature = "testing")]
pub mod testing;

pub use client::{client_from_kubeconfig, counting_client, with_user_agent};
pub use events::{EventRecorder, EventType, Reporter, object_ref};
pub use leader::{LeaderConfig, LeaderElector};
pub use serve::{Health, serve_health};
pub use signal::shutdown_signal;
