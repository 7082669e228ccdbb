//! Strategic merge patch (`application/strategic-merge-patch+json`) application.
//!
//! A strategic merge patch is a JSON merge patch whose lists can be merged
//! instead of replaced, steered by per-field facts from the schema
//! (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`) and by
//! directives carried inside the patch itself:
//!
//! * maps merge recursively and `null` deletes a key;
//! * a list whose field has strategy `merge` and a merge key is merged item by
//!   item (patch items update the original item with the same merge-key value,
//!   new ones are added); with `merge` and no merge key a list of primitives is
//!   a set union; any other list is replaced by the patch's list;
//! * `$patch: replace` / `$patch: delete` in a map replace or delete that map;
//!   in a merging list, an element `{"$patch": "replace"}` replaces the whole
//!   list with the other patch elements and `{<key>: v, "$patch": "delete"}`
//!   removes the items whose merge key is `v`;
//! * `$deleteFromPrimitiveList/<field>: [..]` removes values from a primitive
//!   list, `$setElementOrder/<field>: [..]` fixes the order of the merged list,
//!   `$retainKeys: [..]` clears the keys of the original map that are not
//!   listed.
//!
//! Directive keys never reach the result. Fields whose schema is unknown
//! behave as in a JSON merge patch (maps merge, lists are replaced).

use serde_json::{Map, Value};
use std::borrow::Cow;
use thiserror::Error;

/// The in-map and in-list directive key (`$patch: replace|delete|merge`).
const DIRECTIVE: &str = "$patch";
/// Lists the keys of a map to keep (`$retainKeys: [..]`).
const RETAIN_KEYS: &str = "$retainKeys";
/// Prefix of the parallel list that orders a merged list.
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
/// Prefix of the parallel list that removes values from a primitive list.
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
/// Prefix of a `$ref` to a component schema in an OpenAPI v3 document.
const SCHEMA_REF_PREFIX: &str = "#/components/schemas/";

/// How a field's value combines with the patch (`x-kubernetes-patch-strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// No strategy declared: maps merge, lists are replaced.
    #[default]
    Unspecified,
    /// `merge`: lists are merged (by merge key, or as a set of primitives).
    Merge,
    /// `replace`: the patch value replaces the field wholesale.
    Replace,
}

impl Strategy {
    /// Parses an `x-kubernetes-patch-strategy` value such as `"merge"`,
    /// `"retainKeys"` or `"merge,retainKeys"` into the strategy and whether
    /// `retainKeys` is part of it. Unknown parts are ignored.
    pub fn parse(value: &str) -> (Strategy, bool) {
        let mut strategy = Strategy::Unspecified;
        let mut retain_keys = false;
        for part in value.split(',').map(str::trim) {
            match part {
                "merge" => strategy = Strategy::Merge,
                "replace" => strategy = Strategy::Replace,
                "retainKeys" => retain_keys = true,
                _ => {}
            }
        }
        (strategy, retain_keys)
    }
}

/// Patch facts about one property of an object schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMeta {
    /// The field's patch strategy.
    pub strategy: Strategy,
    /// Whether the strategy includes `retainKeys` (the patch may carry
    /// `$retainKeys`). Informational: `$retainKeys` is honoured wherever the
    /// patch carries it, as upstream does.
    pub retain_keys: bool,
    /// `x-kubernetes-patch-merge-key`: the key identifying items of a merging
    /// list of objects.
    pub merge_key: Option<String>,
    /// Schema name of the field's value: for arrays, of the items; for maps
    /// (`additionalProperties`), of the values; `None` for primitives and
    /// unknown (free-form) values.
    pub schema: Option<String>,
    /// The field is a string-keyed map (`additionalProperties`): `schema`
    /// names the schema of its values, not of the field itself.
    pub map_values: bool,
}

/// Where per-field patch facts come from.
pub trait PatchSchema {
    /// Facts about property `field` of the object schema named `schema`
    /// (`None` schema = unknown/free-form: return [`FieldMeta::default`]).
    fn field(&self, schema: Option<&str>, field: &str) -> FieldMeta;
}

/// [`PatchSchema`] over OpenAPI v3 component schemas (name → schema), as
/// published under `components.schemas` (names like `io.k8s.api.core.v1.Pod`).
#[derive(Debug, Clone, Default)]
pub struct OpenApiSchemas {
    schemas: Cow<'static, Map<String, Value>>,
}

impl OpenApiSchemas {
    /// Wraps a map of component schemas keyed by schema name.
    pub fn new(schemas: Map<String, Value>) -> Self {
        OpenApiSchemas {
            schemas: Cow::Owned(schemas),
        }
    }

    /// Borrows a map of component schemas that lives for the whole process
    /// (the server's built-in catalog).
    pub fn borrowed(schemas: &'static Map<String, Value>) -> Self {
        OpenApiSchemas {
            schemas: Cow::Borrowed(schemas),
        }
    }

    /// The wrapped component schemas.
    pub fn schemas(&self) -> &Map<String, Value> {
        &self.schemas
    }
}

/// The schema name a (sub)schema refers to, through `$ref` or `allOf: [{$ref}]`.
fn schema_ref(schema: &Value) -> Option<String> {
    let reference = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference,
        None => schema
            .get("allOf")?
            .as_array()?
            .iter()
            .find_map(|part| part.get("$ref").and_then(Value::as_str))?,
    };
    Some(
        reference
            .strip_prefix(SCHEMA_REF_PREFIX)
            .unwrap_or(reference)
            .to_owned(),
    )
}

impl PatchSchema for OpenApiSchemas {
    fn field(&self, schema: Option<&str>, field: &str) -> FieldMeta {
        let Some(property) = schema
            .and_then(|name| self.schemas.get(name))
            .and_then(|definition| definition.get("properties"))
            .and_then(|properties| properties.get(field))
        else {
            return FieldMeta::default();
        };
        let (strategy, retain_keys) = property
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .map(Strategy::parse)
            .unwrap_or_default();
        let merge_key = property
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
            .filter(|key| !key.is_empty())
            .map(str::to_owned);
        let (schema, map_values) = if let Some(items) = property.get("items") {
            (schema_ref(items), false)
        } else if let Some(values) = property.get("additionalProperties") {
            (schema_ref(values), true)
        } else {
            (schema_ref(property), false)
        };
        FieldMeta {
            strategy,
            retain_keys,
            merge_key,
            schema,
            map_values,
        }
    }
}

/// Why a strategic merge patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SmpError {
    /// The patch (or the original) is not a JSON object.
    #[error("invalid JSON document: {0}")]
    InvalidDocument(String),
    /// `$patch` carries a value other than `replace`, `delete` or `merge`.
    #[error("unknown patch type: {directive} in map: {map}")]
    UnknownDirective {
        /// The offending `$patch` value.
        directive: String,
        /// The map that carried it, in Go's `%v` form.
        map: String,
    },
    /// `{"$patch": "merge"}` inside a list: only `replace` and `delete` are
    /// list directives.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeDirectiveInList,
    /// An item of a merging list (or of a `$setElementOrder` list) lacks the
    /// declared merge key.
    #[error("map: {map} does not contain declared merge key: {key}")]
    MissingMergeKey {
        /// The item, in Go's `%v` form.
        map: String,
        /// The declared merge key.
        key: String,
    },
    /// A list of objects is declared `merge` but has no merge key.
    #[error("cannot merge lists without merge key for {field}")]
    NoMergeKey {
        /// The list field.
        field: String,
    },
    /// Lists of lists cannot be merged.
    #[error("lists of lists are not supported")]
    ListOfLists,
    /// A merging list mixes element types (e.g. objects and strings).
    #[error("list element types are not identical: {list}")]
    MixedListTypes {
        /// The original and patch lists, in Go's `%v` form.
        list: String,
    },
    /// A `$deleteFromPrimitiveList/<field>` directive is malformed.
    #[error("invalid patch format of primitive list: {0}")]
    BadDeleteFromPrimitiveList(String),
    /// A `$setElementOrder/<field>` directive is malformed.
    #[error("invalid patch format of setElementOrder list: {0}")]
    BadSetElementOrder(String),
    /// The patch list's items are not in the order its `$setElementOrder`
    /// list gives, or are missing from it.
    #[error("The order in patch list:\n{patch}\n doesn't match $setElementOrder list:\n{order}\n")]
    SetElementOrderMismatch {
        /// The patch list, in Go's `%v` form.
        patch: String,
        /// The `$setElementOrder` list, in Go's `%v` form.
        order: String,
    },
    /// A `$retainKeys` directive is malformed, or the patch sets a key it
    /// does not list.
    #[error("invalid patch format of retainKeys: {0}")]
    BadRetainKeys(String),
}

