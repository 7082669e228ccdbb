//! Workloads on whole clusters (`bosun up`: apiserver, controller-manager,
//! scheduler, simulated nodes), driven by the real kubectl the way a user
//! would: the repository's manifests roll out, scale, update, roll back,
//! heal, garbage-collect and go away with their namespace.

use bosun_e2e::up::UpCluster;
use std::path::Path;
use std::time::{Duration, Instant};

fn manifest(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../manifests")
        .join(name)
        .display()
        .to_string()
}

/// `pod/NAME` of the pods selected that are not terminating.
fn pods(c: &UpCluster, ns: &str, selector: &str) -> Vec<String> {
    let list: serde_json::Value =
        serde_json::from_str(&c.ok(&["get", "pods", "-n", ns, "-l", selector, "-o", "json"]))
            .expect("pod list");
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter_map(|p| p["metadata"]["name"].as_str())
        .map(|n| format!("pod/{n}"))
        .collect()
}

/// Image rollout while watching availability: never more than
/// maxUnavailable (25% of 4 → 1) missing.
fn rollout_watching_availability(c: &UpCluster, change: &[&str]) {
    c.ok(change);
    let done = std::sync::atomic::AtomicBool::new(false);
    let min_seen = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut min = i64::MAX;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let (_, out, _) = c.kubectl(&[
                    "get",
                    "deploy",
                    "web",
                    "-n",
                    "demo",
                    "-o",
                    "jsonpath={.status.availableReplicas}",
                ]);
                if let Ok(n) = out.trim().parse::<i64>() {
                    min = min.min(n);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            min
        });
        c.ok(&[
            "rollout",
            "status",
            "deploy/web",
            "-n",
            "demo",
            "--timeout=90s",
        ]);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        watcher.join().expect("watcher")
    });
    assert!(
        min_seen >= 3,
        "availability dropped to {min_seen} during the rollout"
    );
}

