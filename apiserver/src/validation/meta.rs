//! ObjectMeta validation (apimachinery `pkg/api/validation/objectmeta.go`
//! plus the core-group finalizer rule), label/annotation checks, and label
//! selectors (`pkg/apis/meta/v1/validation`).

use serde_json::Value;

use super::access::{Errs, Obj, Path, peek_str, sem_eq};
use super::names::{NameRule, is_label_value, is_qualified_name, push_msgs, validate_name};

/// Maximum total size of annotation keys plus values.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
/// `FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";

/// `ValidateLabels` over a (sorted) label map.
pub(crate) fn validate_labels(e: &mut Errs, labels: &[(&str, &str)], p: &Path) {
    for (k, v) in labels {
        push_msgs(e, p, k, is_qualified_name(k));
        push_msgs(e, p, v, is_label_value(v));
    }
}

/// `ValidateAnnotations`: keys are qualified names (checked lower-cased),
/// total size at most 256 KiB.
pub(crate) fn validate_annotations(e: &mut Errs, annotations: &[(&str, &str)], p: &Path) {
    let mut total = 0usize;
    for (k, v) in annotations {
        for m in is_qualified_name(&k.to_lowercase()) {
            e.invalid(p, Value::from(*k), &m);
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        e.too_long(p, TOTAL_ANNOTATION_SIZE_LIMIT);
    }
}

fn validate_owner_references(e: &mut Errs, meta: Obj<'_>, p: &Path) {
    let refs_path = p.child("ownerReferences");
    let refs = e.arr(meta, "ownerReferences", p);
    let mut first_controller = String::new();
    for (i, r) in refs.iter().enumerate() {
        // Kubernetes 1.33 reports owner reference fields without the index.
        let rp = refs_path.clone();
        let o = e.elem_obj(r, &refs_path.index(i));
        let api_version = e.str(o, "apiVersion", &rp);
        let kind = e.str(o, "kind", &rp);
        let name = e.str(o, "name", &rp);
        let uid = e.str(o, "uid", &rp);
        // schema.FromAPIVersionAndKind
        let (group, version) = match api_version.matches('/').count() {
            0 => ("", api_version),
            1 => api_version.split_once('/').unwrap_or(("", "")),
            _ => ("", ""),
        };
        if version.is_empty() {
            e.invalid(
                &rp.child("apiVersion"),
                Value::from(api_version),
                "version must not be empty",
            );
        }
        if kind.is_empty() {
            e.invalid(
                &rp.child("kind"),
                Value::from(kind),
                "kind must not be empty",
            );
        }
        if name.is_empty() {
            e.invalid(
                &rp.child("name"),
                Value::from(name),
                "name must not be empty",
            );
        }
        if uid.is_empty() {
            e.invalid(&rp.child("uid"), Value::from(uid), "uid must not be empty");
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            e.invalid(
                &rp,
                r.clone(),
                "/v1, Kind=Event is disallowed from being an owner",
            );
        }
        if e.opt_bool(o, "controller", &rp) == Some(true) {
            let current = format!("{kind}/{name}");
            if first_controller.is_empty() {
                first_controller = current;
            } else {
                e.invalid(
                    &refs_path,
                    Value::Array(refs.to_vec()),
                    &format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first_controller} and {current}"
                    ),
                );
            }
        }
    }
}

const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

fn validate_finalizers(e: &mut Errs, meta: Obj<'_>, p: &Path) {
    let fp = p.child("finalizers");
    let finalizers = e.str_list(meta, "finalizers", p);
    for f in &finalizers {
        push_msgs(e, &fp, f, is_qualified_name(f));
    }
    if finalizers.contains(&"orphan") && finalizers.contains(&"foregroundDeletion") {
        let v = Value::Array(finalizers.iter().map(|f| Value::from(*f)).collect());
        e.invalid(
            &fp,
            v,
            "finalizer orphan and foregroundDeletion cannot be both set",
        );
    }
}

