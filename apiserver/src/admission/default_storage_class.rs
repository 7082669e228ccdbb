//! `DefaultStorageClass`: a PersistentVolumeClaim created without a class
//! gets the cluster's default StorageClass.
//!
//! "Without a class" means `spec.storageClassName` absent or null and no
//! beta class annotation; an empty name is a request for no class and is
//! kept. The default is the class annotated
//! `storageclass.kubernetes.io/is-default-class: "true"` (or the beta
//! annotation); when several are, the newest wins, then the first name.
//! Without a default class the claim is left as it is. Create only.

use crate::registry::meta;
use serde_json::{Value, json};

/// The annotation that marks the default class.
pub const IS_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// Its beta spelling, still honoured upstream.
pub const BETA_IS_DEFAULT_CLASS: &str = "storageclass.beta.kubernetes.io/is-default-class";
/// The beta annotation a claim could name its class with.
pub const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// Whether a claim asked for a class (possibly none, with `""`).
pub fn has_class(claim: &Value) -> bool {
    let annotated = meta::metadata(claim)
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key(BETA_STORAGE_CLASS));
    let named = claim
        .pointer("/spec/storageClassName")
        .is_some_and(|name| !name.is_null());
    annotated || named
}

/// Whether a StorageClass is marked as the default.
pub fn is_default(class: &Value) -> bool {
    let annotations = meta::metadata(class)
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object);
    [IS_DEFAULT_CLASS, BETA_IS_DEFAULT_CLASS].iter().any(|key| {
        annotations
            .and_then(|a| a.get(*key))
            .and_then(Value::as_str)
            == Some("true")
    })
}

/// The name of the default class among `classes`: the most recently
/// created of those marked default, ties going to the first name.
pub fn default_class(classes: &[Value]) -> Option<&str> {
    let created = |class: &Value| meta::parse_timestamp(meta::meta_str(class, "creationTimestamp"));
    classes
        .iter()
        .filter(|class| is_default(class))
        .min_by(|a, b| {
            created(b)
                .cmp(&created(a))
                .then_with(|| meta::name(a).cmp(meta::name(b)))
        })
        .map(meta::name)
}

/// Sets the default class on a claim that has none; `classes` are the
/// cluster's StorageClasses. A claim without a `spec` object is left for
/// validation to reject.
pub fn admit(claim: &mut Value, classes: &[Value]) {
    if has_class(claim) {
        return;
    }
    let Some(name) = default_class(classes) else {
        return;
    };
    if let Some(spec) = claim.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("storageClassName".into(), json!(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, created: &str, annotation: Option<(&str, &str)>) -> Value {
        let mut class =
            json!({"metadata": {"name": name, "creationTimestamp": created}, "provisioner": "p"});
        if let Some((key, value)) = annotation {
            class["metadata"]["annotations"] = json!({key: value});
        }
        class
    }

    fn claim(spec: Value) -> Value {
        json!({"metadata": {"name": "data"}, "spec": spec})
    }

    #[test]
    fn a_claim_without_a_class_gets_the_default() {
        let classes = [
            class("slow", "2024-01-01T00:00:00Z", None),
            class(
                "standard",
                "2024-01-01T00:00:00Z",
                Some((IS_DEFAULT_CLASS, "true")),
            ),
        ];
        let mut c = claim(json!({"accessModes": ["ReadWriteOnce"]}));
        admit(&mut c, &classes);
        assert_eq!(c["spec"]["storageClassName"], "standard");
        let mut null = claim(json!({"storageClassName": null}));
        admit(&mut null, &classes);
        assert_eq!(null["spec"]["storageClassName"], "standard");
    }

    #[test]
    fn an_explicit_class_even_empty_is_kept() {
        let classes = [class(
            "standard",
            "2024-01-01T00:00:00Z",
            Some((IS_DEFAULT_CLASS, "true")),
        )];
        let mut none = claim(json!({"storageClassName": ""}));
        admit(&mut none, &classes);
        assert_eq!(none["spec"]["storageClassName"], "");
        let mut named = claim(json!({"storageClassName": "fast"}));
        admit(&mut named, &classes);
        assert_eq!(named["spec"]["storageClassName"], "fast");
        let mut beta = claim(json!({}));
        beta["metadata"]["annotations"] = json!({BETA_STORAGE_CLASS: "fast"});
        admit(&mut beta, &classes);
        assert!(beta["spec"].get("storageClassName").is_none());
    }

    #[test]
    fn without_a_default_class_nothing_changes() {
        let classes = [
            class("a", "2024-01-01T00:00:00Z", None),
            class(
                "b",
                "2024-01-01T00:00:00Z",
                Some((IS_DEFAULT_CLASS, "false")),
            ),
        ];
        let mut c = claim(json!({}));
        admit(&mut c, &classes);
        assert_eq!(c, claim(json!({})));
    }

    #[test]
    fn the_newest_default_wins_then_the_first_name() {
        let classes = [
            class(
                "old",
                "2024-01-01T00:00:00Z",
                Some((IS_DEFAULT_CLASS, "true")),
            ),
            class(
                "zeta",
                "2025-06-01T00:00:00Z",
                Some((BETA_IS_DEFAULT_CLASS, "true")),
            ),
            class(
                "alpha",
                "2025-06-01T00:00:00Z",
                Some((IS_DEFAULT_CLASS, "true")),
            ),
            class("newest", "2026-01-01T00:00:00Z", None),
        ];
        assert_eq!(default_class(&classes), Some("alpha"));
        assert_eq!(default_class(&classes[..1]), Some("old"));
        assert_eq!(default_class(&[]), None);
    }
}
