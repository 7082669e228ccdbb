//! Test support: the real `bosun-apiserver` binary (path in
//! `BOSUN_APISERVER_BIN`) on a free port in a temporary directory, and the
//! real `kubectl` with an isolated `HOME`. The process is killed on drop,
//! so also when a test fails. Panics on setup failures: test code only.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running apiserver.
pub struct Apiserver {
    child: Child,
    /// The test directory (data, logs, kubectl home).
    pub dir: tempfile::TempDir,
    /// Its admin kubeconfig.
    pub kubeconfig: PathBuf,
}

impl Drop for Apiserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The apiserver binary, or `None` (with a message) when the variable is
/// unset: the test is then skipped.
pub fn apiserver_bin() -> Option<PathBuf> {
    match std::env::var_os("BOSUN_APISERVER_BIN") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!(
                "skipping: set BOSUN_APISERVER_BIN to a bosun-apiserver binary to run this test"
            );
            None
        }
    }
}

impl Apiserver {
    /// Starts the apiserver and waits for its kubeconfig; `None` when
    /// `BOSUN_APISERVER_BIN` is unset.
    pub async fn start() -> Option<Self> {
        let bin = apiserver_bin()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        let log = std::fs::File::create(dir.path().join("apiserver.log")).expect("log");
        let child = Command::new(&bin)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--secure-port", "0"])
            .arg("--write-kubeconfig")
            .arg(&kubeconfig)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let server = Self {
            child,
            dir,
            kubeconfig,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !server.kubeconfig.exists() {
            assert!(
                Instant::now() < deadline,
                "apiserver did not write its kubeconfig:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(server)
    }

    /// The apiserver's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("apiserver.log")).unwrap_or_default()
    }

    /// A scratch path in the test directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// An API client.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("client config");
        kube::Client::try_from(config).expect("client")
    }

    /// Runs kubectl; panics unless it succeeds; returns stdout.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.kubectl_status(args);
        assert_eq!(code, 0, "kubectl {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }

    /// Runs kubectl; returns exit code, stdout and stderr.
    pub fn kubectl_status(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path().join("home"))
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `kubectl apply -f -` of `manifest`.
    pub fn apply(&self, manifest: &str) {
        let path = self.path(&format!("manifest-{}.yaml", unique()));
        std::fs::write(&path, manifest).expect("write manifest");
        self.kubectl(&["apply", "-f", path_str(&path)]);
    }

    /// Polls `check` (with kubectl output of `args`) until it holds.
    pub async fn eventually(
        &self,
        what: &str,
        timeout: Duration,
        args: &[&str],
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let (code, out, err) = self.kubectl_status(args);
            if code == 0 && check(&out) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last kubectl {args:?} output:\n{out}\n{err}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// CPU seconds (user + system) `pid` has used so far, from /proc.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here;
    // the kernel reports them in USER_HZ, 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak RSS (VmHWM) of `pid` in MiB.
pub fn peak_rss(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}
