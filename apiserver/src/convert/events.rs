//! `Event`: core `v1` ↔ `events.k8s.io/v1`.
//!
//! Upstream stores both as core `Event` objects (internal type
//! `k8s.io/kubernetes/pkg/apis/core.Event`) and converts through it:
//! `pkg/apis/events/v1/conversion.go` renames six fields and the generated
//! conversion copies the rest by name. Every field of one version has exactly
//! one counterpart in the other, so the conversion is a lossless rename in
//! both directions.

use serde_json::{Map, Value};

/// `(core/v1 field, events.k8s.io/v1 field)`, in core/v1's declaration order.
const CORE_ORDER: [(&str, &str); 15] = [
    ("metadata", "metadata"),
    ("involvedObject", "regarding"),
    ("reason", "reason"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("type", "type"),
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("action", "action"),
    ("related", "related"),
    // Internal `ReportingController` is spelled `reportingComponent` in core/v1.
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
];

/// The same pairs in events.k8s.io/v1's declaration order.
const EVENTS_ORDER: [(&str, &str); 15] = [
    ("metadata", "metadata"),
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
    ("action", "action"),
    ("reason", "reason"),
    ("involvedObject", "regarding"),
    ("related", "related"),
    ("message", "note"),
    ("type", "type"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// core/v1 `Event` → events.k8s.io/v1 `Event` (`Convert_core_Event_To_v1_Event`
/// after `Convert_v1_Event_To_core_Event`). Fields neither version declares are
/// dropped, as decoding into the Go type would; values are moved untouched.
pub(super) fn core_to_events(mut input: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (core, events) in EVENTS_ORDER {
        if let Some(value) = input.remove(core) {
            out.insert(events.to_owned(), value);
        }
    }
    out
}

/// events.k8s.io/v1 `Event` → core/v1 `Event`: the inverse of [`core_to_events`].
pub(super) fn events_to_core(mut input: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (core, events) in CORE_ORDER {
        if let Some(value) = input.remove(events) {
            out.insert(core.to_owned(), value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::convert;
    use serde_json::{Value, json};

    /// A core/v1 Event as `kubectl get events -o json` shows one recorded by
    /// the legacy recorder (kubelet), with every field set.
    fn core_event() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web-0.17a5c1f1", "namespace": "default", "resourceVersion": "42"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "u-1", "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{web}"},
            "reason": "Pulled",
            "message": "Container image \"nginx\" already present on machine",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2024-01-01T00:00:00Z",
            "lastTimestamp": "2024-01-01T00:05:00Z",
            "count": 3,
            "type": "Normal",
            "eventTime": null,
            "series": {"count": 2, "lastObservedTime": "2024-01-01T00:05:00.000001Z"},
            "action": "Pulling",
            "related": {"kind": "Node", "name": "node-1"},
            "reportingComponent": "kubelet",
            "reportingInstance": "node-1"
        })
    }

    /// An events.k8s.io/v1 Event as the new recorder (`k8s.io/client-go/tools/events`) writes one.
    fn events_event() -> Value {
        json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "sched.17a5", "namespace": "default"},
            "eventTime": "2024-01-01T00:00:00.123456Z",
            "series": {"count": 4, "lastObservedTime": "2024-01-01T00:01:00.000000Z"},
            "reportingController": "default-scheduler",
            "reportingInstance": "default-scheduler-node-1",
            "action": "Binding",
            "reason": "Scheduled",
            "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "u-1"},
            "related": {"kind": "Node", "name": "node-1"},
            "note": "Successfully assigned default/web-0 to node-1",
            "type": "Normal",
            "deprecatedSource": {"component": "default-scheduler"},
            "deprecatedFirstTimestamp": "2024-01-01T00:00:00Z",
            "deprecatedLastTimestamp": "2024-01-01T00:01:00Z",
            "deprecatedCount": 5
        })
    }

    #[test]
    fn core_event_maps_every_field_onto_its_events_v1_name() {
        let out = convert("Event", "v1", "events.k8s.io/v1", core_event());
        assert_eq!(
            out,
            json!({
                "apiVersion": "events.k8s.io/v1",
                "kind": "Event",
                "metadata": {"name": "web-0.17a5c1f1", "namespace": "default", "resourceVersion": "42"},
                "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "u-1", "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{web}"},
                "reason": "Pulled",
                "note": "Container image \"nginx\" already present on machine",
                "deprecatedSource": {"component": "kubelet", "host": "node-1"},
                "deprecatedFirstTimestamp": "2024-01-01T00:00:00Z",
                "deprecatedLastTimestamp": "2024-01-01T00:05:00Z",
                "deprecatedCount": 3,
                "type": "Normal",
                "eventTime": null,
                "series": {"count": 2, "lastObservedTime": "2024-01-01T00:05:00.000001Z"},
                "action": "Pulling",
                "related": {"kind": "Node", "name": "node-1"},
                "reportingController": "kubelet",
                "reportingInstance": "node-1"
            })
        );
    }

    #[test]
    fn events_v1_event_maps_every_field_onto_its_core_name() {
        let out = convert("Event", "events.k8s.io/v1", "v1", events_event());
        assert_eq!(
            out,
            json!({
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "sched.17a5", "namespace": "default"},
                "eventTime": "2024-01-01T00:00:00.123456Z",
                "series": {"count": 4, "lastObservedTime": "2024-01-01T00:01:00.000000Z"},
                "reportingComponent": "default-scheduler",
                "reportingInstance": "default-scheduler-node-1",
                "action": "Binding",
                "reason": "Scheduled",
                "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "u-1"},
                "related": {"kind": "Node", "name": "node-1"},
                "message": "Successfully assigned default/web-0 to node-1",
                "type": "Normal",
                "source": {"component": "default-scheduler"},
                "firstTimestamp": "2024-01-01T00:00:00Z",
                "lastTimestamp": "2024-01-01T00:01:00Z",
                "count": 5
            })
        );
    }

    #[test]
    fn core_event_round_trips_through_events_v1_unchanged() {
        let there = convert("Event", "v1", "events.k8s.io/v1", core_event());
        assert_eq!(
            convert("Event", "events.k8s.io/v1", "v1", there),
            core_event()
        );
    }

    #[test]
    fn events_v1_event_round_trips_through_core_unchanged() {
        let there = convert("Event", "events.k8s.io/v1", "v1", events_event());
        assert_eq!(
            convert("Event", "v1", "events.k8s.io/v1", there),
            events_event()
        );
    }

    #[test]
    fn minimal_events_v1_event_gains_no_fields_in_core() {
        let minimal = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"}, "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "c", "reportingInstance": "i", "action": "A", "reason": "R", "regarding": {"kind": "Pod", "name": "p"}});
        let out = convert("Event", "events.k8s.io/v1", "v1", minimal);
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "eventTime": "2024-01-01T00:00:00.000000Z", "reportingComponent": "c", "reportingInstance": "i", "action": "A", "reason": "R", "involvedObject": {"kind": "Pod", "name": "p"}})
        );
    }

    #[test]
    fn fields_no_event_version_declares_are_dropped() {
        let out = convert(
            "Event",
            "v1",
            "events.k8s.io/v1",
            json!({"kind": "Event", "message": "m", "bogus": 1, "note": "stale"}),
        );
        assert_eq!(
            out,
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "note": "m"})
        );
    }

    #[test]
    fn wrong_typed_values_move_untouched_without_panicking() {
        let out = convert(
            "Event",
            "events.k8s.io/v1",
            "v1",
            json!({"regarding": 7, "series": "x", "deprecatedCount": "many", "metadata": []}),
        );
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "Event", "involvedObject": 7, "series": "x", "count": "many", "metadata": []})
        );
    }
}
