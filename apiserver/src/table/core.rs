//! Printers for the core ("") group, plus events.k8s.io events (which
//! upstream serves from the same storage and prints identically).

use super::docs as d;
use super::util::{
    Ctx, annotation, arr, at, boolean, deleting, format_labels, int, later, layout_containers,
    map_len, name, obj, opt_bool, opt_str, quantity, sorted_unique_join, string, time_at,
};
use super::{AGE, CONTAINERS_WIDE, Column, IMAGES_WIDE, NAME, Printer, col};
use serde_json::Value;

/// The printer for a core resource (or events.k8s.io events).
pub(crate) fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    Some(match (group, resource) {
        ("", "pods") => &PODS,
        ("", "podtemplates") => &POD_TEMPLATES,
        ("", "replicationcontrollers") => &REPLICATION_CONTROLLERS,
        ("", "services") => &SERVICES,
        ("", "endpoints") => &ENDPOINTS,
        ("", "nodes") => &NODES,
        ("", "events") => &EVENTS,
        ("events.k8s.io", "events") => &EVENTS_K8S_IO,
        ("", "namespaces") => &NAMESPACES,
        ("", "secrets") => &SECRETS,
        ("", "serviceaccounts") => &SERVICE_ACCOUNTS,
        ("", "persistentvolumes") => &PERSISTENT_VOLUMES,
        ("", "persistentvolumeclaims") => &PERSISTENT_VOLUME_CLAIMS,
        ("", "componentstatuses") => &COMPONENT_STATUSES,
        ("", "configmaps") => &CONFIG_MAPS,
        ("", "resourcequotas") => &RESOURCE_QUOTAS,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------

static PODS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Ready",
            "string",
            "The aggregate readiness state of this pod for accepting traffic.",
            0,
        ),
        col(
            "Status",
            "string",
            "The aggregate status of the containers in this pod.",
            0,
        ),
        col(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            0,
        ),
        AGE,
        col("IP", "string", d::POD_IP, 1),
        col("Node", "string", d::POD_NODE_NAME, 1),
        col("Nominated Node", "string", d::POD_NOMINATED, 1),
        col("Readiness Gates", "string", d::POD_READINESS_GATES, 1),
    ],
    cells: pod_cells,
};

/// Whether the pod has a condition of `type_` whose status is `"True"`,
/// looking only at the first condition of that type when `first_only`.
fn pod_condition_true(pod: &Value, type_: &str, first_only: bool) -> bool {
    for c in arr(pod, &["status", "conditions"]) {
        if string(c, &["type"]) == type_ {
            if string(c, &["status"]) == "True" {
                return true;
            }
            if first_only {
                return false;
            }
        }
    }
    false
}

/// Status of a terminated container state without a reason:
/// `Signal:N` or `ExitCode:N` (with `prefix`, e.g. `Init:`).
fn terminated_without_reason(prefix: &str, terminated: &Value) -> String {
    let signal = int(terminated, &["signal"]);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!("{prefix}ExitCode:{}", int(terminated, &["exitCode"]))
    }
}

fn pod_cells(pod: &Value, ctx: &Ctx) -> Vec<Value> {
    let init_specs = arr(pod, &["spec", "initContainers"]);
    let mut total = arr(pod, &["spec", "containers"]).len();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut restartable_restarts = 0i64;
    let mut last_restart: Option<i128> = None;
    let mut last_restartable_restart: Option<i128> = None;

    let phase = string(pod, &["status", "phase"]);
    let mut reason = phase.to_string();
    let status_reason = string(pod, &["status", "reason"]);
    if !status_reason.is_empty() {
        reason = status_reason.to_string();
    }
    for c in arr(pod, &["status", "conditions"]) {
        if string(c, &["type"]) == "PodScheduled" && string(c, &["reason"]) == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }

    // A sidecar ("restartable") init container has restartPolicy Always. Go
    // builds a name->spec map, so the last spec with a given name wins.
    let is_restartable = |container_name: &str| -> bool {
        init_specs
            .iter()
            .rev()
            .find(|s| string(s, &["name"]) == container_name)
            .is_some_and(|s| string(s, &["restartPolicy"]) == "Always")
    };
    total += init_specs
        .iter()
        .filter(|s| string(s, &["restartPolicy"]) == "Always")
        .count();

    let mut initializing = false;
    for (i, cs) in arr(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let count = int(cs, &["restartCount"]);
        let finished = time_at(cs, &["lastState", "terminated", "finishedAt"]);
        restarts = restarts.saturating_add(count);
        last_restart = later(last_restart, finished);
        let restartable = is_restartable(string(cs, &["name"]));
        if restartable {
            restartable_restarts = restartable_restarts.saturating_add(count);
            last_restartable_restart = later(last_restartable_restart, finished);
        }
        let terminated = obj(cs, &["state", "terminated"]);
        let waiting = obj(cs, &["state", "waiting"]);
        let waiting_reason = waiting.map_or("", |w| string(w, &["reason"]));
        if terminated.is_some_and(|t| int(t, &["exitCode"]) == 0) {
            continue;
        }
        if restartable && opt_bool(cs, &["started"]) == Some(true) {
            if boolean(cs, &["ready"]) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            let r = string(t, &["reason"]);
            reason = if r.is_empty() {
                terminated_without_reason("Init:", t)
            } else {
                format!("Init:{r}")
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{}/{}", i, init_specs.len());
        }
        initializing = true;
        break;
    }

    if !initializing || pod_condition_true(pod, "Initialized", true) {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        for cs in arr(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts = restarts.saturating_add(int(cs, &["restartCount"]));
            last_restart = later(
                last_restart,
                time_at(cs, &["lastState", "terminated", "finishedAt"]),
            );
            let waiting_reason =
                obj(cs, &["state", "waiting"]).map_or("", |w| string(w, &["reason"]));
            let terminated = obj(cs, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                let r = string(t, &["reason"]);
                reason = if r.is_empty() {
                    terminated_without_reason("", t)
                } else {
                    r.to_string()
                };
            } else if boolean(cs, &["ready"]) && obj(cs, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if pod_condition_true(pod, "Ready", false) {
                "Running"
            } else {
                "NotReady"
            }
            .to_string();
        }
    }

    if deleting(pod) && status_reason == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting(pod) && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".to_string();
    }

    let restarts_text = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", ctx.since(Some(t))),
        _ => restarts.to_string(),
    };

    // v1 -> internal conversion: a non-empty status.podIP is authoritative.
    let pod_ip = match string(pod, &["status", "podIP"]) {
        "" => arr(pod, &["status", "podIPs"])
            .first()
            .map_or("", |p| string(p, &["ip"])),
        ip => ip,
    };
    let readiness_gates = arr(pod, &["spec", "readinessGates"]);
    let gates = if readiness_gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = readiness_gates
            .iter()
            .filter(|g| pod_condition_true(pod, string(g, &["conditionType"]), true))
            .count();
        format!("{}/{}", true_count, readiness_gates.len())
    };
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };

    vec![
        Value::from(name(pod)),
        Value::from(format!("{ready}/{total}")),
        Value::from(reason),
        Value::from(restarts_text),
        Value::from(ctx.age(pod)),
        Value::from(or_none(pod_ip)),
        Value::from(or_none(string(pod, &["spec", "nodeName"]))),
        Value::from(or_none(string(pod, &["status", "nominatedNodeName"]))),
        Value::from(gates),
    ]
}

