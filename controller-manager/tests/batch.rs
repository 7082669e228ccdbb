//! The Job, CronJob and TTL-after-finished controllers against the real
//! `bosun-apiserver` binary (path in `BOSUN_APISERVER_BIN`; skipped
//! without it), each test with its own apiserver and an in-process
//! controller-manager. There is no node here: the tests play the kubelet
//! and write pod status themselves.

mod common;

use common::*;

use bosun_controller_manager::clock::Clock;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

const FINALIZER: &str = "batch.kubernetes.io/job-tracking";
const INDEX: &str = "batch.kubernetes.io/job-completion-index";

fn job_manifest(name: &str, spec: serde_json::Value) -> serde_json::Value {
    let mut spec = spec;
    spec["template"] = json!({
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox"}]
        }
    });
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec})
}

async fn create_job(client: &kube::Client, name: &str, spec: serde_json::Value) -> Job {
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    jobs.create(&PostParams::default(), &object(job_manifest(name, spec)))
        .await
        .expect("create job")
}

async fn pods_of(client: &kube::Client, job: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}")))
        .await
        .expect("list pods")
        .items
}

fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

fn has_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER)
}

/// Plays the kubelet: the pod's only container exited with `exit_code`.
async fn finish_pod(client: &kube::Client, pod: &str, exit_code: i32) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let now = jiff::Timestamp::now().to_string();
    let phase = if exit_code == 0 {
        "Succeeded"
    } else {
        "Failed"
    };
    pods.patch_status(
        pod,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "phase": phase,
            "containerStatuses": [{
                "name": "main", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {
                    "exitCode": exit_code,
                    "reason": if exit_code == 0 { "Completed" } else { "Error" },
                    "startedAt": now, "finishedAt": now
                }}
            }]
        }})),
    )
    .await
    .expect("finish pod");
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

fn has_condition(job: &Job, type_: &str) -> bool {
    conditions(job)
        .iter()
        .any(|(t, s, _)| t == type_ && s == "True")
}

async fn events_of(client: &kube::Client, name: &str) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

async fn wait_event(client: &kube::Client, name: &str, reason: &str) -> String {
    eventually(&format!("{reason} event on {name}"), || async {
        events_of(client, name)
            .await
            .into_iter()
            .find(|(r, _)| r == reason)
            .map(|(_, m)| m)
    })
    .await
}

