//! `batch` group: Job and CronJob (`pkg/apis/batch/validation`), including a
//! reimplementation of the standard 5-field cron parser upstream uses
//! (`robfig/cron/v3` `ParseStandard`) for its error messages.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::access::{Errs, Obj, Path, as_int, peek_arr, peek_obj, peek_str, sem_eq};
use super::errors::go_quote;
use super::meta::{
    MetaOpts, Scope, immutable, immutable_field, selector_of, validate_label_selector,
    validate_object_meta, validate_object_meta_update,
};
use super::names::{NameRule, is_dns1123_label, validate_domain_prefixed_path};
use super::pod::{selector_matches_template, validate_pod_template_spec};

const MAX_PARALLELISM_INDEXED: i64 = 100_000;
const MAX_FAILED_INDEXES: i64 = 100_000;
const COMPLETIONS_SOFT_LIMIT: i64 = 100_000;
const PARALLELISM_LIMIT_HIGH_COMPLETIONS: i64 = 10_000;
const MAX_FAILED_INDEXES_HIGH_COMPLETIONS: i64 = 10_000;

fn has_label(e: &mut Errs, labels: Obj<'_>, p: &Path, key: &str, expected: &str) {
    let lp = p.child("labels").key(key);
    match labels.raw(key).and_then(|v| v.as_str()) {
        None => e.required(&lp, &format!("must be '{expected}'")),
        Some(v) if v != expected => {
            e.invalid(&lp, labels.to_value(), &format!("must be '{expected}'"))
        }
        Some(_) => {}
    }
}

/// `validateGeneratedSelector`.
fn generated_selector(e: &mut Errs, obj: Obj<'_>, require_prefixed: bool) {
    let spec = peek_obj(obj, "spec");
    if spec.raw("manualSelector").and_then(|v| v.as_bool()) == Some(true) {
        return;
    }
    let Some(sel) = spec.raw("selector").filter(|v| v.is_object()) else {
        return;
    };
    let meta = peek_obj(obj, "metadata");
    let uid = peek_str(meta, "uid");
    let name = peek_str(meta, "name");
    if uid.is_empty() {
        e.required(&Path::root("metadata").child("uid"), "");
    }
    let tp = Path::root("spec").child("template").child("metadata");
    let labels = peek_obj(peek_obj(peek_obj(spec, "template"), "metadata"), "labels");
    has_label(e, labels, &tp, "controller-uid", uid);
    has_label(e, labels, &tp, "job-name", name);
    let mut expected = vec![("controller-uid", uid), ("job-name", name)];
    if require_prefixed {
        has_label(e, labels, &tp, "batch.kubernetes.io/controller-uid", uid);
        has_label(e, labels, &tp, "batch.kubernetes.io/job-name", name);
        expected.push(("batch.kubernetes.io/controller-uid", uid));
        expected.push(("batch.kubernetes.io/job-name", name));
    }
    expected.sort_unstable();
    let mut scratch = Errs::new();
    if !validate_label_selector(&mut scratch, Some(Obj::of(sel)), &Path::root(""))
        && !selector_of(Some(Obj::of(sel))).matches(&expected)
    {
        e.invalid(
            &Path::root("spec").child("selector"),
            super::meta::selector_value(Some(Obj::of(sel))),
            "`selector` not auto-generated",
        );
    }
}

