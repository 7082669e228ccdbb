//! The CronJob controller: creates a Job for each scheduled time (only the
//! most recent missed time runs), honours `timeZone`, `suspend`,
//! `startingDeadlineSeconds` and `concurrencyPolicy`, keeps
//! `status.active`, `lastScheduleTime` and `lastSuccessfulTime`, trims
//! finished Jobs to the history limits, and requeues itself for the next
//! scheduled time.
//!
//! Jobs are named `<cronjob>-<scheduled minute since epoch>`, so a
//! scheduled time can never start two Jobs, even across restarts. Time
//! comes from the injectable [`Clock`](crate::clock::Clock).

use crate::batch::cron::Schedule;
use crate::batch::cronjob::{
    Missed, is_job_succeeded, job_for, job_name, jobs_beyond_history, most_recent_schedule_time,
    next_schedule_delay,
};
use crate::batch::{Event, finished_condition, is_job_finished, status_patch};
use crate::context::{ReconcileError, Retries, Shared, Stop, is_not_found, key_of};
use crate::controllers::job::{await_cache, cache_caught_up};
use crate::informer::Informer;
use crate::workload::ownership::controller_of;
use crate::workqueue::object_key;
use futures::StreamExt;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use std::sync::Arc;

/// The controller's name (`--controllers`, metrics).
pub const NAME: &str = "cronjob";
/// `source.component` of its events.
pub const COMPONENT: &str = "cronjob-controller";

struct Ctx {
    shared: Shared,
    jobs: Store<Job>,
    cronjobs: Store<CronJob>,
    retries: Retries,
}

/// Runs the controller until `stop`.
pub async fn run(shared: Shared, stop: Stop, jobs: Arc<Informer<Job>>) {
    let job_events = jobs.subscribe();
    let stopped = stop.wait();
    tokio::select! {
        () = jobs.ready() => {}
        () = stopped => return,
    }
    let queue = shared.metrics.queue(NAME);
    let controller = queue.controller(
        Api::<CronJob>::all(shared.client.clone()),
        watcher::Config::default(),
    );
    let ctx = Arc::new(Ctx {
        jobs: jobs.store(),
        cronjobs: controller.store(),
        shared,
        retries: Retries::default(),
    });
    let triggers =
        queue.triggers(job_events.flat_map(|job| futures::stream::iter(cronjob_of(&job))));
    controller
        .reconcile_on(triggers)
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

fn cronjob_of(job: &Job) -> Option<ObjectRef<CronJob>> {
    let owner = controller_of(&job.metadata)?;
    (owner.kind == "CronJob" && owner.api_version == "batch/v1").then(|| {
        ObjectRef::new(&owner.name).within(job.metadata.namespace.as_deref().unwrap_or_default())
    })
}

async fn reconcile(cj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    ctx.shared
        .metrics
        .measure(NAME, &object_key(cj.as_ref()), async {
            let action = sync(&cj, &ctx).await?;
            ctx.retries.succeeded(&key_of(&cj.metadata));
            Ok(action)
        })
        .await
}

fn error_policy(cj: Arc<CronJob>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.shared.metrics.retry(NAME);
    tracing::debug!(%error, cronjob = %key_of(&cj.metadata), "sync failed; retrying");
    Action::requeue(ctx.retries.failed(&key_of(&cj.metadata)))
}

fn cj_ref(cj: &CronJob) -> ObjectReference {
    bosun_runtime::object_ref("batch/v1", "CronJob", &cj.metadata)
}

/// The state one sync builds and writes back once.
struct Pass<'a> {
    ctx: &'a Ctx,
    /// The CronJob as last read from the server (status baseline).
    base: CronJob,
    status: CronJobStatus,
    events: Vec<Event>,
    created: Option<Job>,
}

