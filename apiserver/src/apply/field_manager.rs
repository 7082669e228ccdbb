//! The field manager: server-side apply and managed-fields bookkeeping for
//! create/update/patch, composed the way the apiserver's `FieldManager`
//! stacks its layers:
//!
//! 1. version check of the applied object;
//! 2. last-applied updater (keeps kubectl's client-side annotation in sync
//!    when `kubectl` applies server-side);
//! 3. last-applied manager (lets `kubectl` take over fields from its own
//!    client-side apply without conflicts);
//! 4. skip-non-applied (an object with no managedFields gets a
//!    `before-first-apply` manager owning what exists before its first
//!    apply; updates of such objects are not tracked);
//! 5. manager cap (at most 10 Update managers, the oldest folded into
//!    `ancient-changes`);
//! 6. manager identity (`{"manager","operation","apiVersion","subresource"}`);
//! 7. time stamps (set when a manager's change changed the object);
//! 8. meta stripping (type meta and server-set metadata are never owned);
//! 9. structured merge (merge, prune, conflict detection, ownership moves).

use super::conflict::{ApplyError, Conflict, Conflicts};
use super::field_set::{FieldSet, Path, values_equal};
use super::go_format::json_value;
use super::managers::{
    ManagedFieldsEntry, Operation, is_reset_managed_fields, manager_identifier,
    read_managed_fields, remove_managed_fields, sort_managed_fields, time_seconds,
    write_managed_fields,
};
use super::schema::{ApplySchema, TypeRef};
use super::typed::{Comparison, Typed};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// kubectl's client-side apply annotation.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Manager that owns what existed before tracking started.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";
/// Bucket manager for folded old Update entries.
pub const ANCIENT_CHANGES: &str = "ancient-changes";
/// Default cap on Update managers.
pub const DEFAULT_MAX_UPDATE_MANAGERS: usize = 10;
const CURRENT_OPERATION: &str = "current-operation";

/// The result of a successful apply.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyOutcome {
    /// The merged object, with `metadata.managedFields` set. Fields the
    /// resource's strategy resets (e.g. `status` on the main resource) are
    /// merged like any other; resetting them stays the registry's job.
    pub object: Value,
    /// The managed fields written into `object`, in upstream order.
    pub managed_fields: Vec<ManagedFieldsEntry>,
    /// Whether the object (ignoring managedFields) differs from the live one.
    pub changed: bool,
}

#[derive(Clone, Debug)]
struct ManagerState {
    manager: String,
    operation: Operation,
    api_version: String,
    subresource: String,
    set: FieldSet,
    time: Option<String>,
}

type Managed = BTreeMap<String, ManagerState>;

fn decode(entries: Vec<ManagedFieldsEntry>) -> Managed {
    let mut managed = Managed::new();
    for e in entries {
        let id = e.identifier();
        managed.insert(
            id,
            ManagerState {
                manager: e.manager,
                operation: e.operation,
                api_version: e.api_version,
                subresource: e.subresource,
                set: e.fields,
                time: e.time,
            },
        );
    }
    managed
}

fn encode(managed: &Managed) -> Vec<ManagedFieldsEntry> {
    let mut entries: Vec<ManagedFieldsEntry> = managed
        .values()
        .map(|s| ManagedFieldsEntry {
            manager: s.manager.clone(),
            operation: s.operation,
            api_version: s.api_version.clone(),
            time: s.time.clone(),
            fields: s.set.clone(),
            subresource: s.subresource.clone(),
        })
        .collect();
    sort_managed_fields(&mut entries);
    entries
}

/// Fields no manager ever owns: type meta and server-set metadata.
fn strip_set() -> &'static FieldSet {
    static STRIP: std::sync::OnceLock<FieldSet> = std::sync::OnceLock::new();
    STRIP.get_or_init(build_strip_set)
}

fn build_strip_set() -> FieldSet {
    let meta = |f: &str| Path::fields(&["metadata", f]);
    FieldSet::from_paths([
        Path::fields(&["apiVersion"]),
        Path::fields(&["kind"]),
        Path::fields(&["metadata"]),
        meta("name"),
        meta("namespace"),
        meta("creationTimestamp"),
        meta("selfLink"),
        meta("uid"),
        meta("clusterName"),
        meta("generation"),
        meta("managedFields"),
        meta("resourceVersion"),
    ])
}