async fn deployment_lifecycle(etcd: bool) {
    let c = UpCluster::start(3, etcd).await;
    c.ok(&["apply", "-f", &manifest("00-namespace.yaml")]);
    c.ok(&[
        "apply",
        "-f",
        &manifest("deployment.yaml"),
        "-f",
        &manifest("service.yaml"),
    ]);
    let status = c.ok(&[
        "rollout",
        "status",
        "deploy/web",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    assert!(status.contains("successfully rolled out"), "{status}");
    let row = c.ok(&["get", "deploy", "web", "-n", "demo", "--no-headers"]);
    assert!(row.split_whitespace().nth(1) == Some("3/3"), "{row}");
    let running = c.eventually(
        &["get", "pods", "-n", "demo", "-l", "app=web", "--no-headers"],
        |o| {
            o.lines().count() == 3
                && o.lines()
                    .all(|l| l.contains("1/1") && l.contains("Running"))
        },
    );
    assert_eq!(running.lines().count(), 3, "{running}");

    // Writers are named in managedFields as on a real cluster: the
    // controller-manager created the pods, the kubelets wrote their status.
    let writers = c.ok(&[
        "get",
        "pods",
        "-n",
        "demo",
        "-l",
        "app=web",
        "--show-managed-fields",
        "-o",
        "jsonpath={range .items[0].metadata.managedFields[*]}{.manager}/{.operation}/{.subresource}{\"\\n\"}{end}",
    ]);
    let writers: Vec<&str> = writers.lines().collect();
    assert!(
        writers.contains(&"kube-controller-manager/Update/"),
        "{writers:?}"
    );
    assert!(writers.contains(&"kubelet/Update/status"), "{writers:?}");

    // The Service's Endpoints list the ready pods' IPs.
    let ips = c.ok(&[
        "get",
        "pods",
        "-n",
        "demo",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].status.podIP}",
    ]);
    let endpoints = c.eventually(
        &[
            "get",
            "endpoints",
            "web",
            "-n",
            "demo",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ],
        |o| o.split_whitespace().count() == 3,
    );
    let mut want: Vec<&str> = ips.split_whitespace().collect();
    let mut got: Vec<&str> = endpoints.split_whitespace().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    // Scale.
    c.ok(&["scale", "deploy/web", "-n", "demo", "--replicas=4"]);
    c.ok(&[
        "rollout",
        "status",
        "deploy/web",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    assert_eq!(pods(&c, "demo", "app=web").len(), 4);

    // A deleted pod is replaced.
    let victim = pods(&c, "demo", "app=web")[0].clone();
    c.ok(&["delete", "-n", "demo", &victim, "--wait=false"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = pods(&c, "demo", "app=web");
        if now.len() == 4 && !now.contains(&victim) {
            break;
        }
        assert!(Instant::now() < deadline, "pod not replaced: {now:?}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A new image rolls out within maxUnavailable.
    rollout_watching_availability(
        &c,
        &[
            "patch",
            "deploy",
            "web",
            "-n",
            "demo",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.28"}]"#,
        ],
    );
    let history = c.ok(&["rollout", "history", "deploy/web", "-n", "demo"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");
    let rses = c.ok(&["get", "rs", "-n", "demo", "--no-headers"]);
    assert_eq!(rses.lines().count(), 2, "{rses}");

    // Undo restores the previous image.
    c.ok(&["rollout", "undo", "deploy/web", "-n", "demo"]);
    c.ok(&[
        "rollout",
        "status",
        "deploy/web",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    let image = c.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "nginx:1.27");
    let revision = c.ok(&[
        "get",
        "deploy",
        "web",
        "-n",
        "demo",
        "-o",
        "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
    ]);
    assert_eq!(revision, "3");

    // Orphan: the ReplicaSets and pods stay.
    c.ok(&["delete", "deploy", "web", "-n", "demo", "--cascade=orphan"]);
    let kept = c.ok(&["get", "rs", "-n", "demo", "--no-headers"]);
    assert_eq!(kept.lines().count(), 2, "{kept}");
    let left = pods(&c, "demo", "app=web");
    assert_eq!(
        left.len(),
        4,
        "{left:?}\n{}\n{}",
        c.ok(&[
            "get",
            "pods",
            "-n",
            "demo",
            "-o",
            "custom-columns=NAME:.metadata.name,PHASE:.status.phase,OWNER:.metadata.ownerReferences[0].name,DELETING:.metadata.deletionTimestamp,CREATED:.metadata.creationTimestamp,NODE:.spec.nodeName",
        ]),
        c.ok(&["get", "rs,deploy", "-n", "demo", "-o", "yaml"])
    );
    let owners = c.eventually(
        &[
            "get",
            "rs",
            "-n",
            "demo",
            "-o",
            "jsonpath={.items[*].metadata.ownerReferences}",
        ],
        str::is_empty,
    );
    assert!(
        owners.is_empty(),
        "orphaned ReplicaSets lose their owner: {owners}"
    );

    // Foreground: kubectl waits until the dependents are gone.
    c.ok(&[
        "create",
        "deployment",
        "fg",
        "-n",
        "demo",
        "--image=nginx",
        "--replicas=2",
    ]);
    c.ok(&[
        "rollout",
        "status",
        "deploy/fg",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    c.ok(&[
        "delete",
        "deploy",
        "fg",
        "-n",
        "demo",
        "--cascade=foreground",
        "--timeout=60s",
    ]);
    assert!(
        pods(&c, "demo", "app=fg").is_empty(),
        "foreground deletion left pods"
    );

    // Deleting the namespace removes everything in it, then the namespace.
    let started = Instant::now();
    c.ok(&["delete", "namespace", "demo", "--timeout=90s"]);
    let (code, out, _) = c.kubectl(&[
        "get",
        "namespace",
        "demo",
        "--ignore-not-found",
        "-o",
        "name",
    ]);
    assert!(code == 0 && out.is_empty(), "namespace still there: {out}");
    assert!(started.elapsed() < Duration::from_secs(90));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_lifecycle_on_embedded_store() {
    deployment_lifecycle(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_lifecycle_on_etcd() {
    deployment_lifecycle(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unschedulable_pods_are_explained_and_scheduled_when_nodes_fit() {
    let c = UpCluster::start(2, false).await;
    let pod = c.file(
        "huge.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: huge\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests:\n        cpu: \"30\"\n",
    );
    // Each 32-CPU node gets an 8-CPU filler: 24 free, 30 wanted.
    for node in 0..2 {
        let filler = c.file(
            &format!("filler-{node}.yaml"),
            &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: filler-{node}\nspec:\n  nodeSelector:\n    kubernetes.io/hostname: bosun-node-{node}\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests:\n        cpu: \"8\"\n"),
        );
        c.ok(&["apply", "-f", &filler]);
        c.eventually(
            &["get", "pod", &format!("filler-{node}"), "--no-headers"],
            |o| o.contains("Running"),
        );
    }
    c.ok(&["apply", "-f", &pod]);
    let described = c.eventually(&["describe", "pod", "huge"], |o| {
        o.contains("FailedScheduling")
    });
    assert!(
        described.contains("0/2 nodes are available: 2 Insufficient cpu."),
        "{described}"
    );
    assert_eq!(
        c.ok(&["get", "pod", "huge", "-o", "jsonpath={.status.phase}"]),
        "Pending"
    );
    // Freeing room (a pod deleted) schedules it without waiting for a timer.
    c.ok(&["delete", "pod", "filler-1", "--wait=true"]);
    let running = c.eventually(&["get", "pod", "huge", "--no-headers"], |o| {
        o.contains("Running")
    });
    assert!(
        running.contains("Running"),
        "{running}\n{}",
        c.log("scheduler")
    );
}

/// Kills (`SIGKILL`) the cluster's controller-manager and starts it again
/// with the same arguments; the new process is killed on drop.
struct Restarted(std::process::Child);

impl Drop for Restarted {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kill_and_restart_controller_manager(c: &UpCluster) -> Restarted {
    let record = bosun_cli::Cluster::load(&c.dir().join("data"))
        .expect("cluster record")
        .expect("cluster record present");
    let cm = record
        .components
        .iter()
        .find(|r| r.kind == bosun_cli::ComponentKind::ControllerManager)
        .expect("controller-manager running");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &cm.pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let log = std::fs::File::create(c.dir().join("controller-manager-restarted.log")).expect("log");
    Restarted(
        std::process::Command::new(&cm.binary)
            .args(&cm.args)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("restart controller-manager"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_controller_manager_mid_rollout_duplicates_and_orphans_nothing() {
    let c = UpCluster::start(3, false).await;
    c.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1",
        "--replicas=30",
    ]);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    c.ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:2"}]"#,
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let _restarted = kill_and_restart_controller_manager(&c);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    let settled = c.eventually(&["get", "pods", "-l", "app=web", "--no-headers"], |o| {
        o.lines().count() == 30 && o.lines().all(|l| l.contains("Running"))
    });
    assert_eq!(settled.lines().count(), 30, "{settled}");
    let live = pods(&c, "default", "app=web");
    assert_eq!(live.len(), 30, "{live:?}");
    // Every pod is owned by an existing ReplicaSet of the new template.
    let rs = c.ok(&["get", "rs", "-l", "app=web", "-o", "json"]);
    let rs: serde_json::Value = serde_json::from_str(&rs).expect("json");
    let current: Vec<(&str, i64)> = rs["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            (
                r["metadata"]["uid"].as_str().unwrap_or(""),
                r["spec"]["replicas"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(current.len(), 2, "{current:?}");
    assert_eq!(
        current.iter().map(|(_, n)| n).sum::<i64>(),
        30,
        "{current:?}"
    );
    let list: serde_json::Value =
        serde_json::from_str(&c.ok(&["get", "pods", "-l", "app=web", "-o", "json"])).expect("json");
    for pod in list["items"].as_array().expect("items") {
        let owner = pod["metadata"]["ownerReferences"][0]["uid"]
            .as_str()
            .unwrap_or("");
        assert!(
            current.iter().any(|(uid, _)| *uid == owner),
            "orphan or stray pod: {pod}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_is_tainted_and_its_pods_move_elsewhere() {
    let c = UpCluster::start_with(
        3,
        false,
        &["--node-monitor-grace-period=3s", "--node-monitor-period=1s"],
    )
    .await;
    let manifest = c.file(
        "web.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 6
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - {name: c, image: nginx}
",
    );
    c.ok(&["apply", "-f", &manifest]);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    c.node(true, "bosun-node-0");
    let node = c.eventually(&["get", "node", "bosun-node-0", "--no-headers"], |o| {
        o.contains("NotReady")
    });
    assert!(node.contains("NotReady"), "{node}");
    let taints = c.eventually(
        &[
            "get",
            "node",
            "bosun-node-0",
            "-o",
            "jsonpath={.spec.taints[*].key}",
        ],
        |o| o.contains("node.kubernetes.io/unreachable"),
    );
    assert!(
        taints.contains("node.kubernetes.io/unreachable"),
        "{taints}"
    );
    let reason = c.ok(&[
        "get",
        "node",
        "bosun-node-0",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}",
    ]);
    assert_eq!(reason, "NodeStatusUnknown");
    // The node controller's events: registration, then the status change.
    let events = c.eventually(
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=bosun-node-0",
            "-o",
            "jsonpath={.items[*].reason}",
        ],
        |o| o.contains("NodeNotReady"),
    );
    assert!(events.contains("RegisteredNode"), "{events}");
    // Its pods were marked not ready (so they left their endpoints).
    let marked = c.eventually(
        &[
            "get",
            "events",
            "--field-selector",
            "reason=NodeNotReady,involvedObject.kind=Pod",
            "-o",
            "jsonpath={.items[*].message}",
        ],
        |o| o.contains("Node is not ready"),
    );
    assert!(marked.contains("Node is not ready"), "{marked}");
    // The pods that were there are evicted and replaced on the other nodes.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let list: serde_json::Value =
            serde_json::from_str(&c.ok(&["get", "pods", "-l", "app=web", "-o", "json"]))
                .expect("json");
        let live: Vec<&serde_json::Value> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .collect();
        let elsewhere = live
            .iter()
            .filter(|p| {
                p["spec"]["nodeName"] != "bosun-node-0" && p["status"]["phase"] == "Running"
            })
            .count();
        if live.len() == 6 && elsewhere == 6 {
            break;
        }
        assert!(Instant::now() < deadline, "pods not moved: {live:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
    // Back up: Ready again and untainted.
    c.node(false, "bosun-node-0");
    let back = c.eventually(&["get", "node", "bosun-node-0", "--no-headers"], |o| {
        o.split_whitespace().nth(1) == Some("Ready")
    });
    assert_eq!(back.split_whitespace().nth(1), Some("Ready"), "{back}");
    let taints = c.eventually(
        &[
            "get",
            "node",
            "bosun-node-0",
            "-o",
            "jsonpath={.spec.taints}",
        ],
        |o| !o.contains("unreachable"),
    );
    assert!(!taints.contains("unreachable"), "{taints}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_image_pause_resume_restart_and_undo_to_a_revision() {
    let c = UpCluster::start(3, false).await;
    let image = |c: &UpCluster| {
        c.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
    };
    let replica_sets = |c: &UpCluster| {
        c.ok(&["get", "rs", "-l", "app=web", "--no-headers"])
            .lines()
            .count()
    };
    c.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1",
        "--replicas=3",
    ]);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);

    // set image (a strategic merge patch) rolls out revision 2.
    c.ok(&["set", "image", "deploy/web", "nginx=nginx:2"]);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    assert_eq!(image(&c), "nginx:2");
    assert_eq!(replica_sets(&c), 2);

    // Paused: template changes make no new ReplicaSet.
    c.ok(&["rollout", "pause", "deploy/web"]);
    c.ok(&["set", "image", "deploy/web", "nginx=nginx:3"]);
    let reason = c.eventually(
        &[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}",
        ],
        |o| o == "DeploymentPaused",
    );
    assert_eq!(reason, "DeploymentPaused");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(replica_sets(&c), 2, "a paused deployment does not roll");

    // Resumed: it rolls to nginx:3.
    c.ok(&["rollout", "resume", "deploy/web"]);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    assert_eq!(replica_sets(&c), 3);

    // Restart: a new ReplicaSet with the restartedAt annotation.
    c.ok(&["rollout", "restart", "deploy/web"]);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    assert_eq!(replica_sets(&c), 4);
    let annotations = c.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.metadata.annotations}",
    ]);
    assert!(
        annotations.contains("kubectl.kubernetes.io/restartedAt"),
        "{annotations}"
    );

    // Undo to revision 2 brings nginx:2 back as the newest revision.
    let history = c.ok(&["rollout", "history", "deploy/web"]);
    assert!(history.contains('4'), "{history}");
    c.ok(&["rollout", "undo", "deploy/web", "--to-revision=2"]);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    assert_eq!(image(&c), "nginx:2");
    let revision = c.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
    ]);
    assert_eq!(revision, "5");
}

/// `kubectl drain` evicts through `pods/eviction`, which honours the
/// PodDisruptionBudget the disruption controller keeps: a budget allowing
/// nothing blocks the drain with upstream's message; once it allows one
/// disruption the node empties, one pod at a time. The same deployment's
/// (empty) logs, and an autoscaler keeping it at its minimum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_honours_budgets_then_logs_and_autoscaling() {
    let c = UpCluster::start(3, false).await;
    let manifest = c.file(
        "web.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - {name: c, image: nginx}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 3
  selector:
    matchLabels: {app: web}
",
    );
    c.ok(&["apply", "-f", &manifest]);
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    // The controller records the revision through status: the generation
    // stays 1, as upstream's.
    let generation = c.ok(&[
        "get", "deploy", "web", "-o",
        r"jsonpath={.metadata.generation} {.metadata.annotations.deployment\.kubernetes\.io/revision}",
    ]);
    assert_eq!(generation, "1 1");
    // Logs of a running simulated container: empty, and a wrong container
    // name is refused as upstream refuses it.
    assert_eq!(c.ok(&["logs", "deploy/web"]), "");
    let (code, _, err) = c.kubectl(&["logs", "deploy/web", "-c", "nope"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("container nope is not valid for pod web-"),
        "{err}"
    );
    // The controller reports the budget: 3 expected and healthy, none allowed.
    let pdb = c.eventually(&["get", "pdb", "web", "--no-headers"], |o| {
        o.split_whitespace().collect::<Vec<_>>().get(1..4) == Some(&["3", "N/A", "0"])
    });
    assert_eq!(
        pdb.split_whitespace().collect::<Vec<_>>().get(1..4),
        Some(&["3", "N/A", "0"][..]),
        "{pdb}"
    );
    let status = c.ok(&[
        "get",
        "pdb",
        "web",
        "-o",
        "jsonpath={.status.expectedPods} {.status.currentHealthy} {.status.desiredHealthy} {.status.conditions[0].reason}",
    ]);
    assert_eq!(status, "3 3 3 InsufficientPods");
    let node = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].spec.nodeName}",
    ]);
    // Blocked: kubectl retries the 429 until its timeout.
    let (code, out, err) = c.kubectl(&["drain", &node, "--ignore-daemonsets", "--timeout=8s"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{err}"
    );
    assert_eq!(pods(&c, "default", "app=web").len(), 3);
    // One disruption allowed: the drain completes and the pods run elsewhere.
    c.ok(&[
        "patch",
        "pdb",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"minAvailable":2}}"#,
    ]);
    c.eventually(&["get", "pdb", "web", "--no-headers"], |o| {
        o.split_whitespace().nth(3) == Some("1")
    });
    let drained = c.ok(&["drain", &node, "--ignore-daemonsets", "--timeout=90s"]);
    assert!(
        drained.contains(&format!("node/{node} drained")),
        "{drained}"
    );
    assert!(drained.contains("evicted"), "{drained}");
    c.ok(&["rollout", "status", "deploy/web", "--timeout=90s"]);
    let nodes = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "--field-selector=status.phase=Running",
        "-o",
        "jsonpath={.items[*].spec.nodeName}",
    ]);
    assert!(!nodes.split_whitespace().any(|n| n == node), "{nodes}");
    c.ok(&["uncordon", &node]);
    // An autoscaler brings the deployment up to its minimum; with no
    // metrics API it reports why it cannot scale on CPU.
    c.ok(&[
        "autoscale",
        "deploy/web",
        "--min=4",
        "--max=6",
        "--cpu-percent=80",
    ]);
    let replicas = c.eventually(
        &["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"],
        |o| o == "4",
    );
    assert_eq!(replicas, "4");
    let row = c.eventually(&["get", "hpa", "web", "--no-headers"], |o| {
        o.split_whitespace().nth(6) == Some("4")
    });
    assert!(row.contains("cpu: <unknown>/80%"), "{row}");
    let described = c.eventually(&["describe", "hpa", "web"], |o| {
        o.contains("FailedGetResourceMetric")
    });
    assert!(described.contains("SuccessfulRescale"), "{described}");
}
