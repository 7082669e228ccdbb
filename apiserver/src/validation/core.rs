//! Core (`""` group) kinds other than Pod: Service, Endpoints, Node,
//! Namespace, ConfigMap, Secret, ServiceAccount, PersistentVolume(Claim),
//! ResourceQuota, LimitRange, PodTemplate, ReplicationController, Event.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::Value;

use super::access::{Errs, Obj, Path, as_int, peek_arr, peek_obj, peek_str, sem_eq};
use super::meta::{
    MetaOpts, Scope, immutable, selector_from_map, validate_label_selector, validate_labels,
    validate_object_meta, validate_object_meta_update,
};
use super::names::{
    NameRule, dns_label, dns_subdomain, is_config_map_key, is_label_value, is_qualified_name,
    is_valid_port_num, push_msgs, qualified_name, validate_cidr, validate_ip, validate_name,
};
use super::pod::{
    container_resource_name, json_diff, node_selector, port_num_or_name, resource_name,
    resource_quantity_value, selector_matches_template, taint_effect, validate_pod_template_spec,
};
use super::quantity::Quantity;

/// `core.MaxSecretSize`: 1 MiB for Secret and ConfigMap payloads.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

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

fn spec_of<'a>(e: &mut Errs, obj: Obj<'a>) -> Obj<'a> {
    e.obj(obj, "spec", &Path::root(""))
}

// ---- PersistentVolumeClaim ---------------------------------------------