/// `validateJobSpec` (shared by Job and CronJob's job template).
fn job_spec(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    for f in [
        "parallelism",
        "completions",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ] {
        let v = e.opt_i32(spec, f, p);
        e.nonnegative(&p.child(f), v);
        if f == "completions" {
            let ads = e.opt_int(spec, "activeDeadlineSeconds", p);
            e.nonnegative(&p.child("activeDeadlineSeconds"), ads);
        }
    }
    let get = |k: &str| spec.raw(k).and_then(as_int);
    let (parallelism, completions, blpi, mfi) = (
        get("parallelism"),
        get("completions"),
        get("backoffLimitPerIndex"),
        get("maxFailedIndexes"),
    );
    if mfi.is_some() && blpi.is_none() {
        e.required(
            &p.child("backoffLimitPerIndex"),
            "when maxFailedIndexes is specified",
        );
    }
    if let Some(mb) = e.opt_str(spec, "managedBy", p) {
        validate_domain_prefixed_path(e, &p.child("managedBy"), mb);
        if mb.len() > 63 {
            e.too_long(&p.child("managedBy"), 63);
        }
    }
    let mode = e.opt_str(spec, "completionMode", p);
    if let Some(m) = mode {
        if m != "NonIndexed" && m != "Indexed" {
            e.not_supported(
                &p.child("completionMode"),
                Value::from(m),
                &["NonIndexed", "Indexed"],
            );
        }
        if m == "Indexed" {
            if completions.is_none() {
                e.required(&p.child("completions"), "when completion mode is Indexed");
            }
            if let Some(par) = parallelism
                && par > MAX_PARALLELISM_INDEXED
            {
                e.invalid(
                    &p.child("parallelism"),
                    Value::from(par),
                    "must be less than or equal to 100000 when completion mode is Indexed",
                );
            }
            if let (Some(c), Some(m)) = (completions, mfi)
                && m > c
            {
                e.invalid(
                    &p.child("maxFailedIndexes"),
                    Value::from(m),
                    "must be less than or equal to completions",
                );
            }
            if let Some(m) = mfi
                && m > MAX_FAILED_INDEXES
            {
                e.invalid(
                    &p.child("maxFailedIndexes"),
                    Value::from(m),
                    "must be less than or equal to 100000",
                );
            }
            if completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT) && blpi.is_some() {
                if mfi.is_none() {
                    e.required(
                        &p.child("maxFailedIndexes"),
                        "must be specified when completions is above 100000",
                    );
                }
                if let Some(par) = parallelism
                    && par > PARALLELISM_LIMIT_HIGH_COMPLETIONS
                {
                    e.invalid(&p.child("parallelism"), Value::from(par), "must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index");
                }
                if let Some(m) = mfi
                    && m > MAX_FAILED_INDEXES_HIGH_COMPLETIONS
                {
                    e.invalid(&p.child("maxFailedIndexes"), Value::from(m), "must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index");
                }
            }
        }
    }
    let indexed = mode == Some("Indexed");
    if mode.is_none() || mode == Some("NonIndexed") {
        if let Some(b) = blpi {
            e.invalid(
                &p.child("backoffLimitPerIndex"),
                Value::from(b),
                "requires indexed completion mode",
            );
        }
        if let Some(m) = mfi {
            e.invalid(
                &p.child("maxFailedIndexes"),
                Value::from(m),
                "requires indexed completion mode",
            );
        }
    }
    let pfp = e.opt_obj(spec, "podFailurePolicy", p);
    if let Some(pf) = pfp {
        pod_failure_policy(e, spec, pf, &p.child("podFailurePolicy"), blpi.is_some());
    }
    if let Some(sp) = e.opt_obj(spec, "successPolicy", p) {
        let spp = p.child("successPolicy");
        if !indexed {
            e.invalid(&spp, sp.to_value(), "requires indexed completion mode");
        } else {
            let rp = spp.child("rules");
            let rules = e.arr(sp, "rules", &spp);
            if rules.is_empty() {
                e.required(
                    &rp,
                    "at least one rules must be specified when the successPolicy is specified",
                );
            }
            if rules.len() > 20 {
                e.too_many(&rp, rules.len(), 20);
            }
            for (i, r) in rules.iter().enumerate() {
                let ro = e.elem_obj(r, &rp.index(i));
                let count = e.opt_i32(ro, "succeededCount", &rp.index(i));
                if count.is_none() && !ro.has("succeededIndexes") {
                    e.required(
                        &rp.index(i),
                        "at least one of succeededCount or succeededIndexes must be specified",
                    );
                }
                if let Some(c) = count {
                    let cp = rp.index(i).child("succeededCount");
                    e.nonnegative(&cp, Some(c));
                    let total = completions.unwrap_or(0);
                    if c > total {
                        e.invalid(&cp, Value::from(c), &format!("must be less than or equal to {total} (the number of specified completions)"));
                    }
                }
            }
        }
    }
    if let Some(prp) = e.opt_str(spec, "podReplacementPolicy", p) {
        if pfp.is_some() {
            if prp != "Failed" {
                e.not_supported(
                    &p.child("podReplacementPolicy"),
                    Value::from(prp),
                    &["Failed"],
                );
            }
        } else if prp != "Failed" && prp != "TerminatingOrFailed" {
            e.not_supported(
                &p.child("podReplacementPolicy"),
                Value::from(prp),
                &["Failed", "TerminatingOrFailed"],
            );
        }
    }
    let t = e.obj(spec, "template", p);
    let tp = p.child("template");
    validate_pod_template_spec(e, t, &tp, &BTreeMap::new());
    let rp = peek_str(peek_obj(t, "spec"), "restartPolicy");
    let rpp = tp.child("spec").child("restartPolicy");
    if rp == "Always" || rp.is_empty() {
        e.required(&rpp, "valid values: \"OnFailure\", \"Never\"");
    } else if rp != "OnFailure" && rp != "Never" {
        e.not_supported(&rpp, Value::from(rp), &["OnFailure", "Never"]);
    } else if pfp.is_some() && rp != "Never" {
        e.invalid(
            &rpp,
            Value::from(rp),
            "only \"Never\" is supported when podFailurePolicy is specified",
        );
    }
}

