//! Merging an applied configuration into a live object
//! (structured-merge-diff's `TypedValue.Merge` with the keep-right rule).
//!
//! Scalars, atomic lists and atomic maps take the applied value wholesale;
//! granular maps merge key by key; associative lists (list-type `map` or
//! `set`) merge item by item, matched by key, keeping live-only items where
//! they were and ordering shared items as the applied configuration does.

use super::field_set::PathElement;
use super::schema::{ApplySchema, ListType, TypeRef};
use super::typed::{Form, Typed, ValidationError, ValidationErrors, form_for};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

impl<S: ApplySchema + ?Sized> Typed<'_, S> {
    /// Merges `rhs` (the applied configuration) into `lhs` (the live object).
    ///
    /// Fields the applied configuration sets to `null` are dropped (as
    /// converting the merged value to a typed object does upstream), unless
    /// the live object already holds `null` there.
    pub(crate) fn merge(
        &self,
        ty: &TypeRef,
        lhs: &Value,
        rhs: &Value,
    ) -> Result<Value, ValidationErrors> {
        let mut errs = Vec::new();
        let out = self.merge_node(ty, Some(lhs), Some(rhs), &mut errs);
        if !errs.is_empty() {
            return Err(ValidationErrors(errs));
        }
        Ok(match out {
            Some(Value::Null) | None => Value::Object(Map::new()),
            Some(v) => v,
        })
    }

    fn merge_node(
        &self,
        ty: &TypeRef,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        errs: &mut Vec<ValidationError>,
    ) -> Option<Value> {
        if rhs.is_none() {
            // Nothing applied here: the live value stays as it is.
            return lhs.cloned();
        }
        let Some(atom) = self.atom(ty) else {
            errs.push(ValidationError {
                path: String::new(),
                message: format!("schema error: no type found matching: {}", ty.describe()),
            });
            return None;
        };
        // The applied value's form decides the output (upstream also walks a
        // differing live form, for errors only).
        let form = form_for(&atom, rhs);
        let keep_rhs = || rhs.or(lhs).cloned();
        match form {
            Form::Scalar(_) | Form::Invalid => keep_rhs(),
            Form::List(list) => {
                let l = lhs.and_then(Value::as_array);
                let r = rhs.and_then(Value::as_array);
                let empty = l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty);
                if list.atomic || empty {
                    return keep_rhs();
                }
                self.merge_list(
                    &list,
                    l.map(Vec::as_slice).unwrap_or_default(),
                    r.map(Vec::as_slice).unwrap_or_default(),
                    errs,
                )
            }
            Form::Map(map) => {
                let l = lhs.and_then(Value::as_object);
                let r = rhs.and_then(Value::as_object);
                let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
                if map.atomic || empty {
                    return keep_rhs();
                }
                let keys: BTreeSet<&String> = l
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .chain(r.into_iter().flat_map(|m| m.keys()))
                    .collect();
                let mut out = Map::new();
                for key in keys {
                    let fty = self.entry_type_lenient(ty, &map, key);
                    let lv = l.and_then(|m| m.get(key));
                    match self.merge_node(&fty, lv, r.and_then(|m| m.get(key)), errs) {
                        None => {}
                        // An applied null unsets the field; a null already
                        // stored stays as it is.
                        Some(Value::Null) if lv != Some(&Value::Null) => {}
                        Some(v) => {
                            out.insert(key.clone(), v);
                        }
                    }
                }
                if out.is_empty() {
                    None
                } else {
                    Some(Value::Object(out))
                }
            }
        }
    }

    /// Item-by-item merge of an associative list, with upstream's ordering:
    /// walk both lists, emit live-only items in place, emit applied items in
    /// applied order, and skip live items that the applied list will emit
    /// later.
    fn merge_list(
        &self,
        list: &ListType,
        lhs: &[Value],
        rhs: &[Value],
        errs: &mut Vec<ValidationError>,
    ) -> Option<Value> {
        let mut local_errs = Vec::new();
        let mut rhs_pes = Vec::with_capacity(rhs.len());
        let mut observed_rhs: BTreeMap<PathElement, &Value> = BTreeMap::new();
        for (i, item) in rhs.iter().enumerate() {
            match self.list_item_pe(list, item) {
                Ok(pe) => {
                    if observed_rhs.contains_key(&pe) {
                        local_errs.push(ValidationError {
                            path: String::new(),
                            message: format!("duplicate entries for key {pe}"),
                        });
                        continue;
                    }
                    observed_rhs.insert(pe.clone(), item);
                    rhs_pes.push(pe);
                }
                Err(e) => local_errs.push(ValidationError {
                    path: String::new(),
                    message: format!("element {i}: {e}"),
                }),
            }
        }
        let mut lhs_pes = Vec::with_capacity(lhs.len());
        // `None` marks a duplicated live key: it merges as if absent.
        let mut observed_lhs: BTreeMap<PathElement, Option<&Value>> = BTreeMap::new();
        for (i, item) in lhs.iter().enumerate() {
            match self.list_item_pe(list, item) {
                Ok(pe) => {
                    if observed_lhs.contains_key(&pe) {
                        observed_lhs.insert(pe.clone(), None);
                    } else {
                        observed_lhs.insert(pe.clone(), Some(item));
                    }
                    lhs_pes.push((pe, item));
                }
                Err(e) => local_errs.push(ValidationError {
                    path: String::new(),
                    message: format!("element {i}: {e}"),
                }),
            }
        }
        if !local_errs.is_empty() {
            errs.extend(local_errs);
            return None;
        }

        let mut shared: VecDeque<&PathElement> = rhs_pes
            .iter()
            .filter(|pe| observed_lhs.contains_key(*pe))
            .collect();
        let mut next_shared = shared.pop_front();
        let mut merged_rhs: BTreeSet<PathElement> = BTreeSet::new();
        let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
        let lhs_child = |pe: &PathElement| observed_lhs.get(pe).copied().flatten();
        let (llen, rlen) = (lhs_pes.len(), rhs_pes.len());
        let (mut li, mut ri) = (0, 0);
        while li < llen || ri < rlen {
            if li < llen && ri < rlen {
                let pe = &lhs_pes[li].0;
                if *pe == rhs_pes[ri] {
                    merged_rhs.insert(pe.clone());
                    out.extend(self.merge_node(
                        &list.element,
                        lhs_child(pe),
                        observed_rhs.get(pe).copied(),
                        errs,
                    ));
                    li += 1;
                    ri += 1;
                    next_shared = shared.pop_front();
                    continue;
                }
                if observed_rhs.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                    li += 1;
                    continue;
                }
            }
            if li < llen {
                let (pe, item) = &lhs_pes[li];
                if !observed_rhs.contains_key(pe) {
                    out.extend(self.merge_node(&list.element, Some(*item), None, errs));
                    li += 1;
                    continue;
                } else if merged_rhs.contains(pe) {
                    li += 1;
                }
            }
            if ri < rlen {
                let pe = &rhs_pes[ri];
                merged_rhs.insert(pe.clone());
                out.extend(self.merge_node(
                    &list.element,
                    lhs_child(pe),
                    observed_rhs.get(pe).copied(),
                    errs,
                ));
                ri += 1;
                if next_shared.is_some_and(|n| n == pe) {
                    next_shared = shared.pop_front();
                }
            }
        }
        if out.is_empty() {
            None
        } else {
            Some(Value::Array(out))
        }
    }
}
