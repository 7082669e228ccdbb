//! The HorizontalPodAutoscaler controller: every 15 s (upstream's
//! `--horizontal-pod-autoscaler-sync-period`) and on every change, reads
//! the target's `scale` subresource, keeps it within `minReplicas` and
//! `maxReplicas`, and reports status and conditions. Bosun serves no
//! metrics API, so metric-driven scaling reports upstream's failure to
//! fetch metrics instead (see [`crate::workload::autoscaling`]).

use crate::context::{ReconcileError, Retries, Shared, Stop, key_of};
use crate::workload::autoscaling::{Decision, decide, set_condition};
use crate::workqueue::object_key;
use bosun_runtime::EventType;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, HorizontalPodAutoscalerStatus};
use k8s_openapi::api::core::v1::ReplicationController;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The controller's name (`--controllers`), as upstream's.
pub const NAME: &str = "horizontalpodautoscaling";
/// `source.component` of its events.
pub const COMPONENT: &str = "horizontal-pod-autoscaler";
/// How often each autoscaler is looked at again.
const SYNC_PERIOD: Duration = Duration::from_secs(15);

struct Ctx {
    shared: Shared,
    retries: Retries,
}

/// Runs the controller until `stop`.
pub async fn run(shared: Shared, stop: Stop) {
    let queue = shared.metrics.queue(NAME);
    let controller = queue.controller(
        Api::<HorizontalPodAutoscaler>::all(shared.client.clone()),
        watcher::Config::default(),
    );
    let ctx = Arc::new(Ctx {
        shared,
        retries: Retries::default(),
    });
    controller
        .with_config(
            kube::runtime::controller::Config::default().concurrency(ctx.shared.concurrency),
        )
        .graceful_shutdown_on(stop.wait())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            queue.finished(&result);
            futures::future::ready(())
        })
        .await;
}

async fn reconcile(
    hpa: Arc<HorizontalPodAutoscaler>,
    ctx: Arc<Ctx>,
) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(hpa.as_ref()), async {
            sync(&hpa, &ctx).await?;
            ctx.retries.succeeded(&key_of(&hpa.metadata));
            Ok(Action::requeue(SYNC_PERIOD))
        })
        .await
}

fn error_policy(
    hpa: Arc<HorizontalPodAutoscaler>,
    error: &ReconcileError,
    ctx: Arc<Ctx>,
) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, hpa = %key_of(&hpa.metadata), "autoscaler sync failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&hpa.metadata)).max(SYNC_PERIOD))
}

/// The target's scale API, by its kind.
enum Target {
    Deployment(Api<Deployment>),
    ReplicaSet(Api<ReplicaSet>),
    StatefulSet(Api<StatefulSet>),
    ReplicationController(Api<ReplicationController>),
}

impl Target {
    fn of(
        client: &kube::Client,
        namespace: &str,
        api_version: &str,
        kind: &str,
    ) -> Result<Self, String> {
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        let c = client.clone();
        Ok(match (group, kind) {
            ("apps", "Deployment") => Target::Deployment(Api::namespaced(c, namespace)),
            ("apps", "ReplicaSet") => Target::ReplicaSet(Api::namespaced(c, namespace)),
            ("apps", "StatefulSet") => Target::StatefulSet(Api::namespaced(c, namespace)),
            ("", "ReplicationController") => {
                Target::ReplicationController(Api::namespaced(c, namespace))
            }
            _ => return Err(format!("no matches for kind {kind:?} in group {group:?}")),
        })
    }

    async fn get(&self, name: &str) -> kube::Result<Scale> {
        match self {
            Target::Deployment(a) => a.get_scale(name).await,
            Target::ReplicaSet(a) => a.get_scale(name).await,
            Target::StatefulSet(a) => a.get_scale(name).await,
            Target::ReplicationController(a) => a.get_scale(name).await,
        }
    }

