//! The ServiceAccount controller: a `default` ServiceAccount in every
//! namespace that is not being deleted, recreated if deleted.

use crate::context::{ReconcileError, Retries, Shared, Stop, key_of};
use crate::workqueue::object_key;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use std::sync::Arc;

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "serviceaccount";
/// The account every namespace gets.
pub const DEFAULT: &str = "default";

struct Ctx {
    shared: Shared,
    retries: Retries,
}

/// Runs the controller until `shutdown`.
pub async fn run(shared: Shared, stop: Stop) {
    let client = shared.client.clone();
    let queue = shared.metrics.queue(NAME);
    let ctx = Arc::new(Ctx {
        shared,
        retries: Retries::default(),
    });
    queue
        .controller(
            Api::<Namespace>::all(client.clone()),
            watcher::Config::default(),
        )
        .watches(
            Api::<ServiceAccount>::all(client),
            watcher::Config::default().fields(&format!("metadata.name={DEFAULT}")),
            queue.mapper(|sa: ServiceAccount| sa.metadata.namespace.map(|ns| ObjectRef::new(&ns))),
        )
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

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(ns.as_ref()), async {
            if ns.metadata.deletion_timestamp.is_some() {
                return Ok(Action::await_change());
            }
            let name = ns.metadata.name.clone().unwrap_or_default();
            let api: Api<ServiceAccount> = Api::namespaced(ctx.shared.client.clone(), &name);
            if api.get_opt(DEFAULT).await?.is_none() {
                let sa = ServiceAccount {
                    metadata: ObjectMeta {
                        name: Some(DEFAULT.into()),
                        namespace: Some(name.clone()),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                match api.create(&PostParams::default(), &sa).await {
                    Ok(_) => {}
                    // Created meanwhile, or the namespace is terminating.
                    Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            ctx.retries.succeeded(&key_of(&ns.metadata));
            Ok(Action::await_change())
        })
        .await
}

fn error_policy(ns: Arc<Namespace>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, namespace = ?ns.metadata.name, "serviceaccount sync failed");
    Action::requeue(ctx.retries.failed(&key_of(&ns.metadata)))
}
