//! `up`, `status` and `down` in-process against the real `bosun-apiserver`,
//! checked with the real `kubectl`; every test kills what it started, also
//! when it fails.

mod common;

use bosun_cli::{
    ClusterRef, ComponentKind, DownOpts, Error, StatusOpts, UpOpts, down, kubeconfig, process,
    status, up,
};
use common::{Guard, ensure_binaries, kubectl, processes_mentioning, script};
use std::path::Path;

/// Options for a cluster in `dir` that never touches the user's files.
fn opts(dir: &Path, name: &str) -> UpOpts {
    UpOpts {
        cluster: ClusterRef {
            name: name.to_owned(),
            data_dir: Some(dir.join("data")),
        },
        kubeconfig: Some(dir.join("kubeconfig")),
        port: 0,
        quiet: true,
        ..UpOpts::default()
    }
}

fn down_opts(up: &UpOpts, delete_data: bool) -> DownOpts {
    DownOpts {
        cluster: up.cluster.clone(),
        delete_data,
        quiet: true,
    }
}

fn status_opts(up: &UpOpts) -> StatusOpts {
    StatusOpts {
        cluster: up.cluster.clone(),
    }
}

#[tokio::test]
async fn up_status_down_and_up_again() {
    ensure_binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let opts = opts(dir.path(), "life");
    let _guard = Guard::new(&dir.path().join("data"));

    let cluster = up(&opts).await.expect("up");
    let kubeconfig_path = dir.path().join("kubeconfig");
    assert_eq!(
        cluster.kubeconfig.as_deref(),
        Some(kubeconfig_path.as_path())
    );
    assert_eq!(cluster.context, "bosun-life");
    let apiserver = cluster
        .component(ComponentKind::Apiserver)
        .expect("apiserver recorded")
        .clone();
    assert!(apiserver.is_running());
    assert!(cluster.port.is_some_and(|p| p != 0));
    let ns = kubectl(&kubeconfig_path, &home, &["get", "ns", "-o", "name"]).ok();
    assert!(ns.contains("namespace/default"), "{ns}");
    let context = kubectl(&kubeconfig_path, &home, &["config", "current-context"]).ok();
    assert_eq!(context.trim(), "bosun-life");
    // The record is on disk for other processes.
    let recorded = bosun_cli::Cluster::load(&dir.path().join("data"))
        .expect("load")
        .expect("record");
    assert_eq!(recorded, cluster);

    let shown = status(&status_opts(&opts)).await.expect("status");
    assert!(shown.is_healthy(), "{shown}");
    let text = shown.to_string();
    assert!(text.contains("(running)"), "{text}");
    assert!(text.contains(&apiserver.pid.to_string()), "{text}");
    assert!(text.contains("ok (readyz)"), "{text}");

    let again = up(&opts).await.expect_err("second up");
    assert!(matches!(again, Error::AlreadyRunning { .. }), "{again}");
    assert!(again.to_string().contains("already running"), "{again}");
    assert!(
        apiserver.is_running(),
        "the refused up must not stop the running one"
    );

    kubectl(
        &kubeconfig_path,
        &home,
        &["create", "configmap", "kept", "--from-literal=a=b"],
    )
    .ok();
    let stopped = down(&down_opts(&opts, false)).await.expect("down");
    assert_eq!(
        stopped.kubeconfig.as_deref(),
        Some(kubeconfig_path.as_path())
    );
    assert!(!process::is_alive(apiserver.pid), "apiserver still alive");
    assert!(
        std::fs::metadata(format!("/proc/{}", apiserver.pid)).is_err(),
        "apiserver process left behind"
    );
    let config = kubeconfig::read(&kubeconfig_path).expect("kubeconfig");
    assert!(config.contexts.iter().all(|c| c.name != "bosun-life"));
    assert!(config.clusters.iter().all(|c| c.name != "bosun-life"));
    assert!(config.auth_infos.iter().all(|c| c.name != "bosun-life"));
    assert_eq!(config.current_context, None);
    let shown = status(&status_opts(&opts)).await.expect("status");
    assert!(!shown.is_healthy());
    assert!(shown.to_string().contains("(stopped)"), "{shown}");
    // Stopping twice is fine.
    down(&down_opts(&opts, false)).await.expect("down again");

    // Up again on the same data: the store survived.
    let cluster = up(&opts).await.expect("up again");
    let kept = kubectl(
        &kubeconfig_path,
        &home,
        &["get", "configmap", "kept", "-o", "name"],
    )
    .ok();
    assert_eq!(kept.trim(), "configmap/kept");
    let pid = cluster
        .component(ComponentKind::Apiserver)
        .expect("apiserver")
        .pid;
    let stopped = down(&down_opts(&opts, true))
        .await
        .expect("down --delete-data");
    assert!(stopped.deleted_data);
    assert!(!dir.path().join("data").exists(), "data dir not deleted");
    assert!(!process::is_alive(pid));
    let missing = down(&down_opts(&opts, false)).await.expect_err("gone");
    assert!(matches!(missing, Error::NotFound { .. }), "{missing}");
}

