//! Rolling a deployment back to an earlier revision.
//!
//! `kubectl rollout undo` does this client-side: it picks the ReplicaSet of
//! the wanted revision (0 meaning the one before the current), and replaces
//! the deployment's pod template with that ReplicaSet's (minus the
//! `pod-template-hash` label) and its annotations with the ReplicaSet's
//! (keeping the deployment's own bookkeeping ones). The controller then
//! sees a template change and rolls out, finding the old ReplicaSet as the
//! new one and raising its revision.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{Value, json};

use super::deployment_util::{
    DEPRECATED_ROLLBACK_TO_ANNOTATION, deployment_name, is_paused, revision, rs_name,
    skip_copy_annotation,
};
use super::template_hash::{equal_ignore_hash, template_without_hash_label};

/// Why a rollback cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    /// Revision 0 (the previous one) was asked for but there is only one.
    #[error("no rollout history found for deployment {0:?}")]
    NoHistory(String),
    /// No ReplicaSet has the asked-for revision.
    #[error("unable to find specified revision {0} in history")]
    RevisionNotFound(i64),
    /// The revision's template is the deployment's current template.
    #[error("skipped rollback (current template already matches revision {0})")]
    TemplateUnchanged(i64),
    /// Paused deployments are not rolled back.
    #[error(
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again"
    )]
    Paused,
}

/// The ReplicaSet to roll back to: the one with revision `to_revision`,
/// or for 0 the one with the second highest revision. ReplicaSets whose
/// revision does not parse are ignored.
pub fn rollback_target<'a>(
    deployment_name: &str,
    rses: &[&'a ReplicaSet],
    to_revision: i64,
) -> Result<&'a ReplicaSet, RollbackError> {
    let mut latest: Option<(i64, &ReplicaSet)> = None;
    let mut previous: Option<(i64, &ReplicaSet)> = None;
    for rs in rses {
        let Ok(v) = revision(rs) else { continue };
        if to_revision > 0 {
            if v == to_revision {
                return Ok(rs);
            }
            continue;
        }
        if latest.is_none_or(|(l, _)| l < v) {
            previous = latest;
            latest = Some((v, rs));
        } else if previous.is_none_or(|(p, _)| p < v) {
            previous = Some((v, rs));
        }
    }
    if to_revision > 0 {
        return Err(RollbackError::RevisionNotFound(to_revision));
    }
    previous
        .map(|(_, rs)| rs)
        .ok_or_else(|| RollbackError::NoHistory(deployment_name.to_owned()))
}

