//! Builders shared by the unit tests.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStatus, DeploymentStrategy, ReplicaSet, ReplicaSetSpec,
    ReplicaSetStatus, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::deployment_util::REVISION_ANNOTATION;

/// A fixed instant plus `secs` seconds.
pub fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A template labelled `app=web` running `image`.
pub fn template(image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(&[("app", "web")])),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                image: Some(image.into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
    }
}

/// A pod in `phase`, ready since `ready_since` when given.
pub fn pod(name: &str, phase: &str, ready_since: Option<Timestamp>) -> Pod {
    let conditions = ready_since.map(|t| {
        vec![PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            last_transition_time: Some(Time(t)),
            ..PodCondition::default()
        }]
    });
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            labels: Some(labels(&[("app", "web")])),
            creation_timestamp: Some(Time(ts(0))),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: Some("node-1".into()),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some(phase.into()),
            conditions,
            ..PodStatus::default()
        }),
    }
}

/// A ReplicaSet of `replicas` (status replicas too) with `available`
/// available and ready replicas, created at `ts(0)`.
pub fn replica_set(
    name: &str,
    replicas: i32,
    available: i32,
    template: &PodTemplateSpec,
) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            creation_timestamp: Some(Time(ts(0))),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", "web")])),
                ..LabelSelector::default()
            },
            template: Some(template.clone()),
            ..ReplicaSetSpec::default()
        }),
        status: Some(ReplicaSetStatus {
            replicas,
            available_replicas: Some(available),
            ready_replicas: Some(available),
            observed_generation: Some(1),
            ..ReplicaSetStatus::default()
        }),
    }
}

/// Sets the revision annotation and creation time of `rs`.
pub fn with_revision(mut rs: ReplicaSet, revision: i64, created: i64) -> ReplicaSet {
    rs.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(REVISION_ANNOTATION.into(), revision.to_string());
    rs.metadata.creation_timestamp = Some(Time(ts(created)));
    rs
}

/// A RollingUpdate deployment of `replicas` with the given surge / unavailable.
pub fn rolling_deployment(
    name: &str,
    replicas: i32,
    template: &PodTemplateSpec,
    max_surge: IntOrString,
    max_unavailable: IntOrString,
) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", "web")])),
                ..LabelSelector::default()
            },
            template: template.clone(),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(max_surge),
                    max_unavailable: Some(max_unavailable),
                }),
            }),
            progress_deadline_seconds: Some(600),
            revision_history_limit: Some(10),
            ..DeploymentSpec::default()
        }),
        status: Some(DeploymentStatus::default()),
    }
}

/// A Recreate deployment of `replicas`.
pub fn recreate_deployment(name: &str, replicas: i32, template: &PodTemplateSpec) -> Deployment {
    let mut d = rolling_deployment(
        name,
        replicas,
        template,
        IntOrString::Int(0),
        IntOrString::Int(0),
    );
    if let Some(spec) = d.spec.as_mut() {
        spec.strategy = Some(DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
    }
    d
}

pub fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.into())
}
