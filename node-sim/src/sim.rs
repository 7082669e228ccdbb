//! The simulated run of one pod: when each container starts, becomes
//! started and ready, exits, waits in CrashLoopBackOff and restarts; init
//! containers complete at once. Pure bookkeeping over `Instant`s — nothing
//! here talks to the API — so the lifecycle is unit-tested with a fake
//! clock.

use crate::view::{Adoption, ContainerSpec, PodView, RestartPolicy};
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::time::Instant;

/// The longest CrashLoopBackOff delay (the kubelet's).
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Most lifecycle steps one [`SimPod::advance`] takes per container (guards
/// against zero-length runs).
const MAX_STEPS: usize = 64;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The exit code.
    pub code: i32,
    /// When that run started.
    pub started: Instant,
    /// When it ended.
    pub finished: Instant,
    /// Which run of the container it was (0 = first).
    pub run: i32,
}

impl Exit {
    /// The kubelet's reason for this exit.
    pub fn reason(&self) -> &'static str {
        if self.code == 0 { "Completed" } else { "Error" }
    }
}

/// Where a container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    /// Running since then.
    Running {
        /// When this run started.
        since: Instant,
    },
    /// Waiting to restart after a crash.
    BackOff {
        /// When it restarts.
        until: Instant,
        /// The delay it is serving.
        delay: Duration,
    },
    /// Finished for good.
    Exited(Exit),
}

/// One simulated container.
#[derive(Debug, Clone)]
pub struct SimContainer {
    /// Its spec facts.
    pub spec: ContainerSpec,
    /// How long each run lasts (`None`: until stopped).
    pub run_for: Option<Duration>,
    /// The exit code a run ends with.
    pub exit_code: i32,
    /// Whether an exit with this code leads to a restart.
    pub restarts: fn(i32) -> bool,
    /// Restarts so far.
    pub restart_count: i32,
    /// Where it is now.
    pub state: ContainerState,
    /// How the previous run ended.
    pub last: Option<Exit>,
}

fn never(_: i32) -> bool {
    false
}
fn on_failure(code: i32) -> bool {
    code != 0
}
fn always(_: i32) -> bool {
    true
}

impl SimContainer {
    fn new(spec: ContainerSpec, since: Instant) -> Self {
        Self {
            spec,
            run_for: None,
            exit_code: 0,
            restarts: never,
            restart_count: 0,
            state: ContainerState::Running { since },
            last: None,
        }
    }

    /// Whether the current run has passed its startup delay.
    pub fn started(&self, now: Instant) -> bool {
        matches!(self.state, ContainerState::Running { since } if now >= since + self.spec.startup_delay)
    }

    /// Whether the current run is ready (started and past the readiness
    /// delay).
    pub fn ready(&self, now: Instant) -> bool {
        matches!(self.state, ContainerState::Running { since }
            if now >= since + self.spec.startup_delay.max(self.spec.ready_delay))
    }

    fn advance(&mut self, now: Instant, base_backoff: Duration) {
        for _ in 0..MAX_STEPS {
            match self.state {
                ContainerState::Running { since } => {
                    let Some(run_for) = self.run_for else { return };
                    let end = since + run_for;
                    if now < end {
                        return;
                    }
                    let exit = Exit {
                        code: self.exit_code,
                        started: since,
                        finished: end,
                        run: self.restart_count,
                    };
                    if !(self.restarts)(exit.code) {
                        self.state = ContainerState::Exited(exit);
                        return;
                    }
                    self.last = Some(exit);
                    if self.restart_count == 0 {
                        // The first restart is immediate, as the kubelet's.
                        self.restart_count = 1;
                        self.state = ContainerState::Running { since: end };
                    } else {
                        let delay = backoff(base_backoff, self.restart_count);
                        self.state = ContainerState::BackOff {
                            until: end + delay,
                            delay,
                        };
                    }
                }
                ContainerState::BackOff { until, .. } => {
                    if now < until {
                        return;
                    }
                    self.restart_count += 1;
                    self.state = ContainerState::Running { since: until };
                }
                ContainerState::Exited(_) => return,
            }
        }
    }