const ACCESS_MODES: [&str; 4] = [
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn access_modes(e: &mut Errs, spec: Obj<'_>, p: &Path, required_detail: &str) {
    let ap = p.child("accessModes");
    let modes = e.str_list(spec, "accessModes", p);
    if modes.is_empty() {
        e.required(&ap, required_detail);
    }
    let (mut rwop, mut other) = (false, false);
    for m in &modes {
        if !ACCESS_MODES.contains(m) {
            e.not_supported(&ap, Value::from(*m), &ACCESS_MODES);
        }
        if *m == "ReadWriteOncePod" {
            rwop = true;
        } else if ACCESS_MODES.contains(m) {
            other = true;
        }
    }
    if rwop && other {
        e.forbidden(&ap, "may not use ReadWriteOncePod with other access modes");
    }
}

fn data_source(e: &mut Errs, ds: Obj<'_>, p: &Path, is_ref: bool) {
    if e.str(ds, "name", p).is_empty() {
        e.required(&p.child("name"), "");
    }
    let kind = e.str(ds, "kind", p);
    if kind.is_empty() {
        e.required(&p.child("kind"), "");
    }
    let group = e.str(ds, "apiGroup", p);
    if group.is_empty() && kind != "PersistentVolumeClaim" {
        e.invalid(
            p,
            Value::from(kind),
            "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        );
    }
    if !group.is_empty() {
        dns_subdomain(e, &p.child("apiGroup"), group);
    }
    if is_ref {
        let ns = e.str(ds, "namespace", p);
        if !ns.is_empty() {
            push_msgs(
                e,
                &p.child("namespace"),
                ns,
                validate_name(NameRule::Label, ns, false),
            );
        }
    }
}

/// `ValidatePersistentVolumeClaimSpec`.
pub(crate) fn pvc_spec(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    access_modes(e, spec, p, "at least 1 access mode is required");
    let sel = e.opt_obj(spec, "selector", p);
    validate_label_selector(e, sel, &p.child("selector"));
    let res = e.obj(spec, "resources", p);
    let requests = e.quantity_map(res, "requests", &p.child("resources"));
    let sp = p.child("resources").key("storage");
    match requests.iter().find(|(n, _)| *n == "storage") {
        None => e.required(&sp, ""),
        Some((_, q)) => {
            if q.cmp_value(&Quantity::zero()) != Ordering::Greater {
                e.invalid(&sp, Value::from(q.canonical()), "must be greater than zero");
            } else {
                resource_quantity_value(e, &sp, "storage", q);
            }
        }
    }
    if let Some(sc) = e.opt_str(spec, "storageClassName", p)
        && !sc.is_empty()
    {
        dns_subdomain(e, &p.child("storageClassName"), sc);
    }
    if let Some(vm) = e.opt_str(spec, "volumeMode", p)
        && vm != "Block"
        && vm != "Filesystem"
    {
        e.not_supported(
            &p.child("volumeMode"),
            Value::from(vm),
            &["Block", "Filesystem"],
        );
    }
    let ds = e.opt_obj(spec, "dataSource", p);
    if let Some(d) = ds {
        data_source(e, d, &p.child("dataSource"), false);
    }
    let dsr = e.opt_obj(spec, "dataSourceRef", p);
    if let Some(d) = dsr {
        data_source(e, d, &p.child("dataSourceRef"), true);
    }
    let ref_ns = dsr.map(|d| peek_str(d, "namespace")).unwrap_or("");
    if !ref_ns.is_empty() {
        if ds.is_some() {
            e.invalid(
                p,
                Value::from(p.child("dataSource").as_str()),
                "may not be specified when dataSourceRef.namespace is specified",
            );
        }
    } else if let (Some(a), Some(b)) = (ds, dsr) {
        let same = ["apiGroup", "kind", "name"]
            .iter()
            .all(|k| sem_eq(a.raw(k), b.raw(k)));
        if !same {
            e.invalid(
                p,
                Value::from(p.child("dataSource").as_str()),
                "must match dataSourceRef",
            );
        }
    }
    if let Some(vac) = e.opt_str(spec, "volumeAttributesClassName", p)
        && !vac.is_empty()
    {
        dns_subdomain(e, &p.child("volumeAttributesClassName"), vac);
    }
}

fn validate_pvc(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
    let spec = spec_of(e, obj);
    pvc_spec(e, spec, &Path::root("spec"));
}

fn storage_request(o: Obj<'_>) -> Option<Quantity> {
    let v = peek_obj(peek_obj(o, "resources"), "requests").raw("storage")?;
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Quantity::parse(s.trim()).ok()
}

fn validate_pvc_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    validate_pvc(e, new);
    let new_spec = peek_obj(new, "spec");
    let old_spec = peek_obj(old, "spec");
    let mut n = new_spec.to_value();
    let mut o = old_spec.to_value();
    if let (Some(nm), Some(om)) = (n.as_object_mut(), o.as_object_mut()) {
        if peek_str(old_spec, "volumeName").is_empty() {
            match nm.get("volumeName") {
                Some(v) => om.insert("volumeName".into(), v.clone()),
                None => om.remove("volumeName"),
            };
        }
        if !old_spec.has("storageClassName") {
            om.remove("storageClassName");
            nm.remove("storageClassName");
        }
        let bound = peek_str(peek_obj(new, "status"), "phase") == "Bound";
        if bound {
            let old_storage = old_spec
                .raw("resources")
                .and_then(|r| r.get("requests"))
                .and_then(|r| r.get("storage"))
                .cloned();
            if let Some(Value::Object(res)) = nm.get_mut("resources")
                && let Some(Value::Object(req)) = res.get_mut("requests")
            {
                match old_storage {
                    Some(s) => req.insert("storage".into(), s),
                    None => req.remove("storage"),
                };
            }
        }
        nm.remove("volumeAttributesClassName");
        om.remove("volumeAttributesClassName");
    }
    if !sem_eq(Some(&n), Some(&o)) {
        let mut diff = Vec::new();
        json_diff(Some(&o), Some(&n), "spec", &mut diff);
        e.forbidden(
            &Path::root("spec"),
            &format!("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}", diff.join("\n")),
        );
    }
    if let (Some(ns), Some(os)) = (storage_request(new_spec), storage_request(old_spec))
        && ns.cmp_value(&os) == Ordering::Less
    {
        let status_cap = peek_obj(peek_obj(old, "status"), "capacity")
            .raw("storage")
            .and_then(|v| v.as_str())
            .and_then(|s| Quantity::parse(s).ok())
            .unwrap_or_else(Quantity::zero);
        if ns.cmp_value(&status_cap) != Ordering::Greater {
            e.forbidden(
                &Path::root("spec")
                    .child("resources")
                    .child("requests")
                    .child("storage"),
                "field can not be less than status.capacity",
            );
        }
    }
    immutable(
        e,
        new_spec.raw("volumeMode"),
        old_spec.raw("volumeMode"),
        &Path::root("volumeMode"),
    );
    if old_spec.has("volumeAttributesClassName") {
        match new_spec.raw("volumeAttributesClassName") {
            None => e.forbidden(
                &Path::root("spec").child("volumeAttributesClassName"),
                "update from non-nil value to nil is forbidden",
            ),
            Some(Value::String(s)) if s.is_empty() => e.forbidden(
                &Path::root("spec").child("volumeAttributesClassName"),
                "update from non-nil value to an empty string is forbidden",
            ),
            _ => {}
        }
    }
}

// ---- PersistentVolume ----------------------------------------------------

const PV_SOURCES: [(&str, &str); 22] = [
    ("hostPath", "hostPath"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("nfs", "nfs"),
    ("rbd", "rbd"),
    ("quobyte", "quobyte"),
    ("cephfs", "cephFS"),
    ("iscsi", "iscsi"),
    ("cinder", "cinder"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("scaleIO", "scaleIO"),
    ("local", "local"),
    ("storageos", "storageos"),
    ("csi", "csi"),
];

fn validate_pv(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Cluster, NameRule::Subdomain);
    let p = Path::root("spec");
    let spec = spec_of(e, obj);
    access_modes(e, spec, &p, "");
    let cap = e.quantity_map(spec, "capacity", &p);
    if cap.is_empty() {
        e.required(&p.child("capacity"), "");
    }
    if !cap.iter().any(|(n, _)| *n == "storage") || cap.len() > 1 {
        e.not_supported(
            &p.child("capacity"),
            spec.raw("capacity").cloned().unwrap_or(Value::Null),
            &["storage"],
        );
    }
    for (name, q) in &cap {
        let cp = p.child("capacity").key(name);
        if q.is_negative() {
            e.invalid(
                &cp,
                Value::from(i64::try_from(q.value_ceil()).unwrap_or(i64::MIN)),
                "must be a valid resource quantity",
            );
        }
        if q.cmp_value(&Quantity::zero()) != Ordering::Greater {
            e.invalid(&cp, Value::from(q.canonical()), "must be greater than zero");
        }
    }
    let reclaim = e.str(spec, "persistentVolumeReclaimPolicy", &p);
    if !reclaim.is_empty() && !["Delete", "Recycle", "Retain"].contains(&reclaim) {
        e.not_supported(
            &p.child("persistentVolumeReclaimPolicy"),
            Value::from(reclaim),
            &["Delete", "Recycle", "Retain"],
        );
    }
    let mut node_affinity = false;
    if let Some(na) = e.opt_obj(spec, "nodeAffinity", &p) {
        let np = p.child("nodeAffinity");
        match e.opt_obj(na, "required", &np) {
            Some(req) => {
                node_affinity = true;
                node_selector(e, req, &np.child("required"));
            }
            None => e.required(
                &np.child("required"),
                "must specify required node constraints",
            ),
        }
    }
    let mut n = 0;
    for (key, err_name) in PV_SOURCES {
        let Some(src) = e.opt_obj(spec, key, &p) else {
            continue;
        };
        if n > 0 {
            e.forbidden(
                &p.child(err_name),
                "may not specify more than 1 volume type",
            );
            continue;
        }
        n += 1;
        let sp = p.child(key);
        match key {
            "hostPath" => {
                let path = e.str(src, "path", &sp);
                if path.is_empty() {
                    e.required(&sp.child("path"), "");
                } else if path.replace('\\', "/").split('/').any(|s| s == "..") {
                    e.invalid(
                        &sp.child("path"),
                        Value::from(path),
                        "must not contain '..'",
                    );
                }
            }
            "nfs" => {
                if e.str(src, "server", &sp).is_empty() {
                    e.required(&sp.child("server"), "");
                }
                let path = e.str(src, "path", &sp);
                if path.is_empty() {
                    e.required(&sp.child("path"), "");
                }
                if !path.starts_with('/') {
                    e.invalid(
                        &sp.child("path"),
                        Value::from(path),
                        "must be an absolute path",
                    );
                }
            }
            "local" => {
                let path = e.str(src, "path", &sp);
                if path.is_empty() {
                    e.required(&sp.child("path"), "");
                } else if path.replace('\\', "/").split('/').any(|s| s == "..") {
                    e.invalid(
                        &sp.child("path"),
                        Value::from(path),
                        "must not contain '..'",
                    );
                }
                if !node_affinity {
                    e.required(
                        &p.child("nodeAffinity"),
                        "Local volume requires node affinity",
                    );
                }
            }
            "csi" => {
                let driver = e.str(src, "driver", &sp);
                super::pod::csi_driver_name(e, &sp.child("driver"), driver);
                if e.str(src, "volumeHandle", &sp).is_empty() {
                    e.required(&sp.child("volumeHandle"), "");
                }
            }
            _ => {}
        }
    }
    if n == 0 {
        e.required(&p, "must specify a volume type");
    }
    let host_root = peek_str(peek_obj(spec, "hostPath"), "path")
        .trim_end_matches('/')
        .is_empty()
        && spec.has("hostPath");
    if host_root && reclaim == "Recycle" {
        e.forbidden(
            &p.child("persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        );
    }
    let sc = e.str(spec, "storageClassName", &p);
    if !sc.is_empty() {
        dns_subdomain(e, &p.child("storageClassName"), sc);
    }
    if let Some(vm) = e.opt_str(spec, "volumeMode", &p)
        && vm != "Block"
        && vm != "Filesystem"
    {
        e.not_supported(
            &p.child("volumeMode"),
            Value::from(vm),
            &["Block", "Filesystem"],
        );
    }
}

fn validate_pv_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    validate_pv(e, new);
    let ns = peek_obj(new, "spec");
    let os = peek_obj(old, "spec");
    let source = |s: Obj<'_>| {
        let mut m = serde_json::Map::new();
        for (k, _) in PV_SOURCES {
            if let Some(v) = s.raw(k) {
                let mut v = v.clone();
                if k == "csi"
                    && let Some(cm) = v.as_object_mut()
                    && !peek_obj(peek_obj(os, "csi"), "controllerExpandSecretRef").present()
                {
                    cm.remove("controllerExpandSecretRef");
                }
                m.insert(k.to_string(), v);
            }
        }
        Value::Object(m)
    };
    let (a, b) = (source(os), source(ns));
    if !sem_eq(Some(&a), Some(&b)) {
        let mut diff = Vec::new();
        json_diff(Some(&a), Some(&b), "spec", &mut diff);
        e.forbidden(
            &Path::root("spec").child("persistentvolumesource"),
            &format!(
                "spec.persistentvolumesource is immutable after creation\n{}",
                diff.join("\n")
            ),
        );
    }
    immutable(
        e,
        ns.raw("volumeMode"),
        os.raw("volumeMode"),
        &Path::root("volumeMode"),
    );
}

// ---- Service ---------------------------------------------------------------

fn validate_service(e: &mut Errs, obj: Obj<'_>, old: Option<Obj<'_>>) {
    meta(e, obj, Scope::Namespaced, NameRule::Dns1035);
    let p = Path::root("spec");
    let spec = spec_of(e, obj);
    let svc_type = e.str(spec, "type", &p);
    let old_spec = old.map(|o| peek_obj(o, "spec"));
    let mut cluster_ip = e.str(spec, "clusterIP", &p).to_string();
    let mut cluster_ips: Vec<String> = e
        .str_list(spec, "clusterIPs", &p)
        .into_iter()
        .map(String::from)
        .collect();
    // Upstream's REST layer carries allocated IPs over on update, and fills
    // clusterIPs from clusterIP, before validating.
    if let Some(os) = old_spec
        && svc_type != "ExternalName"
        && peek_str(os, "type") != "ExternalName"
    {
        if cluster_ip.is_empty() {
            cluster_ip = peek_str(os, "clusterIP").to_string();
        }
        if cluster_ips.is_empty() {
            cluster_ips = peek_arr(os, "clusterIPs")
                .iter()
                .filter_map(|v| v.as_str())
                .map(String::from)
                .collect();
        }
    }
    if cluster_ips.is_empty() && !cluster_ip.is_empty() {
        cluster_ips.push(cluster_ip.clone());
    }
    let mut ip_families: Vec<String> = e
        .str_list(spec, "ipFamilies", &p)
        .into_iter()
        .map(String::from)
        .collect();
    if ip_families.is_empty()
        && let Some(os) = old_spec
    {
        ip_families = peek_arr(os, "ipFamilies")
            .iter()
            .filter_map(|v| v.as_str())
            .map(String::from)
            .collect();
    }
    let headless = cluster_ips.len() == 1 && cluster_ips.first().is_some_and(|c| c == "None");
    let ips_value = Value::Array(
        cluster_ips
            .iter()
            .map(|s| Value::from(s.as_str()))
            .collect(),
    );

    if let (Some(os), true) = (
        old_spec,
        svc_type != "ExternalName"
            && old_spec.is_some_and(|o| peek_str(o, "type") != "ExternalName"),
    ) {
        let old_ips: Vec<&str> = peek_arr(os, "clusterIPs")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let old_ips: Vec<&str> = if old_ips.is_empty() && !peek_str(os, "clusterIP").is_empty() {
            vec![peek_str(os, "clusterIP")]
        } else {
            old_ips
        };
        let old_headless = old_ips.len() == 1 && old_ips.first() == Some(&"None");
        let cp = p.child("clusterIPs");
        if !(old_headless && headless) {
            match old_ips.len().cmp(&cluster_ips.len()) {
                Ordering::Equal => {
                    for (i, ip) in old_ips.iter().enumerate() {
                        if cluster_ips.get(i).map(|s| s.as_str()) != Some(*ip) {
                            e.invalid(&cp.index(i), ips_value.clone(), "may not change once set");
                        }
                    }
                }
                Ordering::Greater => {
                    if cluster_ips.is_empty() {
                        e.invalid(
                            &cp.index(0),
                            ips_value.clone(),
                            "primary clusterIP can not be unset",
                        );
                    }
                    if let (Some(o0), Some(n0)) = (old_ips.first(), cluster_ips.first())
                        && *o0 != n0
                    {
                        e.invalid(&cp.index(0), ips_value.clone(), "may not change once set");
                    }
                    if cluster_ips.len() == 1 && peek_str(spec, "ipFamilyPolicy") != "SingleStack" {
                        e.invalid(
                            &p.child("ipFamilyPolicy"),
                            spec.raw("ipFamilyPolicy").cloned().unwrap_or(Value::Null),
                            "must be set to 'SingleStack' when releasing the secondary clusterIP",
                        );
                    }
                }
                Ordering::Less => {
                    if let (Some(o0), Some(n0)) = (old_ips.first(), cluster_ips.first())
                        && *o0 != n0
                    {
                        e.invalid(&cp.index(0), ips_value.clone(), "may not change once set");
                    }
                }
            }
            let old_fam: Vec<&str> = peek_arr(os, "ipFamilies")
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            let fam_value = Value::Array(
                ip_families
                    .iter()
                    .map(|s| Value::from(s.as_str()))
                    .collect(),
            );
            if !old_headless && !headless && old_fam.len() == ip_families.len() {
                for (i, f) in old_fam.iter().enumerate() {
                    if ip_families.get(i).map(|s| s.as_str()) != Some(*f) {
                        e.invalid(
                            &p.child("ipFamilies").index(0),
                            fam_value.clone(),
                            "may not change once set",
                        );
                    }
                }
            }
        }
    }
    if let Some(os) = old_spec
        && svc_type == "LoadBalancer"
        && peek_str(os, "type") == "LoadBalancer"
        && !sem_eq(spec.raw("loadBalancerClass"), os.raw("loadBalancerClass"))
    {
        e.invalid(
            &p.child("loadBalancerClass"),
            spec.raw("loadBalancerClass")
                .cloned()
                .unwrap_or(Value::Null),
            "may not change once set",
        );
    }
    let needs_hc = |s: Obj<'_>| {
        peek_str(s, "type") == "LoadBalancer" && peek_str(s, "externalTrafficPolicy") == "Local"
    };
    if let Some(os) = old_spec
        && needs_hc(os)
        && needs_hc(spec)
    {
        let (a, b) = (
            spec.raw("healthCheckNodePort").and_then(as_int),
            os.raw("healthCheckNodePort").and_then(as_int),
        );
        if a.is_some() && a != b {
            e.forbidden(&p.child("healthCheckNodePort"), "field is immutable");
        }
    }

    let ports = e.arr(spec, "ports", &p);
    if ports.is_empty() && !headless && svc_type != "ExternalName" {
        e.required(&p.child("ports"), "");
    }
    match svc_type {
        "LoadBalancer" if headless => e.invalid(
            &p.child("clusterIPs").index(0),
            Value::from("None"),
            "may not be set to 'None' for LoadBalancer services",
        ),
        "NodePort" if headless => e.invalid(
            &p.child("clusterIPs").index(0),
            Value::from("None"),
            "may not be set to 'None' for NodePort services",
        ),
        "ExternalName" => {
            if !cluster_ips.is_empty() {
                e.forbidden(
                    &p.child("clusterIPs"),
                    "may not be set for ExternalName services",
                );
            }
            if !peek_arr(spec, "ipFamilies").is_empty() {
                e.forbidden(
                    &p.child("ipFamilies"),
                    "may not be set for ExternalName services",
                );
            }
            if spec.has("ipFamilyPolicy") {
                e.forbidden(
                    &p.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                );
            }
            let name = e.str(spec, "externalName", &p);
            let cname = name.strip_suffix('.').unwrap_or(name);
            if cname.is_empty() {
                e.required(&p.child("externalName"), "");
            } else {
                dns_subdomain(e, &p.child("externalName"), cname);
            }
        }
        _ => {}
    }
    let pp = p.child("ports");
    let mut names = BTreeSet::new();
    let mut parsed = Vec::new();
    for (i, v) in ports.iter().enumerate() {
        let ip = pp.index(i);
        let o = e.elem_obj(v, &ip);
        let name = e.str(o, "name", &ip);
        if ports.len() > 1 && name.is_empty() {
            e.required(&ip.child("name"), "");
        } else if !name.is_empty() {
            dns_label(e, &ip.child("name"), name);
            if !names.insert(name) {
                e.duplicate(&ip.child("name"), Value::from(name));
            }
        }
        let port = e.opt_i32(o, "port", &ip).unwrap_or(0);
        for m in is_valid_port_num(port) {
            e.invalid(&ip.child("port"), Value::from(port), &m);
        }
        let proto = e.str(o, "protocol", &ip);
        match proto {
            "" => e.required(&ip.child("protocol"), ""),
            "TCP" | "UDP" | "SCTP" => {}
            other => e.not_supported(
                &ip.child("protocol"),
                Value::from(other),
                &["SCTP", "TCP", "UDP"],
            ),
        }
        let tp = e.opt_int_or_str(o, "targetPort", &ip);
        port_num_or_name(e, &ip.child("targetPort"), tp);
        if let Some(ap) = e.opt_str(o, "appProtocol", &ip) {
            qualified_name(e, &ip.child("appProtocol"), ap);
        }
        let node_port = e.opt_i32(o, "nodePort", &ip).unwrap_or(0);
        parsed.push((proto, port, node_port, ip));
    }
    let sel = e.str_map(spec, "selector", &p);
    validate_labels(e, &sel, &p.child("selector"));
    let affinity = e.str(spec, "sessionAffinity", &p);
    match affinity {
        "" => e.required(&p.child("sessionAffinity"), ""),
        "ClientIP" => {
            let cp = p.child("sessionAffinityConfig");
            let detail = "when session affinity type is ClientIP";
            match e.opt_obj(spec, "sessionAffinityConfig", &p) {
                None => e.required(&cp, detail),
                Some(c) => match e.opt_obj(c, "clientIP", &cp) {
                    None => e.required(&cp.child("clientIP"), detail),
                    Some(ci) => match e.opt_i32(ci, "timeoutSeconds", &cp.child("clientIP")) {
                        None => e.required(&cp.child("clientIP").child("timeoutSeconds"), detail),
                        Some(t) if t <= 0 || t > 86400 => e.invalid(
                            &cp.child("clientIP").child("timeoutSeconds"),
                            Value::from(t),
                            "must be greater than 0 and less than 86400",
                        ),
                        Some(_) => {}
                    },
                },
            }
        }
        "None" => {
            if spec.has("sessionAffinityConfig") {
                e.forbidden(
                    &p.child("sessionAffinityConfig"),
                    "must not be set when session affinity is None",
                );
            }
        }
        other => e.not_supported(
            &p.child("sessionAffinity"),
            Value::from(other),
            &["ClientIP", "None"],
        ),
    }
    if svc_type != "ExternalName" {
        cluster_ips_related(
            e,
            &p,
            spec,
            &cluster_ip,
            &cluster_ips,
            &ip_families,
            headless,
        );
    }
    let ep = p.child("externalIPs");
    for (i, ip) in e.str_list(spec, "externalIPs", &p).iter().enumerate() {
        let before = e.len();
        validate_ip(e, &ep.index(i), ip);
        if e.len() == before {
            non_special_ip(e, &ep.index(i), ip);
        }
    }
    match svc_type {
        "" => e.required(&p.child("type"), ""),
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" => {}
        other => e.not_supported(
            &p.child("type"),
            Value::from(other),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        ),
    }
    if svc_type == "ClusterIP" {
        for (_, _, np, ip) in &parsed {
            if *np != 0 {
                e.forbidden(
                    &ip.child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                );
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (proto, _, np, ip) in &parsed {
        if *np != 0 && !node_ports.insert((*proto, *np)) {
            e.duplicate(&ip.child("nodePort"), Value::from(*np));
        }
    }
    let mut seen = BTreeSet::new();
    for (proto, port, _, ip) in &parsed {
        if !seen.insert((*proto, *port)) {
            let key = serde_json::json!({"Name": "", "Protocol": proto, "AppProtocol": null, "Port": port, "TargetPort": 0, "NodePort": 0});
            e.duplicate(ip, key);
        }
    }
    let ranges = e.str_list(spec, "loadBalancerSourceRanges", &p);
    if !ranges.is_empty() {
        let fp = p.child("LoadBalancerSourceRanges");
        if svc_type != "LoadBalancer" {
            e.forbidden(&fp, "may only be used when `type` is 'LoadBalancer'");
        }
        for (i, r) in ranges.iter().enumerate() {
            validate_cidr(e, &fp.index(i), r.trim());
        }
    } else {
        let ann = peek_obj(peek_obj(obj, "metadata"), "annotations");
        let key = "service.beta.kubernetes.io/load-balancer-source-ranges";
        if let Some(val) = ann.raw(key).and_then(|v| v.as_str()) {
            let fp = Path::root("metadata").child("annotations").key(key);
            if svc_type != "LoadBalancer" {
                e.forbidden(&fp, "may only be used when `type` is 'LoadBalancer'");
            }
            let val = val.trim();
            if !val.is_empty() {
                for c in val.split(',') {
                    validate_cidr(e, &fp, c.trim());
                }
            }
        }
    }
    if spec.has("allocateLoadBalancerNodePorts") && svc_type != "LoadBalancer" {
        e.forbidden(
            &p.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        );
    }
    if svc_type == "LoadBalancer" && !spec.has("allocateLoadBalancerNodePorts") {
        e.required(&Path::root("allocateLoadBalancerNodePorts"), "");
    }
    if let Some(lbc) = e.opt_str(spec, "loadBalancerClass", &p) {
        if svc_type == "LoadBalancer" {
            qualified_name(e, &p.child("loadBalancerClass"), lbc);
        } else {
            e.forbidden(
                &p.child("loadBalancerClass"),
                "may only be used when `type` is 'LoadBalancer'",
            );
        }
    }
    let externally = svc_type == "LoadBalancer"
        || svc_type == "NodePort"
        || (svc_type == "ClusterIP" && !peek_arr(spec, "externalIPs").is_empty());
    let etp = e.str(spec, "externalTrafficPolicy", &p);
    if !externally {
        if !etp.is_empty() {
            e.invalid(
                &p.child("externalTrafficPolicy"),
                Value::from(etp),
                "may only be set for externally-accessible services",
            );
        }
    } else if etp.is_empty() {
        e.required(&p.child("externalTrafficPolicy"), "");
    } else if etp != "Cluster" && etp != "Local" {
        e.not_supported(
            &p.child("externalTrafficPolicy"),
            Value::from(etp),
            &["Cluster", "Local"],
        );
    }
    let hc = e.opt_i32(spec, "healthCheckNodePort", &p).unwrap_or(0);
    if !(svc_type == "LoadBalancer" && etp == "Local") {
        if hc != 0 {
            e.invalid(&p.child("healthCheckNodePort"), Value::from(hc), "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
        }
    } else if hc == 0 {
        e.required(&p.child("healthCheckNodePort"), "");
    } else {
        for m in is_valid_port_num(hc) {
            e.invalid(&p.child("healthCheckNodePort"), Value::from(hc), &m);
        }
    }
    match e.opt_str(spec, "internalTrafficPolicy", &p) {
        None => {
            if ["NodePort", "LoadBalancer", "ClusterIP"].contains(&svc_type) {
                e.required(&p.child("internalTrafficPolicy"), "");
            }
        }
        Some("Cluster") | Some("Local") => {}
        Some(other) => e.not_supported(
            &p.child("internalTrafficPolicy"),
            Value::from(other),
            &["Cluster", "Local"],
        ),
    }
    if let Some(td) = e.opt_str(spec, "trafficDistribution", &p)
        && td != "PreferClose"
    {
        e.not_supported(
            &p.child("trafficDistribution"),
            Value::from(td),
            &["PreferClose"],
        );
    }
}

fn cluster_ips_related(
    e: &mut Errs,
    p: &Path,
    spec: Obj<'_>,
    cluster_ip: &str,
    ips: &[String],
    families: &[String],
    headless: bool,
) {
    let cp = p.child("clusterIPs");
    let ips_value = Value::Array(ips.iter().map(|s| Value::from(s.as_str())).collect());
    if !cluster_ip.is_empty() {
        if ips.is_empty() {
            e.required(&cp, "");
        } else if ips.first().map(|s| s.as_str()) != Some(cluster_ip) {
            e.invalid(&cp, ips_value.clone(), "first value must match `clusterIP`");
        }
    } else if !ips.is_empty() {
        e.invalid(
            &cp,
            ips_value.clone(),
            "must be empty when `clusterIP` is not specified",
        );
    }
    let fp = p.child("ipFamilies");
    let mut seen = BTreeSet::new();
    for (i, f) in families.iter().enumerate() {
        if f != "IPv4" && f != "IPv6" {
            e.not_supported(&fp.index(i), Value::from(f.as_str()), &["IPv4", "IPv6"]);
        }
        if !seen.insert(f) {
            e.duplicate(&fp.index(i), Value::from(f.as_str()));
        }
    }
    if let Some(pol) = e.opt_str(spec, "ipFamilyPolicy", p)
        && !["SingleStack", "PreferDualStack", "RequireDualStack"].contains(&pol)
    {
        e.not_supported(
            &p.child("ipFamilyPolicy"),
            Value::from(pol),
            &["PreferDualStack", "RequireDualStack", "SingleStack"],
        );
    }
    let mut invalid = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == "None" {
            if ips.len() > 1 {
                invalid = true;
                e.invalid(
                    &cp,
                    ips_value.clone(),
                    "'None' must be the first and only value",
                );
            }
            continue;
        }
        let before = e.len();
        validate_ip(e, &cp.index(i), ip);
        invalid |= e.len() > before;
    }
    if ips.len() > 2 {
        e.invalid(&cp, ips_value.clone(), "may only hold up to 2 values");
    }
    if invalid {
        return;
    }
    let parsed: Vec<Option<IpAddr>> = ips.iter().map(|s| s.parse::<IpAddr>().ok()).collect();
    if ips.len() > 1 {
        let v4 = parsed
            .iter()
            .filter(|p| p.is_some_and(|ip| ip.is_ipv4()))
            .count();
        let v6 = parsed
            .iter()
            .filter(|p| p.is_some_and(|ip| ip.is_ipv6()))
            .count();
        if v4 == 0 || v6 == 0 {
            e.invalid(
                &cp,
                ips_value,
                "may specify no more than one IP for each IP family",
            );
        }
    }
    if !headless {
        for (i, (ip, fam)) in parsed.iter().zip(families.iter()).enumerate() {
            let is6 = ip.is_some_and(|ip| ip.is_ipv6());
            if fam == "IPv4" && is6 {
                e.invalid(
                    &cp.index(i),
                    Value::from(ips.get(i).map(|s| s.as_str()).unwrap_or("")),
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                );
            }
            if fam == "IPv6" && !is6 {
                e.invalid(
                    &cp.index(i),
                    Value::from(ips.get(i).map(|s| s.as_str()).unwrap_or("")),
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                );
            }
        }
    }
}

/// `ValidateNonSpecialIP`.
fn non_special_ip(e: &mut Errs, p: &Path, ip: &str) {
    let Some(addr) = super::names::parse_ip_sloppy(ip) else {
        e.invalid(p, Value::from(ip), "must be a valid IP address");
        return;
    };
    let (unspec, loopback, ll_unicast, ll_multicast) = match addr {
        IpAddr::V4(v) => {
            let o = v.octets();
            (
                v.is_unspecified(),
                v.is_loopback(),
                o[0] == 169 && o[1] == 254,
                o[0] == 224 && o[1] == 0 && o[2] == 0,
            )
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            (
                v.is_unspecified(),
                v.is_loopback(),
                (s[0] & 0xffc0) == 0xfe80,
                (s[0] & 0xff0f) == 0xff02,
            )
        }
    };
    if unspec {
        e.invalid(
            p,
            Value::from(ip),
            &format!("may not be unspecified ({ip})"),
        );
    }
    if loopback {
        e.invalid(
            p,
            Value::from(ip),
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        );
    }
    if ll_unicast {
        e.invalid(
            p,
            Value::from(ip),
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        );
    }
    if ll_multicast {
        e.invalid(
            p,
            Value::from(ip),
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        );
    }
}

// ---- Endpoints ---------------------------------------------------------------

fn validate_endpoints(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
    let sp = Path::root("subsets");
    for (i, v) in e.arr(obj, "subsets", &Path::root("")).iter().enumerate() {
        let ip = sp.index(i);
        let s = e.elem_obj(v, &ip);
        let addrs = e.arr(s, "addresses", &ip);
        let not_ready = e.arr(s, "notReadyAddresses", &ip);
        if addrs.is_empty() && not_ready.is_empty() {
            e.required(&ip, "must specify `addresses` or `notReadyAddresses`");
        }
        for (key, list) in [("addresses", addrs), ("notReadyAddresses", not_ready)] {
            for (j, a) in list.iter().enumerate() {
                let ap = ip.child(key).index(j);
                let ao = e.elem_obj(a, &ap);
                let addr = e.str(ao, "ip", &ap);
                validate_ip(e, &ap.child("ip"), addr);
                let host = e.str(ao, "hostname", &ap);
                if !host.is_empty() {
                    dns_label(e, &ap.child("hostname"), host);
                }
                if let Some(node) = e.opt_str(ao, "nodeName", &ap) {
                    dns_subdomain(e, &ap.child("nodeName"), node);
                }
                non_special_ip(e, &ap.child("ip"), addr);
            }
        }
        let ports = e.arr(s, "ports", &ip);
        for (j, pv) in ports.iter().enumerate() {
            let pp = ip.child("ports").index(j);
            let po = e.elem_obj(pv, &pp);
            let name = e.str(po, "name", &pp);
            if ports.len() > 1 && name.is_empty() {
                e.required(&pp.child("name"), "");
            } else if !name.is_empty() {
                dns_label(e, &pp.child("name"), name);
            }
            let port = e.opt_i32(po, "port", &pp).unwrap_or(0);
            for m in is_valid_port_num(port) {
                e.invalid(&pp.child("port"), Value::from(port), &m);
            }
            match e.str(po, "protocol", &pp) {
                "" => e.required(&pp.child("protocol"), ""),
                "TCP" | "UDP" | "SCTP" => {}
                other => e.not_supported(
                    &pp.child("protocol"),
                    Value::from(other),
                    &["SCTP", "TCP", "UDP"],
                ),
            }
            if let Some(ap) = e.opt_str(po, "appProtocol", &pp) {
                qualified_name(e, &pp.child("appProtocol"), ap);
            }
        }
    }
}

// ---- Node ------------------------------------------------------------------------

fn node_taints(e: &mut Errs, spec: Obj<'_>) {
    let tp = Path::root("metadata").child("taints");
    let mut unique: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, v) in e
        .arr(spec, "taints", &Path::root("spec"))
        .iter()
        .enumerate()
    {
        let ip = tp.index(i);
        let t = e.elem_obj(v, &ip);
        let key = e.str(t, "key", &ip);
        qualified_name(e, &ip.child("key"), key);
        let value = e.str(t, "value", &ip);
        let errs = is_label_value(value);
        if !errs.is_empty() {
            e.invalid(&ip.child("value"), Value::from(value), &errs.join(";"));
        }
        let effect = e.str(t, "effect", &ip);
        taint_effect(e, &ip.child("effect"), effect, false);
        if !unique.insert((effect.to_string(), key.to_string())) {
            e.duplicate_detail(
                &ip,
                t.to_value(),
                "taints must be unique by key and effect pair",
            );
        }
    }
}

fn node_resources(e: &mut Errs, obj: Obj<'_>) {
    let status = peek_obj(obj, "status");
    let sp = Path::root("status");
    for f in ["capacity", "allocatable"] {
        for (k, q) in e.quantity_map(status, f, &sp) {
            resource_quantity_value(e, &sp.child(f).child(k), k, &q);
        }
    }
}

fn validate_node(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Cluster, NameRule::Subdomain);
    let spec = spec_of(e, obj);
    node_taints(e, spec);
    node_resources(e, obj);
    let cp = Path::root("spec").child("podCIDRs");
    let cidrs = e.str_list(spec, "podCIDRs", &Path::root("spec"));
    for (i, c) in cidrs.iter().enumerate() {
        validate_cidr(e, &cp.index(i), c);
    }
    if cidrs.len() > 1 {
        let fam: Vec<bool> = cidrs.iter().map(|c| c.contains(':')).collect();
        if cidrs.len() > 2 || fam.first() == fam.get(1) {
            e.invalid(
                &cp,
                spec.raw("podCIDRs").cloned().unwrap_or(Value::Null),
                "may specify no more than one CIDR for each IP family",
            );
        }
        let mut seen = BTreeSet::new();
        for (i, c) in cidrs.iter().enumerate() {
            if !seen.insert(*c) {
                e.duplicate(&cp.index(i), Value::from(*c));
            }
        }
    }
}

fn validate_node_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    node_resources(e, new);
    let ap = Path::root("status").child("addresses");
    let addrs = peek_arr(peek_obj(new, "status"), "addresses");
    for (i, a) in addrs.iter().enumerate() {
        if addrs.iter().take(i).any(|b| sem_eq(Some(a), Some(b))) {
            e.duplicate(&ap.index(i), a.clone());
        }
    }
    let ns = peek_obj(new, "spec");
    let os = peek_obj(old, "spec");
    let old_cidrs = peek_arr(os, "podCIDRs");
    if !old_cidrs.is_empty()
        && !sem_eq(
            Some(&Value::Array(old_cidrs.to_vec())),
            Some(&Value::Array(peek_arr(ns, "podCIDRs").to_vec())),
        )
    {
        e.forbidden(
            &Path::root("spec").child("podCIDRs"),
            "node updates may not change podCIDR except from \"\" to valid",
        );
    }
    let old_pid = peek_str(os, "providerID");
    if !old_pid.is_empty() && old_pid != peek_str(ns, "providerID") {
        e.forbidden(
            &Path::root("spec").child("providerID"),
            "node updates may not change providerID except from \"\" to valid",
        );
    }
    node_taints(e, ns);
    if peek_str(ns, "externalID") != peek_str(os, "externalID") {
        e.forbidden(
            &Path::root("spec").child("externalID"),
            "may not be updated",
        );
    }
}

// ---- Namespace ---------------------------------------------------------------------

const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

fn validate_namespace(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Cluster, NameRule::Label);
    let spec = spec_of(e, obj);
    let fp = Path::root("spec").child("finalizers");
    for f in e.str_list(spec, "finalizers", &Path::root("spec")) {
        push_msgs(e, &fp, f, is_qualified_name(f));
        if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
            e.invalid(
                &fp,
                Value::from(f),
                "name is neither a standard finalizer name nor is it fully qualified",
            );
        }
    }
}