// ---------------------------------------------------------------------------
// Pod templates, replication controllers
// ---------------------------------------------------------------------------

static POD_TEMPLATES: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Containers",
            "string",
            "Names of each container in the template.",
            0,
        ),
        col(
            "Images",
            "string",
            "Images referenced by each container in the template.",
            0,
        ),
        col(
            "Pod Labels",
            "string",
            "The labels for the pod template.",
            0,
        ),
    ],
    cells: |o, _ctx| {
        let (names, images) = layout_containers(arr(o, &["template", "spec", "containers"]));
        vec![
            Value::from(name(o)),
            Value::from(names),
            Value::from(images),
            Value::from(format_labels(at(o, &["template", "metadata", "labels"]))),
        ]
    },
};

static REPLICATION_CONTROLLERS: Printer = Printer {
    columns: &[
        NAME,
        col("Desired", "integer", d::RC_SPEC_REPLICAS, 0),
        col("Current", "integer", d::RC_STATUS_REPLICAS, 0),
        col("Ready", "integer", d::RC_STATUS_READY, 0),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        col("Selector", "string", d::RC_SPEC_SELECTOR, 1),
    ],
    cells: |o, ctx| {
        let (names, images) =
            layout_containers(arr(o, &["spec", "template", "spec", "containers"]));
        vec![
            Value::from(name(o)),
            Value::from(int(o, &["spec", "replicas"])),
            Value::from(int(o, &["status", "replicas"])),
            Value::from(int(o, &["status", "readyReplicas"])),
            Value::from(ctx.age(o)),
            Value::from(names),
            Value::from(images),
            Value::from(format_labels(at(o, &["spec", "selector"]))),
        ]
    },
};

// ---------------------------------------------------------------------------
// Services, endpoints
// ---------------------------------------------------------------------------

static SERVICES: Printer = Printer {
    columns: &[
        NAME,
        col("Type", "string", d::SVC_TYPE, 0),
        col("Cluster-IP", "string", d::SVC_CLUSTER_IP, 0),
        col("External-IP", "string", d::SVC_EXTERNAL_IPS, 0),
        col("Port(s)", "string", d::SVC_PORTS, 0),
        AGE,
        col("Selector", "string", d::SVC_SELECTOR, 1),
    ],
    cells: service_cells,
};

/// Load-balancer ingress points (IP, else hostname), sorted and unique.
/// Upstream only clips this for non-wide output; tables are always wide.
pub(crate) fn load_balancer_ingress(status: Option<&Value>) -> String {
    let ingress = status.map_or(&[][..], |s| arr(s, &["ingress"]));
    sorted_unique_join(
        ingress.iter().filter_map(|i| {
            let ip = string(i, &["ip"]);
            let host = string(i, &["hostname"]);
            if !ip.is_empty() {
                Some(ip.to_string())
            } else if !host.is_empty() {
                Some(host.to_string())
            } else {
                None
            }
        }),
        ",",
    )
}