fn strip_meta(managed: &mut Managed, id: &str) {
    let empty = match managed.get_mut(id) {
        Some(state) => {
            state.set.remove(strip_set());
            state.set.is_empty()
        }
        None => false,
    };
    if empty {
        managed.remove(id);
    }
}

/// Fields the apiserver's strategies reset for a kind and subresource
/// (`GetResetFields`): `status` for writes to the main resource; `spec`
/// (plus a few metadata fields for Pods and Deployments) for the `status`
/// subresource; nothing for other subresources. Changes to these fields
/// are neither owned nor count as conflicts.
pub fn reset_fields_for(kind: &str, subresource: &str) -> FieldSet {
    match subresource {
        "" => FieldSet::from_paths([Path::fields(&["status"])]),
        "status" => {
            let mut paths = vec![Path::fields(&["spec"])];
            match kind {
                "Pod" => {
                    paths.push(Path::fields(&["metadata", "deletionTimestamp"]));
                    paths.push(Path::fields(&["metadata", "ownerReferences"]));
                }
                "Deployment" => paths.push(Path::fields(&["metadata", "labels"])),
                _ => {}
            }
            FieldSet::from_paths(paths)
        }
        _ => FieldSet::new(),
    }
}

/// Go's `GroupVersionKind.String()` for an apiVersion and kind.
fn gvk_string(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    format!("{group}/{version}, Kind={kind}")
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(next) => cur = next,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

/// `namespace/name; group/version, Kind=kind`, as upstream names objects in
/// errors.
fn object_gvknn(v: &Value) -> String {
    format!(
        "{}/{}; {}",
        str_at(v, &["metadata", "namespace"]),
        str_at(v, &["metadata", "name"]),
        gvk_string(str_at(v, &["apiVersion"]), str_at(v, &["kind"]))
    )
}

fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    remove_managed_fields(&mut v);
    v
}

/// Server-side apply and managed-fields tracking for one resource (one
/// schema type, API version and subresource).
#[derive(Clone, Debug)]
pub struct FieldManager<'s, S: ApplySchema + ?Sized> {
    schema: &'s S,
    root: TypeRef,
    api_version: String,
    kind: Option<String>,
    subresource: String,
    reset_fields: Option<FieldSet>,
    max_update_managers: usize,
}

impl<'s, S: ApplySchema + ?Sized> FieldManager<'s, S> {
    /// A field manager for objects of schema `root` (e.g.
    /// `io.k8s.api.apps.v1.Deployment`; `None` deduces types from values)
    /// served as `api_version`. The expected kind defaults to the last
    /// segment of `root`.
    pub fn new(schema: &'s S, root: Option<&str>, api_version: &str) -> Self {
        FieldManager {
            schema,
            root: schema.root(root),
            api_version: api_version.to_string(),
            kind: root.map(|r| r.rsplit('.').next().unwrap_or(r).to_string()),
            subresource: String::new(),
            reset_fields: None,
            max_update_managers: DEFAULT_MAX_UPDATE_MANAGERS,
        }
    }

    /// Sets the kind an applied object must declare.
    pub fn with_kind(mut self, kind: &str) -> Self {
        self.kind = Some(kind.to_string());
        self
    }

    /// Writes go through a subresource (`status`…): recorded in manager
    /// identities and, by default, selects that subresource's reset fields.
    pub fn with_subresource(mut self, subresource: Option<&str>) -> Self {
        self.subresource = subresource.unwrap_or("").to_string();
        self
    }

    /// Overrides the reset fields (e.g. an empty set for a custom resource
    /// without a status subresource, whose `status` is ordinary).
    pub fn with_reset_fields(mut self, fields: FieldSet) -> Self {
        self.reset_fields = Some(fields);
        self
    }

    /// Overrides the cap on Update managers (default 10).
    pub fn with_max_update_managers(mut self, max: usize) -> Self {
        self.max_update_managers = max;
        self
    }

