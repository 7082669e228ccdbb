//! The generic registry: create, get, list, update, patch, delete and watch
//! written once for every kind, configured per kind by a [`strategy`].
//!
//! Objects travel as JSON values in their wire form; [`crate::codec`] is the
//! only place they become stored bytes. Every storage error becomes an API
//! error through [`ApiError::from_storage`].

mod eviction;
mod list;
mod lookup;
pub mod meta;
pub mod options;
mod scale_apply;
pub mod service_repair;
pub mod services;
pub mod strategy;
pub mod subresources;
pub mod watch;
pub mod write;
mod written;

#[cfg(test)]
mod mutation_tests;

use crate::codec;
use crate::status::ApiError;
use bosun_storage::{ListOptions, Storage, StorageError, keys};
use bosun_types::resources::ResourceInfo;
use bytes::Bytes;
use options::ListParams;
use serde_json::{Value, json};
use std::sync::Arc;

pub use list::ObjectList;
pub use watch::{WatchEvent, WatchStream};

/// The registry: every kind's REST semantics over one storage backend.
#[derive(Clone)]
pub struct Registry {
    storage: Arc<dyn Storage>,
    written: Arc<written::WriteTracking>,
    ranges: services::ServiceRanges,
    cache: Option<Arc<crate::cache::WatchCache>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

/// The result of a write: the object as stored (or as it would be, on dry
/// runs), whether it was created, and warnings for the client.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The object.
    pub object: Value,
    /// Whether the write created it (201 instead of 200).
    pub created: bool,
    /// `Warning` headers to send.
    pub warnings: Vec<String>,
}

/// The storage segment of a resource: upstream's key prefix, so that kinds
/// sharing storage (events in two groups, HPAs in two versions) share keys.
fn storage_segment(resource: &ResourceInfo) -> &'static str {
    resource.storage.map_or(resource.plural, |s| s.key_prefix)
}

impl Registry {
    /// A registry over `storage`, allocating Service addresses from `ranges`.
    pub fn new(storage: Arc<dyn Storage>, ranges: services::ServiceRanges) -> Self {
        let written = Arc::new(written::WriteTracking::new(storage));
        Self {
            storage: written.clone(),
            written,
            ranges,
            cache: None,
        }
    }

