//! Each node's heartbeat loop: renews its Lease every `--heartbeat` (nodes
//! start at staggered offsets so renewals spread evenly over the interval)
//! and re-posts its conditions every `--status-interval`, at once after a
//! stop file is removed, or when someone else changed its Ready condition.
//! A stopped node does nothing. The loop ends when the Node object is
//! gone: for good as far as this loop knows when the deletion hit a running
//! node, or with [`Ended::Missing`] when the node was just started and its
//! Node no longer exists, so that the agent registers it again.

use crate::context::Context;
use crate::fleet::{NodeState, SimNode};
use crate::{leases, nodes};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use std::sync::atomic::Ordering;
use tokio::time::{Instant, sleep_until};

/// Why a heartbeat loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The Node object was deleted while the node ran (or stayed stopped):
    /// it and its pods are left alone until its next start, i.e. until
    /// [`NodeState::starts`] differs from `starts`.
    Gone {
        /// The number of starts seen when the deletion was noticed.
        starts: u32,
    },
    /// The node was started and found its Node object missing: it
    /// registers again at once.
    Missing,
}

/// What a deletion means at this point: a node started since its Node was
/// last seen to exist registers again, any other stays gone.
fn on_deletion(fresh_start: bool, state: NodeState) -> Ended {
    if fresh_start {
        Ended::Missing
    } else {
        Ended::Gone {
            starts: state.starts,
        }
    }
}

/// Runs the heartbeat of `node` (as Node `node.uid()`, Ready since
/// `ready_since`, first beat at `first`) until its Node object is gone.
pub async fn run(ctx: &Context, node: &SimNode, ready_since: Time, first: Instant) -> Ended {
    let config = &ctx.config;
    let leases_api: Api<Lease> = Api::namespaced(ctx.client.clone(), leases::NAMESPACE);
    let nodes_api: Api<Node> = Api::all(ctx.client.clone());
    let mut lease = leases::NodeLease::new(&node.name, &node.uid());
    let mut transition = ready_since;
    let mut state = node.state.subscribe();
    let mut seen = *state.borrow_and_update();
    // Started since the Node was last known to exist: a deletion noticed
    // now is one the (simulated) kubelet starts up into.
    let mut fresh_start = false;
    let mut next = first;
    let mut last_status = Instant::now();
    let mut force_status = false;
    loop {
        tokio::select! {
            () = sleep_until(next) => {}
            changed = state.changed() => {
                let now = *state.borrow_and_update();
                if now.starts != seen.starts {
                    fresh_start = true;
                }
                seen = now;
                if changed.is_err() || now.gone {
                    return on_deletion(fresh_start, now);
                }
                if !now.stopped {
                    next = Instant::now();
                    force_status = true;
                }
                continue;
            }
            () = node.nudge.notified() => force_status = true,
        }
        let current = node.current();
        if current.starts != seen.starts {
            fresh_start = true;
            seen = current;
        }
        if current.gone {
            return on_deletion(fresh_start, current);
        }
        next = Instant::now() + config.heartbeat;
        if current.stopped {
            continue;
        }
        let renewed = ctx.request(lease.renew(&leases_api)).await;
        match renewed {
            Ok(()) => ctx.stats.lease_renewals.fetch_add(1, Ordering::Relaxed),
            Err(error) => {
                // Retried at the next heartbeat.
                ctx.warn_failure("lease renewal", &node.name, &error);
                continue;
            }
        };
        if node.ready_clobbered.swap(false, Ordering::Relaxed) {
            transition = nodes::now();
            force_status = true;
        }
        if force_status || last_status.elapsed() >= config.status_interval {
            let posted = ctx
                .request(nodes::post_conditions(&nodes_api, &node.name, &transition))
                .await;
            match posted {
                Ok(_) => {
                    ctx.stats.node_status_posts.fetch_add(1, Ordering::Relaxed);
                    last_status = Instant::now();
                    force_status = false;
                    fresh_start = false;
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    let ended = on_deletion(fresh_start, seen);
                    if matches!(ended, Ended::Gone { .. }) {
                        tracing::info!(node = %node.name, "node no longer exists; leaving its pods alone");
                        node.set_gone();
                    }
                    return ended;
                }
                Err(error) => ctx.warn_failure("node status update", &node.name, &error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_deletion_found_on_start_registers_again() {
        let state = NodeState {
            starts: 3,
            ..NodeState::default()
        };
        assert_eq!(on_deletion(true, state), Ended::Missing);
        assert_eq!(on_deletion(false, state), Ended::Gone { starts: 3 });
    }
}
