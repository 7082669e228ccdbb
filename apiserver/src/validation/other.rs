//! Smaller groups: policy (PodDisruptionBudget), rbac, storage
//! (StorageClass), autoscaling (HorizontalPodAutoscaler), coordination
//! (Lease), scheduling (PriorityClass), discovery (EndpointSlice) and
//! events.k8s.io (Event).

use std::collections::BTreeSet;

use serde_json::Value;

use super::access::{Errs, Obj, Path, peek_obj, peek_str, sem_eq};
use super::apps::{not_more_than_100_percent, positive_int_or_percent};
use super::meta::{
    MetaOpts, Scope, immutable, immutable_field, validate_label_selector, validate_object_meta,
    validate_object_meta_update,
};
use super::names::{
    NameRule, dns_label, dns_subdomain, is_path_segment_name, is_qualified_name, is_valid_port_num,
    push_msgs, qualified_name, validate_fqdn, validate_ip, validate_name,
};

/// The core group's `ValidateObjectMeta` (with its standard-finalizer rule),
/// which these groups use.
fn meta(e: &mut Errs, obj: Obj<'_>, scope: Scope, rule: NameRule) {
    validate_object_meta(
        e,
        obj,
        &MetaOpts {
            scope,
            name_rule: rule,
            kube_finalizers: true,
        },
    );
}

// ---- policy ---------------------------------------------------------------

fn pdb_spec(e: &mut Errs, obj: Obj<'_>) {
    let p = Path::root("spec");
    let spec = e.obj(obj, "spec", &Path::root(""));
    let min = e.opt_int_or_str(spec, "minAvailable", &p);
    let max = e.opt_int_or_str(spec, "maxUnavailable", &p);
    if min.is_some() && max.is_some() {
        e.invalid(
            &p,
            spec.to_value(),
            "minAvailable and maxUnavailable cannot be both set",
        );
    }
    if min.is_some() {
        positive_int_or_percent(e, &p.child("minAvailable"), &min);
        not_more_than_100_percent(e, &p.child("minAvailable"), &min);
    }
    if max.is_some() {
        positive_int_or_percent(e, &p.child("maxUnavailable"), &max);
        not_more_than_100_percent(e, &p.child("maxUnavailable"), &max);
    }
    let sel = e.opt_obj(spec, "selector", &p);
    validate_label_selector(e, sel, &p.child("selector"));
    if let Some(pol) = e.opt_str(spec, "unhealthyPodEvictionPolicy", &p)
        && pol != "AlwaysAllow"
        && pol != "IfHealthyBudget"
    {
        e.not_supported(
            &p.child("unhealthyPodEvictionPolicy"),
            Value::from(pol),
            &["AlwaysAllow", "IfHealthyBudget"],
        );
    }
}

// ---- rbac -----------------------------------------------------------------

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

fn policy_rules(e: &mut Errs, obj: Obj<'_>, namespaced: bool) {
    let rp = Path::root("rules");
    for (i, v) in e.arr(obj, "rules", &Path::root("")).iter().enumerate() {
        let ip = rp.index(i);
        let r = e.elem_obj(v, &ip);
        if e.str_list(r, "verbs", &ip).is_empty() {
            e.required(&ip.child("verbs"), "verbs must contain at least one value");
        }
        let urls = e.str_list(r, "nonResourceURLs", &ip);
        if !urls.is_empty() {
            let uv = r.raw("nonResourceURLs").cloned().unwrap_or(Value::Null);
            if namespaced {
                e.invalid(
                    &ip.child("nonResourceURLs"),
                    uv.clone(),
                    "namespaced rules cannot apply to non-resource URLs",
                );
            }
            let has_resources = ["apiGroups", "resources", "resourceNames"]
                .iter()
                .any(|k| !super::access::peek_arr(r, k).is_empty());
            if has_resources {
                e.invalid(
                    &ip.child("nonResourceURLs"),
                    uv,
                    "rules cannot apply to both regular resources and non-resource URLs",
                );
            }
            continue;
        }
        if e.str_list(r, "apiGroups", &ip).is_empty() {
            e.required(
                &ip.child("apiGroups"),
                "resource rules must supply at least one api group",
            );
        }
        if e.str_list(r, "resources", &ip).is_empty() {
            e.required(
                &ip.child("resources"),
                "resource rules must supply at least one resource",
            );
        }
    }
}

