//! The nodes this process simulates and their shared run state: stopped or
//! not, deleted or not, and the pod-IP pool of each.

use crate::addresses::IpPool;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, watch};

/// What a node's agent is allowed to do right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeState {
    /// A stop file exists: no heartbeats, no pod updates.
    pub stopped: bool,
    /// The Node object was deleted: its pods are left alone for good.
    pub gone: bool,
}

/// One simulated node after registration.
#[derive(Debug)]
pub struct SimNode {
    /// The Node's name.
    pub name: String,
    /// Its number (for spreading heartbeats).
    pub index: u32,
    /// The Node's uid (the Lease's owner reference).
    pub uid: String,
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
    /// The current run state.
    pub fn current(&self) -> NodeState {
        *self.state.borrow()
    }

    /// Sets `stopped`, returning whether it changed.
    pub fn set_stopped(&self, stopped: bool) -> bool {
        self.state.send_if_modified(|s| {
            let changed = s.stopped != stopped;
            s.stopped = stopped;
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