/// The core-group extra finalizer rule: unprefixed finalizers must be
/// standard ones.
fn validate_kube_finalizers(e: &mut Errs, meta: Obj<'_>, p: &Path) {
    let fp = p.child("finalizers");
    let finalizers: Vec<&str> = super::access::peek_arr(meta, "finalizers")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for (i, f) in finalizers.iter().enumerate() {
        if !f.contains('/') && !STANDARD_FINALIZERS.contains(f) {
            e.invalid(
                &fp.index(i),
                Value::from(*f),
                "name is neither a standard finalizer name nor is it fully qualified",
            );
        }
    }
}

fn validate_managed_fields(e: &mut Errs, meta: Obj<'_>, p: &Path) {
    let mp = p.child("managedFields");
    for (i, v) in e.arr(meta, "managedFields", p).iter().enumerate() {
        let ip = mp.index(i);
        let o = e.elem_obj(v, &ip);
        let op = e.str(o, "operation", &ip);
        if op != "Apply" && op != "Update" {
            e.invalid(
                &ip.child("operation"),
                Value::from(op),
                "must be `Apply` or `Update`",
            );
        }
        let ft = e.str(o, "fieldsType", &ip);
        if !ft.is_empty() && ft != "FieldsV1" {
            e.invalid(
                &ip.child("fieldsType"),
                Value::from(ft),
                "must be `FieldsV1`",
            );
        }
        let manager = e.str(o, "manager", &ip);
        if manager.len() > 128 {
            e.too_long(&ip.child("manager"), 128);
        }
        for (pos, c) in manager.char_indices() {
            if c.is_control() {
                e.invalid(
                    &ip.child("manager"),
                    Value::from(manager),
                    &format!("invalid character U+{:04X} (at position {pos})", c as u32),
                );
            }
        }
        if e.str(o, "subresource", &ip).len() > 256 {
            e.too_long(&ip.child("subresource"), 256);
        }
    }
}

/// Whether namespaces apply to a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Namespaced: `metadata.namespace` required.
    Namespaced,
    /// Cluster-scoped: upstream clears `metadata.namespace` before validating.
    Cluster,
    /// Not a known built-in kind: the namespace rule is not checked.
    Unknown,
}

/// Options for [`validate_object_meta`].
pub(crate) struct MetaOpts {
    /// Namespace rule.
    pub scope: Scope,
    /// Name rule.
    pub name_rule: NameRule,
    /// Apply the core group's standard-finalizer check.
    pub kube_finalizers: bool,
}

/// `ValidateObjectMeta` (create).
pub(crate) fn validate_object_meta(e: &mut Errs, root: Obj<'_>, opts: &MetaOpts) {
    let p = Path::root("metadata");
    let meta = e.obj(root, "metadata", &Path::root(""));
    let generate_name = e.str(meta, "generateName", &p);
    if !generate_name.is_empty() {
        push_msgs(
            e,
            &p.child("generateName"),
            generate_name,
            validate_name(opts.name_rule, generate_name, true),
        );
    }
    let name = e.str(meta, "name", &p);
    if name.is_empty() {
        e.required(&p.child("name"), "name or generateName is required");
    } else {
        push_msgs(
            e,
            &p.child("name"),
            name,
            validate_name(opts.name_rule, name, false),
        );
    }
    common_meta(e, meta, &p, opts.scope);
    if opts.kube_finalizers {
        validate_kube_finalizers(e, meta, &p);
    }
}

fn common_meta(e: &mut Errs, meta: Obj<'_>, p: &Path, scope: Scope) {
    let namespace = e.str(meta, "namespace", p);
    if scope == Scope::Namespaced {
        if namespace.is_empty() {
            e.required(&p.child("namespace"), "");
        } else {
            push_msgs(
                e,
                &p.child("namespace"),
                namespace,
                validate_name(NameRule::Label, namespace, false),
            );
        }
    }
    let generation = e.opt_int(meta, "generation", p);
    e.nonnegative(&p.child("generation"), generation);
    let labels = e.str_map(meta, "labels", p);
    validate_labels(e, &labels, &p.child("labels"));
    let annotations = e.str_map(meta, "annotations", p);
    validate_annotations(e, &annotations, &p.child("annotations"));
    validate_owner_references(e, meta, p);
    validate_finalizers(e, meta, p);
    validate_managed_fields(e, meta, p);
}

