//! Builders shared by the batch unit tests.

#![allow(clippy::unwrap_used)]

use super::{CONTROLLER_UID_LABEL, JOB_NAME_LABEL, TRACKING_FINALIZER};
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodSpec, PodStatus,
    PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use std::collections::BTreeMap;

/// A fixed instant plus `secs` seconds.
pub fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// [`ts`] as a `Time`.
pub fn time(secs: i64) -> Time {
    Time(ts(secs))
}

/// A Job `name` in `default` (uid `uid-<name>`) with the labels and
/// selector the apiserver generates, completions 1, parallelism 1,
/// backoffLimit 6, restartPolicy Never; `edit` adjusts the spec.
pub fn job(name: &str, edit: impl FnOnce(&mut JobSpec)) -> Job {
    let uid = format!("uid-{name}");
    let labels: BTreeMap<String, String> = [
        (CONTROLLER_UID_LABEL.to_owned(), uid.clone()),
        (JOB_NAME_LABEL.to_owned(), name.to_owned()),
    ]
    .into();
    let mut spec = JobSpec {
        completions: Some(1),
        parallelism: Some(1),
        backoff_limit: Some(6),
        completion_mode: Some("NonIndexed".into()),
        suspend: Some(false),
        selector: Some(LabelSelector {
            match_labels: Some([(CONTROLLER_UID_LABEL.to_owned(), uid.clone())].into()),
            ..LabelSelector::default()
        }),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                restart_policy: Some("Never".into()),
                containers: vec![Container {
                    name: "main".into(),
                    image: Some("busybox".into()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        },
        ..JobSpec::default()
    };
    edit(&mut spec);
    Job {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(uid),
            resource_version: Some("1".into()),
            creation_timestamp: Some(time(0)),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// A pod `name` (uid `uid-<name>`) of the Job `job` in `phase`, with the
/// tracking finalizer and an owner reference to `uid-job`.
pub fn pod(name: &str, phase: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            finalizers: Some(vec![TRACKING_FINALIZER.to_owned()]),
            creation_timestamp: Some(time(1)),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec::default()),
        status: Some(PodStatus {
            phase: Some(phase.into()),
            ..PodStatus::default()
        }),
    }
}

/// A finished pod whose only container exited with `exit_code` at [`ts`]`(at)`.
pub fn finished_pod(name: &str, phase: &str, exit_code: i32, at: i64) -> Pod {
    let mut p = pod(name, phase);
    if let Some(status) = p.status.as_mut() {
        status.container_statuses = Some(vec![ContainerStatus {
            name: "main".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code,
                    finished_at: Some(time(at)),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }]);
    }
    p
}

/// `p` with completion index `index`.
pub fn indexed(mut p: Pod, index: i32) -> Pod {
    p.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(
            super::COMPLETION_INDEX_ANNOTATION.to_owned(),
            index.to_string(),
        );
    p
}

/// `p` without the tracking finalizer.
pub fn counted(mut p: Pod) -> Pod {
    p.metadata.finalizers = None;
    p
}