    fn next_event(&self, now: Instant) -> Option<Instant> {
        match self.state {
            ContainerState::Running { since } => {
                let started = since + self.spec.startup_delay;
                let ready = since + self.spec.startup_delay.max(self.spec.ready_delay);
                [
                    Some(started),
                    Some(ready),
                    self.run_for.map(|run| since + run),
                ]
                .into_iter()
                .flatten()
                .filter(|t| *t > now)
                .min()
            }
            ContainerState::BackOff { until, .. } => Some(until),
            ContainerState::Exited(_) => None,
        }
    }

    fn stop(&mut self, now: Instant, code: i32) {
        let exit = match self.state {
            ContainerState::Running { since } => Exit {
                code,
                started: since,
                finished: now,
                run: self.restart_count,
            },
            ContainerState::BackOff { .. } => match self.last {
                Some(last) => last,
                None => return,
            },
            ContainerState::Exited(_) => return,
        };
        self.state = ContainerState::Exited(exit);
    }
}

/// The CrashLoopBackOff delay before restart number `restarts + 1`.
pub fn backoff(base: Duration, restarts: i32) -> Duration {
    let doublings = u32::try_from(restarts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    base.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

/// The simulated state of one pod on one node.
#[derive(Debug, Clone)]
pub struct SimPod {
    /// When the pod started (its sandbox was "created").
    pub start: Instant,
    /// Its IP (`None` when it uses the host network).
    pub ip: Option<Ipv4Addr>,
    /// Whether `ip` came from the node's pool and is still held.
    pub holds_ip: bool,
    /// Init containers: plain ones already completed, sidecars running.
    pub init: Vec<SimContainer>,
    /// The main containers.
    pub main: Vec<SimContainer>,
    /// Deletion has stopped every container.
    pub terminating: bool,
}

/// How long containers run and how they exit, from the pod's annotations,
/// restart policy and the configured default run time.
#[derive(Debug, Clone, Copy)]
pub struct RunPlan {
    /// Run length of containers that exit.
    pub run_for: Option<Duration>,
    /// Their exit code.
    pub exit_code: i32,
    /// Which exits restart.
    pub restarts: fn(i32) -> bool,
}

impl RunPlan {
    /// The plan for `view` with `default_run_seconds` as the run length.
    pub fn for_pod(view: &PodView, default_run_seconds: f64) -> Self {
        let seconds = view.run_seconds.unwrap_or(default_run_seconds);
        let run = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::from_secs(1));
        let exit_code = view.exit_code.unwrap_or(0);
        match view.restart_policy {
            RestartPolicy::Never => Self {
                run_for: Some(run),
                exit_code,
                restarts: never,
            },
            RestartPolicy::OnFailure => Self {
                run_for: Some(run),
                exit_code,
                restarts: on_failure,
            },
            RestartPolicy::Always => Self {
                run_for: view.exit_code.is_some().then_some(run),
                exit_code,
                restarts: always,
            },
        }
    }
}

impl SimPod {
    /// A pod starting `now` with `ip`: init containers complete at once,
    /// sidecars and main containers start running.
    pub fn start(view: &PodView, plan: RunPlan, now: Instant, ip: Option<Ipv4Addr>) -> Self {
        let init = view
            .init_containers
            .iter()
            .map(|spec| {
                let mut c = SimContainer::new(spec.clone(), now);
                if !spec.sidecar {
                    c.state = ContainerState::Exited(Exit {
                        code: 0,
                        started: now,
                        finished: now,
                        run: 0,
                    });
                } else {
                    c.restarts = always;
                }
                c
            })
            .collect();
        let main = view
            .containers
            .iter()
            .map(|spec| {
                let mut c = SimContainer::new(spec.clone(), now);
                c.run_for = plan.run_for;
                c.exit_code = plan.exit_code;
                c.restarts = plan.restarts;
                c
            })
            .collect();
        Self {
            start: now,
            ip,
            holds_ip: false,
            init,
            main,
            terminating: false,
        }
    }

    /// Continues a pod an earlier run reported as Running: start time,
    /// restart counts and the current runs' start times are kept.
    pub fn adopt(&mut self, adoption: &Adoption, now: Instant, wall_now: jiff::Timestamp) {
        let at = |ts: jiff::Timestamp| {
            let ago = wall_now.duration_since(ts).unsigned_abs();
            now.checked_sub(ago).unwrap_or(now)
        };
        self.start = at(adoption.start_time);
        for c in &mut self.main {
            if let Some((_, restarts, since)) = adoption
                .containers
                .iter()
                .find(|(n, _, _)| *n == c.spec.name)
            {
                c.restart_count = *restarts;
                if let Some(since) = since {
                    c.state = ContainerState::Running { since: at(*since) };
                }
            }
        }
        for c in &mut self.init {
            if let ContainerState::Exited(exit) = &mut c.state {
                exit.started = self.start;
                exit.finished = self.start;
            } else {
                c.state = ContainerState::Running { since: self.start };
            }
        }
    }

    /// Applies every transition due by `now`; ends sidecars once the main
    /// containers are all done.
    pub fn advance(&mut self, now: Instant, base_backoff: Duration) {
        for c in &mut self.main {
            c.advance(now, base_backoff);
        }
        if let Some(done_at) = self.main_done_at() {
            for c in &mut self.init {
                c.stop(done_at, 0);
            }
        }
    }

    /// When the last main container exited for good, if all have.
    fn main_done_at(&self) -> Option<Instant> {
        let mut latest = self.start;
        for c in &self.main {
            match c.state {
                ContainerState::Exited(exit) => latest = latest.max(exit.finished),
                _ => return None,
            }
        }
        Some(latest)
    }

    /// Stops every container now (graceful deletion), exiting with `code`.
    pub fn terminate(&mut self, now: Instant, code: i32) {
        self.terminating = true;
        for c in self.main.iter_mut().chain(self.init.iter_mut()) {
            c.stop(now, code);
        }
    }

    /// `Succeeded` or `Failed` once every main container exited for good.
    pub fn terminal_phase(&self) -> Option<&'static str> {
        self.main_done_at()?;
        let failed = self
            .main
            .iter()
            .any(|c| matches!(c.state, ContainerState::Exited(e) if e.code != 0));
        Some(if failed { "Failed" } else { "Succeeded" })
    }

    /// The next moment something changes by itself.
    pub fn next_event(&self, now: Instant) -> Option<Instant> {
        self.main
            .iter()
            .chain(self.init.iter())
            .filter_map(|c| c.next_event(now))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::PodView;

    fn view(policy: &str, annotations: serde_json::Value) -> PodView {
        let pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "d", "uid": "u", "annotations": annotations},
            "spec": {"nodeName": "n", "restartPolicy": policy,
                "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [{"name": "c", "image": "nginx",
                    "readinessProbe": {"initialDelaySeconds": 3, "tcpSocket": {"port": 80}}}]}
        }))
        .expect("pod");
        PodView::from_pod(&pod, true).expect("view")
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn always_pods_run_forever_and_get_ready_after_the_probe_delay() {
        let v = view("Always", serde_json::json!({}));
        let t0 = Instant::now();
        let mut pod = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        assert!(matches!(pod.init[0].state, ContainerState::Exited(e) if e.code == 0));
        assert!(!pod.main[0].ready(t0));
        assert!(pod.main[0].started(t0));
        assert_eq!(pod.next_event(t0), Some(t0 + 3 * S));
        pod.advance(t0 + 3 * S, S);
        assert!(pod.main[0].ready(t0 + 3 * S));
        assert_eq!(pod.next_event(t0 + 3 * S), None);
        pod.advance(t0 + 1000 * S, S);
        assert!(pod.terminal_phase().is_none());
    }

    #[test]
    fn never_pods_succeed_or_fail_after_their_run() {
        let v = view("Never", serde_json::json!({}));
        let t0 = Instant::now();
        let mut pod = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        assert_eq!(pod.next_event(t0), Some(t0 + S));
        pod.advance(t0 + S, S);
        assert_eq!(pod.terminal_phase(), Some("Succeeded"));

        let v = view(
            "Never",
            serde_json::json!({"sim.bosun.dev/exit-code": "2", "sim.bosun.dev/run-seconds": "5"}),
        );
        let mut pod = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        pod.advance(t0 + 4 * S, S);
        assert_eq!(pod.terminal_phase(), None);
        pod.advance(t0 + 5 * S, S);
        assert_eq!(pod.terminal_phase(), Some("Failed"));
        assert!(
            matches!(pod.main[0].state, ContainerState::Exited(e) if e.code == 2 && e.reason() == "Error")
        );
    }

    #[test]
    fn failing_containers_crash_loop_with_growing_backoff() {
        let v = view(
            "Always",
            serde_json::json!({"sim.bosun.dev/exit-code": "1"}),
        );
        let t0 = Instant::now();
        let mut pod = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        // First exit at 1 s restarts at once.
        pod.advance(t0 + S, S);
        assert_eq!(pod.main[0].restart_count, 1);
        assert!(matches!(pod.main[0].state, ContainerState::Running { .. }));
        // Second exit at 2 s waits 1 s.
        pod.advance(t0 + 2 * S, S);
        assert!(matches!(pod.main[0].state, ContainerState::BackOff { delay, .. } if delay == S));
        assert_eq!(pod.main[0].last.map(|e| e.code), Some(1));
        pod.advance(t0 + 3 * S, S);
        assert_eq!(pod.main[0].restart_count, 2);
        // Third exit at 4 s waits 2 s.
        pod.advance(t0 + 4 * S, S);
        assert!(
            matches!(pod.main[0].state, ContainerState::BackOff { delay, .. } if delay == 2 * S)
        );
        assert!(pod.terminal_phase().is_none());
        assert_eq!(backoff(Duration::from_secs(10), 10), MAX_BACKOFF);
    }

    #[test]
    fn on_failure_pods_restart_until_success_policy() {
        let v = view(
            "OnFailure",
            serde_json::json!({"sim.bosun.dev/exit-code": "1"}),
        );
        let t0 = Instant::now();
        let mut pod = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        pod.advance(t0 + 10 * S, S);
        assert!(pod.main[0].restart_count >= 2);
        assert!(pod.terminal_phase().is_none());

        let v = view("OnFailure", serde_json::json!({}));
        let mut pod = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        pod.advance(t0 + S, S);
        assert_eq!(pod.terminal_phase(), Some("Succeeded"));
    }

    #[test]
    fn termination_stops_everything() {
        let v = view("Always", serde_json::json!({}));
        let t0 = Instant::now();
        let mut pod = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        pod.terminate(t0 + S, 0);
        assert!(pod.terminating);
        assert_eq!(pod.terminal_phase(), Some("Succeeded"));
        assert_eq!(pod.next_event(t0 + S), None);
    }

    #[test]
    fn zero_length_crash_loops_terminate() {
        let v = view(
            "Always",
            serde_json::json!({"sim.bosun.dev/exit-code": "1", "sim.bosun.dev/run-seconds": "0"}),
        );
        let t0 = Instant::now();
        let mut pod = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        pod.advance(t0 + 100 * S, Duration::from_millis(1));
        assert!(pod.main[0].restart_count > 1);
    }
}