fn pod_failure_policy(e: &mut Errs, spec: Obj<'_>, pf: Obj<'_>, p: &Path, has_blpi: bool) {
    let rp = p.child("rules");
    let rules = e.arr(pf, "rules", p);
    if rules.len() > 20 {
        e.too_many(&rp, rules.len(), 20);
    }
    let tspec = peek_obj(peek_obj(spec, "template"), "spec");
    let names: BTreeSet<&str> = peek_arr(tspec, "containers")
        .iter()
        .chain(peek_arr(tspec, "initContainers").iter())
        .map(|c| peek_str(Obj::of(c), "name"))
        .collect();
    for (i, r) in rules.iter().enumerate() {
        let ip = rp.index(i);
        let ro = e.elem_obj(r, &ip);
        let action = e.str(ro, "action", &ip);
        const ACTIONS: [&str; 4] = ["Count", "FailIndex", "FailJob", "Ignore"];
        match action {
            "" => e.required(
                &ip.child("action"),
                "valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]",
            ),
            "FailIndex" if !has_blpi => {
                e.invalid(
                    &ip.child("action"),
                    Value::from(action),
                    "requires the backoffLimitPerIndex to be set",
                );
            }
            a if !ACTIONS.contains(&a) => {
                e.not_supported(&ip.child("action"), Value::from(a), &ACTIONS)
            }
            _ => {}
        }
        let on_exit = e.opt_obj(ro, "onExitCodes", &ip);
        let on_conds = e.arr(ro, "onPodConditions", &ip);
        if let Some(oe) = on_exit {
            let op = ip.child("onExitCodes");
            match e.str(oe, "operator", &op) {
                "" => e.required(&op.child("operator"), "valid values: [\"In\" \"NotIn\"]"),
                "In" | "NotIn" => {}
                other => {
                    e.not_supported(&op.child("operator"), Value::from(other), &["In", "NotIn"])
                }
            }
            if let Some(cn) = e.opt_str(oe, "containerName", &op)
                && !names.contains(cn)
            {
                e.invalid(
                    &op.child("containerName"),
                    Value::from(cn),
                    "must be one of the container or initContainer names in the pod template",
                );
            }
            let vp = op.child("values");
            let values = e.arr(oe, "values", &op);
            if values.is_empty() {
                e.invalid(
                    &vp,
                    oe.raw("values").cloned().unwrap_or(Value::Null),
                    "at least one value is required",
                );
            } else if values.len() > 255 {
                e.too_many(&vp, values.len(), 255);
            }
            let is_in = peek_str(oe, "operator") == "In";
            let mut seen = BTreeSet::new();
            let mut prev: Option<i64> = None;
            let mut ordered = true;
            for (j, v) in values.iter().enumerate() {
                let Some(n) = as_int(v) else {
                    e.type_invalid(&vp.index(j), v, "int32");
                    continue;
                };
                if is_in && n == 0 {
                    e.invalid(
                        &vp.index(j),
                        Value::from(n),
                        "must not be 0 for the In operator",
                    );
                }
                if !seen.insert(n) {
                    e.duplicate(&vp.index(j), Value::from(n));
                }
                if prev.is_some_and(|pv| pv > n) {
                    ordered = false;
                }
                prev = Some(n);
            }
            if !ordered {
                e.invalid(&vp, Value::Array(values.to_vec()), "must be ordered");
            }
        }
        let cp = ip.child("onPodConditions");
        if on_conds.len() > 20 {
            e.too_many(&cp, on_conds.len(), 20);
        }
        for (j, c) in on_conds.iter().enumerate() {
            let pp = cp.index(j);
            let co = e.elem_obj(c, &pp);
            let t = e.str(co, "type", &pp);
            super::names::qualified_name(e, &pp.child("type"), t);
            match e.str(co, "status", &pp) {
                "" => e.required(
                    &pp.child("status"),
                    "valid values: [\"False\" \"True\" \"Unknown\"]",
                ),
                "True" | "False" | "Unknown" => {}
                other => e.not_supported(
                    &pp.child("status"),
                    Value::from(other),
                    &["False", "True", "Unknown"],
                ),
            }
        }
        if on_exit.is_some() && !on_conds.is_empty() {
            e.invalid_omit(
                &ip,
                "specifying both OnExitCodes and OnPodConditions is not supported",
            );
        }
        if on_exit.is_none() && on_conds.is_empty() {
            e.invalid_omit(
                &ip,
                "specifying one of OnExitCodes and OnPodConditions is required",
            );
        }
    }
}