fn service_external_ip(svc: &Value) -> String {
    let external: Vec<String> = arr(svc, &["spec", "externalIPs"])
        .iter()
        .map(super::util::scalar_text)
        .collect();
    match string(svc, &["spec", "type"]) {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_string()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ingress(at(svc, &["status", "loadBalancer"]));
            if !external.is_empty() {
                let mut results: Vec<String> = Vec::new();
                if !lb.is_empty() {
                    results.extend(lb.split(',').map(str::to_string));
                }
                results.extend(external);
                results.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => string(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

fn service_cells(svc: &Value, ctx: &Ctx) -> Vec<Value> {
    // v1 -> internal conversion: a non-empty spec.clusterIP is authoritative.
    let cluster_ip = match string(svc, &["spec", "clusterIP"]) {
        "" => arr(svc, &["spec", "clusterIPs"])
            .first()
            .and_then(Value::as_str)
            .unwrap_or("<none>"),
        ip => ip,
    };
    let ports: Vec<String> = arr(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            let port = int(p, &["port"]);
            let protocol = string(p, &["protocol"]);
            let node_port = int(p, &["nodePort"]);
            if node_port > 0 {
                format!("{port}:{node_port}/{protocol}")
            } else {
                format!("{port}/{protocol}")
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        Value::from(name(svc)),
        Value::from(string(svc, &["spec", "type"])),
        Value::from(cluster_ip),
        Value::from(service_external_ip(svc)),
        Value::from(ports),
        Value::from(ctx.age(svc)),
        Value::from(format_labels(at(svc, &["spec", "selector"]))),
    ]
}

static ENDPOINTS: Printer = Printer {
    columns: &[NAME, col("Endpoints", "string", d::EP_SUBSETS, 0), AGE],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(format_endpoints(o)),
            Value::from(ctx.age(o)),
        ]
    },
};

/// `host:port`, bracketing IPv6 hosts (Go's net.JoinHostPort).
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Up to three `ip:port` endpoints, then ` + N more...`; `<none>` without subsets.
fn format_endpoints(ep: &Value) -> String {
    let subsets = arr(ep, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addresses = arr(ss, &["addresses"]);
        let ports = arr(ss, &["ports"]);
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(string(a, &["ip"]).to_string());
            }
            continue;
        }
        for p in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(string(a, &["ip"]), int(p, &["port"])));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{} + {} more...", ret, count.saturating_sub(MAX))
    } else {
        ret
    }
}

// ---------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------

static NODES: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "The status of the node", 0),
        col("Roles", "string", "The roles of the node", 0),
        AGE,
        col("Version", "string", d::NODE_KUBELET, 0),
        col("Internal-IP", "string", d::NODE_ADDRESSES, 1),
        col("External-IP", "string", d::NODE_ADDRESSES, 1),
        col("OS-Image", "string", d::NODE_OS_IMAGE, 1),
        col("Kernel-Version", "string", d::NODE_KERNEL, 1),
        col("Container-Runtime", "string", d::NODE_RUNTIME, 1),
    ],
    cells: node_cells,
};

/// Node roles from `node-role.kubernetes.io/<role>` label keys and the
/// `kubernetes.io/role` label value, sorted and unique.
fn node_roles(node: &Value) -> String {
    let Some(labels) = at(node, &["metadata", "labels"]).and_then(Value::as_object) else {
        return String::new();
    };
    sorted_unique_join(
        labels.iter().filter_map(|(k, v)| {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                (!role.is_empty()).then(|| role.to_string())
            } else if k == "kubernetes.io/role" {
                v.as_str().filter(|r| !r.is_empty()).map(str::to_string)
            } else {
                None
            }
        }),
        ",",
    )
}

fn node_address(node: &Value, type_: &str) -> String {
    arr(node, &["status", "addresses"])
        .iter()
        .find(|a| string(a, &["type"]) == type_)
        .map_or_else(
            || "<none>".to_string(),
            |a| string(a, &["address"]).to_string(),
        )
}

