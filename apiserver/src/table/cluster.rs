//! Printers for the smaller cluster-level groups: autoscaling, policy,
//! scheduling.k8s.io, coordination.k8s.io, certificates.k8s.io,
//! node.k8s.io and resource.k8s.io.

use super::docs as d;
use super::util::{
    Ctx, arr, at, boolean, deleting, human_duration_ns, int, int_or_string, name, obj, opt_int,
    opt_str, quantity_ptr, string,
};
use super::{AGE, Column, NAME, Printer, col};
use serde_json::{Value, json};

/// The printer for one of these groups' resources.
pub(crate) fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    Some(match (group, resource) {
        ("autoscaling", "horizontalpodautoscalers") => &HPAS,
        ("policy", "poddisruptionbudgets") => &PDBS,
        ("scheduling.k8s.io", "priorityclasses") => &PRIORITY_CLASSES,
        ("coordination.k8s.io", "leases") => &LEASES,
        ("coordination.k8s.io", "leasecandidates") => &LEASE_CANDIDATES,
        ("certificates.k8s.io", "certificatesigningrequests") => &CSRS,
        ("certificates.k8s.io", "clustertrustbundles") => &CLUSTER_TRUST_BUNDLES,
        ("node.k8s.io", "runtimeclasses") => &RUNTIME_CLASSES,
        ("resource.k8s.io", "deviceclasses") => &NAME_AGE,
        ("resource.k8s.io", "resourceclaims") => &RESOURCE_CLAIMS,
        ("resource.k8s.io", "resourceclaimtemplates") => &NAME_AGE,
        ("resource.k8s.io", "resourceslices") => &RESOURCE_SLICES,
        _ => return None,
    })
}

/// Printer with only the name and age (device classes, claim templates).
static NAME_AGE: Printer = Printer {
    columns: &[NAME, AGE],
    cells: |o, ctx| vec![Value::from(name(o)), Value::from(ctx.age(o))],
};

// ---------------------------------------------------------------------------
// HorizontalPodAutoscalers
// ---------------------------------------------------------------------------

static HPAS: Printer = Printer {
    columns: &[
        NAME,
        col("Reference", "string", d::HPA_REF, 0),
        col("Targets", "string", d::HPA_METRICS, 0),
        col("MinPods", "string", d::HPA_MIN, 0),
        col("MaxPods", "string", d::HPA_MAX, 0),
        col("Replicas", "string", d::HPA_CURRENT, 0),
        AGE,
    ],
    cells: hpa_cells,
};

/// The metric specs and statuses, in the internal (autoscaling/v2) shape.
/// autoscaling/v1 objects carry a single CPU target instead, which upstream's
/// conversion turns into one Resource metric.
fn hpa_metrics(o: &Value) -> (Vec<Value>, Vec<Value>) {
    let specs = match at(o, &["spec", "metrics"]) {
        Some(Value::Array(a)) => a.clone(),
        _ => match opt_int(o, &["spec", "targetCPUUtilizationPercentage"]) {
            Some(p) => vec![
                json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": p}}}),
            ],
            None => Vec::new(),
        },
    };
    let statuses = match at(o, &["status", "currentMetrics"]) {
        Some(Value::Array(a)) => a.clone(),
        _ => match opt_int(o, &["status", "currentCPUUtilizationPercentage"]) {
            Some(p) => vec![
                json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": p}}}),
            ],
            None => Vec::new(),
        },
    };
    (specs, statuses)
}

