//! The TTL-after-finished controller: deletes a finished Job (`Complete`
//! or `Failed`) `spec.ttlSecondsAfterFinished` after it finished, with
//! foreground propagation so its pods go first, and requeues each Job
//! for the moment its TTL expires. Before deleting it re-reads the Job
//! from the API (the TTL may have changed) and deletes with a UID
//! precondition.

use crate::batch::ttl::{TtlDecision, decide};
use crate::context::{ReconcileError, Retries, Shared, Stop, is_not_found, key_of};
use crate::controllers::job::initial;
use crate::informer::Informer;
use crate::workqueue::object_key;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::Action;
use std::sync::Arc;

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "ttl-after-finished";

struct Ctx {
    shared: Shared,
    retries: Retries,
}

/// Runs the controller until `stop`.
pub async fn run(shared: Shared, stop: Stop, jobs: Arc<Informer<Job>>) {
    let events = jobs.subscribe();
    let stopped = stop.wait();
    tokio::select! {
        () = jobs.ready() => {}
        () = stopped => return,
    }
    let store = jobs.store();
    let ctx = Arc::new(Ctx {
        shared,
        retries: Retries::default(),
    });
    let queue = ctx.shared.metrics.queue(NAME);
    queue
        .controller_for_shared_stream(events, store.clone())
        .reconcile_on(queue.triggers(initial(&store)))
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

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(job.as_ref()), async {
            let action = sync(&job, &ctx).await?;
            ctx.retries.succeeded(&key_of(&job.metadata));
            Ok(action)
        })
        .await
}

fn error_policy(job: Arc<Job>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, job = %key_of(&job.metadata), "TTL check failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&job.metadata)))
}

fn action(decision: TtlDecision) -> Action {
    match decision {
        TtlDecision::Wait(after) => Action::requeue(after),
        TtlDecision::Ignore | TtlDecision::Delete => Action::await_change(),
    }
}

async fn sync(job: &Job, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let now = ctx.shared.clock.now();
    let decision = decide(job, now);
    if decision != TtlDecision::Delete {
        return Ok(action(decision));
    }
    let namespace = job.metadata.namespace.clone().unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    let api: Api<Job> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    // The cached TTL may be stale: decide again on the Job as it is now.
    let Some(fresh) = api.get_opt(&name).await? else {
        return Ok(Action::await_change());
    };
    let decision = decide(&fresh, now);
    if decision != TtlDecision::Delete {
        return Ok(action(decision));
    }
    tracing::debug!(job = %key_of(&fresh.metadata), "TTL expired: deleting the Job");
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        preconditions: Some(Preconditions {
            uid: fresh.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => Ok(Action::await_change()),
        Err(e) if is_not_found(&e) => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}