impl SmpError {
    /// Whether upstream answers this error with 400 Bad Request (malformed
    /// patch document or directive list); the others are rejections of the
    /// patch's content, best answered with 422.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            SmpError::InvalidDocument(_)
                | SmpError::BadDeleteFromPrimitiveList(_)
                | SmpError::BadSetElementOrder(_)
                | SmpError::BadRetainKeys(_)
        )
    }
}

/// Applies strategic merge patch `patch` to `original`.
///
/// `root` names the schema of the whole document (e.g.
/// `io.k8s.api.apps.v1.Deployment`); `None` makes every field free-form, so
/// the patch behaves as a JSON merge patch (plus directives). A `null`
/// original is treated as an empty object. The inputs are not modified.
///
/// # Errors
///
/// [`SmpError`] when the patch is not an object, carries a malformed
/// directive, or cannot be merged (missing merge key, list element types
/// that differ, lists of lists); [`SmpError::is_bad_request`] tells which
/// status upstream answers with.
pub fn apply_strategic(
    original: &Value,
    patch: &Value,
    schema: &dyn PatchSchema,
    root: Option<&str>,
) -> Result<Value, SmpError> {
    let Value::Object(patch) = patch else {
        return Err(SmpError::InvalidDocument(format!(
            "a strategic merge patch must be a JSON object, not {}",
            type_name(patch)
        )));
    };
    let original = match original {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(SmpError::InvalidDocument(format!(
                "the patched document must be a JSON object, not {}",
                type_name(other)
            )));
        }
    };
    let merger = Merger { schema };
    let merged = merger.merge_map(original, patch.clone(), Scope::object(root))?;
    Ok(Value::Object(merged))
}

/// The schema context of a map being merged.
#[derive(Debug, Clone, Copy)]
struct Scope<'a> {
    /// Schema name: of the object itself, or of every value if `map_values`.
    name: Option<&'a str>,
    /// The map is a string-keyed map whose values all have schema `name`.
    map_values: bool,
}

impl<'a> Scope<'a> {
    fn object(name: Option<&'a str>) -> Self {
        Scope {
            name,
            map_values: false,
        }
    }

    /// Scope of the map held by a field described by `meta`.
    fn of_field(meta: &'a FieldMeta) -> Self {
        Scope {
            name: meta.schema.as_deref(),
            map_values: meta.map_values,
        }
    }

    /// Scope of the items of a list field described by `meta`.
    fn of_items(meta: &'a FieldMeta) -> Self {
        Scope::object(meta.schema.as_deref())
    }
}

/// The result of merging two lists.
struct MergedList {
    /// The merged, ordered items.
    items: Vec<Value>,
    /// For lists of objects: merge-key identities of upstream's in-place
    /// edited original array, the live order a `$setElementOrder` uses.
    server_view: Option<Vec<Option<Value>>>,
}

impl MergedList {
    fn plain(items: Vec<Value>) -> Self {
        MergedList {
            items,
            server_view: None,
        }
    }
}

struct Merger<'s> {
    schema: &'s dyn PatchSchema,
}