/// One metric as `current/target`, following upstream's formatHPAMetrics.
fn format_metric(spec: &Value, status: Option<&Value>) -> String {
    let unknown = || "<unknown>".to_string();
    // The status block of the same kind as the spec, when reported.
    let status_of = |key: &str| status.and_then(|s| obj(s, &[key]));
    // Object and External metrics share one shape.
    let value_or_average = |key: &str| -> String {
        let target = at(spec, &[key, "target"]);
        let target_field = |f: &str| target.and_then(|t| at(t, &[f]));
        if let Some(avg) = target_field("averageValue") {
            let current = status_of(key)
                .and_then(|s| at(s, &["current", "averageValue"]))
                .map_or_else(unknown, |q| quantity_ptr(Some(q)));
            format!("{current}/{} (avg)", quantity_ptr(Some(avg)))
        } else {
            let current =
                status_of(key).map_or_else(unknown, |s| quantity_ptr(at(s, &["current", "value"])));
            format!("{current}/{}", quantity_ptr(target_field("value")))
        }
    };
    // Resource and ContainerResource metrics share one shape.
    let resource = |key: &str| -> String {
        let resource_name = string(spec, &[key, "name"]);
        if let Some(avg) = at(spec, &[key, "target", "averageValue"]) {
            let current = status_of(key).map_or_else(unknown, |s| {
                quantity_ptr(at(s, &["current", "averageValue"]))
            });
            format!("{resource_name}: {current}/{}", quantity_ptr(Some(avg)))
        } else {
            let current = status_of(key)
                .and_then(|s| opt_int(s, &["current", "averageUtilization"]))
                .map_or_else(unknown, |u| format!("{u}%"));
            let target = opt_int(spec, &[key, "target", "averageUtilization"])
                .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
            format!("{resource_name}: {current}/{target}")
        }
    };
    match string(spec, &["type"]) {
        "External" => value_or_average("external"),
        "Object" => value_or_average("object"),
        "Pods" => {
            let current = status_of("pods").map_or_else(unknown, |s| {
                quantity_ptr(at(s, &["current", "averageValue"]))
            });
            format!(
                "{current}/{}",
                quantity_ptr(at(spec, &["pods", "target", "averageValue"]))
            )
        }
        "Resource" => resource("resource"),
        "ContainerResource" => resource("containerResource"),
        _ => "<unknown type>".to_string(),
    }
}

fn hpa_cells(o: &Value, ctx: &Ctx) -> Vec<Value> {
    const MAX: usize = 2;
    let (specs, statuses) = hpa_metrics(o);
    let targets = if specs.is_empty() {
        "<none>".to_string()
    } else {
        let list: Vec<String> = specs
            .iter()
            .take(MAX)
            .enumerate()
            .map(|(i, s)| format_metric(s, statuses.get(i)))
            .collect();
        let ret = list.join(", ");
        if specs.len() > MAX {
            format!("{} + {} more...", ret, specs.len() - MAX)
        } else {
            ret
        }
    };
    let reference = format!(
        "{}/{}",
        string(o, &["spec", "scaleTargetRef", "kind"]),
        string(o, &["spec", "scaleTargetRef", "name"])
    );
    vec![
        Value::from(name(o)),
        Value::from(reference),
        Value::from(targets),
        Value::from(
            opt_int(o, &["spec", "minReplicas"])
                .map_or_else(|| "<unset>".to_string(), |m| m.to_string()),
        ),
        Value::from(int(o, &["spec", "maxReplicas"])),
        Value::from(int(o, &["status", "currentReplicas"])),
        Value::from(ctx.age(o)),
    ]
}

// ---------------------------------------------------------------------------
// PodDisruptionBudgets, PriorityClasses, RuntimeClasses
// ---------------------------------------------------------------------------

static PDBS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Min Available",
            "string",
            "The minimum number of pods that must be available.",
            0,
        ),
        col(
            "Max Unavailable",
            "string",
            "The maximum number of pods that may be unavailable.",
            0,
        ),
        col(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        let bound =
            |field: &str| at(o, &["spec", field]).map_or_else(|| "N/A".to_string(), int_or_string);
        vec![
            Value::from(name(o)),
            Value::from(bound("minAvailable")),
            Value::from(bound("maxUnavailable")),
            Value::from(int(o, &["status", "disruptionsAllowed"])),
            Value::from(ctx.age(o)),
        ]
    },
};

static PRIORITY_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        col("Value", "integer", d::PC_VALUE, 0),
        col("Global-Default", "boolean", d::PC_GLOBAL, 0),
        AGE,
        col("PreemptionPolicy", "string", d::PC_PREEMPTION, 0),
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(int(o, &["value"])),
            Value::from(boolean(o, &["globalDefault"])),
            Value::from(ctx.age(o)),
            Value::from(string(o, &["preemptionPolicy"])),
        ]
    },
};

static RUNTIME_CLASSES: Printer = Printer {
    // Upstream looks the Handler description up under a key ObjectMeta lacks.
    columns: &[NAME, col("Handler", "string", "", 0), AGE],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["handler"])),
            Value::from(ctx.age(o)),
        ]
    },
};

// ---------------------------------------------------------------------------
// Leases
// ---------------------------------------------------------------------------

