//! Deployment facts: annotations, revisions, surge and unavailability,
//! replica counting and ReplicaSet ordering.
//!
//! Missing optional fields are read as the apiserver's defaults would fill
//! them: one replica, a `RollingUpdate` strategy with 25% surge and 25%
//! unavailability, `minReadySeconds` 0. A missing `progressDeadlineSeconds`
//! or `revisionHistoryLimit` means "no deadline" / "keep everything", as
//! upstream reads a nil pointer.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::error::WorkloadError;

/// Label (and selector key) that tells a deployment's ReplicaSets apart.
pub const DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY: &str = "pod-template-hash";
/// A ReplicaSet's place in its deployment's rollout sequence.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a ReplicaSet served (it was rolled back to).
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
/// The deployment's replicas when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// The deployment's replicas + maxSurge when the ReplicaSet was last scaled.
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
/// The deprecated `extensions/v1beta1` rollback request annotation.
pub const DEPRECATED_ROLLBACK_TO_ANNOTATION: &str = "deprecated.deployment.rollback.to";
/// `kubectl apply`'s record of the last applied configuration.
pub const LAST_APPLIED_CONFIG_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Longest `revision-history` annotation value kept, in characters.
pub const MAX_REV_HISTORY_LENGTH_IN_CHARS: usize = 2000;

/// The `RollingUpdate` strategy type.
pub const ROLLING_UPDATE: &str = "RollingUpdate";
/// The `Recreate` strategy type.
pub const RECREATE: &str = "Recreate";

/// Deployment annotations never copied to ReplicaSets (and kept on the
/// deployment across a rollback).
pub const ANNOTATIONS_TO_SKIP: &[&str] = &[
    LAST_APPLIED_CONFIG_ANNOTATION,
    REVISION_ANNOTATION,
    REVISION_HISTORY_ANNOTATION,
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
    DEPRECATED_ROLLBACK_TO_ANNOTATION,
];

/// Progress deadline value meaning "never" (`math.MaxInt32`).
pub const NO_DEADLINE: i32 = i32::MAX;

/// Whether `key` is one of [`ANNOTATIONS_TO_SKIP`].
pub fn skip_copy_annotation(key: &str) -> bool {
    ANNOTATIONS_TO_SKIP.contains(&key)
}

// ---------------------------------------------------------------------------
// Field access with defaults
// ---------------------------------------------------------------------------

/// `spec.replicas` of a ReplicaSet (1 when unset).
pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// `status.replicas` of a ReplicaSet.
pub fn rs_status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map_or(0, |s| s.replicas)
}

