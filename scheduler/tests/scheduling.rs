//! The scheduler against the real `bosun-apiserver` binary (path in
//! `BOSUN_APISERVER_BIN`; skipped without it) with in-process simulated
//! nodes, checked through the API and the real `kubectl`.

use bosun_node_sim::Simulator;
use bosun_runtime::testing::Apiserver;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, PostParams};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

struct Cluster {
    server: Apiserver,
    client: kube::Client,
    sims: Vec<Simulator>,
    _stop: oneshot::Sender<()>,
}

impl Cluster {
    async fn start(nodes: u32, cpu: &str) -> Option<Cluster> {
        let server = Apiserver::start().await?;
        let client = server.client().await;
        let mut cluster = Cluster {
            sims: Vec::new(),
            client,
            _stop: start_scheduler(&server),
            server,
        };
        cluster.add_nodes("node-", nodes, cpu, &[]).await;
        Some(cluster)
    }

    async fn add_nodes(&mut self, prefix: &str, nodes: u32, cpu: &str, labels: &[(&str, &str)]) {
        let mut config = bosun_node_sim::Config::new(Some(self.server.kubeconfig.clone()), nodes);
        config.name_prefix = prefix.into();
        config.cpu = cpu.into();
        config.heartbeat = Duration::from_millis(500);
        for (k, v) in labels {
            config.labels.0.push(((*k).into(), (*v).into()));
        }
        self.sims
            .push(Simulator::start(config).await.expect("simulator"));
    }

