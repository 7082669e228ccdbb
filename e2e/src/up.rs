//! Whole clusters started through the CLI's library (`bosun up`: apiserver,
//! controller-manager, scheduler and simulated nodes as separate
//! processes), driven by the real kubectl, stopped (`bosun down`) on drop —
//! also when a test fails.

use bosun_cli::{ClusterRef, DownOpts, UpOpts, down, up};
use bosun_storage::testing::EtcdProcess;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running cluster in a temporary directory (data, logs, kubeconfig,
/// kubectl's `HOME`).
pub struct UpCluster {
    opts: UpOpts,
    dir: tempfile::TempDir,
    _etcd: Option<EtcdProcess>,
}

impl UpCluster {
    /// `bosun up` with `nodes` simulated nodes, on the embedded store or
    /// (with `etcd`) on a real etcd started for the test.
    pub async fn start(nodes: u32, etcd: bool) -> Self {
        Self::start_with(nodes, etcd, &[]).await
    }

    /// [`UpCluster::start`] with extra controller-manager flags.
    pub async fn start_with(nodes: u32, etcd: bool, controller_manager_args: &[&str]) -> Self {
        crate::binary("bosun");
        let etcd = match etcd {
            true => Some(EtcdProcess::start().await.expect("start etcd")),
            false => None,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        let opts = UpOpts {
            cluster: ClusterRef {
                name: "e2e".into(),
                data_dir: Some(dir.path().join("data")),
            },
            kubeconfig: Some(dir.path().join("kubeconfig")),
            port: 0,
            nodes,
            quiet: true,
            bin_dir: Some(
                crate::binary("bosun-apiserver")
                    .parent()
                    .expect("bin dir")
                    .to_path_buf(),
            ),
            etcd_servers: etcd
                .as_ref()
                .map(|e| vec![e.endpoint.clone()])
                .unwrap_or_default(),
            controller_manager_args: controller_manager_args
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
            ..UpOpts::default()
        };
        up(&opts).await.expect("bosun up");
        Self {
            opts,
            dir,
            _etcd: etcd,
        }
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs kubectl; returns exit code, stdout, stderr.
    pub fn kubectl(&self, args: &[&str]) -> (i32, String, String) {
        let d = self.dir.path();
        let output = Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", d.join("kubeconfig"))
            .env("HOME", d.join("home"))
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Runs kubectl; panics unless it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.kubectl(args);
        assert_eq!(code, 0, "kubectl {args:?} failed: {err}\n{out}");
        out
    }

    /// Polls until `check` holds on the output of `args` (bounded at 60 s;
    /// not a timing check); returns the last output either way.
    pub fn eventually(&self, args: &[&str], check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, out, _) = self.kubectl(args);
            if check(&out) || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Writes `contents` to a file in the cluster directory; returns its path.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path.display().to_string()
    }

    /// `bosun node stop|start NODE` for this cluster.
    pub fn node(&self, stop: bool, node: &str) {
        let target = bosun_cli::NodeTarget {
            node: node.to_owned(),
            cluster: self.opts.cluster.clone(),
        };
        let action = if stop {
            bosun_cli::NodeAction::Stop(target)
        } else {
            bosun_cli::NodeAction::Start(target)
        };
        bosun_cli::node(&bosun_cli::NodeOpts { action }).expect("bosun node");
    }

    /// The end of a component's log (`apiserver`, `scheduler`, ...).
    pub fn log(&self, component: &str) -> String {
        std::fs::read_to_string(
            self.dir
                .path()
                .join("data")
                .join("logs")
                .join(format!("{component}.log")),
        )
        .unwrap_or_default()
    }
}

impl Drop for UpCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The test failed: what the components said last goes into the
            // test's output (CI shows nothing else of the cluster).
            for component in ["controller-manager", "scheduler", "node-sim", "apiserver"] {
                let log = self.log(component);
                let lines: Vec<&str> = log.lines().collect();
                let tail = &lines[lines.len().saturating_sub(40)..];
                eprintln!("--- last lines of {component}.log ---\n{}", tail.join("\n"));
            }
        }
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