// ---- ConfigMap / Secret ----------------------------------------------------------

/// Decodes standard, padded base64 (Go's `base64.StdEncoding`); the error
/// is upstream's decoder text.
fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.chunks(4);
    let n_chunks = bytes.len().div_ceil(4);
    for (ci, chunk) in chunks.enumerate() {
        let base = ci * 4;
        let mut acc: u32 = 0;
        let mut pad = 0;
        for (i, &c) in chunk.iter().enumerate() {
            if c == b'=' {
                if ci + 1 != n_chunks || i < 2 || (i == 2 && chunk.get(3) != Some(&b'=')) {
                    return Err(format!("illegal base64 data at input byte {}", base + i));
                }
                pad += 1;
                acc <<= 6;
                continue;
            }
            if pad > 0 {
                return Err(format!("illegal base64 data at input byte {}", base + i));
            }
            match val(c) {
                Some(v) => acc = (acc << 6) | u32::from(v),
                None => return Err(format!("illegal base64 data at input byte {}", base + i)),
            }
        }
        if chunk.len() < 4 {
            return Err(format!(
                "illegal base64 data at input byte {}",
                base + chunk.len()
            ));
        }
        let b = acc.to_be_bytes();
        out.extend_from_slice(b.get(1..4 - pad).unwrap_or(&[]));
    }
    Ok(out)
}

