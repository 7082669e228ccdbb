//! `apps` group: Deployment, ReplicaSet, DaemonSet, StatefulSet,
//! ControllerRevision (`pkg/apis/apps/validation/validation.go` plus the
//! selector-immutability rule from the registry strategies).

use std::collections::BTreeMap;

use serde_json::Value;

use super::access::{Errs, IntOrStr, Obj, Path, peek_arr, peek_obj, peek_str, sem_eq};
use super::meta::{
    MetaOpts, Scope, immutable_field, selector_of, selector_value, validate_label_selector,
    validate_object_meta, validate_object_meta_update,
};
use super::names::{NameRule, dns_label, is_valid_percent};
use super::pod::{VolInfo, selector_matches_template, validate_pod_template_spec};

fn meta(e: &mut Errs, obj: Obj<'_>, rule: NameRule) {
    validate_object_meta(
        e,
        obj,
        &MetaOpts {
            scope: Scope::Namespaced,
            name_rule: rule,
            kube_finalizers: true,
        },
    );
}

/// `ValidatePositiveIntOrPercent`.
pub(crate) fn positive_int_or_percent(e: &mut Errs, p: &Path, v: &Option<IntOrStr<'_>>) {
    match v {
        Some(IntOrStr::Str(s)) => {
            for m in is_valid_percent(s) {
                e.invalid(p, IntOrStr::Str(s).to_value(), &m);
            }
        }
        Some(IntOrStr::Int(i)) => e.nonnegative(p, Some(*i)),
        None => {}
    }
}

fn percent_value(v: &Option<IntOrStr<'_>>) -> Option<i64> {
    match v {
        Some(IntOrStr::Str(s)) if is_valid_percent(s).is_empty() => {
            s.trim_end_matches('%').parse().ok().or(Some(i64::MAX))
        }
        _ => None,
    }
}

/// `getIntOrPercentValue`.
pub(crate) fn int_or_percent_value(v: &Option<IntOrStr<'_>>) -> i64 {
    if let Some(p) = percent_value(v) {
        return p;
    }
    match v {
        Some(IntOrStr::Int(i)) => *i,
        Some(IntOrStr::Str(s)) => s.parse().unwrap_or(0),
        None => 0,
    }
}

/// `IsNotMoreThan100Percent`.
pub(crate) fn not_more_than_100_percent(e: &mut Errs, p: &Path, v: &Option<IntOrStr<'_>>) {
    if let Some(pct) = percent_value(v)
        && pct > 100
        && let Some(val) = v
    {
        e.invalid(p, val.to_value(), "must not be greater than 100%");
    }
}

fn required_selector<'a>(e: &mut Errs, spec: Obj<'a>, p: &Path, what: &str) -> Option<Obj<'a>> {
    let sel = e.opt_obj(spec, "selector", p);
    let sp = p.child("selector");
    match sel {
        None => e.required(&sp, ""),
        Some(s) => {
            validate_label_selector(e, Some(s), &sp);
            if peek_obj(s, "matchLabels").len() + peek_arr(s, "matchExpressions").len() == 0 {
                e.invalid(
                    &sp,
                    selector_value(Some(s)),
                    &format!("empty selector is invalid for {what}"),
                );
            }
        }
    }
    sel
}

/// `ValidatePodTemplateSpecForReplicaSet` (also used by Deployment).
fn template_for_replica_set(
    e: &mut Errs,
    spec: Obj<'_>,
    sel: Option<Obj<'_>>,
    p: &Path,
    kind: &str,
) {
    let tp = p.child("template");
    let t = e.obj(spec, "template", p);
    let mut scratch = Errs::new();
    if validate_label_selector(&mut scratch, sel, &Path::root("")) {
        e.invalid(
            &p.child("selector"),
            selector_value(sel),
            "invalid label selector",
        );
        return;
    }
    selector_matches_template(e, &selector_of(sel), t, &tp, true);
    validate_pod_template_spec(e, t, &tp, &BTreeMap::new());
    restart_always(e, t, &tp, kind);
}

fn restart_always(e: &mut Errs, t: Obj<'_>, tp: &Path, kind: &str) {
    let ts = peek_obj(t, "spec");
    let rp = peek_str(ts, "restartPolicy");
    if rp != "Always" {
        e.not_supported(
            &tp.child("spec").child("restartPolicy"),
            Value::from(rp),
            &["Always"],
        );
    }
    if ts.has("activeDeadlineSeconds") {
        e.forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {kind} is not Supported"),
        );
    }
}

