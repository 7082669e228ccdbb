//! ControllerRevisions: the history DaemonSets and StatefulSets keep of
//! their pod templates (upstream's `pkg/controller/history`).
//!
//! A revision's `data` is the patch that restores the owner's template:
//! `{"spec":{"template":{…,"$patch":"replace"}}}`. Its name is
//! `<owner>-<hash>`, the hash covering the data and the owner's
//! `collisionCount`; its labels are the template's labels plus
//! `controller-revision-hash`; `revision` numbers only grow, and a template
//! that returns to an earlier one reuses (and renumbers) that revision.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use super::error::WorkloadError;
use super::pod_template::controller_ref;
use super::template_hash::{safe_encode_string, write_canonical};

/// The label naming a revision's hash on the revision (and, for
/// DaemonSets, the hash / for StatefulSets, the revision name on pods).
pub const CONTROLLER_REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// `revisionHistoryLimit` when unset.
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
/// Longest owner-name prefix of a revision name (253 minus room for the hash).
const MAX_PREFIX_LENGTH: usize = 223;

const FNV32_OFFSET: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

/// 32-bit FNV-1 (multiply, then xor), as Go's `fnv.New32`.
fn fnv1_32(mut state: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        state = state.wrapping_mul(FNV32_PRIME);
        state ^= u32::from(b);
    }
    state
}

/// `<prefix>-<hash>`, the prefix cut to 223 characters.
pub fn revision_name(prefix: &str, hash: &str) -> String {
    let mut cut = prefix.len().min(MAX_PREFIX_LENGTH);
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{hash}", &prefix[..cut])
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The data of a revision of `template`: a patch replacing `spec.template`.
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    strip_nulls(&mut t);
    if let Value::Object(map) = &mut t {
        map.insert("$patch".into(), json!("replace"));
    } else {
        t = json!({"$patch": "replace"});
    }
    json!({"spec": {"template": t}})
}

/// The template a revision restores, when its data is such a patch.
pub fn template_of_revision(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let data = revision.data.as_ref()?;
    let mut template = data.0.get("spec")?.get("template")?.clone();
    if let Value::Object(map) = &mut template {
        map.remove("$patch");
    }
    serde_json::from_value(template).ok()
}

fn canonical(value: &Value) -> String {
    let mut v = value.clone();
    strip_nulls(&mut v);
    let mut out = String::new();
    write_canonical(&v, &mut out);
    out
}

/// The hash of revision data and a collision count: FNV-1 (32-bit) of the
/// canonical JSON, then of the count's decimal digits, rendered through
/// `SafeEncodeString`'s alphabet.
pub fn hash_revision_data(data: &Value, collision_count: Option<i32>) -> String {
    let mut state = fnv1_32(FNV32_OFFSET, canonical(data).as_bytes());
    if let Some(count) = collision_count {
        state = fnv1_32(state, count.to_string().as_bytes());
    }
    safe_encode_string(&state.to_string())
}

/// A new revision of the object with metadata `owner` (kind `owner_kind`,
/// `apps/v1`): template labels plus the hash label, the owner's
/// annotations, a controller reference to the owner, and the name
/// `<owner>-<hash>`.
pub fn new_revision(
    owner: &ObjectMeta,
    owner_kind: &'static str,
    template_labels: Option<&BTreeMap<String, String>>,
    data: Value,
    revision: i64,
    collision_count: Option<i32>,
) -> Result<ControllerRevision, WorkloadError> {
    let name = owner.name.as_deref().ok_or(WorkloadError::MissingField {
        object: owner_kind,
        field: "metadata.name",
    })?;
    let uid = owner.uid.as_deref().ok_or(WorkloadError::MissingField {
        object: owner_kind,
        field: "metadata.uid",
    })?;
    let hash = hash_revision_data(&data, collision_count);
    let mut labels = template_labels.cloned().unwrap_or_default();
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.into(), hash.clone());
    Ok(ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(name, &hash)),
            namespace: owner.namespace.clone(),
            labels: Some(labels),
            annotations: owner.annotations.clone().filter(|a| !a.is_empty()),
            owner_references: Some(vec![controller_ref("apps/v1", owner_kind, name, uid)]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(data)),
        revision,
    })
}