fn role(e: &mut Errs, obj: Obj<'_>, namespaced: bool) {
    let scope = if namespaced {
        Scope::Namespaced
    } else {
        Scope::Cluster
    };
    meta(e, obj, scope, NameRule::PathSegment);
    policy_rules(e, obj, namespaced);
    if namespaced {
        return;
    }
    if let Some(ar) = e.opt_obj(obj, "aggregationRule", &Path::root("")) {
        let sp = Path::root("aggregationRule").child("clusterRoleSelectors");
        let sels = e.arr(ar, "clusterRoleSelectors", &Path::root("aggregationRule"));
        if sels.is_empty() {
            e.required(
                &sp,
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            );
        }
        for (i, s) in sels.iter().enumerate() {
            let so = e.elem_obj(s, &sp.index(i));
            validate_label_selector(e, Some(so), &sp.index(i));
        }
    }
}

fn binding(e: &mut Errs, obj: Obj<'_>, namespaced: bool) {
    let scope = if namespaced {
        Scope::Namespaced
    } else {
        Scope::Cluster
    };
    meta(e, obj, scope, NameRule::PathSegment);
    let rp = Path::root("roleRef");
    let rr = e.obj(obj, "roleRef", &Path::root(""));
    let group = e.str(rr, "apiGroup", &rp);
    if group != RBAC_GROUP {
        e.not_supported(&rp.child("apiGroup"), Value::from(group), &[RBAC_GROUP]);
    }
    let kind = e.str(rr, "kind", &rp);
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&kind) {
        e.not_supported(&rp.child("kind"), Value::from(kind), kinds);
    }
    let name = e.str(rr, "name", &rp);
    if name.is_empty() {
        e.required(&rp.child("name"), "");
    } else {
        push_msgs(e, &rp.child("name"), name, is_path_segment_name(name));
    }
    let sp = Path::root("subjects");
    for (i, v) in e.arr(obj, "subjects", &Path::root("")).iter().enumerate() {
        let ip = sp.index(i);
        let s = e.elem_obj(v, &ip);
        let name = e.str(s, "name", &ip);
        if name.is_empty() {
            e.required(&ip.child("name"), "");
        }
        let group = e.str(s, "apiGroup", &ip);
        match e.str(s, "kind", &ip) {
            "ServiceAccount" => {
                if !name.is_empty() {
                    push_msgs(
                        e,
                        &ip.child("name"),
                        name,
                        validate_name(NameRule::Subdomain, name, false),
                    );
                }
                if !group.is_empty() {
                    e.not_supported(&ip.child("apiGroup"), Value::from(group), &[""]);
                }
                if !namespaced && peek_str(s, "namespace").is_empty() {
                    e.required(&ip.child("namespace"), "");
                }
            }
            "User" | "Group" => {
                if group != RBAC_GROUP {
                    e.not_supported(&ip.child("apiGroup"), Value::from(group), &[RBAC_GROUP]);
                }
            }
            other => e.not_supported(
                &ip.child("kind"),
                Value::from(other),
                &["ServiceAccount", "User", "Group"],
            ),
        }
    }
}

fn binding_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>, namespaced: bool) {
    binding(e, new, namespaced);
    validate_object_meta_update(e, new, old, false);
    if !sem_eq(new.raw("roleRef"), old.raw("roleRef")) {
        let r = peek_obj(new, "roleRef");
        let v = serde_json::json!({"apiGroup": peek_str(r, "apiGroup"), "kind": peek_str(r, "kind"), "name": peek_str(r, "name")});
        e.invalid(&Path::root("roleRef"), v, "cannot change roleRef");
    }
}

// ---- storage --------------------------------------------------------------

