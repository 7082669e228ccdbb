//! A Job's pods: the pod a Job creates from its template, and what a Job
//! reads from its pods (completion index, finished, failed, terminating,
//! when they finished).

use super::{
    COMPLETION_INDEX_ANNOTATION, COMPLETION_INDEX_ENV, INDEX_FAILURE_COUNT_ANNOTATION,
    INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, TRACKING_FINALIZER,
};
use crate::workload::pod_template::controller_ref;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, EnvVar, EnvVarSource, ObjectFieldSelector, Pod,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// Longest `generateName` prefix the apiserver keeps (63 minus the 5
/// random characters).
const MAX_GENERATED_NAME_PREFIX: usize = 58;

/// The Job's spec (an empty one when absent).
pub fn spec(job: &Job) -> std::borrow::Cow<'_, JobSpec> {
    match &job.spec {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(JobSpec::default()),
    }
}

/// Whether the Job uses `completionMode: Indexed`.
pub fn is_indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

/// Whether the Job has `backoffLimitPerIndex` (Indexed Jobs only).
pub fn has_backoff_limit_per_index(job: &Job) -> bool {
    is_indexed(job)
        && job
            .spec
            .as_ref()
            .is_some_and(|s| s.backoff_limit_per_index.is_some())
}

/// Whether the Job is suspended.
pub fn is_suspended(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.suspend) == Some(true)
}

/// `spec.completions` for Indexed Jobs (0 when unset).
pub fn completions(job: &Job) -> i32 {
    job.spec.as_ref().and_then(|s| s.completions).unwrap_or(0)
}

/// Whether replacement pods wait until the old ones are fully terminated
/// (`podReplacementPolicy: Failed`, implied by a pod failure policy).
pub fn only_replace_failed_pods(job: &Job) -> bool {
    let spec = job.spec.as_ref();
    spec.and_then(|s| s.pod_replacement_policy.as_deref()) == Some("Failed")
        || spec.is_some_and(|s| s.pod_failure_policy.is_some())
}

/// The pod's phase, `""` when unset.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Whether the pod succeeded.
pub fn is_succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

/// Whether the pod still has the Job's tracking finalizer.
pub fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == TRACKING_FINALIZER))
}

/// Whether the pod is running or about to: not finished, not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && pod.metadata.deletion_timestamp.is_none()
}

/// Whether the pod is being deleted but has not finished.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some() && !matches!(phase(pod), "Succeeded" | "Failed")
}

/// Whether the Job counts the pod as failed: it failed, or (unless only
/// failed pods are replaced) it is being deleted without having succeeded
/// — a pod deleted from under the Job never gets to report failure.
pub fn is_failed(pod: &Pod, job: &Job) -> bool {
    if phase(pod) == "Failed" {
        return true;
    }
    if only_replace_failed_pods(job) {
        return false;
    }
    pod.metadata.deletion_timestamp.is_some() && phase(pod) != "Succeeded"
}

/// The pod's completion index, `None` when absent or invalid.
pub fn completion_index(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(COMPLETION_INDEX_ANNOTATION)?
        .parse::<i32>()
        .ok()
        .filter(|i| *i >= 0)
}

/// The pod's completion index if it is valid for the Job (below
/// `completions`).
pub fn valid_index(pod: &Pod, job: &Job) -> Option<i32> {
    completion_index(pod).filter(|i| *i < completions(job))
}

fn annotation_count(pod: &Pod, key: &str) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|v| *v >= 0)
        .unwrap_or(0)
}

/// Failures of the pod's index counted so far (its annotation).
pub fn index_failure_count(pod: &Pod) -> i32 {
    annotation_count(pod, INDEX_FAILURE_COUNT_ANNOTATION)
}

/// Failures of the pod's index a policy ignored so far (its annotation).
pub fn index_ignored_failure_count(pod: &Pod) -> i32 {
    annotation_count(pod, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)
}

/// Whether the pod's `Ready` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    crate::workload::availability::is_pod_ready(pod)
}

