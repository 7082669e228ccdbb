//! Server-side Table output (`meta.k8s.io/v1` `Table`, what `kubectl get`
//! prints) for the built-in kinds, following kube-apiserver's printers
//! (`pkg/printers/internalversion`) and its default table convertor.
//!
//! Like upstream, rows are always generated in "wide" form: every column,
//! including the priority-1 ones `kubectl get -o wide` adds, has a cell.
//! Objects are read from their JSON as served; missing fields and fields of
//! the wrong JSON type are read as Go's zero values and never cause a panic.

mod admission;
mod apps;
mod batch;
mod cluster;
mod core;
mod docs;
mod networking;
mod rbac;
mod storage;
mod util;

use serde_json::Value;
use util::Ctx;

/// One column of a Table (meta.k8s.io/v1 TableColumnDefinition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Human-readable column header, e.g. `"Name"` or `"Age"`.
    pub name: &'static str,
    /// OpenAPI type of the cells: `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: &'static str,
    /// OpenAPI format hint; `"name"` marks the column holding the object name.
    pub format: &'static str,
    /// What the column holds.
    pub description: &'static str,
    /// 0 for columns always shown, 1 for those only shown by `-o wide`.
    pub priority: i32,
}

/// The columns and row function of one resource.
pub(crate) struct Printer {
    /// Column definitions, in cell order.
    pub columns: &'static [Column],
    /// Computes one row's cells.
    pub cells: fn(&Value, &Ctx) -> Vec<Value>,
}

/// A column with no format.
pub(crate) const fn col(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
    priority: i32,
) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority,
    }
}

/// The object-name column every printer starts with.
pub(crate) const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: docs::META_NAME,
    priority: 0,
};

/// The `Age` column (elapsed time since creation).
pub(crate) const AGE: Column = col("Age", "string", docs::META_CREATION, 0);

/// Wide column listing a pod template's container names.
pub(crate) const CONTAINERS_WIDE: Column = col(
    "Containers",
    "string",
    "Names of each container in the template.",
    1,
);

/// Wide column listing a pod template's images.
pub(crate) const IMAGES_WIDE: Column = col(
    "Images",
    "string",
    "Images referenced by each container in the template.",
    1,
);

/// Columns of upstream's default table convertor.
const DEFAULT_COLUMNS: &[Column] = &[NAME, col("Created At", "date", docs::META_CREATION, 0)];

/// The printer registered for `group`/`resource`, if any.
fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    core::printer(group, resource)
        .or_else(|| apps::printer(group, resource))
        .or_else(|| batch::printer(group, resource))
        .or_else(|| networking::printer(group, resource))
        .or_else(|| storage::printer(group, resource))
        .or_else(|| rbac::printer(group, resource))
        .or_else(|| cluster::printer(group, resource))
        .or_else(|| admission::printer(group, resource))
}

/// The columns for a resource; `group` is "" for core, `resource` is the plural (e.g. "pods", "deployments").
///
/// Resources without a dedicated printer (roles, clusterroles, limitranges,
/// custom resources, ...) get upstream's default columns `Name` and
/// `Created At`.
pub fn columns(group: &str, resource: &str) -> Vec<Column> {
    printer(group, resource)
        .map_or(DEFAULT_COLUMNS, |p| p.columns)
        .to_vec()
}

/// The cells of one row for `object` (the object's JSON as served), in the same order as `columns`.
/// `now` = seconds since the Unix epoch, used for ages.
///
/// Cells are JSON strings, integers or booleans, as upstream emits them.
pub fn cells(group: &str, resource: &str, object: &Value, now: i64) -> Vec<Value> {
    let ctx = Ctx::new(now);
    match printer(group, resource) {
        Some(p) => (p.cells)(object, &ctx),
        None => vec![
            Value::from(util::name(object)),
            Value::from(util::format_rfc3339_utc(util::time_at(
                object,
                &["metadata", "creationTimestamp"],
            ))),
        ],
    }
}

