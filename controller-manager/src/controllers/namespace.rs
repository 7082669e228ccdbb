//! The namespace controller: once a namespace is Terminating, every
//! namespaced object in it is deleted (every listable, deletable resource
//! the API serves), then the namespace's `kubernetes` finalizer is removed
//! through `namespaces/{name}/finalize`, which lets the apiserver delete
//! it. While objects remain, status conditions say what blocks, as
//! upstream's (`NamespaceContentRemaining`, `NamespaceFinalizersRemaining`).

use crate::context::{ReconcileError, Retries, Shared, Stop, key_of};
use crate::workqueue::object_key;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::discovery::{ApiResource, Discovery, Scope, verbs};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "namespace";
/// The finalizer this controller owns.
pub const FINALIZER: &str = "kubernetes";
/// How long a discovery result is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(30);
/// How soon a namespace with remaining content is looked at again.
const RECHECK: Duration = Duration::from_millis(500);

struct Ctx {
    shared: Shared,
    retries: Retries,
    discovered: Mutex<Option<(Instant, Arc<Vec<ApiResource>>)>>,
}

/// Runs the controller until `shutdown`.
pub async fn run(shared: Shared, stop: Stop) {
    let client = shared.client.clone();
    let queue = shared.metrics.queue(NAME);
    let ctx = Arc::new(Ctx {
        shared,
        retries: Retries::default(),
        discovered: Mutex::new(None),
    });
    queue
        .controller(Api::<Namespace>::all(client), watcher::Config::default())
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

/// Namespaced resources that can be listed and deleted.
async fn namespaced_resources(ctx: &Ctx) -> Result<Arc<Vec<ApiResource>>, ReconcileError> {
    let mut cached = ctx.discovered.lock().await;
    if let Some((at, resources)) = cached.as_ref()
        && at.elapsed() < DISCOVERY_TTL
    {
        return Ok(resources.clone());
    }
    let discovery = Discovery::new(ctx.shared.client.clone())
        .run_aggregated()
        .await?;
    let mut resources = Vec::new();
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            if caps.scope == Scope::Namespaced
                && caps.supports_operation(verbs::LIST)
                && caps.supports_operation(verbs::DELETE)
            {
                resources.push(resource);
            }
        }
    }
    let resources = Arc::new(resources);
    *cached = Some((Instant::now(), resources.clone()));
    Ok(resources)
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(ns.as_ref()), async {
            if ns.metadata.deletion_timestamp.is_none() {
                return Ok(Action::await_change());
            }
            let finalizers = ns
                .spec
                .as_ref()
                .and_then(|s| s.finalizers.clone())
                .unwrap_or_default();
            if !finalizers.iter().any(|f| f == FINALIZER) {
                return Ok(Action::await_change());
            }
            let name = ns.metadata.name.clone().unwrap_or_default();
            let resources = namespaced_resources(&ctx).await?;
            let remaining = delete_content(&ctx, &name, &resources).await?;
            let action = if remaining.is_empty() {
                finalize(&ctx, &ns, &finalizers).await?;
                Action::await_change()
            } else {
                set_conditions(&ctx, &ns, &remaining).await;
                Action::requeue(RECHECK)
            };
            ctx.retries.succeeded(&key_of(&ns.metadata));
            Ok(action)
        })
        .await
}

/// What is left in a namespace: per resource, the objects and the
/// finalizers still on them.
#[derive(Debug, Default)]
struct Remaining {
    counts: BTreeMap<String, usize>,
    finalizers: BTreeMap<String, usize>,
}

