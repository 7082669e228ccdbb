//! `batch/v1` defaults (`pkg/apis/batch/v1/defaults.go`, 1.33 feature gates:
//! JobPodReplacementPolicy beta and on, JobBackoffLimitPerIndex GA).
//!
//! Left to the caller (Job registry `PrepareForCreate`): generating
//! `spec.selector` and the `controller-uid`/`job-name` template labels from the
//! object's UID, status reset and generation. Upstream defaults again when it
//! reads the object back, which is when `metadata.labels` picks up the
//! generated template labels; re-run [`super::apply_defaults`] after selector
//! generation to reproduce that.

use super::pod::default_template_at;
use super::{child, default_str, default_value, for_each_obj, is_unset, map_is_empty};
use serde_json::{Map, Value, json};

/// Dispatches on the batch kind.
pub(super) fn apply(kind: &str, obj: &mut Map<String, Value>) {
    match kind {
        "Job" => job(obj),
        "CronJob" => cron_job(obj),
        _ => {}
    }
}

/// `SetDefaults_Job` plus nested defaulters.
fn job(obj: &mut Map<String, Value>) {
    let template_labels = obj
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned();
    if let Some(labels) = template_labels
        && let Some(meta) = super::child_or_insert(obj, "metadata")
        && map_is_empty(meta, "labels")
    {
        meta.insert("labels".to_owned(), labels);
    }
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    if is_unset(spec, "completions") && is_unset(spec, "parallelism") {
        spec.insert("completions".to_owned(), json!(1));
        spec.insert("parallelism".to_owned(), json!(1));
    }
    default_value(spec, "parallelism", json!(1));
    if is_unset(spec, "backoffLimit") {
        let limit = if is_unset(spec, "backoffLimitPerIndex") {
            6
        } else {
            i64::from(i32::MAX)
        };
        spec.insert("backoffLimit".to_owned(), json!(limit));
    }
    default_value(spec, "completionMode", json!("NonIndexed"));
    default_value(spec, "suspend", json!(false));
    if is_unset(spec, "podReplacementPolicy") {
        let policy = if is_unset(spec, "podFailurePolicy") {
            "TerminatingOrFailed"
        } else {
            "Failed"
        };
        spec.insert("podReplacementPolicy".to_owned(), json!(policy));
    }
    default_value(spec, "manualSelector", json!(false));
    job_spec_nested(spec);
}

/// Defaults reached inside any JobSpec (also a CronJob's job template, which
/// does *not* get `SetDefaults_Job` itself): the pod template and
/// `SetDefaults_PodFailurePolicyOnPodConditionsPattern`.
fn job_spec_nested(spec: &mut Map<String, Value>) {
    if let Some(policy) = child(spec, "podFailurePolicy") {
        for_each_obj(policy, "rules", |rule| {
            for_each_obj(rule, "onPodConditions", |pattern| {
                default_str(pattern, "status", "True")
            });
        });
    }
    default_template_at(spec, "template");
}

/// `SetDefaults_CronJob` plus the job template's nested defaults.
fn cron_job(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_str(spec, "concurrencyPolicy", "Allow");
    default_value(spec, "suspend", json!(false));
    default_value(spec, "successfulJobsHistoryLimit", json!(3));
    default_value(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = child(spec, "jobTemplate").and_then(|t| child(t, "spec")) {
        job_spec_nested(job_spec);
    }
}

#[cfg(test)]
mod tests {
    use super::super::apply_defaults;
    use serde_json::{Value, json};

    fn defaulted(kind: &str, mut obj: Value) -> Value {
        apply_defaults("batch", "v1", kind, &mut obj);
        obj
    }

    fn template() -> Value {
        json!({"metadata": {"labels": {"app": "pi"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]}})
    }

    #[test]
    fn minimal_job_gets_upstream_spec_defaults() {
        let job = defaulted(
            "Job",
            json!({"metadata": {"name": "pi"}, "spec": {"template": template()}}),
        );
        let mut spec = job["spec"].clone();
        if let Some(s) = spec.as_object_mut() {
            s.remove("template");
        }
        assert_eq!(
            spec,
            json!({"backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1, "manualSelector": false,
                   "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed", "suspend": false})
        );
        assert_eq!(job["metadata"]["labels"], json!({"app": "pi"}));
        assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
        assert_eq!(job["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    }

    #[test]
    fn job_completions_stay_unset_when_only_parallelism_is_given() {
        let job = defaulted(
            "Job",
            json!({"spec": {"parallelism": 3, "completionMode": "Indexed"}}),
        );
        assert!(job["spec"].get("completions").is_none());
        assert_eq!(job["spec"]["parallelism"], 3);
        assert_eq!(job["spec"]["completionMode"], "Indexed");
        let job = defaulted("Job", json!({"spec": {"completions": 5}}));
        assert_eq!(job["spec"]["completions"], 5);
        assert_eq!(job["spec"]["parallelism"], 1);
    }

    #[test]
    fn job_backoff_limit_per_index_and_failure_policy_change_their_defaults() {
        let job = defaulted(
            "Job",
            json!({"spec": {"backoffLimitPerIndex": 1, "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}}),
        );
        assert_eq!(job["spec"]["backoffLimit"], 2147483647);
        assert_eq!(job["spec"]["podReplacementPolicy"], "Failed");
        assert_eq!(
            job["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
            "True"
        );
    }

    #[test]
    fn job_keeps_its_own_labels() {
        let job = defaulted(
            "Job",
            json!({"metadata": {"labels": {"mine": "x"}}, "spec": {"template": template()}}),
        );
        assert_eq!(job["metadata"]["labels"], json!({"mine": "x"}));
    }

    #[test]
    fn cron_job_defaults_itself_and_the_pod_template_but_not_the_job_spec() {
        let cj = defaulted(
            "CronJob",
            json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template()}}}}),
        );
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(cj["spec"]["suspend"], false);
        assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
        assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
        let job_spec = &cj["spec"]["jobTemplate"]["spec"];
        assert!(job_spec.get("backoffLimit").is_none());
        assert!(job_spec.get("parallelism").is_none());
        assert_eq!(
            job_spec["template"]["spec"]["schedulerName"],
            "default-scheduler"
        );
        assert_eq!(
            job_spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }
}