/// `status.readyReplicas` of a ReplicaSet.
pub fn rs_ready_replicas(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

/// `status.availableReplicas` of a ReplicaSet.
pub fn rs_available_replicas(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

/// The ReplicaSet's name (`""` when unset).
pub fn rs_name(rs: &ReplicaSet) -> &str {
    rs.metadata.name.as_deref().unwrap_or("")
}

/// `spec.replicas` of a Deployment (1 when unset).
pub fn deployment_replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// The deployment's name (`""` when unset).
pub fn deployment_name(d: &Deployment) -> &str {
    d.metadata.name.as_deref().unwrap_or("")
}

/// `spec.minReadySeconds` of a Deployment (0 when unset).
pub fn deployment_min_ready_seconds(d: &Deployment) -> i32 {
    d.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

/// `spec.paused` of a Deployment.
pub fn is_paused(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

/// The strategy type, `RollingUpdate` when unset.
pub fn strategy_type(d: &Deployment) -> &str {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .unwrap_or(ROLLING_UPDATE)
}

/// Whether the deployment rolls out with the `RollingUpdate` strategy.
pub fn is_rolling_update(d: &Deployment) -> bool {
    strategy_type(d) == ROLLING_UPDATE
}

/// Whether the deployment surfaces `ProgressDeadlineExceeded`: a deadline
/// is set and is not `MaxInt32`.
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .is_some_and(|s| s != NO_DEADLINE)
}

/// Whether old ReplicaSets are pruned: a limit is set and is not `MaxInt32`.
pub fn has_revision_history_limit(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .is_some_and(|s| s != i32::MAX)
}

/// The deployment's `status.collisionCount`.
pub fn collision_count(d: &Deployment) -> Option<i32> {
    d.status.as_ref().and_then(|s| s.collision_count)
}

// ---------------------------------------------------------------------------
// Surge and unavailability
// ---------------------------------------------------------------------------

/// Upstream's `GetScaledValueFromIntOrPercent`: an integer as is, or a
/// percentage (`"25%"`) of `total`, rounded up or down.
pub fn scaled_value_from_int_or_percent(
    value: &IntOrString,
    total: i32,
    round_up: bool,
) -> Result<i32, WorkloadError> {
    match value {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let digits = s.strip_suffix('%').ok_or_else(|| {
                WorkloadError::InvalidIntOrPercent(format!(
                    "invalid type: string is not a percentage: {s:?}"
                ))
            })?;
            let percent: i64 = digits
                .parse()
                .map_err(|_| WorkloadError::InvalidIntOrPercent(format!("invalid value {s:?}")))?;
            let product = percent * i64::from(total);
            let scaled = if round_up {
                product.div_euclid(100) + i64::from(product.rem_euclid(100) != 0)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(scaled)
                .map_err(|_| WorkloadError::InvalidIntOrPercent(format!("{s:?} is out of range")))
        }
    }
}

/// Resolves maxSurge (percent rounded up) and maxUnavailable (percent
/// rounded down) against `desired`. When both come out as zero,
/// maxUnavailable becomes 1 so a rollout can always make progress.
/// A missing value counts as 0.
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), WorkloadError> {
    let zero = IntOrString::Int(0);
    let surge = scaled_value_from_int_or_percent(max_surge.unwrap_or(&zero), desired, true)?;
    let mut unavailable =
        scaled_value_from_int_or_percent(max_unavailable.unwrap_or(&zero), desired, false)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

/// The deployment's rolling parameters, each defaulted to `25%` when unset.
pub fn rolling_update_params(d: &Deployment) -> (IntOrString, IntOrString) {
    let default = || IntOrString::String("25%".to_owned());
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    (
        ru.and_then(|r| r.max_surge.clone()).unwrap_or_else(default),
        ru.and_then(|r| r.max_unavailable.clone())
            .unwrap_or_else(default),
    )
}

/// [`resolve_fenceposts`] for a deployment's own parameters and replicas.
pub fn deployment_fenceposts(d: &Deployment) -> Result<(i32, i32), WorkloadError> {
    let (surge, unavailable) = rolling_update_params(d);
    resolve_fenceposts(Some(&surge), Some(&unavailable), deployment_replicas(d))
}

/// The most pods a rolling deployment may run above its replicas (0 for
/// Recreate, and for invalid parameters, as upstream).
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    deployment_fenceposts(d).map_or(0, |(surge, _)| surge)
}

/// The most pods a rolling deployment may have unavailable, capped at its
/// replicas (0 for Recreate, zero replicas, or invalid parameters).
pub fn max_unavailable(d: &Deployment) -> i32 {
    let replicas = deployment_replicas(d);
    if !is_rolling_update(d) || replicas == 0 {
        return 0;
    }
    deployment_fenceposts(d).map_or(0, |(_, unavailable)| unavailable.min(replicas))
}

/// The fewest available pods a rolling deployment keeps (0 for Recreate).
pub fn min_available(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    deployment_replicas(d) - max_unavailable(d)
}

// ---------------------------------------------------------------------------
// Revisions and annotations
// ---------------------------------------------------------------------------

/// The revision in `annotations` (0 when absent, an error when not a number).
pub fn revision_of(annotations: Option<&BTreeMap<String, String>>) -> Result<i64, WorkloadError> {
    match annotations.and_then(|a| a.get(REVISION_ANNOTATION)) {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| WorkloadError::InvalidRevision(v.clone())),
    }
}

/// The ReplicaSet's revision (0 when it has none).
pub fn revision(rs: &ReplicaSet) -> Result<i64, WorkloadError> {
    revision_of(rs.metadata.annotations.as_ref())
}

/// The highest revision among `rses`; unparsable ones are skipped.
pub fn max_revision(rses: &[&ReplicaSet]) -> i64 {
    rses.iter()
        .filter_map(|rs| revision(rs).ok())
        .fold(0, i64::max)
}

/// The second highest revision among `rses` (the one before the current).
pub fn last_revision(rses: &[&ReplicaSet]) -> i64 {
    let (mut max, mut second) = (0i64, 0i64);
    for v in rses.iter().filter_map(|rs| revision(rs).ok()) {
        if v >= max {
            second = max;
            max = v;
        } else if v > second {
            second = v;
        }
    }
    second
}

/// Sets the deployment's revision annotation; whether it changed.
pub fn set_deployment_revision(d: &mut Deployment, revision: &str) -> bool {
    let annotations = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(REVISION_ANNOTATION).map(String::as_str) == Some(revision) {
        return false;
    }
    annotations.insert(REVISION_ANNOTATION.to_owned(), revision.to_owned());
    true
}

/// Copies the deployment's annotations (except [`ANNOTATIONS_TO_SKIP`])
/// onto the ReplicaSet; whether anything changed.
pub fn copy_deployment_annotations_to_replica_set(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if skip_copy_annotation(k) || annotations.get(k) == Some(v) {
            continue;
        }
        annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Sets the desired- and max-replicas annotations; whether they changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (key, value) in [
        (DESIRED_REPLICAS_ANNOTATION, desired.to_string()),
        (MAX_REPLICAS_ANNOTATION, max.to_string()),
    ] {
        if annotations.get(key) != Some(&value) {
            annotations.insert(key.to_owned(), value);
            changed = true;
        }
    }
    changed
}

/// Whether the desired- / max-replicas annotations differ from the values.
pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    let Some(annotations) = rs.metadata.annotations.as_ref() else {
        return true;
    };
    annotations.get(DESIRED_REPLICAS_ANNOTATION) != Some(&desired.to_string())
        || annotations.get(MAX_REPLICAS_ANNOTATION) != Some(&max.to_string())
}

