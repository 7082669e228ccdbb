//! Pure decision logic of the batch controllers (Job, CronJob,
//! TTL-after-finished).
//!
//! As in [`workload`](crate::workload), nothing in here performs I/O or
//! reads the clock: every function takes the objects it needs and `now`,
//! and returns what the controller should do. The reconcile loops in
//! [`controllers::job`](crate::controllers::job),
//! [`controllers::cronjob`](crate::controllers::cronjob) and
//! [`controllers::ttl_after_finished`](crate::controllers::ttl_after_finished)
//! own caches, expectations and writes.
//!
//! * [`cron`]: schedule parsing and the next fire time (time zones, DST).
//! * [`cronjob`]: missed schedules, Job names and templates, history.
//! * [`indexes`]: the compressed index-interval text of Indexed Jobs.
//! * [`job_pods`]: pods of a Job — building them, reading their state.
//! * [`policy`]: pod failure policy and success policy matching.
//! * [`backoff`]: the delay before failed pods are replaced.
//! * [`job_sync`]: one Job sync — counting, conditions, what to create
//!   and delete, two-step finalizer tracking.
//! * [`ttl`]: when a finished Job expires.

pub mod backoff;
pub mod cron;
pub mod cronjob;
pub mod indexes;
pub mod job_pods;
pub mod job_sync;
pub mod policy;
pub mod ttl;

use bosun_runtime::EventType;
use k8s_openapi::api::batch::v1::{Job, JobCondition};

/// The finalizer a Job puts on its pods until it has counted them.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Label with the Job's UID.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// Label with the Job's name.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// Legacy label with the Job's UID.
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// Legacy label with the Job's name.
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// Annotation (and label) with a pod's completion index.
pub const COMPLETION_INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";
/// Annotation counting the failures of a pod's index so far.
pub const INDEX_FAILURE_COUNT_ANNOTATION: &str = "batch.kubernetes.io/job-index-failure-count";
/// Annotation counting the failures of a pod's index a policy ignored.
pub const INDEX_IGNORED_FAILURE_COUNT_ANNOTATION: &str =
    "batch.kubernetes.io/job-index-ignored-failure-count";
/// Annotation on a CronJob's Job: its scheduled time (RFC 3339).
pub const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION: &str =
    "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// Environment variable with the completion index in every container.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// `spec.managedBy` value of Jobs this controller manages.
pub const JOB_CONTROLLER_MANAGER: &str = "kubernetes.io/job-controller";

/// Condition types.
pub mod condition {
    /// The Job finished successfully.
    pub const COMPLETE: &str = "Complete";
    /// The Job failed.
    pub const FAILED: &str = "Failed";
    /// The Job will fail once its pods are gone.
    pub const FAILURE_TARGET: &str = "FailureTarget";
    /// The Job will complete once its pods are gone.
    pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
    /// The Job is suspended (`True`) or was resumed (`False`).
    pub const SUSPENDED: &str = "Suspended";
}

/// Condition reasons and messages.
pub mod reason {
    /// More failed pods than `backoffLimit`.
    pub const BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
    /// Message of [`BACKOFF_LIMIT_EXCEEDED`].
    pub const BACKOFF_LIMIT_EXCEEDED_MESSAGE: &str = "Job has reached the specified backoff limit";
    /// Active longer than `activeDeadlineSeconds`.
    pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
    /// Message of [`DEADLINE_EXCEEDED`].
    pub const DEADLINE_EXCEEDED_MESSAGE: &str = "Job was active longer than specified deadline";
    /// A `FailJob` pod failure policy rule matched.
    pub const POD_FAILURE_POLICY: &str = "PodFailurePolicy";
    /// More failed indexes than `maxFailedIndexes`.
    pub const MAX_FAILED_INDEXES_EXCEEDED: &str = "MaxFailedIndexesExceeded";
    /// Message of [`MAX_FAILED_INDEXES_EXCEEDED`].
    pub const MAX_FAILED_INDEXES_EXCEEDED_MESSAGE: &str =
        "Job has exceeded the specified maximal number of failed indexes";
    /// Every index finished, some failed.
    pub const FAILED_INDEXES: &str = "FailedIndexes";
    /// Message of [`FAILED_INDEXES`].
    pub const FAILED_INDEXES_MESSAGE: &str = "Job has failed indexes";
    /// A success policy rule matched.
    pub const SUCCESS_POLICY: &str = "SuccessPolicy";
    /// `completions` pods succeeded.
    pub const COMPLETIONS_REACHED: &str = "CompletionsReached";
    /// Message of [`COMPLETIONS_REACHED`].
    pub const COMPLETIONS_REACHED_MESSAGE: &str = "Reached expected number of succeeded pods";
    /// Suspended condition reason (True).
    pub const JOB_SUSPENDED: &str = "JobSuspended";
    /// Suspended condition reason (False).
    pub const JOB_RESUMED: &str = "JobResumed";
}

/// An event to record about the object a decision was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Normal or Warning.
    pub kind: EventType,
    /// Machine-readable reason.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
}

impl Event {
    /// A Normal event.
    pub fn normal(reason: &str, message: impl Into<String>) -> Self {
        Self {
            kind: EventType::Normal,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }

    /// A Warning event.
    pub fn warning(reason: &str, message: impl Into<String>) -> Self {
        Self {
            kind: EventType::Warning,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
}

/// The condition of `type_` in a Job's status.
pub fn job_condition<'a>(job: &'a Job, type_: &str) -> Option<&'a JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Whether the Job has a `True` condition of `type_`.
pub fn has_true_condition(job: &Job, type_: &str) -> bool {
    job_condition(job, type_).is_some_and(|c| c.status == "True")
}

/// The Job's terminal condition (`Complete` or `Failed`, `True`), if any.
pub fn finished_condition(job: &Job) -> Option<&JobCondition> {
    job.status.as_ref()?.conditions.as_ref()?.iter().find(|c| {
        (c.type_ == condition::COMPLETE || c.type_ == condition::FAILED) && c.status == "True"
    })
}

/// Whether the Job finished (completed or failed).
pub fn is_job_finished(job: &Job) -> bool {
    finished_condition(job).is_some()
}

pub use crate::status_patch::{merge_diff, status_patch};

#[cfg(test)]
pub(crate) mod test_support;
