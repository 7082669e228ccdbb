//! Pods bound to simulated nodes: ONE watch on all bound pods
//! (`spec.nodeName!=`) feeds a task per pod. Each task owns the pod's
//! simulated run, writes its status through the `status` subresource (a
//! merge patch carrying the resourceVersion last read, so a concurrent
//! writer makes it re-read instead of clobbering), and carries out graceful
//! deletion. Updates are coalesced: a task only ever sees the newest event
//! of its pod, and writes only when what it would report differs from what
//! the API holds. Pods of nodes that are not ours are ignored; those of
//! stopped or deleted (gone) nodes are left alone — their tasks wait — until
//! the node is started again or registers a new Node.

use crate::backoff::WatchBackoff;
use crate::context::Context;
use crate::fleet::SimNode;
use crate::sim::{RunPlan, SimPod};
use crate::status::{self, Clock, RenderInput, Transitions};
use crate::view::{self, PodView};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

/// The field selector of the pod watch: every pod bound to some node.
pub const BOUND_PODS: &str = "spec.nodeName!=";
/// First retry delay after a failed request, or when a node has no free
/// pod IP; it doubles per failure up to [`MAX_RETRY`].
const RETRY: Duration = Duration::from_secs(1);
/// The longest retry delay.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Watches bound pods and runs a task for each one on our nodes.
pub async fn watch_pods(ctx: Arc<Context>) {
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let stream = watcher(api, watcher::Config::default().fields(BOUND_PODS))
        .backoff(WatchBackoff::default());
    futures::pin_mut!(stream);
    let clock = Arc::new(Clock::new());
    let mut pods: HashMap<String, watch::Sender<Arc<PodView>>> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut relisted: Option<HashSet<String>> = None;
    loop {
        tokio::select! {
            event = stream.next() => {
                let Some(event) = event else { break };
                match event {
                    Ok(watcher::Event::Apply(pod)) => {
                        dispatch(&ctx, &clock, &mut pods, &mut tasks, &pod, false);
                    }
                    Ok(watcher::Event::InitApply(pod)) => {
                        if let (Some(seen), Some(uid)) = (relisted.as_mut(), pod.metadata.uid.as_ref()) {
                            seen.insert(uid.clone());
                        }
                        dispatch(&ctx, &clock, &mut pods, &mut tasks, &pod, true);
                    }
                    Ok(watcher::Event::Delete(pod)) => {
                        if let Some(uid) = pod.metadata.uid.as_ref() {
                            pods.remove(uid);
                        }
                    }
                    Ok(watcher::Event::Init) => relisted = Some(HashSet::new()),
                    Ok(watcher::Event::InitDone) => {
                        if let Some(seen) = relisted.take() {
                            pods.retain(|uid, _| seen.contains(uid));
                        }
                    }
                    Err(error) => tracing::warn!(%error, "pod watch failed; retrying"),
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
}

/// Hands one pod event to its task, starting the task when needed.
fn dispatch(
    ctx: &Arc<Context>,
    clock: &Arc<Clock>,
    pods: &mut HashMap<String, watch::Sender<Arc<PodView>>>,
    tasks: &mut JoinSet<()>,
    pod: &Pod,
    listed: bool,
) {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let running = pods.get(uid).is_some_and(|tx| !tx.is_closed());
    // What an earlier run reported only matters when a task starts.
    let Some(mut view) = PodView::from_pod(pod, !running) else {
        return;
    };
    view.listed = listed;
    let Some(node) = ctx.fleet.get(&view.node) else {
        pods.remove(&view.uid);
        return;
    };
    // Finished pods need nothing more, unless their deletion is ours to
    // complete. Pods of stopped or deleted nodes get a task that waits.
    if view.terminal && view.deletion.is_none() {
        pods.remove(&view.uid);
        return;
    }
    let view = Arc::new(view);
    if running && let Some(tx) = pods.get(&view.uid) {
        tx.send_replace(view);
        return;
    }
    tracing::debug!(pod = %pod_key(&view), node = %node.name, "handling pod");
    let uid = view.uid.clone();
    let (tx, rx) = watch::channel(view);
    pods.insert(uid, tx);
    tasks.spawn(run_pod(ctx.clone(), clock.clone(), node.clone(), rx));
}

/// Runs one pod until its entry is dropped (deleted, finished, relisted
/// away); while its node is stopped or gone (its Node deleted) the pod is
/// left as it is, and picked up again when the node runs again.
async fn run_pod(
    ctx: Arc<Context>,
    clock: Arc<Clock>,
    node: Arc<SimNode>,
    mut rx: watch::Receiver<Arc<PodView>>,
) {
    ctx.stats.pods_tracked.fetch_add(1, Ordering::Relaxed);
    let mut node_state = node.state.subscribe();
    let mut task = PodTask::default();
    let mut last_view: Option<Arc<PodView>> = None;
    loop {
        let view = rx.borrow_and_update().clone();
        let new_event = !last_view.as_ref().is_some_and(|v| Arc::ptr_eq(v, &view));
        if new_event {
            task.observe(&view);
            last_view = Some(view.clone());
        }
        let state = *node_state.borrow_and_update();
        // Boxed: the step (with its API request futures) is only allocated
        // while it runs, keeping the parked task of each pod small.
        let wake = if state.stopped || state.gone {
            None
        } else {
            Box::pin(task.step(&ctx, &clock, &node, &view)).await
        };
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { break },
            changed = node_state.changed() => if changed.is_err() { break },
            () = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
        }
    }
    task.finish(&ctx, &node);
    ctx.stats.pods_tracked.fetch_sub(1, Ordering::Relaxed);
}

/// What a pod's task remembers between events.
#[derive(Debug, Default)]
struct PodTask {
    sim: Option<SimPod>,
    transitions: Transitions,
    /// The newest resourceVersion seen (event or write response).
    known_rv: String,
    /// Summary of the status the API holds at `known_rv`.
    stored: Option<u64>,
    /// Counted in `pods_running`.
    running: bool,
    /// When the grace-0 delete is due.
    delete_at: Option<Instant>,
    /// The grace-0 delete was sent.
    deleted: bool,
    /// Failed requests in a row (for the retry back-off).
    failures: u32,
}

/// `namespace/name` of a pod, for logs.
fn pod_key(view: &PodView) -> String {
    format!("{}/{}", view.namespace, view.name)
}

/// How long a pod deleted with `deadline` (its deletionTimestamp) may keep
/// running from `now`, at most `max`.
fn grace_left(deadline: jiff::Timestamp, now: jiff::Timestamp, max: Duration) -> Duration {
    if deadline <= now {
        return Duration::ZERO;
    }
    deadline.duration_since(now).unsigned_abs().min(max)
}

/// Whether resourceVersion `a` is newer than `b` (numeric when both are).
fn newer(a: &str, b: &str) -> bool {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => a != b && !a.is_empty(),
    }
}

enum Write {
    Done,
    Gone,
    Retry,
}

impl PodTask {
    /// Takes in what a new event says the API holds: events older than
    /// what this task last wrote are ignored, except those of a relist
    /// (the API's word after a reconnect, even if it went back in time).
    fn observe(&mut self, view: &PodView) {
        if self.known_rv.is_empty() || view.listed || newer(&view.resource_version, &self.known_rv)
        {
            self.known_rv.clone_from(&view.resource_version);
            self.stored = Some(view.status_summary);
        }
    }

    /// When to try again after another failure.
    fn retry(&mut self) -> Instant {
        let delay = RETRY
            .saturating_mul(1 << self.failures.min(5))
            .min(MAX_RETRY);
        self.failures += 1;
        Instant::now() + delay
    }

    /// Brings the pod up to date; returns when to look again.
    async fn step(
        &mut self,
        ctx: &Context,
        clock: &Clock,
        node: &SimNode,
        view: &PodView,
    ) -> Option<Instant> {
        if self.deleted {
            return None;
        }
        let now = Instant::now();
        let mut wake = None;
        if self.sim.is_none() && !view.terminal {
            match self.start(ctx, clock, node, view, now) {
                Some(sim) => self.sim = Some(sim),
                None => return Some(self.retry()),
            }
        }
        if let Some(deletion) = view.deletion {
            // Containers keep running through the (capped) grace period,
            // then exit; their terminated states are written and the pod is
            // deleted with grace 0.
            let delete_at = *self.delete_at.get_or_insert_with(|| {
                now + grace_left(
                    deletion.deadline,
                    clock.wall(now),
                    Duration::from_secs(ctx.config.max_grace_seconds),
                )
            });
            if now < delete_at {
                return Some(delete_at);
            }
            if let Some(sim) = self.sim.as_mut()
                && !sim.terminating
            {
                sim.terminate(now, view.exit_code.unwrap_or(0));
            }
            wake = Some(now);
        }
        if let Some(sim) = self.sim.as_mut() {
            sim.advance(now, ctx.config.crash_backoff);
            if sim.holds_ip && sim.terminal_phase().is_some() {
                if let Some(ip) = sim.ip {
                    node.release_ip(ip);
                }
                sim.holds_ip = false;
            }
            let input = RenderInput {
                view,
                host_ip: node.internal_ip,
                clock,
                now,
            };
            let status = status::render(&input, sim, &mut self.transitions);
            let next = sim.next_event(now);
            match self.write(ctx, view, &status).await {
                Write::Done => self.failures = 0,
                Write::Gone => return None,
                Write::Retry => return Some(self.retry()),
            }
            wake = match (wake, next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        if let Some(delete_at) = self.delete_at
            && Instant::now() >= delete_at
        {
            return self.delete(ctx, view).await;
        }
        wake
    }

    /// Starts the simulated run: takes an IP and continues what an earlier
    /// run reported, if anything.
    fn start(
        &mut self,
        ctx: &Context,
        clock: &Clock,
        node: &SimNode,
        view: &PodView,
        now: Instant,
    ) -> Option<SimPod> {
        let plan = RunPlan::for_pod(view, ctx.config.run_seconds);
        let adopted_ip = view
            .adoption
            .as_ref()
            .and_then(|a| a.pod_ip)
            .filter(|ip| !view.host_network && node.claim_ip(*ip));
        let ip = match (view.host_network, adopted_ip) {
            (true, _) => None,
            (false, Some(ip)) => Some(ip),
            (false, None) => match node.allocate_ip() {
                Some(ip) => Some(ip),
                None => {
                    tracing::warn!(node = %node.name, pod = %view.name, "no free pod IP on node");
                    return None;
                }
            },
        };
        let mut sim = SimPod::start(view, plan, now, ip);
        sim.holds_ip = ip.is_some();
        if let Some(adoption) = &view.adoption {
            sim.adopt(adoption, now, clock.wall(now));
            self.transitions.seed(&adoption.conditions);
        }
        Some(sim)
    }

    /// Writes `status` unless the API already holds the same; re-reads and
    /// retries on a conflict.
    async fn write(
        &mut self,
        ctx: &Context,
        view: &PodView,
        status: &k8s_openapi::api::core::v1::PodStatus,
    ) -> Write {
        let summary = view::summarize(status);
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &view.namespace);
        for _ in 0..3 {
            if self.stored == Some(summary) {
                return Write::Done;
            }
            let patch = json!({
                "metadata": {"resourceVersion": self.known_rv},
                "status": status,
            });
            let result = ctx
                .request(api.patch_status(
                    &view.name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                ))
                .await;
            match result {
                Ok(pod) => {
                    tracing::debug!(pod = %pod_key(view), phase = ?status.phase, "pod status written");
                    ctx.stats.pod_status_writes.fetch_add(1, Ordering::Relaxed);
                    self.known_rv = pod.metadata.resource_version.unwrap_or_default();
                    self.stored = Some(summary);
                    self.count_running(ctx, status.phase.as_deref() == Some("Running"));
                    return Write::Done;
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    ctx.stats
                        .pod_status_conflicts
                        .fetch_add(1, Ordering::Relaxed);
                    let fresh = ctx.request(api.get_opt(&view.name)).await;
                    match fresh {
                        Ok(Some(pod)) if pod.metadata.uid.as_deref() == Some(&view.uid) => {
                            self.known_rv = pod.metadata.resource_version.unwrap_or_default();
                            self.stored = pod.status.as_ref().map(view::summarize);
                        }
                        Ok(_) => return Write::Gone,
                        Err(error) => {
                            ctx.warn_failure("re-reading a pod", &pod_key(view), &error);
                            return Write::Retry;
                        }
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 404 => return Write::Gone,
                Err(error) => {
                    ctx.warn_failure("pod status update", &pod_key(view), &error);
                    return Write::Retry;
                }
            }
        }
        Write::Retry
    }

    /// Deletes the pod with grace 0 (its uid as precondition).
    async fn delete(&mut self, ctx: &Context, view: &PodView) -> Option<Instant> {
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &view.namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(view.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        let result = ctx.request(api.delete(&view.name, &params)).await;
        match result {
            Ok(_) => {
                ctx.stats.pod_deletions.fetch_add(1, Ordering::Relaxed);
                self.deleted = true;
                None
            }
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {
                self.deleted = true;
                None
            }
            Err(error) => {
                ctx.warn_failure("pod delete", &pod_key(view), &error);
                Some(self.retry())
            }
        }
    }

    fn count_running(&mut self, ctx: &Context, running: bool) {
        if running != self.running {
            if running {
                ctx.stats.pods_running.fetch_add(1, Ordering::Relaxed);
            } else {
                ctx.stats.pods_running.fetch_sub(1, Ordering::Relaxed);
            }
            self.running = running;
        }
    }

    /// Releases what the pod held.
    fn finish(&mut self, ctx: &Context, node: &SimNode) {
        if let Some(sim) = &self.sim
            && sim.holds_ip
            && let Some(ip) = sim.ip
        {
            node.release_ip(ip);
        }
        self.count_running(ctx, false);
    }
}

#[cfg(test)]
mod tests {
    use super::{grace_left, newer};
    use std::time::Duration;

    #[test]
    fn grace_is_what_is_left_capped() {
        let now = jiff::Timestamp::from_second(1_000).expect("ts");
        let at = |s| jiff::Timestamp::from_second(s).expect("ts");
        let max = Duration::from_secs(30);
        assert_eq!(grace_left(at(1_010), now, max), Duration::from_secs(10));
        assert_eq!(grace_left(at(1_100), now, max), max);
        assert_eq!(grace_left(at(990), now, max), Duration::ZERO);
        assert_eq!(grace_left(at(1_005), now, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn resource_versions_compare_numerically() {
        assert!(newer("10", "9"));
        assert!(!newer("9", "10"));
        assert!(!newer("9", "9"));
        assert!(newer("b", "a"));
        assert!(!newer("", "a"));
    }
}
