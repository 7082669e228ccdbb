//! Printers for the `apps` group.

use super::docs as d;
use super::util::{
    arr, at, format_label_selector, format_labels, int, label_selector_string, layout_containers,
    name, string,
};
use super::{AGE, CONTAINERS_WIDE, IMAGES_WIDE, NAME, Printer, col};
use serde_json::Value;

/// The printer for an `apps` resource.
pub(crate) fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    if group != "apps" {
        return None;
    }
    Some(match resource {
        "deployments" => &DEPLOYMENTS,
        "replicasets" => &REPLICA_SETS,
        "daemonsets" => &DAEMON_SETS,
        "statefulsets" => &STATEFUL_SETS,
        "controllerrevisions" => &CONTROLLER_REVISIONS,
        _ => return None,
    })
}

/// Container names and images of `spec.template`.
fn template_containers(o: &Value) -> (String, String) {
    layout_containers(arr(o, &["spec", "template", "spec", "containers"]))
}

static DEPLOYMENTS: Printer = Printer {
    columns: &[
        NAME,
        col("Ready", "string", "Number of the pod with ready state", 0),
        col("Up-to-date", "string", d::DEP_UPDATED, 0),
        col("Available", "string", d::DEP_AVAILABLE, 0),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        col("Selector", "string", d::DEP_SELECTOR, 1),
    ],
    cells: |o, ctx| {
        let (names, images) = template_containers(o);
        // Deployments print the raw selector string ("" when empty), not
        // FormatLabelSelector's "<none>".
        let selector = label_selector_string(at(o, &["spec", "selector"]))
            .unwrap_or_else(|()| "<invalid>".to_string());
        vec![
            Value::from(name(o)),
            Value::from(format!(
                "{}/{}",
                int(o, &["status", "readyReplicas"]),
                int(o, &["spec", "replicas"])
            )),
            Value::from(int(o, &["status", "updatedReplicas"])),
            Value::from(int(o, &["status", "availableReplicas"])),
            Value::from(ctx.age(o)),
            Value::from(names),
            Value::from(images),
            Value::from(selector),
        ]
    },
};

static REPLICA_SETS: Printer = Printer {
    columns: &[
        NAME,
        col("Desired", "integer", d::RS_SPEC_REPLICAS, 0),
        col("Current", "integer", d::RS_STATUS_REPLICAS, 0),
        col("Ready", "integer", d::RS_STATUS_READY, 0),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        col("Selector", "string", d::RS_SPEC_SELECTOR, 1),
    ],
    cells: |o, ctx| {
        let (names, images) = template_containers(o);
        vec![
            Value::from(name(o)),
            Value::from(int(o, &["spec", "replicas"])),
            Value::from(int(o, &["status", "replicas"])),
            Value::from(int(o, &["status", "readyReplicas"])),
            Value::from(ctx.age(o)),
            Value::from(names),
            Value::from(images),
            Value::from(format_label_selector(at(o, &["spec", "selector"]))),
        ]
    },
};

static DAEMON_SETS: Printer = Printer {
    columns: &[
        NAME,
        col("Desired", "integer", d::DS_DESIRED, 0),
        col("Current", "integer", d::DS_CURRENT, 0),
        col("Ready", "integer", d::DS_READY, 0),
        col("Up-to-date", "integer", d::DS_UPDATED, 0),
        col("Available", "integer", d::DS_AVAILABLE, 0),
        col("Node Selector", "string", d::POD_NODE_SELECTOR, 0),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        col("Selector", "string", d::DS_SELECTOR, 1),
    ],
    cells: |o, ctx| {
        let (names, images) = template_containers(o);
        vec![
            Value::from(name(o)),
            Value::from(int(o, &["status", "desiredNumberScheduled"])),
            Value::from(int(o, &["status", "currentNumberScheduled"])),
            Value::from(int(o, &["status", "numberReady"])),
            Value::from(int(o, &["status", "updatedNumberScheduled"])),
            Value::from(int(o, &["status", "numberAvailable"])),
            Value::from(format_labels(at(
                o,
                &["spec", "template", "spec", "nodeSelector"],
            ))),
            Value::from(ctx.age(o)),
            Value::from(names),
            Value::from(images),
            Value::from(format_label_selector(at(o, &["spec", "selector"]))),
        ]
    },
};

static STATEFUL_SETS: Printer = Printer {
    columns: &[
        NAME,
        col("Ready", "string", "Number of the pod with ready state", 0),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
    ],
    cells: |o, ctx| {
        let (names, images) = template_containers(o);
        vec![
            Value::from(name(o)),
            Value::from(format!(
                "{}/{}",
                int(o, &["status", "readyReplicas"]),
                int(o, &["spec", "replicas"])
            )),
            Value::from(ctx.age(o)),
            Value::from(names),
            Value::from(images),
        ]
    },
};

