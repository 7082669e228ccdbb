//! The taints the node-lifecycle controller owns: `not-ready` (Ready is
//! False) and `unreachable` (Ready is Unknown, or missing), each as
//! `NoSchedule` and `NoExecute`. `NoSchedule` follows the Ready condition
//! at once; `NoExecute` evicts pods, so adding it goes through the zone's
//! rate-limited queue, while swapping one key for the other or removing it
//! happens at once.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Taint of nodes whose Ready condition is False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint of nodes whose Ready condition is Unknown.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The effect that keeps new pods off.
pub const NO_SCHEDULE: &str = "NoSchedule";
/// The effect that evicts running pods.
pub const NO_EXECUTE: &str = "NoExecute";

/// The controller's taint key for a node whose Ready status is `ready`:
/// none when ready.
pub fn condition_taint_key(ready: Option<&str>) -> Option<&'static str> {
    match ready {
        Some("True") => None,
        Some("False") => Some(NOT_READY),
        _ => Some(UNREACHABLE),
    }
}

fn is_ours(taint: &Taint) -> bool {
    taint.key == NOT_READY || taint.key == UNREACHABLE
}

/// `current` with the controller's taint of `effect` set to `key` (none
/// when `None`): an existing taint with that key is kept as it is (and so
/// keeps its `timeAdded`), the other key's taint goes, others are kept.
pub fn with_taint(
    current: &[Taint],
    effect: &str,
    key: Option<&str>,
    now: Timestamp,
) -> Vec<Taint> {
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| !(is_ours(t) && t.effect == effect && Some(t.key.as_str()) != key))
        .cloned()
        .collect();
    if let Some(key) = key
        && !out.iter().any(|t| t.key == key && t.effect == effect)
    {
        out.push(Taint {
            key: key.into(),
            effect: effect.into(),
            time_added: (effect == NO_EXECUTE).then_some(Time(now)),
            value: None,
        });
    }
    out
}

/// The controller's `NoExecute` taint key a node carries, if any.
pub fn no_execute_key(current: &[Taint]) -> Option<&str> {
    current
        .iter()
        .find(|t| is_ours(t) && t.effect == NO_EXECUTE)
        .map(|t| t.key.as_str())
}

/// What becomes of a node in its zone's taint queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queueing {
    /// Queue it (unless queued already) for its `NoExecute` taint.
    Enqueue,
    /// Take it out of the queue: it is ready, or tainted already.
    Dequeue,
}

/// One monitor round's plan for a node: the taints to write now, and its
/// place in the taint queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TaintPlan {
    /// The node's taints after this round.
    pub taints: Vec<Taint>,
    /// Its place in the queue.
    pub queueing: Queueing,
}