/// Go's `json.Unmarshal` into `map[string]interface{}` error text, roughly.
fn json_object_error(data: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(_)) => None,
        Ok(other) => {
            let t = match other {
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "bool",
                Value::Array(_) => "array",
                _ => return None,
            };
            Some(format!(
                "json: cannot unmarshal {t} into Go value of type map[string]interface {{}}"
            ))
        }
        Err(err) if err.is_eof() => Some("unexpected end of JSON input".to_string()),
        Err(err) => {
            let first = String::from_utf8_lossy(data).trim_start().chars().next();
            match first {
                Some(c) if !"{[\"-0123456789tfn".contains(c) => Some(format!(
                    "invalid character '{c}' looking for beginning of value"
                )),
                _ => Some(err.to_string()),
            }
        }
    }
}

/// Data entries (key, decoded bytes) merged from `data` (base64) and
/// `stringData`, sorted by key.
fn secret_data<'a>(e: &mut Errs, obj: Obj<'a>) -> BTreeMap<&'a str, Vec<u8>> {
    let root = Path::root("");
    let dp = Path::root("data");
    let mut out = BTreeMap::new();
    if let Some(d) = e.opt_obj(obj, "data", &root) {
        for k in d.keys() {
            match d.raw(k) {
                None => {
                    out.insert(k, Vec::new());
                }
                Some(Value::String(s)) => match decode_base64(s) {
                    Ok(b) => {
                        out.insert(k, b);
                    }
                    Err(msg) => {
                        e.invalid(&dp.key(k), Value::from("<secret contents redacted>"), &msg);
                        out.insert(k, Vec::new());
                    }
                },
                Some(other) => e.type_invalid(&dp.key(k), other, "string"),
            }
        }
    }
    for (k, v) in e.str_map(obj, "stringData", &root) {
        out.insert(k, v.as_bytes().to_vec());
    }
    out
}