fn storage_class(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Cluster, NameRule::Subdomain);
    let root = Path::root("");
    let prov = e.str(obj, "provisioner", &root);
    if prov.is_empty() {
        e.required(&Path::root("provisioner"), "");
    } else {
        push_msgs(
            e,
            &Path::root("provisioner"),
            prov,
            is_qualified_name(&prov.to_lowercase()),
        );
    }
    let params = e.str_map(obj, "parameters", &root);
    let pp = Path::root("parameters");
    if params.len() > 512 {
        e.too_long(&pp, 512);
    } else {
        let mut total = 0;
        for (k, v) in &params {
            if k.is_empty() {
                e.invalid(&pp, Value::from(*k), "field can not be empty.");
            }
            total += k.len() + v.len();
        }
        if total > 256 * 1024 {
            e.too_long(&pp, 256 * 1024);
        }
    }
    if let Some(rp) = e.opt_str(obj, "reclaimPolicy", &root)
        && !rp.is_empty()
        && rp != "Delete"
        && rp != "Retain"
    {
        e.not_supported(
            &Path::root("reclaimPolicy"),
            Value::from(rp),
            &["Delete", "Retain"],
        );
    }
    match e.opt_str(obj, "volumeBindingMode", &root) {
        None => e.required(&Path::root("volumeBindingMode"), ""),
        Some("Immediate") | Some("WaitForFirstConsumer") => {}
        Some(other) => e.not_supported(
            &Path::root("volumeBindingMode"),
            Value::from(other),
            &["Immediate", "WaitForFirstConsumer"],
        ),
    }
}

fn storage_class_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, false);
    if !sem_eq(new.raw("parameters"), old.raw("parameters")) {
        e.forbidden(
            &Path::root("parameters"),
            "updates to parameters are forbidden.",
        );
    }
    if peek_str(new, "provisioner") != peek_str(old, "provisioner") {
        e.forbidden(
            &Path::root("provisioner"),
            "updates to provisioner are forbidden.",
        );
    }
    if !sem_eq(new.raw("reclaimPolicy"), old.raw("reclaimPolicy")) {
        e.forbidden(
            &Path::root("reclaimPolicy"),
            "updates to reclaimPolicy are forbidden.",
        );
    }
    immutable_field(e, new, old, "volumeBindingMode", &Path::root(""));
}

// ---- autoscaling ----------------------------------------------------------

fn hpa(e: &mut Errs, obj: Obj<'_>, version: &str) {
    let p = Path::root("spec");
    let spec = e.obj(obj, "spec", &Path::root(""));
    let min = e.opt_i32(spec, "minReplicas", &p);
    if let Some(m) = min
        && m < 1
    {
        e.invalid(
            &p.child("minReplicas"),
            Value::from(m),
            "must be greater than or equal to 1",
        );
    }
    let max = e.opt_i32(spec, "maxReplicas", &p).unwrap_or(0);
    if max < 1 {
        e.invalid(
            &p.child("maxReplicas"),
            Value::from(max),
            "must be greater than 0",
        );
    }
    if let Some(m) = min
        && max < m
    {
        e.invalid(
            &p.child("maxReplicas"),
            Value::from(max),
            "must be greater than or equal to `minReplicas`",
        );
    }
    let rp = p.child("scaleTargetRef");
    let r = e.obj(spec, "scaleTargetRef", &p);
    for f in ["kind", "name"] {
        let v = e.str(r, f, &rp);
        if v.is_empty() {
            e.required(&rp.child(f), "");
        } else {
            push_msgs(e, &rp.child(f), v, is_path_segment_name(v));
        }
    }
    if version == "v1" {
        if let Some(t) = e.opt_i32(spec, "targetCPUUtilizationPercentage", &p)
            && t < 1
        {
            e.invalid(
                &p.child("targetCPUUtilizationPercentage"),
                Value::from(t),
                "must be greater than 0",
            );
        }
        return;
    }
    let mp = p.child("metrics");
    const TYPES: [&str; 5] = [
        "ContainerResource",
        "External",
        "Object",
        "Pods",
        "Resource",
    ];
    for (i, v) in e.arr(spec, "metrics", &p).iter().enumerate() {
        let ip = mp.index(i);
        let m = e.elem_obj(v, &ip);
        let t = e.str(m, "type", &ip);
        if t.is_empty() {
            e.required(&ip.child("type"), "must specify a metric source type");
        }
        if !TYPES.contains(&t) {
            e.not_supported(&ip.child("type"), Value::from(t), &TYPES);
        }
        let fields = [
            ("object", "Object"),
            ("pods", "Pods"),
            ("resource", "Resource"),
            ("containerResource", "ContainerResource"),
            ("external", "External"),
        ];
        let present: BTreeSet<&str> = fields
            .iter()
            .filter(|(f, _)| m.has(f))
            .map(|(f, _)| *f)
            .collect();
        let expected = fields.iter().find(|(_, ty)| *ty == t).map(|(f, _)| *f);
        if let Some(f) = expected {
            if !m.has(f) {
                e.required(
                    &ip.child(f),
                    "must populate information for the given metric source",
                );
            } else if f == "resource" || f == "containerResource" {
                let src = e.obj(m, f, &ip);
                let sp = ip.child(f);
                if e.str(src, "name", &sp).is_empty() {
                    e.required(&sp.child("name"), "must specify a resource name");
                }
                metric_target(e, src, &sp);
            }
        }
        if present.len() > 1 {
            for f in present {
                if Some(f) != expected {
                    e.forbidden(&ip.child(f), "must populate the given metric source only");
                }
            }
        }
    }
}