/// The generic ObjectMeta pass upstream's REST layer runs for every kind
/// (names only need to be valid path segments). Kinds that are not known
/// built-ins are assumed to be custom resources, whose names upstream
/// checks as DNS subdomains.
pub(crate) fn validate_generic_meta(e: &mut Errs, root: Obj<'_>, scope: Scope) {
    let name_rule = if scope == Scope::Unknown {
        NameRule::Subdomain
    } else {
        NameRule::PathSegment
    };
    validate_object_meta(
        e,
        root,
        &MetaOpts {
            scope,
            name_rule,
            kube_finalizers: false,
        },
    );
}

/// `ValidateObjectMetaUpdate`.
pub(crate) fn validate_object_meta_update(
    e: &mut Errs,
    new: Obj<'_>,
    old: Obj<'_>,
    kube_finalizers: bool,
) {
    let p = Path::root("metadata");
    let root = Path::root("");
    let meta = e.obj(new, "metadata", &root);
    let mut scratch = Errs::new();
    let old_meta = scratch.obj(old, "metadata", &root);

    if old_meta.has("deletionTimestamp") {
        let new_f = scratch.str_list(meta, "finalizers", &p);
        let old_f = scratch.str_list(old_meta, "finalizers", &p);
        let mut extra: Vec<&str> = new_f
            .iter()
            .filter(|f| !old_f.contains(f))
            .copied()
            .collect();
        extra.sort_unstable();
        extra.dedup();
        if !extra.is_empty() {
            let quoted: Vec<String> = extra.iter().map(|f| super::errors::go_quote(f)).collect();
            e.forbidden(
                &p.child("finalizers"),
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    quoted.join(", ")
                ),
            );
        }
    }
    // Upstream also rejects an empty resourceVersion ("must be specified for
    // an update"), but its store copies the stored resourceVersion into
    // unconditional updates first, so users never see that; the caller owns
    // preconditions here.
    let _ = e.opt_str(meta, "resourceVersion", &p);
    // Upstream's BeforeUpdate restores these from the stored object before
    // validating (generation always; uid when omitted; creation and deletion
    // timestamps and grace period when already set), so only explicit
    // changes are reported here.
    for f in ["name", "namespace"] {
        immutable_or(
            e,
            meta.raw(f),
            old_meta.raw(f),
            &p.child(f),
            Value::from(""),
        );
    }
    for f in ["uid", "creationTimestamp"] {
        if meta.has(f) {
            immutable_or(
                e,
                meta.raw(f),
                old_meta.raw(f),
                &p.child(f),
                Value::from(""),
            );
        }
    }
    for f in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
        if meta.has(f) || !old_meta.has(f) {
            immutable(e, meta.raw(f), old_meta.raw(f), &p.child(f));
        }
    }
    let labels = e.str_map(meta, "labels", &p);
    validate_labels(e, &labels, &p.child("labels"));
    let annotations = e.str_map(meta, "annotations", &p);
    validate_annotations(e, &annotations, &p.child("annotations"));
    validate_owner_references(e, meta, &p);
    validate_managed_fields(e, meta, &p);
    if kube_finalizers {
        validate_kube_finalizers(e, meta, &p);
    }
}

/// `ValidateImmutableField`: `Invalid(new, "field is immutable")` when the
/// values differ (missing and `null` count as the zero value; a missing new
/// value prints as a nil pointer).
pub(crate) fn immutable(e: &mut Errs, new: Option<&Value>, old: Option<&Value>, p: &Path) {
    immutable_or(e, new, old, p, Value::Null);
}

/// [`immutable`] for a non-pointer field whose missing value prints as `zero`
/// (e.g. `""` for strings).
pub(crate) fn immutable_or(
    e: &mut Errs,
    new: Option<&Value>,
    old: Option<&Value>,
    p: &Path,
    zero: Value,
) {
    if !sem_eq(new, old) {
        e.invalid(p, new.cloned().unwrap_or(zero), FIELD_IMMUTABLE);
    }
}

/// A label selector as a bad value that renders as `v1.LabelSelector{...}`
/// even when empty.
pub(crate) fn selector_value(sel: Option<Obj<'_>>) -> Value {
    match sel.map(|s| s.to_value()) {
        Some(Value::Object(mut m)) => {
            if m.is_empty() {
                m.insert("matchLabels".into(), Value::Null);
            }
            Value::Object(m)
        }
        Some(other) => other,
        None => Value::Null,
    }
}

