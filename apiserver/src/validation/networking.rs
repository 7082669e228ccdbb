//! `networking.k8s.io/v1` validation, as upstream's
//! `pkg/apis/networking/validation`: Ingress (rules, paths, backends, TLS
//! hosts, class name), IngressClass (controller, parameters) and
//! NetworkPolicy (ports, peers, IP blocks, policy types).

use std::net::IpAddr;

use serde_json::Value;

use super::access::{Errs, IntOrStr, Obj, Path};
use super::meta::{
    MetaOpts, Scope, immutable_field, validate_label_selector, validate_object_meta,
    validate_object_meta_update,
};
use super::names::{
    NameRule, dns_subdomain, is_dns1123_subdomain, is_path_segment_name, is_valid_port_name,
    is_valid_port_num, parse_ip_sloppy, push_msgs, validate_cidr, validate_domain_prefixed_path,
    validate_name,
};

/// Path types an Ingress path may name.
const PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];
/// Sequences an `Exact` or `Prefix` path may not contain.
const BAD_PATH_SEQUENCES: &[&str] = &["//", "/./", "/../", "%2f", "%2F"];
/// Endings an `Exact` or `Prefix` path may not have.
const BAD_PATH_SUFFIXES: &[&str] = &["/..", "/."];
/// The longest IngressClass controller name.
const MAX_CONTROLLER_LEN: usize = 250;

/// Validates a networking kind; false for kinds this group does not check.
pub(crate) fn validate_networking(
    e: &mut Errs,
    kind: &str,
    obj: Obj<'_>,
    old: Option<Obj<'_>>,
) -> bool {
    let scope = match kind {
        "IngressClass" => Scope::Cluster,
        "Ingress" | "NetworkPolicy" => Scope::Namespaced,
        _ => return false,
    };
    match old {
        None => validate_object_meta(
            e,
            obj,
            &MetaOpts {
                scope,
                name_rule: NameRule::Subdomain,
                kube_finalizers: true,
            },
        ),
        Some(o) => validate_object_meta_update(e, obj, o, false),
    }
    let p = Path::root("spec");
    let spec = e.obj(obj, "spec", &Path::root(""));
    match kind {
        "Ingress" => {
            ingress_spec(e, spec, &p);
            if old.is_none() {
                class_annotation_matches(e, obj, spec);
            }
        }
        "IngressClass" => {
            if let Some(o) = old {
                let old_spec = e.obj(o, "spec", &Path::root(""));
                immutable_field(e, spec, old_spec, "controller", &p);
            }
            ingress_class_spec(e, spec, &p);
        }
        _ => network_policy_spec(e, spec, &p),
    }
    true
}

// ---- Ingress ----------------------------------------------------------------

/// Upstream's create check: the deprecated `kubernetes.io/ingress.class`
/// annotation and `spec.ingressClassName` may not name different classes
/// (updates keep what is stored, so they are not checked).
fn class_annotation_matches(e: &mut Errs, obj: Obj<'_>, spec: Obj<'_>) {
    let annotation = obj
        .raw("metadata")
        .and_then(|m| m.pointer("/annotations/kubernetes.io~1ingress.class"))
        .and_then(Value::as_str);
    let class = spec.raw("ingressClassName").and_then(Value::as_str);
    if let (Some(annotation), Some(class)) = (annotation, class)
        && annotation != class
    {
        e.invalid(
            &Path::root("annotations").child("kubernetes.io/ingress.class"),
            Value::String(annotation.to_owned()),
            "must match `ingressClassName` when both are specified",
        );
    }
}

/// `IsWildcardDNS1123Subdomain`.
fn is_wildcard_dns1123_subdomain(v: &str) -> Vec<String> {
    let rest = v.strip_prefix("*.");
    let ok = rest.is_some_and(|r| is_dns1123_subdomain(r).is_empty()) && v.len() <= 253;
    if ok {
        return Vec::new();
    }
    vec![
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned(),
    ]
}

/// A host of a rule or a TLS entry: a DNS subdomain, or a wildcard one.
fn host(e: &mut Errs, p: &Path, host: &str) {
    if host.contains('*') {
        push_msgs(e, p, host, is_wildcard_dns1123_subdomain(host));
    } else {
        dns_subdomain(e, p, host);
    }
}

