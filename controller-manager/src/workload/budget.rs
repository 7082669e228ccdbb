//! Pure logic of the disruption controller: what a PodDisruptionBudget's
//! status should say about the pods it selects.
//!
//! - **Expected pods**: the selected pods' count when `minAvailable` is an
//!   integer; otherwise the sum of the scales (`spec.replicas`) of the
//!   controllers owning them, which the caller resolves.
//! - **Desired healthy**: `minAvailable` (a percentage rounds up), or the
//!   expected pods less `maxUnavailable` (rounded up), at least 0.
//! - **Current healthy**: selected pods that are Ready, not being deleted
//!   and not recorded in `disruptedPods` within the last two minutes.
//! - **Disruptions allowed**: current less desired, never below 0, and 0
//!   when no pods are expected.
//!
//! A pod the eviction API recorded in `disruptedPods` stays there until it
//! is deleted or two minutes pass; a pod still present after that is
//! reported (`NotDeleted`) and counted again.

use super::availability::is_pod_ready;
use super::deployment_util::scaled_value_from_int_or_percent;
use super::error::WorkloadError;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// How long a pod the eviction API approved may take to be deleted before
/// it is counted again (upstream's `DeletionTimeout`).
pub const DELETION_TIMEOUT: SignedDuration = SignedDuration::from_secs(120);

/// The condition type the budget's status carries.
pub const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";

/// Whether the budget needs the selected pods' controllers' scales.
pub fn needs_scale(budget: &PodDisruptionBudget) -> bool {
    let Some(spec) = budget.spec.as_ref() else {
        return false;
    };
    spec.max_unavailable.is_some() || matches!(spec.min_available, Some(IntOrString::String(_)))
}

/// Expected and desired-healthy pods: `pods` is how many the budget
/// selects; `scale` the summed scale of their controllers (only read when
/// [`needs_scale`]).
pub fn expected_and_desired(
    budget: &PodDisruptionBudget,
    pods: usize,
    scale: i32,
) -> Result<(i32, i32), WorkloadError> {
    let Some(spec) = budget.spec.as_ref() else {
        return Ok((0, 0));
    };
    if let Some(max_unavailable) = spec.max_unavailable.as_ref() {
        let unavailable = scaled_value_from_int_or_percent(max_unavailable, scale, true)?;
        return Ok((scale, (scale - unavailable).max(0)));
    }
    match spec.min_available.as_ref() {
        Some(IntOrString::Int(min)) => Ok((i32::try_from(pods).unwrap_or(i32::MAX), *min)),
        Some(percent @ IntOrString::String(_)) => Ok((
            scale,
            scaled_value_from_int_or_percent(percent, scale, true)?,
        )),
        None => Ok((0, 0)),
    }
}

/// What [`disrupted_pods`] keeps and what it gave up on.
#[derive(Debug, Default, PartialEq)]
pub struct Disrupted {
    /// Pods still expected to be deleted, by name, with when they were
    /// approved.
    pub pods: BTreeMap<String, Time>,
    /// Pods approved more than [`DELETION_TIMEOUT`] ago and still there.
    pub overdue: Vec<String>,
    /// When the next kept entry expires (to check the budget again then).
    pub recheck: Option<Timestamp>,
}

/// The budget's `disruptedPods` that still matter: entries for selected
/// pods not yet being deleted and approved less than
/// [`DELETION_TIMEOUT`] ago.
pub fn disrupted_pods(budget: &PodDisruptionBudget, pods: &[&Pod], now: Timestamp) -> Disrupted {
    let mut out = Disrupted::default();
    let Some(recorded) = budget
        .status
        .as_ref()
        .and_then(|s| s.disrupted_pods.as_ref())
    else {
        return out;
    };
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(since) = recorded.get(&name) else {
            continue;
        };
        let expires = since
            .0
            .checked_add(DELETION_TIMEOUT)
            .unwrap_or(Timestamp::MAX);
        if expires < now {
            out.overdue.push(name);
        } else {
            out.recheck = Some(out.recheck.map_or(expires, |r| r.min(expires)));
            out.pods.insert(name, since.clone());
        }
    }
    out
}

/// Selected pods that count as healthy: Ready, not being deleted, not
/// awaiting deletion after an eviction.
pub fn current_healthy(pods: &[&Pod], disrupted: &BTreeMap<String, Time>) -> i32 {
    let healthy = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| !disrupted.contains_key(p.metadata.name.as_deref().unwrap_or_default()))
        .filter(|p| is_pod_ready(p))
        .count();
    i32::try_from(healthy).unwrap_or(i32::MAX)
}

/// The status a successful sync writes.
pub fn status(
    budget: &PodDisruptionBudget,
    expected: i32,
    desired: i32,
    healthy: i32,
    disrupted: BTreeMap<String, Time>,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    let allowed = if expected <= 0 {
        0
    } else {
        (healthy - desired).max(0)
    };
    let observed = budget.metadata.generation;
    let old = budget.status.as_ref();
    let mut status = PodDisruptionBudgetStatus {
        current_healthy: healthy,
        desired_healthy: desired,
        expected_pods: expected,
        disruptions_allowed: allowed,
        disrupted_pods: (!disrupted.is_empty()).then_some(disrupted),
        observed_generation: observed,
        conditions: old.and_then(|s| s.conditions.clone()),
    };
    let (value, reason) = match allowed > 0 {
        true => ("True", "SufficientPods"),
        false => ("False", "InsufficientPods"),
    };
    set_condition(&mut status, value, reason, String::new(), now);
    status
}

