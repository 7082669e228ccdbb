//! Pod and PodSpec validation (`ValidatePodSpec`, containers, volumes,
//! probes, resources, security contexts, scheduling fields) and the Pod
//! create/update rules from `pkg/apis/core/validation/validation.go`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::access::{Errs, IntOrStr, Obj, Path, peek_arr, peek_obj, peek_str, sem_eq};
use super::meta::{
    MetaOpts, Scope, labels_value, validate_annotations, validate_label_selector, validate_labels,
    validate_object_meta, validate_object_meta_update,
};
use super::names::{
    NameRule, dns_label, dns_subdomain, inclusive_range_error, is_config_map_key,
    is_dns1123_subdomain, is_http_header_name, is_qualified_name, is_relaxed_env_var_name,
    is_valid_port_name, is_valid_port_num, push_msgs, qualified_name, validate_ip, validate_name,
};
use super::quantity::Quantity;

const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const MAX_INT32: i64 = i32::MAX as i64;

/// What a declared volume is, as later checks need it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct VolInfo {
    /// PVC or generic ephemeral volume (usable as a block device).
    pub is_pvc: bool,
    /// An image volume (no subPath allowed).
    pub is_image: bool,
}

/// Context shared by the PodSpec checks.
pub(crate) struct PodCtx {
    /// True for a Pod object (as opposed to a template).
    pub resource_is_pod: bool,
    /// The pod's name, when validating a real pod (for ephemeral PVC names).
    pub pod_name: Option<String>,
}

/// The volume source keys of a v1 `VolumeSource`, with the name upstream
/// uses in its "more than 1 volume type" path.
const VOLUME_SOURCES: [(&str, &str); 30] = [
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

fn file_mode(e: &mut Errs, o: Obj<'_>, key: &str, p: &Path) {
    if let Some(m) = e.opt_i32(o, key, p)
        && !(0..=0o777).contains(&m)
    {
        e.invalid(&p.child(key), Value::from(m), FILE_MODE_ERROR);
    }
}

/// `validatePathNoBacksteps`.
fn path_no_backsteps(e: &mut Errs, p: &Path, target: &str) {
    if target.replace('\\', "/").split('/').any(|s| s == "..") {
        e.invalid(p, Value::from(target), "must not contain '..'");
    }
}

/// `validateLocalDescendingPath`.
fn local_descending_path(e: &mut Errs, p: &Path, target: &str) {
    if target.starts_with('/') {
        e.invalid(p, Value::from(target), "must be a relative path");
    }
    path_no_backsteps(e, p, target);
}

/// `ValidateLocalNonReservedPath`.
fn local_non_reserved_path(e: &mut Errs, p: &Path, target: &str) {
    local_descending_path(e, p, target);
    if target.starts_with("..") && !target.starts_with("../") {
        e.invalid(p, Value::from(target), "must not start with '..'");
    }
}

fn key_to_paths(
    e: &mut Errs,
    items: &[Value],
    p: &Path,
    seen: Option<(&mut BTreeSet<String>, &Path, &str)>,
) {
    let mut seen = seen;
    for (i, it) in items.iter().enumerate() {
        let ip = p.index(i);
        let o = e.elem_obj(it, &ip);
        if e.str(o, "key", &ip).is_empty() {
            e.required(&ip.child("key"), "");
        }
        let path = e.str(o, "path", &ip);
        if path.is_empty() {
            e.required(&ip.child("path"), "");
        }
        local_non_reserved_path(e, &ip.child("path"), path);
        file_mode(e, o, "mode", &ip);
        if let Some((set, conflict_path, source_name)) = seen.as_mut()
            && !path.is_empty()
            && !set.insert(path.to_string())
        {
            e.invalid(
                conflict_path,
                Value::from(*source_name),
                "conflicting duplicate paths",
            );
        }
    }
}

const VOLUME_DOWNWARD_PATHS: [&str; 5] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];
const ENV_DOWNWARD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const RESOURCE_FIELD_PATHS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// `fieldpath.SplitMaybeSubscriptedPath`.
fn split_subscripted(fp: &str) -> Option<(&str, &str)> {
    let s = fp.strip_suffix("']")?;
    let (path, sub) = s.split_once("['")?;
    if path.is_empty() {
        None
    } else {
        Some((path, sub))
    }
}

/// `validateObjectFieldSelector`.
fn object_field_selector(e: &mut Errs, o: Obj<'_>, expressions: &[&str], p: &Path) {
    let api_version = e.str(o, "apiVersion", p);
    if api_version.is_empty() {
        e.required(&p.child("apiVersion"), "");
        return;
    }
    let field_path = e.str(o, "fieldPath", p);
    if field_path.is_empty() {
        e.required(&p.child("fieldPath"), "");
        return;
    }
    // podshelper.ConvertDownwardAPIFieldLabel
    let conv_err = if api_version != "v1" {
        Some(format!("unsupported pod version: {api_version}"))
    } else if let Some((path, _)) = split_subscripted(field_path) {
        if path == "metadata.annotations" || path == "metadata.labels" {
            None
        } else {
            Some(format!(
                "field label does not support subscript: {field_path}"
            ))
        }
    } else {
        const KNOWN: [&str; 15] = [
            "metadata.annotations",
            "metadata.labels",
            "metadata.name",
            "metadata.namespace",
            "metadata.uid",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.serviceAccountName",
            "spec.schedulerName",
            "status.phase",
            "status.hostIP",
            "status.hostIPs",
            "status.podIP",
            "status.podIPs",
            "spec.host",
        ];
        if KNOWN.contains(&field_path) {
            None
        } else {
            Some(format!("field label not supported: {field_path}"))
        }
    };
    if let Some(err) = conv_err {
        e.invalid(
            &p.child("fieldPath"),
            Value::from(field_path),
            &format!("error converting fieldPath: {err}"),
        );
        return;
    }
    let internal = if field_path == "spec.host" {
        "spec.nodeName"
    } else {
        field_path
    };
    if let Some((path, sub)) = split_subscripted(internal) {
        match path {
            "metadata.annotations" => qualified_name(e, p, &sub.to_lowercase()),
            "metadata.labels" => qualified_name(e, p, sub),
            _ => e.invalid(p, Value::from(path), "does not support subscript"),
        }
    } else if !expressions.contains(&internal) {
        let mut sorted: Vec<&str> = expressions.to_vec();
        sorted.sort_unstable();
        e.not_supported(&p.child("fieldPath"), Value::from(internal), &sorted);
    }
}

/// `validateContainerResourceFieldSelector`.
fn resource_field_selector(e: &mut Errs, o: Obj<'_>, p: &Path, volume: bool) {
    let container = e.str(o, "containerName", p);
    let resource = e.str(o, "resource", p);
    if volume && container.is_empty() {
        e.required(&p.child("containerName"), "");
    } else if resource.is_empty() {
        e.required(&p.child("resource"), "");
    } else if !RESOURCE_FIELD_PATHS.contains(&resource)
        && !resource.starts_with("requests.hugepages-")
        && !resource.starts_with("limits.hugepages-")
    {
        e.not_supported(
            &p.child("resource"),
            Value::from(resource),
            &RESOURCE_FIELD_PATHS,
        );
    }
    let Some(divisor) = e.opt_quantity(o, "divisor", p) else {
        return;
    };
    if divisor.is_zero() {
        return;
    }
    let d = divisor.canonical();
    let mem_ok = [
        "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
    ]
    .contains(&d.as_str());
    let dp = p.child("divisor");
    match resource {
        "limits.cpu" | "requests.cpu" if d != "1m" && d != "1" => {
            e.invalid(
                &dp,
                Value::from(resource),
                "only divisor's values 1m and 1 are supported with the cpu resource",
            );
        }
        "limits.memory" | "requests.memory" if !mem_ok => {
            e.invalid(&dp, Value::from(resource), "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource");
        }
        "limits.ephemeral-storage" | "requests.ephemeral-storage" if !mem_ok => {
            e.invalid(&dp, Value::from(resource), "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource");
        }
        _ => {}
    }
    if (resource.starts_with("requests.hugepages-") || resource.starts_with("limits.hugepages-"))
        && !mem_ok
    {
        e.invalid(&dp, Value::from(resource), "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource");
    }
}

fn downward_api_file(e: &mut Errs, o: Obj<'_>, item_path: &Path, err_path: &Path) {
    let path = e.str(o, "path", item_path);
    if path.is_empty() {
        e.required(&err_path.child("path"), "");
    }
    local_non_reserved_path(e, &err_path.child("path"), path);
    let field_ref = e.opt_obj(o, "fieldRef", item_path);
    let res_ref = e.opt_obj(o, "resourceFieldRef", item_path);
    if let Some(fr) = field_ref {
        object_field_selector(e, fr, &VOLUME_DOWNWARD_PATHS, &err_path.child("fieldRef"));
        if res_ref.is_some() {
            e.invalid(
                err_path,
                Value::from("resource"),
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            );
        }
    } else if let Some(rr) = res_ref {
        resource_field_selector(e, rr, &err_path.child("resourceFieldRef"), true);
    } else {
        e.required(err_path, "one of fieldRef and resourceFieldRef is required");
    }
    file_mode(e, o, "mode", err_path);
}

fn validate_projected(
    e: &mut Errs,
    o: Obj<'_>,
    p: &Path,
    service_account_set: bool,
    token_paths: &mut Vec<Path>,
) {
    file_mode(e, o, "defaultMode", p);
    let mut all_paths = BTreeSet::new();
    let sp = p.child("sources");
    for (i, src) in e.arr(o, "sources", p).iter().enumerate() {
        let srcp = sp.index(i);
        let s = e.elem_obj(src, &srcp);
        let mut n = 0;
        for kind in ["secret", "configMap"] {
            if let Some(so) = e.opt_obj(s, kind, &srcp) {
                n += 1;
                let kp = srcp.child(kind);
                let name = e.str(so, "name", &kp);
                if name.is_empty() {
                    e.required(&kp.child("name"), "");
                }
                let items = e.arr(so, "items", &kp);
                key_to_paths(
                    e,
                    items,
                    &kp.child("items"),
                    Some((&mut all_paths, p, name)),
                );
            }
        }
        if let Some(d) = e.opt_obj(s, "downwardAPI", &srcp) {
            n += 1;
            let dp = srcp.child("downwardAPI");
            let items_path = dp.child("items");
            for (j, it) in e.arr(d, "items", &dp).iter().enumerate() {
                let ip = items_path.index(j);
                let io = e.elem_obj(it, &ip);
                downward_api_file(e, io, &ip, &dp);
                let path = peek_str(io, "path");
                if !path.is_empty() && !all_paths.insert(path.to_string()) {
                    e.invalid(p, Value::from(path), "conflicting duplicate paths");
                }
            }
        }
        if let Some(t) = e.opt_obj(s, "serviceAccountToken", &srcp) {
            n += 1;
            let tp = srcp.child("serviceAccountToken");
            let exp = e.opt_int(t, "expirationSeconds", &tp).unwrap_or(0);
            if exp < 600 {
                e.invalid(
                    &tp.child("expirationSeconds"),
                    Value::from(exp),
                    "may not specify a duration less than 10 minutes",
                );
            }
            if exp > 1 << 32 {
                e.invalid(
                    &tp.child("expirationSeconds"),
                    Value::from(exp),
                    "may not specify a duration larger than 2^32 seconds",
                );
            }
            let path = e.str(t, "path", &tp);
            if path.is_empty() {
                e.required(&p.child("path"), "");
            } else {
                local_non_reserved_path(e, &p.child("path"), path);
            }
            if !service_account_set {
                token_paths.push(tp);
            }
        }
        if let Some(c) = e.opt_obj(s, "clusterTrustBundle", &srcp) {
            n += 1;
            let cp = srcp.child("clusterTrustBundlePEM");
            let name = e.opt_str(c, "name", &cp);
            let signer = e.opt_str(c, "signerName", &cp);
            match (name, signer) {
                (Some(_), Some(_)) => e.invalid(
                    &cp,
                    c.to_value(),
                    "only one of name and signerName may be used",
                ),
                (Some(n), None) => {
                    if n.is_empty() {
                        e.required(&cp.child("name"), "must be a valid object name");
                    }
                    if c.has("labelSelector") {
                        e.invalid(
                            &cp.child("labelSelector"),
                            c.raw("labelSelector").cloned().unwrap_or(Value::Null),
                            "labelSelector must be unset if name is specified",
                        );
                    }
                }
                (None, Some(sn)) => {
                    if sn.is_empty() {
                        e.required(&cp.child("signerName"), "must be a valid signer name");
                    }
                    let sel = e.opt_obj(c, "labelSelector", &cp);
                    validate_label_selector(e, sel, &cp.child("labelSelector"));
                }
                (None, None) => e.required(&cp, "either name or signerName must be specified"),
            }
            let path = e.str(c, "path", &cp);
            if path.is_empty() {
                e.required(&cp.child("path"), "");
            }
            local_non_reserved_path(e, &cp.child("path"), path);
            if !all_paths.insert(path.to_string()) {
                e.invalid(p, Value::from(path), "conflicting duplicate paths");
            }
        }
        if s.has("podCertificate") {
            n += 1;
        }
        if n > 1 {
            e.forbidden(&srcp, "may not specify more than 1 volume type");
        }
    }
}