fn metric_target(e: &mut Errs, src: Obj<'_>, p: &Path) {
    let tp = p.child("target");
    let Some(t) = e.opt_obj(src, "target", p) else {
        e.required(&tp, "must specify a metric target");
        return;
    };
    match e.str(t, "type", &tp) {
        "" => e.required(&tp.child("type"), "must specify a metric target type"),
        "Utilization" | "Value" | "AverageValue" => {}
        other => e.not_supported(
            &tp.child("type"),
            Value::from(other),
            &["AverageValue", "Utilization", "Value"],
        ),
    }
    if let Some(u) = e.opt_i32(t, "averageUtilization", &tp)
        && u < 1
    {
        e.invalid(
            &tp.child("averageUtilization"),
            Value::from(u),
            "must be greater than 0",
        );
    }
    for f in ["value", "averageValue"] {
        if let Some(q) = e.opt_quantity(t, f, &tp)
            && q.cmp_value(&super::quantity::Quantity::zero()) != std::cmp::Ordering::Greater
        {
            e.invalid(&tp.child(f), Value::from(q.canonical()), "must be positive");
        }
    }
}

// ---- coordination / scheduling ----------------------------------------------

fn lease_spec(e: &mut Errs, obj: Obj<'_>) {
    let p = Path::root("spec");
    let spec = e.obj(obj, "spec", &Path::root(""));
    if let Some(d) = e.opt_i32(spec, "leaseDurationSeconds", &p)
        && d <= 0
    {
        e.invalid(
            &p.child("leaseDurationSeconds"),
            Value::from(d),
            "must be greater than 0",
        );
    }
    if let Some(t) = e.opt_i32(spec, "leaseTransitions", &p)
        && t < 0
    {
        e.invalid(
            &p.child("leaseTransitions"),
            Value::from(t),
            "must to greater or equal than 0",
        );
    }
}

fn priority_class(e: &mut Errs, obj: Obj<'_>) {
    use crate::admission::priority::HIGHEST_USER_DEFINABLE_PRIORITY;
    meta(e, obj, Scope::Cluster, NameRule::Subdomain);
    let root = Path::root("");
    let name = peek_str(peek_obj(obj, "metadata"), "name");
    let value = e.opt_i32(obj, "value", &root).unwrap_or(0);
    let global_default = e.bool(obj, "globalDefault", &root);
    if name.starts_with("system-") {
        let system = crate::admission::priority::SYSTEM_CLASSES
            .iter()
            .find(|c| c.name == name)
            .map(|c| (c.name, c.value));
        let err = match system {
            Some((n, v)) if v != value => Some(format!("value of {n} PriorityClass must be {v}")),
            Some((n, _)) if global_default => {
                Some(format!("globalDefault of {n} PriorityClass must be false"))
            }
            Some(_) => None,
            None => Some(format!("{name} is not a known system priority class")),
        };
        if let Some(err) = err {
            e.forbidden(&Path::root("metadata").child("name"), &format!("priority class names with 'system-' prefix are reserved for system use only. error: {err}"));
        }
    } else if value > HIGHEST_USER_DEFINABLE_PRIORITY {
        e.forbidden(
            &Path::root("value"),
            &format!(
                "maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"
            ),
        );
    }
    if let Some(pp) = e.opt_str(obj, "preemptionPolicy", &root) {
        super::pod::preemption_policy(e, &Path::root("preemptionPolicy"), pp);
    }
}

