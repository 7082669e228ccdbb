//! The scheduling queue, as kube-scheduler's `PriorityQueue`: an active
//! heap (higher `spec.priority` first, then first come first served), a
//! backoff heap (1 s doubling per failed attempt up to 10 s), a set of
//! unschedulable pods that only cluster events (or a 5-minute flush) move
//! back, and gated pods (`spec.schedulingGates`) that wait for their gates
//! to be removed.
//!
//! Pods are keyed by `namespace/name`; heaps hold tickets and stale entries
//! are skipped when popped, so updates and deletes are O(1).

use k8s_openapi::api::core::v1::Pod;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Backoff after the first failed attempt.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Unschedulable pods are retried at least this often, events or not.
pub const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(300);

/// `namespace/name`.
pub type PodKey = String;

/// The key of `pod`.
pub fn pod_key(pod: &Pod) -> PodKey {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

/// A pod taken from the queue for one scheduling attempt.
#[derive(Debug, Clone)]
pub struct QueuedPod {
    /// The pod as last seen.
    pub pod: Arc<Pod>,
    /// Its key.
    pub key: PodKey,
    /// Attempts before this one.
    pub attempts: u32,
    /// When the pod first entered the queue (for the SLI metric).
    pub first_seen: Instant,
    /// The scheduling cycle of this attempt.
    pub cycle: u64,
}

/// Queue lengths, for `scheduler_pending_pods{queue}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Ready to be scheduled.
    pub active: usize,
    /// Waiting out a backoff.
    pub backoff: usize,
    /// Waiting for a cluster event.
    pub unschedulable: usize,
    /// Held by scheduling gates.
    pub gated: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable,
    Gated,
    InFlight,
}

#[derive(Debug)]
struct Entry {
    pod: Arc<Pod>,
    attempts: u32,
    first_seen: Instant,
    last_attempt: Option<Instant>,
    unschedulable_since: Instant,
    ticket: u64,
    place: Place,
    /// Updated (or moved by an event) while being scheduled.
    dirty: bool,
}

impl Entry {
    fn backoff_until(&self) -> Option<Instant> {
        let last = self.last_attempt?;
        Some(last + backoff_for(self.attempts))
    }
}

/// Backoff after `attempts` failed attempts.
pub fn backoff_for(attempts: u32) -> Duration {
    if attempts == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32 << (attempts - 1).min(8);
    (INITIAL_BACKOFF * factor).min(MAX_BACKOFF)
}

#[derive(Debug, PartialEq, Eq)]
struct ActiveItem {
    priority: i32,
    ticket: u64,
    key: PodKey,
}

impl Ord for ActiveItem {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.ticket.cmp(&self.ticket))
    }
}

impl PartialOrd for ActiveItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<PodKey, Entry>,
    active: BinaryHeap<ActiveItem>,
    backoff: BinaryHeap<Reverse<(Instant, u64, PodKey)>>,
    next_ticket: u64,
    cycle: u64,
    closed: bool,
}

impl Inner {
    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn push_active(&mut self, key: &str) {
        let ticket = self.ticket();
        if let Some(entry) = self.entries.get_mut(key) {
            entry.ticket = ticket;
            entry.place = Place::Active;
            entry.dirty = false;
            let priority = entry
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.priority)
                .unwrap_or(0);
            self.active.push(ActiveItem {
                priority,
                ticket,
                key: key.to_owned(),
            });
        }
    }

    fn push_backoff_or_active(&mut self, key: &str, now: Instant) {
        let until = self.entries.get(key).and_then(Entry::backoff_until);
        match until {
            Some(until) if until > now => {
                let ticket = self.ticket();
                if let Some(entry) = self.entries.get_mut(key) {
                    entry.ticket = ticket;
                    entry.place = Place::Backoff;
                    entry.dirty = false;
                    self.backoff.push(Reverse((until, ticket, key.to_owned())));
                }
            }
            _ => self.push_active(key),
        }
    }

    fn flush_backoff(&mut self, now: Instant) {
        while let Some(Reverse((until, ticket, _))) = self.backoff.peek() {
            if *until > now {
                break;
            }
            let ticket = *ticket;
            let Some(Reverse((_, _, key))) = self.backoff.pop() else {
                break;
            };
            if self
                .entries
                .get(&key)
                .is_some_and(|e| e.ticket == ticket && e.place == Place::Backoff)
            {
                self.push_active(&key);
            }
        }
    }

    fn next_backoff(&self) -> Option<Instant> {
        self.backoff.peek().map(|Reverse((until, _, _))| *until)
    }
}

