//! One sync of a Job, as pure steps the controller runs in order with its
//! API calls in between:
//!
//! 1. [`JobSync::new`] reads the Job and its pods: active, ready and
//!    terminating pods, newly finished pods, the counters they will make,
//!    and whether the Job has met a terminal criterion (backoff limit,
//!    deadline, pod failure policy, failed indexes, success policy) — the
//!    *interim* `FailureTarget` / `SuccessCriteriaMet` condition.
//! 2. If so, [`JobSync::pods_to_terminate`] lists the active pods to delete
//!    (keeping their tracking finalizers, so they are counted as failed);
//!    otherwise [`JobSync::manage_plan`] says which pods to create or delete
//!    (suspension, excess, duplicate indexes) or how long to back off, and
//!    [`JobSync::settle`] decides completion and the `Suspended` condition.
//! 3. [`JobSync::track`] is upstream's two-step tracking: finished pods
//!    still carrying the tracking finalizer are added to
//!    `status.uncountedTerminatedPods` (Indexed Jobs: their index to
//!    `completedIndexes`) and that status is written *before* the
//!    finalizers are removed; once removed, [`JobSync::clean_uncounted`]
//!    moves them to `succeeded` / `failed`. A restart between the steps
//!    loses nothing and counts nothing twice.
//! 4. [`JobSync::enact_finished`] adds the terminal `Complete` / `Failed`
//!    condition once nothing is left uncounted and no pod is terminating.

use super::backoff::BackoffRecord;
use super::indexes::Indexes;
use super::job_pods::{
    IndexFailureCounts, completion_index, finished_at, has_backoff_limit_per_index,
    has_tracking_finalizer, index_failure_count, index_ignored_failure_count, is_active, is_failed,
    is_indexed, is_ready, is_succeeded, is_suspended, is_terminating, only_replace_failed_pods,
    valid_index,
};
use super::policy::{FailureAction, match_optional};
use super::{Event, condition, has_true_condition, job_condition, reason};
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// Most pods created or deleted in one sync.
pub const MAX_POD_CHANGES_PER_SYNC: usize = 500;
/// Most UIDs (and new indexes) added to the uncounted lists per sync.
pub const MAX_UNCOUNTED_PODS: usize = 500;

/// A pod to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPod {
    /// Its completion index (Indexed Jobs).
    pub index: Option<i32>,
    /// Failure counts carried over from the pod it replaces
    /// (`backoffLimitPerIndex`).
    pub failure_counts: Option<IndexFailureCounts>,
}

/// What to do about the Job's pods while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ManagePlan<'a> {
    /// Nothing.
    Nothing,
    /// Delete these pods, removing their tracking finalizer first so they
    /// are not counted (suspension, too many pods, duplicate indexes).
    Remove(Vec<&'a Pod>),
    /// Create these pods.
    Create(Vec<NewPod>),
    /// Wait this long before replacing failed pods.
    Backoff(Duration),
}

fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> JobCondition {
    JobCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Sets the condition of `type_` (replacing it when status, reason or
/// message differ; adding it unless it would be a new `False`). Returns
/// whether the list changed.
pub fn ensure_condition(
    conditions: &mut Vec<JobCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    if let Some(existing) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if existing.status != status
            || existing.reason.as_deref() != Some(reason)
            || existing.message.as_deref() != Some(message)
        {
            *existing = new_condition(type_, status, reason, message, now);
            return true;
        }
        return false;
    }
    if status == "False" {
        return false;
    }
    conditions.push(new_condition(type_, status, reason, message, now));
    true
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or_default()
}

fn is_success_criteria(c: &JobCondition) -> bool {
    c.type_ == condition::SUCCESS_CRITERIA_MET && c.status == "True"
}

/// The UIDs in the Job's uncounted lists as read.
#[derive(Debug, Clone, Default)]
struct Uncounted {
    succeeded: HashSet<String>,
    failed: HashSet<String>,
}

/// The state of one Job sync (see the module documentation).
#[derive(Debug, Clone)]
pub struct JobSync<'a> {
    /// The Job with the status this sync builds.
    pub job: Job,
    original: JobStatus,
    pods: Vec<&'a Pod>,
    active_pods: Vec<&'a Pod>,
    /// Active pods after this sync's creations and deletions.
    pub active: i32,
    /// Ready active pods.
    pub ready: i32,
    /// Pods being deleted that have not finished.
    pub terminating: i32,
    uncounted: Uncounted,
    expected_rm: HashSet<String>,
    /// Succeeded pods, counted or about to be.
    pub succeeded: i32,
    /// Failed pods (not ignored by the policy), counted or about to be.
    pub failed: i32,
    prev_succeeded_indexes: Indexes,
    /// Succeeded indexes (Indexed Jobs).
    pub succeeded_indexes: Indexes,
    /// Failed indexes (`backoffLimitPerIndex`).
    pub failed_indexes: Option<Indexes>,
    delayed_per_index: BTreeMap<i32, &'a Pod>,
    /// The condition the Job is finishing with, if any.
    pub finished: Option<JobCondition>,
    /// The backoff record after this sync's newly finished pods (stored
    /// by the controller once the first status write succeeded).
    pub backoff: BackoffRecord,
    now: Timestamp,
    /// When to sync again at the latest (deadline, backoff).
    pub requeue_after: Option<Duration>,
    /// Events to record.
    pub events: Vec<Event>,
    suspend_changed: bool,
    needs_flush: bool,
    with_finalizer: HashSet<String>,
    reached_max_uncounted: bool,
}

