//! CronJob decisions: which scheduled time is due (only the most recent
//! missed one runs), when to look again, the Job a schedule creates, and
//! which finished Jobs fall out of the history limits.

use super::cron::{Schedule, until};
use super::{CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, condition, finished_condition};
use crate::workload::pod_template::controller_ref;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::time::Duration;

/// Added to every requeue so the schedule is surely due when it runs.
pub const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);
/// More missed times than this earn a `TooManyMissedTimes` warning.
pub const MANY_MISSED: i64 = 100;

/// How many scheduled times went by without a Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// None.
    None,
    /// Some (only the most recent runs).
    Few,
    /// More than [`MANY_MISSED`].
    Many,
}

/// The scheduled times around `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleTimes {
    /// The last schedule time (or the CronJob's creation, or the starting
    /// deadline when later).
    pub earliest: Timestamp,
    /// The most recent scheduled time after `earliest` and not after now.
    pub most_recent: Option<Timestamp>,
    /// How many went by.
    pub missed: Missed,
}

/// Why no time can be computed: the schedule never fires, or fires less
/// than a second apart.
pub const NEVER_FIRES: &str = "time difference between two schedules is less than 1 second";

/// The most recent scheduled time in `(earliest, now]`, where `earliest`
/// is `last_schedule` (else `created`), moved up to `now -
/// starting_deadline` when `include_deadline` and that is later.
pub fn most_recent_schedule_time(
    created: Timestamp,
    last_schedule: Option<Timestamp>,
    starting_deadline: Option<i64>,
    now: Timestamp,
    schedule: &Schedule,
    zone: &TimeZone,
    include_deadline: bool,
) -> Result<ScheduleTimes, String> {
    let mut earliest = last_schedule.unwrap_or(created);
    if include_deadline
        && let Some(deadline) = starting_deadline
        && let Ok(limit) = now.checked_sub(jiff::SignedDuration::from_secs(deadline))
        && limit > earliest
    {
        earliest = limit;
    }
    let none = |most_recent| ScheduleTimes {
        earliest,
        most_recent,
        missed: Missed::None,
    };
    let t1 = schedule.next(earliest, zone).ok_or(NEVER_FIRES)?;
    if now < t1 {
        return Ok(none(None));
    }
    let t2 = schedule.next(t1, zone).ok_or(NEVER_FIRES)?;
    if now < t2 {
        return Ok(none(Some(t1)));
    }
    let interval = (t2.as_millisecond() - t1.as_millisecond() + 500) / 1000;
    if interval < 1 {
        return Err(NEVER_FIRES.to_owned());
    }
    let elapsed = (now.as_millisecond() - t1.as_millisecond()) / 1000;
    let missed_count = elapsed / interval + 1;
    let latest_from = |start: Timestamp| {
        let mut latest = None;
        let mut t = schedule.next(start, zone);
        while let Some(at) = t.filter(|at| *at <= now) {
            latest = Some(at);
            t = schedule.next(at, zone);
        }
        latest
    };
    // Jump close to now instead of walking every missed time; walk back
    // further when an irregular schedule has a gap there.
    let mut back = 2i64;
    let most_recent = loop {
        let offset = jiff::SignedDuration::from_secs(back.saturating_mul(interval));
        let start = now
            .checked_sub(offset)
            .ok()
            .filter(|s| *s >= t1)
            .unwrap_or_else(|| {
                t1.checked_sub(jiff::SignedDuration::from_secs(1))
                    .unwrap_or(t1)
            });
        if let Some(found) = latest_from(start) {
            break Some(found);
        }
        if start < t1 {
            break None;
        }
        back = back.saturating_mul(2);
    };
    Ok(ScheduleTimes {
        earliest,
        most_recent,
        missed: if missed_count > MANY_MISSED {
            Missed::Many
        } else {
            Missed::Few
        },
    })
}