/// Whether `revision`'s data is `data` (compared canonically).
pub fn data_matches(revision: &ControllerRevision, data: &Value) -> bool {
    revision
        .data
        .as_ref()
        .is_some_and(|d| canonical(&d.0) == canonical(data))
}

/// Upstream's `EqualRevision`: equal data (the hash labels, when both
/// carry one, must agree too).
pub fn equal_revision(a: &ControllerRevision, b: &ControllerRevision) -> bool {
    let hash = |r: &ControllerRevision| {
        r.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL))
            .cloned()
    };
    if let (Some(x), Some(y)) = (hash(a), hash(b))
        && x != y
    {
        return false;
    }
    match (&a.data, &b.data) {
        (Some(x), Some(y)) => canonical(&x.0) == canonical(&y.0),
        (None, None) => true,
        _ => false,
    }
}

/// Oldest first: by `revision`, then creation time, then name.
pub fn cmp_revisions(a: &ControllerRevision, b: &ControllerRevision) -> Ordering {
    a.revision
        .cmp(&b.revision)
        .then_with(|| {
            let t = |r: &ControllerRevision| r.metadata.creation_timestamp.as_ref().map(|t| t.0);
            t(a).cmp(&t(b))
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// The revision number after the newest of `revisions` (1 when empty).
pub fn next_revision(revisions: &[&ControllerRevision]) -> i64 {
    revisions.iter().map(|r| r.revision).max().unwrap_or(0) + 1
}

/// StatefulSet history trimming (`truncateHistory`): of the revisions that
/// are not live (not the current or update revision, not the revision of a
/// pod), the oldest beyond `limit`.
pub fn stateful_set_revisions_to_trim<'a>(
    revisions: &[&'a ControllerRevision],
    live: &HashSet<&str>,
    limit: i32,
) -> Vec<&'a ControllerRevision> {
    let mut history: Vec<&ControllerRevision> = revisions
        .iter()
        .copied()
        .filter(|r| !live.contains(r.metadata.name.as_deref().unwrap_or_default()))
        .collect();
    history.sort_by(|a, b| cmp_revisions(a, b));
    let limit = usize::try_from(limit.max(0)).unwrap_or(0);
    let excess = history.len().saturating_sub(limit);
    history.truncate(excess);
    history
}

/// DaemonSet history trimming (`cleanupHistory`): the old revisions (every
/// revision but the current one) beyond `limit`, oldest first, skipping —
/// but still counting — those whose hash a live pod carries.
pub fn daemon_set_revisions_to_trim<'a>(
    old: &[&'a ControllerRevision],
    live_hashes: &HashSet<&str>,
    limit: i32,
) -> Vec<&'a ControllerRevision> {
    let limit = usize::try_from(limit.max(0)).unwrap_or(0);
    let mut to_kill = old.len().saturating_sub(limit);
    let mut sorted = old.to_vec();
    sorted.sort_by(|a, b| cmp_revisions(a, b));
    let mut out = Vec::new();
    for r in sorted {
        if to_kill == 0 {
            break;
        }
        let hash = r
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL))
            .map(String::as_str)
            .unwrap_or_default();
        if live_hashes.contains(hash) {
            continue;
        }
        out.push(r);
        to_kill -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::template_hash::SAFE_ENCODE_ALPHABET;
    use crate::workload::test_support::{labels, template};

    fn owner() -> ObjectMeta {
        ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("uid-web".into()),
            annotations: Some(labels(&[("note", "x")])),
            ..ObjectMeta::default()
        }
    }

    fn rev(image: &str, revision: i64) -> ControllerRevision {
        let t = template(image);
        new_revision(
            &owner(),
            "StatefulSet",
            t.metadata.as_ref().and_then(|m| m.labels.as_ref()),
            template_patch(&t),
            revision,
            None,
        )
        .expect("revision")
    }

    #[test]
    fn fnv1_known_vectors() {
        // Go: fnv.New32() of "" and "a".
        assert_eq!(fnv1_32(FNV32_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv1_32(FNV32_OFFSET, b"a"), 0x050c_5d7e);
    }

    #[test]
    fn patch_replaces_the_template() {
        let p = template_patch(&template("nginx:1"));
        assert_eq!(p["spec"]["template"]["$patch"], "replace");
        assert_eq!(
            p["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1"
        );
        assert_eq!(p.as_object().map(|m| m.len()), Some(1));
    }

    #[test]
    fn revision_is_named_labelled_and_owned() {
        let r = rev("nginx:1", 1);
        let name = r.metadata.name.clone().expect("name");
        let hash =
            r.metadata.labels.as_ref().expect("labels")[CONTROLLER_REVISION_HASH_LABEL].clone();
        assert_eq!(name, format!("web-{hash}"));
        assert!(hash.bytes().all(|c| SAFE_ENCODE_ALPHABET.contains(&c)));
        assert_eq!(r.metadata.labels.as_ref().expect("labels")["app"], "web");
        assert_eq!(r.metadata.annotations.as_ref().expect("ann")["note"], "x");
        let refs = r.metadata.owner_references.expect("refs");
        assert_eq!(refs[0].kind, "StatefulSet");
        assert_eq!(refs[0].controller, Some(true));
        assert_eq!(r.revision, 1);
    }

    #[test]
    fn hash_is_stable_and_follows_data_and_collisions() {
        let a = template_patch(&template("nginx:1"));
        assert_eq!(hash_revision_data(&a, None), hash_revision_data(&a, None));
        assert_ne!(
            hash_revision_data(&a, None),
            hash_revision_data(&template_patch(&template("nginx:2")), None)
        );
        assert_ne!(
            hash_revision_data(&a, Some(0)),
            hash_revision_data(&a, Some(1))
        );
        // Key order and nulls do not matter.
        let reordered: Value = serde_json::from_str(&canonical(&a)).expect("json");
        assert_eq!(
            hash_revision_data(&a, None),
            hash_revision_data(&reordered, None)
        );
    }

    #[test]
    fn long_owner_names_are_cut() {
        let long = "x".repeat(300);
        let name = revision_name(&long, "abc");
        assert_eq!(name.len(), 223 + 4);
    }

    #[test]
    fn equality_and_template_round_trip() {
        let a = rev("nginx:1", 1);
        let b = rev("nginx:1", 5);
        let c = rev("nginx:2", 2);
        assert!(equal_revision(&a, &b));
        assert!(!equal_revision(&a, &c));
        assert!(data_matches(&a, &template_patch(&template("nginx:1"))));
        let t = template_of_revision(&c).expect("template");
        assert_eq!(
            t.spec.expect("spec").containers[0].image.as_deref(),
            Some("nginx:2")
        );
    }

    #[test]
    fn next_revision_counts_up() {
        assert_eq!(next_revision(&[]), 1);
        let a = rev("a", 3);
        let b = rev("b", 7);
        assert_eq!(next_revision(&[&a, &b]), 8);
    }

    #[test]
    fn stateful_set_trim_keeps_live_and_newest() {
        let revs: Vec<ControllerRevision> = (1..=5).map(|i| rev(&format!("img:{i}"), i)).collect();
        let refs: Vec<&ControllerRevision> = revs.iter().collect();
        let name = |i: usize| revs[i].metadata.name.clone().unwrap_or_default();
        let (n0, n4) = (name(0), name(4));
        // Revision 1 is live (a pod still runs it), 5 is current.
        let live: HashSet<&str> = [n0.as_str(), n4.as_str()].into_iter().collect();
        let trimmed = stateful_set_revisions_to_trim(&refs, &live, 1);
        let got: Vec<i64> = trimmed.iter().map(|r| r.revision).collect();
        assert_eq!(got, vec![2, 3]);
        assert!(stateful_set_revisions_to_trim(&refs, &live, 10).is_empty());
    }

    #[test]
    fn daemon_set_trim_counts_live_but_skips_them() {
        let revs: Vec<ControllerRevision> = (1..=4).map(|i| rev(&format!("img:{i}"), i)).collect();
        let old: Vec<&ControllerRevision> = revs.iter().collect();
        let hash_of = |r: &ControllerRevision| {
            r.metadata.labels.as_ref().expect("labels")[CONTROLLER_REVISION_HASH_LABEL].clone()
        };
        let h1 = hash_of(&revs[0]);
        let live: HashSet<&str> = [h1.as_str()].into_iter().collect();
        // 4 old, limit 2: kill 2, skipping live revision 1.
        let got: Vec<i64> = daemon_set_revisions_to_trim(&old, &live, 2)
            .iter()
            .map(|r| r.revision)
            .collect();
        assert_eq!(got, vec![2, 3]);
    }
}