    async fn set(&self, name: &str, replicas: i32) -> kube::Result<Scale> {
        let patch = Patch::Merge(json!({"spec": {"replicas": replicas}}));
        let params = PatchParams::default();
        match self {
            Target::Deployment(a) => a.patch_scale(name, &params, &patch).await,
            Target::ReplicaSet(a) => a.patch_scale(name, &params, &patch).await,
            Target::StatefulSet(a) => a.patch_scale(name, &params, &patch).await,
            Target::ReplicationController(a) => a.patch_scale(name, &params, &patch).await,
        }
    }
}

fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

async fn sync(hpa: &HorizontalPodAutoscaler, ctx: &Ctx) -> Result<(), ReconcileError> {
    let recorder = ctx.shared.recorder.with_component(COMPONENT);
    let reference =
        bosun_runtime::object_ref("autoscaling/v2", "HorizontalPodAutoscaler", &hpa.metadata);
    let now = ctx.shared.clock.now();
    let namespace = hpa.metadata.namespace.clone().unwrap_or_default();
    let Some(spec) = hpa.spec.as_ref() else {
        return Ok(());
    };
    let target_ref = &spec.scale_target_ref;
    let target = Target::of(
        &ctx.shared.client,
        &namespace,
        target_ref.api_version.as_deref().unwrap_or(""),
        &target_ref.kind,
    );
    let scale = match &target {
        Ok(target) => target
            .get(&target_ref.name)
            .await
            .map_err(|e| api_message(&e)),
        Err(why) => Err(why.clone()),
    };
    let (target, scale) = match (target, scale) {
        (Ok(target), Ok(scale)) => (target, scale),
        (_, Err(why)) => {
            recorder.publish(reference, EventType::Warning, "FailedGetScale", why.clone());
            let mut status = hpa.status.clone().unwrap_or_default();
            set_unable(
                &mut status,
                "FailedGetScale",
                format!("the HPA controller was unable to get the target's current scale: {why}"),
                now,
            );
            return write_status(ctx, hpa, &status).await;
        }
        (Err(why), Ok(_)) => return Err(ReconcileError::Invalid(why)),
    };
    let current = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
    let Decision {
        rescale,
        warnings,
        mut status,
    } = decide(hpa, current, now);
    for (reason, message) in warnings {
        recorder.publish(reference.clone(), EventType::Warning, reason, message);
    }
    if let Some((desired, reason)) = rescale {
        match target.set(&target_ref.name, desired).await {
            Ok(_) => recorder.publish(
                reference.clone(),
                EventType::Normal,
                "SuccessfulRescale",
                format!("New size: {desired}; reason: {reason}"),
            ),
            Err(e) => {
                let why = api_message(&e);
                recorder.publish(
                    reference.clone(),
                    EventType::Warning,
                    "FailedRescale",
                    format!("New size: {desired}; reason: {reason}; error: {why}"),
                );
                status = hpa.status.clone().unwrap_or_default();
                set_unable(
                    &mut status,
                    "FailedUpdateScale",
                    format!("the HPA controller was unable to update the target scale: {why}"),
                    now,
                );
            }
        }
    }
    write_status(ctx, hpa, &status).await
}

/// `AbleToScale` False with `reason`, keeping the rest of the status.
fn set_unable(
    status: &mut HorizontalPodAutoscalerStatus,
    reason: &str,
    message: String,
    now: jiff::Timestamp,
) {
    set_condition(status, "AbleToScale", "False", reason, message, now);
}

async fn write_status(
    ctx: &Ctx,
    hpa: &HorizontalPodAutoscaler,
    status: &HorizontalPodAutoscalerStatus,
) -> Result<(), ReconcileError> {
    let namespace = hpa.metadata.namespace.as_deref().unwrap_or_default();
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.shared.client.clone(), namespace);
    let name = hpa.metadata.name.as_deref().unwrap_or_default();
    crate::status_patch::write_status(&api, name, None, hpa.status.as_ref(), status).await?;
    Ok(())
}