fn int_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    rs.metadata.annotations.as_ref()?.get(key)?.parse().ok()
}

/// The ReplicaSet's desired-replicas annotation, if present and numeric.
pub fn desired_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    int_annotation(rs, DESIRED_REPLICAS_ANNOTATION)
}

/// The ReplicaSet's max-replicas annotation, if present and numeric.
pub fn max_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    int_annotation(rs, MAX_REPLICAS_ANNOTATION)
}

/// Upstream's `SetNewReplicaSetAnnotations`: copies deployment annotations,
/// raises the revision to `new_revision` when lower (recording the old one
/// in `revision-history`, trimmed to `max_history_chars`), and for a
/// ReplicaSet about to be created (`exists == false`) sets the desired- /
/// max-replicas annotations. Returns whether anything changed.
pub fn set_new_replica_set_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
    max_history_chars: usize,
) -> bool {
    let mut changed = copy_deployment_annotations_to_replica_set(d, rs);
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let old_revision = annotations.get(REVISION_ANNOTATION).cloned();
    let old_revision_int = match old_revision.as_deref() {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => n,
            // Upstream gives up on a malformed revision.
            Err(_) => return false,
        },
    };
    if old_revision_int < new_revision {
        annotations.insert(REVISION_ANNOTATION.to_owned(), new_revision.to_string());
        changed = true;
        if let Some(old) = old_revision {
            let history = annotations
                .get(REVISION_HISTORY_ANNOTATION)
                .cloned()
                .unwrap_or_default();
            if history.is_empty() {
                annotations.insert(REVISION_HISTORY_ANNOTATION.to_owned(), old);
            } else {
                let entries: Vec<&str> = history.split(',').collect();
                let mut total = history.len() + old.len() + 1;
                let mut start = 0;
                while total > max_history_chars && start < entries.len() {
                    total -= entries[start].len() + 1;
                    start += 1;
                }
                if total <= max_history_chars {
                    let mut kept: Vec<&str> = entries[start..].to_vec();
                    kept.push(&old);
                    annotations.insert(REVISION_HISTORY_ANNOTATION.to_owned(), kept.join(","));
                }
            }
        }
    }
    if !exists {
        let replicas = deployment_replicas(d);
        if set_replicas_annotations(rs, replicas, replicas + max_surge(d)) {
            changed = true;
        }
    }
    changed
}

// ---------------------------------------------------------------------------
// Counting and ordering
// ---------------------------------------------------------------------------

/// Sum of `spec.replicas`.
pub fn replica_count(rses: &[&ReplicaSet]) -> i32 {
    rses.iter().map(|rs| rs_replicas(rs)).sum()
}

/// Sum of `status.replicas`.
pub fn actual_replica_count(rses: &[&ReplicaSet]) -> i32 {
    rses.iter().map(|rs| rs_status_replicas(rs)).sum()
}

/// Sum of `status.readyReplicas`.
pub fn ready_replica_count(rses: &[&ReplicaSet]) -> i32 {
    rses.iter().map(|rs| rs_ready_replicas(rs)).sum()
}