// ---- discovery ----------------------------------------------------------------

fn endpoint_slice(e: &mut Errs, obj: Obj<'_>, old: Option<Obj<'_>>) {
    meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
    let root = Path::root("");
    let at = e.str(obj, "addressType", &root);
    match at {
        "" => e.required(&Path::root("addressType"), ""),
        "IPv4" | "IPv6" | "FQDN" => {}
        other => e.not_supported(
            &Path::root("addressType"),
            Value::from(other),
            &["FQDN", "IPv4", "IPv6"],
        ),
    }
    let ep = Path::root("endpoints");
    let endpoints = e.arr(obj, "endpoints", &root);
    if endpoints.len() > 1000 {
        e.too_many(&ep, endpoints.len(), 1000);
    }
    for (i, v) in endpoints.iter().enumerate() {
        let ip = ep.index(i);
        let o = e.elem_obj(v, &ip);
        let ap = ip.child("addresses");
        let addrs = e.str_list(o, "addresses", &ip);
        if addrs.is_empty() {
            e.required(&ap, "must contain at least 1 address");
        } else if addrs.len() > 100 {
            e.too_many(&ap, addrs.len(), 100);
        }
        for (j, a) in addrs.iter().enumerate() {
            let aip = ap.index(j);
            match at {
                "IPv4" | "IPv6" => {
                    let before = e.len();
                    validate_ip(e, &aip, a);
                    if e.len() == before {
                        let is6 = a.contains(':');
                        if at == "IPv4" && is6 {
                            e.invalid(&aip, Value::from(*a), "must be an IPv4 address");
                        }
                        if at == "IPv6" && !is6 {
                            e.invalid(&aip, Value::from(*a), "must be an IPv6 address");
                        }
                    }
                }
                "FQDN" => validate_fqdn(e, &aip, a),
                _ => {}
            }
        }
        if let Some(n) = e.opt_str(o, "nodeName", &ip) {
            dns_subdomain(e, &ip.child("nodeName"), n);
        }
        if let Some(h) = e.opt_str(o, "hostname", &ip) {
            dns_label(e, &ip.child("hostname"), h);
        }
    }
    let pp = Path::root("ports");
    let ports = e.arr(obj, "ports", &root);
    if ports.len() > 20000 {
        e.too_many(&pp, ports.len(), 20000);
    }
    let mut names = BTreeSet::new();
    for (i, v) in ports.iter().enumerate() {
        let ip = pp.index(i);
        let o = e.elem_obj(v, &ip);
        let name = e.str(o, "name", &ip);
        if !name.is_empty() {
            dns_label(e, &ip.child("name"), name);
        }
        if !names.insert(name) {
            e.duplicate(&ip.child("name"), Value::from(name));
        }
        match e.opt_str(o, "protocol", &ip) {
            None => e.required(&ip.child("protocol"), ""),
            Some("TCP") | Some("UDP") | Some("SCTP") => {}
            Some(other) => e.not_supported(
                &ip.child("protocol"),
                Value::from(other),
                &["SCTP", "TCP", "UDP"],
            ),
        }
        if let Some(port) = e.opt_i32(o, "port", &ip) {
            for m in is_valid_port_num(port) {
                e.invalid(&ip.child("port"), Value::from(port), &m);
            }
        }
        if let Some(ap) = e.opt_str(o, "appProtocol", &ip) {
            qualified_name(e, &ip.child("appProtocol"), ap);
        }
    }
    if let Some(o) = old {
        immutable_field(e, obj, o, "addressType", &root);
    }
}

// ---- events.k8s.io --------------------------------------------------------------

