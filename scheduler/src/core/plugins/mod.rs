//! Filter and score plugins, one module per upstream plugin.
//!
//! Each module exposes its failure reasons (the exact upstream strings), a
//! pre-filter step computed once per pod where the plugin needs one, a
//! `filter` over one node, and score/normalize functions where the plugin
//! scores. The [`framework`](super::framework) wires them in upstream's order.

pub mod balanced_allocation;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod normalize;
pub mod pod_topology_spread;
pub mod taint_toleration;
pub mod volume_binding;
