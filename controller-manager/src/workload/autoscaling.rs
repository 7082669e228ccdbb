//! Pure logic of the HorizontalPodAutoscaler controller, for a cluster
//! without a metrics API (Bosun serves none: there are no containers to
//! measure), as upstream's controller behaves there:
//!
//! - a target scaled to zero disables autoscaling (`ScalingDisabled`);
//! - a target above `maxReplicas` or below `minReplicas` is rescaled to the
//!   bound (`SuccessfulRescale`, "Current number of replicas above
//!   Spec.MaxReplicas" / "below Spec.MinReplicas");
//! - otherwise every metric fails to be fetched, so the replica count
//!   stays and `ScalingActive` is False with upstream's message.
//!
//! The status keeps the target's current replicas, the desired count after
//! a rescale, the observed generation and upstream's conditions.

use jiff::Timestamp;
use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus,
    MetricSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The message upstream gives when the resource metrics API is missing.
const NO_RESOURCE_METRICS: &str = "unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)";

/// What one sync decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The replica count to set on the target, when it must change.
    pub rescale: Option<(i32, &'static str)>,
    /// Warning events: (reason, message).
    pub warnings: Vec<(&'static str, String)>,
    /// The status to write.
    pub status: HorizontalPodAutoscalerStatus,
}

/// How upstream names a metric when it could not get its value ("failed
/// to get cpu resource metric value"): by resource, container or external
/// metric name, or by type.
fn metric_named(metric: &MetricSpec) -> String {
    match metric.type_.as_str() {
        "Resource" => format!(
            "{} resource metric",
            metric.resource.as_ref().map_or("", |r| r.name.as_str())
        ),
        "ContainerResource" => format!(
            "{} container metric",
            metric
                .container_resource
                .as_ref()
                .map_or("", |r| r.container.as_str())
        ),
        "External" => format!(
            "{} external metric",
            metric
                .external
                .as_ref()
                .map_or("", |e| e.metric.name.as_str())
        ),
        "Pods" => "pods metric".to_owned(),
        "Object" => "object metric".to_owned(),
        other => format!("{other} metric"),
    }
}

/// Why fetching one metric fails without a metrics API, as upstream says it.
pub fn metric_error(metric: &MetricSpec) -> (&'static str, String) {
    match metric.type_.as_str() {
        "Resource" => {
            let name = metric.resource.as_ref().map_or("", |r| r.name.as_str());
            let what = match metric.resource.as_ref().map(|r| r.target.type_.as_str()) {
                Some("Utilization") => format!("failed to get {name} utilization"),
                _ => format!("failed to get {name} usage"),
            };
            (
                "FailedGetResourceMetric",
                format!("{what}: unable to get metrics for resource {name}: {NO_RESOURCE_METRICS}"),
            )
        }
        "ContainerResource" => {
            let (name, container) = metric
                .container_resource
                .as_ref()
                .map_or(("", ""), |r| (r.name.as_str(), r.container.as_str()));
            (
                "FailedGetContainerResourceMetric",
                format!(
                    "failed to get {name} utilization: unable to get metrics for resource {name} in container {container}: {NO_RESOURCE_METRICS}"
                ),
            )
        }
        "Pods" => (
            "FailedGetPodsMetric",
            format!(
                "unable to get metric {}: unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered",
                metric.pods.as_ref().map_or("", |p| p.metric.name.as_str())
            ),
        ),
        "Object" => (
            "FailedGetObjectMetric",
            format!(
                "unable to get metric {}: unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered",
                metric
                    .object
                    .as_ref()
                    .map_or("", |o| o.metric.name.as_str())
            ),
        ),
        "External" => (
            "FailedGetExternalMetric",
            format!(
                "unable to get external metric {}: unable to fetch metrics from external metrics API: no external metrics API (external.metrics.k8s.io) registered",
                metric
                    .external
                    .as_ref()
                    .map_or("", |e| e.metric.name.as_str())
            ),
        ),
        other => (
            "FailedGetMetric",
            format!("unknown metric source type {other:?}"),
        ),
    }
}

/// Sets a condition, moving its transition time only when its status
/// changes.
pub fn set_condition(
    status: &mut HorizontalPodAutoscalerStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let since = conditions
        .iter()
        .find(|c| c.type_ == type_ && c.status == value)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or(Time(now));
    let condition = HorizontalPodAutoscalerCondition {
        type_: type_.to_owned(),
        status: value.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: Some(since),
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(old) => *old = condition,
        None => conditions.push(condition),
    }
}

/// One sync of `hpa` whose target has `current` replicas (its scale's
/// `spec.replicas`).
pub fn decide(hpa: &HorizontalPodAutoscaler, current: i32, now: Timestamp) -> Decision {
    let spec = hpa.spec.clone().unwrap_or_default();
    let min = spec.min_replicas.unwrap_or(1);
    let max = spec.max_replicas;
    let mut status = hpa.status.clone().unwrap_or_default();
    status.current_replicas = Some(current);
    status.observed_generation = hpa.metadata.generation;
    set_condition(
        &mut status,
        "AbleToScale",
        "True",
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale".into(),
        now,
    );
    let mut warnings = Vec::new();
    let rescale = if current == 0 && min != 0 {
        set_condition(
            &mut status,
            "ScalingActive",
            "False",
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero".into(),
            now,
        );
        None
    } else if current > max {
        Some((max, "Current number of replicas above Spec.MaxReplicas"))
    } else if current < min {
        Some((min, "Current number of replicas below Spec.MinReplicas"))
    } else {
        let metrics = spec.metrics.unwrap_or_default();
        let errors: Vec<(&'static str, String)> = metrics.iter().map(metric_error).collect();
        if let Some((reason, first)) = errors.first() {
            warnings.extend(errors.iter().cloned());
            let computed = format!(
                "invalid metrics ({} invalid out of {}), first error is: failed to get {} value: {first}",
                errors.len(),
                metrics.len(),
                metrics.first().map(metric_named).unwrap_or_default()
            );
            warnings.push(("FailedComputeMetricsReplicas", computed));
            set_condition(
                &mut status,
                "ScalingActive",
                "False",
                reason,
                format!("the HPA was unable to compute the replica count: {first}"),
                now,
            );
        }
        None
    };
    if let Some((desired, _)) = rescale {
        status.desired_replicas = desired;
        status.last_scale_time = Some(Time(now));
        set_condition(
            &mut status,
            "AbleToScale",
            "True",
            "SucceededRescale",
            format!("the HPA controller was able to update the target scale to {desired}"),
            now,
        );
    }
    Decision {
        rescale,
        warnings,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::autoscaling::v2::{
        HorizontalPodAutoscalerSpec, MetricTarget, ResourceMetricSource,
    };

    fn hpa(min: i32, max: i32) -> HorizontalPodAutoscaler {
        HorizontalPodAutoscaler {
            metadata: kube::api::ObjectMeta {
                name: Some("web".into()),
                generation: Some(2),
                ..Default::default()
            },
            spec: Some(HorizontalPodAutoscalerSpec {
                min_replicas: Some(min),
                max_replicas: max,
                metrics: Some(vec![MetricSpec {
                    type_: "Resource".into(),
                    resource: Some(ResourceMetricSource {
                        name: "cpu".into(),
                        target: MetricTarget {
                            type_: "Utilization".into(),
                            average_utilization: Some(80),
                            ..Default::default()
                        },
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn condition<'a>(d: &'a Decision, type_: &str) -> &'a HorizontalPodAutoscalerCondition {
        d.status
            .conditions
            .as_ref()
            .and_then(|c| c.iter().find(|c| c.type_ == type_))
            .expect("condition")
    }

    #[test]
    fn replicas_outside_the_bounds_are_brought_to_them() {
        let d = decide(&hpa(2, 5), 1, at(10));
        assert_eq!(
            d.rescale,
            Some((2, "Current number of replicas below Spec.MinReplicas"))
        );
        assert_eq!(
            (d.status.current_replicas, d.status.desired_replicas),
            (Some(1), 2)
        );
        assert_eq!(
            condition(&d, "AbleToScale").reason.as_deref(),
            Some("SucceededRescale")
        );
        let d = decide(&hpa(2, 5), 9, at(10));
        assert_eq!(
            d.rescale,
            Some((5, "Current number of replicas above Spec.MaxReplicas"))
        );
    }

    #[test]
    fn within_bounds_the_missing_metrics_api_keeps_the_count_and_says_why() {
        let d = decide(&hpa(2, 5), 3, at(10));
        assert_eq!(d.rescale, None);
        assert_eq!(d.status.current_replicas, Some(3));
        let active = condition(&d, "ScalingActive");
        assert_eq!(
            (active.status.as_str(), active.reason.as_deref()),
            ("False", Some("FailedGetResourceMetric"))
        );
        assert_eq!(
            active.message.as_deref(),
            Some(
                "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
            )
        );
        let reasons: Vec<&str> = d.warnings.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            reasons,
            ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]
        );
        assert!(
            d.warnings[1].1.starts_with(
                "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization"
            ),
            "{}",
            d.warnings[1].1
        );
    }

    #[test]
    fn a_target_at_zero_disables_scaling_and_times_hold_while_status_holds() {
        let d = decide(&hpa(1, 5), 0, at(10));
        assert_eq!(d.rescale, None);
        assert_eq!(
            condition(&d, "ScalingActive").reason.as_deref(),
            Some("ScalingDisabled")
        );
        let mut again = hpa(1, 5);
        again.status = Some(d.status.clone());
        let later = decide(&again, 0, at(50));
        assert_eq!(
            condition(&later, "ScalingActive").last_transition_time,
            Some(Time(at(10)))
        );
    }
}