    /// Serves lists and watches from `cache` when it can.
    pub fn with_cache(mut self, cache: Arc<crate::cache::WatchCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The watch cache, if any.
    pub fn cache(&self) -> Option<&Arc<crate::cache::WatchCache>> {
        self.cache.as_ref()
    }

    /// The storage backend (for health checks and benchmarks).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The key of one object.
    pub fn key(resource: &ResourceInfo, namespace: Option<&str>, name: &str) -> Vec<u8> {
        keys::object_key(
            storage_segment(resource),
            namespace.filter(|_| resource.is_namespaced()),
            name,
        )
    }

    /// The prefix of a resource's objects, optionally in one namespace.
    pub fn prefix(resource: &ResourceInfo, namespace: Option<&str>) -> Vec<u8> {
        keys::resource_prefix(
            storage_segment(resource),
            namespace.filter(|_| resource.is_namespaced()),
        )
    }

    /// Reads one object.
    pub async fn get(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let kv = self
            .storage
            .get(&Self::key(resource, namespace, name))
            .await
            .map_err(|e| ApiError::from_storage(e, resource, name))?;
        let mut object = codec::decode_as(resource, &kv)?;
        set_type_meta(&mut object, resource);
        Ok(object)
    }

    /// Lists objects matching the selectors: from the watch cache when the
    /// request allows it, otherwise from storage, paging until `limit`
    /// matches are found.
    pub async fn list(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<ObjectList, ApiError> {
        if let Some(cached) = self.list_from_cache(resource, namespace, params).await? {
            return Ok(ObjectList::new(
                resource,
                cached.items,
                cached.revision,
                cached.continue_token,
            ));
        }
        let (items, revision, continue_token) =
            self.list_items(resource, namespace, params).await?;
        let items = items
            .iter()
            .map(|o| Bytes::from(serde_json::to_vec(o).unwrap_or_default()))
            .collect();
        Ok(ObjectList::new(resource, items, revision, continue_token))
    }

    /// A list from the cache, when the request's semantics allow one: no
    /// exact revision; a limit only with `resourceVersion=0` (which, as
    /// upstream, ignores it) or without any resourceVersion, where pages are
    /// served from the cache while it still holds the list's revision (see
    /// [`crate::cache::WatchCache::list_page`]).
    async fn list_from_cache(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<Option<crate::cache::CachedList>, ApiError> {
        let Some(cache) = self.cache.as_ref().filter(|c| c.is_ready()) else {
            return Ok(None);
        };
        if params.resource_version_match.as_deref() == Some("Exact") {
            return Ok(None);
        }
        let rv = codec::parse_resource_version(params.resource_version.as_deref().unwrap_or(""))?;
        let limit = params.limit.filter(|l| *l > 0);
        if let Some(token) = params.continue_token.as_deref().filter(|t| !t.is_empty()) {
            // Malformed tokens and a resourceVersion beside one are
            // reported by the storage path.
            let prefix = Self::prefix(resource, namespace);
            let (Some(limit), None | Some(0), Ok((key, revision))) =
                (limit, rv, bosun_storage::decode_continue(&prefix, token))
            else {
                return Ok(None);
            };
            let start = crate::cache::PageStart::Continue { key, revision };
            return Ok(cache
                .list_page(resource, &prefix, namespace, params, limit, start)
                .await);
        }
        match (rv, limit) {
            (None, Some(limit)) => {
                let prefix = Self::prefix(resource, namespace);
                let start = crate::cache::PageStart::First {
                    min_revision: self.cache_floor(None).await?.unwrap_or(0),
                };
                Ok(cache
                    .list_page(resource, &prefix, namespace, params, limit, start)
                    .await)
            }
            (Some(n), Some(_)) if n > 0 => Ok(None),
            _ => {
                let floor = self.cache_floor(rv).await?;
                Ok(cache.list(resource, namespace, params, floor).await)
            }
        }
    }

    /// The revision a read served from the cache must have reached, for a
    /// request's `resourceVersion`: unset is a consistent read (the
    /// storage's current revision); `0` allows any revision, but not one
    /// older than this apiserver's own last write (see `written`); a number
    /// is itself.
    pub(crate) async fn cache_floor(&self, rv: Option<i64>) -> Result<Option<i64>, ApiError> {
        Ok(match rv {
            None => Some(self.current_revision().await?),
            Some(0) => Some(self.written.written()).filter(|r| *r > 0),
            Some(n) => Some(n),
        })
    }

    /// The matching objects, the revision they were read at, and a continue
    /// token when more remain.
    pub async fn list_items(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<(Vec<Value>, i64, Option<String>), ApiError> {
        let revision = self.resolve_list_revision(params).await?;
        let prefix = Self::prefix(resource, namespace);
        let limit = params.limit.filter(|l| *l > 0);
        let mut items = Vec::new();
        let mut token = params.continue_token.clone().filter(|t| !t.is_empty());
        let mut read_at = revision;
        loop {
            let wanted = limit.map(|l| l.saturating_sub(items.len()));
            let options = ListOptions {
                prefix: prefix.clone(),
                limit: wanted.map(|w| w.max(1)),
                revision: if token.is_some() { None } else { read_at },
                continue_token: token.take(),
            };
            let page = self
                .storage
                .list(options)
                .await
                .map_err(|e| list_error(e, resource))?;
            read_at = Some(page.revision);
            for kv in &page.kvs {
                let mut object = codec::decode_as(resource, kv)?;
                if matches_selectors(resource, &object, params) {
                    strip_type_meta(&mut object);
                    items.push(object);
                }
            }
            let full = limit.is_some_and(|l| items.len() >= l);
            match page.continue_token {
                Some(next) if full => return Ok((items, page.revision, Some(next))),
                Some(next) => token = Some(next),
                None => return Ok((items, page.revision, None)),
            }
        }
    }

    /// The revision a list reads at, from `resourceVersion` and
    /// `resourceVersionMatch` as upstream defines them.
    async fn resolve_list_revision(&self, params: &ListParams) -> Result<Option<i64>, ApiError> {
        if params
            .continue_token
            .as_deref()
            .is_some_and(|t| !t.is_empty())
        {
            if params
                .resource_version
                .as_deref()
                .is_some_and(|rv| !rv.is_empty() && rv != "0")
            {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            return Ok(None);
        }
        let rv = codec::parse_resource_version(params.resource_version.as_deref().unwrap_or(""))?;
        match (params.resource_version_match.as_deref().unwrap_or(""), rv) {
            ("", None | Some(0)) => Ok(None),
            ("Exact", Some(r)) if r > 0 => Ok(Some(r)),
            ("Exact", _) => Err(ApiError::bad_request(
                "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\" or an empty resourceVersion",
            )),
            ("NotOlderThan" | "", Some(r)) => {
                let current = self.current_revision().await?;
                if r > current {
                    return Err(ApiError::too_large_resource_version(
                        &r.to_string(),
                        current,
                    ));
                }
                Ok(None)
            }
            ("NotOlderThan", None) => Err(ApiError::bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )),
            (other, _) => Err(ApiError::bad_request(format!(
                "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
            ))),
        }
    }

    /// The storage's current revision.
    pub async fn current_revision(&self) -> Result<i64, ApiError> {
        self.storage.current_revision().await.map_err(|e| match e {
            StorageError::Unavailable(m) => ApiError::unavailable(m),
            other => ApiError::internal(other.to_string()),
        })
    }
}

fn list_error(err: StorageError, resource: &ResourceInfo) -> ApiError {
    match err {
        StorageError::Compacted { .. } => ApiError::expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        ),
        other => ApiError::from_storage(other, resource, ""),
    }
}

/// Whether an object matches a list's label and field selectors.
pub fn matches_selectors(resource: &ResourceInfo, object: &Value, params: &ListParams) -> bool {
    if !params.labels.is_empty() && !params.labels.matches(&meta::labels(object)) {
        return false;
    }
    params.fields.is_empty()
        || params.fields.matches(&strategy::field_set(
            resource,
            object,
            resource.is_namespaced(),
        ))
}

/// Sets `apiVersion` and `kind` of a single object as served.
pub fn set_type_meta(object: &mut Value, resource: &ResourceInfo) {
    if let Some(map) = object.as_object_mut() {
        map.insert("apiVersion".into(), json!(resource.api_version()));
        map.insert("kind".into(), json!(resource.kind));
    }
}

/// Removes `apiVersion` and `kind`: list items carry none, as upstream's.
fn strip_type_meta(object: &mut Value) {
    if let Some(map) = object.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
}