async fn wait_job(
    client: &kube::Client,
    name: &str,
    what: &str,
    check: impl Fn(&Job) -> bool,
) -> Job {
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    eventually(what, || async {
        let job = jobs.get(name).await.ok()?;
        check(&job).then_some(job)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_two_pods_at_a_time_until_five_succeeded() {
    let Some(c) = cluster("job").await else {
        return;
    };
    let job = create_job(&c.client, "pi", json!({"completions": 5, "parallelism": 2})).await;
    let mut succeeded = std::collections::HashSet::new();
    while succeeded.len() < 5 {
        let active = eventually("active pods", || async {
            let pods = pods_of(&c.client, "pi").await;
            let active: Vec<Pod> = pods.into_iter().filter(is_active).collect();
            (!active.is_empty()).then_some(active)
        })
        .await;
        assert!(active.len() <= 2, "{} active pods", active.len());
        assert!(active.len() <= 5 - succeeded.len());
        for pod in &active {
            let name = pod.metadata.name.clone().expect("name");
            assert!(name.starts_with("pi-"), "{name}");
            assert!(has_finalizer(pod), "tracking finalizer on {name}");
            let owner = &pod.metadata.owner_references.as_ref().expect("owner")[0];
            assert_eq!((owner.kind.as_str(), owner.controller), ("Job", Some(true)));
            assert_eq!(owner.uid, job.metadata.uid.clone().expect("uid"));
            let labels = pod.metadata.labels.clone().unwrap_or_default();
            assert_eq!(labels["batch.kubernetes.io/controller-uid"], owner.uid);
            assert_eq!(labels["job-name"], "pi");
            finish_pod(&c.client, &name, 0).await;
            succeeded.insert(name);
        }
    }
    let job = wait_job(&c.client, "pi", "pi complete", |j| {
        has_condition(j, "Complete")
    })
    .await;
    let status = job.status.clone().expect("status");
    assert_eq!(status.succeeded, Some(5));
    assert_eq!(status.failed, None);
    assert_eq!(status.active, None);
    assert!(status.start_time.is_some() && status.completion_time.is_some());
    assert_eq!(
        conditions(&job),
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
            ),
        ]
    );
    let uncounted = status.uncounted_terminated_pods.unwrap_or_default();
    assert!(uncounted.succeeded.unwrap_or_default().is_empty());
    // Exactly five pods ever ran, none keeps the finalizer.
    let pods = eventually("finalizers removed", || async {
        let pods = pods_of(&c.client, "pi").await;
        pods.iter().all(|p| !has_finalizer(p)).then_some(pods)
    })
    .await;
    assert_eq!(pods.len(), 5);
    let out = c.server.kubectl(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=20s",
    ]);
    assert!(out.contains("condition met"), "{out}");
    let created = wait_event(&c.client, "pi", "SuccessfulCreate").await;
    assert!(created.starts_with("Created pod: pi-"), "{created}");
    assert_eq!(
        wait_event(&c.client, "pi", "Completed").await,
        "Job completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indexed_job_runs_one_pod_per_index_even_across_restarts() {
    let Some(mut c) = cluster("job").await else {
        return;
    };
    create_job(
        &c.client,
        "sq",
        json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"}),
    )
    .await;
    let pods = eventually("three indexed pods", || async {
        let pods = pods_of(&c.client, "sq").await;
        (pods.len() == 3).then_some(pods)
    })
    .await;
    let mut by_index: BTreeMap<String, Pod> = BTreeMap::new();
    for pod in pods {
        let index = pod.metadata.annotations.as_ref().expect("annotations")[INDEX].clone();
        assert_eq!(pod.metadata.labels.as_ref().expect("labels")[INDEX], index);
        let name = pod.metadata.name.clone().expect("name");
        assert!(name.starts_with(&format!("sq-{index}-")), "{name}");
        let spec = pod.spec.clone().expect("spec");
        assert_eq!(
            spec.hostname.as_deref(),
            Some(format!("sq-{index}").as_str())
        );
        let env = spec.containers[0].env.clone().unwrap_or_default();
        let var = env
            .iter()
            .find(|e| e.name == "JOB_COMPLETION_INDEX")
            .expect("JOB_COMPLETION_INDEX");
        assert_eq!(
            var.value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.clone()),
            Some(format!("metadata.labels['{INDEX}']"))
        );
        assert!(by_index.insert(index, pod).is_none(), "one pod per index");
    }
    assert_eq!(
        by_index.keys().cloned().collect::<Vec<_>>(),
        ["0", "1", "2"]
    );

    // A new controller-manager takes over: it must not add pods.
    drop(c.stop.take());
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.stop = Some(start(config(&c.server, "job")));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pods_of(&c.client, "sq").await.len(), 3);

    finish_pod(
        &c.client,
        by_index["1"].metadata.name.as_deref().expect("name"),
        0,
    )
    .await;
    wait_job(&c.client, "sq", "completedIndexes 1", |j| {
        j.status
            .as_ref()
            .and_then(|s| s.completed_indexes.as_deref())
            == Some("1")
    })
    .await;
    for index in ["0", "2"] {
        finish_pod(
            &c.client,
            by_index[index].metadata.name.as_deref().expect("name"),
            0,
        )
        .await;
    }
    let job = wait_job(&c.client, "sq", "sq complete", |j| {
        has_condition(j, "Complete")
    })
    .await;
    let status = job.status.expect("status");
    assert_eq!(status.completed_indexes.as_deref(), Some("0-2"));
    assert_eq!(status.succeeded, Some(3));
    assert_eq!(pods_of(&c.client, "sq").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_pods_exhaust_the_backoff_limit_and_fail_the_job() {
    let Some(c) = cluster("job").await else {
        return;
    };
    create_job(&c.client, "flaky", json!({"backoffLimit": 1})).await;
    let mut failed = std::collections::HashSet::new();
    while failed.len() < 2 {
        let pod = eventually("a new pod", || async {
            pods_of(&c.client, "flaky").await.into_iter().find(|p| {
                is_active(p) && !failed.contains(p.metadata.name.as_deref().unwrap_or(""))
            })
        })
        .await;
        let name = pod.metadata.name.clone().expect("name");
        finish_pod(&c.client, &name, 3).await;
        failed.insert(name);
    }
    let job = wait_job(&c.client, "flaky", "flaky failed", |j| {
        has_condition(j, "Failed")
    })
    .await;
    assert_eq!(
        conditions(&job),
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
            ),
        ]
    );
    let failed_condition = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Failed").cloned())
        .expect("Failed");
    assert_eq!(
        failed_condition.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
    let status = job.status.expect("status");
    assert_eq!(status.failed, Some(2));
    assert_eq!(status.completion_time, None);
    assert_eq!(pods_of(&c.client, "flaky").await.len(), 2);
    assert_eq!(
        wait_event(&c.client, "flaky", "BackoffLimitExceeded").await,
        "Job has reached the specified backoff limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspending_removes_pods_and_resuming_brings_them_back() {
    let Some(c) = cluster("job").await else {
        return;
    };
    create_job(
        &c.client,
        "nap",
        json!({"completions": 2, "parallelism": 2}),
    )
    .await;
    eventually("two pods", || async {
        (pods_of(&c.client, "nap")
            .await
            .iter()
            .filter(|p| is_active(p))
            .count()
            == 2)
            .then_some(())
    })
    .await;
    let jobs: Api<Job> = Api::namespaced(c.client.clone(), "default");
    jobs.patch(
        "nap",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .expect("suspend");
    let job = wait_job(&c.client, "nap", "suspended", |j| {
        has_condition(j, "Suspended")
    })
    .await;
    assert_eq!(
        conditions(&job),
        [("Suspended".into(), "True".into(), "JobSuspended".into())]
    );
    eventually("pods removed", || async {
        pods_of(&c.client, "nap").await.is_empty().then_some(())
    })
    .await;
    let job = wait_job(&c.client, "nap", "no active pods", |j| {
        j.status.as_ref().is_some_and(|s| s.active.is_none())
    })
    .await;
    // Pods removed for suspension are not failures.
    assert_eq!(job.status.as_ref().and_then(|s| s.failed), None);
    assert_eq!(
        wait_event(&c.client, "nap", "Suspended").await,
        "Job suspended"
    );

    jobs.patch(
        "nap",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .expect("resume");
    let job = wait_job(&c.client, "nap", "resumed", |j| {
        conditions(j).contains(&("Suspended".into(), "False".into(), "JobResumed".into()))
    })
    .await;
    assert!(job.status.and_then(|s| s.start_time).is_some());
    let pods = eventually("two pods again", || async {
        let pods: Vec<Pod> = pods_of(&c.client, "nap")
            .await
            .into_iter()
            .filter(is_active)
            .collect();
        (pods.len() == 2).then_some(pods)
    })
    .await;
    assert_eq!(wait_event(&c.client, "nap", "Resumed").await, "Job resumed");
    for pod in pods {
        finish_pod(&c.client, pod.metadata.name.as_deref().expect("name"), 0).await;
    }
    wait_job(&c.client, "nap", "nap complete", |j| {
        has_condition(j, "Complete")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_is_deleted_after_its_ttl() {
    let Some(c) = cluster("job,ttl-after-finished,garbage-collector").await else {
        return;
    };
    create_job(&c.client, "brief", json!({"ttlSecondsAfterFinished": 1})).await;
    let pod = eventually("a pod", || async {
        pods_of(&c.client, "brief")
            .await
            .into_iter()
            .find(is_active)
    })
    .await;
    finish_pod(&c.client, pod.metadata.name.as_deref().expect("name"), 0).await;
    // Finish times have one-second resolution, so the Job may be gone
    // before a poll sees it complete: its event tells it completed first.
    let jobs: Api<Job> = Api::namespaced(c.client.clone(), "default");
    eventually("job deleted", || async {
        matches!(jobs.get_opt("brief").await, Ok(None)).then_some(())
    })
    .await;
    assert_eq!(
        wait_event(&c.client, "brief", "Completed").await,
        "Job completed"
    );
    eventually("its pod deleted too", || async {
        pods_of(&c.client, "brief").await.is_empty().then_some(())
    })
    .await;
}

fn cronjob(name: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut spec = json!({
        "schedule": "* * * * *",
        "jobTemplate": {
            "metadata": {"labels": {"cron": name}},
            "spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "busybox"}]
            }}}
        }
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name}, "spec": spec})
}

async fn jobs_of(client: &kube::Client, cron: &str) -> Vec<Job> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    jobs.list(&ListParams::default().labels(&format!("cron={cron}")))
        .await
        .expect("list jobs")
        .items
}

/// Plays the Job controller: marks the Job complete now.
async fn complete_job(client: &kube::Client, name: &str) {
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let now = jiff::Timestamp::now().to_string();
    jobs.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "startTime": now, "completionTime": now, "succeeded": 1,
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached", "lastTransitionTime": now}
            ]
        }})),
    )
    .await
    .expect("complete job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cronjob_fires_on_schedule_and_keeps_its_history_short() {
    // The controller's clock runs `offset` seconds ahead of the real one.
    let offset = Arc::new(AtomicI64::new(65));
    let shifted = offset.clone();
    let Some(c) = cluster_with("cronjob", move |config| {
        config.clock = Clock::from_fn(move || {
            jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_secs(
                    shifted.load(Ordering::SeqCst),
                ))
                .unwrap_or_else(|_| jiff::Timestamp::now())
        });
    })
    .await
    else {
        return;
    };
    let cronjobs: Api<CronJob> = Api::namespaced(c.client.clone(), "default");
    let cj = cronjobs
        .create(
            &PostParams::default(),
            &object(cronjob("tick", json!({"successfulJobsHistoryLimit": 2}))),
        )
        .await
        .expect("create cronjob");
    let first = eventually("the first job", || async {
        jobs_of(&c.client, "tick").await.into_iter().next()
    })
    .await;
    let name = first.metadata.name.clone().expect("name");
    let minute: i64 = name
        .strip_prefix("tick-")
        .and_then(|m| m.parse().ok())
        .expect("tick-<minutes>");
    let scheduled = jiff::Timestamp::from_second(minute * 60).expect("time");
    let created = cj.metadata.creation_timestamp.clone().expect("created").0;
    assert!(scheduled > created && scheduled <= created + jiff::SignedDuration::from_secs(60 + 5));
    let annotations = first.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"],
        scheduled.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    let owner = &first.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        (
            "CronJob",
            cj.metadata.uid.as_deref().expect("uid"),
            Some(true)
        )
    );
    let status = eventually("status.active", || async {
        let cj = cronjobs.get("tick").await.ok()?;
        let status = cj.status?;
        (status.active.as_ref().map(Vec::len) == Some(1)).then_some(status)
    })
    .await;
    assert_eq!(status.last_schedule_time.map(|t| t.0), Some(scheduled));
    assert_eq!(
        wait_event(&c.client, "tick", "SuccessfulCreate").await,
        format!("Created job {name}")
    );
    complete_job(&c.client, &name).await;
    eventually("completed job leaves status.active", || async {
        let status = cronjobs.get("tick").await.ok()?.status?;
        (status.active.is_none() && status.last_successful_time.is_some()).then_some(())
    })
    .await;
    assert_eq!(
        wait_event(&c.client, "tick", "SawCompletedJob").await,
        format!("Saw completed job: {name}, status: Complete")
    );

    // Three more minutes go by on the controller's clock.
    for round in 2..=4 {
        offset.fetch_add(60, Ordering::SeqCst);
        cronjobs
            .patch(
                "tick",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {"poke": round.to_string()}}})),
            )
            .await
            .expect("poke");
        let job = eventually("the next job", || async {
            jobs_of(&c.client, "tick").await.into_iter().find(|j| {
                j.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_none()
            })
        })
        .await;
        complete_job(&c.client, job.metadata.name.as_deref().expect("name")).await;
    }
    let left = eventually("history trimmed to two", || async {
        let jobs = jobs_of(&c.client, "tick").await;
        (jobs.len() == 2).then_some(jobs)
    })
    .await;
    let mut minutes: Vec<i64> = left
        .iter()
        .filter_map(|j| {
            j.metadata
                .name
                .as_deref()?
                .strip_prefix("tick-")?
                .parse()
                .ok()
        })
        .collect();
    minutes.sort();
    assert!(minutes[0] > minute + 1, "the oldest jobs went: {minutes:?}");
    let deleted = wait_event(&c.client, "tick", "SuccessfulDelete").await;
    assert_eq!(deleted, format!("Deleted job {name}"));

    // An unknown time zone is reported and starts nothing.
    cronjobs
        .create(
            &PostParams::default(),
            &object(cronjob("mars", json!({"timeZone": "Mars/Olympus_Mons"}))),
        )
        .await
        .expect("create cronjob");
    let message = wait_event(&c.client, "mars", "UnknownTimeZone").await;
    assert!(
        message.starts_with("invalid timeZone: \"Mars/Olympus_Mons\""),
        "{message}"
    );
    assert!(jobs_of(&c.client, "mars").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbid_cronjob_waits_for_its_running_job() {
    let offset = Arc::new(AtomicI64::new(65));
    let shifted = offset.clone();
    let Some(c) = cluster_with("cronjob", move |config| {
        config.clock = Clock::from_fn(move || {
            jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_secs(
                    shifted.load(Ordering::SeqCst),
                ))
                .unwrap_or_else(|_| jiff::Timestamp::now())
        });
    })
    .await
    else {
        return;
    };
    let cronjobs: Api<CronJob> = Api::namespaced(c.client.clone(), "default");
    cronjobs
        .create(
            &PostParams::default(),
            &object(cronjob("solo", json!({"concurrencyPolicy": "Forbid"}))),
        )
        .await
        .expect("create cronjob");
    eventually("the first job", || async {
        (jobs_of(&c.client, "solo").await.len() == 1).then_some(())
    })
    .await;
    offset.fetch_add(60, Ordering::SeqCst);
    cronjobs
        .patch(
            "solo",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"poke": "1"}}})),
        )
        .await
        .expect("poke");
    let message = wait_event(&c.client, "solo", "JobAlreadyActive").await;
    assert_eq!(
        message,
        "Not starting job because prior execution is running and concurrency policy is Forbid"
    );
    assert_eq!(jobs_of(&c.client, "solo").await.len(), 1);
}