impl<'a> JobSync<'a> {
    /// Reads the Job and its (claimed) pods at `now`. `expected_rm` are
    /// pods whose finalizer removal was sent but not yet seen in the cache.
    pub fn new(
        job: &Job,
        pods: Vec<&'a Pod>,
        expected_rm: HashSet<String>,
        backoff: &BackoffRecord,
        now: Timestamp,
    ) -> Self {
        let mut working = job.clone();
        let original = job.status.clone().unwrap_or_default();
        let status = working.status.get_or_insert_with(JobStatus::default);
        let uncounted_status = status
            .uncounted_terminated_pods
            .get_or_insert_with(UncountedTerminatedPods::default);
        let uncounted = Uncounted {
            succeeded: uncounted_status
                .succeeded
                .iter()
                .flatten()
                .cloned()
                .collect(),
            failed: uncounted_status.failed.iter().flatten().cloned().collect(),
        };
        let active_pods: Vec<&Pod> = pods.iter().copied().filter(|p| is_active(p)).collect();
        let ready = count(active_pods.iter().filter(|p| is_ready(p)).count());
        let terminating = count(pods.iter().filter(|p| is_terminating(p)).count());
        let mut sync = Self {
            job: working,
            original,
            active: count(active_pods.len()),
            active_pods,
            pods,
            ready,
            terminating,
            uncounted,
            expected_rm,
            succeeded: 0,
            failed: 0,
            prev_succeeded_indexes: Indexes::new(),
            succeeded_indexes: Indexes::new(),
            failed_indexes: None,
            delayed_per_index: BTreeMap::new(),
            finished: None,
            backoff: *backoff,
            now,
            requeue_after: None,
            events: Vec::new(),
            suspend_changed: false,
            needs_flush: false,
            with_finalizer: HashSet::new(),
            reached_max_uncounted: false,
        };
        sync.count_pods();
        sync.decide_finish();
        sync
    }

    fn status(&self) -> &JobStatus {
        self.job.status.as_ref().unwrap_or(&self.original)
    }

    fn status_mut(&mut self) -> &mut JobStatus {
        self.job.status.get_or_insert_with(JobStatus::default)
    }