fn events_v1(e: &mut Errs, obj: Obj<'_>, old: Option<Obj<'_>>) {
    super::core::legacy_event(e, obj, false);
    let root = Path::root("");
    match old {
        None => {
            meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
            series(e, obj);
            if !obj.has("eventTime") {
                e.required(&Path::root("eventTime"), "");
            }
            let t = e.str(obj, "type", &root);
            if t != "Normal" && t != "Warning" {
                e.invalid(
                    &Path::root("type"),
                    Value::from(""),
                    &format!("has invalid value: {t}"),
                );
            }
            for (field, internal) in [
                ("deprecatedFirstTimestamp", "firstTimestamp"),
                ("deprecatedLastTimestamp", "lastTimestamp"),
                ("deprecatedCount", "count"),
            ] {
                if !sem_eq(obj.raw(field), None) {
                    e.invalid(&Path::root(internal), Value::from(""), "needs to be unset");
                }
            }
            let src = peek_obj(obj, "deprecatedSource");
            if !peek_str(src, "component").is_empty() || !peek_str(src, "host").is_empty() {
                e.invalid(&Path::root("source"), Value::from(""), "needs to be unset");
            }
        }
        Some(o) => {
            validate_object_meta_update(e, obj, o, false);
            if !sem_eq(obj.raw("series"), o.raw("series")) {
                series(e, obj);
            }
            for (field, internal) in [
                ("regarding", "involvedObject"),
                ("reason", "reason"),
                ("note", "message"),
                ("deprecatedSource", "source"),
                ("deprecatedFirstTimestamp", "firstTimestamp"),
                ("deprecatedLastTimestamp", "lastTimestamp"),
                ("deprecatedCount", "count"),
                ("type", "type"),
                ("eventTime", "eventTime"),
                ("action", "action"),
                ("related", "related"),
                ("reportingController", "reportingController"),
                ("reportingInstance", "reportingInstance"),
            ] {
                immutable(e, obj.raw(field), o.raw(field), &Path::root(internal));
            }
        }
    }
}

fn series(e: &mut Errs, obj: Obj<'_>) {
    let Some(s) = e.opt_obj(obj, "series", &Path::root("")) else {
        return;
    };
    let count = e.opt_i32(s, "count", &Path::root("series")).unwrap_or(0);
    if count < 2 {
        e.invalid(
            &Path::root("series.count"),
            Value::from(""),
            "should be at least 2",
        );
    }
    if !s.has("lastObservedTime") {
        e.required(&Path::root("series.lastObservedTime"), "");
    }
}

