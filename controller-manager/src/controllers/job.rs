//! The Job controller: runs each Job's pods to completion — `parallelism`
//! at a time up to `completions` (NonIndexed or one pod per index), pods
//! replaced after failures with a doubling backoff, the Job failed on its
//! backoff limit, active deadline or pod failure policy, completed on its
//! completions or success policy, pods removed while suspended.
//!
//! Pods are counted with upstream's two-step tracking (see
//! [`batch::job_sync`](crate::batch::job_sync)): every pod carries the
//! `batch.kubernetes.io/job-tracking` finalizer, a finished pod's UID is
//! written to `status.uncountedTerminatedPods` before its finalizer is
//! removed, and moved to `succeeded`/`failed` after. Status writes carry
//! the `resourceVersion` they were computed from.
//!
//! Expectations: a sync waits until the shared caches show its own pod
//! creations, deletions, finalizer removals and status writes before it
//! returns, and the runtime never runs two syncs of one Job at once, so
//! a lagging watch cannot make it create a second pod for an index or
//! count a pod twice — also after a restart, since all state is derived
//! from the caches. Finalizer removals the cache has not shown yet are
//! remembered per Job and treated as done.
//!
//! A second loop removes the tracking finalizer from orphaned pods (their
//! Job deleted or gone), as upstream's orphan queue does.

use crate::batch::backoff::{BackoffRecord, DEFAULT_MAX};
use crate::batch::job_pods::{has_tracking_finalizer, is_ready, job_controller_ref, pod_for_job};
use crate::batch::job_sync::{JobSync, ManagePlan, NewPod};
use crate::batch::{
    Event, JOB_CONTROLLER_MANAGER, TRACKING_FINALIZER, is_job_finished, status_patch,
};
use crate::context::{ReconcileError, Retries, Shared, Stop, is_conflict, is_not_found, key_of};
use crate::informer::Informer;
use crate::workload::ownership::{
    ClaimDecision, claim_decision, controller_of, controller_selector,
};
use crate::workqueue::object_key;
use bosun_runtime::EventType;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "job";
/// `source.component` of its events.
pub const COMPONENT: &str = "job-controller";
/// How long a sync waits for the caches to show its own writes.
const EXPECTATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at a read-modify-write of a pod's finalizers.
const FINALIZER_ATTEMPTS: usize = 5;

struct Ctx {
    shared: Shared,
    pods: Store<Pod>,
    jobs: Store<Job>,
    retries: Retries,
    backoff_base: Duration,
    backoff: Mutex<HashMap<String, BackoffRecord>>,
    /// Per Job: pod UIDs whose finalizer removal the cache has not shown.
    expected_rm: Mutex<HashMap<String, HashSet<String>>>,
}

/// Runs the controller until `stop`.
pub async fn run(shared: Shared, stop: Stop, pods: Arc<Informer<Pod>>, jobs: Arc<Informer<Job>>) {
    // Subscribe first: nothing is missed while the caches fill.
    let job_events = jobs.subscribe();
    let pod_events = pods.subscribe();
    let orphan_events = pods.subscribe();
    let stopped = stop.wait();
    tokio::select! {
        () = async { pods.ready().await; jobs.ready().await } => {}
        () = stopped => return,
    }
    let job_store = jobs.store();
    let ctx = Arc::new(Ctx {
        backoff_base: shared.job_pod_failure_backoff,
        shared,
        pods: pods.store(),
        jobs: job_store.clone(),
        retries: Retries::default(),
        backoff: Mutex::new(HashMap::new()),
        expected_rm: Mutex::new(HashMap::new()),
    });
    let mapping_store = job_store.clone();
    let pod_triggers =
        pod_events.flat_map(move |pod| futures::stream::iter(jobs_for_pod(&mapping_store, &pod)));
    let queue = ctx.shared.metrics.queue(NAME);
    let controller = queue
        .controller_for_shared_stream(job_events, job_store.clone())
        .reconcile_on(queue.triggers(pod_triggers))
        .reconcile_on(queue.triggers(initial(&job_store)))
        .with_config(
            kube::runtime::controller::Config::default().concurrency(ctx.shared.concurrency),
        )
        .graceful_shutdown_on(stop.wait())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|result| {
            queue.finished(&result);
            futures::future::ready(())
        });
    let orphans = clean_orphans(ctx, orphan_events, stop);
    futures::join!(controller, orphans);
}

