//! Printers for control-plane configuration groups:
//! admissionregistration.k8s.io, flowcontrol.apiserver.k8s.io,
//! internal.apiserver.k8s.io and apiregistration.k8s.io (APIServices, whose
//! table comes from the aggregator).

use super::docs as d;
use super::util::{
    Ctx, arr, int, label_selector_debug_string, list_with_more, name, obj, opt_str, string,
};
use super::{AGE, Column, NAME, Printer, col};
use serde_json::Value;

/// The printer for one of these groups' resources.
pub(crate) fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    Some(match (group, resource) {
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations") => {
            &WEBHOOK_CONFIGURATIONS
        }
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations") => {
            &WEBHOOK_CONFIGURATIONS
        }
        ("admissionregistration.k8s.io", "validatingadmissionpolicies") => &VALIDATING_POLICIES,
        ("admissionregistration.k8s.io", "mutatingadmissionpolicies") => &MUTATING_POLICIES,
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings") => &POLICY_BINDINGS,
        ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings") => &POLICY_BINDINGS,
        ("flowcontrol.apiserver.k8s.io", "flowschemas") => &FLOW_SCHEMAS,
        ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations") => &PRIORITY_LEVELS,
        ("internal.apiserver.k8s.io", "storageversions") => &STORAGE_VERSIONS,
        ("apiregistration.k8s.io", "apiservices") => &API_SERVICES,
        _ => return None,
    })
}

static WEBHOOK_CONFIGURATIONS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Webhooks",
            "integer",
            "Webhooks indicates the number of webhooks registered in this configuration",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(arr(o, &["webhooks"]).len()),
            Value::from(ctx.age(o)),
        ]
    },
};

const PARAM_KIND: Column = col(
    "ParamKind",
    "string",
    "ParamKind specifies the kind of resources used to parameterize this policy",
    0,
);

static VALIDATING_POLICIES: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Validations",
            "integer",
            "Validations indicates the number of validation rules defined in this configuration",
            0,
        ),
        PARAM_KIND,
        AGE,
    ],
    cells: |o, ctx| policy_cells(o, ctx, "validations"),
};

static MUTATING_POLICIES: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Mutations",
            "integer",
            "Mutation indicates the number of mutations rules defined in this configuration",
            0,
        ),
        PARAM_KIND,
        AGE,
    ],
    cells: |o, ctx| policy_cells(o, ctx, "mutations"),
};

fn policy_cells(o: &Value, ctx: &Ctx, rules: &str) -> Vec<Value> {
    let param_kind = match obj(o, &["spec", "paramKind"]) {
        Some(p) => format!("{}/{}", string(p, &["apiVersion"]), string(p, &["kind"])),
        None => "<unset>".to_string(),
    };
    vec![
        Value::from(name(o)),
        Value::from(arr(o, &["spec", rules]).len()),
        Value::from(param_kind),
        Value::from(ctx.age(o)),
    ]
}

static POLICY_BINDINGS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "PolicyName",
            "string",
            "PolicyName indicates the policy definition which the policy binding binded to",
            0,
        ),
        col(
            "ParamRef",
            "string",
            "ParamRef indicates the param resource which sets the configration param",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        let param = match obj(o, &["spec", "paramRef"]) {
            None => "<unset>".to_string(),
            Some(p) => {
                let param_name = string(p, &["name"]);
                let ns = string(p, &["namespace"]);
                if !param_name.is_empty() {
                    // Without a namespace the param may be cluster-scoped or
                    // in the binding's namespace: upstream prints "*".
                    format!("{}/{}", if ns.is_empty() { "*" } else { ns }, param_name)
                } else if let Some(sel) = obj(p, &["selector"]) {
                    label_selector_debug_string(sel)
                } else {
                    "<unset>".to_string()
                }
            }
        };
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["spec", "policyName"])),
            Value::from(param),
            Value::from(ctx.age(o)),
        ]
    },
};

