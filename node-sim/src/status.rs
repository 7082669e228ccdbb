//! Renders a simulated pod as the kubelet reports it: phase, the five
//! kubelet conditions (with stable lastTransitionTimes), host and pod IPs,
//! startTime, and each container's state, ready/started flags,
//! restartCount, image, imageID and containerID.

use crate::ids;
use crate::sim::{ContainerState, Exit, SimContainer, SimPod};
use crate::view::PodView;
use k8s_openapi::api::core::v1::{
    ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::net::Ipv4Addr;
use tokio::time::Instant;

/// Maps `Instant`s to wall-clock `Time`s (to the second).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    instant: Instant,
    wall: jiff::Timestamp,
}

impl Clock {
    /// A clock anchored now.
    pub fn new() -> Self {
        Self {
            instant: Instant::now(),
            wall: jiff::Timestamp::now(),
        }
    }

    /// The wall time of `at`.
    pub fn wall(&self, at: Instant) -> jiff::Timestamp {
        let shifted = if at >= self.instant {
            jiff::SignedDuration::try_from(at - self.instant)
                .ok()
                .and_then(|d| self.wall.checked_add(d).ok())
        } else {
            jiff::SignedDuration::try_from(self.instant - at)
                .ok()
                .and_then(|d| self.wall.checked_sub(d).ok())
        };
        shifted.unwrap_or(self.wall)
    }

    /// The API `Time` of `at`.
    pub fn time(&self, at: Instant) -> Time {
        Time(ids::truncate(self.wall(at)))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Remembers when each condition last changed status.
#[derive(Debug, Clone, Default)]
pub struct Transitions {
    entries: Vec<(&'static str, &'static str, Time)>,
}

impl Transitions {
    /// Starts from conditions as reported earlier (an adopted pod).
    pub fn seed(&mut self, conditions: &[PodCondition]) {
        for c in conditions {
            let (Some(kind), Some(time)) = (own(&c.type_), c.last_transition_time.clone()) else {
                continue;
            };
            let status = if c.status == "True" { "True" } else { "False" };
            self.entries.push((kind, status, time));
        }
    }

    /// The lastTransitionTime of condition `kind` now `status`: unchanged
    /// when its status did not change, otherwise `now`.
    fn stamp(&mut self, kind: &'static str, status: &'static str, now: &Time) -> Time {
        match self.entries.iter_mut().find(|e| e.0 == kind) {
            Some(entry) if entry.1 == status => entry.2.clone(),
            Some(entry) => {
                entry.1 = status;
                entry.2 = now.clone();
                now.clone()
            }
            None => {
                self.entries.push((kind, status, now.clone()));
                now.clone()
            }
        }
    }
}

fn own(kind: &str) -> Option<&'static str> {
    crate::view::OWN_CONDITIONS
        .iter()
        .copied()
        .find(|k| *k == kind)
}

/// Everything a render needs besides the pod itself.
#[derive(Debug)]
pub struct RenderInput<'a> {
    /// The pod's latest view.
    pub view: &'a PodView,
    /// Its node's InternalIP.
    pub host_ip: Ipv4Addr,
    /// Instant-to-wall mapping.
    pub clock: &'a Clock,
    /// The moment rendered.
    pub now: Instant,
}

/// The status the kubelet would report for `sim` at `input.now`.
pub fn render(input: &RenderInput<'_>, sim: &SimPod, transitions: &mut Transitions) -> PodStatus {
    let RenderInput {
        view,
        host_ip,
        clock,
        now,
    } = *input;
    let now_time = clock.time(now);
    let terminal = sim.terminal_phase();
    let mut unready = Vec::new();
    for c in sim
        .init
        .iter()
        .filter(|c| c.spec.sidecar)
        .chain(sim.main.iter())
    {
        if !c.ready(now) {
            unready.push(c.spec.name.as_str());
        }
    }
    let (ready_status, ready_reason, ready_message) = match terminal {
        Some("Succeeded") => ("False", Some("PodCompleted"), None),
        Some(_) => ("False", Some("PodFailed"), None),
        None if unready.is_empty() => ("True", None, None),
        None => (
            "False",
            Some("ContainersNotReady"),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        ),
    };
    let mut condition = |kind: &'static str,
                         status: &'static str,
                         reason: Option<&str>,
                         message: Option<String>| PodCondition {
        type_: kind.into(),
        status: status.into(),
        reason: reason.map(Into::into),
        message,
        last_transition_time: Some(transitions.stamp(kind, status, &now_time)),
        last_probe_time: None,
        observed_generation: None,
    };
    let sandbox = if terminal.is_some() { "False" } else { "True" };
    let mut conditions = vec![
        condition("PodReadyToStartContainers", sandbox, None, None),
        condition("Initialized", "True", None, None),
    ];
    let gate_problem = (ready_status == "True")
        .then(|| gates_problem(view))
        .flatten();
    conditions.push(match gate_problem {
        Some(message) => condition(
            "Ready",
            "False",
            Some("ReadinessGatesNotReady"),
            Some(message),
        ),
        None => condition("Ready", ready_status, ready_reason, ready_message.clone()),
    });
    conditions.push(condition(
        "ContainersReady",
        ready_status,
        ready_reason,
        ready_message,
    ));
    let mut scheduled = condition("PodScheduled", "True", None, None);
    if let Some(at) = &view.scheduled_at {
        scheduled.last_transition_time = Some(at.clone());
    } else {
        scheduled.last_transition_time = Some(clock.time(sim.start));
    }
    conditions.push(scheduled);
    conditions.extend(view.foreign_conditions.iter().cloned());

    let pod_ip = if view.host_network {
        Some(host_ip)
    } else {
        sim.ip
    };
    let context = ContainerContext {
        view,
        clock,
        now,
        backoff_pod: format!("{}_{}({})", view.name, view.namespace, view.uid),
    };
    let init_statuses: Vec<ContainerStatus> = sim
        .init
        .iter()
        .map(|c| container_status(&context, c, true))
        .collect();
    PodStatus {
        phase: Some(terminal.unwrap_or("Running").into()),
        conditions: Some(conditions),
        host_ip: Some(host_ip.to_string()),
        host_ips: Some(vec![HostIP {
            ip: host_ip.to_string(),
        }]),
        pod_ip: pod_ip.map(|ip| ip.to_string()),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip: ip.to_string() }]),
        start_time: Some(clock.time(sim.start)),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        container_statuses: Some(
            sim.main
                .iter()
                .map(|c| container_status(&context, c, false))
                .collect(),
        ),
        ..Default::default()
    }
}