fn ingress_spec(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    let rules = e.arr(spec, "rules", p);
    let default_backend = e.opt_obj(spec, "defaultBackend", p);
    if rules.is_empty() && default_backend.is_none() {
        e.invalid(
            p,
            Value::Null,
            "either `defaultBackend` or `rules` must be specified",
        );
    }
    if let Some(backend) = default_backend {
        ingress_backend(e, backend, &p.child("defaultBackend"));
    }
    let rp = p.child("rules");
    for (i, rule) in rules.iter().enumerate() {
        let ip = rp.index(i);
        let rule = e.elem_obj(rule, &ip);
        if let Some(h) = e.opt_str(rule, "host", &ip).filter(|h| !h.is_empty()) {
            if parse_ip_sloppy(h).is_some() {
                e.invalid(
                    &ip.child("host"),
                    Value::from(h),
                    "must be a DNS name, not an IP address",
                );
            }
            host(e, &ip.child("host"), h);
        }
        if let Some(http) = e.opt_obj(rule, "http", &ip) {
            let hp = ip.child("http");
            let paths = e.arr(http, "paths", &hp);
            if paths.is_empty() {
                e.required(&hp.child("paths"), "");
            }
            for (j, path) in paths.iter().enumerate() {
                let pp = hp.child("paths").index(j);
                let path = e.elem_obj(path, &pp);
                http_path(e, path, &pp);
            }
        }
    }
    let tp = p.child("tls");
    for (i, tls) in e.arr(spec, "tls", p).iter().enumerate() {
        let ip = tp.index(i);
        let tls = e.elem_obj(tls, &ip);
        for (j, h) in e.str_list(tls, "hosts", &ip).into_iter().enumerate() {
            host(e, &ip.child("hosts").index(j), h);
        }
        if let Some(secret) = e.opt_str(tls, "secretName", &ip).filter(|s| !s.is_empty()) {
            dns_subdomain(e, &ip.child("secretName"), secret);
        }
    }
    if let Some(class) = e.opt_str(spec, "ingressClassName", p) {
        push_msgs(
            e,
            &p.child("ingressClassName"),
            class,
            validate_name(NameRule::Subdomain, class, false),
        );
    }
}

