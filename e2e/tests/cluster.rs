//! Whole clusters started through the CLI's library (`bosun up`), on the
//! embedded store and on a real etcd, driven by the real kubectl: simulated
//! nodes register and are Ready, bound pods run, finish and go away.

use bosun_cli::{ClusterRef, DownOpts, UpOpts, down, up};
use bosun_storage::testing::EtcdProcess;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Stops the cluster when dropped, also when the test fails.
struct Running {
    opts: UpOpts,
}

impl Drop for Running {
    fn drop(&mut self) {
        let down_opts = DownOpts {
            cluster: self.opts.cluster.clone(),
            delete_data: false,
            quiet: true,
        };
        // A runtime of its own, on a thread of its own: drop may run inside
        // the test's runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = runtime.block_on(down(&down_opts));
            }
        })
        .join();
    }
}

fn kubectl(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir.join("home"))
        .stdin(Stdio::null())
        .output()
        .expect("run kubectl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = kubectl(dir, args);
    assert_eq!(code, 0, "kubectl {args:?} failed: {err}");
    out
}

/// Polls until `check` holds on the output of `args` (bounded; not a timing check).
fn eventually(dir: &Path, args: &[&str], check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, out, _) = kubectl(dir, args);
        if check(&out) || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn nodes_and_pods(etcd: Option<&EtcdProcess>) {
    bosun_e2e::binary("bosun");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("home")).expect("home");
    let opts = UpOpts {
        cluster: ClusterRef {
            name: "e2e".into(),
            data_dir: Some(dir.path().join("data")),
        },
        kubeconfig: Some(dir.path().join("kubeconfig")),
        port: 0,
        nodes: 3,
        quiet: true,
        bin_dir: Some(
            bosun_e2e::binary("bosun-apiserver")
                .parent()
                .expect("bin dir")
                .to_path_buf(),
        ),
        etcd_servers: etcd.map(|e| vec![e.endpoint.clone()]).unwrap_or_default(),
        ..UpOpts::default()
    };
    up(&opts).await.expect("bosun up");
    let _running = Running { opts };
    let d = dir.path();

    let nodes = ok(d, &["get", "nodes", "--no-headers"]);
    assert_eq!(nodes.lines().count(), 3, "{nodes}");
    assert!(
        nodes
            .lines()
            .all(|l| l.split_whitespace().nth(1) == Some("Ready")),
        "{nodes}"
    );
    let described = ok(d, &["describe", "node", "bosun-node-0"]);
    assert!(
        described.contains("Capacity:") && described.contains("pods:"),
        "{described}"
    );

    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"nodeName":"bosun-node-1","containers":[{"name":"c","image":"nginx"}]}}"#;
    let job_pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"once"},"spec":{"nodeName":"bosun-node-2","restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}"#;
    for (name, body) in [("web.json", pod), ("once.json", job_pod)] {
        std::fs::write(d.join(name), body).expect("manifest");
        ok(d, &["create", "-f", &d.join(name).display().to_string()]);
    }
    let running = eventually(
        d,
        &["get", "pod", "web", "-o", "wide", "--no-headers"],
        |o| o.contains("Running"),
    );
    let cells: Vec<&str> = running.split_whitespace().collect();
    assert_eq!(cells.get(1..3), Some(&["1/1", "Running"][..]), "{running}");
    assert!(
        cells.get(5).is_some_and(|ip| ip.starts_with("10.")),
        "pod IP in {running}"
    );
    assert_eq!(cells.get(6), Some(&"bosun-node-1"), "{running}");
    let done = eventually(d, &["get", "pod", "once", "--no-headers"], |o| {
        o.contains("Completed")
    });
    assert!(done.contains("Completed"), "{done}");
    assert_eq!(
        ok(d, &["get", "pod", "once", "-o", "jsonpath={.status.phase}"]),
        "Succeeded"
    );

    let (code, _, err) = kubectl(d, &["delete", "pod", "web", "--grace-period=1"]);
    assert_eq!(code, 0, "{err}");
    let gone = eventually(
        d,
        &["get", "pod", "web", "--ignore-not-found", "-o", "name"],
        str::is_empty,
    );
    assert!(gone.is_empty(), "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_pods_on_embedded_store() {
    nodes_and_pods(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_pods_on_etcd() {
    let etcd = EtcdProcess::start().await.expect("start etcd");
    nodes_and_pods(Some(&etcd)).await;
}
