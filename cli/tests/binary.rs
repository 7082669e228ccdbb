//! The `bosun` binary itself: merging into `$KUBECONFIG` like kind, the
//! messages and exit codes of `up`, `status` and `down`.

mod common;

use bosun_cli::{Cluster, ComponentKind, kubeconfig, process};
use common::{Guard, Run, ensure_binaries, kubectl};
use std::path::Path;
use std::process::{Command, Stdio};

const OTHER: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://other.invalid:443\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: other\n    namespace: team\ncurrent-context: other\nusers:\n- name: other\n  user:\n    token: secret-token\n";

fn bosun(dir: &Path, kubeconfig_env: &str, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_bosun"))
        .args(args)
        .env("KUBECONFIG", kubeconfig_env)
        .env("HOME", dir.join("home"))
        .env_remove("BOSUN_BIN_DIR")
        .env_remove("XDG_DATA_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("run bosun")
        .into()
}

#[test]
fn merges_into_kubeconfig_and_removes_again() {
    ensure_binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let config = dir.path().join("kube/config");
    std::fs::create_dir_all(config.parent().expect("parent")).expect("kube dir");
    std::fs::write(&config, OTHER).expect("write kubeconfig");
    // kind merges into the first file of the list.
    let env = format!(
        "{}:{}",
        config.display(),
        dir.path().join("second").display()
    );
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let _guard = Guard::new(&data);
    let select = ["--name", "merge", "--data-dir", &data_arg];

    let run = bosun(
        dir.path(),
        &env,
        &[&["up", "--nodes", "0"][..], &select].concat(),
    );
    let stderr = run.stderr.clone();
    run.ok();
    assert!(
        stderr.contains("apiserver ready at https://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kubectl cluster-info --context bosun-merge"),
        "{stderr}"
    );
    assert!(!dir.path().join("second").exists());

    let merged = kubeconfig::read(&config).expect("read");
    assert_eq!(merged.current_context.as_deref(), Some("bosun-merge"));
    assert_eq!(merged.contexts.len(), 2);
    let text = std::fs::read_to_string(&config).expect("read");
    assert!(text.contains("token: secret-token"), "{text}");
    assert!(text.contains("namespace: team"), "{text}");
    let ns = kubectl(Path::new(&env), &home, &["get", "ns", "-o", "name"]).ok();
    assert!(ns.contains("namespace/default"), "{ns}");
    let record = Cluster::load(&data).expect("load").expect("record");
    assert_eq!(record.kubeconfig.as_deref(), Some(config.as_path()));
    let pid = record
        .component(ComponentKind::Apiserver)
        .expect("apiserver")
        .pid;

    let shown = bosun(dir.path(), &env, &[&["status"][..], &select].concat()).ok();
    assert!(shown.contains("merge (running)"), "{shown}");
    assert!(shown.contains(&pid.to_string()), "{shown}");
    assert!(shown.contains(&data_arg), "{shown}");

    let again = bosun(dir.path(), &env, &[&["up"][..], &select].concat());
    assert!(!again.success, "second up succeeded");
    assert!(again.stderr.contains("already running"), "{}", again.stderr);

    let stderr = bosun(dir.path(), &env, &[&["down"][..], &select].concat()).stderr;
    assert!(stderr.contains("apiserver stopped"), "{stderr}");
    assert!(!process::is_alive(pid), "apiserver still running");
    let after = kubeconfig::read(&config).expect("read");
    assert_eq!(after.current_context, None);
    let names: Vec<&str> = after.contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["other"]);
    assert!(
        std::fs::read_to_string(&config)
            .expect("read")
            .contains("secret-token")
    );

    let stopped = bosun(dir.path(), &env, &[&["status"][..], &select].concat());
    assert!(!stopped.success, "status of a stopped cluster must fail");
    assert!(stopped.stdout.contains("not running"), "{}", stopped.stdout);
}

#[test]
fn default_data_dir_is_under_home() {
    ensure_binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let env = dir.path().join("config").display().to_string();
    let data = home.join(".bosun/dflt");
    let _guard = Guard::new(&data);
    bosun(
        dir.path(),
        &env,
        &["up", "--name", "dflt", "--nodes", "0", "-q"],
    )
    .ok();
    assert!(data.join("cluster.json").exists());
    assert!(data.join("logs/apiserver.log").exists());
    let ns = kubectl(Path::new(&env), &home, &["get", "ns", "-o", "name"]).ok();
    assert!(ns.contains("namespace/default"), "{ns}");
    bosun(
        dir.path(),
        &env,
        &["down", "--name", "dflt", "--delete-data"],
    )
    .ok();
    assert!(!data.exists());
}