/// Upstream's human duration for ages (k8s.io/apimachinery `duration.HumanDuration`):
/// seconds below 2 minutes (`"59s"`, `"119s"`), minutes and seconds below 10
/// minutes (`"5m30s"`, `"5m"`), minutes below 3 hours, hours and minutes below
/// 8 hours, hours below 2 days, days and hours below 8 days, days below 2
/// years, years and days below 8 years, then years. `-1` gives `"0s"`, more
/// negative values `"<invalid>"`.
pub fn human_duration(seconds: i64) -> String {
    util::human_duration_ns(i128::from(seconds) * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every (group, resource) with a dedicated printer.
    pub(crate) const ALL: &[(&str, &str)] = &[
        ("", "pods"),
        ("", "podtemplates"),
        ("", "replicationcontrollers"),
        ("", "services"),
        ("", "endpoints"),
        ("", "nodes"),
        ("", "events"),
        ("", "namespaces"),
        ("", "secrets"),
        ("", "serviceaccounts"),
        ("", "persistentvolumes"),
        ("", "persistentvolumeclaims"),
        ("", "componentstatuses"),
        ("", "configmaps"),
        ("", "resourcequotas"),
        ("events.k8s.io", "events"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "daemonsets"),
        ("apps", "statefulsets"),
        ("apps", "controllerrevisions"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "ingressclasses"),
        ("networking.k8s.io", "networkpolicies"),
        ("networking.k8s.io", "servicecidrs"),
        ("networking.k8s.io", "ipaddresses"),
        ("discovery.k8s.io", "endpointslices"),
        ("storage.k8s.io", "storageclasses"),
        ("storage.k8s.io", "volumeattributesclasses"),
        ("storage.k8s.io", "volumeattachments"),
        ("storage.k8s.io", "csinodes"),
        ("storage.k8s.io", "csidrivers"),
        ("storage.k8s.io", "csistoragecapacities"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("autoscaling", "horizontalpodautoscalers"),
        ("policy", "poddisruptionbudgets"),
        ("scheduling.k8s.io", "priorityclasses"),
        ("coordination.k8s.io", "leases"),
        ("coordination.k8s.io", "leasecandidates"),
        ("certificates.k8s.io", "certificatesigningrequests"),
        ("certificates.k8s.io", "clustertrustbundles"),
        ("node.k8s.io", "runtimeclasses"),
        ("resource.k8s.io", "deviceclasses"),
        ("resource.k8s.io", "resourceclaims"),
        ("resource.k8s.io", "resourceclaimtemplates"),
        ("resource.k8s.io", "resourceslices"),
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
        ),
        (
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
        ),
        (
            "admissionregistration.k8s.io",
            "validatingadmissionpolicies",
        ),
        (
            "admissionregistration.k8s.io",
            "validatingadmissionpolicybindings",
        ),
        ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
        (
            "admissionregistration.k8s.io",
            "mutatingadmissionpolicybindings",
        ),
        ("flowcontrol.apiserver.k8s.io", "flowschemas"),
        (
            "flowcontrol.apiserver.k8s.io",
            "prioritylevelconfigurations",
        ),
        ("internal.apiserver.k8s.io", "storageversions"),
        ("apiregistration.k8s.io", "apiservices"),
    ];

    /// Upstream emits one more cell than it declares columns for ipaddresses.
    fn expected_cell_count(group: &str, resource: &str) -> usize {
        let n = columns(group, resource).len();
        if (group, resource) == ("networking.k8s.io", "ipaddresses") {
            n + 1
        } else {
            n
        }
    }

    #[test]
    fn human_duration_matches_upstream_table() {
        let cases: &[(i64, &str)] = &[
            (-5, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (1, "1s"),
            (59, "59s"),
            (60, "60s"),
            (119, "119s"),
            (120, "2m"),
            (121, "2m1s"),
            (330, "5m30s"),
            (300, "5m"),
            (599, "9m59s"),
            (600, "10m"),
            (3599, "59m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60 * 5 + 7, "3h5m"),
            (8 * 3600 - 1, "7h59m"),
            (8 * 3600, "8h"),
            (47 * 3600 + 3599, "47h"),
            (48 * 3600, "2d"),
            (50 * 3600, "2d2h"),
            (8 * 86400 - 1, "7d23h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (8 * 365 * 86400 - 1, "7y364d"),
            (8 * 365 * 86400, "8y"),
            (100 * 365 * 86400, "100y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(*secs), *want, "human_duration({secs})");
        }
    }

    #[test]
    fn human_duration_saturates_instead_of_overflowing() {
        assert_eq!(human_duration(i64::MIN), "<invalid>");
        assert_eq!(human_duration(i64::MAX), "292y");
    }

    #[test]
    fn unknown_kinds_get_the_default_name_and_created_at_table() {
        let cols = columns("example.com", "widgets");
        assert_eq!(cols.len(), 2);
        assert_eq!(
            (
                cols[0].name,
                cols[0].type_,
                cols[0].format,
                cols[0].priority
            ),
            ("Name", "string", "name", 0)
        );
        assert_eq!(
            (cols[1].name, cols[1].type_, cols[1].format),
            ("Created At", "date", "")
        );
        assert!(
            cols[0]
                .description
                .starts_with("Name must be unique within a namespace.")
        );
        assert!(
            cols[1]
                .description
                .starts_with("CreationTimestamp is a timestamp")
        );
        let obj =
            json!({"metadata": {"name": "w1", "creationTimestamp": "2024-01-02T03:04:05+01:00"}});
        assert_eq!(
            cells("example.com", "widgets", &obj, 0),
            vec![json!("w1"), json!("2024-01-02T02:04:05Z")]
        );
        assert_eq!(
            cells("example.com", "widgets", &json!({}), 0),
            vec![json!(""), json!("0001-01-01T00:00:00Z")]
        );
    }

    #[test]
    fn roles_clusterroles_and_limitranges_use_the_default_table() {
        for (g, r) in [
            ("rbac.authorization.k8s.io", "roles"),
            ("rbac.authorization.k8s.io", "clusterroles"),
            ("", "limitranges"),
        ] {
            let names: Vec<_> = columns(g, r).iter().map(|c| c.name).collect();
            assert_eq!(names, ["Name", "Created At"], "{g}/{r}");
        }
    }

    #[test]
    fn every_printer_starts_with_a_name_column_and_fills_every_cell() {
        for (g, r) in ALL {
            let cols = columns(g, r);
            assert!(cols.iter().any(|c| c.name == "Name"), "{g}/{r}");
            let row = cells(g, r, &json!({"metadata": {"name": "x"}}), 0);
            assert_eq!(row.len(), expected_cell_count(g, r), "{g}/{r}");
        }
    }

    #[test]
    fn garbage_input_never_panics_and_keeps_the_row_shape() {
        let garbage = [
            json!(null),
            json!(42),
            json!("pod"),
            json!([1, 2, 3]),
            json!({"metadata": "x", "spec": [], "status": 7}),
            json!({"metadata": {"name": 5, "creationTimestamp": "yesterday", "deletionTimestamp": 1, "labels": [], "annotations": 3, "ownerReferences": {"a": 1}}}),
            json!({"spec": {"containers": "c", "initContainers": [1, null, {"name": []}], "ports": [{"port": "80", "nodePort": 1.5}], "selector": {"matchLabels": 1, "matchExpressions": [{"operator": 3}]}, "replicas": "3", "template": {"spec": {"containers": [null, 1]}}, "metrics": [{"type": "Resource", "resource": null}, {"type": "Pods"}, {"type": "External", "external": {"target": 1}}, 5], "rules": [1], "tls": 1, "claimRef": "x", "accessModes": [1], "capacity": [], "subjects": [1, {"kind": 2}], "source": {}, "drivers": 3, "limited": {"limitResponse": {"queuing": 1}}, "paramRef": {"selector": 4}, "jobTemplate": 1}}),
            json!({"status": {"conditions": [1, {"type": 1}], "containerStatuses": [1, {"state": 1, "lastState": {"terminated": {"finishedAt": 7}}}], "initContainerStatuses": [{"state": {"terminated": {"exitCode": "1"}}}], "podIPs": "1", "addresses": [1], "loadBalancer": {"ingress": [1]}, "hard": {"cpu": 1}, "used": 3, "currentMetrics": [null], "active": 3, "startTime": "x", "allocation": {}, "reservedFor": 2}}),
            json!({"subsets": [1, {"addresses": 1, "ports": [1]}], "endpoints": [1, {"addresses": [1]}], "ports": [{"port": null}], "series": 1, "involvedObject": [], "regarding": 1, "data": 1, "webhooks": {}, "roleRef": 1}),
            json!({"metadata": {"creationTimestamp": "9999-12-31T23:59:59Z"}}),
            json!({"metadata": {"creationTimestamp": "0001-01-01T00:00:00-23:59"}}),
        ];
        let mut resources: Vec<(&str, &str)> = ALL.to_vec();
        resources.push(("example.com", "widgets"));
        for (g, r) in resources {
            for obj in &garbage {
                for now in [0, -1, i64::MIN, i64::MAX] {
                    let row = cells(g, r, obj, now);
                    let want = if g == "example.com" {
                        2
                    } else {
                        expected_cell_count(g, r)
                    };
                    assert_eq!(row.len(), want, "{g}/{r} with {obj}");
                }
            }
        }
    }
}
