//! The scheduling loop: pop a pod, run the algorithm over the cache,
//! assume the chosen node (reserving its volumes) and bind in the
//! background; or report the pod unschedulable (trying preemption first).
//! A preemptor is nominated to its node in the cache at once, so pods of
//! lower priority scheduled before the victims leave do not take the room.
//!
//! A pod whose claims still need binding goes through VolumeBinding's
//! PreBind ([`volume_binder`]) first: that wait can
//! take as long as the PV controller needs, so it runs in its own task
//! without a binding slot, and only the `pods/binding` request takes one.

use crate::cache::{Cache, uid};
use crate::core::pod_info::pod_priority;
use crate::core::{self, FitError, VolumeReservation, XorShiftRng};
use crate::metrics::{self, Metrics};
use crate::queue::{QueuedPod, SchedulingQueue};
use crate::report::{self, Nomination};
use crate::volume_binder::{self, PreBindError};
use bosun_runtime::EventRecorder;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{Semaphore, watch};

/// What the loop needs.
pub struct Cycle {
    /// The cache.
    pub cache: Arc<Mutex<Cache>>,
    /// The queue.
    pub queue: Arc<SchedulingQueue>,
    /// The algorithm's configuration.
    pub config: core::Config,
    /// The API client.
    pub client: kube::Client,
    /// Events.
    pub recorder: EventRecorder,
    /// Metrics.
    pub metrics: Metrics,
    /// Bindings in flight.
    pub binds: Arc<Semaphore>,
    /// `profile` label value (the scheduler name).
    pub profile: String,
    /// Changes on every claim or volume event (PreBind waits on it).
    pub volume_events: watch::Receiver<u64>,
    /// How long PreBind waits for claims to be bound.
    pub bind_timeout: std::time::Duration,
}

enum Decision {
    Skip,
    Assumed(String, Option<Box<VolumeReservation>>),
    /// Reserve failed; the pod is forgotten again.
    Failed(String),
    Unschedulable(Box<FitError>),
    /// The preemption, the scheduling error, and the highest priority of
    /// the nominations it ended or moved (pods of lower or equal priority
    /// may fit where they were).
    Preempt(core::Preemption, Box<FitError>, Option<i32>),
}

impl Cycle {
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs until the queue is closed.
    pub async fn run(self: Arc<Self>) {
        let mut rng = XorShiftRng::new(
            jiff::Timestamp::now().as_nanosecond() as u64 ^ u64::from(std::process::id()),
        );
        let mut start_index = 0usize;
        while let Some(queued) = self.queue.pop().await {
            let started = Instant::now();
            let decision = self.decide(&queued, &mut rng, &mut start_index);
            match decision {
                Decision::Skip => self.queue.done(&queued.key),
                Decision::Assumed(node, None) => {
                    let Ok(permit) = self.binds.clone().acquire_owned().await else {
                        return;
                    };
                    let this = self.clone();
                    tokio::spawn(async move {
                        this.bind(queued, node, started, None).await;
                        drop(permit);
                    });
                }
                Decision::Assumed(node, Some(reservation)) => {
                    let this = self.clone();
                    tokio::spawn(async move {
                        if this.prebind(&queued, &reservation, started).await {
                            let Ok(permit) = this.binds.clone().acquire_owned().await else {
                                return;
                            };
                            this.bind(queued, node, started, Some(&reservation)).await;
                            drop(permit);
                        }
                    });
                }
                Decision::Failed(message) => {
                    self.queue.retry(&queued);
                    self.observe(metrics::ERROR, started);
                    self.report_error(&queued.pod, message);
                }
                Decision::Unschedulable(fit) => {
                    self.queue.unschedulable(&queued);
                    self.observe(metrics::UNSCHEDULABLE, started);
                    self.report_unschedulable(&queued.pod, fit.to_string(), None);
                }
                Decision::Preempt(preemption, fit, unnominated) => {
                    self.queue.unschedulable(&queued);
                    self.observe(metrics::UNSCHEDULABLE, started);
                    self.metrics
                        .preemption_attempts
                        .with_label_values(&["victims"])
                        .inc();
                    self.preempt(&queued.pod, preemption, fit.to_string());
                    if let Some(priority) = unnominated {
                        self.queue
                            .move_matching("NominatedPodDelete", |p| pod_priority(p) <= priority);
                    }
                }
            }
        }
    }