static LEASES: Printer = Printer {
    columns: &[NAME, col("Holder", "string", d::LEASE_HOLDER, 0), AGE],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["spec", "holderIdentity"])),
            Value::from(ctx.age(o)),
        ]
    },
};

const LEASE_CANDIDATE_COLUMNS: &[Column] = &[
    NAME,
    col("LeaseName", "string", d::LC_LEASE_NAME, 0),
    // Upstream looks these descriptions up under keys ObjectMeta lacks.
    col("BinaryVersion", "string", "", 0),
    col("EmulationVersion", "string", "", 0),
    AGE,
];

static LEASE_CANDIDATES: Printer = Printer {
    columns: LEASE_CANDIDATE_COLUMNS,
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["spec", "leaseName"])),
            Value::from(string(o, &["spec", "binaryVersion"])),
            Value::from(string(o, &["spec", "emulationVersion"])),
            Value::from(ctx.age(o)),
        ]
    },
};

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

static CSRS: Printer = Printer {
    columns: &[
        NAME,
        AGE,
        col("SignerName", "string", d::CSR_SIGNER, 0),
        col("Requestor", "string", d::CSR_REQUEST, 0),
        col("RequestedDuration", "string", d::CSR_EXPIRATION, 0),
        col("Condition", "string", d::CSR_CONDITIONS, 0),
    ],
    cells: |o, ctx| {
        let has = |t: &str| {
            arr(o, &["status", "conditions"])
                .iter()
                .any(|c| string(c, &["type"]) == t)
        };
        let mut status = if has("Denied") {
            "Denied"
        } else if has("Approved") {
            "Approved"
        } else {
            "Pending"
        }
        .to_string();
        if has("Failed") {
            status.push_str(",Failed");
        }
        if !string(o, &["status", "certificate"]).is_empty() {
            status.push_str(",Issued");
        }
        let signer = match string(o, &["spec", "signerName"]) {
            "" => "<none>",
            s => s,
        };
        let duration = opt_int(o, &["spec", "expirationSeconds"]).map_or_else(
            || "<none>".to_string(),
            |s| human_duration_ns(i128::from(s) * 1_000_000_000),
        );
        vec![
            Value::from(name(o)),
            Value::from(ctx.age(o)),
            Value::from(signer),
            Value::from(string(o, &["spec", "username"])),
            Value::from(duration),
            Value::from(status),
        ]
    },
};

static CLUSTER_TRUST_BUNDLES: Printer = Printer {
    columns: &[NAME, col("SignerName", "string", d::CTB_SIGNER, 0)],
    cells: |o, _ctx| {
        let signer = match string(o, &["spec", "signerName"]) {
            "" => "<none>",
            s => s,
        };
        vec![Value::from(name(o)), Value::from(signer)]
    },
};

// ---------------------------------------------------------------------------
// Dynamic resource allocation
// ---------------------------------------------------------------------------

static RESOURCE_CLAIMS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "State",
            "string",
            "A summary of the current state (allocated, pending, reserved, etc.).",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        let mut states = Vec::new();
        if deleting(o) {
            states.push("deleted");
        }
        if at(o, &["status", "allocation"]).is_none() {
            if !deleting(o) {
                states.push("pending");
            }
        } else {
            states.push("allocated");
            if !arr(o, &["status", "reservedFor"]).is_empty() {
                states.push("reserved");
            }
        }
        vec![
            Value::from(name(o)),
            Value::from(states.join(",")),
            Value::from(ctx.age(o)),
        ]
    },
};

static RESOURCE_SLICES: Printer = Printer {
    columns: &[
        NAME,
        col("Node", "string", d::RSL_NODE, 0),
        col("Driver", "string", d::RSL_DRIVER, 0),
        col("Pool", "string", d::RSL_POOL, 0),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(opt_str(o, &["spec", "nodeName"]).unwrap_or("")),
            Value::from(string(o, &["spec", "driver"])),
            Value::from(string(o, &["spec", "pool", "name"])),
            Value::from(ctx.age(o)),
        ]
    },
};

#[cfg(test)]
mod tests {
    use crate::table::{cells, columns};
    use serde_json::json;

    const NOW: i64 = 1_704_067_200;