/// How long until the next scheduled time (plus [`NEXT_SCHEDULE_DELTA`]);
/// `None` when the schedule never fires again.
pub fn next_schedule_delay(
    created: Timestamp,
    last_schedule: Option<Timestamp>,
    now: Timestamp,
    schedule: &Schedule,
    zone: &TimeZone,
) -> Option<Duration> {
    let from =
        match most_recent_schedule_time(created, last_schedule, None, now, schedule, zone, false) {
            Err(_) => now,
            Ok(ScheduleTimes {
                most_recent: Some(t),
                ..
            }) => t,
            Ok(ScheduleTimes {
                most_recent: None,
                missed: Missed::None,
                earliest,
            }) => earliest,
            Ok(_) => now,
        };
    let next = schedule.next(from, zone)?;
    Some(until(now, next) + NEXT_SCHEDULE_DELTA)
}

/// The Job name for a scheduled time: `<cronjob>-<minutes since epoch>`.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

/// `at` in RFC 3339 in `zone`, as Go prints it (`Z` for a zero offset).
pub fn rfc3339_in(at: Timestamp, zone: &TimeZone) -> String {
    let local = zone.to_datetime(at);
    let offset = zone.to_offset(at).seconds();
    let zone_text = if offset == 0 {
        "Z".to_owned()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.abs();
        format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone_text}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// The Job a CronJob creates for `scheduled`: the template's labels,
/// annotations and spec, the scheduled-timestamp annotation (in
/// `annotation_zone`, UTC unless `spec.timeZone`), the CronJob as
/// controller.
pub fn job_for(cronjob: &CronJob, scheduled: Timestamp, annotation_zone: &TimeZone) -> Option<Job> {
    let name = cronjob.metadata.name.as_deref()?;
    let uid = cronjob.metadata.uid.as_deref()?;
    let template = cronjob
        .spec
        .as_ref()
        .map(|s| s.job_template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let mut annotations = meta.annotations.unwrap_or_default();
    annotations.insert(
        CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION.to_owned(),
        rfc3339_in(scheduled, annotation_zone),
    );
    Some(Job {
        metadata: ObjectMeta {
            name: Some(job_name(name, scheduled)),
            namespace: cronjob.metadata.namespace.clone(),
            labels: meta.labels.filter(|l| !l.is_empty()),
            annotations: Some(annotations),
            owner_references: Some(vec![controller_ref("batch/v1", "CronJob", name, uid)]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    })
}

/// Whether the Job finished with `Complete`.
pub fn is_job_succeeded(job: &Job) -> bool {
    finished_condition(job).is_some_and(|c| c.type_ == condition::COMPLETE)
}

/// Finished Jobs beyond the history limits, oldest (by start time, then
/// name; never-started last) first.
pub fn jobs_beyond_history<'a>(
    jobs: &[&'a Job],
    successful_limit: Option<i32>,
    failed_limit: Option<i32>,
) -> Vec<&'a Job> {
    let mut out = Vec::new();
    for (kind, limit) in [
        (condition::COMPLETE, successful_limit),
        (condition::FAILED, failed_limit),
    ] {
        let Some(limit) = limit else {
            continue;
        };
        let mut finished: Vec<&'a Job> = jobs
            .iter()
            .copied()
            .filter(|j| finished_condition(j).is_some_and(|c| c.type_ == kind))
            .collect();
        let excess = finished
            .len()
            .saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
        if excess == 0 {
            continue;
        }
        finished.sort_by(|a, b| {
            let start = |j: &Job| {
                j.status
                    .as_ref()
                    .and_then(|s| s.start_time.as_ref())
                    .map(|t| t.0)
            };
            let by_start = match (start(a), start(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            by_start.then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        out.extend(finished.into_iter().take(excess));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{CronJobSpec, JobCondition, JobStatus, JobTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn every_minute() -> Schedule {
        Schedule::parse("* * * * *").unwrap_or_else(|e| panic!("{e}"))
    }

    fn recent(
        schedule: &Schedule,
        created: &str,
        last: Option<&str>,
        deadline: Option<i64>,
        now: &str,
    ) -> Result<ScheduleTimes, String> {
        most_recent_schedule_time(
            at(created),
            last.map(at),
            deadline,
            at(now),
            schedule,
            &TimeZone::UTC,
            true,
        )
    }

    #[test]
    fn nothing_due_before_the_first_time() {
        let t = recent(
            &every_minute(),
            "2024-01-01T10:00:10Z",
            None,
            None,
            "2024-01-01T10:00:50Z",
        );
        assert_eq!(
            t.map(|t| (t.most_recent, t.missed)),
            Ok((None, Missed::None))
        );
    }

    #[test]
    fn one_due_time() {
        let t = recent(
            &every_minute(),
            "2024-01-01T10:00:10Z",
            None,
            None,
            "2024-01-01T10:01:05Z",
        );
        assert_eq!(
            t.map(|t| (t.most_recent, t.missed)),
            Ok((Some(at("2024-01-01T10:01:00Z")), Missed::None))
        );
    }

    #[test]
    fn only_the_most_recent_missed_time_runs() {
        let t = recent(
            &every_minute(),
            "2024-01-01T10:00:10Z",
            Some("2024-01-01T10:01:00Z"),
            None,
            "2024-01-01T10:30:30Z",
        );
        assert_eq!(
            t.map(|t| (t.most_recent, t.missed)),
            Ok((Some(at("2024-01-01T10:30:00Z")), Missed::Few))
        );
        // More than a hundred missed: still the most recent, flagged.
        let t = recent(
            &every_minute(),
            "2024-01-01T00:00:00Z",
            None,
            None,
            "2024-01-02T00:00:30Z",
        );
        assert_eq!(
            t.map(|t| (t.most_recent, t.missed)),
            Ok((Some(at("2024-01-02T00:00:00Z")), Missed::Many))
        );
    }

    #[test]
    fn irregular_schedules_find_the_time_before_a_gap() {
        // Weekdays 06:30..14:30 every 4h; now is Sunday: Friday 14:30 is due.
        let s = Schedule::parse("30 6-16/4 * * 1-5").unwrap_or_else(|e| panic!("{e}"));
        let t = recent(
            &s,
            "2024-01-01T00:00:00Z",
            None,
            None,
            "2024-01-07T12:00:00Z",
        );
        assert_eq!(
            t.map(|t| t.most_recent),
            Ok(Some(at("2024-01-05T14:30:00Z")))
        );
    }

    #[test]
    fn starting_deadline_limits_how_far_back_to_look() {
        // Last ran at 10:00; now 10:30:30 with a 60 s deadline: only 10:30
        // is still startable, and nothing counts as missed before it.
        let t = recent(
            &every_minute(),
            "2024-01-01T09:00:00Z",
            Some("2024-01-01T10:00:00Z"),
            Some(60),
            "2024-01-01T10:30:30Z",
        );
        assert_eq!(
            t.map(|t| (t.most_recent, t.missed)),
            Ok((Some(at("2024-01-01T10:30:00Z")), Missed::None))
        );
        // With 10 s, 10:30 is already too late.
        let t = recent(
            &every_minute(),
            "2024-01-01T09:00:00Z",
            Some("2024-01-01T10:00:00Z"),
            Some(10),
            "2024-01-01T10:30:30Z",
        );
        assert_eq!(t.map(|t| t.most_recent), Ok(None));
        // A 20 s deadline at 10:30:30 leaves nothing due.
        let hourly = Schedule::parse("@hourly").unwrap_or_else(|e| panic!("{e}"));
        let t = recent(
            &hourly,
            "2024-01-01T09:00:00Z",
            None,
            Some(20),
            "2024-01-01T10:30:30Z",
        );
        assert_eq!(t.map(|t| t.most_recent), Ok(None));
    }

    #[test]
    fn never_firing_schedules_are_an_error() {
        let s = Schedule::parse("0 0 30 2 *").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            recent(
                &s,
                "2024-01-01T00:00:00Z",
                None,
                None,
                "2024-06-01T00:00:00Z"
            ),
            Err(NEVER_FIRES.to_owned())
        );
    }

    #[test]
    fn requeue_lands_on_the_next_time() {
        let s = every_minute();
        let delay = next_schedule_delay(
            at("2024-01-01T10:00:10Z"),
            Some(at("2024-01-01T10:01:00Z")),
            at("2024-01-01T10:01:20Z"),
            &s,
            &TimeZone::UTC,
        );
        assert_eq!(delay, Some(Duration::from_millis(40_100)));
        let never = Schedule::parse("0 0 30 2 *").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            next_schedule_delay(
                at("2024-01-01T00:00:00Z"),
                None,
                at("2024-01-02T00:00:00Z"),
                &never,
                &TimeZone::UTC
            ),
            None
        );
    }

    #[test]
    fn job_names_and_template() {
        let scheduled = at("2024-01-01T10:01:00Z");
        assert_eq!(job_name("nightly", scheduled), "nightly-28401721");
        let cj = CronJob {
            metadata: ObjectMeta {
                name: Some("nightly".into()),
                namespace: Some("ops".into()),
                uid: Some("cj-uid".into()),
                ..ObjectMeta::default()
            },
            spec: Some(CronJobSpec {
                schedule: "1 10 * * *".into(),
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some([("team".to_owned(), "ops".to_owned())].into()),
                        annotations: Some([("note".to_owned(), "x".to_owned())].into()),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(Default::default()),
                },
                ..CronJobSpec::default()
            }),
            status: None,
        };
        let job = job_for(&cj, scheduled, &TimeZone::UTC).expect("job");
        assert_eq!(job.metadata.name.as_deref(), Some("nightly-28401721"));
        assert_eq!(job.metadata.namespace.as_deref(), Some("ops"));
        let annotations = job.metadata.annotations.expect("annotations");
        assert_eq!(
            annotations[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION],
            "2024-01-01T10:01:00Z"
        );
        assert_eq!(annotations["note"], "x");
        assert_eq!(job.metadata.labels.expect("labels")["team"], "ops");
        let owner = &job.metadata.owner_references.expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("CronJob", "cj-uid")
        );
        assert_eq!(owner.controller, Some(true));
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap_or(TimeZone::UTC);
        assert_eq!(rfc3339_in(scheduled, &tokyo), "2024-01-01T19:01:00+09:00");
        let ny = TimeZone::get("America/New_York").unwrap_or(TimeZone::UTC);
        assert_eq!(rfc3339_in(scheduled, &ny), "2024-01-01T05:01:00-05:00");
    }

    fn finished_job(name: &str, kind: &str, start: Option<i64>) -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(JobStatus {
                start_time: start
                    .map(|s| Time(Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH))),
                conditions: Some(vec![JobCondition {
                    type_: kind.into(),
                    status: "True".into(),
                    ..JobCondition::default()
                }]),
                ..JobStatus::default()
            }),
        }
    }

    #[test]
    fn history_limits_drop_the_oldest_finished_jobs() {
        let jobs = [
            finished_job("s3", "Complete", Some(300)),
            finished_job("s1", "Complete", Some(100)),
            finished_job("s2", "Complete", Some(200)),
            finished_job("s0", "Complete", None),
            finished_job("f1", "Failed", Some(100)),
            finished_job("f2", "Failed", Some(200)),
            finished_job("running", "Suspended", Some(50)),
        ];
        let refs: Vec<&Job> = jobs.iter().collect();
        let names = |v: Vec<&Job>| -> Vec<String> {
            v.iter().filter_map(|j| j.metadata.name.clone()).collect()
        };
        assert_eq!(
            names(jobs_beyond_history(&refs, Some(2), Some(1))),
            ["s1", "s2", "f1"]
        );
        assert_eq!(
            names(jobs_beyond_history(&refs, Some(0), None)),
            ["s1", "s2", "s3", "s0"]
        );
        assert!(jobs_beyond_history(&refs, None, None).is_empty());
        assert!(is_job_succeeded(&jobs[0]) && !is_job_succeeded(&jobs[4]));
    }
}