/// Every object of a (ready) `store`, to reconcile once at start: the
/// shared informer may have listed them before this controller subscribed.
pub(crate) fn initial<K>(
    store: &Store<K>,
) -> impl futures::Stream<Item = ObjectRef<K>> + Send + use<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    futures::stream::iter(
        store
            .state()
            .iter()
            .map(|o| ObjectRef::from_obj(o.as_ref()))
            .collect::<Vec<_>>(),
    )
}

fn is_job_ref(owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference) -> bool {
    owner.kind == "Job" && owner.api_version == "batch/v1"
}

/// The Jobs a pod event concerns: its controller, or (orphans) every Job
/// of its namespace whose selector matches.
fn jobs_for_pod(jobs: &Store<Job>, pod: &Pod) -> Vec<ObjectRef<Job>> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    if let Some(owner) = controller_of(&pod.metadata) {
        if is_job_ref(owner) {
            return vec![ObjectRef::new(&owner.name).within(&namespace)];
        }
        return Vec::new();
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return Vec::new();
    }
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    jobs.state()
        .iter()
        .filter(|j| j.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .filter(|j| {
            j.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .and_then(|s| controller_selector(s).ok())
                .is_some_and(|sel| !sel.is_empty() && sel.matches(&labels))
        })
        .map(|j| ObjectRef::from_obj(j.as_ref()))
        .collect()
}

fn job_ref(job: &Job) -> k8s_openapi::api::core::v1::ObjectReference {
    bosun_runtime::object_ref("batch/v1", "Job", &job.metadata)
}

