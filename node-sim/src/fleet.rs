//! The nodes this process simulates and their shared run state: stopped or
//! not, deleted or not, the uid of their current Node object, and the
//! pod-IP pool of each.

use crate::addresses::{Cidr, IpPool};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{Notify, watch};

/// What a node's agent is allowed to do right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeState {
    /// A stop file exists: no heartbeats, no pod updates.
    pub stopped: bool,
    /// The Node object was deleted: the node and its pods are left alone
    /// until the node is started again (see [`NodeState::starts`]), when it
    /// registers a new Node.
    pub gone: bool,
    /// How often the node was started (its stop file removed) so far: a
    /// change tells the agent that the simulated kubelet started again,
    /// however quickly other changes followed.
    pub starts: u32,
}

impl NodeState {
    /// This state after a stop file appeared (`stopped`) or went away;
    /// going from stopped to started counts a start.
    #[must_use]
    pub fn with_stopped(self, stopped: bool) -> Self {
        let starts = if self.stopped && !stopped {
            self.starts.wrapping_add(1)
        } else {
            self.starts
        };
        Self {
            stopped,
            starts,
            ..self
        }
    }
}

/// One simulated node after registration.
#[derive(Debug)]
pub struct SimNode {
    /// The Node's name.
    pub name: String,
    /// Its number (for spreading heartbeats).
    pub index: u32,
    /// The uid of its current Node object (the Lease's owner reference);
    /// it changes when the node registers again.
    uid: Mutex<String>,
    /// Its InternalIP (the hostIP of its pods).
    pub internal_ip: Ipv4Addr,
    /// Pod IPs from its pod CIDR.
    pub pool: Mutex<IpPool>,
    /// Stopped/gone, watched by its heartbeat loop and pod tasks.
    pub state: watch::Sender<NodeState>,
    /// Asks the heartbeat loop to post node status now.
    pub nudge: Notify,
    /// Someone else changed the Ready condition (seen by the node watch).
    pub ready_clobbered: AtomicBool,
}

impl SimNode {
    /// Node number `index` called `name`, registered as `uid` with pod IPs
    /// from `cidr`, running (neither stopped nor gone).
    pub fn new(name: String, index: u32, uid: String, internal_ip: Ipv4Addr, cidr: Cidr) -> Self {
        Self {
            name,
            index,
            uid: Mutex::new(uid),
            internal_ip,
            pool: Mutex::new(IpPool::new(cidr)),
            state: watch::Sender::new(NodeState::default()),
            nudge: Notify::new(),
            ready_clobbered: AtomicBool::new(false),
        }
    }

    /// The current run state.
    pub fn current(&self) -> NodeState {
        *self.state.borrow()
    }

    /// The uid of the current Node object.
    pub fn uid(&self) -> String {
        self.uid
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether an object with `uid` is the current Node object (an unknown
    /// uid on either side counts as a match).
    pub fn is_current(&self, uid: Option<&str>) -> bool {
        let current = self.uid.lock().unwrap_or_else(PoisonError::into_inner);
        same_object(&current, uid)
    }

    /// Sets `stopped`, returning whether it changed.
    pub fn set_stopped(&self, stopped: bool) -> bool {
        self.state.send_if_modified(|s| {
            let changed = s.stopped != stopped;
            *s = s.with_stopped(stopped);
            changed
        })
    }

    /// Marks the node deleted.
    pub fn set_gone(&self) {
        self.state.send_if_modified(|s| {
            let changed = !s.gone;
            s.gone = true;
            changed
        });
    }

    /// Records that the node registered a new Node object (`uid`, pod CIDR
    /// `cidr`) and lets it and its pods run again. The pod-IP pool is kept
    /// (IPs pods still hold stay taken) unless the CIDR changed.
    pub fn registered_again(&self, uid: &str, cidr: Cidr) {
        uid.clone_into(&mut self.uid.lock().unwrap_or_else(PoisonError::into_inner));
        {
            let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
            if pool.cidr() != cidr {
                tracing::warn!(node = %self.name, old = %pool.cidr(), new = %cidr, "pod CIDR changed; pod IPs start over");
                *pool = IpPool::new(cidr);
            }
        }
        self.ready_clobbered.store(false, Ordering::Relaxed);
        self.state.send_if_modified(|s| {
            let changed = s.gone;
            s.gone = false;
            changed
        });
    }

    /// Records that the Ready condition was changed by someone else and
    /// wakes the heartbeat loop.
    pub fn report_clobbered(&self) {
        self.ready_clobbered.store(true, Ordering::Relaxed);
        self.nudge.notify_one();
    }

    /// Takes a pod IP.
    pub fn allocate_ip(&self) -> Option<Ipv4Addr> {
        self.pool.lock().ok()?.allocate()
    }

    /// Takes a specific pod IP (one a pod already had).
    pub fn claim_ip(&self, ip: Ipv4Addr) -> bool {
        self.pool.lock().is_ok_and(|mut pool| pool.claim(ip))
    }

    /// Gives a pod IP back.
    pub fn release_ip(&self, ip: Ipv4Addr) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.release(ip);
        }
    }
}