/// The plan for a node with `current` taints and Ready status `ready`.
/// With `paused` (master disruption) `NoExecute` taints come off and not-ready
/// nodes wait in the queue.
pub fn plan(current: &[Taint], ready: Option<&str>, paused: bool, now: Timestamp) -> TaintPlan {
    let key = condition_taint_key(ready);
    let taints = with_taint(current, NO_SCHEDULE, key, now);
    let tainted = no_execute_key(current);
    let (no_execute, queueing) = match (key, tainted) {
        (None, _) => (None, Queueing::Dequeue),
        (Some(_), _) if paused => (None, Queueing::Enqueue),
        // Already tainted, perhaps with the other key: swapped at once,
        // as the node's pods are being evicted already.
        (Some(key), Some(_)) => (Some(key), Queueing::Dequeue),
        // Not tainted yet: the queue adds it when the rate allows.
        (Some(_), None) => (None, Queueing::Enqueue),
    };
    TaintPlan {
        taints: with_taint(&taints, NO_EXECUTE, no_execute, now),
        queueing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(taints: &[Taint]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = taints
            .iter()
            .map(|t| (t.key.clone(), t.effect.clone()))
            .collect();
        out.sort();
        out
    }

    fn user() -> Taint {
        Taint {
            key: "dedicated".into(),
            effect: NO_SCHEDULE.into(),
            ..Default::default()
        }
    }

    fn pair(key: &str, effect: &str) -> (String, String) {
        (key.to_owned(), effect.to_owned())
    }

    #[test]
    fn the_taint_key_follows_the_ready_condition() {
        assert_eq!(condition_taint_key(Some("True")), None);
        assert_eq!(condition_taint_key(Some("False")), Some(NOT_READY));
        assert_eq!(condition_taint_key(Some("Unknown")), Some(UNREACHABLE));
        assert_eq!(condition_taint_key(None), Some(UNREACHABLE));
    }

    #[test]
    fn with_taint_keeps_an_existing_taint_and_its_time() {
        let then = Timestamp::from_second(1_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let now = Timestamp::now();
        let first = with_taint(&[user()], NO_EXECUTE, Some(UNREACHABLE), then);
        assert_eq!(first.len(), 2);
        let again = with_taint(&first, NO_EXECUTE, Some(UNREACHABLE), now);
        assert_eq!(again, first);
        let swapped = with_taint(&first, NO_EXECUTE, Some(NOT_READY), now);
        assert_eq!(
            keys(&swapped),
            vec![pair("dedicated", NO_SCHEDULE), pair(NOT_READY, NO_EXECUTE)]
        );
        assert_eq!(
            swapped
                .iter()
                .find(|t| t.key == NOT_READY)
                .and_then(|t| t.time_added.clone()),
            Some(Time(now))
        );
        assert_eq!(with_taint(&swapped, NO_EXECUTE, None, now), vec![user()]);
        let no_schedule = with_taint(&[], NO_SCHEDULE, Some(NOT_READY), now);
        assert_eq!(no_schedule[0].time_added, None);
    }

    #[test]
    fn a_not_ready_node_gets_no_schedule_now_and_waits_in_the_queue_for_no_execute() {
        let now = Timestamp::now();
        let plan = plan(&[user()], Some("Unknown"), false, now);
        assert_eq!(plan.queueing, Queueing::Enqueue);
        assert_eq!(
            keys(&plan.taints),
            vec![
                pair("dedicated", NO_SCHEDULE),
                pair(UNREACHABLE, NO_SCHEDULE)
            ]
        );
    }

    #[test]
    fn a_tainted_node_keeps_its_taint_or_swaps_it_at_once() {
        let now = Timestamp::now();
        let tainted = with_taint(
            &with_taint(&[], NO_SCHEDULE, Some(UNREACHABLE), now),
            NO_EXECUTE,
            Some(UNREACHABLE),
            now,
        );
        let same = plan(&tainted, Some("Unknown"), false, now);
        assert_eq!(same.taints, tainted);
        assert_eq!(same.queueing, Queueing::Dequeue);
        let swapped = plan(&tainted, Some("False"), false, now);
        assert_eq!(
            keys(&swapped.taints),
            vec![pair(NOT_READY, NO_EXECUTE), pair(NOT_READY, NO_SCHEDULE)]
        );
        assert_eq!(swapped.queueing, Queueing::Dequeue);
    }

    #[test]
    fn a_ready_node_loses_every_controller_taint() {
        let now = Timestamp::now();
        let mut tainted = with_taint(&[user()], NO_SCHEDULE, Some(NOT_READY), now);
        tainted = with_taint(&tainted, NO_EXECUTE, Some(NOT_READY), now);
        let plan = plan(&tainted, Some("True"), false, now);
        assert_eq!(plan.taints, vec![user()]);
        assert_eq!(plan.queueing, Queueing::Dequeue);
    }

    #[test]
    fn master_disruption_takes_no_execute_off_and_keeps_the_node_queued() {
        let now = Timestamp::now();
        let tainted = with_taint(
            &with_taint(&[], NO_SCHEDULE, Some(UNREACHABLE), now),
            NO_EXECUTE,
            Some(UNREACHABLE),
            now,
        );
        let plan = plan(&tainted, Some("Unknown"), true, now);
        assert_eq!(keys(&plan.taints), vec![pair(UNREACHABLE, NO_SCHEDULE)]);
        assert_eq!(plan.queueing, Queueing::Enqueue);
        assert_eq!(no_execute_key(&plan.taints), None);
        assert_eq!(no_execute_key(&tainted), Some(UNREACHABLE));
    }
}
