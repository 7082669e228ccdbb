//! Whole clusters started through the CLI's library (`bosun up`), on the
//! embedded store and on a real etcd, driven by the real kubectl: simulated
//! nodes register and are Ready, bound pods run, finish and go away.

use bosun_e2e::up::UpCluster;

async fn nodes_and_pods(etcd: bool) {
    let c = UpCluster::start(3, etcd).await;
    let d = c.dir();
    let nodes = c.ok(&["get", "nodes", "--no-headers"]);
    assert_eq!(nodes.lines().count(), 3, "{nodes}");
    assert!(
        nodes
            .lines()
            .all(|l| l.split_whitespace().nth(1) == Some("Ready")),
        "{nodes}"
    );
    let described = c.ok(&["describe", "node", "bosun-node-0"]);
    assert!(
        described.contains("Capacity:") && described.contains("pods:"),
        "{described}"
    );

    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"nodeName":"bosun-node-1","containers":[{"name":"c","image":"nginx"}]}}"#;
    let job_pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"once"},"spec":{"nodeName":"bosun-node-2","restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}"#;
    for (name, body) in [("web.json", pod), ("once.json", job_pod)] {
        std::fs::write(d.join(name), body).expect("manifest");
        c.ok(&["create", "-f", &d.join(name).display().to_string()]);
    }
    let running = c.eventually(&["get", "pod", "web", "-o", "wide", "--no-headers"], |o| {
        o.contains("Running")
    });
    let cells: Vec<&str> = running.split_whitespace().collect();
    assert_eq!(cells.get(1..3), Some(&["1/1", "Running"][..]), "{running}");
    assert!(
        cells.get(5).is_some_and(|ip| ip.starts_with("10.")),
        "pod IP in {running}"
    );
    assert_eq!(cells.get(6), Some(&"bosun-node-1"), "{running}");
    let done = c.eventually(&["get", "pod", "once", "--no-headers"], |o| {
        o.contains("Completed")
    });
    assert!(done.contains("Completed"), "{done}");
    assert_eq!(
        c.ok(&["get", "pod", "once", "-o", "jsonpath={.status.phase}"]),
        "Succeeded"
    );

    let (code, _, err) = c.kubectl(&["delete", "pod", "web", "--grace-period=1"]);
    assert_eq!(code, 0, "{err}");
    let gone = c.eventually(
        &["get", "pod", "web", "--ignore-not-found", "-o", "name"],
        str::is_empty,
    );
    assert!(gone.is_empty(), "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_pods_on_embedded_store() {
    nodes_and_pods(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_pods_on_etcd() {
    nodes_and_pods(true).await;
}