fn node_cells(node: &Value, ctx: &Ctx) -> Vec<Value> {
    // Upstream keys conditions by type, so the last Ready condition wins.
    let ready = arr(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| string(c, &["type"]) == "Ready");
    let mut status: Vec<&str> = vec![match ready {
        Some(c) if string(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if boolean(node, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }
    let roles = node_roles(node);
    let info = |field: &str| {
        let v = string(node, &["status", "nodeInfo", field]);
        if v.is_empty() {
            "<unknown>".to_string()
        } else {
            v.to_string()
        }
    };
    vec![
        Value::from(name(node)),
        Value::from(status.join(",")),
        Value::from(if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles
        }),
        Value::from(ctx.age(node)),
        Value::from(string(node, &["status", "nodeInfo", "kubeletVersion"])),
        Value::from(node_address(node, "InternalIP")),
        Value::from(node_address(node, "ExternalIP")),
        Value::from(info("osImage")),
        Value::from(info("kernelVersion")),
        Value::from(info("containerRuntimeVersion")),
    ]
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

const EVENT_COLUMNS: &[Column] = &[
    col("Last Seen", "string", d::EV_LAST, 0),
    col("Type", "string", d::EV_TYPE, 0),
    col("Reason", "string", d::EV_REASON, 0),
    col("Object", "string", d::EV_OBJECT, 0),
    col("Subobject", "string", d::EV_FIELDPATH, 1),
    col("Source", "string", d::EV_SOURCE, 1),
    col("Message", "string", d::EV_MESSAGE, 0),
    col("First Seen", "string", d::EV_FIRST, 1),
    col("Count", "string", d::EV_COUNT, 1),
    Column {
        priority: 1,
        ..NAME
    },
];

static EVENTS: Printer = Printer {
    columns: EVENT_COLUMNS,
    cells: |o, ctx| event_cells(o, ctx, &CORE_EVENT_FIELDS),
};

static EVENTS_K8S_IO: Printer = Printer {
    columns: EVENT_COLUMNS,
    cells: |o, ctx| event_cells(o, ctx, &EVENTS_V1_EVENT_FIELDS),
};

/// Where each field of the internal Event lives in a served version.
struct EventFields {
    first_timestamp: &'static str,
    last_timestamp: &'static str,
    count: &'static str,
    involved_object: &'static str,
    source: &'static str,
    reporting_controller: &'static str,
    message: &'static str,
}

const CORE_EVENT_FIELDS: EventFields = EventFields {
    first_timestamp: "firstTimestamp",
    last_timestamp: "lastTimestamp",
    count: "count",
    involved_object: "involvedObject",
    source: "source",
    reporting_controller: "reportingComponent",
    message: "message",
};

const EVENTS_V1_EVENT_FIELDS: EventFields = EventFields {
    first_timestamp: "deprecatedFirstTimestamp",
    last_timestamp: "deprecatedLastTimestamp",
    count: "deprecatedCount",
    involved_object: "regarding",
    source: "deprecatedSource",
    reporting_controller: "reportingController",
    message: "note",
};

fn event_cells(ev: &Value, ctx: &Ctx, f: &EventFields) -> Vec<Value> {
    let first_ts = time_at(ev, &[f.first_timestamp]);
    let first = if first_ts.is_none() {
        ctx.since(time_at(ev, &["eventTime"]))
    } else {
        ctx.since(first_ts)
    };
    let mut last = match time_at(ev, &[f.last_timestamp]) {
        None => first.clone(),
        t => ctx.since(t),
    };
    let mut count = int(ev, &[f.count]);
    if let Some(series) = obj(ev, &["series"]) {
        last = ctx.since(time_at(series, &["lastObservedTime"]));
        count = int(series, &["count"]);
    } else if count == 0 {
        // Singleton events don't have a count set in the new API.
        count = 1;
    }
    let kind = string(ev, &[f.involved_object, "kind"]).to_lowercase();
    let obj_name = string(ev, &[f.involved_object, "name"]);
    let target = if obj_name.is_empty() {
        kind
    } else {
        format!("{kind}/{obj_name}")
    };
    let non_empty = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        }
    };
    let component = non_empty(
        string(ev, &[f.source, "component"]),
        string(ev, &[f.reporting_controller]),
    );
    let instance = non_empty(
        string(ev, &[f.source, "host"]),
        string(ev, &["reportingInstance"]),
    );
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        Value::from(last),
        Value::from(string(ev, &["type"])),
        Value::from(string(ev, &["reason"])),
        Value::from(target),
        Value::from(string(ev, &[f.involved_object, "fieldPath"])),
        Value::from(source),
        Value::from(string(ev, &[f.message]).trim()),
        Value::from(first),
        Value::from(count),
        Value::from(name(ev)),
    ]
}

// ---------------------------------------------------------------------------
// Namespaces, secrets, service accounts, config maps
// ---------------------------------------------------------------------------

static NAMESPACES: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "The status of the namespace", 0),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["status", "phase"])),
            Value::from(ctx.age(o)),
        ]
    },
};

static SECRETS: Printer = Printer {
    columns: &[
        NAME,
        col("Type", "string", d::SECRET_TYPE, 0),
        col("Data", "string", d::SECRET_DATA, 0),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["type"])),
            Value::from(map_len(o, &["data"])),
            Value::from(ctx.age(o)),
        ]
    },
};

static SERVICE_ACCOUNTS: Printer = Printer {
    columns: &[NAME, col("Secrets", "string", d::SA_SECRETS, 0), AGE],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(arr(o, &["secrets"]).len()),
            Value::from(ctx.age(o)),
        ]
    },
};

static CONFIG_MAPS: Printer = Printer {
    columns: &[NAME, col("Data", "string", d::CM_DATA, 0), AGE],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(map_len(o, &["data"]) + map_len(o, &["binaryData"])),
            Value::from(ctx.age(o)),
        ]
    },
};

// ---------------------------------------------------------------------------
// Persistent volumes and claims
// ---------------------------------------------------------------------------

/// Access modes abbreviated in upstream's fixed order (RWO, ROX, RWX, RWOP).
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

