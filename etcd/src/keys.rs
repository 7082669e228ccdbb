//! The key layout: `/registry/<resource>/<namespace>/<name>` for namespaced
//! objects and `/registry/<resource>/<name>` for cluster-scoped ones, as upstream.

/// The root every key lives under.
pub const ROOT: &str = "/registry";

/// The key of one object. `resource` is the storage resource (for example
/// `pods`, or `deployments.apps` style names chosen by the apiserver).
pub fn object_key(resource: &str, namespace: Option<&str>, name: &str) -> Vec<u8> {
    match namespace {
        Some(ns) => format!("{ROOT}/{resource}/{ns}/{name}").into_bytes(),
        None => format!("{ROOT}/{resource}/{name}").into_bytes(),
    }
}

/// The prefix of every object of a resource, optionally within one namespace.
/// It ends with `/` so that `pods` never matches `podsecuritypolicies`.
pub fn resource_prefix(resource: &str, namespace: Option<&str>) -> Vec<u8> {
    match namespace {
        Some(ns) => format!("{ROOT}/{resource}/{ns}/").into_bytes(),
        None => format!("{ROOT}/{resource}/").into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_and_cluster_keys_follow_upstream_layout() {
        assert_eq!(
            object_key("pods", Some("default"), "web"),
            b"/registry/pods/default/web"
        );
        assert_eq!(object_key("nodes", None, "n1"), b"/registry/nodes/n1");
        assert_eq!(resource_prefix("pods", Some("a")), b"/registry/pods/a/");
        assert_eq!(resource_prefix("pods", None), b"/registry/pods/");
    }
}
