//! Finding a deployment's new and old ReplicaSets, building the new one,
//! and what follows its creation (or an existing one's discovery).

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::deployment_util::{
    DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY, MAX_REV_HISTORY_LENGTH_IN_CHARS, REVISION_ANNOTATION,
    cmp_by_creation, collision_count, deployment_min_ready_seconds, has_progress_deadline,
    max_revision, new_rs_new_replicas, rs_name, rs_replicas, set_new_replica_set_annotations,
};
use super::error::WorkloadError;
use super::events::{self, Event};
use super::ownership::controller_of;
use super::pod_template::deployment_controller_ref;
use super::progress::{
    CONDITION_PROGRESSING, FAILED_RS_CREATE_REASON, FOUND_NEW_RS_REASON, NEW_REPLICA_SET_REASON,
    get_deployment_condition, new_deployment_condition,
};
use super::template_hash::{compute_hash, equal_ignore_hash};

/// The template of a ReplicaSet, if it has one.
fn rs_template(rs: &ReplicaSet) -> Option<&k8s_openapi::api::core::v1::PodTemplateSpec> {
    rs.spec.as_ref()?.template.as_ref()
}

fn deployment_template(d: &Deployment) -> Option<&k8s_openapi::api::core::v1::PodTemplateSpec> {
    d.spec.as_ref().map(|s| &s.template)
}

fn same_rs(a: &ReplicaSet, b: &ReplicaSet) -> bool {
    match (&a.metadata.uid, &b.metadata.uid) {
        (Some(x), Some(y)) => x == y,
        _ => std::ptr::eq(a, b) || (rs_name(a) == rs_name(b) && !rs_name(a).is_empty()),
    }
}

/// The new ReplicaSet: the oldest one whose template equals the
/// deployment's, ignoring the `pod-template-hash` label.
pub fn find_new_replica_set<'a>(d: &Deployment, rses: &[&'a ReplicaSet]) -> Option<&'a ReplicaSet> {
    let template = deployment_template(d)?;
    let mut sorted = rses.to_vec();
    sorted.sort_by(|a, b| cmp_by_creation(a, b));
    sorted
        .into_iter()
        .find(|rs| rs_template(rs).is_some_and(|t| equal_ignore_hash(t, template)))
}

/// A deployment's old ReplicaSets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OldReplicaSets<'a> {
    /// Old ReplicaSets with `spec.replicas != 0`.
    pub with_replicas: Vec<&'a ReplicaSet>,
    /// Every old ReplicaSet.
    pub all: Vec<&'a ReplicaSet>,
}

/// Every ReplicaSet but the new one (see [`find_new_replica_set`]).
pub fn find_old_replica_sets<'a>(d: &Deployment, rses: &[&'a ReplicaSet]) -> OldReplicaSets<'a> {
    let new_rs = find_new_replica_set(d, rses);
    let mut out = OldReplicaSets::default();
    for rs in rses {
        if new_rs.is_some_and(|n| same_rs(n, rs)) {
            continue;
        }
        out.all.push(rs);
        if rs_replicas(rs) != 0 {
            out.with_replicas.push(rs);
        }
    }
    out
}

/// A new ReplicaSet ready to be created.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReplicaSet {
    /// The object to create.
    pub replica_set: ReplicaSet,
    /// Its revision (highest old revision + 1).
    pub revision: i64,
    /// Its `pod-template-hash`.
    pub hash: String,
}

/// Builds the deployment's new ReplicaSet: named `<deployment>-<hash>`,
/// owned by the deployment, the hash label added to the template labels,
/// the RS labels and the selector, `minReadySeconds` copied, initial
/// replicas from [`new_rs_new_replicas`], and annotations (copied ones,
/// revision, desired- and max-replicas) set.
pub fn new_replica_set(
    d: &Deployment,
    old_rses: &[&ReplicaSet],
) -> Result<NewReplicaSet, WorkloadError> {
    let spec = d.spec.as_ref().ok_or(WorkloadError::MissingField {
        object: "Deployment",
        field: "spec",
    })?;
    let hash = compute_hash(&spec.template, collision_count(d));
    let mut template = spec.template.clone();
    let template_meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    let labels = template_meta.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY.to_owned(), hash.clone());
    let labels = labels.clone();
    let mut selector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY.to_owned(), hash.clone());
    let owner = deployment_controller_ref(d)?;
    let mut rs = ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!("{}-{hash}", owner.name)),
            namespace: d.metadata.namespace.clone(),
            owner_references: Some(vec![owner]),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    };
    let mut all = old_rses.to_vec();
    all.push(&rs);
    let replicas = new_rs_new_replicas(d, &all, &rs)?;
    if let Some(s) = rs.spec.as_mut() {
        s.replicas = Some(replicas);
    }
    let revision = max_revision(old_rses) + 1;
    set_new_replica_set_annotations(d, &mut rs, revision, false, MAX_REV_HISTORY_LENGTH_IN_CHARS);
    Ok(NewReplicaSet {
        replica_set: rs,
        revision,
        hash,
    })
}

