//! DaemonSets, StatefulSets, Jobs and CronJobs on a whole cluster
//! (`bosun up`), driven by the real kubectl with the repository's
//! manifests and the kinds users write.

use bosun_e2e::up::UpCluster;
use std::path::Path;

fn manifest(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../manifests")
        .join(name)
        .display()
        .to_string()
}

fn json(c: &UpCluster, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&c.ok(&all)).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_sets_stateful_sets_jobs_and_cron_jobs() {
    let c = UpCluster::start(3, false).await;
    c.ok(&["apply", "-f", &manifest("00-namespace.yaml")]);
    // The CronJob first: it fires at the next minute while the rest runs.
    c.ok(&["apply", "-f", &manifest("cronjob.yaml")]);

    // A DaemonSet: one pod per node.
    c.ok(&["apply", "-f", &manifest("daemonset.yaml")]);
    c.ok(&[
        "rollout",
        "status",
        "ds/node-agent",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    let pods = json(&c, &["get", "pods", "-n", "demo", "-l", "app=node-agent"]);
    let mut nodes: Vec<&str> = pods["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["bosun-node-0", "bosun-node-1", "bosun-node-2"]);

    // A removed node's pod is collected; a node that joins later gets one.
    // (The node's simulated kubelet is stopped first so that it does not
    // re-register at once; started again, it registers a new Node.)
    let on_node_1 = |c: &UpCluster| -> Vec<String> {
        json(c, &["get", "pods", "-n", "demo", "-l", "app=node-agent"])["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|p| p["spec"]["nodeName"] == "bosun-node-1")
            .filter_map(|p| p["metadata"]["uid"].as_str().map(str::to_owned))
            .collect()
    };
    let before = on_node_1(&c);
    assert_eq!(before.len(), 1, "{before:?}");
    c.node(true, "bosun-node-1");
    c.ok(&["delete", "node", "bosun-node-1"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !on_node_1(&c).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the pod of a deleted node stays"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    c.node(false, "bosun-node-1");
    c.eventually(
        &[
            "get",
            "node",
            "bosun-node-1",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ],
        |s| s == "True",
    );
    c.ok(&[
        "rollout",
        "status",
        "ds/node-agent",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    let after = on_node_1(&c);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after, before);

    // A tainted node is skipped unless tolerated.
    c.ok(&[
        "patch",
        "node",
        "bosun-node-2",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"taints":[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]}}"#,
    ]);
    let picky = c.file(
        "picky.yaml",
        "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: picky, namespace: demo}
spec:
  selector: {matchLabels: {app: picky}}
  template:
    metadata: {labels: {app: picky}}
    spec:
      containers: [{name: c, image: busybox}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: tolerant, namespace: demo}
spec:
  selector: {matchLabels: {app: tolerant}}
  template:
    metadata: {labels: {app: tolerant}}
    spec:
      tolerations: [{key: dedicated, operator: Exists, effect: NoSchedule}]
      containers: [{name: c, image: busybox}]
",
    );
    c.ok(&["apply", "-f", &picky]);
    c.ok(&[
        "rollout",
        "status",
        "ds/picky",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    c.ok(&[
        "rollout",
        "status",
        "ds/tolerant",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    let status = json(&c, &["get", "ds", "picky", "-n", "demo"]);
    assert_eq!(status["status"]["desiredNumberScheduled"], 2, "{status}");
    let status = json(&c, &["get", "ds", "tolerant", "-n", "demo"]);
    assert_eq!(status["status"]["desiredNumberScheduled"], 3, "{status}");

    // A StatefulSet with claims: ordered names, claims Bound to provisioned volumes.
    let web = c.file(
        "web.yaml",
        "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: demo}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        volumeMounts: [{name: data, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
",
    );
    c.ok(&["apply", "-f", &web]);
    c.ok(&[
        "rollout",
        "status",
        "sts/web",
        "-n",
        "demo",
        "--timeout=120s",
    ]);
    let names = c.ok(&[
        "get",
        "pods",
        "-n",
        "demo",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    let mut names: Vec<&str> = names.split_whitespace().collect();
    names.sort();
    assert_eq!(names, ["web-0", "web-1", "web-2"]);
    let claims = c.eventually(
        &[
            "get",
            "pvc",
            "-n",
            "demo",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}",
        ],
        |o| o.matches("=Bound").count() == 3,
    );
    for i in 0..3 {
        assert!(claims.contains(&format!("data-web-{i}=Bound")), "{claims}");
    }
    let volumes = c.ok(&["get", "pv", "--no-headers"]);
    assert_eq!(volumes.lines().count(), 3, "{volumes}");
    // A rolling update goes through (in reverse ordinal order, checked in the controller's tests).
    c.ok(&[
        "patch", "sts", "web", "-n", "demo", "--type", "json", "-p",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.28"}]"#,
    ]);
    c.ok(&[
        "rollout",
        "status",
        "sts/web",
        "-n",
        "demo",
        "--timeout=120s",
    ]);
    let images = c.ok(&[
        "get",
        "pods",
        "-n",
        "demo",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].spec.containers[0].image}",
    ]);
    assert!(
        images.split_whitespace().all(|i| i == "nginx:1.28"),
        "{images}"
    );

    // Jobs complete, or fail at their backoff limit.
    c.ok(&["apply", "-f", &manifest("job.yaml")]);
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/report",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    let job = json(&c, &["get", "job", "report", "-n", "demo"]);
    assert_eq!(job["status"]["succeeded"], 3, "{job}");
    let failing = c.file(
        "failing.yaml",
        "apiVersion: batch/v1
kind: Job
metadata: {name: flaky, namespace: demo}
spec:
  backoffLimit: 1
  template:
    metadata:
      annotations: {sim.bosun.dev/exit-code: \"1\", sim.bosun.dev/run-seconds: \"0.2\"}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
",
    );
    c.ok(&["apply", "-f", &failing]);
    c.ok(&[
        "wait",
        "--for=condition=failed",
        "job/flaky",
        "-n",
        "demo",
        "--timeout=90s",
    ]);
    let job = json(&c, &["get", "job", "flaky", "-n", "demo"]);
    let reason = job["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Failed")
        .and_then(|c| c["reason"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(reason, "BackoffLimitExceeded", "{job}");

    // The CronJob has fired by now (or does within its minute).
    let jobs = c.eventually(&["get", "jobs", "-n", "demo", "-o", "name"], |o| {
        o.lines().any(|l| l.starts_with("job.batch/cleanup-"))
    });
    assert!(
        jobs.lines().any(|l| l.starts_with("job.batch/cleanup-")),
        "{jobs}"
    );
    let last = c.eventually(
        &[
            "get",
            "cronjob",
            "cleanup",
            "-n",
            "demo",
            "-o",
            "jsonpath={.status.lastScheduleTime}",
        ],
        |o| !o.is_empty(),
    );
    assert!(!last.is_empty());
}