static FLOW_SCHEMAS: Printer = Printer {
    columns: &[
        NAME,
        col("PriorityLevel", "string", d::FS_PL, 0),
        col("MatchingPrecedence", "string", d::FS_PRECEDENCE, 0),
        col("DistinguisherMethod", "string", d::FS_DISTINGUISHER, 0),
        AGE,
        col(
            "MissingPL",
            "string",
            "references a broken or non-existent PriorityLevelConfiguration",
            0,
        ),
    ],
    cells: |o, ctx| {
        let distinguisher =
            obj(o, &["spec", "distinguisherMethod"]).map_or("<none>", |m| string(m, &["type"]));
        let missing = arr(o, &["status", "conditions"])
            .iter()
            .find(|c| string(c, &["type"]) == "Dangling")
            .map_or("?", |c| string(c, &["status"]));
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["spec", "priorityLevelConfiguration", "name"])),
            Value::from(int(o, &["spec", "matchingPrecedence"])),
            Value::from(distinguisher),
            Value::from(ctx.age(o)),
            Value::from(missing),
        ]
    },
};

static PRIORITY_LEVELS: Printer = Printer {
    columns: &[
        NAME,
        col("Type", "string", d::PL_TYPE, 0),
        col("NominalConcurrencyShares", "string", d::PL_NCS, 0),
        col("Queues", "string", d::PL_QUEUES, 0),
        col("HandSize", "string", d::PL_HANDSIZE, 0),
        col("QueueLengthLimit", "string", d::PL_QLL, 0),
        AGE,
    ],
    cells: |o, ctx| {
        let none = || Value::from("<none>");
        let (mut ncs, mut queues, mut hand_size, mut queue_length) =
            (none(), none(), none(), none());
        if let Some(limited) = obj(o, &["spec", "limited"]) {
            ncs = Value::from(int(limited, &["nominalConcurrencyShares"]));
            if let Some(q) = obj(limited, &["limitResponse", "queuing"]) {
                queues = Value::from(int(q, &["queues"]));
                hand_size = Value::from(int(q, &["handSize"]));
                queue_length = Value::from(int(q, &["queueLengthLimit"]));
            }
        }
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["spec", "type"])),
            ncs,
            queues,
            hand_size,
            queue_length,
            Value::from(ctx.age(o)),
        ]
    },
};

static STORAGE_VERSIONS: Printer = Printer {
    columns: &[
        NAME,
        col("CommonEncodingVersion", "string", d::SV_COMMON, 0),
        col("StorageVersions", "string", d::SV_VERSIONS, 0),
        AGE,
    ],
    cells: |o, ctx| {
        const MAX: usize = 3;
        let versions = arr(o, &["status", "storageVersions"]);
        let list: Vec<String> = versions
            .iter()
            .take(MAX)
            .map(|v| {
                format!(
                    "{}={}",
                    string(v, &["apiServerID"]),
                    string(v, &["encodingVersion"])
                )
            })
            .collect();
        vec![
            Value::from(name(o)),
            Value::from(opt_str(o, &["status", "commonEncodingVersion"]).unwrap_or("<unset>")),
            Value::from(list_with_more(
                &list,
                versions.len() > MAX,
                versions.len(),
                MAX,
            )),
            Value::from(ctx.age(o)),
        ]
    },
};

static API_SERVICES: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Service",
            "string",
            "The reference to the service that hosts this API endpoint.",
            0,
        ),
        col(
            "Available",
            "string",
            "Whether this service is available.",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        let service = match obj(o, &["spec", "service"]) {
            Some(s) => format!("{}/{}", string(s, &["namespace"]), string(s, &["name"])),
            None => "Local".to_string(),
        };
        let available = match arr(o, &["status", "conditions"])
            .iter()
            .find(|c| string(c, &["type"]) == "Available")
        {
            None => "Unknown".to_string(),
            Some(c) => {
                let status = string(c, &["status"]);
                let reason = string(c, &["reason"]);
                if status == "True" || reason.is_empty() {
                    status.to_string()
                } else {
                    format!("{status} ({reason})")
                }
            }
        };
        vec![
            Value::from(name(o)),
            Value::from(service),
            Value::from(available),
            Value::from(ctx.age(o)),
        ]
    },
};