    fn spec(&self) -> std::borrow::Cow<'_, k8s_openapi::api::batch::v1::JobSpec> {
        super::job_pods::spec(&self.job)
    }

    fn completions(&self) -> Option<i32> {
        self.job.spec.as_ref().and_then(|s| s.completions)
    }

    /// Pods with the finalizer, not yet uncounted, not being un-finalized,
    /// with a valid index (Indexed Jobs), that pass `filter`.
    fn new_finished(
        &self,
        uncounted: &HashSet<String>,
        filter: impl Fn(&Pod) -> bool,
    ) -> Vec<&'a Pod> {
        let indexed = is_indexed(&self.job);
        self.pods
            .iter()
            .copied()
            .filter(|p| has_tracking_finalizer(p))
            .filter(|p| !uncounted.contains(uid(p)) && !self.expected_rm.contains(uid(p)))
            .filter(|p| !indexed || valid_index(p, &self.job).is_some())
            .filter(|p| filter(p))
            .collect()
    }

    fn count_pods(&mut self) {
        let new_succeeded = self.new_finished(&self.uncounted.succeeded, is_succeeded);
        let job = &self.job;
        let new_failed = self.new_finished(&self.uncounted.failed, |p| is_failed(p, job));
        let policy = self.spec().pod_failure_policy.clone();
        let counted_failures = new_failed
            .iter()
            .filter(|p| match_optional(policy.as_ref(), p).counts)
            .count();
        let (succeeded, failed) = {
            let status = self.status();
            (status.succeeded.unwrap_or(0), status.failed.unwrap_or(0))
        };
        self.succeeded =
            succeeded + count(new_succeeded.len()) + count(self.uncounted.succeeded.len());
        self.failed = failed + count(counted_failures) + count(self.uncounted.failed.len());
        self.backoff = self.backoff.updated(&new_succeeded, &new_failed);
        if self.status().start_time.is_none() && !is_suspended(&self.job) {
            let now = self.now;
            self.status_mut().start_time = Some(Time(now));
        }
    }

    fn failure_target(&self, reason: &str, message: &str) -> JobCondition {
        new_condition(condition::FAILURE_TARGET, "True", reason, message, self.now)
    }

    fn past_backoff_limit_on_failure(&self) -> bool {
        let spec = self.spec();
        if spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            != Some("OnFailure")
        {
            return false;
        }
        let restarts: i32 = self
            .pods
            .iter()
            .filter(|p| matches!(super::job_pods::phase(p), "Running" | "Pending"))
            .filter_map(|p| p.status.as_ref())
            .flat_map(|s| {
                s.init_container_statuses
                    .iter()
                    .flatten()
                    .chain(s.container_statuses.iter().flatten())
            })
            .map(|c| c.restart_count)
            .sum();
        let limit = spec.backoff_limit.unwrap_or(6);
        if limit == 0 {
            restarts > 0
        } else {
            restarts >= limit
        }
    }

    fn past_active_deadline(&self) -> Option<(bool, Duration)> {
        let deadline = self.spec().active_deadline_seconds?;
        let start = self.status().start_time.as_ref()?.0;
        if is_suspended(&self.job) {
            return None;
        }
        let allowed = Duration::from_secs(u64::try_from(deadline).unwrap_or(0));
        let elapsed = super::cron::until(start, self.now);
        Some((elapsed >= allowed, allowed.saturating_sub(elapsed)))
    }

    fn decide_finish(&mut self) {
        let job = &self.job;
        let policy = self.spec().pod_failure_policy.clone();
        if let Some(met) =
            job_condition(job, condition::SUCCESS_CRITERIA_MET).filter(|c| c.status == "True")
        {
            self.finished = Some(met.clone());
        } else if let Some(target) =
            job_condition(job, condition::FAILURE_TARGET).filter(|c| c.status == "True")
        {
            self.finished = Some(new_condition(
                condition::FAILED,
                "True",
                target.reason.as_deref().unwrap_or_default(),
                target.message.as_deref().unwrap_or_default(),
                self.now,
            ));
        } else if let Some(policy) = &policy
            && let Some(message) = self
                .pods
                .iter()
                .filter(|p| is_failed(p, job))
                .find_map(|p| super::policy::match_pod_failure_policy(policy, p).fail_job_message)
        {
            self.finished = Some(self.failure_target(reason::POD_FAILURE_POLICY, &message));
        }
        if self.finished.is_none() {
            let limit = self.spec().backoff_limit.unwrap_or(6);
            if self.failed > limit || self.past_backoff_limit_on_failure() {
                self.finished = Some(self.failure_target(
                    reason::BACKOFF_LIMIT_EXCEEDED,
                    reason::BACKOFF_LIMIT_EXCEEDED_MESSAGE,
                ));
            } else if let Some((past, remaining)) = self.past_active_deadline() {
                if past {
                    self.finished = Some(self.failure_target(
                        reason::DEADLINE_EXCEEDED,
                        reason::DEADLINE_EXCEEDED_MESSAGE,
                    ));
                } else {
                    self.requeue(remaining);
                }
            }
        }
        if is_indexed(&self.job) {
            self.index_state();
        }
    }

    fn index_state(&mut self) {
        let completions = self.completions().unwrap_or(0);
        let completed = self.status().completed_indexes.clone().unwrap_or_default();
        self.prev_succeeded_indexes = Indexes::parse(&completed, completions);
        let new_succeeded = self
            .pods
            .iter()
            .filter(|p| is_succeeded(p) && has_tracking_finalizer(p))
            .filter_map(|p| valid_index(p, &self.job));
        self.succeeded_indexes = self.prev_succeeded_indexes.with(new_succeeded);
        self.succeeded = self.succeeded_indexes.total();
        if has_backoff_limit_per_index(&self.job) {
            let failed = self.calculate_failed_indexes(completions);
            if self.finished.is_none() {
                let max = self.spec().max_failed_indexes;
                if max.is_some_and(|m| failed.total() > m) {
                    self.finished = Some(self.failure_target(
                        reason::MAX_FAILED_INDEXES_EXCEEDED,
                        reason::MAX_FAILED_INDEXES_EXCEEDED_MESSAGE,
                    ));
                } else if failed.total() > 0
                    && failed.total() + self.succeeded_indexes.total() >= completions
                {
                    self.finished = Some(
                        self.failure_target(reason::FAILED_INDEXES, reason::FAILED_INDEXES_MESSAGE),
                    );
                }
            }
            self.failed_indexes = Some(failed);
            self.delayed_per_index = self.delayed_deletion_per_index();
        }
        if self.finished.is_none() {
            let policy = self.spec().success_policy.clone();
            if let Some(message) = super::policy::match_success_policy(
                policy.as_ref(),
                completions,
                &self.succeeded_indexes,
            ) {
                self.finished = Some(new_condition(
                    condition::SUCCESS_CRITERIA_MET,
                    "True",
                    reason::SUCCESS_POLICY,
                    &message,
                    self.now,
                ));
            }
        }
    }

    /// Whether the failed pod makes its index fail (`backoffLimitPerIndex`).
    fn is_index_failed(&self, pod: &Pod) -> bool {
        if !is_failed(pod, &self.job) {
            return false;
        }
        let spec = self.spec();
        let matched = match_optional(spec.pod_failure_policy.as_ref(), pod);
        if matched.action == Some(FailureAction::FailIndex) {
            return true;
        }
        matched.counts && index_failure_count(pod) >= spec.backoff_limit_per_index.unwrap_or(0)
    }

    fn calculate_failed_indexes(&self, completions: i32) -> Indexes {
        let prev = Indexes::parse(
            self.status().failed_indexes.as_deref().unwrap_or(""),
            completions,
        );
        let new = self
            .pods
            .iter()
            .filter(|p| has_tracking_finalizer(p) && self.is_index_failed(p))
            .filter_map(|p| valid_index(p, &self.job));
        prev.with(new)
    }

    /// Per index without an active pod: the last failed pod, whose
    /// finalizer stays until its replacement exists (so the replacement
    /// can carry the index's failure count on).
    fn delayed_deletion_per_index(&self) -> BTreeMap<i32, &'a Pod> {
        let active: HashSet<i32> = self
            .active_pods
            .iter()
            .filter_map(|p| completion_index(p))
            .collect();
        let failed = self.failed_indexes.clone().unwrap_or_default();
        let mut out: BTreeMap<i32, &'a Pod> = BTreeMap::new();
        for pod in self.new_finished(&HashSet::new(), |p| is_failed(p, &self.job)) {
            let Some(index) = valid_index(pod, &self.job) else {
                continue;
            };
            if self.succeeded_indexes.contains(index)
                || failed.contains(index)
                || active.contains(&index)
            {
                continue;
            }
            let absolute = |p: &Pod| index_failure_count(p) + index_ignored_failure_count(p);
            match out.get(&index) {
                Some(prior)
                    if !(absolute(prior) <= absolute(pod)
                        && finished_at(pod) >= finished_at(prior)) => {}
                _ => {
                    out.insert(index, pod);
                }
            }
        }
        out
    }

    fn requeue(&mut self, after: Duration) {
        self.requeue_after = Some(self.requeue_after.map_or(after, |r| r.min(after)));
    }

    /// The active pods to delete because the Job is finishing (their
    /// finalizers stay: they are counted as failed), or `None` while the
    /// Job runs.
    pub fn pods_to_terminate(&self) -> Option<Vec<&'a Pod>> {
        self.finished.as_ref().map(|_| self.active_pods.clone())
    }

    /// Records the outcome of [`pods_to_terminate`](Self::pods_to_terminate):
    /// `deleted` pods (`deleted_ready` of them ready); `all_deleted` false
    /// when some deletions failed — the Job cannot finish this sync.
    pub fn record_terminated(&mut self, deleted: i32, deleted_ready: i32, all_deleted: bool) {
        self.active -= deleted;
        self.terminating += deleted;
        self.ready -= deleted_ready;
        if !all_deleted {
            self.finished = None;
        }
    }

    /// Failed pods indexes whose replacement must wait, and how long.
    fn index_backoff(&self, index: i32, base: Duration, max: Duration) -> Duration {
        let Some(last) = self.delayed_per_index.get(&index) else {
            return Duration::ZERO;
        };
        let failures = index_failure_count(last) + index_ignored_failure_count(last) + 1;
        super::backoff::remaining_for(failures, Some(finished_at(last)), self.now, base, max)
    }

    fn replacement_counts(&self, index: i32) -> IndexFailureCounts {
        let Some(last) = self.delayed_per_index.get(&index) else {
            return IndexFailureCounts::default();
        };
        let mut counts = IndexFailureCounts {
            failed: index_failure_count(last),
            ignored: index_ignored_failure_count(last),
        };
        if match_optional(self.spec().pod_failure_policy.as_ref(), last).counts {
            counts.failed += 1;
        } else {
            counts.ignored += 1;
        }
        counts
    }

    /// Active pods to delete: for Indexed Jobs every pod without a valid
    /// index and all but one pod per index; then, to reach `at_least`, the
    /// pods upstream deletes first (not ready, unscheduled, pending...).
    fn active_pods_for_removal(&self, at_least: usize) -> Vec<&'a Pod> {
        let mut remove: Vec<&'a Pod> = Vec::new();
        let mut left: Vec<&'a Pod> = Vec::new();
        if is_indexed(&self.job) {
            let mut by_index: BTreeMap<i32, Vec<&'a Pod>> = BTreeMap::new();
            for pod in &self.active_pods {
                match valid_index(pod, &self.job) {
                    Some(index) => by_index.entry(index).or_default().push(pod),
                    None => remove.push(pod),
                }
            }
            for group in by_index.into_values() {
                let mut ranked =
                    crate::workload::pod_ranking::rank_pods_for_deletion(&group, &group, self.now);
                if let Some(keep) = ranked.pop() {
                    left.push(keep);
                }
                remove.extend(ranked);
            }
        } else {
            left = self.active_pods.clone();
        }
        if remove.len() < at_least {
            let ranked =
                crate::workload::pod_ranking::rank_pods_for_deletion(&left, &left, self.now);
            remove.extend(ranked.into_iter().take(at_least - remove.len()));
        }
        remove
    }

    /// What to create or delete while the Job runs (call only when
    /// [`pods_to_terminate`](Self::pods_to_terminate) is `None` and the
    /// Job is not being deleted). `base`/`max` bound the pod backoff.
    pub fn manage_plan(&self, base: Duration, max: Duration) -> ManagePlan<'a> {
        let active = count(self.active_pods.len());
        if is_suspended(&self.job) {
            return if self.active_pods.is_empty() {
                ManagePlan::Nothing
            } else {
                ManagePlan::Remove(self.active_pods_for_removal(self.active_pods.len()))
            };
        }
        let parallelism = self.spec().parallelism.unwrap_or(1).max(0);
        let want = match self.completions() {
            None if self.succeeded > 0 => active,
            None => parallelism,
            Some(c) => (c - self.succeeded).min(parallelism).max(0),
        };
        let remove_at_least = usize::try_from(active - want).unwrap_or(0);
        let mut remove = self.active_pods_for_removal(remove_at_least);
        if !remove.is_empty() {
            remove.truncate(MAX_POD_CHANGES_PER_SYNC);
            return ManagePlan::Remove(remove);
        }
        let waiting_to_terminate = if only_replace_failed_pods(&self.job) {
            self.terminating
        } else {
            0
        };
        let missing = want - waiting_to_terminate - active;
        if missing <= 0 {
            return ManagePlan::Nothing;
        }
        let per_index = has_backoff_limit_per_index(&self.job);
        if !per_index {
            let wait = self.backoff.remaining(self.now, base, max);
            if !wait.is_zero() {
                return ManagePlan::Backoff(wait);
            }
        }
        let missing = usize::try_from(missing)
            .unwrap_or(0)
            .min(MAX_POD_CHANGES_PER_SYNC);
        if !is_indexed(&self.job) {
            return ManagePlan::Create(vec![
                NewPod {
                    index: None,
                    failure_counts: None,
                };
                missing
            ]);
        }
        let completions = self.completions().unwrap_or(0);
        let mut held = self
            .succeeded_indexes
            .with(self.active_pods.iter().filter_map(|p| completion_index(p)));
        if only_replace_failed_pods(&self.job) {
            held = held.with(
                self.pods
                    .iter()
                    .filter(|p| is_terminating(p))
                    .filter_map(|p| completion_index(p)),
            );
        }
        if let Some(failed) = &self.failed_indexes {
            held = held.union(failed);
        }
        let mut indexes = held.first_missing(missing, completions);
        if per_index {
            let waits: Vec<(i32, Duration)> = indexes
                .iter()
                .map(|i| (*i, self.index_backoff(*i, base, max)))
                .collect();
            let ready: Vec<i32> = waits
                .iter()
                .filter(|(_, w)| w.is_zero())
                .map(|(i, _)| *i)
                .collect();
            if ready.is_empty()
                && let Some(wait) = waits.iter().map(|(_, w)| *w).min()
            {
                return ManagePlan::Backoff(wait);
            }
            indexes = ready;
        }
        ManagePlan::Create(
            indexes
                .into_iter()
                .map(|index| NewPod {
                    index: Some(index),
                    failure_counts: per_index.then(|| self.replacement_counts(index)),
                })
                .collect(),
        )
    }

    /// Records deletions of a [`ManagePlan::Remove`].
    pub fn record_removed(&mut self, removed: i32, removed_ready: i32) {
        self.active -= removed;
        self.terminating += removed;
        self.ready -= removed_ready;
    }

    /// Records `created` pods of a [`ManagePlan::Create`].
    pub fn record_created(&mut self, created: i32) {
        self.active += created;
    }

    /// Records a [`ManagePlan::Backoff`] wait.
    pub fn record_backoff(&mut self, wait: Duration) {
        self.requeue(wait);
    }

    /// After managing pods (when the Job was not already finishing):
    /// declares success once enough pods succeeded and none is active,
    /// else (when pods were managed this sync) keeps the `Suspended`
    /// condition in step with `spec.suspend`.
    pub fn settle(&mut self, managed: bool) {
        if self.finished.is_some() {
            return;
        }
        let complete = match self.completions() {
            None => self.succeeded > 0 && self.active == 0,
            Some(c) => self.succeeded >= c && self.active == 0,
        };
        if complete {
            self.finished = Some(new_condition(
                condition::SUCCESS_CRITERIA_MET,
                "True",
                reason::COMPLETIONS_REACHED,
                reason::COMPLETIONS_REACHED_MESSAGE,
                self.now,
            ));
            return;
        }
        if !managed {
            return;
        }
        let now = self.now;
        let suspended = is_suspended(&self.job);
        let conditions = self.status_mut().conditions.get_or_insert_with(Vec::new);
        let changed = if suspended {
            ensure_condition(
                conditions,
                condition::SUSPENDED,
                "True",
                reason::JOB_SUSPENDED,
                "Job suspended",
                now,
            )
        } else {
            ensure_condition(
                conditions,
                condition::SUSPENDED,
                "False",
                reason::JOB_RESUMED,
                "Job resumed",
                now,
            )
        };
        if conditions.is_empty() {
            self.status_mut().conditions = None;
        }
        if changed {
            self.suspend_changed = true;
            if suspended {
                self.events
                    .push(Event::normal("Suspended", "Job suspended"));
            } else {
                self.events.push(Event::normal("Resumed", "Job resumed"));
                // ActiveDeadlineSeconds counts from the resumption.
                self.status_mut().start_time = Some(Time(now));
            }
        }
    }

    /// Writes active/ready/terminating into the status; call after
    /// managing pods.
    fn set_pod_counts(&mut self) {
        let (active, ready, terminating) =
            (self.active, self.ready.max(0), self.terminating.max(0));
        let original = self.original.clone();
        let status = self.status_mut();
        status.active = nonzero(active);
        status.ready = Some(ready);
        status.terminating = Some(terminating);
        let changed = original.active.unwrap_or(0) != active
            || original.ready != Some(ready)
            || original.terminating != Some(terminating)
            || original.start_time != status.start_time;
        if changed {
            self.needs_flush = true;
        }
        if self.suspend_changed {
            self.needs_flush = true;
        }
    }

    fn can_remove_finalizer(&self, pod: &Pod, considered_failed: bool) -> bool {
        if self.job.metadata.deletion_timestamp.is_some()
            || self.finished.is_some()
            || is_succeeded(pod)
        {
            return true;
        }
        if !considered_failed {
            return false;
        }
        if has_backoff_limit_per_index(&self.job)
            && let Some(index) = completion_index(pod)
            && self
                .delayed_per_index
                .get(&index)
                .is_some_and(|p| uid(p) == uid(pod))
        {
            return false;
        }
        true
    }

    /// Step one of the tracking: adds finished pods that still carry the
    /// finalizer to the uncounted lists (new succeeded indexes to
    /// `completedIndexes`), the interim condition to the conditions, and
    /// returns the pods whose finalizer may go once that status is
    /// written. Call after managing pods.
    pub fn track(&mut self) -> Vec<&'a Pod> {
        self.set_pod_counts();
        let indexed = is_indexed(&self.job);
        let mut pods = self.pods.clone();
        if indexed {
            pods.sort_by_key(|p| completion_index(p).unwrap_or(-1));
        }
        self.with_finalizer = pods
            .iter()
            .filter(|p| has_tracking_finalizer(p) && !self.expected_rm.contains(uid(p)))
            .map(|p| uid(p).to_owned())
            .collect();
        if self.clean_uncounted() {
            self.needs_flush = true;
        }
        let policy = self.spec().pod_failure_policy.clone();
        let terminal_failure = self
            .finished
            .as_ref()
            .is_some_and(|f| !is_success_criteria(f));
        let mut new_indexes: Vec<i32> = Vec::new();
        let mut new_succeeded: Vec<String> = Vec::new();
        let mut new_failed: Vec<String> = Vec::new();
        let mut to_remove: Vec<&'a Pod> = Vec::new();
        let already = |list: &Option<Vec<String>>| list.iter().flatten().count();
        let status = self.status();
        let uncounted_now = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let base = already(&uncounted_now.succeeded) + already(&uncounted_now.failed);
        for pod in pods {
            let id = uid(pod);
            if !has_tracking_finalizer(pod) || self.expected_rm.contains(id) {
                continue;
            }
            let considered_failed = is_failed(pod, &self.job);
            if !self.can_remove_finalizer(pod, considered_failed) {
                continue;
            }
            to_remove.push(pod);
            if is_succeeded(pod) && !self.uncounted.failed.contains(id) {
                if indexed {
                    if let Some(index) = valid_index(pod, &self.job)
                        && !self.prev_succeeded_indexes.contains(index)
                    {
                        new_indexes.push(index);
                        self.needs_flush = true;
                    }
                } else if !self.uncounted.succeeded.contains(id) {
                    new_succeeded.push(id.to_owned());
                    self.needs_flush = true;
                }
            } else if (considered_failed || terminal_failure)
                && !self.uncounted.failed.contains(id)
                && (!indexed || valid_index(pod, &self.job).is_some())
                && match_optional(policy.as_ref(), pod).counts
            {
                new_failed.push(id.to_owned());
                self.needs_flush = true;
            }
            if base + new_indexes.len() + new_succeeded.len() + new_failed.len()
                >= MAX_UNCOUNTED_PODS
            {
                self.reached_max_uncounted = true;
                break;
            }
        }
        let status = self.status_mut();
        let uncounted = status
            .uncounted_terminated_pods
            .get_or_insert_with(UncountedTerminatedPods::default);
        if !new_succeeded.is_empty() {
            uncounted
                .succeeded
                .get_or_insert_with(Vec::new)
                .extend(new_succeeded);
        }
        if !new_failed.is_empty() {
            uncounted
                .failed
                .get_or_insert_with(Vec::new)
                .extend(new_failed);
        }
        if indexed {
            self.succeeded_indexes = self.succeeded_indexes.with(new_indexes);
            let text = self.succeeded_indexes.to_string();
            let total = self.succeeded_indexes.total();
            let failed_text = self.failed_indexes.as_ref().map(ToString::to_string);
            let status = self.status_mut();
            let text = (!text.is_empty()).then_some(text);
            if status.completed_indexes != text {
                status.completed_indexes = text;
                self.needs_flush = true;
            }
            let status = self.status_mut();
            status.succeeded = nonzero(total);
            if status.failed_indexes != failed_text {
                status.failed_indexes = failed_text;
                self.needs_flush = true;
            }
        }
        let now = self.now;
        if let Some(finished) = self.finished.clone() {
            if finished.type_ == condition::FAILURE_TARGET {
                self.status_mut()
                    .conditions
                    .get_or_insert_with(Vec::new)
                    .push(finished.clone());
                self.needs_flush = true;
                self.finished = Some(new_condition(
                    condition::FAILED,
                    "True",
                    finished.reason.as_deref().unwrap_or_default(),
                    finished.message.as_deref().unwrap_or_default(),
                    now,
                ));
            } else if is_success_criteria(&finished) {
                if !has_true_condition(&self.job, condition::SUCCESS_CRITERIA_MET) {
                    self.status_mut()
                        .conditions
                        .get_or_insert_with(Vec::new)
                        .push(finished.clone());
                    self.needs_flush = true;
                }
                self.finished = Some(new_condition(
                    condition::COMPLETE,
                    "True",
                    finished.reason.as_deref().unwrap_or_default(),
                    finished.message.as_deref().unwrap_or_default(),
                    now,
                ));
            }
        }
        to_remove
    }

    /// Whether the status changed since it was last written.
    pub fn needs_flush(&self) -> bool {
        self.needs_flush
    }

    /// The status was written.
    pub fn flushed(&mut self) {
        self.needs_flush = false;
    }

    /// The finalizers of these pods are gone (or the pods are).
    pub fn finalizers_removed<'u>(&mut self, uids: impl IntoIterator<Item = &'u str>) {
        for id in uids {
            self.with_finalizer.remove(id);
        }
    }

    /// Step two: moves uncounted UIDs whose pods no longer carry the
    /// finalizer to `succeeded` / `failed`. Returns whether the status
    /// changed (and marks it for writing).
    pub fn clean_uncounted(&mut self) -> bool {
        let keep = self.with_finalizer.clone();
        let status = self.status_mut();
        let uncounted = status
            .uncounted_terminated_pods
            .get_or_insert_with(UncountedTerminatedPods::default);
        let mut moved = (0, 0);
        for (list, n) in [
            (&mut uncounted.succeeded, &mut moved.0),
            (&mut uncounted.failed, &mut moved.1),
        ] {
            if let Some(uids) = list.as_mut() {
                let before = uids.len();
                uids.retain(|u| keep.contains(u));
                *n = count(before - uids.len());
                if uids.is_empty() {
                    *list = None;
                }
            }
        }
        if moved == (0, 0) {
            return false;
        }
        status.succeeded = nonzero(status.succeeded.unwrap_or(0) + moved.0);
        status.failed = nonzero(status.failed.unwrap_or(0) + moved.1);
        self.needs_flush = true;
        true
    }

    /// Adds the terminal condition (and `completionTime`) once nothing is
    /// uncounted and no pod is terminating; queues the Job's events.
    /// Returns whether the Job finished in this sync.
    pub fn enact_finished(&mut self) -> bool {
        if self.reached_max_uncounted {
            return false;
        }
        let Some(finished) = self.finished.clone() else {
            return false;
        };
        if finished.type_ != condition::COMPLETE && finished.type_ != condition::FAILED {
            return false;
        }
        let uncounted = self
            .status()
            .uncounted_terminated_pods
            .clone()
            .unwrap_or_default();
        if uncounted.succeeded.iter().flatten().count() + uncounted.failed.iter().flatten().count()
            > 0
        {
            return false;
        }
        if self.terminating > 0 {
            return false;
        }
        let now = self.now;
        let reason = finished.reason.clone().unwrap_or_default();
        let message = finished.message.clone().unwrap_or_default();
        let status = self.status_mut();
        ensure_condition(
            status.conditions.get_or_insert_with(Vec::new),
            &finished.type_,
            "True",
            &reason,
            &message,
            now,
        );
        if finished.type_ == condition::COMPLETE {
            status.completion_time = Some(Time(now));
            let succeeded = status.succeeded.unwrap_or(0);
            if self.completions().is_some_and(|c| succeeded > c) {
                self.events.push(Event::warning(
                    "TooManySucceededPods",
                    "Too many succeeded pods running after completion count reached",
                ));
            }
            self.events
                .push(Event::normal("Completed", "Job completed"));
        } else {
            self.events.push(Event::warning(&reason, message));
        }
        self.needs_flush = true;
        true
    }
}

#[cfg(test)]
mod tests;