/// `ValidateJobSpec`: `validateJobSpec` plus the selector rules.
fn job_spec_with_selector(e: &mut Errs, spec: Obj<'_>, p: &Path) {
    job_spec(e, spec, p);
    let sel = e.opt_obj(spec, "selector", p);
    match sel {
        None => e.required(&p.child("selector"), ""),
        Some(s) => {
            validate_label_selector(e, Some(s), &p.child("selector"));
        }
    }
    let mut scratch = Errs::new();
    if !validate_label_selector(&mut scratch, sel, &Path::root("")) {
        let t = peek_obj(spec, "template");
        selector_matches_template(e, &selector_of(sel), t, &p.child("template"), false);
    }
}

fn validate_job(e: &mut Errs, obj: Obj<'_>) {
    validate_object_meta(
        e,
        obj,
        &MetaOpts {
            scope: Scope::Namespaced,
            name_rule: NameRule::Subdomain,
            kube_finalizers: true,
        },
    );
    generated_selector(e, obj, true);
    let spec = e.obj(obj, "spec", &Path::root(""));
    job_spec_with_selector(e, spec, &Path::root("spec"));
    if peek_str(spec, "completionMode") == "Indexed"
        && let Some(c) = spec.raw("completions").and_then(as_int)
        && c > 0
    {
        let name = peek_str(peek_obj(obj, "metadata"), "name");
        let host = format!("{name}-{}", c - 1);
        if !is_dns1123_label(&host).is_empty() {
            e.invalid(
                &Path::root("metadata").child("name"),
                Value::from(name),
                &format!("will not able to create pod with invalid DNS label: {host}"),
            );
        }
    }
}

fn validate_job_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    let p = Path::root("spec");
    let ns = e.obj(new, "spec", &Path::root(""));
    let os = peek_obj(old, "spec");
    job_spec_with_selector(e, ns, &p);
    if peek_str(ns, "completionMode") != "Indexed" {
        immutable_field(e, ns, os, "completions", &p);
    } else if !sem_eq(ns.raw("completions"), os.raw("completions"))
        && let Some(c) = ns.raw("completions")
        && !sem_eq(Some(c), ns.raw("parallelism"))
    {
        e.invalid(
            &p.child("completions"),
            c.clone(),
            "can only be modified in tandem with spec.parallelism",
        );
    }
    immutable_field(e, ns, os, "selector", &p);
    // Suspended jobs that never started may change scheduling directives.
    let suspended = os.raw("suspend").and_then(|v| v.as_bool()) == Some(true);
    let not_started = !peek_obj(old, "status").has("startTime");
    let strip = |t: Option<&Value>| -> Value {
        let mut t = t.cloned().unwrap_or(Value::Null);
        if suspended
            && not_started
            && let Some(m) = t.as_object_mut()
        {
            if let Some(Value::Object(meta)) = m.get_mut("metadata") {
                meta.remove("labels");
                meta.remove("annotations");
            }
            if let Some(Value::Object(s)) = m.get_mut("spec") {
                s.remove("nodeSelector");
                s.remove("tolerations");
                s.remove("schedulingGates");
                if let Some(Value::Object(a)) = s.get_mut("affinity") {
                    a.remove("nodeAffinity");
                }
            }
        }
        t
    };
    let (nt, ot) = (strip(ns.raw("template")), strip(os.raw("template")));
    if !sem_eq(Some(&nt), Some(&ot)) {
        e.invalid(
            &p.child("template"),
            ns.raw("template").cloned().unwrap_or(Value::Null),
            super::meta::FIELD_IMMUTABLE,
        );
    }
    for f in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
    ] {
        immutable(e, ns.raw(f), os.raw(f), &p.child(f));
    }
}

