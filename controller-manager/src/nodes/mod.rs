//! The node-lifecycle controller's decisions, free of I/O so that they can
//! be tested on their own: which taints a node should carry, when a pod
//! must leave a tainted node, how healthy each zone is, and how fast each
//! zone's nodes may be tainted `NoExecute` (evicting their pods).
//!
//! The shape is upstream's (`pkg/controller/nodelifecycle`): nodes are
//! grouped in zones by their topology labels; each zone has a rate-limited
//! queue of nodes waiting for a `NoExecute` taint; the rate follows the
//! zone's health; and when every zone has lost every node the controller
//! assumes the problem is its own connectivity, not the nodes', and stops
//! tainting altogether ("master disruption").

pub mod disruption;
pub mod eviction;
pub mod metrics;
pub mod taint_queue;
pub mod taints;
pub mod token_bucket;
pub mod zone;