impl Pass<'_> {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    fn remove_active(&mut self, uid: Option<&str>) {
        if let Some(active) = self.status.active.as_mut() {
            active.retain(|r| r.uid.as_deref() != uid);
            if active.is_empty() {
                self.status.active = None;
            }
        }
    }

    fn is_active(&self, uid: Option<&str>) -> bool {
        self.status
            .active
            .iter()
            .flatten()
            .any(|r| r.uid.as_deref() == uid)
    }

    /// Writes the status if it changed, publishes the events, waits for
    /// the caches to show this sync's writes.
    async fn finish(self, action: Action) -> Result<Action, ReconcileError> {
        let ctx = self.ctx;
        let recorder = ctx.shared.recorder.with_component(COMPONENT);
        let namespace = self.base.metadata.namespace.clone().unwrap_or_default();
        let api: Api<CronJob> = Api::namespaced(ctx.shared.client.clone(), &namespace);
        let mut written = None;
        if let Some(patch) = status_patch(
            self.base.metadata.resource_version.as_deref(),
            self.base.status.as_ref(),
            &self.status,
        ) {
            match api
                .patch_status(
                    self.base.metadata.name.as_deref().unwrap_or_default(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(cj) => written = cj.metadata.resource_version,
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    for event in &self.events {
                        recorder.publish(
                            cj_ref(&self.base),
                            event.kind,
                            &event.reason,
                            event.message.clone(),
                        );
                    }
                    return Err(e.into());
                }
            }
        }
        for event in &self.events {
            recorder.publish(
                cj_ref(&self.base),
                event.kind,
                &event.reason,
                event.message.clone(),
            );
        }
        let key = ObjectRef::from_obj(&self.base);
        let uid = self.base.metadata.uid.clone();
        await_cache("cronjob status", || {
            ctx.cronjobs.get(&key).is_none_or(|c| {
                c.metadata.uid != uid
                    || cache_caught_up(c.metadata.resource_version.as_deref(), written.as_deref())
            })
        })
        .await;
        if let Some(job) = &self.created {
            let job_key = ObjectRef::from_obj(job);
            await_cache("cronjob jobs", || ctx.jobs.get(&job_key).is_some()).await;
        }
        Ok(action)
    }
}

/// Deletes a Job (background propagation) and drops it from the active
/// list; records the outcome. Whether it was deleted.
async fn delete_job(pass: &mut Pass<'_>, api: &Api<Job>, job: &Job) -> bool {
    let name = job.metadata.name.clone().unwrap_or_default();
    match api.delete(&name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            pass.event(Event::warning("FailedDelete", format!("Deleted job: {e}")));
            return false;
        }
    }
    pass.remove_active(job.metadata.uid.as_deref());
    pass.event(Event::normal(
        "SuccessfulDelete",
        format!("Deleted job {name}"),
    ));
    true
}