fn cron_job_spec(e: &mut Errs, spec: Obj<'_>, old_spec: Option<Obj<'_>>, p: &Path) {
    let schedule = e.str(spec, "schedule", p);
    let sp = p.child("schedule");
    let tz = e.opt_str(spec, "timeZone", p);
    if schedule.is_empty() {
        e.required(&sp, "");
    } else {
        let allow_tz = old_spec.is_some_and(|o| peek_str(o, "schedule").contains("TZ"));
        if let Err(msg) = parse_cron(schedule) {
            e.invalid(&sp, Value::from(schedule), &msg);
        }
        if allow_tz && schedule.contains("TZ") && tz.is_some() {
            e.invalid(
                &sp,
                Value::from(schedule),
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            );
        } else if !allow_tz && schedule.contains("TZ") {
            e.invalid(
                &sp,
                Value::from(schedule),
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            );
        }
    }
    let sds = e.opt_int(spec, "startingDeadlineSeconds", p);
    e.nonnegative(&p.child("startingDeadlineSeconds"), sds);
    if old_spec.is_none_or(|o| !sem_eq(o.raw("timeZone"), spec.raw("timeZone")))
        && let Some(tz) = tz
    {
        time_zone(e, &p.child("timeZone"), tz);
    }
    match e.str(spec, "concurrencyPolicy", p) {
        "Allow" | "Forbid" | "Replace" => {}
        "" => e.required(&p.child("concurrencyPolicy"), ""),
        other => e.not_supported(
            &p.child("concurrencyPolicy"),
            Value::from(other),
            &["Allow", "Forbid", "Replace"],
        ),
    }
    let jt = e.obj(spec, "jobTemplate", p);
    let jp = p.child("jobTemplate");
    let js = e.obj(jt, "spec", &jp);
    let jsp = jp.child("spec");
    job_spec(e, js, &jsp);
    if let Some(sel) = js.raw("selector") {
        e.invalid(
            &jsp.child("selector"),
            super::meta::selector_value(Some(Obj::of(sel))),
            "`selector` will be auto-generated",
        );
    }
    if js.raw("manualSelector").and_then(|v| v.as_bool()) == Some(true) {
        e.not_supported(
            &jsp.child("manualSelector"),
            Value::from(true),
            &["nil", "false"],
        );
    }
    for f in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        let v = e.opt_i32(spec, f, p);
        e.nonnegative(&p.child(f), v);
    }
}

fn time_zone(e: &mut Errs, p: &Path, tz: &str) {
    if tz.is_empty() {
        e.invalid(
            p,
            Value::from(tz),
            "timeZone must be nil or non-empty string",
        );
        return;
    }
    for part in tz.split('/') {
        let ok_chars = !part.is_empty()
            && part.len() <= 14
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
        if part == "." || part == ".." || part.starts_with('-') || !ok_chars {
            e.invalid(p, Value::from(tz), &format!("unknown time zone {tz}"));
            return;
        }
    }
    if tz.eq_ignore_ascii_case("Local") {
        e.invalid(
            p,
            Value::from(tz),
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        );
    }
}