fn http_path(e: &mut Errs, path: Obj<'_>, p: &Path) {
    let Some(kind) = e.opt_str(path, "pathType", p) else {
        e.required(&p.child("pathType"), "pathType must be specified");
        return;
    };
    let value = e.str(path, "path", p);
    let absolute = |e: &mut Errs| {
        if !value.starts_with('/') {
            e.invalid(
                &p.child("path"),
                Value::from(value),
                "must be an absolute path",
            );
        }
    };
    match kind {
        "Exact" | "Prefix" => {
            absolute(e);
            for bad in BAD_PATH_SEQUENCES.iter().filter(|s| value.contains(**s)) {
                e.invalid(
                    &p.child("path"),
                    Value::from(value),
                    &format!("must not contain '{bad}'"),
                );
            }
            for bad in BAD_PATH_SUFFIXES.iter().filter(|s| value.ends_with(**s)) {
                e.invalid(
                    &p.child("path"),
                    Value::from(value),
                    &format!("cannot end with '{bad}'"),
                );
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() {
                absolute(e);
            }
        }
        other => e.not_supported(&p.child("pathType"), Value::from(other), PATH_TYPES),
    }
    let backend = e.obj(path, "backend", p);
    ingress_backend(e, backend, &p.child("backend"));
}

fn ingress_backend(e: &mut Errs, backend: Obj<'_>, p: &Path) {
    let resource = e.opt_obj(backend, "resource", p);
    let service = e.opt_obj(backend, "service", p);
    match (resource, service) {
        (Some(_), Some(_)) => e.invalid(
            p,
            Value::from(""),
            "cannot set both resource and service backends",
        ),
        (Some(resource), None) => typed_local_reference(e, resource, &p.child("resource")),
        (None, Some(service)) => {
            let sp = p.child("service");
            let name = e.str(service, "name", &sp);
            if name.is_empty() {
                e.required(&sp.child("name"), "");
            } else {
                push_msgs(
                    e,
                    &sp.child("name"),
                    name,
                    validate_name(NameRule::Dns1035, name, false),
                );
            }
            let port = e.obj(service, "port", &sp);
            let pp = sp.child("port");
            let port_name = e.str(port, "name", &pp);
            let number = e.opt_i32(port, "number", &pp).unwrap_or(0);
            match (port_name.is_empty(), number == 0) {
                (false, false) => e.invalid(
                    p,
                    Value::from(""),
                    "cannot set both port name & port number",
                ),
                (false, true) => push_msgs(
                    e,
                    &pp.child("name"),
                    port_name,
                    is_valid_port_name(port_name),
                ),
                (true, false) => {
                    for msg in is_valid_port_num(number) {
                        e.invalid(&pp.child("number"), Value::from(number), &msg);
                    }
                }
                (true, true) => e.required(p, "port name or number is required"),
            }
        }
        (None, None) => e.invalid(
            p,
            Value::from(""),
            "resource or service backend is required",
        ),
    }
}

/// A `TypedLocalObjectReference` (resource backends, class parameters).
fn typed_local_reference(e: &mut Errs, reference: Obj<'_>, p: &Path) {
    if let Some(group) = e.opt_str(reference, "apiGroup", p) {
        dns_subdomain(e, &p.child("apiGroup"), group);
    }
    for field in ["kind", "name"] {
        let value = e.str(reference, field, p);
        if value.is_empty() {
            e.required(&p.child(field), &format!("{field} is required"));
        } else {
            push_msgs(e, &p.child(field), value, is_path_segment_name(value));
        }
    }
}

// ---- IngressClass -------------------------------------------------------------

fn ingress_class_spec(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    let controller = e.str(spec, "controller", p);
    if controller.len() > MAX_CONTROLLER_LEN {
        e.too_long(&p.child("controller"), MAX_CONTROLLER_LEN);
    }
    validate_domain_prefixed_path(e, &p.child("controller"), controller);
    let Some(params) = e.opt_obj(spec, "parameters", p) else {
        return;
    };
    let pp = p.child("parameters");
    typed_local_reference(e, params, &pp);
    let Some(scope) = e.opt_str(params, "scope", &pp) else {
        e.required(&pp.child("scope"), "");
        return;
    };
    let namespace = e.opt_str(params, "namespace", &pp);
    match (scope, namespace) {
        ("Namespace", None) => e.required(
            &pp.child("namespace"),
            "`parameters.scope` is set to 'Namespace'",
        ),
        ("Namespace", Some(ns)) => push_msgs(
            e,
            &pp.child("namespace"),
            ns,
            validate_name(NameRule::Label, ns, false),
        ),
        ("Cluster", Some(_)) => e.forbidden(
            &pp.child("namespace"),
            "`parameters.scope` is set to 'Cluster'",
        ),
        ("Cluster", None) => {}
        (other, _) => e.not_supported(
            &pp.child("scope"),
            Value::from(other),
            &["Cluster", "Namespace"],
        ),
    }
}

// ---- NetworkPolicy --------------------------------------------------------------

fn network_policy_spec(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    let selector = e.obj(spec, "podSelector", p);
    validate_label_selector(e, Some(selector), &p.child("podSelector"));
    for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
        let dp = p.child(direction);
        for (i, rule) in e.arr(spec, direction, p).iter().enumerate() {
            let rp = dp.index(i);
            let rule = e.elem_obj(rule, &rp);
            for (j, port) in e.arr(rule, "ports", &rp).iter().enumerate() {
                let pp = rp.child("ports").index(j);
                let port = e.elem_obj(port, &pp);
                policy_port(e, port, &pp);
            }
            for (j, peer) in e.arr(rule, peers, &rp).iter().enumerate() {
                let pp = rp.child(peers).index(j);
                let peer = e.elem_obj(peer, &pp);
                policy_peer(e, peer, &pp);
            }
        }
    }
    let tp = p.child("policyTypes");
    let types = e.str_list(spec, "policyTypes", p);
    if types.len() > 2 {
        let value = spec.raw("policyTypes").cloned().unwrap_or(Value::Null);
        e.invalid(&tp, value, "may not specify more than two policyTypes");
        return;
    }
    for (i, t) in types.into_iter().enumerate() {
        if t != "Ingress" && t != "Egress" {
            e.not_supported(&tp.index(i), Value::from(t), &["Ingress", "Egress"]);
        }
    }
}