/// Whether uids `current` and `other` name the same object (an empty or
/// missing one matches anything).
fn same_object(current: &str, other: Option<&str>) -> bool {
    current.is_empty() || other.is_none_or(|o| o.is_empty() || o == current)
}

/// All simulated nodes by name.
#[derive(Debug, Default)]
pub struct Fleet {
    nodes: HashMap<String, Arc<SimNode>>,
}

impl Fleet {
    /// A fleet of these nodes.
    pub fn new(nodes: impl IntoIterator<Item = Arc<SimNode>>) -> Self {
        Self {
            nodes: nodes.into_iter().map(|n| (n.name.clone(), n)).collect(),
        }
    }

    /// The node called `name`, if it is ours.
    pub fn get(&self, name: &str) -> Option<&Arc<SimNode>> {
        self.nodes.get(name)
    }

    /// Every node.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<SimNode>> {
        self.nodes.values()
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addresses::pod_cidr;

    fn node() -> SimNode {
        SimNode::new(
            "n".into(),
            0,
            "uid-1".into(),
            Ipv4Addr::new(172, 18, 0, 2),
            pod_cidr(0),
        )
    }

    #[test]
    fn only_stopped_to_started_counts_a_start() {
        let s = NodeState::default();
        assert_eq!(s.with_stopped(false).starts, 0);
        let stopped = s.with_stopped(true);
        assert_eq!((stopped.stopped, stopped.starts), (true, 0));
        assert_eq!(stopped.with_stopped(true).starts, 0);
        let started = stopped.with_stopped(false);
        assert_eq!((started.stopped, started.starts), (false, 1));
        let gone = NodeState {
            gone: true,
            ..stopped
        };
        assert!(
            gone.with_stopped(false).gone,
            "a start does not undo a deletion"
        );
    }

    #[test]
    fn events_of_other_node_objects_are_not_current() {
        let n = node();
        assert!(n.is_current(Some("uid-1")));
        assert!(n.is_current(None));
        assert!(!n.is_current(Some("uid-0")));
        n.registered_again("uid-2", pod_cidr(0));
        assert_eq!(n.uid(), "uid-2");
        assert!(!n.is_current(Some("uid-1")));
        assert!(same_object("", Some("x")));
    }

    #[test]
    fn registering_again_revives_the_node_and_keeps_held_ips() {
        let n = node();
        let held = n.allocate_ip().expect("ip");
        n.set_stopped(true);
        n.set_gone();
        n.report_clobbered();
        n.registered_again("uid-2", pod_cidr(0));
        let state = n.current();
        assert!(!state.gone && state.stopped);
        assert!(!n.ready_clobbered.load(Ordering::Relaxed));
        assert!(!n.claim_ip(held), "a pod's IP stays taken");
        n.registered_again("uid-3", pod_cidr(7));
        assert!(!n.claim_ip(held), "outside the new pod CIDR");
        assert_eq!(n.allocate_ip(), Some(Ipv4Addr::new(10, 244, 7, 2)));
    }
}
