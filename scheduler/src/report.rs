//! What the scheduler tells the API besides bindings: the `PodScheduled`
//! condition of pods that fit nowhere (with upstream's message), the
//! nominated node of preemptors (set, or cleared when it no longer holds),
//! and Events (`Scheduled`,
//! `FailedScheduling`, `Preempted`).

use bosun_runtime::{EventRecorder, EventType, object_ref};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

/// `PodScheduled=False` reason for pods no node fits.
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";
/// `PodScheduled=False` reason for scheduler errors (e.g. a failed binding).
pub const REASON_SCHEDULER_ERROR: &str = "SchedulerError";

/// How often a binding refused with 429 (too many requests in flight) is
/// sent again, as client-go retries such answers itself.
const THROTTLED_RETRIES: u32 = 10;
/// The wait before sending a throttled binding again: the `Retry-After`
/// upstream's apiserver (and Bosun's) sends.
const THROTTLED_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Posts the binding of `pod` to `node` (`pods/binding`). A 429 answer is
/// retried after the server's `Retry-After` second, up to
/// [`THROTTLED_RETRIES`] times, as client-go does for kube-scheduler: an
/// overloaded apiserver delays a binding, it does not fail the attempt.
pub async fn bind(api: &Api<Pod>, pod: &Pod, node: &str) -> Result<(), kube::Error> {
    let mut attempt = 0;
    loop {
        match bind_once(api, pod, node).await {
            Err(kube::Error::Api(status)) if status.code == 429 && attempt < THROTTLED_RETRIES => {
                attempt += 1;
                tokio::time::sleep(THROTTLED_WAIT).await;
            }
            other => return other,
        }
    }
}

async fn bind_once(api: &Api<Pod>, pod: &Pod, node: &str) -> Result<(), kube::Error> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {
            "name": name,
            "namespace": pod.metadata.namespace,
            "uid": pod.metadata.uid,
        },
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    api.create_subresource::<_, serde_json::Value>(
        "binding",
        name,
        &PostParams::default(),
        &binding,
    )
    .await
    .map(|_| ())
}

/// The `PodScheduled=False` condition a failed attempt sets.
pub fn unschedulable_condition(reason: &str, message: &str, now: Timestamp) -> PodCondition {
    PodCondition {
        type_: "PodScheduled".into(),
        status: "False".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(Time(now)),
        last_probe_time: None,
        ..Default::default()
    }
}

/// `pod`'s conditions with `condition` set in place of the one of its type;
/// `None` when nothing would change (upstream skips the write then; a new
/// transition time alone is no change).
pub fn with_condition(pod: &Pod, condition: PodCondition) -> Option<Vec<PodCondition>> {
    let mut conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(existing) => {
            if existing.status == condition.status
                && existing.reason == condition.reason
                && existing.message == condition.message
            {
                return None;
            }
            let keep_time = existing.status == condition.status;
            let time = existing.last_transition_time.clone();
            *existing = condition;
            if keep_time {
                existing.last_transition_time = time;
            }
        }
        None => conditions.push(condition),
    }
    Some(conditions)
}

/// What a failed attempt does to the pod's `status.nominatedNodeName`
/// (upstream's `NominatingInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nomination<'a> {
    /// Leave it as it is (the pod fits nowhere; an earlier nomination stands).
    Keep,
    /// Nominate this node (the pod preempted victims there).
    Set(&'a str),
    /// Clear it (the pod was assumed on a node, then Reserve, PreBind or
    /// the binding failed).
    Clear,
}

impl Nomination<'_> {
    /// The new `status.nominatedNodeName` value, when it differs from
    /// `current`: a node name, or `null` to clear it.
    fn patch_value(self, current: Option<&str>) -> Option<serde_json::Value> {
        let current = current.filter(|n| !n.is_empty());
        match self {
            Nomination::Set(node) if current != Some(node) => Some(json!(node)),
            Nomination::Clear if current.is_some() => Some(serde_json::Value::Null),
            _ => None,
        }
    }
}

