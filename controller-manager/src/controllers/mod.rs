//! One module per controller.

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod garbage_collector;
pub mod history;
pub mod horizontal_pod_autoscaler;
pub mod job;
pub mod namespace;
pub mod node_lifecycle;
pub mod persistent_volume;
pub mod pod_gc;
pub mod replicaset;
pub mod serviceaccount;
pub mod statefulset;
pub mod ttl_after_finished;