fn validate_secret(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
    let dp = Path::root("data");
    let data = secret_data(e, obj);
    let mut total = 0;
    for (k, v) in &data {
        push_msgs(e, &dp.key(k), k, is_config_map_key(k));
        total += v.len();
    }
    if total > MAX_SECRET_SIZE {
        e.too_long(&dp, MAX_SECRET_SIZE);
    }
    let secret_type = e.str(obj, "type", &Path::root(""));
    match secret_type {
        "kubernetes.io/service-account-token" => {
            let ann = peek_obj(peek_obj(obj, "metadata"), "annotations");
            if peek_str(ann, "kubernetes.io/service-account.name").is_empty() {
                e.required(
                    &Path::root("metadata")
                        .child("annotations")
                        .key("kubernetes.io/service-account.name"),
                    "",
                );
            }
        }
        "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
            let key = if secret_type == "kubernetes.io/dockercfg" {
                ".dockercfg"
            } else {
                ".dockerconfigjson"
            };
            match data.get(key) {
                None => e.required(&dp.key(key), ""),
                Some(bytes) => {
                    if let Some(err) = json_object_error(bytes) {
                        e.invalid(
                            &dp.key(key),
                            Value::from("<secret contents redacted>"),
                            &err,
                        );
                    }
                }
            }
        }
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            e.required(&dp.key("username"), "");
            e.required(&dp.key("password"), "");
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|v| v.is_empty()) => {
            e.required(&dp.key("ssh-privatekey"), "");
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !data.contains_key(key) {
                    e.required(&dp.key(key), "");
                }
            }
        }
        _ => {}
    }
}

fn immutable_flag(e: &mut Errs, new: Obj<'_>, old: Obj<'_>, fields: &[&str]) {
    if old.raw("immutable").and_then(|v| v.as_bool()) != Some(true) {
        return;
    }
    if new.raw("immutable").and_then(|v| v.as_bool()) != Some(true) {
        e.forbidden(
            &Path::root("immutable"),
            "field is immutable when `immutable` is set",
        );
    }
    for f in fields {
        if !sem_eq(new.raw(f), old.raw(f)) {
            e.forbidden(&Path::root(f), "field is immutable when `immutable` is set");
        }
    }
}

fn validate_secret_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    let t = |o: Obj<'_>| {
        let s = peek_str(o, "type");
        Value::from(if s.is_empty() { "Opaque" } else { s })
    };
    let (nt, ot) = (t(new), t(old));
    immutable(e, Some(&nt), Some(&ot), &Path::root("type"));
    immutable_flag(e, new, old, &["data"]);
    validate_secret(e, new);
}

