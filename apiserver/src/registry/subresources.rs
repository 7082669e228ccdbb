//! Subresources with their own shapes: `scale` (autoscaling/v1 Scale),
//! `pods/binding` (and the legacy `bindings` resource), `pods/eviction`.

use super::meta::{self, metadata_mut};
use super::options::WriteOptions;
use super::scale_apply::{scale_field_manager, to_parent, to_scale};
use super::write::{Tracking, manager_of};
use super::{Outcome, Registry};
use crate::patch;
use crate::status::{ApiError, Cause};
use bosun_types::labels::wire::selector_from_wire;
use bosun_types::resources::{ResourceInfo, find_by_plural};
use serde_json::{Value, json};

fn scale_resource() -> &'static ResourceInfo {
    find_by_plural("autoscaling", "v1", "horizontalpodautoscalers")
        .expect("the resource table has autoscaling/v1")
}

/// The label selector of a scalable object as the string Scale reports.
fn selector_string(resource: &ResourceInfo, object: &Value) -> String {
    if (resource.group, resource.plural) == ("", "replicationcontrollers") {
        let labels = meta::string_map(object.pointer("/spec/selector"));
        return bosun_types::labels::Selector::from_set(&labels).to_string();
    }
    let wire = object
        .pointer("/spec/selector")
        .and_then(|s| serde_json::from_value(s.clone()).ok());
    match selector_from_wire(wire.as_ref()) {
        Ok(selector) => selector.to_string(),
        Err(_) => String::new(),
    }
}

/// The Scale view of a scalable object.
pub fn scale_of(resource: &ResourceInfo, object: &Value) -> Value {
    let mut metadata = json!({});
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta::metadata(object).and_then(|m| m.get(field)) {
            metadata[field] = v.clone();
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": object.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector_string(resource, object),
        },
    })
}

fn scale_invalid(name: &str, field: &str, message: String) -> ApiError {
    // Upstream reports Scale problems against the autoscaling Scale kind.
    let mut err = ApiError::invalid(
        scale_resource(),
        name,
        vec![Cause {
            reason: "FieldValueInvalid".into(),
            message,
            field: field.into(),
        }],
    );
    err.message = err.message.replacen(
        "HorizontalPodAutoscaler.autoscaling",
        "Scale.autoscaling",
        1,
    );
    if let Some(d) = err.details.as_mut() {
        d["kind"] = json!("Scale");
    }
    err
}

impl Registry {
    /// `GET .../scale`.
    pub async fn get_scale(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let object = self.get(resource, namespace, name).await?;
        Ok(scale_of(resource, &object))
    }

