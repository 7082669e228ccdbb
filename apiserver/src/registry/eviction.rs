//! `pods/eviction`: a pod delete that honours its PodDisruptionBudget, as
//! upstream's eviction subresource.
//!
//! - A pod that is finished, still Pending, or already being deleted is
//!   deleted at once: evicting it disrupts nothing.
//! - Otherwise the one budget selecting the pod must allow a disruption:
//!   its `status.disruptionsAllowed` (kept by the disruption controller) is
//!   decremented and the pod recorded in `status.disruptedPods`, so the
//!   controller does not count it healthy while it goes. No allowance is a
//!   429 that names the budget; more than one budget is a 500.
//! - An unready pod needs no allowance when the budget's
//!   `unhealthyPodEvictionPolicy` is `AlwaysAllow`, or (the default
//!   `IfHealthyBudget`) when the budget is met without it; its delete then
//!   carries the pod's `resourceVersion`, so a pod that became ready
//!   meanwhile is refused (429) rather than deleted.
//! - Before the delete the pod gets the `DisruptionTarget` condition
//!   (reason `EvictionByEvictionAPI`).

use super::Registry;
use super::meta;
use super::options::{DeleteOptions, ListParams};
use super::subresources::update_pod_condition;
use crate::status::ApiError;
use bosun_types::labels::wire::selector_from_wire;
use bosun_types::resources::{ResourceInfo, find_by_plural};
use serde_json::{Value, json};
use std::time::Duration;

/// A budget with more pods than this awaiting deletion refuses evictions:
/// the disruption controller has fallen behind.
const MAX_DISRUPTED_PODS: usize = 2000;
/// Conflicts with other writers are retried this many times…
const CONFLICT_RETRIES: usize = 20;
/// …this far apart.
const CONFLICT_PAUSE: Duration = Duration::from_millis(500);
/// The message of every eviction a budget refuses.
const REFUSED: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

fn pods() -> &'static ResourceInfo {
    find_by_plural("", "v1", "pods").expect("the resource table has pods")
}

fn budgets() -> &'static ResourceInfo {
    find_by_plural("policy", "v1", "poddisruptionbudgets")
        .expect("the resource table has poddisruptionbudgets")
}

/// Whether the pod can go without asking its budget.
fn can_ignore_budget(pod: &Value) -> bool {
    meta::is_deleting(pod) || matches!(phase(pod), "Succeeded" | "Failed" | "Pending")
}

