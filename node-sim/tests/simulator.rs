//! The simulator against the real `bosun-apiserver`, checked with the real
//! `kubectl`. Skipped unless `BOSUN_APISERVER_BIN` names the binary.

mod common;

use common::{Apiserver, SimulatorExt, pod};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use kube::runtime::watcher;
use std::collections::HashSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_register_ready_and_reregister() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let sim = server.simulator(server.config(3)).await;
    assert_eq!(
        sim.node_names(),
        ["bosun-node-0", "bosun-node-1", "bosun-node-2"]
    );

    let nodes = server.kubectl(&["get", "nodes", "--no-headers"]);
    let rows: Vec<Vec<&str>> = nodes
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{nodes}");
    for row in &rows {
        assert_eq!(row[1], "Ready", "{nodes}");
        assert_eq!(row[2], "<none>", "{nodes}");
        assert_eq!(row[4], "v1.33.0", "{nodes}");
    }
    let describe = server.kubectl(&["describe", "node", "bosun-node-1"]);
    for expected in [
        "kubernetes.io/hostname=bosun-node-1",
        "topology.kubernetes.io/zone=zone-b",
        "cpu:                32",
        "memory:             256Gi",
        "pods:               110",
        "InternalIP:  172.18.0.3",
        "PodCIDR:                      10.244.1.0/24",
        "KubeletReady",
        "kubelet is posting ready status",
        "Container Runtime Version:  bosun-sim://",
        "HolderIdentity:  bosun-node-1",
    ] {
        assert!(
            describe.contains(expected),
            "missing {expected:?} in:\n{describe}"
        );
    }
    sim.shutdown().await;

    // A second simulator with more nodes and a label updates the existing
    // nodes instead of failing.
    let mut config = server.config(4);
    config.labels = bosun_node_sim::parse_labels("tier=gold").expect("labels");
    let sim = server.simulator(config).await;
    let tiers = server.kubectl(&["get", "nodes", "-l", "tier=gold", "-o", "name"]);
    assert_eq!(tiers.lines().count(), 4, "{tiers}");
    let cidr = server.kubectl(&[
        "get",
        "node",
        "bosun-node-3",
        "-o",
        "jsonpath={.spec.podCIDR}",
    ]);
    assert_eq!(cidr, "10.244.3.0/24");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_run_complete_fail_and_crash_loop() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let sim = server.simulator(server.config(2)).await;
    let never = "  restartPolicy: Never";
    let on_failure = "  restartPolicy: OnFailure";
    let probe = "  initContainers:\n  - name: setup\n    image: busybox\n";
    let manifests = [
        pod("web", "bosun-node-0", probe, ""),
        pod("job", "bosun-node-0", never, ""),
        pod(
            "bad-job",
            "bosun-node-1",
            never,
            "sim.bosun.dev/exit-code: \"3\"",
        ),
        pod(
            "retry",
            "bosun-node-1",
            on_failure,
            "sim.bosun.dev/exit-code: \"1\", sim.bosun.dev/run-seconds: \"0.2\"",
        ),
        pod(
            "crash",
            "bosun-node-1",
            "",
            "sim.bosun.dev/exit-code: \"1\", sim.bosun.dev/run-seconds: \"0.2\"",
        ),
        pod("elsewhere", "someone-elses-node", "", ""),
    ];
    server.apply(&manifests.join("---\n"));

    let wide = server
        .eventually(
            "web Running 1/1",
            WAIT,
            &["get", "pod", "web", "-o", "wide", "--no-headers"],
            |out| out.contains(" 1/1 ") && out.contains("Running"),
        )
        .await;
    assert!(
        wide.contains("10.244.0.") && wide.contains("bosun-node-0"),
        "{wide}"
    );
    let init = server.kubectl(&[
        "get",
        "pod",
        "web",
        "-o",
        "jsonpath={.status.initContainerStatuses[0].state.terminated.reason}",
    ]);
    assert_eq!(init, "Completed");
    let ids = server.kubectl(&["get", "pod", "web", "-o", "jsonpath={.status.containerStatuses[0].containerID} {.status.containerStatuses[0].imageID}"]);
    assert!(
        ids.starts_with("containerd://")
            && ids.contains(" docker-pullable://registry.example/app:1@sha256:"),
        "{ids}"
    );

    server
        .eventually(
            "job Completed",
            WAIT,
            &["get", "pod", "job", "--no-headers"],
            |out| out.contains("Completed"),
        )
        .await;
    let phase = server.kubectl(&["get", "pod", "job", "-o", "jsonpath={.status.phase}"]);
    assert_eq!(phase, "Succeeded");
    server
        .eventually(
            "bad-job Error",
            WAIT,
            &["get", "pod", "bad-job", "--no-headers"],
            |out| out.contains("Error"),
        )
        .await;
    let failed = server.kubectl(&[
        "get",
        "pod",
        "bad-job",
        "-o",
        "jsonpath={.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}",
    ]);
    assert_eq!(failed, "Failed 3");
    server
        .eventually(
            "retry restarts",
            WAIT,
            &[
                "get",
                "pod",
                "retry",
                "-o",
                "jsonpath={.status.containerStatuses[0].restartCount}",
            ],
            |out| out.parse::<i32>().is_ok_and(|n| n >= 2),
        )
        .await;
    server
        .eventually(
            "crash in CrashLoopBackOff",
            WAIT,
            &["get", "pod", "crash", "--no-headers"],
            |out| out.contains("CrashLoopBackOff"),
        )
        .await;
    let crash = server.kubectl(&[
        "get",
        "pod",
        "crash",
        "-o",
        "jsonpath={.status.phase} {.status.containerStatuses[0].lastState.terminated.exitCode}",
    ]);
    assert_eq!(crash, "Running 1");

    let elsewhere = server.kubectl(&[
        "get",
        "pod",
        "elsewhere",
        "-o",
        "jsonpath={.status.phase}|{.status.podIP}",
    ]);
    assert_eq!(elsewhere, "Pending|");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_ips_are_unique_per_node_and_readiness_waits_for_the_probe() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let sim = server.simulator(server.config(1)).await;
    let manifests: Vec<String> = (0..20)
        .map(|i| pod(&format!("p{i}"), "bosun-node-0", "", ""))
        .collect();
    server.apply(&manifests.join("---\n"));
    let out = server
        .eventually(
            "20 pods Running",
            WAIT,
            &[
                "get",
                "pods",
                "-o",
                "jsonpath={range .items[*]}{.status.phase} {.status.podIP}{\"\\n\"}{end}",
            ],
            |out| {
                out.lines()
                    .filter(|l| l.starts_with("Running 10.244.0."))
                    .count()
                    == 20
            },
        )
        .await;
    let ips: HashSet<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(ips.len(), 20, "{out}");

    server.apply(
        "apiVersion: v1
kind: Pod
metadata: {name: slow}
spec:
  nodeName: bosun-node-0
  containers:
  - name: app
    image: nginx
    readinessProbe: {initialDelaySeconds: 2, tcpSocket: {port: 80}}
",
    );
    server
        .eventually(
            "slow Running",
            WAIT,
            &["get", "pod", "slow", "--no-headers"],
            |out| out.contains("Running"),
        )
        .await;
    let early = server.kubectl(&[
        "get",
        "pod",
        "slow",
        "-o",
        "jsonpath={.status.containerStatuses[0].ready}",
    ]);
    assert_eq!(early, "false");
    server
        .eventually(
            "slow ready",
            Duration::from_secs(5),
            &["get", "pod", "slow", "--no-headers"],
            |out| out.contains(" 1/1 "),
        )
        .await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pods_terminate_then_disappear() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let mut config = server.config(1);
    config.max_grace_seconds = 2;
    let sim = server.simulator(config).await;
    server.apply(&pod("doomed", "bosun-node-0", "", ""));
    server
        .eventually(
            "doomed Running",
            WAIT,
            &["get", "pod", "doomed", "--no-headers"],
            |out| out.contains("Running"),
        )
        .await;

    let api: Api<Pod> = Api::namespaced(server.client().await, "default");
    let events = watcher(
        api,
        watcher::Config::default().fields("metadata.name=doomed"),
    );
    // The last state written before the pod went away (an apiserver with
    // upstream semantics shows it as a MODIFIED event before DELETED).
    let watch = tokio::spawn(async move {
        futures::pin_mut!(events);
        let mut terminated = None;
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Apply(pod)) if pod.metadata.deletion_timestamp.is_some() => {
                    let state = pod
                        .status
                        .and_then(|s| s.container_statuses)
                        .and_then(|c| c.into_iter().next())
                        .and_then(|c| c.state)
                        .and_then(|s| s.terminated);
                    if state.is_some() {
                        terminated = state;
                    }
                }
                Ok(watcher::Event::Delete(_)) => return terminated,
                _ => {}
            }
        }
        terminated
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    // The default 30 s grace is capped to 2 s by --max-grace-seconds; the
    // pod keeps running meanwhile.
    server.kubectl(&["delete", "pod", "doomed", "--wait=false"]);
    loop {
        let (code, out, _) = server.kubectl_status(&["get", "pod", "doomed", "--no-headers"]);
        if code != 0 {
            break;
        }
        // "Completed" in the moment between the final status write (phase
        // Succeeded, which the table no longer shows as Terminating) and the
        // grace-0 delete.
        assert!(
            out.contains("Terminating") || out.contains("Running") || out.contains("Completed"),
            "{out}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "pod not deleted: {out}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "deleted before its grace period: {took:?}"
    );
    let terminated = tokio::time::timeout(WAIT, watch)
        .await
        .expect("delete event")
        .expect("watch task");
    match terminated {
        Some(state) => assert_eq!(state.reason.as_deref(), Some("Completed")),
        None => eprintln!(
            "note: the apiserver removed the pod on its final status write (no terminated state visible)"
        ),
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_nodes_stop_heartbeating_and_leave_pods_alone() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let control = server.path("control");
    std::fs::create_dir_all(&control).expect("control dir");
    let mut config = server.config(2);
    config.control_dir = Some(control.clone());
    let sim = server.simulator(config).await;
    let leases: Api<Lease> = Api::namespaced(server.client().await, "kube-node-lease");
    let renew_time = |lease: Lease| lease.spec.and_then(|s| s.renew_time).map(|t| t.0);
    // Both leases exist and renew.
    let mut first = None;
    for _ in 0..100 {
        if let Ok(lease) = leases.get("bosun-node-1").await {
            first = renew_time(lease);
            if first.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = first.expect("lease of bosun-node-1");

    std::fs::write(bosun_node_sim::stop_file(&control, "bosun-node-1"), "").expect("stop file");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stopped_at =
        renew_time(leases.get("bosun-node-1").await.expect("lease")).expect("renew time");
    assert!(stopped_at >= first);
    server.apply(&pod("waiting", "bosun-node-1", "", ""));
    server.apply(&pod("running", "bosun-node-0", "", ""));
    server
        .eventually(
            "pod on live node runs",
            WAIT,
            &["get", "pod", "running", "--no-headers"],
            |out| out.contains("Running"),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let still = renew_time(leases.get("bosun-node-1").await.expect("lease")).expect("renew time");
    assert_eq!(
        still, stopped_at,
        "a stopped node's lease must not be renewed"
    );
    let other = renew_time(leases.get("bosun-node-0").await.expect("lease")).expect("renew time");
    assert!(other > stopped_at, "the other node keeps renewing");
    let phase = server.kubectl(&["get", "pod", "waiting", "-o", "jsonpath={.status.phase}"]);
    assert_eq!(phase, "Pending");

    std::fs::remove_file(bosun_node_sim::stop_file(&control, "bosun-node-1"))
        .expect("remove stop file");
    server
        .eventually(
            "pod on restarted node runs",
            WAIT,
            &["get", "pod", "waiting", "--no-headers"],
            |out| out.contains("Running"),
        )
        .await;
    let resumed = renew_time(leases.get("bosun-node-1").await.expect("lease")).expect("renew time");
    assert!(resumed > still);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_of_deleted_nodes_are_left_alone() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let sim = server.simulator(server.config(2)).await;
    server.kubectl(&["delete", "node", "bosun-node-1"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.apply(&pod("orphan", "bosun-node-1", "", ""));
    server.apply(&pod("adopted", "bosun-node-0", "", ""));
    server
        .eventually(
            "pod on live node runs",
            WAIT,
            &["get", "pod", "adopted", "--no-headers"],
            |out| out.contains("Running"),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let phase = server.kubectl(&["get", "pod", "orphan", "-o", "jsonpath={.status.phase}"]);
    assert_eq!(phase, "Pending");
    let (code, _, _) = server.kubectl_status(&["get", "node", "bosun-node-1"]);
    assert_ne!(code, 0, "the deleted node is not re-created");
    sim.shutdown().await;
}

/// Node `name` once it exists, is Ready and has a uid other than `old`.
async fn new_ready_node(nodes: &Api<Node>, name: &str, old: &str) -> Node {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(Some(node)) = nodes.get_opt(name).await {
            let ready = node
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .is_some_and(|c| c.status == "True");
            if ready && node.metadata.uid.as_deref().is_some_and(|u| u != old) {
                return node;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node {name} not registered again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the Lease of `node` is owned by `uid` and renewed after
/// `after`; returns its renewTime.
async fn lease_renewed_for(
    leases: &Api<Lease>,
    node: &str,
    uid: &str,
    after: jiff::Timestamp,
) -> jiff::Timestamp {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(lease) = leases.get(node).await {
            let owner = lease
                .metadata
                .owner_references
                .as_ref()
                .and_then(|o| o.iter().find(|r| r.kind == "Node"))
                .map(|r| r.uid.clone());
            let renewed = lease.spec.and_then(|s| s.renew_time).map(|t| t.0);
            if let (Some(owner), Some(renewed)) = (owner, renewed)
                && owner == uid
                && renewed > after
            {
                return renewed;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lease of {node} not taken over by {uid}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_node_registers_again_when_started() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let control = server.path("control");
    std::fs::create_dir_all(&control).expect("control dir");
    let mut config = server.config(2);
    config.control_dir = Some(control.clone());
    let sim = server.simulator(config).await;
    let client = server.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");
    let shape = |node: &Node| {
        let value = serde_json::to_value(node).expect("json");
        (
            value["metadata"]["labels"].clone(),
            value["spec"]["podCIDR"].clone(),
            value["status"]["addresses"].clone(),
            value["status"]["capacity"].clone(),
        )
    };
    let old = nodes.get("bosun-node-1").await.expect("node");
    let old_uid = old.metadata.uid.clone().expect("uid");
    let ip_of = |name: &str| {
        server.kubectl(&[
            "get",
            "pod",
            name,
            "-o",
            "jsonpath={.status.phase}|{.status.podIP}",
        ])
    };
    server.apply(&pod("before", "bosun-node-1", "", ""));
    let before = server
        .eventually(
            "before Running",
            WAIT,
            &[
                "get",
                "pod",
                "before",
                "-o",
                "jsonpath={.status.phase}|{.status.podIP}",
            ],
            |out| out.starts_with("Running|10.244.1."),
        )
        .await;
    let stopped_at = lease_renewed_for(
        &leases,
        "bosun-node-1",
        &old_uid,
        jiff::Timestamp::UNIX_EPOCH,
    )
    .await;

    // Stopped, then deleted: nothing brings it back while it is stopped.
    std::fs::write(bosun_node_sim::stop_file(&control, "bosun-node-1"), "").expect("stop file");
    tokio::time::sleep(Duration::from_millis(600)).await;
    server.kubectl(&["delete", "node", "bosun-node-1"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (code, _, _) = server.kubectl_status(&["get", "node", "bosun-node-1"]);
    assert_ne!(code, 0, "a stopped node does not register");
    server.apply(&pod("after", "bosun-node-1", "", ""));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ip_of("after"), "Pending|");

    // Started: a new Node of the same shape, its Lease taken over, and the
    // pods bound to its name run (the old one keeps its IP).
    std::fs::remove_file(bosun_node_sim::stop_file(&control, "bosun-node-1"))
        .expect("remove stop file");
    let new = new_ready_node(&nodes, "bosun-node-1", &old_uid).await;
    let new_uid = new.metadata.uid.clone().expect("uid");
    assert_eq!(shape(&new), shape(&old));
    let renewed = lease_renewed_for(&leases, "bosun-node-1", &new_uid, stopped_at).await;
    server
        .eventually(
            "after Running",
            WAIT,
            &[
                "get",
                "pod",
                "after",
                "-o",
                "jsonpath={.status.phase}|{.status.podIP}",
            ],
            |out| out.starts_with("Running|10.244.1."),
        )
        .await;
    assert_eq!(ip_of("before"), before);
    assert_ne!(ip_of("after"), before, "pod IPs stay unique");
    server.apply(&pod("newer", "bosun-node-1", "", ""));
    server
        .eventually(
            "newer Running",
            WAIT,
            &["get", "pod", "newer", "--no-headers"],
            |out| out.contains("Running"),
        )
        .await;
    lease_renewed_for(&leases, "bosun-node-1", &new_uid, renewed).await;
    let uid_now = nodes.get("bosun-node-1").await.expect("node").metadata.uid;
    assert_eq!(
        uid_now.as_deref(),
        Some(new_uid.as_str()),
        "registered once"
    );

    // Deleted while running: gone until it is stopped and started again.
    let running_uid = nodes
        .get("bosun-node-0")
        .await
        .expect("node")
        .metadata
        .uid
        .expect("uid");
    server.kubectl(&["delete", "node", "bosun-node-0"]);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (code, _, _) = server.kubectl_status(&["get", "node", "bosun-node-0"]);
    assert_ne!(code, 0, "a running node whose Node is deleted stays gone");
    std::fs::write(bosun_node_sim::stop_file(&control, "bosun-node-0"), "").expect("stop file");
    tokio::time::sleep(Duration::from_millis(600)).await;
    std::fs::remove_file(bosun_node_sim::stop_file(&control, "bosun-node-0"))
        .expect("remove stop file");
    new_ready_node(&nodes, "bosun-node-0", &running_uid).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_on_shutdown() {
    let Some(server) = Apiserver::start().await else {
        return;
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = server.config(2);
    let handle = tokio::spawn(bosun_node_sim::run(config, async {
        let _ = rx.await;
    }));
    server
        .eventually("2 nodes", WAIT, &["get", "nodes", "--no-headers"], |out| {
            out.lines().filter(|l| l.contains(" Ready ")).count() == 2
        })
        .await;
    tx.send(()).expect("send shutdown");
    let result = tokio::time::timeout(WAIT, handle)
        .await
        .expect("run returns")
        .expect("join");
    assert!(result.is_ok(), "{result:?}");
}