fn deployment_spec(e: &mut Errs, obj: Obj<'_>) {
    let p = Path::root("spec");
    let spec = e.obj(obj, "spec", &Path::root(""));
    let replicas = e.opt_i32(spec, "replicas", &p);
    e.nonnegative(&p.child("replicas"), replicas);
    let sel = required_selector(e, spec, &p, "deployment");
    template_for_replica_set(e, spec, sel, &p, "Deployment");

    let sp = p.child("strategy");
    let strategy = e.obj(spec, "strategy", &p);
    match e.str(strategy, "type", &sp) {
        "Recreate" => {
            if strategy.has("rollingUpdate") {
                e.forbidden(
                    &sp.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                );
            }
        }
        "RollingUpdate" => match e.opt_obj(strategy, "rollingUpdate", &sp) {
            None => e.required(
                &sp.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            ),
            Some(ru) => {
                let rp = sp.child("rollingUpdate");
                let mu = e.opt_int_or_str(ru, "maxUnavailable", &rp);
                let ms = e.opt_int_or_str(ru, "maxSurge", &rp);
                positive_int_or_percent(e, &rp.child("maxUnavailable"), &mu);
                positive_int_or_percent(e, &rp.child("maxSurge"), &ms);
                if int_or_percent_value(&mu) == 0 && int_or_percent_value(&ms) == 0 {
                    let v = mu
                        .as_ref()
                        .map(|x| x.to_value())
                        .unwrap_or_else(IntOrStr::zero_value);
                    e.invalid(
                        &rp.child("maxUnavailable"),
                        v,
                        "may not be 0 when `maxSurge` is 0",
                    );
                }
                not_more_than_100_percent(e, &rp.child("maxUnavailable"), &mu);
            }
        },
        _ => e.not_supported(&sp, strategy.to_value(), &["Recreate", "RollingUpdate"]),
    }
    let mrs = e.opt_i32(spec, "minReadySeconds", &p);
    e.nonnegative(&p.child("minReadySeconds"), mrs);
    let rhl = e.opt_i32(spec, "revisionHistoryLimit", &p);
    e.nonnegative(&p.child("revisionHistoryLimit"), rhl);
    if let Some(pds) = e.opt_i32(spec, "progressDeadlineSeconds", &p) {
        e.nonnegative(&p.child("progressDeadlineSeconds"), Some(pds));
        if pds <= mrs.unwrap_or(0) {
            e.invalid(
                &p.child("progressDeadlineSeconds"),
                Value::from(pds),
                "must be greater than minReadySeconds",
            );
        }
    }
}

fn replica_set_spec(e: &mut Errs, obj: Obj<'_>) {
    let p = Path::root("spec");
    let spec = e.obj(obj, "spec", &Path::root(""));
    let replicas = e.opt_i32(spec, "replicas", &p);
    e.nonnegative(&p.child("replicas"), replicas);
    let mrs = e.opt_i32(spec, "minReadySeconds", &p);
    e.nonnegative(&p.child("minReadySeconds"), mrs);
    let sel = required_selector(e, spec, &p, "deployment");
    template_for_replica_set(e, spec, sel, &p, "ReplicaSet");
}