fn name_of(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn uid_of(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
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
    tracing::debug!(%error, job = %key_of(&job.metadata), "sync failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&job.metadata)))
}

/// Waits (bounded) until `done` says the cache shows this sync's writes.
pub(crate) async fn await_cache(what: &str, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + EXPECTATION_TIMEOUT;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            tracing::warn!(what, "cache did not show this controller's writes in time");
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Whether the cached copy is at least as new as `written`.
pub(crate) fn cache_caught_up(cached: Option<&str>, written: Option<&str>) -> bool {
    match (cached, written) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(c), Some(w)) => match (c.parse::<u64>(), w.parse::<u64>()) {
            (Ok(c), Ok(w)) => c >= w,
            _ => c == w,
        },
    }
}

/// Removes the tracking finalizer from `pod` (read-modify-write guarded
/// by `resourceVersion`, re-read on conflict). `Ok(true)` when removed or
/// the pod is gone.
async fn remove_tracking_finalizer(api: &Api<Pod>, pod: &Pod) -> Result<bool, kube::Error> {
    let name = name_of(pod);
    let mut current = pod.clone();
    for _ in 0..FINALIZER_ATTEMPTS {
        if current.metadata.uid != pod.metadata.uid {
            return Ok(true);
        }
        let finalizers = current.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
            return Ok(true);
        }
        let rest: Vec<&String> = finalizers
            .iter()
            .filter(|f| *f != TRACKING_FINALIZER)
            .collect();
        let patch = json!({"metadata": {
            "finalizers": if rest.is_empty() { serde_json::Value::Null } else { json!(rest) },
            "resourceVersion": current.metadata.resource_version,
        }});
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(true),
            Err(e) if is_not_found(&e) => return Ok(true),
            Err(e) if is_conflict(&e) => match api.get_opt(&name).await? {
                Some(fresh) => current = fresh,
                None => return Ok(true),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

fn publish(recorder: &bosun_runtime::EventRecorder, job: &Job, events: &[Event]) {
    for event in events {
        recorder.publish(
            job_ref(job),
            event.kind,
            &event.reason,
            event.message.clone(),
        );
    }
}

/// The Job's pods: owned ones, plus adopted orphans its selector matches;
/// owned pods it no longer selects are released.
async fn claim_pods(job: &Job, ctx: &Ctx, api: &Api<Pod>) -> Result<Vec<Arc<Pod>>, ReconcileError> {
    let namespace = job.metadata.namespace.clone().unwrap_or_default();
    let selector = job
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .map(controller_selector)
        .transpose()
        .map_err(|e| ReconcileError::Invalid(format!("invalid selector: {e}")))?;
    let Some(selector) = selector else {
        return Err(ReconcileError::Invalid("Job has no selector".into()));
    };
    let owner = job_controller_ref(job)
        .ok_or_else(|| ReconcileError::Invalid("Job has no name or uid".into()))?;
    let mut owned = Vec::new();
    let mut fresh_checked: Option<bool> = None;
    for pod in ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()))
    {
        match claim_decision(&job.metadata, &selector, &pod.metadata) {
            ClaimDecision::Owned => owned.push(pod),
            ClaimDecision::Adopt => {
                // As upstream: make sure the Job is not being deleted first.
                let may_adopt = match fresh_checked {
                    Some(ok) => ok,
                    None => {
                        let jobs: Api<Job> = Api::namespaced(ctx.shared.client.clone(), &namespace);
                        let name = job.metadata.name.as_deref().unwrap_or_default();
                        let ok = jobs.get_opt(name).await?.is_some_and(|fresh| {
                            fresh.metadata.uid == job.metadata.uid
                                && fresh.metadata.deletion_timestamp.is_none()
                        });
                        fresh_checked = Some(ok);
                        ok
                    }
                };
                if !may_adopt {
                    continue;
                }
                let mut refs: Vec<_> = pod
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|r| r.uid != owner.uid)
                    .cloned()
                    .collect();
                refs.push(owner.clone());
                let mut finalizers = pod.metadata.finalizers.clone().unwrap_or_default();
                if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
                    finalizers.push(TRACKING_FINALIZER.to_owned());
                }
                let patch = json!({"metadata": {
                    "ownerReferences": refs,
                    "finalizers": finalizers,
                    "uid": pod.metadata.uid,
                    "resourceVersion": pod.metadata.resource_version,
                }});
                match api
                    .patch(
                        &name_of(&pod),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(adopted) => owned.push(Arc::new(adopted)),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            ClaimDecision::Release => {
                let refs: Vec<_> = pod
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|r| r.uid != owner.uid)
                    .cloned()
                    .collect();
                let finalizers: Vec<String> = pod
                    .metadata
                    .finalizers
                    .iter()
                    .flatten()
                    .filter(|f| *f != TRACKING_FINALIZER)
                    .cloned()
                    .collect();
                let patch = json!({"metadata": {
                    "ownerReferences": if refs.is_empty() { serde_json::Value::Null } else { json!(refs) },
                    "finalizers": if finalizers.is_empty() { serde_json::Value::Null } else { json!(finalizers) },
                    "uid": pod.metadata.uid,
                    "resourceVersion": pod.metadata.resource_version,
                }});
                match api
                    .patch(
                        &name_of(&pod),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            ClaimDecision::Ignore => {}
        }
    }
    Ok(owned)
}

/// Deletes `pods` (with a UID precondition); with `unfinalize`, removes
/// the tracking finalizer first so they are not counted. Returns the
/// deleted pods (404s included) and the first error.
async fn delete_pods(
    api: &Api<Pod>,
    recorder: &bosun_runtime::EventRecorder,
    job: &Job,
    pods: &[&Pod],
    unfinalize: bool,
) -> (Vec<Pod>, Option<kube::Error>) {
    let results = futures::future::join_all(pods.iter().map(|pod| {
        let api = api.clone();
        let pod = (*pod).clone();
        async move {
            if unfinalize && has_tracking_finalizer(&pod) {
                match remove_tracking_finalizer(&api, &pod).await {
                    Ok(true) => {}
                    Ok(false) => {
                        return (pod, Err(None));
                    }
                    Err(e) => return (pod, Err(Some(e))),
                }
            }
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: pod.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            let result = api.delete(&name_of(&pod), &params).await;
            (pod, result.map(|_| ()).map_err(Some))
        }
    }))
    .await;
    let mut deleted = Vec::new();
    let mut first_error = None;
    for (pod, result) in results {
        match result {
            Ok(()) => {
                recorder.publish(
                    job_ref(job),
                    EventType::Normal,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", name_of(&pod)),
                );
                deleted.push(pod);
            }
            Err(Some(e)) if is_not_found(&e) => deleted.push(pod),
            Err(error) => {
                let message = error
                    .as_ref()
                    .map_or_else(|| "the pod kept changing".to_owned(), ToString::to_string);
                recorder.publish(
                    job_ref(job),
                    EventType::Warning,
                    "FailedDelete",
                    format!("Error deleting: {message}"),
                );
                if first_error.is_none() {
                    first_error = error;
                }
            }
        }
    }
    (deleted, first_error)
}

/// Creates pods in slow-start batches (1, 2, 4, ...); a failing batch
/// stops the rest. Returns the created pod names and the first error.
async fn create_pods(
    api: &Api<Pod>,
    recorder: &bosun_runtime::EventRecorder,
    job: &Job,
    new_pods: &[NewPod],
) -> (Vec<String>, Option<String>) {
    let mut created = Vec::new();
    let mut error = None;
    let mut rest = new_pods;
    let mut batch = 1usize;
    let post = PostParams::default();
    while !rest.is_empty() {
        let (now, later) = rest.split_at(batch.min(rest.len()));
        rest = later;
        let results = futures::future::join_all(now.iter().map(|new| {
            let pod = pod_for_job(job, new.index, new.failure_counts);
            let api = api.clone();
            let post = post.clone();
            async move {
                match pod {
                    Some(pod) => api.create(&post, &pod).await.map_err(|e| {
                        let terminating = matches!(&e, kube::Error::Api(s) if s.code == 403 && s.message.contains("terminat"));
                        (e.to_string(), terminating)
                    }),
                    None => Err(("the Job has no name or uid".to_owned(), false)),
                }
            }
        }))
        .await;
        let mut failed = false;
        for result in results {
            match result {
                Ok(pod) => {
                    let name = name_of(&pod);
                    recorder.publish(
                        job_ref(job),
                        EventType::Normal,
                        "SuccessfulCreate",
                        format!("Created pod: {name}"),
                    );
                    created.push(name);
                }
                // A terminating namespace refuses creates: nothing to report.
                Err((_, true)) => {
                    failed = true;
                }
                Err((message, false)) => {
                    recorder.publish(
                        job_ref(job),
                        EventType::Warning,
                        "FailedCreate",
                        format!("Error creating: {message}"),
                    );
                    error.get_or_insert(message);
                    failed = true;
                }
            }
        }
        if failed {
            break;
        }
        batch *= 2;
    }
    (created, error)
}

/// Writes `desired` as the Job's status (a merge patch guarded by the
/// `resourceVersion` of `base`); returns the Job as written.
async fn write_status(api: &Api<Job>, base: &Job, desired: &JobStatus) -> Result<Job, kube::Error> {
    let Some(patch) = status_patch(
        base.metadata.resource_version.as_deref(),
        base.status.as_ref(),
        desired,
    ) else {
        return Ok(base.clone());
    };
    api.patch_status(
        base.metadata.name.as_deref().unwrap_or_default(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
}

impl Ctx {
    /// The Job's pending finalizer removals, minus those the cache shows.
    fn expected_removals(&self, key: &str) -> HashSet<String> {
        let mut map = self.expected_rm.lock().unwrap_or_else(|e| e.into_inner());
        let Some(set) = map.get_mut(key) else {
            return HashSet::new();
        };
        let pods = self.pods.state();
        set.retain(|uid| {
            pods.iter().any(|p| {
                p.metadata.uid.as_deref() == Some(uid.as_str()) && has_tracking_finalizer(p)
            })
        });
        let out = set.clone();
        if set.is_empty() {
            map.remove(key);
        }
        out
    }

    fn expect_removals(&self, key: &str, uids: impl IntoIterator<Item = String>) {
        let mut map = self.expected_rm.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_owned()).or_default().extend(uids);
    }

    fn forget(&self, key: &str) {
        self.backoff
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        self.expected_rm
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    fn pod_cached(&self, namespace: &str, name: &str) -> Option<Arc<Pod>> {
        self.pods.get(&ObjectRef::new(name).within(namespace))
    }
}

async fn sync(job: &Job, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let key = key_of(&job.metadata);
    let namespace = job.metadata.namespace.clone().unwrap_or_default();
    let recorder = ctx.shared.recorder.with_component(COMPONENT);
    let pods_api: Api<Pod> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let jobs_api: Api<Job> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let spec = job.spec.clone().unwrap_or_default();
    if spec
        .managed_by
        .as_deref()
        .is_some_and(|m| m != JOB_CONTROLLER_MANAGER)
    {
        return Ok(Action::await_change());
    }
    if is_job_finished(job) {
        ctx.forget(&key);
        // Backup: no pod of a finished Job keeps the finalizer.
        let uid = job.metadata.uid.clone();
        let leftovers: Vec<Arc<Pod>> = ctx
            .pods
            .state()
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()))
            .filter(|p| controller_of(&p.metadata).is_some_and(|o| Some(&o.uid) == uid.as_ref()))
            .filter(|p| has_tracking_finalizer(p))
            .collect();
        for pod in leftovers {
            remove_tracking_finalizer(&pods_api, &pod).await?;
        }
        return Ok(Action::await_change());
    }
    if let Some(mode) = spec.completion_mode.as_deref()
        && mode != "NonIndexed"
        && mode != "Indexed"
    {
        recorder.publish(
            job_ref(job),
            EventType::Warning,
            "UnknownCompletionMode",
            "Skipped Job sync because completion mode is unknown".into(),
        );
        return Ok(Action::await_change());
    }

    let owned = claim_pods(job, ctx, &pods_api).await?;
    let expected_rm = ctx.expected_removals(&key);
    let backoff = ctx
        .backoff
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .copied()
        .unwrap_or_default();
    let now = ctx.shared.clock.now();
    let pod_refs: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
    let mut state = JobSync::new(job, pod_refs, expected_rm, &backoff, now);
    tracing::debug!(job = %key, pods = owned.len(), active = state.active, succeeded = state.succeeded, failed = state.failed, finishing = ?state.finished.as_ref().map(|c| &c.type_), "syncing job");

    let mut manage_error: Option<String> = None;
    let mut created: Vec<String> = Vec::new();
    let mut deleted: Vec<Pod> = Vec::new();
    if let Some(victims) = state.pods_to_terminate() {
        let (gone, error) = delete_pods(&pods_api, &recorder, job, &victims, false).await;
        let ready = gone.iter().filter(|p| is_ready(p)).count();
        state.record_terminated(
            i32::try_from(gone.len()).unwrap_or(0),
            i32::try_from(ready).unwrap_or(0),
            error.is_none(),
        );
        manage_error = error.map(|e| e.to_string());
        deleted = gone;
    } else {
        let managed = job.metadata.deletion_timestamp.is_none();
        if managed {
            let plan = state.manage_plan(ctx.backoff_base, DEFAULT_MAX.max(ctx.backoff_base));
            tracing::debug!(job = %key, ?plan, "managing pods");
            match plan {
                ManagePlan::Nothing => {}
                ManagePlan::Backoff(wait) => state.record_backoff(wait),
                ManagePlan::Remove(victims) => {
                    let (gone, error) =
                        delete_pods(&pods_api, &recorder, job, &victims, true).await;
                    let ready = gone.iter().filter(|p| is_ready(p)).count();
                    state.record_removed(
                        i32::try_from(gone.len()).unwrap_or(0),
                        i32::try_from(ready).unwrap_or(0),
                    );
                    manage_error = error.map(|e| e.to_string());
                    deleted = gone;
                }
                ManagePlan::Create(new_pods) => {
                    let (names, error) = create_pods(&pods_api, &recorder, job, &new_pods).await;
                    state.record_created(i32::try_from(names.len()).unwrap_or(0));
                    manage_error = error;
                    created = names;
                }
            }
        }
        state.settle(managed);
    }

    // Expectations: the next sync must see this one's pod changes.
    await_cache("job pods", || {
        created
            .iter()
            .all(|n| ctx.pod_cached(&namespace, n).is_some())
            && deleted.iter().all(|p| {
                ctx.pod_cached(&namespace, &name_of(p)).is_none_or(|c| {
                    c.metadata.uid != p.metadata.uid || c.metadata.deletion_timestamp.is_some()
                })
            })
    })
    .await;

    let to_unfinalize = state.track();
    let mut base = job.clone();
    if state.needs_flush() {
        base = write_status(
            &jobs_api,
            &base,
            state.job.status.as_ref().unwrap_or(&JobStatus::default()),
        )
        .await?;
        state.flushed();
    }
    ctx.backoff
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.clone(), state.backoff);

    let results = futures::future::join_all(
        to_unfinalize
            .iter()
            .map(|pod| async { (uid_of(pod), remove_tracking_finalizer(&pods_api, pod).await) }),
    )
    .await;
    let mut removed = Vec::new();
    let mut remove_error: Option<ReconcileError> = None;
    for (uid, result) in results {
        match result {
            Ok(true) => removed.push(uid),
            Ok(false) => {
                remove_error.get_or_insert(ReconcileError::Waiting(
                    "a pod's finalizers kept changing".into(),
                ));
            }
            Err(e) => {
                remove_error.get_or_insert(e.into());
            }
        }
    }
    ctx.expect_removals(&key, removed.iter().cloned());
    state.finalizers_removed(removed.iter().map(String::as_str));
    state.clean_uncounted();
    if let Some(error) = remove_error {
        if state.needs_flush() {
            write_status(
                &jobs_api,
                &base,
                state.job.status.as_ref().unwrap_or(&JobStatus::default()),
            )
            .await?;
        }
        return Err(error);
    }
    let finished = state.enact_finished();
    if state.needs_flush() {
        base = write_status(
            &jobs_api,
            &base,
            state.job.status.as_ref().unwrap_or(&JobStatus::default()),
        )
        .await?;
        state.flushed();
    }
    publish(&recorder, job, &state.events);
    if finished {
        ctx.forget(&key);
    }

    let written = base.metadata.resource_version.clone();
    let job_key = ObjectRef::from_obj(job);
    await_cache("job status", || {
        ctx.jobs.get(&job_key).is_none_or(|cached| {
            cached.metadata.uid != job.metadata.uid
                || cache_caught_up(
                    cached.metadata.resource_version.as_deref(),
                    written.as_deref(),
                )
        })
    })
    .await;
    let removed: HashSet<String> = removed.into_iter().collect();
    let unfinalized: Vec<(String, String)> = to_unfinalize
        .iter()
        .filter(|p| removed.contains(&uid_of(p)))
        .map(|p| (name_of(p), uid_of(p)))
        .collect();
    if !unfinalized.is_empty() {
        let shown = await_cache("job pod finalizers", || {
            unfinalized.iter().all(|(name, uid)| {
                ctx.pod_cached(&namespace, name).is_none_or(|p| {
                    p.metadata.uid.as_deref() != Some(uid.as_str()) || !has_tracking_finalizer(&p)
                })
            })
        })
        .await;
        if shown {
            ctx.expected_removals(&key);
        }
    }
    if let Some(error) = manage_error {
        return Err(ReconcileError::Waiting(error));
    }
    Ok(match state.requeue_after {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    })
}

/// Whether `pod` carries the tracking finalizer without a live Job to
/// remove it: no controller, or a controlling Job that is gone.
fn is_orphaned(jobs: &Store<Job>, pod: &Pod) -> bool {
    if !has_tracking_finalizer(pod) {
        return false;
    }
    let Some(owner) = controller_of(&pod.metadata) else {
        return true;
    };
    if !is_job_ref(owner) {
        return false;
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    match jobs.get(&ObjectRef::new(&owner.name).within(&namespace)) {
        Some(job) => job.metadata.uid.as_deref() != Some(owner.uid.as_str()),
        None => true,
    }
}

/// Removes the tracking finalizer from orphaned pods, at start and on
/// every pod change, until `stop` (the caches are ready).
async fn clean_orphans(
    ctx: Arc<Ctx>,
    events: impl futures::Stream<Item = Arc<Pod>> + Send,
    stop: Stop,
) {
    let existing = futures::stream::iter(ctx.pods.state());
    existing
        .chain(events)
        .take_until(stop.wait())
        .for_each_concurrent(16, |pod| {
            let ctx = ctx.clone();
            async move {
                let Some(current) = ctx.pods.get(&ObjectRef::from_obj(pod.as_ref())) else {
                    return;
                };
                if !is_orphaned(&ctx.jobs, &current) {
                    return;
                }
                let api: Api<Pod> = Api::namespaced(
                    ctx.shared.client.clone(),
                    current.metadata.namespace.as_deref().unwrap_or_default(),
                );
                if let Err(error) = remove_tracking_finalizer(&api, &current).await {
                    tracing::debug!(%error, pod = %key_of(&current.metadata), "removing an orphan's tracking finalizer failed");
                }
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::test_support::pod;

    #[test]
    fn cache_catches_up_by_revision() {
        assert!(cache_caught_up(Some("12"), Some("10")));
        assert!(!cache_caught_up(Some("9"), Some("10")));
        assert!(cache_caught_up(Some("x"), Some("x")));
        assert!(!cache_caught_up(None, Some("1")));
        assert!(cache_caught_up(None, None));
    }

    #[test]
    fn orphans_are_pods_with_the_finalizer_and_no_live_job() {
        let (_writer_store, jobs) = {
            let (reader, writer) = kube::runtime::reflector::store::<Job>();
            (writer, reader)
        };
        let orphan = pod("a", "Succeeded");
        assert!(is_orphaned(&jobs, &orphan));
        let mut owned = pod("b", "Running");
        owned.metadata.owner_references =
            Some(vec![crate::workload::pod_template::controller_ref(
                "batch/v1", "Job", "gone", "uid-gone",
            )]);
        assert!(is_orphaned(&jobs, &owned));
        let mut other = pod("c", "Running");
        other.metadata.owner_references =
            Some(vec![crate::workload::pod_template::controller_ref(
                "apps/v1",
                "ReplicaSet",
                "rs",
                "uid-rs",
            )]);
        assert!(!is_orphaned(&jobs, &other));
        let mut plain = pod("d", "Running");
        plain.metadata.finalizers = None;
        assert!(!is_orphaned(&jobs, &plain));
    }
}