#[cfg(test)]
mod tests {
    use crate::table::cells;
    use serde_json::json;

    const NOW: i64 = 1_704_067_200;

    #[test]
    fn webhook_and_policy_rows_count_their_entries() {
        let w = json!({"webhooks": [{}, {}]});
        assert_eq!(
            cells(
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
                &w,
                NOW
            )[1],
            json!(2)
        );
        let vap = json!({"spec": {"validations": [{}], "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}});
        assert_eq!(
            cells(
                "admissionregistration.k8s.io",
                "validatingadmissionpolicies",
                &vap,
                NOW
            )[1..3],
            [json!(1), json!("v1/ConfigMap")]
        );
        let bare = cells(
            "admissionregistration.k8s.io",
            "mutatingadmissionpolicies",
            &json!({}),
            NOW,
        );
        assert_eq!(bare[1..3], [json!(0), json!("<unset>")]);
    }

    #[test]
    fn policy_binding_param_ref_forms() {
        let binding = |p: serde_json::Value| {
            cells(
                "admissionregistration.k8s.io",
                "validatingadmissionpolicybindings",
                &json!({"spec": {"policyName": "p", "paramRef": p}}),
                NOW,
            )[2]
            .clone()
        };
        assert_eq!(
            binding(json!({"name": "cfg", "namespace": "ns"})),
            json!("ns/cfg")
        );
        assert_eq!(binding(json!({"name": "cfg"})), json!("*/cfg"));
        assert_eq!(
            binding(json!({"selector": {"matchLabels": {"a": "b"}}})),
            json!(
                "&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{},}"
            )
        );
        assert_eq!(binding(json!(null)), json!("<unset>"));
    }

    #[test]
    fn flowcontrol_rows_print_limits_or_none() {
        let fs = json!({"spec": {"priorityLevelConfiguration": {"name": "workload-low"}, "matchingPrecedence": 9000, "distinguisherMethod": {"type": "ByUser"}}});
        let row = cells("flowcontrol.apiserver.k8s.io", "flowschemas", &fs, NOW);
        assert_eq!(
            (&row[1], &row[2], &row[3], &row[5]),
            (
                &json!("workload-low"),
                &json!(9000),
                &json!("ByUser"),
                &json!("?")
            )
        );
        let pl = json!({"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 30, "limitResponse": {"type": "Queue", "queuing": {"queues": 64, "handSize": 6, "queueLengthLimit": 50}}}}});
        assert_eq!(
            cells(
                "flowcontrol.apiserver.k8s.io",
                "prioritylevelconfigurations",
                &pl,
                NOW
            )[1..6],
            [json!("Limited"), json!(30), json!(64), json!(6), json!(50)]
        );
        let exempt = json!({"spec": {"type": "Exempt"}});
        assert_eq!(
            cells(
                "flowcontrol.apiserver.k8s.io",
                "prioritylevelconfigurations",
                &exempt,
                NOW
            )[2],
            json!("<none>")
        );
    }

    #[test]
    fn api_service_rows_show_service_and_availability() {
        let local = json!({"status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]}});
        assert_eq!(
            cells("apiregistration.k8s.io", "apiservices", &local, NOW)[1..3],
            [json!("Local"), json!("True")]
        );
        let remote = json!({"spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
            "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}});
        assert_eq!(
            cells("apiregistration.k8s.io", "apiservices", &remote, NOW)[1..3],
            [
                json!("kube-system/metrics-server"),
                json!("False (MissingEndpoints)")
            ]
        );
        assert_eq!(
            cells("apiregistration.k8s.io", "apiservices", &json!({}), NOW)[2],
            json!("Unknown")
        );
    }
}
