//! Server-side apply through `scale`, as upstream's scale handler: the
//! parent's managedFields are translated to the Scale's (only ownership of
//! `spec.replicas` carries over), the applied Scale is merged there with
//! the usual conflict rules, and the result is translated back: every
//! parent entry loses `spec.replicas`, and each Scale manager owning it
//! owns the parent's `spec.replicas` through subresource `scale`.

use crate::apply::{FieldManager, FieldSet, ManagedFieldsEntry, PathElement};
use crate::patch::SCALE_SCHEMA;

/// `spec.replicas`, in the parent and in the Scale alike.
fn replicas() -> FieldSet {
    let mut set = FieldSet::new();
    set.insert(&replicas_path());
    set
}

fn replicas_path() -> [PathElement; 2] {
    [PathElement::field("spec"), PathElement::field("replicas")]
}

/// The field manager of Scale objects written through `scale`.
pub(super) fn scale_field_manager() -> FieldManager<'static, crate::apply::OpenApiSchemas> {
    FieldManager::new(
        crate::apply::schemas(),
        Some(SCALE_SCHEMA),
        "autoscaling/v1",
    )
    .with_kind("Scale")
    .with_subresource(Some("scale"))
    .with_reset_fields(FieldSet::new())
}

/// The parent's entries as the Scale sees them: those owning
/// `spec.replicas`, owning only that, in `autoscaling/v1`.
pub(super) fn to_scale(parent: &[ManagedFieldsEntry]) -> Vec<ManagedFieldsEntry> {
    let replicas = replicas();
    parent
        .iter()
        .filter(|e| e.fields.has(&replicas_path()))
        .map(|e| ManagedFieldsEntry {
            api_version: "autoscaling/v1".to_owned(),
            fields: replicas.clone(),
            ..e.clone()
        })
        .collect()
}

/// The parent's entries after an apply through `scale`: `spec.replicas`
/// taken from every parent entry (entries left empty go), then given to
/// each Scale entry owning it (added to that manager's parent entry, or
/// as a new entry under the parent's `api_version`).
pub(super) fn to_parent(
    parent: &[ManagedFieldsEntry],
    scale: &[ManagedFieldsEntry],
    api_version: &str,
) -> Vec<ManagedFieldsEntry> {
    let replicas = replicas();
    let owners: Vec<&ManagedFieldsEntry> = scale
        .iter()
        .filter(|e| e.fields.has(&replicas_path()))
        .collect();
    let same_key = |a: &ManagedFieldsEntry, b: &ManagedFieldsEntry| {
        a.manager == b.manager && a.operation == b.operation && a.subresource == b.subresource
    };
    let mut out: Vec<ManagedFieldsEntry> = Vec::new();
    for entry in parent {
        let mut rest = entry.fields.difference(&replicas);
        if owners.iter().any(|o| same_key(o, entry)) {
            rest.union_in_place(&replicas);
        }
        if !rest.is_empty() {
            out.push(ManagedFieldsEntry {
                fields: rest,
                ..entry.clone()
            });
        }
    }
    for owner in owners {
        if !parent.iter().any(|p| same_key(p, owner)) {
            out.push(ManagedFieldsEntry {
                api_version: api_version.to_owned(),
                fields: replicas.clone(),
                ..owner.clone()
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::Operation;

    fn entry(
        manager: &str,
        operation: Operation,
        subresource: &str,
        fields: &str,
    ) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: manager.into(),
            operation,
            api_version: "apps/v1".into(),
            time: None,
            fields: FieldSet::from_fields_v1_str(fields).expect("fields"),
            subresource: subresource.into(),
        }
    }

    #[test]
    fn only_replicas_ownership_crosses_to_the_scale_and_back() {
        let parent = vec![
            entry(
                "kubectl",
                Operation::Apply,
                "",
                r#"{"f:spec":{"f:replicas":{},"f:template":{}}}"#,
            ),
            entry(
                "ci",
                Operation::Update,
                "",
                r#"{"f:metadata":{"f:labels":{}}}"#,
            ),
        ];
        let scale = to_scale(&parent);
        assert_eq!(scale.len(), 1);
        assert_eq!(scale[0].manager, "kubectl");
        assert_eq!(scale[0].api_version, "autoscaling/v1");
        // An autoscaler takes replicas over through scale.
        let mut after = scale.clone();
        after.push(entry(
            "hpa",
            Operation::Apply,
            "scale",
            r#"{"f:spec":{"f:replicas":{}}}"#,
        ));
        after.retain(|e| e.manager != "kubectl");
        let back = to_parent(&parent, &after, "apps/v1");
        let summary: Vec<(String, String, String)> = back
            .iter()
            .map(|e| {
                (
                    e.manager.clone(),
                    e.subresource.clone(),
                    e.fields.to_fields_v1_string(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "kubectl".to_owned(),
                    String::new(),
                    r#"{"f:spec":{"f:template":{}}}"#.to_owned()
                ),
                (
                    "ci".to_owned(),
                    String::new(),
                    r#"{"f:metadata":{"f:labels":{}}}"#.to_owned()
                ),
                (
                    "hpa".to_owned(),
                    "scale".to_owned(),
                    r#"{"f:spec":{"f:replicas":{}}}"#.to_owned()
                ),
            ]
        );
        assert_eq!(back[2].api_version, "apps/v1");
    }
}