/// What to do about a new ReplicaSet that already exists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExistingNewReplicaSetSync {
    /// The ReplicaSet with refreshed annotations / `minReadySeconds`, when
    /// it needs an update. Upstream writes this and stops here for the
    /// round; the other fields are then `None`.
    pub replica_set_update: Option<ReplicaSet>,
    /// The revision to record in the deployment's revision annotation
    /// (upstream writes it through the status update).
    pub deployment_revision: Option<String>,
    /// A `Progressing` / `FoundNewReplicaSet` condition to add, when the
    /// deployment has a deadline but no Progressing condition yet.
    pub progressing_condition: Option<DeploymentCondition>,
}

/// Syncs an existing new ReplicaSet with its deployment: copied
/// annotations, revision (raised to highest old + 1 when lower) and
/// `minReadySeconds`; then the deployment's revision annotation and, for
/// deployments that never had one, a `FoundNewReplicaSet` condition.
pub fn sync_existing_new_replica_set(
    d: &Deployment,
    existing: &ReplicaSet,
    old_rses: &[&ReplicaSet],
    now: Timestamp,
) -> ExistingNewReplicaSetSync {
    let new_revision = max_revision(old_rses) + 1;
    let mut copy = existing.clone();
    let annotations_updated = set_new_replica_set_annotations(
        d,
        &mut copy,
        new_revision,
        true,
        MAX_REV_HISTORY_LENGTH_IN_CHARS,
    );
    let wanted_min_ready = deployment_min_ready_seconds(d);
    let current_min_ready = copy
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    if annotations_updated || current_min_ready != wanted_min_ready {
        if let Some(s) = copy.spec.as_mut() {
            s.min_ready_seconds = Some(wanted_min_ready);
        }
        return ExistingNewReplicaSetSync {
            replica_set_update: Some(copy),
            ..ExistingNewReplicaSetSync::default()
        };
    }
    let rs_revision = copy
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION))
        .cloned()
        .unwrap_or_default();
    let current = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION));
    let deployment_revision = (current != Some(&rs_revision)).then_some(rs_revision);
    let has_progressing = d
        .status
        .as_ref()
        .and_then(|s| get_deployment_condition(s, CONDITION_PROGRESSING))
        .is_some();
    let progressing_condition = (has_progress_deadline(d) && !has_progressing).then(|| {
        new_deployment_condition(
            CONDITION_PROGRESSING,
            "True",
            FOUND_NEW_RS_REASON,
            &format!("Found new replica set {:?}", rs_name(&copy)),
            now,
        )
    });
    ExistingNewReplicaSetSync {
        replica_set_update: None,
        deployment_revision,
        progressing_condition,
    }
}

/// How to handle an `AlreadyExists` answer to creating the new ReplicaSet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateConflict {
    /// The existing object is ours and has our template: use it.
    UseExisting,
    /// A hash collision: write this `status.collisionCount` and retry.
    BumpCollisionCount(i32),
}

/// Decides an `AlreadyExists` conflict against the `existing` ReplicaSet
/// of the same name.
pub fn resolve_create_conflict(d: &Deployment, existing: &ReplicaSet) -> CreateConflict {
    let ours = controller_of(&existing.metadata)
        .is_some_and(|r| d.metadata.uid.as_deref() == Some(r.uid.as_str()));
    let same_template = match (deployment_template(d), rs_template(existing)) {
        (Some(a), Some(b)) => equal_ignore_hash(a, b),
        _ => false,
    };
    if ours && same_template {
        CreateConflict::UseExisting
    } else {
        CreateConflict::BumpCollisionCount(collision_count(d).unwrap_or(0).saturating_add(1))
    }
}

/// What follows a successful create (or adoption of an identical existing
/// ReplicaSet after a conflict).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewReplicaSetCreated {
    /// `ScalingReplicaSet` "Scaled up replica set x from 0 to n" when this
    /// call created it with replicas.
    pub events: Vec<Event>,
    /// The revision to record on the deployment, when it changes.
    pub deployment_revision: Option<String>,
    /// `Progressing` / `NewReplicaSetCreated`, when this call created it
    /// and the deployment has a progress deadline.
    pub progressing_condition: Option<DeploymentCondition>,
}