    fn decide(
        &self,
        queued: &QueuedPod,
        rng: &mut XorShiftRng,
        start_index: &mut usize,
    ) -> Decision {
        let pod = &*queued.pod;
        let mut cache = self.cache();
        if cache.knows(&uid(pod)) {
            return Decision::Skip;
        }
        match core::schedule(pod, &cache.snapshot, &self.config, rng, *start_index) {
            Ok(result) => {
                *start_index = result.next_start_index;
                if !cache.assume(Arc::clone(&queued.pod), &result.node_name) {
                    return Decision::Skip;
                }
                match cache.reserve_volumes(pod, &result.node_name) {
                    Ok(reservation) => {
                        Decision::Assumed(result.node_name, reservation.map(Box::new))
                    }
                    Err(error) => {
                        cache.forget(&uid(pod));
                        Decision::Failed(format!(
                            "running Reserve plugin {:?}: {error}",
                            core::plugins::volume_binding::NAME
                        ))
                    }
                }
            }
            Err(mut fit) => {
                *start_index = fit.next_start_index;
                let pdbs = cache.pdbs();
                match core::preempt(pod, &cache.snapshot, &fit, &pdbs, &self.config, rng) {
                    Ok(preemption) => {
                        let unnominated = self.nominate(&mut cache, queued, &preemption);
                        Decision::Preempt(preemption, Box::new(fit), unnominated)
                    }
                    Err(error) => {
                        fit.record_preemption_failure(&error);
                        Decision::Unschedulable(Box::new(fit))
                    }
                }
            }
        }
    }

    /// Upstream's in-memory nomination after a preemption: the preemptor is
    /// nominated to the node, and lower-priority pods nominated there lose
    /// their nomination. Returns the highest priority of the nominations
    /// ended or moved. A pod deleted or bound since it was popped has left
    /// the queue and is not nominated (the cache lock, held here, orders
    /// this check before the watch's removal of the pod from the cache).
    fn nominate(
        &self,
        cache: &mut Cache,
        queued: &QueuedPod,
        preemption: &core::Preemption,
    ) -> Option<i32> {
        let mut unnominated = None;
        if self.queue.contains(&queued.key) {
            unnominated = cache.nominate(queued.pod.clone(), &preemption.node_name);
        }
        for p in &preemption.nominations_to_clear {
            unnominated = unnominated.max(cache.drop_nomination(&uid(p)));
        }
        unnominated
    }

    fn observe(&self, result: &str, started: Instant) {
        self.metrics
            .attempts
            .with_label_values(&[result, &self.profile])
            .inc();
        self.metrics
            .attempt_duration
            .with_label_values(&[result, &self.profile])
            .observe(started.elapsed().as_secs_f64());
    }

    fn pods(&self, pod: &Pod) -> Api<Pod> {
        Api::namespaced(
            self.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
        )
    }

    /// Undoes the assumption (and the volume reservation) of a pod whose
    /// binding failed.
    fn unreserve(&self, key: &str, reservation: Option<&VolumeReservation>) {
        let mut cache = self.cache();
        if let Some(reservation) = reservation {
            cache.unreserve_volumes(reservation);
        }
        cache.forget(key);
    }

    /// VolumeBinding's PreBind; `true` when the pod may be bound now.
    /// Failures unreserve the pod and retry it after a backoff.
    async fn prebind(
        &self,
        queued: &QueuedPod,
        reservation: &VolumeReservation,
        started: Instant,
    ) -> bool {
        let key = uid(&queued.pod);
        let result = volume_binder::bind_pod_volumes(
            &self.client,
            &self.cache,
            self.volume_events.clone(),
            &key,
            reservation,
            self.bind_timeout,
        )
        .await;
        let Err(error) = result else {
            return true;
        };
        self.unreserve(&key, Some(reservation));
        self.observe(metrics::ERROR, started);
        if matches!(error, PreBindError::PodGone) {
            self.queue.done(&queued.key);
            return false;
        }
        tracing::warn!(%error, pod = %queued.key, node = %reservation.node, "binding volumes failed; retrying");
        self.queue.retry(queued);
        self.report_error(
            &queued.pod,
            format!(
                "running PreBind plugin {:?}: {error}",
                core::plugins::volume_binding::NAME
            ),
        );
        false
    }