impl Merger<'_> {
    fn lookup(&self, scope: Scope<'_>, key: &str) -> FieldMeta {
        if scope.map_values {
            FieldMeta {
                schema: scope.name.map(str::to_owned),
                ..FieldMeta::default()
            }
        } else {
            self.schema.field(scope.name, key)
        }
    }

    /// Merges `patch` into `original`. `$patch: delete` yields an empty map,
    /// as upstream does (the key stays, holding `{}`).
    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        scope: Scope<'_>,
    ) -> Result<Map<String, Value>, SmpError> {
        if let Some(directive) = patch.get(DIRECTIVE) {
            match directive.as_str() {
                Some("replace") => {
                    patch.remove(DIRECTIVE);
                    return sanitize_map(patch);
                }
                Some("delete") => return Ok(Map::new()),
                Some("merge") => {
                    patch.remove(DIRECTIVE);
                }
                _ => return Err(unknown_directive(directive, &patch)),
            }
        }
        apply_retain_keys(&mut original, &mut patch)?;
        self.merge_ordered_lists(&mut original, &mut patch, scope)?;

        let mut deletions = Vec::new();
        for (key, value) in patch {
            if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
                let field = directive_field(&key, DELETE_FROM_PRIMITIVE_LIST).ok_or_else(|| {
                    SmpError::BadDeleteFromPrimitiveList(format!(
                        "{key:?} is not of the form {DELETE_FROM_PRIMITIVE_LIST}/<field>"
                    ))
                })?;
                deletions.push((field.to_owned(), value));
                continue;
            }
            self.merge_field(&mut original, key, value, scope)?;
        }
        // Parallel deletion lists apply after the additions to the same list.
        for (field, values) in deletions {
            delete_from_primitive_list(&mut original, &field, values)?;
        }
        Ok(original)
    }

    /// Merges one patch entry into `original`.
    fn merge_field(
        &self,
        original: &mut Map<String, Value>,
        key: String,
        value: Value,
        scope: Scope<'_>,
    ) -> Result<(), SmpError> {
        if value.is_null() {
            original.remove(&key);
            return Ok(());
        }
        let current = original.get_mut(&key).map(std::mem::take);
        let merged = match (current, value) {
            (None, value) => sanitize(value)?,
            (Some(Value::Object(current)), Value::Object(patch)) => {
                let meta = self.lookup(scope, &key);
                if meta.strategy == Strategy::Replace {
                    Some(Value::Object(sanitize_map(patch)?))
                } else {
                    Some(Value::Object(self.merge_map(
                        current,
                        patch,
                        Scope::of_field(&meta),
                    )?))
                }
            }
            (Some(Value::Array(current)), Value::Array(patch)) => {
                let meta = self.lookup(scope, &key);
                let merged = if meta.strategy == Strategy::Merge {
                    self.merge_list(current, patch, &meta, &key)?.items
                } else {
                    sanitize_list(patch)?
                };
                Some(Value::Array(merged))
            }
            // Scalars, and values whose type changes: the patch wins.
            (Some(_), value) => sanitize(value)?,
        };
        match merged {
            Some(merged) => {
                original.insert(key, merged);
            }
            None => {
                original.remove(&key);
            }
        }
        Ok(())
    }

    /// Merges two lists of a field with strategy `merge`.
    fn merge_list(
        &self,
        mut original: Vec<Value>,
        patch: Vec<Value>,
        meta: &FieldMeta,
        field: &str,
    ) -> Result<MergedList, SmpError> {
        if original.is_empty() && patch.is_empty() {
            return Ok(MergedList::plain(original));
        }
        if element_kind(&original, &patch)? != Kind::Object {
            // A set of primitives: union, ordered like upstream.
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for value in original.iter().chain(patch.iter()) {
                if !merged.contains(value) {
                    merged.push(value.clone());
                }
            }
            let patch_ids: Vec<Value> = patch.iter().filter_map(|v| identity(v, None)).collect();
            let server_ids: Vec<Option<Value>> =
                original.iter().map(|v| identity(v, None)).collect();
            return Ok(MergedList::plain(order_items(
                merged,
                &patch_ids,
                &server_ids,
                None,
            )));
        }
        let Some(merge_key) = meta.merge_key.as_deref() else {
            return Err(SmpError::NoMergeKey {
                field: field.to_owned(),
            });
        };

        // Upstream edits the original list in place (deletions shift the
        // remaining items left, additions then reuse the freed tail slots),
        // and a `$setElementOrder` of the same list later reads that edited
        // array as the "live" order. `view` replays those edits on merge-key
        // identities, assuming the list had no spare capacity.
        let mut view: Vec<Option<Value>> = original
            .iter()
            .map(|v| identity(v, Some(merge_key)))
            .collect();
        let mut view_len = view.len();

        // Special elements first: deletions and the replace marker.
        let mut replace = false;
        let mut items = Vec::with_capacity(patch.len());
        for item in patch {
            let Value::Object(item) = item else {
                continue; // unreachable: element_kind checked every element
            };
            let Some(directive) = item.get(DIRECTIVE) else {
                items.push(item);
                continue;
            };
            match directive.as_str() {
                Some("delete") => {
                    let Some(value) = item.get(merge_key) else {
                        return Err(missing_merge_key(&item, merge_key));
                    };
                    original.retain(|existing| existing.get(merge_key) != Some(value));
                    while let Some(index) = view[..view_len]
                        .iter()
                        .position(|id| id.as_ref() == Some(value))
                    {
                        view[index..view_len].rotate_left(1);
                        if view_len - 1 > index {
                            view[view_len - 1] = view[view_len - 2].clone();
                        }
                        view_len -= 1;
                    }
                }
                Some("replace") => replace = true,
                Some("merge") => return Err(SmpError::MergeDirectiveInList),
                _ => return Err(unknown_directive(directive, &item)),
            }
        }
        if replace {
            let mut replaced = Vec::with_capacity(items.len());
            for item in items {
                replaced.push(Value::Object(sanitize_map(item)?));
            }
            return Ok(MergedList {
                items: replaced,
                server_view: Some(view),
            });
        }

        let server_ids: Vec<Option<Value>> = original
            .iter()
            .map(|v| identity(v, Some(merge_key)))
            .collect();
        let mut patch_ids = Vec::with_capacity(items.len());
        let mut merged = original;
        for item in items {
            let Some(value) = item.get(merge_key).cloned() else {
                return Err(missing_merge_key(&item, merge_key));
            };
            let found = merged
                .iter()
                .position(|existing| existing.get(merge_key) == Some(&value));
            patch_ids.push(value.clone());
            match found {
                Some(index) => {
                    let current = match std::mem::take(&mut merged[index]) {
                        Value::Object(current) => current,
                        _ => Map::new(), // unreachable: element_kind checked it
                    };
                    merged[index] =
                        Value::Object(self.merge_map(current, item, Scope::of_items(meta))?);
                }
                None => {
                    if let Some(slot) = view.get_mut(view_len) {
                        *slot = Some(value);
                    }
                    view_len += 1;
                    merged.push(Value::Object(sanitize_map(item)?));
                }
            }
        }
        Ok(MergedList {
            items: order_items(merged, &patch_ids, &server_ids, Some(merge_key)),
            server_view: Some(view),
        })
    }

    /// Handles every `$setElementOrder/<field>` of `patch`: merges the field's
    /// patch list into the original list and orders the result, removing both
    /// from `patch`.
    fn merge_ordered_lists(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        scope: Scope<'_>,
    ) -> Result<(), SmpError> {
        let keys: Vec<String> = patch
            .keys()
            .filter(|key| key.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for key in keys {
            let Some(order) = patch.remove(&key) else {
                continue;
            };
            let field = directive_field(&key, SET_ELEMENT_ORDER)
                .ok_or_else(|| {
                    SmpError::BadSetElementOrder(format!(
                        "{key:?} is not of the form {SET_ELEMENT_ORDER}/<field>"
                    ))
                })?
                .to_owned();
            let Value::Array(order) = order else {
                return Err(SmpError::BadSetElementOrder(format!(
                    "{key} must be a list, not {}",
                    type_name(&order)
                )));
            };
            let current = match original.get(&field) {
                None | Some(Value::Null) => None,
                Some(Value::Array(list)) => Some(list.clone()),
                Some(other) => {
                    return Err(SmpError::BadSetElementOrder(format!(
                        "field {field} is {}, not a list",
                        type_name(other)
                    )));
                }
            };
            let patch_list = match patch.remove(&field) {
                None => None,
                Some(Value::Array(list)) => Some(list),
                Some(other) => {
                    return Err(SmpError::BadSetElementOrder(format!(
                        "{key} is given but the patch for {field} is {}, not a list",
                        type_name(&other)
                    )));
                }
            };
            let meta = self.lookup(scope, &field);
            let merge_key = meta.merge_key.as_deref();
            validate_order(patch_list.as_deref().unwrap_or_default(), &order, merge_key)?;
            let mut server_ids: Vec<Option<Value>> = current
                .iter()
                .flatten()
                .map(|v| identity(v, merge_key))
                .collect();
            let merged = match (current, patch_list) {
                (Some(current), None) => current,
                (None, Some(patch_list)) => sanitize_list(patch_list)?,
                (Some(current), Some(patch_list)) => {
                    if meta.strategy == Strategy::Merge {
                        let merged = self.merge_list(current, patch_list, &meta, &field)?;
                        if let Some(view) = merged.server_view {
                            server_ids = view;
                        }
                        merged.items
                    } else {
                        sanitize_list(patch_list)?
                    }
                }
                (None, None) => continue,
            };
            let mut order_ids = Vec::with_capacity(order.len());
            for entry in &order {
                match identity(entry, merge_key) {
                    Some(id) => order_ids.push(id),
                    None => {
                        return Err(match entry {
                            Value::Object(map) => {
                                missing_merge_key(map, merge_key.unwrap_or_default())
                            }
                            _ => SmpError::BadSetElementOrder(format!(
                                "{key} holds {}",
                                go_fmt(entry)
                            )),
                        });
                    }
                }
            }
            let ordered = order_items(merged, &order_ids, &server_ids, merge_key);
            original.insert(field, Value::Array(ordered));
        }
        Ok(())
    }
}

/// Applies and removes the `$retainKeys` directive of `patch`: checks that
/// every key the patch sets is listed, then drops unlisted keys of `original`.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), SmpError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(SmpError::BadRetainKeys(format!(
            "{RETAIN_KEYS} must be a list, not {}",
            type_name(&retain)
        )));
    };
    let listed = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
    for (key, value) in patch.iter() {
        if value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(key) {
            return Err(SmpError::BadRetainKeys(format!(
                "the patch sets {key:?} but {RETAIN_KEYS} does not list it"
            )));
        }
    }
    original.retain(|key, _| listed(key));
    Ok(())
}

/// Applies `$deleteFromPrimitiveList/<field>: values` to `original`.
fn delete_from_primitive_list(
    original: &mut Map<String, Value>,
    field: &str,
    values: Value,
) -> Result<(), SmpError> {
    let Value::Array(values) = values else {
        return Err(SmpError::BadDeleteFromPrimitiveList(format!(
            "{DELETE_FROM_PRIMITIVE_LIST}/{field} must be a list, not {}",
            type_name(&values)
        )));
    };
    if let Some(value) = values.iter().find(|v| v.is_object() || v.is_array()) {
        return Err(SmpError::BadDeleteFromPrimitiveList(format!(
            "{DELETE_FROM_PRIMITIVE_LIST}/{field} may only hold primitives, not {}",
            go_fmt(value)
        )));
    }
    if let Some(Value::Array(list)) = original.get_mut(field) {
        list.retain(|item| !values.contains(item));
    }
    Ok(())
}

