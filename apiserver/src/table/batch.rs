//! Printers for the `batch` group.

use super::docs as d;
use super::util::{
    Ctx, arr, at, deleting, format_label_selector, human_duration_ns, int, layout_containers, name,
    opt_bool, opt_int, opt_str, string, time_at,
};
use super::{AGE, CONTAINERS_WIDE, IMAGES_WIDE, NAME, Printer, col};
use serde_json::Value;

/// The printer for a `batch` resource.
pub(crate) fn printer(group: &str, resource: &str) -> Option<&'static Printer> {
    match (group, resource) {
        ("batch", "jobs") => Some(&JOBS),
        ("batch", "cronjobs") => Some(&CRON_JOBS),
        _ => None,
    }
}

static JOBS: Printer = Printer {
    columns: &[
        NAME,
        col("Status", "string", "Status of the job.", 0),
        col("Completions", "string", d::JOB_SUCCEEDED, 0),
        col(
            "Duration",
            "string",
            "Time required to complete the job.",
            0,
        ),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        col("Selector", "string", d::JOB_SELECTOR, 1),
    ],
    cells: job_cells,
};

/// Whether the first job condition of `type_` has status `"True"`.
fn job_condition(job: &Value, type_: &str) -> bool {
    arr(job, &["status", "conditions"])
        .iter()
        .find(|c| string(c, &["type"]) == type_)
        .is_some_and(|c| string(c, &["status"]) == "True")
}

fn job_cells(job: &Value, ctx: &Ctx) -> Vec<Value> {
    let succeeded = int(job, &["status", "succeeded"]);
    let completions = match opt_int(job, &["spec", "completions"]) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = int(job, &["spec", "parallelism"]);
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let duration = match (
        time_at(job, &["status", "startTime"]),
        time_at(job, &["status", "completionTime"]),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration_ns(ctx.now_ns - start),
        (Some(start), Some(end)) => human_duration_ns(end - start),
    };
    let status = if job_condition(job, "Complete") {
        "Complete"
    } else if job_condition(job, "Failed") {
        "Failed"
    } else if deleting(job) {
        "Terminating"
    } else if job_condition(job, "Suspended") {
        "Suspended"
    } else if job_condition(job, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = layout_containers(arr(job, &["spec", "template", "spec", "containers"]));
    vec![
        Value::from(name(job)),
        Value::from(status),
        Value::from(completions),
        Value::from(duration),
        Value::from(ctx.age(job)),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(at(job, &["spec", "selector"]))),
    ]
}

static CRON_JOBS: Printer = Printer {
    columns: &[
        NAME,
        col("Schedule", "string", d::CJ_SCHEDULE, 0),
        col("Timezone", "string", d::CJ_TIMEZONE, 0),
        col("Suspend", "boolean", d::CJ_SUSPEND, 0),
        col("Active", "integer", d::CJ_ACTIVE, 0),
        col("Last Schedule", "string", d::CJ_LAST_SCHEDULE, 0),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        col("Selector", "string", d::JOB_SELECTOR, 1),
    ],
    cells: |o, ctx| {
        let last_schedule = match at(o, &["status", "lastScheduleTime"]) {
            None => "<none>".to_string(),
            Some(_) => ctx.since(time_at(o, &["status", "lastScheduleTime"])),
        };
        let suspend = match opt_bool(o, &["spec", "suspend"]) {
            Some(true) => "True",
            Some(false) => "False",
            None => "<unset>",
        };
        let template = at(o, &["spec", "jobTemplate", "spec"]);
        let (names, images) = layout_containers(
            template.map_or(&[][..], |t| arr(t, &["template", "spec", "containers"])),
        );
        vec![
            Value::from(name(o)),
            Value::from(string(o, &["spec", "schedule"])),
            Value::from(opt_str(o, &["spec", "timeZone"]).unwrap_or("<none>")),
            Value::from(suspend),
            Value::from(arr(o, &["status", "active"]).len()),
            Value::from(last_schedule),
            Value::from(ctx.age(o)),
            Value::from(names),
            Value::from(images),
            Value::from(format_label_selector(
                template.and_then(|t| at(t, &["selector"])),
            )),
        ]
    },
};