/// The queue; shared by the watch handlers (add/update/delete, cluster
/// events) and the scheduling loop (pop, outcomes).
#[derive(Debug, Default)]
pub struct SchedulingQueue {
    inner: Mutex<Inner>,
    wake: Notify,
}

fn gated(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.scheduling_gates.as_ref())
        .is_some_and(|g| !g.is_empty())
}

impl SchedulingQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A pending pod was added or changed.
    pub fn add_or_update(&self, pod: Arc<Pod>) {
        let key = pod_key(&pod);
        let now = Instant::now();
        let mut inner = self.lock();
        let is_gated = gated(&pod);
        match inner.entries.get_mut(&key) {
            None => {
                inner.entries.insert(
                    key.clone(),
                    Entry {
                        pod,
                        attempts: 0,
                        first_seen: now,
                        last_attempt: None,
                        unschedulable_since: now,
                        ticket: 0,
                        place: Place::Gated,
                        dirty: false,
                    },
                );
                if !is_gated {
                    inner.push_active(&key);
                    drop(inner);
                    self.wake.notify_one();
                }
            }
            Some(entry) => {
                let changed =
                    entry.pod.spec != pod.spec || entry.pod.metadata.labels != pod.metadata.labels;
                entry.pod = pod;
                match entry.place {
                    Place::InFlight => entry.dirty |= changed,
                    Place::Gated if !is_gated => {
                        inner.push_active(&key);
                        drop(inner);
                        self.wake.notify_one();
                    }
                    Place::Unschedulable if changed => {
                        inner.push_backoff_or_active(&key, now);
                        drop(inner);
                        self.wake.notify_one();
                    }
                    _ => {}
                }
            }
        }
    }

    /// A pod was deleted, or bound by someone else: forget it.
    pub fn delete(&self, key: &str) {
        self.lock().entries.remove(key);
    }

    /// Whether `key` is queued (in any part) or being scheduled.
    pub fn contains(&self, key: &str) -> bool {
        self.lock().entries.contains_key(key)
    }

    /// Waits for the next pod to schedule; `None` once closed.
    pub async fn pop(&self) -> Option<QueuedPod> {
        loop {
            let wait = {
                let mut inner = self.lock();
                if inner.closed {
                    return None;
                }
                let now = Instant::now();
                inner.flush_backoff(now);
                while let Some(item) = inner.active.pop() {
                    let cycle = inner.cycle + 1;
                    let Some(entry) = inner.entries.get_mut(&item.key) else {
                        continue;
                    };
                    if entry.ticket != item.ticket || entry.place != Place::Active {
                        continue;
                    }
                    entry.place = Place::InFlight;
                    entry.dirty = false;
                    entry.last_attempt = Some(now);
                    let queued = QueuedPod {
                        pod: entry.pod.clone(),
                        key: item.key,
                        attempts: entry.attempts,
                        first_seen: entry.first_seen,
                        cycle,
                    };
                    inner.cycle = cycle;
                    return Some(queued);
                }
                inner.next_backoff()
            };
            match wait {
                Some(until) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep_until(until) => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }

    /// The attempt bound the pod (or it left the queue): forget it.
    pub fn done(&self, key: &str) {
        let mut inner = self.lock();
        if inner
            .entries
            .get(key)
            .is_some_and(|e| e.place == Place::InFlight)
        {
            inner.entries.remove(key);
        }
    }

    /// The attempt found no node: the pod waits for a cluster event (or
    /// goes to backoff if one happened, or it changed, during the attempt).
    pub fn unschedulable(&self, queued: &QueuedPod) {
        let now = Instant::now();
        let mut inner = self.lock();
        let Some(entry) = inner.entries.get_mut(&queued.key) else {
            return;
        };
        if entry.place != Place::InFlight {
            return;
        }
        entry.attempts += 1;
        if entry.dirty {
            inner.push_backoff_or_active(&queued.key, now);
            drop(inner);
            self.wake.notify_one();
        } else {
            entry.place = Place::Unschedulable;
            entry.unschedulable_since = now;
        }
    }

    /// The attempt failed for another reason (binding error, API error):
    /// retry after the backoff.
    pub fn retry(&self, queued: &QueuedPod) {
        let now = Instant::now();
        let mut inner = self.lock();
        let Some(entry) = inner.entries.get_mut(&queued.key) else {
            return;
        };
        entry.attempts += 1;
        if entry.place == Place::InFlight {
            inner.push_backoff_or_active(&queued.key, now);
            drop(inner);
            self.wake.notify_one();
        }
    }

    /// Something changed in the cluster that may make unschedulable pods
    /// fit (node added or changed, pod deleted or finished): every one goes
    /// back to backoff or active, and pods being scheduled right now will
    /// not be parked as unschedulable.
    pub fn move_all(&self, why: &str) {
        self.move_matching(why, |_| true);
    }

    /// [`move_all`](Self::move_all) for only the pods `affected` says the
    /// event may help (upstream's queueing hints), e.g. the pods mounting a
    /// claim that changed.
    pub fn move_matching(&self, why: &str, affected: impl Fn(&Pod) -> bool) {
        let now = Instant::now();
        let mut inner = self.lock();
        let keys: Vec<PodKey> = inner
            .entries
            .iter_mut()
            .filter_map(|(k, e)| match e.place {
                Place::Unschedulable if affected(&e.pod) => Some(k.clone()),
                Place::InFlight if affected(&e.pod) => {
                    e.dirty = true;
                    None
                }
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            return;
        }
        tracing::debug!(pods = keys.len(), event = why, "moving unschedulable pods");
        for key in &keys {
            inner.push_backoff_or_active(key, now);
        }
        drop(inner);
        self.wake.notify_one();
    }

    /// Moves pods unschedulable for longer than [`MAX_UNSCHEDULABLE`];
    /// called periodically.
    pub fn flush_unschedulable(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        let keys: Vec<PodKey> = inner
            .entries
            .iter()
            .filter(|(_, e)| {
                e.place == Place::Unschedulable
                    && now.duration_since(e.unschedulable_since) >= MAX_UNSCHEDULABLE
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in &keys {
            inner.push_backoff_or_active(key, now);
        }
        if !keys.is_empty() {
            drop(inner);
            self.wake.notify_one();
        }
    }

    /// Queue lengths.
    pub fn counts(&self) -> Counts {
        let inner = self.lock();
        let mut counts = Counts::default();
        for entry in inner.entries.values() {
            match entry.place {
                Place::Active | Place::InFlight => counts.active += 1,
                Place::Backoff => counts.backoff += 1,
                Place::Unschedulable => counts.unschedulable += 1,
                Place::Gated => counts.gated += 1,
            }
        }
        counts
    }

    /// Ends every `pop` (shutdown).
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_waiters();
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, priority: i32) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"priority": priority, "containers": [{"name": "c"}]}
            }))
            .expect("pod"),
        )
    }

    async fn pop_now(queue: &SchedulingQueue) -> Option<QueuedPod> {
        tokio::time::timeout(Duration::from_millis(50), queue.pop())
            .await
            .ok()
            .flatten()
    }

    #[tokio::test]
    async fn pops_higher_priority_first_then_in_arrival_order() {
        let queue = SchedulingQueue::new();
        queue.add_or_update(pod("a", 0));
        queue.add_or_update(pod("b", 10));
        queue.add_or_update(pod("c", 0));
        let order: Vec<String> = [
            pop_now(&queue).await,
            pop_now(&queue).await,
            pop_now(&queue).await,
        ]
        .into_iter()
        .map(|q| q.expect("pod").key)
        .collect();
        assert_eq!(order, ["default/b", "default/a", "default/c"]);
    }

    #[tokio::test]
    async fn gated_pods_wait_for_their_gates_to_go() {
        let queue = SchedulingQueue::new();
        let mut gated_pod = (*pod("g", 0)).clone();
        gated_pod.spec.as_mut().expect("spec").scheduling_gates =
            Some(vec![k8s_openapi::api::core::v1::PodSchedulingGate {
                name: "example.com/wait".into(),
            }]);
        queue.add_or_update(Arc::new(gated_pod.clone()));
        assert_eq!(queue.counts().gated, 1);
        assert!(pop_now(&queue).await.is_none());
        gated_pod.spec.as_mut().expect("spec").scheduling_gates = None;
        queue.add_or_update(Arc::new(gated_pod));
        assert_eq!(pop_now(&queue).await.expect("pod").key, "default/g");
    }

    #[tokio::test(start_paused = true)]
    async fn unschedulable_pods_wait_for_an_event_then_honour_backoff() {
        let queue = SchedulingQueue::new();
        queue.add_or_update(pod("a", 0));
        let first = pop_now(&queue).await.expect("pod");
        queue.unschedulable(&first);
        assert_eq!(queue.counts().unschedulable, 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(pop_now(&queue).await.is_none(), "no event: stays parked");
        queue.move_all("NodeAdd");
        let second = pop_now(&queue).await.expect("moved");
        assert_eq!(second.attempts, 1);
        queue.unschedulable(&second);
        // An event right after the second failure: backoff is 2 s.
        queue.move_all("NodeAdd");
        assert_eq!(queue.counts().backoff, 1);
        assert!(pop_now(&queue).await.is_none());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(pop_now(&queue).await.expect("after backoff").attempts, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_during_an_attempt_sends_the_pod_to_backoff_not_parking() {
        let queue = SchedulingQueue::new();
        queue.add_or_update(pod("a", 0));
        let attempt = pop_now(&queue).await.expect("pod");
        queue.move_all("NodeUpdate");
        queue.unschedulable(&attempt);
        assert_eq!(queue.counts().backoff, 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(pop_now(&queue).await.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn hinted_events_move_only_the_pods_they_may_help() {
        let queue = SchedulingQueue::new();
        queue.add_or_update(pod("a", 0));
        queue.add_or_update(pod("b", 0));
        for _ in 0..2 {
            let attempt = pop_now(&queue).await.expect("pod");
            queue.unschedulable(&attempt);
        }
        queue.move_matching("PersistentVolumeClaimChange", |p| {
            p.metadata.name.as_deref() == Some("b")
        });
        assert_eq!(queue.counts().unschedulable, 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(pop_now(&queue).await.expect("moved").key, "default/b");
        assert!(pop_now(&queue).await.is_none());
    }

    #[tokio::test]
    async fn deleted_and_done_pods_leave_the_queue() {
        let queue = SchedulingQueue::new();
        queue.add_or_update(pod("a", 0));
        queue.add_or_update(pod("b", 0));
        queue.delete("default/a");
        let b = pop_now(&queue).await.expect("b");
        assert_eq!(b.key, "default/b");
        queue.done(&b.key);
        assert_eq!(queue.counts(), Counts::default());
        assert!(pop_now(&queue).await.is_none());
    }

    #[test]
    fn backoff_doubles_up_to_ten_seconds() {
        assert_eq!(backoff_for(1), Duration::from_secs(1));
        assert_eq!(backoff_for(2), Duration::from_secs(2));
        assert_eq!(backoff_for(4), Duration::from_secs(8));
        assert_eq!(backoff_for(5), Duration::from_secs(10));
        assert_eq!(backoff_for(40), Duration::from_secs(10));
    }
}