/// Whether the delete must be guarded by the pod's `resourceVersion`, so
/// that it does not race with the pod becoming ready.
fn guards_resource_version(pod: &Value) -> bool {
    !meta::is_deleting(pod) && !matches!(phase(pod), "Succeeded" | "Failed")
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Whether the pod's `Ready` condition is `True`.
fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn status_int(budget: &Value, field: &str) -> i64 {
    budget
        .pointer(&format!("/status/{field}"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Whether the budget selects the pod. A budget whose selector is missing,
/// empty or malformed selects nothing here.
fn selects(budget: &Value, labels: &std::collections::BTreeMap<String, String>) -> bool {
    let Some(wire) = budget
        .pointer("/spec/selector")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
    else {
        return false;
    };
    match selector_from_wire(Some(&wire)) {
        Ok(selector) => !selector.is_empty() && selector.matches(labels),
        Err(_) => false,
    }
}

/// Whether an unready pod may go without taking one of the budget's
/// allowed disruptions.
fn unready_pod_may_go(budget: &Value) -> bool {
    let policy = budget
        .pointer("/spec/unhealthyPodEvictionPolicy")
        .and_then(Value::as_str);
    if policy == Some("AlwaysAllow") {
        return true;
    }
    let desired = status_int(budget, "desiredHealthy");
    status_int(budget, "currentHealthy") >= desired && desired > 0
}

/// The 429 for a budget whose status trails its spec, or whose pod became
/// ready while its eviction was under way.
fn budget_processing(name: &str) -> ApiError {
    ApiError::too_many_requests_because(
        REFUSED,
        10,
        "DisruptionBudget",
        format!("The disruption budget {name} is still being processed by the server."),
    )
}

/// Takes one allowed disruption from `budget` for `pod`, as upstream's
/// check-and-decrement: refuses when the budget's status is stale or
/// allows nothing. `now` stamps the pod in `status.disruptedPods`.
fn take_disruption(budget: &mut Value, pod: &str, now: &str) -> Result<(), ApiError> {
    let name = meta::name(budget).to_owned();
    let generation = meta::metadata(budget)
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if status_int(budget, "observedGeneration") < generation {
        return Err(budget_processing(&name));
    }
    let allowed = status_int(budget, "disruptionsAllowed");
    let forbidden = |why: &str| {
        ApiError::forbidden(format!(
            "poddisruptionbudget.policy \"{name}\" is forbidden: {why}"
        ))
    };
    if allowed < 0 {
        return Err(forbidden("pdb disruptions allowed is negative"));
    }
    let disrupted = budget
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len);
    if disrupted > MAX_DISRUPTED_PODS {
        return Err(forbidden(
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        return Err(ApiError::too_many_requests_because(
            REFUSED,
            0,
            "DisruptionBudget",
            format!(
                "The disruption budget {name} needs {} healthy pods and has {} currently",
                status_int(budget, "desiredHealthy"),
                status_int(budget, "currentHealthy")
            ),
        ));
    }
    let observed = status_int(budget, "observedGeneration");
    let Some(status) = budget.get_mut("status").and_then(Value::as_object_mut) else {
        return Err(budget_processing(&name));
    };
    status.insert("disruptionsAllowed".into(), json!(allowed - 1));
    if allowed == 1 {
        set_disruption_allowed(status, false, observed, now);
    }
    let disrupted = status.entry("disruptedPods").or_insert_with(|| json!({}));
    if !disrupted.is_object() {
        *disrupted = json!({});
    }
    disrupted[pod] = json!(now);
    Ok(())
}

/// Sets the budget's `DisruptionAllowed` condition as upstream's helper:
/// `SufficientPods` when disruptions are allowed, `InsufficientPods` when
/// not; the transition time moves only when the status does.
fn set_disruption_allowed(
    status: &mut serde_json::Map<String, Value>,
    allowed: bool,
    observed_generation: i64,
    now: &str,
) {
    let (value, reason) = match allowed {
        true => ("True", "SufficientPods"),
        false => ("False", "InsufficientPods"),
    };
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    let Some(list) = conditions.as_array_mut() else {
        return;
    };
    let mut condition = json!({
        "type": "DisruptionAllowed",
        "status": value,
        "reason": reason,
        "message": "",
        "observedGeneration": observed_generation,
        "lastTransitionTime": now,
    });
    match list.iter_mut().find(|c| c["type"] == "DisruptionAllowed") {
        Some(old) => {
            if old["status"] == value
                && let Some(since) = old.get("lastTransitionTime")
            {
                condition["lastTransitionTime"] = since.clone();
            }
            *old = condition;
        }
        None => list.push(condition),
    }
}

impl Registry {
    /// Evicts a pod (`POST pods/NAME/eviction`): deletes it with the
    /// Eviction's delete options if its PodDisruptionBudget allows.
    /// `dry_run` is the request's `dryRun=All`.
    pub async fn evict(
        &self,
        namespace: &str,
        name: &str,
        eviction: &Value,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        if meta::name(eviction) != name {
            return Err(ApiError::bad_request(
                "name in URL does not match name in Eviction object",
            ));
        }
        let mut options = DeleteOptions::default()
            .merge_body(eviction.get("deleteOptions").unwrap_or(&Value::Null))?;
        options.dry_run |= dry_run;
        let client_guard = options.precondition_resource_version.is_some();

        // Pods whose eviction disrupts nothing are deleted straight away;
        // conflicts are retried unless the client named a resourceVersion.
        let mut attempt = 0;
        let pod = loop {
            let pod = self.get(pods(), Some(namespace), name).await?;
            if !can_ignore_budget(&pod) {
                break pod;
            }
            let mut guarded = options.clone();
            if guards_resource_version(&pod) && !client_guard {
                guarded.precondition_resource_version =
                    Some(meta::meta_str(&pod, "resourceVersion").to_owned());
            }
            match self.mark_and_delete(namespace, name, guarded).await {
                Err(e) if e.code == 409 && !client_guard && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(CONFLICT_PAUSE).await;
                }
                done => return done,
            }
        };

        let labels = meta::labels(&pod);
        let params = ListParams::default();
        let (listed, _, _) = self.list_items(budgets(), Some(namespace), &params).await?;
        let matching: Vec<&Value> = listed.iter().filter(|b| selects(b, &labels)).collect();
        let mut guard_for = None;
        match matching.as_slice() {
            [] => {}
            [budget] if !is_ready(&pod) && unready_pod_may_go(budget) => {
                guard_for = Some(meta::name(budget).to_owned());
            }
            [budget] => {
                self.take_disruption_of(namespace, budget, name, options.dry_run)
                    .await?
            }
            _ => {
                return Err(ApiError::failure(
                    500,
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ));
            }
        }
        let mut final_options = options.clone();
        if guard_for.is_some() {
            final_options.precondition_resource_version =
                Some(meta::meta_str(&pod, "resourceVersion").to_owned());
        }
        match self.mark_and_delete(namespace, name, final_options).await {
            Err(e) if e.code == 409 && !client_guard => match guard_for {
                Some(budget) => Err(budget_processing(&budget)),
                None => Err(e),
            },
            done => done,
        }
    }

    /// Takes an allowed disruption from `budget` (as listed) for `pod`,
    /// re-reading it on conflict; a dry run only checks.
    async fn take_disruption_of(
        &self,
        namespace: &str,
        budget: &Value,
        pod: &str,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        let now = meta::now_rfc3339();
        if dry_run {
            return take_disruption(&mut budget.clone(), pod, &now);
        }
        self.update_stored(budgets(), Some(namespace), meta::name(budget), |stored| {
            take_disruption(stored, pod, &now)
        })
        .await
        .map(|_| ())
    }

    /// Marks the pod `DisruptionTarget` and deletes it with `options`. The
    /// preconditions hold for the mark; the delete then expects the
    /// revision the mark wrote.
    async fn mark_and_delete(
        &self,
        namespace: &str,
        name: &str,
        mut options: DeleteOptions,
    ) -> Result<(), ApiError> {
        let pods = pods();
        if !options.dry_run {
            let revision = self
                .update_stored(pods, Some(namespace), name, |pod| {
                    check_preconditions(pod, &options)?;
                    update_pod_condition(
                        pod,
                        json!({
                            "type": "DisruptionTarget",
                            "status": "True",
                            "reason": "EvictionByEvictionAPI",
                            "message": "Eviction API: evicting",
                            "lastProbeTime": null,
                        }),
                    );
                    Ok(())
                })
                .await?;
            if options.precondition_resource_version.is_some() {
                options.precondition_resource_version = Some(revision.to_string());
            }
        }
        self.delete(pods, Some(namespace), name, &options)
            .await
            .map(|_| ())
    }
}

/// The delete options' preconditions checked against the pod as stored.
fn check_preconditions(pod: &Value, options: &DeleteOptions) -> Result<(), ApiError> {
    let name = meta::name(pod);
    if let Some(uid) = options
        .precondition_uid
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        let actual = meta::meta_str(pod, "uid");
        if uid != actual {
            return Err(ApiError::conflict(
                pods(),
                name,
                &format!(
                    "the UID in the precondition ({uid}) does not match the UID in record ({actual}). The object might have been deleted and then recreated"
                ),
            ));
        }
    }
    if let Some(rv) = options
        .precondition_resource_version
        .as_deref()
        .filter(|r| !r.is_empty())
    {
        let actual = meta::meta_str(pod, "resourceVersion");
        if rv != actual {
            return Err(ApiError::conflict(
                pods(),
                name,
                &format!(
                    "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({actual}). The object might have been modified"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(allowed: i64, generation: i64, observed: i64) -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "ns", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 2},
            "status": {"disruptionsAllowed": allowed, "desiredHealthy": 2, "currentHealthy": 2 + allowed,
                       "expectedPods": 3, "observedGeneration": observed},
        })
    }

    #[test]
    fn a_disruption_is_taken_and_the_pod_recorded() {
        let mut b = budget(2, 1, 1);
        take_disruption(&mut b, "web-1", "2026-01-01T00:00:00Z").expect("allowed");
        assert_eq!(b["status"]["disruptionsAllowed"], 1);
        assert_eq!(
            b["status"]["disruptedPods"]["web-1"],
            "2026-01-01T00:00:00Z"
        );
        assert!(b["status"].get("conditions").is_none());
    }

    #[test]
    fn taking_the_last_disruption_flips_the_condition() {
        let mut b = budget(1, 1, 1);
        take_disruption(&mut b, "web-1", "2026-01-01T00:00:00Z").expect("allowed");
        assert_eq!(b["status"]["disruptionsAllowed"], 0);
        let condition = &b["status"]["conditions"][0];
        assert_eq!(condition["type"], "DisruptionAllowed");
        assert_eq!(condition["status"], "False");
        assert_eq!(condition["reason"], "InsufficientPods");
    }

    #[test]
    fn no_allowed_disruption_is_a_429_naming_the_budget() {
        let mut b = budget(0, 1, 1);
        let e = take_disruption(&mut b, "web-1", "now").expect_err("refused");
        assert_eq!((e.code, e.reason), (429, "TooManyRequests"));
        assert_eq!(e.message, REFUSED);
        let status = e.to_status();
        assert_eq!(status["details"]["causes"][0]["reason"], "DisruptionBudget");
        assert_eq!(
            status["details"]["causes"][0]["message"],
            "The disruption budget web needs 2 healthy pods and has 2 currently"
        );
        assert!(status["details"].get("retryAfterSeconds").is_none());
        assert_eq!(e.retry_after, None);
    }

    #[test]
    fn a_stale_budget_status_asks_to_retry_later() {
        let mut b = budget(3, 2, 1);
        let e = take_disruption(&mut b, "web-1", "now").expect_err("stale");
        assert_eq!(e.code, 429);
        assert_eq!(e.retry_after, Some(10));
        assert_eq!(
            e.to_status()["details"]["causes"][0]["message"],
            "The disruption budget web is still being processed by the server."
        );
    }

    #[test]
    fn a_negative_allowance_is_forbidden() {
        let mut b = budget(-1, 1, 1);
        let e = take_disruption(&mut b, "web-1", "now").expect_err("forbidden");
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "poddisruptionbudget.policy \"web\" is forbidden: pdb disruptions allowed is negative"
        );
    }

    #[test]
    fn empty_or_missing_selectors_select_nothing() {
        let labels = [("app".to_owned(), "web".to_owned())].into_iter().collect();
        assert!(selects(&budget(1, 1, 1), &labels));
        let mut b = budget(1, 1, 1);
        b["spec"]["selector"] = json!({});
        assert!(!selects(&b, &labels));
        b["spec"].as_object_mut().expect("spec").remove("selector");
        assert!(!selects(&b, &labels));
    }

    #[test]
    fn unready_pods_need_no_allowance_when_the_budget_is_met_or_always_allows() {
        let mut b = budget(0, 1, 1);
        assert!(unready_pod_may_go(&b), "2 healthy of 2 desired");
        b["status"]["currentHealthy"] = json!(1);
        assert!(!unready_pod_may_go(&b));
        b["spec"]["unhealthyPodEvictionPolicy"] = json!("AlwaysAllow");
        assert!(unready_pod_may_go(&b));
    }

    #[test]
    fn finished_pending_and_deleting_pods_ignore_budgets() {
        for phase in ["Succeeded", "Failed", "Pending"] {
            assert!(can_ignore_budget(&json!({"status": {"phase": phase}})));
        }
        assert!(!can_ignore_budget(&json!({"status": {"phase": "Running"}})));
        assert!(can_ignore_budget(&json!({
            "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"phase": "Running"}
        })));
        assert!(guards_resource_version(
            &json!({"status": {"phase": "Pending"}})
        ));
        assert!(!guards_resource_version(
            &json!({"status": {"phase": "Failed"}})
        ));
    }

    mod registry {
        #![allow(clippy::unwrap_used)]
        use super::super::*;
        use crate::registry::options::WriteOptions;
        use crate::registry::services::ServiceRanges;
        use bosun_storage::EmbeddedStore;
        use std::sync::Arc;

        async fn fixture() -> (Registry, tempfile::TempDir) {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
            let ranges = ServiceRanges::parse("10.96.0.0/12", "30000-32767").unwrap();
            let registry = Registry::new(store, ranges);
            let namespaces = find_by_plural("", "v1", "namespaces").unwrap();
            let ns = json!({"metadata": {"name": "default"}});
            registry
                .create(namespaces, None, ns, &WriteOptions::default())
                .await
                .unwrap();
            (registry, dir)
        }

        /// A pod bound to a node, in `phase`, Ready or not.
        async fn pod(r: &Registry, name: &str, phase: &str, ready: bool) {
            let pod = json!({
                "metadata": {"name": name, "labels": {"app": "web"}},
                "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nginx"}]},
            });
            r.create(pods(), Some("default"), pod, &WriteOptions::default())
                .await
                .unwrap();
            let ready = if ready { "True" } else { "False" };
            r.update_stored(pods(), Some("default"), name, |p| {
                p["status"] =
                    json!({"phase": phase, "conditions": [{"type": "Ready", "status": ready}]});
                Ok(())
            })
            .await
            .unwrap();
        }

        /// A budget over `app=web` whose status allows `allowed`.
        async fn budget(r: &Registry, name: &str, allowed: i64) {
            let budget = json!({
                "metadata": {"name": name},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
            });
            r.create(budgets(), Some("default"), budget, &WriteOptions::default())
                .await
                .unwrap();
            r.update_stored(budgets(), Some("default"), name, |b| {
                b["status"] = json!({"disruptionsAllowed": allowed, "currentHealthy": 1 + allowed,
                    "desiredHealthy": 1, "expectedPods": 1 + allowed, "observedGeneration": 1});
                Ok(())
            })
            .await
            .unwrap();
        }

        fn eviction(name: &str) -> Value {
            json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}})
        }

        async fn stored(r: &Registry, resource: &ResourceInfo, name: &str) -> Value {
            r.get(resource, Some("default"), name).await.unwrap()
        }

        #[tokio::test]
        async fn an_allowed_eviction_takes_the_disruption_marks_and_deletes_the_pod() {
            let (r, _dir) = fixture().await;
            pod(&r, "a", "Running", true).await;
            pod(&r, "b", "Running", true).await;
            budget(&r, "web", 1).await;
            r.evict("default", "a", &eviction("a"), false)
                .await
                .unwrap();
            let a = stored(&r, pods(), "a").await;
            assert!(meta::is_deleting(&a), "bound pods go gracefully: {a}");
            let conditions = a["status"]["conditions"].as_array().unwrap();
            let target = conditions
                .iter()
                .find(|c| c["type"] == "DisruptionTarget")
                .unwrap();
            assert_eq!(target["reason"], "EvictionByEvictionAPI");
            let b = stored(&r, budgets(), "web").await;
            assert_eq!(b["status"]["disruptionsAllowed"], 0);
            assert!(b["status"]["disruptedPods"]["a"].is_string(), "{b}");
            // The budget is spent: the next pod is refused and untouched.
            let e = r
                .evict("default", "b", &eviction("b"), false)
                .await
                .unwrap_err();
            assert_eq!(e.code, 429);
            assert!(!meta::is_deleting(&stored(&r, pods(), "b").await));
            // A pod already going is evicted again without asking.
            r.evict("default", "a", &eviction("a"), false)
                .await
                .unwrap();
        }

        #[tokio::test]
        async fn a_dry_run_checks_the_budget_and_changes_nothing() {
            let (r, _dir) = fixture().await;
            pod(&r, "a", "Running", true).await;
            budget(&r, "web", 1).await;
            r.evict("default", "a", &eviction("a"), true).await.unwrap();
            assert!(!meta::is_deleting(&stored(&r, pods(), "a").await));
            assert_eq!(
                stored(&r, budgets(), "web").await["status"]["disruptionsAllowed"],
                1
            );
        }

        #[tokio::test]
        async fn two_budgets_are_a_500_and_pending_pods_ignore_budgets() {
            let (r, _dir) = fixture().await;
            pod(&r, "a", "Running", true).await;
            pod(&r, "p", "Pending", false).await;
            budget(&r, "one", 1).await;
            budget(&r, "two", 1).await;
            let e = r
                .evict("default", "a", &eviction("a"), false)
                .await
                .unwrap_err();
            assert_eq!((e.code, e.reason), (500, ""));
            assert!(e.message.contains("more than one PodDisruptionBudget"));
            r.evict("default", "p", &eviction("p"), false)
                .await
                .unwrap();
            assert!(meta::is_deleting(&stored(&r, pods(), "p").await));
        }

        #[tokio::test]
        async fn an_unready_pod_goes_when_the_budget_is_met_without_it() {
            let (r, _dir) = fixture().await;
            pod(&r, "sick", "Running", false).await;
            budget(&r, "web", 0).await;
            r.evict("default", "sick", &eviction("sick"), false)
                .await
                .unwrap();
            assert!(meta::is_deleting(&stored(&r, pods(), "sick").await));
            let b = stored(&r, budgets(), "web").await;
            assert!(
                b["status"].get("disruptedPods").is_none(),
                "no disruption taken: {b}"
            );
        }

        #[tokio::test]
        async fn a_name_that_differs_from_the_path_is_a_bad_request() {
            let (r, _dir) = fixture().await;
            pod(&r, "a", "Running", true).await;
            let e = r
                .evict("default", "a", &eviction("b"), false)
                .await
                .unwrap_err();
            assert_eq!(e.code, 400);
            assert_eq!(
                e.message,
                "name in URL does not match name in Eviction object"
            );
        }
    }
}
