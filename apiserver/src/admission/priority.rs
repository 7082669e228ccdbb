//! `Priority`: a pod's `spec.priority` (and `spec.preemptionPolicy`) come
//! from its PriorityClass, never from the client.
//!
//! * Pod create: a named class (`spec.priorityClassName`) must exist; a pod
//!   without one takes the cluster's global default class (and its name),
//!   or priority 0 with `PreemptLowerPriority` when there is none. A
//!   priority or preemption policy the client sent must equal the computed
//!   one. Refusals are 403 Forbidden, as upstream's.
//! * Pod update: a body without priority or preemption policy keeps the
//!   stored ones (validation forbids changing them).
//! * PriorityClass create and update: at most one class may be the global
//!   default. (The value cap and the reserved `system-` names are checked by
//!   PriorityClass validation, which owns them upstream too.)
//!
//! The two system classes are created at start-up ([`SYSTEM_CLASSES`]).

use super::Operation;
use serde_json::{Value, json};

/// The class of pods that must stay on their node.
pub const SYSTEM_NODE_CRITICAL: &str = "system-node-critical";
/// The class of pods the cluster needs but that may move between nodes.
pub const SYSTEM_CLUSTER_CRITICAL: &str = "system-cluster-critical";
/// The priority of `system-cluster-critical`; `system-node-critical` is
/// 1000 above it.
pub const SYSTEM_CRITICAL_PRIORITY: i64 = 2_000_000_000;
/// The highest value a user's (non-system) PriorityClass may have.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;
/// The priority of a pod when no class is named and none is the default.
pub const DEFAULT_PRIORITY: i64 = 0;
/// The preemption policy of a pod when no class is named and none is the
/// default.
pub const DEFAULT_PREEMPTION_POLICY: &str = "PreemptLowerPriority";

/// A PriorityClass every cluster has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemClass {
    /// `metadata.name`.
    pub name: &'static str,
    /// `value`.
    pub value: i64,
    /// `description`.
    pub description: &'static str,
}

/// The system PriorityClasses: the only classes whose names may start with
/// `system-`, and the only ones above [`HIGHEST_USER_DEFINABLE_PRIORITY`].
pub const SYSTEM_CLASSES: [SystemClass; 2] = [
    SystemClass {
        name: SYSTEM_NODE_CRITICAL,
        value: SYSTEM_CRITICAL_PRIORITY + 1000,
        description: "For system-critical pods that have to keep running on the node they were placed on.",
    },
    SystemClass {
        name: SYSTEM_CLUSTER_CRITICAL,
        value: SYSTEM_CRITICAL_PRIORITY,
        description: "For system-critical pods the cluster needs running, which may be moved to another node when necessary.",
    },
];

impl SystemClass {
    /// The PriorityClass object to create.
    pub fn object(&self) -> Value {
        json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": self.name},
            "value": self.value,
            "description": self.description,
        })
    }
}

/// Why the plugin refuses a write (each answered 403 Forbidden).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriorityError {
    /// The pod names a class that does not exist.
    #[error("no PriorityClass with name {0} was found")]
    NoSuchClass(String),
    /// The pod sent a priority other than its class gives.
    #[error(
        "the integer value of priority ({provided}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name"
    )]
    PriorityMismatch {
        /// What the pod sent.
        provided: String,
        /// What the class gives.
        computed: i64,
    },
    /// The pod sent a preemption policy other than its class gives.
    #[error(
        "the string value of PreemptionPolicy ({provided}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name"
    )]
    PreemptionPolicyMismatch {
        /// What the pod sent.
        provided: String,
        /// What the class gives.
        computed: String,
    },
    /// Another class is already the global default.
    #[error("PriorityClass {0} is already marked as default. Only one default can exist")]
    DefaultExists(String),
}