    async fn bind(
        &self,
        queued: QueuedPod,
        node: String,
        started: Instant,
        reservation: Option<&VolumeReservation>,
    ) {
        let key = uid(&queued.pod);
        // The node may have gone while the pod waited for a binding slot.
        if !self.cache().has_node(&node) {
            self.unreserve(&key, reservation);
            self.queue.retry(&queued);
            self.observe(metrics::ERROR, started);
            return;
        }
        match report::bind(&self.pods(&queued.pod), &queued.pod, &node).await {
            Ok(()) => {
                self.cache().finish_binding(&key);
                self.queue.done(&queued.key);
                self.observe(metrics::SCHEDULED, started);
                self.metrics
                    .sli_duration
                    .with_label_values(&[&(queued.attempts + 1).to_string()])
                    .observe(queued.first_seen.elapsed().as_secs_f64());
                report::scheduled_event(&self.recorder, &queued.pod, &node);
            }
            Err(error) => {
                self.unreserve(&key, reservation);
                self.observe(metrics::ERROR, started);
                match &error {
                    // The pod is gone, or someone else bound it.
                    kube::Error::Api(s) if s.code == 404 || s.code == 409 => {
                        self.queue.done(&queued.key);
                    }
                    _ => {
                        tracing::warn!(%error, pod = %queued.key, %node, "binding failed; retrying");
                        self.queue.retry(&queued);
                        self.report_error(&queued.pod, format!("Binding rejected: {error}"));
                    }
                }
            }
        }
    }

    /// `FailedScheduling` and `PodScheduled=False`; `nominated` is the node a
    /// preemption chose (an earlier nomination is kept otherwise).
    fn report_unschedulable(&self, pod: &Pod, message: String, nominated: Option<String>) {
        report::failed_event(&self.recorder, pod, &message);
        let api = self.pods(pod);
        let pod = pod.clone();
        tokio::spawn(async move {
            if let Err(error) = report::mark_unschedulable(
                &api,
                &pod,
                report::REASON_UNSCHEDULABLE,
                &message,
                nominated
                    .as_deref()
                    .map_or(Nomination::Keep, Nomination::Set),
            )
            .await
            {
                tracing::debug!(%error, "updating PodScheduled failed");
            }
        });
    }

    /// `FailedScheduling` and `PodScheduled=False` after the pod was assumed
    /// (Reserve, PreBind or the binding failed): as upstream, its nominated
    /// node is cleared too.
    fn report_error(&self, pod: &Pod, message: String) {
        report::failed_event(&self.recorder, pod, &message);
        let api = self.pods(pod);
        let pod = pod.clone();
        tokio::spawn(async move {
            let _ = report::mark_unschedulable(
                &api,
                &pod,
                report::REASON_SCHEDULER_ERROR,
                &message,
                Nomination::Clear,
            )
            .await;
        });
    }

    /// Evicts the victims, clears the nomination of lower-priority pods
    /// nominated to the node, and nominates the node (upstream deletes
    /// victims directly, with their own grace period).
    fn preempt(&self, pod: &Pod, preemption: core::Preemption, message: String) {
        for nominated in &preemption.nominations_to_clear {
            let api = self.pods(nominated);
            let nominated = nominated.clone();
            tokio::spawn(async move {
                if let Err(error) = report::clear_nomination(&api, &nominated).await {
                    tracing::debug!(%error, pod = ?nominated.metadata.name, "clearing nominatedNodeName failed");
                }
            });
        }
        for victim in &preemption.victims {
            report::preempted_event(&self.recorder, victim, pod, &preemption.node_name);
            let api = self.pods(victim);
            let name = victim.metadata.name.clone().unwrap_or_default();
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: victim.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            tokio::spawn(async move {
                if let Err(error) = api.delete(&name, &params).await {
                    tracing::debug!(%error, victim = %name, "deleting preemption victim failed");
                }
            });
        }
        self.report_unschedulable(pod, message, Some(preemption.node_name));
    }
}
