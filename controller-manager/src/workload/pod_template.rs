//! Turning a ReplicaSet's pod template into a pod to create.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::error::WorkloadError;

/// Longest valid object name (a DNS-1123 subdomain).
const MAX_NAME_LENGTH: usize = 253;

/// A controller owner reference: `controller` and `blockOwnerDeletion` set.
pub fn controller_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        uid: uid.to_owned(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The controller reference a ReplicaSet puts on the pods it creates
/// (`apps/v1`, `ReplicaSet`).
pub fn replica_set_controller_ref(rs: &ReplicaSet) -> Result<OwnerReference, WorkloadError> {
    owner_ref_for(&rs.metadata, "ReplicaSet")
}

/// The controller reference a Deployment puts on its ReplicaSets
/// (`apps/v1`, `Deployment`).
pub fn deployment_controller_ref(
    deployment: &k8s_openapi::api::apps::v1::Deployment,
) -> Result<OwnerReference, WorkloadError> {
    owner_ref_for(&deployment.metadata, "Deployment")
}

fn owner_ref_for(meta: &ObjectMeta, kind: &'static str) -> Result<OwnerReference, WorkloadError> {
    let name = meta.name.as_deref().ok_or(WorkloadError::MissingField {
        object: kind,
        field: "metadata.name",
    })?;
    let uid = meta.uid.as_deref().ok_or(WorkloadError::MissingField {
        object: kind,
        field: "metadata.uid",
    })?;
    Ok(controller_ref("apps/v1", kind, name, uid))
}

/// The `generateName` for pods of a controller named `controller_name`:
/// `<name>-`, or the bare name when the dash would make it too long.
pub fn pod_name_prefix(controller_name: &str) -> String {
    if controller_name.len() + 1 > MAX_NAME_LENGTH {
        controller_name.to_owned()
    } else {
        format!("{controller_name}-")
    }
}

/// The pod to create from `template`: the template's labels, annotations
/// and finalizers, `generateName` from `parent_name`, the given namespace
/// and controller reference, and a copy of the template's spec.
pub fn pod_from_template(
    template: &PodTemplateSpec,
    parent_name: &str,
    namespace: Option<&str>,
    controller: Option<OwnerReference>,
) -> Pod {
    let template_meta = template.metadata.as_ref();
    let copy_map = |m: Option<&std::collections::BTreeMap<String, String>>| {
        m.filter(|m| !m.is_empty()).cloned()
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(pod_name_prefix(parent_name)),
            namespace: namespace.map(str::to_owned),
            labels: copy_map(template_meta.and_then(|m| m.labels.as_ref())),
            annotations: copy_map(template_meta.and_then(|m| m.annotations.as_ref())),
            finalizers: template_meta
                .and_then(|m| m.finalizers.clone())
                .filter(|f| !f.is_empty()),
            owner_references: controller.map(|r| vec![r]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// The pod a ReplicaSet creates: [`pod_from_template`] with the RS's
/// template, name, namespace and controller reference.
pub fn pod_for_replica_set(rs: &ReplicaSet) -> Result<Pod, WorkloadError> {
    let template =
        rs.spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .ok_or(WorkloadError::MissingField {
                object: "ReplicaSet",
                field: "spec.template",
            })?;
    let owner = replica_set_controller_ref(rs)?;
    Ok(pod_from_template(
        template,
        &owner.name,
        rs.metadata.namespace.as_deref(),
        Some(owner.clone()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{labels, replica_set, template};

    #[test]
    fn pod_copies_template_and_points_at_rs() {
        let mut rs = replica_set("web-abc", 3, 0, &template("nginx:1"));
        if let Some(meta) = rs
            .spec
            .as_mut()
            .and_then(|s| s.template.as_mut())
            .and_then(|t| t.metadata.as_mut())
        {
            meta.annotations = Some(labels(&[("a", "b")]));
            meta.finalizers = Some(vec!["example.com/f".into()]);
        }
        let pod = pod_for_replica_set(&rs).expect("pod");
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-abc-"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(pod.metadata.labels, Some(labels(&[("app", "web")])));
        assert_eq!(pod.metadata.annotations, Some(labels(&[("a", "b")])));
        assert_eq!(
            pod.metadata.finalizers,
            Some(vec!["example.com/f".to_owned()])
        );
        let refs = pod.metadata.owner_references.expect("owner refs");
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].api_version, "apps/v1");
        assert_eq!(refs[0].kind, "ReplicaSet");
        assert_eq!(refs[0].name, "web-abc");
        assert_eq!(refs[0].uid, "uid-web-abc");
        assert_eq!(refs[0].controller, Some(true));
        assert_eq!(refs[0].block_owner_deletion, Some(true));
        let image = pod
            .spec
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
        assert_eq!(image.as_deref(), Some("nginx:1"));
        assert!(pod.metadata.name.is_none());
    }

    #[test]
    fn long_names_drop_the_dash() {
        let long = "a".repeat(253);
        assert_eq!(pod_name_prefix(&long), long);
        assert_eq!(pod_name_prefix("x"), "x-");
    }

    #[test]
    fn rs_without_uid_is_an_error() {
        let mut rs = replica_set("web-abc", 3, 0, &template("nginx:1"));
        rs.metadata.uid = None;
        assert!(pod_for_replica_set(&rs).is_err());
    }
}