static CONTROLLER_REVISIONS: Printer = Printer {
    columns: &[
        NAME,
        col("Controller", "string", "Controller of the object", 0),
        col("Revision", "string", d::CR_REVISION, 0),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(controller_name(o)),
            Value::from(int(o, &["revision"])),
            Value::from(ctx.age(o)),
        ]
    },
};

/// `kind.group/name` (lower-cased kind and group) of the controlling owner
/// reference, or `<none>`.
fn controller_name(o: &Value) -> String {
    let Some(owner) = arr(o, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| at(r, &["controller"]).and_then(Value::as_bool) == Some(true))
    else {
        return "<none>".to_string();
    };
    let owner_name = string(owner, &["name"]);
    let kind = string(owner, &["kind"]);
    let api_version = string(owner, &["apiVersion"]);
    // schema.ParseGroupVersion: "" and "/" are empty, "v1" has no group,
    // "g/v" has group g; more slashes are an error upstream (the whole
    // request fails), for which only the name is printed here.
    let group = match api_version.matches('/').count() {
        _ if api_version.is_empty() || api_version == "/" => "",
        0 => "",
        1 => api_version.split('/').next().unwrap_or(""),
        _ => return owner_name.to_string(),
    };
    if kind.is_empty() && group.is_empty() {
        return owner_name.to_string();
    }
    let group_kind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    format!("{}/{}", group_kind.to_lowercase(), owner_name)
}

#[cfg(test)]
mod tests {
    use crate::table::{cells, columns};
    use serde_json::json;

    const NOW: i64 = 1_704_067_200;

    #[test]
    fn deployment_columns_and_wide_cells() {
        let cols: Vec<_> = columns("apps", "deployments")
            .iter()
            .map(|c| (c.name, c.priority))
            .collect();
        assert_eq!(
            cols,
            [
                ("Name", 0),
                ("Ready", 0),
                ("Up-to-date", 0),
                ("Available", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1)
            ]
        );
        let dep = json!({"metadata": {"name": "web", "creationTimestamp": "2023-12-30T00:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "sidecar", "image": "envoy"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        assert_eq!(
            cells("apps", "deployments", &dep, NOW),
            vec![
                json!("web"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("2d"),
                json!("nginx,sidecar"),
                json!("nginx:1.27,envoy"),
                json!("app=web,tier in (be,fe)")
            ]
        );
    }

    #[test]
    fn deployment_selector_is_empty_when_unset_and_invalid_when_malformed() {
        let row = cells("apps", "deployments", &json!({}), NOW);
        assert_eq!((&row[1], &row[7]), (&json!("0/0"), &json!("")));
        let bad = json!({"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}}});
        assert_eq!(
            cells("apps", "deployments", &bad, NOW)[7],
            json!("<invalid>")
        );
    }

    #[test]
    fn replicaset_daemonset_and_statefulset_rows() {
        let rs = json!({"spec": {"replicas": 2, "selector": {}}, "status": {"replicas": 2, "readyReplicas": 1}});
        assert_eq!(
            &cells("apps", "replicasets", &rs, NOW)[1..4],
            &[json!(2), json!(2), json!(1)]
        );
        assert_eq!(cells("apps", "replicasets", &rs, NOW)[7], json!("<none>"));
        let ds = json!({"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}, "selector": {"matchLabels": {"k": "v"}}},
                        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 1, "numberAvailable": 2}});
        let row = cells("apps", "daemonsets", &ds, NOW);
        assert_eq!(
            &row[1..7],
            &[
                json!(3),
                json!(3),
                json!(2),
                json!(1),
                json!(2),
                json!("kubernetes.io/os=linux")
            ]
        );
        assert_eq!(row[10], json!("k=v"));
        let sts = json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 3}});
        assert_eq!(cells("apps", "statefulsets", &sts, NOW)[1], json!("3/3"));
    }

    #[test]
    fn controller_revision_names_its_controlling_owner() {
        let cr = json!({"metadata": {"ownerReferences": [
            {"apiVersion": "v1", "kind": "Pod", "name": "not-controller"},
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "controller": true}]}, "revision": 4});
        assert_eq!(
            &cells("apps", "controllerrevisions", &cr, NOW)[1..3],
            &[json!("daemonset.apps/fluentd"), json!(4)]
        );
        let core_owner = json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "controller": true}]}});
        assert_eq!(
            cells("apps", "controllerrevisions", &core_owner, NOW)[1],
            json!("pod/p")
        );
        assert_eq!(
            cells("apps", "controllerrevisions", &json!({}), NOW)[1],
            json!("<none>")
        );
    }
}
