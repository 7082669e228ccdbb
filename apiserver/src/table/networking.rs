//! Printers for `networking.k8s.io` and `discovery.k8s.io`.

use super::core::load_balancer_ingress;
use super::docs as d;
use super::util::{
    Ctx, arr, at, format_label_selector, list_with_more, name, obj, opt_int, opt_str, scalar_text,
    string,
};
use super::{AGE, NAME, Printer, col};
use serde_json::Value;

/// The printer for a networking or discovery resource.
pub(crate) fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    Some(match (group, resource) {
        ("networking.k8s.io", "ingresses") => &INGRESSES,
        ("networking.k8s.io", "ingressclasses") => &INGRESS_CLASSES,
        ("networking.k8s.io", "networkpolicies") => &NETWORK_POLICIES,
        ("networking.k8s.io", "servicecidrs") => &SERVICE_CIDRS,
        ("networking.k8s.io", "ipaddresses") => &IP_ADDRESSES,
        ("discovery.k8s.io", "endpointslices") => &ENDPOINT_SLICES,
        _ => return None,
    })
}

static INGRESSES: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Class",
            "string",
            "The name of the IngressClass resource that should be used for additional configuration",
            0,
        ),
        col(
            "Hosts",
            "string",
            "Hosts that incoming requests are matched against before the ingress rule",
            0,
        ),
        col(
            "Address",
            "string",
            "Address is a list containing ingress points for the load-balancer",
            0,
        ),
        col(
            "Ports",
            "string",
            "Ports of TLS configurations that open",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        vec![
            Value::from(name(o)),
            Value::from(opt_str(o, &["spec", "ingressClassName"]).unwrap_or("<none>")),
            Value::from(format_hosts(arr(o, &["spec", "rules"]))),
            Value::from(load_balancer_ingress(at(o, &["status", "loadBalancer"]))),
            Value::from(if arr(o, &["spec", "tls"]).is_empty() {
                "80"
            } else {
                "80, 443"
            }),
            Value::from(ctx.age(o)),
        ]
    },
};

/// Up to three rule hosts, `*` when none is set.
fn format_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = string(rule, &["host"]);
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".to_string();
    }
    let ret = list.join(",");
    if more {
        format!("{} + {} more...", ret, rules.len().saturating_sub(MAX))
    } else {
        ret
    }
}

static INGRESS_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Controller",
            "string",
            "Controller that is responsible for handling this class",
            0,
        ),
        col(
            "Parameters",
            "string",
            "A reference to a resource with additional parameters",
            0,
        ),
        AGE,
    ],
    cells: |o, ctx| {
        let parameters = match obj(o, &["spec", "parameters"]) {
            None => "<none>".to_string(),
            Some(p) => {
                let mut s = string(p, &["kind"]).to_string();
                if let Some(group) = opt_str(p, &["apiGroup"]) {
                    s = format!("{s}.{group}");
                }
                format!("{s}/{}", string(p, &["name"]))
            }
        };
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["spec", "controller"])),
            Value::from(parameters),
            Value::from(ctx.age(o)),
        ]
    },
};

static NETWORK_POLICIES: Printer = Printer {
    columns: &[
        NAME,
        col("Pod-Selector", "string", d::NP_PODSELECTOR, 0),
        AGE,
    ],
    cells: |o, ctx| {
        // The pod selector is a struct, not a pointer: unset means "empty".
        let selector = at(o, &["spec", "podSelector"])
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()));
        vec![
            Value::from(name(o)),
            Value::from(format_label_selector(Some(&selector))),
            Value::from(ctx.age(o)),
        ]
    },
};

static SERVICE_CIDRS: Printer = Printer {
    columns: &[NAME, col("CIDRs", "string", d::SCIDR_CIDRS, 0), AGE],
    cells: |o, ctx| {
        let cidrs: Vec<String> = arr(o, &["spec", "cidrs"]).iter().map(scalar_text).collect();
        vec![
            Value::from(name(o)),
            Value::from(cidrs.join(",")),
            Value::from(ctx.age(o)),
        ]
    },
};

static IP_ADDRESSES: Printer = Printer {
    // Upstream declares two columns but emits three cells (the age is extra).
    columns: &[NAME, col("ParentRef", "string", d::IPA_PARENT, 0)],
    cells: |o, ctx: &Ctx| {
        let parent = match obj(o, &["spec", "parentRef"]) {
            None => "<none>".to_string(),
            Some(p) => {
                let resource = string(p, &["resource"]);
                let group = string(p, &["group"]);
                let mut s = if group.is_empty() {
                    resource.to_string()
                } else {
                    format!("{resource}.{group}")
                }
                .to_lowercase();
                let ns = string(p, &["namespace"]);
                if !ns.is_empty() {
                    s = format!("{s}/{ns}");
                }
                format!("{s}/{}", string(p, &["name"]))
            }
        };
        vec![
            Value::from(name(o)),
            Value::from(parent),
            Value::from(ctx.age(o)),
        ]
    },
};