#[cfg(test)]
mod tests {
    use crate::table::{cells, columns};
    use serde_json::{Value, json};

    const NOW: i64 = 1_704_067_200;

    fn job(conditions: Value) -> Value {
        json!({"metadata": {"name": "pi"}, "spec": {"completions": 3}, "status": {"conditions": conditions}})
    }

    #[test]
    fn job_columns_are_status_completions_duration_age_plus_wide() {
        let cols: Vec<_> = columns("batch", "jobs")
            .iter()
            .map(|c| (c.name, c.priority))
            .collect();
        assert_eq!(
            cols,
            [
                ("Name", 0),
                ("Status", 0),
                ("Completions", 0),
                ("Duration", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1)
            ]
        );
    }

    #[test]
    fn job_status_follows_upstream_precedence() {
        let t = |ty: &str| json!({"type": ty, "status": "True"});
        assert_eq!(
            cells("batch", "jobs", &job(json!([])), NOW)[1],
            json!("Running")
        );
        assert_eq!(
            cells(
                "batch",
                "jobs",
                &job(json!([t("SuccessCriteriaMet"), t("Complete")])),
                NOW
            )[1],
            json!("Complete")
        );
        assert_eq!(
            cells(
                "batch",
                "jobs",
                &job(json!([t("FailureTarget"), t("Failed")])),
                NOW
            )[1],
            json!("Failed")
        );
        assert_eq!(
            cells("batch", "jobs", &job(json!([t("Suspended")])), NOW)[1],
            json!("Suspended")
        );
        assert_eq!(
            cells("batch", "jobs", &job(json!([t("FailureTarget")])), NOW)[1],
            json!("FailureTarget")
        );
        assert_eq!(
            cells(
                "batch",
                "jobs",
                &job(json!([{"type": "Complete", "status": "False"}])),
                NOW
            )[1],
            json!("Running")
        );
        let mut deleting = job(json!([t("Suspended")]));
        deleting["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(
            cells("batch", "jobs", &deleting, NOW)[1],
            json!("Terminating")
        );
    }

    #[test]
    fn job_completions_cover_fixed_and_parallel_jobs() {
        let fixed = json!({"spec": {"completions": 5}, "status": {"succeeded": 2}});
        assert_eq!(cells("batch", "jobs", &fixed, NOW)[2], json!("2/5"));
        let parallel = json!({"spec": {"parallelism": 4}, "status": {"succeeded": 1}});
        assert_eq!(cells("batch", "jobs", &parallel, NOW)[2], json!("1/1 of 4"));
        assert_eq!(cells("batch", "jobs", &json!({}), NOW)[2], json!("0/1"));
    }

    #[test]
    fn job_duration_runs_until_completion() {
        let unstarted = json!({});
        assert_eq!(cells("batch", "jobs", &unstarted, NOW)[3], json!(""));
        let running = json!({"status": {"startTime": "2023-12-31T23:57:30Z"}});
        assert_eq!(cells("batch", "jobs", &running, NOW)[3], json!("2m30s"));
        let done = json!({"status": {"startTime": "2023-12-31T20:00:00Z", "completionTime": "2023-12-31T20:00:42Z"}});
        assert_eq!(cells("batch", "jobs", &done, NOW)[3], json!("42s"));
    }

    #[test]
    fn cronjob_row_prints_schedule_timezone_suspend_and_last_schedule() {
        let cj = json!({"metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "suspend": false,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": "2023-12-31T23:00:00Z"}});
        assert_eq!(
            cells("batch", "cronjobs", &cj, NOW),
            vec![
                json!("nightly"),
                json!("0 3 * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("60m"),
                json!("<unknown>"),
                json!("job"),
                json!("busybox"),
                json!("<none>")
            ]
        );
        let bare = cells(
            "batch",
            "cronjobs",
            &json!({"spec": {"timeZone": "Etc/UTC"}}),
            NOW,
        );
        assert_eq!(
            (&bare[2], &bare[3], &bare[5]),
            (&json!("Etc/UTC"), &json!("<unset>"), &json!("<none>"))
        );
    }
}