/// Reads a field from both objects and applies [`immutable`].
pub(crate) fn immutable_field(e: &mut Errs, new: Obj<'_>, old: Obj<'_>, key: &str, parent: &Path) {
    immutable(e, new.raw(key), old.raw(key), &parent.child(key));
}

// ---- label selectors ----------------------------------------------------

/// A parsed label selector requirement.
#[derive(Debug, Clone)]
pub(crate) struct Requirement {
    key: String,
    op: String,
    values: Vec<String>,
}

/// A label selector, as upstream's `labels.Selector` after
/// `LabelSelectorAsSelector`.
#[derive(Debug, Clone)]
pub(crate) enum Selector {
    /// A nil selector: matches nothing.
    Nothing,
    /// Requirements ANDed together; empty matches everything.
    Reqs(Vec<Requirement>),
}

impl Selector {
    /// Upstream's `Selector.Empty()`.
    pub fn is_empty(&self) -> bool {
        matches!(self, Selector::Reqs(r) if r.is_empty())
    }

    /// Whether the selector matches a (sorted) label set.
    pub fn matches(&self, labels: &[(&str, &str)]) -> bool {
        let get = |k: &str| labels.iter().find(|(lk, _)| *lk == k).map(|(_, v)| *v);
        match self {
            Selector::Nothing => false,
            Selector::Reqs(reqs) => reqs.iter().all(|r| match r.op.as_str() {
                "In" => get(&r.key).is_some_and(|v| r.values.iter().any(|x| x == v)),
                "NotIn" => get(&r.key).is_none_or(|v| !r.values.iter().any(|x| x == v)),
                "Exists" => get(&r.key).is_some(),
                "DoesNotExist" => get(&r.key).is_none(),
                _ => false,
            }),
        }
    }
}

/// `ValidateLabelSelector` (with invalid label values rejected). Returns
/// whether it reported anything, which also tells whether upstream's
/// `LabelSelectorAsSelector` would fail.
pub(crate) fn validate_label_selector(e: &mut Errs, sel: Option<Obj<'_>>, p: &Path) -> bool {
    let Some(sel) = sel else { return false };
    let before = e.len();
    let match_labels = e.str_map(sel, "matchLabels", p);
    validate_labels(e, &match_labels, &p.child("matchLabels"));
    let ep = p.child("matchExpressions");
    for (i, v) in e.arr(sel, "matchExpressions", p).iter().enumerate() {
        let ip = ep.index(i);
        let o = e.elem_obj(v, &ip);
        let op = e.str(o, "operator", &ip);
        let values = e.str_list(o, "values", &ip);
        match op {
            "In" | "NotIn" => {
                if values.is_empty() {
                    e.required(
                        &ip.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    );
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    e.forbidden(
                        &ip.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    );
                }
            }
            other => e.invalid(
                &ip.child("operator"),
                Value::from(other),
                "not a valid selector operator",
            ),
        }
        let key = e.str(o, "key", &ip);
        push_msgs(e, &ip.child("key"), key, is_qualified_name(key));
        for (j, val) in values.iter().enumerate() {
            push_msgs(e, &ip.child("values").index(j), val, is_label_value(val));
        }
    }
    e.len() > before
}

/// `LabelSelectorAsSelector` without error reporting (call
/// [`validate_label_selector`] for that).
pub(crate) fn selector_of(sel: Option<Obj<'_>>) -> Selector {
    let Some(sel) = sel else {
        return Selector::Nothing;
    };
    let mut reqs = Vec::new();
    let mut scratch = Errs::new();
    let root = Path::root("");
    for (k, v) in scratch.str_map(sel, "matchLabels", &root) {
        reqs.push(Requirement {
            key: k.to_string(),
            op: "In".into(),
            values: vec![v.to_string()],
        });
    }
    for v in scratch.arr(sel, "matchExpressions", &root) {
        let o = Obj::of(v);
        reqs.push(Requirement {
            key: peek_str(o, "key").to_string(),
            op: peek_str(o, "operator").to_string(),
            values: scratch
                .str_list(o, "values", &root)
                .into_iter()
                .map(String::from)
                .collect(),
        });
    }
    Selector::Reqs(reqs)
}