/// Checks that the (non-deleted) items of `patch` appear in `order` in the
/// same relative order.
fn validate_order(
    patch: &[Value],
    order: &[Value],
    merge_key: Option<&str>,
) -> Result<(), SmpError> {
    if patch.is_empty() || order.is_empty() {
        return Ok(());
    }
    // Items carrying a directive (deletions, the replace marker) are not ordered.
    let items: Vec<&Value> = patch.iter().filter(|item| !has_directive(item)).collect();
    let (mut p, mut o) = (0, 0);
    while p < items.len() && o < order.len() {
        if same_item(items[p], &order[o], merge_key)? {
            p += 1;
        }
        o += 1;
    }
    if p < items.len() {
        return Err(SmpError::SetElementOrderMismatch {
            patch: go_fmt_list(patch),
            order: go_fmt_list(order),
        });
    }
    Ok(())
}

/// Whether two list items are the same item (same merge-key value, or equal).
fn same_item(a: &Value, b: &Value, merge_key: Option<&str>) -> Result<bool, SmpError> {
    let Some(key) = merge_key else {
        return Ok(a == b);
    };
    let value_of = |item: &Value| match item {
        Value::Object(map) => map
            .get(key)
            .cloned()
            .ok_or_else(|| missing_merge_key(map, key)),
        other => Ok(other.clone()),
    };
    Ok(value_of(a)? == value_of(b)?)
}

/// What identifies a list item when ordering: its merge-key value, or the
/// value itself for primitives. `None` for an object lacking the merge key.
fn identity(item: &Value, merge_key: Option<&str>) -> Option<Value> {
    match (merge_key, item) {
        (Some(key), Value::Object(map)) => map.get(key).cloned(),
        _ => Some(item.clone()),
    }
}

/// Orders a merged list as upstream does: items named by `patch_ids` follow
/// that order; the other (server-only) items keep the order they had in the
/// original (`server_ids`, identities of the original items); the two runs
/// are then interleaved, a server-only item going before a patch item only
/// when both were in the original and it came first there.
///
/// Objects lacking the merge key are kept as server-only items: the n-th such
/// item of `merged` takes the original position of the n-th such item.
fn order_items(
    merged: Vec<Value>,
    patch_ids: &[Value],
    server_ids: &[Option<Value>],
    merge_key: Option<&str>,
) -> Vec<Value> {
    struct Entry {
        value: Value,
        patch_pos: Option<usize>,
        server_pos: Option<usize>,
    }
    let keyless_positions: Vec<usize> = server_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| id.is_none().then_some(i))
        .collect();
    let mut keyless_seen = 0;
    let mut patch_items = Vec::new();
    let mut server_items = Vec::new();
    for value in merged {
        let entry = match identity(&value, merge_key) {
            Some(id) => Entry {
                patch_pos: patch_ids.iter().position(|p| *p == id),
                server_pos: server_ids.iter().position(|s| s.as_ref() == Some(&id)),
                value,
            },
            None => {
                let server_pos = keyless_positions.get(keyless_seen).copied();
                keyless_seen += 1;
                Entry {
                    value,
                    patch_pos: None,
                    server_pos,
                }
            }
        };
        if entry.patch_pos.is_some() {
            patch_items.push(entry);
        } else {
            server_items.push(entry);
        }
    }
    patch_items.sort_by_key(|entry| entry.patch_pos);
    server_items.sort_by_key(|entry| (entry.server_pos.is_none(), entry.server_pos));

    let mut ordered = Vec::with_capacity(patch_items.len() + server_items.len());
    let mut server_iter = server_items.into_iter().peekable();
    let mut patch_iter = patch_items.into_iter().peekable();
    loop {
        let take_server = match (server_iter.peek(), patch_iter.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(server), Some(patch)) => matches!(
                (server.server_pos, patch.server_pos),
                (Some(s), Some(p)) if s < p
            ),
        };
        let next = if take_server {
            server_iter.next()
        } else {
            patch_iter.next()
        };
        if let Some(entry) = next {
            ordered.push(entry.value);
        }
    }
    ordered
}

/// The element type of a list, for the upstream same-type rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

fn kind_of(value: &Value) -> Kind {
    match value {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(_) => Kind::Number,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// The common element type of two non-empty-in-total lists.
fn element_kind(original: &[Value], patch: &[Value]) -> Result<Kind, SmpError> {
    let mut kind = None;
    for value in original.iter().chain(patch.iter()) {
        let this = kind_of(value);
        if this == Kind::Array {
            return Err(SmpError::ListOfLists);
        }
        match kind {
            None => kind = Some(this),
            Some(kind) if kind != this => {
                return Err(SmpError::MixedListTypes {
                    list: format!("[{} {}]", go_fmt_list(original), go_fmt_list(patch)),
                });
            }
            Some(_) => {}
        }
    }
    Ok(kind.unwrap_or(Kind::Object))
}

fn has_directive(item: &Value) -> bool {
    item.as_object()
        .is_some_and(|map| map.contains_key(DIRECTIVE))
}

/// `<prefix>/<field>` → `<field>`.
fn directive_field<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    key.strip_prefix(prefix)?.strip_prefix('/')
}

/// Whether `key` is a directive key that must never reach the result.
fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE
        || key == RETAIN_KEYS
        || directive_field(key, SET_ELEMENT_ORDER).is_some()
        || directive_field(key, DELETE_FROM_PRIMITIVE_LIST).is_some()
}

/// A patch value taken as is (nothing to merge it with): directives are
/// resolved against nothing and dropped, `null` map entries are dropped.
/// `None` means the value disappears (`$patch: delete`).
fn sanitize(value: Value) -> Result<Option<Value>, SmpError> {
    match value {
        Value::Object(map) => {
            if let Some(directive) = map.get(DIRECTIVE) {
                match directive.as_str() {
                    Some("delete") => return Ok(None),
                    Some("replace" | "merge") => {}
                    _ => return Err(unknown_directive(directive, &map)),
                }
            }
            sanitize_map(map).map(|map| Some(Value::Object(map)))
        }
        Value::Array(list) => sanitize_list(list).map(|list| Some(Value::Array(list))),
        other => Ok(Some(other)),
    }
}

fn sanitize_map(map: Map<String, Value>) -> Result<Map<String, Value>, SmpError> {
    let mut clean = Map::new();
    for (key, value) in map {
        if value.is_null() || is_directive_key(&key) {
            continue;
        }
        if let Some(value) = sanitize(value)? {
            clean.insert(key, value);
        }
    }
    Ok(clean)
}

/// Drops list elements that are directives (`{"$patch": ..}`) and sanitizes
/// the others.
fn sanitize_list(list: Vec<Value>) -> Result<Vec<Value>, SmpError> {
    let mut clean = Vec::with_capacity(list.len());
    for item in list {
        if let Value::Object(map) = &item
            && let Some(directive) = map.get(DIRECTIVE)
        {
            match directive.as_str() {
                Some("delete" | "replace" | "merge") => continue,
                _ => return Err(unknown_directive(directive, map)),
            }
        }
        if let Some(item) = sanitize(item)? {
            clean.push(item);
        }
    }
    Ok(clean)
}

fn unknown_directive(directive: &Value, map: &Map<String, Value>) -> SmpError {
    SmpError::UnknownDirective {
        directive: go_fmt(directive),
        map: go_fmt_map(map),
    }
}