fn validate_config_map(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
    let root = Path::root("");
    let data = e.str_map(obj, "data", &root);
    let binary = e.opt_obj(obj, "binaryData", &root).unwrap_or_default();
    let mut total = 0;
    for (k, v) in &data {
        let kp = Path::root("data").key(k);
        push_msgs(e, &kp, k, is_config_map_key(k));
        if binary.has(k) || binary.keys().contains(k) {
            e.invalid(
                &kp,
                Value::from(*k),
                "duplicate of key present in binaryData",
            );
        }
        total += v.len();
    }
    for k in binary.keys() {
        let kp = Path::root("binaryData").key(k);
        push_msgs(e, &kp, k, is_config_map_key(k));
        match binary.raw(k) {
            Some(Value::String(s)) => match decode_base64(s) {
                Ok(b) => total += b.len(),
                Err(msg) => e.invalid(&kp, Value::from(s.as_str()), &msg),
            },
            Some(other) => e.type_invalid(&kp, other, "string"),
            None => {}
        }
    }
    if total > MAX_SECRET_SIZE {
        e.too_long(&Path::root(""), MAX_SECRET_SIZE);
    }
}

fn validate_config_map_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    immutable_flag(e, new, old, &["data", "binaryData"]);
    validate_config_map(e, new);
}

// ---- ResourceQuota / LimitRange -------------------------------------------------------

const STANDARD_QUOTA_RESOURCES: [&str; 19] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_standard_quota_resource(name: &str) -> bool {
    STANDARD_QUOTA_RESOURCES.contains(&name)
        || name.starts_with("hugepages-")
        || name.starts_with("requests.hugepages-")
}

fn quota_resource_name(e: &mut Errs, p: &Path, name: &str) {
    if resource_name(e, p, name) && !name.contains('/') && !is_standard_quota_resource(name) {
        e.invalid(
            p,
            Value::from(name),
            "must be a standard resource for quota",
        );
    }
}

const QUOTA_SCOPES: [&str; 7] = [
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];

fn scope_valid_for_resource(scope: &str, resource: &str) -> bool {
    let pod_count = resource == "pods";
    let pod_compute = [
        "cpu",
        "memory",
        "limits.cpu",
        "limits.memory",
        "requests.cpu",
        "requests.memory",
    ]
    .contains(&resource);
    match scope {
        "Terminating"
        | "NotTerminating"
        | "NotBestEffort"
        | "PriorityClass"
        | "CrossNamespacePodAffinity" => pod_count || pod_compute,
        "BestEffort" => pod_count,
        "VolumeAttributesClass" => {
            resource == "persistentvolumeclaims" || resource == "requests.storage"
        }
        _ => true,
    }
}

fn quota_list(e: &mut Errs, o: Obj<'_>, key: &str, parent: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let p = parent.child(key);
    for (k, q) in e.quantity_map(o, key, parent) {
        let kp = p.key(k);
        quota_resource_name(e, &kp, k);
        resource_quantity_value(e, &kp, k, &q);
        names.push(k.to_string());
    }
    names
}

fn quota_spec(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    let hard = quota_list(e, spec, "hard", p);
    let scopes = e.str_list(spec, "scopes", p);
    let sp = p.child("scopes");
    let scopes_value = spec.raw("scopes").cloned().unwrap_or(Value::Null);
    for s in &scopes {
        if !QUOTA_SCOPES.contains(s) {
            e.invalid(&sp, scopes_value.clone(), "unsupported scope");
        }
        for k in &hard {
            if is_standard_quota_resource(k) && !scope_valid_for_resource(s, k) {
                e.invalid(
                    &sp,
                    scopes_value.clone(),
                    "unsupported scope applied to resource",
                );
            }
        }
    }
    for (a, b) in [
        ("BestEffort", "NotBestEffort"),
        ("Terminating", "NotTerminating"),
    ] {
        if scopes.contains(&a) && scopes.contains(&b) {
            e.invalid(&sp, scopes_value.clone(), "conflicting scopes");
        }
    }
    let Some(sel) = e.opt_obj(spec, "scopeSelector", p) else {
        return;
    };
    let mp = p.child("scopeSelector").child("matchExpressions");
    let mut seen = Vec::new();
    for (i, v) in e
        .arr(sel, "matchExpressions", &p.child("scopeSelector"))
        .iter()
        .enumerate()
    {
        let o = e.elem_obj(v, &mp.index(i));
        let scope = e.str(o, "scopeName", &mp.index(i));
        let op = e.str(o, "operator", &mp.index(i));
        let values = e.str_list(o, "values", &mp.index(i));
        if !QUOTA_SCOPES.contains(&scope) {
            e.invalid(
                &mp.child("scopeName"),
                Value::from(scope),
                "unsupported scope",
            );
        }
        for k in &hard {
            if is_standard_quota_resource(k) && !scope_valid_for_resource(scope, k) {
                e.invalid(&mp, sel.to_value(), "unsupported scope applied to resource");
            }
        }
        if [
            "BestEffort",
            "NotBestEffort",
            "Terminating",
            "NotTerminating",
            "CrossNamespacePodAffinity",
        ]
        .contains(&scope)
            && op != "Exists"
        {
            e.invalid(&mp.child("operator"), Value::from(op), "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity");
        }
        match op {
            "In" | "NotIn" => {
                if values.is_empty() {
                    e.required(&mp.child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector");
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    e.invalid(&mp.child("values"), o.raw("values").cloned().unwrap_or(Value::Null), "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector");
                }
            }
            other => e.invalid(
                &mp.child("operator"),
                Value::from(other),
                "not a valid selector operator",
            ),
        }
        seen.push(scope);
    }
    for (a, b) in [
        ("BestEffort", "NotBestEffort"),
        ("Terminating", "NotTerminating"),
    ] {
        if seen.contains(&a) && seen.contains(&b) {
            e.invalid(&mp, scopes_value.clone(), "conflicting scopes");
        }
    }
}

fn validate_resource_quota(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
    let spec = spec_of(e, obj);
    quota_spec(e, spec, &Path::root("spec"));
    let status = e.obj(obj, "status", &Path::root(""));
    quota_list(e, status, "hard", &Path::root("status"));
    quota_list(e, status, "used", &Path::root("status"));
}

fn validate_resource_quota_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    let spec = spec_of(e, new);
    quota_spec(e, spec, &Path::root("spec"));
    let mut scratch = Errs::new();
    let a: BTreeSet<&str> = scratch
        .str_list(spec, "scopes", &Path::root("spec"))
        .into_iter()
        .collect();
    let b: BTreeSet<&str> = scratch
        .str_list(peek_obj(old, "spec"), "scopes", &Path::root("spec"))
        .into_iter()
        .collect();
    if a != b {
        e.invalid(
            &Path::root("spec").child("scopes"),
            spec.raw("scopes").cloned().unwrap_or(Value::Null),
            super::meta::FIELD_IMMUTABLE,
        );
    }
}