/// A `map[string]string` selector (Service, ReplicationController).
pub(crate) fn selector_from_map(m: &[(&str, &str)]) -> Selector {
    Selector::Reqs(
        m.iter()
            .map(|(k, v)| Requirement {
                key: k.to_string(),
                op: "In".into(),
                values: vec![v.to_string()],
            })
            .collect(),
    )
}

/// A label map as a JSON object value.
pub(crate) fn labels_value(labels: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in labels {
        m.insert((*k).to_string(), Value::from(*v));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta_errs(obj: Value, scope: Scope, rule: NameRule) -> Vec<String> {
        let mut e = Errs::new();
        validate_object_meta(
            &mut e,
            Obj::of(&obj),
            &MetaOpts {
                scope,
                name_rule: rule,
                kube_finalizers: true,
            },
        );
        e.list.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn name_or_generate_name_is_required() {
        let errs = meta_errs(
            json!({"metadata": {"namespace": "default"}}),
            Scope::Namespaced,
            NameRule::Subdomain,
        );
        assert_eq!(
            errs,
            vec!["metadata.name: Required value: name or generateName is required".to_string()]
        );
    }

    #[test]
    fn namespaced_kinds_require_namespace() {
        let errs = meta_errs(
            json!({"metadata": {"name": "a"}}),
            Scope::Namespaced,
            NameRule::Subdomain,
        );
        assert_eq!(errs, vec!["metadata.namespace: Required value".to_string()]);
    }

    #[test]
    fn invalid_label_value_reports_upstream_message() {
        let errs = meta_errs(
            json!({"metadata": {"name": "a", "namespace": "d", "labels": {"app": "bad value"}}}),
            Scope::Namespaced,
            NameRule::Subdomain,
        );
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with(
            "metadata.labels: Invalid value: \"bad value\": a valid label must be an empty string"
        ));
    }

    #[test]
    fn non_standard_unprefixed_finalizer_is_rejected() {
        let errs = meta_errs(
            json!({"metadata": {"name": "a", "finalizers": ["custom"]}}),
            Scope::Cluster,
            NameRule::Subdomain,
        );
        assert_eq!(
            errs,
            vec!["metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified".to_string()]
        );
    }

    #[test]
    fn oversized_annotations_are_too_long() {
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT + 1);
        let errs = meta_errs(
            json!({"metadata": {"name": "a", "annotations": {"k": big}}}),
            Scope::Cluster,
            NameRule::Subdomain,
        );
        assert_eq!(
            errs,
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes".to_string()]
        );
    }

    #[test]
    fn update_rejects_changed_uid() {
        let new = json!({"metadata": {"name": "a", "uid": "2", "resourceVersion": "1"}});
        let old = json!({"metadata": {"name": "a", "uid": "1", "resourceVersion": "1"}});
        let mut e = Errs::new();
        validate_object_meta_update(&mut e, Obj::of(&new), Obj::of(&old), false);
        assert_eq!(
            e.list[0].to_string(),
            "metadata.uid: Invalid value: \"2\": field is immutable"
        );
    }

    #[test]
    fn selectors_match_expressions() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]});
        let s = selector_of(Some(Obj::of(&sel)));
        assert!(s.matches(&[("app", "web")]));
        assert!(!s.matches(&[("app", "web"), ("tier", "db")]));
        assert!(!selector_of(None).matches(&[]));
        assert!(selector_of(Some(Obj::of(&json!({})))).is_empty());
    }

    #[test]
    fn selector_operator_must_be_known() {
        let sel = json!({"matchExpressions": [{"key": "a", "operator": "Like", "values": ["x"]}]});
        let mut e = Errs::new();
        assert!(validate_label_selector(
            &mut e,
            Some(Obj::of(&sel)),
            &Path::root("spec").child("selector")
        ));
        assert_eq!(
            e.list[0].to_string(),
            "spec.selector.matchExpressions[0].operator: Invalid value: \"Like\": not a valid selector operator"
        );
    }
}