static PERSISTENT_VOLUMES: Printer = Printer {
    columns: &[
        NAME,
        col("Capacity", "string", d::PV_CAPACITY, 0),
        col("Access Modes", "string", d::PV_ACCESS, 0),
        col("Reclaim Policy", "string", d::PV_RECLAIM, 0),
        col("Status", "string", d::PV_PHASE, 0),
        col("Claim", "string", d::PV_CLAIM, 0),
        col("StorageClass", "string", "StorageClass of the pv", 0),
        col(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pv",
            0,
        ),
        col("Reason", "string", d::PV_REASON, 0),
        AGE,
        col("VolumeMode", "string", d::PV_VOLUME_MODE, 1),
    ],
    cells: |o, ctx| {
        let claim = match obj(o, &["spec", "claimRef"]) {
            Some(c) => format!("{}/{}", string(c, &["namespace"]), string(c, &["name"])),
            None => String::new(),
        };
        let phase = if deleting(o) {
            "Terminating"
        } else {
            string(o, &["status", "phase"])
        };
        let class = annotation(o, BETA_STORAGE_CLASS_ANNOTATION)
            .unwrap_or(string(o, &["spec", "storageClassName"]));
        vec![
            Value::from(name(o)),
            Value::from(quantity(at(o, &["spec", "capacity", "storage"]))),
            Value::from(access_modes(arr(o, &["spec", "accessModes"]))),
            Value::from(string(o, &["spec", "persistentVolumeReclaimPolicy"])),
            Value::from(phase),
            Value::from(claim),
            Value::from(class),
            Value::from(opt_str(o, &["spec", "volumeAttributesClassName"]).unwrap_or("<unset>")),
            Value::from(string(o, &["status", "reason"])),
            Value::from(ctx.age(o)),
            Value::from(opt_str(o, &["spec", "volumeMode"]).unwrap_or("<unset>")),
        ]
    },
};

static PERSISTENT_VOLUME_CLAIMS: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", d::PVC_PHASE, 0),
        col("Volume", "string", d::PVC_VOLUME, 0),
        col("Capacity", "string", d::PVC_CAPACITY, 0),
        col("Access Modes", "string", d::PVC_ACCESS, 0),
        col("StorageClass", "string", "StorageClass of the pvc", 0),
        col(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pvc",
            0,
        ),
        AGE,
        col("VolumeMode", "string", d::PVC_VOLUME_MODE, 1),
    ],
    cells: |o, ctx| {
        let phase = if deleting(o) {
            "Terminating"
        } else {
            string(o, &["status", "phase"])
        };
        let volume = string(o, &["spec", "volumeName"]);
        let (capacity, modes) = if volume.is_empty() {
            (String::new(), String::new())
        } else {
            (
                quantity(at(o, &["status", "capacity", "storage"])),
                access_modes(arr(o, &["status", "accessModes"])),
            )
        };
        let class = annotation(o, BETA_STORAGE_CLASS_ANNOTATION)
            .unwrap_or(string(o, &["spec", "storageClassName"]));
        vec![
            Value::from(name(o)),
            Value::from(phase),
            Value::from(volume),
            Value::from(capacity),
            Value::from(modes),
            Value::from(class),
            Value::from(opt_str(o, &["spec", "volumeAttributesClassName"]).unwrap_or("<unset>")),
            Value::from(ctx.age(o)),
            Value::from(opt_str(o, &["spec", "volumeMode"]).unwrap_or("<unset>")),
        ]
    },
};

// ---------------------------------------------------------------------------
// Component statuses, resource quotas
// ---------------------------------------------------------------------------

static COMPONENT_STATUSES: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "Status of the component conditions", 0),
        col(
            "Message",
            "string",
            "Message of the component conditions",
            0,
        ),
        col("Error", "string", "Error of the component conditions", 0),
    ],
    cells: |o, _ctx| {
        let healthy = arr(o, &["conditions"])
            .iter()
            .find(|c| string(c, &["type"]) == "Healthy");
        let (status, message, error) = match healthy {
            Some(c) => (
                if string(c, &["status"]) == "True" {
                    "Healthy"
                } else {
                    "Unhealthy"
                },
                string(c, &["message"]),
                string(c, &["error"]),
            ),
            None => ("Unknown", "", ""),
        };
        vec![
            Value::from(name(o)),
            Value::from(status),
            Value::from(message),
            Value::from(error),
        ]
    },
};

static RESOURCE_QUOTAS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Request",
            "string",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
            0,
        ),
        col(
            "Limit",
            "string",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        let mut requests: Vec<String> = Vec::new();
        let mut limits: Vec<String> = Vec::new();
        if let Some(hard) = at(o, &["status", "hard"]).and_then(Value::as_object) {
            // Sorted by resource name explicitly: serde_json may preserve
            // insertion order when its `preserve_order` feature is enabled.
            let mut entries: Vec<(&String, &Value)> = hard.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (resource, hard_qty) in entries {
                let used = quantity(at(o, &["status", "used", resource.as_str()]));
                let entry = format!("{resource}: {used}/{}", quantity(Some(hard_qty)));
                let mut pieces = resource.split('.');
                let is_limit = pieces.next() == Some("limits") && pieces.next().is_some();
                if is_limit {
                    limits.push(entry)
                } else {
                    requests.push(entry)
                }
            }
        }
        vec![
            Value::from(name(o)),
            Value::from(requests.join(", ")),
            Value::from(limits.join(", ")),
            Value::from(ctx.age(o)),
        ]
    },
};

#[cfg(test)]
mod tests {
    use crate::table::{cells, columns};
    use serde_json::{Value, json};

    /// 2024-01-01T00:00:00Z.
    const NOW: i64 = 1_704_067_200;

    fn pod_cells(pod: Value) -> Vec<Value> {
        cells("", "pods", &pod, NOW)
    }

    fn running(ready: bool) -> Value {
        json!({"ready": ready, "restartCount": 0, "state": {"running": {"startedAt": "2023-12-31T23:00:00Z"}}})
    }