    /// The reset fields in force.
    pub fn reset_fields(&self) -> FieldSet {
        match &self.reset_fields {
            Some(f) => f.clone(),
            None => reset_fields_for(self.kind.as_deref().unwrap_or(""), &self.subresource),
        }
    }

    fn typed(&self) -> Typed<'s, S> {
        Typed::new(self.schema)
    }

    // ---- apply ---------------------------------------------------------------

    /// Server-side applies `applied` (the decoded `application/apply-patch+yaml`
    /// body) by `manager` to `live` (`None` creates). `now` (RFC 3339)
    /// stamps the applier's entry when the object changed.
    ///
    /// # Errors
    ///
    /// [`ApplyError::Conflicts`] when, without `force`, fields owned by other
    /// managers would change (except that `kubectl` may take over fields it
    /// set with client-side apply); [`ApplyError::NotAnObject`],
    /// [`ApplyError::InvalidObjectType`] or
    /// [`ApplyError::ManagedFieldsInPatch`] for a malformed patch;
    /// [`ApplyError::InvalidPatch`] when it does not fit the schema;
    /// [`ApplyError::DecodeManagedFields`] when the live managedFields are
    /// malformed.
    pub fn apply(
        &self,
        live: Option<&Value>,
        applied: &Value,
        manager: &str,
        force: bool,
        now: &str,
    ) -> Result<ApplyOutcome, ApplyError> {
        if !applied.is_object() {
            return Err(ApplyError::NotAnObject(json_value(applied, false)));
        }
        let live_full = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
        let managed =
            decode(read_managed_fields(&live_full).map_err(ApplyError::DecodeManagedFields)?);
        let api_version = str_at(applied, &["apiVersion"]);
        let kind = str_at(applied, &["kind"]);
        let kind_ok = !kind.is_empty() && self.kind.as_deref().is_none_or(|k| k == kind);
        if api_version != self.api_version || !kind_ok {
            return Err(ApplyError::InvalidObjectType(gvk_string(api_version, kind)));
        }
        if applied
            .get("metadata")
            .and_then(|m| m.get("managedFields"))
            .is_some_and(|m| !m.is_null())
        {
            return Err(ApplyError::ManagedFieldsInPatch);
        }
        let live_obj = without_managed_fields(&live_full);
        let errors = self.typed().validate(&self.root, applied, false);
        if !errors.is_empty() {
            return Err(ApplyError::InvalidPatch {
                object: object_gvknn(applied),
                errors,
            });
        }

        let (mut object, managed) =
            match self.apply_once(&live_obj, applied, managed.clone(), manager, force, now) {
                Err(ApplyError::Conflicts(conflicts)) if manager == "kubectl" => {
                    match self.allowed_conflicts_from_last_applied(&live_obj) {
                        None => return Err(ApplyError::Conflicts(conflicts)),
                        Some(allowed) => {
                            let remaining: Vec<Conflict> = conflicts
                                .0
                                .into_iter()
                                .filter(|c| !allowed.has(c.path.elements()))
                                .collect();
                            if !remaining.is_empty() {
                                return Err(ApplyError::Conflicts(Conflicts(remaining)));
                            }
                            self.apply_once(&live_obj, applied, managed, manager, true, now)?
                        }
                    }
                }
                other => other?,
            };

        if manager == "kubectl" && last_applied(&object).is_some() {
            set_last_applied(&mut object, build_last_applied(applied));
        }
        let changed = !values_equal(&object, &live_obj);
        let managed_fields = encode(&managed);
        write_managed_fields(&mut object, &managed_fields);
        Ok(ApplyOutcome {
            object,
            managed_fields,
            changed,
        })
    }

    fn apply_once(
        &self,
        live: &Value,
        config: &Value,
        mut managed: Managed,
        manager: &str,
        force: bool,
        now: &str,
    ) -> Result<(Value, Managed), ApplyError> {
        if managed.is_empty() {
            managed = self.update_layers(
                &Value::Object(Map::new()),
                live,
                managed,
                BEFORE_FIRST_APPLY,
                now,
            )?;
        }
        let name = if manager.is_empty() {
            "unknown"
        } else {
            manager
        };
        let id = manager_identifier(name, Operation::Apply, "", &self.subresource);
        let typed = self.typed();
        let reset = self.reset_fields();

        let merged = typed
            .merge(&self.root, live, config)
            .map_err(ApplyError::Merge)?;
        let last_set = managed.get(&id).map(|s| s.set.clone());
        let time = managed.get(&id).and_then(|s| s.time.clone());
        let set = typed
            .to_field_set(&self.root, config)
            .recursive_difference(&reset);
        managed.insert(
            id.clone(),
            ManagerState {
                manager: name.to_string(),
                operation: Operation::Apply,
                api_version: self.api_version.clone(),
                subresource: self.subresource.clone(),
                set,
                time,
            },
        );
        let merged = self.prune(merged, &managed, last_set);
        self.update_ownership(live, &merged, &mut managed, &id, force)?;
        let noop = values_equal(live, &merged);

        strip_meta(&mut managed, &id);
        if noop {
            return Ok((live.clone(), managed));
        }
        if let Some(state) = managed.get_mut(&id) {
            state.time = Some(now.to_string());
        }
        Ok((merged, managed))
    }

    /// Removes from `merged` what the applier owned last time, no longer
    /// applies, and nobody else owns (structured-merge-diff's `prune`).
    fn prune(&self, merged: Value, managed: &Managed, last_set: Option<FieldSet>) -> Value {
        let Some(last) = last_set.filter(|s| !s.is_empty()) else {
            return merged;
        };
        let typed = self.typed();
        let root = Some(&self.root);
        let named = |s: &FieldSet| typed.ensure_named_fields_are_members(s, root);
        let last = named(&last);
        let pruned = typed.remove_items(&self.root, &merged, &last);

        // Add back whatever anyone (including the new configuration) owns.
        let mut owned = FieldSet::new();
        for state in managed.values() {
            owned.union_in_place(&state.set);
        }
        let merged_set = named(&typed.to_field_set(&self.root, &merged));
        let pruned_set = named(&typed.to_field_set(&self.root, &pruned));
        let remove = merged_set.difference(&pruned_set.union(&named(&owned)));
        let pruned = typed.remove_items(&self.root, &merged, &remove);

        // Only remove what the applier itself owned last time.
        let pruned_set = named(&typed.to_field_set(&self.root, &pruned));
        typed.remove_items(
            &self.root,
            &merged,
            &merged_set.difference(&pruned_set).intersection(&last),
        )
    }

    /// Moves ownership of changed fields away from managers other than
    /// `workflow`; without `force`, changes to fields others own are
    /// conflicts (structured-merge-diff's `update`).
    fn update_ownership(
        &self,
        live: &Value,
        new: &Value,
        managed: &mut Managed,
        workflow: &str,
        force: bool,
    ) -> Result<Comparison, ApplyError> {
        let mut cmp = self
            .typed()
            .compare(&self.root, Some(live), Some(new))
            .map_err(ApplyError::Compare)?;
        cmp.exclude(&self.reset_fields());
        // Only other managers can lose fields (or conflict).
        let others = managed.keys().any(|id| id != workflow);
        let changed = if others {
            cmp.modified.union(&cmp.added)
        } else {
            FieldSet::new()
        };
        let mut conflicts: BTreeMap<String, FieldSet> = BTreeMap::new();
        for (id, state) in managed.iter() {
            if id == workflow {
                continue;
            }
            let c = state.set.intersection(&changed);
            if !c.is_empty() {
                conflicts.insert(id.clone(), c);
            }
        }
        if !force && !conflicts.is_empty() {
            let mut list = Vec::new();
            for (id, set) in &conflicts {
                let Some(state) = managed.get(id) else {
                    continue;
                };
                for path in set.paths() {
                    list.push(Conflict {
                        manager: state.manager.clone(),
                        operation: state.operation,
                        api_version: match state.operation {
                            Operation::Update => state.api_version.clone(),
                            Operation::Apply => String::new(),
                        },
                        subresource: state.subresource.clone(),
                        path,
                        identifier: id.clone(),
                    });
                }
            }
            return Err(ApplyError::Conflicts(Conflicts(list)));
        }
        for (id, set) in &conflicts {
            if let Some(state) = managed.get_mut(id) {
                state.set = state.set.difference(set);
            }
        }
        if !cmp.removed.is_empty() {
            for (id, state) in managed.iter_mut() {
                if id != workflow {
                    state.set = state.set.difference(&cmp.removed);
                }
            }
        }
        managed.retain(|_, s| !s.set.is_empty());
        Ok(cmp)
    }

    // ---- client-side apply migration ------------------------------------------

    /// Fields of kubectl's last-applied annotation whose values still match
    /// the live object: `kubectl` may take them over without conflicts.
    fn allowed_conflicts_from_last_applied(&self, live: &Value) -> Option<FieldSet> {
        let text = last_applied(live)?;
        let last: Value = serde_json::from_str(text).ok()?;
        if str_at(&last, &["apiVersion"]) != self.api_version {
            return None;
        }
        let typed = self.typed();
        if !typed.validate(&self.root, &last, false).is_empty() {
            return None;
        }
        let set = typed.to_field_set(&self.root, &last);
        let cmp = typed.compare(&self.root, Some(&last), Some(live)).ok()?;
        Some(
            set.difference(&cmp.modified)
                .difference(&cmp.added)
                .difference(&cmp.removed),
        )
    }

    // ---- update ----------------------------------------------------------------

    /// Managed fields after a create (`old` is `None`), update or non-apply
    /// patch by `manager`: it takes ownership of every field it added or
    /// changed, other managers lose those fields and any removed ones.
    ///
    /// The starting managed fields are read as upstream does: for a
    /// subresource always from `old`; otherwise from `new` when it carries a
    /// non-empty, decodable list (clients may rewrite managedFields), an
    /// empty list (or one empty entry) resets tracking, else from `old`.
    /// An update of an object that has no managed fields is not tracked.
    /// Write the result with [`write_managed_fields`].
    ///
    /// # Errors
    ///
    /// [`ApplyError::Compare`] when the objects cannot be compared under the
    /// schema (e.g. a list item without its key). Upstream then keeps the old
    /// object's managedFields.
    pub fn record_update(
        &self,
        old: Option<&Value>,
        new: &Value,
        manager: &str,
        now: &str,
    ) -> Result<Vec<ManagedFieldsEntry>, ApplyError> {
        let from_old = || {
            old.and_then(|o| read_managed_fields(o).ok())
                .unwrap_or_default()
        };
        let entries = if !self.subresource.is_empty() {
            from_old()
        } else if is_reset_managed_fields(new) {
            Vec::new()
        } else {
            match read_managed_fields(new) {
                Ok(e) if !e.is_empty() => e,
                _ => from_old(),
            }
        };
        self.update_managed(old, new, entries, manager, now)
    }

    /// [`FieldManager::record_update`] with the starting managed fields
    /// given explicitly.
    ///
    /// # Errors
    ///
    /// As [`FieldManager::record_update`].
    pub fn update_managed(
        &self,
        old: Option<&Value>,
        new: &Value,
        managed_fields: Vec<ManagedFieldsEntry>,
        manager: &str,
        now: &str,
    ) -> Result<Vec<ManagedFieldsEntry>, ApplyError> {
        let managed = decode(managed_fields);
        let creating = old.is_none_or(|o| str_at(o, &["metadata", "uid"]).is_empty());
        if managed.is_empty() && !creating {
            return Ok(Vec::new());
        }
        // The objects are compared as they are: `metadata.managedFields` is
        // stripped from what any manager owns, so its own changes never
        // count (and large objects are not copied to drop it).
        let empty = Value::Object(Map::new());
        let managed = self.update_layers(old.unwrap_or(&empty), new, managed, manager, now)?;
        Ok(encode(&managed))
    }

    /// The Update path below skip-non-applied: manager cap, identity, time
    /// stamp, meta stripping and the structured update.
    fn update_layers(
        &self,
        old: &Value,
        new: &Value,
        mut managed: Managed,
        manager: &str,
        now: &str,
    ) -> Result<Managed, ApplyError> {
        let name = if manager.is_empty() {
            "unknown"
        } else {
            manager
        };
        let id = manager_identifier(
            name,
            Operation::Update,
            &self.api_version,
            &self.subresource,
        );

        let cmp = self.update_ownership(old, new, &mut managed, CURRENT_OPERATION, true)?;
        let mut set = cmp.added;
        set.union_in_place(&cmp.modified);
        set.remove_recursive(&self.reset_fields());
        if !set.is_empty() {
            managed.insert(
                CURRENT_OPERATION.to_string(),
                ManagerState {
                    manager: name.to_string(),
                    operation: Operation::Update,
                    api_version: self.api_version.clone(),
                    subresource: self.subresource.clone(),
                    set,
                    time: None,
                },
            );
        }
        strip_meta(&mut managed, CURRENT_OPERATION);
        if let Some(mut current) = managed.remove(CURRENT_OPERATION) {
            if let Some(previous) = managed.get(&id) {
                current.set.union_in_place(&previous.set);
            }
            managed.insert(
                id,
                ManagerState {
                    time: Some(now.to_string()),
                    ..current
                },
            );
        }
        self.cap_update_managers(&mut managed);
        Ok(managed)
    }

    /// Folds the oldest Update managers into per-version `ancient-changes`
    /// buckets until at most the cap remain.
    fn cap_update_managers(&self, managed: &mut Managed) {
        let mut updaters: Vec<String> = managed
            .iter()
            .filter(|(_, s)| s.operation == Operation::Update)
            .map(|(id, _)| id.clone())
            .collect();
        if updaters.len() <= self.max_update_managers {
            return;
        }
        updaters.sort_by(|a, b| {
            let ta = time_seconds(managed.get(a).and_then(|s| s.time.as_deref()));
            let tb = time_seconds(managed.get(b).and_then(|s| s.time.as_deref()));
            ta.cmp(&tb).then_with(|| a.cmp(b))
        });
        let mut first_of_version: HashMap<String, String> = HashMap::new();
        let mut length = updaters.len();
        for id in updaters {
            if length <= self.max_update_managers {
                break;
            }
            let Some(state) = managed.get(&id).cloned() else {
                continue;
            };
            let version = state.api_version.clone();
            let bucket = manager_identifier(ANCIENT_CHANGES, Operation::Update, &version, "");
            if id == bucket {
                continue;
            }
            match first_of_version.get(&version) {
                Some(first) => {
                    if !managed.contains_key(&bucket)
                        && let Some(f) = managed.remove(first)
                    {
                        managed.insert(
                            bucket.clone(),
                            ManagerState {
                                manager: ANCIENT_CHANGES.to_string(),
                                subresource: String::new(),
                                ..f
                            },
                        );
                    }
                    if let Some(b) = managed.get_mut(&bucket) {
                        b.set = state.set.union(&b.set);
                        b.api_version = version.clone();
                        b.time = state.time.clone();
                    }
                    managed.remove(&id);
                    length -= 1;
                }
                None => {
                    first_of_version.insert(version, id);
                }
            }
        }
    }
}

fn last_applied(obj: &Value) -> Option<&str> {
    let s = obj
        .get("metadata")?
        .get("annotations")?
        .get(LAST_APPLIED_ANNOTATION)?
        .as_str()?;
    (!s.is_empty()).then_some(s)
}

fn set_last_applied(obj: &mut Value, value: String) {
    if let Some(Value::Object(annotations)) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        annotations.insert(LAST_APPLIED_ANNOTATION.to_string(), Value::String(value));
    }
}

/// The applied object without the annotation itself, as Go's JSON encoder
/// writes it (sorted keys, trailing newline).
fn build_last_applied(applied: &Value) -> String {
    let mut obj = applied.clone();
    if let Some(Value::Object(annotations)) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        annotations.remove(LAST_APPLIED_ANNOTATION);
    }
    let mut s = json_value(&obj, true);
    s.push('\n');
    s
}
