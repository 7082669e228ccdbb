//! Per-kind facts the generic registry consults: status subresource,
//! generation tracking, create-on-update, graceful deletion, and the fields a
//! field selector may name.

use bosun_types::resources::ResourceInfo;
use serde_json::Value;
use std::collections::BTreeMap;

/// How the generic registry treats one kind.
#[derive(Debug, Clone, Copy)]
pub struct Strategy {
    /// Writes to the main resource keep the stored `status`; `/status` writes
    /// change only `status`.
    pub status_subresource: bool,
    /// `metadata.generation` starts at 1 and grows on spec changes.
    pub tracks_generation: bool,
    /// Annotations changes bump the generation too (Deployments).
    pub annotations_bump_generation: bool,
    /// Status writes may change annotations (Deployments: the controller
    /// records `deployment.kubernetes.io/revision` through `status`, so
    /// the generation does not move).
    pub status_keeps_annotations: bool,
    /// `PUT` of a missing object creates it.
    pub allow_create_on_update: bool,
    /// Keep a client-sent `status` on create (Nodes).
    pub keep_status_on_create: bool,
}

/// The strategy for a resource.
pub fn for_resource(resource: &ResourceInfo) -> Strategy {
    let status_subresource = resource.subresource("status").is_some();
    let (group, plural) = (resource.group, resource.plural);
    let tracks_generation = matches!(
        (group, plural),
        (
            "apps",
            "deployments" | "replicasets" | "daemonsets" | "statefulsets"
        ) | ("", "replicationcontrollers")
            | ("batch", "jobs" | "cronjobs")
            | ("autoscaling", "horizontalpodautoscalers")
            | ("policy", "poddisruptionbudgets")
    );
    let allow_create_on_update = matches!(
        (group, plural),
        ("", "endpoints" | "events" | "limitranges")
            | ("events.k8s.io", "events")
            | ("coordination.k8s.io", "leases")
            | (
                "rbac.authorization.k8s.io",
                "roles" | "rolebindings" | "clusterroles" | "clusterrolebindings"
            )
    );
    Strategy {
        status_subresource,
        tracks_generation,
        annotations_bump_generation: (group, plural) == ("apps", "deployments"),
        status_keeps_annotations: (group, plural) == ("apps", "deployments"),
        allow_create_on_update,
        keep_status_on_create: (group, plural) == ("", "nodes"),
    }
}

/// The field-selector fields a resource supports beyond `metadata.name` and
/// `metadata.namespace`, as upstream registers them.
pub fn selectable_fields(resource: &ResourceInfo) -> &'static [&'static str] {
    match (resource.group, resource.plural) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "replicationcontrollers") => &["status.replicas"],
        ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        _ => &[],
    }
}

/// The text a field selector compares with: strings as they are, booleans
/// and numbers printed, anything else (or nothing) empty.
pub fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The values of `resource`'s [`selectable_fields`] (beyond name and
/// namespace), in that order, as upstream computes them: `text_at` gives
/// the [`text`] at a dotted path of the object (empty when absent);
/// booleans that default to false read `false` when unset, and an Event's
/// `source` is its `source.component`. Stops at the first error of
/// `text_at`.
pub fn selectable_values<E>(
    resource: &ResourceInfo,
    mut text_at: impl FnMut(&str) -> Result<String, E>,
) -> Result<Vec<String>, E> {
    selectable_fields(resource)
        .iter()
        .map(|field| match *field {
            "spec.hostNetwork" | "spec.unschedulable" => {
                let s = text_at(field)?;
                Ok(if s.is_empty() { "false".to_owned() } else { s })
            }
            "source" => text_at("source.component"),
            other => text_at(other),
        })
        .collect()
}

/// [`selectable_values`] of a decoded object.
pub fn selectable_values_of(resource: &ResourceInfo, object: &Value) -> Vec<String> {
    let values = selectable_values(resource, |path| {
        let pointer = format!("/{}", path.replace('.', "/"));
        Ok::<_, std::convert::Infallible>(text(object.pointer(&pointer)))
    });
    let Ok(values) = values;
    values
}

/// The field values a field selector matches against, as upstream computes
/// them (missing fields are empty strings; booleans print as `true`/`false`).
pub fn field_set(
    resource: &ResourceInfo,
    object: &Value,
    namespaced: bool,
) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let meta = object.get("metadata");
    fields.insert(
        "metadata.name".to_owned(),
        text(meta.and_then(|m| m.get("name"))),
    );
    if namespaced {
        fields.insert(
            "metadata.namespace".to_owned(),
            text(meta.and_then(|m| m.get("namespace"))),
        );
    }
    let values = selectable_values_of(resource, object);
    for (field, value) in selectable_fields(resource).iter().zip(values) {
        fields.insert((*field).to_owned(), value);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_types::resources::find_by_plural;
    use serde_json::json;

    #[test]
    fn pods_expose_upstream_field_selectors() {
        let pods = find_by_plural("", "v1", "pods").expect("pods");
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let fields = field_set(pods, &pod, true);
        assert_eq!(fields["metadata.name"], "p");
        assert_eq!(fields["metadata.namespace"], "ns");
        assert_eq!(fields["spec.nodeName"], "n1");
        assert_eq!(fields["status.phase"], "Running");
        assert_eq!(fields["spec.hostNetwork"], "false");
        assert_eq!(fields["spec.schedulerName"], "");
    }

    #[test]
    fn workloads_track_generation_and_have_status() {
        let deploy =
            for_resource(find_by_plural("apps", "v1", "deployments").expect("deployments"));
        assert!(
            deploy.tracks_generation
                && deploy.status_subresource
                && deploy.annotations_bump_generation
        );
        let cm = for_resource(find_by_plural("", "v1", "configmaps").expect("configmaps"));
        assert!(!cm.tracks_generation && !cm.status_subresource);
    }
}