static ENDPOINT_SLICES: Printer = Printer {
    columns: &[
        NAME,
        col("AddressType", "string", d::EPS_ADDRTYPE, 0),
        col("Ports", "string", d::EPS_PORTS, 0),
        col("Endpoints", "string", d::EPS_ENDPOINTS, 0),
        AGE,
    ],
    cells: |o, ctx| {
        const MAX: usize = 3;
        let ports = arr(o, &["ports"]);
        let port_list: Vec<String> = ports
            .iter()
            .take(MAX)
            .map(|p| match (opt_int(p, &["port"]), opt_str(p, &["name"])) {
                (Some(n), _) => n.to_string(),
                (None, Some(n)) => n.to_string(),
                (None, None) => "*".to_string(),
            })
            .collect();
        let ports_text = list_with_more(&port_list, ports.len() > MAX, ports.len(), MAX);
        let addresses: Vec<String> = arr(o, &["endpoints"])
            .iter()
            .flat_map(|e| arr(e, &["addresses"]).iter().map(scalar_text))
            .collect();
        let shown: Vec<String> = addresses.iter().take(MAX).cloned().collect();
        let endpoints_text = list_with_more(&shown, addresses.len() > MAX, addresses.len(), MAX);
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["addressType"])),
            Value::from(ports_text),
            Value::from(endpoints_text),
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
    fn ingress_row_lists_hosts_address_and_tls_ports() {
        let ing = json!({"metadata": {"name": "web"}, "spec": {"ingressClassName": "nginx",
            "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"}, {"host": "c.example.com"}, {"host": "d.example.com"}],
            "tls": [{"hosts": ["a.example.com"]}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}});
        assert_eq!(
            cells("networking.k8s.io", "ingresses", &ing, NOW)[..5],
            [
                json!("web"),
                json!("nginx"),
                json!("a.example.com,b.example.com,c.example.com + 2 more..."),
                json!("1.2.3.4"),
                json!("80, 443")
            ]
        );
        let bare = cells("networking.k8s.io", "ingresses", &json!({}), NOW);
        assert_eq!(
            bare[1..5],
            [json!("<none>"), json!("*"), json!(""), json!("80")]
        );
    }

    #[test]
    fn ingress_class_parameters_include_group_when_set() {
        let ic = json!({"spec": {"controller": "k8s.io/ingress-nginx", "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}});
        assert_eq!(
            cells("networking.k8s.io", "ingressclasses", &ic, NOW)[2],
            json!("IngressParameters.k8s.example.com/p")
        );
    }

    #[test]
    fn network_policy_with_empty_selector_prints_none() {
        assert_eq!(
            cells("networking.k8s.io", "networkpolicies", &json!({}), NOW)[1],
            json!("<none>")
        );
        let np = json!({"spec": {"podSelector": {"matchLabels": {"role": "db"}}}});
        assert_eq!(
            cells("networking.k8s.io", "networkpolicies", &np, NOW)[1],
            json!("role=db")
        );
    }

    #[test]
    fn ip_address_parent_ref_is_resource_group_namespace_name() {
        let ip = json!({"spec": {"parentRef": {"group": "", "resource": "Services", "namespace": "default", "name": "kubernetes"}}});
        assert_eq!(
            cells("networking.k8s.io", "ipaddresses", &ip, NOW)[1],
            json!("services/default/kubernetes")
        );
    }

    #[test]
    fn endpoint_slice_lists_ports_and_addresses_with_overflow() {
        let eps = json!({"addressType": "IPv4", "ports": [{"port": 80}, {"name": "dns"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1", "10.0.0.2"]}, {"addresses": ["10.0.0.3"]}, {"addresses": ["10.0.0.4", "10.0.0.5"]}]});
        assert_eq!(
            cells("discovery.k8s.io", "endpointslices", &eps, NOW)[1..4],
            [
                json!("IPv4"),
                json!("80,dns,*"),
                json!("10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...")
            ]
        );
        let empty = cells("discovery.k8s.io", "endpointslices", &json!({}), NOW);
        assert_eq!(empty[2..4], [json!("<unset>"), json!("<unset>")]);
    }
}
