//! One module per controller.

pub mod endpoints;
pub mod garbage_collector;
pub mod namespace;
pub mod serviceaccount;
