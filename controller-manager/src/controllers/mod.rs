//! One module per controller.

pub mod deployment;
pub mod endpoints;
pub mod garbage_collector;
pub mod namespace;
pub mod replicaset;
pub mod serviceaccount;
