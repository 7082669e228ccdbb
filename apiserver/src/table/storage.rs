//! Printers for `storage.k8s.io`.

use super::docs as d;
use super::util::{
    Ctx, annotation, arr, at, boolean, name, opt_bool, opt_str, quantity, scalar_text, string,
};
use super::{AGE, NAME, Printer, col};
use serde_json::Value;

/// The printer for a `storage.k8s.io` resource.
pub(crate) fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    if group != "storage.k8s.io" {
        return None;
    }
    Some(match resource {
        "storageclasses" => &STORAGE_CLASSES,
        "volumeattributesclasses" => &VOLUME_ATTRIBUTES_CLASSES,
        "volumeattachments" => &VOLUME_ATTACHMENTS,
        "csinodes" => &CSI_NODES,
        "csidrivers" => &CSI_DRIVERS,
        "csistoragecapacities" => &CSI_STORAGE_CAPACITIES,
        _ => return None,
    })
}

/// `name`, suffixed with ` (default)` when any of `annotations` is `"true"`.
fn name_with_default(o: &Value, annotations: &[&str]) -> String {
    let mut n = name(o);
    if annotations.iter().any(|a| annotation(o, a) == Some("true")) {
        n.push_str(" (default)");
    }
    n
}

static STORAGE_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        col("Provisioner", "string", d::SC_PROVISIONER, 0),
        col("ReclaimPolicy", "string", d::SC_RECLAIM, 0),
        col("VolumeBindingMode", "string", d::SC_BINDING, 0),
        col("AllowVolumeExpansion", "string", d::SC_EXPANSION, 0),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name_with_default(
                o,
                &[
                    "storageclass.kubernetes.io/is-default-class",
                    "storageclass.beta.kubernetes.io/is-default-class",
                ],
            )),
            Value::from(string(o, &["provisioner"])),
            Value::from(opt_str(o, &["reclaimPolicy"]).unwrap_or("Delete")),
            Value::from(opt_str(o, &["volumeBindingMode"]).unwrap_or("Immediate")),
            Value::from(boolean(o, &["allowVolumeExpansion"])),
            Value::from(ctx.age(o)),
        ]
    },
};

static VOLUME_ATTRIBUTES_CLASSES: Printer = Printer {
    columns: &[NAME, col("DriverName", "string", d::VAC_DRIVER, 0), AGE],
    cells: |o, ctx| {
        vec![
            Value::from(name_with_default(
                o,
                &["volumeattributesclass.alpha.kubernetes.io/is-default-class"],
            )),
            Value::from(string(o, &["driverName"])),
            Value::from(ctx.age(o)),
        ]
    },
};

static VOLUME_ATTACHMENTS: Printer = Printer {
    columns: &[
        NAME,
        super::Column {
            format: "name",
            ..col("Attacher", "string", d::VA_ATTACHER, 0)
        },
        col("PV", "string", d::VA_PV, 0),
        col("Node", "string", d::VA_NODE, 0),
        col("Attached", "boolean", d::VA_ATTACHED, 0),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["spec", "attacher"])),
            Value::from(string(o, &["spec", "source", "persistentVolumeName"])),
            Value::from(string(o, &["spec", "nodeName"])),
            Value::from(boolean(o, &["status", "attached"])),
            Value::from(ctx.age(o)),
        ]
    },
};

static CSI_NODES: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Drivers",
            "integer",
            "Drivers indicates the number of CSI drivers registered on the node",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(arr(o, &["spec", "drivers"]).len()),
            Value::from(ctx.age(o)),
        ]
    },
};

static CSI_DRIVERS: Printer = Printer {
    columns: &[
        NAME,
        col("AttachRequired", "boolean", d::CSID_ATTACH, 0),
        col("PodInfoOnMount", "boolean", d::CSID_PODINFO, 0),
        col("StorageCapacity", "boolean", d::CSID_CAPACITY, 0),
        col("TokenRequests", "string", d::CSID_TOKENS, 0),
        col("RequiresRepublish", "boolean", d::CSID_REPUBLISH, 0),
        col("Modes", "string", d::CSID_MODES, 0),
        AGE,
    ],
    cells: csi_driver_cells,
};

