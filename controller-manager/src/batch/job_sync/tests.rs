use super::*;
use crate::batch::backoff::{DEFAULT_BASE, DEFAULT_MAX};
use crate::batch::test_support::{counted, finished_pod, indexed, job, pod, time, ts};
use k8s_openapi::api::batch::v1::{
    PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule, SuccessPolicy,
    SuccessPolicyRule,
};

fn sync<'a>(job: &Job, pods: &'a [Pod], now: i64) -> JobSync<'a> {
    JobSync::new(
        job,
        pods.iter().collect(),
        HashSet::new(),
        &BackoffRecord::default(),
        ts(now),
    )
}

fn plan<'a>(s: &JobSync<'a>) -> ManagePlan<'a> {
    s.manage_plan(DEFAULT_BASE, DEFAULT_MAX)
}

fn conditions(job: &Job) -> Vec<(String, String, String)> {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.type_, c.status, c.reason.unwrap_or_default()))
        .collect()
}

fn names(pods: &[&Pod]) -> Vec<String> {
    pods.iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

fn with_status(mut j: Job, edit: impl FnOnce(&mut JobStatus)) -> Job {
    edit(j.status.get_or_insert_with(JobStatus::default));
    j
}

#[test]
fn a_new_job_starts_and_creates_parallelism_pods() {
    let j = job("pi", |s| {
        s.completions = Some(5);
        s.parallelism = Some(2);
    });
    let mut s = sync(&j, &[], 0);
    assert_eq!(
        plan(&s),
        ManagePlan::Create(vec![
            NewPod {
                index: None,
                failure_counts: None
            };
            2
        ])
    );
    s.record_created(2);
    s.settle(true);
    assert!(s.track().is_empty());
    assert!(s.needs_flush());
    let status = s.job.status.clone().unwrap_or_default();
    assert_eq!(status.active, Some(2));
    assert_eq!(status.start_time, Some(time(0)));
    assert_eq!(status.ready, Some(0));
    assert!(status.uncounted_terminated_pods.is_some());
    assert!(!s.enact_finished());
}

#[test]
fn active_pods_never_exceed_the_remaining_completions() {
    let j = with_status(
        job("pi", |s| {
            s.completions = Some(5);
            s.parallelism = Some(2);
        }),
        |st| st.succeeded = Some(4),
    );
    let pods = [pod("a", "Running")];
    let s = sync(&j, &pods, 0);
    assert_eq!(plan(&s), ManagePlan::Nothing);
    let pods = [pod("a", "Running"), pod("b", "Pending")];
    let s = sync(&j, &pods, 0);
    match plan(&s) {
        ManagePlan::Remove(victims) => assert_eq!(names(&victims), ["b"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn finished_pods_are_counted_in_two_steps() {
    let j = job("pi", |s| {
        s.completions = Some(3);
        s.parallelism = Some(2);
    });
    let pods = [finished_pod("a", "Succeeded", 0, 5), pod("b", "Running")];
    let mut s = sync(&j, &pods, 10);
    assert_eq!(s.succeeded, 1);
    // One more is needed: completions 3, 1 succeeded, 1 active.
    assert_eq!(
        plan(&s),
        ManagePlan::Create(vec![NewPod {
            index: None,
            failure_counts: None
        }])
    );
    s.record_created(1);
    s.settle(true);
    let remove = s.track();
    assert_eq!(names(&remove), ["a"]);
    let status = s.job.status.clone().unwrap_or_default();
    // Step one: uncounted, not yet succeeded.
    assert_eq!(
        status.uncounted_terminated_pods.and_then(|u| u.succeeded),
        Some(vec!["uid-a".to_owned()])
    );
    assert_eq!(status.succeeded, None);
    s.flushed();
    // Step two, once the finalizer is gone.
    s.finalizers_removed(["uid-a"]);
    assert!(s.clean_uncounted());
    let status = s.job.status.clone().unwrap_or_default();
    assert_eq!(status.succeeded, Some(1));
    assert_eq!(
        status.uncounted_terminated_pods.map(|u| u.succeeded),
        Some(None)
    );
}

#[test]
fn a_restart_between_the_steps_neither_loses_nor_double_counts() {
    // The status already lists the pod as uncounted and its finalizer is
    // still there (the controller stopped before removing it).
    let j = with_status(job("pi", |s| s.completions = Some(2)), |st| {
        st.uncounted_terminated_pods = Some(UncountedTerminatedPods {
            succeeded: Some(vec!["uid-a".into()]),
            failed: None,
        });
    });
    let pods = [finished_pod("a", "Succeeded", 0, 5)];
    let mut s = sync(&j, &pods, 10);
    assert_eq!(s.succeeded, 1);
    s.settle(false);
    let remove = s.track();
    assert_eq!(names(&remove), ["a"]);
    let status = s.job.status.clone().unwrap_or_default();
    assert_eq!(
        status
            .uncounted_terminated_pods
            .and_then(|u| u.succeeded)
            .map(|v| v.len()),
        Some(1)
    );
    // The finalizer is already gone (removed before the restart): the
    // pod is moved to succeeded exactly once.
    let pods = [counted(finished_pod("a", "Succeeded", 0, 5))];
    let mut s = sync(&j, &pods, 10);
    assert_eq!(s.succeeded, 1);
    s.settle(false);
    assert!(s.track().is_empty());
    let status = s.job.status.clone().unwrap_or_default();
    assert_eq!(status.succeeded, Some(1));
    assert!(s.needs_flush());
}

#[test]
fn completion_adds_success_criteria_met_then_complete() {
    let j = with_status(job("pi", |s| s.completions = Some(2)), |st| {
        st.succeeded = Some(1);
        st.start_time = Some(time(0));
    });
    let pods = [
        counted(finished_pod("a", "Succeeded", 0, 5)),
        finished_pod("b", "Succeeded", 0, 8),
    ];
    let mut s = sync(&j, &pods, 10);
    assert!(s.pods_to_terminate().is_none());
    assert_eq!(plan(&s), ManagePlan::Nothing);
    s.settle(true);
    let remove = s.track();
    assert_eq!(names(&remove), ["b"]);
    assert_eq!(
        conditions(&s.job),
        [(
            "SuccessCriteriaMet".into(),
            "True".into(),
            "CompletionsReached".into()
        )]
    );
    // Not Complete while b is uncounted.
    assert!(!s.enact_finished());
    s.flushed();
    s.finalizers_removed(["uid-b"]);
    s.clean_uncounted();
    assert!(s.enact_finished());
    let status = s.job.status.clone().unwrap_or_default();
    assert_eq!(status.succeeded, Some(2));
    assert_eq!(status.completion_time, Some(time(10)));
    assert_eq!(
        conditions(&s.job),
        [
            (
                "SuccessCriteriaMet".into(),
                "True".into(),
                "CompletionsReached".into()
            ),
            (
                "Complete".into(),
                "True".into(),
                "CompletionsReached".into()
            )
        ]
    );
    let complete = crate::batch::job_condition(&s.job, "Complete")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        complete.message.as_deref(),
        Some("Reached expected number of succeeded pods")
    );
    assert_eq!(s.events, [Event::normal("Completed", "Job completed")]);
}

#[test]
fn a_job_without_completions_is_done_when_one_pod_succeeded_and_none_runs() {
    let j = job("q", |s| {
        s.completions = None;
        s.parallelism = Some(3);
    });
    let pods = [
        counted(finished_pod("a", "Succeeded", 0, 5)),
        pod("b", "Running"),
    ];
    let mut s = JobSync::new(
        &with_status(j.clone(), |st| st.succeeded = Some(1)),
        pods.iter().collect(),
        HashSet::new(),
        &BackoffRecord::default(),
        ts(10),
    );
    // After a success, no more pods are started; running ones finish.
    assert_eq!(plan(&s), ManagePlan::Nothing);
    s.settle(true);
    assert!(s.finished.is_none());
    let pods = [counted(finished_pod("a", "Succeeded", 0, 5))];
    let mut s = JobSync::new(
        &with_status(j, |st| st.succeeded = Some(1)),
        pods.iter().collect(),
        HashSet::new(),
        &BackoffRecord::default(),
        ts(10),
    );
    s.settle(true);
    assert!(s.finished.is_some());
}

#[test]
fn the_backoff_limit_fails_the_job_after_its_pods_are_gone() {
    let j = with_status(job("pi", |s| s.backoff_limit = Some(1)), |st| {
        st.failed = Some(1);
        st.start_time = Some(time(0));
    });
    let pods = [finished_pod("b", "Failed", 1, 5), pod("c", "Running")];
    let mut s = sync(&j, &pods, 10);
    assert_eq!(s.failed, 2);
    let doomed = s.pods_to_terminate().expect("failing");
    assert_eq!(names(&doomed), ["c"]);
    s.record_terminated(1, 0, true);
    let remove = s.track();
    // Every pod's finalizer may go: the Job is finishing, and the pod it
    // is terminating counts as failed.
    assert_eq!(names(&remove), ["b", "c"]);
    assert_eq!(
        s.job
            .status
            .as_ref()
            .and_then(|st| st.uncounted_terminated_pods.clone())
            .and_then(|u| u.failed),
        Some(vec!["uid-b".to_owned(), "uid-c".to_owned()])
    );
    assert_eq!(
        conditions(&s.job),
        [(
            "FailureTarget".into(),
            "True".into(),
            "BackoffLimitExceeded".into()
        )]
    );
    s.flushed();
    s.finalizers_removed(["uid-b", "uid-c"]);
    s.clean_uncounted();
    // c is still terminating: no Failed condition yet.
    assert!(!s.enact_finished());

    // Next sync: c is still shutting down (counted, finalizer gone).
    let j = s.job.clone();
    let mut deleted = counted(pod("c", "Running"));
    deleted.metadata.deletion_timestamp = Some(time(11));
    let pods = [counted(finished_pod("b", "Failed", 1, 5)), deleted];
    let mut s = sync(&j, &pods, 12);
    assert_eq!(s.terminating, 1);
    assert_eq!(s.failed, 3);
    s.record_terminated(0, 0, true);
    assert!(s.track().is_empty());
    assert!(!s.enact_finished(), "c still terminating");

    // c is gone.
    let j = s.job.clone();
    let pods = [counted(finished_pod("b", "Failed", 1, 5))];
    let mut s = sync(&j, &pods, 13);
    s.record_terminated(0, 0, true);
    s.track();
    assert!(s.enact_finished());
    let status = s.job.status.clone().unwrap_or_default();
    assert_eq!(status.failed, Some(3));
    assert_eq!(status.completion_time, None);
    assert_eq!(
        conditions(&s.job),
        [
            (
                "FailureTarget".into(),
                "True".into(),
                "BackoffLimitExceeded".into()
            ),
            (
                "Failed".into(),
                "True".into(),
                "BackoffLimitExceeded".into()
            )
        ]
    );
    assert_eq!(
        s.events,
        [Event::warning(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit"
        )]
    );
}

#[test]
fn failed_pods_are_replaced_after_a_backoff() {
    let j = with_status(job("pi", |s| s.backoff_limit = Some(3)), |st| {
        st.start_time = Some(time(0));
    });
    let pods = [finished_pod("a", "Failed", 1, 5)];
    let s = sync(&j, &pods, 8);
    assert_eq!(plan(&s), ManagePlan::Backoff(Duration::from_secs(7)));
    let s = sync(&j, &pods, 20);
    assert!(matches!(plan(&s), ManagePlan::Create(p) if p.len() == 1));
}

#[test]
fn the_active_deadline_fails_the_job_or_requeues_until_it() {
    let j = with_status(job("pi", |s| s.active_deadline_seconds = Some(30)), |st| {
        st.start_time = Some(time(0));
    });
    let pods = [pod("a", "Running")];
    let s = sync(&j, &pods, 10);
    assert!(s.finished.is_none());
    assert_eq!(s.requeue_after, Some(Duration::from_secs(20)));
    let s = sync(&j, &pods, 30);
    let finished = s.finished.clone().expect("deadline");
    assert_eq!(finished.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(
        finished.message.as_deref(),
        Some("Job was active longer than specified deadline")
    );
    assert_eq!(
        s.pods_to_terminate().map(|p| names(&p)),
        Some(vec!["a".to_owned()])
    );
}

#[test]
fn suspending_removes_pods_and_resuming_restarts_the_clock() {
    let j = with_status(job("pi", |s| s.suspend = Some(true)), |st| {
        st.start_time = Some(time(0));
    });
    let pods = [pod("a", "Running")];
    let mut s = sync(&j, &pods, 10);
    match plan(&s) {
        ManagePlan::Remove(v) => assert_eq!(names(&v), ["a"]),
        other => panic!("{other:?}"),
    }
    s.record_removed(1, 0);
    s.settle(true);
    assert!(s.track().is_empty());
    assert_eq!(
        conditions(&s.job),
        [("Suspended".into(), "True".into(), "JobSuspended".into())]
    );
    assert_eq!(s.events, [Event::normal("Suspended", "Job suspended")]);
    let status = s.job.status.clone().unwrap_or_default();
    assert_eq!((status.active, status.terminating), (None, Some(1)));

    // Resume.
    let mut resumed = s.job.clone();
    if let Some(spec) = resumed.spec.as_mut() {
        spec.suspend = Some(false);
    }
    let mut s = sync(&resumed, &[], 50);
    assert!(matches!(plan(&s), ManagePlan::Create(p) if p.len() == 1));
    s.record_created(1);
    s.settle(true);
    s.track();
    assert_eq!(
        conditions(&s.job),
        [("Suspended".into(), "False".into(), "JobResumed".into())]
    );
    assert_eq!(s.events, [Event::normal("Resumed", "Job resumed")]);
    assert_eq!(
        s.job.status.as_ref().and_then(|st| st.start_time.clone()),
        Some(time(50))
    );
}

#[test]
fn a_job_created_suspended_has_no_start_time() {
    let j = job("pi", |s| s.suspend = Some(true));
    let mut s = sync(&j, &[], 10);
    assert_eq!(plan(&s), ManagePlan::Nothing);
    s.settle(true);
    s.track();
    assert_eq!(
        s.job.status.as_ref().and_then(|st| st.start_time.clone()),
        None
    );
    assert_eq!(conditions(&s.job).len(), 1);
}

fn indexed_job(completions: i32, parallelism: i32) -> Job {
    job("sq", |s| {
        s.completions = Some(completions);
        s.parallelism = Some(parallelism);
        s.completion_mode = Some("Indexed".into());
    })
}

#[test]
fn indexed_jobs_create_the_lowest_missing_indexes_and_record_completed_ones() {
    let j = with_status(indexed_job(6, 3), |st| {
        st.completed_indexes = Some("0".into());
        st.succeeded = Some(1);
    });
    let pods = [
        counted(indexed(finished_pod("p0", "Succeeded", 0, 1), 0)),
        indexed(finished_pod("p2", "Succeeded", 0, 2), 2),
        indexed(pod("p3", "Running"), 3),
    ];
    let mut s = sync(&j, &pods, 10);
    assert_eq!(s.succeeded, 2);
    assert_eq!(
        plan(&s),
        ManagePlan::Create(vec![
            NewPod {
                index: Some(1),
                failure_counts: None
            },
            NewPod {
                index: Some(4),
                failure_counts: None
            }
        ])
    );
    s.record_created(2);
    s.settle(true);
    let remove = s.track();
    assert_eq!(names(&remove), ["p2"]);
    let status = s.job.status.clone().unwrap_or_default();
    assert_eq!(status.completed_indexes.as_deref(), Some("0,2"));
    assert_eq!(status.succeeded, Some(2));
    // No UIDs: the index is the record.
    assert_eq!(
        status.uncounted_terminated_pods.and_then(|u| u.succeeded),
        None
    );
}

#[test]
fn indexed_jobs_delete_duplicate_and_out_of_range_pods() {
    let j = indexed_job(2, 2);
    let mut ready = indexed(pod("dup-ready", "Running"), 1);
    ready.status.get_or_insert_default().conditions =
        Some(vec![k8s_openapi::api::core::v1::PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..Default::default()
        }]);
    let pods = [
        indexed(pod("zero", "Running"), 0),
        indexed(pod("dup-pending", "Pending"), 1),
        ready,
        indexed(pod("far", "Running"), 7),
        pod("none", "Running"),
    ];
    let s = sync(&j, &pods, 10);
    match plan(&s) {
        ManagePlan::Remove(v) => {
            let mut n = names(&v);
            n.sort();
            assert_eq!(n, ["dup-pending", "far", "none"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn indexed_jobs_complete_when_every_index_succeeded() {
    let j = with_status(indexed_job(3, 3), |st| {
        st.completed_indexes = Some("0,1".into());
        st.succeeded = Some(2);
    });
    let pods = [indexed(finished_pod("p2", "Succeeded", 0, 2), 2)];
    let mut s = sync(&j, &pods, 10);
    s.settle(true);
    let remove = s.track();
    assert_eq!(names(&remove), ["p2"]);
    assert_eq!(
        s.job
            .status
            .as_ref()
            .and_then(|st| st.completed_indexes.clone())
            .as_deref(),
        Some("0-2")
    );
    s.flushed();
    s.finalizers_removed(["uid-p2"]);
    s.clean_uncounted();
    assert!(s.enact_finished());
}

#[test]
fn pod_failure_policy_fails_the_job_or_ignores_failures() {
    let policy = PodFailurePolicy {
        rules: vec![
            PodFailurePolicyRule {
                action: "FailJob".into(),
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    container_name: None,
                    operator: "In".into(),
                    values: vec![42],
                }),
                on_pod_conditions: None,
            },
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    container_name: None,
                    operator: "In".into(),
                    values: vec![7],
                }),
                on_pod_conditions: None,
            },
        ],
    };
    let j = job("pf", |s| {
        s.backoff_limit = Some(0);
        s.pod_failure_policy = Some(policy);
    });
    // An ignored failure neither counts nor trips backoffLimit 0.
    let pods = [finished_pod("a", "Failed", 7, 5)];
    let mut s = sync(&j, &pods, 10);
    assert_eq!(s.failed, 0);
    assert!(s.finished.is_none());
    s.settle(true);
    let remove = s.track();
    assert_eq!(names(&remove), ["a"]);
    assert_eq!(
        s.job
            .status
            .as_ref()
            .and_then(|st| st.uncounted_terminated_pods.clone()),
        Some(UncountedTerminatedPods::default())
    );
    // Exit code 42 fails the Job.
    let pods = [finished_pod("b", "Failed", 42, 5)];
    let s = sync(&j, &pods, 10);
    let finished = s.finished.clone().expect("failed");
    assert_eq!(finished.type_, "FailureTarget");
    assert_eq!(finished.reason.as_deref(), Some("PodFailurePolicy"));
    assert_eq!(
        finished.message.as_deref(),
        Some(
            "Container main for pod default/b failed with exit code 42 matching FailJob rule at index 0"
        )
    );
}

#[test]
fn success_policy_ends_an_indexed_job_early() {
    let j = with_status(
        job("sp", |s| {
            s.completions = Some(4);
            s.parallelism = Some(4);
            s.completion_mode = Some("Indexed".into());
            s.success_policy = Some(SuccessPolicy {
                rules: vec![SuccessPolicyRule {
                    succeeded_indexes: Some("0".into()),
                    succeeded_count: None,
                }],
            });
        }),
        |st| st.start_time = Some(time(0)),
    );
    let pods = [
        indexed(finished_pod("p0", "Succeeded", 0, 2), 0),
        indexed(pod("p1", "Running"), 1),
    ];
    let mut s = sync(&j, &pods, 10);
    let finished = s.finished.clone().expect("met");
    assert_eq!(
        (finished.type_.as_str(), finished.reason.as_deref()),
        ("SuccessCriteriaMet", Some("SuccessPolicy"))
    );
    assert_eq!(
        finished.message.as_deref(),
        Some("Matched rules at index 0")
    );
    let doomed = s.pods_to_terminate().expect("terminate the rest");
    assert_eq!(names(&doomed), ["p1"]);
    s.record_terminated(1, 0, true);
    s.track();
    // Complete waits for p1 to terminate.
    assert!(!s.enact_finished());
}

#[test]
fn terminating_pods_count_as_failed_unless_only_failed_pods_are_replaced() {
    let j = job("t", |s| s.backoff_limit = Some(5));
    let mut gone = pod("a", "Running");
    gone.metadata.deletion_timestamp = Some(time(3));
    let pods = [gone];
    let s = sync(&j, &pods, 10);
    assert_eq!(s.failed, 1);
    assert_eq!(s.terminating, 1);
    let strict = job("t", |s| s.pod_replacement_policy = Some("Failed".into()));
    let s = sync(&strict, &pods, 10);
    assert_eq!(s.failed, 0);
    // The replacement waits for the terminating pod.
    assert_eq!(plan(&s), ManagePlan::Nothing);
}

#[test]
fn pods_being_unfinalized_are_not_counted_again() {
    let j = job("pi", |s| s.completions = Some(3));
    let pods = [finished_pod("a", "Succeeded", 0, 5)];
    let s = JobSync::new(
        &j,
        pods.iter().collect(),
        ["uid-a".to_owned()].into(),
        &BackoffRecord::default(),
        ts(10),
    );
    assert_eq!(s.succeeded, 0);
}

#[test]
fn backoff_limit_per_index_fails_indexes_and_carries_counts() {
    let j = with_status(
        job("bl", |s| {
            s.completions = Some(2);
            s.parallelism = Some(2);
            s.completion_mode = Some("Indexed".into());
            s.backoff_limit_per_index = Some(1);
            s.backoff_limit = Some(i32::MAX);
        }),
        |st| st.start_time = Some(time(0)),
    );
    // Index 0 failed once: its pod stays (finalizer kept) until the
    // replacement, which carries failure count 1, exists.
    let mut first = indexed(finished_pod("a", "Failed", 1, 5), 0);
    first.metadata.annotations.get_or_insert_default().insert(
        crate::batch::INDEX_FAILURE_COUNT_ANNOTATION.into(),
        "0".into(),
    );
    let pods = [first.clone(), indexed(pod("b", "Running"), 1)];
    let mut s = sync(&j, &pods, 100);
    assert!(s.finished.is_none());
    assert_eq!(
        plan(&s),
        ManagePlan::Create(vec![NewPod {
            index: Some(0),
            failure_counts: Some(IndexFailureCounts {
                failed: 1,
                ignored: 0
            })
        }])
    );
    s.record_created(1);
    s.settle(true);
    assert!(s.track().is_empty(), "finalizer removal is delayed");

    // The replacement failed too (count 1 >= limit 1): index 0 fails;
    // with index 1 succeeded every index is done -> FailedIndexes.
    let mut second = indexed(finished_pod("c", "Failed", 1, 50), 0);
    second.metadata.annotations.get_or_insert_default().insert(
        crate::batch::INDEX_FAILURE_COUNT_ANNOTATION.into(),
        "1".into(),
    );
    let pods = [
        counted(first),
        second,
        indexed(finished_pod("b", "Succeeded", 0, 60), 1),
    ];
    let mut s = sync(&j, &pods, 100);
    assert_eq!(
        s.failed_indexes
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("0")
    );
    let finished = s.finished.clone().expect("failed indexes");
    assert_eq!(finished.reason.as_deref(), Some("FailedIndexes"));
    s.record_terminated(0, 0, true);
    s.track();
    assert_eq!(
        s.job
            .status
            .as_ref()
            .and_then(|st| st.failed_indexes.clone())
            .as_deref(),
        Some("0")
    );
}

#[test]
fn ensure_condition_adds_updates_and_skips_new_false() {
    let mut list = Vec::new();
    assert!(!ensure_condition(
        &mut list,
        "Suspended",
        "False",
        "JobResumed",
        "Job resumed",
        ts(0)
    ));
    assert!(list.is_empty());
    assert!(ensure_condition(
        &mut list,
        "Suspended",
        "True",
        "JobSuspended",
        "Job suspended",
        ts(0)
    ));
    assert!(!ensure_condition(
        &mut list,
        "Suspended",
        "True",
        "JobSuspended",
        "Job suspended",
        ts(5)
    ));
    assert!(ensure_condition(
        &mut list,
        "Suspended",
        "False",
        "JobResumed",
        "Job resumed",
        ts(9)
    ));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].last_transition_time, Some(time(9)));
}