/// What admission reads of a PriorityClass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassFacts {
    /// `metadata.name`.
    pub name: String,
    /// `value`.
    pub value: i64,
    /// `globalDefault`.
    pub global_default: bool,
    /// `preemptionPolicy` (defaulted on every stored class).
    pub preemption_policy: Option<String>,
}

/// A PriorityClass as stored, reduced to what [`ClassFacts`] holds.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StoredClass {
    metadata: StoredName,
    value: i64,
    global_default: bool,
    preemption_policy: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StoredName {
    name: String,
}

impl From<StoredClass> for ClassFacts {
    fn from(class: StoredClass) -> Self {
        Self {
            name: class.metadata.name,
            value: class.value,
            global_default: class.global_default,
            preemption_policy: class.preemption_policy,
        }
    }
}

impl ClassFacts {
    /// Reads a PriorityClass object; missing or mistyped fields read as
    /// Go's zero values.
    pub fn of(class: &Value) -> Self {
        Self {
            name: class
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            value: class.get("value").and_then(Value::as_i64).unwrap_or(0),
            global_default: class
                .get("globalDefault")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            preemption_policy: class
                .get("preemptionPolicy")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// Where a new pod's priority comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The class the pod names.
    Named(&'a ClassFacts),
    /// The global default class, if there is one (the pod names none).
    Default(Option<&'a ClassFacts>),
}

/// The class a pod names in `spec.priorityClassName`, if any (empty is
/// none).
pub fn requested_class(pod: &Value) -> Option<&str> {
    pod.pointer("/spec/priorityClassName")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
}

/// The global default class among `classes`. Should a race have left
/// several, the one with the lowest value wins, as upstream (then the first
/// name, so the choice does not depend on list order).
pub fn global_default(classes: &[ClassFacts]) -> Option<&ClassFacts> {
    classes
        .iter()
        .filter(|class| class.global_default)
        .min_by(|a, b| a.value.cmp(&b.value).then_with(|| a.name.cmp(&b.name)))
}

/// Sets `spec.priority`, `spec.preemptionPolicy` and, for the default
/// class, `spec.priorityClassName` on a pod being created; refuses a
/// priority or policy the pod sent that differs from the computed one.
pub fn admit_create(pod: &mut Value, source: Source<'_>) -> Result<(), PriorityError> {
    let (class_name, priority, policy) = match source {
        Source::Named(class) => (None, class.value, class.preemption_policy.clone()),
        Source::Default(Some(class)) => (
            Some(class.name.clone()),
            class.value,
            class.preemption_policy.clone(),
        ),
        Source::Default(None) => (
            None,
            DEFAULT_PRIORITY,
            Some(DEFAULT_PREEMPTION_POLICY.to_owned()),
        ),
    };
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        // No spec to set: validation rejects the pod.
        return Ok(());
    };
    if let Some(name) = class_name {
        spec.insert("priorityClassName".into(), json!(name));
    }
    if let Some(provided) = spec.get("priority").filter(|v| !v.is_null())
        && provided.as_i64() != Some(priority)
    {
        return Err(PriorityError::PriorityMismatch {
            provided: provided.to_string(),
            computed: priority,
        });
    }
    spec.insert("priority".into(), json!(priority));
    if let Some(policy) = policy {
        if let Some(provided) = spec.get("preemptionPolicy").filter(|v| !v.is_null())
            && provided.as_str() != Some(policy.as_str())
        {
            return Err(PriorityError::PreemptionPolicyMismatch {
                provided: provided
                    .as_str()
                    .map_or_else(|| provided.to_string(), str::to_owned),
                computed: policy,
            });
        }
        spec.insert("preemptionPolicy".into(), json!(policy));
    }
    Ok(())
}

/// On pod update, a body without `spec.priority` or `spec.preemptionPolicy`
/// keeps the stored values (a replaced pod written from a manifest would
/// otherwise fail validation for changing them).
pub fn preserve_on_update(new: &mut Value, old: &Value) {
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for field in ["priority", "preemptionPolicy"] {
        let unset = spec.get(field).is_none_or(Value::is_null);
        if unset
            && let Some(stored) = old
                .get("spec")
                .and_then(|s| s.get(field))
                .filter(|v| !v.is_null())
        {
            spec.insert(field.into(), stored.clone());
        }
    }
}

/// Refuses a PriorityClass that would be a second global default:
/// creating one while any default exists, or making a class the default
/// while another one is.
pub fn check_single_default(
    class: &ClassFacts,
    existing: &[ClassFacts],
    operation: Operation,
) -> Result<(), PriorityError> {
    if !class.global_default {
        return Ok(());
    }
    match global_default(existing) {
        Some(current)
            if operation == Operation::Create
                || (operation == Operation::Update && current.name != class.name) =>
        {
            Err(PriorityError::DefaultExists(current.name.clone()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_classes_read_as_the_tree_reads_them() {
        for text in [
            r#"{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"high","uid":"u"},"value":1000,"globalDefault":true,"preemptionPolicy":"Never","description":"d"}"#,
            r#"{"metadata":{"name":"bare"},"value":-5}"#,
        ] {
            let typed: StoredClass = serde_json::from_str(text).expect("reads");
            let tree: serde_json::Value = serde_json::from_str(text).expect("json");
            assert_eq!(ClassFacts::from(typed), ClassFacts::of(&tree));
        }
    }

    fn class(name: &str, value: i64, global_default: bool, policy: &str) -> ClassFacts {
        ClassFacts {
            name: name.into(),
            value,
            global_default,
            preemption_policy: Some(policy.into()),
        }
    }

    fn pod(spec: Value) -> Value {
        let mut spec = spec;
        spec["containers"] = json!([{"name": "c", "image": "i"}]);
        json!({"metadata": {"name": "p"}, "spec": spec})
    }

    #[test]
    fn system_classes_have_upstream_values_and_fit_their_rules() {
        assert_eq!(SYSTEM_CLASSES[0].name, "system-node-critical");
        assert_eq!(SYSTEM_CLASSES[0].value, 2_000_001_000);
        assert_eq!(SYSTEM_CLASSES[1].name, "system-cluster-critical");
        assert_eq!(SYSTEM_CLASSES[1].value, 2_000_000_000);
        let object = SYSTEM_CLASSES[1].object();
        assert_eq!(
            ClassFacts::of(&object),
            ClassFacts {
                name: "system-cluster-critical".into(),
                value: 2_000_000_000,
                global_default: false,
                preemption_policy: None,
            }
        );
        assert!(
            object["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }

    #[test]
    fn a_named_class_sets_priority_and_policy() {
        let high = class("high", 1000, false, "Never");
        let mut p = pod(json!({"priorityClassName": "high"}));
        assert_eq!(requested_class(&p), Some("high"));
        admit_create(&mut p, Source::Named(&high)).expect("admitted");
        assert_eq!(p["spec"]["priority"], 1000);
        assert_eq!(p["spec"]["preemptionPolicy"], "Never");
        assert_eq!(p["spec"]["priorityClassName"], "high");
    }

    #[test]
    fn without_a_class_or_default_the_priority_is_zero() {
        let mut p = pod(json!({}));
        assert_eq!(requested_class(&p), None);
        admit_create(&mut p, Source::Default(None)).expect("admitted");
        assert_eq!(p["spec"]["priority"], 0);
        assert_eq!(p["spec"]["preemptionPolicy"], "PreemptLowerPriority");
        assert!(p["spec"].get("priorityClassName").is_none());
        // An empty name is no name.
        assert_eq!(
            requested_class(&pod(json!({"priorityClassName": ""}))),
            None
        );
    }

    #[test]
    fn the_global_default_class_is_named_on_the_pod() {
        let default = class("normal", 500, true, "PreemptLowerPriority");
        let mut p = pod(json!({}));
        admit_create(&mut p, Source::Default(Some(&default))).expect("admitted");
        assert_eq!(p["spec"]["priorityClassName"], "normal");
        assert_eq!(p["spec"]["priority"], 500);
    }

    #[test]
    fn a_sent_priority_must_match_the_computed_one() {
        let high = class("high", 1000, false, "PreemptLowerPriority");
        let mut same = pod(json!({"priorityClassName": "high", "priority": 1000}));
        assert_eq!(admit_create(&mut same, Source::Named(&high)), Ok(()));
        let mut other = pod(json!({"priority": 10}));
        let err = admit_create(&mut other, Source::Default(None)).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "the integer value of priority (10) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name"
        );
        let mut null = pod(json!({"priority": null}));
        assert_eq!(admit_create(&mut null, Source::Default(None)), Ok(()));
        assert_eq!(null["spec"]["priority"], 0);
    }

    #[test]
    fn a_sent_preemption_policy_must_match_the_class() {
        let never = class("batch", 10, false, "Never");
        let mut p =
            pod(json!({"priorityClassName": "batch", "preemptionPolicy": "PreemptLowerPriority"}));
        assert_eq!(
            admit_create(&mut p, Source::Named(&never))
                .expect_err("refused")
                .to_string(),
            "the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name"
        );
        // A class without a policy leaves the pod's alone.
        let bare = ClassFacts {
            preemption_policy: None,
            ..class("bare", 1, false, "")
        };
        let mut p = pod(json!({"priorityClassName": "bare", "preemptionPolicy": "Never"}));
        assert_eq!(admit_create(&mut p, Source::Named(&bare)), Ok(()));
        assert_eq!(p["spec"]["preemptionPolicy"], "Never");
    }

    #[test]
    fn the_lowest_valued_default_wins_a_race() {
        let classes = [
            class("b", 100, true, "Never"),
            class("a", 100, true, "Never"),
            class("low", 50, false, "Never"),
            class("c", 200, true, "Never"),
        ];
        assert_eq!(global_default(&classes).map(|c| c.name.as_str()), Some("a"));
        assert_eq!(global_default(&classes[2..3]), None);
    }

    #[test]
    fn only_one_class_may_be_the_global_default() {
        let existing = [
            class("first", 10, true, "Never"),
            class("plain", 5, false, "Never"),
        ];
        let second = class("second", 20, true, "Never");
        assert_eq!(
            check_single_default(&second, &existing, Operation::Create),
            Err(PriorityError::DefaultExists("first".into()))
        );
        assert_eq!(
            PriorityError::DefaultExists("first".into()).to_string(),
            "PriorityClass first is already marked as default. Only one default can exist"
        );
        // Marking another class the default on update is refused too…
        let plain = class("plain", 5, true, "Never");
        assert!(check_single_default(&plain, &existing, Operation::Update).is_err());
        // …but the default itself may be updated, and non-defaults pass.
        let first = class("first", 10, true, "Never");
        assert_eq!(
            check_single_default(&first, &existing, Operation::Update),
            Ok(())
        );
        let not_default = class("third", 1, false, "Never");
        assert_eq!(
            check_single_default(&not_default, &existing, Operation::Create),
            Ok(())
        );
        assert_eq!(
            check_single_default(&second, &existing[1..], Operation::Create),
            Ok(())
        );
    }

    #[test]
    fn updates_keep_the_stored_priority_fields() {
        let old =
            pod(json!({"priority": 7, "preemptionPolicy": "Never", "priorityClassName": "x"}));
        let mut new = pod(json!({"priorityClassName": "x"}));
        preserve_on_update(&mut new, &old);
        assert_eq!(new["spec"]["priority"], 7);
        assert_eq!(new["spec"]["preemptionPolicy"], "Never");
        // A value the body sends is kept for validation to judge.
        let mut changed = pod(json!({"priority": 9}));
        preserve_on_update(&mut changed, &old);
        assert_eq!(changed["spec"]["priority"], 9);
    }
}