#[tokio::test]
async fn failing_apiserver_fails_up_with_its_log() {
    ensure_binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let _guard = Guard::new(&data);
    let opts = UpOpts {
        etcd_servers: vec!["http://127.0.0.1:1".to_owned()],
        timeout: 30,
        ..opts(dir.path(), "broken")
    };
    let err = up(&opts).await.expect_err("up must fail");
    let Error::ComponentFailed {
        component,
        reason,
        tail,
        log,
    } = &err
    else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(component, "apiserver");
    assert!(reason.contains("exited"), "{reason}");
    assert!(tail.contains("etcd"), "{tail}");
    assert_eq!(log, &data.join("logs/apiserver.log"));
    assert!(err.to_string().contains("last lines of"), "{err}");
    let left = processes_mentioning(&data.display().to_string());
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(
        !dir.path().join("kubeconfig").exists(),
        "kubeconfig written"
    );
    // The failed cluster is on record as stopped, and can be cleaned up.
    let shown = status(&status_opts(&opts)).await.expect("status");
    assert!(!shown.is_healthy());
    assert!(shown.to_string().contains("(stopped)"), "{shown}");
    down(&down_opts(&opts, true))
        .await
        .expect("down --delete-data");
    assert!(!data.exists());
}

#[tokio::test]
async fn apiserver_not_ready_in_time_is_stopped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    // Starts, ignores SIGTERM (so stopping escalates), never gets ready.
    script(
        &bin.join("bosun-apiserver"),
        "echo 'fake apiserver: never ready'\ntrap '' TERM\nwhile :; do sleep 1; done",
    );
    let data = dir.path().join("data");
    let _guard = Guard::new(&data);
    let opts = UpOpts {
        bin_dir: Some(bin),
        timeout: 1,
        ..opts(dir.path(), "slow")
    };
    let err = up(&opts).await.expect_err("up must time out");
    let Error::ComponentFailed { reason, tail, .. } = &err else {
        panic!("unexpected error: {err}");
    };
    assert!(reason.contains("within 1s"), "{reason}");
    assert!(tail.contains("never ready"), "{tail}");
    let left = processes_mentioning(&data.display().to_string());
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[tokio::test]
async fn failing_component_stops_the_apiserver() {
    ensure_binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    script(
        &bin.join("bosun-node-sim"),
        "echo \"fake node-sim: cannot start ($*)\" >&2\nexit 3",
    );
    let data = dir.path().join("data");
    let _guard = Guard::new(&data);
    let opts = UpOpts {
        bin_dir: Some(bin),
        nodes: 2,
        ..opts(dir.path(), "nodefail")
    };
    let err = up(&opts).await.expect_err("up must fail");
    let Error::ComponentFailed {
        component,
        reason,
        tail,
        ..
    } = &err
    else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(component, "node-sim");
    assert!(reason.contains("exit status: 3"), "{reason}");
    assert!(tail.contains("cannot start (--kubeconfig"), "{tail}");
    assert!(tail.contains("--nodes 2"), "{tail}");
    let left = processes_mentioning(&data.display().to_string());
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// A stand-in for `bosun-node-sim`: registers `--nodes` Ready nodes with
/// kubectl, one at a time, then stays up.
const FAKE_NODE_SIM: &str = r#"kc=$2; n=$4
export HOME="$(dirname "$kc")/fake-home"
i=0
while [ "$i" -lt "$n" ]; do
  printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: fake-%s\n' "$i" | kubectl --kubeconfig "$kc" create -f - || exit 1
  kubectl --kubeconfig "$kc" patch node "fake-$i" --subresource=status --type=merge \
    -p '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"fake"}]}}' || exit 1
  i=$((i+1))
done
echo "fake node-sim: $n nodes Ready"
while :; do sleep 1; done"#;

#[tokio::test]
async fn waits_for_nodes_ready() {
    ensure_binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    script(&bin.join("bosun-node-sim"), FAKE_NODE_SIM);
    let data = dir.path().join("data");
    let _guard = Guard::new(&data);
    let opts = UpOpts {
        bin_dir: Some(bin),
        nodes: 2,
        ..opts(dir.path(), "nodes")
    };
    let cluster = up(&opts).await.expect("up");
    let node_sim = cluster
        .component(ComponentKind::NodeSim)
        .expect("node-sim recorded")
        .clone();
    assert!(
        node_sim.args.windows(2).any(|w| w == ["--nodes", "2"]),
        "{:?}",
        node_sim.args
    );
    let nodes = kubectl(
        &dir.path().join("kubeconfig"),
        &home,
        &["get", "nodes", "--no-headers"],
    )
    .ok();
    assert_eq!(nodes.matches(" Ready ").count(), 2, "{nodes}");
    let shown = status(&status_opts(&opts)).await.expect("status");
    assert!(shown.is_healthy(), "{shown}");
    assert_eq!(
        shown.nodes,
        Some(bosun_cli::health::NodeCount { ready: 2, total: 2 })
    );
    assert!(
        shown.to_string().contains("Nodes:      2/2 Ready"),
        "{shown}"
    );
    let stopped = down(&down_opts(&opts, false)).await.expect("down");
    // Stopped in reverse order: node-sim first.
    assert_eq!(stopped.stopped[0].0, ComponentKind::NodeSim);
    assert!(
        stopped
            .stopped
            .iter()
            .all(|(_, _, how)| *how == process::Stopped::Terminated),
        "{stopped:?}"
    );
    let left = processes_mentioning(&data.display().to_string());
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[tokio::test]
async fn nodes_not_ready_in_time() {
    ensure_binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    // Registers nothing.
    script(
        &bin.join("bosun-node-sim"),
        "echo 'fake node-sim: idle'\nwhile :; do sleep 1; done",
    );
    let data = dir.path().join("data");
    let _guard = Guard::new(&data);
    let opts = UpOpts {
        bin_dir: Some(bin),
        nodes: 1,
        timeout: 2,
        ..opts(dir.path(), "nonodes")
    };
    let err = up(&opts).await.expect_err("up must time out");
    let Error::ComponentFailed {
        component,
        reason,
        tail,
        ..
    } = &err
    else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(component, "node-sim");
    assert!(
        reason.contains("only 0/1 nodes Ready within 2s"),
        "{reason}"
    );
    assert!(tail.contains("idle"), "{tail}");
    let left = processes_mentioning(&data.display().to_string());
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[tokio::test]
async fn invalid_names_and_unknown_clusters() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = UpOpts {
        cluster: ClusterRef {
            name: "Not_Valid".to_owned(),
            data_dir: Some(dir.path().join("x")),
        },
        ..UpOpts::default()
    };
    assert!(matches!(up(&bad).await, Err(Error::InvalidName(_))));
    let unknown = opts(dir.path(), "unknown");
    assert!(matches!(
        down(&down_opts(&unknown, true)).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        status(&status_opts(&unknown)).await,
        Err(Error::NotFound { .. })
    ));
}