    /// `PUT .../scale` (a Scale body) or `PATCH .../scale` (a JSON, merge
    /// or strategic merge patch of the current Scale, or a server-side apply
    /// of a Scale): sets `spec.replicas`
    /// of the object. The writer's ownership of `spec.replicas` is recorded
    /// on the object with subresource `scale`, as upstream's scale handler
    /// does.
    pub async fn update_scale(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        change: ScaleChange<'_>,
        options: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let applied = match &change {
            ScaleChange::Patch(p) if p.kind == patch::PatchKind::Apply => {
                Some(crate::apply::decode_applied(p.body)?)
            }
            _ => None,
        };
        let manager = manager_of(options);
        let tracking = match applied {
            Some(_) => Tracking::Recorded,
            None => Tracking::Update {
                manager,
                subresource: Some("scale"),
            },
        };
        let now = meta::now_rfc3339();
        let outcome: Outcome = self
            .guaranteed_update(
                resource,
                namespace,
                name,
                Some("scale"),
                None,
                options,
                tracking,
                |old| {
                    let current = scale_of(resource, old);
                    let mut owners = None;
                    let wanted = match (&change, &applied) {
                        (_, Some(applied)) => {
                            // Server-side apply: ownership of replicas as
                            // the Scale sees it, merged, then mapped back.
                            let entries =
                                crate::apply::read_managed_fields(old).unwrap_or_default();
                            let mut view = current.clone();
                            crate::apply::write_managed_fields(&mut view, &to_scale(&entries));
                            let merged = scale_field_manager()
                                .apply(Some(&view), applied, manager, options.force, &now)
                                .map_err(|e| crate::apply::api_error(&e))?;
                            owners = Some(to_parent(
                                &entries,
                                &merged.managed_fields,
                                &resource.api_version(),
                            ));
                            let mut wanted = merged.object;
                            if wanted.pointer("/spec/replicas").is_none() {
                                // Replicas no longer applied: they stay as they are.
                                wanted["spec"] = current["spec"].clone();
                            }
                            wanted
                        }
                        (ScaleChange::Replace(scale), None) => scale.clone(),
                        (ScaleChange::Patch(p), None) => {
                            patch::apply(p.kind, &current, p.body, Some(patch::SCALE_SCHEMA))?
                        }
                    };
                    let rv = meta::meta_str(&wanted, "resourceVersion");
                    if !rv.is_empty() && rv != meta::meta_str(old, "resourceVersion") {
                        return Err(ApiError::stale(resource, name));
                    }
                    let replicas = wanted
                        .pointer("/spec/replicas")
                        .cloned()
                        .unwrap_or(json!(0));
                    let Some(replicas) = replicas.as_i64() else {
                        return Err(ApiError::bad_request("spec.replicas must be an integer"));
                    };
                    if replicas < 0 {
                        return Err(scale_invalid(
                            name,
                            "spec.replicas",
                            format!(
                                "Invalid value: {replicas}: must be greater than or equal to 0"
                            ),
                        ));
                    }
                    let mut new = old.clone();
                    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                        spec.insert("replicas".into(), json!(replicas));
                    } else if let Some(map) = new.as_object_mut() {
                        map.insert("spec".into(), json!({"replicas": replicas}));
                    }
                    bump_generation_if_changed(&mut new, old);
                    if let Some(entries) = &owners {
                        crate::apply::write_managed_fields(&mut new, entries);
                    }
                    Ok(new)
                },
            )
            .await?;
        Ok(scale_of(resource, &outcome.object))
    }

    /// Binds a pod to a node, as `pods/binding` does: once only.
    pub async fn bind(&self, namespace: &str, pod: &str, binding: &Value) -> Result<(), ApiError> {
        let pods = find_by_plural("", "v1", "pods").expect("the resource table has pods");
        let node = binding
            .pointer("/target/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if node.is_empty() {
            return Err(ApiError::invalid(
                find_by_plural("", "v1", "bindings").unwrap_or(pods),
                pod,
                vec![Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value".into(),
                    field: "target.name".into(),
                }],
            ));
        }
        let binding_conflict = |why: String| {
            let mut e = ApiError::conflict(pods, pod, &why);
            e.message = format!("Operation cannot be fulfilled on pods/binding \"{pod}\": {why}");
            e
        };
        let uid = binding
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty());
        let annotations = binding
            .pointer("/metadata/annotations")
            .and_then(Value::as_object);
        // As upstream: the pod is changed straight in storage (the Binding
        // was what the request validated), edited in place.
        self.update_stored(pods, Some(namespace), pod, |object| {
            if let Some(uid) = uid {
                let stored = meta::metadata(object).and_then(|m| m.get("uid")).and_then(Value::as_str).unwrap_or("");
                if stored != uid {
                    return Err(binding_conflict(format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {stored}"
                    )));
                }
            }
            if meta::is_deleting(object) {
                return Err(binding_conflict(format!("pod {pod} is being deleted, cannot be assigned to a host")));
            }
            let current = object.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("");
            if !current.is_empty() {
                return Err(binding_conflict(format!("pod {pod} is already assigned to node \"{current}\"")));
            }
            let gated = object
                .pointer("/spec/schedulingGates")
                .and_then(Value::as_array)
                .is_some_and(|g| !g.is_empty());
            if gated {
                return Err(binding_conflict(format!("pod {pod} has non-empty .spec.schedulingGates")));
            }
            if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("nodeName".into(), json!(node));
            }
            if let Some(annotations) = annotations.filter(|a| !a.is_empty()) {
                let into = metadata_mut(object)
                    .entry("annotations")
                    .or_insert_with(|| json!({}));
                if let Some(into) = into.as_object_mut() {
                    for (k, v) in annotations {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
            update_pod_condition(object, json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null}));
            Ok(())
        })
        .await
        .map(|_| ())
    }
}

/// How a scale write states the wanted replicas.
#[derive(Debug, Clone)]
pub enum ScaleChange<'a> {
    /// A whole Scale object (PUT).
    Replace(Value),
    /// A patch of the current Scale (PATCH).
    Patch(patch::Patch<'a>),
}

fn bump_generation_if_changed(new: &mut Value, old: &Value) {
    if new.get("spec") != old.get("spec") {
        let generation = meta::metadata(old)
            .and_then(|m| m.get("generation"))
            .and_then(Value::as_i64);
        if let Some(g) = generation {
            metadata_mut(new).insert("generation".into(), json!(g + 1));
        }
    }
}

/// Sets a pod condition as upstream's `UpdatePodCondition`: `condition`
/// (without `lastTransitionTime`) replaces the one of its type or is
/// added; its `lastTransitionTime` is now, unless the status is unchanged,
/// when the old one stays.
pub(super) fn update_pod_condition(object: &mut Value, mut condition: Value) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let status = map.entry("status").or_insert_with(|| json!({}));
    let Some(status) = status.as_object_mut() else {
        return;
    };
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    let Some(list) = conditions.as_array_mut() else {
        return;
    };
    let kind = condition.get("type").cloned();
    let existing = list.iter_mut().find(|c| c.get("type") == kind.as_ref());
    let since = match &existing {
        Some(old) if old.get("status") == condition.get("status") => old
            .get("lastTransitionTime")
            .cloned()
            .unwrap_or(Value::Null),
        _ => json!(meta::now_rfc3339()),
    };
    condition["lastTransitionTime"] = since;
    match existing {
        Some(old) => *old = condition,
        None => list.push(condition),
    }
}