fn gates_problem(view: &PodView) -> Option<String> {
    for gate in &view.readiness_gates {
        match view.foreign_conditions.iter().find(|c| &c.type_ == gate) {
            None => {
                return Some(format!(
                    "corresponding condition of pod readiness gate \"{gate}\" does not exist."
                ));
            }
            Some(c) if c.status != "True" => {
                return Some(format!(
                    "the status of pod readiness gate \"{gate}\" is not \"True\", but {}",
                    c.status
                ));
            }
            Some(_) => {}
        }
    }
    None
}

struct ContainerContext<'a> {
    view: &'a PodView,
    clock: &'a Clock,
    now: Instant,
    backoff_pod: String,
}

fn terminated(ctx: &ContainerContext<'_>, name: &str, exit: &Exit) -> ApiState {
    ApiState {
        terminated: Some(ContainerStateTerminated {
            container_id: Some(ids::container_id(&ctx.view.uid, name, exit.run)),
            exit_code: exit.code,
            reason: Some(exit.reason().into()),
            started_at: Some(ctx.clock.time(exit.started)),
            finished_at: Some(ctx.clock.time(exit.finished)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container_status(ctx: &ContainerContext<'_>, c: &SimContainer, init: bool) -> ContainerStatus {
    let name = c.spec.name.as_str();
    let (state, run, ready, started) = match c.state {
        ContainerState::Running { since } => (
            ApiState {
                running: Some(ContainerStateRunning {
                    started_at: Some(ctx.clock.time(since)),
                }),
                ..Default::default()
            },
            c.restart_count,
            c.ready(ctx.now),
            c.started(ctx.now),
        ),
        ContainerState::BackOff { delay, .. } => (
            ApiState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("CrashLoopBackOff".into()),
                    message: Some(format!(
                        "back-off {}s restarting failed container={name} pod={}",
                        delay.as_secs(),
                        ctx.backoff_pod
                    )),
                }),
                ..Default::default()
            },
            c.last.map_or(c.restart_count, |e| e.run),
            false,
            false,
        ),
        ContainerState::Exited(exit) => (
            terminated(ctx, name, &exit),
            exit.run,
            // A completed init container counts as ready.
            init && !c.spec.sidecar && exit.code == 0,
            false,
        ),
    };
    ContainerStatus {
        name: name.into(),
        image: c.spec.image.clone(),
        image_id: ids::image_id(&c.spec.image),
        container_id: Some(ids::container_id(&ctx.view.uid, name, run)),
        ready,
        started: Some(started),
        restart_count: c.restart_count,
        state: Some(state),
        last_state: Some(
            c.last
                .as_ref()
                .map(|exit| terminated(ctx, name, exit))
                .unwrap_or_default(),
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::RunPlan;
    use std::time::Duration;

    fn view(value: serde_json::Value) -> PodView {
        let pod = serde_json::from_value(value).expect("pod");
        PodView::from_pod(&pod, true).expect("view")
    }

    fn basic(policy: &str) -> PodView {
        view(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u-1"},
            "spec": {"nodeName": "n", "restartPolicy": policy,
                "initContainers": [{"name": "setup", "image": "busybox"}],
                "containers": [{"name": "app", "image": "nginx:1.27"}]}
        }))
    }

    fn condition<'a>(status: &'a PodStatus, kind: &str) -> &'a PodCondition {
        status
            .conditions
            .as_ref()
            .and_then(|c| c.iter().find(|c| c.type_ == kind))
            .expect("condition")
    }

    #[test]
    fn running_pod_looks_like_the_kubelets() {
        let v = basic("Always");
        let clock = Clock::new();
        let t0 = Instant::now();
        let ip = Some(Ipv4Addr::new(10, 244, 0, 2));
        let sim = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, ip);
        let input = RenderInput {
            view: &v,
            host_ip: Ipv4Addr::new(172, 18, 0, 2),
            clock: &clock,
            now: t0,
        };
        let status = render(&input, &sim, &mut Transitions::default());
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert_eq!(status.pod_ip.as_deref(), Some("10.244.0.2"));
        assert_eq!(status.host_ip.as_deref(), Some("172.18.0.2"));
        for kind in [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        ] {
            assert_eq!(condition(&status, kind).status, "True", "{kind}");
        }
        let app = &status.container_statuses.as_ref().expect("statuses")[0];
        assert!(app.ready);
        assert_eq!(app.started, Some(true));
        assert_eq!(app.restart_count, 0);
        assert!(
            app.image_id
                .starts_with("docker-pullable://nginx:1.27@sha256:")
        );
        assert!(
            app.container_id
                .as_deref()
                .is_some_and(|id| id.starts_with("containerd://"))
        );
        assert!(
            app.state
                .as_ref()
                .and_then(|s| s.running.as_ref())
                .is_some()
        );
        let setup = &status.init_container_statuses.as_ref().expect("init")[0];
        let done = setup
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .expect("terminated");
        assert_eq!(
            (done.exit_code, done.reason.as_deref()),
            (0, Some("Completed"))
        );
    }

    #[test]
    fn completed_and_crashing_pods() {
        let clock = Clock::new();
        let t0 = Instant::now();
        let host_ip = Ipv4Addr::new(172, 18, 0, 2);
        let v = basic("Never");
        let mut sim = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        let mut transitions = Transitions::default();
        let first = render(
            &RenderInput {
                view: &v,
                host_ip,
                clock: &clock,
                now: t0,
            },
            &sim,
            &mut transitions,
        );
        let later = t0 + Duration::from_secs(2);
        sim.advance(later, Duration::from_secs(1));
        let done = render(
            &RenderInput {
                view: &v,
                host_ip,
                clock: &clock,
                now: later,
            },
            &sim,
            &mut transitions,
        );
        assert_eq!(done.phase.as_deref(), Some("Succeeded"));
        let ready = condition(&done, "Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("False", Some("PodCompleted"))
        );
        assert_eq!(
            condition(&done, "PodReadyToStartContainers").status,
            "False"
        );
        assert_eq!(
            condition(&first, "Initialized").last_transition_time,
            condition(&done, "Initialized").last_transition_time
        );

        let v = view(serde_json::json!({
            "metadata": {"name": "crash", "namespace": "default", "uid": "u-2",
                "annotations": {"sim.bosun.dev/exit-code": "1"}},
            "spec": {"nodeName": "n", "containers": [{"name": "app", "image": "busybox"}]}
        }));
        let mut sim = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        let at = t0 + Duration::from_millis(2500);
        sim.advance(at, Duration::from_secs(10));
        let status = render(
            &RenderInput {
                view: &v,
                host_ip,
                clock: &clock,
                now: at,
            },
            &sim,
            &mut Transitions::default(),
        );
        let app = &status.container_statuses.as_ref().expect("statuses")[0];
        assert_eq!(app.restart_count, 1);
        let waiting = app
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .expect("waiting");
        assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
        assert!(
            waiting
                .message
                .as_deref()
                .is_some_and(|m| m.contains("back-off 10s") && m.contains("crash_default(u-2)"))
        );
        let last = app
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .expect("last");
        assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert_eq!(
            condition(&status, "Ready").reason.as_deref(),
            Some("ContainersNotReady")
        );
    }

    #[test]
    fn readiness_gates_hold_ready_back() {
        let v = view(serde_json::json!({
            "metadata": {"name": "g", "namespace": "default", "uid": "u-3"},
            "spec": {"nodeName": "n", "readinessGates": [{"conditionType": "x/ok"}],
                "containers": [{"name": "app", "image": "nginx"}]}
        }));
        let clock = Clock::new();
        let t0 = Instant::now();
        let sim = SimPod::start(&v, RunPlan::for_pod(&v, 1.0), t0, None);
        let status = render(
            &RenderInput {
                view: &v,
                host_ip: Ipv4Addr::LOCALHOST,
                clock: &clock,
                now: t0,
            },
            &sim,
            &mut Transitions::default(),
        );
        assert_eq!(condition(&status, "ContainersReady").status, "True");
        let ready = condition(&status, "Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("False", Some("ReadinessGatesNotReady"))
        );
    }
}