fn policy_port(e: &mut Errs, port: Obj<'_>, p: &Path) {
    if let Some(protocol) = e.opt_str(port, "protocol", p)
        && !matches!(protocol, "TCP" | "UDP" | "SCTP")
    {
        e.not_supported(
            &p.child("protocol"),
            Value::from(protocol),
            &["TCP", "UDP", "SCTP"],
        );
    }
    let end = e.opt_i32(port, "endPort", p);
    match e.opt_int_or_str(port, "port", p) {
        Some(IntOrStr::Int(number)) => {
            for msg in is_valid_port_num(number) {
                e.invalid(&p.child("port"), Value::from(number), &msg);
            }
            if let Some(end) = end {
                if end < number {
                    e.invalid(
                        &p.child("endPort"),
                        Value::from(number),
                        "must be greater than or equal to `port`",
                    );
                }
                for msg in is_valid_port_num(end) {
                    e.invalid(&p.child("endPort"), Value::from(end), &msg);
                }
            }
        }
        Some(IntOrStr::Str(name)) => {
            if let Some(end) = end {
                e.invalid(
                    &p.child("endPort"),
                    Value::from(end),
                    "may not be specified when `port` is non-numeric",
                );
            }
            push_msgs(e, &p.child("port"), name, is_valid_port_name(name));
        }
        None => {
            if let Some(end) = end {
                e.invalid(
                    &p.child("endPort"),
                    Value::from(end),
                    "may not be specified when `port` is not specified",
                );
            }
        }
    }
}

fn policy_peer(e: &mut Errs, peer: Obj<'_>, p: &Path) {
    let mut peers = 0;
    for selector in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = e.opt_obj(peer, selector, p) {
            peers += 1;
            validate_label_selector(e, Some(sel), &p.child(selector));
        }
    }
    let block = e.opt_obj(peer, "ipBlock", p);
    if let Some(block) = block {
        peers += 1;
        ip_block(e, block, &p.child("ipBlock"));
    }
    if peers == 0 {
        e.required(p, "must specify a peer");
    } else if peers > 1 && block.is_some() {
        e.forbidden(p, "may not specify both ipBlock and another peer");
    }
}

/// An address and prefix length, for subset checks.
fn parse_cidr(text: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = text.split_once('/')?;
    Some((parse_ip_sloppy(addr)?, bits.parse().ok()?))
}

/// The address's bits as a 128-bit number (IPv4 in the low 32) and width.
fn bits_of(ip: IpAddr) -> (u128, u32) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// Whether `inner` lies strictly inside `outer`.
fn strict_subset(outer: (IpAddr, u32), inner: (IpAddr, u32)) -> bool {
    let ((o, width), (i, inner_width)) = (bits_of(outer.0), bits_of(inner.0));
    if width != inner_width || outer.1 >= inner.1 || outer.1 > width {
        return false;
    }
    let shift = width - outer.1;
    let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
    (o & mask) == (i & mask)
}