/// Sum of `status.availableReplicas`.
pub fn available_replica_count(rses: &[&ReplicaSet]) -> i32 {
    rses.iter().map(|rs| rs_available_replicas(rs)).sum()
}

/// ReplicaSets with `spec.replicas > 0`, order kept.
pub fn filter_active_replica_sets<'a>(rses: &[&'a ReplicaSet]) -> Vec<&'a ReplicaSet> {
    rses.iter()
        .copied()
        .filter(|rs| rs_replicas(rs) > 0)
        .collect()
}

/// Older first by creation time (unset first), then by name.
pub fn cmp_by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let at = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let bt = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
    at.cmp(&bt).then_with(|| rs_name(a).cmp(rs_name(b)))
}

/// Lower revision first, ties older first (upstream `ReplicaSetsByRevision`).
pub fn cmp_by_revision(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let ra = revision(a).unwrap_or(0);
    let rb = revision(b).unwrap_or(0);
    ra.cmp(&rb).then_with(|| cmp_by_creation(a, b))
}

/// Larger first; equal sizes newer first (for scaling up).
pub fn cmp_by_size_newer(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b)
        .cmp(&rs_replicas(a))
        .then_with(|| cmp_by_creation(b, a))
}

/// Larger first; equal sizes older first (for scaling down).
pub fn cmp_by_size_older(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b)
        .cmp(&rs_replicas(a))
        .then_with(|| cmp_by_creation(a, b))
}

/// Whether `rs` holds all of the deployment: its replicas and its
/// desired-replicas annotation equal the deployment's, and all are available.
pub fn is_saturated(d: &Deployment, rs: Option<&ReplicaSet>) -> bool {
    let Some(rs) = rs else { return false };
    let Some(desired) = desired_replicas_annotation(rs) else {
        return false;
    };
    let replicas = deployment_replicas(d);
    rs_replicas(rs) == replicas && desired == replicas && rs_available_replicas(rs) == replicas
}

/// How many replicas the new ReplicaSet should have now: for
/// RollingUpdate, as many more as maxSurge leaves room for, capped at the
/// deployment's replicas; for Recreate, the deployment's replicas.
pub fn new_rs_new_replicas(
    d: &Deployment,
    all_rses: &[&ReplicaSet],
    new_rs: &ReplicaSet,
) -> Result<i32, WorkloadError> {
    let replicas = deployment_replicas(d);
    match strategy_type(d) {
        ROLLING_UPDATE => {
            let (surge, _) = rolling_update_params(d);
            let max_surge = scaled_value_from_int_or_percent(&surge, replicas, true)?;
            let current = replica_count(all_rses);
            let max_total = replicas + max_surge;
            let new_replicas = rs_replicas(new_rs);
            if current >= max_total {
                return Ok(new_replicas);
            }
            let scale_up = (max_total - current).min(replicas - new_replicas);
            Ok(new_replicas + scale_up)
        }
        RECREATE => Ok(replicas),
        other => Err(WorkloadError::UnsupportedStrategy(other.to_owned())),
    }
}

/// Upstream's `FindActiveOrLatest`: the single ReplicaSet with replicas if
/// there is at most one; with none, the new one or else the newest old one;
/// `None` when several are active (then scaling is proportional).
pub fn find_active_or_latest<'a>(
    new_rs: Option<&'a ReplicaSet>,
    old_rses: &[&'a ReplicaSet],
) -> Option<&'a ReplicaSet> {
    if new_rs.is_none() && old_rses.is_empty() {
        return None;
    }
    let mut olds: Vec<&ReplicaSet> = old_rses.to_vec();
    olds.sort_by(|a, b| cmp_by_creation(b, a));
    let mut all = olds.clone();
    all.extend(new_rs);
    let active = filter_active_replica_sets(&all);
    match active.len() {
        0 => new_rs.or_else(|| olds.first().copied()),
        1 => Some(active[0]),
        _ => None,
    }
}

/// The share of a scaling change `rs` should take (upstream
/// `getReplicaSetFraction`): its size times the new allowed total over the
/// total recorded in its max-replicas annotation, rounded, minus its size.
pub fn replica_set_fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    let rs_size = rs_replicas(rs);
    if deployment_replicas(d) == 0 {
        return -rs_size;
    }
    let deployment_total = deployment_replicas(d) + max_surge(d);
    let annotated = max_replicas_annotation(rs)
        .unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
    if annotated == 0 {
        // Never proportionally scale from a total of zero.
        return 0;
    }
    let new_size = (f64::from(rs_size) * f64::from(deployment_total)) / f64::from(annotated);
    round_half_away(new_size) - rs_size
}

