//! Reads the write path makes of *other* objects while admitting a write:
//! the namespace a create goes into, the PriorityClass a pod names, the
//! default StorageClass of a claim.
//!
//! Upstream's admission plugins read through informer listers: an
//! in-memory copy that may trail storage by a moment. Here the watch cache
//! plays that part, with one difference for single objects: a cache miss is
//! checked against storage, so an object created a moment ago (a namespace,
//! a PriorityClass) is found even before the cache has caught up. Every
//! such read goes through this module.

use super::Registry;
use super::options::ListParams;
use crate::codec;
use crate::status::ApiError;
use bosun_types::resources::ResourceInfo;
use serde_json::Value;

impl Registry {
    /// One object as the write path's checks see it: from the watch cache
    /// when it holds the object, otherwise from storage. A 404 means
    /// neither has it.
    pub async fn lookup(
        &self,
        resource: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let key = Self::key(resource, namespace, name);
        let cached = self.cache.as_ref().and_then(|c| c.get(resource, &key));
        match cached {
            Some(entry) if std::ptr::eq(entry.stored_as, resource) => Ok(entry.to_value(resource)),
            Some(entry) => {
                let json = codec::convert_cached(&entry.json, entry.stored_as, resource, true);
                serde_json::from_slice(&json)
                    .map_err(|e| ApiError::internal(format!("decoding cached object: {e}")))
            }
            None => self.get(resource, namespace, name).await,
        }
    }

    /// [`Registry::lookup_all`] read straight into `T` (which typically
    /// names only the few fields a check needs, so the rest is skipped
    /// rather than built into a tree). An object `T` cannot read is left out.
    pub async fn lookup_all_as<T: serde::de::DeserializeOwned>(
        &self,
        resource: &ResourceInfo,
    ) -> Result<Vec<T>, ApiError> {
        let params = ListParams::default();
        if let Some(cache) = self.cache.as_ref()
            && let Some(list) = cache.list(resource, None, &params, None).await
        {
            return Ok(list
                .items
                .iter()
                .filter_map(|item| serde_json::from_slice::<T>(item).ok())
                .collect());
        }
        let (items, _, _) = self.list_items(resource, None, &params).await?;
        Ok(items
            .into_iter()
            .filter_map(|object| serde_json::from_value::<T>(object).ok())
            .collect())
    }

    /// Every object of `resource` (in all namespaces) as the write path's
    /// checks see them: the watch cache as it stands, without waiting for
    /// it to catch up with storage (as upstream's listers), or storage when
    /// there is no ready cache. Objects carry `apiVersion` and `kind`.
    pub async fn lookup_all(&self, resource: &ResourceInfo) -> Result<Vec<Value>, ApiError> {
        let mut objects = self.lookup_all_as::<Value>(resource).await?;
        for object in &mut objects {
            super::set_type_meta(object, resource);
        }
        Ok(objects)
    }
}
