//! Recording core/v1 Events the way client-go's legacy recorder does: each
//! Event is written in the background (a controller never waits on it), a
//! repeat of the same event (same object, type, reason and message) bumps
//! `count` and `lastTimestamp` of the existing Event instead of creating a
//! new one, and a per-object token bucket (burst 25, one more every five
//! minutes) keeps a hot loop from flooding the API.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Queued events beyond this are dropped (with a log line).
const QUEUE: usize = 4096;
/// Token bucket per object: burst.
const BURST: f64 = 25.0;
/// Token bucket per object: one token per this many seconds.
const REFILL_SECONDS: f64 = 300.0;
/// Repeats are aggregated into an Event seen within this window.
const AGGREGATE_WINDOW: Duration = Duration::from_secs(600);
/// Remembered Events (aggregation keys) before the oldest are forgotten.
const MAX_REMEMBERED: usize = 4096;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something went wrong.
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Who reports: `source.component` / `reportingComponent` (e.g.
/// `deployment-controller`, `default-scheduler`) and the instance.
#[derive(Debug, Clone)]
pub struct Reporter {
    /// e.g. `default-scheduler`.
    pub component: String,
    /// e.g. the leader-election identity.
    pub instance: String,
}

#[derive(Debug)]
struct Pending {
    reporter: Reporter,
    object: ObjectReference,
    kind: EventType,
    reason: String,
    message: String,
    action: Option<String>,
}

/// A cheap-to-clone handle that queues Events for the background writer.
#[derive(Debug, Clone)]
pub struct EventRecorder {
    reporter: Reporter,
    queue: mpsc::Sender<Pending>,
}

impl EventRecorder {
    /// Starts the background writer on `client`; it ends when every
    /// recorder clone is dropped.
    pub fn new(client: kube::Client, reporter: Reporter) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_events(client, rx));
        Self { reporter, queue }
    }

    /// The same writer, reporting as another component.
    pub fn with_component(&self, component: &str) -> Self {
        Self {
            reporter: Reporter {
                component: component.to_owned(),
                instance: self.reporter.instance.clone(),
            },
            queue: self.queue.clone(),
        }
    }

    /// Queues an Event about `object`; never blocks.
    pub fn publish(&self, object: ObjectReference, kind: EventType, reason: &str, message: String) {
        self.publish_action(object, kind, reason, None, message);
    }

    /// Queues an Event with an `action` (events.k8s.io's field).
    pub fn publish_action(
        &self,
        object: ObjectReference,
        kind: EventType,
        reason: &str,
        action: Option<&str>,
        message: String,
    ) {
        let pending = Pending {
            reporter: self.reporter.clone(),
            object,
            kind,
            reason: reason.to_owned(),
            message,
            action: action.map(str::to_owned),
        };
        if self.queue.try_send(pending).is_err() {
            tracing::debug!("event queue full: event dropped");
        }
    }
}

/// An object reference for an Event about `meta` of `api_version`/`kind`.
pub fn object_ref(api_version: &str, kind: &str, meta: &ObjectMeta) -> ObjectReference {
    ObjectReference {
        api_version: Some(api_version.to_owned()),
        kind: Some(kind.to_owned()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        ..Default::default()
    }
}

type Key = (String, String, &'static str, String, String, String);

struct Seen {
    namespace: String,
    name: String,
    count: i32,
    at: Instant,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

async fn write_events(client: kube::Client, mut rx: mpsc::Receiver<Pending>) {
    let mut seen: HashMap<Key, Seen> = HashMap::new();
    let mut buckets: HashMap<String, Bucket> = HashMap::new();
    while let Some(event) = rx.recv().await {
        let object_key = format!(
            "{}/{}/{}/{}",
            event.reporter.component,
            event.object.kind.as_deref().unwrap_or_default(),
            event.object.namespace.as_deref().unwrap_or_default(),
            event
                .object
                .uid
                .as_deref()
                .or(event.object.name.as_deref())
                .unwrap_or_default()
        );
        if !take_token(&mut buckets, &object_key) {
            continue;
        }
        let key: Key = (
            object_key,
            event.reporter.component.clone(),
            event.kind.as_str(),
            event.reason.clone(),
            event.message.clone(),
            event.object.field_path.clone().unwrap_or_default(),
        );
        let now = Timestamp::now();
        if let Some(prior) = seen
            .get_mut(&key)
            .filter(|s| s.at.elapsed() < AGGREGATE_WINDOW)
        {
            let api: Api<Event> = Api::namespaced(client.clone(), &prior.namespace);
            let patch = serde_json::json!({
                "count": prior.count + 1,
                "lastTimestamp": Time(now),
            });
            match api
                .patch(&prior.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    prior.count += 1;
                    prior.at = Instant::now();
                    continue;
                }
                Err(error) => {
                    tracing::debug!(%error, "aggregating event failed; creating a new one");
                }
            }
        }
        let namespace = event
            .object
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into());
        let name = format!(
            "{}.{:x}",
            event.object.name.as_deref().unwrap_or("event"),
            now.as_nanosecond()
        );
        let body = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            involved_object: event.object.clone(),
            reason: Some(event.reason.clone()),
            message: Some(event.message.clone()),
            type_: Some(event.kind.as_str().to_owned()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            source: Some(EventSource {
                component: Some(event.reporter.component.clone()),
                host: None,
            }),
            reporting_component: Some(event.reporter.component.clone()),
            reporting_instance: Some(event.reporter.instance.clone()),
            action: event.action.clone(),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
        match api.create(&PostParams::default(), &body).await {
            Ok(_) => {
                if seen.len() >= MAX_REMEMBERED {
                    seen.retain(|_, s| s.at.elapsed() < AGGREGATE_WINDOW);
                    if seen.len() >= MAX_REMEMBERED {
                        seen.clear();
                    }
                }
                seen.insert(
                    key,
                    Seen {
                        namespace,
                        name,
                        count: 1,
                        at: Instant::now(),
                    },
                );
            }
            Err(error) => tracing::debug!(%error, reason = %event.reason, "writing event failed"),
        }
    }
}

fn take_token(buckets: &mut HashMap<String, Bucket>, key: &str) -> bool {
    let now = Instant::now();
    if buckets.len() > 4 * MAX_REMEMBERED {
        buckets.retain(|_, b| b.tokens < BURST - 1.0 || now.duration_since(b.at).as_secs() < 600);
    }
    let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
        tokens: BURST,
        at: now,
    });
    let refill = now.duration_since(bucket.at).as_secs_f64() / REFILL_SECONDS;
    bucket.tokens = (bucket.tokens + refill).min(BURST);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn token_bucket_allows_a_burst_then_throttles() {
        let mut buckets = HashMap::new();
        let allowed = (0..40).filter(|_| take_token(&mut buckets, "a")).count();
        assert_eq!(allowed, 25);
        assert!(take_token(&mut buckets, "b"), "buckets are per object");
    }
}
