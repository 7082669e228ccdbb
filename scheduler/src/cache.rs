//! The scheduler's cache: the [`Snapshot`] of nodes and the pods bound or
//! assumed on them, fed by the watches and by the scheduling loop.
//!
//! A pod is *assumed* on a node as soon as the loop picks the node, so the
//! next pod already sees it counted; the binding runs in the background.
//! The assumption is confirmed by the watch showing the pod bound, undone
//! if the binding fails, and dropped if no confirmation arrives in time.
//! Pods bound to nodes the cache does not know yet wait aside and join the
//! node when it appears.
//!
//! Pods with PersistentVolumeClaims also reserve their volumes with the
//! assumption (VolumeBinding's Reserve): the volumes matched to their
//! claims and the claims to provision are recorded in the snapshot's
//! [`Volumes`](crate::core::Volumes) until the watches show the writes, or
//! the reservation is undone.
//!
//! Pending pods nominated to a node (by this scheduler's preemption, or in
//! their `status.nominatedNodeName`) are tracked by the snapshot's
//! [`Nominator`](crate::core::Nominator): their nomination ends when they
//! are assumed or bound, deleted, or the nomination is cleared or moves.

use crate::core::plugins::volume_binding;
use crate::core::{ControllerKind, Snapshot, VolumeReservation};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Assumed pods whose binding was posted but never observed are dropped
/// after this long (upstream's default assumed-pod TTL is 30 s after binding).
pub const ASSUME_TTL: Duration = Duration::from_secs(30);

/// The pod's UID (the cache key).
pub fn uid(pod: &Pod) -> String {
    crate::core::pod_info::pod_key(pod)
}