fn containers_finished_at(statuses: &[ContainerStatus]) -> Option<Option<Timestamp>> {
    let mut latest: Option<Timestamp> = None;
    for status in statuses {
        let finished = status
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.finished_at.as_ref())
            .map(|t| t.0)?;
        latest = Some(latest.map_or(finished, |l| l.max(finished)));
    }
    Some(latest)
}

/// When the pod finished: its containers' latest finish time when all
/// finished; else when its Ready condition turned `False`; else its
/// deletion time less the grace period; else its creation time.
pub fn finished_at(pod: &Pod) -> Timestamp {
    let status = pod.status.as_ref();
    if let Some(Some(at)) = status
        .and_then(|s| s.container_statuses.as_deref())
        .and_then(containers_finished_at)
    {
        return at;
    }
    if let Some(at) = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready" && c.status == "False"))
        .and_then(|c| c.last_transition_time.as_ref())
    {
        return at.0;
    }
    if let Some(deleted) = &pod.metadata.deletion_timestamp {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
        return deleted
            .0
            .checked_sub(jiff::SignedDuration::from_secs(grace))
            .unwrap_or(deleted.0);
    }
    pod.metadata
        .creation_timestamp
        .as_ref()
        .map_or(Timestamp::UNIX_EPOCH, |t| t.0)
}

/// The controller reference a Job puts on its pods.
pub fn job_controller_ref(job: &Job) -> Option<OwnerReference> {
    Some(controller_ref(
        "batch/v1",
        "Job",
        job.metadata.name.as_deref()?,
        job.metadata.uid.as_deref()?,
    ))
}

fn generate_name(job_name: &str, index: Option<i32>) -> String {
    match index {
        None => {
            let mut prefix = format!("{job_name}-");
            if prefix.len() > MAX_GENERATED_NAME_PREFIX {
                prefix = truncate(job_name, MAX_GENERATED_NAME_PREFIX).to_owned();
            }
            prefix
        }
        Some(index) => {
            let suffix = format!("-{index}-");
            let keep = MAX_GENERATED_NAME_PREFIX.saturating_sub(suffix.len());
            format!("{}{suffix}", truncate(job_name, keep))
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or(text)
}

fn add_index_env(container: &mut Container) {
    let env = container.env.get_or_insert_with(Vec::new);
    if env.iter().any(|e| e.name == COMPLETION_INDEX_ENV) {
        return;
    }
    env.push(EnvVar {
        name: COMPLETION_INDEX_ENV.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.labels['{COMPLETION_INDEX_ANNOTATION}']"),
            }),
            ..EnvVarSource::default()
        }),
    });
}

/// What an Indexed Job's replacement pod carries over from the pod it
/// replaces (`backoffLimitPerIndex`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexFailureCounts {
    /// Counted failures of the index.
    pub failed: i32,
    /// Failures a pod failure policy ignored.
    pub ignored: i32,
}

