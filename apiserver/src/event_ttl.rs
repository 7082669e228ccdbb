//! Expiry of Events, as kube-apiserver's `--event-ttl` (default one hour):
//! an Event not written for that long is deleted.
//!
//! Upstream attaches an etcd lease to every Event write. The storage trait
//! has no leases (the embedded store would need them too), so a sweep does
//! the same work: every few seconds up to a minute it deletes the Events
//! whose last write is older than the TTL. The last write is the newest of
//! the times the server itself stamps on an Event: `creationTimestamp`, and
//! the `time` of the managedFields entry of each write's manager. The
//! times a recorder sets (`lastTimestamp`, `eventTime`, …) are the
//! client's clock and do not count, as upstream's lease starts at the
//! write; nor does a stamp later than the sweep's own clock allows (an
//! entry a client wrote into managedFields).
//! Each delete is guarded by the revision it saw, so an Event written
//! again meanwhile stays. Several apiservers may sweep at once: a 404 or
//! 409 only means another got there first.

use crate::registry::Registry;
use crate::registry::meta;
use crate::registry::options::{DeleteOptions, ListParams};
use bosun_types::resources::{ResourceInfo, find_by_plural};
use serde_json::Value;
use std::time::Duration;

/// kube-apiserver's `--event-ttl` default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

fn events() -> &'static ResourceInfo {
    find_by_plural("", "v1", "events").expect("the resource table has events")
}

/// How often to sweep for a TTL: a tenth of it, between 1 s and 1 min.
pub fn sweep_interval(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// How far ahead of the sweep's clock a server-set time may be (another
/// apiserver's clock).
const CLOCK_SKEW: i64 = 60;

/// The last time the Event was written, in seconds since the epoch, from
/// the times the server stamps (see the module's documentation); `now` is
/// the sweep's clock.
pub fn last_written(event: &Value, now: i64) -> Option<i64> {
    let created = event
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(meta::parse_timestamp);
    let managed = event
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("time").and_then(Value::as_str))
        .filter_map(meta::parse_timestamp);
    created
        .into_iter()
        .chain(managed)
        .filter(|t| *t <= now.saturating_add(CLOCK_SKEW))
        .max()
}

/// Deletes the Events last written more than `ttl` before `now` (seconds);
/// returns how many went.
pub async fn sweep(registry: &Registry, ttl: Duration, now: i64) -> usize {
    let cutoff = now.saturating_sub(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    let events = events();
    let listed = match registry
        .list_items(events, None, &ListParams::default())
        .await
    {
        Ok((items, _, _)) => items,
        Err(error) => {
            tracing::warn!(%error, "listing Events to expire failed");
            return 0;
        }
    };
    let mut expired = 0;
    for event in listed
        .iter()
        .filter(|e| last_written(e, now).is_some_and(|t| t < cutoff))
    {
        let options = DeleteOptions {
            precondition_resource_version: Some(
                meta::meta_str(event, "resourceVersion").to_owned(),
            ),
            ..DeleteOptions::default()
        };
        let namespace = meta::namespace(event);
        match registry
            .delete(events, Some(namespace), meta::name(event), &options)
            .await
        {
            Ok(_) => expired += 1,
            Err(e) if matches!(e.code, 404 | 409) => {}
            Err(error) => tracing::warn!(%error, "expiring an Event failed"),
        }
    }
    if expired > 0 {
        tracing::debug!(expired, "expired Events past their TTL");
    }
    expired
}

/// Sweeps every [`sweep_interval`] until the task is dropped.
pub async fn run(registry: Registry, ttl: Duration) {
    let mut ticker = tokio::time::interval(sweep_interval(ttl));
    loop {
        ticker.tick().await;
        sweep(&registry, ttl, meta::now_seconds()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::options::WriteOptions;
    use crate::registry::services::ServiceRanges;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn the_last_write_is_the_newest_time_the_server_stamped() {
        let at = |t: &str| meta::parse_timestamp(t).expect("time");
        let now = at("2026-01-01T01:00:00Z");
        let event = json!({
            "metadata": {"creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"time": "2026-01-01T00:00:30Z"}]},
            // The recorder's own clock does not count.
            "lastTimestamp": "2026-01-01T00:50:00Z",
            "series": {"lastObservedTime": "2030-01-01T00:01:00.123456Z"},
        });
        assert_eq!(last_written(&event, now), Some(at("2026-01-01T00:00:30Z")));
        // A managedFields time from the future is a client's, not ours.
        let future = json!({
            "metadata": {"creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"time": "2030-01-01T00:00:00Z"}]},
        });
        assert_eq!(last_written(&future, now), Some(at("2026-01-01T00:00:00Z")));
        assert_eq!(last_written(&json!({}), now), None);
    }

    #[test]
    fn sweeps_run_a_tenth_of_the_ttl_apart_within_bounds() {
        assert_eq!(sweep_interval(DEFAULT_TTL), Duration::from_secs(60));
        assert_eq!(
            sweep_interval(Duration::from_secs(30)),
            Duration::from_secs(3)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn events_older_than_the_ttl_are_deleted_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(bosun_storage::EmbeddedStore::open(dir.path()).expect("open"));
        let ranges = ServiceRanges::parse("10.96.0.0/12", "30000-32767").expect("ranges");
        let registry = Registry::new(store, ranges);
        let namespaces = find_by_plural("", "v1", "namespaces").expect("namespaces");
        let ns = json!({"metadata": {"name": "default"}});
        registry
            .create(namespaces, None, ns, &WriteOptions::default())
            .await
            .expect("namespace");
        let event = json!({
            "metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Test", "message": "m", "type": "Normal",
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
        });
        registry
            .create(events(), Some("default"), event, &WriteOptions::default())
            .await
            .expect("event");
        // Written just now (creationTimestamp, managedFields): kept for an hour.
        let ttl = Duration::from_secs(3600);
        let now = meta::now_seconds();
        assert_eq!(sweep(&registry, ttl, now + 3500).await, 0);
        assert_eq!(sweep(&registry, ttl, now + 3700).await, 1);
        let gone = registry.get(events(), Some("default"), "e").await;
        assert_eq!(gone.map_err(|e| e.code).err(), Some(404));
    }
}