/// Dispatches the smaller groups. Returns `false` if not handled here.
pub(crate) fn validate_other(
    e: &mut Errs,
    group: &str,
    version: &str,
    kind: &str,
    obj: Obj<'_>,
    old: Option<Obj<'_>>,
) -> bool {
    match (group, kind) {
        ("policy", "PodDisruptionBudget") => {
            if let Some(o) = old {
                validate_object_meta_update(e, obj, o, false);
            }
            pdb_spec(e, obj);
        }
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => {
            role(e, obj, kind == "Role");
            if let Some(o) = old {
                validate_object_meta_update(e, obj, o, false);
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => match old {
            None => binding(e, obj, kind == "RoleBinding"),
            Some(o) => binding_update(e, obj, o, kind == "RoleBinding"),
        },
        ("storage.k8s.io", "StorageClass") => match old {
            None => storage_class(e, obj),
            Some(o) => storage_class_update(e, obj, o),
        },
        ("autoscaling", "HorizontalPodAutoscaler") => {
            match old {
                None => meta(e, obj, Scope::Namespaced, NameRule::Subdomain),
                Some(o) => validate_object_meta_update(e, obj, o, false),
            }
            hpa(e, obj, version);
        }
        ("coordination.k8s.io", "Lease") => {
            match old {
                // Lease uses apimachinery's ObjectMeta validation (no finalizer rule).
                None => validate_object_meta(
                    e,
                    obj,
                    &MetaOpts {
                        scope: Scope::Namespaced,
                        name_rule: NameRule::Subdomain,
                        kube_finalizers: false,
                    },
                ),
                Some(o) => validate_object_meta_update(e, obj, o, false),
            }
            lease_spec(e, obj);
        }
        ("scheduling.k8s.io", "PriorityClass") => match old {
            None => priority_class(e, obj),
            Some(o) => {
                validate_object_meta_update(e, obj, o, false);
                let (a, b) = (obj.raw("value"), o.raw("value"));
                if !sem_eq(a, b) {
                    e.forbidden(&Path::root("value"), "may not be changed in an update.");
                }
                immutable_field(e, obj, o, "preemptionPolicy", &Path::root(""));
            }
        },
        ("discovery.k8s.io", "EndpointSlice") => {
            if let Some(o) = old {
                validate_object_meta_update(e, obj, o, false);
            }
            endpoint_slice(e, obj, old);
        }
        ("events.k8s.io", "Event") => events_v1(e, obj, old),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(group: &str, kind: &str, obj: &Value, old: Option<&Value>) -> Vec<String> {
        let mut e = Errs::new();
        validate_other(&mut e, group, "v1", kind, Obj::of(obj), old.map(Obj::of));
        e.list.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn pdb_cannot_set_both_bounds() {
        let pdb = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"minAvailable": 1, "maxUnavailable": "150%"}});
        assert_eq!(run("policy", "PodDisruptionBudget", &pdb, None), vec![
            "spec: Invalid value: {\"maxUnavailable\":\"150%\",\"minAvailable\":1}: minAvailable and maxUnavailable cannot be both set".to_string(),
            "spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%".to_string(),
        ]);
    }

    #[test]
    fn rbac_rules_need_verbs() {
        let r = json!({"metadata": {"name": "r", "namespace": "d"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]});
        assert_eq!(
            run("rbac.authorization.k8s.io", "Role", &r, None),
            vec![
                "rules[0].verbs: Required value: verbs must contain at least one value".to_string()
            ]
        );
    }

    #[test]
    fn role_binding_role_ref_is_immutable() {
        let old = json!({"metadata": {"name": "b", "namespace": "d", "resourceVersion": "1"},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": "a"},
            "subjects": [{"kind": "User", "name": "u", "apiGroup": RBAC_GROUP}]});
        let mut new = old.clone();
        new["roleRef"]["name"] = json!("b");
        assert_eq!(run("rbac.authorization.k8s.io", "RoleBinding", &new, Some(&old)), vec![
            "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"b\"}: cannot change roleRef".to_string()
        ]);
    }

    #[test]
    fn storage_class_needs_provisioner() {
        let sc = json!({"metadata": {"name": "s"}, "volumeBindingMode": "Immediate"});
        assert_eq!(
            run("storage.k8s.io", "StorageClass", &sc, None),
            vec!["provisioner: Required value".to_string()]
        );
    }

    #[test]
    fn hpa_replica_bounds() {
        let h = json!({"metadata": {"name": "h", "namespace": "d"}, "spec": {"minReplicas": 0, "maxReplicas": 0,
            "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}}});
        assert_eq!(
            run("autoscaling", "HorizontalPodAutoscaler", &h, None),
            vec![
                "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"
                    .to_string(),
                "spec.maxReplicas: Invalid value: 0: must be greater than 0".to_string(),
            ]
        );
    }

    #[test]
    fn priority_class_value_is_capped() {
        let pc = json!({"metadata": {"name": "high"}, "value": 2000000000});
        assert_eq!(
            run("scheduling.k8s.io", "PriorityClass", &pc, None),
            vec![
                "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
                    .to_string()
            ]
        );
    }

    #[test]
    fn endpoint_slice_address_type_must_be_known() {
        let es = json!({"metadata": {"name": "e", "namespace": "d"}, "addressType": "IPX", "endpoints": []});
        assert_eq!(run("discovery.k8s.io", "EndpointSlice", &es, None), vec!["addressType: Unsupported value: \"IPX\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"".to_string()]);
    }

    #[test]
    fn lease_duration_must_be_positive() {
        let l = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 0}});
        assert_eq!(
            run("coordination.k8s.io", "Lease", &l, None),
            vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0".to_string()]
        );
    }
}