/// Parses a schedule like `cron.ParseStandard`; the error is its text.
pub(crate) fn parse_cron(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let mut spec = spec.to_string();
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let Some(i) = spec.find(' ') else {
            return Err(
                "recovered from panic: runtime error: slice bounds out of range [:-1]".into(),
            );
        };
        let eq = spec.find('=').unwrap_or(0);
        let loc = spec.get(eq + 1..i).unwrap_or("");
        if loc.is_empty() || loc.contains(' ') {
            return Err(format!(
                "provided bad location {loc}: unknown time zone {loc}"
            ));
        }
        spec = spec.get(i..).unwrap_or("").trim().to_string();
    }
    if spec.starts_with('@') {
        return match spec.as_str() {
            "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight"
            | "@hourly" => Ok(()),
            s => match s.strip_prefix("@every ") {
                Some(d) => parse_go_duration(d)
                    .map_err(|err| format!("failed to parse duration {s}: {err}")),
                None => Err(format!("unrecognized descriptor: {s}")),
            },
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let bounds: [(i64, i64, &[&str], i64); 5] = [
        (0, 59, &[], 0),
        (0, 23, &[], 0),
        (1, 31, &[], 0),
        (1, 12, &MONTHS, 1),
        (0, 6, &DAYS, 0),
    ];
    for (field, (min, max, names, name_base)) in fields.iter().zip(bounds.iter()) {
        for expr in field.split(',').filter(|s| !s.is_empty()) {
            cron_range(expr, *min, *max, names, *name_base)?;
        }
    }
    Ok(())
}

fn cron_int(expr: &str) -> Result<i64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: invalid syntax",
            go_quote(expr)
        ));
    }
    let n: i64 = expr.parse().map_err(|_| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: value out of range",
            go_quote(expr)
        )
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    Ok(n)
}

fn cron_range(
    expr: &str,
    min: i64,
    max: i64,
    names: &[&str],
    name_base: i64,
) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step
        .first()
        .copied()
        .unwrap_or("")
        .split('-')
        .collect();
    let single = low_high.len() == 1;
    let parse = |s: &str| -> Result<i64, String> {
        let lower = s.to_lowercase();
        match names.iter().position(|n| *n == lower) {
            Some(i) => Ok(i64::try_from(i).unwrap_or(0) + name_base),
            None => cron_int(s),
        }
    };
    let first = low_high.first().copied().unwrap_or("");
    let (start, mut end) = if first == "*" || first == "?" {
        (min, max)
    } else {
        let start = parse(first)?;
        let end = match low_high.len() {
            1 => start,
            2 => parse(low_high.get(1).copied().unwrap_or(""))?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let s = cron_int(range_and_step.get(1).copied().unwrap_or(""))?;
            if single {
                end = max;
            }
            s
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

/// Go's `time.ParseDuration` (validity only); the error is its text.
fn parse_go_duration(s: &str) -> Result<(), String> {
    let orig = s;
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    if rest == "0" {
        return Ok(());
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let num = rest.get(..num_len).unwrap_or("");
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        rest = rest.get(num_len..).unwrap_or("");
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_len).unwrap_or("");
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&unit) {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                go_quote(unit),
                go_quote(orig)
            ));
        }
        rest = rest.get(unit_len..).unwrap_or("");
    }
    Ok(())
}