/// The status after a failed sync, as upstream's fail-safe: no disruption
/// allowed, a `SyncFailed` condition carrying the error, the rest kept.
pub fn failed_status(
    budget: &PodDisruptionBudget,
    error: &str,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    let mut status = budget.status.clone().unwrap_or_default();
    status.disruptions_allowed = 0;
    set_condition(&mut status, "False", "SyncFailed", error.to_owned(), now);
    status
}

/// Sets `DisruptionAllowed` as `meta.SetStatusCondition`: the transition
/// time moves only when the status does.
fn set_condition(
    status: &mut PodDisruptionBudgetStatus,
    value: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) {
    let observed_generation = status.observed_generation;
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let since = conditions
        .iter()
        .find(|c| c.type_ == DISRUPTION_ALLOWED && c.status == value)
        .map_or(Time(now), |c| c.last_transition_time.clone());
    let condition = Condition {
        type_: DISRUPTION_ALLOWED.to_owned(),
        status: value.to_owned(),
        reason: reason.to_owned(),
        message,
        observed_generation,
        last_transition_time: since,
    };
    match conditions
        .iter_mut()
        .find(|c| c.type_ == DISRUPTION_ALLOWED)
    {
        Some(old) => *old = condition,
        None => conditions.push(condition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
    use kube::api::ObjectMeta;

    fn budget(min: Option<IntOrString>, max: Option<IntOrString>) -> PodDisruptionBudget {
        PodDisruptionBudget {
            metadata: ObjectMeta {
                name: Some("web".into()),
                generation: Some(3),
                ..Default::default()
            },
            spec: Some(PodDisruptionBudgetSpec {
                min_available: min,
                max_unavailable: max,
                ..Default::default()
            }),
            status: None,
        }
    }

    fn pod(name: &str, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            status: Some(PodStatus {
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn integer_min_available_counts_the_selected_pods() {
        let b = budget(Some(IntOrString::Int(2)), None);
        assert!(!needs_scale(&b));
        assert_eq!(expected_and_desired(&b, 3, 0), Ok((3, 2)));
    }

    #[test]
    fn percentages_and_max_unavailable_use_the_controllers_scale_rounding_up() {
        let b = budget(Some(IntOrString::String("50%".into())), None);
        assert!(needs_scale(&b));
        assert_eq!(expected_and_desired(&b, 1, 5), Ok((5, 3)));
        let b = budget(None, Some(IntOrString::String("30%".into())));
        assert_eq!(
            expected_and_desired(&b, 1, 5),
            Ok((5, 3)),
            "30% of 5 rounds up to 2"
        );
        let b = budget(None, Some(IntOrString::Int(9)));
        assert_eq!(expected_and_desired(&b, 1, 5), Ok((5, 0)));
    }

    #[test]
    fn allowed_disruptions_are_healthy_less_desired_and_zero_without_expected_pods() {
        let b = budget(Some(IntOrString::Int(2)), None);
        let s = status(&b, 3, 2, 3, BTreeMap::new(), at(10));
        assert_eq!(s.disruptions_allowed, 1);
        assert_eq!(s.observed_generation, Some(3));
        let c = &s.conditions.as_ref().expect("conditions")[0];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "SufficientPods")
        );
        assert_eq!(
            status(&b, 3, 2, 1, BTreeMap::new(), at(10)).disruptions_allowed,
            0
        );
        let b = budget(Some(IntOrString::Int(0)), None);
        let s = status(&b, 0, 0, 0, BTreeMap::new(), at(10));
        assert_eq!(s.disruptions_allowed, 0);
        let c = &s.conditions.as_ref().expect("conditions")[0];
        assert_eq!(c.reason, "InsufficientPods");
    }

    #[test]
    fn the_condition_keeps_its_transition_time_while_its_status_holds() {
        let mut b = budget(Some(IntOrString::Int(1)), None);
        b.status = Some(status(&b, 3, 1, 3, BTreeMap::new(), at(10)));
        let again = status(&b, 3, 1, 2, BTreeMap::new(), at(20));
        let c = &again.conditions.as_ref().expect("conditions")[0];
        assert_eq!(c.last_transition_time, Time(at(10)));
        let failed = failed_status(&b, "found no controllers for pod \"x\"", at(30));
        let c = &failed.conditions.as_ref().expect("conditions")[0];
        assert_eq!(
            (c.reason.as_str(), c.last_transition_time.clone()),
            ("SyncFailed", Time(at(30)))
        );
        assert_eq!(failed.disruptions_allowed, 0);
        assert_eq!(failed.current_healthy, 3, "the rest of the status is kept");
    }

    #[test]
    fn disrupted_pods_do_not_count_until_deleted_or_overdue() {
        let mut b = budget(Some(IntOrString::Int(1)), None);
        b.status = Some(PodDisruptionBudgetStatus {
            disrupted_pods: Some(BTreeMap::from([
                ("a".to_owned(), Time(at(100))),
                ("b".to_owned(), Time(at(0))),
                ("gone".to_owned(), Time(at(100))),
            ])),
            ..Default::default()
        });
        let (a, b_pod, c) = (pod("a", true), pod("b", true), pod("c", true));
        let pods = [&a, &b_pod, &c];
        let d = disrupted_pods(&b, &pods, at(150));
        assert_eq!(d.pods.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(d.overdue, ["b"]);
        assert_eq!(d.recheck, Some(at(220)));
        assert_eq!(current_healthy(&pods, &d.pods), 2);
        let unready = pod("d", false);
        assert_eq!(current_healthy(&[&unready], &BTreeMap::new()), 0);
    }
}