fn host_path_source(e: &mut Errs, o: Obj<'_>, p: &Path) {
    let path = e.str(o, "path", p);
    if path.is_empty() {
        e.required(&p.child("path"), "");
        return;
    }
    path_no_backsteps(e, &p.child("path"), path);
    if let Some(t) = e.opt_str(o, "type", p) {
        const TYPES: [&str; 8] = [
            "",
            "BlockDevice",
            "CharDevice",
            "Directory",
            "DirectoryOrCreate",
            "File",
            "FileOrCreate",
            "Socket",
        ];
        if !TYPES.contains(&t) {
            e.not_supported(&p.child("type"), Value::from(t), &TYPES);
        }
    }
}

/// `ValidateCSIDriverName`.
pub(crate) fn csi_driver_name(e: &mut Errs, p: &Path, driver: &str) {
    if driver.is_empty() {
        e.required(p, "");
    }
    if driver.len() > 63 {
        e.too_long(p, 63);
    }
    push_msgs(e, p, driver, is_dns1123_subdomain(&driver.to_lowercase()));
}

/// `validateVolumeSource` for one v1 `Volume` (or PV-less source object).
fn volume_source(
    e: &mut Errs,
    v: Obj<'_>,
    p: &Path,
    vol_name: &str,
    ctx: &PodCtx,
    token_paths: &mut Vec<Path>,
    sa_set: bool,
) -> VolInfo {
    let mut info = VolInfo::default();
    let mut n = 0;
    for (key, err_name) in VOLUME_SOURCES {
        let Some(src) = e.opt_obj(v, key, p) else {
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
            "emptyDir" => {
                if let Some(q) = e.opt_quantity(src, "sizeLimit", &sp)
                    && q.is_negative()
                {
                    e.forbidden(
                        &sp.child("sizeLimit"),
                        "SizeLimit field must be a valid resource quantity",
                    );
                }
            }
            "hostPath" => host_path_source(e, src, &sp),
            "gitRepo" => {
                if e.str(src, "repository", &sp).is_empty() {
                    e.required(&sp.child("repository"), "");
                }
                let dir = e.str(src, "directory", &sp);
                local_descending_path(e, &sp.child("directory"), dir);
            }
            "secret" => {
                if e.str(src, "secretName", &sp).is_empty() {
                    e.required(&sp.child("secretName"), "");
                }
                file_mode(e, src, "defaultMode", &sp);
                let items = e.arr(src, "items", &sp);
                key_to_paths(e, items, &sp.child("items"), None);
            }
            "configMap" => {
                if e.str(src, "name", &sp).is_empty() {
                    e.required(&sp.child("name"), "");
                }
                file_mode(e, src, "defaultMode", &sp);
                let items = e.arr(src, "items", &sp);
                key_to_paths(e, items, &sp.child("items"), None);
            }
            "persistentVolumeClaim" => {
                info.is_pvc = true;
                if e.str(src, "claimName", &sp).is_empty() {
                    e.required(&sp.child("claimName"), "");
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
            "downwardAPI" => {
                file_mode(e, src, "defaultMode", &sp);
                let dp = sp.clone();
                for (j, it) in e.arr(src, "items", &sp).iter().enumerate() {
                    let ip = sp.child("items").index(j);
                    let io = e.elem_obj(it, &ip);
                    downward_api_file(e, io, &ip, &dp);
                }
            }
            "projected" => validate_projected(e, src, &sp, sa_set, token_paths),
            "csi" => {
                let driver = e.str(src, "driver", &sp);
                csi_driver_name(e, &sp.child("driver"), driver);
                if let Some(r) = e.opt_obj(src, "nodePublishSecretRef", &sp) {
                    let name = e.str(r, "name", &sp.child("nodePublishSecretRef"));
                    if name.is_empty() {
                        e.required(&sp.child("nodePublishSecretRef").child("name"), "");
                    } else {
                        push_msgs(e, &sp.child("name"), name, is_dns1123_subdomain(name));
                    }
                }
            }
            "ephemeral" => {
                info.is_pvc = true;
                match e.opt_obj(src, "volumeClaimTemplate", &sp) {
                    None => e.required(&sp.child("volumeClaimTemplate"), ""),
                    Some(t) => {
                        let tp = sp.child("volumeClaimTemplate");
                        template_object_meta(e, t, &tp);
                        let spec = e.obj(t, "spec", &tp);
                        super::core::pvc_spec(e, spec, &tp.child("spec"));
                    }
                }
                if let Some(pod) = ctx.pod_name.as_deref()
                    && !pod.is_empty()
                    && !vol_name.is_empty()
                {
                    let pvc = format!("{pod}-{vol_name}");
                    for m in is_dns1123_subdomain(&pvc) {
                        e.invalid(
                            &p.child("name"),
                            Value::from(vol_name),
                            &format!("PVC name {}: {m}", super::errors::go_quote(&pvc)),
                        );
                    }
                }
            }
            "image" => {
                info.is_image = true;
                if e.str(src, "reference", &sp).is_empty() {
                    e.required(&sp.child("reference"), "");
                }
                if let Some(pp) = e.opt_str(src, "pullPolicy", &sp) {
                    pull_policy(e, &sp.child("pullPolicy"), pp);
                }
            }
            _ => {}
        }
    }
    if n == 0 {
        e.required(p, "must specify a volume type");
    }
    info
}

/// `ValidateTemplateObjectMeta`: only labels and annotations may be set.
fn template_object_meta(e: &mut Errs, t: Obj<'_>, p: &Path) {
    let mp = p.child("metadata");
    let m = e.obj(t, "metadata", p);
    let ann = e.str_map(m, "annotations", &mp);
    validate_annotations(e, &ann, &mp.child("annotations"));
    let labels = e.str_map(m, "labels", &mp);
    validate_labels(e, &labels, &mp.child("labels"));
    for k in m.keys() {
        if k != "labels" && k != "annotations" && !sem_eq(m.raw(k), None) {
            e.forbidden(&mp.child(k), "cannot be set");
        }
    }
}

/// `ValidateVolumes`: returns the usable volumes by name.
fn validate_volumes(
    e: &mut Errs,
    spec: Obj<'_>,
    p: &Path,
    ctx: &PodCtx,
    extra: &BTreeMap<String, VolInfo>,
    token_paths: &mut Vec<Path>,
) -> BTreeMap<String, VolInfo> {
    let vp = p.child("volumes");
    let sa_set = !peek_str(spec, "serviceAccountName").is_empty();
    let vols = e.arr(spec, "volumes", p);
    let mut out: BTreeMap<String, VolInfo> = extra.clone();
    let mut names = BTreeSet::new();
    let mut created_pvcs = BTreeSet::new();
    if let Some(pod) = ctx.pod_name.as_deref().filter(|n| !n.is_empty()) {
        for v in vols {
            let o = Obj::of(v);
            if o.has("ephemeral") {
                created_pvcs.insert(format!("{pod}-{}", peek_str(o, "name")));
            }
        }
    }
    for (i, v) in vols.iter().enumerate() {
        let ip = vp.index(i);
        let o = e.elem_obj(v, &ip);
        if extra.contains_key(peek_str(o, "name")) {
            // Replaced by the controller's own volume of that name.
            continue;
        }
        let mut el = Errs::new();
        let name = el.str(o, "name", &ip);
        let info = volume_source(&mut el, o, &ip, name, ctx, token_paths, sa_set);
        let np = ip.child("name");
        if name.is_empty() {
            el.required(&np, "");
        } else {
            dns_label(&mut el, &np, name);
        }
        if names.contains(name) {
            el.duplicate(&np, Value::from(name));
        }
        if el.is_empty() {
            names.insert(name.to_string());
            out.insert(name.to_string(), info);
        } else {
            e.extend(el);
        }
        let claim = peek_str(peek_obj(o, "persistentVolumeClaim"), "claimName");
        if o.has("persistentVolumeClaim") && created_pvcs.contains(claim) {
            e.invalid(
                &ip.child("persistentVolumeClaim").child("claimName"),
                Value::from(claim),
                "must not reference a PVC that gets created for an ephemeral volume",
            );
        }
    }
    out
}

fn pull_policy(e: &mut Errs, p: &Path, v: &str) {
    match v {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => e.required(p, ""),
        other => e.not_supported(p, Value::from(other), &["Always", "IfNotPresent", "Never"]),
    }
}

/// `ValidatePortNumOrName`.
pub(crate) fn port_num_or_name(e: &mut Errs, p: &Path, v: Option<IntOrStr<'_>>) {
    match v {
        Some(IntOrStr::Int(i)) => {
            for m in is_valid_port_num(i) {
                e.invalid(p, Value::from(i), &m);
            }
        }
        Some(IntOrStr::Str(s)) => push_msgs(e, p, s, is_valid_port_name(s)),
        None => {
            for m in is_valid_port_num(0) {
                e.invalid(p, Value::from(0), &m);
            }
        }
    }
}

/// `validateHandler` for probes (`sleep` not allowed) and lifecycle hooks
/// (`grpc` not allowed).
fn handler(e: &mut Errs, h: Obj<'_>, p: &Path, grace: Option<i64>, lifecycle: bool) {
    let mut n = 0;
    let kinds: &[&str] = if lifecycle {
        &["exec", "httpGet", "tcpSocket", "sleep"]
    } else {
        &["exec", "httpGet", "tcpSocket", "grpc"]
    };
    for &kind in kinds {
        let Some(o) = e.opt_obj(h, kind, p) else {
            continue;
        };
        let kp = p.child(kind);
        if n > 0 {
            e.forbidden(&kp, "may not specify more than 1 handler type");
            continue;
        }
        n += 1;
        match kind {
            "exec" if e.arr(o, "command", &kp).is_empty() => {
                e.required(&kp.child("command"), "");
            }
            "httpGet" => {
                if e.str(o, "path", &kp).is_empty() {
                    e.required(&kp.child("path"), "");
                }
                let port = e.opt_int_or_str(o, "port", &kp);
                port_num_or_name(e, &kp.child("port"), port);
                let scheme = e.str(o, "scheme", &kp);
                if scheme != "HTTP" && scheme != "HTTPS" {
                    e.not_supported(&kp.child("scheme"), Value::from(scheme), &["HTTP", "HTTPS"]);
                }
                let hp = kp.child("httpHeaders");
                for (i, hv) in e.arr(o, "httpHeaders", &kp).iter().enumerate() {
                    let ho = e.elem_obj(hv, &hp.index(i));
                    let name = e.str(ho, "name", &hp.index(i));
                    push_msgs(e, &hp, name, is_http_header_name(name));
                }
            }
            "tcpSocket" => {
                let port = e.opt_int_or_str(o, "port", &kp);
                port_num_or_name(e, &kp.child("port"), port);
            }
            "grpc" => {
                let port = e.opt_i32(o, "port", &kp).unwrap_or(0);
                port_num_or_name(e, &kp.child("port"), Some(IntOrStr::Int(port)));
            }
            "sleep" => {
                let secs = e.opt_int(o, "seconds", &kp).unwrap_or(0);
                if let Some(g) = grace
                    && (secs < 0 || secs > g)
                {
                    e.invalid(
                        &kp,
                        Value::from(secs),
                        &format!(
                            "must be non-negative and less than terminationGracePeriodSeconds ({g})"
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    if n == 0 {
        e.required(p, "must specify a handler type");
    }
}

#[derive(Clone, Copy, PartialEq)]
enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

fn probe(e: &mut Errs, c: Obj<'_>, key: &str, parent: &Path, grace: Option<i64>, kind: ProbeKind) {
    let Some(o) = e.opt_obj(c, key, parent) else {
        return;
    };
    let p = parent.child(key);
    handler(e, o, &p, grace, false);
    for f in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        let v = e.opt_i32(o, f, &p).unwrap_or(0);
        e.nonnegative(&p.child(f), Some(v));
    }
    if let Some(t) = e.opt_int(o, "terminationGracePeriodSeconds", &p)
        && t <= 0
    {
        e.invalid(
            &p.child("terminationGracePeriodSeconds"),
            Value::from(t),
            "must be greater than 0",
        );
    }
    match kind {
        ProbeKind::Liveness | ProbeKind::Startup => {
            let s = peek_i64(o, "successThreshold").unwrap_or(0);
            if s != 1 {
                e.invalid(&p.child("successThreshold"), Value::from(s), "must be 1");
            }
        }
        ProbeKind::Readiness => {
            if let Some(v) = o.raw("terminationGracePeriodSeconds") {
                e.invalid(
                    &p.child("terminationGracePeriodSeconds"),
                    v.clone(),
                    "must not be set for readinessProbes",
                );
            }
        }
    }
}

fn peek_i64(o: Obj<'_>, key: &str) -> Option<i64> {
    o.raw(key).and_then(super::access::as_int)
}

fn lifecycle(e: &mut Errs, c: Obj<'_>, parent: &Path, grace: Option<i64>) {
    let Some(l) = e.opt_obj(c, "lifecycle", parent) else {
        return;
    };
    let lp = parent.child("lifecycle");
    for hook in ["postStart", "preStop"] {
        if let Some(h) = e.opt_obj(l, hook, &lp) {
            handler(e, h, &lp.child(hook), grace, true);
        }
    }
}

// ---- resources ----------------------------------------------------------

const STANDARD_RESOURCES: [&str; 20] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

const INTEGER_RESOURCES: [&str; 9] = [
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

/// `helper.IsNativeResource`.
pub(crate) fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_huge_page(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn is_quota_huge_page(name: &str) -> bool {
    name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

/// `helper.IsExtendedResourceName`.
pub(crate) fn is_extended_resource(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}")).is_empty()
}

fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !is_huge_page(name)
}

/// `helper.IsIntegerResourceName`.
pub(crate) fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended_resource(name)
}

/// `validateResourceName`.
pub(crate) fn resource_name(e: &mut Errs, p: &Path, name: &str) -> bool {
    let before = e.len();
    push_msgs(e, p, name, is_qualified_name(name));
    if e.len() > before {
        return false;
    }
    if !(name.contains('/') || STANDARD_RESOURCES.contains(&name) || is_quota_huge_page(name)) {
        e.invalid(
            p,
            Value::from(name),
            "must be a standard resource type or fully qualified",
        );
        return false;
    }
    true
}

/// `validateContainerResourceName`.
pub(crate) fn container_resource_name(e: &mut Errs, p: &Path, name: &str) {
    resource_name(e, p, name);
    if !name.contains('/') {
        if !(["cpu", "memory", "ephemeral-storage"].contains(&name) || is_huge_page(name)) {
            e.invalid(
                p,
                Value::from(name),
                "must be a standard resource for containers",
            );
        }
    } else if !is_native_resource(name) && !is_extended_resource(name) {
        e.invalid(
            p,
            Value::from(name),
            "doesn't follow extended resource name standard",
        );
    }
}

/// `ValidateResourceQuantityValue`.
pub(crate) fn resource_quantity_value(e: &mut Errs, p: &Path, name: &str, q: &Quantity) {
    if q.is_negative() {
        e.invalid(
            p,
            Value::from(q.canonical()),
            "must be greater than or equal to 0",
        );
    }
    if is_integer_resource(name) && q.milli_value() % 1000 != 0 {
        e.invalid(p, q.as_bad_value(), "must be an integer");
    }
}

fn huge_page_value(e: &mut Errs, p: &Path, name: &str, q: &Quantity) {
    let Some(size) = name.strip_prefix("hugepages-") else {
        return;
    };
    let ok = match Quantity::parse(size) {
        Ok(sz) if !sz.is_zero() && !sz.is_negative() => q.is_multiple_of(&sz),
        _ => false,
    };
    if !ok {
        e.invalid(
            p,
            Value::from(q.canonical()),
            &format!(
                "{} is not positive integer multiple of {name}",
                q.canonical()
            ),
        );
    }
}

/// `ValidateResourceRequirements` for one container's `resources`.
pub(crate) fn resource_requirements(
    e: &mut Errs,
    r: Obj<'_>,
    p: &Path,
    claim_names: &BTreeSet<String>,
) {
    let lim_path = p.child("limits");
    let req_path = p.child("requests");
    let limits = e.quantity_map(r, "limits", p);
    let requests = e.quantity_map(r, "requests", p);
    let (mut lim_cpu_mem, mut req_cpu_mem, mut lim_huge, mut req_huge) =
        (false, false, false, false);
    for (name, q) in &limits {
        let fp = lim_path.key(name);
        container_resource_name(e, &fp, name);
        resource_quantity_value(e, &fp, name, q);
        if is_huge_page(name) {
            lim_huge = true;
            huge_page_value(e, &fp, name, q);
        }
        if *name == "cpu" || *name == "memory" {
            lim_cpu_mem = true;
        }
    }
    for (name, q) in &requests {
        let fp = req_path.key(name);
        container_resource_name(e, &fp, name);
        resource_quantity_value(e, &fp, name, q);
        match limits.iter().find(|(n, _)| n == name) {
            Some((_, lim)) => {
                let ord = q.cmp_value(lim);
                if ord != std::cmp::Ordering::Equal && !is_overcommit_allowed(name) {
                    e.invalid(
                        &req_path,
                        Value::from(q.canonical()),
                        &format!("must be equal to {name} limit of {}", lim.canonical()),
                    );
                } else if ord == std::cmp::Ordering::Greater {
                    e.invalid(
                        &req_path,
                        Value::from(q.canonical()),
                        &format!(
                            "must be less than or equal to {name} limit of {}",
                            lim.canonical()
                        ),
                    );
                }
            }
            None => {
                if !is_overcommit_allowed(name) {
                    e.required(
                        &lim_path,
                        "Limit must be set for non overcommitable resources",
                    );
                }
            }
        }
        if is_huge_page(name) {
            req_huge = true;
            huge_page_value(e, &fp, name, q);
        }
        if *name == "cpu" || *name == "memory" {
            req_cpu_mem = true;
        }
    }
    if !lim_cpu_mem && !req_cpu_mem && (req_huge || lim_huge) {
        e.forbidden(p, "HugePages require cpu or memory");
    }
    let cp = p.child("claims");
    let mut names = BTreeSet::new();
    for (i, c) in e.arr(r, "claims", p).iter().enumerate() {
        let co = e.elem_obj(c, &cp.index(i));
        let name = e.str(co, "name", &cp.index(i));
        if name.is_empty() {
            e.required(&cp.index(i), "");
            continue;
        }
        if !names.insert(name) {
            e.duplicate(&cp.index(i), Value::from(name));
        }
        if !claim_names.contains(name) {
            let list: Vec<&str> = claim_names.iter().map(|s| s.as_str()).collect();
            let detail = if list.is_empty() {
                "must be one of the names in pod.spec.resourceClaims which is empty".to_string()
            } else {
                format!(
                    "must be one of the names in pod.spec.resourceClaims: {}",
                    list.join(", ")
                )
            };
            e.not_found_detail(&cp.index(i), Value::from(name), &detail);
        }
    }
}

// ---- containers ---------------------------------------------------------

fn container_ports(e: &mut Errs, c: Obj<'_>, parent: &Path) {
    let pp = parent.child("ports");
    let mut names = BTreeSet::new();
    for (i, v) in e.arr(c, "ports", parent).iter().enumerate() {
        let ip = pp.index(i);
        let o = e.elem_obj(v, &ip);
        let name = e.str(o, "name", &ip);
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                push_msgs(e, &ip.child("name"), name, msgs);
            } else if !names.insert(name) {
                e.duplicate(&ip.child("name"), Value::from(name));
            }
        }
        let cport = e.opt_i32(o, "containerPort", &ip).unwrap_or(0);
        if cport == 0 {
            e.required(&ip.child("containerPort"), "");
        } else {
            for m in is_valid_port_num(cport) {
                e.invalid(&ip.child("containerPort"), Value::from(cport), &m);
            }
        }
        let hport = e.opt_i32(o, "hostPort", &ip).unwrap_or(0);
        if hport != 0 {
            for m in is_valid_port_num(hport) {
                e.invalid(&ip.child("hostPort"), Value::from(hport), &m);
            }
        }
        match e.str(o, "protocol", &ip) {
            "" => e.required(&ip.child("protocol"), ""),
            "TCP" | "UDP" | "SCTP" => {}
            other => e.not_supported(
                &ip.child("protocol"),
                Value::from(other),
                &["SCTP", "TCP", "UDP"],
            ),
        }
    }
}

fn key_selector(e: &mut Errs, o: Obj<'_>, p: &Path) {
    let name = e.str(o, "name", p);
    push_msgs(
        e,
        &p.child("name"),
        name,
        validate_name(NameRule::Subdomain, name, false),
    );
    let key = e.str(o, "key", p);
    if key.is_empty() {
        e.required(&p.child("key"), "");
    } else {
        push_msgs(e, &p.child("key"), key, is_config_map_key(key));
    }
}

fn env(e: &mut Errs, c: Obj<'_>, parent: &Path) {
    let ep = parent.child("env");
    for (i, v) in e.arr(c, "env", parent).iter().enumerate() {
        let ip = ep.index(i);
        let o = e.elem_obj(v, &ip);
        let name = e.str(o, "name", &ip);
        if name.is_empty() {
            e.required(&ip.child("name"), "");
        } else {
            push_msgs(e, &ip.child("name"), name, is_relaxed_env_var_name(name));
        }
        let Some(vf) = e.opt_obj(o, "valueFrom", &ip) else {
            continue;
        };
        let vp = ip.child("valueFrom");
        let mut n = 0;
        if let Some(fr) = e.opt_obj(vf, "fieldRef", &vp) {
            n += 1;
            object_field_selector(e, fr, &ENV_DOWNWARD_PATHS, &vp.child("fieldRef"));
        }
        if let Some(rr) = e.opt_obj(vf, "resourceFieldRef", &vp) {
            n += 1;
            resource_field_selector(e, rr, &vp.child("resourceFieldRef"), false);
        }
        for kind in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(k) = e.opt_obj(vf, kind, &vp) {
                n += 1;
                key_selector(e, k, &vp.child(kind));
            }
        }
        if n == 0 {
            e.invalid(&vp, Value::from(""), "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
        } else if !peek_str(o, "value").is_empty() {
            e.invalid(
                &vp,
                Value::from(""),
                "may not be specified when `value` is not empty",
            );
        } else if n > 1 {
            e.invalid(
                &vp,
                Value::from(""),
                "may not have more than one field specified at a time",
            );
        }
    }
    let fp = parent.child("envFrom");
    for (i, v) in e.arr(c, "envFrom", parent).iter().enumerate() {
        let ip = fp.index(i);
        let o = e.elem_obj(v, &ip);
        let prefix = e.str(o, "prefix", &ip);
        if !prefix.is_empty() {
            push_msgs(
                e,
                &ip.child("prefix"),
                prefix,
                is_relaxed_env_var_name(prefix),
            );
        }
        let mut n = 0;
        for kind in ["configMapRef", "secretRef"] {
            if let Some(r) = e.opt_obj(o, kind, &ip) {
                n += 1;
                let rp = ip.child(kind);
                let name = e.str(r, "name", &rp);
                if name.is_empty() {
                    e.required(&rp.child("name"), "");
                } else {
                    push_msgs(
                        e,
                        &rp.child("name"),
                        name,
                        validate_name(NameRule::Subdomain, name, true),
                    );
                }
            }
        }
        if n == 0 {
            e.invalid(
                &fp,
                Value::from(""),
                "must specify one of: `configMapRef` or `secretRef`",
            );
        } else if n > 1 {
            e.invalid(
                &fp,
                Value::from(""),
                "may not have more than one field specified at a time",
            );
        }
    }
}

fn volume_mounts(e: &mut Errs, c: Obj<'_>, parent: &Path, vols: &BTreeMap<String, VolInfo>) {
    let mp = parent.child("volumeMounts");
    let devices: Vec<(String, String)> = peek_arr(c, "volumeDevices")
        .iter()
        .map(|d| {
            (
                peek_str(Obj::of(d), "name").to_string(),
                peek_str(Obj::of(d), "devicePath").to_string(),
            )
        })
        .collect();
    let mounts = e.arr(c, "volumeMounts", parent);
    let privileged = peek_obj(c, "securityContext")
        .raw("privileged")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let mut mount_points = BTreeSet::new();
    let mut mount_map: Vec<(String, String)> = Vec::new();
    for (i, v) in mounts.iter().enumerate() {
        let ip = mp.index(i);
        let o = e.elem_obj(v, &ip);
        let name = e.str(o, "name", &ip);
        let mount_path = e.str(o, "mountPath", &ip);
        mount_map.push((name.to_string(), mount_path.to_string()));
        if name.is_empty() {
            e.required(&ip.child("name"), "");
        }
        if !vols.contains_key(name) {
            e.not_found(&ip.child("name"), Value::from(name));
        }
        if mount_path.is_empty() {
            e.required(&ip.child("mountPath"), "");
        }
        if !mount_points.insert(mount_path) {
            e.invalid(
                &ip.child("mountPath"),
                Value::from(mount_path),
                "must be unique",
            );
        }
        if devices.iter().any(|(n, _)| n == name) {
            e.invalid(
                &ip.child("name"),
                Value::from(name),
                "must not already exist in volumeDevices",
            );
        }
        if devices.iter().any(|(_, dp)| dp == mount_path) {
            e.invalid(
                &ip.child("mountPath"),
                Value::from(mount_path),
                "must not already exist as a path in volumeDevices",
            );
        }
        let sub_path = e.str(o, "subPath", &ip);
        let sub_path_expr = e.str(o, "subPathExpr", &ip);
        if vols.get(name).is_some_and(|v| v.is_image) {
            if !sub_path.is_empty() {
                e.invalid(
                    &ip.child("subPath"),
                    Value::from(sub_path),
                    "not allowed in image volume sources",
                );
            }
            if !sub_path_expr.is_empty() {
                e.invalid(
                    &ip.child("subPathExpr"),
                    Value::from(sub_path_expr),
                    "not allowed in image volume sources",
                );
            }
        }
        if !sub_path.is_empty() {
            local_descending_path(e, &mp.child("subPath"), sub_path);
        }
        if !sub_path_expr.is_empty() {
            if !sub_path.is_empty() {
                e.invalid(
                    &ip.child("subPathExpr"),
                    Value::from(sub_path_expr),
                    "subPathExpr and subPath are mutually exclusive",
                );
            }
            local_descending_path(e, &mp.child("subPathExpr"), sub_path_expr);
        }
        let propagation = e.opt_str(o, "mountPropagation", &ip);
        if let Some(mode) = propagation {
            let pp = mp.child("mountPropagation");
            if !["Bidirectional", "HostToContainer", "None"].contains(&mode) {
                e.not_supported(
                    &pp,
                    Value::from(mode),
                    &["Bidirectional", "HostToContainer", "None"],
                );
            }
            if mode == "Bidirectional" && !privileged {
                e.forbidden(
                    &pp,
                    "Bidirectional mount propagation is available only to privileged containers",
                );
            }
        }
        if let Some(rro) = e.opt_str(o, "recursiveReadOnly", &ip) {
            let rp = mp.child("recursiveReadOnly");
            match rro {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if !o.raw("readOnly").and_then(|v| v.as_bool()).unwrap_or(false) {
                        e.forbidden(&rp, "may only be specified when readOnly is true");
                    }
                    if propagation.is_some_and(|m| m != "None") {
                        e.forbidden(
                            &rp,
                            "may only be specified when mountPropagation is None or not specified",
                        );
                    }
                }
                other => e.not_supported(
                    &rp,
                    Value::from(other),
                    &["Disabled", "Enabled", "IfPossible"],
                ),
            }
        }
    }
    let dp = parent.child("volumeDevices");
    let mut dev_paths = BTreeSet::new();
    let mut dev_names = BTreeSet::new();
    for (i, v) in e.arr(c, "volumeDevices", parent).iter().enumerate() {
        let ip = dp.index(i);
        let o = e.elem_obj(v, &ip);
        let name = e.str(o, "name", &ip);
        let path = e.str(o, "devicePath", &ip);
        let vol = vols.get(name);
        if name.is_empty() {
            e.required(&ip.child("name"), "");
        }
        if dev_names.contains(name) {
            e.invalid(&ip.child("name"), Value::from(name), "must be unique");
        }
        match vol {
            Some(v) if !v.is_pvc => e.invalid(&ip.child("name"), Value::from(name), "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"),
            Some(_) => {}
            None => e.not_found(&ip.child("name"), Value::from(name)),
        }
        if path.is_empty() {
            e.required(&ip.child("devicePath"), "");
        }
        if dev_paths.contains(path) {
            e.invalid(&ip.child("devicePath"), Value::from(path), "must be unique");
        }
        if !path.is_empty() && path.replace('\\', "/").split('/').any(|s| s == "..") {
            e.invalid(
                &ip.child("devicePath"),
                Value::from(path),
                "can not contain backsteps ('..')",
            );
        } else {
            dev_paths.insert(path);
        }
        if mount_map.iter().any(|(n, _)| n == name) {
            e.invalid(
                &ip.child("name"),
                Value::from(name),
                "must not already exist in volumeMounts",
            );
        }
        if mount_map.iter().any(|(_, mpth)| mpth == path) {
            e.invalid(
                &ip.child("devicePath"),
                Value::from(path),
                "must not already exist as a path in volumeMounts",
            );
        }
        if !name.is_empty() {
            dev_names.insert(name);
        }
    }
}

fn seccomp_profile(e: &mut Errs, sc: Obj<'_>, parent: &Path) {
    let Some(sp) = e.opt_obj(sc, "seccompProfile", parent) else {
        return;
    };
    let p = parent.child("seccompProfile");
    let t = e.str(sp, "type", &p);
    match t {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => e.required(
            &p.child("type"),
            "type is required when seccompProfile is set",
        ),
        other => e.not_supported(
            &p.child("type"),
            Value::from(other),
            &["Localhost", "RuntimeDefault", "Unconfined"],
        ),
    }
    let lp = e.opt_str(sp, "localhostProfile", &p);
    if t == "Localhost" {
        match lp {
            None => e.required(
                &p.child("localhostProfile"),
                "must be set when seccomp type is Localhost",
            ),
            Some(l) => local_descending_path(e, &p.child("localhostProfile"), l),
        }
    } else if lp.is_some() {
        e.invalid(
            &p.child("localhostProfile"),
            sp.to_value(),
            "can only be set when seccomp type is Localhost",
        );
    }
}

fn apparmor_profile(e: &mut Errs, sc: Obj<'_>, parent: &Path) {
    let Some(ap) = e.opt_obj(sc, "appArmorProfile", parent) else {
        return;
    };
    let p = parent.child("appArmorProfile");
    let t = e.str(ap, "type", &p);
    match t {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => e.required(
            &p.child("type"),
            "type is required when appArmorProfile is set",
        ),
        other => e.not_supported(
            &p.child("type"),
            Value::from(other),
            &["Localhost", "RuntimeDefault", "Unconfined"],
        ),
    }
    let lp = e.opt_str(ap, "localhostProfile", &p);
    if t == "Localhost" {
        match lp {
            None | Some("") => e.required(
                &p.child("localhostProfile"),
                "must be set when AppArmor type is Localhost",
            ),
            Some(l) if l.trim() != l => e.invalid(
                &p.child("localhostProfile"),
                Value::from(l),
                "must not be padded with whitespace",
            ),
            Some(l) if l.len() > 4095 => e.too_long(&p.child("localhostProfile"), 4095),
            Some(_) => {}
        }
    } else if lp.is_some() {
        e.invalid(
            &p.child("localhostProfile"),
            ap.to_value(),
            "can only be set when AppArmor type is Localhost",
        );
    }
}

fn id_range(e: &mut Errs, o: Obj<'_>, key: &str, parent: &Path) {
    if let Some(v) = e.opt_int(o, key, parent)
        && !(0..=MAX_INT32).contains(&v)
    {
        e.invalid(
            &parent.child(key),
            Value::from(v),
            &inclusive_range_error(0, MAX_INT32),
        );
    }
}

fn container_security_context(e: &mut Errs, c: Obj<'_>, parent: &Path, host_users: bool) {
    let Some(sc) = e.opt_obj(c, "securityContext", parent) else {
        return;
    };
    let p = parent.child("securityContext");
    id_range(e, sc, "runAsUser", &p);
    id_range(e, sc, "runAsGroup", &p);
    if let Some(pm) = e.opt_str(sc, "procMount", &p) {
        if pm != "Default" && pm != "Unmasked" {
            e.not_supported(
                &p.child("procMount"),
                Value::from(pm),
                &["Default", "Unmasked"],
            );
        }
        if host_users && pm == "Unmasked" {
            e.invalid(
                &p.child("procMount"),
                Value::from(pm),
                "`hostUsers` must be false to use `Unmasked`",
            );
        }
    }
    seccomp_profile(e, sc, &p);
    if e.opt_bool(sc, "allowPrivilegeEscalation", &p) == Some(false) {
        if e.opt_bool(sc, "privileged", &p) == Some(true) {
            e.invalid(
                &p,
                sc.to_value(),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            );
        }
        let caps = e.obj(sc, "capabilities", &p);
        for cap in e.str_list(caps, "add", &p.child("capabilities")) {
            if cap == "CAP_SYS_ADMIN" {
                e.invalid(&p, sc.to_value(), "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN");
            }
        }
    }
    apparmor_profile(e, sc, &p);
}

struct ContainerCtx<'v> {
    vols: &'v BTreeMap<String, VolInfo>,
    claims: &'v BTreeSet<String>,
    host_users: bool,
}

fn container_common(e: &mut Errs, c: Obj<'_>, p: &Path, cx: &ContainerCtx<'_>) {
    let name = e.str(c, "name", p);
    if name.is_empty() {
        e.required(&p.child("name"), "");
    } else {
        dns_label(e, &p.child("name"), name);
    }
    if e.str(c, "image", p).is_empty() {
        e.required(&p.child("image"), "");
    }
    match e.str(c, "terminationMessagePolicy", p) {
        "File" | "FallbackToLogsOnError" => {}
        "" => e.required(&p.child("terminationMessagePolicy"), ""),
        other => e.not_supported(
            &p.child("terminationMessagePolicy"),
            Value::from(other),
            &["File", "FallbackToLogsOnError"],
        ),
    }
    container_ports(e, c, p);
    env(e, c, p);
    volume_mounts(e, c, p, cx.vols);
    let pp = e.str(c, "imagePullPolicy", p);
    pull_policy(e, &p.child("imagePullPolicy"), pp);
    let r = e.obj(c, "resources", p);
    resource_requirements(e, r, &p.child("resources"), cx.claims);
    let rp = p.child("resizePolicy");
    let mut seen = BTreeSet::new();
    for (i, v) in e.arr(c, "resizePolicy", p).iter().enumerate() {
        let o = e.elem_obj(v, &rp.index(i));
        let rn = e.str(o, "resourceName", &rp.index(i));
        if !seen.insert(rn) {
            e.duplicate(&rp.index(i), Value::from(rn));
        }
        match rn {
            "cpu" | "memory" => {}
            "" => e.required(&rp, ""),
            other => e.not_supported(&rp, Value::from(other), &["cpu", "memory"]),
        }
        match e.str(o, "restartPolicy", &rp.index(i)) {
            "NotRequired" | "RestartContainer" => {}
            "" => e.required(&rp, ""),
            other => e.not_supported(
                &rp,
                Value::from(other),
                &["NotRequired", "RestartContainer"],
            ),
        }
    }
    container_security_context(e, c, p, cx.host_users);
}

fn host_port_conflicts(e: &mut Errs, containers: &[(Obj<'_>, Path)], seen: &mut BTreeSet<String>) {
    for (c, cp) in containers {
        for (j, port) in peek_arr(*c, "ports").iter().enumerate() {
            let po = Obj::of(port);
            let hp = po
                .raw("hostPort")
                .and_then(super::access::as_int)
                .unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{}",
                peek_str(po, "protocol"),
                peek_str(po, "hostIP"),
                hp
            );
            if !seen.insert(key.clone()) {
                e.duplicate(
                    &cp.child("ports").index(j).child("hostPort"),
                    Value::from(key),
                );
            }
        }
    }
}

fn containers(e: &mut Errs, spec: Obj<'_>, p: &Path, grace: Option<i64>, cx: &ContainerCtx<'_>) {
    let cp = p.child("containers");
    let list = e.arr(spec, "containers", p);
    if list.is_empty() {
        e.required(&cp, "");
        return;
    }
    let mut names = BTreeSet::new();
    let mut objs = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let ip = cp.index(i);
        let c = e.elem_obj(v, &ip);
        container_common(e, c, &ip, cx);
        let name = peek_str(c, "name");
        if !names.insert(name) {
            e.duplicate(&ip.child("name"), Value::from(name));
        }
        lifecycle(e, c, &ip, grace);
        probe(e, c, "livenessProbe", &ip, grace, ProbeKind::Liveness);
        probe(e, c, "readinessProbe", &ip, grace, ProbeKind::Readiness);
        probe(e, c, "startupProbe", &ip, grace, ProbeKind::Startup);
        if c.has("restartPolicy") {
            e.forbidden(
                &ip.child("restartPolicy"),
                "may not be set for non-init containers",
            );
        }
        objs.push((c, ip));
    }
    let mut seen = BTreeSet::new();
    host_port_conflicts(e, &objs, &mut seen);
}

fn init_containers(
    e: &mut Errs,
    spec: Obj<'_>,
    p: &Path,
    grace: Option<i64>,
    cx: &ContainerCtx<'_>,
) {
    let cp = p.child("initContainers");
    let mut names: BTreeSet<&str> = peek_arr(spec, "containers")
        .iter()
        .map(|c| peek_str(Obj::of(c), "name"))
        .collect();
    for (i, v) in e.arr(spec, "initContainers", p).iter().enumerate() {
        let ip = cp.index(i);
        let c = e.elem_obj(v, &ip);
        container_common(e, c, &ip, cx);
        let mut restart_always = false;
        if let Some(rp) = e.opt_str(c, "restartPolicy", &ip) {
            if rp != "Always" {
                e.not_supported(&ip.child("restartPolicy"), Value::from(rp), &["Always"]);
            }
            restart_always = rp == "Always";
        }
        let name = peek_str(c, "name");
        if names.contains(name) {
            e.duplicate(&ip.child("name"), Value::from(name));
        } else if !name.is_empty() {
            names.insert(name);
        }
        let mut seen = BTreeSet::new();
        // Upstream checks each init container on its own, indexing it as 0.
        host_port_conflicts(e, &[(c, cp.index(0))], &mut seen);
        if restart_always {
            lifecycle(e, c, &ip, grace);
            probe(e, c, "livenessProbe", &ip, grace, ProbeKind::Liveness);
            probe(e, c, "readinessProbe", &ip, grace, ProbeKind::Readiness);
            probe(e, c, "startupProbe", &ip, grace, ProbeKind::Startup);
        } else {
            for f in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if c.has(f) {
                    e.forbidden(
                        &ip.child(f),
                        "may not be set for init containers without restartPolicy=Always",
                    );
                }
            }
        }
    }
}

// ---- scheduling ---------------------------------------------------------

fn tolerations(e: &mut Errs, list: &[Value], p: &Path) {
    for (i, v) in list.iter().enumerate() {
        let ip = p.index(i);
        let t = e.elem_obj(v, &ip);
        let key = e.str(t, "key", &ip);
        let op = e.str(t, "operator", &ip);
        let value = e.str(t, "value", &ip);
        let effect = e.str(t, "effect", &ip);
        if !key.is_empty() {
            qualified_name(e, &ip.child("key"), key);
        }
        if key.is_empty() && op != "Exists" {
            e.invalid(&ip.child("operator"), Value::from(op), "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
        }
        if e.opt_int(t, "tolerationSeconds", &ip).is_some() && effect != "NoExecute" {
            e.invalid(
                &ip.child("effect"),
                Value::from(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            );
        }
        match op {
            "Equal" | "" => {
                let errs = super::names::is_label_value(value);
                if !errs.is_empty() {
                    e.invalid(&ip.child("operator"), Value::from(value), &errs.join(";"));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    e.invalid(
                        &ip.child("operator"),
                        t.to_value(),
                        "value must be empty when `operator` is 'Exists'",
                    );
                }
            }
            other => e.not_supported(
                &ip.child("operator"),
                Value::from(other),
                &["Equal", "Exists"],
            ),
        }
        if !effect.is_empty() {
            taint_effect(e, &ip.child("effect"), effect, true);
        }
    }
}

/// `validateTaintEffect`.
pub(crate) fn taint_effect(e: &mut Errs, p: &Path, effect: &str, allow_empty: bool) {
    if !allow_empty && effect.is_empty() {
        e.required(p, "");
        return;
    }
    if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        e.not_supported(
            p,
            Value::from(effect),
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        );
    }
}

/// `ValidateNodeSelectorTerm` (as in 1.33: newer releases also check
/// required-term values as label values).
fn node_selector_term(e: &mut Errs, term: Obj<'_>, p: &Path) {
    let mp = p.child("matchExpressions");
    for (j, v) in e.arr(term, "matchExpressions", p).iter().enumerate() {
        let rp = mp.index(j);
        let r = e.elem_obj(v, &rp);
        let op = e.str(r, "operator", &rp);
        let values = e.str_list(r, "values", &rp);
        match op {
            "In" | "NotIn" => {
                if values.is_empty() {
                    e.required(
                        &rp.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    );
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    e.forbidden(
                        &rp.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    );
                }
            }
            "Gt" | "Lt" => {
                if values.len() != 1 {
                    e.required(
                        &rp.child("values"),
                        "must be specified single value when `operator` is 'Lt' or 'Gt'",
                    );
                }
            }
            other => e.invalid(
                &rp.child("operator"),
                Value::from(other),
                "not a valid selector operator",
            ),
        }
        let key = e.str(r, "key", &rp);
        qualified_name(e, &rp.child("key"), key);
    }
    let fp = p.child("matchFields");
    for (j, v) in e.arr(term, "matchFields", p).iter().enumerate() {
        let rp = fp.index(j);
        let r = e.elem_obj(v, &rp);
        let op = e.str(r, "operator", &rp);
        let values = e.str_list(r, "values", &rp);
        match op {
            "In" | "NotIn" => {
                if values.len() != 1 {
                    e.required(&rp.child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector");
                }
            }
            other => e.invalid(
                &rp.child("operator"),
                Value::from(other),
                "not a valid selector operator",
            ),
        }
        let key = e.str(r, "key", &rp);
        if key != "metadata.name" {
            e.invalid(
                &rp.child("key"),
                Value::from(key),
                "not a valid field selector key",
            );
        } else {
            for (k, val) in values.iter().enumerate() {
                push_msgs(
                    e,
                    &rp.child("values").index(k),
                    val,
                    is_dns1123_subdomain(val),
                );
            }
        }
    }
}

/// `ValidateNodeSelector`.
pub(crate) fn node_selector(e: &mut Errs, ns: Obj<'_>, p: &Path) {
    let tp = p.child("nodeSelectorTerms");
    let terms = e.arr(ns, "nodeSelectorTerms", p);
    if terms.is_empty() {
        e.required(&tp, "must have at least one node selector term");
        return;
    }
    for (i, t) in terms.iter().enumerate() {
        let to = e.elem_obj(t, &tp.index(i));
        node_selector_term(e, to, &tp.index(i));
    }
}

fn pod_affinity_term(e: &mut Errs, t: Obj<'_>, p: &Path) {
    let sel = e.opt_obj(t, "labelSelector", p);
    validate_label_selector(e, sel, &p.child("labelSelector"));
    let nsel = e.opt_obj(t, "namespaceSelector", p);
    validate_label_selector(e, nsel, &p.child("namespaceSelector"));
    for ns in e.str_list(t, "namespaces", p) {
        push_msgs(
            e,
            &p.child("namespace"),
            ns,
            validate_name(NameRule::Label, ns, false),
        );
    }
    let tk = e.str(t, "topologyKey", p);
    if tk.is_empty() {
        e.required(&p.child("topologyKey"), "can not be empty");
    }
    qualified_name(e, &p.child("topologyKey"), tk);
}

fn affinity(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    let Some(a) = e.opt_obj(spec, "affinity", p) else {
        return;
    };
    let ap = p.child("affinity");
    if let Some(na) = e.opt_obj(a, "nodeAffinity", &ap) {
        let np = ap.child("nodeAffinity");
        if let Some(req) = e.opt_obj(na, "requiredDuringSchedulingIgnoredDuringExecution", &np) {
            node_selector(
                e,
                req,
                &np.child("requiredDuringSchedulingIgnoredDuringExecution"),
            );
        }
        let pp = np.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, v) in e
            .arr(na, "preferredDuringSchedulingIgnoredDuringExecution", &np)
            .iter()
            .enumerate()
        {
            let ip = pp.index(i);
            let t = e.elem_obj(v, &ip);
            let w = e.opt_i32(t, "weight", &ip).unwrap_or(0);
            if !(1..=100).contains(&w) {
                e.invalid(
                    &ip.child("weight"),
                    Value::from(w),
                    "must be in the range 1-100",
                );
            }
            let pref = e.obj(t, "preference", &ip);
            node_selector_term(e, pref, &ip.child("preference"));
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = e.opt_obj(a, kind, &ap) else {
            continue;
        };
        let kp = ap.child(kind);
        let rp = kp.child("requiredDuringSchedulingIgnoredDuringExecution");
        for (i, v) in e
            .arr(pa, "requiredDuringSchedulingIgnoredDuringExecution", &kp)
            .iter()
            .enumerate()
        {
            let t = e.elem_obj(v, &rp.index(i));
            pod_affinity_term(e, t, &rp.index(i));
        }
        let wp = kp.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, v) in e
            .arr(pa, "preferredDuringSchedulingIgnoredDuringExecution", &kp)
            .iter()
            .enumerate()
        {
            let ip = wp.index(i);
            let t = e.elem_obj(v, &ip);
            let w = e.opt_i32(t, "weight", &ip).unwrap_or(0);
            if !(1..=100).contains(&w) {
                e.invalid(
                    &ip.child("weight"),
                    Value::from(w),
                    "must be in the range 1-100",
                );
            }
            let term = e.obj(t, "podAffinityTerm", &ip);
            pod_affinity_term(e, term, &ip.child("podAffinityTerm"));
        }
    }
}

fn topology_spread(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    let tp = p.child("topologySpreadConstraints");
    let list = e.arr(spec, "topologySpreadConstraints", p);
    for (i, v) in list.iter().enumerate() {
        let ip = tp.index(i);
        let c = e.elem_obj(v, &ip);
        let skew = e.opt_i32(c, "maxSkew", &ip).unwrap_or(0);
        if skew <= 0 {
            e.invalid(
                &ip.child("maxSkew"),
                Value::from(skew),
                "must be greater than zero",
            );
        }
        let key = e.str(c, "topologyKey", &ip);
        if key.is_empty() {
            e.required(&ip.child("topologyKey"), "can not be empty");
        }
        let wu = e.str(c, "whenUnsatisfiable", &ip);
        if wu != "DoNotSchedule" && wu != "ScheduleAnyway" {
            e.not_supported(
                &ip.child("whenUnsatisfiable"),
                Value::from(wu),
                &["DoNotSchedule", "ScheduleAnyway"],
            );
        }
        let repeated = list.iter().skip(i + 1).any(|o| {
            let o = Obj::of(o);
            peek_str(o, "topologyKey") == key && peek_str(o, "whenUnsatisfiable") == wu
        });
        if repeated {
            e.duplicate(
                &ip.child("{topologyKey, whenUnsatisfiable}"),
                Value::from(format!("{{{key}, {wu}}}")),
            );
        }
        if let Some(md) = e.opt_i32(c, "minDomains", &ip) {
            if md <= 0 {
                e.invalid(
                    &ip.child("minDomains"),
                    Value::from(md),
                    "must be greater than zero",
                );
            }
            if wu != "DoNotSchedule" {
                e.invalid(
                    &ip.child("minDomains"),
                    Value::from(md),
                    &format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {wu}"
                    ),
                );
            }
        }
        for f in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(pol) = e.opt_str(c, f, &ip)
                && pol != "Honor"
                && pol != "Ignore"
            {
                e.not_supported(&ip.child(f), Value::from(pol), &["Honor", "Ignore"]);
            }
        }
        let sel = e.opt_obj(c, "labelSelector", &ip);
        validate_label_selector(e, sel, &ip.child("labelSelector"));
    }
}

fn dns_config(e: &mut Errs, spec: Obj<'_>, p: &Path, dns_policy: &str) {
    let cp = p.child("dnsConfig");
    let cfg = e.opt_obj(spec, "dnsConfig", p);
    if dns_policy == "None" {
        match cfg {
            None => {
                e.required(&cp, "must provide `dnsConfig` when `dnsPolicy` is None");
                return;
            }
            Some(c) if peek_arr(c, "nameservers").is_empty() => {
                e.required(
                    &cp.child("nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                );
                return;
            }
            _ => {}
        }
    }
    let Some(c) = cfg else { return };
    let ns = e.str_list(c, "nameservers", &cp);
    if ns.len() > 3 {
        e.invalid(
            &cp.child("nameservers"),
            c.raw("nameservers").cloned().unwrap_or(Value::Null),
            "must not have more than 3 nameservers",
        );
    }
    for (i, n) in ns.iter().enumerate() {
        validate_ip(e, &cp.child("nameservers").index(i), n);
    }
    let searches = e.str_list(c, "searches", &cp);
    if searches.len() > 32 {
        e.invalid(
            &cp.child("searches"),
            c.raw("searches").cloned().unwrap_or(Value::Null),
            "must not have more than 32 search paths",
        );
    }
    if searches.join(" ").len() > 2048 {
        e.invalid(
            &cp.child("searches"),
            c.raw("searches").cloned().unwrap_or(Value::Null),
            "must not have more than 2048 characters (including spaces) in the search list",
        );
    }
    for (i, s) in searches.iter().enumerate() {
        let s = s.strip_suffix('.').unwrap_or(s);
        dns_subdomain(e, &cp.child("searches").index(i), s);
    }
    let op = cp.child("options");
    for (i, v) in e.arr(c, "options", &cp).iter().enumerate() {
        let o = e.elem_obj(v, &op.index(i));
        if e.str(o, "name", &op.index(i)).is_empty() {
            e.required(&op.index(i), "must not be empty");
        }
    }
}

fn is_valid_sysctl_name(name: &str) -> bool {
    if name.len() > 253 {
        return false;
    }
    let seg_ok = |s: &str| {
        let b = s.as_bytes();
        match (b.first(), b.last()) {
            (Some(&f), Some(&l)) => {
                is_lower_alnum(f)
                    && is_lower_alnum(l)
                    && b.iter()
                        .all(|&c| is_lower_alnum(c) || c == b'-' || c == b'_')
            }
            _ => false,
        }
    };
    name.split(['.', '/']).all(seg_ok)
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn pod_security_context(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    let Some(sc) = e.opt_obj(spec, "securityContext", p) else {
        return;
    };
    let sp = p.child("securityContext");
    for f in ["fsGroup", "runAsUser", "runAsGroup"] {
        id_range(e, sc, f, &sp);
    }
    let gp = sp.child("supplementalGroups");
    for (i, v) in e.arr(sc, "supplementalGroups", &sp).iter().enumerate() {
        match super::access::as_int(v) {
            Some(g) if (0..=MAX_INT32).contains(&g) => {}
            Some(g) => e.invalid(
                &gp.index(i),
                Value::from(g),
                &inclusive_range_error(0, MAX_INT32),
            ),
            None => e.type_invalid(&gp.index(i), v, "integer"),
        }
    }
    if peek_bool(spec, "shareProcessNamespace") && peek_bool(spec, "hostPID") {
        e.invalid(
            &sp.child("shareProcessNamespace"),
            Value::from(true),
            "ShareProcessNamespace and HostPID cannot both be enabled",
        );
    }
    let yp = sp.child("sysctls");
    let mut names = BTreeSet::new();
    for (i, v) in e.arr(sc, "sysctls", &sp).iter().enumerate() {
        let o = e.elem_obj(v, &yp.index(i));
        let name = e.str(o, "name", &yp.index(i));
        let np = yp.index(i).child("name");
        if name.is_empty() {
            e.required(&np, "");
        } else if !is_valid_sysctl_name(name) {
            e.invalid(&np, Value::from(name), "must have at most 253 characters and match regex ([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?");
        } else if names.contains(name) {
            e.duplicate(&np, Value::from(name));
        }
        names.insert(name);
    }
    if let Some(pol) = e.opt_str(sc, "fsGroupChangePolicy", &sp)
        && pol != "OnRootMismatch"
        && pol != "Always"
    {
        e.not_supported(
            &sp.child("fsGroupChangePolicy"),
            Value::from(pol),
            &["Always", "OnRootMismatch"],
        );
    }
    seccomp_profile(e, sc, &sp);
    apparmor_profile(e, sc, &sp);
}

fn peek_bool(o: Obj<'_>, key: &str) -> bool {
    o.raw(key).and_then(|v| v.as_bool()).unwrap_or(false)
}

/// `ValidatePodSpec`.
pub(crate) fn validate_pod_spec(
    e: &mut Errs,
    spec: Obj<'_>,
    p: &Path,
    ctx: &PodCtx,
    extra_vols: &BTreeMap<String, VolInfo>,
) -> Vec<Path> {
    let grace = e.opt_int(spec, "terminationGracePeriodSeconds", p);
    let sc = peek_obj(spec, "securityContext");
    let host_users = sc
        .raw("hostUsers")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let mut token_paths = Vec::new();
    let vols = validate_volumes(e, spec, p, ctx, extra_vols, &mut token_paths);

    let rcp = p.child("resourceClaims");
    let mut claim_names = BTreeSet::new();
    for (i, v) in e.arr(spec, "resourceClaims", p).iter().enumerate() {
        let ip = rcp.index(i);
        let o = e.elem_obj(v, &ip);
        let name = e.str(o, "name", &ip);
        if name.is_empty() {
            e.required(&ip.child("name"), "");
        } else if claim_names.contains(name) {
            e.duplicate(&ip.child("name"), Value::from(name));
        } else {
            dns_label(e, &ip.child("name"), name);
            claim_names.insert(name.to_string());
        }
        let a = e.opt_str(o, "resourceClaimName", &ip);
        let b = e.opt_str(o, "resourceClaimTemplateName", &ip);
        match (a, b) {
            (Some(_), Some(_)) => e.invalid(&ip, o.to_value(), "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"),
            (None, None) => e.invalid(&ip, o.to_value(), "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"),
            _ => {}
        }
        if let Some(n) = a {
            dns_subdomain(e, &ip.child("resourceClaimName"), n);
        }
        if let Some(n) = b {
            dns_subdomain(e, &ip.child("resourceClaimTemplateName"), n);
        }
    }
    let cx = ContainerCtx {
        vols: &vols,
        claims: &claim_names,
        host_users,
    };
    containers(e, spec, p, grace, &cx);
    init_containers(e, spec, p, grace, &cx);
    if !peek_arr(spec, "ephemeralContainers").is_empty() {
        let ep = p.child("ephemeralContainers");
        let mut names: BTreeSet<&str> = peek_arr(spec, "containers")
            .iter()
            .chain(peek_arr(spec, "initContainers").iter())
            .map(|c| peek_str(Obj::of(c), "name"))
            .collect();
        let targets = names.clone();
        for (i, v) in e.arr(spec, "ephemeralContainers", p).iter().enumerate() {
            let ip = ep.index(i);
            let c = e.elem_obj(v, &ip);
            container_common(e, c, &ip, &cx);
            let name = peek_str(c, "name");
            if !names.insert(name) {
                e.duplicate(&ip.child("name"), Value::from(name));
            }
            let target = e.str(c, "targetContainerName", &ip);
            if !target.is_empty() && !targets.contains(target) {
                e.not_found(&ip.child("targetContainerName"), Value::from(target));
            }
            for f in [
                "ports",
                "resources",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
                "lifecycle",
                "resizePolicy",
                "restartPolicy",
            ] {
                if !sem_eq(c.raw(f), None) {
                    e.forbidden(&ip.child(f), "cannot be set for an Ephemeral Container");
                }
            }
        }
    }
    // hostNetwork dependencies
    if peek_bool(spec, "hostNetwork") {
        let cp = p.child("containers");
        for (i, c) in peek_arr(spec, "containers").iter().enumerate() {
            for (j, port) in peek_arr(Obj::of(c), "ports").iter().enumerate() {
                let po = Obj::of(port);
                let hp = po
                    .raw("hostPort")
                    .and_then(super::access::as_int)
                    .unwrap_or(0);
                let cport = po
                    .raw("containerPort")
                    .and_then(super::access::as_int)
                    .unwrap_or(0);
                if (ctx.resource_is_pod || hp != 0) && hp != cport {
                    e.invalid(
                        &cp.index(i).child("ports").index(j).child("hostPort"),
                        Value::from(hp),
                        "must match `containerPort` when `hostNetwork` is true",
                    );
                }
            }
        }
    }
    let restart = e.str(spec, "restartPolicy", p);
    match restart {
        "Always" | "OnFailure" | "Never" => {}
        "" => e.required(&p.child("restartPolicy"), ""),
        other => e.not_supported(
            &p.child("restartPolicy"),
            Value::from(other),
            &["Always", "OnFailure", "Never"],
        ),
    }
    let dns_policy = e.str(spec, "dnsPolicy", p);
    match dns_policy {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => e.required(&p.child("dnsPolicy"), ""),
        other => e.not_supported(
            &p.child("dnsPolicy"),
            Value::from(other),
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ),
    }
    let node_sel = e.str_map(spec, "nodeSelector", p);
    validate_labels(e, &node_sel, &p.child("nodeSelector"));
    pod_security_context(e, spec, p);
    let ip = p.child("imagePullSecrets");
    for (i, v) in e.arr(spec, "imagePullSecrets", p).iter().enumerate() {
        let o = e.elem_obj(v, &ip.index(i));
        if o.keys()
            .iter()
            .any(|k| *k != "name" && !sem_eq(o.raw(k), None))
        {
            e.invalid(&ip.index(i), o.to_value(), "only name may be set");
        }
    }
    affinity(e, spec, p);
    dns_config(e, spec, p, dns_policy);
    let rgp = p.child("readinessGates");
    for (i, v) in e.arr(spec, "readinessGates", p).iter().enumerate() {
        let o = e.elem_obj(v, &rgp.index(i));
        let ct = e.str(o, "conditionType", &rgp.index(i));
        qualified_name(e, &rgp.index(i).child("conditionType"), ct);
    }
    let sgp = p.child("schedulingGates");
    let mut gates = BTreeSet::new();
    for (i, v) in e.arr(spec, "schedulingGates", p).iter().enumerate() {
        let o = e.elem_obj(v, &sgp.index(i));
        let name = e.str(o, "name", &sgp.index(i));
        qualified_name(e, &sgp.index(i), name);
        if !gates.insert(name) {
            e.duplicate(&sgp.index(i), Value::from(name));
        }
    }
    topology_spread(e, spec, p);
    if !host_users {
        for (f, path_name) in [
            ("hostNetwork", "hostNetwork"),
            ("hostPID", "HostPID"),
            ("hostIPC", "HostIPC"),
        ] {
            if peek_bool(spec, f) {
                e.forbidden(&p.child(path_name), "when `pod.Spec.HostUsers` is false");
            }
        }
    }
    for (f, rule) in [
        ("serviceAccountName", NameRule::Subdomain),
        ("nodeName", NameRule::Subdomain),
    ] {
        let v = e.str(spec, f, p);
        if !v.is_empty() {
            push_msgs(e, &p.child(f), v, validate_name(rule, v, false));
        }
    }
    if let Some(ads) = e.opt_int(spec, "activeDeadlineSeconds", p)
        && !(1..=MAX_INT32).contains(&ads)
    {
        e.invalid(
            &p.child("activeDeadlineSeconds"),
            Value::from(ads),
            &inclusive_range_error(1, MAX_INT32),
        );
    }
    for f in ["hostname", "subdomain"] {
        let v = e.str(spec, f, p);
        if !v.is_empty() {
            dns_label(e, &p.child(f), v);
        }
    }
    let tl = e.arr(spec, "tolerations", p);
    tolerations(e, tl, &p.child("tolerations"));
    let hp = p.child("hostAliases");
    for (i, v) in e.arr(spec, "hostAliases", p).iter().enumerate() {
        let o = e.elem_obj(v, &hp.index(i));
        let ipv = e.str(o, "ip", &hp.index(i));
        validate_ip(e, &hp.index(i).child("ip"), ipv);
        for (j, h) in e.str_list(o, "hostnames", &hp.index(i)).iter().enumerate() {
            dns_subdomain(e, &hp.index(i).child("hostnames").index(j), h);
        }
    }
    let pcn = e.str(spec, "priorityClassName", p);
    if !pcn.is_empty() {
        dns_subdomain(e, &p.child("priorityClassName"), pcn);
    }
    if let Some(rc) = e.opt_str(spec, "runtimeClassName", p) {
        dns_subdomain(e, &p.child("runtimeClassName"), rc);
    }
    if let Some(pp) = e.opt_str(spec, "preemptionPolicy", p) {
        preemption_policy(e, &p.child("preemptionPolicy"), pp);
    }
    if spec.has("overhead") {
        let mut synthetic = serde_json::Map::new();
        if let Some(v) = spec.raw("overhead") {
            synthetic.insert("limits".into(), v.clone());
        }
        let sv = Value::Object(synthetic);
        resource_requirements(e, Obj::of(&sv), &p.child("overhead"), &BTreeSet::new());
    }
    if let Some(os) = e.opt_obj(spec, "os", p) {
        let op = p.child("os");
        let name = e.str(os, "name", &op);
        if name.is_empty() {
            e.required(&op.child("name"), "");
        } else if name != "linux" && name != "windows" {
            e.not_supported(&op.child("name"), Value::from(name), &["linux", "windows"]);
        } else if name == "linux" {
            if peek_obj(sc, "windowsOptions").present() {
                e.forbidden(
                    &p.child("securityContext").child("windowsOptions"),
                    "windows options cannot be set for a linux pod",
                );
            }
            for_each_container(spec, p, |c, cp| {
                if peek_obj(peek_obj(c, "securityContext"), "windowsOptions").present() {
                    e.forbidden(
                        &cp.child("securityContext").child("windowsOptions"),
                        "windows options cannot be set for a linux pod",
                    );
                }
            });
        } else {
            windows_checks(e, spec, p);
        }
    }
    token_paths
}

fn for_each_container<F: FnMut(Obj<'_>, &Path)>(spec: Obj<'_>, p: &Path, mut f: F) {
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        let kp = p.child(key);
        for (i, c) in peek_arr(spec, key).iter().enumerate() {
            f(Obj::of(c), &kp.index(i));
        }
    }
}

fn windows_checks(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    let sc = peek_obj(spec, "securityContext");
    let sp = p.child("securityContext");
    if sc.present() {
        for (f, path) in [
            ("appArmorProfile", sp.child("appArmorProfile")),
            ("seLinuxOptions", sp.child("seLinuxOptions")),
            ("hostUsers", p.child("hostUsers")),
            ("seccompProfile", sp.child("seccompProfile")),
            ("fsGroup", sp.child("fsGroup")),
            ("fsGroupChangePolicy", sp.child("fsGroupChangePolicy")),
            ("sysctls", sp.child("sysctls")),
            ("runAsUser", sp.child("runAsUser")),
            ("runAsGroup", sp.child("runAsGroup")),
            ("supplementalGroups", sp.child("supplementalGroups")),
            (
                "supplementalGroupsPolicy",
                sp.child("supplementalGroupsPolicy"),
            ),
            ("seLinuxChangePolicy", sp.child("seLinuxChangePolicy")),
        ] {
            let set = if f == "sysctls" {
                !peek_arr(sc, f).is_empty()
            } else {
                sc.has(f)
            };
            if set {
                e.forbidden(&path, "cannot be set for a windows pod");
            }
        }
    }
    for (f, path) in [
        ("hostPID", p.child("hostPID")),
        ("hostIPC", p.child("hostIPC")),
    ] {
        if peek_bool(spec, f) {
            e.forbidden(&path, "cannot be set for a windows pod");
        }
    }
    if spec.has("shareProcessNamespace") {
        e.forbidden(
            &p.child("shareProcessNamespace"),
            "cannot be set for a windows pod",
        );
    }
    for_each_container(spec, p, |c, cp| {
        let csc = peek_obj(c, "securityContext");
        let csp = cp.child("securityContext");
        for f in [
            "appArmorProfile",
            "seLinuxOptions",
            "seccompProfile",
            "capabilities",
            "readOnlyRootFilesystem",
            "privileged",
            "allowPrivilegeEscalation",
            "procMount",
            "runAsUser",
            "runAsGroup",
        ] {
            if csc.has(f) {
                e.forbidden(&csp.child(f), "cannot be set for a windows pod");
            }
        }
    });
}

/// `ValidatePreemptionPolicy`.
pub(crate) fn preemption_policy(e: &mut Errs, p: &Path, v: &str) {
    match v {
        "PreemptLowerPriority" | "Never" => {}
        "" => e.required(p, ""),
        other => e.not_supported(p, Value::from(other), &["PreemptLowerPriority", "Never"]),
    }
}

/// `ValidatePodSpecificAnnotations` (mirror-pod and deletion-cost rules).
fn pod_specific_annotations(e: &mut Errs, annotations: &[(&str, &str)], spec: Obj<'_>, p: &Path) {
    for (k, v) in annotations {
        if *k == "kubernetes.io/config.mirror" && peek_str(spec, "nodeName").is_empty() {
            e.invalid(
                &p.key(k),
                Value::from(*v),
                "must set spec.nodeName if mirror pod annotation is set",
            );
        }
        if *k == "controller.kubernetes.io/pod-deletion-cost" && v.parse::<i32>().is_err() {
            e.invalid(&p.key(k), Value::from(*v), "must be a 32bit integer");
        }
    }
}

/// `ValidatePodTemplateSpec` for a template at `p` (e.g. `spec.template`).
/// `extra_vols` are volumes the controller adds (StatefulSet claim templates).
pub(crate) fn validate_pod_template_spec(
    e: &mut Errs,
    tmpl: Obj<'_>,
    p: &Path,
    extra_vols: &BTreeMap<String, VolInfo>,
) {
    let mp = p.child("metadata");
    let meta = e.obj(tmpl, "metadata", p);
    let labels = e.str_map(meta, "labels", &mp);
    validate_labels(e, &labels, &p.child("labels"));
    let ann = e.str_map(meta, "annotations", &mp);
    validate_annotations(e, &ann, &p.child("annotations"));
    let spec = e.obj(tmpl, "spec", p);
    pod_specific_annotations(e, &ann, spec, &p.child("annotations"));
    let sp = p.child("spec");
    let ctx = PodCtx {
        resource_is_pod: false,
        pod_name: None,
    };
    validate_pod_spec(e, spec, &sp, &ctx, extra_vols);
    if !peek_arr(spec, "ephemeralContainers").is_empty() {
        e.forbidden(
            &sp.child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        );
    }
}

/// The template labels (sorted) and their JSON form.
pub(crate) fn template_labels(tmpl: Obj<'_>) -> (Vec<(String, String)>, Value) {
    let labels_obj = peek_obj(peek_obj(tmpl, "metadata"), "labels");
    let mut out = Vec::new();
    for k in labels_obj.keys() {
        if let Some(v) = labels_obj.raw(k).and_then(|v| v.as_str()) {
            out.push((k.to_string(), v.to_string()));
        }
    }
    let refs: Vec<(&str, &str)> = out.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let value = if labels_obj.present() {
        labels_value(&refs)
    } else {
        Value::Null
    };
    (out, value)
}

/// Checks `selector` matches the template labels (`spec.template.metadata.labels`).
pub(crate) fn selector_matches_template(
    e: &mut Errs,
    sel: &super::meta::Selector,
    tmpl: Obj<'_>,
    tp: &Path,
    skip_empty: bool,
) {
    if skip_empty && sel.is_empty() {
        return;
    }
    let (labels, value) = template_labels(tmpl);
    let refs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    if !sel.matches(&refs) {
        e.invalid(
            &tp.child("metadata").child("labels"),
            value,
            "`selector` does not match template `labels`",
        );
    }
}

fn pod_meta_and_spec(e: &mut Errs, obj: Obj<'_>) -> Vec<Path> {
    validate_object_meta(
        e,
        obj,
        &MetaOpts {
            scope: Scope::Namespaced,
            name_rule: NameRule::Subdomain,
            kube_finalizers: true,
        },
    );
    let root = Path::root("");
    let meta = peek_obj(obj, "metadata");
    let mut scratch = Errs::new();
    let ann = scratch.str_map(meta, "annotations", &Path::root("metadata"));
    let spec = e.obj(obj, "spec", &root);
    pod_specific_annotations(e, &ann, spec, &Path::root("metadata").child("annotations"));
    let sp = Path::root("spec");
    let ctx = PodCtx {
        resource_is_pod: true,
        pod_name: Some(peek_str(meta, "name").to_string()),
    };
    let token_paths = validate_pod_spec(e, spec, &sp, &ctx, &BTreeMap::new());
    for tp in &token_paths {
        e.forbidden(
            tp,
            "must not be specified when serviceAccountName is not set",
        );
    }
    for key in ["containers", "initContainers"] {
        let kp = sp.child(key);
        for (i, c) in peek_arr(spec, key).iter().enumerate() {
            let image = peek_str(Obj::of(c), "image");
            if image.trim() != image {
                e.invalid(
                    &kp.index(i).child("image"),
                    Value::from(image),
                    "must not have leading or trailing whitespace",
                );
            }
        }
    }
    token_paths
}

/// Pod create (`ValidatePodCreate`).
pub(crate) fn validate_pod_create(e: &mut Errs, obj: Obj<'_>) {
    pod_meta_and_spec(e, obj);
    let spec = peek_obj(obj, "spec");
    let sp = Path::root("spec");
    if !peek_arr(spec, "ephemeralContainers").is_empty() {
        e.forbidden(&sp.child("ephemeralContainers"), "cannot be set on create");
    }
    if !peek_str(spec, "nodeName").is_empty() && !peek_arr(spec, "schedulingGates").is_empty() {
        e.forbidden(
            &sp.child("nodeName"),
            "cannot be set until all schedulingGates have been cleared",
        );
    }
}

const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Pod update (`ValidatePodUpdate`).
pub(crate) fn validate_pod_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    pod_meta_and_spec(e, new);
    let mp = Path::root("metadata").child("annotations");
    let new_ann = peek_obj(peek_obj(new, "metadata"), "annotations");
    let old_ann = peek_obj(peek_obj(old, "metadata"), "annotations");
    let mirror = "kubernetes.io/config.mirror";
    match (old_ann.raw(mirror), new_ann.raw(mirror)) {
        (Some(o), Some(n)) if o != n => e.forbidden(
            &mp.key(mirror),
            "may not remove or update mirror pod annotation",
        ),
        (Some(_), None) => e.forbidden(
            &mp.key(mirror),
            "may not remove or update mirror pod annotation",
        ),
        (None, Some(_)) => e.forbidden(&mp.key(mirror), "may not add mirror pod annotation"),
        _ => {}
    }
    let sp = Path::root("spec");
    let new_spec = peek_obj(new, "spec");
    let old_spec = peek_obj(old, "spec");
    for key in ["containers", "initContainers"] {
        let n = peek_arr(new_spec, key);
        let o = peek_arr(old_spec, key);
        if n.len() != o.len() {
            e.forbidden(
                &sp.child(key),
                "pod updates may not add or remove containers",
            );
            return;
        }
    }
    let new_ads = new_spec
        .raw("activeDeadlineSeconds")
        .and_then(super::access::as_int);
    let old_ads = old_spec
        .raw("activeDeadlineSeconds")
        .and_then(super::access::as_int);
    match (new_ads, old_ads) {
        (Some(n), _) if !(0..=MAX_INT32).contains(&n) => {
            e.invalid(
                &sp.child("activeDeadlineSeconds"),
                Value::from(n),
                &inclusive_range_error(0, MAX_INT32),
            );
            return;
        }
        (Some(n), Some(o)) if o < n => {
            e.invalid(
                &sp.child("activeDeadlineSeconds"),
                Value::from(n),
                "must be less than or equal to previous value",
            );
            return;
        }
        (None, Some(_)) => {
            e.invalid(
                &sp.child("activeDeadlineSeconds"),
                Value::Null,
                "must not update from a positive integer to nil value",
            );
        }
        _ => {}
    }
    // Only additions to tolerations (tolerationSeconds may change).
    let new_tol = peek_arr(new_spec, "tolerations");
    for old_t in peek_arr(old_spec, "tolerations") {
        let found = new_tol.iter().any(|nt| {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    m.remove("tolerationSeconds");
                }
                v
            };
            sem_eq(Some(&strip(old_t)), Some(&strip(nt)))
        });
        if !found {
            e.forbidden(
                &sp.child("tolerations"),
                "existing toleration can not be modified except its tolerationSeconds",
            );
            break;
        }
    }
    // Only deletions of scheduling gates.
    let old_gates: BTreeSet<&str> = peek_arr(old_spec, "schedulingGates")
        .iter()
        .map(|g| peek_str(Obj::of(g), "name"))
        .collect();
    for (i, g) in peek_arr(new_spec, "schedulingGates").iter().enumerate() {
        let name = peek_str(Obj::of(g), "name");
        if !old_gates.contains(name) {
            e.forbidden(
                &sp.child("schedulingGates").index(i).child("name"),
                &format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            );
        }
    }
    if sem_eq(new.raw("spec"), old.raw("spec")) {
        return;
    }
    let mut munged = new.raw("spec").cloned().unwrap_or(Value::Null);
    if let Some(m) = munged.as_object_mut() {
        for key in ["containers", "initContainers"] {
            if let Some(Value::Array(cs)) = m.get_mut(key) {
                for (i, c) in cs.iter_mut().enumerate() {
                    let old_image = peek_arr(old_spec, key)
                        .get(i)
                        .and_then(|oc| oc.get("image"))
                        .cloned();
                    if let Some(cm) = c.as_object_mut() {
                        match old_image {
                            Some(img) => cm.insert("image".into(), img),
                            None => cm.remove("image"),
                        };
                    }
                }
            }
        }
        for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
            match old_spec.raw(key) {
                Some(v) => m.insert(key.into(), v.clone()),
                None => m.remove(key),
            };
        }
        let old_grace = old_spec
            .raw("terminationGracePeriodSeconds")
            .and_then(super::access::as_int);
        let new_grace = m
            .get("terminationGracePeriodSeconds")
            .and_then(super::access::as_int);
        if old_grace.is_some_and(|g| g < 0)
            && new_grace == Some(1)
            && let Some(v) = old_spec.raw("terminationGracePeriodSeconds")
        {
            m.insert("terminationGracePeriodSeconds".into(), v.clone());
        }
        if !peek_arr(old_spec, "schedulingGates").is_empty() {
            // Gated pods may gain nodeSelector entries and node affinity.
            let old_sel = peek_obj(old_spec, "nodeSelector");
            let new_sel = m.get("nodeSelector").map(Obj::of).unwrap_or_default();
            let np = sp.child("nodeSelector");
            for k in old_sel.keys() {
                if new_sel.raw(k) != old_sel.raw(k) {
                    e.forbidden(&np.key(k), "cannot be deleted or modified");
                }
            }
            m.remove("nodeSelector");
            if let Some(v) = old_spec.raw("nodeSelector") {
                m.insert("nodeSelector".into(), v.clone());
            }
            let old_na = peek_obj(old_spec, "affinity").raw("nodeAffinity").cloned();
            if let Some(Value::Object(aff)) = m.get_mut("affinity") {
                match old_na {
                    Some(na) => aff.insert("nodeAffinity".into(), na),
                    None => aff.remove("nodeAffinity"),
                };
            }
        }
    }
    if !sem_eq(Some(&munged), old.raw("spec")) {
        let mut diff = Vec::new();
        json_diff(old.raw("spec"), Some(&munged), "spec", &mut diff);
        e.forbidden(
            &sp,
            &format!(
                "pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{}",
                diff.join("\n")
            ),
        );
    }
}