fn round_half_away(x: f64) -> i32 {
    let r = x.round();
    if r >= f64::from(i32::MAX) {
        i32::MAX
    } else if r <= f64::from(i32::MIN) {
        i32::MIN
    } else {
        r as i32
    }
}

/// Upstream's `GetProportion`: the replicas to add to (or, negative, remove
/// from) `rs`, bounded by what is left of `to_add` after `added`.
pub fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = replica_set_fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::test_support::{
        pct, recreate_deployment, replica_set, rolling_deployment, template, with_revision,
    };

    fn int(i: i32) -> IntOrString {
        IntOrString::Int(i)
    }

    #[test]
    fn fenceposts_table() {
        let cases: &[(IntOrString, IntOrString, i32, (i32, i32))] = &[
            (int(1), int(0), 3, (1, 0)),
            (int(0), int(1), 3, (0, 1)),
            (int(0), int(0), 3, (0, 1)),
            (pct("25%"), pct("25%"), 10, (3, 2)),
            (pct("25%"), pct("25%"), 4, (1, 1)),
            (pct("25%"), pct("25%"), 3, (1, 0)),
            (pct("1%"), pct("1%"), 2, (1, 0)),
            (pct("0%"), pct("1%"), 2, (0, 1)),
            (pct("50%"), pct("50%"), 5, (3, 2)),
            (pct("100%"), pct("0%"), 7, (7, 0)),
            (pct("0%"), pct("0%"), 0, (0, 1)),
        ];
        for (surge, unavailable, desired, want) in cases {
            assert_eq!(
                resolve_fenceposts(Some(surge), Some(unavailable), *desired).expect("valid"),
                *want,
                "surge {surge:?} unavailable {unavailable:?} desired {desired}"
            );
        }
    }

    #[test]
    fn fenceposts_reject_bad_strings() {
        assert!(resolve_fenceposts(Some(&pct("25")), None, 4).is_err());
        assert!(resolve_fenceposts(Some(&pct("x%")), None, 4).is_err());
        assert_eq!(resolve_fenceposts(None, None, 4), Ok((0, 1)));
    }

    #[test]
    fn max_unavailable_and_min_available() {
        let t = template("a");
        let d = rolling_deployment("d", 10, &t, pct("25%"), pct("25%"));
        assert_eq!(max_surge(&d), 3);
        assert_eq!(max_unavailable(&d), 2);
        assert_eq!(min_available(&d), 8);
        // Capped at replicas.
        let d = rolling_deployment("d", 2, &t, int(0), int(5));
        assert_eq!(max_unavailable(&d), 2);
        assert_eq!(min_available(&d), 0);
        // Zero replicas.
        let d = rolling_deployment("d", 0, &t, int(1), int(1));
        assert_eq!(max_unavailable(&d), 0);
        // Recreate has neither.
        let d = recreate_deployment("d", 3, &t);
        assert_eq!(
            (max_surge(&d), max_unavailable(&d), min_available(&d)),
            (0, 0, 0)
        );
    }

    #[test]
    fn revisions() {
        let t = template("a");
        let a = with_revision(replica_set("a", 0, 0, &t), 1, 0);
        let b = with_revision(replica_set("b", 0, 0, &t), 3, 1);
        let c = with_revision(replica_set("c", 0, 0, &t), 2, 2);
        let none = replica_set("n", 0, 0, &t);
        let all = [&a, &b, &c, &none];
        assert_eq!(max_revision(&all), 3);
        assert_eq!(last_revision(&all), 2);
        assert_eq!(max_revision(&[]), 0);
    }

    #[test]
    fn new_rs_annotations_and_history() {
        let t = template("a");
        let mut d = rolling_deployment("d", 4, &t, pct("25%"), pct("25%"));
        d.metadata.annotations = Some(BTreeMap::from([
            ("team".to_owned(), "blue".to_owned()),
            (LAST_APPLIED_CONFIG_ANNOTATION.to_owned(), "{}".to_owned()),
            (REVISION_ANNOTATION.to_owned(), "9".to_owned()),
        ]));
        let mut rs = replica_set("d-x", 0, 0, &t);
        assert!(set_new_replica_set_annotations(&d, &mut rs, 1, false, 2000));
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(a.get("team").map(String::as_str), Some("blue"));
        assert!(!a.contains_key(LAST_APPLIED_CONFIG_ANNOTATION));
        assert_eq!(a.get(REVISION_ANNOTATION).map(String::as_str), Some("1"));
        assert_eq!(
            a.get(DESIRED_REPLICAS_ANNOTATION).map(String::as_str),
            Some("4")
        );
        assert_eq!(
            a.get(MAX_REPLICAS_ANNOTATION).map(String::as_str),
            Some("5")
        );
        assert!(!a.contains_key(REVISION_HISTORY_ANNOTATION));
        // Nothing new: unchanged.
        assert!(!set_new_replica_set_annotations(&d, &mut rs, 1, true, 2000));
        // Rolled back to: revision goes up, old one is remembered.
        assert!(set_new_replica_set_annotations(&d, &mut rs, 4, true, 2000));
        assert!(set_new_replica_set_annotations(&d, &mut rs, 6, true, 2000));
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(a.get(REVISION_ANNOTATION).map(String::as_str), Some("6"));
        assert_eq!(
            a.get(REVISION_HISTORY_ANNOTATION).map(String::as_str),
            Some("1,4")
        );
        // A lower revision never lowers it.
        assert!(!set_new_replica_set_annotations(&d, &mut rs, 2, true, 2000));
    }

    #[test]
    fn revision_history_is_trimmed() {
        let t = template("a");
        let d = rolling_deployment("d", 1, &t, int(1), int(0));
        let mut rs = with_revision(replica_set("d-x", 0, 0, &t), 10, 0);
        if let Some(a) = rs.metadata.annotations.as_mut() {
            a.insert(REVISION_HISTORY_ANNOTATION.into(), "1,2,3".into());
        }
        // "1,2,3" + ",10" = 8 chars; limit 6 drops "1" from the front.
        let mut wide = rs.clone();
        assert!(set_new_replica_set_annotations(&d, &mut wide, 11, true, 6));
        let a = wide.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(
            a.get(REVISION_HISTORY_ANNOTATION).map(String::as_str),
            Some("2,3,10")
        );
        // Limit 5 drops "2" as well.
        assert!(set_new_replica_set_annotations(&d, &mut rs, 11, true, 5));
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(
            a.get(REVISION_HISTORY_ANNOTATION).map(String::as_str),
            Some("3,10")
        );
    }

    #[test]
    fn new_rs_new_replicas_respects_surge() {
        let t = template("b");
        let d = rolling_deployment("d", 3, &t, int(1), int(0));
        let old = replica_set("old", 3, 3, &t);
        let new = replica_set("new", 0, 0, &t);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), Ok(1));
        let old2 = replica_set("old", 2, 2, &t);
        let new1 = replica_set("new", 1, 1, &t);
        assert_eq!(new_rs_new_replicas(&d, &[&old2, &new1], &new1), Ok(2));
        let full = replica_set("new", 3, 3, &t);
        assert_eq!(new_rs_new_replicas(&d, &[&full], &full), Ok(3));
        let r = recreate_deployment("d", 5, &t);
        assert_eq!(new_rs_new_replicas(&r, &[&old, &new], &new), Ok(5));
    }

    #[test]
    fn active_or_latest() {
        let t = template("a");
        let old1 = with_revision(replica_set("o1", 0, 0, &t), 1, 1);
        let old2 = with_revision(replica_set("o2", 0, 0, &t), 2, 2);
        let new = replica_set("n", 0, 0, &t);
        assert_eq!(
            find_active_or_latest(None, &[&old1, &old2]).map(rs_name),
            Some("o2")
        );
        assert_eq!(
            find_active_or_latest(Some(&new), &[&old1]).map(rs_name),
            Some("n")
        );
        let active = replica_set("a", 2, 2, &t);
        assert_eq!(
            find_active_or_latest(Some(&new), &[&active]).map(rs_name),
            Some("a")
        );
        let new_active = replica_set("n", 1, 0, &t);
        assert!(find_active_or_latest(Some(&new_active), &[&active]).is_none());
    }

    #[test]
    fn saturation() {
        let t = template("a");
        let d = rolling_deployment("d", 3, &t, int(1), int(0));
        let mut rs = replica_set("n", 3, 3, &t);
        assert!(!is_saturated(&d, Some(&rs)));
        set_replicas_annotations(&mut rs, 3, 4);
        assert!(is_saturated(&d, Some(&rs)));
        let mut partly = replica_set("n", 3, 2, &t);
        set_replicas_annotations(&mut partly, 3, 4);
        assert!(!is_saturated(&d, Some(&partly)));
    }
}
