//! Each node's heartbeat loop: renews its Lease every `--heartbeat` (nodes
//! start at staggered offsets so renewals spread evenly over the interval)
//! and re-posts its conditions every `--status-interval`, at once after a
//! stop file is removed, or when someone else changed its Ready condition.
//! A stopped node does nothing; a deleted one ends its loop.

use crate::context::Context;
use crate::fleet::SimNode;
use crate::{leases, nodes};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::time::{Instant, sleep_until};

/// Runs the heartbeat of `node` until it is deleted.
pub async fn run(ctx: Arc<Context>, node: Arc<SimNode>, ready_since: Time) {
    let config = &ctx.config;
    let leases_api: Api<Lease> = Api::namespaced(ctx.client.clone(), leases::NAMESPACE);
    let nodes_api: Api<Node> = Api::all(ctx.client.clone());
    let mut lease = leases::NodeLease::new(&node.name, &node.uid);
    let mut transition = ready_since;
    let mut state = node.state.subscribe();
    let offset = config
        .heartbeat
        .mul_f64(f64::from(node.index) / f64::from(config.nodes.max(1)));
    let mut next = Instant::now() + offset;
    let mut last_status = Instant::now();
    let mut force_status = false;
    loop {
        tokio::select! {
            () = sleep_until(next) => {}
            changed = state.changed() => {
                let now = *state.borrow_and_update();
                if changed.is_err() || now.gone {
                    return;
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
        if current.gone {
            return;
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
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    tracing::info!(node = %node.name, "node no longer exists; leaving its pods alone");
                    node.set_gone();
                    return;
                }
                Err(error) => ctx.warn_failure("node status update", &node.name, &error),
            }
        }
    }
}