fn rfc1123z_utc(at: Timestamp) -> String {
    at.to_zoned(TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S %z")
        .to_string()
}

async fn sync(cj: &CronJob, ctx: &Ctx) -> Result<Action, ReconcileError> {
    let now = ctx.shared.clock.now();
    let namespace = cj.metadata.namespace.clone().unwrap_or_default();
    let cj_api: Api<CronJob> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let jobs_api: Api<Job> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let spec = cj.spec.clone().unwrap_or_default();
    let mut pass = Pass {
        ctx,
        base: cj.clone(),
        status: cj.status.clone().unwrap_or_default(),
        events: Vec::new(),
        created: None,
    };
    let children: Vec<Arc<Job>> = ctx
        .jobs
        .state()
        .into_iter()
        .filter(|j| j.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .filter(|j| {
            controller_of(&j.metadata).is_some_and(|o| Some(&o.uid) == cj.metadata.uid.as_ref())
        })
        .collect();

    // History: finished Jobs beyond the limits go, oldest first.
    let refs: Vec<&Job> = children.iter().map(|j| j.as_ref()).collect();
    let mut deleted: Vec<Option<String>> = Vec::new();
    for job in jobs_beyond_history(
        &refs,
        spec.successful_jobs_history_limit,
        spec.failed_jobs_history_limit,
    ) {
        if delete_job(&mut pass, &jobs_api, job).await {
            deleted.push(job.metadata.uid.clone());
        }
    }

    // The active list against the Jobs that exist.
    for job in children
        .iter()
        .filter(|j| !deleted.contains(&j.metadata.uid))
    {
        let uid = job.metadata.uid.as_deref();
        let name = job.metadata.name.clone().unwrap_or_default();
        let found = pass.is_active(uid);
        let finished = is_job_finished(job);
        if !found && !finished {
            // Our status may be stale: look at the CronJob itself.
            let fresh = cj_api
                .get(cj.metadata.name.as_deref().unwrap_or_default())
                .await?;
            let fresh_status = fresh.status.clone().unwrap_or_default();
            if fresh_status
                .active
                .iter()
                .flatten()
                .any(|r| r.uid.as_deref() == uid)
            {
                pass.status = fresh_status;
                pass.base = fresh;
                continue;
            }
            pass.event(Event::warning(
                "UnexpectedJob",
                format!("Saw a job that the controller did not create or forgot: {name}"),
            ));
        } else if found && finished {
            let kind = finished_condition(job)
                .map(|c| c.type_.clone())
                .unwrap_or_default();
            pass.remove_active(uid);
            pass.event(Event::normal(
                "SawCompletedJob",
                format!("Saw completed job: {name}, status: {kind}"),
            ));
        }
        if is_job_succeeded(job)
            && let Some(done) = job.status.as_ref().and_then(|s| s.completion_time.clone())
            && pass
                .status
                .last_successful_time
                .as_ref()
                .is_none_or(|t| t.0 < done.0)
        {
            pass.status.last_successful_time = Some(done);
        }
    }
    let known: Vec<Option<String>> = children.iter().map(|j| j.metadata.uid.clone()).collect();
    let missing: Vec<ObjectReference> = pass
        .status
        .active
        .iter()
        .flatten()
        .filter(|r| !known.contains(&r.uid))
        .cloned()
        .collect();
    for reference in missing {
        let name = reference.name.clone().unwrap_or_default();
        // The cache may lag: ask the API before declaring it missing.
        if jobs_api.get_opt(&name).await?.is_none() {
            pass.event(Event::normal(
                "MissingJob",
                format!("Active job went missing: {name}"),
            ));
            pass.remove_active(reference.uid.as_deref());
        }
    }

    if cj.metadata.deletion_timestamp.is_some() {
        return pass.finish(Action::await_change()).await;
    }
    let (zone, annotation_zone) = match spec.time_zone.as_deref() {
        Some(name) => match TimeZone::get(name) {
            Ok(zone) => (zone.clone(), zone),
            Err(error) => {
                pass.event(Event::warning(
                    "UnknownTimeZone",
                    format!("invalid timeZone: {name:?}: {error}"),
                ));
                return pass.finish(Action::await_change()).await;
            }
        },
        None => (TimeZone::system(), TimeZone::UTC),
    };
    if spec.suspend == Some(true) {
        return pass.finish(Action::await_change()).await;
    }
    if spec.schedule.contains("TZ") {
        pass.event(Event::warning(
            "UnsupportedSchedule",
            format!(
                "CRON_TZ or TZ used in schedule {:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
                spec.schedule
            ),
        ));
    }
    let schedule = match Schedule::parse(&spec.schedule) {
        Ok(s) => s,
        Err(error) => {
            pass.event(Event::warning(
                "UnparseableSchedule",
                format!("unparseable schedule: {:?} : {error}", spec.schedule),
            ));
            return pass.finish(Action::await_change()).await;
        }
    };
    let created_at = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let requeue = |last: Option<Timestamp>| match next_schedule_delay(
        created_at, last, now, &schedule, &zone,
    ) {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    };
    let last = pass.status.last_schedule_time.as_ref().map(|t| t.0);
    let times = match most_recent_schedule_time(
        created_at,
        last,
        spec.starting_deadline_seconds,
        now,
        &schedule,
        &zone,
        true,
    ) {
        Ok(times) => times,
        Err(error) => {
            pass.event(Event::warning(
                "InvalidSchedule",
                format!("invalid schedule: {} : {error}", spec.schedule),
            ));
            return pass.finish(Action::await_change()).await;
        }
    };
    let Some(scheduled) = times.most_recent.filter(|t| *t <= now) else {
        return pass.finish(requeue(last)).await;
    };
    if times.missed == Missed::Many {
        pass.event(Event::warning(
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
        ));
    }
    if let Some(deadline) = spec.starting_deadline_seconds
        && scheduled
            .checked_add(jiff::SignedDuration::from_secs(deadline))
            .is_ok_and(|latest| latest < now)
    {
        pass.event(Event::warning(
            "MissSchedule",
            format!(
                "Missed scheduled time to start a job: {}",
                rfc1123z_utc(scheduled)
            ),
        ));
        return pass.finish(requeue(last)).await;
    }
    let name = job_name(cj.metadata.name.as_deref().unwrap_or_default(), scheduled);
    let already = pass
        .status
        .active
        .iter()
        .flatten()
        .any(|r| r.name.as_deref() == Some(name.as_str()))
        || last == Some(scheduled);
    if already {
        return pass.finish(requeue(last)).await;
    }
    let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
    if policy == "Forbid" && pass.status.active.as_ref().is_some_and(|a| !a.is_empty()) {
        pass.event(Event::normal(
            "JobAlreadyActive",
            "Not starting job because prior execution is running and concurrency policy is Forbid",
        ));
        return pass.finish(requeue(last)).await;
    }
    if policy == "Replace" {
        for reference in pass.status.active.clone().unwrap_or_default() {
            let job_name = reference.name.clone().unwrap_or_default();
            let job = match jobs_api.get(&job_name).await {
                Ok(job) => job,
                Err(e) => {
                    pass.event(Event::warning("FailedGet", format!("Get job: {e}")));
                    let message = e.to_string();
                    let _ = pass.finish(Action::await_change()).await;
                    return Err(ReconcileError::Waiting(message));
                }
            };
            if !delete_job(&mut pass, &jobs_api, &job).await {
                let _ = pass.finish(Action::await_change()).await;
                return Err(ReconcileError::Waiting(format!(
                    "could not replace job {namespace}/{job_name}"
                )));
            }
        }
    }
    let Some(template) = job_for(cj, scheduled, &annotation_zone) else {
        return Err(ReconcileError::Invalid("CronJob has no name or uid".into()));
    };
    let job = match jobs_api.create(&PostParams::default(), &template).await {
        Ok(job) => {
            pass.event(Event::normal(
                "SuccessfulCreate",
                format!("Created job {name}"),
            ));
            job
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            // Created before (and the status update lost), or by someone else.
            let existing = jobs_api.get(&name).await?;
            let ours = controller_of(&existing.metadata)
                .is_some_and(|o| Some(&o.uid) == cj.metadata.uid.as_ref());
            if !ours || pass.is_active(existing.metadata.uid.as_deref()) {
                return pass.finish(requeue(last)).await;
            }
            existing
        }
        Err(kube::Error::Api(s)) if s.code == 403 && s.message.contains("terminat") => {
            let message = s.message.clone();
            let _ = pass.finish(Action::await_change()).await;
            return Err(ReconcileError::Waiting(message));
        }
        Err(e) => {
            pass.event(Event::warning(
                "FailedCreate",
                format!("Error creating job: {e}"),
            ));
            let _ = pass.finish(Action::await_change()).await;
            return Err(e.into());
        }
    };
    pass.status
        .active
        .get_or_insert_with(Vec::new)
        .push(bosun_runtime::object_ref("batch/v1", "Job", &job.metadata));
    pass.status.last_schedule_time = Some(Time(scheduled));
    pass.created = Some(job);
    pass.finish(requeue(Some(scheduled))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_times_print_as_rfc1123z_in_utc() {
        let at: Timestamp = "2024-01-01T10:01:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(rfc1123z_utc(at), "Mon, 01 Jan 2024 10:01:00 +0000");
    }

    #[test]
    fn jobs_map_to_their_controlling_cronjob() {
        let mut job = Job::default();
        job.metadata.namespace = Some("ops".into());
        assert!(cronjob_of(&job).is_none());
        job.metadata.owner_references = Some(vec![crate::workload::pod_template::controller_ref(
            "batch/v1", "CronJob", "nightly", "u",
        )]);
        let r = cronjob_of(&job).expect("ref");
        assert_eq!(
            (r.name.as_str(), r.namespace.as_deref()),
            ("nightly", Some("ops"))
        );
    }
}