/// Upstream's `SetDeploymentAnnotationsTo`: the deployment's own
/// bookkeeping annotations (those never copied) plus every other
/// annotation of the ReplicaSet.
pub fn rollback_annotations(d: &Deployment, rs: &ReplicaSet) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = d
        .metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| skip_copy_annotation(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !skip_copy_annotation(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// A rollback ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackPlan {
    /// The revision rolled back to.
    pub revision: i64,
    /// The ReplicaSet it comes from.
    pub replica_set: String,
    /// The pod template to restore (no `pod-template-hash` label).
    pub template: PodTemplateSpec,
    /// The deployment's annotations after the rollback.
    pub annotations: BTreeMap<String, String>,
}

/// Plans rolling `d` back to `to_revision` (0: the previous revision)
/// among its ReplicaSets `rses`.
pub fn plan_rollback(
    d: &Deployment,
    rses: &[&ReplicaSet],
    to_revision: i64,
) -> Result<RollbackPlan, RollbackError> {
    if is_paused(d) {
        return Err(RollbackError::Paused);
    }
    let target = rollback_target(deployment_name(d), rses, to_revision)?;
    let revision = revision(target).unwrap_or(to_revision);
    let template = target
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .map(template_without_hash_label)
        .unwrap_or_default();
    if d.spec
        .as_ref()
        .is_some_and(|s| equal_ignore_hash(&s.template, &template))
    {
        return Err(RollbackError::TemplateUnchanged(revision));
    }
    Ok(RollbackPlan {
        revision,
        replica_set: rs_name(target).to_owned(),
        template,
        annotations: rollback_annotations(d, target),
    })
}

/// The plan as the JSON Patch (RFC 6902) `kubectl rollout undo` sends:
/// replace `/spec/template`, set `/metadata/annotations`.
pub fn rollback_json_patch(plan: &RollbackPlan) -> Value {
    json!([
        {
            "op": "replace",
            "path": "/spec/template",
            "value": serde_json::to_value(&plan.template).unwrap_or(Value::Null),
        },
        {
            "op": "add",
            "path": "/metadata/annotations",
            "value": plan.annotations,
        },
    ])
}

/// Applies the plan to a deployment object (for an update instead of a
/// patch), also clearing the deprecated rollback request annotation.
pub fn apply_rollback(d: &mut Deployment, plan: &RollbackPlan) {
    if let Some(spec) = d.spec.as_mut() {
        spec.template = plan.template.clone();
    }
    let mut annotations = plan.annotations.clone();
    annotations.remove(DEPRECATED_ROLLBACK_TO_ANNOTATION);
    d.metadata.annotations = Some(annotations);
}

/// The revision requested through the deprecated
/// `deprecated.deployment.rollback.to` annotation, if any (an unparsable
/// value reads as 0, the previous revision).
pub fn requested_rollback(d: &Deployment) -> Option<i64> {
    d.metadata
        .annotations
        .as_ref()?
        .get(DEPRECATED_ROLLBACK_TO_ANNOTATION)
        .map(|v| v.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::deployment_util::{
        DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY, LAST_APPLIED_CONFIG_ANNOTATION, REVISION_ANNOTATION,
    };
    use crate::workload::test_support::{
        pct, replica_set, rolling_deployment, template, with_revision,
    };

    fn hashed(image: &str) -> PodTemplateSpec {
        let mut t = template(image);
        if let Some(l) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            l.insert(
                DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY.into(),
                format!("h-{image}"),
            );
        }
        t
    }

    fn history() -> Vec<ReplicaSet> {
        vec![
            with_revision(replica_set("web-1", 0, 0, &hashed("v1")), 1, 1),
            with_revision(replica_set("web-3", 3, 3, &hashed("v3")), 3, 3),
            with_revision(replica_set("web-2", 0, 0, &hashed("v2")), 2, 2),
        ]
    }

    #[test]
    fn target_selection() {
        let h = history();
        let refs: Vec<&ReplicaSet> = h.iter().collect();
        assert_eq!(rollback_target("web", &refs, 0).map(rs_name), Ok("web-2"));
        assert_eq!(rollback_target("web", &refs, 1).map(rs_name), Ok("web-1"));
        assert_eq!(
            rollback_target("web", &refs, 9),
            Err(RollbackError::RevisionNotFound(9))
        );
        assert_eq!(
            rollback_target("web", &refs[1..2], 0),
            Err(RollbackError::NoHistory("web".into()))
        );
    }

    #[test]
    fn plan_restores_template_and_annotations() {
        let h = history();
        let refs: Vec<&ReplicaSet> = h.iter().collect();
        let mut d = rolling_deployment("web", 3, &template("v3"), pct("25%"), pct("25%"));
        d.metadata.annotations = Some(BTreeMap::from([
            (REVISION_ANNOTATION.to_owned(), "3".to_owned()),
            (LAST_APPLIED_CONFIG_ANNOTATION.to_owned(), "{}".to_owned()),
            ("note".to_owned(), "v3 notes".to_owned()),
        ]));
        let mut h2 = h.clone();
        if let Some(a) = h2[2].metadata.annotations.as_mut() {
            a.insert("note".into(), "v2 notes".into());
        }
        let refs2: Vec<&ReplicaSet> = h2.iter().collect();
        let plan = plan_rollback(&d, &refs2, 0).expect("plan");
        assert_eq!(plan.revision, 2);
        assert_eq!(plan.replica_set, "web-2");
        assert!(equal_ignore_hash(&plan.template, &template("v2")));
        assert!(
            plan.template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.as_ref())
                .is_some_and(|l| !l.contains_key(DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY))
        );
        assert_eq!(
            plan.annotations.get("note").map(String::as_str),
            Some("v2 notes")
        );
        assert_eq!(
            plan.annotations
                .get(REVISION_ANNOTATION)
                .map(String::as_str),
            Some("3")
        );
        assert!(
            plan.annotations
                .contains_key(LAST_APPLIED_CONFIG_ANNOTATION)
        );
        let patch = rollback_json_patch(&plan);
        assert_eq!(patch[0]["path"], "/spec/template");
        assert_eq!(patch[0]["value"]["spec"]["containers"][0]["image"], "v2");
        let mut applied = d.clone();
        apply_rollback(&mut applied, &plan);
        assert!(equal_ignore_hash(
            &applied.spec.as_ref().expect("spec").template,
            &template("v2")
        ));

        // Rolling back to the current revision changes nothing.
        assert_eq!(
            plan_rollback(&d, &refs, 3),
            Err(RollbackError::TemplateUnchanged(3))
        );
        let mut paused = d.clone();
        if let Some(s) = paused.spec.as_mut() {
            s.paused = Some(true);
        }
        assert_eq!(plan_rollback(&paused, &refs, 0), Err(RollbackError::Paused));
    }
}
