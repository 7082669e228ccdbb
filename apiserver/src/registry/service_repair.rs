//! Repair of Service allocations, as kube-apiserver's ClusterIP and
//! NodePort repair loops: at start and every few minutes, the allocation
//! keys are checked against the Services stored.
//!
//! - An address or port a Service holds but no key records (a restored
//!   backup, a lost write) is recorded again, so it cannot be handed out
//!   twice.
//! - A key no Service holds (an apiserver stopped between reserving it and
//!   storing the Service) is released once it has been seen leaked on
//!   [`LEAK_CHECKS`] checks in a row, so a create in flight keeps its
//!   reservation. The release is guarded by the key's revision.

use super::Registry;
use super::options::ListParams;
use super::services::{IP_PREFIX, PORT_PREFIX, cluster_ip, node_ports, services};
use bosun_storage::{ListOptions, StorageError};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Upstream's repair interval.
pub const INTERVAL: Duration = Duration::from_secs(180);
/// Checks in a row a key must be seen leaked before it is released
/// (upstream's `numRepairsBeforeLeakCleanup`).
pub const LEAK_CHECKS: u32 = 3;

/// What one check did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    /// Keys recorded again for allocations Services held.
    pub recorded: usize,
    /// Leaked keys released.
    pub released: usize,
}

/// Leak sightings per allocation key, carried from one check to the next.
#[derive(Debug, Default)]
pub struct Leaks(HashMap<String, u32>);

impl Registry {
    /// One repair check of ClusterIP and NodePort allocations.
    pub async fn repair_service_allocations(&self, leaks: &mut Leaks) -> Repaired {
        let mut done = Repaired::default();
        // The keys first, then the Services (a consistent read, so at a
        // revision after the keys'): a Service deleted in between has
        // released its key before, and is not taken for one holding an
        // address without a record. A Service created in between reserved
        // its key before it was stored, so the key is found when recorded.
        let mut keys = Vec::new();
        for prefix in [IP_PREFIX, PORT_PREFIX] {
            let page = self
                .storage
                .list(ListOptions {
                    prefix: prefix.as_bytes().to_vec(),
                    ..ListOptions::default()
                })
                .await;
            match page {
                Ok(page) => keys.extend(page.kvs),
                Err(error) => {
                    tracing::warn!(%error, "listing Service allocations failed");
                    return done;
                }
            }
        }
        let listed = self
            .list_items(services(), None, &ListParams::default())
            .await;
        let stored = match listed {
            Ok((items, _, _)) => items,
            Err(error) => {
                tracing::warn!(%error, "listing Services to repair allocations failed");
                return done;
            }
        };
        let mut held: HashMap<String, String> = HashMap::new();
        for service in &stored {
            let owner = format!(
                "{}/{}",
                super::meta::namespace(service),
                super::meta::name(service)
            );
            if let Some(ip) = cluster_ip(service).filter(|ip| self.ranges.contains(*ip)) {
                held.insert(format!("{IP_PREFIX}{ip}"), owner.clone());
            }
            for port in node_ports(service) {
                held.insert(format!("{PORT_PREFIX}{port}"), owner.clone());
            }
        }
        let mut recorded_keys: HashSet<String> = HashSet::new();
        for kv in keys {
            let key = String::from_utf8_lossy(&kv.key).into_owned();
            recorded_keys.insert(key.clone());
            if held.contains_key(&key) {
                leaks.0.remove(&key);
                continue;
            }
            let seen = leaks.0.entry(key.clone()).or_insert(0);
            *seen += 1;
            if *seen < LEAK_CHECKS {
                continue;
            }
            leaks.0.remove(&key);
            match self.storage.delete(&kv.key, Some(kv.mod_revision)).await {
                Ok(_) => {
                    tracing::info!(key, "released a leaked Service allocation");
                    done.released += 1;
                }
                Err(StorageError::NotFound { .. } | StorageError::Conflict { .. }) => {}
                Err(error) => {
                    tracing::warn!(%error, key, "releasing a leaked allocation failed")
                }
            }
        }
        // Forget sightings of keys that are gone.
        leaks.0.retain(|key, _| recorded_keys.contains(key));
        for (key, owner) in held {
            if recorded_keys.contains(&key) {
                continue;
            }
            match self
                .storage
                .create(key.as_bytes(), owner.into_bytes())
                .await
            {
                Ok(_) => {
                    tracing::info!(key, "recorded a Service allocation that had no record");
                    done.recorded += 1;
                }
                Err(StorageError::AlreadyExists { .. }) => {}
                Err(error) => tracing::warn!(%error, key, "recording a Service allocation failed"),
            }
        }
        done
    }
}

/// Checks now and every `interval` until the task is dropped.
pub async fn run(registry: Registry, interval: Duration) {
    let mut leaks = Leaks::default();
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        registry.repair_service_allocations(&mut leaks).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::registry::options::WriteOptions;
    use crate::registry::services::ServiceRanges;
    use bosun_storage::Storage;
    use serde_json::json;
    use std::sync::Arc;

    #[tokio::test]
    async fn leaked_keys_go_after_three_checks_and_missing_ones_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(bosun_storage::EmbeddedStore::open(dir.path()).unwrap());
        let ranges = ServiceRanges::parse("10.96.0.0/12", "30000-32767").unwrap();
        let registry = Registry::new(store.clone(), ranges);
        let namespaces = bosun_types::resources::find_by_plural("", "v1", "namespaces").unwrap();
        let ns = json!({"metadata": {"name": "default"}});
        registry
            .create(namespaces, None, ns, &WriteOptions::default())
            .await
            .unwrap();
        let service = json!({"metadata": {"name": "web"}, "spec": {"type": "NodePort",
            "ports": [{"port": 80, "nodePort": 30080}], "clusterIP": "10.96.0.50"}});
        registry
            .create(
                services(),
                Some("default"),
                service,
                &WriteOptions::default(),
            )
            .await
            .unwrap();
        // A reservation whose Service never got stored, and a lost record.
        store
            .create(
                b"/registry/ranges/serviceips/10.96.0.9",
                b"default/gone".to_vec(),
            )
            .await
            .unwrap();
        store
            .delete(b"/registry/ranges/servicenodeports/30080", None)
            .await
            .unwrap();
        let mut leaks = Leaks::default();
        let first = registry.repair_service_allocations(&mut leaks).await;
        assert_eq!(
            first,
            Repaired {
                recorded: 1,
                released: 0
            }
        );
        assert!(
            store
                .get(b"/registry/ranges/servicenodeports/30080")
                .await
                .is_ok()
        );
        registry.repair_service_allocations(&mut leaks).await;
        assert!(
            store
                .get(b"/registry/ranges/serviceips/10.96.0.9")
                .await
                .is_ok()
        );
        let third = registry.repair_service_allocations(&mut leaks).await;
        assert_eq!(
            third,
            Repaired {
                recorded: 0,
                released: 1
            }
        );
        assert!(
            store
                .get(b"/registry/ranges/serviceips/10.96.0.9")
                .await
                .is_err()
        );
        // What the Service holds stays.
        assert!(
            store
                .get(b"/registry/ranges/serviceips/10.96.0.50")
                .await
                .is_ok()
        );
    }
}