fn bound_node(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Whether `pod` has finished (its resources are free again).
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

#[derive(Debug)]
struct Assumed {
    node: String,
    /// Set once the binding was accepted; the TTL runs from then.
    bound_at: Option<Instant>,
}

/// Everything the scheduling algorithm reads, plus bookkeeping.
#[derive(Debug, Default)]
pub struct Cache {
    /// Nodes and placed pods.
    pub snapshot: Snapshot,
    assumed: HashMap<String, Assumed>,
    /// Bound pods whose node is not (yet) known, by node name.
    waiting: HashMap<String, HashMap<String, Arc<Pod>>>,
    /// Disruption budgets, for preemption.
    pdbs: BTreeMap<String, PodDisruptionBudget>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or updates a node; returns whether it is new.
    pub fn upsert_node(&mut self, node: Node) -> bool {
        let Some(name) = node.metadata.name.clone() else {
            return false;
        };
        let is_new = self.snapshot.node_info(&name).is_none();
        if self.snapshot.upsert_node(node).is_err() {
            return false;
        }
        if let Some(pods) = self.waiting.remove(&name) {
            for pod in pods.into_values() {
                let _ = self.snapshot.add_pod(pod);
            }
        }
        is_new
    }

    /// Removes a node; its pods wait for a node of that name to come back.
    pub fn remove_node(&mut self, name: &str) {
        if let Some(info) = self.snapshot.remove_node(name) {
            let waiting = self.waiting.entry(name.to_owned()).or_default();
            for pod in info.pods() {
                if !self.assumed.contains_key(&pod.facts.key) {
                    waiting.insert(pod.facts.key.clone(), pod.pod.clone());
                }
            }
            if waiting.is_empty() {
                self.waiting.remove(name);
            }
        }
        self.assumed.retain(|_, a| a.node != name);
    }

    /// Whether a node of this name is known.
    pub fn has_node(&self, name: &str) -> bool {
        self.snapshot.node_info(name).is_some()
    }

    /// Names of every known node.
    pub fn node_names(&self) -> Vec<String> {
        self.snapshot
            .nodes()
            .iter()
            .map(|n| n.name().to_owned())
            .collect()
    }

    /// A pod seen bound by the watch (confirms an assumption). Terminal
    /// pods are removed instead. Returns whether resources were freed.
    pub fn bound_pod(&mut self, pod: Arc<Pod>) -> bool {
        let key = uid(&pod);
        if is_terminal(&pod) {
            return self.remove_pod(&key);
        }
        let Some(node) = bound_node(&pod).map(str::to_owned) else {
            return false;
        };
        self.assumed.remove(&key);
        if self.has_node(&node) {
            let _ = self.snapshot.add_pod(pod);
        } else {
            self.snapshot.remove_pod(&key);
            self.snapshot.remove_nomination(&key);
            self.waiting.entry(node).or_default().insert(key, pod);
        }
        false
    }

    /// Forgets a pod (deleted or finished), and its nomination; returns
    /// whether it held resources on a known node.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        self.assumed.remove(key);
        self.snapshot.remove_nomination(key);
        for pods in self.waiting.values_mut() {
            pods.remove(key);
        }
        self.waiting.retain(|_, p| !p.is_empty());
        self.snapshot.remove_pod(key).is_some()
    }

    /// After a re-list: forgets every placed or waiting pod whose key is
    /// not in `present` (deleted while the watch was down). Returns whether
    /// any was forgotten.
    pub fn retain_pods(&mut self, present: &std::collections::HashSet<String>) -> bool {
        let mut gone: Vec<String> = self
            .snapshot
            .nodes()
            .iter()
            .flat_map(|n| n.pods().iter().map(|p| p.facts.key.clone()))
            .filter(|k| !present.contains(k))
            .collect();
        gone.extend(
            self.waiting
                .values()
                .flat_map(|pods| pods.keys())
                .filter(|k| !present.contains(*k))
                .cloned(),
        );
        let any = !gone.is_empty();
        for key in gone {
            self.remove_pod(&key);
        }
        self.snapshot.retain_nominations(present);
        any
    }

    /// A preemption chose `node` for the pending `pod`: it is nominated
    /// there now, before the status write is seen. Returns the pod's
    /// priority when it was nominated to another node before.
    pub fn nominate(&mut self, pod: Arc<Pod>, node: &str) -> Option<i32> {
        self.snapshot.nominate(pod, node)
    }

    /// A watched object of a pending pod of this scheduler: takes in its
    /// `status.nominatedNodeName` (upstream's nominator rules). Returns the
    /// pod's priority when its nomination ended or moved.
    pub fn observe_pending(&mut self, pod: Arc<Pod>) -> Option<i32> {
        self.snapshot.observe_nomination(pod)
    }

    /// Drops a pod's nomination; returns the pod's priority when it had one.
    pub fn drop_nomination(&mut self, key: &str) -> Option<i32> {
        self.snapshot.remove_nomination(key)
    }

    /// Whether the cache already places this pod (bound or assumed).
    pub fn knows(&self, key: &str) -> bool {
        self.assumed.contains_key(key) || self.snapshot.pod_node(key).is_some()
    }

    /// Counts `pod` on `node` before it is bound.
    pub fn assume(&mut self, pod: Arc<Pod>, node: &str) -> bool {
        let key = uid(&pod);
        if self.snapshot.assume_pod(pod, node).is_err() {
            return false;
        }
        self.assumed.insert(
            key,
            Assumed {
                node: node.to_owned(),
                bound_at: None,
            },
        );
        true
    }

    /// VolumeBinding's Reserve for a pod assumed on `node`: `Ok(None)` when
    /// the pod has no claim to bind (the common case costs one scan of its
    /// volumes).
    ///
    /// # Errors
    ///
    /// The node no longer serves the pod's claims.
    pub fn reserve_volumes(
        &mut self,
        pod: &Pod,
        node: &str,
    ) -> Result<Option<VolumeReservation>, String> {
        if !volume_binding::has_claims(pod) {
            return Ok(None);
        }
        volume_binding::reserve(pod, &mut self.snapshot, node)
    }

    /// VolumeBinding's Unreserve.
    pub fn unreserve_volumes(&mut self, reservation: &VolumeReservation) {
        volume_binding::unreserve(self.snapshot.volumes_mut(), reservation);
    }

    /// The binding was accepted: start the confirmation TTL.
    pub fn finish_binding(&mut self, key: &str) {
        if let Some(a) = self.assumed.get_mut(key) {
            a.bound_at = Some(Instant::now());
        }
    }

    /// The binding failed: undo the assumption.
    pub fn forget(&mut self, key: &str) {
        if self.assumed.remove(key).is_some() {
            self.snapshot.remove_pod(key);
        }
    }

    /// Drops assumptions whose binding was never confirmed by the watch.
    pub fn expire_assumed(&mut self) -> usize {
        let now = Instant::now();
        let expired: Vec<String> = self
            .assumed
            .iter()
            .filter(|(_, a)| {
                a.bound_at
                    .is_some_and(|t| now.duration_since(t) > ASSUME_TTL)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in &expired {
            self.forget(key);
        }
        expired.len()
    }

    /// Records a namespace's labels.
    pub fn set_namespace(&mut self, name: &str, labels: BTreeMap<String, String>) {
        self.snapshot.set_namespace_labels(name, labels);
    }

    /// Forgets a namespace.
    pub fn remove_namespace(&mut self, name: &str) {
        self.snapshot.remove_namespace(name);
    }

    /// Records a workload's selector for default topology spreading.
    pub fn set_controller(
        &mut self,
        kind: ControllerKind,
        namespace: &str,
        name: &str,
        selector: Option<bosun_types::labels::Selector>,
    ) {
        match selector {
            Some(selector) => self
                .snapshot
                .set_controller(kind, namespace, name, selector),
            None => self.snapshot.remove_controller(kind, namespace, name),
        }
    }

    /// Records a Service's selector.
    pub fn set_service(
        &mut self,
        namespace: &str,
        name: &str,
        selector: Option<BTreeMap<String, String>>,
    ) {
        self.snapshot.set_service(namespace, name, selector);
    }

    /// Records (or with `None` forgets) a disruption budget.
    pub fn set_pdb(&mut self, key: &str, pdb: Option<PodDisruptionBudget>) {
        match pdb {
            Some(pdb) => {
                self.pdbs.insert(key.to_owned(), pdb);
            }
            None => {
                self.pdbs.remove(key);
            }
        }
    }

    /// Every disruption budget.
    pub fn pdbs(&self) -> Vec<PodDisruptionBudget> {
        self.pdbs.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}
        }))
        .expect("node")
    }

    fn pod(name: &str, node: Option<&str>) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
                "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}
            }))
            .expect("pod"),
        )
    }

    #[test]
    fn assumed_pods_count_until_forgotten_or_confirmed() {
        let mut cache = Cache::new();
        cache.upsert_node(node("n1"));
        assert!(cache.assume(pod("a", None), "n1"));
        assert!(cache.knows("uid-a"));
        assert_eq!(
            cache.snapshot.node_info("n1").expect("node").pods().len(),
            1
        );
        cache.forget("uid-a");
        assert!(!cache.knows("uid-a"));
        assert!(
            cache
                .snapshot
                .node_info("n1")
                .expect("node")
                .pods()
                .is_empty()
        );
        cache.assume(pod("b", None), "n1");
        cache.bound_pod(pod("b", Some("n1")));
        cache.forget("uid-b");
        assert!(
            cache.knows("uid-b"),
            "a confirmed pod is no longer an assumption"
        );
    }

    #[test]
    fn pods_of_unknown_nodes_join_when_the_node_appears() {
        let mut cache = Cache::new();
        cache.bound_pod(pod("a", Some("n2")));
        assert!(!cache.knows("uid-a"));
        assert!(cache.upsert_node(node("n2")));
        assert!(cache.knows("uid-a"));
        cache.remove_node("n2");
        assert!(!cache.knows("uid-a"));
        cache.upsert_node(node("n2"));
        assert!(cache.knows("uid-a"));
    }

    #[test]
    fn a_relist_forgets_pods_deleted_while_the_watch_was_down() {
        let mut cache = Cache::new();
        cache.upsert_node(node("n1"));
        cache.bound_pod(pod("kept", Some("n1")));
        cache.bound_pod(pod("gone", Some("n1")));
        cache.bound_pod(pod("waiting", Some("n9")));
        let present: std::collections::HashSet<String> = ["uid-kept".to_owned()].into();
        assert!(cache.retain_pods(&present));
        assert!(cache.knows("uid-kept"));
        assert!(!cache.knows("uid-gone"));
        cache.upsert_node(node("n9"));
        assert!(!cache.knows("uid-waiting"));
    }

    #[test]
    fn nominations_end_when_pods_are_placed_bound_deleted_or_relisted_away() {
        let mut cache = Cache::new();
        cache.upsert_node(node("n1"));
        for name in ["assumed", "bound", "deleted", "relisted", "kept"] {
            assert_eq!(cache.nominate(pod(name, None), "n1"), None);
        }
        let nominated = |c: &Cache| c.snapshot.nominator().len();
        assert_eq!(nominated(&cache), 5);
        assert!(cache.assume(pod("assumed", None), "n1"));
        // Bound to a node not known yet: it waits aside, not nominated.
        cache.bound_pod(pod("bound", Some("n9")));
        assert!(!cache.remove_pod("uid-deleted"));
        assert_eq!(nominated(&cache), 2);
        let present: std::collections::HashSet<String> = ["uid-assumed", "uid-bound", "uid-kept"]
            .map(String::from)
            .into();
        cache.retain_pods(&present);
        assert_eq!(cache.snapshot.nominator().node_of("uid-kept"), Some("n1"));
        assert_eq!(nominated(&cache), 1);
        assert_eq!(cache.drop_nomination("uid-kept"), Some(0));
        assert_eq!(cache.drop_nomination("uid-kept"), None);
    }

    #[test]
    fn finished_pods_free_their_node() {
        let mut cache = Cache::new();
        cache.upsert_node(node("n1"));
        cache.bound_pod(pod("a", Some("n1")));
        let mut done = (*pod("a", Some("n1"))).clone();
        done.status = Some(k8s_openapi::api::core::v1::PodStatus {
            phase: Some("Succeeded".into()),
            ..Default::default()
        });
        assert!(cache.bound_pod(Arc::new(done)));
        assert!(!cache.knows("uid-a"));
    }
}
