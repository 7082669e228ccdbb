//! One zone's queue of nodes waiting for their `NoExecute` taint
//! (upstream's rate-limited timed queue): first come, first served, each
//! node at most once, and only as fast as the zone's token bucket allows.

use super::token_bucket::TokenBucket;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Where a node stands in the queue: when it is due, then arrival order.
type Slot = (Instant, u64);

/// The queue.
#[derive(Debug, Clone)]
pub struct TaintQueue {
    order: BTreeMap<Slot, String>,
    slots: HashMap<String, Slot>,
    next_seq: u64,
    limiter: TokenBucket,
}

impl TaintQueue {
    /// An empty queue tainting at most `qps` nodes a second.
    pub fn new(qps: f64, now: Instant) -> Self {
        Self {
            order: BTreeMap::new(),
            slots: HashMap::new(),
            next_seq: 0,
            limiter: TokenBucket::new(qps, now),
        }
    }

    /// Queues `node`, due at `now`; `false` (and its place kept) when it
    /// is queued already.
    pub fn add(&mut self, node: &str, now: Instant) -> bool {
        if self.slots.contains_key(node) {
            return false;
        }
        self.insert(node, now);
        true
    }

    /// Takes `node` out; `false` when it was not queued.
    pub fn remove(&mut self, node: &str) -> bool {
        match self.slots.remove(node) {
            Some(slot) => {
                self.order.remove(&slot);
                true
            }
            None => false,
        }
    }

    /// Whether `node` is queued.
    pub fn contains(&self, node: &str) -> bool {
        self.slots.contains_key(node)
    }

    /// Queued nodes.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no node is queued.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The tainting rate.
    pub fn qps(&self) -> f64 {
        self.limiter.qps()
    }

    /// Changes the tainting rate (see [`TokenBucket::set_qps`]).
    pub fn set_qps(&mut self, qps: f64, now: Instant) {
        self.limiter.set_qps(qps, now);
    }

    /// The first node due at `now`, taken out of the queue, if the rate
    /// allows one more now.
    pub fn pop(&mut self, now: Instant) -> Option<String> {
        let (&slot, _) = self.order.first_key_value()?;
        if slot.0 > now || !self.limiter.try_accept(now) {
            return None;
        }
        let node = self.order.remove(&slot)?;
        self.slots.remove(&node);
        Some(node)
    }

    /// Keeps only the nodes `keep` accepts (say, those that still exist).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        let gone: Vec<String> = self.slots.keys().filter(|n| !keep(n)).cloned().collect();
        for node in gone {
            self.remove(&node);
        }
    }

    /// Puts `node` (just popped, whose tainting failed) back, due at `at`,
    /// behind the nodes due earlier.
    pub fn retry(&mut self, node: &str, at: Instant) {
        self.remove(node);
        self.insert(node, at);
    }

    fn insert(&mut self, node: &str, at: Instant) {
        let slot = (at, self.next_seq);
        self.next_seq += 1;
        self.order.insert(slot, node.to_owned());
        self.slots.insert(node.to_owned(), slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nodes_come_out_in_arrival_order_at_the_rate() {
        let t0 = Instant::now();
        let mut queue = TaintQueue::new(1.0, t0);
        assert!(queue.add("a", t0));
        assert!(queue.add("b", t0));
        assert!(queue.add("c", t0 + Duration::from_millis(1)));
        assert_eq!(queue.len(), 3);
        let at = t0 + Duration::from_millis(1);
        assert_eq!(queue.pop(at).as_deref(), Some("a"));
        assert_eq!(queue.pop(at), None, "the burst is one");
        assert_eq!(queue.pop(at + Duration::from_secs(1)).as_deref(), Some("b"));
        assert_eq!(queue.pop(at + Duration::from_secs(2)).as_deref(), Some("c"));
        assert!(queue.is_empty());
        assert_eq!(queue.pop(at + Duration::from_secs(10)), None);
    }

    #[test]
    fn adding_twice_keeps_the_first_place() {
        let t0 = Instant::now();
        let mut queue = TaintQueue::new(100.0, t0);
        queue.add("a", t0);
        queue.add("b", t0);
        assert!(!queue.add("a", t0 + Duration::from_secs(1)));
        let later = t0 + Duration::from_secs(1);
        assert_eq!(queue.pop(later).as_deref(), Some("a"));
        assert!(!queue.contains("a"));
        assert!(queue.add("a", later), "once out it may come back");
    }

    #[test]
    fn removed_nodes_are_skipped_without_spending_a_token() {
        let t0 = Instant::now();
        let mut queue = TaintQueue::new(0.5, t0);
        queue.add("a", t0);
        queue.add("b", t0);
        assert!(queue.remove("a"));
        assert!(!queue.remove("a"));
        assert_eq!(queue.pop(t0).as_deref(), Some("b"));
    }

    #[test]
    fn a_zero_rate_holds_everything_until_the_rate_returns() {
        let t0 = Instant::now();
        let mut queue = TaintQueue::new(0.0, t0);
        queue.add("a", t0);
        assert_eq!(queue.pop(t0 + Duration::from_secs(3600)), None);
        assert_eq!(queue.qps(), 0.0);
        let resumed = t0 + Duration::from_secs(3600);
        queue.set_qps(2.0, resumed);
        assert_eq!(queue.pop(resumed), None, "resumes from an empty bucket");
        assert_eq!(
            queue.pop(resumed + Duration::from_millis(500)).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn retain_drops_the_rest() {
        let t0 = Instant::now();
        let mut queue = TaintQueue::new(1.0, t0);
        queue.add("a", t0);
        queue.add("b", t0);
        queue.retain(|n| n == "b");
        assert!(!queue.contains("a"));
        assert_eq!(queue.pop(t0).as_deref(), Some("b"));
    }

    #[test]
    fn a_retry_waits_for_its_time_behind_due_nodes() {
        let t0 = Instant::now();
        let mut queue = TaintQueue::new(1000.0, t0);
        queue.add("a", t0);
        queue.add("b", t0);
        let a = queue.pop(t0).expect("a");
        queue.retry(&a, t0 + Duration::from_millis(100));
        let soon = t0 + Duration::from_millis(10);
        assert_eq!(queue.pop(soon).as_deref(), Some("b"));
        assert_eq!(queue.pop(soon), None, "a is not due yet");
        assert_eq!(
            queue.pop(t0 + Duration::from_millis(100)).as_deref(),
            Some("a")
        );
    }
}