fn validate_limit_range(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
    let spec = spec_of(e, obj);
    let lp = Path::root("spec").child("limits");
    let mut types = BTreeSet::new();
    for (i, v) in e
        .arr(spec, "limits", &Path::root("spec"))
        .iter()
        .enumerate()
    {
        let ip = lp.index(i);
        let l = e.elem_obj(v, &ip);
        let t = e.str(l, "type", &ip);
        let before = e.len();
        push_msgs(e, &ip.child("type"), t, is_qualified_name(t));
        if e.len() == before
            && !t.contains('/')
            && !["Pod", "Container", "PersistentVolumeClaim"].contains(&t)
        {
            e.invalid(
                &ip.child("type"),
                Value::from(t),
                "must be a standard limit type or fully qualified",
            );
        }
        if !types.insert(t) {
            e.duplicate(&ip.child("type"), Value::from(t));
        }
        let check_name = |e: &mut Errs, p: &Path, name: &str| {
            if t == "Pod" || t == "Container" {
                container_resource_name(e, p, name);
            } else {
                resource_name(e, p, name);
            }
        };
        let mut maps: BTreeMap<&str, BTreeMap<&str, Quantity>> = BTreeMap::new();
        for f in ["max", "min"] {
            for (k, q) in e.quantity_map(l, f, &ip) {
                check_name(e, &ip.child(f).key(k), k);
                maps.entry(f).or_default().insert(k, q);
            }
        }
        if t == "Pod" {
            if !peek_obj(l, "default").keys().is_empty() {
                e.forbidden(
                    &ip.child("default"),
                    "may not be specified when `type` is 'Pod'",
                );
            }
            if !peek_obj(l, "defaultRequest").keys().is_empty() {
                e.forbidden(
                    &ip.child("defaultRequest"),
                    "may not be specified when `type` is 'Pod'",
                );
            }
        } else {
            for f in ["default", "defaultRequest"] {
                for (k, q) in e.quantity_map(l, f, &ip) {
                    check_name(e, &ip.child(f).key(k), k);
                    maps.entry(f).or_default().insert(k, q);
                }
            }
        }
        if t == "PersistentVolumeClaim" {
            let has = |f: &str| maps.get(f).is_some_and(|m| m.contains_key("storage"));
            if !has("min") && !has("max") {
                e.required(
                    &ip.child("limits"),
                    "either minimum or maximum storage value is required, but neither was provided",
                );
            }
        }
        for (k, q) in e.quantity_map(l, "maxLimitRequestRatio", &ip) {
            check_name(e, &ip.child("maxLimitRequestRatio").key(k), k);
            maps.entry("ratio").or_default().insert(k, q);
        }
        let keys: BTreeSet<&str> = maps.values().flat_map(|m| m.keys().copied()).collect();
        for k in keys {
            let get = |f: &str| maps.get(f).and_then(|m| m.get(k)).copied();
            let (min, max, def, defreq, ratio) = (
                get("min"),
                get("max"),
                get("default"),
                get("defaultRequest"),
                get("ratio"),
            );
            let gt = |a: &Quantity, b: &Quantity| a.cmp_value(b) == Ordering::Greater;
            if let (Some(mn), Some(mx)) = (min, max)
                && gt(&mn, &mx)
            {
                e.invalid(
                    &ip.child("min").key(k),
                    mn.as_bad_value(),
                    &format!(
                        "min value {} is greater than max value {}",
                        mn.canonical(),
                        mx.canonical()
                    ),
                );
            }
            if let (Some(dr), Some(mn)) = (defreq, min)
                && gt(&mn, &dr)
            {
                e.invalid(
                    &ip.child("defaultRequest").key(k),
                    dr.as_bad_value(),
                    &format!(
                        "min value {} is greater than default request value {}",
                        mn.canonical(),
                        dr.canonical()
                    ),
                );
            }
            if let (Some(dr), Some(mx)) = (defreq, max)
                && gt(&dr, &mx)
            {
                e.invalid(
                    &ip.child("defaultRequest").key(k),
                    dr.as_bad_value(),
                    &format!(
                        "default request value {} is greater than max value {}",
                        dr.canonical(),
                        mx.canonical()
                    ),
                );
            }
            if let (Some(dr), Some(d)) = (defreq, def)
                && gt(&dr, &d)
            {
                e.invalid(
                    &ip.child("defaultRequest").key(k),
                    dr.as_bad_value(),
                    &format!(
                        "default request value {} is greater than default limit value {}",
                        dr.canonical(),
                        d.canonical()
                    ),
                );
            }
            if let (Some(d), Some(mn)) = (def, min)
                && gt(&mn, &d)
            {
                e.invalid(
                    &ip.child("default").key(k),
                    mn.as_bad_value(),
                    &format!(
                        "min value {} is greater than default value {}",
                        mn.canonical(),
                        d.canonical()
                    ),
                );
            }
            if let (Some(d), Some(mx)) = (def, max)
                && gt(&d, &mx)
            {
                e.invalid(
                    &ip.child("default").key(k),
                    mx.as_bad_value(),
                    &format!(
                        "default value {} is greater than max value {}",
                        d.canonical(),
                        mx.canonical()
                    ),
                );
            }
            if let Some(r) = ratio
                && r.cmp_value(&Quantity::from_int(1)) == Ordering::Less
            {
                e.invalid(
                    &ip.child("maxLimitRequestRatio").key(k),
                    r.as_bad_value(),
                    &format!("ratio {} is less than 1", r.canonical()),
                );
            }
            if let (Some(r), Some(mn), Some(mx)) = (ratio, min, max) {
                let mnv = mn.milli_value() as f64;
                let limit = if mnv == 0.0 {
                    f64::INFINITY
                } else {
                    mx.milli_value() as f64 / mnv
                };
                let rv = r.milli_value() as f64 / 1000.0;
                if rv > limit {
                    e.invalid(
                        &ip.child("maxLimitRequestRatio").key(k),
                        r.as_bad_value(),
                        &format!(
                            "ratio {} is greater than max/min = {limit:.6}",
                            r.canonical()
                        ),
                    );
                }
            }
            let overcommit = super::pod::is_native_resource(k) && !k.starts_with("hugepages-");
            if let (false, Some(d), Some(dr)) = (overcommit, def, defreq)
                && d.cmp_value(&dr) != Ordering::Equal
            {
                e.invalid(
                    &ip.child("defaultRequest").key(k),
                    dr.as_bad_value(),
                    &format!(
                        "default value {} must equal to defaultRequest value {} in {k}",
                        d.canonical(),
                        dr.canonical()
                    ),
                );
            }
        }
    }
}

// ---- PodTemplate / ReplicationController ------------------------------------------------

fn validate_pod_template(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
    let t = e.obj(obj, "template", &Path::root(""));
    validate_pod_template_spec(e, t, &Path::root("template"), &BTreeMap::new());
}

fn rc_spec(e: &mut Errs, obj: Obj<'_>) {
    let p = Path::root("spec");
    let spec = spec_of(e, obj);
    let mrs = e.opt_i32(spec, "minReadySeconds", &p);
    e.nonnegative(&p.child("minReadySeconds"), mrs);
    let sel = e.str_map(spec, "selector", &p);
    if sel.is_empty() {
        e.required(&p.child("selector"), "");
    }
    let replicas = e.opt_i32(spec, "replicas", &p);
    e.nonnegative(&p.child("replicas"), replicas);
    let tp = p.child("template");
    match e.opt_obj(spec, "template", &p) {
        None => e.required(&tp, ""),
        Some(t) => {
            if !sel.is_empty() {
                selector_matches_template(e, &selector_from_map(&sel), t, &tp, false);
            }
            validate_pod_template_spec(e, t, &tp, &BTreeMap::new());
            let ts = peek_obj(t, "spec");
            let rp = peek_str(ts, "restartPolicy");
            if rp != "Always" {
                e.not_supported(
                    &tp.child("spec").child("restartPolicy"),
                    Value::from(rp),
                    &["Always"],
                );
            }
            if ts.has("activeDeadlineSeconds") {
                e.forbidden(
                    &tp.child("spec").child("activeDeadlineSeconds"),
                    "activeDeadlineSeconds in ReplicationController is not Supported",
                );
            }
        }
    }
}

// ---- Event (core/v1) ---------------------------------------------------------------------

/// `legacyValidateEvent` for `v1` requests (`events.k8s.io` reuses it with
/// `reportingController` naming).
pub(crate) fn legacy_event(e: &mut Errs, obj: Obj<'_>, core_v1: bool) {
    let root = Path::root("");
    let ns = peek_str(peek_obj(obj, "metadata"), "namespace");
    let involved_key = if core_v1 {
        "involvedObject"
    } else {
        "regarding"
    };
    let involved = e.obj(obj, involved_key, &root);
    let involved_ns = e.str(involved, "namespace", &Path::root(involved_key));
    let ip = Path::root("involvedObject").child("namespace");
    let has_time = obj.has("eventTime");
    if !has_time {
        if involved_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                e.invalid(
                    &ip,
                    Value::from(involved_ns),
                    "does not match event.namespace",
                );
            }
        } else if ns != involved_ns {
            e.invalid(
                &ip,
                Value::from(involved_ns),
                "does not match event.namespace",
            );
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            e.invalid(
                &ip,
                Value::from(involved_ns),
                "does not match event.namespace",
            );
        }
        let rc_name = if core_v1 {
            "reportingComponent"
        } else {
            "reportingController"
        };
        let rc = e.str(obj, rc_name, &root);
        if rc.is_empty() {
            e.required(&Path::root(rc_name), "");
        }
        qualified_name(e, &Path::root(rc_name), rc);
        let ri = e.str(obj, "reportingInstance", &root);
        if ri.is_empty() {
            e.required(&Path::root("reportingInstance"), "");
        }
        if ri.len() > 128 {
            e.invalid(
                &Path::root("reportingInstance"),
                Value::from(""),
                "can have at most 128 characters",
            );
        }
        let action = e.str(obj, "action", &root);
        if action.is_empty() {
            e.required(&Path::root("action"), "");
        }
        if action.len() > 128 {
            e.invalid(
                &Path::root("action"),
                Value::from(""),
                "can have at most 128 characters",
            );
        }
        let reason = e.str(obj, "reason", &root);
        if reason.is_empty() {
            e.required(&Path::root("reason"), "");
        }
        if reason.len() > 128 {
            e.invalid(
                &Path::root("reason"),
                Value::from(""),
                "can have at most 128 characters",
            );
        }
        let message = e.str(obj, if core_v1 { "message" } else { "note" }, &root);
        if message.len() > 1024 {
            e.invalid(
                &Path::root("message"),
                Value::from(""),
                "can have at most 1024 characters",
            );
        }
    }
    for m in super::names::is_dns1123_subdomain(ns) {
        e.invalid(&Path::root("namespace"), Value::from(ns), &m);
    }
}