/// The pod a Job creates: the template's labels, annotations and
/// finalizers plus the tracking finalizer, the Job as controller,
/// `generateName` `<job>-`; for Indexed Jobs also the completion index
/// annotation and label, `JOB_COMPLETION_INDEX` in every container,
/// hostname `<job>-<index>`, `generateName` `<job>-<index>-` and (with
/// `backoffLimitPerIndex`) the index failure counts.
pub fn pod_for_job(
    job: &Job,
    index: Option<i32>,
    failure_counts: Option<IndexFailureCounts>,
) -> Option<Pod> {
    let owner = job_controller_ref(job)?;
    let name = owner.name.clone();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let mut finalizers = meta.finalizers.unwrap_or_default();
    if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
        finalizers.push(TRACKING_FINALIZER.to_owned());
    }
    let mut labels = meta.labels.unwrap_or_default();
    let mut annotations = meta.annotations.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    if let Some(index) = index {
        annotations.insert(COMPLETION_INDEX_ANNOTATION.to_owned(), index.to_string());
        labels.insert(COMPLETION_INDEX_ANNOTATION.to_owned(), index.to_string());
        spec.hostname = Some(format!("{name}-{index}"));
        for container in spec
            .init_containers
            .iter_mut()
            .flatten()
            .chain(spec.containers.iter_mut())
        {
            add_index_env(container);
        }
        if let Some(counts) = failure_counts {
            annotations.insert(
                INDEX_FAILURE_COUNT_ANNOTATION.to_owned(),
                counts.failed.to_string(),
            );
            if counts.ignored > 0 {
                annotations.insert(
                    INDEX_IGNORED_FAILURE_COUNT_ANNOTATION.to_owned(),
                    counts.ignored.to_string(),
                );
            }
        }
    }
    Some(Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name(&name, index)),
            namespace: job.metadata.namespace.clone(),
            labels: (!labels.is_empty()).then_some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            finalizers: Some(finalizers),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_support::{finished_pod, job, pod};

    #[test]
    fn non_indexed_pod_has_template_labels_owner_and_tracking_finalizer() {
        let j = job("pi", |_| {});
        let p = pod_for_job(&j, None, None).expect("pod");
        assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-"));
        assert_eq!(p.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(
            p.metadata.finalizers,
            Some(vec![TRACKING_FINALIZER.to_owned()])
        );
        let labels = p.metadata.labels.expect("labels");
        assert_eq!(labels["batch.kubernetes.io/job-name"], "pi");
        assert_eq!(labels["batch.kubernetes.io/controller-uid"], "uid-pi");
        let owner = &p.metadata.owner_references.expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.api_version.as_str()),
            ("Job", "batch/v1")
        );
        assert_eq!(
            (owner.controller, owner.block_owner_deletion),
            (Some(true), Some(true))
        );
        assert!(p.spec.expect("spec").hostname.is_none());
    }

    #[test]
    fn indexed_pod_carries_its_index_everywhere() {
        let j = job("sq", |s| s.completion_mode = Some("Indexed".into()));
        let p = pod_for_job(
            &j,
            Some(3),
            Some(IndexFailureCounts {
                failed: 2,
                ignored: 0,
            }),
        )
        .expect("pod");
        assert_eq!(p.metadata.generate_name.as_deref(), Some("sq-3-"));
        let annotations = p.metadata.annotations.expect("annotations");
        assert_eq!(annotations[COMPLETION_INDEX_ANNOTATION], "3");
        assert_eq!(annotations[INDEX_FAILURE_COUNT_ANNOTATION], "2");
        assert!(!annotations.contains_key(INDEX_IGNORED_FAILURE_COUNT_ANNOTATION));
        assert_eq!(
            p.metadata.labels.expect("labels")[COMPLETION_INDEX_ANNOTATION],
            "3"
        );
        let spec = p.spec.expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some("sq-3"));
        let env = spec.containers[0].env.clone().unwrap_or_default();
        let var = env
            .iter()
            .find(|e| e.name == COMPLETION_INDEX_ENV)
            .expect("env");
        assert_eq!(
            var.value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.as_str()),
            Some("metadata.labels['batch.kubernetes.io/job-completion-index']")
        );
    }

    #[test]
    fn long_names_are_truncated_keeping_the_index() {
        let long = "a".repeat(70);
        assert_eq!(generate_name(&long, None).len(), 58);
        let indexed = generate_name(&long, Some(12));
        assert_eq!(indexed.len(), 58);
        assert!(indexed.ends_with("-12-"));
    }

    #[test]
    fn pod_states() {
        let j = job("pi", |_| {});
        let running = pod("a", "Running");
        assert!(is_active(&running) && !is_terminating(&running) && !is_failed(&running, &j));
        let mut deleting = pod("b", "Running");
        deleting.metadata.deletion_timestamp = Some(crate::batch::test_support::time(10));
        assert!(!is_active(&deleting) && is_terminating(&deleting));
        // A deleted pod counts as failed unless only failed pods are replaced.
        assert!(is_failed(&deleting, &j));
        let strict = job("pi", |s| s.pod_replacement_policy = Some("Failed".into()));
        assert!(!is_failed(&deleting, &strict));
        let failed = finished_pod("c", "Failed", 1, 20);
        assert!(is_failed(&failed, &strict) && !is_active(&failed));
        assert_eq!(finished_at(&failed), crate::batch::test_support::ts(20));
    }
}
