//! Each node's agent, the simulated kubelet's main loop: heartbeat (see
//! [`heartbeat`]) until the Node object is gone, then wait for the node to
//! be started again (its stop file removed) and register it again — a new
//! Node object of the same name, shape and pod CIDR — take its Lease over,
//! let its pods run again, and heartbeat on. A node started while its Node
//! is missing registers at once, as a starting kubelet does; one whose Node
//! is deleted while it runs stays gone until its next start, as a running
//! kubelet whose Node was deleted.

use crate::context::Context;
use crate::fleet::SimNode;
use crate::heartbeat::{self, Ended};
use crate::nodes;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// First delay after a failed registration; it doubles up to
/// [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The longest delay between registration attempts.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// Runs `node`, registered and Ready since `ready_since`, until the
/// simulator shuts down.
pub async fn run(ctx: Arc<Context>, node: Arc<SimNode>, ready_since: Time) {
    // Spread the first heartbeats of all nodes evenly over the interval.
    let offset = ctx
        .config
        .heartbeat
        .mul_f64(f64::from(node.index) / f64::from(ctx.config.nodes.max(1)));
    let mut first = Instant::now() + offset;
    let mut ready_since = ready_since;
    loop {
        match heartbeat::run(&ctx, &node, ready_since, first).await {
            Ended::Gone { starts } => {
                let mut state = node.state.subscribe();
                if state.wait_for(|s| s.starts != starts).await.is_err() {
                    return;
                }
                tracing::info!(node = %node.name, "node started again after its Node was deleted; registering it again");
            }
            Ended::Missing => {
                tracing::info!(node = %node.name, "node started without its Node object; registering it again");
            }
        }
        // Boxed: only allocated while registering, keeping the parked agent
        // of each node small.
        match Box::pin(register_again(&ctx, &node)).await {
            Some(since) => ready_since = since,
            None => return,
        }
        first = Instant::now();
    }
}

/// Registers `node` again, retrying until it succeeds (and waiting while
/// the node is stopped: a dead kubelet registers nothing), then lets the
/// node and its pods run under the new uid. Returns since when the Node is
/// Ready, or `None` if the node's state can no longer be watched.
async fn register_again(ctx: &Context, node: &SimNode) -> Option<Time> {
    let api: Api<Node> = Api::all(ctx.client.clone());
    let mut state = node.state.subscribe();
    let mut delay = FIRST_RETRY;
    loop {
        if state.wait_for(|s| !s.stopped).await.is_err() {
            return None;
        }
        match ctx
            .request(nodes::register(&api, &ctx.config, node.index))
            .await
        {
            Ok(registered) => {
                tracing::info!(node = %node.name, uid = %registered.uid, "node registered again");
                node.registered_again(&registered.uid, registered.cidr);
                return Some(registered.ready_since);
            }
            Err(error) => {
                ctx.warn_failure("node registration", &node.name, &error);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY);
            }
        }
    }
}