impl Remaining {
    fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// Deletes everything in namespace `name`; returns what remains.
async fn delete_content(
    ctx: &Ctx,
    name: &str,
    resources: &[ApiResource],
) -> Result<Remaining, ReconcileError> {
    let mut remaining = Remaining::default();
    let deletes = futures::stream::iter(resources.iter().cloned())
        .map(|resource| {
            let api: Api<DynamicObject> =
                Api::namespaced_with(ctx.shared.client.clone(), name, &resource);
            async move {
                let listed = match api.list_metadata(&ListParams::default()).await {
                    Ok(list) => list.items,
                    Err(e) if crate::context::is_not_found(&e) => Vec::new(),
                    Err(e) => return Err(e),
                };
                if listed.is_empty() {
                    return Ok((resource, Vec::new()));
                }
                let params = DeleteParams::background();
                if listed
                    .iter()
                    .any(|o| o.metadata.deletion_timestamp.is_none())
                {
                    match api.delete_collection(&params, &ListParams::default()).await {
                        Ok(_) => {}
                        Err(kube::Error::Api(s)) if s.code == 405 || s.code == 404 => {
                            for object in &listed {
                                let n = object.metadata.name.as_deref().unwrap_or_default();
                                if let Err(e) = api.delete(n, &params).await
                                    && !crate::context::is_not_found(&e)
                                {
                                    return Err(e);
                                }
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                let left = api.list_metadata(&ListParams::default()).await?.items;
                Ok((resource, left))
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    for outcome in deletes {
        let (resource, left) = outcome?;
        if left.is_empty() {
            continue;
        }
        let label = if resource.group.is_empty() {
            resource.plural.clone()
        } else {
            format!("{}.{}", resource.plural, resource.group)
        };
        remaining.counts.insert(label, left.len());
        for object in &left {
            for finalizer in object.metadata.finalizers.iter().flatten() {
                *remaining.finalizers.entry(finalizer.clone()).or_default() += 1;
            }
        }
    }
    Ok(remaining)
}

/// Removes this controller's finalizer through `finalize`.
async fn finalize(ctx: &Ctx, ns: &Namespace, finalizers: &[String]) -> Result<(), ReconcileError> {
    let name = ns.metadata.name.clone().unwrap_or_default();
    let mut body = ns.clone();
    body.metadata.managed_fields = None;
    body.spec.get_or_insert_with(Default::default).finalizers = Some(
        finalizers
            .iter()
            .filter(|f| f.as_str() != FINALIZER)
            .cloned()
            .collect(),
    );
    let api: Api<Namespace> = Api::all(ctx.shared.client.clone());
    match api
        .replace_subresource::<Namespace>("finalize", &name, &PostParams::default(), &body)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::context::is_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Upstream's deletion conditions, describing what remains.
async fn set_conditions(ctx: &Ctx, ns: &Namespace, remaining: &Remaining) {
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or(jiff::Timestamp::now());
    let content = remaining
        .counts
        .iter()
        .map(|(r, n)| format!("{r} has {n} resource instances"))
        .collect::<Vec<_>>()
        .join(", ");
    let finalizers = remaining
        .finalizers
        .iter()
        .map(|(f, n)| format!("{f} in {n} resource instances"))
        .collect::<Vec<_>>()
        .join(", ");
    let cond = |kind: &str, ok: bool, reason: &str, message: String| {
        json!({
            "type": kind,
            "status": if ok { "False" } else { "True" },
            "lastTransitionTime": now.to_string(),
            "reason": reason,
            "message": message,
        })
    };
    let conditions = json!([
        cond(
            "NamespaceDeletionDiscoveryFailure",
            true,
            "ResourcesDiscovered",
            "All resources successfully discovered".into()
        ),
        cond(
            "NamespaceDeletionGroupVersionParsingFailure",
            true,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".into()
        ),
        cond(
            "NamespaceDeletionContentFailure",
            true,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization".into()
        ),
        cond(
            "NamespaceContentRemaining",
            false,
            "SomeResourcesRemain",
            format!("Some resources are remaining: {content}")
        ),
        if finalizers.is_empty() {
            cond(
                "NamespaceFinalizersRemaining",
                true,
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished".into(),
            )
        } else {
            cond(
                "NamespaceFinalizersRemaining",
                false,
                "SomeFinalizersRemain",
                format!("Some content in the namespace has finalizers remaining: {finalizers}"),
            )
        },
    ]);
    let unchanged = ns
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|existing| {
            existing.len() == 5
                && existing
                    .iter()
                    .zip(conditions.as_array().into_iter().flatten())
                    .all(|(e, c)| {
                        Some(e.type_.as_str()) == c["type"].as_str()
                            && Some(e.status.as_str()) == c["status"].as_str()
                            && e.message.as_deref() == c["message"].as_str()
                    })
        });
    if unchanged {
        return;
    }
    let api: Api<Namespace> = Api::all(ctx.shared.client.clone());
    let name = ns.metadata.name.clone().unwrap_or_default();
    let patch = json!({"status": {"conditions": conditions}});
    if let Err(error) = api
        .patch_status(
            &name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
    {
        tracing::debug!(%error, namespace = %name, "updating namespace conditions failed");
    }
}

fn error_policy(ns: Arc<Namespace>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::warn!(%error, namespace = ?ns.metadata.name, "namespace deletion failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&ns.metadata)))
}
