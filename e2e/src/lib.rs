//! The e2e harness: starts the real `bosun-apiserver` binary (embedded store
//! or a real etcd) on a free port with `--write-kubeconfig`, and runs the real
//! `kubectl` against it with an isolated `HOME` (so discovery caches never
//! leak between tests).

pub mod up;

use bosun_storage::testing::EtcdProcess;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Which storage the apiserver runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store in the data directory.
    Embedded,
    /// A real etcd process started for the test.
    Etcd,
}

/// The workspace's `target/<profile>` directory, from this test binary's path
/// (`target/<profile>/deps/<test>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target directory")
}

/// Path of a workspace binary, building it first (once per test process) so
/// the tests never run a stale one.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let mut command = Command::new(cargo);
        command
            .args(["build", "--quiet", "--workspace", "--bins"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // Cargo sets these for test processes; passed on, they would make
        // build scripts that watch them (ring's) rebuild on every run.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            let for_tests = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || [
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                ]
                .contains(&key.as_str());
            if for_tests {
                command.env_remove(&key);
            }
        }
        let status = command.status().expect("run cargo build");
        assert!(status.success(), "building the binaries failed");
    });
    let path = target_dir().join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// The directory holding the versioned `kubectl.1.NN` binaries: beside the
/// file the `kubectl` on PATH resolves to.
pub fn kubectl_dir() -> PathBuf {
    let output = Command::new("sh")
        .args(["-c", "dirname \"$(readlink -f \"$(command -v kubectl)\")\""])
        .output()
        .expect("locate kubectl");
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// A running apiserver and a kubeconfig for it.
pub struct Cluster {
    dir: tempfile::TempDir,
    child: Child,
    /// The admin kubeconfig the server wrote.
    pub kubeconfig: PathBuf,
    _etcd: Option<EtcdProcess>,
}

/// What a kubectl run produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with the output unless the command succeeded; returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// Panics unless the command failed; returns stderr.
    pub fn err(self) -> String {
        assert_ne!(
            self.code, 0,
            "command unexpectedly succeeded:\nstdout: {}",
            self.stdout
        );
        self.stderr
    }
}

impl Cluster {
    /// Starts `bosun-apiserver` on `backend` and waits for its kubeconfig.
    pub async fn start(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let etcd = match backend {
            Backend::Embedded => None,
            Backend::Etcd => Some(EtcdProcess::start().await.expect("start etcd")),
        };
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::create_dir_all(dir.path().join("home")).expect("home dir");
        let child = spawn_apiserver(dir.path(), &kubeconfig, etcd.as_ref()).await;
        Self {
            dir,
            child,
            kubeconfig,
            _etcd: etcd,
        }
    }

    /// Stops the apiserver (SIGKILL) and starts it again on the same data.
    pub async fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.kubeconfig);
        self.child = spawn_apiserver(self.dir.path(), &self.kubeconfig, self._etcd.as_ref()).await;
    }

    /// The apiserver's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("apiserver.log")).unwrap_or_default()
    }

    /// A scratch directory for manifests.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a manifest file and returns its path as a string.
    pub fn manifest(&self, name: &str, contents: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write manifest");
        path.display().to_string()
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path().join("home"))
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .stdin(Stdio::null());
        command
    }

    /// Runs the `kubectl` on PATH (the dispatcher, which picks the client
    /// matching the server's `/version`).
    pub fn kubectl(&self, args: &[&str]) -> Run {
        Run::from(
            self.command(Path::new("kubectl"))
                .args(args)
                .output()
                .expect("run kubectl"),
        )
    }

    /// Runs a specific client, e.g. `kubectl.1.32`.
    pub fn kubectl_at(&self, version: &str, args: &[&str]) -> Run {
        let program = kubectl_dir().join(format!("kubectl.{version}"));
        Run::from(
            self.command(&program)
                .args(args)
                .output()
                .expect("run versioned kubectl"),
        )
    }

    /// Starts a long-running kubectl (e.g. `get -w`), output captured.
    pub fn spawn_kubectl(&self, args: &[&str]) -> Child {
        self.command(Path::new("kubectl"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl")
    }
}

/// Starts the binary and waits until it wrote the kubeconfig.
async fn spawn_apiserver(dir: &Path, kubeconfig: &Path, etcd: Option<&EtcdProcess>) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("apiserver.log"))
        .expect("log file");
    let mut command = Command::new(binary("bosun-apiserver"));
    command
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--secure-port", "0", "--write-kubeconfig"])
        .arg(kubeconfig)
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(etcd) = etcd {
        command.arg("--etcd-servers").arg(&etcd.endpoint);
    }
    let mut child = command.spawn().expect("start bosun-apiserver");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !kubeconfig.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("apiserver.log")).unwrap_or_default();
            panic!("bosun-apiserver exited ({status}):\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "bosun-apiserver did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