    #[test]
    fn pod_columns_match_upstream_including_wide_ones() {
        let cols = columns("", "pods");
        let summary: Vec<_> = cols.iter().map(|c| (c.name, c.type_, c.priority)).collect();
        assert_eq!(
            summary,
            [
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Status", "string", 0),
                ("Restarts", "string", 0),
                ("Age", "string", 0),
                ("IP", "string", 1),
                ("Node", "string", 1),
                ("Nominated Node", "string", 1),
                ("Readiness Gates", "string", 1),
            ]
        );
        assert_eq!(cols[0].format, "name");
    }

    #[test]
    fn running_pod_shows_ready_count_age_and_wide_columns() {
        let pod = json!({
            "metadata": {"name": "web-1", "creationTimestamp": "2023-12-31T23:55:00Z"},
            "spec": {"nodeName": "node-a", "containers": [{"name": "a"}, {"name": "b"}],
                     "readinessGates": [{"conditionType": "example.com/gate"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
                       "conditions": [{"type": "Ready", "status": "True"}, {"type": "example.com/gate", "status": "True"}],
                       "containerStatuses": [running(true), running(false)]}
        });
        assert_eq!(
            pod_cells(pod),
            vec![
                json!("web-1"),
                json!("1/2"),
                json!("Running"),
                json!("0"),
                json!("5m"),
                json!("10.0.0.5"),
                json!("node-a"),
                json!("<none>"),
                json!("1/1")
            ]
        );
    }

    #[test]
    fn pending_pod_without_status_prints_placeholders() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}});
        assert_eq!(
            pod_cells(pod),
            vec![
                json!("p"),
                json!("0/1"),
                json!("Pending"),
                json!("0"),
                json!("<unknown>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn waiting_reason_becomes_the_pod_status() {
        for reason in ["ContainerCreating", "CrashLoopBackOff", "ImagePullBackOff"] {
            let pod = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending",
                "containerStatuses": [{"ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason}}}]}});
            assert_eq!(pod_cells(pod)[2], json!(reason));
        }
    }

    #[test]
    fn restarts_show_time_since_last_termination() {
        let pod = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running",
            "containerStatuses": [{"ready": false, "restartCount": 5,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2023-12-31T23:55:00Z"}}}]}});
        let row = pod_cells(pod);
        assert_eq!(row[2], json!("CrashLoopBackOff"));
        assert_eq!(row[3], json!("5 (5m ago)"));
    }

    #[test]
    fn restarts_without_a_termination_time_are_a_plain_number() {
        let pod = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"containerStatuses": [{"restartCount": 3, "ready": true, "state": {"running": {}}}]}});
        assert_eq!(pod_cells(pod)[3], json!("3"));
    }

    #[test]
    fn terminated_containers_report_reason_or_exit_code_or_signal() {
        let mk = |t: Value| json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Succeeded", "containerStatuses": [{"state": {"terminated": t}}]}});
        assert_eq!(
            pod_cells(mk(json!({"exitCode": 0, "reason": "Completed"})))[2],
            json!("Completed")
        );
        assert_eq!(
            pod_cells(mk(json!({"exitCode": 2})))[2],
            json!("ExitCode:2")
        );
        assert_eq!(
            pod_cells(mk(json!({"exitCode": 137, "signal": 9})))[2],
            json!("Signal:9")
        );
    }

    #[test]
    fn completed_container_next_to_a_running_one_reads_running_or_not_ready() {
        let mk = |ready_condition: &str| {
            json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": ready_condition}],
                "containerStatuses": [running(true), {"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}})
        };
        assert_eq!(pod_cells(mk("True"))[2], json!("Running"));
        assert_eq!(pod_cells(mk("False"))[2], json!("NotReady"));
    }

    #[test]
    fn init_containers_show_progress_waiting_and_failure() {
        let base = |statuses: Value| {
            json!({"spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]},
                   "status": {"phase": "Pending", "initContainerStatuses": statuses,
                              "containerStatuses": [{"state": {"waiting": {"reason": "PodInitializing"}}}]}})
        };
        let done =
            json!({"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
        let running_init = json!({"name": "i2", "state": {"running": {}}});
        assert_eq!(
            pod_cells(base(json!([done.clone(), running_init])))[2],
            json!("Init:1/2")
        );
        let not_started =
            json!({"name": "i1", "state": {"waiting": {"reason": "PodInitializing"}}});
        assert_eq!(pod_cells(base(json!([not_started])))[2], json!("Init:0/2"));
        let crashing = json!({"name": "i2", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}});
        let row = pod_cells(base(json!([done.clone(), crashing])));
        assert_eq!(row[2], json!("Init:CrashLoopBackOff"));
        assert_eq!(row[3], json!("4"));
        let failed =
            json!({"name": "i2", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}});
        assert_eq!(
            pod_cells(base(json!([done.clone(), failed])))[2],
            json!("Init:Error")
        );
        let failed_no_reason = json!({"name": "i2", "state": {"terminated": {"exitCode": 3}}});
        assert_eq!(
            pod_cells(base(json!([done, failed_no_reason])))[2],
            json!("Init:ExitCode:3")
        );
    }

    #[test]
    fn sidecar_init_containers_count_towards_ready_and_total() {
        let pod = json!({
            "spec": {"initContainers": [{"name": "sidecar", "restartPolicy": "Always"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                "initContainerStatuses": [{"name": "sidecar", "started": true, "ready": true, "restartCount": 2, "state": {"running": {}}}],
                "containerStatuses": [running(true)]}
        });
        let row = pod_cells(pod);
        assert_eq!(row[1], json!("2/2"));
        assert_eq!(row[2], json!("Running"));
        assert_eq!(row[3], json!("2"));
    }

    #[test]
    fn deleted_pods_read_terminating_unless_terminal_or_node_lost() {
        let mk = |phase: &str, reason: &str| {
            json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {"containers": [{"name": "a"}]},
                   "status": {"phase": phase, "reason": reason, "containerStatuses": [running(true)]}})
        };
        assert_eq!(pod_cells(mk("Running", ""))[2], json!("Terminating"));
        assert_eq!(pod_cells(mk("Succeeded", ""))[2], json!("Succeeded"));
        assert_eq!(pod_cells(mk("Running", "NodeLost"))[2], json!("Unknown"));
    }

    #[test]
    fn scheduling_gated_and_evicted_pods_show_their_reason() {
        let gated = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}});
        assert_eq!(pod_cells(gated)[2], json!("SchedulingGated"));
        let evicted = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Failed", "reason": "Evicted"}});
        assert_eq!(pod_cells(evicted)[2], json!("Evicted"));
    }

    #[test]
    fn pod_ip_prefers_pod_ip_field_and_falls_back_to_pod_ips() {
        let pod = json!({"status": {"podIPs": [{"ip": "fd00::1"}, {"ip": "10.0.0.1"}]}});
        assert_eq!(pod_cells(pod)[5], json!("fd00::1"));
    }

    #[test]
    fn service_ports_and_ips_print_like_upstream() {
        let svc = json!({"metadata": {"name": "web", "creationTimestamp": "2023-12-31T00:00:00Z"},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                     "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                     "selector": {"app": "web"}}});
        assert_eq!(
            cells("", "services", &svc, NOW),
            vec![
                json!("web"),
                json!("NodePort"),
                json!("10.96.0.10"),
                json!("<none>"),
                json!("80:30080/TCP,53/UDP"),
                json!("24h"),
                json!("app=web")
            ]
        );
        let bare = json!({"spec": {"type": "ClusterIP"}});
        let row = cells("", "services", &bare, NOW);
        assert_eq!(
            (&row[2], &row[3], &row[4], &row[6]),
            (
                &json!("<none>"),
                &json!("<none>"),
                &json!("<none>"),
                &json!("<none>")
            )
        );
    }

    #[test]
    fn load_balancer_external_ip_is_pending_until_assigned() {
        let pending = json!({"spec": {"type": "LoadBalancer"}});
        assert_eq!(cells("", "services", &pending, NOW)[3], json!("<pending>"));
        let assigned = json!({"spec": {"type": "LoadBalancer", "externalIPs": ["5.6.7.8"]},
            "status": {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}, {"hostname": "lb.example.com"}, {"ip": "1.2.3.4"}]}}});
        assert_eq!(
            cells("", "services", &assigned, NOW)[3],
            json!("1.2.3.4,9.9.9.9,lb.example.com,5.6.7.8")
        );
        let ext = json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        assert_eq!(cells("", "services", &ext, NOW)[3], json!("db.example.com"));
        assert_eq!(
            cells("", "services", &json!({}), NOW)[3],
            json!("<unknown>")
        );
    }

    #[test]
    fn endpoints_list_three_addresses_then_count_the_rest() {
        let ep = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::3"}],
            "ports": [{"port": 80}, {"port": 443}]}]});
        assert_eq!(
            cells("", "endpoints", &ep, NOW)[1],
            json!("10.0.0.1:80,10.0.0.2:80,[fd00::3]:80 + 3 more...")
        );
        let headless = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]});
        assert_eq!(cells("", "endpoints", &headless, NOW)[1], json!("10.0.0.1"));
        assert_eq!(cells("", "endpoints", &json!({}), NOW)[1], json!("<none>"));
    }

    #[test]
    fn node_status_roles_and_wide_columns() {
        let node = json!({"metadata": {"name": "n1", "labels": {
                "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "x",
                "kubernetes.io/role": "master", "other": "y"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "192.168.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian"}}});
        assert_eq!(
            cells("", "nodes", &node, NOW),
            vec![
                json!("n1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane,master"),
                json!("<unknown>"),
                json!("v1.33.0"),
                json!("192.168.0.2"),
                json!("<none>"),
                json!("Debian"),
                json!("<unknown>"),
                json!("<unknown>")
            ]
        );
        let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        let row = cells("", "nodes", &not_ready, NOW);
        assert_eq!((&row[1], &row[2]), (&json!("NotReady"), &json!("<none>")));
        assert_eq!(cells("", "nodes", &json!({}), NOW)[1], json!("Unknown"));
    }

    #[test]
    fn namespace_secret_configmap_and_serviceaccount_rows() {
        let ns = json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}});
        assert_eq!(cells("", "namespaces", &ns, NOW)[1], json!("Active"));
        let secret = json!({"type": "Opaque", "data": {"a": "", "b": ""}});
        assert_eq!(
            &cells("", "secrets", &secret, NOW)[1..3],
            &[json!("Opaque"), json!(2)]
        );
        let cm = json!({"data": {"a": "1"}, "binaryData": {"b": "AA=="}});
        assert_eq!(cells("", "configmaps", &cm, NOW)[1], json!(2));
        let sa = json!({"secrets": [{"name": "t"}]});
        assert_eq!(cells("", "serviceaccounts", &sa, NOW)[1], json!(1));
    }

    #[test]
    fn core_events_show_last_seen_target_and_source() {
        let ev = json!({"metadata": {"name": "web.17a"}, "type": "Warning", "reason": "BackOff",
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{a}"},
            "source": {"component": "kubelet", "host": "node-a"}, "message": " Back-off \n",
            "firstTimestamp": "2023-12-31T23:00:00Z", "lastTimestamp": "2023-12-31T23:58:00Z", "count": 7});
        assert_eq!(
            cells("", "events", &ev, NOW),
            vec![
                json!("2m"),
                json!("Warning"),
                json!("BackOff"),
                json!("pod/web"),
                json!("spec.containers{a}"),
                json!("kubelet, node-a"),
                json!("Back-off"),
                json!("60m"),
                json!(7),
                json!("web.17a")
            ]
        );
        let names: Vec<_> = columns("", "events")
            .iter()
            .map(|c| (c.name, c.priority))
            .collect();
        assert_eq!(names[0], ("Last Seen", 0));
        assert_eq!(names[9], ("Name", 1));
    }

    #[test]
    fn events_k8s_io_events_map_their_fields_onto_the_same_columns() {
        let ev = json!({"metadata": {"name": "e"}, "type": "Normal", "reason": "Scheduled", "note": "ok",
            "regarding": {"kind": "Pod", "name": "web"}, "eventTime": "2023-12-31T23:59:00.000000Z",
            "reportingController": "default-scheduler", "reportingInstance": "sched-1"});
        assert_eq!(
            cells("events.k8s.io", "events", &ev, NOW),
            vec![
                json!("60s"),
                json!("Normal"),
                json!("Scheduled"),
                json!("pod/web"),
                json!(""),
                json!("default-scheduler, sched-1"),
                json!("ok"),
                json!("60s"),
                json!(1),
                json!("e")
            ]
        );
        let series = json!({"series": {"count": 4, "lastObservedTime": "2023-12-31T23:59:30.000000Z"}, "regarding": {"kind": "Node"}});
        let row = cells("events.k8s.io", "events", &series, NOW);
        assert_eq!(
            (&row[0], &row[3], &row[8]),
            (&json!("30s"), &json!("node"), &json!(4))
        );
    }

    #[test]
    fn persistent_volumes_and_claims_print_capacity_modes_and_class() {
        let pv = json!({"metadata": {"name": "pv1", "annotations": {"volume.beta.kubernetes.io/storage-class": "beta"}},
            "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "ns", "name": "c"},
                     "storageClassName": "ignored", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"}});
        assert_eq!(
            cells("", "persistentvolumes", &pv, NOW),
            vec![
                json!("pv1"),
                json!("10Gi"),
                json!("RWO,RWX"),
                json!("Retain"),
                json!("Bound"),
                json!("ns/c"),
                json!("beta"),
                json!("<unset>"),
                json!(""),
                json!("<unknown>"),
                json!("Filesystem")
            ]
        );
        let pending = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}});
        assert_eq!(
            cells("", "persistentvolumeclaims", &pending, NOW),
            vec![
                json!(""),
                json!("Pending"),
                json!(""),
                json!(""),
                json!(""),
                json!(""),
                json!("<unset>"),
                json!("<unknown>"),
                json!("<unset>")
            ]
        );
        let bound = json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"volumeName": "pv1", "storageClassName": "fast"},
            "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOncePod"]}});
        let row = cells("", "persistentvolumeclaims", &bound, NOW);
        assert_eq!(
            &row[1..6],
            &[
                json!("Terminating"),
                json!("pv1"),
                json!("5Gi"),
                json!("RWOP"),
                json!("fast")
            ]
        );
    }

    #[test]
    fn resource_quota_splits_requests_and_limits_sorted_by_name() {
        let rq = json!({"status": {"hard": {"requests.cpu": "1", "pods": "10", "limits.memory": "2Gi", "limits": "3"},
                                   "used": {"requests.cpu": "500m", "pods": "3"}}});
        let row = cells("", "resourcequotas", &rq, NOW);
        assert_eq!(
            row[1],
            json!("limits: 0/3, pods: 3/10, requests.cpu: 500m/1")
        );
        assert_eq!(row[2], json!("limits.memory: 0/2Gi"));
    }

    #[test]
    fn replication_controller_and_pod_template_rows() {
        let rc = json!({"spec": {"replicas": 3, "selector": {"app": "x"}, "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}]}}},
                        "status": {"replicas": 3, "readyReplicas": 2}});
        assert_eq!(
            &cells("", "replicationcontrollers", &rc, NOW)[1..],
            &[
                json!(3),
                json!(3),
                json!(2),
                json!("<unknown>"),
                json!("a"),
                json!("nginx"),
                json!("app=x")
            ]
        );
        let pt = json!({"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c1", "image": "i1"}, {"name": "c2", "image": "i2"}]}}});
        assert_eq!(
            &cells("", "podtemplates", &pt, NOW)[1..],
            &[json!("c1,c2"), json!("i1,i2"), json!("a=b")]
        );
    }

    #[test]
    fn component_status_reads_the_healthy_condition() {
        let cs = json!({"conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]});
        assert_eq!(
            &cells("", "componentstatuses", &cs, NOW)[1..],
            &[json!("Healthy"), json!("ok"), json!("")]
        );
    }
}
