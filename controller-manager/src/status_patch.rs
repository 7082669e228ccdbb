//! Status writes as JSON merge patches that say everything the new
//! status says, including what it no longer says: counters that dropped to
//! zero are absent from a serialized status (`omitempty` on the wire), and
//! a merge patch that merely leaves them out would keep the old values.

use serde_json::{Map, Value};

/// A JSON merge patch (RFC 7386) turning `old` into `new`: changed
/// members, nested objects diffed, removed members set to `null`, arrays
/// replaced whole. `None` when nothing changed.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut out = Map::new();
            for (key, value) in new {
                match old.get(key) {
                    Some(prior) if prior == value => {}
                    Some(prior) if prior.is_object() && value.is_object() => {
                        if let Some(diff) = merge_diff(prior, value) {
                            out.insert(key.clone(), diff);
                        }
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                }
            }
            for key in old.keys() {
                if !new.contains_key(key) {
                    out.insert(key.clone(), Value::Null);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        _ => Some(new.clone()),
    }
}

/// A merge patch of `status` from `old` to `new`, guarded by the
/// object's `resourceVersion` (the server answers 409 if it moved on).
/// `None` when the status did not change.
pub fn status_patch<T: serde::Serialize>(
    resource_version: Option<&str>,
    old: Option<&T>,
    new: &T,
) -> Option<Value> {
    let old = old
        .and_then(|o| serde_json::to_value(o).ok())
        .unwrap_or_else(|| Value::Object(Map::new()));
    let new = serde_json::to_value(new).ok()?;
    let diff = merge_diff(&old, &new)?;
    let mut patch = Map::new();
    if let Some(rv) = resource_version {
        patch.insert(
            "metadata".into(),
            serde_json::json!({ "resourceVersion": rv }),
        );
    }
    patch.insert("status".into(), diff);
    Some(Value::Object(patch))
}

/// Writes `new` as the status of the object `name` through `api` when it
/// differs from `old` (see [`status_patch`]; `resource_version` guards the
/// write). An object gone meanwhile is not an error.
pub async fn write_status<K, T>(
    api: &kube::Api<K>,
    name: &str,
    resource_version: Option<&str>,
    old: Option<&T>,
    new: &T,
) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    T: serde::Serialize,
{
    let Some(patch) = status_patch(resource_version, old, new) else {
        return Ok(());
    };
    let params = kube::api::PatchParams::default();
    match api
        .patch_status(name, &params, &kube::api::Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::context::is_not_found(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_diff_sets_changes_and_nulls_removals() {
        let old = json!({"a": 1, "b": {"x": [1, 2], "y": "keep"}, "gone": true});
        let new = json!({"a": 1, "b": {"x": [1], "y": "keep"}, "c": "new"});
        assert_eq!(
            merge_diff(&old, &new),
            Some(json!({"b": {"x": [1]}, "c": "new", "gone": null}))
        );
        assert_eq!(merge_diff(&old, &old), None);
    }

    #[test]
    fn status_patch_carries_the_resource_version() {
        let patch = status_patch(
            Some("42"),
            Some(&json!({"active": 1})),
            &json!({"active": 2}),
        );
        assert_eq!(
            patch,
            Some(json!({"metadata": {"resourceVersion": "42"}, "status": {"active": 2}}))
        );
        assert_eq!(
            status_patch(Some("42"), Some(&json!({"a": 1})), &json!({"a": 1})),
            None
        );
    }

    #[test]
    fn counters_that_drop_to_zero_are_cleared() {
        use k8s_openapi::api::apps::v1::ReplicaSetStatus;
        let old = ReplicaSetStatus {
            replicas: 1,
            ready_replicas: Some(1),
            available_replicas: Some(1),
            ..Default::default()
        };
        let new = ReplicaSetStatus::default();
        assert_eq!(
            status_patch(None, Some(&old), &new),
            Some(
                json!({"status": {"replicas": 0, "readyReplicas": null, "availableReplicas": null}})
            )
        );
    }
}