/// Writes `PodScheduled=False` (and the nominated node) to `pod`'s status
/// when they changed.
pub async fn mark_unschedulable(
    api: &Api<Pod>,
    pod: &Pod,
    reason: &str,
    message: &str,
    nomination: Nomination<'_>,
) -> Result<(), kube::Error> {
    let conditions = with_condition(
        pod,
        unschedulable_condition(reason, message, Timestamp::now()),
    );
    let nominated = nomination.patch_value(
        pod.status
            .as_ref()
            .and_then(|s| s.nominated_node_name.as_deref()),
    );
    if conditions.is_none() && nominated.is_none() {
        return Ok(());
    }
    let mut status = serde_json::Map::new();
    if let Some(conditions) = conditions {
        status.insert("conditions".into(), json!(conditions));
    }
    if let Some(nominated) = nominated {
        status.insert("nominatedNodeName".into(), nominated);
    }
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": status})),
    )
    .await
    .map(|_| ())
}

/// Clears `pod`'s `status.nominatedNodeName` (upstream's
/// `ClearNominatedNodeName`, for lower-priority pods nominated to the node
/// a preemptor takes). Written even when the object at hand shows no
/// nomination: the scheduler's own may not be visible on it yet.
pub async fn clear_nomination(api: &Api<Pod>, pod: &Pod) -> Result<(), kube::Error> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"nominatedNodeName": null}})),
    )
    .await
    .map(|_| ())
}

/// `Normal Scheduled: Successfully assigned ns/name to node`.
pub fn scheduled_event(recorder: &EventRecorder, pod: &Pod, node: &str) {
    recorder.publish_action(
        object_ref("v1", "Pod", &pod.metadata),
        EventType::Normal,
        "Scheduled",
        Some("Binding"),
        format!(
            "Successfully assigned {}/{} to {node}",
            pod.metadata.namespace.as_deref().unwrap_or_default(),
            pod.metadata.name.as_deref().unwrap_or_default()
        ),
    );
}

/// `Warning FailedScheduling: <message>`.
pub fn failed_event(recorder: &EventRecorder, pod: &Pod, message: &str) {
    recorder.publish_action(
        object_ref("v1", "Pod", &pod.metadata),
        EventType::Warning,
        "FailedScheduling",
        Some("Scheduling"),
        message.to_owned(),
    );
}

/// `Normal Preempted: Preempted by pod <uid> on node <node>` on a victim.
pub fn preempted_event(recorder: &EventRecorder, victim: &Pod, preemptor: &Pod, node: &str) {
    recorder.publish_action(
        object_ref("v1", "Pod", &victim.metadata),
        EventType::Normal,
        "Preempted",
        Some("Preempting"),
        format!(
            "Preempted by pod {} on node {node}",
            preemptor.metadata.uid.as_deref().unwrap_or_default()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nominated_node_is_written_only_when_it_changes() {
        assert_eq!(Nomination::Keep.patch_value(Some("n1")), None);
        assert_eq!(Nomination::Set("n1").patch_value(Some("n1")), None);
        assert_eq!(
            Nomination::Set("n2").patch_value(Some("n1")),
            Some(json!("n2"))
        );
        assert_eq!(Nomination::Set("n1").patch_value(None), Some(json!("n1")));
        assert_eq!(
            Nomination::Clear.patch_value(Some("n1")),
            Some(serde_json::Value::Null)
        );
        assert_eq!(Nomination::Clear.patch_value(Some("")), None);
        assert_eq!(Nomination::Clear.patch_value(None), None);
    }

    fn pod(conditions: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "default"},
            "status": {"conditions": conditions}
        }))
        .expect("pod")
    }

    #[test]
    fn the_same_condition_is_not_written_twice() {
        let now = Timestamp::now();
        let first = with_condition(
            &pod(json!([])),
            unschedulable_condition(REASON_UNSCHEDULABLE, "0/1 nodes are available", now),
        )
        .expect("new condition");
        let p = pod(json!(first));
        assert!(
            with_condition(
                &p,
                unschedulable_condition(REASON_UNSCHEDULABLE, "0/1 nodes are available", now)
            )
            .is_none()
        );
        let changed = with_condition(
            &p,
            unschedulable_condition(REASON_UNSCHEDULABLE, "0/2 nodes are available", now),
        )
        .expect("message changed");
        assert_eq!(changed.len(), 1);
        assert_eq!(
            changed[0].message.as_deref(),
            Some("0/2 nodes are available")
        );
    }
}