    #[test]
    fn hpa_targets_format_each_metric_kind() {
        let hpa = json!({"metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 10,
                     "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "200Mi"}}}]},
            "status": {"currentReplicas": 3, "currentMetrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45}}}]}});
        assert_eq!(
            cells("autoscaling", "horizontalpodautoscalers", &hpa, NOW),
            vec![
                json!("web"),
                json!("Deployment/web"),
                json!("cpu: 45%/80%, memory: <unknown>/200Mi"),
                json!("1"),
                json!(10),
                json!(3),
                json!("<unknown>")
            ]
        );
    }

    #[test]
    fn hpa_truncates_after_two_metrics_and_handles_other_types() {
        let hpa = json!({"spec": {"metrics": [
            {"type": "Pods", "pods": {"target": {"averageValue": "1k"}}},
            {"type": "External", "external": {"target": {"value": "10"}}},
            {"type": "Object", "object": {"target": {"averageValue": "5"}}},
            {"type": "Weird"}]},
            "status": {"currentMetrics": [{"type": "Pods", "pods": {"current": {"averageValue": "500"}}}]}});
        assert_eq!(
            cells("autoscaling", "horizontalpodautoscalers", &hpa, NOW)[2],
            json!("500/1k, <unknown>/10 + 2 more...")
        );
        let none = cells("autoscaling", "horizontalpodautoscalers", &json!({}), NOW);
        assert_eq!((&none[2], &none[3]), (&json!("<none>"), &json!("<unset>")));
    }

    #[test]
    fn autoscaling_v1_hpa_shows_its_cpu_target() {
        let hpa = json!({"spec": {"targetCPUUtilizationPercentage": 50}, "status": {"currentCPUUtilizationPercentage": 12}});
        assert_eq!(
            cells("autoscaling", "horizontalpodautoscalers", &hpa, NOW)[2],
            json!("cpu: 12%/50%")
        );
    }

    #[test]
    fn pdb_prints_int_or_string_bounds_and_na() {
        let pdb = json!({"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            cells("policy", "poddisruptionbudgets", &pdb, NOW)[1..4],
            [json!("50%"), json!("N/A"), json!(1)]
        );
        let pdb = json!({"spec": {"maxUnavailable": 2}});
        assert_eq!(
            cells("policy", "poddisruptionbudgets", &pdb, NOW)[1..3],
            [json!("N/A"), json!("2")]
        );
    }

    #[test]
    fn priority_class_lease_and_csr_rows() {
        let pc = json!({"metadata": {"name": "system-node-critical"}, "value": 2000001000, "globalDefault": false, "preemptionPolicy": "PreemptLowerPriority"});
        assert_eq!(
            cells("scheduling.k8s.io", "priorityclasses", &pc, NOW),
            vec![
                json!("system-node-critical"),
                json!(2000001000),
                json!(false),
                json!("<unknown>"),
                json!("PreemptLowerPriority")
            ]
        );
        let cols: Vec<_> = columns("scheduling.k8s.io", "priorityclasses")
            .iter()
            .map(|c| (c.name, c.type_))
            .collect();
        assert_eq!(cols[2], ("Global-Default", "boolean"));
        let lease = json!({"spec": {"holderIdentity": "node-a"}});
        assert_eq!(
            cells("coordination.k8s.io", "leases", &lease, NOW)[1],
            json!("node-a")
        );
        let csr = json!({"spec": {"signerName": "kubernetes.io/kubelet-serving", "username": "system:node:a", "expirationSeconds": 86400},
                         "status": {"conditions": [{"type": "Approved"}], "certificate": "LS0t"}});
        assert_eq!(
            cells(
                "certificates.k8s.io",
                "certificatesigningrequests",
                &csr,
                NOW
            )[2..],
            [
                json!("kubernetes.io/kubelet-serving"),
                json!("system:node:a"),
                json!("24h"),
                json!("Approved,Issued")
            ]
        );
        let pending = cells(
            "certificates.k8s.io",
            "certificatesigningrequests",
            &json!({}),
            NOW,
        );
        assert_eq!(
            (&pending[2], &pending[4], &pending[5]),
            (&json!("<none>"), &json!("<none>"), &json!("Pending"))
        );
    }

    #[test]
    fn resource_claim_state_summarises_allocation() {
        let claim =
            |v: serde_json::Value| cells("resource.k8s.io", "resourceclaims", &v, NOW)[1].clone();
        assert_eq!(claim(json!({})), json!("pending"));
        assert_eq!(
            claim(json!({"status": {"allocation": {}, "reservedFor": [{"name": "p"}]}})),
            json!("allocated,reserved")
        );
        assert_eq!(
            claim(json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}})),
            json!("deleted")
        );
    }
}