fn csi_driver_cells(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let modes: Vec<String> = arr(o, &["spec", "volumeLifecycleModes"])
        .iter()
        .map(scalar_text)
        .collect();
    let modes = if modes.is_empty() {
        "<none>".to_string()
    } else {
        modes.join(",")
    };
    let tokens = match at(o, &["spec", "tokenRequests"]) {
        None => "<unset>".to_string(),
        Some(_) => arr(o, &["spec", "tokenRequests"])
            .iter()
            .map(|t| string(t, &["audience"]))
            .collect::<Vec<_>>()
            .join(","),
    };
    vec![
        Value::from(name(o)),
        Value::from(opt_bool(o, &["spec", "attachRequired"]).unwrap_or(true)),
        Value::from(boolean(o, &["spec", "podInfoOnMount"])),
        Value::from(boolean(o, &["spec", "storageCapacity"])),
        Value::from(tokens),
        Value::from(boolean(o, &["spec", "requiresRepublish"])),
        Value::from(modes),
        Value::from(ctx.age(o)),
    ]
}

static CSI_STORAGE_CAPACITIES: Printer = Printer {
    columns: &[
        NAME,
        col("StorageClassName", "string", d::CSISC_CLASS, 0),
        col("Capacity", "string", d::CSISC_CAPACITY, 0),
    ],
    cells: |o, _ctx| {
        let capacity = match at(o, &["capacity"]) {
            None => "<unset>".to_string(),
            some => quantity(some),
        };
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["storageClassName"])),
            Value::from(capacity),
        ]
    },
};

#[cfg(test)]
mod tests {
    use crate::table::{cells, columns};
    use serde_json::json;

    const NOW: i64 = 1_704_067_200;

    #[test]
    fn storage_class_defaults_and_default_marker() {
        let sc = json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                        "provisioner": "rancher.io/local-path"});
        assert_eq!(
            cells("storage.k8s.io", "storageclasses", &sc, NOW)[..5],
            [
                json!("standard (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("Immediate"),
                json!(false)
            ]
        );
        let custom = json!({"reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true});
        assert_eq!(
            cells("storage.k8s.io", "storageclasses", &custom, NOW)[2..5],
            [json!("Retain"), json!("WaitForFirstConsumer"), json!(true)]
        );
        let names: Vec<_> = columns("storage.k8s.io", "storageclasses")
            .iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            [
                "Name",
                "Provisioner",
                "ReclaimPolicy",
                "VolumeBindingMode",
                "AllowVolumeExpansion",
                "Age"
            ]
        );
    }

    #[test]
    fn csi_driver_defaults_match_upstream() {
        let row = cells(
            "storage.k8s.io",
            "csidrivers",
            &json!({"metadata": {"name": "d"}}),
            NOW,
        );
        assert_eq!(
            row[..7],
            [
                json!("d"),
                json!(true),
                json!(false),
                json!(false),
                json!("<unset>"),
                json!(false),
                json!("<none>")
            ]
        );
        let set = json!({"spec": {"tokenRequests": [{"audience": "a"}, {"audience": "b"}], "volumeLifecycleModes": ["Persistent", "Ephemeral"]}});
        let row = cells("storage.k8s.io", "csidrivers", &set, NOW);
        assert_eq!(
            (&row[4], &row[6]),
            (&json!("a,b"), &json!("Persistent,Ephemeral"))
        );
    }

    #[test]
    fn volume_attachment_and_capacity_rows() {
        let va = json!({"spec": {"attacher": "csi.example.com", "nodeName": "n1", "source": {"persistentVolumeName": "pv1"}}, "status": {"attached": true}});
        assert_eq!(
            cells("storage.k8s.io", "volumeattachments", &va, NOW)[1..5],
            [
                json!("csi.example.com"),
                json!("pv1"),
                json!("n1"),
                json!(true)
            ]
        );
        assert_eq!(
            cells("storage.k8s.io", "csistoragecapacities", &json!({}), NOW)[2],
            json!("<unset>")
        );
    }
}