/// The follow-up of creating `created` at `revision`; `already_existed`
/// when the create conflicted and [`CreateConflict::UseExisting`] applied.
pub fn after_new_replica_set_created(
    d: &Deployment,
    created: &ReplicaSet,
    revision: i64,
    already_existed: bool,
    now: Timestamp,
) -> NewReplicaSetCreated {
    let mut out = NewReplicaSetCreated::default();
    let replicas = rs_replicas(created);
    if !already_existed && replicas > 0 {
        out.events
            .push(events::scaling_replica_set(rs_name(created), 0, replicas));
    }
    let revision = revision.to_string();
    let current = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION));
    if current != Some(&revision) {
        out.deployment_revision = Some(revision);
    }
    if !already_existed && has_progress_deadline(d) {
        out.progressing_condition = Some(new_deployment_condition(
            CONDITION_PROGRESSING,
            "True",
            NEW_REPLICA_SET_REASON,
            &format!("Created new replica set {:?}", rs_name(created)),
            now,
        ));
    }
    out
}

/// A failed create (other than `AlreadyExists` or a terminating
/// namespace): the warning event, and a `Progressing=False` /
/// `ReplicaSetCreateError` condition when the deployment has a deadline.
pub fn new_replica_set_create_failed(
    d: &Deployment,
    rs_name: &str,
    error: &str,
    now: Timestamp,
) -> (Option<DeploymentCondition>, Event) {
    let message = events::failed_replica_set_create_message(rs_name, error);
    let condition = has_progress_deadline(d).then(|| {
        new_deployment_condition(
            CONDITION_PROGRESSING,
            "False",
            FAILED_RS_CREATE_REASON,
            &message,
            now,
        )
    });
    (condition, events::failed_replica_set_create(rs_name, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::deployment_util::{
        DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, rs_replicas,
    };
    use crate::workload::test_support::{
        pct, replica_set, rolling_deployment, template, ts, with_revision,
    };
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    #[test]
    fn builds_new_rs_with_hash_everywhere() {
        let t = template("nginx:2");
        let d = rolling_deployment("web", 3, &t, IntOrString::Int(1), IntOrString::Int(0));
        let old = with_revision(replica_set("web-old", 3, 3, &template("nginx:1")), 4, 0);
        let built = new_replica_set(&d, &[&old]).expect("built");
        let rs = &built.replica_set;
        assert_eq!(built.revision, 5);
        assert_eq!(
            rs.metadata.name.as_deref(),
            Some(format!("web-{}", built.hash).as_str())
        );
        let spec = rs.spec.as_ref().expect("spec");
        // Only one surge pod fits beside the 3 old ones.
        assert_eq!(spec.replicas, Some(1));
        let hash_label = |m: Option<&BTreeMap<String, String>>| {
            m.and_then(|l| l.get(DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY))
                .cloned()
        };
        assert_eq!(
            hash_label(rs.metadata.labels.as_ref()),
            Some(built.hash.clone())
        );
        assert_eq!(
            hash_label(spec.selector.match_labels.as_ref()),
            Some(built.hash.clone())
        );
        assert_eq!(
            hash_label(
                spec.template
                    .as_ref()
                    .and_then(|t| t.metadata.as_ref())
                    .and_then(|m| m.labels.as_ref())
            ),
            Some(built.hash.clone())
        );
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(a.get(REVISION_ANNOTATION).map(String::as_str), Some("5"));
        assert_eq!(
            a.get(DESIRED_REPLICAS_ANNOTATION).map(String::as_str),
            Some("3")
        );
        assert_eq!(
            a.get(MAX_REPLICAS_ANNOTATION).map(String::as_str),
            Some("4")
        );
        let owner = &rs.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("Deployment", "web")
        );
        // The new RS is recognised as new.
        assert!(find_new_replica_set(&d, &[&old, rs]).is_some_and(|f| rs_name(f) == rs_name(rs)));
    }

    #[test]
    fn finds_oldest_matching_and_old_sets() {
        let t1 = template("nginx:1");
        let t2 = template("nginx:2");
        let d = rolling_deployment("web", 3, &t2, pct("25%"), pct("25%"));
        let a = with_revision(replica_set("a", 2, 2, &t1), 1, 0);
        let b = with_revision(replica_set("b", 0, 0, &t1), 2, 1);
        let c = with_revision(replica_set("c", 1, 1, &t2), 3, 5);
        let c_dup = with_revision(replica_set("c2", 1, 1, &t2), 3, 9);
        let all = [&c_dup, &b, &a, &c];
        assert_eq!(find_new_replica_set(&d, &all).map(rs_name), Some("c"));
        let old = find_old_replica_sets(&d, &all);
        let names = |v: &[&ReplicaSet]| v.iter().map(|r| rs_name(r).to_owned()).collect::<Vec<_>>();
        assert_eq!(names(&old.all), vec!["c2", "b", "a"]);
        assert_eq!(names(&old.with_replicas), vec!["c2", "a"]);
        let d_other = rolling_deployment("web", 3, &template("nginx:3"), pct("25%"), pct("25%"));
        assert!(find_new_replica_set(&d_other, &all).is_none());
        assert_eq!(find_old_replica_sets(&d_other, &all).all.len(), 4);
    }

    #[test]
    fn new_rs_detection_ignores_hash_label() {
        let t = template("nginx:1");
        let d = rolling_deployment("web", 1, &t, pct("25%"), pct("25%"));
        let built = new_replica_set(&d, &[]).expect("built");
        assert_eq!(rs_replicas(&built.replica_set), 1);
        assert!(find_new_replica_set(&d, &[&built.replica_set]).is_some());
    }

    #[test]
    fn existing_new_rs_sync_steps() {
        let t = template("nginx:1");
        let d = rolling_deployment("web", 2, &t, pct("25%"), pct("25%"));
        let old = with_revision(replica_set("old", 0, 0, &template("x")), 3, 0);
        // Revision too low: update the RS first.
        let rs = with_revision(replica_set("web-h", 2, 2, &t), 1, 1);
        let sync = sync_existing_new_replica_set(&d, &rs, &[&old], ts(10));
        let updated = sync.replica_set_update.expect("update");
        assert_eq!(
            updated
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION_ANNOTATION))
                .map(String::as_str),
            Some("4")
        );
        assert!(sync.deployment_revision.is_none());
        // Once in sync: deployment revision and FoundNewReplicaSet.
        let sync = sync_existing_new_replica_set(&d, &updated, &[&old], ts(10));
        assert!(sync.replica_set_update.is_none());
        assert_eq!(sync.deployment_revision.as_deref(), Some("4"));
        let cond = sync.progressing_condition.expect("condition");
        assert_eq!(cond.reason.as_deref(), Some("FoundNewReplicaSet"));
        assert_eq!(
            cond.message.as_deref(),
            Some("Found new replica set \"web-h\"")
        );
    }

    #[test]
    fn create_conflicts() {
        let t = template("nginx:1");
        let d = rolling_deployment("web", 2, &t, pct("25%"), pct("25%"));
        let built = new_replica_set(&d, &[]).expect("built");
        assert_eq!(
            resolve_create_conflict(&d, &built.replica_set),
            CreateConflict::UseExisting
        );
        let foreign = replica_set("web-h", 1, 1, &t);
        assert_eq!(
            resolve_create_conflict(&d, &foreign),
            CreateConflict::BumpCollisionCount(1)
        );
        let mut bumped = d.clone();
        if let Some(s) = bumped.status.as_mut() {
            s.collision_count = Some(1);
        }
        let rebuilt = new_replica_set(&bumped, &[]).expect("built");
        assert_ne!(rebuilt.hash, built.hash);
    }

    #[test]
    fn after_create_and_failure() {
        let t = template("nginx:1");
        let d = rolling_deployment("web", 2, &t, pct("25%"), pct("25%"));
        let built = new_replica_set(&d, &[]).expect("built");
        let out = after_new_replica_set_created(&d, &built.replica_set, 1, false, ts(0));
        assert_eq!(out.events.len(), 1);
        assert_eq!(
            out.events[0].message,
            format!("Scaled up replica set web-{} from 0 to 2", built.hash)
        );
        assert_eq!(out.deployment_revision.as_deref(), Some("1"));
        assert_eq!(
            out.progressing_condition.and_then(|c| c.reason),
            Some("NewReplicaSetCreated".to_owned())
        );
        let (cond, event) = new_replica_set_create_failed(&d, "web-x", "quota", ts(0));
        let cond = cond.expect("condition");
        assert_eq!(cond.status, "False");
        assert_eq!(cond.reason.as_deref(), Some("ReplicaSetCreateError"));
        assert_eq!(event.reason, "ReplicaSetCreateError");
    }
}