fn ip_block(e: &mut Errs, block: Obj<'_>, p: &Path) {
    let cidr = e.str(block, "cidr", p);
    if cidr.is_empty() {
        e.required(&p.child("cidr"), "");
        return;
    }
    let errors = e.len();
    validate_cidr(e, &p.child("cidr"), cidr);
    let Some(outer) = parse_cidr(cidr).filter(|_| e.len() == errors) else {
        return;
    };
    for (i, except) in e.str_list(block, "except", p).into_iter().enumerate() {
        let ep = p.child("except").index(i);
        let before = e.len();
        validate_cidr(e, &ep, except);
        let Some(inner) = parse_cidr(except).filter(|_| e.len() == before) else {
            continue;
        };
        if !strict_subset(outer, inner) {
            e.invalid(
                &ep,
                Value::from(except),
                "must be a strict subset of `cidr`",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use serde_json::{Value, json};

    fn errors(kind: &str, object: Value) -> Vec<String> {
        validate("networking.k8s.io", "v1", kind, &object, None)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn ingress(spec: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})
    }

    #[test]
    fn a_valid_ingress_passes() {
        let spec = json!({"ingressClassName": "nginx",
            "rules": [{"host": "*.foo.com", "http": {"paths": [
                {"path": "/bar", "pathType": "Prefix", "backend": {"service": {"name": "svc1", "port": {"number": 8080}}}},
                {"pathType": "ImplementationSpecific", "backend": {"service": {"name": "svc2", "port": {"name": "http"}}}}]}}],
            "tls": [{"hosts": ["foo.com"], "secretName": "tls"}]});
        assert_eq!(errors("Ingress", ingress(spec)), Vec::<String>::new());
    }

    #[test]
    fn a_class_annotation_must_match_the_class_name_on_create() {
        let mut object = ingress(json!({"ingressClassName": "nginx",
            "defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}));
        object["metadata"]["annotations"] = json!({"kubernetes.io/ingress.class": "traefik"});
        assert_eq!(
            errors("Ingress", object.clone()),
            vec![
                "annotations.kubernetes.io/ingress.class: Invalid value: \"traefik\": must match `ingressClassName` when both are specified"
                    .to_owned()
            ]
        );
        // An update keeps what is stored.
        let updated = validate("networking.k8s.io", "v1", "Ingress", &object, Some(&object));
        assert!(updated.is_empty(), "{updated:?}");
        object["metadata"]["annotations"] = json!({"kubernetes.io/ingress.class": "nginx"});
        assert_eq!(errors("Ingress", object), Vec::<String>::new());
    }

    #[test]
    fn ingress_paths_backends_and_hosts_are_checked_as_upstream() {
        let spec = json!({"rules": [{"host": "1.2.3.4", "http": {"paths": [
            {"path": "/a", "backend": {"service": {"name": "s", "port": {"number": 80}}}},
            {"path": "rel", "pathType": "Exact", "backend": {"service": {"name": "s", "port": {"number": 80, "name": "x"}}}},
            {"path": "/a/..", "pathType": "Prefix", "backend": {}},
            {"path": "/", "pathType": "Regex", "backend": {"service": {"name": "s", "port": {}}}}]}}]});
        assert_eq!(
            errors("Ingress", ingress(spec)),
            [
                "spec.rules[0].host: Invalid value: \"1.2.3.4\": must be a DNS name, not an IP address",
                "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
                "spec.rules[0].http.paths[1].path: Invalid value: \"rel\": must be an absolute path",
                "spec.rules[0].http.paths[1].backend: Invalid value: \"\": cannot set both port name & port number",
                "spec.rules[0].http.paths[2].path: Invalid value: \"/a/..\": cannot end with '/..'",
                "spec.rules[0].http.paths[2].backend: Invalid value: \"\": resource or service backend is required",
                "spec.rules[0].http.paths[3].pathType: Unsupported value: \"Regex\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"",
                "spec.rules[0].http.paths[3].backend: Required value: port name or number is required",
            ]
        );
        let empty = errors("Ingress", ingress(json!({})));
        assert_eq!(empty.len(), 1);
        assert!(empty[0].ends_with("either `defaultBackend` or `rules` must be specified"));
    }

    #[test]
    fn network_policies_check_ports_peers_and_blocks() {
        let np = json!({"metadata": {"name": "np", "namespace": "default"}, "spec": {
            "podSelector": {},
            "ingress": [{"ports": [{"protocol": "ICMP", "port": 80, "endPort": 70}],
                         "from": [{}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "11.0.0.0/24"]}, "podSelector": {}}]}],
            "egress": [{"ports": [{"port": "http", "endPort": 90}]}],
            "policyTypes": ["Ingress", "Sideways"]}});
        assert_eq!(
            errors("NetworkPolicy", np),
            [
                "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                "spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`",
                "spec.ingress[0].from[0]: Required value: must specify a peer",
                "spec.ingress[0].from[1].ipBlock.except[1]: Invalid value: \"11.0.0.0/24\": must be a strict subset of `cidr`",
                "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
                "spec.egress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
                "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
            ]
        );
    }

    #[test]
    fn ingress_classes_need_a_controller_and_a_scoped_parameter_reference() {
        let class = json!({"metadata": {"name": "nginx"}, "spec": {
            "parameters": {"kind": "Config", "name": "c", "scope": "Namespace"}}});
        assert_eq!(
            errors("IngressClass", class),
            [
                "spec.controller: Required value",
                "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'",
            ]
        );
        let ok =
            json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}});
        assert_eq!(errors("IngressClass", ok), Vec::<String>::new());
    }
}