/// Dispatches a core-group kind. Returns `false` if the kind is not handled
/// here.
pub(crate) fn validate_core(e: &mut Errs, kind: &str, obj: Obj<'_>, old: Option<Obj<'_>>) -> bool {
    match (kind, old) {
        ("Pod", None) => super::pod::validate_pod_create(e, obj),
        ("Pod", Some(o)) => super::pod::validate_pod_update(e, obj, o),
        ("Service", None) => validate_service(e, obj, None),
        ("Service", Some(o)) => {
            validate_object_meta_update(e, obj, o, true);
            validate_service(e, obj, Some(o));
        }
        ("Endpoints", o) => {
            if let Some(o) = o {
                validate_object_meta_update(e, obj, o, true);
            }
            validate_endpoints(e, obj);
        }
        ("Node", None) => validate_node(e, obj),
        ("Node", Some(o)) => validate_node_update(e, obj, o),
        ("Namespace", None) => validate_namespace(e, obj),
        ("Namespace", Some(o)) => validate_object_meta_update(e, obj, o, true),
        ("ConfigMap", None) => validate_config_map(e, obj),
        ("ConfigMap", Some(o)) => validate_config_map_update(e, obj, o),
        ("Secret", None) => validate_secret(e, obj),
        ("Secret", Some(o)) => validate_secret_update(e, obj, o),
        ("ServiceAccount", o) => {
            if let Some(o) = o {
                validate_object_meta_update(e, obj, o, true);
            }
            meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
        }
        ("PersistentVolumeClaim", None) => validate_pvc(e, obj),
        ("PersistentVolumeClaim", Some(o)) => validate_pvc_update(e, obj, o),
        ("PersistentVolume", None) => validate_pv(e, obj),
        ("PersistentVolume", Some(o)) => validate_pv_update(e, obj, o),
        ("ResourceQuota", None) => validate_resource_quota(e, obj),
        ("ResourceQuota", Some(o)) => validate_resource_quota_update(e, obj, o),
        ("LimitRange", o) => {
            if let Some(o) = o {
                validate_object_meta_update(e, obj, o, true);
            }
            validate_limit_range(e, obj);
        }
        ("PodTemplate", None) => validate_pod_template(e, obj),
        ("PodTemplate", Some(o)) => {
            validate_object_meta_update(e, obj, o, true);
            let t = e.obj(obj, "template", &Path::root(""));
            validate_pod_template_spec(e, t, &Path::root("template"), &BTreeMap::new());
        }
        ("ReplicationController", None) => {
            meta(e, obj, Scope::Namespaced, NameRule::Subdomain);
            rc_spec(e, obj);
        }
        ("ReplicationController", Some(o)) => {
            validate_object_meta_update(e, obj, o, true);
            rc_spec(e, obj);
        }
        ("Event", None) => legacy_event(e, obj, true),
        ("Event", Some(_)) => legacy_event(e, obj, true),
        _ => return false,
    }
    true
}

/// Reads `spec.selector` of a ReplicationController-like map and the
/// template labels as a JSON value (used by tests).
#[cfg(test)]
fn rc_labels_value(obj: &Value) -> Value {
    let mut scratch = Errs::new();
    let m = scratch.str_map(Obj::of(obj), "labels", &Path::root(""));
    super::meta::labels_value(&m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(kind: &str, obj: &Value, old: Option<&Value>) -> Vec<String> {
        let mut e = Errs::new();
        validate_core(&mut e, kind, Obj::of(obj), old.map(Obj::of));
        e.list.iter().map(|x| x.to_string()).collect()
    }

    fn svc(spec: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"}, "spec": spec})
    }

    fn base_spec() -> Value {
        json!({"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
               "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]})
    }

    #[test]
    fn service_without_ports_requires_them() {
        let mut s = base_spec();
        s["ports"] = json!([]);
        assert_eq!(
            run("Service", &svc(s), None),
            vec!["spec.ports: Required value".to_string()]
        );
    }

    #[test]
    fn headless_service_needs_no_ports() {
        let mut s = base_spec();
        s["ports"] = json!([]);
        s["clusterIP"] = json!("None");
        assert_eq!(run("Service", &svc(s), None), Vec::<String>::new());
    }

    #[test]
    fn multi_port_service_requires_names() {
        let mut s = base_spec();
        s["ports"] = json!([{"port": 80, "protocol": "TCP", "targetPort": 80}, {"port": 81, "protocol": "TCP", "targetPort": 81}]);
        assert_eq!(
            run("Service", &svc(s), None),
            vec![
                "spec.ports[0].name: Required value".to_string(),
                "spec.ports[1].name: Required value".to_string(),
            ]
        );
    }

    #[test]
    fn service_names_are_dns1035_labels() {
        let mut o = svc(base_spec());
        o["metadata"]["name"] = json!("1web");
        let out = run("Service", &o, None);
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with(
            "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of"
        ));
    }

    #[test]
    fn service_cluster_ip_is_immutable() {
        let mut old_spec = base_spec();
        old_spec["clusterIP"] = json!("10.0.0.1");
        old_spec["clusterIPs"] = json!(["10.0.0.1"]);
        let mut new_spec = old_spec.clone();
        new_spec["clusterIP"] = json!("10.0.0.2");
        new_spec["clusterIPs"] = json!(["10.0.0.2"]);
        let out = run("Service", &svc(new_spec), Some(&svc(old_spec.clone())));
        assert_eq!(out, vec!["spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.2\"}: may not change once set".to_string()]);
        // Omitting the allocated IP on update carries the old one over.
        let out = run("Service", &svc(base_spec()), Some(&svc(old_spec)));
        assert_eq!(out, Vec::<String>::new());
    }

    #[test]
    fn config_map_keys_must_be_valid() {
        let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a/b": "x"}});
        assert_eq!(run("ConfigMap", &cm, None), vec![
            "data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string()
        ]);
    }

    #[test]
    fn config_map_over_one_mebibyte_is_too_long() {
        let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a": "x".repeat(MAX_SECRET_SIZE + 1)}});
        assert_eq!(
            run("ConfigMap", &cm, None),
            vec![": Too long: may not be more than 1048576 bytes".to_string()]
        );
    }

    #[test]
    fn immutable_config_map_data_cannot_change() {
        let old = json!({"metadata": {"name": "c", "namespace": "d", "resourceVersion": "1"}, "immutable": true, "data": {"a": "1"}});
        let mut new = old.clone();
        new["data"]["a"] = json!("2");
        assert_eq!(
            run("ConfigMap", &new, Some(&old)),
            vec!["data: Forbidden: field is immutable when `immutable` is set".to_string()]
        );
    }

    #[test]
    fn tls_secret_requires_cert_and_key() {
        let s = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "YQ=="}});
        assert_eq!(
            run("Secret", &s, None),
            vec!["data[tls.key]: Required value".to_string()]
        );
    }

    #[test]
    fn docker_config_json_must_parse() {
        let s = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "xyz"}});
        assert_eq!(run("Secret", &s, None), vec![
            "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": invalid character 'x' looking for beginning of value".to_string()
        ]);
        let s = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "{"}});
        assert_eq!(run("Secret", &s, None), vec![
            "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": unexpected end of JSON input".to_string()
        ]);
    }

    #[test]
    fn base64_decoder_matches_go() {
        assert_eq!(decode_base64("YWJj"), Ok(b"abc".to_vec()));
        assert_eq!(decode_base64("YQ=="), Ok(b"a".to_vec()));
        assert_eq!(
            decode_base64("YQ"),
            Err("illegal base64 data at input byte 2".to_string())
        );
        assert_eq!(
            decode_base64("Y*=="),
            Err("illegal base64 data at input byte 1".to_string())
        );
    }

    #[test]
    fn namespace_names_are_dns_labels() {
        let ns = json!({"metadata": {"name": "a.b"}});
        assert_eq!(
            run("Namespace", &ns, None),
            vec!["metadata.name: Invalid value: \"a.b\": must not contain dots".to_string()]
        );
    }

    #[test]
    fn pvc_requires_access_modes_and_storage() {
        let pvc = json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {}});
        assert_eq!(
            run("PersistentVolumeClaim", &pvc, None),
            vec![
                "spec.accessModes: Required value: at least 1 access mode is required".to_string(),
                "spec.resources[storage]: Required value".to_string(),
            ]
        );
    }

    #[test]
    fn pvc_spec_is_immutable_except_requests() {
        let old = json!({"metadata": {"name": "c", "namespace": "d", "resourceVersion": "1"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "a"}});
        let mut new = old.clone();
        new["spec"]["storageClassName"] = json!("b");
        let out = run("PersistentVolumeClaim", &new, Some(&old));
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
    }

    #[test]
    fn limit_range_min_above_max_is_invalid() {
        let lr = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]}});
        assert_eq!(run("LimitRange", &lr, None), vec!["spec.limits[0].min[cpu]: Invalid value: 2: min value 2 is greater than max value 1".to_string()]);
    }

    #[test]
    fn quota_values_must_be_nonnegative() {
        let rq = json!({"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": "-1", "gpus": "1"}}});
        assert_eq!(run("ResourceQuota", &rq, None), vec![
            "spec.hard[gpus]: Invalid value: \"gpus\": must be a standard resource type or fully qualified".to_string(),
            "spec.hard[pods]: Invalid value: \"-1\": must be greater than or equal to 0".to_string(),
        ]);
    }

    #[test]
    fn rc_selector_must_match_template_labels() {
        let rc = json!({"metadata": {"name": "r", "namespace": "d"}, "spec": {"replicas": 1, "selector": {"app": "a"},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}}}});
        assert_eq!(run("ReplicationController", &rc, None), vec![
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"b\"}: `selector` does not match template `labels`".to_string()
        ]);
        assert_eq!(
            rc_labels_value(&json!({"labels": {"b": "2", "a": "1"}})),
            json!({"a": "1", "b": "2"})
        );
    }

    #[test]
    fn node_taint_effects_must_be_known() {
        let n = json!({"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}});
        assert_eq!(run("Node", &n, None), vec![
            "metadata.taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"".to_string()
        ]);
    }

    #[test]
    fn endpoints_reject_loopback_addresses() {
        let ep = json!({"metadata": {"name": "e", "namespace": "d"}, "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80, "protocol": "TCP"}]}]});
        assert_eq!(run("Endpoints", &ep, None), vec![
            "subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)".to_string()
        ]);
    }
}