/// Dispatches a `batch` kind. Returns `false` if not handled here.
pub(crate) fn validate_batch(e: &mut Errs, kind: &str, obj: Obj<'_>, old: Option<Obj<'_>>) -> bool {
    let root = Path::root("");
    match (kind, old) {
        ("Job", None) => validate_job(e, obj),
        ("Job", Some(o)) => validate_job_update(e, obj, o),
        ("CronJob", None) => {
            validate_object_meta(
                e,
                obj,
                &MetaOpts {
                    scope: Scope::Namespaced,
                    name_rule: NameRule::Subdomain,
                    kube_finalizers: true,
                },
            );
            let spec = e.obj(obj, "spec", &root);
            cron_job_spec(e, spec, None, &Path::root("spec"));
            let name = peek_str(peek_obj(obj, "metadata"), "name");
            if name.len() > 52 {
                e.invalid(
                    &Path::root("metadata").child("name"),
                    Value::from(name),
                    "must be no more than 52 characters",
                );
            }
        }
        ("CronJob", Some(o)) => {
            validate_object_meta_update(e, obj, o, true);
            let spec = e.obj(obj, "spec", &root);
            cron_job_spec(e, spec, Some(peek_obj(o, "spec")), &Path::root("spec"));
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(restart: &str) -> Value {
        json!({"metadata": {"labels": {"controller-uid": "u1", "job-name": "j", "batch.kubernetes.io/controller-uid": "u1", "batch.kubernetes.io/job-name": "j"}},
               "spec": {"containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}],
                        "restartPolicy": restart, "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}})
    }

    fn job(restart: &str) -> Value {
        json!({"metadata": {"name": "j", "namespace": "d", "uid": "u1", "resourceVersion": "1"},
               "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
                        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}, "template": template(restart)}})
    }

    fn run(kind: &str, obj: &Value, old: Option<&Value>) -> Vec<String> {
        let mut e = Errs::new();
        validate_batch(&mut e, kind, Obj::of(obj), old.map(Obj::of));
        e.list.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn valid_job_passes() {
        assert_eq!(run("Job", &job("Never"), None), Vec::<String>::new());
    }

    #[test]
    fn job_restart_policy_always_is_rejected() {
        assert_eq!(run("Job", &job("Always"), None), vec!["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"".to_string()]);
    }

    #[test]
    fn negative_backoff_limit_is_invalid() {
        let mut j = job("Never");
        j["spec"]["backoffLimit"] = json!(-1);
        assert_eq!(
            run("Job", &j, None),
            vec![
                "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"
                    .to_string()
            ]
        );
    }

    #[test]
    fn completion_mode_must_be_known() {
        let mut j = job("Never");
        j["spec"]["completionMode"] = json!("Sometimes");
        assert_eq!(run("Job", &j, None), vec!["spec.completionMode: Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", \"Indexed\"".to_string()]);
    }

    #[test]
    fn job_template_is_immutable() {
        let old = job("Never");
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:2");
        let out = run("Job", &new, Some(&old));
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("spec.template: Invalid value: {"));
        assert!(out[0].ends_with(": field is immutable"));
    }

    #[test]
    fn job_selector_is_immutable() {
        let old = job("Never");
        let mut new = old.clone();
        new["spec"]["selector"]["matchLabels"]["extra"] = json!("x");
        let out = run("Job", &new, Some(&old));
        assert!(
            out.iter().any(|m| m.starts_with(
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"
            ) && m.ends_with("field is immutable")),
            "{out:?}"
        );
    }

    fn cron(schedule: &str) -> Value {
        let mut jt = job("OnFailure");
        if let Some(s) = jt["spec"].as_object_mut() {
            s.remove("selector");
        }
        json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"schedule": schedule, "concurrencyPolicy": "Allow", "jobTemplate": {"spec": jt["spec"]}}})
    }

    #[test]
    fn cron_schedules_parse_like_robfig() {
        assert_eq!(parse_cron("*/5 * * * *"), Ok(()));
        assert_eq!(parse_cron("0 0 * JAN-MAR mon"), Ok(()));
        assert_eq!(parse_cron("@hourly"), Ok(()));
        assert_eq!(parse_cron("@every 1h30m"), Ok(()));
        assert_eq!(
            parse_cron("* * *"),
            Err("expected exactly 5 fields, found 3: [* * *]".to_string())
        );
        assert_eq!(
            parse_cron("61 * * * *"),
            Err("end of range (61) above maximum (59): 61".to_string())
        );
        assert_eq!(
            parse_cron("* * 0 * *"),
            Err("beginning of range (0) below minimum (1): 0".to_string())
        );
        assert_eq!(
            parse_cron("x * * * *"),
            Err(
                "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
                    .to_string()
            )
        );
        assert_eq!(
            parse_cron("@sometimes"),
            Err("unrecognized descriptor: @sometimes".to_string())
        );
        assert_eq!(
            parse_cron("*/0 * * * *"),
            Err("step of range should be a positive number: */0".to_string())
        );
    }

    #[test]
    fn cron_job_requires_schedule_and_policy() {
        let mut c = cron("");
        c["spec"]["concurrencyPolicy"] = json!("Sometimes");
        assert_eq!(run("CronJob", &c, None), vec![
            "spec.schedule: Required value".to_string(),
            "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"".to_string(),
        ]);
        assert_eq!(
            run("CronJob", &cron("*/5 * * * *"), None),
            Vec::<String>::new()
        );
        assert_eq!(
            run("CronJob", &cron("bad"), None),
            vec![
                "spec.schedule: Invalid value: \"bad\": expected exactly 5 fields, found 1: [bad]"
                    .to_string()
            ]
        );
    }
}