fn daemon_set_spec(e: &mut Errs, obj: Obj<'_>) {
    let p = Path::root("spec");
    let spec = e.obj(obj, "spec", &Path::root(""));
    let sel = e.opt_obj(spec, "selector", &p);
    let bad = validate_label_selector(e, sel, &p.child("selector"));
    let t = e.obj(spec, "template", &p);
    let tp = p.child("template");
    if !bad {
        selector_matches_template(e, &selector_of(sel), t, &tp, false);
    }
    if let Some(s) = sel
        && peek_obj(s, "matchLabels").len() + peek_arr(s, "matchExpressions").len() == 0
    {
        e.invalid(
            &p.child("selector"),
            selector_value(Some(s)),
            "empty selector is invalid for daemonset",
        );
    }
    validate_pod_template_spec(e, t, &tp, &BTreeMap::new());
    restart_always(e, t, &tp, "DaemonSet");
    let mrs = e.opt_i32(spec, "minReadySeconds", &p);
    e.nonnegative(&p.child("minReadySeconds"), mrs);
    let sp = p.child("updateStrategy");
    let strategy = e.obj(spec, "updateStrategy", &p);
    match e.str(strategy, "type", &sp) {
        "OnDelete" => {}
        "RollingUpdate" => match e.opt_obj(strategy, "rollingUpdate", &sp) {
            None => e.required(&sp.child("rollingUpdate"), ""),
            Some(ru) => {
                let rp = sp.child("rollingUpdate");
                let mu = e.opt_int_or_str(ru, "maxUnavailable", &rp);
                let ms = e.opt_int_or_str(ru, "maxSurge", &rp);
                positive_int_or_percent(e, &rp.child("maxUnavailable"), &mu);
                positive_int_or_percent(e, &rp.child("maxSurge"), &ms);
                not_more_than_100_percent(e, &rp.child("maxUnavailable"), &mu);
                not_more_than_100_percent(e, &rp.child("maxSurge"), &ms);
                let has_unavailable = int_or_percent_value(&mu) != 0;
                let has_surge = int_or_percent_value(&ms) != 0;
                if has_unavailable && has_surge {
                    let v = ms
                        .as_ref()
                        .map(|x| x.to_value())
                        .unwrap_or_else(IntOrStr::zero_value);
                    e.invalid(
                        &rp.child("maxSurge"),
                        v,
                        "may not be set when maxUnavailable is non-zero",
                    );
                } else if !has_unavailable && !has_surge {
                    e.required(
                        &rp.child("maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    );
                }
            }
        },
        _ => e.not_supported(&sp, strategy.to_value(), &["RollingUpdate", "OnDelete"]),
    }
    let rhl = e.opt_i32(spec, "revisionHistoryLimit", &p);
    e.nonnegative(&p.child("revisionHistoryLimit"), rhl);
}

fn stateful_set_spec(e: &mut Errs, obj: Obj<'_>, update: bool) {
    let p = Path::root("spec");
    let spec = e.obj(obj, "spec", &Path::root(""));
    match e.str(spec, "podManagementPolicy", &p) {
        "" => e.required(&p.child("podManagementPolicy"), ""),
        "OrderedReady" | "Parallel" => {}
        other => e.invalid(
            &p.child("podManagementPolicy"),
            Value::from(other),
            "must be 'OrderedReady' or 'Parallel'",
        ),
    }
    let usp = p.child("updateStrategy");
    let strategy = e.obj(spec, "updateStrategy", &p);
    match e.str(strategy, "type", &usp) {
        "" => e.required(&usp, ""),
        "OnDelete" => {
            if let Some(ru) = strategy.raw("rollingUpdate") {
                e.invalid(
                    &usp.child("rollingUpdate"),
                    ru.clone(),
                    "only allowed for updateStrategy 'RollingUpdate'",
                );
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = e.opt_obj(strategy, "rollingUpdate", &usp) {
                let rp = usp.child("rollingUpdate");
                let part = e.opt_i32(ru, "partition", &rp);
                e.nonnegative(&rp.child("partition"), Some(part.unwrap_or(0)));
                let mu = e.opt_int_or_str(ru, "maxUnavailable", &rp);
                if let Some(val) = &mu {
                    positive_int_or_percent(e, &rp.child("maxUnavailable"), &mu);
                    if int_or_percent_value(&mu) == 0 {
                        e.invalid(&rp.child("maxUnavailable"), val.to_value(), "cannot be 0");
                    }
                    not_more_than_100_percent(e, &rp.child("maxUnavailable"), &mu);
                }
            }
        }
        _ => e.invalid(
            &usp,
            strategy.to_value(),
            "must be 'RollingUpdate' or 'OnDelete'",
        ),
    }
    if let Some(pol) = e.opt_obj(spec, "persistentVolumeClaimRetentionPolicy", &p) {
        let pp = p.child("persistentVolumeClaimRetentionPolicy");
        for f in ["whenDeleted", "whenScaled"] {
            let v = e.str(pol, f, &pp);
            if v != "Retain" && v != "Delete" {
                e.not_supported(&pp.child(f), Value::from(v), &["Retain", "Delete"]);
            }
        }
    }
    let vp = p.child("volumeClaimTemplates");
    let mut extra = BTreeMap::new();
    for (i, v) in e.arr(spec, "volumeClaimTemplates", &p).iter().enumerate() {
        let ip = vp.index(i);
        let t = e.elem_obj(v, &ip);
        if !update {
            let ts = e.obj(t, "spec", &ip);
            super::core::pvc_spec(e, ts, &ip.child("spec"));
        }
        let name = peek_str(peek_obj(t, "metadata"), "name");
        extra.insert(
            name.to_string(),
            VolInfo {
                is_pvc: true,
                is_image: false,
            },
        );
    }
    let replicas = e.opt_i32(spec, "replicas", &p);
    e.nonnegative(&p.child("replicas"), replicas);
    let mrs = e.opt_i32(spec, "minReadySeconds", &p);
    e.nonnegative(&p.child("minReadySeconds"), mrs);
    if let Some(ord) = e.opt_obj(spec, "ordinals", &p) {
        let start = e.opt_i32(ord, "start", &p.child("ordinals"));
        e.nonnegative(&p.child("ordinals.start"), Some(start.unwrap_or(0)));
    }
    let service_name = e.str(spec, "serviceName", &p);
    if !update && !service_name.is_empty() {
        dns_label(e, &p.child("serviceName"), service_name);
    }
    let sel = required_selector(e, spec, &p, "statefulset");
    let t = e.obj(spec, "template", &p);
    let tp = p.child("template");
    let mut scratch = Errs::new();
    if validate_label_selector(&mut scratch, sel, &Path::root("")) {
        e.invalid(&p.child("selector"), selector_value(sel), "");
    } else {
        selector_matches_template(e, &selector_of(sel), t, &tp, true);
        // hostname/subdomain are overwritten by the controller: not validated.
        let mut cleaned = t.to_value();
        if let Some(Value::Object(ts)) = cleaned.get_mut("spec") {
            ts.remove("hostname");
            ts.remove("subdomain");
        }
        validate_pod_template_spec(e, Obj::of(&cleaned), &tp, &extra);
    }
    restart_always(e, t, &tp, "StatefulSet");
}

fn stateful_set_update(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    validate_object_meta_update(e, new, old, true);
    stateful_set_spec(e, new, true);
    let mut n = peek_obj(new, "spec").to_value();
    let os = peek_obj(old, "spec");
    if let Some(m) = n.as_object_mut() {
        for f in [
            "replicas",
            "template",
            "updateStrategy",
            "minReadySeconds",
            "ordinals",
            "revisionHistoryLimit",
            "persistentVolumeClaimRetentionPolicy",
        ] {
            match os.raw(f) {
                Some(v) => m.insert(f.into(), v.clone()),
                None => m.remove(f),
            };
        }
    }
    if !sem_eq(Some(&n), Some(&os.to_value())) {
        e.forbidden(
            &Path::root("spec"),
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
    }
}

fn controller_revision(e: &mut Errs, obj: Obj<'_>) {
    meta(e, obj, NameRule::Subdomain);
    if !obj.has("data") {
        e.required(&Path::root("data"), "data is mandatory");
    }
    let rev = e.opt_int(obj, "revision", &Path::root(""));
    e.nonnegative(&Path::root("revision"), rev);
}

fn selector_immutable(e: &mut Errs, new: Obj<'_>, old: Obj<'_>) {
    immutable_field(
        e,
        peek_obj(new, "spec"),
        peek_obj(old, "spec"),
        "selector",
        &Path::root("spec"),
    );
}

/// Dispatches an `apps` kind. Returns `false` if not handled here.
pub(crate) fn validate_apps(e: &mut Errs, kind: &str, obj: Obj<'_>, old: Option<Obj<'_>>) -> bool {
    match (kind, old) {
        ("Deployment", None) => {
            meta(e, obj, NameRule::Subdomain);
            deployment_spec(e, obj);
        }
        ("Deployment", Some(o)) => {
            validate_object_meta_update(e, obj, o, true);
            deployment_spec(e, obj);
            selector_immutable(e, obj, o);
        }
        ("ReplicaSet", None) => {
            meta(e, obj, NameRule::Subdomain);
            replica_set_spec(e, obj);
        }
        ("ReplicaSet", Some(o)) => {
            validate_object_meta_update(e, obj, o, true);
            replica_set_spec(e, obj);
            selector_immutable(e, obj, o);
        }
        ("DaemonSet", None) => {
            meta(e, obj, NameRule::Subdomain);
            daemon_set_spec(e, obj);
        }
        ("DaemonSet", Some(o)) => {
            validate_object_meta_update(e, obj, o, true);
            daemon_set_spec(e, obj);
            selector_immutable(e, obj, o);
        }
        ("StatefulSet", None) => {
            meta(e, obj, NameRule::Label);
            stateful_set_spec(e, obj, false);
        }
        ("StatefulSet", Some(o)) => stateful_set_update(e, obj, o),
        ("ControllerRevision", None) => controller_revision(e, obj),
        ("ControllerRevision", Some(o)) => {
            validate_object_meta_update(e, obj, o, true);
            controller_revision(e, obj);
            immutable_field(e, obj, o, "data", &Path::root(""));
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"},
            "spec": {
                "replicas": 1, "selector": selector, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "template": {"metadata": {"labels": labels}, "spec": {
                    "containers": [{"name": "web", "image": "nginx", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}],
                    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}}
            }
        })
    }

    fn run(kind: &str, obj: &Value, old: Option<&Value>) -> Vec<String> {
        let mut e = Errs::new();
        validate_apps(&mut e, kind, Obj::of(obj), old.map(Obj::of));
        e.list.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn valid_deployment_passes() {
        let d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        assert_eq!(run("Deployment", &d, None), Vec::<String>::new());
    }

    #[test]
    fn deployment_selector_mismatch_points_at_template_labels() {
        let d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "api"}),
        );
        let mut e = Errs::new();
        validate_apps(&mut e, "Deployment", Obj::of(&d), None);
        assert_eq!(e.len(), 1);
        assert_eq!(e.list[0].field, "spec.template.metadata.labels");
        assert_eq!(
            e.list[0].to_string(),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"api\"}: `selector` does not match template `labels`"
        );
    }

    #[test]
    fn missing_selector_is_required() {
        let mut d = deployment(json!({}), json!({"app": "web"}));
        d["spec"].as_object_mut().map(|m| m.remove("selector"));
        assert_eq!(run("Deployment", &d, None), vec![
            "spec.selector: Required value".to_string(),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`".to_string(),
        ]);
    }

    #[test]
    fn empty_selector_is_invalid() {
        let d = deployment(json!({}), json!({"app": "web"}));
        assert_eq!(run("Deployment", &d, None), vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment".to_string()]);
    }

    #[test]
    fn missing_container_image_is_required() {
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        d["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .map(|m| m.remove("image"));
        assert_eq!(
            run("Deployment", &d, None),
            vec!["spec.template.spec.containers[0].image: Required value".to_string()]
        );
    }

    #[test]
    fn zero_surge_and_unavailable_is_rejected() {
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        d["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": 0, "maxSurge": "0%"});
        assert_eq!(run("Deployment", &d, None), vec!["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0".to_string()]);
    }

    #[test]
    fn negative_replicas_and_bad_deadline() {
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        d["spec"]["replicas"] = json!(-1);
        d["spec"]["minReadySeconds"] = json!(700);
        assert_eq!(run("Deployment", &d, None), vec![
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0".to_string(),
            "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds".to_string(),
        ]);
    }

    #[test]
    fn template_restart_policy_must_be_always() {
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        assert_eq!(run("Deployment", &d, None), vec!["spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"".to_string()]);
    }

    #[test]
    fn deployment_selector_is_immutable() {
        let old = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web", "v": "2"}),
        );
        let new = deployment(
            json!({"matchLabels": {"app": "web", "v": "2"}}),
            json!({"app": "web", "v": "2"}),
        );
        assert_eq!(run("Deployment", &new, Some(&old)), vec![
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable".to_string()
        ]);
    }

    #[test]
    fn statefulset_forbids_other_spec_updates() {
        let mut old = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        let spec = old["spec"].as_object_mut().map(|m| {
            m.remove("strategy");
            m.remove("progressDeadlineSeconds");
            m.insert("podManagementPolicy".into(), json!("OrderedReady"));
            m.insert(
                "updateStrategy".into(),
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            m.insert("serviceName".into(), json!("web"));
        });
        assert!(spec.is_some());
        assert_eq!(run("StatefulSet", &old, None), Vec::<String>::new());
        let mut new = old.clone();
        new["spec"]["serviceName"] = json!("other");
        assert_eq!(run("StatefulSet", &new, Some(&old)), vec![
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden".to_string()
        ]);
        old["spec"]["replicas"] = json!(5);
        assert_eq!(run("StatefulSet", &new, Some(&old)).len(), 1);
    }

    #[test]
    fn daemonset_rolling_update_needs_unavailable_or_surge() {
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        if let Some(m) = d["spec"].as_object_mut() {
            m.remove("strategy");
            m.remove("progressDeadlineSeconds");
            m.remove("replicas");
            m.insert("updateStrategy".into(), json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}));
        }
        assert_eq!(run("DaemonSet", &d, None), vec!["spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0".to_string()]);
    }
}