    async fn create_pod(&self, manifest: serde_json::Value) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), "default");
        let pod: Pod = serde_json::from_value(manifest).expect("pod");
        pods.create(&PostParams::default(), &pod)
            .await
            .expect("create pod");
    }

    async fn pod(&self, name: &str) -> Pod {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), "default");
        pods.get(name).await.expect("get pod")
    }

    async fn wait_pod(&self, name: &str, what: &str, check: impl Fn(&Pod) -> bool) -> Pod {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let pod = self.pod(name).await;
            if check(&pod) {
                return pod;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {name} {what}: {:?}",
                pod.status
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn start_scheduler(server: &Apiserver) -> oneshot::Sender<()> {
    let config = bosun_scheduler::Config::new(Some(server.kubeconfig.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(error) = bosun_scheduler::run(config, async {
            let _ = stopped.await;
        })
        .await
        {
            panic!("scheduler failed: {error}");
        }
    });
    stop
}

fn pod(name: &str, cpu: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut spec = json!({
        "containers": [{"name": "app", "image": "registry.example/app:1",
            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}}, "spec": spec})
}

fn node_of(pod: &Pod) -> Option<String> {
    pod.spec.as_ref()?.node_name.clone()
}

fn running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_are_bound_and_run_and_describe_shows_the_event() {
    let Some(c) = Cluster::start(3, "4").await else {
        return;
    };
    c.create_pod(pod("web", "500m", json!({}))).await;
    let p = c.wait_pod("web", "Running", running).await;
    assert!(node_of(&p).is_some_and(|n| n.starts_with("node-")));
    let scheduled = p
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled").cloned())
        .expect("PodScheduled condition");
    assert_eq!(scheduled.status, "True");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = c.server.kubectl(&["describe", "pod", "web"]);
        if out.contains("Successfully assigned default/web to node-") {
            assert!(out.contains("default-scheduler"), "{out}");
            break;
        }
        assert!(Instant::now() < deadline, "no Scheduled event:\n{out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_too_big_waits_with_upstreams_message_until_a_bigger_node_joins() {
    let Some(mut c) = Cluster::start(3, "2").await else {
        return;
    };
    c.create_pod(pod("huge", "6", json!({}))).await;
    let p = c
        .wait_pod("huge", "unschedulable", |p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "PodScheduled" && c.status == "False")
                })
        })
        .await;
    let condition = p
        .status
        .and_then(|s| s.conditions)
        .and_then(|c| c.into_iter().find(|c| c.type_ == "PodScheduled"))
        .expect("condition");
    assert_eq!(condition.reason.as_deref(), Some("Unschedulable"));
    assert_eq!(
        condition.message.as_deref(),
        Some(
            "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = c.server.kubectl(&["describe", "pod", "huge"]);
        if out.contains("FailedScheduling")
            && out.contains("0/3 nodes are available: 3 Insufficient cpu.")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no FailedScheduling event:\n{out}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Well within the 5-minute periodic retry: the node event moves it.
    let added = Instant::now();
    c.add_nodes("big-", 1, "16", &[]).await;
    let p = c
        .wait_pod("huge", "bound to the big node", |p| node_of(p).is_some())
        .await;
    assert_eq!(node_of(&p).as_deref(), Some("big-0"));
    assert!(added.elapsed() < Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_selectors_and_tolerations_steer_pods() {
    let Some(mut c) = Cluster::start(2, "4").await else {
        return;
    };
    c.add_nodes("gpu-", 1, "4", &[("accelerator", "gpu")]).await;
    c.create_pod(pod(
        "trainer",
        "100m",
        json!({"nodeSelector": {"accelerator": "gpu"}}),
    ))
    .await;
    let p = c
        .wait_pod("trainer", "bound", |p| node_of(p).is_some())
        .await;
    assert_eq!(node_of(&p).as_deref(), Some("gpu-0"));

    // Taint every node but one; only a tolerating pod may use the others.
    for node in ["node-0", "gpu-0"] {
        c.server.kubectl(&[
            "patch",
            "node",
            node,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"taints":[{"key":"dedicated","value":"infra","effect":"NoSchedule"}]}}"#,
        ]);
    }
    for i in 0..4 {
        c.create_pod(pod(&format!("plain-{i}"), "100m", json!({})))
            .await;
    }
    for i in 0..4 {
        let p = c
            .wait_pod(&format!("plain-{i}"), "bound", |p| node_of(p).is_some())
            .await;
        assert_eq!(
            node_of(&p).as_deref(),
            Some("node-1"),
            "untolerated taint avoided"
        );
    }
    c.create_pod(pod(
        "infra",
        "100m",
        json!({"nodeSelector": {"kubernetes.io/hostname": "node-0"},
               "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]}),
    ))
    .await;
    let p = c.wait_pod("infra", "bound", |p| node_of(p).is_some()).await;
    assert_eq!(node_of(&p).as_deref(), Some("node-0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_spread_holds_across_zones() {
    let Some(c) = Cluster::start(6, "8").await else {
        return;
    };
    for i in 0..9 {
        c.create_pod(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("spread-{i}"), "labels": {"app": "spread"}},
            "spec": {
                "containers": [{"name": "app", "image": "app"}],
                "topologySpreadConstraints": [{
                    "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"app": "spread"}}
                }]
            }
        }))
        .await;
    }
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(c.client.clone());
    let mut per_zone = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..9 {
        let p = c
            .wait_pod(&format!("spread-{i}"), "bound", |p| node_of(p).is_some())
            .await;
        let node = nodes.get(&node_of(&p).expect("node")).await.expect("node");
        let zone = node.metadata.labels.expect("labels")["topology.kubernetes.io/zone"].clone();
        *per_zone.entry(zone).or_default() += 1;
    }
    assert_eq!(per_zone.len(), 3, "{per_zone:?}");
    assert!(per_zone.values().all(|n| *n == 3), "{per_zone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_priority_pod_preempts_a_low_priority_one() {
    let Some(c) = Cluster::start(1, "2").await else {
        return;
    };
    // Pods get their priority from a PriorityClass (the apiserver's
    // Priority admission refuses a bare spec.priority).
    create_priority_classes(&c, &[("low", 10), ("high", 1000)]).await;
    c.create_pod(pod("low", "1500m", json!({"priorityClassName": "low"})))
        .await;
    c.wait_pod("low", "Running", running).await;
    c.create_pod(pod("high", "1500m", json!({"priorityClassName": "high"})))
        .await;
    let p = c
        .wait_pod("high", "bound after preemption", |p| node_of(p).is_some())
        .await;
    assert_eq!(node_of(&p).as_deref(), Some("node-0"));
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    assert!(
        pods.get_opt("low")
            .await
            .expect("get")
            .is_none_or(|p| p.metadata.deletion_timestamp.is_some()),
        "the victim is gone"
    );
    let out = c.server.kubectl(&[
        "get",
        "events",
        "--field-selector",
        "reason=Preempted",
        "-o",
        "name",
    ]);
    assert!(!out.trim().is_empty(), "a Preempted event is recorded");
}

async fn create_priority_classes(c: &Cluster, classes: &[(&str, i32)]) {
    let api: Api<PriorityClass> = Api::all(c.client.clone());
    for (name, value) in classes {
        let class: PriorityClass =
            serde_json::from_value(json!({"metadata": {"name": name}, "value": value}))
                .expect("class");
        api.create(&PostParams::default(), &class)
            .await
            .expect("create class");
    }
}

fn pod_scheduled_false(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "PodScheduled" && c.status == "False")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lower_priority_pod_does_not_take_the_room_a_preemptor_freed() {
    let Some(c) = Cluster::start(1, "3").await else {
        return;
    };
    create_priority_classes(&c, &[("low", 10), ("high", 1000)]).await;
    // The victim takes 3 s to terminate; its 2 cpus count until it is gone.
    c.create_pod(pod(
        "victim",
        "2",
        json!({"priorityClassName": "low", "terminationGracePeriodSeconds": 3}),
    ))
    .await;
    c.wait_pod("victim", "Running", running).await;
    c.create_pod(pod(
        "preemptor",
        "2500m",
        json!({"priorityClassName": "high"}),
    ))
    .await;
    let p = c
        .wait_pod("preemptor", "nominated", |p| {
            p.status
                .as_ref()
                .and_then(|s| s.nominated_node_name.as_deref())
                .is_some()
        })
        .await;
    assert_eq!(
        p.status.and_then(|s| s.nominated_node_name).as_deref(),
        Some("node-0")
    );
    // 1 cpu is free right now, but the preemptor is expected on the node:
    // a lower-priority pod must not take it.
    c.create_pod(pod("late", "1", json!({"priorityClassName": "low"})))
        .await;
    let late = c
        .wait_pod("late", "unschedulable", pod_scheduled_false)
        .await;
    assert_eq!(node_of(&late), None);
    let p = c
        .wait_pod("preemptor", "bound after the victim left", |p| {
            node_of(p).is_some()
        })
        .await;
    assert_eq!(node_of(&p).as_deref(), Some("node-0"));
    // Only 500m is left: the late pod stays pending.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(node_of(&c.pod("late").await), None);
}

/// A plain HTTP/1.1 GET; returns the whole response.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_schedules_and_metrics_are_served() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let client = server.client().await;
    let mut ports = Vec::new();
    let mut stops = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        ports.push(port);
        let mut config = bosun_scheduler::Config::new(Some(server.kubeconfig.clone()));
        config.leader_elect = true;
        config.healthz_bind_address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = bosun_scheduler::run(config, async {
                let _ = stopped.await;
            })
            .await;
        });
        stops.push(stop);
    }
    let mut config = bosun_node_sim::Config::new(Some(server.kubeconfig.clone()), 2);
    config.heartbeat = Duration::from_millis(500);
    let _sim = Simulator::start(config).await.expect("simulator");
    let c = Cluster {
        server,
        client: client.clone(),
        sims: Vec::new(),
        _stop: oneshot::channel().0,
    };
    c.create_pod(pod("led", "100m", json!({}))).await;
    c.wait_pod("led", "bound", |p| node_of(p).is_some()).await;
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "kube-system");
    let lease = leases.get("kube-scheduler").await.expect("lease");
    let holder = lease
        .spec
        .and_then(|s| s.holder_identity)
        .unwrap_or_default();
    assert!(!holder.is_empty());
    // Exactly one of the two is ready (the leader); both are live.
    let mut ready = 0;
    let mut metrics = String::new();
    for port in &ports {
        let get = |path: &str| http_get(*port, path);
        assert!(get("/livez").starts_with("HTTP/1.1 200"));
        if get("/readyz").starts_with("HTTP/1.1 200") {
            ready += 1;
            metrics = get("/metrics");
        }
    }
    assert_eq!(ready, 1, "one leader");
    assert!(
        metrics.contains("scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("scheduler_pending_pods"), "{metrics}");
    drop(stops);
}
