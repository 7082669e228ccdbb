//! Bosun's shared API facts.
//!
//! Everything here is plain data and pure functions that both the apiserver
//! and its clients need: the table of built-in resources ([`resources`]),
//! label and field selectors ([`labels`], [`fields`]), and resource quantities
//! ([`quantity`]). No async runtime, no HTTP.

pub mod duration;
pub mod fields;
pub mod labels;
pub mod quantity;
pub mod resources;
pub mod version;

pub use k8s_openapi;