/// A compact line diff of two JSON values (stands in for upstream's
/// `cmp.Diff` output, which cannot be reproduced byte for byte).
pub(crate) fn json_diff(
    old: Option<&Value>,
    new: Option<&Value>,
    path: &str,
    out: &mut Vec<String>,
) {
    if out.len() >= 20 || sem_eq(old, new) {
        return;
    }
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                json_diff(a.get(k), b.get(k), &format!("{path}.{k}"), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                json_diff(Some(x), Some(y), &format!("{path}[{i}]"), out);
            }
        }
        _ => {
            let show = |v: Option<&Value>| {
                v.map(super::errors::go_json)
                    .unwrap_or_else(|| "<unset>".to_string())
            };
            out.push(format!("- {path}: {}", show(old)));
            out.push(format!("+ {path}: {}", show(new)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    }

    fn container(extra: Value) -> Value {
        let mut c = json!({"name": "app", "image": "nginx", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"});
        if let (Some(m), Some(x)) = (c.as_object_mut(), extra.as_object()) {
            for (k, v) in x {
                m.insert(k.clone(), v.clone());
            }
        }
        c
    }

    fn spec_with(containers: Value) -> Value {
        json!({"containers": containers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30})
    }

    fn errs(obj: &Value) -> Vec<String> {
        let mut e = Errs::new();
        validate_pod_create(&mut e, Obj::of(obj));
        e.list.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn valid_pod_has_no_errors() {
        assert_eq!(
            errs(&pod(spec_with(json!([container(json!({}))])))),
            Vec::<String>::new()
        );
    }

    #[test]
    fn missing_containers_is_required() {
        let p = pod(
            json!({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}),
        );
        assert_eq!(
            errs(&p),
            vec!["spec.containers: Required value".to_string()]
        );
    }

    #[test]
    fn duplicate_container_names_are_reported() {
        let p = pod(spec_with(json!([
            container(json!({})),
            container(json!({}))
        ])));
        assert_eq!(
            errs(&p),
            vec!["spec.containers[1].name: Duplicate value: \"app\"".to_string()]
        );
    }

    #[test]
    fn bad_container_port_is_out_of_range() {
        let p = pod(spec_with(json!([container(
            json!({"ports": [{"containerPort": 70000, "protocol": "TCP"}]})
        )])));
        assert_eq!(errs(&p), vec!["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive".to_string()]);
    }

    #[test]
    fn duplicate_host_ports_conflict() {
        let ports = json!([{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]);
        let p = pod(spec_with(json!([
            container(json!({"ports": ports})),
            container(json!({"name": "b", "ports": ports}))
        ])));
        assert_eq!(
            errs(&p),
            vec![
                "spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\"".to_string()
            ]
        );
    }

    #[test]
    fn requests_above_limits_report_canonical_limit() {
        let res = json!({"resources": {"limits": {"cpu": "1000m"}, "requests": {"cpu": "2"}}});
        let p = pod(spec_with(json!([container(res)])));
        assert_eq!(errs(&p), vec!["spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1".to_string()]);
    }

    #[test]
    fn bad_quantity_syntax_is_reported() {
        let p = pod(spec_with(json!([container(
            json!({"resources": {"limits": {"memory": "lots"}}})
        )])));
        assert_eq!(
            errs(&p),
            vec!["spec.containers[0].resources.limits[memory]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".to_string()]
        );
    }

    #[test]
    fn volume_mount_must_name_a_volume() {
        let p = pod(spec_with(json!([container(
            json!({"volumeMounts": [{"name": "data", "mountPath": "/d"}]})
        )])));
        assert_eq!(
            errs(&p),
            vec!["spec.containers[0].volumeMounts[0].name: Not found: \"data\"".to_string()]
        );
    }

    #[test]
    fn volume_needs_exactly_one_source() {
        let mut s = spec_with(json!([container(json!({}))]));
        s["volumes"] =
            json!([{"name": "a"}, {"name": "b", "emptyDir": {}, "configMap": {"name": "c"}}]);
        assert_eq!(
            errs(&pod(s)),
            vec![
                "spec.volumes[0]: Required value: must specify a volume type".to_string(),
                "spec.volumes[1].configMap: Forbidden: may not specify more than 1 volume type"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn unsupported_restart_policy_lists_values() {
        let mut s = spec_with(json!([container(json!({}))]));
        s["restartPolicy"] = json!("Sometimes");
        assert_eq!(errs(&pod(s)), vec!["spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"".to_string()]);
    }

    #[test]
    fn probe_needs_one_handler_and_liveness_success_threshold_one() {
        let probe = json!({"livenessProbe": {"successThreshold": 2, "failureThreshold": 3, "periodSeconds": 10, "timeoutSeconds": 1}});
        let p = pod(spec_with(json!([container(probe)])));
        assert_eq!(
            errs(&p),
            vec![
                "spec.containers[0].livenessProbe: Required value: must specify a handler type"
                    .to_string(),
                "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn env_var_names_must_be_printable_without_equals() {
        let p = pod(spec_with(json!([container(
            json!({"env": [{"name": "A=B"}]})
        )])));
        assert_eq!(
            errs(&p),
            vec!["spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='".to_string()]
        );
    }

    #[test]
    fn toleration_operator_must_be_known() {
        let mut s = spec_with(json!([container(json!({}))]));
        s["tolerations"] = json!([{"key": "k", "operator": "Maybe"}]);
        assert_eq!(errs(&pod(s)), vec!["spec.tolerations[0].operator: Unsupported value: \"Maybe\": supported values: \"Equal\", \"Exists\"".to_string()]);
    }

    #[test]
    fn garbage_containers_value_does_not_panic() {
        let p = pod(json!({"containers": "x", "restartPolicy": 5}));
        let out = errs(&p);
        assert!(
            out.iter()
                .any(|m| m.starts_with("spec.containers: Invalid value: \"x\""))
        );
        assert!(
            out.iter()
                .any(|m| m.starts_with("spec.restartPolicy: Invalid value: 5"))
        );
    }

    #[test]
    fn pod_update_may_only_change_images() {
        let old = {
            let mut p = pod(spec_with(json!([container(
                json!({"ports": [{"containerPort": 80, "protocol": "TCP"}]})
            )])));
            p["metadata"]["resourceVersion"] = json!("1");
            p
        };
        let mut image_only = old.clone();
        image_only["spec"]["containers"][0]["image"] = json!("nginx:2");
        let mut e = Errs::new();
        validate_pod_update(&mut e, Obj::of(&image_only), Obj::of(&old));
        assert!(e.is_empty(), "{:?}", e.list);

        let mut port_change = old.clone();
        port_change["spec"]["containers"][0]["ports"][0]["containerPort"] = json!(81);
        let mut e = Errs::new();
        validate_pod_update(&mut e, Obj::of(&port_change), Obj::of(&old));
        assert_eq!(e.len(), 1);
        let msg = e.list[0].to_string();
        assert!(msg.starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"), "{msg}");
        assert!(
            msg.contains("spec.containers[0].ports[0].containerPort: 80"),
            "{msg}"
        );
    }
}