fn missing_merge_key(map: &Map<String, Value>, key: &str) -> SmpError {
    SmpError::MissingMergeKey {
        map: go_fmt_map(map),
        key: key.to_owned(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Formats a value as Go's `%v` prints decoded JSON (`map[k:v]`, `[a b]`),
/// so error messages read like upstream's.
fn go_fmt(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(list) => go_fmt_list(list),
        Value::Object(map) => go_fmt_map(map),
    }
}

fn go_fmt_list(list: &[Value]) -> String {
    let items: Vec<String> = list.iter().map(go_fmt).collect();
    format!("[{}]", items.join(" "))
}

fn go_fmt_map(map: &Map<String, Value>) -> String {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let items: Vec<String> = entries
        .into_iter()
        .map(|(key, value)| format!("{key}:{}", go_fmt(value)))
        .collect();
    format!("map[{}]", items.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEPLOYMENT: Option<&str> = Some("io.k8s.api.apps.v1.Deployment");
    const POD: Option<&str> = Some("io.k8s.api.core.v1.Pod");
    const SERVICE: Option<&str> = Some("io.k8s.api.core.v1.Service");
    const CONFIG_MAP: Option<&str> = Some("io.k8s.api.core.v1.ConfigMap");
    const STATEFUL_SET: Option<&str> = Some("io.k8s.api.apps.v1.StatefulSet");
    const NODE: Option<&str> = Some("io.k8s.api.core.v1.Node");
    const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

    fn catalog() -> &'static OpenApiSchemas {
        crate::patch::strategic_schemas()
    }

    struct Case {
        name: &'static str,
        root: Option<&'static str>,
        original: Value,
        patch: Value,
        want: Value,
    }

    fn assert_no_directives(name: &str, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    assert!(!is_directive_key(key), "{name}: directive {key} in output");
                    assert_no_directives(name, value);
                }
            }
            Value::Array(list) => list.iter().for_each(|v| assert_no_directives(name, v)),
            _ => {}
        }
    }

    fn run(cases: Vec<Case>) {
        for case in cases {
            let got = apply_strategic(&case.original, &case.patch, catalog(), case.root)
                .unwrap_or_else(|err| panic!("{}: unexpected error: {err}", case.name));
            assert_eq!(got, case.want, "{}", case.name);
            assert_no_directives(case.name, &got);
            let again = apply_strategic(&case.original, &case.patch, catalog(), case.root)
                .unwrap_or_else(|err| panic!("{}: unexpected error: {err}", case.name));
            assert_eq!(again, got, "{}: not deterministic", case.name);
        }
    }

    struct ErrCase {
        name: &'static str,
        root: Option<&'static str>,
        original: Value,
        patch: Value,
        want: &'static str,
        bad_request: bool,
    }

    fn run_errors(cases: Vec<ErrCase>) {
        for case in cases {
            let err = apply_strategic(&case.original, &case.patch, catalog(), case.root)
                .expect_err(case.name);
            let message = err.to_string();
            assert!(
                message.contains(case.want),
                "{}: {message:?} does not contain {:?}",
                case.name,
                case.want
            );
            assert_eq!(
                err.is_bad_request(),
                case.bad_request,
                "{}: {message}",
                case.name
            );
        }
    }

    /// Builds a pod-template document (Deployment) around `pod_spec`.
    fn deployment(name: &str, pod_spec: Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
            }
        })
    }

    fn with_pod_spec(mut doc: Value, pod_spec: Value) -> Value {
        doc["spec"]["template"]["spec"] = pod_spec;
        doc
    }

    /// The Deployment of the "kubectl patch" task page.
    fn patch_demo() -> Value {
        deployment(
            "patch-demo",
            json!({
                "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]
            }),
        )
    }

    fn retain_keys_demo(strategy: Value) -> Value {
        let mut doc = deployment(
            "retainkeys-demo",
            json!({"containers": [{"name": "retainkeys-demo-ctr", "image": "nginx"}]}),
        );
        doc["spec"]["strategy"] = strategy;
        doc
    }

    #[test]
    fn kubectl_patch_task_page_examples() {
        let rolling = json!({
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "30%", "maxUnavailable": "25%"}
        });
        run(vec![
            Case {
                name: "patching containers adds a container (merge by name, new item first)",
                root: DEPLOYMENT,
                original: patch_demo(),
                patch: json!({"spec": {"template": {"spec": {"containers": [
                    {"name": "patch-demo-ctr-2", "image": "redis"}
                ]}}}}),
                want: with_pod_spec(
                    patch_demo(),
                    json!({
                        "containers": [
                            {"name": "patch-demo-ctr-2", "image": "redis"},
                            {"name": "patch-demo-ctr", "image": "nginx"}
                        ],
                        "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]
                    }),
                ),
            },
            Case {
                name: "tolerations have no patch strategy: the list is replaced",
                root: DEPLOYMENT,
                original: patch_demo(),
                patch: json!({"spec": {"template": {"spec": {"tolerations": [
                    {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}
                ]}}}}),
                want: with_pod_spec(
                    patch_demo(),
                    json!({
                        "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                        "tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]
                    }),
                ),
            },
            Case {
                name: "strategy type Recreate without $retainKeys keeps rollingUpdate",
                root: DEPLOYMENT,
                original: retain_keys_demo(rolling.clone()),
                patch: json!({"spec": {"strategy": {"type": "Recreate"}}}),
                want: retain_keys_demo(json!({
                    "type": "Recreate",
                    "rollingUpdate": {"maxSurge": "30%", "maxUnavailable": "25%"}
                })),
            },
            Case {
                name: "$retainKeys on strategy switches RollingUpdate to Recreate",
                root: DEPLOYMENT,
                original: retain_keys_demo(rolling.clone()),
                patch: json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
                want: retain_keys_demo(json!({"type": "Recreate"})),
            },
            Case {
                name: "kubectl apply's $retainKeys form (with rollingUpdate: null)",
                root: DEPLOYMENT,
                original: retain_keys_demo(rolling),
                patch: json!({"spec": {"strategy": {
                    "$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"
                }}}),
                want: retain_keys_demo(json!({"type": "Recreate"})),
            },
        ]);
    }

    fn web_pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "labels": {"app": "web", "tier": "frontend"},
                "finalizers": ["example.com/a", "example.com/b"]
            },
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "nginx:1.25",
                        "ports": [
                            {"containerPort": 80, "protocol": "TCP"},
                            {"containerPort": 443, "protocol": "TCP"}
                        ],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]
                    },
                    {"name": "sidecar", "image": "busybox", "args": ["sleep", "3600"]}
                ],
                "volumes": [
                    {"name": "data", "emptyDir": {}},
                    {"name": "cfg", "configMap": {"name": "web-cfg"}}
                ],
                "nodeSelector": {"disk": "ssd"},
                "tolerations": [{"key": "k", "operator": "Exists"}]
            }
        })
    }

    /// `web_pod()` with `edit` applied to it.
    fn web_pod_with(edit: impl FnOnce(&mut Value)) -> Value {
        let mut pod = web_pod();
        edit(&mut pod);
        pod
    }

    #[test]
    fn pod_lists_merge_by_merge_key() {
        run(vec![
            Case {
                name: "containers merged by name, order kept",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}),
                want: web_pod_with(|p| p["spec"]["containers"][1]["image"] = json!("busybox:1.36")),
            },
            Case {
                name: "env merged by name: update B, add C",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{"name": "app", "env": [
                    {"name": "B", "value": "3"}, {"name": "C", "value": "4"}
                ]}]}}),
                want: web_pod_with(|p| {
                    p["spec"]["containers"][0]["env"] = json!([
                        {"name": "A", "value": "1"},
                        {"name": "B", "value": "3"},
                        {"name": "C", "value": "4"}
                    ]);
                }),
            },
            Case {
                name: "env item deleted with $patch: delete",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{"name": "app", "env": [
                    {"name": "A", "$patch": "delete"}
                ]}]}}),
                want: web_pod_with(|p| {
                    p["spec"]["containers"][0]["env"] = json!([{"name": "B", "value": "2"}]);
                }),
            },
            Case {
                name: "deleting a missing env item is a no-op",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{"name": "app", "env": [
                    {"name": "Z", "$patch": "delete"}
                ]}]}}),
                want: web_pod(),
            },
            Case {
                name: "ports merged by containerPort (new port before later server-only ports)",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{"name": "app", "ports": [
                    {"containerPort": 80, "name": "http"},
                    {"containerPort": 8080, "protocol": "TCP"}
                ]}]}}),
                want: web_pod_with(|p| {
                    p["spec"]["containers"][0]["ports"] = json!([
                        {"containerPort": 80, "protocol": "TCP", "name": "http"},
                        {"containerPort": 8080, "protocol": "TCP"},
                        {"containerPort": 443, "protocol": "TCP"}
                    ]);
                }),
            },
            Case {
                name: "volumes merged by name",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"volumes": [
                    {"name": "tls", "secret": {"secretName": "web-tls"}},
                    {"name": "cfg", "configMap": {"defaultMode": 420}}
                ]}}),
                want: web_pod_with(|p| {
                    // The new volume precedes the server-only "data" it is
                    // compared with first, as upstream orders it.
                    p["spec"]["volumes"] = json!([
                        {"name": "tls", "secret": {"secretName": "web-tls"}},
                        {"name": "data", "emptyDir": {}},
                        {"name": "cfg", "configMap": {"name": "web-cfg", "defaultMode": 420}}
                    ]);
                }),
            },
            Case {
                name: "$retainKeys inside a volume switches its source",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"volumes": [
                    {"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/mnt"}}
                ]}}),
                want: web_pod_with(|p| {
                    p["spec"]["volumes"][0] = json!({"name": "data", "hostPath": {"path": "/mnt"}});
                }),
            },
            Case {
                name: "volumeMounts merged by mountPath",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{"name": "app", "volumeMounts": [
                    {"mountPath": "/data", "readOnly": true}
                ]}]}}),
                want: web_pod_with(|p| {
                    p["spec"]["containers"][0]["volumeMounts"] =
                        json!([{"name": "data", "mountPath": "/data", "readOnly": true}]);
                }),
            },
            Case {
                name: "map-valued field (resources.limits) merges per key",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{"name": "app", "resources": {"limits": {"cpu": "1"}}}]}}),
                want: web_pod_with(|p| {
                    p["spec"]["containers"][0]["resources"]["limits"]["cpu"] = json!("1");
                }),
            },
            Case {
                name: "atomic list inside a merged item (args) is replaced",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{"name": "sidecar", "args": ["sleep", "60"]}]}}),
                want: web_pod_with(|p| p["spec"]["containers"][1]["args"] = json!(["sleep", "60"])),
            },
            Case {
                name: "new container: nested directives and nulls are dropped",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [{
                    "name": "new",
                    "image": "alpine",
                    "stdin": null,
                    "$setElementOrder/env": [{"name": "Y"}],
                    "env": [{"name": "Z", "$patch": "delete"}, {"name": "Y", "value": "1"}]
                }]}}),
                want: web_pod_with(|p| {
                    let containers = p["spec"]["containers"].as_array_mut().expect("list");
                    containers.insert(
                        0,
                        json!({"name": "new", "image": "alpine", "env": [{"name": "Y", "value": "1"}]}),
                    );
                }),
            },
            Case {
                name: "original item without the merge key is kept",
                root: POD,
                original: json!({"spec": {"imagePullSecrets": [{}, {"name": "reg"}]}}),
                patch: json!({"spec": {"imagePullSecrets": [{"name": "other"}]}}),
                want: json!({"spec": {"imagePullSecrets": [{"name": "other"}, {}, {"name": "reg"}]}}),
            },
        ]);
    }

    #[test]
    fn directives() {
        run(vec![
            Case {
                name: "$setElementOrder reorders containers",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]}}),
                want: web_pod_with(|p| {
                    let containers = p["spec"]["containers"].as_array_mut().expect("list");
                    containers.reverse();
                }),
            },
            Case {
                name: "$deleteFromPrimitiveList/finalizers",
                root: POD,
                original: web_pod(),
                patch: json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}}),
                want: web_pod_with(|p| p["metadata"]["finalizers"] = json!(["example.com/b"])),
            },
            Case {
                name: "$deleteFromPrimitiveList on a missing list adds nothing",
                root: POD,
                original: json!({"metadata": {"name": "x"}}),
                patch: json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
                want: json!({"metadata": {"name": "x"}}),
            },
            Case {
                name: "finalizers are a union",
                root: POD,
                original: web_pod(),
                patch: json!({"metadata": {"finalizers": ["example.com/b", "example.com/c"]}}),
                want: web_pod_with(|p| {
                    p["metadata"]["finalizers"] =
                        json!(["example.com/a", "example.com/b", "example.com/c"]);
                }),
            },
            Case {
                name: "a finalizer new to the list goes first",
                root: POD,
                original: web_pod(),
                patch: json!({"metadata": {"finalizers": ["example.com/c"]}}),
                want: web_pod_with(|p| {
                    p["metadata"]["finalizers"] =
                        json!(["example.com/c", "example.com/a", "example.com/b"]);
                }),
            },
            Case {
                name: "labels: null removes, new key added",
                root: POD,
                original: web_pod(),
                patch: json!({"metadata": {"labels": {"tier": null, "version": "v2"}}}),
                want: web_pod_with(|p| {
                    p["metadata"]["labels"] = json!({"app": "web", "version": "v2"});
                }),
            },
            Case {
                name: "$patch: replace on a map",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"nodeSelector": {"$patch": "replace", "zone": "a"}}}),
                want: web_pod_with(|p| p["spec"]["nodeSelector"] = json!({"zone": "a"})),
            },
            Case {
                name: "$patch: replace on a map the original lacks",
                root: POD,
                original: web_pod(),
                patch: json!({"metadata": {"annotations": {"$patch": "replace", "a": "b"}}}),
                want: web_pod_with(|p| p["metadata"]["annotations"] = json!({"a": "b"})),
            },
            Case {
                name: "$patch: replace in a list",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"containers": [
                    {"$patch": "replace"},
                    {"name": "only", "image": "alpine"}
                ]}}),
                want: web_pod_with(|p| {
                    p["spec"]["containers"] = json!([{"name": "only", "image": "alpine"}]);
                }),
            },
            Case {
                name: "$patch: delete on a map leaves it empty (as upstream)",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"nodeSelector": {"$patch": "delete"}}}),
                want: web_pod_with(|p| p["spec"]["nodeSelector"] = json!({})),
            },
            Case {
                name: "$patch: delete on a map the original lacks adds nothing",
                root: POD,
                original: web_pod(),
                patch: json!({"spec": {"affinity": {"$patch": "delete"}}}),
                want: web_pod(),
            },
            Case {
                name: "$patch: merge in a map is the default",
                root: POD,
                original: web_pod(),
                patch: json!({"metadata": {"labels": {"$patch": "merge", "x": "y"}}}),
                want: web_pod_with(|p| p["metadata"]["labels"]["x"] = json!("y")),
            },
            Case {
                name: "$patch: replace at the root",
                root: POD,
                original: web_pod(),
                patch: json!({"$patch": "replace", "metadata": {"name": "other"}}),
                want: json!({"metadata": {"name": "other"}}),
            },
            Case {
                name: "a value changing type is replaced",
                root: POD,
                original: json!({"spec": {"containers": [{"name": "a"}]}}),
                patch: json!({"spec": {"containers": {"name": "b"}}}),
                want: json!({"spec": {"containers": {"name": "b"}}}),
            },
        ]);
    }

    fn web_deployment(containers: Value) -> Value {
        deployment("web", json!({"containers": containers}))
    }

    fn app_container() -> Value {
        json!({
            "name": "c",
            "image": "nginx:1.25",
            "ports": [{"containerPort": 80}, {"containerPort": 443}],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
        })
    }

    fn with_last_applied(mut doc: Value, last_applied: &str) -> Value {
        doc["metadata"]["annotations"] = json!({LAST_APPLIED: last_applied});
        doc
    }

    /// Patches as `kubectl apply` (client-side) sends them on a second apply.
    #[test]
    fn kubectl_apply_patches() {
        let live = with_last_applied(web_deployment(json!([app_container()])), "{}");
        let with_container = |edit: &dyn Fn(&mut Value)| {
            let mut container = app_container();
            edit(&mut container);
            with_last_applied(web_deployment(json!([container])), "{}")
        };
        run(vec![
            Case {
                name: "image change",
                root: DEPLOYMENT,
                original: live.clone(),
                patch: json!({
                    "metadata": {"annotations": {LAST_APPLIED: "{}"}},
                    "spec": {"template": {"spec": {
                        "$setElementOrder/containers": [{"name": "c"}],
                        "containers": [{"image": "nginx:1.26", "name": "c"}]
                    }}}
                }),
                want: with_container(&|c| c["image"] = json!("nginx:1.26")),
            },
            Case {
                name: "remove a container port",
                root: DEPLOYMENT,
                original: live.clone(),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "c"}],
                    "containers": [{
                        "$setElementOrder/ports": [{"containerPort": 80}],
                        "name": "c",
                        "ports": [{"$patch": "delete", "containerPort": 443}]
                    }]
                }}}}),
                want: with_container(&|c| c["ports"] = json!([{"containerPort": 80}])),
            },
            Case {
                name: "remove an env var (as kubectl sends it, with $setElementOrder/env)",
                root: DEPLOYMENT,
                original: live.clone(),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "c"}],
                    "containers": [{
                        "$setElementOrder/env": [{"name": "A"}],
                        "env": [{"$patch": "delete", "name": "B"}],
                        "name": "c"
                    }]
                }}}}),
                want: with_container(&|c| c["env"] = json!([{"name": "A", "value": "1"}])),
            },
            Case {
                name: "remove an env var (without $setElementOrder/env)",
                root: DEPLOYMENT,
                original: live.clone(),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "c"}],
                    "containers": [{"env": [{"$patch": "delete", "name": "B"}], "name": "c"}]
                }}}}),
                want: with_container(&|c| c["env"] = json!([{"name": "A", "value": "1"}])),
            },
            Case {
                name: "reorder only",
                root: DEPLOYMENT,
                original: web_deployment(
                    json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]),
                ),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]
                }}}}),
                want: web_deployment(
                    json!([{"name": "b", "image": "y"}, {"name": "a", "image": "x"}]),
                ),
            },
            Case {
                // Live has a server-side injected container; the applied config
                // swaps container b for d.
                name: "swap a container next to a server-only one",
                root: DEPLOYMENT,
                original: web_deployment(json!([
                    {"name": "c", "image": "nginx"},
                    {"name": "b", "image": "busybox"},
                    {"name": "injected", "image": "proxy"}
                ])),
                patch: json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "d"}],
                    "containers": [{"image": "redis", "name": "d"}, {"$patch": "delete", "name": "b"}]
                }}}}),
                want: web_deployment(json!([
                    {"name": "c", "image": "nginx"},
                    {"name": "injected", "image": "proxy"},
                    {"name": "d", "image": "redis"}
                ])),
            },
            Case {
                name: "finalizers and labels of a pod",
                root: POD,
                original: json!({"metadata": {
                    "name": "p",
                    "finalizers": ["a/x", "b/y"],
                    "labels": {"a": "1", "b": "2"}
                }}),
                patch: json!({"metadata": {
                    "$deleteFromPrimitiveList/finalizers": ["b/y"],
                    "$setElementOrder/finalizers": ["a/x", "c/z"],
                    "finalizers": ["c/z"],
                    "labels": {"b": null}
                }}),
                want: json!({"metadata": {
                    "name": "p",
                    "finalizers": ["a/x", "c/z"],
                    "labels": {"a": "1"}
                }}),
            },
        ]);
    }

    #[test]
    fn other_kinds() {
        let service = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"app": "web"},
                "ports": [
                    {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                    {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}
                ]
            }
        });
        let node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n1"},
            "spec": {"podCIDRs": ["10.0.0.0/24"], "taints": [{"key": "a", "effect": "NoSchedule"}]},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "MemoryPressure", "status": "False"}
                ],
                "addresses": [{"type": "InternalIP", "address": "10.1.1.1"}]
            }
        });
        run(vec![
            Case {
                name: "service ports merged by port, selector merged",
                root: SERVICE,
                original: service.clone(),
                patch: json!({"spec": {
                    "selector": {"version": "v2"},
                    "ports": [{"port": 443, "targetPort": 9443}]
                }}),
                want: json!({
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "web"},
                    "spec": {
                        "selector": {"app": "web", "version": "v2"},
                        "ports": [
                            {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                            {"name": "https", "port": 443, "targetPort": 9443, "protocol": "TCP"}
                        ]
                    }
                }),
            },
            Case {
                name: "configmap data keys set and removed",
                root: CONFIG_MAP,
                original: json!({"kind": "ConfigMap", "data": {"a": "1", "b": "2"}}),
                patch: json!({"data": {"a": null, "c": "3"}}),
                want: json!({"kind": "ConfigMap", "data": {"b": "2", "c": "3"}}),
            },
            Case {
                name: "statefulset: atomic volumeClaimTemplates replaced, containers merged",
                root: STATEFUL_SET,
                original: json!({"spec": {
                    "volumeClaimTemplates": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}],
                    "template": {"spec": {"containers": [{"name": "db", "image": "pg:15"}]}}
                }}),
                patch: json!({"spec": {
                    "volumeClaimTemplates": [{"metadata": {"name": "c"}}],
                    "template": {"spec": {"containers": [{"name": "db", "image": "pg:16"}]}}
                }}),
                want: json!({"spec": {
                    "volumeClaimTemplates": [{"metadata": {"name": "c"}}],
                    "template": {"spec": {"containers": [{"name": "db", "image": "pg:16"}]}}
                }}),
            },
            Case {
                name: "node: conditions by type, podCIDRs union, taints replaced",
                root: NODE,
                original: node,
                patch: json!({
                    "spec": {"podCIDRs": ["fd00::/64"], "taints": []},
                    "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]}
                }),
                want: json!({
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": "n1"},
                    "spec": {"podCIDRs": ["fd00::/64", "10.0.0.0/24"], "taints": []},
                    "status": {
                        "conditions": [
                            {"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
                            {"type": "MemoryPressure", "status": "False"}
                        ],
                        "addresses": [{"type": "InternalIP", "address": "10.1.1.1"}]
                    }
                }),
            },
            Case {
                name: "ownerReferences merged by uid",
                root: POD,
                original: json!({"metadata": {"ownerReferences": [
                    {"uid": "u1", "kind": "ReplicaSet", "name": "rs1"}
                ]}}),
                patch: json!({"metadata": {"ownerReferences": [
                    {"uid": "u1", "controller": true},
                    {"uid": "u2", "kind": "Job", "name": "j"}
                ]}}),
                want: json!({"metadata": {"ownerReferences": [
                    {"uid": "u1", "kind": "ReplicaSet", "name": "rs1", "controller": true},
                    {"uid": "u2", "kind": "Job", "name": "j"}
                ]}}),
            },
        ]);
    }

    #[test]
    fn unknown_schema_behaves_as_json_merge_patch() {
        run(vec![
            Case {
                name: "free-form: maps merge, lists replace",
                root: None,
                original: json!({"spec": {"items": [1, 2], "nested": {"a": 1, "b": 2}, "keep": true}}),
                patch: json!({"spec": {"items": [3], "nested": {"b": null, "c": 3}}}),
                want: json!({"spec": {"items": [3], "nested": {"a": 1, "c": 3}, "keep": true}}),
            },
            Case {
                name: "free-form: `$`-keys that are not directives are data",
                root: None,
                original: json!({"schema": {"$ref": "#/a"}}),
                patch: json!({"schema": {"$schema": "s"}, "new": {"$id": "x", "gone": null}}),
                want: json!({"schema": {"$ref": "#/a", "$schema": "s"}, "new": {"$id": "x"}}),
            },
            Case {
                name: "unknown field of a known kind",
                root: POD,
                original: json!({"spec": {"custom": [{"name": "a", "v": 1}]}}),
                patch: json!({"spec": {"custom": [{"name": "a", "v": 2}]}}),
                want: json!({"spec": {"custom": [{"name": "a", "v": 2}]}}),
            },
            Case {
                name: "null original is an empty object",
                root: None,
                original: Value::Null,
                patch: json!({"a": {"b": 1, "c": null}}),
                want: json!({"a": {"b": 1}}),
            },
        ]);
    }

    #[test]
    fn errors() {
        let pod = web_pod();
        let err = |name, patch, want, bad_request| ErrCase {
            name,
            root: POD,
            original: pod.clone(),
            patch,
            want,
            bad_request,
        };
        run_errors(vec![
            err(
                "unknown $patch value in a map",
                json!({"spec": {"nodeSelector": {"$patch": "remove"}}}),
                "unknown patch type: remove in map: map[$patch:remove]",
                false,
            ),
            err(
                "unknown $patch value in a list item",
                json!({"spec": {"containers": [{"name": "app", "$patch": "remove"}]}}),
                "unknown patch type: remove in map: map[$patch:remove name:app]",
                false,
            ),
            err(
                "$patch that is not a string",
                json!({"metadata": {"labels": {"$patch": true}}}),
                "unknown patch type: true in map",
                false,
            ),
            err(
                "$patch: merge as a list element",
                json!({"spec": {"containers": [{"$patch": "merge"}]}}),
                "merging lists cannot yet be specified in the patch",
                false,
            ),
            err(
                "merge key missing from a patch item",
                json!({"spec": {"containers": [{"image": "x"}]}}),
                "map: map[image:x] does not contain declared merge key: name",
                false,
            ),
            err(
                "merge key missing from a delete directive",
                json!({"spec": {"containers": [{"name": "app", "env": [{"$patch": "delete", "value": "1"}]}]}}),
                "map: map[$patch:delete value:1] does not contain declared merge key: name",
                false,
            ),
            err(
                "$setElementOrder that is not a list",
                json!({"spec": {"$setElementOrder/containers": "app"}}),
                "invalid patch format of setElementOrder list",
                true,
            ),
            err(
                "$setElementOrder without /field",
                json!({"spec": {"$setElementOrdercontainers": []}}),
                "invalid patch format of setElementOrder list",
                true,
            ),
            err(
                "$setElementOrder whose field is not a list in the patch",
                json!({"spec": {"$setElementOrder/containers": [{"name": "app"}], "containers": null}}),
                "invalid patch format of setElementOrder list",
                true,
            ),
            err(
                "$setElementOrder that disagrees with the patch list",
                json!({"spec": {
                    "$setElementOrder/containers": [{"name": "app"}],
                    "containers": [{"name": "sidecar", "image": "b"}]
                }}),
                "doesn't match $setElementOrder list",
                false,
            ),
            err(
                "$setElementOrder entry without the merge key",
                json!({"spec": {"$setElementOrder/containers": [{"image": "x"}]}}),
                "map: map[image:x] does not contain declared merge key: name",
                false,
            ),
            err(
                "$deleteFromPrimitiveList that is not a list",
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "example.com/a"}}),
                "invalid patch format of primitive list",
                true,
            ),
            err(
                "$deleteFromPrimitiveList without /field",
                json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
                "invalid patch format of primitive list",
                true,
            ),
            err(
                "$deleteFromPrimitiveList holding objects",
                json!({"spec": {"$deleteFromPrimitiveList/containers": [{"name": "app"}]}}),
                "invalid patch format of primitive list",
                true,
            ),
            err(
                "$retainKeys that is not a list",
                json!({"spec": {"$retainKeys": "containers"}}),
                "invalid patch format of retainKeys",
                true,
            ),
            err(
                "patch sets a key $retainKeys does not list",
                json!({"spec": {"volumes": [{"name": "data", "$retainKeys": ["name"], "hostPath": {"path": "/"}}]}}),
                "invalid patch format of retainKeys",
                true,
            ),
            err(
                "patch that is a list",
                json!([{"op": "add"}]),
                "invalid JSON document",
                true,
            ),
            err(
                "list of lists",
                json!({"metadata": {"finalizers": [["a"]]}}),
                "lists of lists are not supported",
                false,
            ),
            err(
                "mixed element types in a merging list",
                json!({"metadata": {"finalizers": [1]}}),
                "list element types are not identical",
                false,
            ),
        ]);
        run_errors(vec![
            ErrCase {
                name: "patch that is a string",
                root: None,
                original: json!({}),
                patch: json!("x"),
                want: "must be a JSON object",
                bad_request: true,
            },
            ErrCase {
                name: "original that is not an object",
                root: None,
                original: json!([1]),
                patch: json!({}),
                want: "invalid JSON document",
                bad_request: true,
            },
        ]);
    }

    #[test]
    fn merge_strategy_without_merge_key_on_objects_is_an_error() {
        let schemas = OpenApiSchemas::new(
            json!({"Thing": {"properties": {"items": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Item"},
                "x-kubernetes-patch-strategy": "merge"
            }}}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        let err = apply_strategic(
            &json!({"items": [{"a": 1}]}),
            &json!({"items": [{"a": 2}]}),
            &schemas,
            Some("Thing"),
        )
        .expect_err("no merge key");
        assert_eq!(
            err,
            SmpError::NoMergeKey {
                field: "items".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot merge lists without merge key for items"
        );
    }

    #[test]
    fn openapi_schema_lookup() {
        let schemas = catalog();
        let env = schemas.field(Some("io.k8s.api.core.v1.Container"), "env");
        assert_eq!(
            env,
            FieldMeta {
                strategy: Strategy::Merge,
                retain_keys: false,
                merge_key: Some("name".into()),
                schema: Some("io.k8s.api.core.v1.EnvVar".into()),
                map_values: false,
            }
        );
        let strategy = schemas.field(Some("io.k8s.api.apps.v1.DeploymentSpec"), "strategy");
        assert_eq!(strategy.strategy, Strategy::Unspecified);
        assert!(strategy.retain_keys);
        assert_eq!(
            strategy.schema.as_deref(),
            Some("io.k8s.api.apps.v1.DeploymentStrategy")
        );
        let volumes = schemas.field(Some("io.k8s.api.core.v1.PodSpec"), "volumes");
        assert_eq!(
            (volumes.strategy, volumes.retain_keys),
            (Strategy::Merge, true)
        );
        let limits = schemas.field(Some("io.k8s.api.core.v1.ResourceRequirements"), "limits");
        assert!(limits.map_values);
        assert_eq!(
            limits.schema.as_deref(),
            Some("io.k8s.apimachinery.pkg.api.resource.Quantity")
        );
        let labels = schemas.field(
            Some("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
            "labels",
        );
        assert!(labels.map_values && labels.schema.is_none());
        let finalizers = schemas.field(
            Some("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
            "finalizers",
        );
        assert_eq!(
            (finalizers.strategy, finalizers.merge_key),
            (Strategy::Merge, None)
        );
        let tolerations = schemas.field(Some("io.k8s.api.core.v1.PodSpec"), "tolerations");
        assert_eq!(tolerations.strategy, Strategy::Unspecified);
        assert_eq!(
            schemas.field(Some("io.k8s.api.core.v1.PodSpec"), "nope"),
            FieldMeta::default()
        );
        assert_eq!(schemas.field(None, "spec"), FieldMeta::default());
        assert_eq!(
            schemas.field(Some("NoSuchSchema"), "spec"),
            FieldMeta::default()
        );
    }

    #[test]
    fn strategy_parse() {
        assert_eq!(Strategy::parse(""), (Strategy::Unspecified, false));
        assert_eq!(Strategy::parse("merge"), (Strategy::Merge, false));
        assert_eq!(Strategy::parse("replace"), (Strategy::Replace, false));
        assert_eq!(Strategy::parse("retainKeys"), (Strategy::Unspecified, true));
        assert_eq!(Strategy::parse("merge,retainKeys"), (Strategy::Merge, true));
    }

    #[test]
    fn replace_strategy_on_a_map_replaces_it() {
        let schemas = OpenApiSchemas::new(
            json!({"Thing": {"properties": {"raw": {
                "allOf": [{"$ref": "#/components/schemas/Raw"}],
                "x-kubernetes-patch-strategy": "replace"
            }}}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        let got = apply_strategic(
            &json!({"raw": {"a": 1, "b": 2}, "other": 1}),
            &json!({"raw": {"c": 3}}),
            &schemas,
            Some("Thing"),
        )
        .expect("patch applies");
        assert_eq!(got, json!({"raw": {"c": 3}, "other": 1}));
    }
}
